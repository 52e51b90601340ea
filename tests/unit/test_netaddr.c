/* Unit tests for netstack/netaddr.c: dotted quads, CIDR, the ip= parameter, netmasks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../netstack/netaddr.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

static void test_ip4_valid(void **state)
{
    uint32_t ip;

    (void)state;
    assert_int_equal(netaddr_parse_ip4("10.0.2.15", &ip), 0);
    assert_int_equal(ip, IP(10, 0, 2, 15));
    assert_int_equal(netaddr_parse_ip4("0.0.0.0", &ip), 0);
    assert_int_equal(ip, 0);
    assert_int_equal(netaddr_parse_ip4("255.255.255.255", &ip), 0);
    assert_int_equal(ip, 0xffffffffu);
    assert_int_equal(netaddr_parse_ip4("192.168.100.1", &ip), 0);
    assert_int_equal(ip, IP(192, 168, 100, 1));
}

static void test_ip4_invalid(void **state)
{
    static const char *const bad[] = {
        "",          "1",
        "1.2.3",     "1.2.3.4.",
        "1.2.3.4.5", ".1.2.3.4",
        "1..2.3",    "1.2.3.",
        "256.1.1.1", "1.2.3.256",
        "1.2.3.999", "1.2.3.1000",
        "01.2.3.4",  "1.2.3.04",
        "1.2.3.00",  " 1.2.3.4",
        "1.2.3.4 ",  "+1.2.3.4",
        "-1.2.3.4",  "1.2.3.4/24",
        "a.b.c.d",   "1.2.3.4x",
        "0x1.2.3.4", "1.2.3.4\n",
        "dhcp",      "1.2.3.4294967297",
    };
    uint32_t ip = 0x12345678;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (netaddr_parse_ip4(bad[i], &ip) != -EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    assert_int_equal(netaddr_parse_ip4(NULL, &ip), -EINVAL);
    assert_int_equal(ip, 0x12345678); /* untouched on error */
}

