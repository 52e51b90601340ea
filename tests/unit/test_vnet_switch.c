/* Unit tests for the VNET switch core (vnet/switch.c, vnet/port.c): port rules, the learning
 * bridge (learning, unicast, flooding, unknown unicast, networks, MAC moves, aging with a fake
 * clock, table-full eviction), the loop rule, frame size checks, counters, the edge's
 * promiscuous mode, re-entrant tx callbacks and the nesting limit; offloads (vnet_input_off):
 * super-frames whole to TSO4 ports and cut into checked segments for the others (links too),
 * flooding to both kinds, partial and VALID checksums, bad metadata, egress size checks,
 * capture, and segments still intact while a tx callback re-enters the switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test_vnet_fake.h"
#include "../../kernel/lib/netcsum.h"

#define SEC 1000000000ull

static int setup(void **state)
{
    struct vnet_switch *sw = fk_switch(0, 0);

    if (sw == NULL) {
        return -1;
    }
    log_set_level(LOG_COMP_VNET, LOG_LVL_TRACE); /* run every log line under the sanitizers */
    *state = sw;
    return 0;
}

static int teardown(void **state)
{
    vnet_switch_destroy(*state);
    log_set_level(LOG_COMP_VNET, LOG_LVL_INFO);
    return fk_live == 0 ? 0 : -1;
}

/* ---- creation and ports ------------------------------------------------------------------ */

static void test_create(void **state)
{
    struct vnet_config bad = {.mac_table_size = VNET_MACS_MAX + 1};
    struct vnet_config bad_aging = {.aging_s = VNET_AGING_MAX_S + 1};
    struct vnet_switch *sw = NULL;
    struct vnet_stats st;

    (void)state;
    fk_reset();
    vnet_host_set(NULL);
    assert_int_equal(vnet_switch_create(NULL, &sw), -EINVAL);
    assert_null(sw);
    vnet_host_set(&fk_host);
    assert_int_equal(vnet_switch_create(&bad, &sw), -EINVAL);
    assert_int_equal(vnet_switch_create(&bad_aging, &sw), -EINVAL);
    assert_int_equal(vnet_switch_create(NULL, &sw), 0);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_capacity, VNET_MACS_DEFAULT);
    assert_int_equal(st.aging_s, VNET_AGING_DEFAULT_S);
    assert_int_equal(st.ports, 0);
    assert_null(vnet_default());
    vnet_set_default(sw);
    assert_ptr_equal(vnet_default(), sw);
    vnet_switch_destroy(sw); /* clears the default */
    assert_null(vnet_default());
    vnet_switch_destroy(NULL);
    assert_int_equal(fk_live, 0);
}

static void test_port_add_rules(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a;
    struct fk_port b;
    struct vnet_port *p;
    const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1};
    const uint8_t zero[6] = {0};
    static const char *const bad_names[] = {"", "has space", "a/b", "x\ty",
                                            "0123456789012345678901234567890123"};
    struct vnet_port_config cfg = {.name = "x", .kind = VNET_PORT_VNIC, .tx = fk_tx, .ctx = &a};

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        cfg.name = bad_names[i];
        assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
        assert_null(p);
    }
    cfg.name = NULL;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.name = "x";
    cfg.kind = VNET_PORT_LINK;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.kind = (enum vnet_port_kind)17;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.kind = VNET_PORT_EDGE;
    cfg.mac = (const uint8_t[6]){0x52, 0x54, 0, 0, 0, 1};
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL); /* MACs are for vnic/local */
    cfg.kind = VNET_PORT_VNIC;
    cfg.mac = mcast;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.mac = zero;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.mac = NULL;
    cfg.tx = NULL;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.tx = fk_tx;
    cfg.mtu = VNET_MTU_MIN - 1;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);
    cfg.mtu = VNET_MTU_MAX + 1;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL);

    assert_int_equal(fk_add(sw, &a, "linux.eth0", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &b, "linux.eth0", VNET_PORT_VNIC, 2, 0), -EEXIST);
    /* The same MAC in the same network is refused, in another network it is fine. */
    assert_int_equal(fk_add(sw, &b, "other", VNET_PORT_VNIC, 1, 0), -EEXIST);
    assert_int_equal(fk_add(sw, &b, "other", VNET_PORT_VNIC, 1, 5), 0);
    assert_int_equal(vnet_port_set_network(b.port, 0), -EEXIST);
    assert_int_equal(vnet_port_set_network(b.port, 6), 0);

    assert_ptr_equal(vnet_port_find(sw, "linux.eth0"), a.port);
    assert_null(vnet_port_find(sw, "nope"));
    assert_null(vnet_port_find(sw, NULL));
    assert_ptr_equal(vnet_port_by_id(sw, vnet_port_id(b.port)), b.port);
    assert_string_equal(vnet_port_name(a.port), "linux.eth0");
    assert_int_equal(vnet_port_kind(a.port), VNET_PORT_VNIC);
    assert_ptr_equal(vnet_port_switch(a.port), sw);
    assert_ptr_equal(vnet_port_ctx(a.port), &a);
    assert_int_equal(vnet_port_set_mtu(a.port, 50), -EINVAL);
    assert_int_equal(vnet_port_set_mtu(a.port, 9000), 0);
    assert_string_equal(vnet_port_kind_name(VNET_PORT_LOCAL), "local");
    assert_string_equal(vnet_port_kind_name((enum vnet_port_kind)99), "?");
    assert_string_equal(vnet_drop_name(VNET_DROP_SAME_PORT), "same_port");
    assert_string_equal(vnet_drop_name(VNET_DROP_COUNT), "?");

    /* Ids are never reused. */
    uint32_t old = vnet_port_id(b.port);

    assert_int_equal(vnet_port_del(b.port), 0);
    assert_int_equal(fk_add(sw, &b, "other", VNET_PORT_VNIC, 0, 0), 0);
    assert_true(vnet_port_id(b.port) > old);
    assert_int_equal(vnet_port_del(NULL), -EINVAL);
}

static void test_port_limit(void **state)
{
    struct vnet_switch *sw = *state;
    static struct fk_port ports[VNET_PORTS_MAX + 1];
    struct vnet_port_info *info = calloc(VNET_PORTS_MAX, sizeof(*info));
    char name[16];

    assert_non_null(info);
    for (int i = 0; i < VNET_PORTS_MAX; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(fk_add(sw, &ports[i], name, VNET_PORT_VNIC, 0, 0), 0);
    }
    assert_int_equal(fk_add(sw, &ports[VNET_PORTS_MAX], "last", VNET_PORT_VNIC, 0, 0), -ENOSPC);
    assert_int_equal(vnet_port_list(sw, info, VNET_PORTS_MAX), VNET_PORTS_MAX);
    assert_string_equal(info[0].name, "p0");
    assert_string_equal(info[VNET_PORTS_MAX - 1].name, "p63");
    assert_int_equal(vnet_port_list(sw, info, 3), 3);
    free(info);
}

/* ---- learning bridge ------------------------------------------------------------------ */

