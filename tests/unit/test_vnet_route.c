/* Unit tests for vnet/route.c: each MAC qualifier, first-match order, default (`none`)
 * routes after ordinary ones, the `from` port, drop routes, destinations that come and go
 * (routes name ports), the loop rule for routes, cross-network routes, per-route counters,
 * and the errors vnet_route_add gives for bad rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test_vnet_fake.h"

static int setup(void **state)
{
    struct vnet_switch *sw = fk_switch(0, 0);

    *state = sw;
    return sw == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    vnet_switch_destroy(*state);
    return fk_live == 0 ? 0 : -1;
}

/* Parses and appends a route; fails the test on any error. Returns its id. */
static uint32_t add(struct vnet_switch *sw, const char *text)
{
    struct vnet_route r;
    char err[160];
    uint32_t id = 0;

    if (vnet_route_parse(text, &r, err, sizeof(err)) < 0) {
        fail_msg("parse '%s': %s", text, err);
    }
    if (vnet_route_add(sw, &r, -1, &id, err, sizeof(err)) < 0) {
        fail_msg("add '%s': %s", text, err);
    }
    return id;
}

/* Parses and tries to add a route at `index`; returns the result and the error text. */
static int try_add(struct vnet_switch *sw, const char *text, int index, char *err, size_t len)
{
    struct vnet_route r;
    int rc = vnet_route_parse(text, &r, err, len);

    if (rc < 0) {
        return rc;
    }
    return vnet_route_add(sw, &r, index, NULL, err, len);
}

static void test_qualifiers(void **state)
{
    struct vnet_route r;
    const uint8_t a[6] = {0x52, 0x54, 0, 0, 0, 1};
    const uint8_t b[6] = {0x52, 0x54, 0, 0, 0, 2};

    (void)state;
    memset(&r, 0, sizeof(r));
    memcpy(r.src_mac, a, 6);
    memcpy(r.dst_mac, b, 6);
    r.src_qual = VNET_QUAL_ANY;
    r.dst_qual = VNET_QUAL_ANY;
    assert_true(vnet_route_match_macs(&r, a, b));
    assert_true(vnet_route_match_macs(&r, b, a));
    r.src_qual = VNET_QUAL_EXACT;
    assert_true(vnet_route_match_macs(&r, a, b));
    assert_false(vnet_route_match_macs(&r, b, b));
    r.src_qual = VNET_QUAL_NOT;
    assert_false(vnet_route_match_macs(&r, a, b));
    assert_true(vnet_route_match_macs(&r, b, b));
    r.src_qual = VNET_QUAL_NONE;
    assert_true(vnet_route_match_macs(&r, a, b));
    assert_true(vnet_route_match_macs(&r, b, b));
    r.src_qual = VNET_QUAL_ANY;
    r.dst_qual = VNET_QUAL_EXACT;
    assert_true(vnet_route_match_macs(&r, a, b));
    assert_false(vnet_route_match_macs(&r, a, a));
    r.dst_qual = VNET_QUAL_NOT;
    assert_false(vnet_route_match_macs(&r, a, b));
    assert_true(vnet_route_match_macs(&r, a, a));
    r.dst_qual = VNET_QUAL_NONE;
    assert_true(vnet_route_match_macs(&r, a, a));
    /* Both fields must accept. */
    r.src_qual = VNET_QUAL_EXACT;
    r.dst_qual = VNET_QUAL_NOT;
    assert_true(vnet_route_match_macs(&r, a, a));
    assert_false(vnet_route_match_macs(&r, a, b));
    assert_false(vnet_route_match_macs(&r, b, a));
}

/* Four ports; station N sits behind port pN (learned first with a broadcast). */
struct rig {
    struct fk_port p[4];
};

