/* Unit tests for the `nic =` value parser (vmm/nic_config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../vmm/nic_config.h"

static void test_defaults(void **state)
{
    struct vmm_nic_config c;
    char err[96];

    (void)state;
    assert_int_equal(vmm_nic_parse("virtio", 0, &c, err, sizeof(err)), 0);
    assert_int_equal(c.model, VMM_NIC_VIRTIO);
    assert_string_equal(c.name, "eth0");
    assert_false(c.mac_set);
    assert_string_equal(c.net, "");
    assert_int_equal(c.mtu, 0); /* chosen from the network (vmm_nic_mtu) */
    assert_int_equal(vmm_nic_parse("rtl8139", 2, &c, err, sizeof(err)), 0);
    assert_int_equal(c.model, VMM_NIC_RTL8139);
    assert_string_equal(c.name, "eth2");
    assert_int_equal(vmm_nic_parse("ne2k", 1, &c, NULL, 0), 0);
    assert_int_equal(c.model, VMM_NIC_NE2K);
    assert_string_equal(vmm_nic_model_name(VMM_NIC_NE2K), "ne2k");
}

static void test_keys(void **state)
{
    struct vmm_nic_config c;
    char err[96];
    static const uint8_t want[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

    (void)state;
    assert_int_equal(vmm_nic_parse("virtio,mac=52:54:00:12:34:56,net=lab", 0, &c, err, sizeof(err)),
                     0);
    assert_true(c.mac_set);
    assert_memory_equal(c.mac, want, 6);
    assert_string_equal(c.net, "lab");
    assert_int_equal(vmm_nic_parse(" rtl8139 , net=lab-2 , name=lan0, mac=52-54-00-AB-cd-EF", 1, &c,
                                   err, sizeof(err)),
                     0);
    assert_string_equal(c.name, "lan0");
    assert_string_equal(c.net, "lab-2");
    assert_int_equal(c.mac[3], 0xAB);
    assert_int_equal(c.mac[5], 0xEF);
    /* The blank-separated form docs/vnet.md shows: MODEL [mac MAC] [network N]. */
    assert_int_equal(vmm_nic_parse("ne2k mac 52:54:00:12:34:56 network 2", 3, &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.model, VMM_NIC_NE2K);
    assert_memory_equal(c.mac, want, 6);
    assert_string_equal(c.net, "2");
    assert_string_equal(c.name, "eth3");
    assert_int_equal(vmm_nic_parse("virtio\tnet=lab, name = x", 0, &c, err, sizeof(err)), -EINVAL);
    /* offload= (virtio only): on is the default. */
    assert_int_equal(vmm_nic_parse("virtio", 0, &c, err, sizeof(err)), 0);
    assert_false(c.no_offload);
    assert_int_equal(vmm_nic_parse("virtio,offload=off", 0, &c, err, sizeof(err)), 0);
    assert_true(c.no_offload);
    assert_int_equal(vmm_nic_parse("virtio,offload=off,offload=on", 0, &c, err, sizeof(err)), 0);
    assert_false(c.no_offload);
    assert_int_equal(vmm_nic_parse("virtio,offload=no", 0, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "want on or off"));
    assert_int_equal(vmm_nic_parse("rtl8139,offload=off", 0, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "virtio only"));
}

static void test_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "e1000",
        "virtio,",
        "virtio,mac",
        "virtio,mac=52:54:00:12:34",
        "virtio,mac=52:54:00:12:34:5g",
        "virtio,mac=01:00:5e:00:00:01", /* multicast */
        "virtio,mac=52:54:00:12:34:56:78",
        "virtio,net=",
        "virtio,net=a b",
        "virtio,net=0123456789012345678901234567890123456789",
        "virtio,name=eth0/1",
        "virtio,name=abcdefghijklmnopq",
        "virtio,speed=10",
        "virtio,,net=lab",
        "virtio,net=lab,",
        "virtio mac",
        "virtio mac, 52:54:00:12:34:56",
        ",virtio",
        "VIRTIO",
        "virtio,mtu=",
        "virtio,mtu=575", /* below IPv4's minimum datagram */
        "virtio,mtu=1501",
        "virtio,mtu=9000",
        "virtio,mtu=0",
        "virtio,mtu=65536",
        "virtio,mtu=1500000",
        "virtio,mtu=-1",
        "virtio,mtu=1e3",
        "virtio,mtu=1450x",
        "virtio,mtu= 1450,net=lab", /* "mtu=" then a stray token */
    };
    struct vmm_nic_config c;
    char err[96];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(vmm_nic_parse(bad[i], 0, &c, err, sizeof(err)), -EINVAL);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(vmm_nic_parse(NULL, 0, &c, err, sizeof(err)), -EINVAL);
    /* A tiny error buffer still gets a terminated string. */
    assert_int_equal(vmm_nic_parse("bogus", 0, &c, err, 4), -EINVAL);
    assert_int_equal(strlen(err), 3);
}