static void test_learn_and_unicast(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c;
    uint8_t f[100];
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_VNIC, 0, 0), 0);
    /* a -> b, b unknown: flooded to b and c. */
    fk_frame_ids(f, 2, 1, 60);
    assert_int_equal(vnet_input(a.port, f, 60), 2);
    assert_int_equal(a.frames, 0);
    assert_int_equal(b.frames, 1);
    assert_int_equal(c.frames, 1);
    assert_memory_equal(b.last, f, 60);
    /* b -> a: a was learned, so only a gets it. */
    fk_frame_ids(f, 1, 2, 70);
    assert_int_equal(vnet_input(b.port, f, 70), 1);
    assert_int_equal(a.frames, 1);
    assert_int_equal(a.last_len, 70);
    assert_int_equal(c.frames, 1);
    /* a -> b again: b is known now. */
    fk_frame_ids(f, 2, 1, 80);
    assert_int_equal(vnet_input(a.port, f, 80), 1);
    assert_int_equal(b.frames, 2);
    assert_int_equal(c.frames, 1);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.frames, 3);
    assert_int_equal(st.flooded, 1);
    assert_int_equal(st.unknown_unicast, 1);
    assert_int_equal(st.bridged, 2);
    assert_int_equal(st.mac_learned, 2);
    assert_int_equal(st.macs, 2);
    assert_true(fk_log_has("learned on a"));
}

static void test_static_mac(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port edge, vm, local;
    uint8_t f[64];
    struct vnet_stats st;
    struct vnet_mac_info macs[8];

    assert_int_equal(fk_add(sw, &edge, "edge", VNET_PORT_EDGE, 0, 0), 0);
    assert_int_equal(fk_add(sw, &vm, "linux.eth0", VNET_PORT_VNIC, 0x10, 0), 0);
    assert_int_equal(fk_add(sw, &local, "local", VNET_PORT_LOCAL, 0x20, 0), 0);
    /* The guest's MAC is known before the guest sent anything. */
    fk_frame_ids(f, 0x10, 0x99, 64);
    assert_int_equal(vnet_input(edge.port, f, 64), 1);
    assert_int_equal(vm.frames, 1);
    assert_int_equal(local.frames, 0);
    /* A frame on the wire claiming the guest's MAC does not steal it. */
    fk_frame_ids(f, 0x20, 0x10, 64);
    assert_int_equal(vnet_input(edge.port, f, 64), 1);
    assert_int_equal(local.frames, 1);
    fk_frame_ids(f, 0x10, 0x20, 64);
    assert_int_equal(vnet_input(local.port, f, 64), 1);
    assert_int_equal(vm.frames, 2);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_conflicts, 1);
    assert_int_equal(st.mac_moved, 0);
    assert_int_equal(vnet_mac_list(sw, macs, 8), 3);
    /* Flushing keeps the static entries. */
    vnet_mac_flush(sw);
    assert_int_equal(vnet_mac_list(sw, macs, 8), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(macs[i].is_static);
        assert_int_equal(macs[i].age_s, 0);
    }
    /* Deleting the port removes its MAC: frames to it flood. */
    assert_int_equal(vnet_port_del(vm.port), 0);
    assert_int_equal(vnet_mac_list(sw, macs, 8), 1);
    fk_frame_ids(f, 0x10, 0x99, 64);
    assert_int_equal(vnet_input(edge.port, f, 64), 1); /* flooded: only local is left */
    assert_int_equal(local.frames, 2);
}

static void test_flood_broadcast_multicast_networks(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c, other;
    uint8_t f[64];
    const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    const uint8_t src[6] = {0x52, 0x54, 0, 0, 0, 1};

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 2, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_EDGE, 0, 0), 0);
    assert_int_equal(fk_add(sw, &other, "other", VNET_PORT_VNIC, 4, 7), 0);
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 2);
    fk_frame(f, mc, src, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 2);
    assert_int_equal(a.frames, 0);
    assert_int_equal(b.frames, 2);
    assert_int_equal(c.frames, 2);
    assert_int_equal(other.frames, 0); /* another network */
    /* A known MAC in another network is unknown here: it floods network 0 only. */
    fk_frame_ids(f, 4, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 2);
    assert_int_equal(other.frames, 0);
    /* The lone port of network 7 has nobody to flood to. */
    fk_frame_ids(f, 0xff, 4, 64);
    assert_int_equal(vnet_input(other.port, f, 64), 0);
    assert_int_equal(fk_drops(other.port, VNET_DROP_NO_DEST), 1);
}

static void test_loop_rule(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port p[5];
    uint8_t f[128];
    uint32_t seed = 12345;
    char name[16];

    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(
            fk_add(sw, &p[i], name, i == 0 ? VNET_PORT_EDGE : VNET_PORT_VNIC, 0, (uint32_t)i % 2),
            0);
    }
    /* Random traffic between 8 stations that wander between ports: the ingress port never
     * receives the frame it sent. */
    for (int n = 0; n < 3000; n++) {
        seed = seed * 1103515245u + 12345u;
        int in = (int)((seed >> 8) % 5);
        uint8_t src = (uint8_t)(1 + ((seed >> 12) % 8));
        uint8_t dst = ((seed >> 16) % 9) == 8 ? 0xff : (uint8_t)(1 + ((seed >> 20) % 8));
        unsigned before = p[in].frames;

        fk_frame_ids(f, dst, src, 60 + (seed >> 24) % 60);
        (void)vnet_input(p[in].port, f, 60 + (seed >> 24) % 60);
        assert_int_equal(p[in].frames, before);
        fk_now += SEC / 10;
    }
    /* A destination learned on the ingress port is filtered. */
    fk_frame_ids(f, 0xff, 0x31, 60);
    assert_int_equal(vnet_input(p[1].port, f, 60), 1);
    uint64_t same = fk_drops(p[1].port, VNET_DROP_SAME_PORT);

    fk_frame_ids(f, 0x31, 0x32, 60);
    assert_int_equal(vnet_input(p[1].port, f, 60), 0);
    assert_int_equal(fk_drops(p[1].port, VNET_DROP_SAME_PORT), same + 1);
}

static void test_mac_move(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c;
    uint8_t f[64];
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_EDGE, 0, 0), 0);
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(a.port, f, 64);
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    assert_int_equal(a.frames, 1);
    /* Station 0x0a shows up on c: re-learned there. */
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(c.port, f, 64);
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    assert_int_equal(a.frames, 2); /* the broadcast from c */
    assert_int_equal(c.frames, 2); /* first broadcast + the unicast */
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_moved, 1);
    assert_true(fk_log_has("moved to c"));
}

static void test_aging(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c;
    uint8_t f[64];
    struct vnet_stats st;
    struct vnet_mac_info mi[4];

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(a.port, f, 64);
    fk_now += 299 * SEC;
    assert_int_equal(vnet_mac_list(sw, mi, 4), 1);
    assert_int_equal(mi[0].age_s, 299);
    assert_string_equal(mi[0].port, "a");
    assert_int_equal(mi[0].port_id, vnet_port_id(a.port));
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1); /* still known */
    fk_now += SEC;
    vnet_tick(sw);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_aged, 1);
    assert_int_equal(st.macs, 1);                   /* 0x0b, learned a second ago */
    assert_int_equal(vnet_input(b.port, f, 64), 2); /* unknown again: flooded */
    /* A shorter aging time. */
    assert_int_equal(vnet_set_aging(sw, 0), -EINVAL);
    assert_int_equal(vnet_set_aging(sw, VNET_AGING_MAX_S + 1), -EINVAL);
    assert_int_equal(vnet_set_aging(sw, 5), 0);
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(a.port, f, 64);
    fk_now += 4 * SEC;
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    fk_now += 1 * SEC;
    assert_int_equal(vnet_input(b.port, f, 64), 2);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.aging_s, 5);
}

