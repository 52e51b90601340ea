/* VNET: the appliance's overlay switch. Public API for everything that plugs into it.
 *
 * OS-independent: reaches the host only through struct vnet_host (host.h). Single-threaded:
 * every function is called from the main loop (never from an interrupt handler), and none of
 * them blocks. All state lives in struct vnet_switch; the one global is the optional default
 * switch (vnet_default) that console commands and petrel.conf use.
 *
 * Model (docs/vnet.md has the full story):
 *   - A PORT is where frames enter and leave: `vnic` (a guest NIC), `edge` (the host NIC),
 *     `local` (the appliance's lwIP netif) or `link` (a VXLAN tunnel, vnet_link_add). Each has
 *     a unique name ("linux.eth0", "edge", "local", "vx:lab2"), an id that is never reused, a
 *     network, an IP MTU (frames up to mtu + 14 bytes, + 4 with a VLAN tag), counters, and a
 *     tx callback that takes frames leaving the switch through it.
 *   - A NETWORK (uint32, default 0) is a broadcast domain: learning and flooding never cross
 *     networks. Explicit routes may.
 *   - vnet_input is the only entry for frames (vnet_input_off: the same with offload metadata,
 *     kernel/lib/netoff.h). A frame is checked (runt, giant, bad source),
 *     its source MAC is learned, then the ROUTE TABLE decides (first matching route wins); if
 *     no route matches, the LEARNING BRIDGE of the ingress port's network does: a known
 *     unicast destination goes to its port, everything else floods the network. A frame never
 *     leaves through the port it came in on. Frames from a link are not flooded to other links
 *     (split horizon, so meshes of appliances do not loop).
 *   - OFFLOADS: a frame may carry metadata (a TCP/IPv4 super-frame to be segmented, a
 *     checksum left partial, a checksum vouched for). It travels with the frame to every port
 *     whose tx_off takes it (`offloads`); every other port gets what netoff_emit makes of it:
 *     segments of at most its MTU, completed checksums, plain frames.
 *   - CAPTURE taps see every frame entering or leaving the ports they select: entering as it
 *     came in (a super-frame whole), leaving as each port got it (segments, one by one).
 *
 * Re-entrancy: a tx callback may call vnet_input again (lwIP answering an ARP request at once,
 * a VXLAN datagram leaving through the local port); nesting deeper than VNET_DEPTH_MAX drops
 * the frame (counted). Callbacks must not add or delete ports or taps (-EBUSY). */
#ifndef PETREL_VNET_H
#define PETREL_VNET_H

#include "frame.h"
#include "host.h"
#include "../kernel/lib/netoff.h"

#define VNET_NAME_MAX        32 /* port names: 1..31 of [A-Za-z0-9._:-] */
#define VNET_PORTS_MAX       64
#define VNET_ROUTES_MAX      256
#define VNET_TAPS_MAX        8
#define VNET_TAP_NAMES_MAX   16 /* port names one tap may select */
#define VNET_DEPTH_MAX       4
#define VNET_MTU_DEFAULT     1500
#define VNET_MTU_MIN         68
#define VNET_MTU_MAX         9000
#define VNET_AGING_DEFAULT_S 300
#define VNET_AGING_MAX_S     1000000
#define VNET_MACS_DEFAULT    1024
#define VNET_MACS_MAX        65536

struct vnet_switch;
struct vnet_port;

/* ---- the switch ------------------------------------------------------------------------ */

struct vnet_config {
    uint32_t mac_table_size; /* learning bridge entries, all networks; 0 = VNET_MACS_DEFAULT */
    uint32_t aging_s;        /* MAC aging; 0 = VNET_AGING_DEFAULT_S */
};

/* Creates a switch using the host installed by vnet_host_set. cfg NULL = defaults.
 * Returns 0, -EINVAL (no host, bad config) or -ENOMEM. */
int vnet_switch_create(const struct vnet_config *cfg, struct vnet_switch **out);
/* Deletes every port (links included), route and tap, then the switch. */
void vnet_switch_destroy(struct vnet_switch *sw);

/* The optional default instance, for the console and petrel.conf. NULL until set. */
void vnet_set_default(struct vnet_switch *sw);
struct vnet_switch *vnet_default(void);