static void rig_init(struct vnet_switch *sw, struct rig *g)
{
    uint8_t f[64];
    char name[16];

    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(fk_add(sw, &g->p[i], name, VNET_PORT_VNIC, 0, 0), 0);
    }
    for (int i = 0; i < 4; i++) {
        fk_frame_ids(f, 0xff, (uint8_t)(i + 1), 64);
        vnet_input(g->p[i].port, f, 64);
    }
    for (int i = 0; i < 4; i++) {
        g->p[i].frames = 0;
    }
}

static void send(struct rig *g, int from, uint8_t dst, uint8_t src)
{
    uint8_t f[64];

    fk_frame_ids(f, dst, src, 64);
    vnet_input(g->p[from].port, f, 64);
}

static void test_no_route_bridges(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;

    rig_init(sw, &g);
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[2].frames, 1);
    assert_int_equal(g.p[3].frames, 0);
}

static void test_first_match_wins(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;
    struct vnet_route_info info[4];
    uint32_t first;
    uint32_t second;
    char err[160];

    rig_init(sw, &g);
    first = add(sw, "src 52:54:00:00:00:01 dst any port p3");
    second = add(sw, "src any dst 52:54:00:00:00:03 port p1");
    send(&g, 0, 3, 1); /* both match: the first wins */
    assert_int_equal(g.p[3].frames, 1);
    assert_int_equal(g.p[1].frames, 0);
    assert_int_equal(g.p[2].frames, 0); /* the bridge would have chosen p2 */
    send(&g, 3, 3, 4);                  /* only the second matches */
    assert_int_equal(g.p[1].frames, 1);
    /* Inserting at the front changes the winner. */
    assert_int_equal(try_add(sw, "src any dst any port p2", 0, err, sizeof(err)), 0);
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[2].frames, 1);
    assert_int_equal(vnet_route_list(sw, info, 4), 3);
    assert_int_equal(info[1].id, first);
    assert_int_equal(info[2].id, second);
    assert_int_equal(info[0].packets, 1);
    assert_int_equal(info[0].bytes, 64);
    assert_int_equal(info[0].delivered, 1);
    assert_int_equal(info[1].packets, 1);
    assert_int_equal(info[2].packets, 1);
    assert_true(info[0].dst_present);
    /* Deleting restores the old order. */
    assert_int_equal(vnet_route_del(sw, info[0].id), 0);
    assert_int_equal(vnet_route_del(sw, info[0].id), -ENOENT);
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[3].frames, 2);
    vnet_route_clear(sw);
    assert_int_equal(vnet_route_list(sw, info, 4), 0);
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[2].frames, 2); /* the bridge again */
}

static void test_not_qualifier(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;

    rig_init(sw, &g);
    add(sw, "src not 52:54:00:00:00:01 dst any port p3");
    send(&g, 0, 2, 1); /* src is 01: not matched, bridged to p1 */
    assert_int_equal(g.p[1].frames, 1);
    assert_int_equal(g.p[3].frames, 0);
    send(&g, 1, 1, 2); /* src 02 matches */
    assert_int_equal(g.p[3].frames, 1);
    assert_int_equal(g.p[0].frames, 0);
}

static void test_default_routes_last(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;

    rig_init(sw, &g);
    /* A default route listed first still loses to a later ordinary route. */
    add(sw, "src 52:54:00:00:00:01 dst none port p2");
    add(sw, "src any dst 52:54:00:00:00:04 port p1");
    send(&g, 0, 4, 1);
    assert_int_equal(g.p[1].frames, 1);
    assert_int_equal(g.p[2].frames, 0);
    /* With no ordinary match, the default route applies (before the bridge). */
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[2].frames, 1);
    /* Among default routes, the first matching wins. */
    add(sw, "src none dst any port p3");
    send(&g, 0, 3, 1);
    assert_int_equal(g.p[2].frames, 2);
    send(&g, 1, 1, 2); /* src 02: only "src none" matches */
    assert_int_equal(g.p[3].frames, 1);
}