/* The frame path's per-port caches (last source learned, last destination and its port) must
 * follow every change: a deleted port, a station moving, an entry aging out, a port changing
 * networks. Under ASan a cached pointer to a deleted port would be a use after free. */
static void test_caches_follow_changes(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c, d;
    struct vnet_port *del;
    uint8_t f[64];
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(a.port, f, 64);
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    for (int i = 0; i < 3; i++) { /* fills b's caches, then uses them */
        assert_int_equal(vnet_input(b.port, f, 64), 1);
    }
    assert_int_equal(a.frames, 3);
    assert_int_equal(c.frames, 1); /* only the broadcast */
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_learned, 2);
    assert_int_equal(st.mac_moved, 0);

    /* The destination's port goes: unknown again (flooded to c), no stale pointer. */
    del = a.port;
    assert_int_equal(vnet_port_del(del), 0);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    assert_int_equal(c.frames, 2);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.unknown_unicast, 1);

    /* The station comes back on a new port d, then moves to c. */
    assert_int_equal(fk_add(sw, &d, "d", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(d.port, f, 64);
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    assert_int_equal(d.frames, 1);
    fk_frame_ids(f, 0x0b, 0x0a, 64);
    assert_int_equal(vnet_input(c.port, f, 64), 1); /* 0x0a now on c; to b */
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 1);
    assert_int_equal(d.frames, 1);
    assert_int_equal(c.frames, 4); /* flood + broadcast + this unicast */
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_moved, 1);

    /* b's own source moves to d and back: both moves counted, though b's source hint holds. */
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    vnet_input(d.port, f, 64);
    vnet_input(b.port, f, 64);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_moved, 3);

    /* Everything ages out: the cached destination is unknown again, the cached source is a
     * new station (learned again, the old entry counted aged). */
    fk_now += 300 * SEC;
    assert_int_equal(vnet_input(b.port, f, 64), 2); /* flooded to c and d */
    vnet_stats_get(sw, &st);
    assert_int_equal(st.mac_aged, 2);
    assert_int_equal(st.unknown_unicast, 2);
    assert_int_equal(st.mac_learned, 4); /* 0x0a on a, 0x0b, 0x0a on d, 0x0b again */

    /* b moves to network 1, where 0x0a is unknown and nobody else is. */
    fk_frame_ids(f, 0xff, 0x0a, 64);
    vnet_input(c.port, f, 64);
    assert_int_equal(vnet_port_set_network(b.port, 1), 0);
    fk_frame_ids(f, 0x0a, 0x0b, 64);
    assert_int_equal(vnet_input(b.port, f, 64), 0);
    assert_int_equal(fk_drops(b.port, VNET_DROP_NO_DEST), 1);
}

static void test_table_full(void **state)
{
    struct vnet_switch *sw;
    struct fk_port a, b;
    uint8_t f[64];
    struct vnet_stats st;

    (void)state;
    vnet_switch_destroy(*state); /* this test wants a small table */
    sw = fk_switch(4, 0);
    *state = sw;
    assert_non_null(sw);
    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    for (uint8_t s = 1; s <= 6; s++) {
        fk_frame_ids(f, 0xff, s, 64);
        vnet_input(a.port, f, 64);
        fk_now += SEC;
    }
    vnet_stats_get(sw, &st);
    assert_int_equal(st.macs, 4);
    assert_int_equal(st.mac_evicted, 2);
    /* Stations 1 and 2 (the oldest) were evicted: frames to them flood, to 6 do not. */
    fk_frame_ids(f, 1, 0x40, 64);
    unsigned before = a.frames;

    vnet_input(b.port, f, 64);
    assert_int_equal(a.frames, before + 1);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.unknown_unicast, 1);
    fk_frame_ids(f, 6, 0x40, 64);
    vnet_input(b.port, f, 64);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.unknown_unicast, 1);
    assert_int_equal(st.bridged, 1);
}

/* ---- frame checks and counters ------------------------------------------------------------ */

static void test_runts_giants(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, jumbo;
    static uint8_t f[9100];
    struct vnet_port_info info;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame_ids(f, 0xff, 1, 1600);
    for (size_t len = 0; len < 14; len++) {
        assert_int_equal(vnet_input(a.port, f, len), -EINVAL);
    }
    assert_int_equal(vnet_input(a.port, NULL, 100), -EINVAL);
    assert_int_equal(vnet_input(NULL, f, 100), -EINVAL);
    assert_int_equal(fk_drops(a.port, VNET_DROP_RUNT), 15);
    assert_int_equal(vnet_input(a.port, f, 14), 1); /* a bare header is a frame */
    assert_int_equal(vnet_input(a.port, f, 1514), 1);
    assert_int_equal(vnet_input(a.port, f, 1515), -EMSGSIZE);
    assert_int_equal(vnet_input(a.port, f, 1518), -EMSGSIZE);
    /* One VLAN tag's allowance. */
    f[12] = 0x81;
    f[13] = 0x00;
    assert_int_equal(vnet_input(a.port, f, 1518), 1);
    assert_int_equal(vnet_input(a.port, f, 1519), -EMSGSIZE);
    assert_int_equal(fk_drops(a.port, VNET_DROP_GIANT), 3);
    assert_int_equal(b.frames, 3);
    /* A jumbo port's frame is too big for b on the way out. */
    f[12] = 0x08;
    assert_int_equal(vnet_port_set_mtu(a.port, 9000), 0);
    assert_int_equal(fk_add(sw, &jumbo, "j", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(vnet_port_set_mtu(jumbo.port, 9000), 0);
    assert_int_equal(vnet_input(a.port, f, 9014), 1);
    assert_int_equal(jumbo.frames, 1);
    assert_int_equal(jumbo.last_len, 9014);
    assert_int_equal(fk_drops(b.port, VNET_DROP_TOO_BIG), 1);
    assert_int_equal(vnet_input(a.port, f, 9015), -EMSGSIZE);
    vnet_port_info(a.port, &info);
    assert_int_equal(info.c.rx_packets, 23);
}

static void test_bad_source(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b;
    uint8_t f[64];
    const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t mc[6] = {0x01, 0, 0x5e, 0, 0, 1};
    const uint8_t zero[6] = {0};
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame(f, bc, bc, 64);
    assert_int_equal(vnet_input(a.port, f, 64), -EINVAL);
    fk_frame(f, bc, mc, 64);
    assert_int_equal(vnet_input(a.port, f, 64), -EINVAL);
    fk_frame(f, bc, zero, 64);
    assert_int_equal(vnet_input(a.port, f, 64), -EINVAL);
    assert_int_equal(fk_drops(a.port, VNET_DROP_BAD_SRC), 3);
    assert_int_equal(b.frames, 0);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.macs, 0); /* nothing learned from them */
    assert_int_equal(st.dropped, 3);
}

static void test_counters_and_tx_errors(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c;
    uint8_t f[100];
    struct vnet_port_info ia, ib, ic;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "c", VNET_PORT_VNIC, 0, 0), 0);
    fk_frame_ids(f, 0xff, 1, 100);
    assert_int_equal(vnet_input(a.port, f, 100), 2);
    b.rc = -EAGAIN;
    c.rc = -EIO;
    assert_int_equal(vnet_input(a.port, f, 60), 0); /* nobody took it */
    b.rc = 0;
    assert_int_equal(vnet_input(a.port, f, 60), 1);
    vnet_port_info(a.port, &ia);
    vnet_port_info(b.port, &ib);
    vnet_port_info(c.port, &ic);
    assert_int_equal(ia.c.rx_packets, 3);
    assert_int_equal(ia.c.rx_bytes, 220);
    assert_int_equal(ia.c.tx_packets, 0);
    assert_int_equal(ib.c.tx_packets, 2);
    assert_int_equal(ib.c.tx_bytes, 160);
    assert_int_equal(ib.c.drops[VNET_DROP_TX_BUSY], 1);
    assert_int_equal(ic.c.tx_packets, 1);
    assert_int_equal(ic.c.drops[VNET_DROP_TX_ERROR], 2);
    assert_int_equal(ia.kind, VNET_PORT_VNIC);
    assert_string_equal(ia.name, "a");
    assert_int_equal(ia.mtu, 1500);
    assert_false(ia.has_mac);
}

