/* What the guest NIC models (virtio_net.c, rtl8139.c, ne2k.c) share: the connection to the
 * host's network through struct vmm_host's nic_attach/nic_send/nic_detach (without them, or
 * when attaching fails, the NIC is unplugged: link down, frames dropped and counted), the
 * counters, and the one way a model reacts to a hostile guest (vnic_hostile: a log line with
 * the reason, counted; the model then resets itself). A model whose guest negotiates offloads
 * (virtio-net) hands frames on with their metadata (kernel/lib/netoff.h) through the host's
 * optional nic_send_off / nic_set_offloads, when the host has them (vnic_offloads_supported). */
#ifndef PETREL_VMM_DEV_VNIC_H
#define PETREL_VMM_DEV_VNIC_H

#include "../nic_config.h"
#include "../vmm_dev.h"

struct netoff;

struct vmm_nic_stats {
    uint64_t tx_frames;
    uint64_t tx_bytes;
    uint64_t tx_dropped; /* unplugged, too long or too short, backend refused */
    uint64_t rx_frames;
    uint64_t rx_bytes;
    uint64_t rx_dropped; /* unplugged, receiver off or ring full, frame too long */
    uint64_t irqs;       /* interrupt line raised */
    uint64_t kicks;      /* guest doorbell / transmit-start writes */
    uint64_t hostile;    /* resets after a malformed descriptor, address or length */
};

struct vnic_port {
    struct vmm_vm *vm;
    const char *model; /* "virtio-net", for log lines */
    char name[VMM_NIC_NAME_MAX];
    uint8_t mac[6];
    void *backend; /* NULL: unplugged */
    struct vmm_nic_stats stats;
};

/* Fills the port and attaches it to the host's network (failure leaves it unplugged and is
 * logged; it is not an error for the VM). */
void vnic_port_init(struct vnic_port *p, struct vmm_vm *vm, const char *model, const char *name,
                    const uint8_t mac[6], bool (*rx)(void *dev, const void *frame, size_t len),
                    void *dev);
void vnic_port_detach(struct vnic_port *p);
static inline bool vnic_link_up(const struct vnic_port *p)
{
    return p->backend != NULL;
}
/* Sends a guest frame (counted either way); len 14..VMM_NIC_FRAME_MAX. */
void vnic_send(struct vnic_port *p, const void *frame, size_t len);
/* Whether the host takes offload metadata both ways (struct vmm_host's nic_send_off and
 * nic_set_offloads) on an attached port: without it a model does the work itself. */
bool vnic_offloads_supported(const struct vnic_port *p);
/* Sends a guest frame with offload metadata (NULL: none), counted as vnic_send counts (one
 * frame, a super-frame included); len 14..VMM_NIC_FRAME_MAX, or ..NETOFF_FRAME_MAX when off
 * asks for GSO. The host checks off (netoff_check) and refuses a bad one (counted drop).
 * Without the host's nic_send_off a frame that asks for work is dropped (counted; a model
 * checks vnic_offloads_supported first), one that does not goes through nic_send. Returns 0
 * when the host took the frame, else a negative code (the drop is counted either way). */
int vnic_send_off(struct vnic_port *p, const void *frame, size_t len, const struct netoff *off);
/* Tells the host which offloads (NETOFF_CAP_*) the guest takes on receive and the receive
 * hook that gets frames with their metadata (caps 0 and rx_off NULL: back to the plain rx
 * hook). 0, the host's error, or -ENOTSUP without nic_set_offloads or when unplugged. */
int vnic_set_offloads(struct vnic_port *p, unsigned caps,
                      bool (*rx_off)(void *dev, const void *frame, size_t len,
                                     const struct netoff *off));
/* Counts a dropped received frame. Returns false (what rx hooks return for it). */
bool vnic_rx_drop(struct vnic_port *p);
void vnic_rx_count(struct vnic_port *p, size_t len);
/* The 6-bit multicast hash index both the RTL8139 and the DP8390 use: the top six bits of the
 * big-endian Ethernet CRC of the destination address (bit n of the 8-byte MAR filter). */
unsigned vnic_mcast_hash(const uint8_t dst[6]);
/* Whether a frame for dst passes a station filter: own address, broadcast, multicast through
 * the 8-byte hash filter `mar` (NULL: all multicast), or everything (promiscuous). */
bool vnic_accept(const uint8_t mac[6], const uint8_t dst[6], bool promisc, bool broadcast,
                 bool multicast, const uint8_t *mar);
/* Logs a hostile guest action (the model resets itself after). */
void vnic_hostile(struct vnic_port *p, const char *fmt, ...) PRINTF_FMT(2, 3);

#endif