static void test_from_port(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;

    rig_init(sw, &g);
    add(sw, "from p0 port p3");
    send(&g, 0, 2, 1);
    assert_int_equal(g.p[3].frames, 1);
    send(&g, 2, 2, 3); /* another ingress: the bridge (learned on p1) */
    assert_int_equal(g.p[1].frames, 1);
    assert_int_equal(g.p[3].frames, 1);
    /* A from port that does not exist matches nothing. */
    add(sw, "from ghost port p0");
    send(&g, 2, 2, 3);
    assert_int_equal(g.p[0].frames, 0);
}

static void test_drop_route(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;
    struct vnet_route_info info[2];
    uint8_t f[64];

    rig_init(sw, &g);
    add(sw, "dst 52:54:00:00:00:02 from p0 drop");
    fk_frame_ids(f, 2, 1, 64);
    assert_int_equal(vnet_input(g.p[0].port, f, 64), -EPERM);
    assert_int_equal(g.p[1].frames, 0);
    assert_int_equal(fk_drops(g.p[0].port, VNET_DROP_ROUTE), 1);
    assert_int_equal(vnet_route_list(sw, info, 2), 1);
    assert_int_equal(info[0].packets, 1);
    assert_int_equal(info[0].delivered, 0);
    assert_false(info[0].dst_present);
    send(&g, 2, 2, 3);
    assert_int_equal(g.p[1].frames, 1);
}

static void test_dst_down_and_back(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;
    struct fk_port later;
    struct vnet_route_info info[1];

    rig_init(sw, &g);
    add(sw, "src 52:54:00:00:00:01 port vm.eth0"); /* petrel.conf: before the VM exists */
    assert_int_equal(vnet_route_list(sw, info, 1), 1);
    assert_false(info[0].dst_present);
    send(&g, 0, 2, 1);
    assert_int_equal(g.p[1].frames, 0); /* no fallback to the bridge */
    assert_int_equal(fk_drops(g.p[0].port, VNET_DROP_DST_DOWN), 1);
    assert_int_equal(fk_add(sw, &later, "vm.eth0", VNET_PORT_VNIC, 0, 0), 0);
    vnet_route_list(sw, info, 1);
    assert_true(info[0].dst_present);
    send(&g, 0, 2, 1);
    assert_int_equal(later.frames, 1);
    assert_int_equal(vnet_port_del(later.port), 0);
    send(&g, 0, 2, 1);
    assert_int_equal(fk_drops(g.p[0].port, VNET_DROP_DST_DOWN), 2);
}

static void test_route_loop(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;

    rig_init(sw, &g);
    add(sw, "src any dst any port p0");
    send(&g, 0, 2, 1);
    assert_int_equal(g.p[0].frames, 0);
    assert_int_equal(fk_drops(g.p[0].port, VNET_DROP_LOOP), 1);
    send(&g, 1, 1, 2);
    assert_int_equal(g.p[0].frames, 1);
}

static void test_cross_network(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b;
    uint8_t f[64];

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 1), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 0, 2), 0);
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 0); /* alone in network 1 */
    add(sw, "from a port b");
    assert_int_equal(vnet_input(a.port, f, 64), 1);
    assert_int_equal(b.frames, 1);
}

static void test_route_to_failing_port(void **state)
{
    struct vnet_switch *sw = *state;
    struct rig g;
    struct vnet_route_info info[1];

    rig_init(sw, &g);
    add(sw, "port p1");
    g.p[1].rc = -EAGAIN;
    send(&g, 0, 3, 1);
    vnet_route_list(sw, info, 1);
    assert_int_equal(info[0].packets, 1);
    assert_int_equal(info[0].delivered, 0);
    assert_int_equal(fk_drops(g.p[1].port, VNET_DROP_TX_BUSY), 1);
}

