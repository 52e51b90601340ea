/* The VNET switch in the appliance (see vnet_glue.h): the kernel's vnet_host, the edge port on
 * the host NIC, guest NIC backends, the aging timer, the main-loop hook and [vnet] lines. */
#include "vnet_glue.h"
#include "heap.h"
#include "lib.h"
#include "log.h"
#include "mainloop.h"
#include "timer.h"
#include "vms.h"
#include "../console/capture.h"
#include "../drivers/nic.h"
#include "../netstack/link.h"
#include "../netstack/vxlan_udp.h"
#include "../vmm/nic_config.h"
#include "../vmm/vmm.h"
#include "../vmm/vmm_dev.h"
#include "../vnet/vnet.h"

#define TICK_NS        1000000000ULL /* vnet_tick: MAC aging */
#define CAPTURE_PORT   5555
#define DETACH_PENDING 16 /* vnic ports whose deletion waits for the switch to be idle */
#define EDGE_TXQ_LEN   64
#define POLL_ROUNDS    4 /* feeding lwIP may queue more for it: bounded rounds per pass */
#define EDGE_FRAME_MAX (NIC_FRAME_MAX + 4) /* a VLAN-tagged frame from a guest */

/* A guest NIC's backend: its vnic port and how to hand frames to the device model. */
struct vnic {
    struct vnet_port *port;
    bool (*rx)(void *dev, const void *frame, size_t len);
    /* Set while the guest's driver takes offloads (nic_set_offloads): replaces rx. */
    bool (*rx_off)(void *dev, const void *frame, size_t len, const struct netoff *off);
    void *dev;
};

static struct vnet_switch *g_sw;
static struct vnet_port *g_edge;
static struct nic *g_nic;
static struct timer g_tick;
static struct poll_hook g_poll;
static struct poll_hook g_flush;
static struct vnic *g_pending_del[DETACH_PENDING];

static void *host_zalloc(size_t size)
{
    return kzalloc(size);
}

static void host_free(void *p)
{
    if (p != NULL) {
        kfree(p);
    }
}

static const struct vnet_host g_host = {
    .zalloc = host_zalloc,
    .free = host_free,
    .now_ns = now_ns,
    .wall_ns = NULL, /* no RTC wall clock yet: captures are stamped with the time since boot */
    .udp_send = net_vxlan_send,
    .udp_ctx = NULL,
};

/* ---- the edge port (host NIC) ---------------------------------------------------------- */

/* Frames the NIC could not take at once (its few TX descriptors busy): sent from the main loop
 * in order, so lwIP's bursts are not dropped at the edge (the direct path had the same queue in
 * netstack/netif.c). */
struct edge_slot {
    uint16_t len;
    uint8_t frame[EDGE_FRAME_MAX];
};

static struct edge_slot g_edgeq[EDGE_TXQ_LEN];
static size_t g_edgeq_head;
static size_t g_edgeq_count;

/* Sends queued frames until the NIC is busy again. */
static void edgeq_flush(void)
{
    while (g_edgeq_count > 0) {
        struct edge_slot *s = &g_edgeq[g_edgeq_head];
        int rc = nic_send(g_nic, s->frame, s->len);

        if (rc == -EAGAIN) {
            return;
        }
        if (rc != 0) {
            LOG_DEBUG(VNET, "edge: queued frame of %u bytes refused (%d)", s->len, rc);
        }
        g_edgeq_head = (g_edgeq_head + 1) % EDGE_TXQ_LEN;
        g_edgeq_count--;
    }
}

static int edge_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct edge_slot *s;
    int rc;

    (void)port;
    if (len > EDGE_FRAME_MAX) {
        return -EMSGSIZE;
    }
    edgeq_flush();
    if (g_edgeq_count == 0) {
        rc = nic_send(g_nic, frame, len);
        if (rc != -EAGAIN) {
            return rc;
        }
    }
    if (g_edgeq_count == EDGE_TXQ_LEN) {
        return -EAGAIN; /* counted tx_busy by the switch */
    }
    s = &g_edgeq[(g_edgeq_head + g_edgeq_count) % EDGE_TXQ_LEN];
    memcpy(s->frame, frame, len);
    s->len = (uint16_t)len;
    g_edgeq_count++;
    mainloop_want_pass(); /* the main loop's pass sends it (edgeq_flush) */
    return 0;
}