/* MAC aging time, 1..VNET_AGING_MAX_S seconds (applies to VXLAN remote learning too). */
int vnet_set_aging(struct vnet_switch *sw, uint32_t seconds);
/* Removes expired MAC entries; call about once a second (lookups also skip expired entries,
 * so this only bounds how long stale entries are listed and occupy room). */
void vnet_tick(struct vnet_switch *sw);
/* Receive coalescing (GRO): plain TCP/IPv4 segments a VXLAN link brings for a port that takes
 * super-frames (NETOFF_CAP_TSO4) are held and merged (kernel/lib/tcpgro.h) into one super-
 * frame per run of a flow's in-order segments. vnet_flush hands on what is held; the host
 * calls it after each burst of input (on Petrel: every main-loop pass and busy poll). A no-op
 * inside a callback. */
void vnet_flush(struct vnet_switch *sw);

/* ---- ports ----------------------------------------------------------------------------- */

enum vnet_port_kind {
    VNET_PORT_VNIC,  /* a guest NIC (vmm/devices) */
    VNET_PORT_EDGE,  /* the host NIC: promiscuous while a guest shares its network */
    VNET_PORT_LOCAL, /* the appliance's own lwIP netif */
    VNET_PORT_LINK,  /* an overlay tunnel; created only by vnet_link_add */
    VNET_PORT_KIND_COUNT
};

/* Why a frame was dropped. Ingress reasons count on the port the frame came in on; egress
 * reasons on the port it would have left through. */
#define VNET_DROPS(X)                                                                              \
    X(RUNT, runt)             /* in: shorter than 14 bytes */                                      \
    X(GIANT, giant)           /* in: longer than the port's MTU allows */                          \
    X(BAD_SRC, bad_src)       /* in: source MAC multicast, broadcast or zero */                    \
    X(ROUTE, route_drop)      /* in: a route with action drop matched */                           \
    X(DST_DOWN, dst_down)     /* in: the matched route's destination port does not exist */        \
    X(LOOP, loop)             /* in: the matched route points back at the ingress port */          \
    X(SAME_PORT, same_port)   /* in: the destination MAC was learned on the ingress port */        \
    X(NO_DEST, no_dest)       /* in: flooding found no other port in the network */                \
    X(DEPTH, depth)           /* in: nested too deep; out: a link re-entered while sending */      \
    X(TOO_BIG, too_big)       /* out: longer than its MTU allows (super-frame: its segments) */    \
    X(TX_BUSY, tx_busy)       /* out: tx returned -EAGAIN */                                       \
    X(TX_ERROR, tx_error)     /* out: tx failed otherwise */                                       \
    X(VXLAN_HDR, vxlan_hdr)   /* link in: VXLAN header short, I flag clear or reserved bits set */ \
    X(VXLAN_VNI, vxlan_vni)   /* link in: the VNI is not the link's */                             \
    X(VXLAN_VTEP, vxlan_vtep) /* link in: source VTEP not configured (accept_any off) */           \
    X(NO_REMOTE, no_remote)   /* link out: no remote VTEP to send to */                            \
    X(FRAG, frag)             /* link out: would need outer IP fragmentation, link forbids it */   \
    X(OFFLOAD, offload)       /* in: offload metadata that does not fit the frame (netoff_check) */

enum vnet_drop {
#define VNET_DROP_ENUM(up, low) VNET_DROP_##up,
    VNET_DROPS(VNET_DROP_ENUM)
#undef VNET_DROP_ENUM
        VNET_DROP_COUNT
};

struct vnet_port_counters {
    uint64_t rx_packets; /* frames given to vnet_input on this port (dropped ones too); a
                            super-frame counts once, with all its bytes */
    uint64_t rx_bytes;
    uint64_t tx_packets; /* frames its tx took (each segment of a super-frame split for it) */
    uint64_t tx_bytes;
    uint64_t gso_in;      /* GSO super-frames given to vnet_input_off on it (dropped ones too) */
    uint64_t gso_split;   /* super-frames it could not take whole and got as segments */
    uint64_t csum_filled; /* partial checksums (no GSO) the switch completed for it */
    uint64_t gro_merged;  /* segments from a link it got merged into super-frames (GRO) */
    uint64_t drops[VNET_DROP_COUNT];
};

