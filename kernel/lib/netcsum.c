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
    sum = inet_csum_add(0, pseudo, sizeof(pseudo));
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
