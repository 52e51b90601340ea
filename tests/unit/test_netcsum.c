/* Unit tests for the Internet checksum helpers (vmm/devices/netcsum.c): the word-at-a-time sum
 * against a byte-by-byte RFC 1071 reference for every length and alignment up to 300 bytes
 * and random data, the fold of large sums, and the bounds of netcsum_fill. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../kernel/errno.h"
#include "../../kernel/lib/netcsum.h"

static uint16_t ref_sum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)sum;
}

/* The memory-order result of netcsum, as a big-endian number. */
static uint16_t be(uint16_t mem)
{
    uint8_t b[2];

    memcpy(b, &mem, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_sum_matches_reference(void **state)
{
    uint8_t buf[320];

    (void)state;
    srand(7);
    for (unsigned round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = round == 0 ? 0xFF : (uint8_t)rand();
        }
        for (size_t start = 0; start < 8; start++) {
            for (size_t len = 0; len <= 300; len++) {
                uint16_t got = be(inet_csum_fold(inet_csum_add(0, buf + start, len)));
                uint16_t want = ref_sum(buf + start, len);

                /* 0 and 0xFFFF are the same number in ones' complement. */
                if (!((got == 0 || got == 0xFFFF) && (want == 0 || want == 0xFFFF))) {
                    assert_int_equal(got, want);
                }
            }
        }
    }
    /* Split sums (even split points) add up to the whole. */
    assert_int_equal(inet_csum_fold(inet_csum_add(inet_csum_add(0, buf, 100), buf + 100, 151)),
                     inet_csum_fold(inet_csum_add(0, buf, 251)));
}

static void test_fold(void **state)
{
    (void)state;
    assert_int_equal(inet_csum_fold(0), 0);
    assert_int_equal(inet_csum_fold(0xFFFF), 0xFFFF);
    assert_int_equal(inet_csum_fold(0x10000), 1);
    assert_int_equal(inet_csum_fold(UINT64_MAX), 0xFFFF);
    assert_int_equal(inet_csum_fold(0x0001000100010001ull), 4);
}

static void test_fill_bounds(void **state)
{
    uint8_t fr[64];

    (void)state;
    memset(fr, 0x11, sizeof(fr));
    assert_int_equal(netcsum_fill(fr, 64, 62, 0), 0);
    assert_int_equal(netcsum_fill(fr, 64, 60, 2), 0);
    assert_int_equal(netcsum_fill(fr, 64, 63, 0), -EINVAL);
    assert_int_equal(netcsum_fill(fr, 64, 60, 3), -EINVAL);
    assert_int_equal(netcsum_fill(fr, 64, 64, 0), -EINVAL);
    assert_int_equal(netcsum_fill(fr, 64, 0, SIZE_MAX), -EINVAL);
    assert_int_equal(netcsum_fill(fr, 64, SIZE_MAX, 2), -EINVAL);
    assert_int_equal(netcsum_fill(fr, 0, 0, 0), -EINVAL);
    /* A filled range sums to all ones. */
    memset(fr, 0, sizeof(fr));
    fr[10] = 0x12;
    fr[33] = 0x34;
    assert_int_equal(netcsum_fill(fr, 64, 8, 30), 0);
    assert_int_equal(ref_sum(fr + 8, 56), 0xFFFF);
    /* All zero: stored as 0xFFFF, never 0. */
    memset(fr, 0, sizeof(fr));
    assert_int_equal(netcsum_fill(fr, 64, 0, 6), 0);
    assert_int_equal(fr[6], 0xFF);
    assert_int_equal(fr[7], 0xFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_matches_reference),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fill_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
