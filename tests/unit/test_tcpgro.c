/* Unit tests for TCP receive coalescing (kernel/lib/tcpgro.c): a super-frame cut by tcpseg and
 * fed back comes out whole (same bytes, GSO metadata, cut again into the same segments); a
 * lone segment comes out untouched; every reason not to merge (sequence, flow, ack, options,
 * checksums, flags, fragments, IP options, VLAN, padding, protocol, a longer segment) flushes
 * and passes the frame on unchanged, in order; PSH flushes; the 64-segment, 65535-byte and
 * buffer limits; out's errors; and random, mutated and truncated frames all come out in order
 * with every byte accounted for. Frames are real Ethernet + IPv4 + TCP built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../kernel/errno.h"
#include "../../kernel/lib/netcsum.h"
#include "../../kernel/lib/netoff.h"
#include "../../kernel/lib/tcpgro.h"

#define SEQ0     0xFFFFF000u /* wraps inside the bigger tests */
#define IPID0    0x1234u
#define TCP_FIN  0x01
#define TCP_SYN  0x02
#define TCP_RST  0x04
#define TCP_PSH  0x08
#define TCP_ACK  0x10
#define BUF_MAX  NETOFF_FRAME_MAX
#define SEGS_MAX 512 /* segments kept by the cutter */
#define OUTS_MAX 1024

static uint8_t g_super[BUF_MAX];
static uint8_t g_buf[BUF_MAX];
static uint8_t g_scratch[BUF_MAX];

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xFFFF);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Recomputes the IP header checksum and the full TCP checksum of an Ethernet frame whose IP
 * header starts at l2 (any IHL), over the IP total length (must fit the frame). */
static void fix_csums(uint8_t *f, size_t l2)
{
    uint8_t *ip = f + l2;
    size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
    size_t l4len = ((size_t)ip[2] << 8 | ip[3]) - ihl;
    uint8_t *tcp = ip + ihl;
    uint16_t c;

    netcsum_ipv4_hdr_fill(ip, ihl);
    tcp[16] = 0;
    tcp[17] = 0;
    c = (uint16_t)~inet_csum_fold(inet_csum_add(netcsum_pseudo4(ip, ip[9], l4len), tcp, l4len));
    memcpy(tcp + 16, &c, 2);
}

/* Builds an untagged Ethernet + IPv4 + TCP super-frame with `opts` bytes of TCP options (a
 * multiple of 4), `payload` bytes starting at sequence number seq (payload byte i is a function
 * of seq + i, so consecutive frames continue each other) and TCP flags `flags`: the IP header
 * checksum complete, the TCP checksum partial (the pseudo-header sum). Returns its length. */
static size_t build(uint8_t *f, size_t payload, size_t opts, uint32_t seq, uint8_t flags)
{
    uint8_t *ip = f + 14;
    uint8_t *tcp = ip + 20;
    size_t l4len = 20 + opts + payload;
    uint16_t c;

    memcpy(f, (const uint8_t[]){0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1}, 12);
    put16(f + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + l4len));
    put16(ip + 4, IPID0);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    netcsum_ipv4_hdr_fill(ip, 20);
    memset(tcp, 0, 20 + opts);
    put16(tcp, 5001);
    put16(tcp + 2, 40000);
    put32(tcp + 4, seq);
    put32(tcp + 8, 0x0A0B0C0Du);
    tcp[12] = (uint8_t)((20 + opts) / 4) << 4;
    tcp[13] = flags;
    put16(tcp + 14, 501);
    for (size_t i = 0; i < opts; i++) {
        tcp[20 + i] = (uint8_t)(i == 0 ? 1 : 0x40 + i); /* a NOP, then anything */
    }
    for (size_t i = 0; i < payload; i++) {
        tcp[20 + opts + i] = (uint8_t)((seq + i) * 7 + ((seq + i) >> 8));
    }
    c = inet_csum_fold(netcsum_pseudo4(ip, 6, l4len));
    memcpy(tcp + 16, &c, 2);
    return 14 + 20 + l4len;
}

