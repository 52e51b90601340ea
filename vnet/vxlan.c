/* VXLAN links (RFC 7348): a link is a switch port whose frames travel as UDP datagrams
 * (8-byte VXLAN header + the frame) to remote VTEPs through vnet_host->udp_send. Unicast
 * frames go to the VTEP learned for their destination MAC; floods and unknown destinations go
 * to every configured remote (head-end replication). Datagrams coming back are checked,
 * their inner source MAC is learned behind the sender, and the inner frame enters the switch
 * on the link port. */
#include "internal.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

struct vnet_link {
    struct vnet_link_config cfg; /* defaults filled in */
    struct vnet_mactable remote_macs;
    struct vnet_link_stats stats;
    bool busy; /* inside udp_send: the scratch buffer is in use */
    uint8_t buf[VNET_VXLAN_HLEN + VNET_FRAME_MAX_ALL];
};

/* ---- codec --------------------------------------------------------------------------- */

void vnet_vxlan_hdr_write(uint8_t *hdr, uint32_t vni)
{
    hdr[0] = VNET_VXLAN_FLAG_I;
    hdr[1] = 0;
    hdr[2] = 0;
    hdr[3] = 0;
    hdr[4] = (uint8_t)(vni >> 16);
    hdr[5] = (uint8_t)(vni >> 8);
    hdr[6] = (uint8_t)vni;
    hdr[7] = 0;
}

int vnet_vxlan_hdr_read(const void *buf, size_t len, uint32_t *vni)
{
    const uint8_t *h = buf;

    if (buf == NULL || len < VNET_VXLAN_HLEN) {
        return -EINVAL;
    }
    if (h[0] != VNET_VXLAN_FLAG_I || h[1] != 0 || h[2] != 0 || h[3] != 0 || h[7] != 0) {
        return -EPROTO;
    }
    *vni = ((uint32_t)h[4] << 16) | ((uint32_t)h[5] << 8) | h[6];
    return 0;
}

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

uint16_t vnet_vxlan_src_port(const void *frame, size_t len)
{
    const uint8_t *f = frame;
    struct vnet_eth eth;
    uint32_t h = 2166136261u;

    if (vnet_eth_parse(frame, len, &eth) < 0) {
        return VNET_VXLAN_SPORT_MIN;
    }
    h = mix(h, f, 2 * VNET_MAC_LEN);
    h = mix(h, (const uint8_t *)&eth.ethertype, sizeof(eth.ethertype));
    if (eth.ethertype == VNET_ETHERTYPE_IPV4 && len >= eth.payload_off + 20) {
        const uint8_t *ip = f + eth.payload_off;
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        uint8_t proto = ip[9];
        bool first_fragment = ((ip[6] & 0x1f) | ip[7]) == 0;

        h = mix(h, ip + 9, 1);  /* protocol */
        h = mix(h, ip + 12, 8); /* source and destination addresses */
        if ((proto == 6 || proto == 17) && first_fragment && ihl >= 20 &&
            len >= eth.payload_off + ihl + 4) {
            h = mix(h, ip + ihl, 4); /* TCP/UDP ports */
        }
    }
    h ^= h >> 16;
    return (uint16_t)(VNET_VXLAN_SPORT_MIN + (h % (65536u - VNET_VXLAN_SPORT_MIN)));
}

/* ---- links ---------------------------------------------------------------------------- */

static struct vnet_link *link_of(const struct vnet_port *port)
{
    return (port != NULL && port->kind == VNET_PORT_LINK) ? port->link : NULL;
}

/* Why an address cannot be a remote VTEP, or NULL when it can. */
static const char *bad_remote(uint32_t ip)
{
    if (ip == 0) {
        return "0.0.0.0 is not an address";
    }
    if ((ip >> 24) == 127) {
        return "loopback";
    }
    if ((ip >> 28) == 0xe) {
        return "multicast groups are not supported: list the remote VTEPs";
    }
    if (ip == 0xffffffffu) {
        return "broadcast";
    }
    return NULL;
}

