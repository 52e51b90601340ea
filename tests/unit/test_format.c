/* Unit tests for the kernel's printf engine (kernel/lib/format.c), checked against the host's
 * snprintf for the same format and arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <cmocka.h>

#include "lib/format.h"

/* Compares the two outputs byte for byte (so an embedded NUL from %c counts) and the returned
 * lengths. */
static void compare(int line, const char *fmt, size_t size, const char *got, int ngot,
                    const char *want, int nwant)
{
    size_t bytes = size == 0 ? 0 : (size_t)(nwant < (int)size ? nwant + 1 : (int)size);

    if (ngot != nwant || memcmp(got, want, bytes) != 0) {
        fail_msg("line %d: format \"%s\" size %zu: got \"%s\" (%d), want \"%s\" (%d)", line, fmt,
                 size, got, ngot, want, nwant);
    }
}

/* Same format, same arguments, both engines, into a buffer of `size` bytes. */
#define CHECK_SIZE(size, fmt, ...)                                                                 \
    do {                                                                                           \
        char got_[300];                                                                            \
        char want_[300];                                                                           \
        int ngot_;                                                                                 \
        int nwant_;                                                                                \
                                                                                                   \
        memset(got_, 0x7e, sizeof(got_));                                                          \
        memset(want_, 0x7e, sizeof(want_));                                                        \
        ngot_ = fmt_snprintf(got_, (size), fmt, ##__VA_ARGS__);                                    \
        nwant_ = snprintf(want_, (size), fmt, ##__VA_ARGS__);                                      \
        compare(__LINE__, fmt, (size), got_, ngot_, want_, nwant_);                                \
        if ((size) < sizeof(got_)) {                                                               \
            assert_int_equal(got_[(size) < sizeof(got_) ? (size) : 0], 0x7e);                      \
        }                                                                                          \
    } while (0)

#define CHECK(fmt, ...) CHECK_SIZE(sizeof(got_), fmt, ##__VA_ARGS__)

static void test_conversions(void **state)
{
    int x = 5;

    (void)state;
    CHECK("plain text");
    CHECK("%d", 0);
    CHECK("%d", 42);
    CHECK("%d", -42);
    CHECK("%d", INT_MIN);
    CHECK("%d", INT_MAX);
    CHECK("%i", -7);
    CHECK("%u", 0u);
    CHECK("%u", UINT_MAX);
    CHECK("%x", 0xdeadbeefu);
    CHECK("%X", 0xdeadbeefu);
    CHECK("%x", 0u);
    CHECK("%o", 8u);
    CHECK("%o", 0u);
    CHECK("%o", UINT_MAX);
    CHECK("%s", "hello");
    CHECK("%s", "");
    CHECK("%c", 'A');
    CHECK("%%");
    CHECK("a%%b%%%d%%", 3);
    CHECK("%p", (void *)&x);
    CHECK("%p", (void *)(uintptr_t)0xffff800000001000ULL);
    CHECK("[%s|%5d|%-4x|%c]", "ab", 12, 0xau, 'z');
}

static void test_flags(void **state)
{
    (void)state;
    CHECK("%-5d|", 42);
    CHECK("%-5d|", -42);
    CHECK("%05d", 42);
    CHECK("%05d", -42);
    CHECK("%05d", 0);
    CHECK("%+d", 42);
    CHECK("%+d", -42);
    CHECK("%+d", 0);
    CHECK("% d", 42);
    CHECK("% d", -42);
    CHECK("%-+6d|", 5);
    CHECK("%+06d", 5);
    CHECK("% 06d", -5);
    CHECK("%#x", 255u);
    CHECK("%#X", 255u);
    CHECK("%#x", 0u);
    CHECK("%#o", 8u);
    CHECK("%#o", 0u);
    CHECK("%#o", 010u);
    CHECK("%#5o|", 8u);
    CHECK("%#.2o", 8u);
    CHECK("%#.3o", 8u);
    CHECK("%#.0o", 0u);
    CHECK("%#10x|", 255u);
    CHECK("%-#10x|", 255u);
    CHECK("%#010x", 255u);
    CHECK("%#014llx", 0x100000ULL);
    CHECK("%#014llx", 0ULL);
    CHECK("%#.5x", 255u);
    CHECK("%-20p|", (void *)(uintptr_t)0x1234);
    CHECK("%20p|", (void *)(uintptr_t)0x1234);
}

static void test_width_precision(void **state)
{
    (void)state;
    CHECK("%8d|", 123);
    CHECK("%-8d|", 123);
    CHECK("%2d|", 12345);
    CHECK("%08x", 0xbeefu);
    CHECK("%.3d", 7);
    CHECK("%.3d", -7);
    CHECK("%8.3d|", -7);
    CHECK("%-8.3d|", 7);
    CHECK("%.0d", 0);
    CHECK("%5.0d|", 0);
    CHECK("%.0x", 0u);
    CHECK("%.0d", 1);
    CHECK("%.30d", 5);
    CHECK("%200d", 5);
    CHECK("%8s|", "abc");
    CHECK("%-8s|", "abc");
    CHECK("%2s|", "abcdef");
    CHECK("%.3s", "abcdef");
    CHECK("%.0s|", "abc");
    CHECK("%.10s", "abc");
    CHECK("%10.4s|", "abcdef");
    CHECK("%-10.2s|", "abcdef");
    CHECK("%5c|", 'x');
    CHECK("%-5c|", 'x');
    /* * width and precision, negative width means '-', negative precision means none. */
    CHECK("%*d|", 6, 42);
    CHECK("%-*d|", 6, 42);
    CHECK("%*d|", -6, 42);
    CHECK("%.*d", 5, 42);
    CHECK("%.*d", -1, 42);
    CHECK("%*.*d|", 8, 4, -3);
    CHECK("%.*s|", 2, "abc");
    CHECK("%.*s|", -1, "abc");
    CHECK("%*s|", 4, "");
}

static void test_length_modifiers(void **state)
{
    (void)state;
    CHECK("%hhd", 300);
    CHECK("%hhd", 200);
    CHECK("%hhu", 257);
    CHECK("%hhx", 0x1ff);
    CHECK("%hd", 70000);
    CHECK("%hd", -70000);
    CHECK("%hu", 70000);
    CHECK("%hx", 0x12345);
    CHECK("%ld", LONG_MIN);
    CHECK("%ld", LONG_MAX);
    CHECK("%lu", ULONG_MAX);
    CHECK("%lx", 0x123456789abcdefUL);
    CHECK("%lld", LLONG_MIN);
    CHECK("%lli", LLONG_MAX);
    CHECK("%llu", ULLONG_MAX);
    CHECK("%llX", 0xFEDCBA9876543210ULL);
    CHECK("%llo", ULLONG_MAX);
    CHECK("%#llo", ULLONG_MAX);
    CHECK("%zu", SIZE_MAX);
    CHECK("%zd", (ssize_t)-5);
    CHECK("%zx", (size_t)0xabc);
    CHECK("%jd", INTMAX_MIN);
    CHECK("%ju", UINTMAX_MAX);
    CHECK("%td", (ptrdiff_t)-3);
    CHECK("%-22llu|%+.3lld", 1ULL, -2LL);
    /* A long argument after a short one: the va_list must stay in step. */
    CHECK("%hhd %lld %hd %s", 1, 1LL << 40, 2, "end");
}

static void test_nul_char(void **state)
{
    char buf[8];

    (void)state;
    /* A NUL character is one character of output, like any other. */
    CHECK("%c", 0);
    CHECK("a%cb", 0);
    CHECK("%3c|", 0);
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "a%cb", 0), 3);
    assert_memory_equal(buf, "a\0b", 4);
}

