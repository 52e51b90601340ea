/* The switch: creation, the frame path (vnet_input / vnet_input_off: checks, learning, route
 * table, learning bridge, delivery with offloads resolved per egress port, merging of a link's
 * segments for ports that take super-frames), aging, MAC listing and statistics. */
#include "internal.h"
#include "../kernel/lib.h"
#include "../kernel/lib/tcpgro.h"
#include "../kernel/log.h"

static struct vnet_switch *g_default_switch;

void vnet_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void free_scratch(struct vnet_switch *sw)
{
    for (size_t i = 0; i < VNET_DEPTH_MAX; i++) {
        sw->host->free(sw->scratch[i]);
        sw->scratch[i] = NULL;
    }
}

int vnet_switch_create(const struct vnet_config *cfg, struct vnet_switch **out)
{
    const struct vnet_host *host = vnet_host();
    uint32_t size = VNET_MACS_DEFAULT;
    uint32_t aging = VNET_AGING_DEFAULT_S;
    struct vnet_switch *sw;
    int rc;

    *out = NULL;
    if (host == NULL || host->zalloc == NULL || host->free == NULL || host->now_ns == NULL) {
        LOG_ERROR(VNET, "vnet: no host interface installed");
        return -EINVAL;
    }
    if (cfg != NULL && cfg->mac_table_size != 0) {
        size = cfg->mac_table_size;
    }
    if (cfg != NULL && cfg->aging_s != 0) {
        aging = cfg->aging_s;
    }
    if (size > VNET_MACS_MAX || aging > VNET_AGING_MAX_S) {
        LOG_ERROR(VNET, "vnet: bad config: %u MAC entries (max %u), aging %u s (max %u)", size,
                  VNET_MACS_MAX, aging, VNET_AGING_MAX_S);
        return -EINVAL;
    }
    sw = host->zalloc(sizeof(*sw));
    if (sw == NULL) {
        return -ENOMEM;
    }
    sw->host = host;
    sw->aging_s = aging;
    for (size_t i = 0; i < VNET_DEPTH_MAX; i++) {
        sw->scratch[i] = host->zalloc(VNET_FRAME_MAX_ALL);
        if (sw->scratch[i] == NULL) {
            free_scratch(sw);
            host->free(sw);
            return -ENOMEM;
        }
    }
    rc = vnet_mactable_init(&sw->macs, host, size, (uint64_t)aging * 1000000000ull);
    if (rc < 0) {
        free_scratch(sw);
        host->free(sw);
        return rc;
    }
    *out = sw;
    LOG_DEBUG(VNET, "vnet: switch created: %u MAC entries, aging %u s", size, aging);
    return 0;
}

void vnet_switch_destroy(struct vnet_switch *sw)
{
    const struct vnet_host *host;

    if (sw == NULL) {
        return;
    }
    if (vnet_busy(sw)) {
        LOG_ERROR(VNET, "vnet: switch destroyed from inside a callback: refused");
        return;
    }
    host = sw->host;
    while (sw->nports > 0) {
        (void)vnet_port_del(sw->ports[sw->nports - 1]);
    }
    vnet_mactable_destroy(&sw->macs);
    free_scratch(sw);
    if (g_default_switch == sw) {
        g_default_switch = NULL;
    }
    host->free(sw);
}

void vnet_set_default(struct vnet_switch *sw)
{
    g_default_switch = sw;
}

struct vnet_switch *vnet_default(void)
{
    return g_default_switch;
}

int vnet_set_aging(struct vnet_switch *sw, uint32_t seconds)
{
    uint64_t ns = (uint64_t)seconds * 1000000000ull;

    if (seconds == 0 || seconds > VNET_AGING_MAX_S) {
        LOG_WARN(VNET, "vnet: aging %u s refused (1..%u)", seconds, VNET_AGING_MAX_S);
        return -EINVAL;
    }
    sw->aging_s = seconds;
    vnet_mactable_set_aging(&sw->macs, ns);
    for (uint32_t i = 0; i < sw->nports; i++) {
        if (sw->ports[i]->kind == VNET_PORT_LINK) {
            vnet_link_set_aging(sw->ports[i], ns);
        }
    }
    return 0;
}

