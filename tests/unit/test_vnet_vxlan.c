/* Unit tests for vnet/vxlan.c: the header codec, source ports from a flow hash, link rules,
 * encapsulation and decapsulation between two switches, head-end replication to N VTEPs,
 * remote MAC learning and unicast, bad headers, wrong VNI, unknown VTEPs, inner frame sizes,
 * outer fragmentation, UDP errors, split horizon, remote changes, aging and re-entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vnet/pcapng.h"
#include "test_vnet_fake.h"

#define SEC  1000000000ull
#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u
#define IP_C 0x0a000003u
#define IP_D 0x0a000004u

static int setup(void **state)
{
    struct vnet_switch *sw = fk_switch(0, 0);

    *state = sw;
    log_set_level(LOG_COMP_VNET, LOG_LVL_TRACE);
    return sw == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    vnet_switch_destroy(*state);
    log_set_level(LOG_COMP_VNET, LOG_LVL_INFO);
    return fk_live == 0 ? 0 : -1;
}

static struct vnet_port *link_add(struct vnet_switch *sw, const char *text)
{
    struct vnet_link_config c;
    struct vnet_port *p = NULL;
    char err[160];

    if (vnet_link_parse(text, &c, err, sizeof(err)) < 0) {
        fail_msg("parse '%s': %s", text, err);
    }
    if (vnet_link_add(sw, &c, &p, err, sizeof(err)) < 0) {
        fail_msg("add '%s': %s", text, err);
    }
    return p;
}

static int link_try(struct vnet_switch *sw, const char *text, char *err, size_t len)
{
    struct vnet_link_config c;
    int rc = vnet_link_parse(text, &c, err, len);

    return rc < 0 ? rc : vnet_link_add(sw, &c, NULL, err, len);
}

static struct vnet_link_stats link_stats(struct vnet_port *p)
{
    struct vnet_link_info info;

    assert_int_equal(vnet_link_info(p, &info), 0);
    return info.stats;
}

/* ---- codec ---------------------------------------------------------------------------------- */

static void test_header(void **state)
{
    uint8_t h[8];
    uint32_t vni = 0;

    (void)state;
    vnet_vxlan_hdr_write(h, 0x123456);
    const uint8_t want[8] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};

    assert_memory_equal(h, want, 8);
    assert_int_equal(vnet_vxlan_hdr_read(h, 8, &vni), 0);
    assert_int_equal(vni, 0x123456);
    vnet_vxlan_hdr_write(h, 0xff000001); /* only 24 bits */
    assert_int_equal(vnet_vxlan_hdr_read(h, 8, &vni), 0);
    assert_int_equal(vni, 1);
    assert_int_equal(vnet_vxlan_hdr_read(h, 7, &vni), -EINVAL);
    assert_int_equal(vnet_vxlan_hdr_read(NULL, 8, &vni), -EINVAL);
    for (int byte = 0; byte < 8; byte++) {
        if (byte >= 4 && byte <= 6) {
            continue; /* the VNI */
        }
        for (int bit = 0; bit < 8; bit++) {
            vnet_vxlan_hdr_write(h, 42);
            h[byte] ^= (uint8_t)(1 << bit);
            assert_int_equal(vnet_vxlan_hdr_read(h, 8, &vni), -EPROTO);
        }
    }
}

static size_t udp_frame(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t proto)
{
    uint8_t d[6] = {0x52, 0x54, 0, 0, 0, 2};
    uint8_t s[6] = {0x52, 0x54, 0, 0, 0, 1};

    fk_frame(f, d, s, 60);
    memset(f + 14, 0, 46);
    f[14] = 0x45;
    f[23] = proto;
    f[26] = 10;
    f[29] = 1;
    f[30] = 10;
    f[33] = 2;
    f[34] = (uint8_t)(sport >> 8);
    f[35] = (uint8_t)sport;
    f[36] = (uint8_t)(dport >> 8);
    f[37] = (uint8_t)dport;
    return 60;
}

