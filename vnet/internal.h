/* The switch's internal state, shared by the vnet/ modules only (users see vnet.h). */
#ifndef PETREL_VNET_INTERNAL_H
#define PETREL_VNET_INTERNAL_H

#include "mactable.h"
#include "vnet.h"

/* Held segments of every port are emitted before the port is deleted (vnet_port_del). */
void vnet_gro_release(struct vnet_port *port);

/* The largest frame any port accepts: VNET_MTU_MAX + header + one VLAN tag. */
#define VNET_FRAME_MAX_ALL (VNET_MTU_MAX + VNET_ETH_HLEN + VNET_VLAN_HLEN)
/* Every NETOFF_CAP_* bit a port may claim. */
#define VNET_OFFLOADS_ALL (NETOFF_CAP_CSUM | NETOFF_CAP_TSO4 | NETOFF_CAP_VALID)

struct vnet_link;
struct tcpgro;

struct vnet_port {
    struct vnet_switch *sw;
    uint32_t id;
    char name[VNET_NAME_MAX];
    enum vnet_port_kind kind;
    bool has_mac;
    uint8_t mac[VNET_MAC_LEN];
    uint32_t network;
    uint16_t mtu;
    bool promisc;
    vnet_tx_fn tx;
    vnet_tx_off_fn tx_off; /* when set, frames leave through it (with metadata) instead of tx */
    unsigned offloads;     /* NETOFF_CAP_* tx_off takes as they are; 0 without tx_off */
    vnet_promisc_fn set_promisc;
    void *ctx;
    uint32_t tap_mask; /* bit i: tap i selects this port */
    struct vnet_port_counters c;
    struct vnet_link *link; /* VNET_PORT_LINK only */
    struct tcpgro *gro;     /* segments held for merging (vnet_flush); NULL until first used */
    /* The frame path's one-entry caches (a stream repeats its addresses): MAC table hints for
     * the last source learned and the last unicast destination looked up on this port (see
     * vnet_mactable_learn_hint; they check themselves), and the port that destination
     * resolved to, valid while sw->port_gen is still dst_gen. */
    int32_t src_hint;
    int32_t dst_hint;
    struct vnet_port *dst_port;
    uint32_t dst_gen;
};

struct vnet_route_entry {
    uint32_t id;
    struct vnet_route r;
    bool is_default;             /* a qualifier is NONE: tried after the ordinary routes */
    struct vnet_port *from_port; /* resolved from r.from (NULL: absent or "any") */
    struct vnet_port *to_port;   /* resolved from r.to */
    uint64_t packets;
    uint64_t bytes;
    uint64_t delivered;
};

struct vnet_tap {
    bool used;
    bool all;
    vnet_capture_fn cb;
    void *ctx;
    uint8_t nnames;
    char names[VNET_TAP_NAMES_MAX][VNET_NAME_MAX];
};

struct vnet_counters {
    uint64_t frames;
    uint64_t dropped;
    uint64_t routed;
    uint64_t bridged;
    uint64_t flooded;
    uint64_t unknown_unicast;
    uint64_t vxlan_no_link;
    uint64_t captured;
};

struct vnet_switch {
    const struct vnet_host *host;
    struct vnet_port *ports[VNET_PORTS_MAX]; /* in the order they were added */
    uint32_t nports;
    uint32_t next_port_id;
    struct vnet_route_entry routes[VNET_ROUTES_MAX];
    uint32_t nroutes;
    uint32_t next_route_id;
    struct vnet_mactable macs;
    uint32_t aging_s;
    struct vnet_tap taps[VNET_TAPS_MAX];
    uint32_t port_gen; /* changes whenever a port comes or goes: drops cached port pointers */
    unsigned depth;    /* nesting of vnet_input */
    /* Where segments and completed checksums are built for ports without offloads, one buffer
     * of VNET_FRAME_MAX_ALL bytes per nesting level (scratch[depth - 1]): a tx callback may
     * re-enter vnet_input while the segment it was given still lives in its level's buffer. */
    uint8_t *scratch[VNET_DEPTH_MAX];
    bool in_capture; /* inside a tap callback */
    struct vnet_counters n;
};

static inline uint64_t vnet_now(const struct vnet_switch *sw)
{
    return sw->host->now_ns();
}

static inline bool vnet_busy(const struct vnet_switch *sw)
{
    return sw->depth > 0 || sw->in_capture;
}

/* Writes a message into an optional error buffer. */
void vnet_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_FMT(3, 4);

/* port.c */
int vnet_port_attach(struct vnet_switch *sw, const struct vnet_port_config *cfg,
                     struct vnet_port **out);
void vnet_promisc_update(struct vnet_switch *sw);

/* route.c */
struct vnet_route_entry *vnet_route_lookup(struct vnet_switch *sw, const struct vnet_port *in,
                                           const uint8_t *src, const uint8_t *dst);
void vnet_routes_resolve(struct vnet_switch *sw);

/* capture.c */
void vnet_capture_offer(struct vnet_switch *sw, struct vnet_port *port, enum vnet_dir dir,
                        const void *frame, size_t len);
void vnet_capture_update_port(struct vnet_switch *sw, struct vnet_port *port);

/* vxlan.c */
int vnet_link_create(struct vnet_port *port, const struct vnet_link_config *cfg);
void vnet_link_destroy(struct vnet_port *port);
/* Encapsulates and sends one frame; returns VNET_DROP_COUNT when at least one datagram left,
 * otherwise the drop reason. The frame is always plain (at most VNET_FRAME_MAX_ALL bytes, its
 * checksums complete): links have no tx_off, so the switch hands them segments of a
 * super-frame one by one and completes partial checksums first (netoff_emit, caps 0). */
enum vnet_drop vnet_link_tx(struct vnet_port *port, const void *frame, size_t len);
void vnet_link_tick(struct vnet_port *port, uint64_t now);
void vnet_link_set_aging(struct vnet_port *port, uint64_t aging_ns);

#endif