static struct netoff gso_off(unsigned mss)
{
    struct netoff o = {
        .gso = NETOFF_GSO_TCPV4,
        .csum = NETOFF_CSUM_PARTIAL,
        .gso_size = (uint16_t)mss,
        .csum_start = 34,
        .csum_off = 16,
    };

    return o;
}

/* ---- segments: a super-frame cut by netoff_emit (tcpseg) ---------------------------------- */

struct segs {
    unsigned n;
    size_t len[SEGS_MAX];
    uint8_t *data[SEGS_MAX];
};

static int cut_fn(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct segs *s = ctx;

    assert_null(off);
    assert_true(s->n < SEGS_MAX);
    s->data[s->n] = malloc(len + 64); /* room for the mutations that grow a frame */
    assert_non_null(s->data[s->n]);
    memcpy(s->data[s->n], frame, len);
    s->len[s->n] = len;
    s->n++;
    return 0;
}

/* Appends the segments of the super-frame f (mss payload bytes each) to s. */
static void cut(struct segs *s, const uint8_t *f, size_t len, unsigned mss)
{
    struct netoff o = gso_off(mss);
    const char *why = NULL;

    assert_int_equal(netoff_check(f, len, &o, 1514, BUF_MAX, &why), 0);
    assert_true(netoff_emit(f, len, &o, 0, g_scratch, sizeof(g_scratch), cut_fn, s) > 0);
}

static void segs_free(struct segs *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        free(s->data[i]);
    }
    s->n = 0;
}

/* ---- a recording receiver ------------------------------------------------------------------ */

struct rec {
    unsigned calls;
    int fail_at; /* call number (1-based) that returns rc; 0 = never */
    int rc;
    size_t len[OUTS_MAX];
    bool has_off[OUTS_MAX];
    struct netoff off[OUTS_MAX];
    uint8_t *data[OUTS_MAX]; /* copies */
};

static int rec_fn(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct rec *r = ctx;
    unsigned i = r->calls++;

    assert_true(i < OUTS_MAX);
    r->len[i] = len;
    r->has_off[i] = off != NULL;
    if (off != NULL) {
        r->off[i] = *off;
    }
    r->data[i] = malloc(len);
    assert_non_null(r->data[i]);
    memcpy(r->data[i], frame, len);
    if (r->fail_at != 0 && (int)r->calls == r->fail_at) {
        return r->rc;
    }
    return 1; /* positive: not an error */
}

static void rec_free(struct rec *r)
{
    for (unsigned i = 0; i < r->calls && i < OUTS_MAX; i++) {
        free(r->data[i]);
    }
    memset(r, 0, sizeof(*r));
}

static struct rec g_rec;

/* Checks output i is a super-frame of `n` segments of s starting at `first` (the first's
 * headers, the others' payload), with the metadata tcpgro_flush promises and checksums that
 * netcsum_fill completes right. */