static void test_src_port(void **state)
{
    uint8_t f[60];
    uint16_t seen[64];
    size_t distinct = 0;

    (void)state;
    for (uint16_t i = 0; i < 64; i++) {
        uint16_t p;
        bool dup = false;

        udp_frame(f, (uint16_t)(40000 + i), 80, 6);
        p = vnet_vxlan_src_port(f, 60);
        assert_true(p >= VNET_VXLAN_SPORT_MIN);
        assert_int_equal(p, vnet_vxlan_src_port(f, 60)); /* one flow, one port */
        for (size_t j = 0; j < distinct; j++) {
            dup = dup || seen[j] == p;
        }
        if (!dup) {
            seen[distinct++] = p;
        }
    }
    assert_true(distinct > 32); /* flows spread over ports */
    /* A later IP fragment (no ports) hashes without them; runts get the base port. */
    udp_frame(f, 1, 2, 17);
    f[21] = 0x10;
    assert_true(vnet_vxlan_src_port(f, 60) >= VNET_VXLAN_SPORT_MIN);
    assert_int_equal(vnet_vxlan_src_port(f, 10), VNET_VXLAN_SPORT_MIN);
    assert_true(vnet_vxlan_src_port(f, 20) >= VNET_VXLAN_SPORT_MIN); /* header only */
}

/* ---- links ------------------------------------------------------------------------------------ */

