/* Capture taps: callbacks that get a copy of every frame entering or leaving the ports they
 * select. Selections are port names (so a VM restarted with a new port id is still captured);
 * each port caches a bit mask of the taps that select it, so an unobserved port costs one
 * test per frame. */
#include "internal.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

static bool tap_selects(const struct vnet_tap *t, const struct vnet_port *p)
{
    if (!t->used) {
        return false;
    }
    if (t->all) {
        return true;
    }
    for (uint8_t i = 0; i < t->nnames; i++) {
        if (strcmp(t->names[i], p->name) == 0) {
            return true;
        }
    }
    return false;
}

void vnet_capture_update_port(struct vnet_switch *sw, struct vnet_port *port)
{
    port->tap_mask = 0;
    for (uint32_t i = 0; i < VNET_TAPS_MAX; i++) {
        if (tap_selects(&sw->taps[i], port)) {
            port->tap_mask |= 1u << i;
        }
    }
}

static void update_all(struct vnet_switch *sw)
{
    for (uint32_t i = 0; i < sw->nports; i++) {
        vnet_capture_update_port(sw, sw->ports[i]);
    }
}

static int set_names(struct vnet_tap *t, const char *const *ports, size_t nports)
{
    if (nports > VNET_TAP_NAMES_MAX || (nports > 0 && ports == NULL)) {
        LOG_WARN(VNET, "vnet: capture: at most %d port names", VNET_TAP_NAMES_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < nports; i++) {
        if (vnet_name_check(ports[i]) < 0) {
            LOG_WARN(VNET, "vnet: capture: '%.40s' is not a port name",
                     ports[i] != NULL ? ports[i] : "(null)");
            return -EINVAL;
        }
    }
    t->all = (nports == 0);
    t->nnames = (uint8_t)nports;
    for (size_t i = 0; i < nports; i++) {
        str_copy(t->names[i], ports[i], VNET_NAME_MAX);
    }
    return 0;
}

int vnet_capture_attach(struct vnet_switch *sw, vnet_capture_fn cb, void *ctx,
                        const char *const *ports, size_t nports)
{
    struct vnet_tap tmp;
    int rc;

    if (cb == NULL) {
        return -EINVAL;
    }
    if (vnet_busy(sw)) {
        return -EBUSY;
    }
    memset(&tmp, 0, sizeof(tmp));
    rc = set_names(&tmp, ports, nports);
    if (rc < 0) {
        return rc;
    }
    for (int i = 0; i < VNET_TAPS_MAX; i++) {
        if (!sw->taps[i].used) {
            sw->taps[i] = tmp;
            sw->taps[i].used = true;
            sw->taps[i].cb = cb;
            sw->taps[i].ctx = ctx;
            update_all(sw);
            LOG_INFO(VNET, "vnet: capture tap %d attached (%zu ports%s)", i, nports,
                     nports == 0 ? ": all" : "");
            return i;
        }
    }
    LOG_WARN(VNET, "vnet: capture: all %d taps in use", VNET_TAPS_MAX);
    return -ENOSPC;
}

static struct vnet_tap *tap_get(struct vnet_switch *sw, int tap)
{
    if (tap < 0 || tap >= VNET_TAPS_MAX || !sw->taps[tap].used) {
        return NULL;
    }
    return &sw->taps[tap];
}

int vnet_capture_filter(struct vnet_switch *sw, int tap, const char *const *ports, size_t nports)
{
    struct vnet_tap *t = tap_get(sw, tap);
    struct vnet_tap tmp;
    int rc;

    if (t == NULL) {
        return -ENOENT;
    }
    if (vnet_busy(sw)) {
        return -EBUSY;
    }
    tmp = *t;
    rc = set_names(&tmp, ports, nports);
    if (rc < 0) {
        return rc;
    }
    *t = tmp;
    update_all(sw);
    return 0;
}

int vnet_capture_detach(struct vnet_switch *sw, int tap)
{
    struct vnet_tap *t = tap_get(sw, tap);

    if (t == NULL) {
        return -ENOENT;
    }
    if (sw->in_capture) {
        return -EBUSY;
    }
    memset(t, 0, sizeof(*t));
    update_all(sw);
    LOG_INFO(VNET, "vnet: capture tap %d detached", tap);
    return 0;
}

void vnet_capture_offer(struct vnet_switch *sw, struct vnet_port *port, enum vnet_dir dir,
                        const void *frame, size_t len)
{
    struct vnet_capture_pkt pkt;
    uint32_t mask = port->tap_mask;

    if (mask == 0 || sw->in_capture) {
        return;
    }
    pkt.port_id = port->id;
    pkt.port_name = port->name;
    pkt.kind = port->kind;
    pkt.dir = dir;
    pkt.ts_ns = (sw->host->wall_ns != NULL) ? sw->host->wall_ns() : sw->host->now_ns();
    pkt.frame = frame;
    pkt.len = len;
    sw->in_capture = true;
    for (uint32_t i = 0; i < VNET_TAPS_MAX; i++) {
        if ((mask & (1u << i)) != 0 && sw->taps[i].used) {
            sw->taps[i].cb(sw->taps[i].ctx, &pkt);
            sw->n.captured++;
        }
    }
    sw->in_capture = false;
}
