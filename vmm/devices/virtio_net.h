/* virtio-net over virtio-pci: the fast paravirtual NIC (Linux: virtio_pci + virtio_net).
 *
 * A transitional device, 1AF4:1000 (subsystem 1AF4:0001, network), with both transports:
 *   - legacy (virtio 0.9.5): BAR0, 64 IO ports: host/guest features, queue PFN/size/select/
 *     notify, status, ISR (read clears), then (with MSI-X enabled) config_vector at 0x14 and
 *     queue_vector at 0x16, then the device config (MAC, link status, max_virtqueue_pairs,
 *     MTU) at 0x14, or 0x18 with MSI-X enabled;
 *   - modern (virtio 1.0): vendor capabilities at 0x40 in config space pointing into BAR1, a
 *     32 KiB memory BAR: common config at 0x0000, ISR at 0x1000, device config at 0x2000,
 *     notifications at 0x3000 (one dword per queue). The driver picks one (Linux takes the
 *     modern one when the capabilities are there; virtio_pci.force_legacy=1 takes the other).
 * Interrupts: INTA (level, ISR read clears it) and, when the machine routes MSIs (a VM with
 * APICs), MSI-X (msix.c): the capability at 0x84 after the vendor ones, 3 vectors with the
 * table at BAR1 0x4000 and the pending bits at 0x5000. The driver assigns vectors to config
 * changes (msix_config / legacy config_vector) and to each queue (queue_msix_vector / legacy
 * queue_vector); a number beyond the table reads back 0xFFFF (NO_VECTOR, refused). With MSI-X
 * enabled a queue interrupt is its vector's message (none for NO_VECTOR) and INTx stays low:
 * the driver never reads ISR (one exit less per interrupt, and no IOAPIC EOI); ISR still
 * records the cause. Without MSI-X, INTx and ISR as before. A device reset (status 0)
 * clears the vector assignments; a VM reset also the MSI-X table and enable.
 * One RX queue (0) and one TX queue (1), 256 entries each. Features offered: MAC, STATUS,
 * RING_EVENT_IDX, MRG_RXBUF, the offloads CSUM, GUEST_CSUM and HOST_TSO4, GUEST_TSO4 when
 * the host takes offload metadata (vmm_host nic_send_off / nic_set_offloads), MTU when the
 * host reports the port's MTU (vmm_host nic_mtu: 1450 on a VNET network a VXLAN link
 * carries, so the guest's full-size frames cross it unfragmented) and, on the modern
 * transport, VERSION_1. The header is 12 bytes (num_buffers at 10) with VERSION_1 or
 * MRG_RXBUF, both ways; 10 on a legacy transport without MRG_RXBUF. No control queue.
 *
 * Mergeable receive buffers (MRG_RXBUF; without it a driver taking GUEST_TSO4 posts "big
 * packet" chains of ~19 page-sized descriptors, 13 frames a ring, each plain frame using a
 * whole 64 KiB chain): a frame and its header that do not fit one buffer are spread over as
 * many as needed, in ring order, each used element with the bytes written into its buffer,
 * num_buffers in the first header saying how many; the used index moves once, after all of
 * them. The buffers are measured before any is written: when the ring runs out partway they
 * go back to it untouched (virtq_unpop) and the frame is dropped (rx_dropped,
 * rx_merge_short). A driver that does not ack MRG_RXBUF gets one chain per frame.
 *
 * Transmit offloads: with CSUM the guest may leave a TCP/UDP checksum to the device
 * (NEEDS_CSUM, csum_start, csum_offset); with HOST_TSO4 it may hand a TCP/IPv4 super-frame of
 * up to 64 KiB (gso_type TCPV4, gso_size). The model checks the header against the frame
 * either way (it protects the host); then, when the host takes metadata (nic_send_off), it
 * sends the frame once with it (kernel/lib/netoff.h: GSO TCPV4 + PARTIAL, or PARTIAL) and the
 * VNET switch segments or completes it only for receivers that cannot take it; without
 * that, the model fills the checksum in (netcsum) or cuts the super-frame into wire-sized
 * segments (tcpseg) itself. A guest's DATA_VALID is never believed. A TX header the device
 * cannot honour (NEEDS_CSUM without CSUM, a checksum field outside the frame, a GSO type not
 * negotiated, a malformed super-frame, unknown or device-only flags) drops that frame only:
 * counted (tx_dropped, tx_bad_hdr), logged at most once a second, the ring goes on.
 *
 * Receive offloads: once the driver has negotiated (FEATURES_OK / DRIVER_OK) the model tells
 * the host what it takes (vnic_set_offloads, with vmm_virtio_net_rx_off as the receive hook):
 * with GUEST_CSUM partial checksums (NEEDS_CSUM to the guest) and checked ones (DATA_VALID),
 * with GUEST_TSO4 too (which the spec allows only with GUEST_CSUM) TCP/IPv4 super-frames
 * (gso_type TCPV4, gso_size, hdr_len); a device reset takes it back. Frames without metadata
 * are marked DATA_VALID with GUEST_CSUM only after the model verified the checksum itself:
 * they may come from another guest or the wire, and the check on the host copy is cheaper
 * than the nested guest's. Metadata the guest did not negotiate, or that does not fit the
 * frame, is a host bug: the frame is dropped and counted (rx_bad_off), never handed on.
 *
 * Exits: TX descriptors are taken at every kick AND at every poll (the core polls before each
 * guest entry), all that are available each time; with EVENT_IDX the device asks for a kick
 * only for the first buffer added after it last looked, so a busy guest transmits without
 * kicks. RX interrupts are decided at poll time, once for everything received since (one
 * interrupt per burst), honouring used_event / NO_INTERRUPT.
 *
 * Every descriptor, address and length is checked (virtq.c): a malformed ring resets the
 * device (status reads DEVICE_NEEDS_RESET, 0x40) with a log line. DMA needs bus mastering on. */