static void expect_super(const struct rec *r, unsigned i, const struct segs *s, unsigned first,
                         unsigned n, unsigned mss)
{
    const uint8_t *f = r->data[i];
    const uint8_t *h = s->data[first];
    size_t hlen = 34 + (size_t)(h[46] >> 4) * 4;
    size_t pos = hlen;
    struct netoff want = gso_off(mss);
    const char *why = NULL;
    uint8_t psh = 0;
    uint8_t *copy;

    assert_true(i < r->calls);
    assert_true(r->has_off[i]);
    assert_memory_equal(&r->off[i], &want, sizeof(want));
    for (unsigned k = first; k < first + n; k++) {
        size_t pl = s->len[k] - hlen;

        assert_true(pos + pl <= r->len[i]);
        assert_memory_equal(f + pos, s->data[k] + hlen, pl);
        pos += pl;
        psh |= s->data[k][47] & TCP_PSH;
    }
    assert_int_equal(pos, r->len[i]);
    /* The first segment's headers but total length, IP checksum, flags, TCP checksum. */
    assert_memory_equal(f, h, 16);
    assert_memory_equal(f + 18, h + 18, 6);
    assert_memory_equal(f + 26, h + 26, 47 - 26);
    assert_int_equal(f[47], h[47] | psh);
    assert_memory_equal(f + 48, h + 48, 2);
    assert_memory_equal(f + 52, h + 52, hlen - 52);
    assert_int_equal((size_t)f[16] << 8 | f[17], r->len[i] - 14);
    assert_int_equal(inet_csum_fold(inet_csum_add(0, f + 14, 20)), 0xFFFF);
    assert_int_equal(netoff_check(f, r->len[i], &r->off[i], 1514, BUF_MAX, &why), 0);
    copy = malloc(r->len[i]);
    assert_non_null(copy);
    memcpy(copy, f, r->len[i]);
    assert_int_equal(netcsum_fill(copy, r->len[i], 34, 16), 0);
    assert_true(netcsum_ipv4_l4_valid(copy, r->len[i]));
    free(copy);
}

/* Checks output i is exactly frame f, without metadata. */
static void expect_plain(const struct rec *r, unsigned i, const uint8_t *f, size_t len)
{
    assert_true(i < r->calls);
    assert_false(r->has_off[i]);
    assert_int_equal(r->len[i], len);
    assert_memory_equal(r->data[i], f, len);
}

static void feed(struct tcpgro *g, const struct segs *s, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        assert_int_equal(tcpgro_add(g, s->data[i], s->len[i], rec_fn, &g_rec), 0);
    }
}

/* ---- round trip ----------------------------------------------------------------------------- */

static void round_trip(size_t payload, size_t opts, unsigned mss, uint8_t flags)
{
    size_t len = build(g_super, payload, opts, SEQ0, flags);
    struct netoff want = gso_off(mss);
    struct segs s1 = {0};
    struct segs s2 = {0};
    struct tcpgro g;

    rec_free(&g_rec);
    cut(&s1, g_super, len, mss);
    assert_true(s1.n >= 2);
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    feed(&g, &s1, 0, s1.n);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g.len, 0);
    assert_int_equal(g_rec.calls, 1);
    expect_super(&g_rec, 0, &s1, 0, s1.n, mss);
    assert_memory_equal(&g_rec.off[0], &want, sizeof(want));
    /* The whole super-frame is the original: tcpseg's changes are undone exactly. */
    assert_int_equal(g_rec.len[0], len);
    assert_memory_equal(g_rec.data[0] + len - payload, g_super + len - payload, payload);
    assert_memory_equal(g_rec.data[0], g_super, len);
    /* Cut again: the very same segments. */
    cut(&s2, g_rec.data[0], g_rec.len[0], g_rec.off[0].gso_size);
    assert_int_equal(s2.n, s1.n);
    for (unsigned i = 0; i < s1.n; i++) {
        assert_int_equal(s2.len[i], s1.len[i]);
        assert_memory_equal(s2.data[i], s1.data[i], s1.len[i]);
    }
    segs_free(&s1);
    segs_free(&s2);
    rec_free(&g_rec);
}

static void test_round_trip(void **state)
{
    (void)state;
    round_trip(20000, 0, 1448, TCP_ACK | TCP_PSH);  /* short last segment with PSH */
    round_trip(14480, 0, 1448, TCP_ACK);            /* all full, held until the flush */
    round_trip(30000, 12, 1436, TCP_ACK | TCP_PSH); /* timestamps-sized options */
    round_trip(65535 - 20 - 60, 40, 1024, TCP_ACK); /* the largest, 64 segments */
    round_trip(96, 0, 48, TCP_ACK);                 /* the smallest segment size */
}