static void test_link_rules(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port a;
    struct vnet_port *l;
    struct vnet_link_info info;
    struct vnet_link_config c;
    char err[160];

    l = link_add(sw, "vx:lab2 vni 42 remote 10.0.0.2");
    assert_int_equal(vnet_port_kind(l), VNET_PORT_LINK);
    assert_ptr_equal(vnet_link_by_vni(sw, 42), l);
    assert_null(vnet_link_by_vni(sw, 43));
    assert_int_equal(vnet_link_info(l, &info), 0);
    assert_int_equal(info.cfg.dst_port, 4789);
    assert_int_equal(info.cfg.mtu, 1500);
    assert_int_equal(info.cfg.outer_mtu, 1500);
    assert_int_equal(info.port_id, vnet_port_id(l));
    assert_int_equal(link_try(sw, "vx:lab2 vni 7", err, sizeof(err)), -EEXIST);
    assert_string_equal(err, "a port named vx:lab2 exists");
    assert_int_equal(link_try(sw, "vx:x vni 42", err, sizeof(err)), -EEXIST);
    assert_string_equal(err, "VNI 42 is carried by vx:lab2 already");
    assert_int_equal(link_try(sw, "vx:x vni 1 remote 0.0.0.0", err, sizeof(err)), -EINVAL);
    assert_int_equal(link_try(sw, "vx:x vni 1 remote 127.0.0.1", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "remote 127.0.0.1: loopback");
    assert_int_equal(link_try(sw, "vx:x vni 1 remote 239.1.1.1", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "multicast groups are not supported"));
    assert_int_equal(link_try(sw, "vx:x vni 1 remote 255.255.255.255", err, sizeof(err)), -EINVAL);
    assert_int_equal(link_try(sw, "vx:x vni 1 remote 1.1.1.1,1.1.1.1", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "remote 1.1.1.1 listed twice");
    memset(&c, 0, sizeof(c));
    memcpy(c.name, "vx:y", 5);
    c.vni = VNET_VXLAN_VNI_MAX + 1;
    assert_int_equal(vnet_link_add(sw, &c, NULL, err, sizeof(err)), -EINVAL);
    c.vni = 5;
    c.mtu = 10;
    assert_int_equal(vnet_link_add(sw, &c, NULL, err, sizeof(err)), -EINVAL);
    c.mtu = 0;
    c.outer_mtu = 100;
    assert_int_equal(vnet_link_add(sw, &c, NULL, err, sizeof(err)), -EINVAL);
    c.outer_mtu = 0;
    c.nremotes = VNET_LINK_REMOTES_MAX + 1;
    assert_int_equal(vnet_link_add(sw, &c, NULL, err, sizeof(err)), -EINVAL);
    c.nremotes = 0;
    c.name[0] = '\0';
    assert_int_equal(vnet_link_add(sw, &c, NULL, err, sizeof(err)), -EINVAL);
    /* Remote VTEP edits. */
    assert_int_equal(vnet_link_remote_add(l, IP_C), 0);
    assert_int_equal(vnet_link_remote_add(l, IP_C), -EEXIST);
    assert_int_equal(vnet_link_remote_add(l, 0x7f000001), -EINVAL);
    assert_int_equal(vnet_link_remote_del(l, IP_D), -ENOENT);
    assert_int_equal(vnet_link_remote_del(l, IP_C), 0);
    for (uint32_t i = 1; i < VNET_LINK_REMOTES_MAX; i++) {
        assert_int_equal(vnet_link_remote_add(l, 0x0b000000 + i), 0);
    }
    assert_int_equal(vnet_link_remote_add(l, 0x0c000000), -ENOSPC);
    /* Not links. */
    assert_int_equal(fk_add(sw, &a, "a", VNET_PORT_VNIC, 0, 0), 0);
    assert_int_equal(vnet_link_info(a.port, &info), -EINVAL);
    assert_int_equal(vnet_link_remote_add(a.port, IP_C), -EINVAL);
    assert_int_equal(vnet_link_remote_del(a.port, IP_C), -EINVAL);
    assert_int_equal(vnet_vxlan_input(a.port, IP_B, 1, "x", 1), -EINVAL);
    assert_int_equal(vnet_link_del(sw, "a"), -EINVAL);
    assert_int_equal(vnet_link_del(sw, "nope"), -ENOENT);
    assert_int_equal(vnet_link_del(sw, "vx:lab2"), 0);
    assert_null(vnet_link_by_vni(sw, 42));
}

/* Two appliances A and B, each with a guest, joined by a link with VNI 42. */
struct pair {
    struct vnet_switch *a;
    struct vnet_switch *b;
    struct fk_port ga; /* guest on A, MAC ..:01 */
    struct fk_port gb; /* guest on B, MAC ..:02 */
    struct vnet_port *la;
    struct vnet_port *lb;
};

static void pair_init(struct pair *p, struct vnet_switch *a)
{
    struct vnet_config cfg = {0};

    p->a = a;
    assert_int_equal(vnet_switch_create(&cfg, &p->b), 0);
    assert_int_equal(fk_add(p->a, &p->ga, "ga", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(p->b, &p->gb, "gb", VNET_PORT_VNIC, 2, 0), 0);
    p->la = link_add(p->a, "vx:b vni 42 remote 10.0.0.2");
    p->lb = link_add(p->b, "vx:a vni 42 remote 10.0.0.1");
}

/* Hands every recorded datagram to `to` as if it came from src_ip. Returns how many. */
static size_t deliver_dgrams(struct vnet_switch *to, uint32_t src_ip)
{
    size_t n = fk_ndgrams;

    fk_ndgrams = 0;
    for (size_t i = 0; i < n && i < FK_DGRAMS; i++) {
        vnet_vxlan_demux(to, src_ip, fk_dgrams[i].sport, fk_dgrams[i].data, fk_dgrams[i].len);
    }
    return n;
}

static void test_roundtrip_and_learning(void **state)
{
    struct pair p;
    uint8_t f[200];
    uint32_t vni;

    pair_init(&p, *state);
    /* A's guest broadcasts: one datagram to 10.0.0.2:4789. */
    fk_frame_ids(f, 0xff, 1, 200);
    assert_int_equal(vnet_input(p.ga.port, f, 200), 1);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, IP_B);
    assert_int_equal(fk_dgrams[0].dport, 4789);
    assert_true(fk_dgrams[0].sport >= VNET_VXLAN_SPORT_MIN);
    assert_int_equal(fk_dgrams[0].sport, vnet_vxlan_src_port(f, 200));
    assert_int_equal(fk_dgrams[0].len, 208);
    assert_int_equal(vnet_vxlan_hdr_read(fk_dgrams[0].data, 208, &vni), 0);
    assert_int_equal(vni, 42);
    assert_memory_equal(fk_dgrams[0].data + 8, f, 200);
    assert_int_equal(deliver_dgrams(p.b, IP_A), 1);
    assert_int_equal(p.gb.frames, 1);
    assert_int_equal(p.gb.last_len, 200);
    assert_memory_equal(p.gb.last, f, 200);
    /* B learned 01 behind the link (switch) and behind 10.0.0.1 (link). */
    struct vnet_link_stats st = link_stats(p.lb);

    assert_int_equal(st.rx_datagrams, 1);
    assert_int_equal(st.rx_frames, 1);
    assert_int_equal(st.remote_learned, 1);
    /* B's guest answers by unicast: one datagram back, and it reaches A's guest only. */
    fk_frame_ids(f, 1, 2, 100);
    assert_int_equal(vnet_input(p.gb.port, f, 100), 1);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, IP_A);
    st = link_stats(p.lb);
    assert_int_equal(st.tx_unicast, 1);
    assert_int_equal(deliver_dgrams(p.a, IP_B), 1);
    assert_int_equal(p.ga.frames, 1);
    assert_memory_equal(p.ga.last, f, 100);
    st = link_stats(p.la);
    assert_int_equal(st.tx_frames, 1);
    assert_int_equal(st.tx_replicated, 1);
    assert_int_equal(st.tx_datagrams, 1);
    vnet_switch_destroy(p.b);
}

static void test_head_end_replication(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *l;
    uint8_t f[64];
    uint8_t dg[80];

    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    l = link_add(sw, "vx:many vni 7 remote 10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5 dstport 8472");
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(g.port, f, 64), 1);
    assert_int_equal(fk_ndgrams, 4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(fk_dgrams[i].ip, IP_B + i);
        assert_int_equal(fk_dgrams[i].dport, 8472);
        assert_int_equal(fk_dgrams[i].sport, fk_dgrams[0].sport);
        assert_memory_equal(fk_dgrams[i].data + 8, f, 64);
    }
    /* Unknown unicast is replicated too. */
    fk_ndgrams = 0;
    fk_frame_ids(f, 0x33, 1, 64);
    vnet_input(g.port, f, 64);
    assert_int_equal(fk_ndgrams, 4);
    /* Station 33 answers from 10.0.0.4: from then on, unicast to it goes there only. */
    vnet_vxlan_hdr_write(dg, 7);
    fk_frame_ids(dg + 8, 1, 0x33, 64);
    assert_int_equal(vnet_vxlan_input(l, IP_D, 50000, dg, 72), 1);
    assert_int_equal(g.frames, 1);
    fk_ndgrams = 0;
    vnet_input(g.port, f, 64);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, IP_D);
    /* It moves behind 10.0.0.5. */
    assert_int_equal(vnet_vxlan_input(l, 0x0a000005, 50000, dg, 72), 1);
    fk_ndgrams = 0;
    vnet_input(g.port, f, 64);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, 0x0a000005);
    assert_int_equal(link_stats(l).remote_moved, 1);
    /* Removing that remote forgets the station: replicated again (to the 3 left). */
    assert_int_equal(vnet_link_remote_del(l, 0x0a000005), 0);
    fk_ndgrams = 0;
    vnet_input(g.port, f, 64);
    assert_int_equal(fk_ndgrams, 3);
    /* Remote entries age like the switch's. */
    assert_int_equal(vnet_vxlan_input(l, IP_D, 50000, dg, 72), 1);
    fk_now += 301 * SEC;
    vnet_tick(sw);
    struct vnet_link_info info;

    vnet_link_info(l, &info);
    assert_int_equal(info.remote_macs, 0);
}

