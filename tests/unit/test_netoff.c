/* Unit tests for the offload metadata helpers (kernel/lib/netoff.c): netoff_active, what
 * netoff_check accepts and refuses (and says why), and netoff_emit's software fallback: frames
 * passed on whole with their metadata to receivers that take it, super-frames cut into TCP
 * segments (lengths, IP total length and identification, sequence numbers, flags, both
 * checksums, payload) for those that do not, partial checksums completed in a copy, VALID
 * only for NETOFF_CAP_VALID, a scratch buffer too small, and a receiver's error stopping the
 * segments. Frames are real Ethernet + IPv4 + TCP built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../kernel/errno.h"
#include "../../kernel/lib/netcsum.h"
#include "../../kernel/lib/netoff.h"

#define HLEN     54 /* Ethernet + IPv4 + TCP without options */
#define SEQ0     0x01020304u
#define IPID0    0x1234u
#define TCP_ACK  0x10
#define TCP_PSH  0x08
#define TCP_FIN  0x01
#define TCP_SYN  0x02
#define TCP_CWR  0x80
#define BUF_MAX  NETOFF_FRAME_MAX
#define SEGS_MAX 64

static uint8_t g_frame[BUF_MAX];
static uint8_t g_copy[BUF_MAX];
static uint8_t g_scratch[BUF_MAX];

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t payload_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* Builds Ethernet (+ a VLAN tag) + IPv4 + TCP (ACK|PSH) with `payload` bytes: the IP header
 * checksum complete, the TCP checksum partial (the pseudo-header sum, as a sender leaving it to
 * the device stores it). Returns the length; *csum_start is the TCP header's offset. */
static size_t build(uint8_t *f, size_t payload, bool vlan, size_t *csum_start)
{
    size_t l2 = vlan ? 18 : 14;
    uint8_t *ip = f + l2;
    uint8_t *tcp = ip + 20;
    size_t l4len = 20 + payload;
    uint8_t pseudo[12];
    uint16_t c;

    memcpy(f, (const uint8_t[]){0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1}, 12);
    if (vlan) {
        put16(f + 12, 0x8100);
        put16(f + 14, 7);
    }
    put16(f + l2 - 2, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + l4len));
    put16(ip + 4, IPID0);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    c = (uint16_t)~inet_csum_fold(inet_csum_add(0, ip, 20));
    memcpy(ip + 10, &c, 2);
    memset(tcp, 0, 20);
    put16(tcp, 40000);
    put16(tcp + 2, 5001);
    tcp[4] = (uint8_t)(SEQ0 >> 24);
    tcp[5] = (uint8_t)(SEQ0 >> 16);
    tcp[6] = (uint8_t)(SEQ0 >> 8);
    tcp[7] = (uint8_t)SEQ0;
    tcp[12] = 5 << 4;
    tcp[13] = TCP_ACK | TCP_PSH;
    put16(tcp + 14, 65535);
    for (size_t i = 0; i < payload; i++) {
        tcp[20 + i] = payload_byte(i);
    }
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (unsigned)l4len);
    c = inet_csum_fold(inet_csum_add(0, pseudo, 12));
    memcpy(tcp + 16, &c, 2);
    *csum_start = l2 + 20;
    return l2 + 20 + l4len;
}

static struct netoff gso_off(size_t csum_start, unsigned mss)
{
    struct netoff o = {
        .gso = NETOFF_GSO_TCPV4,
        .csum = NETOFF_CSUM_PARTIAL,
        .gso_size = (uint16_t)mss,
        .csum_start = (uint16_t)csum_start,
        .csum_off = 16,
    };

    return o;
}

static struct netoff partial_off(size_t csum_start)
{
    struct netoff o = {
        .csum = NETOFF_CSUM_PARTIAL, .csum_start = (uint16_t)csum_start, .csum_off = 16};

    return o;
}

/* ---- a recording receiver ------------------------------------------------------------------ */