static void test_add_errors(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a;
    struct vnet_route r;
    char err[160];
    uint32_t id;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(try_add(sw, "from a port a", -1, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "never leaves through the port it came in on"));
    assert_int_equal(try_add(sw, "src ff:ff:ff:ff:ff:ff port a", -1, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "could never match"));
    assert_int_equal(try_add(sw, "src 00:00:00:00:00:00 port a", -1, err, sizeof(err)), -EINVAL);
    assert_int_equal(try_add(sw, "link a", -1, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "a is a vnic port, not a link (write 'port a')");
    assert_int_equal(try_add(sw, "port a", 1, err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "past the end"));
    assert_int_equal(try_add(sw, "port a", 0, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(try_add(sw, "src any dst any port a", -1, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "identical route"));
    /* Not identical: another qualifier, another MAC, or another from. */
    assert_int_equal(try_add(sw, "src none port a", -1, err, sizeof(err)), 0);
    assert_int_equal(try_add(sw, "src not 52:54:00:00:00:01 port a", -1, err, sizeof(err)), 0);
    assert_int_equal(try_add(sw, "src not 52:54:00:00:00:02 port a", -1, err, sizeof(err)), 0);
    assert_int_equal(try_add(sw, "src not 52:54:00:00:00:02 port a", -1, err, sizeof(err)),
                     -EEXIST);
    assert_int_equal(try_add(sw, "from b port a", -1, err, sizeof(err)), 0);
    assert_int_equal(try_add(sw, "drop", -1, err, sizeof(err)), 0);
    assert_int_equal(try_add(sw, "drop", -1, err, sizeof(err)), -EEXIST);
    /* Hand-built rules with bad fields. */
    memset(&r, 0, sizeof(r));
    r.src_qual = (enum vnet_mac_qual)9;
    assert_int_equal(vnet_route_add(sw, &r, -1, &id, err, sizeof(err)), -EINVAL);
    r.src_qual = VNET_QUAL_ANY;
    r.action = VNET_ACT_PORT;
    assert_int_equal(vnet_route_add(sw, &r, -1, &id, err, sizeof(err)), -EINVAL); /* to "" */
    assert_string_equal(err, "bad destination port name");
    memset(r.to, 'x', sizeof(r.to)); /* unterminated */
    assert_int_equal(vnet_route_add(sw, &r, -1, &id, NULL, 0), -EINVAL);
    memcpy(r.to, "a", 2);
    memcpy(r.from, "bad name", 9);
    assert_int_equal(vnet_route_add(sw, &r, -1, &id, err, sizeof(err)), -EINVAL);
    r.from[0] = '\0';
    r.action = (enum vnet_route_action)5;
    assert_int_equal(vnet_route_add(sw, &r, -1, &id, err, sizeof(err)), -EINVAL);
}

static void test_table_full(void **state)
{
    struct vnet_switch *sw = *state;
    char text[64];
    char err[160];

    for (int i = 0; i < VNET_ROUTES_MAX; i++) {
        snprintf(text, sizeof(text), "src 52:54:00:00:%02x:%02x port p", i >> 8, i & 0xff);
        assert_int_equal(try_add(sw, text, -1, err, sizeof(err)), 0);
    }
    assert_int_equal(try_add(sw, "drop", -1, err, sizeof(err)), -ENOSPC);
    assert_non_null(strstr(err, "route table full"));
}

static int g_route_rc;

static int tx_adds_route(struct vnet_port *port, const void *frame, size_t len)
{
    struct vnet_route r;

    (void)frame;
    (void)len;
    memset(&r, 0, sizeof(r));
    r.action = VNET_ACT_DROP;
    g_route_rc = vnet_route_add(vnet_port_switch(port), &r, -1, NULL, NULL, 0);
    return 0;
}

static void test_busy(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a;
    struct vnet_port *b;
    struct vnet_port_config cfg = {.name = "b", .kind = VNET_PORT_VNIC, .tx = tx_adds_route};
    uint8_t f[64];

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(vnet_port_add(sw, &cfg, &b), 0);
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 1);
    assert_int_equal(g_route_rc, -EBUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qualifiers),
        cmocka_unit_test_setup_teardown(test_no_route_bridges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_match_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_qualifier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_routes_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_down_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_to_failing_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
