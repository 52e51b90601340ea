/* libFuzzer target for the VNET switch core: frame parsing helpers on the raw bytes, then a
 * fresh switch (vnic, edge, local and VXLAN link ports in two networks, a few routes, a pcapng
 * capture tap) driven by a sequence of operations read from the input: frames of any length
 * and content on any port, clock jumps and aging ticks, route texts (parsed, formatted,
 * re-parsed, added and deleted), network and MTU changes, MAC flushes.
 *
 * Beyond ASan/UBSan/LSan it traps when a promise breaks: a frame returns on its ingress port,
 * vnet_input returns something undocumented, a route's text form does not parse back to the
 * same route, the pcapng writer overruns its count, or memory is left allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vnet/pcapng.h"
#include "../unit/test_vnet_fake.h"

#define NPORTS 6

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t take8(struct input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint16_t take16(struct input *in)
{
    return (uint16_t)(take8(in) | (take8(in) << 8));
}

/* Up to `max` bytes of the input (fewer at its end). */
static size_t take_bytes(struct input *in, size_t want, const uint8_t **out)
{
    size_t left = in->size - in->pos;
    size_t n = want < left ? want : left;

    *out = in->data + in->pos;
    in->pos += n;
    return n;
}

static struct fk_port g_ports[NPORTS];
static struct vnet_port *g_link;
static struct vnet_pcapng_writer g_w;
static uint8_t g_capbuf[1024];

static void tap(void *ctx, const struct vnet_capture_pkt *pkt)
{
    int n = vnet_pcapng_write(&g_w, g_capbuf, sizeof(g_capbuf), pkt);

    (void)ctx;
    if (n > (int)sizeof(g_capbuf)) {
        __builtin_trap();
    }
}

static void check_parsers(const uint8_t *data, size_t size)
{
    struct vnet_eth eth;
    char text[300];
    struct vnet_route r;
    struct vnet_route back;
    struct vnet_link_config lc;
    struct vnet_link_config lback;
    char err[128];
    char fmt[300];
    uint8_t mac[6];
    uint32_t ip;

    if (vnet_eth_parse(data, size, &eth) == 0) {
        if (eth.payload_off > size || eth.vlan_tags > VNET_VLAN_MAX) {
            __builtin_trap();
        }
        (void)vnet_mac_class(eth.dst);
        (void)vnet_frame_max(data, size, 1500);
        (void)vnet_vxlan_src_port(data, size);
    } else if (size >= VNET_ETH_HLEN + 4 + 2 * VNET_VLAN_HLEN) {
        __builtin_trap(); /* a long enough frame always parses */
    }
    size = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    (void)vnet_mac_parse(text, mac);
    (void)vnet_ip4_parse(text, &ip);
    if (vnet_route_parse(text, &r, err, sizeof(err)) == 0) {
        if (err[0] != '\0' || vnet_route_format(&r, fmt, sizeof(fmt)) < 0 ||
            vnet_route_parse(fmt, &back, err, sizeof(err)) != 0 ||
            memcmp(&back, &r, sizeof(r)) != 0) {
            __builtin_trap();
        }
    } else if (err[0] == '\0') {
        __builtin_trap(); /* every refusal says why */
    }
    if (vnet_link_parse(text, &lc, err, sizeof(err)) == 0) {
        if (vnet_link_format(&lc, fmt, sizeof(fmt)) < 0 ||
            vnet_link_parse(fmt, &lback, err, sizeof(err)) != 0 ||
            memcmp(&lback, &lc, sizeof(lc)) != 0) {
            __builtin_trap();
        }
    } else if (err[0] == '\0') {
        __builtin_trap();
    }
}

static struct vnet_switch *make_switch(uint8_t shape)
{
    static const char *const names[NPORTS - 1] = {"a.eth0", "b.eth0", "c.eth0", "edge", "local"};
    static const enum vnet_port_kind kinds[NPORTS - 1] = {
        VNET_PORT_VNIC, VNET_PORT_VNIC, VNET_PORT_VNIC, VNET_PORT_EDGE, VNET_PORT_LOCAL};
    struct vnet_link_config lc;
    struct vnet_switch *sw = fk_switch((shape & 1) ? 4 : 64, 1 + (shape >> 5));
    char err[128];

