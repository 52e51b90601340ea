/* Ports: adding and deleting them, their own MACs as static entries, the edge's promiscuous
 * state, names, accessors and snapshots. */
#include "internal.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

static const char *const kind_names[VNET_PORT_KIND_COUNT] = {
    [VNET_PORT_VNIC] = "vnic",
    [VNET_PORT_EDGE] = "edge",
    [VNET_PORT_LOCAL] = "local",
    [VNET_PORT_LINK] = "link",
};

static const char *const drop_names[VNET_DROP_COUNT] = {
#define VNET_DROP_NAME(up, low) [VNET_DROP_##up] = #low,
    VNET_DROPS(VNET_DROP_NAME)
#undef VNET_DROP_NAME
};

const char *vnet_port_kind_name(enum vnet_port_kind kind)
{
    return ((unsigned)kind < VNET_PORT_KIND_COUNT) ? kind_names[kind] : "?";
}

const char *vnet_drop_name(enum vnet_drop reason)
{
    return ((unsigned)reason < VNET_DROP_COUNT) ? drop_names[reason] : "?";
}

int vnet_name_check(const char *name)
{
    size_t len;

    if (name == NULL) {
        return -EINVAL;
    }
    len = strnlen(name, VNET_NAME_MAX);
    if (len == 0 || len >= VNET_NAME_MAX) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';

        if (!ok) {
            return -EINVAL;
        }
    }
    return 0;
}

struct vnet_port *vnet_port_find(struct vnet_switch *sw, const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < sw->nports; i++) {
        if (strcmp(sw->ports[i]->name, name) == 0) {
            return sw->ports[i];
        }
    }
    return NULL;
}

struct vnet_port *vnet_port_by_id(struct vnet_switch *sw, uint32_t id)
{
    for (uint32_t i = 0; i < sw->nports; i++) {
        if (sw->ports[i]->id == id) {
            return sw->ports[i];
        }
    }
    return NULL;
}

uint32_t vnet_port_id(const struct vnet_port *port)
{
    return port->id;
}

const char *vnet_port_name(const struct vnet_port *port)
{
    return port->name;
}

enum vnet_port_kind vnet_port_kind(const struct vnet_port *port)
{
    return port->kind;
}

void *vnet_port_ctx(const struct vnet_port *port)
{
    return port->ctx;
}

struct vnet_switch *vnet_port_switch(const struct vnet_port *port)
{
    return port->sw;
}

/* Whether a port carries stations other than the appliance itself, which the edge must then
 * receive frames for. */
static bool has_foreign_stations(const struct vnet_port *p)
{
    return p->kind == VNET_PORT_VNIC || p->kind == VNET_PORT_LINK;
}

static void set_promisc(struct vnet_port *edge, bool on)
{
    int rc = 0;

    if (edge->promisc == on) {
        return;
    }
    edge->promisc = on;
    if (edge->set_promisc != NULL) {
        rc = edge->set_promisc(edge, on);
    }
    if (rc < 0) {
        LOG_WARN(VNET, "vnet: %s: promiscuous mode %s failed (%d)", edge->name, on ? "on" : "off",
                 rc);
    } else {
        LOG_INFO(VNET, "vnet: %s: promiscuous mode %s", edge->name, on ? "on" : "off");
    }
}

void vnet_promisc_update(struct vnet_switch *sw)
{
    for (uint32_t i = 0; i < sw->nports; i++) {
        struct vnet_port *edge = sw->ports[i];
        bool want = false;

        if (edge->kind != VNET_PORT_EDGE) {
            continue;
        }
        for (uint32_t j = 0; j < sw->nports && !want; j++) {
            struct vnet_port *p = sw->ports[j];

            want = has_foreign_stations(p) && p->network == edge->network;
        }
        set_promisc(edge, want);
    }
}

/* Offloads a port may claim: known bits, and only with a tx_off to hand the metadata to. */
static bool offloads_ok(const char *name, unsigned caps, vnet_tx_off_fn tx_off)
{
    if ((caps & ~VNET_OFFLOADS_ALL) != 0 || (caps != 0 && tx_off == NULL)) {
        LOG_WARN(VNET, "vnet: port %s: offloads 0x%x refused (known 0x%x, and only with tx_off)",
                 name, caps, VNET_OFFLOADS_ALL);
        return false;
    }
    return true;
}