void vnet_tick(struct vnet_switch *sw)
{
    uint64_t now = vnet_now(sw);
    size_t n = vnet_mactable_age(&sw->macs, now);

    if (n > 0) {
        LOG_DEBUG(VNET, "vnet: %zu MAC entries aged out", n);
    }
    for (uint32_t i = 0; i < sw->nports; i++) {
        if (sw->ports[i]->kind == VNET_PORT_LINK) {
            vnet_link_tick(sw->ports[i], now);
        }
    }
}

/* ---- the frame path ------------------------------------------------------------------- */

/* One frame on its way through the switch. */
struct vnet_pkt {
    const uint8_t *frame;
    size_t len;
    /* NULL for a plain frame; else `meta`: metadata netoff_check accepted (GSO or PARTIAL), or
     * VALID alone. A copy, so a caller's struct cannot change under a nested call. */
    const struct netoff *off;
    struct netoff meta;
    /* The length an egress port's MTU must allow: the frame's, or for a super-frame its
     * longest segment's (headers + gso_size). */
    size_t need;
    bool gro; /* from a link: may be merged for a port that takes super-frames */
};

static void drop_in(struct vnet_port *in, enum vnet_drop why)
{
    in->c.drops[why]++;
    in->sw->n.dropped++;
    LOG_TRACE(VNET, "vnet: %s: frame dropped: %s", in->name, vnet_drop_name(why));
}

/* Hands one frame, as the port takes it, to the port's tx. Returns VNET_DROP_COUNT when the
 * port took it (counted), else the reason. */
static enum vnet_drop tx_one(struct vnet_switch *sw, struct vnet_port *out, const uint8_t *frame,
                             size_t len, const struct netoff *off)
{
    enum vnet_drop why = VNET_DROP_COUNT;
    int rc;

    if (out->tap_mask != 0) {
        vnet_capture_offer(sw, out, VNET_DIR_OUT, frame, len);
    }
    if (out->kind == VNET_PORT_LINK) {
        /* Links have no tx_off: netoff_emit (caps 0) gave them a plain frame (off NULL). */
        why = vnet_link_tx(out, frame, len);
    } else {
        rc = out->tx_off != NULL ? out->tx_off(out, frame, len, off) : out->tx(out, frame, len);
        if (rc == -EAGAIN) {
            why = VNET_DROP_TX_BUSY;
        } else if (rc < 0) {
            why = VNET_DROP_TX_ERROR;
        }
    }
    if (why == VNET_DROP_COUNT) {
        out->c.tx_packets++;
        out->c.tx_bytes += len;
    }
    return why;
}

/* netoff_emit's receiver: one frame (the whole one or a segment) to one egress port. */
struct vnet_emit {
    struct vnet_switch *sw;
    struct vnet_port *out;
    enum vnet_drop why; /* the first frame the port did not take: why */
    unsigned taken;
};

static int emit_one(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct vnet_emit *e = ctx;
    enum vnet_drop why = tx_one(e->sw, e->out, frame, len, off);

    if (why != VNET_DROP_COUNT) {
        e->why = why;
        return why == VNET_DROP_TX_BUSY ? -EAGAIN : -EIO; /* stops the segments */
    }
    e->taken++;
    return 0;
}

/* A frame with metadata to one egress port, the way its offloads take it: whole, segmented or
 * completed in this nesting level's scratch buffer. */
