/* Unit tests for netstack/iperf_proto.c: the iperf 2 client header as iperf 2.0 and 2.1.8 send
 * it (the byte strings below were captured from iperf 2.1.8 on loopback), refusals, lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../netstack/iperf_proto.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The first 60 bytes iperf 2.1.8 sends: flags, -P, -L port, 0, 0, amount, then the extension
 * with the version words 0x00020001 0x00080003 (2.1.8) and `upper` in the 16-bit flag pair. */
static void hdr21(uint8_t out[60], uint32_t flags, uint32_t port, int32_t amount, uint16_t upper)
{
    memset(out, 0, 60);
    put32(out, flags);
    put32(out + 4, 1);
    put32(out + 8, port);
    put32(out + 20, (uint32_t)amount);
    out[32] = (uint8_t)(upper >> 8);
    out[33] = (uint8_t)upper;
    put32(out + 36, 0x00020001);
    put32(out + 40, 0x00080003);
}

static void test_need(void **state)
{
    uint8_t h[60];

    (void)state;
    assert_int_equal(iperf_hdr_need(NULL, 0), IPERF_HDR_FLAGS_LEN);
    hdr21(h, 0x40010078, 5001, -100, 0);
    assert_int_equal(iperf_hdr_need(h, 0), IPERF_HDR_FLAGS_LEN);
    assert_int_equal(iperf_hdr_need(h, 3), IPERF_HDR_FLAGS_LEN);
    assert_int_equal(iperf_hdr_need(h, 4), IPERF_HDR_EXT_LEN);
    put32(h, 0x80000001);
    assert_int_equal(iperf_hdr_need(h, 4), IPERF_HDR_V1_LEN);
    memcpy(h, "0123456789", 10); /* iperf -C: the pattern, no header */
    assert_int_equal(iperf_hdr_need(h, 10), 0);
    put32(h, 0);
    assert_int_equal(iperf_hdr_need(h, 4), 0);
}

static void test_plain_21(void **state)
{
    uint8_t h[60];
    struct iperf_request r;
    const char *why = NULL;

    (void)state;
    hdr21(h, 0x40010078, 5001, -100, 0);
    assert_int_equal(iperf_parse_request(h, 36, &r, &why), 0);
    assert_true(r.has_header);
    assert_true(r.extended);
    assert_int_equal(r.mode, IPERF_MODE_PLAIN);
    assert_int_equal(r.header_len, 60);
    assert_int_equal(r.amount, -100);
    assert_string_equal(iperf_mode_name(r.mode), "plain");
    /* --trip-times (80-byte header, lower flags 0x0010) and --permit-key (62 bytes plus the
     * key) are plain tests too: the server only counts bytes. */
    hdr21(h, 0x400100a0, 5001, -100, 0);
    h[35] = 0x10;
    assert_int_equal(iperf_parse_request(h, 36, &r, &why), 0);
    assert_int_equal(r.header_len, 80);
    assert_int_equal(r.lower, 0x0010);
    assert_int_equal(r.mode, IPERF_MODE_PLAIN);
    hdr21(h, 0x5001007c, 5001, -100, 0);
    assert_int_equal(iperf_parse_request(h, 36, &r, &why), 0);
    assert_int_equal(r.header_len, 62);
}

static void test_tradeoff_dual_21(void **state)
{
    uint8_t h[60];
    struct iperf_request r;
    const char *why = NULL;

    (void)state;
    /* iperf -c -t 1 -r -L 6000 */
    hdr21(h, 0xc0010078, 6000, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    assert_int_equal(r.mode, IPERF_MODE_TRADEOFF);
    assert_int_equal(r.port, 6000);
    assert_true(r.back.by_time);
    assert_int_equal(r.back.ms, 1000);
    assert_false(r.back.capped);
    /* iperf -c -t 1 -d -L 6001 */
    hdr21(h, 0xc0010079, 6001, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    assert_int_equal(r.mode, IPERF_MODE_DUAL);
    assert_int_equal(r.port, 6001);
    assert_string_equal(iperf_mode_name(r.mode), "-d");
    /* iperf -c -n 100K -r: bytes */
    hdr21(h, 0xc0010078, 5001, 102400, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    assert_false(r.back.by_time);
    assert_int_equal(r.back.bytes, 102400);
}

static void test_v20_dual(void **state)
{
    uint8_t h[24] = {0};
    struct iperf_request r;
    const char *why = NULL;

    (void)state;
    put32(h, 0x80000001);
    put32(h + 4, 1);
    put32(h + 8, 5099);
    put32(h + 20, (uint32_t)-300);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    assert_true(r.has_header);
    assert_false(r.extended);
    assert_int_equal(r.header_len, 24);
    assert_int_equal(r.mode, IPERF_MODE_DUAL);
    assert_int_equal(r.port, 5099);
    assert_int_equal(r.back.ms, 3000);
    /* Without RUN_NOW: -r. */
    put32(h, 0x80000000);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    assert_int_equal(r.mode, IPERF_MODE_TRADEOFF);
}

static void test_no_header(void **state)
{
    uint8_t h[16];
    struct iperf_request r;
    const char *why = NULL;

    (void)state;
    memcpy(h, "0123456789012345", 16);
    assert_int_equal(iperf_parse_request(h, 4, &r, &why), 0);
    assert_false(r.has_header);
    assert_int_equal(r.mode, IPERF_MODE_PLAIN);
}

static void test_unsupported(void **state)
{
    static const struct {
        uint32_t flags;
        uint16_t upper;
    } cases[] = {
        {0x44010078, 0x0400}, /* -R */
        {0x44010078, 0x0800}, /* --full-duplex */
        {0x46010078, 0},      /* -X */
        {0x40810078, 0},      /* --bounceback */
        {0x60010078, 0},      /* UDP header on TCP */
        {0x44010078, 0},      /* any other header whose client waits for a reply */
        {0x40010078, 0x0400}, /* -R without VERSION2 */
    };
    uint8_t h[60];
    struct iperf_request r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;

        hdr21(h, cases[i].flags, 5001, -100, cases[i].upper);
        assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), -ENOTSUP);
        assert_non_null(why);
        assert_true(strlen(why) > 0);
    }
}