static void test_single_segment(void **state)
{
    size_t len = build(g_super, 1448, 0, SEQ0, TCP_ACK);
    struct tcpgro g;

    (void)state;
    fix_csums(g_super, 14);
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    assert_int_equal(tcpgro_add(&g, g_super, len, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 0); /* held */
    assert_int_equal(g.len, len);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 1);
    expect_plain(&g_rec, 0, g_super, len);
    /* Nothing held: flush again is a no-op. */
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 1);
    rec_free(&g_rec);
    /* Too short to start a merge (below TCPSEG_MSS_MIN): straight through. */
    len = build(g_super, 47, 0, SEQ0, TCP_ACK);
    fix_csums(g_super, 14);
    assert_int_equal(tcpgro_add(&g, g_super, len, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 1);
    expect_plain(&g_rec, 0, g_super, len);
    rec_free(&g_rec);
}

/* ---- what breaks a merge -------------------------------------------------------------------- */

enum mut {
    M_SEQ,
    M_FLOW,
    M_ACK,
    M_OPTS,
    M_TCP_CSUM,
    M_IP_CSUM,
    M_SYN,
    M_FIN,
    M_RST,
    M_MF,
    M_FRAG_OFF,
    M_IP_OPTS,
    M_VLAN,
    M_PAD,
    M_UDP,
    M_LONGER,
    M_TOS,
    M_TTL,
    M_MAC,
    M_DF,
    M_COUNT,
};

/* Mutates segment f (no VLAN, IHL 5, 12 option bytes) as m says; returns the new length. Only
 * M_TCP_CSUM and M_IP_CSUM leave wrong checksums. */
static size_t mutate(uint8_t *f, size_t len, enum mut m)
{
    uint8_t *ip = f + 14;
    uint8_t *tcp = ip + 20;

    switch (m) {
    case M_SEQ:
        put32(tcp + 4, get32(tcp + 4) + 1);
        break;
    case M_FLOW:
        put16(tcp, 5002);
        break;
    case M_ACK:
        put32(tcp + 8, get32(tcp + 8) + 100);
        break;
    case M_OPTS:
        tcp[25] ^= 1;
        break;
    case M_TCP_CSUM:
        tcp[16] ^= 0x40;
        return len;
    case M_IP_CSUM:
        ip[10] ^= 0x40;
        return len;
    case M_SYN:
        tcp[13] |= TCP_SYN;
        break;
    case M_FIN:
        tcp[13] |= TCP_FIN;
        break;
    case M_RST:
        tcp[13] |= TCP_RST;
        break;
    case M_MF:
        ip[6] |= 0x20;
        break;
    case M_FRAG_OFF:
        ip[7] = 1;
        break;
    case M_IP_OPTS:
        memmove(ip + 24, ip + 20, len - 34);
        memset(ip + 20, 1, 4); /* NOPs */
        ip[0] = 0x46;
        put16(ip + 2, (unsigned)(len - 14 + 4));
        len += 4;
        break;
    case M_VLAN:
        memmove(f + 16, f + 12, len - 12);
        put16(f + 12, 0x8100);
        put16(f + 14, 7);
        fix_csums(f, 18);
        return len + 4;
    case M_PAD:
        memset(f + len, 0, 6);
        return len + 6;
    case M_UDP:
        ip[9] = 17;
        break;
    case M_LONGER:
        f[len] = 0x55;
        put16(ip + 2, (unsigned)(len + 1 - 14));
        len++;
        break;
    case M_TOS:
        ip[1] = 0x10;
        break;
    case M_TTL:
        ip[8]--;
        break;
    case M_MAC:
        f[5] ^= 1;
        break;
    case M_DF:
        ip[6] &= (uint8_t)~0x40;
        break;
    case M_COUNT:
        break;
    }
    fix_csums(f, 14);
    return len;
}

