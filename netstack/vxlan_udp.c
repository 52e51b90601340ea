/* VXLAN over lwIP (see vxlan_udp.h). Datagrams arrive in lwIP's UDP input, so the switch runs
 * inside lwIP then; anything it sends to the local port is queued by link_vnet.c, and anything
 * it sends to a link (another VXLAN datagram) is queued here: lwIP is never re-entered. */
#include "vxlan_udp.h"
#include "link.h"

#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../vnet/vnet.h"

#define RX_MAX  (VNET_VXLAN_HLEN + VNET_MTU_MAX + 14 + 4) /* header + the largest inner frame */
#define TXQ_LEN 32

struct txq_slot {
    struct pbuf *p;
    uint32_t dst_ip;
    uint16_t dst_port;
    uint16_t src_port;
};

static struct vnet_switch *g_sw;
static struct udp_pcb *g_rx_pcb;
static struct udp_pcb *g_tx_pcb; /* unbound: its local port is set per datagram (flow hash) */
static uint8_t g_rxbuf[RX_MAX];
static struct txq_slot g_txq[TXQ_LEN];
static size_t g_txq_head;
static size_t g_txq_count;
static struct net_vxlan_stats g_stats;

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                    u16_t port)
{
    const void *payload;
    uint32_t src;

    (void)arg;
    (void)pcb;
    if (p == NULL) {
        return;
    }
    g_stats.rx_datagrams++;
    if (p->tot_len > sizeof(g_rxbuf)) {
        g_stats.rx_too_big++;
        LOG_DEBUG(VNET, "vxlan: datagram of %u bytes is too long: dropped", p->tot_len);
        pbuf_free(p);
        return;
    }
    if (p->len == p->tot_len) {
        payload = p->payload;
    } else {
        pbuf_copy_partial(p, g_rxbuf, p->tot_len, 0);
        payload = g_rxbuf;
    }
    src = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(addr)));
    (void)vnet_vxlan_demux(g_sw, src, port, payload, p->tot_len); /* counted by the switch */
    pbuf_free(p);
}

/* Hands one datagram to lwIP. Returns 0 or a negative errno. */
static int send_now(struct pbuf *p, uint32_t dst_ip, uint16_t dst_port, uint16_t src_port)
{
    ip_addr_t dst;
    err_t err;

    ip_addr_set_ip4_u32_val(dst, lwip_htonl(dst_ip));
    g_tx_pcb->local_port = src_port;
    err = udp_sendto(g_tx_pcb, p, &dst, dst_port);
    if (err != ERR_OK) {
        g_stats.tx_errors++;
        LOG_DEBUG(VNET, "vxlan: lwIP refused a datagram of %u bytes (error %d)", p->tot_len,
                  (int)err);
        return err == ERR_MEM || err == ERR_BUF ? -EAGAIN : -EIO;
    }
    g_stats.tx_datagrams++;
    return 0;
}

int net_vxlan_send(void *ctx, uint32_t dst_ip, uint16_t dst_port, uint16_t src_port,
                   const void *buf, size_t len)
{
    struct pbuf *p;
    int rc;

    (void)ctx;
    if (g_tx_pcb == NULL) {
        return -ENODEV;
    }
    if (len == 0 || len > 0xffff - 8 - 20) {
        return -EINVAL;
    }
    if (net_lwip_busy() && g_txq_count == TXQ_LEN) {
        g_stats.tx_errors++;
        return -EAGAIN;
    }
    p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (p == NULL) {
        g_stats.tx_errors++;
        return -EAGAIN;
    }
    memcpy(p->payload, buf, len);
    if (net_lwip_busy()) {
        struct txq_slot *s = &g_txq[(g_txq_head + g_txq_count) % TXQ_LEN];

        s->p = p;
        s->dst_ip = dst_ip;
        s->dst_port = dst_port;
        s->src_port = src_port;
        g_txq_count++;
        g_stats.tx_queued++;
        return 0;
    }
    rc = send_now(p, dst_ip, dst_port, src_port);
    pbuf_free(p);
    return rc;
}

void net_vxlan_poll(void)
{
    if (net_lwip_busy()) {
        return;
    }
    /* Bounded by the queue length; sending cannot queue more (lwIP is not busy here). */
    while (g_txq_count > 0) {
        struct txq_slot *s = &g_txq[g_txq_head];

        (void)send_now(s->p, s->dst_ip, s->dst_port, s->src_port);
        pbuf_free(s->p);
        s->p = NULL;
        g_txq_head = (g_txq_head + 1) % TXQ_LEN;
        g_txq_count--;
    }
}

int net_vxlan_start(struct vnet_switch *sw)
{
    err_t err;

    if (sw == NULL) {
        return -EINVAL;
    }
    if (g_rx_pcb != NULL) {
        return -EBUSY;
    }
    g_rx_pcb = udp_new_ip_type(IPADDR_TYPE_V4);
    g_tx_pcb = udp_new_ip_type(IPADDR_TYPE_V4);
    if (g_rx_pcb == NULL || g_tx_pcb == NULL) {
        if (g_rx_pcb != NULL) {
            udp_remove(g_rx_pcb);
        }
        if (g_tx_pcb != NULL) {
            udp_remove(g_tx_pcb);
        }
        g_rx_pcb = NULL;
        g_tx_pcb = NULL;
        return -ENOMEM;
    }
    err = udp_bind(g_rx_pcb, IP4_ADDR_ANY, VNET_VXLAN_PORT);
    if (err != ERR_OK) {
        LOG_ERROR(VNET, "vxlan: cannot bind UDP port %u (lwIP error %d)", VNET_VXLAN_PORT,
                  (int)err);
        udp_remove(g_rx_pcb);
        udp_remove(g_tx_pcb);
        g_rx_pcb = NULL;
        g_tx_pcb = NULL;
        return -EIO;
    }
    /* Outer UDP checksum zero, as RFC 7348 (section 5) asks and Linux's vxlan sends by default:
     * the inner frame carries its own checksums, and a datagram of ~1.5 KB summed in software
     * twice (here and at the receiver, which checks a non-zero sum) costs every frame. */
    udp_setflags(g_tx_pcb, udp_flags(g_tx_pcb) | UDP_FLAGS_NOCHKSUM);
    g_sw = sw;
    udp_recv(g_rx_pcb, on_recv, NULL);
    LOG_INFO(VNET, "vxlan: listening on UDP port %u", VNET_VXLAN_PORT);
    return 0;
}

void net_vxlan_get_stats(struct net_vxlan_stats *out)
{
    *out = g_stats;
}
