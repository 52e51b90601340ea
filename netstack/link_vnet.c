/* The VNET switch's `local` port as the netstack's link: lwIP's frames enter the switch through
 * vnet_input(local), and frames the switch sends to the local port go to lwIP.
 *
 * lwIP is not re-entrant, and the switch may hand the local port a frame while lwIP is on the
 * stack (lwIP's own output flooded back, a VXLAN datagram decapsulated inside lwIP's UDP input).
 * Frames for lwIP are therefore always copied into pool pbufs (the one copy the direct path makes
 * too, in netif.c) on a small queue, fed to lwIP's input from the main loop (net_link_vnet_poll)
 * outside the switch: lwIP's input, and whatever console command it
 * runs, never executes while a frame is in flight in the switch (which refuses port changes
 * then). The edge's receive callback calls the poll right after vnet_input, so a frame from the
 * wire reaches lwIP in the same main-loop pass. */
#include "link.h"
#include "netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"

#include "../drivers/nic.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/mainloop.h"
#include "../vnet/vnet.h"

#define RXQ_LEN       64
#define RXQ_FRAME_MAX (NET_LINK_FRAME_MAX + 4) /* room for one VLAN tag */

static struct vnet_port *g_local;
static struct nic *g_nic;
/* The netif (netif.c) that set_rx named: its receive function is bypassed so the frame is
 * copied once, into the pbuf queued here; its counters are kept the same way. */
static struct net_netif *g_nif;
static unsigned g_lwip_depth; /* > 0: lwIP is on the stack */
static struct pbuf *g_rxq[RXQ_LEN];
static size_t g_rxq_head;
static size_t g_rxq_count;

bool net_lwip_busy(void)
{
    return g_lwip_depth > 0;
}

/* The local port's tx: a frame for lwIP, copied into a pool pbuf and queued (see above).
 * -EAGAIN when the queue is full or the pool is empty (the switch counts tx_busy). */
static int local_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct pbuf *p;

    (void)port;
    if (g_nif == NULL) {
        return -ENODEV;
    }
    if (len == 0 || len > RXQ_FRAME_MAX) {
        g_nif->stats.rx_bad_len++;
        return -EMSGSIZE;
    }
    if (g_rxq_count == RXQ_LEN) {
        return -EAGAIN;
    }
    /* pbuf_alloc is safe while lwIP is on the stack: lwIP allocates from inside its own input
     * and output paths too; only its input and timers must not be re-entered. */
    p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    if (p == NULL) {
        g_nif->stats.rx_nomem++;
        LINK_STATS_INC(link.memerr);
        return -EAGAIN;
    }
    if (pbuf_take(p, frame, (u16_t)len) != ERR_OK) {
        pbuf_free(p);
        g_nif->stats.rx_nomem++;
        return -EAGAIN;
    }
    g_rxq[(g_rxq_head + g_rxq_count) % RXQ_LEN] = p;
    g_rxq_count++;
    mainloop_want_pass(); /* lwIP takes it in the main loop's pass */
    return 0;
}

size_t net_link_vnet_poll(void)
{
    /* Bounded: at most the frames queued now; frames queued meanwhile (a VXLAN datagram
     * decapsulated inside lwIP's input) wait for the next call. */
    size_t n = g_rxq_count;

    if (g_lwip_depth > 0) {
        return g_rxq_count;
    }
    while (n-- > 0 && g_rxq_count > 0) {
        struct pbuf *p = g_rxq[g_rxq_head];

        g_rxq[g_rxq_head] = NULL;
        g_rxq_head = (g_rxq_head + 1) % RXQ_LEN;
        g_rxq_count--;
        if (g_nif == NULL) {
            pbuf_free(p); /* the receiver went away */
            continue;
        }
        g_nif->stats.rx_frames++;
        g_nif->stats.rx_bytes += p->tot_len;
        LINK_STATS_INC(link.recv);
        g_lwip_depth++;
        if (g_nif->lwip.input(p, &g_nif->lwip) != ERR_OK) {
            pbuf_free(p);
            LINK_STATS_INC(link.drop);
        }
        g_lwip_depth--;
    }
    return g_rxq_count;
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
    /* Only netif.c sets a receiver (net_netif_add, arg = its struct net_netif); NULL stops
     * delivery. */
    g_nif = fn != NULL ? arg : NULL;
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