/* Called for each frame leaving the switch through the port. The frame is only valid during
 * the call (copy it). Returns 0, -EAGAIN when the port cannot take it now (counted tx_busy;
 * the switch does not retry), or another negative errno (counted tx_error). */
typedef int (*vnet_tx_fn)(struct vnet_port *port, const void *frame, size_t len);
/* The same with offload metadata (kernel/lib/netoff.h): off is NULL for a plain frame, else
 * only what the port's offloads (NETOFF_CAP_*) cover; frames needing more were segmented or
 * completed by the switch first. A super-frame (up to NETOFF_FRAME_MAX bytes) comes only to a
 * port with NETOFF_CAP_TSO4, each of its segments fitting the port's MTU. */
typedef int (*vnet_tx_off_fn)(struct vnet_port *port, const void *frame, size_t len,
                              const struct netoff *off);
/* Edge ports: turn promiscuous reception on or off (see vnet_port_config). */
typedef int (*vnet_promisc_fn)(struct vnet_port *port, bool on);

struct vnet_port_config {
    const char *name;
    enum vnet_port_kind kind; /* not VNET_PORT_LINK */
    /* The port's own station address (vnic and local only; NULL for edge). It is installed
     * as a static MAC entry, so frames reach the port before it has sent anything, and a
     * frame from another port with this source MAC cannot steal it (counted as a conflict). */
    const uint8_t *mac;
    uint32_t network;
    uint16_t mtu;  /* IP MTU; 0 = VNET_MTU_DEFAULT */
    vnet_tx_fn tx; /* required unless tx_off is given */
    /* Optional: when given, every frame leaves through it instead of tx. `offloads` says what
     * metadata it takes as it is (NETOFF_CAP_*; vnet_port_set_offloads changes it later, e.g.
     * when a guest's driver negotiates its features); 0 = plain frames only. */
    vnet_tx_off_fn tx_off;
    unsigned offloads;
    /* Edge ports: called with true when the first vnic or link port joins the edge's network
     * (guests' and remote stations' MACs must then be received), with false when the last
     * one leaves. Optional. */
    vnet_promisc_fn set_promisc;
    void *ctx; /* the owner's; vnet_port_ctx returns it */
};

/* Adds a port. Returns 0, -EINVAL (bad name, kind, MTU, neither tx nor tx_off, offloads
 * without tx_off or with unknown bits, MAC on an edge or a group/zero MAC), -EEXIST (name
 * taken, or the MAC is another port's in that network), -ENOSPC (VNET_PORTS_MAX), -ENOMEM,
 * -EBUSY (called from a callback). */
int vnet_port_add(struct vnet_switch *sw, const struct vnet_port_config *cfg,
                  struct vnet_port **out);
/* Deletes a port (a link too): its MAC entries go, routes naming it stay (they wait for a
 * port of that name), the edge's promiscuous state is updated. 0, -EINVAL, -EBUSY. */
int vnet_port_del(struct vnet_port *port);
struct vnet_port *vnet_port_find(struct vnet_switch *sw, const char *name);
struct vnet_port *vnet_port_by_id(struct vnet_switch *sw, uint32_t id);

uint32_t vnet_port_id(const struct vnet_port *port);
const char *vnet_port_name(const struct vnet_port *port);
enum vnet_port_kind vnet_port_kind(const struct vnet_port *port);
void *vnet_port_ctx(const struct vnet_port *port);
struct vnet_switch *vnet_port_switch(const struct vnet_port *port);

/* Changes what a port with tx_off takes (NETOFF_CAP_*). 0, or -EINVAL (no tx_off and caps != 0,
 * unknown bits). */
int vnet_port_set_offloads(struct vnet_port *port, unsigned caps);

/* Moves a port to another network (its learned MACs are forgotten). 0, -EEXIST (its MAC is
 * taken there), -EBUSY. */