static bool held(int m)
{
    return m == M_SEQ || m == M_FLOW || m == M_ACK || m == M_OPTS || m == M_LONGER || m == M_TOS ||
           m == M_TTL || m == M_MAC || m == M_DF;
}

static void test_breakers(void **state)
{
    (void)state;
    for (int m = 0; m < M_COUNT; m++) {
        size_t len = build(g_super, 6000, 12, SEQ0, TCP_ACK);
        struct segs s = {0};
        struct tcpgro g;
        size_t mlen;

        cut(&s, g_super, len, 1000);
        assert_int_equal(s.n, 6);
        mlen = mutate(s.data[3], s.len[3], (enum mut)m);
        s.len[3] = mlen;
        tcpgro_init(&g, g_buf, sizeof(g_buf));
        feed(&g, &s, 0, 4);
        /* A valid segment that just does not continue the merge starts a new one. */
        assert_int_equal(g_rec.calls, held(m) ? 1 : 2);
        assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
        assert_int_equal(g_rec.calls, 2);
        expect_super(&g_rec, 0, &s, 0, 3, 1000);
        expect_plain(&g_rec, 1, s.data[3], mlen);
        rec_free(&g_rec);
        segs_free(&s);
    }
}

/* ---- PSH -------------------------------------------------------------------------------- */

static void test_psh_flushes(void **state)
{
    size_t len = build(g_super, 5000, 0, SEQ0, TCP_ACK);
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    cut(&s, g_super, len, 1000);
    assert_int_equal(s.n, 5);
    s.data[2][47] |= TCP_PSH;
    fix_csums(s.data[2], 14);
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    feed(&g, &s, 0, 3);
    assert_int_equal(g_rec.calls, 1); /* out at once */
    assert_int_equal(g.len, 0);
    expect_super(&g_rec, 0, &s, 0, 3, 1000);
    assert_true(g_rec.data[0][47] & TCP_PSH);
    feed(&g, &s, 3, 5);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 2);
    expect_super(&g_rec, 1, &s, 3, 2, 1000);
    assert_false(g_rec.data[1][47] & TCP_PSH);
    rec_free(&g_rec);
    /* A PSH segment with nothing held goes out as it is, at once. */
    feed(&g, &s, 2, 3);
    assert_int_equal(g_rec.calls, 1);
    expect_plain(&g_rec, 0, s.data[2], s.len[2]);
    assert_int_equal(g.len, 0);
    rec_free(&g_rec);
    segs_free(&s);
}

/* ---- limits --------------------------------------------------------------------------------- */

static void test_limit_segments(void **state)
{
    size_t len = build(g_super, 65 * 500, 0, SEQ0, TCP_ACK);
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    cut(&s, g_super, len, 500);
    assert_int_equal(s.n, 65);
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    feed(&g, &s, 0, 65);
    assert_int_equal(g_rec.calls, 1);
    expect_super(&g_rec, 0, &s, 0, TCPGRO_SEGS_MAX, 500);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    expect_plain(&g_rec, 1, s.data[64], s.len[64]);
    rec_free(&g_rec);
    segs_free(&s);
}

static void test_limit_ip_length(void **state)
{
    /* Five segments of 13099 bytes fill the IP packet to exactly 65535 bytes. */
    size_t len = build(g_super, 5 * 13099, 0, SEQ0, TCP_ACK);
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    cut(&s, g_super, len, 13099);
    len = build(g_super, 2 * 13099, 0, SEQ0 + 5 * 13099, TCP_ACK);
    cut(&s, g_super, len, 13099);
    assert_int_equal(s.n, 7);
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    feed(&g, &s, 0, 5);
    assert_int_equal(g_rec.calls, 0);
    assert_int_equal(g.len, 14 + 65535);
    feed(&g, &s, 5, 7);
    assert_int_equal(g_rec.calls, 1);
    expect_super(&g_rec, 0, &s, 0, 5, 13099);
    assert_int_equal(g_rec.len[0], 14 + 65535);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    expect_super(&g_rec, 1, &s, 5, 2, 13099);
    rec_free(&g_rec);
    segs_free(&s);
}