/* ---- the edge's promiscuous mode ----------------------------------------------------------- */

static void test_promisc(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port edge, local, v1, v2, v3;
    struct vnet_port_info info;

    assert_int_equal(fk_add(sw, &edge, "edge", VNET_PORT_EDGE, 0, 0), 0);
    assert_int_equal(fk_add(sw, &local, "local", VNET_PORT_LOCAL, 0x20, 0), 0);
    assert_int_equal(edge.promisc_calls, 0); /* the appliance alone needs no promiscuity */
    assert_int_equal(fk_add(sw, &v3, "other.eth0", VNET_PORT_VNIC, 3, 1), 0);
    assert_int_equal(edge.promisc_calls, 0); /* another network */
    assert_int_equal(fk_add(sw, &v1, "a.eth0", VNET_PORT_VNIC, 1, 0), 0);
    assert_true(edge.promisc);
    assert_int_equal(edge.promisc_calls, 1);
    assert_true(fk_log_has("edge: promiscuous mode on"));
    vnet_port_info(edge.port, &info);
    assert_true(info.promisc);
    assert_int_equal(fk_add(sw, &v2, "b.eth0", VNET_PORT_VNIC, 2, 0), 0);
    assert_int_equal(edge.promisc_calls, 1);
    assert_int_equal(vnet_port_del(v1.port), 0);
    assert_true(edge.promisc);
    assert_int_equal(vnet_port_del(v2.port), 0);
    assert_false(edge.promisc);
    assert_int_equal(edge.promisc_calls, 2);
    /* Moving a guest into the edge's network. */
    assert_int_equal(vnet_port_set_network(v3.port, 0), 0);
    assert_true(edge.promisc);
    assert_int_equal(vnet_port_set_network(v3.port, 2), 0);
    assert_false(edge.promisc);
    assert_int_equal(vnet_port_set_network(v3.port, 0), 0);
    assert_int_equal(edge.promisc_calls, 5);
    /* Deleting the edge hands the NIC back non-promiscuous. */
    assert_int_equal(vnet_port_del(edge.port), 0);
    assert_false(edge.promisc);
    assert_int_equal(edge.promisc_calls, 6);
}

/* ---- re-entrancy ------------------------------------------------------------------------------ */

static int g_add_rc;
static struct vnet_switch *g_sw;

static int tx_adds_port(struct vnet_port *port, const void *frame, size_t len)
{
    struct fk_port extra;

    (void)port;
    (void)frame;
    (void)len;
    g_add_rc = fk_add(g_sw, &extra, "extra", VNET_PORT_VNIC, 0, 0);
    return 0;
}

static int tx_reinjects(struct vnet_port *port, const void *frame, size_t len)
{
    struct vnet_port *back = vnet_port_ctx(port);

    (void)vnet_input(back, frame, len);
    return 0;
}

static void test_reentry(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, local;
    struct vnet_port *weird;
    struct vnet_port_config cfg = {.name = "weird", .kind = VNET_PORT_VNIC, .tx = tx_adds_port};
    uint8_t f[64];
    char err[128];
    struct vnet_route r;

    /* lwIP answers inside its tx callback: the answer goes out at once. */
    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &local, "local", VNET_PORT_LOCAL, 2, 0), 0);
    local.reenter_port = local.port;
    fk_frame_ids(f, 2, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 1);
    assert_int_equal(local.frames, 1);
    /* The reply (2 -> 1) entered on local during local's tx and went straight to a. */
    assert_int_equal(a.frames, 1);
    assert_memory_equal(a.last, f + 6, 6);
    /* Ports cannot change from inside a callback. */
    g_sw = sw;
    assert_int_equal(vnet_port_add(sw, &cfg, &weird), 0);
    fk_frame_ids(f, 0xff, 1, 64);
    vnet_input(a.port, f, 64);
    assert_int_equal(g_add_rc, -EBUSY);
    assert_int_equal(vnet_port_del(weird), 0);
    /* A loop through the host stops at the nesting limit. */
    struct vnet_port *x;
    struct vnet_port *y;
    struct vnet_port_config cx = {.name = "x", .kind = VNET_PORT_VNIC, .tx = tx_reinjects};
    struct fk_port fy;

    assert_int_equal(fk_add(sw, &fy, "y", VNET_PORT_VNIC, 0, 5), 0);
    y = fy.port;
    cx.ctx = y;
    cx.network = 5;
    assert_int_equal(vnet_port_add(sw, &cx, &x), 0);
    assert_int_equal(vnet_route_parse("from y port x", &r, err, sizeof(err)), 0);
    assert_int_equal(vnet_route_add(sw, &r, -1, NULL, err, sizeof(err)), 0);
    fk_frame_ids(f, 0xff, 9, 64);
    assert_int_equal(vnet_input(y, f, 64), 1);
    assert_int_equal(fk_drops(y, VNET_DROP_DEPTH), 1);
    struct vnet_port_info info;

    vnet_port_info(y, &info);
    assert_int_equal(info.c.rx_packets, VNET_DEPTH_MAX + 1);
}

/* ---- offloads ---------------------------------------------------------------------------- */

#define OFF_SEQ0 0x01020304u
#define REC_MAX  64

/* A port that records each frame its tx (or tx_off) takes: length, metadata, whether its TCP
 * checksum is right, its TCP sequence number, and a copy of the last one. */
struct rec {
    struct vnet_port *port;
    int rc;           /* what tx returns ... */
    unsigned fail_at; /* ... only on this call (1-based), when not 0 */
    unsigned n;
    size_t len[REC_MAX];
    bool has_off[REC_MAX];
    struct netoff off[REC_MAX];
    bool csum_ok[REC_MAX];
    uint32_t seq[REC_MAX];
    size_t last_len;
    uint8_t last[NETOFF_FRAME_MAX];
    /* On its first frame, tx first sends `nested` in on `reenter` (and only then looks at its
     * own frame, which must still be intact). */
    struct vnet_port *reenter;
    const uint8_t *nested;
    size_t nested_len;
    const struct netoff *nested_off;
    int nested_rc;
};

