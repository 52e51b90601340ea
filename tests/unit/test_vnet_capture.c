/* Unit tests for vnet/capture.c: taps on every port or on named ports (present or future),
 * directions, order, timestamps, filter changes, detach, limits, and callbacks that try to
 * change taps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test_vnet_fake.h"

#define REC_MAX 32

struct rec {
    uint32_t port_id;
    char name[VNET_NAME_MAX];
    enum vnet_port_kind kind;
    enum vnet_dir dir;
    uint64_t ts;
    size_t len;
    uint8_t first;
};

struct recorder {
    struct rec r[REC_MAX];
    size_t n;
    struct vnet_switch *sw; /* for callbacks that misbehave */
    int attach_rc;
    int detach_rc;
};

static void record(void *ctx, const struct vnet_capture_pkt *pkt)
{
    struct recorder *rc = ctx;

    if (rc->n < REC_MAX) {
        struct rec *r = &rc->r[rc->n];

        r->port_id = pkt->port_id;
        snprintf(r->name, sizeof(r->name), "%s", pkt->port_name);
        r->kind = pkt->kind;
        r->dir = pkt->dir;
        r->ts = pkt->ts_ns;
        r->len = pkt->len;
        r->first = pkt->frame[0];
    }
    rc->n++;
}

static void meddle(void *ctx, const struct vnet_capture_pkt *pkt)
{
    struct recorder *rc = ctx;

    record(ctx, pkt);
    rc->attach_rc = vnet_capture_attach(rc->sw, record, ctx, NULL, 0);
    rc->detach_rc = vnet_capture_detach(rc->sw, 0);
}

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

static void test_all_ports(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, c;
    struct recorder rc = {0};
    uint8_t f[64];
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &a, "linux.eth0", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &b, "edge", VNET_PORT_EDGE, 0, 0), 0);
    assert_int_equal(fk_add(sw, &c, "local", VNET_PORT_LOCAL, 3, 0), 0);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 0), 0);
    fk_now = 12345;
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 2);
    assert_int_equal(rc.n, 3);
    assert_string_equal(rc.r[0].name, "linux.eth0");
    assert_int_equal(rc.r[0].port_id, vnet_port_id(a.port));
    assert_int_equal(rc.r[0].kind, VNET_PORT_VNIC);
    assert_int_equal(rc.r[0].dir, VNET_DIR_IN);
    assert_int_equal(rc.r[0].ts, 12345);
    assert_int_equal(rc.r[0].len, 64);
    assert_int_equal(rc.r[0].first, 0xff);
    assert_string_equal(rc.r[1].name, "edge");
    assert_int_equal(rc.r[1].dir, VNET_DIR_OUT);
    assert_int_equal(rc.r[1].kind, VNET_PORT_EDGE);
    assert_string_equal(rc.r[2].name, "local");
    assert_int_equal(rc.r[2].dir, VNET_DIR_OUT);
    /* Frames the switch rejects are still seen coming in. */
    assert_int_equal(vnet_input(a.port, f, 10), -EINVAL);
    assert_int_equal(rc.n, 4);
    assert_int_equal(rc.r[3].len, 10);
    assert_int_equal(vnet_input(a.port, f, 0), -EINVAL);
    assert_int_equal(rc.n, 4); /* nothing to show */
    vnet_stats_get(sw, &st);
    assert_int_equal(st.captured, 4);
    assert_int_equal(st.taps, 1);
    assert_int_equal(vnet_capture_detach(sw, 0), 0);
    assert_int_equal(vnet_capture_detach(sw, 0), -ENOENT);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 4);
}

static void test_named_ports(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b, later;
    struct recorder rc = {0};
    uint8_t f[64];
    const char *const sel[] = {"b", "later"};
    const char *const only_a[] = {"a"};
    int tap;

    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 2, 0), 0);
    tap = vnet_capture_attach(sw, record, &rc, sel, 2);
    assert_true(tap >= 0);
    fk_frame_ids(f, 2, 1, 64);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 1);
    assert_string_equal(rc.r[0].name, "b");
    assert_int_equal(rc.r[0].dir, VNET_DIR_OUT);
    /* A port that comes later is captured by name. */
    assert_int_equal(fk_add(sw, &later, "later", VNET_PORT_VNIC, 3, 0), 0);
    fk_frame_ids(f, 3, 1, 64);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 2);
    assert_string_equal(rc.r[1].name, "later");
    /* Narrowed to a. */
    assert_int_equal(vnet_capture_filter(sw, tap, only_a, 1), 0);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 3);
    assert_string_equal(rc.r[2].name, "a");
    assert_int_equal(rc.r[2].dir, VNET_DIR_IN);
    /* Widened to all. */
    assert_int_equal(vnet_capture_filter(sw, tap, NULL, 0), 0);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 5);
    assert_int_equal(vnet_capture_filter(sw, 5, NULL, 0), -ENOENT);
    assert_int_equal(vnet_capture_filter(sw, -1, NULL, 0), -ENOENT);
}

static void test_limits(void **state)
{
    struct vnet_switch *sw = *state;
    struct recorder rc = {0};
    const char *const bad[] = {"ok", "not ok"};
    const char *many[VNET_TAP_NAMES_MAX + 1];
    const char *const null_name[] = {NULL};

    for (int i = 0; i <= VNET_TAP_NAMES_MAX; i++) {
        many[i] = "p";
    }
    assert_int_equal(vnet_capture_attach(sw, NULL, &rc, NULL, 0), -EINVAL);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, bad, 2), -EINVAL);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, null_name, 1), -EINVAL);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 1), -EINVAL);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, many, VNET_TAP_NAMES_MAX + 1), -EINVAL);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, many, VNET_TAP_NAMES_MAX), 0);
    assert_int_equal(vnet_capture_filter(sw, 0, bad, 2), -EINVAL);
    for (int i = 1; i < VNET_TAPS_MAX; i++) {
        assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 0), i);
    }
    assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 0), -ENOSPC);
    assert_int_equal(vnet_capture_detach(sw, 3), 0);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 0), 3);
}

static void test_callback_meddles(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a, b;
    struct recorder rc = {0};
    uint8_t f[64];

    rc.sw = sw;
    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &b, "b", VNET_PORT_VNIC, 2, 0), 0);
    assert_int_equal(vnet_capture_attach(sw, meddle, &rc, NULL, 0), 0);
    fk_frame_ids(f, 2, 1, 64);
    assert_int_equal(vnet_input(a.port, f, 64), 1);
    assert_int_equal(rc.n, 2);
    assert_int_equal(rc.attach_rc, -EBUSY);
    assert_int_equal(rc.detach_rc, -EBUSY);
}

static uint64_t wall(void)
{
    return 1700000000ull * 1000000000ull;
}

static void test_wall_clock(void **state)
{
    struct vnet_host host = fk_host;
    struct vnet_switch *sw;
    struct fk_port a;
    struct recorder rc = {0};
    uint8_t f[64];

    (void)state;
    host.wall_ns = wall;
    vnet_host_set(&host);
    assert_int_equal(vnet_switch_create(NULL, &sw), 0);
    vnet_host_set(&fk_host);
    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(vnet_capture_attach(sw, record, &rc, NULL, 0), 0);
    fk_frame_ids(f, 0xff, 1, 64);
    vnet_input(a.port, f, 64);
    assert_int_equal(rc.n, 1);
    assert_int_equal(rc.r[0].ts, wall());
    vnet_switch_destroy(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_meddles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wall_clock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