int vnet_port_set_network(struct vnet_port *port, uint32_t network);
/* VNET_MTU_MIN..VNET_MTU_MAX. 0 or -EINVAL. */
int vnet_port_set_mtu(struct vnet_port *port, uint16_t mtu);
uint16_t vnet_port_mtu(const struct vnet_port *port);

const char *vnet_port_kind_name(enum vnet_port_kind kind);
const char *vnet_drop_name(enum vnet_drop reason);
/* Checks a port name: 0 or -EINVAL. */
int vnet_name_check(const char *name);

struct vnet_port_info {
    uint32_t id;
    char name[VNET_NAME_MAX];
    enum vnet_port_kind kind;
    bool has_mac;
    uint8_t mac[VNET_MAC_LEN];
    uint32_t network;
    uint16_t mtu;
    bool promisc;      /* edge ports: what the switch last asked for */
    unsigned offloads; /* NETOFF_CAP_* its tx_off takes */
    struct vnet_port_counters c;
};

void vnet_port_info(const struct vnet_port *port, struct vnet_port_info *out);
/* Copies up to max ports in the order they were added; returns how many. */
size_t vnet_port_list(struct vnet_switch *sw, struct vnet_port_info *out, size_t max);

/* ---- frames ---------------------------------------------------------------------------- */

/* Gives the switch one frame (without FCS) that arrived on `port`. The frame is only read,
 * and only during the call. Returns how many ports it was sent out of (0 when it was
 * filtered or every transmission failed), or -EINVAL (runt, bad source MAC, NULL),
 * -EMSGSIZE (giant), -EPERM (a drop route), -EBUSY (nested too deep). */
int vnet_input(struct vnet_port *port, const void *frame, size_t len);
/* vnet_input with offload metadata (NULL = vnet_input). A GSO super-frame may be longer than
 * the port's MTU allows as long as each of its segments is not; metadata that does not fit the
 * frame (netoff_check) drops it, counted `offload`, -EINVAL (a frame without GSO longer than
 * the MTU allows stays `giant`, -EMSGSIZE). Metadata asking for nothing (NETOFF_GSO_NONE and
 * NETOFF_CSUM_NONE or an unknown checksum state) is ignored; VALID is ignored from vnic ports
 * (a guest's word is not taken for it) and otherwise reaches only ports with
 * NETOFF_CAP_VALID. Each egress port gets the frame the way its offloads take it
 * (netoff_emit): a super-frame whose segments are longer than the egress port's MTU allows is
 * not sent there (`too_big`). Taps see it as it came in (a super-frame is captured whole, as
 * Linux's tcpdump shows TSO frames). */
int vnet_input_off(struct vnet_port *port, const void *frame, size_t len, const struct netoff *off);

/* ---- routes (Palacios VNET style) ------------------------------------------------------- */

/* How a route compares one MAC field of a frame. */
enum vnet_mac_qual {
    VNET_QUAL_ANY,   /* every MAC */
    VNET_QUAL_EXACT, /* this MAC only */
    VNET_QUAL_NOT,   /* every MAC but this one */
    VNET_QUAL_NONE,  /* not compared, and the route becomes a DEFAULT route: default routes
                        are tried (in table order) only after no ordinary route matched,
                        as Palacios ranks its `none` routes below the others */
};

enum vnet_route_action {
    VNET_ACT_PORT, /* send to the port (or link) named `to` */
    VNET_ACT_DROP, /* discard (counted route_drop on the ingress port) */
};

struct vnet_route {
    enum vnet_mac_qual src_qual;
    uint8_t src_mac[VNET_MAC_LEN]; /* for EXACT and NOT */
    enum vnet_mac_qual dst_qual;
    uint8_t dst_mac[VNET_MAC_LEN];
    char from[VNET_NAME_MAX]; /* only frames entering on this port or link; "" = any */
    enum vnet_route_action action;
    char to[VNET_NAME_MAX]; /* VNET_ACT_PORT: destination port or link name */
    bool to_link;           /* written `link NAME`: the destination must be a link */
};

/* Parses the text form:
 *     [src SPEC] [dst SPEC] [from PORT] (port NAME | link NAME | drop)
 *     SPEC := any | none | MAC | exact MAC | not MAC        (an omitted SPEC is `any`)
 * e.g. "src 52:54:00:12:34:56 dst any port linux.eth0", "dst not 52:54:00:00:00:01 from edge
 * drop". Returns 0 or -EINVAL with a one-line reason in err (if given). */