static bool remote_listed(const struct vnet_link *l, uint32_t ip)
{
    for (size_t i = 0; i < l->cfg.nremotes; i++) {
        if (l->cfg.remotes[i] == ip) {
            return true;
        }
    }
    return false;
}

static int check_link(struct vnet_switch *sw, const struct vnet_link_config *c, char *err,
                      size_t errlen)
{
    if (vnet_name_check(c->name) < 0) {
        vnet_err(err, errlen, "bad link name");
        return -EINVAL;
    }
    if (vnet_port_find(sw, c->name) != NULL) {
        vnet_err(err, errlen, "a port named %s exists", c->name);
        return -EEXIST;
    }
    if (c->vni > VNET_VXLAN_VNI_MAX) {
        vnet_err(err, errlen, "VNI %u is larger than %u", c->vni, VNET_VXLAN_VNI_MAX);
        return -EINVAL;
    }
    if (vnet_link_by_vni(sw, c->vni) != NULL) {
        vnet_err(err, errlen, "VNI %u is carried by %s already", c->vni,
                 vnet_link_by_vni(sw, c->vni)->name);
        return -EEXIST;
    }
    if (c->mtu != 0 && (c->mtu < VNET_MTU_MIN || c->mtu > VNET_MTU_MAX)) {
        vnet_err(err, errlen, "mtu %u is not in %d..%d", c->mtu, VNET_MTU_MIN, VNET_MTU_MAX);
        return -EINVAL;
    }
    if (c->outer_mtu != 0 && (c->outer_mtu < 576 || c->outer_mtu > VNET_MTU_MAX)) {
        vnet_err(err, errlen, "outer-mtu %u is not in 576..%d", c->outer_mtu, VNET_MTU_MAX);
        return -EINVAL;
    }
    if (c->nremotes > VNET_LINK_REMOTES_MAX) {
        vnet_err(err, errlen, "at most %d remote VTEPs", VNET_LINK_REMOTES_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < c->nremotes; i++) {
        const char *why = bad_remote(c->remotes[i]);
        char ip[16];

        vnet_ip4_format(c->remotes[i], ip, sizeof(ip));
        if (why != NULL) {
            vnet_err(err, errlen, "remote %s: %s", ip, why);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (c->remotes[j] == c->remotes[i]) {
                vnet_err(err, errlen, "remote %s listed twice", ip);
                return -EINVAL;
            }
        }
    }
    if (sw->nports >= VNET_PORTS_MAX) {
        vnet_err(err, errlen, "switch full (%d ports)", VNET_PORTS_MAX);
        return -ENOSPC;
    }
    return 0;
}

int vnet_link_create(struct vnet_port *port, const struct vnet_link_config *cfg)
{
    struct vnet_switch *sw = port->sw;
    struct vnet_link *l = sw->host->zalloc(sizeof(*l));
    int rc;

    if (l == NULL) {
        return -ENOMEM;
    }
    l->cfg = *cfg;
    if (l->cfg.dst_port == 0) {
        l->cfg.dst_port = VNET_VXLAN_PORT;
    }
    l->cfg.mtu = port->mtu;
    if (l->cfg.outer_mtu == 0) {
        l->cfg.outer_mtu = VNET_MTU_DEFAULT;
    }
    rc = vnet_mactable_init(&l->remote_macs, sw->host, VNET_LINK_MACS,
                            (uint64_t)sw->aging_s * 1000000000ull);
    if (rc < 0) {
        sw->host->free(l);
        return rc;
    }
    port->link = l;
    return 0;
}

void vnet_link_destroy(struct vnet_port *port)
{
    struct vnet_link *l = port->link;

    if (l == NULL) {
        return;
    }
    vnet_mactable_destroy(&l->remote_macs);
    port->sw->host->free(l);
    port->link = NULL;
}

int vnet_link_add(struct vnet_switch *sw, const struct vnet_link_config *cfg,
                  struct vnet_port **out, char *err, size_t errlen)
{
    struct vnet_port_config pc;
    struct vnet_port *port;
    char text[200];
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    vnet_err(err, errlen, "%s", "");
    if (vnet_busy(sw)) {
        vnet_err(err, errlen, "switch busy (called from a callback)");
        return -EBUSY;
    }
    rc = check_link(sw, cfg, err, errlen);
    if (rc < 0) {
        LOG_WARN(VNET, "vnet: link %.31s refused: %s", cfg->name, err != NULL ? err : "");
        return rc;
    }
    memset(&pc, 0, sizeof(pc));
    pc.name = cfg->name;
    pc.kind = VNET_PORT_LINK;
    pc.network = cfg->network;
    pc.mtu = cfg->mtu;
    rc = vnet_port_attach(sw, &pc, &port);
    if (rc < 0) {
        vnet_err(err, errlen, "port not added (%d)", rc);
        return rc;
    }
    rc = vnet_link_create(port, cfg);
    if (rc < 0) {
        (void)vnet_port_del(port);
        vnet_err(err, errlen, "out of memory");
        return rc;
    }
    vnet_promisc_update(sw);
    if (vnet_link_format(&port->link->cfg, text, sizeof(text)) < 0) {
        text[0] = '\0';
    }
    LOG_INFO(VNET, "vnet: link added: %s", text);
    if (out != NULL) {
        *out = port;
    }
    return 0;
}

int vnet_link_del(struct vnet_switch *sw, const char *name)
{
    struct vnet_port *port = vnet_port_find(sw, name);

    if (port == NULL) {
        return -ENOENT;
    }
    if (port->kind != VNET_PORT_LINK) {
        return -EINVAL;
    }
    return vnet_port_del(port);
}

struct vnet_port *vnet_link_by_vni(struct vnet_switch *sw, uint32_t vni)
{
    for (uint32_t i = 0; i < sw->nports; i++) {
        struct vnet_link *l = link_of(sw->ports[i]);

        if (l != NULL && l->cfg.vni == vni) {
            return sw->ports[i];
        }
    }
    return NULL;
}

int vnet_link_remote_add(struct vnet_port *port, uint32_t ip)
{
    struct vnet_link *l = link_of(port);
    const char *why = bad_remote(ip);

    if (l == NULL || why != NULL) {
        return -EINVAL;
    }
    if (remote_listed(l, ip)) {
        return -EEXIST;
    }
    if (l->cfg.nremotes >= VNET_LINK_REMOTES_MAX) {
        return -ENOSPC;
    }
    l->cfg.remotes[l->cfg.nremotes++] = ip;
    return 0;
}

int vnet_link_remote_del(struct vnet_port *port, uint32_t ip)
{
    struct vnet_link *l = link_of(port);

    if (l == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; i < l->cfg.nremotes; i++) {
        if (l->cfg.remotes[i] != ip) {
            continue;
        }
        for (size_t j = i; j + 1 < l->cfg.nremotes; j++) {
            l->cfg.remotes[j] = l->cfg.remotes[j + 1];
        }
        l->cfg.nremotes--;
        /* Stations learned behind it are forgotten (they would be unreachable anyway). */
        (void)vnet_mactable_flush_value(&l->remote_macs, ip);
        return 0;
    }
    return -ENOENT;
}

int vnet_link_info(const struct vnet_port *port, struct vnet_link_info *out)
{
    const struct vnet_link *l = link_of(port);

    memset(out, 0, sizeof(*out));
    if (l == NULL) {
        return -EINVAL;
    }
    out->cfg = l->cfg;
    out->cfg.network = port->network;
    out->cfg.mtu = port->mtu;
    out->port_id = port->id;
    out->remote_macs = l->remote_macs.count;
    out->stats = l->stats;
    return 0;
}

uint16_t vnet_network_mtu(struct vnet_switch *sw, uint32_t network)
{
    uint16_t mtu = 0;

    for (uint32_t i = 0; i < sw->nports; i++) {
        const struct vnet_port *p = sw->ports[i];
        const struct vnet_link *l = link_of(p);
        uint16_t m;

        if (l == NULL || p->network != network) {
            continue;
        }
        /* outer_mtu >= 576 (vnet_link_add checks it), so this stays positive. */
        m = (uint16_t)(l->cfg.outer_mtu - VNET_VXLAN_OVERHEAD);
        if (p->mtu < m) {
            m = p->mtu;
        }
        if (mtu == 0 || m < mtu) {
            mtu = m;
        }
    }
    return mtu != 0 ? mtu : VNET_MTU_DEFAULT;
}

void vnet_link_tick(struct vnet_port *port, uint64_t now)
{
    struct vnet_link *l = link_of(port);

    if (l != NULL) {
        (void)vnet_mactable_age(&l->remote_macs, now);
    }
}

void vnet_link_set_aging(struct vnet_port *port, uint64_t aging_ns)
{
    struct vnet_link *l = link_of(port);

    if (l != NULL) {
        vnet_mactable_set_aging(&l->remote_macs, aging_ns);
    }
}

/* ---- transmit ------------------------------------------------------------------------- */

enum vnet_drop vnet_link_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct vnet_link *l = link_of(port);
    const struct vnet_host *host = port->sw->host;
    const uint8_t *dst = frame;
    uint32_t vtep = 0;
    uint16_t sport;
    bool fragmented = false;
    int sent = 0;
    int last = 0;

    if (l == NULL || len > VNET_FRAME_MAX_ALL) {
        return VNET_DROP_TX_ERROR;
    }
    if (l->busy) {
        return VNET_DROP_DEPTH; /* re-entered through udp_send: a loop through the host */
    }
    if (host->udp_send == NULL) {
        return VNET_DROP_TX_ERROR;
    }
    if (len + VNET_VXLAN_IP_OVERHEAD > l->cfg.outer_mtu) {
        if (l->cfg.no_frag) {
            return VNET_DROP_FRAG;
        }
        fragmented = true;
    }
    if (vnet_mac_class(dst) == VNET_MAC_CLASS_UNICAST) {
        vtep = vnet_mactable_lookup(&l->remote_macs, l->cfg.vni, dst, vnet_now(port->sw));
    }
    if (vtep == 0 && l->cfg.nremotes == 0) {
        return VNET_DROP_NO_REMOTE;
    }
    vnet_vxlan_hdr_write(l->buf, l->cfg.vni);
    memcpy(l->buf + VNET_VXLAN_HLEN, frame, len);
    sport = vnet_vxlan_src_port(frame, len);
    l->busy = true;
    if (vtep != 0) {
        last = host->udp_send(host->udp_ctx, vtep, l->cfg.dst_port, sport, l->buf,
                              len + VNET_VXLAN_HLEN);
        l->stats.tx_datagrams++;
        sent += (last == 0);
        l->stats.tx_unicast++;
    } else {
        for (size_t i = 0; i < l->cfg.nremotes; i++) {
            int rc = host->udp_send(host->udp_ctx, l->cfg.remotes[i], l->cfg.dst_port, sport,
                                    l->buf, len + VNET_VXLAN_HLEN);

            l->stats.tx_datagrams++;
            if (rc == 0) {
                sent++;
            } else {
                last = rc;
                l->stats.udp_errors++;
            }
        }
        l->stats.tx_replicated++;
    }
    l->busy = false;
    if (vtep != 0 && last != 0) {
        l->stats.udp_errors++;
    }
    if (sent == 0) {
        LOG_TRACE(VNET, "vnet: %s: udp_send failed (%d)", port->name, last);
        return last == -EAGAIN ? VNET_DROP_TX_BUSY : VNET_DROP_TX_ERROR;
    }
    l->stats.tx_frames++;
    if (fragmented) {
        l->stats.tx_fragmented++;
    }
    return VNET_DROP_COUNT;
}

