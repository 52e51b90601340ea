/* IPv4 address configuration strings: "A.B.C.D", "A.B.C.D/N", "dhcp". Pure (runs hosted). */
#include "netaddr.h"
#include "../kernel/lib.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads 1..max_digits decimal digits at *p into *out and advances *p. A leading zero is
 * refused ("010" is 8 to inet_aton but 10 to others), and so are signs and spaces. */
static int parse_dec(const char **p, unsigned max_digits, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    unsigned n = 0;

    while (is_digit(*s)) {
        if (n == max_digits) {
            return -EINVAL;
        }
        v = v * 10 + (unsigned)(*s - '0');
        n++;
        s++;
    }
    if (n == 0 || (n > 1 && **p == '0')) {
        return -EINVAL;
    }
    *p = s;
    *out = v;
    return 0;
}

/* Parses the dotted quad at *p, stopping at the first character after the fourth octet. */
static int parse_quad(const char **p, uint32_t *out)
{
    const char *s = *p;
    uint32_t ip = 0;

    for (int i = 0; i < 4; i++) {
        unsigned octet;

        if (i > 0) {
            if (*s != '.') {
                return -EINVAL;
            }
            s++;
        }
        if (parse_dec(&s, 3, &octet) != 0 || octet > 255) {
            return -EINVAL;
        }
        ip = (ip << 8) | octet;
    }
    *p = s;
    *out = ip;
    return 0;
}

int netaddr_parse_ip4(const char *s, uint32_t *out)
{
    uint32_t ip;

    if (s == NULL || parse_quad(&s, &ip) != 0 || *s != '\0') {
        return -EINVAL;
    }
    *out = ip;
    return 0;
}

int netaddr_parse_cidr(const char *s, uint32_t *ip, uint8_t *prefix)
{
    uint32_t addr;
    unsigned len;

    if (s == NULL || parse_quad(&s, &addr) != 0 || *s != '/') {
        return -EINVAL;
    }
    s++;
    if (parse_dec(&s, 2, &len) != 0 || len > 32 || *s != '\0') {
        return -EINVAL;
    }
    *ip = addr;
    *prefix = (uint8_t)len;
    return 0;
}

uint32_t netaddr_prefix_to_mask(unsigned prefix)
{
    if (prefix == 0) {
        return 0; /* a shift by 32 would be undefined */
    }
    if (prefix >= 32) {
        return 0xffffffffu;
    }
    return 0xffffffffu << (32 - prefix);
}

bool netaddr_same_subnet(uint32_t a, uint32_t b, uint32_t netmask)
{
    return (a & netmask) == (b & netmask);
}

int netaddr_check_host(uint32_t ip, uint8_t prefix, const char **why)
{
    const char *problem = NULL;
    uint32_t mask = netaddr_prefix_to_mask(prefix);
    uint8_t first = (uint8_t)(ip >> 24);

    if (prefix > 32) {
        problem = "prefix longer than 32";
    } else if (first == 0) {
        problem = "address in 0.0.0.0/8";
    } else if (first == 127) {
        problem = "loopback address";
    } else if (first >= 224) {
        problem = "multicast or reserved address";
    } else if (prefix == 0) {
        problem = "prefix /0 leaves no subnet";
    } else if (prefix <= 30 && (ip & ~mask) == 0) {
        problem = "subnet (network) address, not a host address";
    } else if (prefix <= 30 && (ip & ~mask) == ~mask) {
        problem = "subnet broadcast address, not a host address";
    }
    if (problem != NULL) {
        if (why != NULL) {
            *why = problem;
        }
        return -EINVAL;
    }
    return 0;
}

int netaddr_parse_config(const char *s, struct netaddr_config *out, const char **why)
{
    uint32_t ip;
    uint8_t prefix;
    int rc;

    memset(out, 0, sizeof(*out));
    if (s == NULL || s[0] == '\0' || str_casecmp(s, "dhcp") == 0) {
        out->dhcp = true;
        return 0;
    }
    if (netaddr_parse_ip4(s, &ip) == 0) {
        if (why != NULL) {
            *why = "missing /PREFIX (e.g. /24)";
        }
        return -EINVAL;
    }
    if (netaddr_parse_cidr(s, &ip, &prefix) != 0) {
        if (why != NULL) {
            *why = "not dhcp or A.B.C.D/PREFIX (octets 0..255, prefix 0..32)";
        }
        return -EINVAL;
    }
    rc = netaddr_check_host(ip, prefix, why);
    if (rc != 0) {
        return rc;
    }
    out->ip = ip;
    out->prefix = prefix;
    out->netmask = netaddr_prefix_to_mask(prefix);
    return 0;
}

int netaddr_format(uint32_t ip, char *buf, size_t len)
{
    return snprintf(buf, len, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)((ip >> 16) & 0xff),
                    (unsigned)((ip >> 8) & 0xff), (unsigned)(ip & 0xff));
}