static int check_config(struct vnet_switch *sw, const struct vnet_port_config *cfg)
{
    if (vnet_name_check(cfg->name) < 0) {
        LOG_WARN(VNET, "vnet: port name '%.40s' refused: 1..%d characters of A-Z a-z 0-9 . _ : -",
                 cfg->name != NULL ? cfg->name : "(null)", VNET_NAME_MAX - 1);
        return -EINVAL;
    }
    if ((unsigned)cfg->kind >= VNET_PORT_KIND_COUNT) {
        LOG_WARN(VNET, "vnet: port %s: bad kind %d", cfg->name, (int)cfg->kind);
        return -EINVAL;
    }
    if (cfg->mtu != 0 && (cfg->mtu < VNET_MTU_MIN || cfg->mtu > VNET_MTU_MAX)) {
        LOG_WARN(VNET, "vnet: port %s: MTU %u refused (%d..%d)", cfg->name, cfg->mtu, VNET_MTU_MIN,
                 VNET_MTU_MAX);
        return -EINVAL;
    }
    if (cfg->kind != VNET_PORT_LINK && cfg->tx == NULL && cfg->tx_off == NULL) {
        LOG_WARN(VNET, "vnet: port %s: no tx callback", cfg->name);
        return -EINVAL;
    }
    if (!offloads_ok(cfg->name, cfg->offloads, cfg->tx_off)) {
        return -EINVAL;
    }
    if (cfg->mac != NULL) {
        if (cfg->kind != VNET_PORT_VNIC && cfg->kind != VNET_PORT_LOCAL) {
            LOG_WARN(VNET, "vnet: port %s: only vnic and local ports have a MAC", cfg->name);
            return -EINVAL;
        }
        if (vnet_mac_is_group(cfg->mac) || vnet_mac_is_zero(cfg->mac)) {
            LOG_WARN(VNET, "vnet: port %s: MAC is not a unicast station address", cfg->name);
            return -EINVAL;
        }
    }
    if (vnet_port_find(sw, cfg->name) != NULL) {
        LOG_WARN(VNET, "vnet: port %s exists already", cfg->name);
        return -EEXIST;
    }
    if (sw->nports >= VNET_PORTS_MAX) {
        LOG_WARN(VNET, "vnet: port %s: switch full (%d ports)", cfg->name, VNET_PORTS_MAX);
        return -ENOSPC;
    }
    return 0;
}

static int install_own_mac(struct vnet_port *p)
{
    int rc;

    if (!p->has_mac) {
        return 0;
    }
    rc = vnet_mactable_add_static(&p->sw->macs, p->network, p->mac, p->id);
    if (rc < 0) {
        char mac[VNET_MAC_STR_MAX];

        vnet_mac_format(p->mac, mac, sizeof(mac));
        LOG_WARN(VNET, "vnet: port %s: MAC %s %s in network %u", p->name, mac,
                 rc == -EEXIST ? "belongs to another port" : "does not fit the MAC table",
                 p->network);
    }
    return rc;
}

int vnet_port_attach(struct vnet_switch *sw, const struct vnet_port_config *cfg,
                     struct vnet_port **out)
{
    struct vnet_port *p;
    int rc;

    *out = NULL;
    if (vnet_busy(sw)) {
        return -EBUSY;
    }
    rc = check_config(sw, cfg);
    if (rc < 0) {
        return rc;
    }
    p = sw->host->zalloc(sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->sw = sw;
    p->id = ++sw->next_port_id;
    str_copy(p->name, cfg->name, sizeof(p->name));
    p->kind = cfg->kind;
    p->network = cfg->network;
    p->mtu = cfg->mtu != 0 ? cfg->mtu : VNET_MTU_DEFAULT;
    p->tx = cfg->tx;
    p->tx_off = cfg->tx_off;
    p->offloads = cfg->offloads;
    p->set_promisc = cfg->set_promisc;
    p->ctx = cfg->ctx;
    if (cfg->mac != NULL) {
        p->has_mac = true;
        memcpy(p->mac, cfg->mac, VNET_MAC_LEN);
    }
    p->src_hint = -1;
    p->dst_hint = -1;
    rc = install_own_mac(p);
    if (rc < 0) {
        sw->host->free(p);
        return rc;
    }
    sw->ports[sw->nports++] = p;
    sw->port_gen++;
    vnet_capture_update_port(sw, p);
    vnet_routes_resolve(sw);
    *out = p;
    return 0;
}

int vnet_port_add(struct vnet_switch *sw, const struct vnet_port_config *cfg,
                  struct vnet_port **out)
{
    int rc;