struct rec {
    unsigned calls;
    int fail_at; /* call number (1-based) that returns `rc`; 0 = never */
    int rc;
    const uint8_t *ptr[SEGS_MAX];
    const struct netoff *off[SEGS_MAX];
    size_t len[SEGS_MAX];
    uint8_t *data[SEGS_MAX]; /* copies */
};

static int rec_fn(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct rec *r = ctx;
    unsigned i = r->calls++;

    if (r->fail_at != 0 && (int)r->calls == r->fail_at) {
        return r->rc;
    }
    if (i < SEGS_MAX) {
        r->ptr[i] = frame;
        r->off[i] = off;
        r->len[i] = len;
        r->data[i] = malloc(len);
        assert_non_null(r->data[i]);
        memcpy(r->data[i], frame, len);
    }
    return 0;
}

static void rec_free(struct rec *r)
{
    for (unsigned i = 0; i < SEGS_MAX; i++) {
        free(r->data[i]);
        r->data[i] = NULL;
    }
}

static bool ip_hdr_valid(const uint8_t *ip)
{
    return inet_csum_fold(inet_csum_add(0, ip, (size_t)(ip[0] & 0x0F) * 4)) == 0xFFFF;
}

/* ---- netoff_active and netoff_check ---------------------------------------------------------- */

static void test_active(void **state)
{
    struct netoff o = {0};

    (void)state;
    assert_false(netoff_active(NULL));
    assert_false(netoff_active(&o));
    o.csum = NETOFF_CSUM_VALID;
    assert_false(netoff_active(&o)); /* says something, asks for nothing */
    o.csum = NETOFF_CSUM_PARTIAL;
    assert_true(netoff_active(&o));
    o.csum = NETOFF_CSUM_NONE;
    o.gso = NETOFF_GSO_TCPV4;
    assert_true(netoff_active(&o));
}

static void test_check_accepts(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 4000, false, &cs);
    struct netoff gso = gso_off(cs, 1448);
    struct netoff part = partial_off(cs);
    struct netoff valid = {.csum = NETOFF_CSUM_VALID};
    const char *why = "x";

    (void)state;
    /* A super-frame longer than plain_max, whose segments fit seg_max exactly. */
    assert_int_equal(netoff_check(g_frame, len, &gso, 1514, 1514, &why), 0);
    assert_null(why);
    assert_int_equal(netoff_check(g_frame, len, &gso, 1514, HLEN + 1448, &why), 0);
    /* Plain metadata and no metadata: only the length counts. */
    len = build(g_frame, 1000, false, &cs);
    assert_int_equal(netoff_check(g_frame, len, NULL, 1514, 1514, &why), 0);
    assert_int_equal(netoff_check(g_frame, len, &part, 1514, 1514, &why), 0);
    assert_int_equal(netoff_check(g_frame, len, &valid, 1514, 1514, &why), 0);
    /* The checksum field may be anywhere inside the frame (UDP, odd offsets). */
    part.csum_start = 34;
    part.csum_off = 6;
    assert_int_equal(netoff_check(g_frame, len, &part, 1514, 1514, &why), 0);
    part.csum_start = (uint16_t)(len - 2);
    part.csum_off = 0;
    assert_int_equal(netoff_check(g_frame, len, &part, 1514, 1514, &why), 0);
    /* One VLAN tag keeps GSO. */
    len = build(g_frame, 3000, true, &cs);
    gso = gso_off(cs, 1000);
    assert_int_equal(netoff_check(g_frame, len, &gso, 1518, 1518, &why), 0);
    /* The largest super-frame. */
    len = build(g_frame, 65535 - 40, true, &cs);
    assert_int_equal(len, NETOFF_FRAME_MAX);
    gso = gso_off(cs, 1448);
    assert_int_equal(netoff_check(g_frame, len, &gso, 1518, 1518, &why), 0);
}

