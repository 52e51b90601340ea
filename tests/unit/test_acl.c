/* Unit tests for console/acl.c: console.allow lists, matching, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/acl.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

static void test_empty_allows_all(void **state)
{
    struct acl a;
    char buf[64];

    (void)state;
    assert_int_equal(acl_parse("", &a, NULL, 0), 0);
    assert_int_equal(a.n, 0);
    assert_true(acl_allows(&a, IP(1, 2, 3, 4)));
    acl_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "any");
}

static void test_match(void **state)
{
    struct acl a;
    char err[64];
    char buf[128];

    (void)state;
    assert_int_equal(acl_parse("10.0.2.0/24,192.168.1.7,172.16.5.9/12", &a, err, sizeof(err)), 0);
    assert_int_equal(a.n, 3);
    assert_true(acl_allows(&a, IP(10, 0, 2, 2)));
    assert_true(acl_allows(&a, IP(10, 0, 2, 255)));
    assert_false(acl_allows(&a, IP(10, 0, 3, 2)));
    assert_true(acl_allows(&a, IP(192, 168, 1, 7)));
    assert_false(acl_allows(&a, IP(192, 168, 1, 8)));
    /* Host bits in a network entry are cleared: 172.16.0.0/12. */
    assert_true(acl_allows(&a, IP(172, 31, 255, 1)));
    assert_false(acl_allows(&a, IP(172, 32, 0, 1)));
    acl_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "10.0.2.0/24,192.168.1.7/32,172.16.0.0/12");
    /* A short buffer is cut and terminated; the full length comes back. */
    assert_int_equal(acl_format(&a, buf, 8),
                     (int)strlen("10.0.2.0/24,192.168.1.7/32,172.16.0.0/12"));
    assert_string_equal(buf, "10.0.2.");
    assert_int_equal(acl_parse("0.0.0.0/0", &a, NULL, 0), 0);
    assert_true(acl_allows(&a, IP(8, 8, 8, 8)));
}

static void test_errors(void **state)
{
    static const char *const bad[] = {
        ",",
        "10.0.2.0/24,",
        ",10.0.2.0/24",
        "10.0.2.0/33",
        "10.0.2/24",
        "host.example",
        "10.0.2.0/24,,10.0.3.0/24",
        "1.2.3.4 ",
        "10.0.2.0/24/1",
        "999.0.0.1",
    };
    struct acl a;
    char err[64];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(acl_parse(bad[i], &a, err, sizeof(err)), -EINVAL);
        assert_int_equal(a.n, 0);
        assert_true(err[0] != '\0');
    }
    /* At most ACL_MAX entries. */
    {
        char spec[ACL_MAX * 12 + 16] = "";

        for (int i = 0; i <= ACL_MAX; i++) {
            char item[32];

            snprintf(item, sizeof(item), "%s10.0.%d.1", i > 0 ? "," : "", i);
            strcat(spec, item);
        }
        assert_int_equal(acl_parse(spec, &a, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "more than 16 entries");
        *strrchr(spec, ',') = '\0';
        assert_int_equal(acl_parse(spec, &a, err, sizeof(err)), 0);
        assert_int_equal(a.n, ACL_MAX);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_allows_all),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
