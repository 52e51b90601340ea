/* Unit tests for console/logfmt.c: log stream lines, the dropped marker, and RFC 5424 syslog
 * messages with the facility and severity mapped from the component and level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/logfmt.h"

static struct log_record rec(enum log_comp comp, enum log_level lvl, const char *vm,
                             const char *text)
{
    struct log_record r;

    memset(&r, 0, sizeof(r));
    r.seq = 42;
    r.time_ns = 12345678901ULL; /* 12.345678901 s */
    r.comp = (uint8_t)comp;
    r.level = (uint8_t)lvl;
    strcpy(r.vm, vm);
    strcpy(r.text, text);
    return r;
}

static void test_line(void **state)
{
    struct log_record r = rec(LOG_COMP_NET, LOG_LVL_INFO, "", "address 10.0.2.15");
    char buf[LOGFMT_LINE_MAX];
    char tiny[8];
    size_t n;

    (void)state;

    n = logfmt_line(&r, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "   12.345678 net     info  address 10.0.2.15\n");
    r = rec(LOG_COMP_VMM, LOG_LVL_WARN, "web", "halted");
    logfmt_line(&r, buf, sizeof(buf));
    assert_string_equal(buf, "   12.345678 vmm     warn  [web] halted\n");
    /* Cut lines still end in a newline. */
    assert_int_equal(logfmt_line(&r, tiny, sizeof(tiny)), 7);
    assert_string_equal(tiny, "   12.\n");
    assert_int_equal(logfmt_dropped(17, buf, sizeof(buf)), strlen("[17 lines dropped]\n"));
    assert_string_equal(buf, "[17 lines dropped]\n");
}

static void test_priority(void **state)
{
    (void)state;
    assert_int_equal(logfmt_facility(LOG_COMP_BOOT), SYSLOG_FAC_KERN);
    assert_int_equal(logfmt_facility(LOG_COMP_SVM), SYSLOG_FAC_LOCAL0);
    assert_int_equal(logfmt_facility(LOG_COMP_VNET), SYSLOG_FAC_LOCAL1);
    assert_int_equal(logfmt_facility(LOG_COMP_CONSOLE), SYSLOG_FAC_LOCAL2);
    assert_int_equal(logfmt_severity(LOG_LVL_ERROR), 3);
    assert_int_equal(logfmt_severity(LOG_LVL_WARN), 4);
    assert_int_equal(logfmt_severity(LOG_LVL_INFO), 6);
    assert_int_equal(logfmt_severity(LOG_LVL_DEBUG), 7);
    assert_int_equal(logfmt_severity(LOG_LVL_TRACE), 7);
}

static void test_syslog(void **state)
{
    struct log_record r = rec(LOG_COMP_CONSOLE, LOG_LVL_WARN, "", "failed login from 10.0.2.2:5");
    char buf[LOGFMT_SYSLOG_MAX];

    (void)state;
    /* local2 (18) * 8 + warning (4) = 148. */
    logfmt_syslog(&r, "10.0.2.15", buf, sizeof(buf));
    assert_string_equal(buf, "<148>1 - 10.0.2.15 petrel - console [meta sequenceId=\"42\" "
                             "sysUpTime=\"1234\"] failed login from 10.0.2.2:5");
    r = rec(LOG_COMP_BOOT, LOG_LVL_ERROR, "vm1", "x");
    r.seq = 2147483648ULL; /* wraps to 1 */
    logfmt_syslog(&r, "petrel", buf, sizeof(buf));
    assert_string_equal(buf, "<3>1 - petrel petrel - boot [meta sequenceId=\"1\" "
                             "sysUpTime=\"1234\"] [vm1] x");
}

/* The command line in the boot log never shows the password's hash on the network. */
static void test_redacts_password(void **state)
{
    struct log_record r = rec(LOG_COMP_BOOT, LOG_LVL_INFO, "",
                              "cmdline: ip=dhcp console.password=sha256:s:abcdef log=net:debug");
    char buf[LOGFMT_SYSLOG_MAX];

    (void)state;
    logfmt_line(&r, buf, sizeof(buf));
    assert_string_equal(buf, "   12.345678 boot    info  cmdline: ip=dhcp console.password=***** "
                             "log=net:debug\n");
    logfmt_syslog(&r, "h", buf, sizeof(buf));
    assert_null(strstr(buf, "abcdef"));
    assert_non_null(strstr(buf, "console.password=*****"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_syslog),
        cmocka_unit_test(test_redacts_password),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