/* netoff_emit's receiver: one segment (or completed copy) into the plain path. */
static int edge_emit(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    (void)off;
    return edge_tx(ctx, frame, len);
}

/* Frames with offloads the NIC takes (the switch passes only those): to the NIC whole; when it
 * is busy (or refuses the metadata after all), cut in software into the queue, so a burst is
 * not lost at the edge (a queue slot holds a wire-size frame, not a 64 KiB super-frame). */
static int edge_tx_off(struct vnet_port *port, const void *frame, size_t len,
                       const struct netoff *off)
{
    static uint8_t scratch[EDGE_FRAME_MAX];
    int rc;

    if (!netoff_active(off)) {
        return edge_tx(port, frame, len);
    }
    edgeq_flush();
    if (g_edgeq_count == 0) {
        rc = nic_send_off(g_nic, frame, len, off);
        if (rc == 0) {
            return 0;
        }
        if (rc != -EAGAIN) {
            LOG_DEBUG(VNET, "edge: %zu-byte frame with offloads refused (%d): cut here", len, rc);
        }
    }
    rc = netoff_emit(frame, len, off, 0, scratch, sizeof(scratch), edge_emit, port);
    return rc < 0 ? rc : 0;
}

static int edge_promisc(struct vnet_port *port, bool on)
{
    struct nic *nic = vnet_port_ctx(port);
    int rc = nic_set_promisc(nic, on);

    if (rc != 0) {
        LOG_WARN(VNET, "edge %s: cannot turn promiscuous mode %s (%d)", nic->name,
                 on ? "on" : "off", rc);
    } else {
        LOG_INFO(VNET, "edge %s: promiscuous mode %s", nic->name, on ? "on" : "off");
    }
    return rc;
}

/* The NIC's receive callback (main loop, deferred from the interrupt), with the offload
 * metadata the card delivered (a super-frame, a partial or checked checksum), which the switch
 * carries to the ports that take it. */
static void edge_rx(void *ctx, const void *frame, size_t len, const struct netoff *off)
{
    (void)vnet_input_off(ctx, frame, len, off); /* drops are counted by the switch */
    (void)net_link_vnet_poll();                 /* lwIP gets its frame in this main-loop pass */
}

/* ---- guest NIC backends (struct vmm_host) ------------------------------------------------ */

static int vnic_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct vnic *v = vnet_port_ctx(port);

    if (v->rx == NULL) {
        return -ENODEV; /* detached, deletion pending */
    }
    return v->rx(v->dev, frame, len) ? 0 : -EAGAIN;
}

/* The switch passes metadata only as far as the port's offloads (what the guest negotiated)
 * cover, so a model without rx_off only ever gets plain frames here. */
static int vnic_tx_off(struct vnet_port *port, const void *frame, size_t len,
                       const struct netoff *off)
{
    struct vnic *v = vnet_port_ctx(port);

    if (v->rx_off == NULL) {
        return vnic_tx(port, frame, len);
    }
    return v->rx_off(v->dev, frame, len, off) ? 0 : -EAGAIN;
}

/* A VNET network from the `net=` of a nic line: "" or "default" is network 0, a decimal number
 * is that network, and a name maps to a fixed number (FNV-1a hash with the top bit set, so it
 * never meets a small number), logged so a VXLAN link can name it (`network N`). */
static uint32_t network_of(const char *vm, const char *nic_name, const char *net)
{
    uint64_t n;
    uint32_t h = 2166136261u;

    if (net[0] == '\0' || strcmp(net, "default") == 0) {
        return 0;
    }
    if (net[0] >= '0' && net[0] <= '9' && str_to_u64(net, &n) == 0 && n <= 0xffffffffULL) {
        return (uint32_t)n;
    }
    for (const char *c = net; *c != '\0'; c++) {
        h = (h ^ (uint8_t)*c) * 16777619u;
    }
    h |= 0x80000000u;
    LOG_INFO(VNET, "vm %s: %s: network '%s' is VNET network %u", vm, nic_name, net, h);
    return h;
}

