/* Unit tests for kernel/lib/inet_csum.c as lwIP calls it (net_chksum, netstack/arch/chksum.h):
 * the fast Internet checksum must give exactly what the plain RFC 1071 sum gives, for every
 * length and every alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../netstack/arch/chksum.h"

/* RFC 1071, byte pairs in the data's own order, returned like lwip_standard_chksum (the sum as
 * a 16-bit word stored in memory, read back little-endian). */
static uint16_t ref_chksum(const uint8_t *p, int len)
{
    uint32_t sum = 0;

    for (int i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len % 2 == 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)((sum >> 8) | ((sum & 0xff) << 8));
}

static uint8_t g_buf[4096 + 16];

static void fill(uint32_t seed)
{
    for (size_t i = 0; i < sizeof(g_buf); i++) {
        seed = seed * 1103515245u + 12345u;
        g_buf[i] = (uint8_t)(seed >> 16);
    }
}

static void test_matches_reference(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 4; seed++) {
        fill(seed);
        for (int off = 0; off < 8; off++) {
            for (int len = 0; len <= 1600; len++) {
                assert_int_equal(net_chksum(g_buf + off, len), ref_chksum(g_buf + off, len));
            }
        }
    }
}

static void test_extremes(void **state)
{
    (void)state;
    memset(g_buf, 0xff, sizeof(g_buf));
    for (int len = 0; len <= 4096; len += 7) {
        assert_int_equal(net_chksum(g_buf + 1, len), ref_chksum(g_buf + 1, len));
    }
    assert_int_equal(net_chksum(g_buf, 4096), 0xffff);
    memset(g_buf, 0, sizeof(g_buf));
    assert_int_equal(net_chksum(g_buf, 4096), 0);
    assert_int_equal(net_chksum(g_buf, -1), 0);
}

/* A known IPv4 header (RFC 1071 style example): its checksum field makes the sum 0xffff. */
static void test_ip_header(void **state)
{
    static const uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                    0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

    (void)state;
    assert_int_equal(net_chksum(hdr, sizeof(hdr)), 0xffff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_ip_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