static void test_check_refuses(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 4000, false, &cs);
    struct netoff o;
    const char *why;

    (void)state;
    /* Too long without GSO: -EMSGSIZE, with or without metadata. */
    why = NULL;
    assert_int_equal(netoff_check(g_frame, len, NULL, 1514, 1514, &why), -EMSGSIZE);
    assert_non_null(why);
    o = partial_off(cs);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EMSGSIZE);
    o = (struct netoff){.csum = NETOFF_CSUM_VALID};
    assert_int_equal(netoff_check(g_frame, 1515, &o, 1514, 1514, &why), -EMSGSIZE);
    /* Unknown values. */
    o = gso_off(cs, 1448);
    o.csum = 3;
    why = NULL;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    assert_non_null(why);
    o = gso_off(cs, 1448);
    o.gso = 2;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    /* The partial checksum field outside the frame. */
    len = build(g_frame, 1000, false, &cs);
    o = partial_off(cs);
    o.csum_start = (uint16_t)(len - 1);
    o.csum_off = 0;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o.csum_start = 0xFFFF;
    o.csum_off = 0xFFFF;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o = partial_off(0);
    o.csum_off = 0;
    assert_int_equal(netoff_check(g_frame, 10, &o, 1514, 1514, &why), -EINVAL); /* a runt */
    /* GSO without the partial TCP checksum. */
    len = build(g_frame, 4000, false, &cs);
    o = gso_off(cs, 1448);
    o.csum = NETOFF_CSUM_NONE;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o.csum = NETOFF_CSUM_VALID;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o = gso_off(cs + 1, 1448);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o = gso_off(cs, 1448);
    o.csum_off = 6; /* UDP's */
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    /* Segments longer than seg_max, or too small a segment size. */
    o = gso_off(cs, 1461);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o = gso_off(cs, 47);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    o = gso_off(cs, 0);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    /* Frames tcpseg does not cut: SYN, not TCP, not IPv4, a fragment, a wrong total length,
     * no payload. */
    o = gso_off(cs, 1448);
    g_frame[cs + 13] |= TCP_SYN;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    len = build(g_frame, 4000, false, &cs);
    g_frame[14 + 9] = 17;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    len = build(g_frame, 4000, false, &cs);
    g_frame[12] = 0x86;
    g_frame[13] = 0xDD;
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    len = build(g_frame, 4000, false, &cs);
    g_frame[14 + 6] = 0x20; /* more fragments */
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    len = build(g_frame, 4000, false, &cs);
    assert_int_equal(netoff_check(g_frame, len - 1, &o, 1514, 1514, &why), -EINVAL);
    len = build(g_frame, 0, false, &cs);
    assert_int_equal(netoff_check(g_frame, len, &o, 1514, 1514, &why), -EINVAL);
    /* Longer than any super-frame. */
    assert_int_equal(netoff_check(g_frame, NETOFF_FRAME_MAX + 1, &o, 1514, 1514, &why), -EINVAL);
}

/* ---- netoff_emit --------------------------------------------------------------------------- */

static void test_emit_passes_through(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 4000, false, &cs);
    struct netoff gso = gso_off(cs, 1448);
    struct netoff part = partial_off(cs);
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, &gso, NETOFF_CAP_TSO4, g_scratch, 100, rec_fn, &r),
                     1);
    assert_int_equal(r.calls, 1);
    assert_ptr_equal(r.ptr[0], g_frame); /* not copied: scratch is not even big enough */
    assert_ptr_equal(r.off[0], &gso);
    assert_int_equal(r.len[0], len);
    rec_free(&r);
    /* A partial checksum to a receiver that completes it. */
    len = build(g_frame, 1000, false, &cs);
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, &part, NETOFF_CAP_CSUM, g_scratch, 10, rec_fn, &r),
                     1);
    assert_ptr_equal(r.ptr[0], g_frame);
    assert_ptr_equal(r.off[0], &part);
    assert_false(netcsum_ipv4_l4_valid(r.data[0], len)); /* still partial */
    rec_free(&r);
    /* No metadata, and metadata asking for nothing. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, NULL, 0, NULL, 0, rec_fn, &r), 1);
    assert_ptr_equal(r.ptr[0], g_frame);
    assert_null(r.off[0]);
    rec_free(&r);
}

/* Cuts a super-frame of `payload` bytes into segments of `mss` for a receiver with `caps`
 * and checks every segment. */
