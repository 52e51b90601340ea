/* The link under the appliance's lwIP netif: where its Ethernet frames go and come from.
 *
 * Normally the link is the VNET switch's "local" port (link_vnet.c); without a switch it is the
 * host NIC itself (link_nic.c).
 * The netif (netif.c) sees only this structure, so changing what is underneath touches one
 * small file. */
#ifndef PETREL_NET_LINK_H
#define PETREL_NET_LINK_H

#include "../kernel/types.h"

#define NET_LINK_MAC_LEN   6
#define NET_LINK_FRAME_MAX 1514 /* Ethernet frame without FCS and without VLAN tag */

/* Receives one frame (without FCS) from the link. Called from the main loop, never from an
 * interrupt handler; the frame is only valid during the call. */
typedef void (*net_link_rx_fn)(void *arg, const void *frame, size_t len);

struct net_link {
    const char *name; /* for log lines: "rtl8139" */
    uint8_t mac[NET_LINK_MAC_LEN];
    uint16_t mtu; /* IP MTU: 1500 */
    void *ctx;    /* passed to the functions below */
    /* Sends one frame (14..NET_LINK_FRAME_MAX bytes); the frame is copied before it returns.
     * 0, -EAGAIN when the link cannot take it now (the caller may retry later), or another
     * negative errno when the frame was refused. */
    int (*send)(void *ctx, const void *frame, size_t len);
    /* Routes received frames to fn(arg, ...) (fn NULL: drop them). */
    void (*set_rx)(void *ctx, net_link_rx_fn fn, void *arg);
    /* Carrier state (true when the link cannot tell). */
    bool (*link_up)(void *ctx);
};

struct nic;

/* The host NIC as a link (link_nic.c): lwIP directly on the NIC, when there is no switch. */
void net_link_from_nic(struct nic *nic, struct net_link *out);

/* The VNET switch's `local` port as a link (link_vnet.c): adds the port to the default switch
 * with the NIC's MAC. -ENODEV when there is no switch (then use net_link_from_nic). */
int net_link_from_vnet(struct nic *nic, struct net_link *out);
/* Feeds frames the local port queued to lwIP (main loop, never from inside lwIP). Returns how
 * many are still queued (queued while it ran). */
size_t net_link_vnet_poll(void);
/* Whether lwIP is on the call stack now (inside its input, or inside linkoutput): then
 * nothing may call into lwIP, and frames and datagrams for it are queued. */
bool net_lwip_busy(void);

#endif