static struct rec g_rec[6];

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int rec_take(struct rec *r, const void *frame, size_t len, const struct netoff *off)
{
    unsigned i;

    if (r->reenter != NULL) {
        struct vnet_port *p = r->reenter;

        r->reenter = NULL;
        r->nested_rc = vnet_input_off(p, r->nested, r->nested_len, r->nested_off);
    }
    i = r->n++;
    if (i < REC_MAX) {
        r->len[i] = len;
        r->has_off[i] = off != NULL;
        if (off != NULL) {
            r->off[i] = *off;
        }
        r->csum_ok[i] = netcsum_ipv4_l4_valid(frame, len);
        r->seq[i] = len >= 54 ? get32((const uint8_t *)frame + 38) : 0;
    }
    r->last_len = len;
    if (len <= sizeof(r->last)) {
        memcpy(r->last, frame, len);
    }
    if (r->fail_at != 0 && r->n != r->fail_at) {
        return 0;
    }
    return r->rc;
}

static int rec_tx(struct vnet_port *port, const void *frame, size_t len)
{
    return rec_take(vnet_port_ctx(port), frame, len, NULL);
}

static int rec_tx_off(struct vnet_port *port, const void *frame, size_t len,
                      const struct netoff *off)
{
    return rec_take(vnet_port_ctx(port), frame, len, off);
}

/* Adds a recording port: with tx_off and `caps` when off is true, else a plain tx. */
static int rec_add(struct vnet_switch *sw, struct rec *r, const char *name,
                   enum vnet_port_kind kind, uint8_t mac_last, bool off, unsigned caps)
{
    uint8_t mac[VNET_MAC_LEN];
    struct vnet_port_config cfg = {
        .name = name,
        .kind = kind,
        .tx = off ? NULL : rec_tx,
        .tx_off = off ? rec_tx_off : NULL,
        .offloads = caps,
        .ctx = r,
    };

    memset(r, 0, sizeof(*r));
    if (mac_last != 0) {
        fk_mac(mac, mac_last);
        cfg.mac = mac;
    }
    return vnet_port_add(sw, &cfg, &r->port);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An Ethernet + IPv4 + TCP (ACK|PSH) frame 52:54:00:00:00:<src> -> <dst> (0xff: broadcast)
 * with `payload` bytes: IP header checksum complete, TCP checksum partial (the pseudo-header
 * sum, as a sender leaving it to the NIC stores it). Returns the length; *cs = TCP offset. */
static size_t tcp_frame(uint8_t *f, uint8_t dst, uint8_t src, size_t payload, size_t *cs)
{
    uint8_t *ip = f + 14;
    uint8_t *tcp = ip + 20;
    size_t l4len = 20 + payload;
    uint16_t c;

    fk_frame_ids(f, dst, src, 14);
    memset(ip, 0, 40);
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + l4len));
    put16(ip + 4, 0x1234);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    netcsum_ipv4_hdr_fill(ip, 20);
    put16(tcp, 40000);
    put16(tcp + 2, 5001);
    put16(tcp + 4, OFF_SEQ0 >> 16);
    put16(tcp + 6, OFF_SEQ0 & 0xFFFF);
    tcp[12] = 5 << 4;
    tcp[13] = 0x18;
    put16(tcp + 14, 65535);
    for (size_t i = 0; i < payload; i++) {
        tcp[20 + i] = (uint8_t)(i * 13 + 5);
    }
    c = inet_csum_fold(netcsum_pseudo4(ip, 6, l4len));
    memcpy(tcp + 16, &c, 2);
    *cs = 34;
    return 54 + payload;
}

static struct netoff gso_meta(size_t cs, unsigned mss)
{
    struct netoff o = {.gso = NETOFF_GSO_TCPV4,
                       .csum = NETOFF_CSUM_PARTIAL,
                       .gso_size = (uint16_t)mss,
                       .csum_start = (uint16_t)cs,
                       .csum_off = 16};

    return o;
}

static struct vnet_port_counters counters(const struct vnet_port *p)
{
    struct vnet_port_info info;

    vnet_port_info(p, &info);
    return info.c;
}

/* The 4000-byte super-frame cut at 1448: three segments. */
static void assert_three_segments(const struct rec *r, unsigned first)
{
    static const size_t lens[3] = {54 + 1448, 54 + 1448, 54 + 1104};

    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r->len[first + i], lens[i]);
        assert_false(r->has_off[first + i]);
        assert_true(r->csum_ok[first + i]);
        assert_int_equal(r->seq[first + i], OFF_SEQ0 + i * 1448);
    }
}

static uint8_t g_big[NETOFF_FRAME_MAX];
static uint8_t g_big2[NETOFF_FRAME_MAX];

static void test_off_port_rules(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *r = &g_rec[0];
    struct vnet_port *p;
    struct vnet_port_info info;
    struct vnet_port_config cfg = {.name = "x", .kind = VNET_PORT_VNIC, .ctx = r};

    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL); /* neither tx nor tx_off */
    cfg.tx = rec_tx;
    cfg.offloads = NETOFF_CAP_CSUM;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL); /* offloads without tx_off */
    cfg.tx = NULL;
    cfg.tx_off = rec_tx_off;
    cfg.offloads = NETOFF_CAP_TSO4 | 0x80;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), -EINVAL); /* an unknown bit */
    cfg.offloads = NETOFF_CAP_TSO4 | NETOFF_CAP_CSUM;
    assert_int_equal(vnet_port_add(sw, &cfg, &p), 0); /* tx_off alone is enough */
    vnet_port_info(p, &info);
    assert_int_equal(info.offloads, NETOFF_CAP_TSO4 | NETOFF_CAP_CSUM);
    assert_int_equal(vnet_port_set_offloads(p, 0x8), -EINVAL);
    assert_int_equal(vnet_port_set_offloads(p, NETOFF_CAP_VALID | 0x100), -EINVAL);
    vnet_port_info(p, &info);
    assert_int_equal(info.offloads, NETOFF_CAP_TSO4 | NETOFF_CAP_CSUM); /* unchanged */
    assert_int_equal(vnet_port_set_offloads(p, NETOFF_CAP_VALID), 0);
    vnet_port_info(p, &info);
    assert_int_equal(info.offloads, NETOFF_CAP_VALID);
    assert_int_equal(vnet_port_set_offloads(p, 0), 0);
    assert_int_equal(vnet_port_set_offloads(NULL, 0), -EINVAL);
    /* A plain port takes no offloads, but may be told none. */
    assert_int_equal(rec_add(sw, &g_rec[1], "plain", VNET_PORT_VNIC, 0, false, 0), 0);
    assert_int_equal(vnet_port_set_offloads(g_rec[1].port, NETOFF_CAP_TSO4), -EINVAL);
    assert_int_equal(vnet_port_set_offloads(g_rec[1].port, NETOFF_CAP_CSUM), -EINVAL);
    assert_int_equal(vnet_port_set_offloads(g_rec[1].port, 0), 0);
}

