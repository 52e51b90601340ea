/* The console's access list: the source networks allowed to connect
 * (console.allow=10.0.2.0/24,192.168.1.7,...). An empty list allows everyone. Addresses are
 * in host byte order. Parsing uses netstack/netaddr.h. Pure (runs hosted). */
#ifndef PETREL_CON_ACL_H
#define PETREL_CON_ACL_H

#include "../kernel/types.h"

#define ACL_MAX 16

struct acl_entry {
    uint32_t net; /* already masked */
    uint32_t mask;
    uint8_t prefix;
};

struct acl {
    size_t n;
    struct acl_entry e[ACL_MAX];
};

/* Parses a comma-separated list of A.B.C.D or A.B.C.D/N (host bits are cleared). On error the
 * list is left empty and -EINVAL returned with a message in err. */
int acl_parse(const char *spec, struct acl *out, char *err, size_t errlen);
bool acl_allows(const struct acl *a, uint32_t ip);
/* "10.0.2.0/24,192.168.1.7/32" or "any". Returns the length the whole text needs. */
int acl_format(const struct acl *a, char *buf, size_t len);

#endif
