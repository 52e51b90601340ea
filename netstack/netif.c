/* The appliance's lwIP network interface over a net_link: frames out through link->send (with a
 * small queue for when the link is busy), frames in through the link's receive callback. */
#include "netif.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "netif/ethernet.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"

#define LINK_CHECK_MS 500 /* how often the carrier state is read */
#define HOSTNAME      "petrel"

/* Hands one frame to the link; counts it. Returns the link's result. */
static int link_send(struct net_netif *nif, const void *frame, size_t len)
{
    int rc = nif->link.send(nif->link.ctx, frame, len);

    if (rc == 0) {
        nif->stats.tx_frames++;
        nif->stats.tx_bytes += len;
        LINK_STATS_INC(link.xmit);
    }
    return rc;
}

/* Sends queued frames in order until the queue is empty or the link is busy again. */
static void txq_flush(struct net_netif *nif)
{
    while (nif->txq_count > 0) {
        struct net_txq_slot *s = &nif->txq[nif->txq_head];
        int rc = link_send(nif, s->frame, s->len);

        if (rc == -EAGAIN) {
            return;
        }
        if (rc != 0) {
            nif->stats.tx_dropped++;
            LINK_STATS_INC(link.drop);
            LOG_DEBUG(NET, "%s: queued frame of %u bytes refused (%d)", nif->link.name, s->len, rc);
        }
        nif->txq_head = (nif->txq_head + 1) % NET_TXQ_LEN;
        nif->txq_count--;
    }
}

/* Copies a frame to the tail of the queue. Returns ERR_OK or ERR_MEM when the queue is full. */
static err_t txq_push(struct net_netif *nif, struct pbuf *p)
{
    struct net_txq_slot *s;

    if (nif->txq_count == NET_TXQ_LEN) {
        nif->stats.tx_dropped++;
        LINK_STATS_INC(link.memerr);
        LINK_STATS_INC(link.drop);
        return ERR_MEM;
    }
    s = &nif->txq[(nif->txq_head + nif->txq_count) % NET_TXQ_LEN];
    s->len = (uint16_t)pbuf_copy_partial(p, s->frame, p->tot_len, 0);
    nif->txq_count++;
    nif->stats.tx_queued++;
    if (nif->txq_count > nif->stats.tx_queue_max) {
        nif->stats.tx_queue_max = nif->txq_count;
    }
    return ERR_OK;
}

/* lwIP's linkoutput: one complete Ethernet frame, possibly a pbuf chain. */
static err_t netif_linkoutput(struct netif *netif, struct pbuf *p)
{
    struct net_netif *nif = netif->state;
    const void *frame;
    int rc;

    if (p->tot_len > NET_LINK_FRAME_MAX) {
        nif->stats.tx_dropped++;
        LINK_STATS_INC(link.lenerr);
        LINK_STATS_INC(link.drop);
        LOG_WARN(NET, "%s: frame of %u bytes is too long to send", nif->link.name, p->tot_len);
        return ERR_BUF;
    }
    /* Keep the order: while older frames wait, new ones queue behind them. */
    txq_flush(nif);
    if (nif->txq_count > 0) {
        return txq_push(nif, p);
    }
    if (p->len == p->tot_len) {
        frame = p->payload; /* the usual case with LWIP_NETIF_TX_SINGLE_PBUF */
    } else {
        pbuf_copy_partial(p, nif->bounce, p->tot_len, 0);
        frame = nif->bounce;
    }
    rc = link_send(nif, frame, p->tot_len);
    if (rc == -EAGAIN) {
        return txq_push(nif, p);
    }
    if (rc != 0) {
        nif->stats.tx_dropped++;
        LINK_STATS_INC(link.err);
        LINK_STATS_INC(link.drop);
        LOG_DEBUG(NET, "%s: frame of %u bytes refused (%d)", nif->link.name, p->tot_len, rc);
        return ERR_IF;
    }
    return ERR_OK;
}

/* The link's receive callback (main loop): copy the frame into pool pbufs and pass it up. */
static void netif_rx(void *arg, const void *frame, size_t len)
{
    struct net_netif *nif = arg;
    struct pbuf *p;

    if (len == 0 || len > NET_LINK_FRAME_MAX + 4) { /* + 4: room for a VLAN tag */
        nif->stats.rx_bad_len++;
        LINK_STATS_INC(link.lenerr);
        LINK_STATS_INC(link.drop);
        return;
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    if (p == NULL) {
        nif->stats.rx_nomem++;
        LINK_STATS_INC(link.memerr);
        LINK_STATS_INC(link.drop);
        return;
    }
    if (pbuf_take(p, frame, (u16_t)len) != ERR_OK) {
        pbuf_free(p);
        nif->stats.rx_nomem++;
        LINK_STATS_INC(link.drop);
        return;
    }
    nif->stats.rx_frames++;
    nif->stats.rx_bytes += len;
    LINK_STATS_INC(link.recv);
    if (nif->lwip.input(p, &nif->lwip) != ERR_OK) {
        pbuf_free(p);
        LINK_STATS_INC(link.drop);
    }
}

/* netif_add's init callback: describe the interface to lwIP. */
static err_t netif_setup(struct netif *netif)
{
    struct net_netif *nif = netif->state;

    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = NET_LINK_MAC_LEN;
    memcpy(netif->hwaddr, nif->link.mac, NET_LINK_MAC_LEN);
    netif->mtu = nif->link.mtu;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif->output = etharp_output;
    netif->linkoutput = netif_linkoutput;
    netif_set_hostname(netif, HOSTNAME);
    return ERR_OK;
}

int net_netif_add(struct net_netif *nif, const struct net_link *link, const ip4_addr_t *ip,
                  const ip4_addr_t *netmask, const ip4_addr_t *gw)
{
    if (link->send == NULL || link->set_rx == NULL || link->mtu < 576 || link->mtu > 1500) {
        return -EINVAL;
    }
    memset(nif, 0, sizeof(*nif));
    nif->link = *link;
    if (netif_add(&nif->lwip, ip, netmask, gw, nif, netif_setup, ethernet_input) == NULL) {
        return -EIO;
    }
    nif->link_was_up = nif->link.link_up == NULL || nif->link.link_up(nif->link.ctx);
    nif->link_checked_ms = sys_now();
    if (nif->link_was_up) {
        netif_set_link_up(&nif->lwip);
    } else {
        LOG_WARN(NET, "%s: no carrier yet", nif->link.name);
    }
    nif->link.set_rx(nif->link.ctx, netif_rx, nif);
    return 0;
}

/* Follows carrier changes so DHCP restarts when a cable comes back. */
static void check_link(struct net_netif *nif)
{
    uint32_t now = sys_now();
    bool up;

    if (nif->link.link_up == NULL || now - nif->link_checked_ms < LINK_CHECK_MS) {
        return;
    }
    nif->link_checked_ms = now;
    up = nif->link.link_up(nif->link.ctx);
    if (up == nif->link_was_up) {
        return;
    }
    nif->link_was_up = up;
    LOG_INFO(NET, "%s: link %s", nif->link.name, up ? "up" : "down");
    if (up) {
        netif_set_link_up(&nif->lwip);
    } else {
        netif_set_link_down(&nif->lwip);
    }
}

void net_netif_poll(struct net_netif *nif)
{
    txq_flush(nif);
    check_link(nif);
}
