/* libFuzzer target for VXLAN decapsulation: random UDP payloads from random sources given to
 * vnet_vxlan_demux and vnet_vxlan_input of a switch with two links (one open to any VTEP),
 * guests and an edge; and encapsulation round trips: a guest's frame sent by switch A over
 * its link must come out of switch B's guest unchanged.
 *
 * Beyond ASan/UBSan/LSan it traps when a promise breaks: an undocumented return value, an
 * accepted datagram with a bad header, a delivered inner frame that is not the payload after
 * the 8-byte header, a round trip that changes or loses the frame, or leaked memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test_vnet_fake.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

#define IP_A 0x0a000001u
#define IP_B 0x0a000002u

static const uint32_t g_sources[4] = {IP_A, IP_B, 0x0a000003u, 0xc0a80001u};

static struct vnet_port *link_add(struct vnet_switch *sw, const char *text)
{
    struct vnet_link_config c;
    struct vnet_port *p = NULL;
    char err[128];

    if (vnet_link_parse(text, &c, err, sizeof(err)) < 0 ||
        vnet_link_add(sw, &c, &p, err, sizeof(err)) < 0) {
        __builtin_trap();
    }
    return p;
}

static void decap(const uint8_t *data, size_t size)
{
    struct vnet_switch *sw = fk_switch(16, 300);
    struct fk_port g1;
    struct fk_port g2;
    struct fk_port edge;
    struct vnet_port *closed;
    struct vnet_port *open;
    size_t pos = 0;

    if (sw == NULL || fk_add(sw, &g1, "g1", VNET_PORT_VNIC, 1, 0) < 0 ||
        fk_add(sw, &g2, "g2", VNET_PORT_VNIC, 2, 1) < 0 ||
        fk_add(sw, &edge, "edge", VNET_PORT_EDGE, 0, 0) < 0) {
        __builtin_trap();
    }
    closed = link_add(sw, "vx:closed vni 42 remote 10.0.0.1,10.0.0.2");
    open = link_add(sw, "vx:open vni 43 network 1 mtu 1450 accept-any");
    /* Chunks: [len lo][len hi][source and mode][payload...] */
    while (pos + 3 <= size) {
        size_t len = (size_t)(data[pos] | (data[pos + 1] << 8)) % 2048;
        uint8_t mode = data[pos + 2];
        const uint8_t *payload = data + pos + 3;
        uint32_t vni = 0;
        unsigned counts[3] = {g1.frames, g2.frames, edge.frames};
        int hdr;
        int rc;

        pos += 3;
        len = len < size - pos ? len : size - pos;
        pos += len;
        hdr = vnet_vxlan_hdr_read(payload, len, &vni);
        switch (mode & 3) {
        case 0:
            rc = vnet_vxlan_demux(sw, g_sources[(mode >> 2) & 3], 50000, payload, len);
            break;
        case 1:
            rc = vnet_vxlan_input(closed, g_sources[(mode >> 2) & 3], 50000, payload, len);
            break;
        default:
            rc = vnet_vxlan_input(open, g_sources[(mode >> 2) & 3], 50000, payload, len);
            break;
        }
        if (rc >= 0 && hdr != 0) {
            __builtin_trap(); /* a bad header got through */
        }
        if (rc < -1000 || rc > 3) {
            __builtin_trap();
        }
        if (rc > 0) {
            struct fk_port *ports[3] = {&g1, &g2, &edge};
            unsigned got = 0;

            for (int k = 0; k < 3; k++) {
                if (ports[k]->frames == counts[k]) {
                    continue;
                }
                got += ports[k]->frames - counts[k];
                if (ports[k]->last_len != len - 8 ||
                    memcmp(ports[k]->last, payload + 8, len - 8) != 0) {
                    __builtin_trap(); /* the inner frame must arrive unchanged */
                }
            }
            if (got != (unsigned)rc) {
                __builtin_trap();
            }
        }
        fk_now += (uint64_t)(mode >> 4) * 30000000000ull;
        vnet_tick(sw);
    }
    vnet_switch_destroy(sw);
}

static void roundtrip(const uint8_t *data, size_t size)
{
    struct vnet_switch *a = fk_switch(16, 300);
    struct vnet_switch *b;
    struct vnet_config cfg = {0};
    struct fk_port ga;
    struct fk_port gb;
    uint8_t frame[1514];
    size_t len = size < sizeof(frame) ? size : sizeof(frame);
    int rc;

    if (a == NULL || vnet_switch_create(&cfg, &b) < 0 ||
        fk_add(a, &ga, "ga", VNET_PORT_VNIC, 0, 0) < 0 ||
        fk_add(b, &gb, "gb", VNET_PORT_VNIC, 0, 0) < 0) {
        __builtin_trap();
    }
    link_add(a, "vx:b vni 7 remote 10.0.0.2");
    link_add(b, "vx:a vni 7 remote 10.0.0.1");
    memcpy(frame, data, len);
    rc = vnet_input(ga.port, frame, len);
    if (rc == 1) {
        /* It went out as one datagram (A knows nothing yet: head-end replication to B). */
        if (fk_ndgrams != 1 || fk_dgrams[0].len != len + 8 || fk_dgrams[0].ip != IP_B ||
            memcmp(fk_dgrams[0].data + 8, frame, len) != 0) {
            __builtin_trap();
        }
        rc = vnet_vxlan_demux(b, IP_A, fk_dgrams[0].sport, fk_dgrams[0].data, fk_dgrams[0].len);
        if (rc != 1 || gb.frames != 1 || gb.last_len != len || memcmp(gb.last, frame, len) != 0) {
            __builtin_trap();
        }
    } else if (rc == 0) {
        if (fk_ndgrams != 0) {
            __builtin_trap(); /* filtered (a frame to its own source) yet sent */
        }
    } else if (rc != -EINVAL && rc != -EMSGSIZE) {
        __builtin_trap();
    }
    vnet_switch_destroy(b);
    vnet_switch_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decap(data, size);
    roundtrip(data, size);
    if (fk_live != 0) {
        __builtin_trap();
    }
    return 0;
}
