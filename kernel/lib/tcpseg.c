/* TCP segmentation of a TCP/IPv4 super-frame into wire-sized frames (tcpseg.h). */
#include "tcpseg.h"
#include "netcsum.h"
#include "../errno.h"
#include "../lib.h"

#define ETH_HLEN     14
#define VLAN_HLEN    4
#define ETH_P_IPV4   0x0800
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#define TCP_FIN      0x01
#define TCP_SYN      0x02
#define TCP_RST      0x04
#define TCP_PSH      0x08
#define TCP_URG      0x20
#define TCP_CWR      0x80

static int tcpseg_bad(const char **why, const char *what)
{
    *why = what;
    return -EINVAL;
}

int tcpseg_prepare(const uint8_t *frame, size_t len, size_t mss, size_t max_frame, struct tcpseg *s,
                   const char **why)
{
    const uint8_t *ip;
    const uint8_t *tcp;
    unsigned type;
    size_t tot;
    size_t doff;

    if (len < ETH_HLEN + 20 + 20 || len > TCPSEG_FRAME_MAX) {
        return tcpseg_bad(why, "super-frame length out of range");
    }
    s->l2 = ETH_HLEN;
    type = (unsigned)frame[12] << 8 | frame[13];
    if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
        /* One VLAN tag (a VLAN interface on the guest's NIC keeps its offloads). */
        s->l2 += VLAN_HLEN;
        type = (unsigned)frame[16] << 8 | frame[17];
    }
    if (type != ETH_P_IPV4) {
        return tcpseg_bad(why, "TSO4 frame is not IPv4");
    }
    ip = frame + s->l2;
    s->ihl = (size_t)(ip[0] & 0x0F) * 4;
    tot = (size_t)ip[2] << 8 | ip[3];
    if ((ip[0] >> 4) != 4 || s->ihl < 20 || s->l2 + s->ihl + 20 > len) {
        return tcpseg_bad(why, "bad IPv4 header");
    }
    if (tot != len - s->l2) {
        return tcpseg_bad(why, "IPv4 total length is not the frame's");
    }
    if (((ip[6] << 8 | ip[7]) & 0x3FFF) != 0) {
        return tcpseg_bad(why, "IPv4 fragment");
    }
    if (ip[9] != 6) {
        return tcpseg_bad(why, "TSO4 frame is not TCP");
    }
    tcp = ip + s->ihl;
    doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < 20 || s->l2 + s->ihl + doff >= len) {
        return tcpseg_bad(why, "bad TCP header or no payload");
    }
    if (tcp[13] & (TCP_SYN | TCP_RST | TCP_URG)) {
        return tcpseg_bad(why, "SYN, RST or URG in a TSO frame");
    }
    s->hlen = s->l2 + s->ihl + doff;
    if (mss < TCPSEG_MSS_MIN || mss > max_frame || s->hlen > max_frame - mss) {
        return tcpseg_bad(why, "segment size out of range");
    }
    s->mss = mss;
    s->payload = len - s->hlen;
    s->count = (unsigned)((s->payload + mss - 1) / mss);
    return 0;
}

static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

size_t tcpseg_build(const struct tcpseg *s, const uint8_t *frame, unsigned i, uint8_t *out)
{
    size_t off = (size_t)i * s->mss;
    size_t n = s->payload - off < s->mss ? s->payload - off : s->mss;
    size_t l4len = s->hlen - s->l2 - s->ihl + n;
    uint8_t *ip = out + s->l2;
    uint8_t *tcp = ip + s->ihl;
    uint32_t v;
    uint16_t c;

    memcpy(out, frame, s->hlen);
    memcpy(out + s->hlen, frame + s->hlen + off, n);
    /* IP: this segment's length, identification + i, a fresh header checksum. */
    put_be16(ip + 2, (uint32_t)(s->ihl + l4len));
    put_be16(ip + 4, (uint32_t)((ip[4] << 8 | ip[5]) + i));
    netcsum_ipv4_hdr_fill(ip, s->ihl);
    /* TCP: sequence number advanced by the bytes before, flags of the right end. */
    v = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    v += (uint32_t)off;
    tcp[4] = (uint8_t)(v >> 24);
    tcp[5] = (uint8_t)(v >> 16);
    tcp[6] = (uint8_t)(v >> 8);
    tcp[7] = (uint8_t)v;
    if (i + 1 < s->count) {
        tcp[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
    }
    if (i > 0) {
        tcp[13] &= (uint8_t)~TCP_CWR;
    }
    tcp[16] = 0;
    tcp[17] = 0;
    c = (uint16_t)~inet_csum_fold(inet_csum_add(netcsum_pseudo4(ip, 6, l4len), tcp, l4len));
    memcpy(tcp + 16, &c, 2);
    return s->hlen + n;
}
