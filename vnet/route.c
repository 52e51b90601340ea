/* The route table: an ordered list of Palacios-style rules, first match wins; rules with a
 * `none` qualifier are default routes, tried after every ordinary rule. Rules name ports,
 * resolved to port pointers whenever ports come or go. */
#include "internal.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

static bool mac_match(enum vnet_mac_qual q, const uint8_t *rule, const uint8_t *mac)
{
    switch (q) {
    case VNET_QUAL_ANY:
    case VNET_QUAL_NONE:
        return true;
    case VNET_QUAL_EXACT:
        return vnet_mac_equal(rule, mac);
    case VNET_QUAL_NOT:
        return !vnet_mac_equal(rule, mac);
    }
    return false;
}

bool vnet_route_match_macs(const struct vnet_route *r, const uint8_t *src, const uint8_t *dst)
{
    return mac_match(r->src_qual, r->src_mac, src) && mac_match(r->dst_qual, r->dst_mac, dst);
}

static bool route_is_default(const struct vnet_route *r)
{
    return r->src_qual == VNET_QUAL_NONE || r->dst_qual == VNET_QUAL_NONE;
}

struct vnet_route_entry *vnet_route_lookup(struct vnet_switch *sw, const struct vnet_port *in,
                                           const uint8_t *src, const uint8_t *dst)
{
    for (int pass = 0; pass < 2; pass++) {
        bool want_default = (pass == 1);

        for (uint32_t i = 0; i < sw->nroutes; i++) {
            struct vnet_route_entry *e = &sw->routes[i];

            if (e->is_default != want_default) {
                continue;
            }
            if (e->r.from[0] != '\0' && e->from_port != in) {
                continue;
            }
            if (vnet_route_match_macs(&e->r, src, dst)) {
                return e;
            }
        }
    }
    return NULL;
}

static void resolve(struct vnet_switch *sw, struct vnet_route_entry *e)
{
    e->from_port = (e->r.from[0] != '\0') ? vnet_port_find(sw, e->r.from) : NULL;
    e->to_port = NULL;
    if (e->r.action == VNET_ACT_PORT) {
        struct vnet_port *p = vnet_port_find(sw, e->r.to);

        if (p != NULL && e->r.to_link && p->kind != VNET_PORT_LINK) {
            LOG_WARN(VNET, "vnet: route %u: %s is not a link; the route drops its frames", e->id,
                     p->name);
            p = NULL;
        }
        e->to_port = p;
    }
}

void vnet_routes_resolve(struct vnet_switch *sw)
{
    for (uint32_t i = 0; i < sw->nroutes; i++) {
        resolve(sw, &sw->routes[i]);
    }
}

static bool same_route(const struct vnet_route *a, const struct vnet_route *b)
{
    bool src_mac = a->src_qual == VNET_QUAL_ANY || a->src_qual == VNET_QUAL_NONE ||
                   vnet_mac_equal(a->src_mac, b->src_mac);
    bool dst_mac = a->dst_qual == VNET_QUAL_ANY || a->dst_qual == VNET_QUAL_NONE ||
                   vnet_mac_equal(a->dst_mac, b->dst_mac);

    return a->src_qual == b->src_qual && src_mac && a->dst_qual == b->dst_qual && dst_mac &&
           strcmp(a->from, b->from) == 0 && a->action == b->action &&
           (a->action == VNET_ACT_DROP || (strcmp(a->to, b->to) == 0 && a->to_link == b->to_link));
}

static bool qual_ok(enum vnet_mac_qual q)
{
    return q == VNET_QUAL_ANY || q == VNET_QUAL_EXACT || q == VNET_QUAL_NOT || q == VNET_QUAL_NONE;
}