static void test_decap_errors(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *l;
    uint8_t dg[2000];
    struct vnet_stats st;

    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    l = link_add(sw, "vx:l vni 100 remote 10.0.0.2 mtu 1450");
    vnet_vxlan_hdr_write(dg, 100);
    fk_frame_ids(dg + 8, 0xff, 0x44, 100);
    /* Short and bad headers. */
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 7), -EPROTO);
    dg[0] = 0x0c;
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 108), -EPROTO);
    dg[0] = 0x08;
    dg[7] = 1;
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 108), -EPROTO);
    dg[7] = 0;
    assert_int_equal(fk_drops(l, VNET_DROP_VXLAN_HDR), 3);
    /* Another VNI. */
    vnet_vxlan_hdr_write(dg, 101);
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 108), -ENOENT);
    assert_int_equal(fk_drops(l, VNET_DROP_VXLAN_VNI), 1);
    assert_int_equal(vnet_vxlan_demux(sw, IP_B, 1, dg, 108), -ENOENT);
    assert_int_equal(vnet_vxlan_demux(sw, IP_B, 1, dg, 3), -EPROTO);
    vnet_stats_get(sw, &st);
    assert_int_equal(st.vxlan_no_link, 2);
    /* An unknown VTEP. */
    vnet_vxlan_hdr_write(dg, 100);
    assert_int_equal(vnet_vxlan_input(l, IP_C, 1, dg, 108), -EPERM);
    assert_int_equal(fk_drops(l, VNET_DROP_VXLAN_VTEP), 1);
    assert_int_equal(g.frames, 0);
    /* Inner runts and giants (the link's MTU is 1450: inner frames up to 1464). */
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 8), -EINVAL);
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 21), -EINVAL);
    assert_int_equal(fk_drops(l, VNET_DROP_RUNT), 2);
    fk_frame_ids(dg + 8, 0xff, 0x44, 1465);
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 8 + 1465), -EMSGSIZE);
    assert_int_equal(fk_drops(l, VNET_DROP_GIANT), 1);
    assert_int_equal(link_stats(l).remote_learned, 0); /* nothing learned from bad frames */
    assert_int_equal(vnet_vxlan_input(l, IP_B, 1, dg, 8 + 1464), 1);
    assert_int_equal(g.frames, 1);
    assert_int_equal(link_stats(l).remote_learned, 1);
    assert_int_equal(link_stats(l).rx_datagrams, 9);
    /* A guest's full-size frame is too big for this link. */
    fk_frame_ids(dg, 0xff, 1, 1514);
    assert_int_equal(vnet_input(g.port, dg, 1514), 0);
    assert_int_equal(fk_drops(l, VNET_DROP_TOO_BIG), 1);
}