/* The petrel.conf nic line of NIC `nic_name` of VM `vm`, parsed into *nc. false when the VM
 * has no section or the NIC no (valid) line. */
static bool vnic_line(const char *vm, const char *nic_name, struct vmm_nic_config *nc)
{
    const struct config_vm *s = vms_config(vm);

    for (size_t i = 0; s != NULL && i < s->nnics && i < CONFIG_NICS_MAX; i++) {
        if (vmm_nic_parse(s->nic[i], (unsigned)i, nc, NULL, 0) == 0 &&
            strcmp(nc->name, nic_name) == 0) {
            return true;
        }
    }
    return false;
}

/* The IP MTU of a NIC's port (vmm_nic_mtu): its `mtu=`, else what its network wants when the
 * model can tell its guest (1450 on a network a VXLAN link carries), else 1500. Said in the
 * log when it is not simply 1500, and when a guest that cannot be told will fragment. */
static uint16_t vnic_mtu(const char *port, const struct vmm_nic_config *nc, uint32_t network)
{
    uint16_t want = vnet_network_mtu(g_sw, network);
    uint16_t mtu = vmm_nic_mtu(nc, want);

    if (nc->mtu != 0) {
        LOG_INFO(VNET, "port %s: MTU %u (mtu= in its nic line)%s", port, mtu,
                 vmm_nic_model_tells_mtu(nc->model)
                     ? ""
                     : ": tell the guest too (DHCP option 26 or ip link)");
    } else if (mtu != VNET_MTU_DEFAULT) {
        LOG_INFO(VNET,
                 "port %s: MTU %u offered to the guest (network %u is carried by a link: "
                 "full-size frames cross it unfragmented; mtu=1500 in the nic line keeps 1500)",
                 port, mtu, network);
    } else if (want < VNET_MTU_DEFAULT) {
        LOG_INFO(VNET,
                 "port %s: MTU 1500: a %s guest cannot be told the link's %u, so its full-size "
                 "frames are fragmented on the link (DHCP option 26 and mtu=%u avoid that)",
                 port, vmm_nic_model_name(nc->model), want, want);
    }
    return mtu;
}