int vnet_route_parse(const char *text, struct vnet_route *out, char *err, size_t errlen);
/* Writes the canonical text form (parses back to the same route). Returns the length or
 * -ENOSPC. */
int vnet_route_format(const struct vnet_route *r, char *buf, size_t len);
/* Whether the route's MAC fields accept a frame with these addresses (qualifiers only; the
 * `from` port is the table's business). */
bool vnet_route_match_macs(const struct vnet_route *r, const uint8_t *src, const uint8_t *dst);

/* Inserts a route before position `index` (0 = first; < 0 or == count = append). Ports named
 * need not exist yet (routes from petrel.conf come before the VMs). Returns 0 and the new
 * route's id (never reused), or -EINVAL (bad rule: `to` is `from`, an exact src MAC that is a
 * group address, a `link` destination that names a non-link port, bad names), -EEXIST (an
 * identical route exists), -ERANGE (index past the end), -ENOSPC (table full); err says why. */
int vnet_route_add(struct vnet_switch *sw, const struct vnet_route *r, int index, uint32_t *id,
                   char *err, size_t errlen);
/* 0 or -ENOENT. */
int vnet_route_del(struct vnet_switch *sw, uint32_t id);
void vnet_route_clear(struct vnet_switch *sw);

struct vnet_route_info {
    uint32_t id;
    struct vnet_route route;
    bool dst_present; /* the destination port exists now */
    uint64_t packets; /* frames that matched */
    uint64_t bytes;
    uint64_t delivered; /* of those, frames a destination took */
};

/* Copies up to max routes in table order; returns how many. */
size_t vnet_route_list(struct vnet_switch *sw, struct vnet_route_info *out, size_t max);

/* ---- the learning bridge's MAC table -------------------------------------------------- */

struct vnet_mac_info {
    uint32_t network;
    uint8_t mac[VNET_MAC_LEN];
    uint32_t port_id;
    char port[VNET_NAME_MAX];
    bool is_static; /* a port's own MAC */
    uint32_t age_s; /* since last seen; 0 for static entries */
};

size_t vnet_mac_list(struct vnet_switch *sw, struct vnet_mac_info *out, size_t max);
/* Forgets every learned MAC (static entries stay). */
void vnet_mac_flush(struct vnet_switch *sw);

/* ---- VXLAN links (RFC 7348) ------------------------------------------------------------ */

#define VNET_VXLAN_PORT    4789
#define VNET_VXLAN_HLEN    8
#define VNET_VXLAN_FLAG_I  0x08
#define VNET_VXLAN_VNI_MAX 0xffffff
/* Outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8): an inner frame of n bytes becomes
 * an outer IP packet of n + 36 bytes. */
#define VNET_VXLAN_OVERHEAD    50
#define VNET_VXLAN_IP_OVERHEAD 36
#define VNET_VXLAN_SPORT_MIN   49152 /* source ports come from a flow hash in 49152..65535 */
#define VNET_LINK_REMOTES_MAX  16
#define VNET_LINK_MACS         256 /* remote MAC -> VTEP entries per link */

struct vnet_link_config {
    char name[VNET_NAME_MAX]; /* e.g. "vx:lab2" */
    uint32_t network;
    uint32_t vni;                            /* 0..VNET_VXLAN_VNI_MAX, unique per switch */
    uint32_t remotes[VNET_LINK_REMOTES_MAX]; /* remote VTEPs, IPv4 host order */
    size_t nremotes;
    uint16_t dst_port;  /* 0 = VNET_VXLAN_PORT */
    uint16_t mtu;       /* inner IP MTU; 0 = VNET_MTU_DEFAULT */
    uint16_t outer_mtu; /* IP MTU under the tunnel; 0 = VNET_MTU_DEFAULT */
    /* Inner frames longer than outer_mtu - 36 make outer datagrams that the host's IP layer
     * must fragment (lwIP does, and Linux reassembles). no_frag drops them instead (counted
     * `frag`); otherwise they are sent and counted tx_fragmented. */
    bool no_frag;
    /* Accept datagrams from VTEPs not in `remotes` (their stations are learned and answered
     * by unicast; floods still go to `remotes` only). Off: such datagrams are dropped. */
    bool accept_any;
};