static void test_accept_any(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *l;
    uint8_t dg[100];
    uint8_t f[64];

    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    l = link_add(sw, "vx:open vni 5 accept-any");
    vnet_vxlan_hdr_write(dg, 5);
    fk_frame_ids(dg + 8, 1, 0x50, 64);
    assert_int_equal(vnet_vxlan_demux(sw, IP_C, 1, dg, 72), 1);
    assert_int_equal(g.frames, 1);
    /* The answer goes to the learned VTEP although it is not configured. */
    fk_frame_ids(f, 0x50, 1, 64);
    assert_int_equal(vnet_input(g.port, f, 64), 1);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, IP_C);
    /* Floods have no remote to go to. */
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(g.port, f, 64), 0);
    assert_int_equal(fk_drops(l, VNET_DROP_NO_REMOTE), 1);
}

static void test_fragmentation_policy(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *frag;
    struct vnet_port *nofrag;
    uint8_t f[1514];

    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    frag = link_add(sw, "vx:frag vni 1 remote 10.0.0.2");
    nofrag = link_add(sw, "vx:nofrag vni 2 remote 10.0.0.3 nofrag");
    /* 1464 bytes inner + 36 = 1500: fits the outer MTU. */
    fk_frame_ids(f, 0xff, 1, 1464);
    assert_int_equal(vnet_input(g.port, f, 1464), 2);
    assert_int_equal(link_stats(frag).tx_fragmented, 0);
    /* 1465: the host must fragment the outer packet; nofrag refuses. */
    assert_int_equal(vnet_input(g.port, f, 1465), 1);
    assert_int_equal(link_stats(frag).tx_fragmented, 1);
    assert_int_equal(fk_drops(nofrag, VNET_DROP_FRAG), 1);
    fk_frame_ids(f, 0xff, 1, 1514);
    assert_int_equal(vnet_input(g.port, f, 1514), 1);
    assert_int_equal(fk_dgrams[fk_ndgrams - 1].len, 1522);
}