static void test_cidr(void **state)
{
    uint32_t ip;
    uint8_t prefix;

    (void)state;
    assert_int_equal(netaddr_parse_cidr("10.0.2.16/24", &ip, &prefix), 0);
    assert_int_equal(ip, IP(10, 0, 2, 16));
    assert_int_equal(prefix, 24);
    assert_int_equal(netaddr_parse_cidr("1.2.3.4/0", &ip, &prefix), 0);
    assert_int_equal(prefix, 0);
    assert_int_equal(netaddr_parse_cidr("1.2.3.4/32", &ip, &prefix), 0);
    assert_int_equal(prefix, 32);
    assert_int_equal(netaddr_parse_cidr("1.2.3.4/9", &ip, &prefix), 0);
    assert_int_equal(prefix, 9);

    static const char *const bad[] = {
        "1.2.3.4",     "1.2.3.4/",   "1.2.3.4/33",  "1.2.3.4/100",
        "1.2.3.4/024", "1.2.3.4/-1", "1.2.3.4/+8",  "1.2.3.4/8 ",
        "1.2.3.4//8",  "1.2.3/8",    "/24",         "1.2.3.4/8/8",
        "1.2.3.4/a",   "x1.2.3.4/8", "1.2.3.256/8", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (netaddr_parse_cidr(bad[i], &ip, &prefix) != -EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
}

static void test_prefix_to_mask(void **state)
{
    (void)state;
    assert_int_equal(netaddr_prefix_to_mask(0), 0);
    assert_int_equal(netaddr_prefix_to_mask(1), 0x80000000u);
    assert_int_equal(netaddr_prefix_to_mask(8), 0xff000000u);
    assert_int_equal(netaddr_prefix_to_mask(24), 0xffffff00u);
    assert_int_equal(netaddr_prefix_to_mask(31), 0xfffffffeu);
    assert_int_equal(netaddr_prefix_to_mask(32), 0xffffffffu);
    assert_int_equal(netaddr_prefix_to_mask(33), 0xffffffffu);
    for (unsigned p = 0; p <= 32; p++) {
        uint32_t m = netaddr_prefix_to_mask(p);
        assert_int_equal(__builtin_popcount(m), p);
    }
}

static void test_config_dhcp(void **state)
{
    struct netaddr_config c;

    (void)state;
    assert_int_equal(netaddr_parse_config(NULL, &c, NULL), 0);
    assert_true(c.dhcp);
    assert_int_equal(netaddr_parse_config("", &c, NULL), 0);
    assert_true(c.dhcp);
    assert_int_equal(netaddr_parse_config("dhcp", &c, NULL), 0);
    assert_true(c.dhcp);
    assert_int_equal(netaddr_parse_config("DHCP", &c, NULL), 0);
    assert_true(c.dhcp);
}

static void test_config_static(void **state)
{
    struct netaddr_config c;
    const char *why = NULL;

    (void)state;
    assert_int_equal(netaddr_parse_config("10.0.2.16/24", &c, &why), 0);
    assert_false(c.dhcp);
    assert_int_equal(c.ip, IP(10, 0, 2, 16));
    assert_int_equal(c.prefix, 24);
    assert_int_equal(c.netmask, 0xffffff00u);
    assert_int_equal(netaddr_parse_config("192.168.1.7/31", &c, &why), 0);
    assert_int_equal(netaddr_parse_config("192.168.1.6/31", &c, &why), 0);
    assert_int_equal(netaddr_parse_config("172.16.0.9/32", &c, &why), 0);
    assert_int_equal(c.netmask, 0xffffffffu);
}

static void test_config_bad(void **state)
{
    static const char *const bad[] = {
        "dhcpx",       "10.0.2.16",     "10.0.2.16/33", "10.0.2.0/24",   "10.0.2.255/24",
        "0.0.0.0/0",   "0.1.2.3/8",     "127.0.0.1/8",  "224.0.0.1/4",   "255.255.255.255/32",
        "10.0.2.16/0", "10.0.2.16/ 24", "static",       "10.0.2.16/24 ",
    };
    struct netaddr_config c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;

        if (netaddr_parse_config(bad[i], &c, &why) != -EINVAL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        if (why == NULL || why[0] == '\0') {
            fail_msg("no reason given for \"%s\"", bad[i]);
        }
    }
    /* A reason pointer is optional. */
    assert_int_equal(netaddr_parse_config("10.0.2.16", &c, NULL), -EINVAL);
}

static void test_same_subnet(void **state)
{
    (void)state;
    assert_true(netaddr_same_subnet(IP(10, 0, 2, 15), IP(10, 0, 2, 2), 0xffffff00u));
    assert_false(netaddr_same_subnet(IP(10, 0, 2, 15), IP(10, 0, 3, 2), 0xffffff00u));
    assert_true(netaddr_same_subnet(IP(10, 0, 2, 15), IP(10, 0, 3, 2), 0xffff0000u));
    assert_true(netaddr_same_subnet(IP(1, 2, 3, 4), IP(200, 0, 0, 1), 0));
}

static void test_format(void **state)
{
    char buf[NETADDR_STR_MAX];
    char tiny[4];

    (void)state;
    assert_int_equal(netaddr_format(IP(10, 0, 2, 15), buf, sizeof(buf)), 9);
    assert_string_equal(buf, "10.0.2.15");
    assert_int_equal(netaddr_format(0xffffffffu, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "255.255.255.255");
    assert_int_equal(netaddr_format(IP(10, 0, 2, 15), tiny, sizeof(tiny)), 9);
    assert_string_equal(tiny, "10.");
}

static void test_roundtrip(void **state)
{
    char buf[NETADDR_STR_MAX];
    uint32_t samples[] = {0, 1, 0x7f000001u, 0x0a00020fu, 0xc0a80101u, 0xfffffffeu, 0xffffffffu};

    (void)state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        uint32_t back;

        netaddr_format(samples[i], buf, sizeof(buf));
        assert_int_equal(netaddr_parse_ip4(buf, &back), 0);
        assert_int_equal(back, samples[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip4_valid),   cmocka_unit_test(test_ip4_invalid),
        cmocka_unit_test(test_cidr),        cmocka_unit_test(test_prefix_to_mask),
        cmocka_unit_test(test_config_dhcp), cmocka_unit_test(test_config_static),
        cmocka_unit_test(test_config_bad),  cmocka_unit_test(test_same_subnet),
        cmocka_unit_test(test_format),      cmocka_unit_test(test_roundtrip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