static void check_segments(size_t payload, unsigned mss, bool vlan, unsigned caps, uint8_t flags)
{
    size_t cs;
    size_t len = build(g_frame, payload, vlan, &cs);
    size_t l2 = vlan ? 18 : 14;
    struct netoff gso = gso_off(cs, mss);
    unsigned count = (unsigned)((payload + mss - 1) / mss);
    size_t done = 0;
    struct rec r;
    const char *why;

    g_frame[cs + 13] = flags;
    memcpy(g_copy, g_frame, len);
    assert_int_equal(netoff_check(g_frame, len, &gso, 1514, l2 + 40 + mss, &why), 0);
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, &gso, caps, g_scratch, l2 + 40 + mss, rec_fn, &r),
                     (int)count);
    assert_int_equal(r.calls, count);
    assert_memory_equal(g_frame, g_copy, len); /* the sender's frame is only read */
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *s = r.data[i];
        const uint8_t *ip = s + l2;
        const uint8_t *tcp = ip + 20;
        size_t n = payload - done < mss ? payload - done : mss;

        assert_ptr_equal(r.ptr[i], g_scratch);
        assert_null(r.off[i]);
        assert_int_equal(r.len[i], l2 + 40 + n);
        assert_memory_equal(s, g_frame, l2); /* MACs and tag as they were */
        assert_int_equal(get16(ip + 2), 40 + n);
        assert_int_equal(get16(ip + 4), (IPID0 + i) & 0xFFFF);
        assert_true(ip_hdr_valid(ip));
        assert_int_equal(get32(tcp + 4), SEQ0 + done);
        /* PSH and FIN only on the last segment, CWR only on the first. */
        assert_int_equal(tcp[13] & (TCP_PSH | TCP_FIN),
                         i + 1 == count ? flags & (TCP_PSH | TCP_FIN) : 0);
        assert_int_equal(tcp[13] & TCP_CWR, i == 0 ? flags & TCP_CWR : 0);
        assert_true(tcp[13] & TCP_ACK);
        for (size_t k = 0; k < n; k++) {
            if (tcp[20 + k] != payload_byte(done + k)) {
                fail_msg("segment %u byte %zu", i, k);
            }
        }
        if (!vlan) {
            assert_true(netcsum_ipv4_l4_valid(s, r.len[i]));
        } else {
            /* netcsum checks untagged frames only: check it without the tag. */
            uint8_t *u = malloc(r.len[i] - 4);

            assert_non_null(u);
            memcpy(u, s, 12);
            memcpy(u + 12, s + 16, r.len[i] - 16);
            assert_true(netcsum_ipv4_l4_valid(u, r.len[i] - 4));
            free(u);
        }
        done += n;
    }
    assert_int_equal(done, payload);
    rec_free(&r);
}

static void test_emit_segments(void **state)
{
    (void)state;
    check_segments(4000, 1448, false, 0, TCP_ACK | TCP_PSH);
    check_segments(4000, 1448, false, NETOFF_CAP_CSUM | NETOFF_CAP_VALID,
                   TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR);
    check_segments(2896, 1448, false, 0, TCP_ACK);          /* exact multiple */
    check_segments(100, 1448, false, 0, TCP_ACK | TCP_PSH); /* one short segment */
    check_segments(3000, 1000, true, 0, TCP_ACK | TCP_PSH);
    check_segments(65535 - 40, 1460, false, 0, TCP_ACK | TCP_PSH); /* 45 segments */
    check_segments(1000, 48, false, 0, TCP_ACK);                   /* the smallest segment size */
}