int vnet_glue_nic_attach(struct vmm_vm *vm, const char *nic_name, const uint8_t mac[6],
                         bool (*rx)(void *dev, const void *frame, size_t len), void *dev,
                         void **backend)
{
    const char *vm_name = vmm_vm_name(vm);
    char name[VNET_NAME_MAX];
    struct vnet_port_config pc;
    struct vmm_nic_config nc;
    bool has_line;
    struct vnic *v;
    int rc;

    if (g_sw == NULL) {
        LOG_WARN(VNET, "vm %s: %s: no VNET switch (no host NIC): the NIC stays unplugged", vm_name,
                 nic_name);
        return -ENODEV;
    }
    if (rx == NULL || backend == NULL || nic_name == NULL) {
        return -EINVAL;
    }
    if (snprintf(name, sizeof(name), "%s.%s", vm_name, nic_name) >= (int)sizeof(name)) {
        LOG_ERROR(VNET, "vm %s: port name for %s is longer than %d characters", vm_name, nic_name,
                  VNET_NAME_MAX - 1);
        return -EINVAL;
    }
    v = kzalloc(sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    v->rx = rx;
    v->dev = dev;
    memset(&pc, 0, sizeof(pc));
    pc.name = name;
    pc.kind = VNET_PORT_VNIC;
    pc.mac = mac;
    has_line = vnic_line(vm_name, nic_name, &nc);
    pc.network = has_line ? network_of(vm_name, nic_name, nc.net) : 0;
    pc.mtu = has_line ? vnic_mtu(name, &nc, pc.network) : VNET_MTU_DEFAULT;
    pc.tx = vnic_tx;
    pc.tx_off = vnic_tx_off;
    pc.offloads = 0; /* until the guest's driver negotiates them (nic_set_offloads) */
    pc.ctx = v;
    rc = vnet_port_add(g_sw, &pc, &v->port);
    if (rc != 0) {
        LOG_ERROR(VNET, "vm %s: cannot add port %s (%d%s)", vm_name, name, rc,
                  rc == -EEXIST ? ": name or MAC taken" : "");
        kfree(v);
        return rc;
    }
    LOG_INFO(VNET, "port %s: %02x:%02x:%02x:%02x:%02x:%02x on network %u, mtu %u", name, mac[0],
             mac[1], mac[2], mac[3], mac[4], mac[5], pc.network, pc.mtu);
    *backend = v;
    return 0;
}

uint16_t vnet_glue_nic_mtu(void *backend)
{
    struct vnic *v = backend;

    if (v == NULL || v->port == NULL) {
        return VNET_MTU_DEFAULT;
    }
    return vnet_port_mtu(v->port);
}

int vnet_glue_nic_send(void *backend, const void *frame, size_t len)
{
    struct vnic *v = backend;
    int rc;

    if (v == NULL || v->port == NULL) {
        return -ENODEV;
    }
    rc = vnet_input(v->port, frame, len);
    return rc < 0 ? rc : 0;
}

int vnet_glue_nic_send_off(void *backend, const void *frame, size_t len, const struct netoff *off)
{
    struct vnic *v = backend;
    int rc;

    if (v == NULL || v->port == NULL) {
        return -ENODEV;
    }
    if (off != NULL && off->csum == NETOFF_CSUM_VALID) {
        return -EINVAL; /* a guest cannot vouch for a checksum it sends */
    }
    rc = vnet_input_off(v->port, frame, len, off);
    return rc < 0 ? rc : 0;
}

int vnet_glue_nic_set_offloads(void *backend, unsigned caps,
                               bool (*rx_off)(void *dev, const void *frame, size_t len,
                                              const struct netoff *off))
{
    struct vnic *v = backend;
    int rc;

    if (v == NULL || v->port == NULL) {
        return -ENODEV;
    }
    if (rx_off == NULL && caps != 0) {
        return -EINVAL;
    }
    /* The switch logs the change, or why it refused it (the port then takes plain frames). */
    rc = vnet_port_set_offloads(v->port, caps);
    if (rc != 0) {
        (void)vnet_port_set_offloads(v->port, 0);
    }
    v->rx_off = rx_off;
    return rc;
}

/* Deletes ports whose deletion had to wait (detached from inside a switch callback). */
static void pending_del_run(void)
{
    for (size_t i = 0; i < DETACH_PENDING; i++) {
        if (g_pending_del[i] != NULL && vnet_port_del(g_pending_del[i]->port) == 0) {
            kfree(g_pending_del[i]);
            g_pending_del[i] = NULL;
        }
    }
}

void vnet_glue_nic_detach(void *backend)
{
    struct vnic *v = backend;
    size_t i = 0;
    int rc;

    if (v == NULL) {
        return;
    }
    v->rx = NULL; /* the device is going away: nothing reaches it from now on */
    v->rx_off = NULL;
    rc = vnet_port_del(v->port);
    if (rc == 0) {
        kfree(v);
        return;
    }
    if (rc != -EBUSY) {
        LOG_ERROR(VNET, "port %s: delete failed (%d)", vnet_port_name(v->port), rc);
        return; /* the port keeps v as its context: v stays */
    }
    /* Called from inside a switch callback: the port goes on the next main-loop pass. */
    while (i < DETACH_PENDING && g_pending_del[i] != NULL) {
        i++;
    }
    if (i == DETACH_PENDING) {
        LOG_ERROR(VNET, "port %s: cannot be deleted now (too many pending)",
                  vnet_port_name(v->port));
        return;
    }
    g_pending_del[i] = v;
}

/* ---- [vnet] lines ------------------------------------------------------------------------ */

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    return s;
}