static void test_off_gso_whole(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *t = &g_rec[1];
    struct rec *t4 = &g_rec[2];
    size_t cs;
    size_t len = tcp_frame(g_big, 2, 1, 4000, &cs);
    struct netoff off = gso_meta(cs, 1448);
    struct vnet_port_counters c;

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(
        rec_add(sw, t, "t", VNET_PORT_VNIC, 2, true, NETOFF_CAP_TSO4 | NETOFF_CAP_CSUM), 0);
    assert_int_equal(rec_add(sw, t4, "t4", VNET_PORT_VNIC, 3, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->len[0], len);
    assert_true(t->has_off[0]);
    assert_memory_equal(&t->off[0], &off, sizeof(off));
    assert_memory_equal(t->last, g_big, len);
    c = counters(s->port);
    assert_int_equal(c.rx_packets, 1);
    assert_int_equal(c.rx_bytes, len);
    assert_int_equal(c.gso_in, 1);
    c = counters(t->port);
    assert_int_equal(c.tx_packets, 1);
    assert_int_equal(c.tx_bytes, len);
    assert_int_equal(c.gso_split, 0);
    /* TSO4 alone takes the super-frame with its partial checksum too. */
    fk_frame_ids(g_big, 3, 1, 14);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(t4->n, 1);
    assert_true(t4->has_off[0]);
    assert_int_equal(t4->off[0].gso, NETOFF_GSO_TCPV4);
    assert_int_equal(counters(s->port).gso_in, 2);
    assert_int_equal(s->n, 0);
}

static void test_off_gso_split(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *p = &g_rec[1];
    struct rec *q = &g_rec[2];
    size_t cs;
    size_t len = tcp_frame(g_big, 2, 1, 4000, &cs);
    struct netoff off = gso_meta(cs, 1448);
    struct vnet_port_counters c;

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_VNIC, 2, false, 0), 0);
    assert_int_equal(
        rec_add(sw, q, "q", VNET_PORT_VNIC, 3, true, NETOFF_CAP_CSUM | NETOFF_CAP_VALID), 0);
    /* A plain port gets segments with complete checksums. */
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(p->n, 3);
    assert_three_segments(p, 0);
    c = counters(p->port);
    assert_int_equal(c.tx_packets, 3);
    assert_int_equal(c.tx_bytes, 2 * 1502 + 1158);
    assert_int_equal(c.gso_split, 1);
    assert_int_equal(c.csum_filled, 0);
    /* So does a tx_off port without TSO4, with no metadata. */
    fk_frame_ids(g_big, 3, 1, 14);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(q->n, 3);
    assert_three_segments(q, 0);
    assert_int_equal(counters(q->port).gso_split, 1);
    /* A tx error on the second segment stops the rest: one sent, one error, not delivered. */
    fk_frame_ids(g_big, 2, 1, 14);
    p->fail_at = p->n + 2;
    p->rc = -EIO;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 0);
    assert_int_equal(p->n, 5);
    c = counters(p->port);
    assert_int_equal(c.tx_packets, 4);
    assert_int_equal(c.drops[VNET_DROP_TX_ERROR], 1);
    assert_int_equal(c.gso_split, 2);
    /* Busy at once: nothing taken, nothing split. */
    p->fail_at = 0;
    p->rc = -EAGAIN;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 0);
    assert_int_equal(p->n, 6);
    c = counters(p->port);
    assert_int_equal(c.tx_packets, 4);
    assert_int_equal(c.drops[VNET_DROP_TX_BUSY], 1);
    assert_int_equal(c.gso_split, 2);
}

/* A VXLAN link "vx:a", VNI 7, to 10.0.0.2 (its datagrams go to fk_dgrams). */
static struct vnet_port *link_add(struct vnet_switch *sw)
{
    struct vnet_link_config lc;
    struct vnet_port *link = NULL;
    char err[128];

    memset(&lc, 0, sizeof(lc));
    strcpy(lc.name, "vx:a");
    lc.vni = 7;
    lc.remotes[0] = 0x0a000002;
    lc.nremotes = 1;
    assert_int_equal(vnet_link_add(sw, &lc, &link, err, sizeof(err)), 0);
    return link;
}

static void test_off_flood(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *t = &g_rec[1];
    struct rec *p = &g_rec[2];
    struct vnet_port *link;
    size_t cs;
    size_t len;
    struct netoff off;
    struct vnet_stats st;

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, t, "t", VNET_PORT_VNIC, 2, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_LOCAL, 3, false, 0), 0);
    link = link_add(sw);
    /* Unknown unicast and broadcast: the TSO port gets it whole, the plain port and the link
     * (which encapsulates plain frames only) get segments. */
    for (int round = 0; round < 2; round++) {
        len = tcp_frame(g_big, round == 0 ? 0x77 : 0xff, 1, 4000, &cs);
        off = gso_meta(cs, 1448);
        fk_ndgrams = 0;
        assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 3);
        assert_int_equal(t->n, round + 1);
        assert_int_equal(t->len[round], len);
        assert_true(t->has_off[round]);
        assert_int_equal(p->n, 3 * (round + 1));
        assert_three_segments(p, 3 * (unsigned)round);
        assert_int_equal(fk_ndgrams, 3);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(fk_dgrams[i].len, 8 + (i < 2 ? 1502 : 1158));
            assert_true(netcsum_ipv4_l4_valid(fk_dgrams[i].data + 8, fk_dgrams[i].len - 8));
        }
    }
    assert_int_equal(counters(link).gso_split, 2);
    assert_int_equal(counters(link).tx_packets, 6);
    assert_int_equal(counters(p->port).gso_split, 2);
    assert_int_equal(counters(t->port).gso_split, 0);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.flooded, 2);
    assert_int_equal(st.unknown_unicast, 1);
}

/* Segments a link brings are merged for a port that takes super-frames (held until
 * vnet_flush), handed on as they are to the others; other traffic to the port flushes first. */
static void test_off_gro_from_link(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *t = &g_rec[1];
    struct rec *p = &g_rec[2];
    struct fk_dgram d[3];
    size_t cs;
    size_t len;
    struct netoff off;

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, t, "t", VNET_PORT_VNIC, 2, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_LOCAL, 3, false, 0), 0);
    assert_non_null(link_add(sw));
    /* s sends a super-frame to 0x77 (unknown): the link carries it as three datagrams. */
    len = tcp_frame(g_big, 0x77, 1, 4000, &cs);
    off = gso_meta(cs, 1448);
    fk_ndgrams = 0;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 3);
    assert_int_equal(fk_ndgrams, 3);
    memcpy(d, fk_dgrams, sizeof(d));
    s->n = t->n = p->n = 0;
    /* The same segments come back in from the remote, to 0x77 still: flooded to the three
     * ports. The first two
     * are held for the TSO ports until vnet_flush; the plain port gets them at once. */
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(vnet_vxlan_demux(sw, 0x0a000002, d[i].sport, d[i].data, d[i].len), 3);
    }
    assert_int_equal(p->n, 2);
    assert_int_equal(t->n, 0);
    assert_int_equal(s->n, 0);
    vnet_flush(sw);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->len[0], 54 + 2 * 1448);
    assert_true(t->has_off[0]);
    assert_int_equal(t->off[0].gso, NETOFF_GSO_TCPV4);
    assert_int_equal(t->off[0].gso_size, 1448);
    assert_int_equal(t->seq[0], OFF_SEQ0);
    assert_int_equal(counters(t->port).gro_merged, 2);
    assert_int_equal(s->n, 1);
    vnet_flush(sw); /* nothing held: nothing more */
    assert_int_equal(t->n, 1);
    /* The last segment (PSH) alone: held and handed on at once, as it came. */
    assert_int_equal(vnet_vxlan_demux(sw, 0x0a000002, d[2].sport, d[2].data, d[2].len), 3);
    assert_int_equal(t->n, 2);
    assert_false(t->has_off[1]);
    assert_int_equal(t->len[1], 54 + 1104);
    /* All three: the PSH segment ends the merge, the super-frame goes out whole at once. */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(vnet_vxlan_demux(sw, 0x0a000002, d[i].sport, d[i].data, d[i].len), 3);
    }
    assert_int_equal(t->n, 3);
    assert_int_equal(t->len[2], len);
    assert_true(t->has_off[2]);
    assert_memory_equal(t->last + 54, g_big + 54, len - 54);
    assert_int_equal(counters(t->port).gro_merged, 5);
    /* A held segment goes out before a later frame from elsewhere to the same port. */
    assert_int_equal(vnet_vxlan_demux(sw, 0x0a000002, d[0].sport, d[0].data, d[0].len), 3);
    assert_int_equal(t->n, 3);
    len = tcp_frame(g_big, 2, 3, 100, &cs);
    assert_int_equal(vnet_input(p->port, g_big, len), 1);
    assert_int_equal(t->n, 5);
    assert_false(t->has_off[3]);
    assert_int_equal(t->len[3], 54 + 1448);
    assert_int_equal(t->len[4], len);
    /* Deleting a port hands on what it holds first. */
    assert_int_equal(s->n, 3);
    assert_int_equal(vnet_vxlan_demux(sw, 0x0a000002, d[1].sport, d[1].data, d[1].len), 3);
    assert_int_equal(s->n, 3); /* s holds the first segment still; the second joined it */
    assert_int_equal(vnet_port_del(s->port), 0);
    assert_int_equal(s->n, 4);
    assert_true(s->has_off[3]);
    assert_int_equal(s->len[3], 54 + 2 * 1448);
}

