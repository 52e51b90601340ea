/* libFuzzer target for the VNET switch core: frame parsing helpers on the raw bytes, then a
 * fresh switch (vnic, edge, local and VXLAN link ports in two networks, two ports with tx_off
 * and fuzzer-chosen offloads, a few routes, a pcapng capture tap) driven by a sequence of
 * operations read from the input: frames of any length and content on any port, frames with
 * offload metadata (vnet_input_off: raw bytes with any metadata, or TCP/IPv4 super-frames of up
 * to 64 KiB built from fuzzer-chosen fields, some of them deliberately wrong), offload changes,
 * clock jumps and aging ticks, route texts (parsed, formatted, re-parsed, added and deleted),
 * network and MTU changes, MAC flushes, a super-frame's segments arriving on the VXLAN link
 * (merged for TSO4 ports) and flushes.
 *
 * Beyond ASan/UBSan/LSan it traps when a promise breaks: a frame returns on its ingress port,
 * vnet_input(_off) returns something undocumented, a tx_off port is given metadata its
 * offloads do not cover, a super-frame netoff_check refuses or a plain frame longer than its
 * MTU allows, a segment cut from a super-frame has a wrong TCP checksum,
 * vnet_port_set_offloads accepts unknown bits, a route's text form does not parse back to the
 * same route, the pcapng writer overruns its count, or memory is left allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/lib/netcsum.h"
#include "../../kernel/lib/tcpseg.h"
#include "../../vnet/pcapng.h"
#include "../unit/test_vnet_fake.h"

#define NPORTS   8 /* 0..4 plain (fk_tx), 5..6 tx_off, 7 the link */
#define OFF_LO   5
#define OFF_HI   6
#define CAPS_ALL (NETOFF_CAP_CSUM | NETOFF_CAP_TSO4 | NETOFF_CAP_VALID)

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
static unsigned g_caps[NPORTS]; /* what each tx_off port was last given */
static bool g_in_gso;           /* a super-frame is being delivered */
static struct vnet_port *g_link;
static struct vnet_pcapng_writer g_w;
static uint8_t g_capbuf[NETOFF_FRAME_MAX + 1024];
static uint8_t g_super[NETOFF_FRAME_MAX];

/* tx_off: checks that the frame is what the port's offloads take. */
static int fz_tx_off(struct vnet_port *port, const void *frame, size_t len,
                     const struct netoff *off)
{
    struct fk_port *fp = vnet_port_ctx(port);
    unsigned caps = g_caps[fp - g_ports];
    const uint8_t *f = frame;

    fp->frames++;
    if (len < VNET_ETH_MIN) {
        __builtin_trap();
    }
    if (off == NULL || off->gso == NETOFF_GSO_NONE) {
        if (len > vnet_frame_max(f, len, vnet_port_mtu(port))) {
            __builtin_trap();
        }
    } else if (len > NETOFF_FRAME_MAX) {
        __builtin_trap();
    }
    if (off != NULL && off->gso != NETOFF_GSO_NONE) {
        const char *why = NULL;

        /* Whole super-frames (passed on, or merged from a link's segments) must be sound. */
        if (netoff_check(f, len, off, NETOFF_FRAME_MAX, NETOFF_FRAME_MAX, &why) != 0) {
            __builtin_trap();
        }
    }
    if (off != NULL) {
        bool ok = (off->gso == NETOFF_GSO_TCPV4 && (caps & NETOFF_CAP_TSO4)) ||
                  (off->gso == NETOFF_GSO_NONE && off->csum == NETOFF_CSUM_PARTIAL &&
                   (caps & NETOFF_CAP_CSUM)) ||
                  (off->gso == NETOFF_GSO_NONE && off->csum == NETOFF_CSUM_VALID &&
                   (caps & NETOFF_CAP_VALID));

        if (!ok) {
            __builtin_trap();
        }
    } else if (g_in_gso && f[12] == 0x08 && f[13] == 0x00 && !netcsum_ipv4_l4_valid(f, len)) {
        __builtin_trap(); /* a segment the switch cut */
    }
    return fp->rc;
}

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

static struct vnet_switch *make_switch(uint8_t shape, uint8_t caps)
{
    static const char *const names[NPORTS - 1] = {"a.eth0", "b.eth0", "c.eth0", "edge",
                                                  "local",  "t.eth0", "nic"};
    static const enum vnet_port_kind kinds[NPORTS - 1] = {
        VNET_PORT_VNIC,  VNET_PORT_VNIC, VNET_PORT_VNIC, VNET_PORT_EDGE,
        VNET_PORT_LOCAL, VNET_PORT_VNIC, VNET_PORT_EDGE};
    struct vnet_link_config lc;
    struct vnet_switch *sw = fk_switch((shape & 1) ? 4 : 64, 1 + (shape >> 5));
    char err[128];

