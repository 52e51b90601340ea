/* TCP receive coalescing of wire segments into super-frames (tcpgro.h). */
#include "tcpgro.h"
#include "netcsum.h"
#include "tcpseg.h"
#include "../lib.h"

#define ETH_HLEN  14
#define IP_HLEN   20
#define TCP_HLEN  20
#define IP_MAX    65535
#define TCP_PSH   0x08
#define TCP_ACK   0x10
#define TCP_START (ETH_HLEN + IP_HLEN) /* the TCP header's offset: no VLAN, no IP options */

/* What tcpgro_parse learns of a segment that may be merged. */
struct gro_seg {
    size_t hlen;    /* Ethernet + IP + TCP header bytes */
    size_t payload; /* TCP payload bytes, >= 1 */
    uint32_t seq;
    uint8_t flags; /* ACK, maybe PSH */
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Whether the frame is a plain data segment that may be merged: untagged Ethernet + IPv4
 * without options, not a fragment, no padding, + TCP with ACK (and maybe PSH) only, at least
 * one payload byte and both checksums right. Everything the merge later relies on is checked
 * here, against len. */
static bool gro_parse(const uint8_t *f, size_t len, struct gro_seg *s)
{
    const uint8_t *ip = f + ETH_HLEN;
    const uint8_t *tcp = ip + IP_HLEN;
    size_t doff;

    if (len < TCP_START + TCP_HLEN + 1 || len - ETH_HLEN > IP_MAX) {
        return false;
    }
    if (f[12] != 0x08 || f[13] != 0x00 || ip[0] != 0x45 || ip[9] != 6) {
        return false;
    }
    /* Padding would end up inside the super-frame's payload. */
    if (((size_t)ip[2] << 8 | ip[3]) != len - ETH_HLEN) {
        return false;
    }
    if (((ip[6] << 8 | ip[7]) & 0x3FFF) != 0) {
        return false; /* MF or an offset: a fragment */
    }
    if (inet_csum_fold(inet_csum_add(0, ip, IP_HLEN)) != 0xFFFF) {
        return false; /* the super-frame gets a fresh IP checksum: do not launder a bad one */
    }
    /* tcp[12]'s low bits (reserved, AE) must be clear: tcpseg would copy them everywhere. */
    doff = (size_t)(tcp[12] >> 4) * 4;
    if (doff < TCP_HLEN || (tcp[12] & 0x0F) != 0 || TCP_START + doff >= len) {
        return false;
    }
    /* SYN, FIN, RST, URG, ECE, CWR each need the segment's own header: no merge. */
    if ((tcp[13] & ~TCP_PSH) != TCP_ACK) {
        return false;
    }
    /* The super-frame goes out PARTIAL: the receiver will not check the payload again. */
    if (!netcsum_ipv4_l4_valid(f, len)) {
        return false;
    }
    s->hlen = TCP_START + doff;
    s->payload = len - s->hlen;
    s->seq = get32(tcp + 4);
    s->flags = tcp[13];
    return true;
}

/* Whether segment f continues the held super-frame: the same flow and headers (but the IP
 * identification, total length and checksum, TCP sequence number, window, flags, checksum),
 * the next sequence number, no more payload than the first, and room left. */
static bool gro_fits(const struct tcpgro *g, const uint8_t *f, const struct gro_seg *s)
{
    const uint8_t *hip = g->buf + ETH_HLEN;
    const uint8_t *htcp = hip + IP_HLEN;
    const uint8_t *ip = f + ETH_HLEN;
    const uint8_t *tcp = ip + IP_HLEN;

    if (s->hlen != g->hlen || s->seq != g->next_seq || s->payload > g->gso_size) {
        return false;
    }
    if (g->segs >= TCPGRO_SEGS_MAX || s->payload > g->cap - g->len ||
        g->len - ETH_HLEN + s->payload > IP_MAX) {
        return false;
    }
    if (memcmp(g->buf, f, ETH_HLEN) != 0) {
        return false;
    }
    /* TOS; flags byte (DF; MF and offset are 0); TTL, protocol; addresses. */
    if (hip[1] != ip[1] || hip[6] != ip[6] || hip[8] != ip[8] || hip[9] != ip[9] ||
        memcmp(hip + 12, ip + 12, 8) != 0) {
        return false;
    }
    /* Ports; acknowledgment number; data offset; the options, byte for byte. */
    if (memcmp(htcp, tcp, 4) != 0 || memcmp(htcp + 8, tcp + 8, 5) != 0 ||
        memcmp(htcp + TCP_HLEN, tcp + TCP_HLEN, g->hlen - TCP_START - TCP_HLEN) != 0) {
        return false;
    }
    return true;
}

void tcpgro_init(struct tcpgro *g, uint8_t *buf, size_t cap)
{
    memset(g, 0, sizeof(*g));
    g->buf = buf;
    g->cap = cap;
}

int tcpgro_flush(struct tcpgro *g, tcpgro_out_fn out, void *ctx)
{
    uint8_t *ip;
    uint8_t *tcp;
    struct netoff off;
    size_t len = g->len;
    unsigned segs = g->segs;
    uint16_t c;
    int rc;

    /* Holds nothing from here on, whatever out says. */
    g->len = 0;
    g->segs = 0;
    if (len == 0) {
        return 0;
    }
    if (segs == 1) {
        rc = out(ctx, g->buf, len, NULL); /* untouched: exactly as it came */
        return rc < 0 ? rc : 0;
    }
    ip = g->buf + ETH_HLEN;
    tcp = ip + IP_HLEN;
    put16(ip + 2, len - ETH_HLEN);
    netcsum_ipv4_hdr_fill(ip, IP_HLEN);
    /* PARTIAL: the field holds the pseudo-header sum (not complemented), so summing
     * [csum_start, len) and complementing, as netcsum_fill does, gives the full checksum. */
    c = inet_csum_fold(netcsum_pseudo4(ip, 6, len - TCP_START));
    memcpy(tcp + 16, &c, 2);
    off.gso = NETOFF_GSO_TCPV4;
    off.csum = NETOFF_CSUM_PARTIAL;
    off.gso_size = (uint16_t)g->gso_size;
    off.csum_start = TCP_START;
    off.csum_off = 16;
    rc = out(ctx, g->buf, len, &off);
    return rc < 0 ? rc : 0;
}

int tcpgro_add(struct tcpgro *g, const uint8_t *frame, size_t len, tcpgro_out_fn out, void *ctx)
{
    struct gro_seg s;
    bool ok = gro_parse(frame, len, &s);
    int first = 0;
    int rc;

    if (g->len > 0) {
        if (ok && gro_fits(g, frame, &s)) {
            memcpy(g->buf + g->len, frame + s.hlen, s.payload);
            g->len += s.payload;
            g->segs++;
            g->next_seq += (uint32_t)s.payload;
            g->buf[TCP_START + 13] |= s.flags & TCP_PSH;
            /* PSH: the sender wants it delivered now; a short one ends the burst (like Linux). */
            if ((s.flags & TCP_PSH) || s.payload < g->gso_size) {
                return tcpgro_flush(g, out, ctx);
            }
            return 0;
        }
        first = tcpgro_flush(g, out, ctx);
    }
    /* A merge starts only where tcpseg could cut the result again (mss >= TCPSEG_MSS_MIN);
     * a PSH segment alone would be flushed at once, so it goes out as it is. */
    if (ok && !(s.flags & TCP_PSH) && s.payload >= TCPSEG_MSS_MIN && len <= g->cap) {
        memcpy(g->buf, frame, len);
        g->len = len;
        g->hlen = s.hlen;
        g->gso_size = s.payload;
        g->next_seq = s.seq + (uint32_t)s.payload;
        g->segs = 1;
        rc = 0;
    } else {
        rc = out(ctx, frame, len, NULL);
        rc = rc < 0 ? rc : 0;
    }
    return first < 0 ? first : rc;
}
