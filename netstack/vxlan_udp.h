/* VXLAN over lwIP: the UDP socket on port 4789 whose datagrams go to vnet_vxlan_demux, and the
 * vnet_host udp_send that carries encapsulated frames from the appliance's own address. */
#ifndef PETREL_NET_VXLAN_UDP_H
#define PETREL_NET_VXLAN_UDP_H

#include "../kernel/types.h"

struct vnet_switch;

/* Opens UDP port 4789 for `sw` (after net_init). 0, -ENOMEM or -EIO. */
int net_vxlan_start(struct vnet_switch *sw);
/* vnet_host.udp_send: sends at once, or queues the datagram when lwIP is on the stack (a frame
 * from lwIP flooded to a link) to send it from the main loop. 0, -EAGAIN (queue full, lwIP
 * out of memory), -ENODEV (network not up), -EINVAL. */
int net_vxlan_send(void *ctx, uint32_t dst_ip, uint16_t dst_port, uint16_t src_port,
                   const void *buf, size_t len);
/* Sends queued datagrams (main loop). */
void net_vxlan_poll(void);

struct net_vxlan_stats {
    uint64_t rx_datagrams;
    uint64_t rx_too_big; /* longer than the receive buffer */
    uint64_t tx_datagrams;
    uint64_t tx_queued; /* sent later from the main loop */
    uint64_t tx_errors; /* lwIP refused (no route, no memory) or the queue was full */
};
void net_vxlan_get_stats(struct net_vxlan_stats *out);

#endif
