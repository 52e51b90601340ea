/* Unit tests for the small string helpers (kernel/lib/strutil.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib.h"

static void test_str_copy(void **state)
{
    char buf[8];

    (void)state;
    /* Fits, exactly fits, truncated: always terminated, returns strlen(src). */
    assert_int_equal(str_copy(buf, "abc", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(str_copy(buf, "1234567", sizeof(buf)), 7);
    assert_string_equal(buf, "1234567");
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(str_copy(buf, "123456789", sizeof(buf)), 9);
    assert_string_equal(buf, "1234567");
    assert_int_equal(str_copy(buf, "hello", 1), 5);
    assert_string_equal(buf, "");
    assert_int_equal(str_copy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
    /* Size 0 writes nothing. */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(str_copy(buf, "hello", 0), 5);
    for (size_t i = 0; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 'X');
    }
    /* Truncation does not write past size. */
    memset(buf, 'X', sizeof(buf));
    str_copy(buf, "abcdef", 4);
    assert_memory_equal(buf, "abc\0XXXX", 8);
}

static void test_str_casecmp(void **state)
{
    (void)state;
    assert_int_equal(str_casecmp("", ""), 0);
    assert_int_equal(str_casecmp("abc", "abc"), 0);
    assert_int_equal(str_casecmp("PiT", "pit"), 0);
    assert_int_equal(str_casecmp("VNET", "vnet"), 0);
    assert_int_equal(str_casecmp("a-b_9", "A-B_9"), 0);
    assert_true(str_casecmp("abc", "abd") < 0);
    assert_true(str_casecmp("ABD", "abc") > 0);
    assert_true(str_casecmp("abc", "abcd") < 0); /* prefix sorts first */
    assert_true(str_casecmp("abcd", "ABC") > 0);
    assert_true(str_casecmp("", "a") < 0);
    assert_true(str_casecmp("a", "") > 0);
    /* Only ASCII letters fold: '[' (after 'Z') is not '{' (after 'z'). */
    assert_true(str_casecmp("[", "{") != 0);
    assert_true(str_casecmp("@", "`") != 0);
    /* Bytes above 127 compare as unsigned. */
    assert_true(str_casecmp("\xe9", "a") > 0);
}

static void expect_u64(const char *s, uint64_t want)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(str_to_u64(s, &v), 0);
    assert_int_equal(v, want);
}

static void expect_err(const char *s, int err)
{
    uint64_t v = 0x5a5a5a5a;

    assert_int_equal(str_to_u64(s, &v), err);
    assert_int_equal(v, 0x5a5a5a5a); /* untouched on error */
}

static void test_str_to_u64_decimal(void **state)
{
    (void)state;
    expect_u64("0", 0);
    expect_u64("7", 7);
    expect_u64("007", 7);
    expect_u64("1234567890", 1234567890ULL);
    expect_u64("4294967296", 1ULL << 32);
    expect_u64("18446744073709551615", UINT64_MAX);
    expect_err("18446744073709551616", -ERANGE);
    expect_err("18446744073709551620", -ERANGE);
    expect_err("99999999999999999999", -ERANGE);
    expect_err("100000000000000000000000", -ERANGE);
}

static void test_str_to_u64_hex(void **state)
{
    (void)state;
    expect_u64("0x0", 0);
    expect_u64("0x10", 16);
    expect_u64("0XaBcD", 0xabcd);
    expect_u64("0x00000000000000000001", 1);
    expect_u64("0xFFFFFFFFFFFFFFFF", UINT64_MAX);
    expect_u64("0xffffffffffffffff", UINT64_MAX);
    expect_err("0x10000000000000000", -ERANGE);
    expect_err("0x", -EINVAL);
    expect_err("0X", -EINVAL);
    expect_err("0x1g", -EINVAL);
    expect_err("0x-1", -EINVAL);
    expect_err("0xx1", -EINVAL);
}

static void test_str_to_u64_garbage(void **state)
{
    (void)state;
    expect_err(NULL, -EINVAL);
    expect_err("", -EINVAL);
    expect_err(" 1", -EINVAL);
    expect_err("1 ", -EINVAL);
    expect_err("-1", -EINVAL);
    expect_err("+1", -EINVAL);
    expect_err("12a", -EINVAL);
    expect_err("abc", -EINVAL); /* hex digits need the 0x prefix */
    expect_err("1e3", -EINVAL);
    expect_err("0b101", -EINVAL);
    expect_err("1.5", -EINVAL);
    expect_err("x10", -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_copy),           cmocka_unit_test(test_str_casecmp),
        cmocka_unit_test(test_str_to_u64_decimal), cmocka_unit_test(test_str_to_u64_hex),
        cmocka_unit_test(test_str_to_u64_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