/* The MTU a network carried by links offers new ports: underlay - 50 (or the link's own MTU
 * when smaller), the smallest over its links; 1500 without links. A port given it sends
 * full-size frames that cross without outer fragmentation, and a longer frame is a giant. */
static void test_network_mtu(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *l7;
    uint8_t f[1514];

    assert_int_equal(vnet_network_mtu(sw, 0), VNET_MTU_DEFAULT);
    assert_int_equal(vnet_network_mtu(sw, 7), VNET_MTU_DEFAULT);
    l7 = link_add(sw, "vx:a vni 1 remote 10.0.0.2 network 7");
    assert_int_equal(vnet_network_mtu(sw, 7), 1450);
    assert_int_equal(vnet_network_mtu(sw, 0), VNET_MTU_DEFAULT);
    link_add(sw, "vx:b vni 2 remote 10.0.0.3 network 7 outer-mtu 1400");
    assert_int_equal(vnet_network_mtu(sw, 7), 1350);
    assert_int_equal(vnet_link_del(sw, "vx:b"), 0);
    assert_int_equal(vnet_network_mtu(sw, 7), 1450);
    /* The link's own MTU when it is the smaller. */
    link_add(sw, "vx:c vni 3 remote 10.0.0.3 network 8 mtu 1000");
    assert_int_equal(vnet_network_mtu(sw, 8), 1000);
    /* A jumbo underlay: the link's MTU (1500 by default) bounds it... */
    link_add(sw, "vx:d vni 4 remote 10.0.0.3 network 9 outer-mtu 9000");
    assert_int_equal(vnet_network_mtu(sw, 9), VNET_MTU_DEFAULT);
    /* ... unless the link carries jumbo frames too. */
    link_add(sw, "vx:e vni 5 remote 10.0.0.4 network 10 mtu 9000 outer-mtu 9000");
    assert_int_equal(vnet_network_mtu(sw, 10), 8950);
    /* Moving the link moves its bound. */
    assert_int_equal(vnet_port_set_network(l7, 11), 0);
    assert_int_equal(vnet_network_mtu(sw, 7), VNET_MTU_DEFAULT);
    assert_int_equal(vnet_network_mtu(sw, 11), 1450);

    /* A port on network 11 with that MTU: 1450 + 14 bytes cross whole, one more is a giant. */
    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 11), 0);
    assert_int_equal(vnet_port_set_mtu(g.port, vnet_network_mtu(sw, 11)), 0);
    assert_int_equal(vnet_port_mtu(g.port), 1450);
    fk_frame_ids(f, 0xff, 1, 1464);
    assert_int_equal(vnet_input(g.port, f, 1464), 1);
    assert_int_equal(link_stats(l7).tx_fragmented, 0);
    assert_int_equal(fk_dgrams[fk_ndgrams - 1].len, 1464 + VNET_VXLAN_HLEN);
    assert_int_equal(vnet_input(g.port, f, 1465), -EMSGSIZE);
    assert_int_equal(fk_drops(g.port, VNET_DROP_GIANT), 1);
    assert_int_equal(link_stats(l7).tx_frames, 1);
}

static void test_udp_errors(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct vnet_port *l;
    uint8_t f[64];

    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    l = link_add(sw, "vx:l vni 1 remote 10.0.0.2,10.0.0.3");
    fk_frame_ids(f, 0xff, 1, 64);
    fk_udp_rc = -EAGAIN;
    assert_int_equal(vnet_input(g.port, f, 64), 0);
    assert_int_equal(fk_drops(l, VNET_DROP_TX_BUSY), 1);
    fk_udp_rc = -EIO;
    assert_int_equal(vnet_input(g.port, f, 64), 0);
    assert_int_equal(fk_drops(l, VNET_DROP_TX_ERROR), 1);
    assert_int_equal(link_stats(l).udp_errors, 4);
    assert_int_equal(link_stats(l).tx_frames, 0);
    fk_udp_rc = 0;
    assert_int_equal(vnet_input(g.port, f, 64), 1);
    assert_int_equal(link_stats(l).tx_frames, 1);
}

