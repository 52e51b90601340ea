/* Unit tests for vnet/parse.c: the route text form (every keyword, canonical formatting that
 * parses back, and an error message for each kind of mistake), the link text form, and IPv4
 * addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vnet/vnet.h"

static void test_route_examples(void **state)
{
    struct vnet_route r;
    char err[160];
    const uint8_t m[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

    (void)state;
    assert_int_equal(
        vnet_route_parse("src 52:54:00:12:34:56 dst any port linux.eth0", &r, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(r.src_qual, VNET_QUAL_EXACT);
    assert_memory_equal(r.src_mac, m, 6);
    assert_int_equal(r.dst_qual, VNET_QUAL_ANY);
    assert_string_equal(r.from, "");
    assert_int_equal(r.action, VNET_ACT_PORT);
    assert_string_equal(r.to, "linux.eth0");
    assert_false(r.to_link);

    assert_int_equal(
        vnet_route_parse("dst not 52:54:00:12:34:56 from edge drop", &r, err, sizeof(err)), 0);
    assert_int_equal(r.src_qual, VNET_QUAL_ANY);
    assert_int_equal(r.dst_qual, VNET_QUAL_NOT);
    assert_memory_equal(r.dst_mac, m, 6);
    assert_string_equal(r.from, "edge");
    assert_int_equal(r.action, VNET_ACT_DROP);

    assert_int_equal(vnet_route_parse("  SRC none\tdst exact 52-54-00-12-34-56 LINK vx:lab2 ", &r,
                                      err, sizeof(err)),
                     0);
    assert_int_equal(r.src_qual, VNET_QUAL_NONE);
    assert_int_equal(r.dst_qual, VNET_QUAL_EXACT);
    assert_true(r.to_link);
    assert_string_equal(r.to, "vx:lab2");

    assert_int_equal(vnet_route_parse("port local", &r, NULL, 0), 0);
    assert_int_equal(r.src_qual, VNET_QUAL_ANY);
    assert_int_equal(r.dst_qual, VNET_QUAL_ANY);
}

static void test_route_format_roundtrip(void **state)
{
    static const char *const texts[] = {
        "src 52:54:00:12:34:56 dst any port linux.eth0",
        "src any dst not 52:54:00:00:00:01 from edge drop",
        "src none dst 02:00:00:00:00:09 from vx:lab2 link vx:lab3",
        "src not 52:54:00:12:34:56 dst none port local",
    };
    struct vnet_route r;
    struct vnet_route back;
    char buf[160];
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(vnet_route_parse(texts[i], &r, err, sizeof(err)), 0);
        assert_true(vnet_route_format(&r, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, texts[i]);
        assert_int_equal(vnet_route_parse(buf, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &r, sizeof(r));
    }
    assert_int_equal(vnet_route_parse("drop", &r, err, sizeof(err)), 0);
    assert_int_equal(vnet_route_format(&r, buf, sizeof(buf)), strlen("src any dst any drop"));
    assert_string_equal(buf, "src any dst any drop");
    assert_int_equal(vnet_route_format(&r, buf, 10), -ENOSPC);
}

struct bad_case {
    const char *text;
    const char *msg; /* a part of the message */
};

static void test_route_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"src any", "missing destination"},
        {"src 52:54:00:12:34:56", "missing destination"},
        {"src", "src: expected any, none, a MAC"},
        {"src 52:54:00:12:34 port a", "got '52:54:00:12:34'"},
        {"src not port a", "src: 'port' is not a MAC"},
        {"dst not", "dst not: expected a MAC"},
        {"dst exact zz:54:00:12:34:56 port a", "is not a MAC"},
        {"src any src any port a", "src given twice"},
        {"dst any dst any port a", "dst given twice"},
        {"from a from b port c", "from given twice"},
        {"from", "from: expected a port name"},
        {"port", "port: expected a port name"},
        {"link", "link: expected a port name"},
        {"port bad/name", "is not a port name"},
        {"port 0123456789abcdef0123456789abcdef", "is not a port name"},
        {"port a drop", "unexpected 'drop' after the destination"},
        {"port a port b", "unexpected 'port' after the destination"},
        {"drop now", "unexpected 'now' after"},
        {"source any port a", "unexpected 'source' (expected src, dst, from, port, link or drop)"},
    };
    struct vnet_route r;
    char err[160];
    char tiny[8];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(err, 0, sizeof(err));
        assert_int_equal(vnet_route_parse(cases[i].text, &r, err, sizeof(err)), -EINVAL);
        if (strstr(err, cases[i].msg) == NULL) {
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err, cases[i].msg);
        }
    }
    assert_int_equal(vnet_route_parse(NULL, &r, err, sizeof(err)), -EINVAL);
    /* A small message buffer is still terminated. */
    assert_int_equal(vnet_route_parse("src", &r, tiny, sizeof(tiny)), -EINVAL);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    /* Too long and too many words. */
    char big[400];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(vnet_route_parse(big, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "too long"));
    big[0] = '\0';
    for (int i = 0; i < 60; i++) {
        strcat(big, "d ");
    }
    assert_int_equal(vnet_route_parse(big, &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "too many words"));
}