static void test_off_bad_metadata(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *p = &g_rec[1];
    size_t cs;
    size_t len = tcp_frame(g_big, 2, 1, 4000, &cs);
    struct netoff off;
    struct vnet_port_counters c;
    struct vnet_stats st;

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_EDGE, 0, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_VNIC, 2, false, 0), 0);
    off = gso_meta(cs, 1448);
    off.csum = NETOFF_CSUM_NONE;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    off = gso_meta(cs, 1461); /* segments of 1515 bytes: too long for the ingress MTU */
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    off = gso_meta(cs, 1448);
    off.gso = 9;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    off = gso_meta(cs + 4, 1448);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    g_big[cs + 13] |= 0x02; /* SYN */
    off = gso_meta(cs, 1448);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    c = counters(s->port);
    assert_int_equal(c.drops[VNET_DROP_OFFLOAD], 5);
    assert_int_equal(c.gso_in, 5);
    /* Partial checksums: the field outside the frame is bad metadata, too long is giant. */
    len = tcp_frame(g_big, 2, 1, 1000, &cs);
    off = (struct netoff){.csum = NETOFF_CSUM_PARTIAL, .csum_start = (uint16_t)len, .csum_off = 0};
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), -EINVAL);
    off.csum_start = (uint16_t)cs;
    off.csum_off = 16;
    assert_int_equal(vnet_input_off(s->port, g_big, 1515, &off), -EMSGSIZE);
    assert_int_equal(vnet_input_off(s->port, g_big, 1515, NULL), -EMSGSIZE);
    c = counters(s->port);
    assert_int_equal(c.drops[VNET_DROP_OFFLOAD], 6);
    assert_int_equal(c.drops[VNET_DROP_GIANT], 2);
    assert_int_equal(c.rx_packets, 8);
    assert_int_equal(p->n, 0);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.dropped, 8);
    /* Metadata asking for nothing is ignored, whatever its checksum state says. */
    off = (struct netoff){.csum = 7};
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(p->n, 1);
    off = (struct netoff){0};
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(vnet_input_off(s->port, g_big, len, NULL), 1);
    assert_int_equal(p->n, 3);
    assert_memory_equal(p->last, g_big, len); /* as it was: nothing completed */
}

static void test_off_too_big_egress(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *j = &g_rec[0];
    struct rec *p = &g_rec[1];
    struct rec *t = &g_rec[2];
    struct rec *k = &g_rec[3];
    size_t cs;
    size_t len = tcp_frame(g_big, 0xff, 1, 20000, &cs);
    struct netoff off = gso_meta(cs, 8000);

    assert_int_equal(rec_add(sw, j, "j", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_VNIC, 2, false, 0), 0);
    assert_int_equal(rec_add(sw, t, "t", VNET_PORT_VNIC, 3, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, k, "k", VNET_PORT_VNIC, 4, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(vnet_port_set_mtu(j->port, 9000), 0);
    assert_int_equal(vnet_port_set_mtu(k->port, 9000), 0);
    /* Segments of 8054 bytes: only the other jumbo port may have them, whole or cut. */
    assert_int_equal(vnet_input_off(j->port, g_big, len, &off), 1);
    assert_int_equal(k->n, 1);
    assert_int_equal(k->len[0], len);
    assert_int_equal(p->n + t->n, 0);
    assert_int_equal(fk_drops(p->port, VNET_DROP_TOO_BIG), 1);
    assert_int_equal(fk_drops(t->port, VNET_DROP_TOO_BIG), 1);
    assert_int_equal(vnet_port_set_offloads(k->port, 0), 0); /* the jumbo port cuts it now */
    assert_int_equal(vnet_input_off(j->port, g_big, len, &off), 1);
    assert_int_equal(k->n, 4);
    assert_int_equal(k->len[1], 54 + 8000);
    assert_int_equal(k->len[3], 54 + 4000);
    assert_true(k->csum_ok[1] && k->csum_ok[2] && k->csum_ok[3]);
    /* Segments of 1502 bytes fit everyone. */
    off = gso_meta(cs, 1448);
    assert_int_equal(vnet_input_off(j->port, g_big, len, &off), 3);
    assert_int_equal(p->n, 14);
    assert_int_equal(t->n, 1);
    assert_int_equal(k->n, 18);
    assert_int_equal(fk_drops(p->port, VNET_DROP_TOO_BIG), 2);
    /* A plain frame too long for the egress port, as before. */
    assert_int_equal(vnet_input_off(j->port, g_big, 2000, NULL), 1);
    assert_int_equal(fk_drops(p->port, VNET_DROP_TOO_BIG), 3);
    assert_int_equal(fk_drops(t->port, VNET_DROP_TOO_BIG), 3);
}

static void test_off_partial_and_valid(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *p = &g_rec[1];
    struct rec *c = &g_rec[2];
    struct rec *v = &g_rec[3];
    struct rec *e = &g_rec[4];
    size_t cs;
    size_t len = tcp_frame(g_big, 0xff, 1, 1000, &cs);
    struct netoff part = {.csum = NETOFF_CSUM_PARTIAL, .csum_start = (uint16_t)cs, .csum_off = 16};
    struct netoff valid = {.csum = NETOFF_CSUM_VALID};

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_CSUM), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_VNIC, 2, false, 0), 0);
    assert_int_equal(rec_add(sw, c, "c", VNET_PORT_VNIC, 3, true, NETOFF_CAP_CSUM), 0);
    assert_int_equal(rec_add(sw, v, "v", VNET_PORT_VNIC, 4, true, NETOFF_CAP_VALID), 0);
    assert_int_equal(rec_add(sw, e, "e", VNET_PORT_EDGE, 0, false, 0), 0);
    /* A partial checksum: completed for everyone but the port that finishes it itself. */
    assert_int_equal(vnet_input_off(s->port, g_big, len, &part), 4);
    assert_true(p->csum_ok[0] && !p->has_off[0]);
    assert_true(v->csum_ok[0] && !v->has_off[0]);
    assert_true(e->csum_ok[0] && !e->has_off[0]);
    assert_true(c->has_off[0]);
    assert_memory_equal(&c->off[0], &part, sizeof(part));
    assert_false(c->csum_ok[0]);
    assert_memory_equal(c->last, g_big, len);
    assert_int_equal(counters(p->port).csum_filled, 1);
    assert_int_equal(counters(v->port).csum_filled, 1);
    assert_int_equal(counters(c->port).csum_filled, 0);
    assert_int_equal(counters(p->port).tx_bytes, len);
    /* VALID from the wire: heard only by the port that asked for it. */
    fk_frame_ids(g_big, 0xff, 9, 14);
    assert_int_equal(vnet_input_off(e->port, g_big, len, &valid), 4);
    assert_true(v->has_off[1]);
    assert_int_equal(v->off[1].csum, NETOFF_CSUM_VALID);
    assert_false(c->has_off[1]);
    assert_false(s->has_off[0]);
    assert_int_equal(p->n, 2);
    /* VALID from a guest is not taken. */
    fk_frame_ids(g_big, 0xff, 1, 14);
    assert_int_equal(vnet_input_off(s->port, g_big, len, &valid), 4);
    assert_int_equal(v->n, 3);
    assert_false(v->has_off[2]);
}

