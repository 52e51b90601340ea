/* The console access list (see acl.h). */
#include "acl.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../netstack/netaddr.h"

#define ACL_ITEM_MAX 24 /* "255.255.255.255/32" and some slack */

int acl_parse(const char *spec, struct acl *out, char *err, size_t errlen)
{
    char dummy[4];

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    memset(out, 0, sizeof(*out));
    while (*spec != '\0') {
        const char *end = strchr(spec, ',');
        size_t len = end != NULL ? (size_t)(end - spec) : strlen(spec);
        char item[ACL_ITEM_MAX];
        uint32_t ip;
        uint8_t prefix = 32;
        int rc;

        if (len == 0 || len >= sizeof(item)) {
            fmt_snprintf(err, errlen, len == 0 ? "empty entry" : "entry too long");
            memset(out, 0, sizeof(*out));
            return -EINVAL;
        }
        if (out->n >= ACL_MAX) {
            fmt_snprintf(err, errlen, "more than %d entries", ACL_MAX);
            memset(out, 0, sizeof(*out));
            return -EINVAL;
        }
        memcpy(item, spec, len);
        item[len] = '\0';
        if (strchr(item, '/') != NULL) {
            rc = netaddr_parse_cidr(item, &ip, &prefix);
        } else {
            rc = netaddr_parse_ip4(item, &ip);
        }
        if (rc != 0) {
            fmt_snprintf(err, errlen, "'%s' is not A.B.C.D or A.B.C.D/N", item);
            memset(out, 0, sizeof(*out));
            return -EINVAL;
        }
        out->e[out->n].mask = netaddr_prefix_to_mask(prefix);
        out->e[out->n].net = ip & out->e[out->n].mask;
        out->e[out->n].prefix = prefix;
        out->n++;
        spec += len;
        if (*spec == ',') {
            spec++;
            if (*spec == '\0') {
                fmt_snprintf(err, errlen, "empty entry");
                memset(out, 0, sizeof(*out));
                return -EINVAL;
            }
        }
    }
    return 0;
}

bool acl_allows(const struct acl *a, uint32_t ip)
{
    if (a->n == 0) {
        return true;
    }
    for (size_t i = 0; i < a->n; i++) {
        if ((ip & a->e[i].mask) == a->e[i].net) {
            return true;
        }
    }
    return false;
}

int acl_format(const struct acl *a, char *buf, size_t len)
{
    size_t n = 0;

    if (len > 0) {
        buf[0] = '\0';
    }
    if (a->n == 0) {
        return fmt_snprintf(buf, len, "any");
    }
    for (size_t i = 0; i < a->n; i++) {
        char ip[NETADDR_STR_MAX];

        netaddr_format(a->e[i].net, ip, sizeof(ip));
        n += (size_t)fmt_snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s%s/%u",
                                  i > 0 ? "," : "", ip, a->e[i].prefix);
    }
    return (int)n;
}