    if (sw == NULL) {
        __builtin_trap();
    }
    for (int i = 0; i < OFF_LO; i++) {
        uint8_t mac =
            (kinds[i] == VNET_PORT_VNIC || kinds[i] == VNET_PORT_LOCAL) && ((shape >> 1) & 1)
                ? (uint8_t)(i + 1)
                : 0;

        if (fk_add(sw, &g_ports[i], names[i], kinds[i], mac,
                   (uint32_t)((shape >> 2) & 1) * (i & 1)) < 0) {
            __builtin_trap();
        }
        g_caps[i] = 0;
    }
    /* Offload ports (a virtio guest, a virtio host NIC): tx_off with fuzzer-chosen caps. */
    for (int i = OFF_LO; i <= OFF_HI; i++) {
        struct vnet_port_config cfg = {
            .name = names[i],
            .kind = kinds[i],
            .network = (uint32_t)((shape >> 2) & 1) * (i & 1),
            .tx_off = fz_tx_off,
            .offloads = (i == OFF_LO ? caps : caps >> 3) & CAPS_ALL,
            .ctx = &g_ports[i],
        };
        uint8_t mac[VNET_MAC_LEN];

        memset(&g_ports[i], 0, sizeof(g_ports[i]));
        /* A MAC only when the table has room for a fifth static entry. */
        if (kinds[i] == VNET_PORT_VNIC && ((shape >> 1) & 1) && !(shape & 1)) {
            fk_mac(mac, (uint8_t)(i + 1));
            cfg.mac = mac;
        }
        if (vnet_port_add(sw, &cfg, &g_ports[i].port) < 0) {
            __builtin_trap();
        }
        g_caps[i] = cfg.offloads;
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

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An Ethernet (+ a tag) + IPv4 + TCP super-frame from fuzzer-chosen fields into g_super, the
 * fields a GSO frame must get right mostly right. Returns its length; *off its metadata. */
static size_t build_super(struct input *in, uint8_t kind, struct netoff *off)
{
    bool vlan = (kind & 2) != 0;
    size_t l2 = vlan ? 18 : 14;
    size_t payload = (kind & 0x80) ? take16(in) % 65496u : take16(in) % 12000u;
    size_t doff = 20 + 4 * (size_t)(take8(in) % 11);
    uint8_t *ip = g_super + l2;
    uint8_t *tcp = ip + 20;
    size_t len;
    uint8_t d = take8(in);
    uint8_t s = take8(in);

    if (payload > 65535 - 20 - doff) {
        payload = 65535 - 20 - doff;
    }
    len = l2 + 20 + doff + payload;
    fk_frame_ids(g_super, (d & 1) ? 0xff : (uint8_t)(d % 8), (uint8_t)(1 + s % 8), 14);
    if (vlan) {
        put16(g_super + 12, (kind & 4) ? 0x88A8 : 0x8100);
        put16(g_super + 14, take16(in));
    }
    put16(g_super + l2 - 2, 0x0800);
    memset(ip, 0, 20 + doff);
    ip[0] = 0x45;
    put16(ip + 2, (kind & 8) ? take16(in) : (unsigned)(len - l2));
    put16(ip + 4, take16(in));
    put16(ip + 6, (kind & 8) ? take16(in) : 0x4000);
    ip[8] = 64;
    ip[9] = (kind & 8) ? take8(in) : 6;
    memcpy(ip + 12, (const uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
    put16(tcp, take16(in));
    put16(tcp + 2, take16(in));
    put16(tcp + 4, take16(in));
    tcp[12] = (uint8_t)(doff / 4) << 4;
    tcp[13] = take8(in);
    if (!(kind & 8)) {
        tcp[13] &= (uint8_t)~0x26; /* SYN, RST, URG */
    }
    for (size_t i = 0; i < payload; i++) {
        tcp[doff + i] = (uint8_t)(i * 31);
    }
    off->gso = (kind & 16) ? take8(in) % 3 : NETOFF_GSO_TCPV4;
    off->csum = (kind & 32) ? take8(in) % 4 : NETOFF_CSUM_PARTIAL;
    off->gso_size = take16(in);
    off->csum_start = (uint16_t)(l2 + 20);
    off->csum_off = 16;
    if (kind & 64) {
        off->csum_start = take16(in);
        off->csum_off = take16(in);
    }
    return len;
}

/* A frame with offload metadata: raw bytes with any metadata, or a built super-frame. */
static void op_frame_off(struct input *in)
{
    int idx = take8(in) % NPORTS;
    struct fk_port *p = &g_ports[idx];
    uint8_t kind = take8(in);
    unsigned before = p->frames;
    const uint8_t *frame;
    struct netoff off;
    const struct netoff *use;
    size_t len;
    int rc;

    if (p->port == NULL) {
        return;
    }
    if (kind & 1) {
        len = build_super(in, kind, &off);
        frame = g_super;
    } else {
        len = take_bytes(in, take16(in) % 1700, &frame);
        off.gso = take8(in);
        off.csum = take8(in);
        off.gso_size = take16(in);
        off.csum_start = take16(in);
        off.csum_off = take16(in);
    }
    p->rc = (take8(in) & 7) == 0 ? -EAGAIN : 0;
    g_ports[OFF_LO].rc = p->rc;
    use = (kind & 0x40) && !(kind & 1) ? NULL : &off;
    g_in_gso = use != NULL && off.gso != NETOFF_GSO_NONE;
    rc = vnet_input_off(p->port, len > 0 ? frame : NULL, len, use);
    g_in_gso = false;
    if (!(rc >= 0 && rc < NPORTS) && rc != -EINVAL && rc != -EMSGSIZE && rc != -EPERM) {
        __builtin_trap();
    }
    if (p->frames != before) {
        __builtin_trap(); /* the loop rule */
    }
    g_ports[OFF_LO].rc = 0;
}

/* A built super-frame's segments arriving from the remote VTEP on the link, in order but
 * maybe with one left out (and, for some, a bit flipped): what the switch merges (GRO) for
 * tx_off ports that take TSO4, held until op 13 (vnet_flush) or other traffic flushes it. */
static void op_link_segments(struct vnet_switch *sw, struct input *in)
{
    static uint8_t dg[VNET_VXLAN_HLEN + 1522];
    uint8_t kind = (uint8_t)((take8(in) | 1) & ~0x50); /* TSO4 metadata, the usual offsets */
    struct netoff off;
    size_t len = build_super(in, kind, &off);
    size_t mss = TCPSEG_MSS_MIN + take16(in) % 1400;
    unsigned skip = take8(in);
    unsigned flip = take16(in);
    struct tcpseg seg;
    const char *why = NULL;

    if (tcpseg_prepare(g_super, len, mss, sizeof(dg) - VNET_VXLAN_HLEN, &seg, &why) != 0) {
        return;
    }
    memset(dg, 0, VNET_VXLAN_HLEN);
    dg[0] = 0x08; /* the I flag */
    dg[6] = 42;   /* VNI 42, bits 8..31 of the second word */
    for (unsigned i = 0; i < seg.count && i < 80; i++) {
        size_t n;

        if (i == skip) {
            continue;
        }
        n = tcpseg_build(&seg, g_super, i, dg + VNET_VXLAN_HLEN);
        if (flip < 8 * n && (flip & 0x8000) == 0) {
            dg[VNET_VXLAN_HLEN + flip / 8] ^= (uint8_t)(1u << (flip % 8));
        }
        (void)vnet_vxlan_demux(sw, 0x0a000002, 50000, dg, VNET_VXLAN_HLEN + n);
    }
}

static void op_offloads(struct input *in)
{
    int idx = take8(in) % NPORTS;
    unsigned caps = take8(in);
    bool has_tx_off = idx >= OFF_LO && idx <= OFF_HI;
    int rc;

    if (idx == NPORTS - 1 || g_ports[idx].port == NULL) {
        return;
    }
    caps = (caps & 0x80) ? caps : caps & CAPS_ALL;
    rc = vnet_port_set_offloads(g_ports[idx].port, caps);
    if ((rc == 0) != ((caps & ~CAPS_ALL) == 0 && (has_tx_off || caps == 0))) {
        __builtin_trap();
    }
    if (rc == 0) {
        g_caps[idx] = caps;
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
    uint8_t shape;
    uint8_t caps;

    check_parsers(data, size);
    shape = take8(&in);
    caps = take8(&in);
    sw = make_switch(shape, caps);
    add_routes(sw, take8(&in));
    for (int steps = 0; steps < 64 && in.pos < in.size; steps++) {
        uint8_t op = take8(&in);

        switch (op % 14) {
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
        case 10:
            op_frame_off(&in);
            break;
        case 11:
            op_offloads(&in);
            break;
        case 12:
            op_link_segments(sw, &in);
            break;
        case 13:
            vnet_flush(sw);
            break;
        }
    }
    vnet_switch_destroy(sw);
    if (fk_live != 0) {
        __builtin_trap();
    }
    return 0;
}