static enum vnet_drop deliver_off(struct vnet_switch *sw, struct vnet_port *out,
                                  const struct vnet_pkt *pk)
{
    unsigned caps = out->tx_off != NULL ? out->offloads : 0;
    struct vnet_emit e = {sw, out, VNET_DROP_COUNT, 0};
    int rc;

    rc = netoff_emit(pk->frame, pk->len, pk->off, caps, sw->scratch[sw->depth - 1],
                     VNET_FRAME_MAX_ALL, emit_one, &e);
    if (e.taken > 0) {
        if (pk->off->gso != NETOFF_GSO_NONE && !(caps & NETOFF_CAP_TSO4)) {
            out->c.gso_split++;
        } else if (pk->off->gso == NETOFF_GSO_NONE && pk->off->csum == NETOFF_CSUM_PARTIAL &&
                   !(caps & NETOFF_CAP_CSUM)) {
            out->c.csum_filled++;
        }
    }
    if (rc >= 0) {
        return VNET_DROP_COUNT;
    }
    if (e.why != VNET_DROP_COUNT) {
        return e.why;
    }
    /* netoff_emit's own failure: cannot happen for a checked frame whose segments fit. */
    LOG_DEBUG(VNET, "vnet: %s: offload resolution failed (%d)", out->name, rc);
    return rc == -EAGAIN ? VNET_DROP_TX_BUSY : VNET_DROP_TX_ERROR;
}

static bool counted(struct vnet_port *out, enum vnet_drop why)
{
    if (why != VNET_DROP_COUNT) {
        out->c.drops[why]++;
        LOG_TRACE(VNET, "vnet: %s: frame not sent: %s", out->name, vnet_drop_name(why));
        return false;
    }
    return true;
}

/* tcpgro's receiver: what it held, to the port (a super-frame the way the port's offloads
 * take it now: they may have changed since). Drops are counted; the merge goes on. */
struct vnet_gro_out {
    struct vnet_switch *sw;
    struct vnet_port *out;
};

static int gro_out(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct vnet_gro_out *g = ctx;
    struct vnet_pkt pk = {.frame = frame, .len = len, .off = NULL, .need = len};

    if (off == NULL) {
        (void)counted(g->out, tx_one(g->sw, g->out, frame, len, NULL));
        return 0;
    }
    pk.meta = *off;
    pk.off = &pk.meta;
    g->out->c.gro_merged += (len - netoff_gso_hlen(frame, off) + off->gso_size - 1) / off->gso_size;
    (void)counted(g->out, deliver_off(g->sw, g->out, &pk));
    return 0;
}

static void gro_flush(struct vnet_switch *sw, struct vnet_port *out)
{
    struct vnet_gro_out g = {sw, out};

    (void)tcpgro_flush(out->gro, gro_out, &g);
}

/* The port's merge state, made on first use (NULL when memory is short: no merging). */
static struct tcpgro *gro_of(struct vnet_switch *sw, struct vnet_port *out)
{
    if (out->gro == NULL) {
        struct tcpgro *g = sw->host->zalloc(sizeof(*g));
        uint8_t *buf = g != NULL ? sw->host->zalloc(NETOFF_FRAME_MAX) : NULL;

        if (buf == NULL) {
            sw->host->free(g);
            return NULL;
        }
        tcpgro_init(g, buf, NETOFF_FRAME_MAX);
        out->gro = g;
    }
    return out->gro;
}

void vnet_gro_release(struct vnet_port *port)
{
    if (port->gro == NULL) {
        return;
    }
    port->sw->depth++; /* deliver_off's scratch level */
    gro_flush(port->sw, port);
    port->sw->depth--;
    port->sw->host->free(port->gro->buf);
    port->sw->host->free(port->gro);
    port->gro = NULL;
}

void vnet_flush(struct vnet_switch *sw)
{
    if (sw == NULL || vnet_busy(sw)) {
        return;
    }
    sw->depth++;
    for (uint32_t i = 0; i < sw->nports; i++) {
        struct vnet_port *p = sw->ports[i];

        if (p->gro != NULL && p->gro->len > 0) {
            gro_flush(sw, p);
        }
    }
    sw->depth--;
}