static void test_no_udp_send(void **state)
{
    struct vnet_host host = fk_host;
    struct vnet_switch *sw;
    struct fk_port g;
    struct vnet_port *l;
    uint8_t f[64];

    (void)state;
    host.udp_send = NULL;
    vnet_host_set(&host);
    assert_int_equal(vnet_switch_create(NULL, &sw), 0);
    vnet_host_set(&fk_host);
    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    l = link_add(sw, "vx:l vni 1 remote 10.0.0.2");
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(g.port, f, 64), 0);
    assert_int_equal(fk_drops(l, VNET_DROP_TX_ERROR), 1);
    vnet_switch_destroy(sw);
}

static void test_split_horizon_and_promisc(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    struct fk_port edge;
    struct vnet_port *l1;
    struct vnet_port *l2;
    uint8_t dg[100];

    assert_int_equal(fk_add(sw, &edge, "edge", VNET_PORT_EDGE, 0, 0), 0);
    assert_false(edge.promisc);
    l1 = link_add(sw, "vx:1 vni 1 remote 10.0.0.2");
    assert_true(edge.promisc); /* remote stations share the edge's network */
    l2 = link_add(sw, "vx:2 vni 2 remote 10.0.0.3");
    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    vnet_vxlan_hdr_write(dg, 1);
    fk_frame_ids(dg + 8, 0xff, 0x60, 64);
    assert_int_equal(vnet_vxlan_input(l1, IP_B, 1, dg, 72), 2); /* edge and g, not vx:2 */
    assert_int_equal(fk_ndgrams, 0);
    assert_int_equal(g.frames, 1);
    assert_int_equal(edge.frames, 1);
    /* An explicit route may still send link to link. */
    struct vnet_route r;
    char err[128];

    assert_int_equal(vnet_route_parse("from vx:1 link vx:2", &r, err, sizeof(err)), 0);
    assert_int_equal(vnet_route_add(sw, &r, -1, NULL, err, sizeof(err)), 0);
    assert_int_equal(vnet_vxlan_input(l1, IP_B, 1, dg, 72), 1);
    assert_int_equal(fk_ndgrams, 1);
    assert_int_equal(fk_dgrams[0].ip, IP_C);
    assert_int_equal(vnet_link_del(sw, "vx:1"), 0);
    assert_int_equal(vnet_link_del(sw, "vx:2"), 0);
    (void)l2;
    assert_true(edge.promisc); /* g is still there */
}

/* udp_send that feeds the frame back into the switch: a loop through the host. */
static struct vnet_port *g_loop_port;

static int udp_loops(void *ctx, uint32_t ip, uint16_t dport, uint16_t sport, const void *buf,
                     size_t len)
{
    (void)ctx;
    (void)ip;
    (void)dport;
    (void)sport;
    if (len > VNET_VXLAN_HLEN) {
        (void)vnet_input(g_loop_port, (const uint8_t *)buf + VNET_VXLAN_HLEN,
                         len - VNET_VXLAN_HLEN);
    }
    return 0;
}

static void test_reentry(void **state)
{
    struct vnet_host host = fk_host;
    struct vnet_switch *sw;
    struct fk_port g;
    struct fk_port h;
    struct vnet_port *l;
    uint8_t f[64];

    (void)state;
    host.udp_send = udp_loops;
    vnet_host_set(&host);
    assert_int_equal(vnet_switch_create(NULL, &sw), 0);
    vnet_host_set(&fk_host);
    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &h, "h", VNET_PORT_VNIC, 2, 0), 0);
    l = link_add(sw, "vx:l vni 1 remote 10.0.0.2");
    g_loop_port = h.port;
    fk_frame_ids(f, 0xff, 1, 64);
    assert_int_equal(vnet_input(g.port, f, 64), 2);
    /* The copy that came back in on h flooded to g and the link, which was busy. */
    assert_int_equal(fk_drops(l, VNET_DROP_DEPTH), 1);
    assert_int_equal(g.frames, 1);
    vnet_switch_destroy(sw);
}

