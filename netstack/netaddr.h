/* IPv4 address configuration strings: "A.B.C.D", "A.B.C.D/N", "dhcp". Pure (runs hosted). */
#ifndef PETREL_NETADDR_H
#define PETREL_NETADDR_H

#include "../kernel/types.h"

/* Longest text form of an address, "255.255.255.255" plus the terminator. */
#define NETADDR_STR_MAX 16

/* Addresses are held in host byte order: 10.0.2.15 is 0x0a00020f. */
struct netaddr_config {
    bool dhcp;      /* true: ask a DHCP server; the fields below are unused */
    uint32_t ip;    /* static address */
    uint8_t prefix; /* 0..32 */
    uint32_t netmask;
};

/* Parses a dotted quad: exactly four decimal octets 0..255 separated by single dots, no signs,
 * no spaces, no leading zeros (so "010" can never be mistaken for octal). Returns 0 or -EINVAL. */
int netaddr_parse_ip4(const char *s, uint32_t *out);

/* Parses "A.B.C.D/N" with N in 0..32 (decimal, no leading zero). Returns 0 or -EINVAL. */
int netaddr_parse_cidr(const char *s, uint32_t *ip, uint8_t *prefix);

/* Parses the ip= boot parameter: NULL, "" or "dhcp" (any case) select DHCP; otherwise it must be
 * "A.B.C.D/N" naming a usable host address (see netaddr_check_host). Returns 0 or -EINVAL, and
 * on error *why (if given) says what is wrong in a few words. */
int netaddr_parse_config(const char *s, struct netaddr_config *out, const char **why);

/* Checks that ip/prefix is a usable unicast host address: not 0.0.0.0/8, loopback, multicast
 * or reserved, and (for prefixes up to /30) not the subnet's network or broadcast address.
 * Returns 0 or -EINVAL with *why set (if given). */
int netaddr_check_host(uint32_t ip, uint8_t prefix, const char **why);

/* The netmask of a prefix length (0..32; larger values give 0xffffffff). */
uint32_t netaddr_prefix_to_mask(unsigned prefix);

/* Whether a and b are in the same subnet of `netmask`. */
bool netaddr_same_subnet(uint32_t a, uint32_t b, uint32_t netmask);

/* Writes "A.B.C.D" into buf (at least NETADDR_STR_MAX bytes for the whole text). Returns the
 * length that the full text needs, like snprintf. */
int netaddr_format(uint32_t ip, char *buf, size_t len);

#endif