/* Hands a frame to one egress port. Returns true when the port took it (every segment of it,
 * for a super-frame split for the port; a segment held for merging counts as taken). */
static bool deliver(struct vnet_switch *sw, struct vnet_port *out, const struct vnet_pkt *pk)
{
    struct vnet_gro_out g = {sw, out};

    if (pk->need > vnet_frame_max(pk->frame, pk->len, out->mtu)) {
        return counted(out, VNET_DROP_TOO_BIG);
    }
    if (pk->gro && pk->off == NULL && out->tx_off != NULL && (out->offloads & NETOFF_CAP_TSO4) &&
        gro_of(sw, out) != NULL) {
        (void)tcpgro_add(out->gro, pk->frame, pk->len, gro_out, &g);
        return true;
    }
    if (out->gro != NULL && out->gro->len > 0) {
        gro_flush(sw, out); /* what it holds came first */
    }
    if (pk->off == NULL) {
        return counted(out, tx_one(sw, out, pk->frame, pk->len, NULL));
    }
    return counted(out, deliver_off(sw, out, pk));
}

static int flood(struct vnet_switch *sw, struct vnet_port *in, const struct vnet_pkt *pk)
{
    uint32_t candidates = 0;
    int sent = 0;

    sw->n.flooded++;
    /* Ports cannot be added or deleted while a frame is in flight (vnet_busy), so the array
     * is stable even when a tx callback re-enters vnet_input. */
    for (uint32_t i = 0; i < sw->nports; i++) {
        struct vnet_port *p = sw->ports[i];

        if (p == in || p->network != in->network) {
            continue;
        }
        if (in->kind == VNET_PORT_LINK && p->kind == VNET_PORT_LINK) {
            continue; /* split horizon */
        }
        candidates++;
        if (deliver(sw, p, pk)) {
            sent++;
        }
    }
    if (candidates == 0) {
        drop_in(in, VNET_DROP_NO_DEST);
    }
    return sent;
}

/* The port a learned destination id names: the port's one-entry cache, else a search. */
static struct vnet_port *port_of(struct vnet_switch *sw, struct vnet_port *in, uint32_t id)
{
    if (in->dst_gen != sw->port_gen || in->dst_port == NULL || in->dst_port->id != id) {
        in->dst_port = vnet_port_by_id(sw, id);
        in->dst_gen = sw->port_gen;
    }
    return in->dst_port;
}

static int forward(struct vnet_switch *sw, struct vnet_port *in, const struct vnet_pkt *pk,
                   uint64_t now)
{
    const uint8_t *dst = pk->frame;
    const uint8_t *src = pk->frame + VNET_MAC_LEN;
    struct vnet_route_entry *route = NULL;
    uint32_t id;
    struct vnet_port *out;

    if (sw->nroutes > 0) {
        route = vnet_route_lookup(sw, in, src, dst);
    }
    if (route != NULL) {
        sw->n.routed++;
        route->packets++;
        route->bytes += pk->len;
        if (route->r.action == VNET_ACT_DROP) {
            drop_in(in, VNET_DROP_ROUTE);
            return -EPERM;
        }
        if (route->to_port == NULL) {
            drop_in(in, VNET_DROP_DST_DOWN);
            return 0;
        }
        if (route->to_port == in) {
            drop_in(in, VNET_DROP_LOOP);
            return 0;
        }
        /* Routes cannot change while a frame is in flight, so `route` stays valid. */
        if (!deliver(sw, route->to_port, pk)) {
            return 0;
        }
        route->delivered++;
        return 1;
    }
    if ((dst[0] & 1) != 0) { /* group address: broadcast or multicast */
        return flood(sw, in, pk);
    }
    id = vnet_mactable_lookup_hint(&sw->macs, in->network, dst, now, &in->dst_hint);
    out = (id != 0) ? port_of(sw, in, id) : NULL;
    if (out == NULL) {
        sw->n.unknown_unicast++;
        return flood(sw, in, pk);
    }
    if (out == in) {
        drop_in(in, VNET_DROP_SAME_PORT);
        return 0;
    }
    sw->n.bridged++;
    return deliver(sw, out, pk) ? 1 : 0;
}