static void test_emit_completes_checksum(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 1000, false, &cs);
    struct netoff part = partial_off(cs);
    struct rec r;

    (void)state;
    memcpy(g_copy, g_frame, len);
    assert_false(netcsum_ipv4_l4_valid(g_frame, len));
    for (unsigned caps = 0; caps <= NETOFF_CAP_VALID; caps += NETOFF_CAP_TSO4) {
        memset(&r, 0, sizeof(r));
        assert_int_equal(netoff_emit(g_frame, len, &part, caps, g_scratch, len, rec_fn, &r), 1);
        assert_ptr_equal(r.ptr[0], g_scratch); /* a copy */
        assert_null(r.off[0]);
        assert_int_equal(r.len[0], len);
        assert_true(netcsum_ipv4_l4_valid(r.data[0], len));
        assert_memory_equal(g_frame, g_copy, len); /* the sender's frame untouched */
        rec_free(&r);
    }
}

static void test_emit_valid_only_to_cap_valid(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 200, false, &cs);
    struct netoff valid = {.csum = NETOFF_CSUM_VALID};
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        netoff_emit(g_frame, len, &valid, NETOFF_CAP_CSUM | NETOFF_CAP_TSO4, NULL, 0, rec_fn, &r),
        1);
    assert_null(r.off[0]);
    assert_ptr_equal(r.ptr[0], g_frame);
    rec_free(&r);
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, &valid, NETOFF_CAP_VALID, NULL, 0, rec_fn, &r), 1);
    assert_ptr_equal(r.off[0], &valid);
    rec_free(&r);
}

static void test_emit_scratch_too_small(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 4000, false, &cs);
    struct netoff gso = gso_off(cs, 1448);
    struct netoff part;
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(netoff_emit(g_frame, len, &gso, 0, g_scratch, HLEN + 1447, rec_fn, &r),
                     -EMSGSIZE);
    assert_int_equal(r.calls, 0);
    len = build(g_frame, 1000, false, &cs);
    part = partial_off(cs);
    assert_int_equal(netoff_emit(g_frame, len, &part, 0, g_scratch, len - 1, rec_fn, &r),
                     -EMSGSIZE);
    assert_int_equal(r.calls, 0);
}

static void test_emit_error_stops(void **state)
{
    size_t cs;
    size_t len = build(g_frame, 10000, false, &cs);
    struct netoff gso = gso_off(cs, 1000);
    struct netoff part;
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.fail_at = 3;
    r.rc = -EAGAIN;
    assert_int_equal(netoff_emit(g_frame, len, &gso, 0, g_scratch, 1514, rec_fn, &r), -EAGAIN);
    assert_int_equal(r.calls, 3); /* not the 7 after it */
    rec_free(&r);
    /* The first frame's error, whole or completed. */
    memset(&r, 0, sizeof(r));
    r.fail_at = 1;
    r.rc = -EIO;
    assert_int_equal(netoff_emit(g_frame, len, &gso, NETOFF_CAP_TSO4, g_scratch, 1514, rec_fn, &r),
                     -EIO);
    len = build(g_frame, 1000, false, &cs);
    part = partial_off(cs);
    r.calls = 0;
    assert_int_equal(netoff_emit(g_frame, len, &part, 0, g_scratch, 1514, rec_fn, &r), -EIO);
    assert_int_equal(r.calls, 1);
    rec_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_active),
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_refuses),
        cmocka_unit_test(test_emit_passes_through),
        cmocka_unit_test(test_emit_segments),
        cmocka_unit_test(test_emit_completes_checksum),
        cmocka_unit_test(test_emit_valid_only_to_cap_valid),
        cmocka_unit_test(test_emit_scratch_too_small),
        cmocka_unit_test(test_emit_error_stops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