    if (cfg->kind == VNET_PORT_LINK) {
        *out = NULL;
        LOG_WARN(VNET, "vnet: port %s: link ports are made by vnet_link_add",
                 cfg->name != NULL ? cfg->name : "(null)");
        return -EINVAL;
    }
    rc = vnet_port_attach(sw, cfg, out);
    if (rc < 0) {
        return rc;
    }
    vnet_promisc_update(sw);
    LOG_INFO(VNET, "vnet: port %s (%s) added: id %u, network %u, mtu %u", cfg->name,
             vnet_port_kind_name(cfg->kind), (*out)->id, (*out)->network, (*out)->mtu);
    return 0;
}

int vnet_port_del(struct vnet_port *port)
{
    struct vnet_switch *sw;
    uint32_t i;

    if (port == NULL) {
        return -EINVAL;
    }
    sw = port->sw;
    if (vnet_busy(sw)) {
        LOG_WARN(VNET, "vnet: port %s cannot be deleted from inside a callback", port->name);
        return -EBUSY;
    }
    for (i = 0; i < sw->nports && sw->ports[i] != port; i++) {
    }
    if (i == sw->nports) {
        return -EINVAL;
    }
    vnet_gro_release(port);
    for (; i + 1 < sw->nports; i++) {
        sw->ports[i] = sw->ports[i + 1];
    }
    sw->nports--;
    sw->ports[sw->nports] = NULL;
    sw->port_gen++; /* no port's cache may point at this one any more */
    (void)vnet_mactable_flush_value(&sw->macs, port->id);
    if (port->kind == VNET_PORT_EDGE) {
        set_promisc(port, false); /* hand the NIC back in its normal state */
    }
    if (port->kind == VNET_PORT_LINK) {
        vnet_link_destroy(port);
    }
    vnet_routes_resolve(sw);
    vnet_promisc_update(sw);
    LOG_INFO(VNET, "vnet: port %s (%s) deleted", port->name, vnet_port_kind_name(port->kind));
    sw->host->free(port);
    return 0;
}

int vnet_port_set_network(struct vnet_port *port, uint32_t network)
{
    struct vnet_switch *sw = port->sw;
    uint32_t old = port->network;
    struct vnet_mactable_row row;
    int rc;

    if (vnet_busy(sw)) {
        return -EBUSY;
    }
    if (network == old) {
        return 0;
    }
    if (port->has_mac &&
        vnet_mactable_find(&sw->macs, network, port->mac, vnet_now(sw), &row) == 0 &&
        row.is_static) {
        LOG_WARN(VNET, "vnet: port %s: its MAC belongs to another port in network %u", port->name,
                 network);
        return -EEXIST;
    }
    (void)vnet_mactable_flush_value(&sw->macs, port->id);
    port->network = network;
    sw->port_gen++;
    rc = install_own_mac(port);
    if (rc < 0) {
        /* Cannot happen after the check above unless the table is full of static entries;
         * the port still works, it is only learned instead of static. */
        LOG_WARN(VNET, "vnet: port %s: own MAC not installed (%d)", port->name, rc);
    }
    vnet_promisc_update(sw);
    LOG_INFO(VNET, "vnet: port %s moved from network %u to %u", port->name, old, network);
    return 0;
}

int vnet_port_set_mtu(struct vnet_port *port, uint16_t mtu)
{
    if (mtu < VNET_MTU_MIN || mtu > VNET_MTU_MAX) {
        LOG_WARN(VNET, "vnet: port %s: MTU %u refused (%d..%d)", port->name, mtu, VNET_MTU_MIN,
                 VNET_MTU_MAX);
        return -EINVAL;
    }
    port->mtu = mtu;
    return 0;
}

uint16_t vnet_port_mtu(const struct vnet_port *port)
{
    return port->mtu;
}

int vnet_port_set_offloads(struct vnet_port *port, unsigned caps)
{
    if (port == NULL) {
        return -EINVAL;
    }
    if (!offloads_ok(port->name, caps, port->tx_off)) {
        return -EINVAL;
    }
    if (caps != port->offloads) {
        LOG_INFO(VNET, "vnet: port %s: offloads%s%s%s%s", port->name,
                 (caps & NETOFF_CAP_CSUM) ? " csum" : "", (caps & NETOFF_CAP_TSO4) ? " tso4" : "",
                 (caps & NETOFF_CAP_VALID) ? " valid" : "", caps == 0 ? " none" : "");
    }
    /* Read for every frame at delivery, so the change applies from the next one on (a
     * callback may make it: nothing is cached). */
    port->offloads = caps;
    return 0;
}

void vnet_port_info(const struct vnet_port *port, struct vnet_port_info *out)
{
    memset(out, 0, sizeof(*out));
    out->id = port->id;
    str_copy(out->name, port->name, sizeof(out->name));
    out->kind = port->kind;
    out->has_mac = port->has_mac;
    memcpy(out->mac, port->mac, VNET_MAC_LEN);
    out->network = port->network;
    out->mtu = port->mtu;
    out->promisc = port->promisc;
    out->offloads = port->offloads;
    out->c = port->c;
}

size_t vnet_port_list(struct vnet_switch *sw, struct vnet_port_info *out, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < sw->nports && n < max; i++) {
        vnet_port_info(sw->ports[i], &out[n++]);
    }
    return n;
}
