/* The VNET switch's `local` port as the netstack's link: lwIP's frames enter the switch through
 * vnet_input(local), and frames the switch sends to the local port go to lwIP.
 *
 * lwIP is not re-entrant, and the switch may hand the local port a frame while lwIP is on the
 * stack (lwIP's own output flooded back, a VXLAN datagram decapsulated inside lwIP's UDP input).
 * Frames for lwIP are therefore always copied into a small queue and fed to lwIP from the main
 * loop (net_link_vnet_poll), outside the switch: lwIP's input, and whatever console command it
 * runs, never executes while a frame is in flight in the switch (which refuses port changes
 * then). The edge's receive callback calls the poll right after vnet_input, so a frame from the
 * wire reaches lwIP in the same main-loop pass. */
#include "link.h"
#include "../drivers/nic.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../vnet/vnet.h"

#define RXQ_LEN       64
#define RXQ_FRAME_MAX (NET_LINK_FRAME_MAX + 4) /* room for one VLAN tag */

struct rxq_slot {
    uint16_t len;
    uint8_t frame[RXQ_FRAME_MAX];
};

static struct vnet_port *g_local;
static struct nic *g_nic;
static net_link_rx_fn g_rx_fn;
static void *g_rx_arg;
static unsigned g_lwip_depth; /* > 0: lwIP is on the stack */
static struct rxq_slot g_rxq[RXQ_LEN];
static size_t g_rxq_head;
static size_t g_rxq_count;

bool net_lwip_busy(void)
{
    return g_lwip_depth > 0;
}

/* The local port's tx: a frame for lwIP. Queued (see above); -EAGAIN when the queue is full. */
static int local_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct rxq_slot *s;

    (void)port;
    if (len > RXQ_FRAME_MAX) {
        return -EMSGSIZE;
    }
    if (g_rxq_count == RXQ_LEN) {
        return -EAGAIN;
    }
    s = &g_rxq[(g_rxq_head + g_rxq_count) % RXQ_LEN];
    memcpy(s->frame, frame, len);
    s->len = (uint16_t)len;
    g_rxq_count++;
    return 0;
}

void net_link_vnet_poll(void)
{
    /* Bounded: at most the frames queued now (lwIP's answers do not come back here). */
    size_t n = g_rxq_count;

    if (g_lwip_depth > 0) {
        return;
    }
    while (n-- > 0 && g_rxq_count > 0) {
        struct rxq_slot *s = &g_rxq[g_rxq_head];

        if (g_rx_fn != NULL) {
            g_lwip_depth++;
            g_rx_fn(g_rx_arg, s->frame, s->len);
            g_lwip_depth--;
        }
        g_rxq_head = (g_rxq_head + 1) % RXQ_LEN;
        g_rxq_count--;
    }
}

/* lwIP's linkoutput, through netif.c: the frame enters the switch from the local port. */
static int vnet_link_send(void *ctx, const void *frame, size_t len)
{
    int rc;

    g_lwip_depth++;
    rc = vnet_input(ctx, frame, len);
    g_lwip_depth--;
    if (rc == -EBUSY) {
        return -EAGAIN; /* nested too deep now: netif.c queues it and retries */
    }
    return rc < 0 ? rc : 0; /* a frame nobody took (no station) is not an error for lwIP */
}

static void vnet_link_set_rx(void *ctx, net_link_rx_fn fn, void *arg)
{
    (void)ctx;
    g_rx_fn = fn;
    g_rx_arg = arg;
}

static bool vnet_link_up(void *ctx)
{
    (void)ctx;
    return g_nic->ops->link_up != NULL ? g_nic->ops->link_up(g_nic) : true;
}

int net_link_from_vnet(struct nic *nic, struct net_link *out)
{
    struct vnet_switch *sw = vnet_default();
    struct vnet_port_config pc;
    int rc;

    if (sw == NULL || nic == NULL) {
        return -ENODEV;
    }
    if (g_local == NULL) {
        memset(&pc, 0, sizeof(pc));
        pc.name = "local";
        pc.kind = VNET_PORT_LOCAL;
        pc.mac = nic->mac; /* the appliance keeps the NIC's address */
        pc.mtu = NIC_MTU;
        pc.tx = local_tx;
        rc = vnet_port_add(sw, &pc, &g_local);
        if (rc != 0) {
            LOG_ERROR(NET, "cannot add the VNET local port (%d)", rc);
            return rc;
        }
    }
    g_nic = nic;
    memset(out, 0, sizeof(*out));
    out->name = nic->name; /* log lines and ifconfig name the NIC, as without the switch */
    memcpy(out->mac, nic->mac, NET_LINK_MAC_LEN);
    out->mtu = NIC_MTU;
    out->ctx = g_local;
    out->send = vnet_link_send;
    out->set_rx = vnet_link_set_rx;
    out->link_up = vnet_link_up;
    return 0;
}