static void test_malformed(void **state)
{
    uint8_t h[60];
    struct iperf_request r;
    const char *why = NULL;

    (void)state;
    /* Announced length 20 (< 36): the 16-bit flags would be payload. */
    hdr21(h, 0x40010028, 5001, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), -EINVAL);
    /* -d to port 0 or beyond 65535. */
    hdr21(h, 0xc0010079, 0, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), -EINVAL);
    hdr21(h, 0xc0010079, 70000, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), -EINVAL);
    hdr21(h, 0xc0010079, 0xffffffff, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), -EINVAL);
    /* A plain test does not care about the port. */
    hdr21(h, 0x40010078, 0, -100, 0);
    assert_int_equal(iperf_parse_request(h, sizeof(h), &r, &why), 0);
    /* Too short. */
    assert_int_equal(iperf_parse_request(h, 35, &r, &why), -ENODATA);
    assert_int_equal(iperf_parse_request(h, 3, &r, &why), -ENODATA);
    assert_int_equal(iperf_parse_request(NULL, 0, &r, &why), -ENODATA);
    assert_int_equal(iperf_parse_request(h, 60, NULL, &why), -EINVAL);
    assert_int_equal(iperf_parse_request(h, 60, &r, NULL), 0);
}

static void test_amount(void **state)
{
    struct iperf_amount a;

    (void)state;
    iperf_amount_decode(0, &a);
    assert_true(a.by_time);
    assert_int_equal(a.ms, IPERF_DEFAULT_MS);
    iperf_amount_decode(-1, &a);
    assert_int_equal(a.ms, 10);
    iperf_amount_decode(-360000, &a);
    assert_int_equal(a.ms, IPERF_MAX_MS);
    assert_false(a.capped);
    iperf_amount_decode(-360001, &a);
    assert_int_equal(a.ms, IPERF_MAX_MS);
    assert_true(a.capped);
    iperf_amount_decode(INT32_MIN, &a);
    assert_int_equal(a.ms, IPERF_MAX_MS);
    assert_true(a.capped);
    iperf_amount_decode(INT32_MAX, &a);
    assert_false(a.by_time);
    assert_int_equal(a.bytes, INT32_MAX);
}

static void test_kbit_and_pattern(void **state)
{
    uint8_t buf[25];

    (void)state;
    assert_int_equal(iperf_kbit_s(1000, 0), 0);
    assert_int_equal(iperf_kbit_s(125000, 1000), 1000);
    assert_int_equal(iperf_kbit_s(UINT64_MAX, 1), UINT32_MAX);
    assert_int_equal(iperf_kbit_s(UINT64_MAX / 4, 1000000), UINT32_MAX);
    iperf_pattern_fill(buf, sizeof(buf), 0);
    assert_memory_equal(buf, "0123456789012345678901234", 25);
    iperf_pattern_fill(buf, 5, 127);
    assert_memory_equal(buf, "78901", 5);
    iperf_pattern_fill(buf, 0, 3);
    /* The pattern carries no header: a client's listener must not see one. */
    iperf_pattern_fill(buf, 4, 0);
    assert_int_equal(iperf_hdr_need(buf, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need),
        cmocka_unit_test(test_plain_21),
        cmocka_unit_test(test_tradeoff_dual_21),
        cmocka_unit_test(test_v20_dual),
        cmocka_unit_test(test_no_header),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_amount),
        cmocka_unit_test(test_kbit_and_pattern),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