static void test_truncation(void **state)
{
    char buf[16];

    (void)state;
    /* The return value is the full length; the buffer always ends in a NUL. */
    assert_int_equal(fmt_snprintf(buf, 5, "%s", "hello world"), 11);
    assert_string_equal(buf, "hell");
    assert_int_equal(fmt_snprintf(buf, 1, "%s", "hello world"), 11);
    assert_string_equal(buf, "");
    assert_int_equal(fmt_snprintf(buf, 12, "%s", "hello world"), 11);
    assert_string_equal(buf, "hello world");
    assert_int_equal(fmt_snprintf(buf, 11, "%s", "hello world"), 11);
    assert_string_equal(buf, "hello worl");
    /* Size 0 writes nothing at all (the buffer may even be NULL). */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
    for (size_t i = 0; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 'X');
    }
    assert_int_equal(fmt_snprintf(NULL, 0, "%s %d", "abc", 42), 6);

    /* Every size against the host, through padding, signs, prefixes and strings. */
    for (size_t size = 0; size <= 40; size++) {
        CHECK_SIZE(size, "%-6s|%+05d|%#x|%10.3s|%c", "ab", 42, 0xbeefu, "truncate", 'q');
        CHECK_SIZE(size, "%*d%%%-*x", 12, -99, 9, 0xffu);
    }
}

static void test_null_and_odd_formats(void **state)
{
    char buf[64];
    const char *volatile null_str = NULL; /* volatile: keeps the compiler's NULL check quiet */

    (void)state;
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", null_str), 6);
    assert_string_equal(buf, "(null)");
    fmt_snprintf(buf, sizeof(buf), "[%8s|%-8s]", null_str, null_str);
    assert_string_equal(buf, "[  (null)|(null)  ]");
    fmt_snprintf(buf, sizeof(buf), "%p", NULL);
    assert_string_equal(buf, "0x0");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    /* Formats the compiler warns about still give the C result. */
    CHECK("%+u", 5u);
    CHECK("% x", 5u);
    CHECK("%+o|% X", 8u, 10u);
    CHECK("%0-6d|", 5);
    CHECK("%-05d|", 5);
    CHECK("%08.3d|", 5);
    CHECK("%05s|", "a");
    CHECK("% +d", 5);
    CHECK("%+ d", 5);
    /* A lone % at the end is dropped; an unknown conversion is printed as it is. */
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "abc%"), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "a%qb", 1), 4);
    assert_string_equal(buf, "a%qb");
#pragma GCC diagnostic pop
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_width_precision),
        cmocka_unit_test(test_length_modifiers),
        cmocka_unit_test(test_nul_char),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_null_and_odd_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