static void test_mtu_setting(void **state)
{
    struct vmm_nic_config c;
    char err[96];

    (void)state;
    assert_int_equal(vmm_nic_parse("virtio,mtu=1500,net=42", 0, &c, err, sizeof(err)), 0);
    assert_int_equal(c.mtu, 1500);
    assert_string_equal(c.net, "42");
    assert_int_equal(vmm_nic_parse("virtio mtu 576", 0, &c, err, sizeof(err)), 0);
    assert_int_equal(c.mtu, VMM_NIC_MTU_MIN);
    assert_int_equal(vmm_nic_parse("rtl8139,mtu=01400", 0, &c, err, sizeof(err)), 0);
    assert_int_equal(c.mtu, 1400);
    /* The reason names the range and the value. */
    assert_int_equal(vmm_nic_parse("virtio,mtu=9000", 0, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "576..1500"));
    assert_non_null(strstr(err, "'9000'"));
    assert_int_equal(vmm_nic_parse("virtio,mtu=big", 0, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'big'"));
}

/* The port MTU: the setting wins; virtio takes the network's (a VXLAN network's 1450) within
 * 68..1500; the models that cannot tell their guest stay at 1500. */
static void test_mtu_choice(void **state)
{
    struct vmm_nic_config c;

    (void)state;
    assert_int_equal(vmm_nic_parse("virtio", 0, &c, NULL, 0), 0);
    assert_true(vmm_nic_model_tells_mtu(c.model));
    assert_int_equal(vmm_nic_mtu(&c, 1500), 1500);
    assert_int_equal(vmm_nic_mtu(&c, 1450), 1450);
    assert_int_equal(vmm_nic_mtu(&c, 9000), VMM_NIC_MTU_MAX);
    assert_int_equal(vmm_nic_mtu(&c, 40), VMM_NIC_MTU_FLOOR);
    assert_int_equal(vmm_nic_mtu(&c, 0), VMM_NIC_MTU_FLOOR);
    assert_int_equal(vmm_nic_parse("virtio,mtu=1500", 0, &c, NULL, 0), 0);
    assert_int_equal(vmm_nic_mtu(&c, 1450), 1500);
    assert_int_equal(vmm_nic_parse("virtio,mtu=1000", 0, &c, NULL, 0), 0);
    assert_int_equal(vmm_nic_mtu(&c, 1450), 1000);
    for (int m = VMM_NIC_RTL8139; m <= VMM_NIC_NE2K; m++) {
        assert_int_equal(vmm_nic_parse(vmm_nic_model_name((enum vmm_nic_model)m), 0, &c, NULL, 0),
                         0);
        assert_false(vmm_nic_model_tells_mtu(c.model));
        assert_int_equal(vmm_nic_mtu(&c, 1450), 1500);
    }
    /* Told by DHCP option 26, say: the operator sets the port to match. */
    assert_int_equal(vmm_nic_parse("ne2k,mtu=1450", 0, &c, NULL, 0), 0);
    assert_int_equal(vmm_nic_mtu(&c, 1500), 1450);
}

static void test_default_mac(void **state)
{
    uint8_t m[6];

    (void)state;
    vmm_nic_default_mac(7, 1, m);
    assert_int_equal(m[0], 0x52);
    assert_int_equal(m[1], 0x54);
    assert_int_equal(m[2], 0x00);
    assert_int_equal(m[4], 7);
    assert_int_equal(m[5], 1);
    assert_int_equal(m[0] & 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),   cmocka_unit_test(test_keys),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_mtu_setting),
        cmocka_unit_test(test_mtu_choice), cmocka_unit_test(test_default_mac),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
