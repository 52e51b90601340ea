/* Ethernet frame helpers (frame.h): header and VLAN parsing, MAC classes and text form. */
#include "frame.h"
#include "../kernel/lib.h"

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static bool is_vlan_tpid(uint16_t type)
{
    return type == VNET_ETHERTYPE_VLAN || type == VNET_ETHERTYPE_QINQ;
}

int vnet_eth_parse(const void *frame, size_t len, struct vnet_eth *out)
{
    const uint8_t *p = frame;
    size_t off = 12;

    memset(out, 0, sizeof(*out));
    if (frame == NULL || len < VNET_ETH_HLEN) {
        return -EINVAL;
    }
    out->dst = p;
    out->src = p + VNET_MAC_LEN;
    out->ethertype = get_be16(p + off);
    while (is_vlan_tpid(out->ethertype) && out->vlan_tags < VNET_VLAN_MAX) {
        /* The tag is TPID (already read) + TCI, then the next type field. */
        if (len < off + VNET_VLAN_HLEN + 2) {
            return -EINVAL;
        }
        if (out->vlan_tags == 0) {
            out->vlan_tci = get_be16(p + off + 2);
        }
        out->vlan_tags++;
        off += VNET_VLAN_HLEN;
        out->ethertype = get_be16(p + off);
    }
    out->payload_off = off + 2;
    return 0;
}

size_t vnet_frame_max(const void *frame, size_t len, uint16_t mtu)
{
    const uint8_t *p = frame;
    size_t max = (size_t)mtu + VNET_ETH_HLEN;

    if (len >= VNET_ETH_HLEN && is_vlan_tpid(get_be16(p + 12))) {
        max += VNET_VLAN_HLEN;
    }
    return max;
}

enum vnet_mac_class vnet_mac_class(const uint8_t *mac)
{
    static const uint8_t bcast[VNET_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    if ((mac[0] & 1) == 0) {
        return VNET_MAC_CLASS_UNICAST;
    }
    if (memcmp(mac, bcast, VNET_MAC_LEN) == 0) {
        return VNET_MAC_CLASS_BROADCAST;
    }
    return VNET_MAC_CLASS_MULTICAST;
}

bool vnet_mac_is_group(const uint8_t *mac)
{
    return (mac[0] & 1) != 0;
}

bool vnet_mac_is_zero(const uint8_t *mac)
{
    static const uint8_t zero[VNET_MAC_LEN];

    return memcmp(mac, zero, VNET_MAC_LEN) == 0;
}

bool vnet_mac_equal(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, VNET_MAC_LEN) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int vnet_mac_parse(const char *s, uint8_t mac[VNET_MAC_LEN])
{
    uint8_t tmp[VNET_MAC_LEN];
    char sep;

    if (s == NULL || strlen(s) != VNET_MAC_STR_MAX - 1) {
        return -EINVAL;
    }
    sep = s[2];
    if (sep != ':' && sep != '-') {
        return -EINVAL;
    }
    for (size_t i = 0; i < VNET_MAC_LEN; i++) {
        const char *o = s + i * 3;
        int hi = hex_digit(o[0]);
        int lo = hex_digit(o[1]);

        if (hi < 0 || lo < 0) {
            return -EINVAL;
        }
        if (i + 1 < VNET_MAC_LEN && o[2] != sep) {
            return -EINVAL;
        }
        tmp[i] = (uint8_t)(hi * 16 + lo);
    }
    memcpy(mac, tmp, VNET_MAC_LEN);
    return 0;
}

int vnet_mac_format(const uint8_t *mac, char *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";

    if (buf == NULL || len < VNET_MAC_STR_MAX) {
        if (buf != NULL && len > 0) {
            buf[0] = '\0';
        }
        return -ENOSPC;
    }
    for (size_t i = 0; i < VNET_MAC_LEN; i++) {
        buf[i * 3] = digits[mac[i] >> 4];
        buf[i * 3 + 1] = digits[mac[i] & 0xf];
        buf[i * 3 + 2] = (i + 1 < VNET_MAC_LEN) ? ':' : '\0';
    }
    return VNET_MAC_STR_MAX - 1;
}
