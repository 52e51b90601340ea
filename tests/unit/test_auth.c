/* Unit tests for console/auth.c: the sha256:SALT:HASH secret, the password check, the
 * constant-time compare, and the per-address rate limiter of failed logins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/auth.h"

/* SHA-256("salt1234" "secret"), from Python's hashlib. */
#define SECRET "sha256:salt1234:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54"

static void test_parse_and_check(void **state)
{
    struct auth_secret s;
    const char *why = NULL;

    (void)state;
    assert_int_equal(auth_parse(SECRET, &s, &why), 0);
    assert_true(s.set);
    assert_string_equal(s.salt, "salt1234");
    assert_true(auth_check(&s, "secret"));
    assert_false(auth_check(&s, "Secret"));
    assert_false(auth_check(&s, "secret "));
    assert_false(auth_check(&s, ""));
    assert_false(auth_check(&s, "salt1234secret"));
    /* Upper-case hex is the same hash. */
    assert_int_equal(auth_parse("sha256:salt1234:434FBFCC01C1839E14156DBC57FFD668B1850F85808721"
                                "DC98784F6A81478C54",
                                &s, NULL),
                     0);
    assert_true(auth_check(&s, "secret"));
    /* An unset secret matches nothing, not even the empty password. */
    memset(&s, 0, sizeof(s));
    assert_false(auth_check(&s, ""));
}

static void test_parse_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "secret",
        "sha1:salt:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54",
        "sha256:",
        "sha256::434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54",
        "sha256:salt",
        "sha256:salt:",
        "sha256:salt:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c5",
        "sha256:salt:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c544",
        "sha256:salt:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478cZZ",
        "sha256:sa lt:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54",
        "sha256:salt:extra:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54",
        "sha256:0123456789012345678901234567890123456789012345678901234567890123456789:"
        "434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54",
    };
    struct auth_secret s;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;

        assert_int_equal(auth_parse(bad[i], &s, &why), -EINVAL);
        assert_non_null(why);
        assert_false(s.set);
    }
    assert_int_equal(auth_parse(NULL, &s, NULL), -EINVAL);
}

static void test_make(void **state)
{
    char out[160];
    struct auth_secret s;

    (void)state;
    assert_int_equal(auth_make("salt1234", "secret", out, sizeof(out)), (int)strlen(SECRET));
    assert_string_equal(out, SECRET);
    assert_int_equal(auth_make("x", "pass word with spaces", out, sizeof(out)), 73);
    assert_int_equal(auth_parse(out, &s, NULL), 0);
    assert_true(auth_check(&s, "pass word with spaces"));
    assert_int_equal(auth_make("bad salt", "p", out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_make("salt", "p", out, 40), -ENOSPC);
}

static void test_ct_compare(void **state)
{
    uint8_t a[32];
    uint8_t b[32];

    (void)state;
    memset(a, 0x11, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(auth_ct_compare(a, b, sizeof(a)), 0);
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x80;
        assert_int_equal(auth_ct_compare(a, b, sizeof(a)), 1);
        b[i] ^= 0x80;
    }
    assert_int_equal(auth_ct_compare(a, b, 0), 0);
}

#define IP_A 0x0a000202u
#define IP_B 0x0a000203u

static void test_limiter(void **state)
{
    struct auth_limiter l;
    uint64_t delay;
    uint64_t t = 1000;

    (void)state;
    auth_limiter_init(&l);
    assert_int_equal(auth_limit_wait(&l, IP_A, t), 0);
    /* The first failures are free (typos). */
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 1);
    assert_int_equal(delay, 0);
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 2);
    assert_int_equal(delay, 0);
    assert_int_equal(auth_limit_wait(&l, IP_A, t), 0);
    /* Then each attempt waits, doubling. */
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 3);
    assert_int_equal(delay, AUTH_DELAY_BASE_MS);
    assert_int_equal(auth_limit_wait(&l, IP_A, t + 10), AUTH_DELAY_BASE_MS - 10);
    assert_int_equal(auth_limit_wait(&l, IP_A, t + AUTH_DELAY_BASE_MS), 0);
    assert_int_equal(l.delayed, 1);
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 4);
    assert_int_equal(delay, 2 * AUTH_DELAY_BASE_MS);
    for (int i = 0; i < 40; i++) {
        auth_limit_fail(&l, IP_A, t, &delay);
    }
    assert_int_equal(delay, AUTH_DELAY_MAX_MS);
    /* Another address is not affected. */
    assert_int_equal(auth_limit_wait(&l, IP_B, t), 0);
    /* Quiet for long enough: forgotten. */
    t += AUTH_FORGET_MS + AUTH_DELAY_MAX_MS + 1;
    assert_int_equal(auth_limit_wait(&l, IP_A, t), 0);
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 1);
    /* A successful login clears the address. */
    auth_limit_fail(&l, IP_A, t, &delay);
    auth_limit_fail(&l, IP_A, t, &delay);
    assert_true(auth_limit_wait(&l, IP_A, t) > 0);
    auth_limit_success(&l, IP_A);
    assert_int_equal(auth_limit_wait(&l, IP_A, t), 0);
    assert_int_equal(auth_limit_fail(&l, IP_A, t, &delay), 1);
}

static void test_limiter_full(void **state)
{
    struct auth_limiter l;
    uint64_t delay;

    (void)state;
    auth_limiter_init(&l);
    /* More addresses than slots: the one that failed longest ago gives way. */
    for (uint32_t i = 0; i < AUTH_LIMIT_SLOTS; i++) {
        for (int k = 0; k < 5; k++) {
            auth_limit_fail(&l, 0x0a000000u + i, 100 + i, &delay);
        }
    }
    assert_true(auth_limit_wait(&l, 0x0a000000u, 100) > 0);
    auth_limit_fail(&l, 0x0b000000u, 500, &delay);
    assert_int_equal(auth_limit_wait(&l, 0x0a000000u, 200), 0); /* evicted */
    assert_true(auth_limit_wait(&l, 0x0a000001u, 101) > 0);     /* kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_check),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_make),
        cmocka_unit_test(test_ct_compare),
        cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_limiter_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