/* Checks a rule against the table; 0 or a negative errno with the reason in err. */
static int check_route(struct vnet_switch *sw, const struct vnet_route *r, char *err, size_t errlen)
{
    if (!qual_ok(r->src_qual) || !qual_ok(r->dst_qual)) {
        vnet_err(err, errlen, "bad MAC qualifier");
        return -EINVAL;
    }
    if (r->src_qual == VNET_QUAL_EXACT &&
        (vnet_mac_is_group(r->src_mac) || vnet_mac_is_zero(r->src_mac))) {
        vnet_err(err, errlen,
                 "src MAC is a group or zero address: such frames are dropped "
                 "before routing, so the route could never match");
        return -EINVAL;
    }
    if (r->from[0] != '\0' && vnet_name_check(r->from) < 0) {
        vnet_err(err, errlen, "bad from port name");
        return -EINVAL;
    }
    if (r->action != VNET_ACT_PORT && r->action != VNET_ACT_DROP) {
        vnet_err(err, errlen, "bad route action");
        return -EINVAL;
    }
    if (r->action == VNET_ACT_PORT) {
        struct vnet_port *p;

        if (vnet_name_check(r->to) < 0) {
            vnet_err(err, errlen, "bad destination port name");
            return -EINVAL;
        }
        if (strcmp(r->from, r->to) == 0) {
            vnet_err(err, errlen,
                     "destination %s is the from port: a frame never leaves "
                     "through the port it came in on",
                     r->to);
            return -EINVAL;
        }
        p = vnet_port_find(sw, r->to);
        if (p != NULL && r->to_link && p->kind != VNET_PORT_LINK) {
            vnet_err(err, errlen, "%s is a %s port, not a link (write 'port %s')", r->to,
                     vnet_port_kind_name(p->kind), r->to);
            return -EINVAL;
        }
    }
    for (uint32_t i = 0; i < sw->nroutes; i++) {
        if (same_route(&sw->routes[i].r, r)) {
            vnet_err(err, errlen, "an identical route exists (id %u)", sw->routes[i].id);
            return -EEXIST;
        }
    }
    if (sw->nroutes >= VNET_ROUTES_MAX) {
        vnet_err(err, errlen, "route table full (%d routes)", VNET_ROUTES_MAX);
        return -ENOSPC;
    }
    return 0;
}

int vnet_route_add(struct vnet_switch *sw, const struct vnet_route *r, int index, uint32_t *id,
                   char *err, size_t errlen)
{
    struct vnet_route_entry *e;
    char text[160];
    uint32_t at;
    int rc;

    vnet_err(err, errlen, "%s", "");
    if (vnet_busy(sw)) {
        vnet_err(err, errlen, "switch busy (called from a callback)");
        return -EBUSY;
    }
    rc = check_route(sw, r, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (index < 0) {
        at = sw->nroutes;
    } else if ((uint32_t)index > sw->nroutes) {
        vnet_err(err, errlen, "position %d is past the end of the table (%u routes)", index,
                 sw->nroutes);
        return -ERANGE;
    } else {
        at = (uint32_t)index;
    }
    for (uint32_t i = sw->nroutes; i > at; i--) {
        sw->routes[i] = sw->routes[i - 1];
    }
    sw->nroutes++;
    e = &sw->routes[at];
    memset(e, 0, sizeof(*e));
    e->id = ++sw->next_route_id;
    e->r = *r;
    /* Unused MAC fields are zeroed so listings and comparisons are canonical. */
    if (r->src_qual == VNET_QUAL_ANY || r->src_qual == VNET_QUAL_NONE) {
        memset(e->r.src_mac, 0, VNET_MAC_LEN);
    }
    if (r->dst_qual == VNET_QUAL_ANY || r->dst_qual == VNET_QUAL_NONE) {
        memset(e->r.dst_mac, 0, VNET_MAC_LEN);
    }
    if (r->action == VNET_ACT_DROP) {
        memset(e->r.to, 0, sizeof(e->r.to));
        e->r.to_link = false;
    }
    e->is_default = route_is_default(r);
    resolve(sw, e);
    if (id != NULL) {
        *id = e->id;
    }
    if (vnet_route_format(&e->r, text, sizeof(text)) < 0) {
        text[0] = '\0';
    }
    LOG_INFO(VNET, "vnet: route %u added at %u: %s%s", e->id, at, text,
             (e->r.action == VNET_ACT_PORT && e->to_port == NULL) ? " (port not present yet)" : "");
    return 0;
}

int vnet_route_del(struct vnet_switch *sw, uint32_t id)
{
    if (vnet_busy(sw)) {
        return -EBUSY;
    }
    for (uint32_t i = 0; i < sw->nroutes; i++) {
        if (sw->routes[i].id != id) {
            continue;
        }
        for (uint32_t j = i; j + 1 < sw->nroutes; j++) {
            sw->routes[j] = sw->routes[j + 1];
        }
        sw->nroutes--;
        memset(&sw->routes[sw->nroutes], 0, sizeof(sw->routes[0]));
        LOG_INFO(VNET, "vnet: route %u deleted", id);
        return 0;
    }
    return -ENOENT;
}

void vnet_route_clear(struct vnet_switch *sw)
{
    if (vnet_busy(sw)) {
        return;
    }
    sw->nroutes = 0;
    memset(sw->routes, 0, sizeof(sw->routes));
}

size_t vnet_route_list(struct vnet_switch *sw, struct vnet_route_info *out, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < sw->nroutes && n < max; i++) {
        const struct vnet_route_entry *e = &sw->routes[i];

        memset(&out[n], 0, sizeof(out[n]));
        out[n].id = e->id;
        out[n].route = e->r;
        out[n].dst_present = e->to_port != NULL;
        out[n].packets = e->packets;
        out[n].bytes = e->bytes;
        out[n].delivered = e->delivered;
        n++;
    }
    return n;
}