static int apply_line(const struct config_kv *kv)
{
    char line[CONFIG_VNET_LINE_MAX];
    char err[128];
    char *eq;
    char *key;
    char *val;
    int rc;

    str_copy(line, kv->value, sizeof(line));
    eq = strchr(line, '=');
    if (eq == NULL) {
        LOG_ERROR(VNET,
                  "config: %s:%u: [vnet] expected 'route = ...', 'link = ...' or "
                  "'aging = SECONDS', got '%s'",
                  VMS_CONFIG_MODULE, kv->line, kv->value);
        return -EINVAL;
    }
    *eq = '\0';
    key = trim(line);
    val = trim(eq + 1);
    err[0] = '\0';
    if (strcmp(key, "route") == 0) {
        struct vnet_route r;
        uint32_t id;

        rc = vnet_route_parse(val, &r, err, sizeof(err));
        if (rc == 0 && g_sw != NULL) {
            rc = vnet_route_add(g_sw, &r, -1, &id, err, sizeof(err));
        }
    } else if (strcmp(key, "link") == 0) {
        struct vnet_link_config lc;

        rc = vnet_link_parse(val, &lc, err, sizeof(err));
        if (rc == 0 && g_sw != NULL) {
            rc = vnet_link_add(g_sw, &lc, NULL, err, sizeof(err));
        }
    } else if (strcmp(key, "aging") == 0) {
        uint64_t s;

        rc = str_to_u64(val, &s) != 0 || s == 0 || s > VNET_AGING_MAX_S ? -EINVAL : 0;
        if (rc == 0 && g_sw != NULL) {
            rc = vnet_set_aging(g_sw, (uint32_t)s);
        }
        if (rc != 0) {
            snprintf(err, sizeof(err), "aging: expected seconds 1..%u, got '%s'", VNET_AGING_MAX_S,
                     val);
        }
    } else if (strcmp(key, "switch") == 0) {
        rc = strcmp(val, "on") == 0 || strcmp(val, "off") == 0 ? 0 : -EINVAL;
        if (rc != 0) {
            snprintf(err, sizeof(err), "switch: expected on or off, got '%s'", val);
        } else {
            return 0; /* read by switch_wanted() before the switch exists */
        }
    } else {
        snprintf(err, sizeof(err), "unknown key '%s' (known: route, link, aging, switch)", key);
        rc = -EINVAL;
    }
    if (rc != 0) {
        LOG_ERROR(VNET, "config: %s:%u: [vnet] %s: %s (%d): skipped", VMS_CONFIG_MODULE, kv->line,
                  key, err[0] != '\0' ? err : "rejected", rc);
        return rc;
    }
    if (g_sw == NULL) {
        LOG_WARN(VNET, "config: %s:%u: [vnet] %s not applied: no VNET switch (no host NIC)",
                 VMS_CONFIG_MODULE, kv->line, key);
        return 0;
    }
    LOG_INFO(VNET, "config: %s:%u: [vnet] %s = %s", VMS_CONFIG_MODULE, kv->line, key, val);
    return 0;
}

int vnet_glue_apply_config(const struct config *c)
{
    int problems = 0;

    if (c == NULL) {
        return 0;
    }
    for (size_t i = 0; i < c->nvnet && i < CONFIG_VNET_MAX; i++) {
        if (apply_line(&c->vnet[i]) != 0) {
            problems++;
        }
    }
    return problems;
}

/* ---- bring-up ------------------------------------------------------------------------- */

/* [vnet] switch = off: no switch, lwIP directly on the NIC as before VNET (guest NICs stay
 * unplugged). For comparisons (bench/vnet.sh) and as a fallback. The last such line wins. */
