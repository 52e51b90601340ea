/* Unit tests for vnet/frame.c: Ethernet header and VLAN parsing, frame size limits, MAC
 * classes, MAC text parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vnet/frame.h"

static void test_parse_plain(void **state)
{
    uint8_t f[60] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x06};
    struct vnet_eth e;

    (void)state;
    assert_int_equal(vnet_eth_parse(f, sizeof(f), &e), 0);
    assert_ptr_equal(e.dst, f);
    assert_ptr_equal(e.src, f + 6);
    assert_int_equal(e.ethertype, 0x0806);
    assert_int_equal(e.vlan_tags, 0);
    assert_int_equal(e.payload_off, 14);
    assert_int_equal(vnet_eth_parse(f, 14, &e), 0);
}

static void test_parse_runt(void **state)
{
    uint8_t f[14] = {0};
    struct vnet_eth e;

    (void)state;
    for (size_t len = 0; len < 14; len++) {
        assert_int_equal(vnet_eth_parse(f, len, &e), -EINVAL);
    }
    assert_int_equal(vnet_eth_parse(NULL, 60, &e), -EINVAL);
}

static void test_parse_vlan(void **state)
{
    uint8_t f[64] = {0};
    struct vnet_eth e;

    (void)state;
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = 0x20; /* PCP 1, VID 0x005 */
    f[15] = 0x05;
    f[16] = 0x08;
    f[17] = 0x00;
    assert_int_equal(vnet_eth_parse(f, sizeof(f), &e), 0);
    assert_int_equal(e.vlan_tags, 1);
    assert_int_equal(e.vlan_tci, 0x2005);
    assert_int_equal(e.ethertype, 0x0800);
    assert_int_equal(e.payload_off, 18);
    /* Cut inside the tag. */
    for (size_t len = 14; len < 18; len++) {
        assert_int_equal(vnet_eth_parse(f, len, &e), -EINVAL);
    }
    assert_int_equal(vnet_eth_parse(f, 18, &e), 0);
}

static void test_parse_qinq(void **state)
{
    uint8_t f[64] = {0};
    struct vnet_eth e;

    (void)state;
    f[12] = 0x88;
    f[13] = 0xa8;
    f[14] = 0x00;
    f[15] = 0x64;
    f[16] = 0x81;
    f[17] = 0x00;
    f[18] = 0x00;
    f[19] = 0x0a;
    f[20] = 0x86;
    f[21] = 0xdd;
    assert_int_equal(vnet_eth_parse(f, sizeof(f), &e), 0);
    assert_int_equal(e.vlan_tags, 2);
    assert_int_equal(e.vlan_tci, 0x0064);
    assert_int_equal(e.ethertype, 0x86dd);
    assert_int_equal(e.payload_off, 22);
    /* A third tag is not skipped: its TPID is the type. */
    f[20] = 0x81;
    f[21] = 0x00;
    assert_int_equal(vnet_eth_parse(f, sizeof(f), &e), 0);
    assert_int_equal(e.vlan_tags, 2);
    assert_int_equal(e.ethertype, 0x8100);
}

static void test_frame_max(void **state)
{
    uint8_t f[20] = {0};

    (void)state;
    assert_int_equal(vnet_frame_max(f, sizeof(f), 1500), 1514);
    f[12] = 0x81;
    assert_int_equal(vnet_frame_max(f, sizeof(f), 1500), 1518);
    f[12] = 0x88;
    f[13] = 0xa8;
    assert_int_equal(vnet_frame_max(f, sizeof(f), 1500), 1518);
    assert_int_equal(vnet_frame_max(f, sizeof(f), 9000), 9018);
    assert_int_equal(vnet_frame_max(f, 10, 1500), 1514);
}

static void test_mac_class(void **state)
{
    const uint8_t uc[6] = {0x52, 0x54, 0, 1, 2, 3};
    const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    const uint8_t v6[6] = {0x33, 0x33, 0, 0, 0, 1};
    const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t zero[6] = {0};

    (void)state;
    assert_int_equal(vnet_mac_class(uc), VNET_MAC_CLASS_UNICAST);
    assert_int_equal(vnet_mac_class(mc), VNET_MAC_CLASS_MULTICAST);
    assert_int_equal(vnet_mac_class(v6), VNET_MAC_CLASS_MULTICAST);
    assert_int_equal(vnet_mac_class(bc), VNET_MAC_CLASS_BROADCAST);
    assert_false(vnet_mac_is_group(uc));
    assert_true(vnet_mac_is_group(mc));
    assert_true(vnet_mac_is_group(bc));
    assert_true(vnet_mac_is_zero(zero));
    assert_false(vnet_mac_is_zero(uc));
    assert_true(vnet_mac_equal(uc, uc));
    assert_false(vnet_mac_equal(uc, mc));
}

static void test_mac_parse(void **state)
{
    uint8_t m[6];
    const uint8_t want[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

    (void)state;
    assert_int_equal(vnet_mac_parse("52:54:00:12:34:56", m), 0);
    assert_memory_equal(m, want, 6);
    assert_int_equal(vnet_mac_parse("52-54-00-12-34-56", m), 0);
    assert_memory_equal(m, want, 6);
    assert_int_equal(vnet_mac_parse("FF:ff:Ff:fF:00:0a", m), 0);
    assert_int_equal(m[0], 0xff);
    assert_int_equal(m[5], 0x0a);
}

static void test_mac_parse_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "52:54:00:12:34",
        "52:54:00:12:34:56:78",
        "52:54:00:12:34:5",
        "52:54:00:12:34:5g",
        "52-54:00:12:34:56",
        "52:54-00:12:34:56",
        "52.54.00.12.34.56",
        " 52:54:00:12:34:5",
        "52:54:00:12:34:56 ",
        "5254.0012.3456",
        "525400123456",
        "52:54:00:12:34:+6",
        "-2:54:00:12:34:56",
    };
    uint8_t m[6] = {1, 2, 3, 4, 5, 6};
    const uint8_t keep[6] = {1, 2, 3, 4, 5, 6};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vnet_mac_parse(bad[i], m), -EINVAL);
        assert_memory_equal(m, keep, 6); /* untouched on error */
    }
    assert_int_equal(vnet_mac_parse(NULL, m), -EINVAL);
}

static void test_mac_format(void **state)
{
    const uint8_t m[6] = {0x52, 0x54, 0x00, 0xab, 0xCD, 0x0f};
    char buf[18];
    uint8_t back[6];

    (void)state;
    assert_int_equal(vnet_mac_format(m, buf, sizeof(buf)), 17);
    assert_string_equal(buf, "52:54:00:ab:cd:0f");
    assert_int_equal(vnet_mac_parse(buf, back), 0);
    assert_memory_equal(back, m, 6);
    assert_int_equal(vnet_mac_format(m, buf, 17), -ENOSPC);
    assert_string_equal(buf, "");
    assert_int_equal(vnet_mac_format(m, NULL, 0), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain), cmocka_unit_test(test_parse_runt),
        cmocka_unit_test(test_parse_vlan),  cmocka_unit_test(test_parse_qinq),
        cmocka_unit_test(test_frame_max),   cmocka_unit_test(test_mac_class),
        cmocka_unit_test(test_mac_parse),   cmocka_unit_test(test_mac_parse_bad),
        cmocka_unit_test(test_mac_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
