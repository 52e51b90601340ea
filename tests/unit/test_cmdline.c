/* Unit tests for the kernel command line parser (kernel/cmdline.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cmdline.h"
#include "lib.h"

/* Reads one item and checks it; value NULL means "no value". */
static void expect_item(const char **cur, const char *key, const char *value)
{
    struct cmdline_item item;

    assert_int_equal(cmdline_next(cur, &item), 1);
    assert_string_equal(item.key, key);
    if (value == NULL) {
        assert_false(item.has_value);
        assert_string_equal(item.value, "");
    } else {
        assert_true(item.has_value);
        assert_string_equal(item.value, value);
    }
}

static void expect_end(const char **cur)
{
    struct cmdline_item item;

    assert_int_equal(cmdline_next(cur, &item), 0);
    assert_int_equal(**cur, '\0');
    /* The end is sticky. */
    assert_int_equal(cmdline_next(cur, &item), 0);
}

static void test_empty(void **state)
{
    const char *cur = "";

    (void)state;
    expect_end(&cur);
    cur = " \t \r\n ";
    expect_end(&cur);
}

static void test_tokens(void **state)
{
    const char *cur = "  a=1\tquiet \t c= \n d=x=y e=\"\"";

    (void)state;
    expect_item(&cur, "a", "1");
    expect_item(&cur, "quiet", NULL);
    expect_item(&cur, "c", "");
    expect_item(&cur, "d", "x=y");
    expect_item(&cur, "e", "");
    expect_end(&cur);
}

static void test_quoted_values(void **state)
{
    const char *cur = "banner=\"hello  world\" x=1 path=\"a\tb=c\" y";

    (void)state;
    expect_item(&cur, "banner", "hello  world");
    expect_item(&cur, "x", "1");
    expect_item(&cur, "path", "a\tb=c");
    expect_item(&cur, "y", NULL);
    expect_end(&cur);
    /* A quote that does not open the value is an ordinary character. */
    cur = "k=a\"b c\"";
    expect_item(&cur, "k", "a\"b");
    expect_item(&cur, "c\"", NULL);
    expect_end(&cur);
}

static void test_unterminated_quote(void **state)
{
    const char *cur = "a=1 msg=\"no end here b=2";
    struct cmdline_item item;

    (void)state;
    expect_item(&cur, "a", "1");
    assert_int_equal(cmdline_next(&cur, &item), -EINVAL);
    assert_string_equal(item.key, "msg");
    assert_true(item.has_value);
    /* The open quote runs to the end of the line; parsing goes on and finds the end. */
    assert_string_equal(item.value, "no end here b=2");
    expect_end(&cur);
}

static void test_garbage_after_quote(void **state)
{
    const char *cur = "a=\"x\"y b=2 c=\"q\"\"r\" d";
    struct cmdline_item item;

    (void)state;
    assert_int_equal(cmdline_next(&cur, &item), -EINVAL);
    assert_string_equal(item.key, "a");
    expect_item(&cur, "b", "2");
    assert_int_equal(cmdline_next(&cur, &item), -EINVAL);
    assert_string_equal(item.key, "c");
    expect_item(&cur, "d", NULL);
    expect_end(&cur);
}

static void test_empty_key(void **state)
{
    const char *cur = "=v ==  ok";
    struct cmdline_item item;

    (void)state;
    assert_int_equal(cmdline_next(&cur, &item), -EINVAL);
    assert_string_equal(item.value, "v");
    assert_int_equal(cmdline_next(&cur, &item), -EINVAL);
    expect_item(&cur, "ok", NULL);
    expect_end(&cur);
}

static void test_too_long(void **state)
{
    char line[4 * CMDLINE_VALUE_MAX];
    char longest_key[CMDLINE_KEY_MAX];
    char longest_value[CMDLINE_VALUE_MAX];
    const char *cur;
    struct cmdline_item item;

    (void)state;
    /* The longest key that fits is accepted, one more byte is -E2BIG. */
    memset(longest_key, 'k', sizeof(longest_key) - 1);
    longest_key[sizeof(longest_key) - 1] = '\0';
    snprintf(line, sizeof(line), "%s=1 %sX=2 next", longest_key, longest_key);
    cur = line;
    expect_item(&cur, longest_key, "1");
    assert_int_equal(cmdline_next(&cur, &item), -E2BIG);
    assert_string_equal(item.key, longest_key); /* truncated, terminated */
    assert_string_equal(item.value, "2");
    expect_item(&cur, "next", NULL);
    expect_end(&cur);

    memset(longest_value, 'v', sizeof(longest_value) - 1);
    longest_value[sizeof(longest_value) - 1] = '\0';
    snprintf(line, sizeof(line), "a=%s b=%sX c=\"%s \" d", longest_value, longest_value,
             longest_value);
    cur = line;
    expect_item(&cur, "a", longest_value);
    assert_int_equal(cmdline_next(&cur, &item), -E2BIG);
    assert_string_equal(item.key, "b");
    assert_string_equal(item.value, longest_value);
    assert_int_equal(cmdline_next(&cur, &item), -E2BIG); /* quoted and too long */
    assert_string_equal(item.key, "c");
    expect_item(&cur, "d", NULL);
    expect_end(&cur);
}

/* ---- cmdline_apply ---------------------------------------------------------------------- */