static void test_limit_cap(void **state)
{
    size_t len = build(g_super, 5000, 0, SEQ0, TCP_ACK);
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    cut(&s, g_super, len, 1000);
    /* Room for three segments and a half. */
    tcpgro_init(&g, g_buf, 54 + 3500);
    feed(&g, &s, 0, 5);
    assert_int_equal(g_rec.calls, 1);
    expect_super(&g_rec, 0, &s, 0, 3, 1000);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    expect_super(&g_rec, 1, &s, 3, 2, 1000);
    rec_free(&g_rec);
    /* No room for even one: every segment goes through as it is. */
    tcpgro_init(&g, g_buf, 54 + 999);
    feed(&g, &s, 0, 5);
    assert_int_equal(g_rec.calls, 5);
    for (unsigned i = 0; i < 5; i++) {
        expect_plain(&g_rec, i, s.data[i], s.len[i]);
    }
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 5);
    rec_free(&g_rec);
    segs_free(&s);
}

/* ---- out's errors --------------------------------------------------------------------------- */

static void test_out_error(void **state)
{
    size_t len = build(g_super, 5000, 0, SEQ0, TCP_ACK);
    uint8_t udp[60];
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    cut(&s, g_super, len, 1000);
    memcpy(udp, s.data[0], sizeof(udp));
    udp[23] = 17;
    tcpgro_init(&g, g_buf, sizeof(g_buf));
    /* The flush fails: its error comes back, the new frame still goes out. */
    feed(&g, &s, 0, 3);
    g_rec.fail_at = 1;
    g_rec.rc = -EAGAIN;
    assert_int_equal(tcpgro_add(&g, udp, sizeof(udp), rec_fn, &g_rec), -EAGAIN);
    assert_int_equal(g_rec.calls, 2);
    expect_super(&g_rec, 0, &s, 0, 3, 1000);
    expect_plain(&g_rec, 1, udp, sizeof(udp));
    assert_int_equal(g.len, 0);
    /* The plain frame fails. */
    g_rec.fail_at = 3;
    g_rec.rc = -EIO;
    assert_int_equal(tcpgro_add(&g, udp, sizeof(udp), rec_fn, &g_rec), -EIO);
    /* tcpgro_flush fails, and holds nothing after. */
    feed(&g, &s, 3, 5);
    g_rec.fail_at = 4;
    g_rec.rc = -ENOMEM;
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), -ENOMEM);
    assert_int_equal(g.len, 0);
    assert_int_equal(g_rec.calls, 4);
    expect_super(&g_rec, 3, &s, 3, 2, 1000);
    assert_int_equal(tcpgro_flush(&g, rec_fn, &g_rec), 0);
    assert_int_equal(g_rec.calls, 4);
    /* A short segment ends the merge in tcpgro_add: the flush's error comes back. */
    feed(&g, &s, 0, 2);
    g_rec.fail_at = 5;
    g_rec.rc = -EAGAIN;
    s.len[2] -= 10;
    s.data[2][17] -= 10;
    fix_csums(s.data[2], 14);
    assert_int_equal(tcpgro_add(&g, s.data[2], s.len[2], rec_fn, &g_rec), -EAGAIN);
    assert_int_equal(g_rec.calls, 5);
    expect_super(&g_rec, 4, &s, 0, 3, 1000);
    rec_free(&g_rec);
    segs_free(&s);
}

/* ---- garbage -------------------------------------------------------------------------------- */

#define IN_MAX 600

static uint8_t *g_in[IN_MAX];
static size_t g_in_len[IN_MAX];
static unsigned g_in_n;
static unsigned g_next; /* the next input an output must start with */
static size_t g_bytes_in;
static size_t g_bytes_out;
static size_t g_hdr_merged; /* header bytes of inputs merged away */