/* ---- receive -------------------------------------------------------------------------- */

static void link_drop(struct vnet_port *port, enum vnet_drop why)
{
    port->c.drops[why]++;
    port->sw->n.dropped++;
}

static void learn_remote(struct vnet_port *port, const uint8_t *inner, size_t len, uint32_t ip)
{
    struct vnet_link *l = port->link;
    const uint8_t *src = inner + VNET_MAC_LEN;
    int r;

    if (len < VNET_ETH_MIN || len > vnet_frame_max(inner, len, port->mtu) ||
        vnet_mac_is_group(src) || vnet_mac_is_zero(src)) {
        return; /* vnet_input drops it and says why */
    }
    r = vnet_mactable_learn(&l->remote_macs, l->cfg.vni, src, ip, vnet_now(port->sw));
    if (r == VNET_LEARN_NEW) {
        l->stats.remote_learned++;
    } else if (r == VNET_LEARN_MOVED) {
        l->stats.remote_moved++;
    }
    if ((r == VNET_LEARN_NEW || r == VNET_LEARN_MOVED) &&
        log_enabled(LOG_COMP_VNET, LOG_LVL_DEBUG)) {
        char mac[VNET_MAC_STR_MAX];
        char addr[16];

        vnet_mac_format(src, mac, sizeof(mac));
        vnet_ip4_format(ip, addr, sizeof(addr));
        LOG_DEBUG(VNET, "vnet: %s: %s is behind VTEP %s", port->name, mac, addr);
    }
}