static char g_warnings[16][512];
static int g_nwarn;
static char g_ip[64];
static uint64_t g_num;
static int g_flag;

static void capture_warn(const char *msg)
{
    assert_true(g_nwarn < (int)ARRAY_SIZE(g_warnings));
    str_copy(g_warnings[g_nwarn], msg, sizeof(g_warnings[0]));
    g_nwarn++;
}

static int key_ip(const char *value, bool has_value, char *msg, size_t msglen)
{
    if (!has_value || value[0] == '\0') {
        snprintf(msg, msglen, "needs an address");
        return -EINVAL;
    }
    str_copy(g_ip, value, sizeof(g_ip));
    return 0;
}

static int key_num(const char *value, bool has_value, char *msg, size_t msglen)
{
    uint64_t v;

    if (!has_value || str_to_u64(value, &v) != 0) {
        snprintf(msg, msglen, "'%s' is not a number", value);
        return -EINVAL;
    }
    g_num = v;
    return 0;
}

static int key_flag(const char *value, bool has_value, char *msg, size_t msglen)
{
    if (has_value) {
        snprintf(msg, msglen, "takes no value");
        return -EINVAL;
    }
    g_flag++;
    return 0;
}

/* Rejects every value without saying why. */
static int key_silent(const char *value, bool has_value, char *msg, size_t msglen)
{
    return -EINVAL;
}

static const struct cmdline_key g_keys[] = {
    {"ip", "address", key_ip},
    {"num", "a number", key_num},
    {"flag", "a switch", key_flag},
    {"silent", "always wrong", key_silent},
};

static int reset(void **state)
{
    (void)state;
    memset(g_warnings, 0, sizeof(g_warnings));
    g_nwarn = 0;
    g_ip[0] = '\0';
    g_num = 0;
    g_flag = 0;
    return 0;
}

static void test_apply_good_line(void **state)
{
    (void)state;
    assert_int_equal(cmdline_apply("ip=10.0.2.15 num=0x10 flag flag num=42", g_keys,
                                   ARRAY_SIZE(g_keys), capture_warn),
                     0);
    assert_int_equal(g_nwarn, 0);
    assert_string_equal(g_ip, "10.0.2.15");
    assert_int_equal(g_num, 42); /* the last one wins */
    assert_int_equal(g_flag, 2);
}

static void test_apply_problems(void **state)
{
    int n;

    (void)state;
    n = cmdline_apply("bogus=1 ip=10.0.0.1 num=abc flag=yes silent Ip=x num=7 tail=\"open", g_keys,
                      ARRAY_SIZE(g_keys), capture_warn);
    assert_int_equal(n, 6);
    assert_int_equal(g_nwarn, 6);
    assert_string_equal(g_warnings[0], "unknown key 'bogus', ignored");
    assert_string_equal(g_warnings[1], "bad value for 'num': 'abc' is not a number");
    assert_string_equal(g_warnings[2], "bad value for 'flag': takes no value");
    assert_string_equal(g_warnings[3], "bad value for 'silent': rejected");
    assert_string_equal(g_warnings[4], "unknown key 'Ip', ignored"); /* keys are case-sensitive */
    assert_string_equal(g_warnings[5], "malformed item 'tail=open' (bad syntax), ignored");
    /* The good items around the bad ones were applied. */
    assert_string_equal(g_ip, "10.0.0.1");
    assert_int_equal(g_num, 7);
    assert_int_equal(g_flag, 0);
}

static void test_apply_malformed(void **state)
{
    char line[CMDLINE_VALUE_MAX + 64];
    char value[CMDLINE_VALUE_MAX + 1];

    (void)state;
    memset(value, '9', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    snprintf(line, sizeof(line), "num=%s =5 a=\"b\"c flag", value);
    assert_int_equal(cmdline_apply(line, g_keys, ARRAY_SIZE(g_keys), capture_warn), 3);
    assert_int_equal(g_nwarn, 3);
    assert_non_null(strstr(g_warnings[0], "malformed item 'num=999"));
    assert_non_null(strstr(g_warnings[0], "(too long), ignored"));
    assert_string_equal(g_warnings[1], "malformed item '=5' (bad syntax), ignored");
    assert_string_equal(g_warnings[2], "malformed item 'a=b' (bad syntax), ignored");
    assert_int_equal(g_num, 0); /* the too-long value never reached the handler */
    assert_int_equal(g_flag, 1);
}

static void test_apply_empty(void **state)
{
    (void)state;
    assert_int_equal(cmdline_apply(NULL, g_keys, ARRAY_SIZE(g_keys), capture_warn), 0);
    assert_int_equal(cmdline_apply("", g_keys, ARRAY_SIZE(g_keys), capture_warn), 0);
    assert_int_equal(cmdline_apply("   ", g_keys, ARRAY_SIZE(g_keys), capture_warn), 0);
    /* With no keys at all everything is unknown. */
    assert_int_equal(cmdline_apply("a b=c", g_keys, 0, capture_warn), 2);
    assert_int_equal(g_nwarn, 2);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_quoted_values),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_garbage_after_quote),
        cmocka_unit_test(test_empty_key),
        cmocka_unit_test(test_too_long),
        T(test_apply_good_line),
        T(test_apply_problems),
        T(test_apply_malformed),
        T(test_apply_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