static void test_link_parse(void **state)
{
    struct vnet_link_config c;
    struct vnet_link_config back;
    char err[160];
    char buf[300];

    (void)state;
    assert_int_equal(vnet_link_parse("vx:lab2 vni 42 remote 10.0.2.2", &c, err, sizeof(err)), 0);
    assert_string_equal(c.name, "vx:lab2");
    assert_int_equal(c.vni, 42);
    assert_int_equal(c.nremotes, 1);
    assert_int_equal(c.remotes[0], 0x0a000202);
    assert_int_equal(c.network, 0);
    assert_int_equal(c.dst_port, 0);
    assert_false(c.no_frag);
    assert_int_equal(vnet_link_format(&c, buf, sizeof(buf)), 40);
    assert_string_equal(buf, "vx:lab2 vni 42 remote 10.0.2.2 network 0");

    assert_int_equal(vnet_link_parse("vx:b vni 0xffffff remote 10.0.0.1,10.0.0.2 remote 10.0.0.3 "
                                     "network 7 dstport 8472 mtu 1450 outer-mtu 1500 nofrag "
                                     "accept-any",
                                     &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.vni, 0xffffff);
    assert_int_equal(c.nremotes, 3);
    assert_int_equal(c.remotes[2], 0x0a000003);
    assert_int_equal(c.network, 7);
    assert_int_equal(c.dst_port, 8472);
    assert_int_equal(c.mtu, 1450);
    assert_int_equal(c.outer_mtu, 1500);
    assert_true(c.no_frag);
    assert_true(c.accept_any);
    assert_true(vnet_link_format(&c, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "vx:b vni 16777215 remote 10.0.0.1,10.0.0.2,10.0.0.3 network 7 "
                             "dstport 8472 mtu 1450 outer-mtu 1500 nofrag accept-any");
    assert_int_equal(vnet_link_parse(buf, &back, err, sizeof(err)), 0);
    assert_memory_equal(&back, &c, sizeof(c));
    assert_int_equal(vnet_link_format(&c, buf, 20), -ENOSPC);
    assert_int_equal(vnet_link_format(&c, NULL, 0), -ENOSPC);
}

static void test_link_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"", "empty"},
        {"bad/name vni 1", "is not a link name"},
        {"vx", "missing 'vni N'"},
        {"vx remote 10.0.0.1", "missing 'vni N'"},
        {"vx vni", "vni: expected a number"},
        {"vx vni 16777216", "not a number in 0..16777215"},
        {"vx vni -1", "not a number"},
        {"vx vni 1 remote", "remote: expected an IPv4 address"},
        {"vx vni 1 remote 10.0.0", "not an IPv4 address"},
        {"vx vni 1 remote 10.0.0.1,", "'' is not an IPv4"},
        {"vx vni 1 remote host.example", "not an IPv4 address"},
        {"vx vni 1 dstport 0", "dstport: '0' is not a number in 1..65535"},
        {"vx vni 1 dstport 65536", "not a number in 1..65535"},
        {"vx vni 1 mtu 67", "mtu: '67'"},
        {"vx vni 1 outer-mtu 100", "outer-mtu"},
        {"vx vni 1 network x", "network"},
        {"vx vni 1 bogus", "unexpected 'bogus'"},
        {"vx vni 1 remote 1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
         "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16,1.1.1.17",
         "at most 16 remote VTEPs"},
    };
    struct vnet_link_config c;
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(err, 0, sizeof(err));
        assert_int_equal(vnet_link_parse(cases[i].text, &c, err, sizeof(err)), -EINVAL);
        if (strstr(err, cases[i].msg) == NULL) {
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err, cases[i].msg);
        }
    }
}

static void test_ip4(void **state)
{
    static const char *const bad[] = {
        "",         "1",        "1.2.3",      "1.2.3.4.5",  "256.1.1.1", "1.2.3.256",
        "01.2.3.4", "1.2.3.04", "1..2.3",     ".1.2.3",     "1.2.3.",    " 1.2.3.4",
        "1.2.3.4 ", "a.b.c.d",  "1.2.3.4/24", "1234.1.1.1", "-1.2.3.4",
    };
    uint32_t ip = 7;
    char buf[16];

    (void)state;
    assert_int_equal(vnet_ip4_parse("10.0.2.15", &ip), 0);
    assert_int_equal(ip, 0x0a00020f);
    assert_int_equal(vnet_ip4_parse("0.0.0.0", &ip), 0);
    assert_int_equal(ip, 0);
    assert_int_equal(vnet_ip4_parse("255.255.255.255", &ip), 0);
    assert_int_equal(ip, 0xffffffff);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ip = 7;
        if (vnet_ip4_parse(bad[i], &ip) != -EINVAL) {
            fail_msg("'%s' accepted", bad[i]);
        }
        assert_int_equal(ip, 7);
    }
    assert_int_equal(vnet_ip4_parse(NULL, &ip), -EINVAL);
    assert_int_equal(vnet_ip4_format(0xc0a80101, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "192.168.1.1");
    assert_int_equal(vnet_ip4_format(0xffffffff, buf, sizeof(buf)), 15);
    assert_int_equal(vnet_ip4_format(0xffffffff, buf, 15), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_examples), cmocka_unit_test(test_route_format_roundtrip),
        cmocka_unit_test(test_route_errors),   cmocka_unit_test(test_link_parse),
        cmocka_unit_test(test_link_errors),    cmocka_unit_test(test_ip4),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