struct vnet_link_stats {
    uint64_t tx_frames;      /* frames encapsulated */
    uint64_t tx_datagrams;   /* datagrams handed to udp_send */
    uint64_t tx_unicast;     /* frames sent to one learned VTEP */
    uint64_t tx_replicated;  /* frames sent to every remote (head-end replication) */
    uint64_t tx_fragmented;  /* frames whose datagram exceeds outer_mtu (host fragments) */
    uint64_t udp_errors;     /* udp_send failures */
    uint64_t rx_datagrams;   /* datagrams given to vnet_vxlan_input */
    uint64_t rx_frames;      /* of those, inner frames passed to the switch */
    uint64_t remote_learned; /* remote MAC -> VTEP entries learned */
    uint64_t remote_moved;   /* a remote MAC seen behind another VTEP */
};

struct vnet_link_info {
    struct vnet_link_config cfg;
    uint32_t port_id;
    uint32_t remote_macs; /* learned entries now */
    struct vnet_link_stats stats;
};

/* Parses "NAME vni N [remote IP[,IP...]]... [network N] [dstport P] [mtu N] [outer-mtu N]
 * [nofrag] [accept-any]". Returns 0 or -EINVAL with a reason in err. */
int vnet_link_parse(const char *text, struct vnet_link_config *out, char *err, size_t errlen);
/* Writes the canonical text form. Returns the length or -ENOSPC. */
int vnet_link_format(const struct vnet_link_config *cfg, char *buf, size_t len);

/* Adds a link port. Returns 0, -EINVAL (bad name/VNI/MTU/remote: 0.0.0.0, multicast,
 * broadcast, loopback), -EEXIST (name or VNI taken), -ENOSPC, -ENOMEM, -EBUSY; err says why. */
int vnet_link_add(struct vnet_switch *sw, const struct vnet_link_config *cfg,
                  struct vnet_port **out, char *err, size_t errlen);
/* Deletes the link port with this name. 0, -ENOENT, -EINVAL (not a link), -EBUSY. */
int vnet_link_del(struct vnet_switch *sw, const char *name);
/* Adds or removes a remote VTEP. 0, -EINVAL, -EEXIST / -ENOENT, -ENOSPC. */
int vnet_link_remote_add(struct vnet_port *link, uint32_t ip);
int vnet_link_remote_del(struct vnet_port *link, uint32_t ip);
/* 0, or -EINVAL if the port is not a link. */
int vnet_link_info(const struct vnet_port *link, struct vnet_link_info *out);
/* The IP MTU a new port on `network` should have so that its full-size frames cross every
 * link of the network without outer IP fragmentation, as Linux gives a vxlan device its
 * lower device's MTU - 50: the smallest, over the network's links, of the link's own MTU and
 * its outer_mtu - VNET_VXLAN_OVERHEAD (1450 under the default outer MTU of 1500);
 * VNET_MTU_DEFAULT when the network has no link. Ports already there keep their MTU. */
uint16_t vnet_network_mtu(struct vnet_switch *sw, uint32_t network);
/* The link port carrying `vni`, or NULL. */
struct vnet_port *vnet_link_by_vni(struct vnet_switch *sw, uint32_t vni);

/* A VXLAN datagram's UDP payload arrived from src_ip:src_port for this link. Validates the
 * header (I flag set, every other flag and reserved bit zero: stricter than RFC 7348's
 * "ignore on receipt", as Linux is), the VNI (the link's) and the source (a configured remote
 * unless accept_any), learns the inner source MAC behind src_ip, and gives the inner frame to
 * vnet_input on the link port. Returns vnet_input's result, or -EPROTO (header), -ENOENT
 * (VNI), -EPERM (source VTEP), -EINVAL (not a link). */
int vnet_vxlan_input(struct vnet_port *link, uint32_t src_ip, uint16_t src_port,
                     const void *payload, size_t len);