static void learn(struct vnet_switch *sw, struct vnet_port *in, const uint8_t *src, uint64_t now)
{
    int r = vnet_mactable_learn_hint(&sw->macs, in->network, src, in->id, now, &in->src_hint);

    if (r == VNET_LEARN_NEW || r == VNET_LEARN_MOVED) {
        if (log_enabled(LOG_COMP_VNET, LOG_LVL_DEBUG)) {
            char mac[VNET_MAC_STR_MAX];

            vnet_mac_format(src, mac, sizeof(mac));
            LOG_DEBUG(VNET, "vnet: net %u: %s %s %s", in->network, mac,
                      r == VNET_LEARN_NEW ? "learned on" : "moved to", in->name);
        }
    }
}

/* vnet_mac_is_group || vnet_mac_is_zero, inline: it runs for every frame. */
static inline bool bad_source(const uint8_t *s)
{
    return (s[0] & 1) != 0 || (s[0] | s[1] | s[2] | s[3] | s[4] | s[5]) == 0;
}

/* The size checks: for a plain frame the port's MTU, for one with metadata netoff_check, whose
 * segments (GSO) must fit the MTU. Fills pk->off / meta / need. 0, or the drop's return. */
static int check_size(struct vnet_port *in, struct vnet_pkt *pk, const struct netoff *off)
{
    size_t max = vnet_frame_max(pk->frame, pk->len, in->mtu);
    const char *why = NULL;
    int rc;

    pk->off = NULL;
    pk->need = pk->len;
    if (off == NULL || !netoff_active(off)) { /* most frames: no call for them */
        if (pk->len > max) {
            drop_in(in, VNET_DROP_GIANT);
            return -EMSGSIZE;
        }
        if (off != NULL && off->gso == NETOFF_GSO_NONE && off->csum == NETOFF_CSUM_VALID &&
            in->kind != VNET_PORT_VNIC) {
            pk->meta = *off;
            pk->off = &pk->meta;
        }
        return 0;
    }
    pk->meta = *off; /* checked and used as one copy */
    rc = netoff_check(pk->frame, pk->len, &pk->meta, max, max, &why);
    if (rc == -EMSGSIZE) {
        drop_in(in, VNET_DROP_GIANT);
        return -EMSGSIZE;
    }
    if (rc < 0) {
        LOG_TRACE(VNET, "vnet: %s: offload metadata refused: %s", in->name,
                  why != NULL ? why : "?");
        drop_in(in, VNET_DROP_OFFLOAD);
        return -EINVAL;
    }
    if (pk->meta.gso != NETOFF_GSO_NONE) {
        pk->need = netoff_gso_hlen(pk->frame, &pk->meta) + pk->meta.gso_size;
    }
    pk->off = &pk->meta;
    return 0;
}

/* The per-frame path. Kept lean (it runs for every frame the appliance sends or receives):
 * one clock read, the route table only when it has routes, the MAC table through each port's
 * hints, capture only for ports a tap selects, and no copy for a frame without metadata (a
 * port's tx takes the frame as it is). */
