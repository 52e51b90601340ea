/* libFuzzer target: the kernel command line parser (cmdline_next, cmdline_apply) on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "lib.h"
#include "log.h"

/* Recoverable UBSan checks (the Makefile does not pass -fno-sanitize-recover) must still stop
 * the run, or a finding would only be a line in the output. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static size_t g_warn_bytes;

static void warn(const char *msg)
{
    g_warn_bytes += strlen(msg); /* reads the whole message: ASan checks it is terminated */
}

static int key_num(const char *value, bool has_value, char *msg, size_t msglen)
{
    uint64_t v;
    int rc = str_to_u64(value, &v);

    if (!has_value || rc != 0) {
        str_copy(msg, "not a number", msglen);
        return rc != 0 ? rc : -EINVAL;
    }
    return 0;
}

static int key_log(const char *value, bool has_value, char *msg, size_t msglen)
{
    return log_apply_spec(value, msg, msglen);
}

static int key_flag(const char *value, bool has_value, char *msg, size_t msglen)
{
    if (has_value) {
        /* Fills the whole message buffer: cmdline_apply must cope with a full one. */
        memset(msg, 'm', msglen - 1);
        msg[msglen - 1] = '\0';
        return -EINVAL;
    }
    return 0;
}

static const struct cmdline_key g_keys[] = {
    {"num", "a number", key_num},
    {"log", "log spec", key_log},
    {"flag", "a switch", key_flag},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    const char *cur;
    const char *end;
    struct cmdline_item item;
    size_t steps = 0;
    int bad = 0;

    if (line == NULL) {
        return 0;
    }
    memcpy(line, data, size);
    line[size] = '\0';
    log_init();

    /* Every call moves the cursor forward, stays inside the line, and terminates the item. */
    cur = line;
    end = line + strlen(line); /* the input may hold a NUL: the line ends there */
    for (;;) {
        const char *before = cur;
        int rc = cmdline_next(&cur, &item);

        if (rc == 0) {
            break;
        }
        if (cur <= before || cur > end || ++steps > size + 1) {
            abort();
        }
        if (strlen(item.key) >= CMDLINE_KEY_MAX || strlen(item.value) >= CMDLINE_VALUE_MAX) {
            abort();
        }
        if (rc == -EINVAL || rc == -E2BIG) {
            bad++;
        } else if (rc != 1) {
            abort();
        }
    }
    /* cmdline_apply sees the same items: at least the malformed ones are problems. */
    g_warn_bytes = 0;
    if (cmdline_apply(line, g_keys, ARRAY_SIZE(g_keys), warn) < bad) {
        abort();
    }
    free(line);
    return 0;
}