/* The same, finding the link by the datagram's VNI: what the host's UDP receive callback for
 * port 4789 calls. -ENOENT (counted in vnet_stats.vxlan_no_link) when no link has the VNI. */
int vnet_vxlan_demux(struct vnet_switch *sw, uint32_t src_ip, uint16_t src_port,
                     const void *payload, size_t len);

/* Pure codec. Writes the 8-byte header for `vni` (low 24 bits). */
void vnet_vxlan_hdr_write(uint8_t *hdr, uint32_t vni);
/* Reads a header: 0 and *vni, -EINVAL (shorter than 8 bytes) or -EPROTO (flags/reserved). */
int vnet_vxlan_hdr_read(const void *buf, size_t len, uint32_t *vni);
/* The UDP source port for an inner frame: a hash of its MACs, EtherType and, for IPv4, the
 * addresses, protocol and TCP/UDP ports, mapped into 49152..65535 (RFC 7348 section 5). */
uint16_t vnet_vxlan_src_port(const void *frame, size_t len);

/* IPv4 dotted quad <-> host-order uint32 (strict: four decimal octets, no leading zeros). */
int vnet_ip4_parse(const char *s, uint32_t *ip);
int vnet_ip4_format(uint32_t ip, char *buf, size_t len);

/* ---- capture taps ---------------------------------------------------------------------- */

enum vnet_dir {
    VNET_DIR_IN,  /* entering the switch from the port */
    VNET_DIR_OUT, /* leaving the switch through the port */
};

struct vnet_capture_pkt {
    uint32_t port_id;
    const char *port_name;
    enum vnet_port_kind kind;
    enum vnet_dir dir;
    uint64_t ts_ns; /* host wall_ns (or now_ns) */
    const uint8_t *frame;
    size_t len; /* up to NETOFF_FRAME_MAX (a super-frame entering) */
};

/* Receives a copy of each selected frame: called before the frame is forwarded (IN) or
 * handed to the port's tx (OUT), so nested frames appear in causal order. Must not block or
 * call back into the switch; a slow consumer drops and counts on its side. */
typedef void (*vnet_capture_fn)(void *ctx, const struct vnet_capture_pkt *pkt);

/* Attaches a tap selecting the ports with these names (nports 0: every port, present and
 * future). Names need not exist yet. Returns the tap id (>= 0), or -EINVAL (bad name, more
 * than VNET_TAP_NAMES_MAX), -ENOSPC (VNET_TAPS_MAX taps), -EBUSY (from a callback). */
int vnet_capture_attach(struct vnet_switch *sw, vnet_capture_fn cb, void *ctx,
                        const char *const *ports, size_t nports);
/* Replaces a tap's selection (the console's `capture PORT...`). 0, -ENOENT, -EINVAL. */
int vnet_capture_filter(struct vnet_switch *sw, int tap, const char *const *ports, size_t nports);
int vnet_capture_detach(struct vnet_switch *sw, int tap);

/* ---- statistics ------------------------------------------------------------------------ */

struct vnet_stats {
    uint32_t ports;
    uint32_t links;
    uint32_t routes;
    uint32_t taps;
    uint32_t macs; /* MAC table entries now (static included) */
    uint32_t mac_capacity;
    uint32_t aging_s;
    uint64_t frames;          /* vnet_input calls */
    uint64_t dropped;         /* frames dropped at ingress (any reason) */
    uint64_t routed;          /* frames a route decided */
    uint64_t bridged;         /* frames sent to one learned port */
    uint64_t flooded;         /* frames flooded (broadcast, multicast, unknown unicast) */
    uint64_t unknown_unicast; /* of those, unicast to an unknown MAC */
    uint64_t mac_learned;
    uint64_t mac_moved;
    uint64_t mac_evicted;
    uint64_t mac_aged;
    uint64_t mac_conflicts; /* a port's own MAC seen as source on another port */
    uint64_t mac_refused;   /* learning impossible: the table is all static entries */
    uint64_t vxlan_no_link; /* datagrams for a VNI no link carries (or unreadable headers) */
    uint64_t captured;      /* copies handed to taps */
};

void vnet_stats_get(struct vnet_switch *sw, struct vnet_stats *out);

#endif