static int input(struct vnet_port *in, const void *frame, size_t len, const struct netoff *off)
{
    struct vnet_switch *sw;
    struct vnet_pkt pk;
    uint64_t now;
    int rc;

    if (in == NULL) {
        return -EINVAL;
    }
    sw = in->sw;
    if (frame == NULL) {
        len = 0;
    }
    sw->n.frames++;
    in->c.rx_packets++;
    in->c.rx_bytes += len;
    if (off != NULL && off->gso != NETOFF_GSO_NONE) {
        in->c.gso_in++;
    }
    if (sw->depth >= VNET_DEPTH_MAX) {
        drop_in(in, VNET_DROP_DEPTH);
        return -EBUSY;
    }
    pk.frame = frame;
    pk.len = len;
    pk.gro = in->kind == VNET_PORT_LINK;
    if (len > 0 && in->tap_mask != 0) {
        vnet_capture_offer(sw, in, VNET_DIR_IN, pk.frame, len);
    }
    if (len < VNET_ETH_MIN) {
        drop_in(in, VNET_DROP_RUNT);
        return -EINVAL;
    }
    rc = check_size(in, &pk, off);
    if (rc < 0) {
        return rc;
    }
    if (bad_source(pk.frame + VNET_MAC_LEN)) {
        drop_in(in, VNET_DROP_BAD_SRC);
        return -EINVAL;
    }
    now = vnet_now(sw);
    learn(sw, in, pk.frame + VNET_MAC_LEN, now);
    sw->depth++;
    rc = forward(sw, in, &pk, now);
    sw->depth--;
    return rc;
}

int vnet_input(struct vnet_port *in, const void *frame, size_t len)
{
    return input(in, frame, len, NULL);
}

int vnet_input_off(struct vnet_port *in, const void *frame, size_t len, const struct netoff *off)
{
    return input(in, frame, len, off);
}

/* ---- MAC table and statistics --------------------------------------------------------- */

size_t vnet_mac_list(struct vnet_switch *sw, struct vnet_mac_info *out, size_t max)
{
    struct vnet_mactable_row row;
    size_t n = 0;
    uint64_t now = vnet_now(sw);

    for (uint32_t i = 0; i < sw->macs.cap && n < max; i++) {
        struct vnet_port *p;

        if (!vnet_mactable_get(&sw->macs, i, now, &row)) {
            continue;
        }
        p = vnet_port_by_id(sw, row.value);
        memset(&out[n], 0, sizeof(out[n]));
        out[n].network = row.domain;
        memcpy(out[n].mac, row.mac, VNET_MAC_LEN);
        out[n].port_id = row.value;
        str_copy(out[n].port, p != NULL ? p->name : "?", sizeof(out[n].port));
        out[n].is_static = row.is_static;
        out[n].age_s = (uint32_t)(row.age_ns / 1000000000ull);
        n++;
    }
    return n;
}

void vnet_mac_flush(struct vnet_switch *sw)
{
    size_t n = vnet_mactable_flush_dynamic(&sw->macs);

    LOG_INFO(VNET, "vnet: %zu learned MAC entries flushed", n);
}

void vnet_stats_get(struct vnet_switch *sw, struct vnet_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->ports = sw->nports;
    for (uint32_t i = 0; i < sw->nports; i++) {
        if (sw->ports[i]->kind == VNET_PORT_LINK) {
            out->links++;
        }
    }
    out->routes = sw->nroutes;
    for (size_t i = 0; i < VNET_TAPS_MAX; i++) {
        if (sw->taps[i].used) {
            out->taps++;
        }
    }
    out->macs = sw->macs.count;
    out->mac_capacity = sw->macs.cap;
    out->aging_s = sw->aging_s;
    out->frames = sw->n.frames;
    out->dropped = sw->n.dropped;
    out->routed = sw->n.routed;
    out->bridged = sw->n.bridged;
    out->flooded = sw->n.flooded;
    out->unknown_unicast = sw->n.unknown_unicast;
    out->mac_learned = sw->macs.stats.learned;
    out->mac_moved = sw->macs.stats.moved;
    out->mac_evicted = sw->macs.stats.evicted;
    out->mac_aged = sw->macs.stats.aged;
    out->mac_conflicts = sw->macs.stats.conflicts;
    out->mac_refused = sw->macs.stats.full;
    out->vxlan_no_link = sw->n.vxlan_no_link;
    out->captured = sw->n.captured;
}
