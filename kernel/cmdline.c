/* Kernel command line parsing (see cmdline.h). */
#include "cmdline.h"
#include "lib.h"
#include "lib/format.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_next(const char **cursor, struct cmdline_item *item)
{
    const char *s = *cursor;
    size_t klen = 0;
    size_t vlen = 0;
    int err = 0;

    item->key[0] = '\0';
    item->value[0] = '\0';
    item->has_value = false;

    while (is_space(*s)) {
        s++;
    }
    if (*s == '\0') {
        *cursor = s;
        return 0;
    }
    while (*s != '\0' && !is_space(*s) && *s != '=') {
        if (klen + 1 < sizeof(item->key)) {
            item->key[klen++] = *s;
        } else {
            err = -E2BIG;
        }
        s++;
    }
    item->key[klen] = '\0';
    if (klen == 0) {
        err = -EINVAL;
    }
    if (*s == '=') {
        bool quoted = false;

        s++;
        item->has_value = true;
        if (*s == '"') {
            quoted = true;
            s++;
        }
        while (*s != '\0' && (quoted ? *s != '"' : !is_space(*s))) {
            if (vlen + 1 < sizeof(item->value)) {
                item->value[vlen++] = *s;
            } else {
                err = -E2BIG;
            }
            s++;
        }
        if (quoted) {
            if (*s == '"') {
                s++;
            } else {
                err = -EINVAL;
            }
        }
        item->value[vlen] = '\0';
    }
    /* Anything glued to the item (e.g. a="x"y) belongs to it: skip to the next space. */
    while (*s != '\0' && !is_space(*s)) {
        s++;
        if (err == 0) {
            err = -EINVAL;
        }
    }
    *cursor = s;
    return err != 0 ? err : 1;
}

int cmdline_apply(const char *line, const struct cmdline_key *keys, size_t nkeys,
                  void (*warn)(const char *msg))
{
    const char *cur = line != NULL ? line : "";
    struct cmdline_item item;
    char msg[CMDLINE_VALUE_MAX + 128];
    int problems = 0;

    for (;;) {
        const struct cmdline_key *k = NULL;
        int rc = cmdline_next(&cur, &item);

        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            fmt_snprintf(msg, sizeof(msg), "malformed item '%s%s%s' (%s), ignored", item.key,
                         item.has_value ? "=" : "", item.value,
                         rc == -E2BIG ? "too long" : "bad syntax");
            warn(msg);
            problems++;
            continue;
        }
        for (size_t i = 0; i < nkeys; i++) {
            if (strcmp(keys[i].name, item.key) == 0) {
                k = &keys[i];
                break;
            }
        }
        if (k == NULL) {
            fmt_snprintf(msg, sizeof(msg), "unknown key '%s', ignored", item.key);
            warn(msg);
            problems++;
            continue;
        }
        {
            char why[160];

            why[0] = '\0';
            rc = k->fn(item.value, item.has_value, why, sizeof(why));
            if (rc != 0) {
                fmt_snprintf(msg, sizeof(msg), "bad value for '%s': %s", item.key,
                             why[0] != '\0' ? why : "rejected");
                warn(msg);
                problems++;
            }
        }
    }
    return problems;
}