    if (sw == NULL) {
        __builtin_trap();
    }
    for (int i = 0; i < NPORTS - 1; i++) {
        uint8_t mac =
            (kinds[i] == VNET_PORT_VNIC || kinds[i] == VNET_PORT_LOCAL) && ((shape >> 1) & 1)
                ? (uint8_t)(i + 1)
                : 0;

        if (fk_add(sw, &g_ports[i], names[i], kinds[i], mac,
                   (uint32_t)((shape >> 2) & 1) * (i & 1)) < 0) {
            __builtin_trap();
        }
    }
    memset(&lc, 0, sizeof(lc));
    memcpy(lc.name, "vx:lab2", 8);
    lc.vni = 42;
    lc.remotes[0] = 0x0a000002;
    lc.remotes[1] = 0x0a000003;
    lc.nremotes = 2;
    lc.no_frag = (shape >> 3) & 1;
    if (vnet_link_add(sw, &lc, &g_link, err, sizeof(err)) < 0) {
        __builtin_trap();
    }
    memset(&g_ports[NPORTS - 1], 0, sizeof(g_ports[0]));
    g_ports[NPORTS - 1].port = g_link;
    vnet_pcapng_writer_init(&g_w, (shape >> 4) & 1 ? 64 : 0);
    if (vnet_capture_attach(sw, tap, NULL, NULL, 0) < 0) {
        __builtin_trap();
    }
    return sw;
}

static void op_frame(struct vnet_switch *sw, struct input *in)
{
    int idx = take8(in) % NPORTS;
    struct fk_port *p = &g_ports[idx];
    size_t want = take16(in) % 1700;
    const uint8_t *bytes;
    size_t n = take_bytes(in, want, &bytes);
    unsigned before = p->frames;
    int rc;

    (void)sw;
    if (p->port == NULL) {
        return;
    }
    p->rc = (take8(in) & 7) == 0 ? -EAGAIN : 0;
    rc = vnet_input(p->port, n > 0 ? bytes : NULL, n);
    if (!(rc >= 0 && rc < NPORTS) && rc != -EINVAL && rc != -EMSGSIZE && rc != -EPERM) {
        __builtin_trap();
    }
    if (p->frames != before) {
        __builtin_trap(); /* the loop rule */
    }
}

static void op_route(struct vnet_switch *sw, struct input *in)
{
    char text[80];
    const uint8_t *bytes;
    size_t n = take_bytes(in, take8(in) % sizeof(text), &bytes);
    struct vnet_route r;
    char err[128];
    uint32_t id;

    memcpy(text, bytes, n);
    text[n] = '\0';
    if (vnet_route_parse(text, &r, err, sizeof(err)) == 0) {
        (void)vnet_route_add(sw, &r, (int)(take8(in) % 4) - 1, &id, err, sizeof(err));
    }
}

static void add_routes(struct vnet_switch *sw, uint8_t which)
{
    static const char *const texts[] = {
        "src 52:54:00:00:00:01 dst any port b.eth0",
        "dst not 52:54:00:00:00:02 from edge drop",
        "src none dst any port local",
        "from vx:lab2 port c.eth0",
        "src any dst 52:54:00:00:00:03 link vx:lab2",
        "dst ff:ff:ff:ff:ff:ff from a.eth0 port edge",
    };
    struct vnet_route r;
    char err[128];

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if ((which >> i) & 1) {
            if (vnet_route_parse(texts[i], &r, err, sizeof(err)) != 0 ||
                vnet_route_add(sw, &r, -1, NULL, err, sizeof(err)) != 0) {
                __builtin_trap();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct vnet_switch *sw;
    struct vnet_route_info routes[8];

    check_parsers(data, size);
    sw = make_switch(take8(&in));
    add_routes(sw, take8(&in));
    for (int steps = 0; steps < 64 && in.pos < in.size; steps++) {
        uint8_t op = take8(&in);

        switch (op % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
            op_frame(sw, &in);
            break;
        case 4:
            fk_now += (uint64_t)take16(&in) * 100000000ull;
            vnet_tick(sw);
            break;
        case 5:
            op_route(sw, &in);
            break;
        case 6: {
            size_t n = vnet_route_list(sw, routes, 8);

            if (n > 0) {
                (void)vnet_route_del(sw, routes[take8(&in) % n].id);
            }
            break;
        }
        case 7:
            (void)vnet_port_set_network(g_ports[take8(&in) % (NPORTS - 1)].port, take8(&in) & 1);
            break;
        case 8:
            (void)vnet_port_set_mtu(g_ports[take8(&in) % NPORTS].port, take16(&in));
            break;
        case 9:
            vnet_mac_flush(sw);
            break;
        }
    }
    vnet_switch_destroy(sw);
    if (fk_live != 0) {
        __builtin_trap();
    }
    return 0;
}
