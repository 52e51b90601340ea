/* Unit tests for the kernel's memcpy, memmove and memset (kernel/lib/string.c): every length
 * around the switch between the REP instructions and the word loops, every alignment of source
 * and destination, overlap both ways for memmove, and no byte touched outside the range.
 *
 * Hosted builds use libc's functions under these names, so the kernel's file is compiled here
 * with its functions renamed (k_memcpy, ...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define memcpy    k_memcpy
#define memmove   k_memmove
#define memset    k_memset
#define memcmp    k_memcmp
#define strlen    k_strlen
#define strnlen   k_strnlen
#define strcmp    k_strcmp
#define strncmp   k_strncmp
#define strchr    k_strchr
#define vsnprintf k_vsnprintf
#define snprintf  k_snprintf
#include "../../kernel/lib/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef vsnprintf
#undef snprintf

#define BUF   4200
#define GUARD 16

static uint8_t g_src[BUF + 2 * GUARD];
static uint8_t g_dst[BUF + 2 * GUARD];
static uint8_t g_want[BUF + 2 * GUARD];

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* The lengths worth trying: every one up to 300 (both sides of the 256-byte switch, every
 * remainder mod 32 and mod 8) and the frame and page sizes. */
static size_t nth_len(size_t i)
{
    static const size_t big[] = {511, 512, 513, 1500, 1514, 1518, 2047, 4000, 4095, 4096, 4100};

    return i <= 300 ? i : big[i - 301];
}
#define NLENS (301 + 11)

static void test_memcpy_all(void **state)
{
    (void)state;
    fill(g_src, sizeof(g_src), 1);
    for (size_t li = 0; li < NLENS; li++) {
        size_t n = nth_len(li);

        for (size_t so = 0; so < 8; so++) {
            for (size_t dof = 0; dof < 8; dof++) {
                uint8_t *d = g_dst + GUARD + dof;
                const uint8_t *s = g_src + GUARD + so;

                memset(g_dst, 0xEE, sizeof(g_dst));
                memcpy(g_want, g_dst, sizeof(g_want));
                memcpy(g_want + GUARD + dof, s, n);
                assert_ptr_equal(k_memcpy(d, s, n), d);
                if (memcmp(g_dst, g_want, sizeof(g_dst)) != 0) {
                    fail_msg("memcpy length %zu, source offset %zu, destination offset %zu", n, so,
                             dof);
                }
            }
        }
    }
}

static void test_memset_all(void **state)
{
    static const int values[] = {0, 0xA5, 0x1FF, -1};

    (void)state;
    for (size_t vi = 0; vi < 4; vi++) {
        for (size_t li = 0; li < NLENS; li++) {
            size_t n = nth_len(li);

            for (size_t dof = 0; dof < 8; dof++) {
                uint8_t *d = g_dst + GUARD + dof;

                memset(g_dst, 0x3C, sizeof(g_dst));
                memcpy(g_want, g_dst, sizeof(g_want));
                memset(g_want + GUARD + dof, values[vi], n);
                assert_ptr_equal(k_memset(d, values[vi], n), d);
                if (memcmp(g_dst, g_want, sizeof(g_dst)) != 0) {
                    fail_msg("memset value %#x length %zu offset %zu", values[vi], n, dof);
                }
            }
        }
    }
}

/* Overlapping moves both ways, at every distance up to 40 bytes and a few longer ones. */
static void test_memmove_overlap(void **state)
{
    static const size_t dists[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 255, 256, 1000};

    (void)state;
    for (size_t di = 0; di < sizeof(dists) / sizeof(dists[0]); di++) {
        size_t dist = dists[di];

        for (size_t li = 0; li < NLENS; li++) {
            size_t n = nth_len(li);

            if (n + dist > BUF) {
                continue;
            }
            for (int up = 0; up < 2; up++) {
                uint8_t *base = g_dst + GUARD;
                uint8_t *s = up ? base : base + dist;
                uint8_t *d = up ? base + dist : base;

                fill(g_dst, sizeof(g_dst), (uint32_t)(n * 31 + dist));
                memcpy(g_want, g_dst, sizeof(g_want));
                memmove(g_want + (d - g_dst), g_want + (s - g_dst), n);
                assert_ptr_equal(k_memmove(d, s, n), d);
                if (memcmp(g_dst, g_want, sizeof(g_dst)) != 0) {
                    fail_msg("memmove length %zu distance %zu %s", n, dist, up ? "up" : "down");
                }
            }
        }
    }
}

static void test_memmove_disjoint_and_same(void **state)
{
    (void)state;
    fill(g_src, sizeof(g_src), 7);
    memset(g_dst, 0, sizeof(g_dst));
    assert_ptr_equal(k_memmove(g_dst + 3, g_src + 5, 1514), g_dst + 3);
    assert_memory_equal(g_dst + 3, g_src + 5, 1514);
    memcpy(g_want, g_dst, sizeof(g_want));
    assert_ptr_equal(k_memmove(g_dst + 3, g_dst + 3, 1514), g_dst + 3);
    assert_ptr_equal(k_memmove(g_dst, g_dst + 9, 0), g_dst);
    assert_memory_equal(g_dst, g_want, sizeof(g_dst));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy_all),
        cmocka_unit_test(test_memset_all),
        cmocka_unit_test(test_memmove_overlap),
        cmocka_unit_test(test_memmove_disjoint_and_same),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
