/* Ethernet frame helpers: header parsing with VLAN tag skipping, MAC address classes, and the
 * text form of MAC addresses ("52:54:00:12:34:56"). Pure: no host calls, no state. */
#ifndef PETREL_VNET_FRAME_H
#define PETREL_VNET_FRAME_H

#include "../kernel/types.h"

#define VNET_MAC_LEN        6
#define VNET_MAC_STR_MAX    18 /* "52:54:00:12:34:56" and the terminator */
#define VNET_ETH_HLEN       14 /* destination, source, EtherType */
#define VNET_VLAN_HLEN      4  /* one 802.1Q tag: TPID and TCI */
#define VNET_VLAN_MAX       2  /* tags skipped by the parser (802.1ad outer + 802.1Q inner) */
#define VNET_ETH_MIN        VNET_ETH_HLEN /* shorter frames are runts */
#define VNET_ETHERTYPE_VLAN 0x8100
#define VNET_ETHERTYPE_QINQ 0x88a8
#define VNET_ETHERTYPE_IPV4 0x0800

enum vnet_mac_class {
    VNET_MAC_CLASS_UNICAST,
    VNET_MAC_CLASS_MULTICAST, /* group bit set, not all ones */
    VNET_MAC_CLASS_BROADCAST, /* ff:ff:ff:ff:ff:ff */
};

/* The parsed header of one frame. The pointers point into the frame. */
struct vnet_eth {
    const uint8_t *dst;
    const uint8_t *src;
    uint16_t ethertype; /* after the VLAN tags (the payload's type) */
    uint8_t vlan_tags;  /* 0..VNET_VLAN_MAX tags skipped */
    uint16_t vlan_tci;  /* TCI of the outermost tag (0 without tags) */
    size_t payload_off; /* first byte after the header and the tags */
};

/* Parses the Ethernet header and up to VNET_VLAN_MAX VLAN tags (TPID 0x8100 or 0x88a8).
 * Returns 0, or -EINVAL for a runt (len < 14) or a frame cut inside a tag; more than
 * VNET_VLAN_MAX tags are left unparsed (ethertype is then the third TPID). */
int vnet_eth_parse(const void *frame, size_t len, struct vnet_eth *out);

/* The largest frame (without FCS) a port with IP MTU `mtu` accepts: mtu + 14, plus 4 when
 * the frame carries a VLAN tag (one tag's allowance however many tags it has): 1514 / 1518
 * for the usual MTU 1500. `frame` must hold at least 14 bytes. */
size_t vnet_frame_max(const void *frame, size_t len, uint16_t mtu);

enum vnet_mac_class vnet_mac_class(const uint8_t *mac);
bool vnet_mac_is_group(const uint8_t *mac); /* multicast or broadcast */
bool vnet_mac_is_zero(const uint8_t *mac);
bool vnet_mac_equal(const uint8_t *a, const uint8_t *b);

/* Parses six two-digit hex octets separated by ':' (or all by '-'); nothing else around them.
 * Returns 0 or -EINVAL. */
int vnet_mac_parse(const char *s, uint8_t mac[VNET_MAC_LEN]);
/* Writes "52:54:00:12:34:56" (lower case). Returns the length (17) or -ENOSPC if buf is too
 * small (buf then holds "" when len > 0). */
int vnet_mac_format(const uint8_t *mac, char *buf, size_t len);

#endif
