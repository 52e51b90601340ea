/* Internet checksums for the NIC models' offloads (netcsum.h). */
#include "netcsum.h"
#include "../errno.h"
#include "../lib.h"

#define ETH_HLEN     14
#define ETH_P_IPV4   0x0800
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define TCP_HLEN_MIN 20
#define UDP_HLEN     8

uint64_t netcsum_pseudo4(const uint8_t *ip, uint8_t proto, size_t l4len)
{
    uint8_t pseudo[12];

    memcpy(pseudo, ip + 12, 8); /* source and destination address */
    pseudo[8] = 0;
    pseudo[9] = proto;
    pseudo[10] = (uint8_t)(l4len >> 8);
    pseudo[11] = (uint8_t)l4len;
    return inet_csum_add(0, pseudo, sizeof(pseudo));
}

void netcsum_ipv4_hdr_fill(uint8_t *ip, size_t ihl)
{
    uint16_t c;

    ip[10] = 0;
    ip[11] = 0;
    c = (uint16_t)~inet_csum_fold(inet_csum_add(0, ip, ihl));
    memcpy(ip + 10, &c, 2); /* the sum is of bytes in wire order: stored as it is */
}

bool netcsum_ipv4_l4_valid(const uint8_t *frame, size_t len)
{
    const uint8_t *ip = frame + ETH_HLEN;
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
    sum = netcsum_pseudo4(ip, ip[9], l4len);
    sum = inet_csum_add(sum, ip + ihl, l4len);
    return inet_csum_fold(sum) == 0xFFFF;
}

int netcsum_fill(uint8_t *frame, size_t len, size_t start, size_t off)
{
    uint16_t c;

    if (start >= len || off > len - start || len - start - off < 2) {
        return -EINVAL;
    }
    c = (uint16_t)~inet_csum_fold(inet_csum_add(0, frame + start, len - start));
    if (c == 0) {
        c = 0xFFFF;
    }
    memcpy(frame + start + off, &c, 2);
    return 0;
}
