/* Unit tests for console/config.c: the console.*, logstream.port and syslog= keys, and the
 * redaction of the password from the logged command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/config.h"

#define SECRET "sha256:salt1234:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54"

static int reset(void **state)
{
    (void)state;
    con_config_defaults(&g_con_config);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    assert_false(g_con_config.password.set);
    assert_int_equal(g_con_config.port, 23);
    assert_int_equal(g_con_config.logstream_port, 5140);
    assert_int_equal(g_con_config.idle_s, CON_IDLE_DEFAULT_S);
    assert_int_equal(g_con_config.allow.n, 0);
    assert_false(g_con_config.syslog);
}

static void test_password(void **state)
{
    char msg[128] = "";

    (void)state;
    assert_int_equal(con_param_password(SECRET, true, msg, sizeof(msg)), 0);
    assert_true(g_con_config.password.set);
    assert_true(auth_check(&g_con_config.password, "secret"));
    /* A bad value keeps what was set and says why. */
    assert_int_equal(con_param_password("plain", true, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "sha256:SALT:HASH"));
    assert_true(g_con_config.password.set);
    assert_int_equal(con_param_password(NULL, false, msg, sizeof(msg)), -EINVAL);
}

static void test_ports_idle(void **state)
{
    char msg[128];

    (void)state;
    assert_int_equal(con_param_port("2323", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.port, 2323);
    assert_int_equal(con_param_port("0", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.port, 0);
    assert_int_equal(con_param_port("65536", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_port("-1", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_port("0x17", true, msg, sizeof(msg)), 0); /* str_to_u64 hex */
    assert_int_equal(con_param_port("", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_port(NULL, false, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_logstream_port("6000", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.logstream_port, 6000);
    assert_int_equal(con_param_idle("0", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.idle_s, 0);
    assert_int_equal(con_param_idle("300", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.idle_s, 300);
    assert_int_equal(con_param_idle("86401", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_idle("ten", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(g_con_config.idle_s, 300);
}

static void test_allow_syslog(void **state)
{
    char msg[128];

    (void)state;
    assert_int_equal(con_param_allow("10.0.2.0/24,127.0.0.1", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.allow.n, 2);
    assert_int_equal(con_param_allow("10.0.2.0/99", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(g_con_config.allow.n, 2);
    assert_int_equal(con_param_syslog("10.0.2.2", true, msg, sizeof(msg)), 0);
    assert_true(g_con_config.syslog);
    assert_int_equal(g_con_config.syslog_ip, 0x0a000202);
    assert_int_equal(g_con_config.syslog_port, 514);
    assert_int_equal(con_param_syslog("10.0.2.3:5514", true, msg, sizeof(msg)), 0);
    assert_int_equal(g_con_config.syslog_ip, 0x0a000203);
    assert_int_equal(g_con_config.syslog_port, 5514);
    assert_int_equal(con_param_syslog("10.0.2.3:0", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_syslog("10.0.2.3:", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(con_param_syslog("loghost:514", true, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(g_con_config.syslog_port, 5514);
}

static void test_redact(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(
        con_redact_cmdline("ip=dhcp console.password=" SECRET " log=net:debug", out, sizeof(out)),
        strlen("ip=dhcp console.password=***** log=net:debug"));
    assert_string_equal(out, "ip=dhcp console.password=***** log=net:debug");
    con_redact_cmdline("console.password=x", out, sizeof(out));
    assert_string_equal(out, "console.password=*****");
    /* Only the key itself, not one that ends the same way. */
    con_redact_cmdline("my.console.password=x", out, sizeof(out));
    assert_string_equal(out, "my.console.password=x");
    /* Cut to the buffer, always terminated. */
    assert_int_equal(con_redact_cmdline("console.password=abc", out, 10), 22);
    assert_string_equal(out, "console.p");
    con_redact_cmdline("", out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, reset),
        cmocka_unit_test_setup(test_password, reset),
        cmocka_unit_test_setup(test_ports_idle, reset),
        cmocka_unit_test_setup(test_allow_syslog, reset),
        cmocka_unit_test_setup(test_redact, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