struct cap_rec {
    unsigned n;
    uint32_t port[16];
    enum vnet_dir dir[16];
    size_t len[16];
};

static void cap_cb(void *ctx, const struct vnet_capture_pkt *pkt)
{
    struct cap_rec *cr = ctx;

    if (cr->n < 16) {
        cr->port[cr->n] = pkt->port_id;
        cr->dir[cr->n] = pkt->dir;
        cr->len[cr->n] = pkt->len;
    }
    cr->n++;
}

static void test_off_capture(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *t = &g_rec[1];
    struct rec *p = &g_rec[2];
    size_t cs;
    size_t len = tcp_frame(g_big, 0xff, 1, 65535 - 40, &cs);
    struct netoff off = gso_meta(cs, 1460);
    struct cap_rec cr;

    memset(&cr, 0, sizeof(cr));
    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, t, "t", VNET_PORT_VNIC, 2, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_VNIC, 3, false, 0), 0);
    assert_true(vnet_capture_attach(sw, cap_cb, &cr, NULL, 0) >= 0);
    /* The largest super-frame: in whole, out whole to t, out as 45 segments to p. */
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 2);
    assert_int_equal(cr.n, 1 + 1 + 45);
    assert_int_equal(cr.port[0], vnet_port_id(s->port));
    assert_int_equal(cr.dir[0], VNET_DIR_IN);
    assert_int_equal(cr.len[0], len);
    assert_int_equal(cr.port[1], vnet_port_id(t->port));
    assert_int_equal(cr.dir[1], VNET_DIR_OUT);
    assert_int_equal(cr.len[1], len);
    for (unsigned i = 2; i < 16; i++) {
        assert_int_equal(cr.port[i], vnet_port_id(p->port));
        assert_int_equal(cr.dir[i], VNET_DIR_OUT);
        assert_int_equal(cr.len[i], 1514);
    }
    assert_int_equal(p->n, 45);
    assert_int_equal(p->len[44], 54 + (65495 - 44 * 1460));
}

static int tx_off_reinjects(struct vnet_port *port, const void *frame, size_t len,
                            const struct netoff *off)
{
    struct vnet_port *back = vnet_port_ctx(port);

    (void)vnet_input_off(back, frame, len, off);
    return 0;
}

static void test_off_nested(void **state)
{
    struct vnet_switch *sw = *state;
    struct rec *s = &g_rec[0];
    struct rec *p = &g_rec[1];
    struct rec *q = &g_rec[2];
    struct rec *r = &g_rec[3];
    size_t cs;
    size_t len = tcp_frame(g_big, 2, 1, 4000, &cs);
    size_t len2 = tcp_frame(g_big2, 4, 3, 3000, &cs);
    struct netoff off = gso_meta(cs, 1448);
    struct netoff off2 = gso_meta(cs, 1000);

    assert_int_equal(rec_add(sw, s, "s", VNET_PORT_VNIC, 1, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, p, "p", VNET_PORT_LOCAL, 2, false, 0), 0);
    assert_int_equal(rec_add(sw, q, "q", VNET_PORT_VNIC, 3, true, NETOFF_CAP_TSO4), 0);
    assert_int_equal(rec_add(sw, r, "r", VNET_PORT_VNIC, 4, false, 0), 0);
    /* p, given its first segment, sends another super-frame (q -> r) that must be cut too:
     * p's segment, looked at afterwards, is still its own. */
    g_big2[38] = 0x77; /* another sequence number: the checksum is left partial anyway */
    p->reenter = q->port;
    p->nested = g_big2;
    p->nested_len = len2;
    p->nested_off = &off2;
    assert_int_equal(vnet_input_off(s->port, g_big, len, &off), 1);
    assert_int_equal(p->nested_rc, 1);
    assert_int_equal(p->n, 3);
    assert_three_segments(p, 0);
    assert_int_equal(r->n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r->len[i], 54 + 1000);
        assert_true(r->csum_ok[i]);
        assert_int_equal(r->seq[i], ((OFF_SEQ0 & 0x00FFFFFFu) | 0x77000000u) + i * 1000);
    }
    assert_int_equal(counters(r->port).gso_split, 1);
    assert_int_equal(counters(q->port).gso_in, 1);
    /* A loop through the host carrying the metadata stops at the nesting limit. */
    struct vnet_port *x;
    struct vnet_port *y;
    struct vnet_port_config cx = {.name = "x",
                                  .kind = VNET_PORT_VNIC,
                                  .tx_off = tx_off_reinjects,
                                  .offloads = NETOFF_CAP_TSO4,
                                  .network = 5};
    struct fk_port fy;
    struct vnet_route rt;
    char err[128];

    assert_int_equal(fk_add(sw, &fy, "y", VNET_PORT_VNIC, 0, 5), 0);
    y = fy.port;
    cx.ctx = y;
    assert_int_equal(vnet_port_add(sw, &cx, &x), 0);
    assert_int_equal(vnet_route_parse("from y port x", &rt, err, sizeof(err)), 0);
    assert_int_equal(vnet_route_add(sw, &rt, -1, NULL, err, sizeof(err)), 0);
    fk_frame_ids(g_big, 0xff, 9, 14);
    assert_int_equal(vnet_input_off(y, g_big, len, &off), 1);
    assert_int_equal(fk_drops(y, VNET_DROP_DEPTH), 1);
    assert_int_equal(counters(y).gso_in, VNET_DEPTH_MAX + 1);
    assert_int_equal(counters(x).tx_packets, VNET_DEPTH_MAX);
    assert_int_equal(fy.frames, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test_setup_teardown(test_port_add_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learn_and_unicast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_broadcast_multicast_networks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mac_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caches_follow_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runts_giants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_and_tx_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promisc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_port_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_gso_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_gso_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_gro_from_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_bad_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_too_big_egress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_partial_and_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_nested, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
