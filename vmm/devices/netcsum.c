/* Internet checksums for the NIC models' offloads (netcsum.h). */
#include "netcsum.h"
#include "../../kernel/errno.h"
#include "../../kernel/lib.h"

#define ETH_HLEN     14
#define ETH_P_IPV4   0x0800
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define TCP_HLEN_MIN 20
#define UDP_HLEN     8

/* Sums native 64-bit words with end-around carry: the ones'-complement sum does not depend
 * on byte order as long as the result is stored back in the same order (RFC 1071). */
uint64_t netcsum_add(uint64_t sum, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t w;
    uint32_t w32;
    uint16_t w16;

    while (len >= 8) {
        memcpy(&w, b, 8);
        sum += w;
        sum += sum < w; /* end-around carry */
        b += 8;
        len -= 8;
    }
    if (len >= 4) {
        memcpy(&w32, b, 4);
        w = w32;
        sum += w;
        sum += sum < w;
        b += 4;
        len -= 4;
    }
    if (len >= 2) {
        memcpy(&w16, b, 2);
        w = w16;
        sum += w;
        sum += sum < w;
        b += 2;
        len -= 2;
    }
    if (len == 1) {
        uint8_t last[2] = {b[0], 0};

        memcpy(&w16, last, 2);
        w = w16;
        sum += w;
        sum += sum < w;
    }
    return sum;
}

uint16_t netcsum_fold(uint64_t sum)
{
    /* 64 -> 33 -> 32 -> 17 -> 16 bits, each step adding the carries back in. */
    sum = (sum & 0xFFFFFFFFull) + (sum >> 32);
    sum = (sum & 0xFFFFFFFFull) + (sum >> 32);
    sum = (sum & 0xFFFFull) + (sum >> 16);
    sum = (sum & 0xFFFFull) + (sum >> 16);
    sum = (sum & 0xFFFFull) + (sum >> 16);
    return (uint16_t)sum;
}

bool netcsum_ipv4_l4_valid(const uint8_t *frame, size_t len)
{
    const uint8_t *ip = frame + ETH_HLEN;
    uint8_t pseudo[12];
    size_t ihl;
    size_t tot;
    size_t l4len;
    uint64_t sum;

    if (len < ETH_HLEN + 20 || frame[12] != (ETH_P_IPV4 >> 8) || frame[13] != (ETH_P_IPV4 & 0xFF)) {
        return false;
    }
    ihl = (size_t)(ip[0] & 0x0F) * 4;
    tot = (size_t)ip[2] << 8 | ip[3];
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || ETH_HLEN + tot > len) {
        return false;
    }
    if (((ip[6] << 8 | ip[7]) & 0x3FFF) != 0) {
        return false; /* a fragment: the transport checksum covers the whole datagram */
    }
    l4len = tot - ihl;
    if (ip[9] == IP_PROTO_TCP) {
        if (l4len < TCP_HLEN_MIN) {
            return false;
        }
    } else if (ip[9] == IP_PROTO_UDP) {
        if (l4len < UDP_HLEN || (ip[ihl + 6] == 0 && ip[ihl + 7] == 0)) {
            return false; /* no UDP checksum: nothing was validated */
        }
    } else {
        return false;
    }
    memcpy(pseudo, ip + 12, 8); /* source and destination address */
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    pseudo[10] = (uint8_t)(l4len >> 8);
    pseudo[11] = (uint8_t)l4len;
    sum = netcsum_add(0, pseudo, sizeof(pseudo));
    sum = netcsum_add(sum, ip + ihl, l4len);
    return netcsum_fold(sum) == 0xFFFF;
}

int netcsum_fill(uint8_t *frame, size_t len, size_t start, size_t off)
{
    uint16_t c;

    if (start >= len || off > len - start || len - start - off < 2) {
        return -EINVAL;
    }
    c = (uint16_t)~netcsum_fold(netcsum_add(0, frame + start, len - start));
    if (c == 0) {
        c = 0xFFFF;
    }
    memcpy(frame + start + off, &c, 2);
    return 0;
}