int vnet_vxlan_input(struct vnet_port *port, uint32_t src_ip, uint16_t src_port,
                     const void *payload, size_t len)
{
    struct vnet_link *l = link_of(port);
    const uint8_t *inner;
    uint32_t vni;
    size_t ilen;

    (void)src_port; /* a flow hash chosen by the sender: nothing to check */
    if (l == NULL) {
        return -EINVAL;
    }
    l->stats.rx_datagrams++;
    if (vnet_vxlan_hdr_read(payload, len, &vni) < 0) {
        link_drop(port, VNET_DROP_VXLAN_HDR);
        return -EPROTO;
    }
    if (vni != l->cfg.vni) {
        link_drop(port, VNET_DROP_VXLAN_VNI);
        return -ENOENT;
    }
    if (!l->cfg.accept_any && !remote_listed(l, src_ip)) {
        if (log_enabled(LOG_COMP_VNET, LOG_LVL_DEBUG)) {
            char addr[16];

            vnet_ip4_format(src_ip, addr, sizeof(addr));
            LOG_DEBUG(VNET, "vnet: %s: datagram from unknown VTEP %s dropped", port->name, addr);
        }
        link_drop(port, VNET_DROP_VXLAN_VTEP);
        return -EPERM;
    }
    inner = (const uint8_t *)payload + VNET_VXLAN_HLEN;
    ilen = len - VNET_VXLAN_HLEN;
    learn_remote(port, inner, ilen, src_ip);
    l->stats.rx_frames++;
    return vnet_input(port, inner, ilen);
}

int vnet_vxlan_demux(struct vnet_switch *sw, uint32_t src_ip, uint16_t src_port,
                     const void *payload, size_t len)
{
    struct vnet_port *port;
    uint32_t vni;
    int rc = vnet_vxlan_hdr_read(payload, len, &vni);

    if (rc < 0) {
        sw->n.vxlan_no_link++;
        LOG_TRACE(VNET, "vnet: VXLAN datagram with a bad header dropped");
        return -EPROTO;
    }
    port = vnet_link_by_vni(sw, vni);
    if (port == NULL) {
        sw->n.vxlan_no_link++;
        LOG_DEBUG(VNET, "vnet: VXLAN datagram for VNI %u: no link carries it", vni);
        return -ENOENT;
    }
    return vnet_vxlan_input(port, src_ip, src_port, payload, len);
}