/* Wraps a recorded datagram in Ethernet/IPv4/UDP (as lwIP would) and checks that tshark
 * decodes it as VXLAN with our VNI and the inner frame. */
static size_t outer_frame(uint8_t *o, const struct fk_dgram *d, uint32_t src_ip)
{
    const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x0b};
    const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x0a};
    size_t ip_len = 20 + 8 + d->len;
    uint32_t sum = 0;

    memcpy(o, dmac, 6);
    memcpy(o + 6, smac, 6);
    o[12] = 0x08;
    o[13] = 0x00;
    uint8_t *ip = o + 14;

    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(ip_len >> 8);
    ip[3] = (uint8_t)ip_len;
    ip[8] = 64;
    ip[9] = 17;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src_ip >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(d->ip >> (24 - 8 * i));
    }
    for (int i = 0; i < 20; i += 2) {
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10] = (uint8_t)(~sum >> 8);
    ip[11] = (uint8_t)~sum;
    uint8_t *udp = ip + 20;

    udp[0] = (uint8_t)(d->sport >> 8);
    udp[1] = (uint8_t)d->sport;
    udp[2] = (uint8_t)(d->dport >> 8);
    udp[3] = (uint8_t)d->dport;
    udp[4] = (uint8_t)((8 + d->len) >> 8);
    udp[5] = (uint8_t)(8 + d->len);
    udp[6] = 0; /* no checksum (allowed for IPv4, as RFC 7348 recommends) */
    udp[7] = 0;
    memcpy(udp + 8, d->data, d->len);
    return 14 + ip_len;
}

static void test_tshark_decodes(void **state)
{
    struct vnet_switch *sw = *state;
    struct fk_port g;
    static uint8_t out[2048];
    static uint8_t blk[4096];
    uint8_t f[98];
    char path[] = "/tmp/petrel-vxlan-XXXXXX";
    char cmd[512];
    char line[256] = "";
    struct vnet_capture_pkt pkt = {.port_id = 1, .port_name = "wire", .dir = VNET_DIR_OUT};
    struct vnet_pcapng_writer w;
    FILE *fp;
    int fd;
    int n;

    if (access("/usr/bin/tshark", X_OK) != 0) {
        skip();
    }
    assert_int_equal(fk_add(sw, &g, "g", VNET_PORT_VNIC, 1, 0), 0);
    link_add(sw, "vx:lab2 vni 4242 remote 10.0.0.2");
    fk_frame_ids(f, 0xff, 1, sizeof(f));
    assert_int_equal(vnet_input(g.port, f, sizeof(f)), 1);
    assert_int_equal(fk_ndgrams, 1);
    pkt.frame = out;
    pkt.len = outer_frame(out, &fk_dgrams[0], IP_A);
    vnet_pcapng_writer_init(&w, 0);
    n = vnet_pcapng_write(&w, blk, sizeof(blk), &pkt);
    assert_true(n > 0);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(blk, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -E separator=, -E occurrence=l -e vxlan.vni "
             "-e vxlan.flags -e udp.dstport -e eth.src -e frame.len 2>/dev/null",
             path);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    pclose(fp);
    unlink(path);
    line[strcspn(line, "\n")] = '\0';
    /* Inner source MAC, and the outer frame is 98 + 50 bytes. */
    assert_string_equal(line, "4242,0x0800,4789,52:54:00:00:00:01,148");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_src_port),
        cmocka_unit_test_setup_teardown(test_link_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_and_learning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_end_replication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decap_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragmentation_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_mtu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_udp_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_horizon_and_promisc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tshark_decodes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