/* Checks each output against the inputs in order: a plain one is the next input, byte for
 * byte; a super-frame is the next inputs' headers and payloads. */
static int order_fn(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    const char *why = NULL;
    size_t hlen;
    size_t pos;
    unsigned k = 0;

    (void)ctx;
    assert_true(g_next < g_in_n);
    if (off == NULL) {
        assert_int_equal(len, g_in_len[g_next]);
        assert_memory_equal(frame, g_in[g_next], len);
        g_bytes_out += len;
        g_next++;
        return 0;
    }
    assert_int_equal(netoff_check(frame, len, off, 1514, BUF_MAX, &why), 0);
    hlen = netoff_gso_hlen(frame, off);
    assert_memory_equal(frame, g_in[g_next], 16);
    g_bytes_out += len;
    for (pos = hlen; pos < len; k++) {
        size_t pl = g_in_len[g_next] - hlen;

        assert_true(g_in_len[g_next] > hlen && pos + pl <= len);
        assert_true(k == 0 || pl <= off->gso_size);
        assert_memory_equal(frame + pos, g_in[g_next] + hlen, pl);
        pos += pl;
        g_next++;
    }
    assert_int_equal(pos, len);
    assert_true(k >= 2 && k <= TCPGRO_SEGS_MAX);
    g_hdr_merged += (k - 1) * hlen;
    return 0;
}

static uint32_t g_rand = 12345;

static uint32_t rnd(void)
{
    g_rand = g_rand * 1103515245u + 12345u;
    return g_rand >> 8;
}

static void test_garbage(void **state)
{
    struct segs s = {0};
    struct tcpgro g;

    (void)state;
    for (int round = 0; round < 40; round++) {
        size_t len = build(g_super, 1 + rnd() % 20000, 4 * (rnd() % 3), rnd(), TCP_ACK);

        cut(&s, g_super, len, 48 + rnd() % 1500);
        tcpgro_init(&g, g_buf, (rnd() & 1) ? sizeof(g_buf) : 54 + rnd() % 8000);
        g_in_n = 0;
        g_next = 0;
        g_bytes_in = 0;
        g_bytes_out = 0;
        g_hdr_merged = 0;
        for (unsigned i = 0; i < s.n && g_in_n < IN_MAX - 2; i++) {
            size_t l = s.len[i];
            uint8_t *f = malloc(l + 64);
            uint32_t what = rnd() % 8;

            assert_non_null(f);
            memcpy(f, s.data[i], l);
            if (what == 1) {
                f[rnd() % l] ^= (uint8_t)(1 + rnd() % 255); /* a flipped byte */
            } else if (what == 2) {
                l = rnd() % (l + 1); /* truncated, down to nothing */
            } else if (what == 3) {
                for (size_t k = 0; k < l; k++) {
                    f[k] = (uint8_t)rnd();
                }
            } else if (what == 4) {
                l = mutate(f, l, (enum mut)(rnd() % M_COUNT));
            }
            g_in[g_in_n] = f;
            g_in_len[g_in_n] = l;
            g_in_n++;
            g_bytes_in += l;
            assert_int_equal(tcpgro_add(&g, f, l, order_fn, NULL), 0);
            assert_true(g.len <= g.cap);
        }
        assert_int_equal(tcpgro_flush(&g, order_fn, NULL), 0);
        assert_int_equal(g_next, g_in_n);
        assert_int_equal(g_bytes_out + g_hdr_merged, g_bytes_in);
        for (unsigned i = 0; i < g_in_n; i++) {
            free(g_in[i]);
        }
        segs_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_single_segment),
        cmocka_unit_test(test_breakers),       cmocka_unit_test(test_psh_flushes),
        cmocka_unit_test(test_limit_segments), cmocka_unit_test(test_limit_ip_length),
        cmocka_unit_test(test_limit_cap),      cmocka_unit_test(test_out_error),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
