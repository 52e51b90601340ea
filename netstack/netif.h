/* The appliance's lwIP network interface over a net_link (link.h). */
#ifndef PETREL_NET_NETIF_H
#define PETREL_NET_NETIF_H

#include "link.h"
#include "lwip/netif.h"

/* Frames the link could not take at once (-EAGAIN) wait here and go out, in order, from the
 * main loop. 32 frames cover a full TCP send window (16 segments) plus ACKs and ARP. */
#define NET_TXQ_LEN 32

/* Counters of the netif itself (lwIP's own are in lwip_stats.link). */
struct net_netif_stats {
    uint64_t rx_frames;
    uint64_t rx_bytes;
    uint64_t rx_nomem;   /* no pbuf for a received frame: dropped */
    uint64_t rx_bad_len; /* frame longer than the link allows or empty: dropped */
    uint64_t tx_frames;  /* handed to the link */
    uint64_t tx_bytes;
    uint64_t tx_queued;    /* deferred because the link was busy */
    uint64_t tx_dropped;   /* queue full, link error or too long */
    uint64_t tx_queue_max; /* deepest the queue has been */
};

struct net_txq_slot {
    uint16_t len;
    uint8_t frame[NET_LINK_FRAME_MAX];
};

struct net_netif {
    struct netif lwip;
    struct net_link link;
    struct net_netif_stats stats;
    bool link_was_up;
    uint32_t link_checked_ms;
    /* TX queue: a ring of copies; head is the oldest frame. */
    struct net_txq_slot txq[NET_TXQ_LEN];
    unsigned txq_head;
    unsigned txq_count;
    /* Bounce buffer for pbuf chains that are not contiguous. */
    uint8_t bounce[NET_LINK_FRAME_MAX];
};

/* Adds `nif` to lwIP over `link` (copied) with the given addresses (network byte order; all
 * zero for DHCP) and starts taking received frames. Returns 0 or a negative errno. */
int net_netif_add(struct net_netif *nif, const struct net_link *link, const ip4_addr_t *ip,
                  const ip4_addr_t *netmask, const ip4_addr_t *gw);
/* Main-loop work: sends queued frames and follows the link's carrier state. */
void net_netif_poll(struct net_netif *nif);

#endif