static bool switch_wanted(const struct config *c)
{
    bool on = true;

    for (size_t i = 0; c != NULL && i < c->nvnet && i < CONFIG_VNET_MAX; i++) {
        char line[CONFIG_VNET_LINE_MAX];
        char *eq;

        str_copy(line, c->vnet[i].value, sizeof(line));
        eq = strchr(line, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        if (strcmp(trim(line), "switch") == 0) {
            on = strcmp(trim(eq + 1), "off") != 0;
        }
    }
    return on;
}

static void tick(void *arg)
{
    (void)arg;
    vnet_tick(g_sw);
}

/* Busy hook (every main-loop pass and busy poll, after the NICs'): segments held for merging
 * go to their ports before a guest runs again. */
static void vnet_flush_hook(void *ctx)
{
    (void)ctx;
    vnet_flush(g_sw);
}

/* The main-loop hook: frames queued for lwIP, VXLAN datagrams queued while lwIP was busy,
 * capture streams, and port deletions that had to wait. */
static void vnet_poll(void *ctx)
{
    (void)ctx;
    edgeq_flush();
    /* A few rounds: feeding lwIP may queue more for it (VXLAN decapsulated inside lwIP's
     * input), and the main loop sleeps when no interrupt work is pending. */
    for (int i = 0; i < POLL_ROUNDS; i++) {
        bool more = net_link_vnet_poll() > 0;

        net_vxlan_poll();
        if (!more) {
            break;
        }
    }
    con_capture_poll();
    pending_del_run();
}

int vnet_glue_init(struct nic *nic)
{
    struct vnet_port_config pc;
    int rc;

    if (g_sw != NULL) {
        return -EBUSY;
    }
    if (nic == NULL) {
        /* No host NIC: no switch, but [vnet] lines are still checked and reported. */
        (void)vnet_glue_apply_config(vms_config_file());
        return -ENODEV;
    }
    if (!switch_wanted(vms_config_file())) {
        LOG_INFO(VNET, "no switch ([vnet] switch = off): lwIP runs directly on %s", nic->name);
        return -ENODEV;
    }
    vnet_host_set(&g_host);
    rc = vnet_switch_create(NULL, &g_sw);
    if (rc != 0) {
        LOG_ERROR(VNET, "cannot create the switch (%d): lwIP runs directly on %s", rc, nic->name);
        g_sw = NULL;
        return rc;
    }
    g_nic = nic;
    memset(&pc, 0, sizeof(pc));
    pc.name = "edge";
    pc.kind = VNET_PORT_EDGE;
    pc.tx = edge_tx;
    if (nic->ops->send_off != NULL) {
        pc.tx_off = edge_tx_off;
        pc.offloads = nic->tx_offloads; /* what the card segments and checksums itself */
    }
    pc.set_promisc = edge_promisc;
    pc.ctx = nic;
    rc = vnet_port_add(g_sw, &pc, &g_edge);
    if (rc != 0) {
        LOG_ERROR(VNET, "cannot add the edge port (%d): lwIP runs directly on %s", rc, nic->name);
        vnet_switch_destroy(g_sw);
        g_sw = NULL;
        return rc;
    }
    nic_set_rx_off(nic, edge_rx, g_edge);
    vnet_set_default(g_sw);
    timer_start(&g_tick, TICK_NS, TICK_NS, tick, NULL, "vnet");
    g_poll.fn = vnet_poll;
    g_poll.ctx = NULL;
    g_poll.name = "vnet";
    mainloop_add_poll(&g_poll);
    g_flush.fn = vnet_flush_hook;
    g_flush.ctx = NULL;
    g_flush.name = "vnet-flush";
    mainloop_add_busy_poll(&g_flush);
    rc = con_cmds_vnet_register();
    if (rc != 0) {
        LOG_ERROR(VNET, "cannot register the vnet console commands (%d)", rc);
    }
    LOG_INFO(VNET, "switch up: edge = %s", nic->name);
    (void)vnet_glue_apply_config(vms_config_file());
    return 0;
}

void vnet_glue_start(void)
{
    int rc;

    if (g_sw == NULL) {
        return;
    }
    rc = net_vxlan_start(g_sw);
    if (rc != 0) {
        LOG_ERROR(VNET, "VXLAN: UDP port %u not opened (%d): links cannot receive", VNET_VXLAN_PORT,
                  rc);
    }
    rc = con_capture_start(CAPTURE_PORT);
    if (rc != 0) {
        LOG_ERROR(VNET, "capture stream: TCP port %u not opened (%d)", CAPTURE_PORT, rc);
    } else {
        LOG_INFO(VNET, "capture stream (pcapng) on TCP port %u", CAPTURE_PORT);
    }
}