#ifndef PETREL_VMM_DEV_VIRTIO_NET_H
#define PETREL_VMM_DEV_VIRTIO_NET_H

#include "pci_host.h"
#include "vnic.h"

struct netoff;

#define VIRTIO_NET_IO_SIZE   64
#define VIRTIO_NET_MMIO_SIZE 0x8000
#define VIRTIO_NET_QSIZE     256

struct vmm_virtio_net;

int vmm_dev_virtio_net_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                              const struct vmm_nic_dev_config *cfg, struct vmm_virtio_net **out);
/* Delivers a frame as the backend does (the rx hook; also for tests). */
bool vmm_virtio_net_rx(void *dev, const void *frame, size_t len);
/* The receive hook once offloads are negotiated: the frame with its metadata (NULL: none),
 * which must be one the guest negotiated (else dropped and counted). vmm_virtio_net_rx is
 * this with NULL. False when the frame was dropped. */
bool vmm_virtio_net_rx_off(void *dev, const void *frame, size_t len, const struct netoff *off);
const struct vmm_nic_stats *vmm_virtio_net_stats(const struct vmm_virtio_net *n);

struct vmm_virtio_net_offload_stats {
    /* NEEDS_CSUM frames (no GSO) taken from the guest: checksum filled in here, or passed to
     * the host as PARTIAL */
    uint64_t tx_csum;
    uint64_t tx_bad_hdr; /* TX frames dropped for a bad header (also in tx_dropped) */
    /* RX frames marked DATA_VALID: checked here, or VALID from the host (which checked it) */
    uint64_t rx_csum_valid;
    /* TCPv4 super-frames taken from the guest: cut here, or passed to the host whole */
    uint64_t tx_tso;
    uint64_t tx_tso_segs;     /* the wire-sized segments they make (here or beyond the host) */
    uint64_t tx_off;          /* frames the host took with metadata (of tx_csum and tx_tso) */
    uint64_t rx_gso;          /* super-frames handed to the guest whole (GSO TCPV4) */
    uint64_t rx_csum_partial; /* frames handed to the guest with NEEDS_CSUM (rx_gso too) */
    uint64_t rx_bad_off; /* RX frames dropped for metadata the guest cannot take (rx_dropped) */
    uint64_t rx_merged;  /* RX frames spread over more than one mergeable buffer */
    /* RX frames dropped because the ring ran out of mergeable buffers partway (rx_dropped;
     * the buffers stay available) */
    uint64_t rx_merge_short;
};
const struct vmm_virtio_net_offload_stats *
vmm_virtio_net_offload_stats(const struct vmm_virtio_net *n);

#endif
