/* virtio-net on a transitional virtio-pci function, legacy and modern transports (virtio_net.h). */
#include "virtio_net.h"
#include "msix.h"
#include "virtq.h"
#include "../../kernel/lib/netcsum.h"
#include "../../kernel/lib/netoff.h"
#include "../../kernel/lib/tcpseg.h"
#include "../host.h"
#include "../../kernel/lib.h"
#include "../../kernel/log.h"

/* Legacy IO registers (BAR0). */
#define LEG_HOST_FEATURES  0x00
#define LEG_GUEST_FEATURES 0x04
#define LEG_QUEUE_PFN      0x08
#define LEG_QUEUE_NUM      0x0C
#define LEG_QUEUE_SEL      0x0E
#define LEG_QUEUE_NOTIFY   0x10
#define LEG_STATUS         0x12
#define LEG_ISR            0x13
#define LEG_CONFIG         0x14
/* With MSI-X enabled the vector registers come next and the device config moves by 4. */
#define LEG_CONFIG_VECTOR 0x14
#define LEG_QUEUE_VECTOR  0x16
#define LEG_CONFIG_MSIX   0x18
#define LEG_VRING_ALIGN   4096

/* Modern regions in BAR1. */
#define MOD_COMMON     0x0000
#define MOD_COMMON_LEN 0x38
#define MOD_ISR        0x1000
#define MOD_DEVICE     0x2000
#define MOD_NOTIFY     0x3000
#define MOD_NOTIFY_MUL 4
/* A second notify region in the IO BAR, after the legacy registers and device config (as
 * QEMU's modern-pio-notify): its capability comes first in the list, so Linux kicks with an
 * OUT (an IOIO exit names port and value) instead of an MMIO store, whose exit needs the
 * instruction fetched through the guest's page tables and decoded. */
#define PIO_NOTIFY     0x30
#define PIO_NOTIFY_LEN (NQUEUES * MOD_NOTIFY_MUL)
#define MOD_REGION     0x1000
/* MSI-X table and pending bits, in BAR1 too: one vector for config changes, one per queue. */
#define MOD_MSIX_TABLE 0x4000
#define MOD_MSIX_PBA   0x5000
#define MSIX_VECTORS   3

/* Vendor capabilities in config space. */
#define CAP_BASE       0x40
#define CAP_VNDR       0x09
#define CAP_COMMON_CFG 1
#define CAP_NOTIFY_CFG 2
#define CAP_ISR_CFG    3
#define CAP_DEVICE_CFG 4
#define CAP_MSIX       (CAP_BASE + 0x44) /* after the notify capability (20 bytes at 0x70) */
#define CAP_PIO_NOTIFY (CAP_BASE + 0x50) /* after MSI-X (12 bytes at 0x84) */

#define STATUS_ACK         0x01
#define STATUS_DRIVER      0x02
#define STATUS_DRIVER_OK   0x04
#define STATUS_FEATURES_OK 0x08
#define STATUS_NEEDS_RESET 0x40
#define STATUS_FAILED      0x80

#define ISR_QUEUE  0x01
#define ISR_CONFIG 0x02

#define F_CSUM       (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MTU        (1ull << 3) /* mtu in the device config: the guest's MTU */
#define F_MAC        (1ull << 5)
#define F_GUEST_TSO4 (1ull << 7) /* super-frames to the guest; needs GUEST_CSUM (the spec) */
#define F_HOST_TSO4  (1ull << 11)
#define F_MRG_RXBUF  (1ull << 15) /* a received frame may span several buffers */
#define F_STATUS     (1ull << 16)
#define F_EVENT_IDX  (1ull << 29)
#define F_VERSION_1  (1ull << 32)

#define NET_S_LINK_UP 1
#define CONFIG_LEN    12 /* mac[6], status, max_virtqueue_pairs, mtu */

#define RXQ     0
#define TXQ     1
#define NQUEUES 2

_Static_assert(LEG_CONFIG_MSIX + CONFIG_LEN <= PIO_NOTIFY &&
                   PIO_NOTIFY + PIO_NOTIFY_LEN <= VIRTIO_NET_IO_SIZE,
               "the IO BAR's notify region overlaps the legacy registers or leaves the BAR");

#define HDR_LEGACY 10
#define HDR_V1     12
/* struct virtio_net_hdr, little-endian: flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset, then (VERSION_1 or MRG_RXBUF) num_buffers. */
#define HDR_FLAGS        0
#define HDR_GSO_TYPE     1
#define HDR_HDR_LEN      2
#define HDR_CSUM_START   6
#define HDR_CSUM_OFFSET  8
#define HDR_NUM_BUFFERS  10
#define HDR_F_NEEDS_CSUM 0x01
#define HDR_F_DATA_VALID 0x02
#define HDR_GSO_SIZE     4
#define HDR_GSO_NONE     0
#define HDR_GSO_TCPV4    1
/* A guest sending bad headers is logged at most once a second. */
#define BAD_HDR_LOG_NS 1000000000ull
/* A chain longer than this is not a frame but an attack (the largest TSO super-frame fits). */
#define CHAIN_MAX (HDR_V1 + TCPSEG_FRAME_MAX)

struct vq_setup {
    uint16_t size;
    bool enabled;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
    uint32_t pfn; /* legacy */
};

struct vmm_virtio_net {
    struct vnic_port port;
    struct vmm_pci_func *pci;
    uint8_t irq;
    uint16_t io_base;
    uint64_t mmio_base;
    uint64_t io_addr; /* where BAR0 decodes now */
    bool io_on;
    uint64_t mem_addr;
    bool mem_on;
    bool moved_logged;

    uint64_t host_features;
    uint16_t mtu; /* offered with F_MTU: the IP MTU of the NIC's VNET port */
    uint64_t guest_features;
    uint32_t dfselect;
    uint32_t gfselect;
    uint8_t status;
    uint8_t isr;
    uint8_t generation;
    uint16_t queue_sel;
    struct vq_setup setup[NQUEUES];
    struct virtq q[NQUEUES];
    bool irq_level;
    bool has_msix; /* the PCI host has an MSI route: the capability is offered */
    struct vmm_msix msix;
    uint16_t config_vector;         /* VMM_MSIX_NO_VECTOR or a table entry */
    uint16_t queue_vector[NQUEUES]; /* the same, per queue */
    bool in_tx;                     /* guards against re-entry from the backend */
    struct vmm_virtio_net_offload_stats off;
    uint64_t bad_hdr_log_ns; /* when the last bad-header line was logged */
    uint64_t bad_hdr_quiet;  /* bad headers not logged since */
    bool bad_hdr_logged;
    unsigned rx_caps;   /* the receive offloads (NETOFF_CAP_*) the host was last given */
    bool rx_bad_logged; /* a frame with metadata the guest cannot take was logged */
    /* The mergeable buffers one received frame takes: head and bytes written, by ring order. */
    uint16_t mrg_head[VIRTIO_NET_QSIZE];
    uint32_t mrg_len[VIRTIO_NET_QSIZE];

    uint8_t frame[HDR_V1 + TCPSEG_FRAME_MAX]; /* header + frame (a TSO super-frame) */
    uint8_t seg[VMM_NIC_FRAME_MAX];           /* one segment of a super-frame */
    struct vmm_dev_reg reg;
};

static uint16_t vn_command(const struct vmm_virtio_net *n)
{
    return n->pci != NULL ? vmm_pci_func_command(n->pci) : 0;
}

static bool vn_msix_on(const struct vmm_virtio_net *n)
{
    return n->has_msix && vmm_msix_enabled(&n->msix);
}

/* A vector number the driver wrote: kept if the table has it, else NO_VECTOR (which the driver
 * reads back as the refusal). */
static uint16_t vn_vector(const struct vmm_virtio_net *n, uint64_t v)
{
    return n->has_msix && v < MSIX_VECTORS ? (uint16_t)v : VMM_MSIX_NO_VECTOR;
}

/* INTx follows ISR, except while MSI-X is enabled: then the function must not use INTx. */
static void vn_update_irq(struct vmm_virtio_net *n)
{
    bool level = n->isr != 0 && !vn_msix_on(n) && !(vn_command(n) & VMM_PCI_CMD_INTX_DISABLE);

    if (level != n->irq_level) {
        n->irq_level = level;
        if (level) {
            n->port.stats.irqs++;
        }
        (void)vmm_dev_irq_set(n->port.vm, n, n->irq, level);
    }
}

/* Whether the driver takes super-frames: GUEST_TSO4, which the spec lets a driver take only
 * with GUEST_CSUM (a driver that acks it alone gets none). */
static bool vn_rx_tso4(const struct vmm_virtio_net *n)
{
    return (n->guest_features & F_GUEST_TSO4) && (n->guest_features & F_GUEST_CSUM);
}

/* The receive offloads the host may hand on once negotiation is done (FEATURES_OK on the
 * modern transport, DRIVER_OK on both): checksums with GUEST_CSUM, super-frames with
 * GUEST_TSO4 too; none before, or while the device needs a reset. */
static unsigned vn_rx_caps(const struct vmm_virtio_net *n)
{
    unsigned caps = 0;

    if (!(n->status & (STATUS_FEATURES_OK | STATUS_DRIVER_OK)) ||
        (n->status & STATUS_NEEDS_RESET)) {
        return 0;
    }
    if (n->guest_features & F_GUEST_CSUM) {
        caps |= NETOFF_CAP_CSUM | NETOFF_CAP_VALID;
    }
    if (vn_rx_tso4(n)) {
        caps |= NETOFF_CAP_TSO4;
    }
    return caps;
}

/* Tells the host when the receive offloads change (negotiation, feature writes, resets): with
 * caps 0 it goes back to the plain rx hook. */
static void vn_sync_offloads(struct vmm_virtio_net *n)
{
    unsigned caps = vn_rx_caps(n);
    int rc;

    if (caps == n->rx_caps || !vnic_offloads_supported(&n->port)) {
        return;
    }
    rc = vnic_set_offloads(&n->port, caps, caps != 0 ? vmm_virtio_net_rx_off : NULL);
    if (rc < 0) {
        /* The host keeps what it had: frames it cannot hand on it finishes itself. */
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(n->port.vm),
               "virtio-net %s: receive offloads 0x%x refused by the host (%d)", n->port.name, caps,
               rc);
        return;
    }
    n->rx_caps = caps;
}

static void vn_reset(struct vmm_virtio_net *n)
{
    n->guest_features = 0;
    n->dfselect = 0;
    n->gfselect = 0;
    n->status = 0;
    n->isr = 0;
    n->queue_sel = 0;
    n->config_vector = VMM_MSIX_NO_VECTOR;
    for (unsigned i = 0; i < NQUEUES; i++) {
        n->queue_vector[i] = VMM_MSIX_NO_VECTOR;
        memset(&n->setup[i], 0, sizeof(n->setup[i]));
        n->setup[i].size = VIRTIO_NET_QSIZE;
        virtq_reset(&n->q[i]);
    }
    vn_update_irq(n);
    vn_sync_offloads(n);
}

/* A malformed ring or buffer: log, reset, and tell the driver it needs a reset. */
static void vn_hostile(struct vmm_virtio_net *n, const char *what, int rc)
{
    vnic_hostile(&n->port, "%s (%d)", what, rc);
    vn_reset(n);
    n->status = STATUS_NEEDS_RESET;
}

static bool vn_dma_ok(const struct vmm_virtio_net *n)
{
    return (n->status & STATUS_DRIVER_OK) && !(n->status & STATUS_NEEDS_RESET) &&
           (vn_command(n) & VMM_PCI_CMD_MASTER);
}

/* The header both ways: 12 bytes (with num_buffers) with VERSION_1 or MRG_RXBUF, else 10. */
static size_t vn_hdr_len(const struct vmm_virtio_net *n)
{
    return (n->guest_features & (F_VERSION_1 | F_MRG_RXBUF)) ? HDR_V1 : HDR_LEGACY;
}

/* Interrupt decision for both queues (one interrupt for everything since the last one): with
 * MSI-X on, the queue's own vector (no vector: no interrupt); else INTx, which ISR drives. ISR
 * records the cause either way. */
static void vn_flush_irq(struct vmm_virtio_net *n)
{
    for (unsigned i = 0; i < NQUEUES; i++) {
        int err;

        if (virtq_should_interrupt(n->port.vm, &n->q[i], &err)) {
            n->isr |= ISR_QUEUE;
            if (vn_msix_on(n) && n->queue_vector[i] != VMM_MSIX_NO_VECTOR) {
                n->port.stats.irqs++;
                vmm_msix_notify(&n->msix, n->queue_vector[i]);
            }
        }
        if (err < 0) {
            vn_hostile(n, i == RXQ ? "RX ring not in RAM" : "TX ring not in RAM", err);
            return;
        }
    }
    vn_update_irq(n);
}

static uint16_t vn_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A TX header the device cannot honour: the frame is dropped and counted, the ring goes on
 * (a bad header is the guest's mistake about one frame, not a broken ring). */
static void vn_bad_hdr(struct vmm_virtio_net *n, const char *why, const uint8_t *h)
{
    const struct vmm_host *host = vmm_host();
    uint64_t now = host->now_ns != NULL ? host->now_ns() : 0;

    n->port.stats.tx_dropped++;
    n->off.tx_bad_hdr++;
    if (n->bad_hdr_logged && now - n->bad_hdr_log_ns < BAD_HDR_LOG_NS) {
        n->bad_hdr_quiet++;
        return;
    }
    LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(n->port.vm),
           "virtio-net %s: TX frame dropped: %s (flags 0x%x gso %u csum_start %u csum_offset %u; "
           "%llu more not logged)",
           n->port.name, why, h[HDR_FLAGS], h[HDR_GSO_TYPE], vn_le16(h + HDR_CSUM_START),
           vn_le16(h + HDR_CSUM_OFFSET), (unsigned long long)n->bad_hdr_quiet);
    n->bad_hdr_logged = true;
    n->bad_hdr_log_ns = now;
    n->bad_hdr_quiet = 0;
}

/* Cuts a TCPv4 super-frame into segments and sends them (or drops it, counted). */
static void vn_tx_tso(struct vmm_virtio_net *n, const uint8_t *h, const uint8_t *frame, size_t len)
{
    struct tcpseg sg;
    const char *why = NULL;

    if (!(n->guest_features & F_HOST_TSO4)) {
        vn_bad_hdr(n, "TSO4 not negotiated", h);
        return;
    }
    if (tcpseg_prepare(frame, len, vn_le16(h + HDR_GSO_SIZE), VMM_NIC_FRAME_MAX, &sg, &why) < 0) {
        vn_bad_hdr(n, why, h);
        return;
    }
    /* The driver must ask for the TCP checksum with GSO (it is recomputed per segment). */
    if (!(h[HDR_FLAGS] & HDR_F_NEEDS_CSUM) || vn_le16(h + HDR_CSUM_START) != sg.l2 + sg.ihl ||
        vn_le16(h + HDR_CSUM_OFFSET) != 16) {
        vn_bad_hdr(n, "TSO4 without the TCP checksum request", h);
        return;
    }
    if (vnic_offloads_supported(&n->port)) {
        /* Checked as for segmenting here (the host checks again): passed on whole, and cut
         * only on the way to a receiver that cannot take it. */
        struct netoff off = {
            .gso = NETOFF_GSO_TCPV4,
            .csum = NETOFF_CSUM_PARTIAL,
            .gso_size = vn_le16(h + HDR_GSO_SIZE),
            .csum_start = (uint16_t)(sg.l2 + sg.ihl),
            .csum_off = 16,
        };

        if (vnic_send_off(&n->port, frame, len, &off) == 0) {
            n->off.tx_off++;
        }
    } else {
        for (unsigned i = 0; i < sg.count; i++) {
            vnic_send(&n->port, n->seg, tcpseg_build(&sg, frame, i, n->seg));
        }
    }
    if (n->off.tx_tso == 0) {
        /* Once per NIC: shows the guest's driver really uses the offload. */
        LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(n->port.vm),
               "virtio-net %s: first TSO4 super-frame: %zu bytes, %u segments of %zu (%s)",
               n->port.name, len, sg.count, sg.mss,
               vnic_offloads_supported(&n->port) ? "passed to the host whole" : "cut here");
    }
    n->off.tx_tso++;
    n->off.tx_tso_segs += sg.count;
}

/* Applies the TX header to the frame (checksum and segmentation offloads) and sends it, or
 * drops it with a count when the header is bad. */
static void vn_tx_frame(struct vmm_virtio_net *n, const uint8_t *h, uint8_t *frame, size_t len)
{
    if ((h[HDR_FLAGS] & ~HDR_F_NEEDS_CSUM) != 0) {
        vn_bad_hdr(n, "unknown or device-only header flags", h);
        return;
    }
    if ((h[HDR_FLAGS] & HDR_F_NEEDS_CSUM) && !(n->guest_features & F_CSUM)) {
        vn_bad_hdr(n, "NEEDS_CSUM without the CSUM feature", h);
        return;
    }
    if (h[HDR_GSO_TYPE] == HDR_GSO_TCPV4) {
        vn_tx_tso(n, h, frame, len);
        return;
    }
    if (h[HDR_GSO_TYPE] != HDR_GSO_NONE) {
        vn_bad_hdr(n, "segmentation type not offered", h);
        return;
    }
    if (len > VMM_NIC_FRAME_MAX) {
        vn_bad_hdr(n, "frame longer than the maximum without TSO", h);
        return;
    }
    if ((h[HDR_FLAGS] & HDR_F_NEEDS_CSUM) && vnic_offloads_supported(&n->port)) {
        struct netoff off = {
            .csum = NETOFF_CSUM_PARTIAL,
            .csum_start = vn_le16(h + HDR_CSUM_START),
            .csum_off = vn_le16(h + HDR_CSUM_OFFSET),
        };

        const char *why = NULL;

        /* The field must lie in the frame; the host completes the checksum only for receivers
         * that need it. */
        if (netoff_check(frame, len, &off, VMM_NIC_FRAME_MAX, VMM_NIC_FRAME_MAX, &why) < 0) {
            vn_bad_hdr(n, why, h);
            return;
        }
        n->off.tx_csum++;
        if (vnic_send_off(&n->port, frame, len, &off) == 0) {
            n->off.tx_off++;
        }
        return;
    }
    if (h[HDR_FLAGS] & HDR_F_NEEDS_CSUM) {
        if (netcsum_fill(frame, len, vn_le16(h + HDR_CSUM_START), vn_le16(h + HDR_CSUM_OFFSET)) <
            0) {
            vn_bad_hdr(n, "checksum field outside the frame", h);
            return;
        }
        n->off.tx_csum++;
    }
    vnic_send(&n->port, frame, len);
}

/* The longest frame the guest may hand over: a super-frame once TSO4 is on. */
static size_t vn_frame_max(const struct vmm_virtio_net *n)
{
    return (n->guest_features & F_HOST_TSO4) ? TCPSEG_FRAME_MAX : VMM_NIC_FRAME_MAX;
}

/* Sends one TX chain; false after a hostile reset. */
static bool vn_tx_one(struct vmm_virtio_net *n, const struct virtq_chain *c)
{
    size_t hdr = vn_hdr_len(n);
    int rc;

    for (unsigned i = 0; i < c->nsegs; i++) {
        if (c->segs[i].write) {
            vn_hostile(n, "device-writable descriptor in the TX queue", -EIO);
            return false;
        }
    }
    if (c->len > CHAIN_MAX) {
        vn_hostile(n, "TX chain longer than 64 KiB", -EIO);
        return false;
    }
    if (c->len < hdr + 14 || c->len - hdr > vn_frame_max(n)) {
        n->port.stats.tx_dropped++;
        LOG_VM(VMM, LOG_LVL_DEBUG, vmm_vm_name(n->port.vm),
               "virtio-net %s: TX of %llu bytes dropped", n->port.name, (unsigned long long)c->len);
    } else {
        size_t flen = (size_t)(c->len - hdr);

        /* Header and frame in one copy: n->frame has room for both. */
        rc = virtq_chain_read(n->port.vm, c, 0, n->frame, hdr + flen);
        if (rc < 0) {
            vn_hostile(n, "TX buffer not in RAM", rc);
            return false;
        }
        vn_tx_frame(n, n->frame, n->frame + hdr, flen);
    }
    rc = virtq_push(n->port.vm, &n->q[TXQ], c->head, 0);
    if (rc < 0) {
        vn_hostile(n, "TX used ring not in RAM", rc);
        return false;
    }
    return true;
}

/* Takes the available TX chains (at most a ring's worth); the number taken, -1 after a
 * hostile reset or a frame the host refused. */
static int vn_tx_ring(struct vmm_virtio_net *n, struct virtq *q)
{
    struct virtq_chain c;
    int taken = 0;

    for (unsigned i = 0; i < q->size; i++) {
        int rc = virtq_pop(n->port.vm, q, &c);

        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            vn_hostile(n, "malformed TX ring", rc);
            return -1;
        }
        if (!vn_tx_one(n, &c)) {
            return -1;
        }
        taken++;
    }
    return taken;
}

/* Takes every available TX chain, then asks for the next kick: none while the host looks at
 * the ring anyway (it busy-polls and the guest is made to exit often enough, the ring being
 * looked at before every entry: vn_poll; or another CPU polls it: vn_io_poll). Returns the
 * chains taken. */
static unsigned vn_process_tx(struct vmm_virtio_net *n)
{
    struct virtq *q = &n->q[TXQ];
    bool want;
    unsigned taken = 0;

    if (!vn_dma_ok(n) || !virtq_ready(q) || n->in_tx) {
        return 0;
    }
    n->in_tx = true;
    want = !vmm_vm_io_polled(n->port.vm);
    /* A guest running on another CPU may queue a chain after our last look while it still
     * sees kicks off: it would wait for nobody. So after asking for kicks, look again (the
     * fence orders our avail_event store before the index load, as the guest orders its index
     * store before its avail_event load); each round takes at least one chain. */
    for (unsigned round = 0; round <= q->size; round++) {
        int got = vn_tx_ring(n, q);

        if (got < 0) {
            break;
        }
        taken += (unsigned)got;
        if (virtq_want_kick(n->port.vm, q, want) < 0) {
            vn_hostile(n, "TX used ring not in RAM", -EFAULT);
            break;
        }
        if (!want || !vmm_vm_elsewhere(n->port.vm)) {
            break;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!virtq_has_avail(n->port.vm, q)) {
            break;
        }
    }
    n->in_tx = false;
    return taken;
}

/* vmm_dev_reg.io_poll: another CPU takes the guest's TX ring while the guest runs. */
static unsigned vn_io_poll(void *dev)
{
    struct vmm_virtio_net *n = dev;
    unsigned taken = vn_process_tx(n);

    if (taken > 0) {
        vn_flush_irq(n);
    }
    return taken;
}

static void vn_put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* A frame whose metadata the guest cannot take: the host broke its promise (it was told the
 * caps), so the frame is dropped and counted, never handed on with a header the driver did
 * not negotiate. */
static bool vn_rx_bad_off(struct vmm_virtio_net *n, const char *why, const struct netoff *off)
{
    n->off.rx_bad_off++;
    if (!n->rx_bad_logged) {
        n->rx_bad_logged = true;
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(n->port.vm),
               "virtio-net %s: RX frame dropped: %s (gso %u csum %u; later ones only counted)",
               n->port.name, why, off->gso, off->csum);
    }
    return vnic_rx_drop(&n->port);
}

/* Whether off asks for nothing (no metadata). */
static bool vn_off_none(const struct netoff *off)
{
    return off == NULL || (off->gso == NETOFF_GSO_NONE && off->csum == NETOFF_CSUM_NONE);
}

/* Fills the header for a received frame's metadata, checked against the frame and the
 * negotiated features: false (*why says what is wrong) when the guest cannot take it. */
static bool vn_rx_hdr(struct vmm_virtio_net *n, const uint8_t *frame, size_t len,
                      const struct netoff *off, uint8_t *hdr, const char **why)
{
    *why = NULL;
    if (vn_off_none(off)) {
        return true;
    }
    if (!(n->guest_features & F_GUEST_CSUM)) {
        *why = "offload metadata without GUEST_CSUM";
        return false;
    }
    if (off->gso != NETOFF_GSO_NONE && !vn_rx_tso4(n)) {
        *why = "a super-frame without GUEST_TSO4";
        return false;
    }
    if (netoff_check(frame, len, off, VMM_NIC_FRAME_MAX, VMM_NIC_FRAME_MAX, why) < 0) {
        return false;
    }
    if (off->gso == NETOFF_GSO_TCPV4) {
        hdr[HDR_GSO_TYPE] = HDR_GSO_TCPV4;
        vn_put16(hdr + HDR_HDR_LEN, netoff_gso_hlen(frame, off));
        vn_put16(hdr + HDR_GSO_SIZE, off->gso_size);
    }
    if (off->csum == NETOFF_CSUM_PARTIAL) {
        hdr[HDR_FLAGS] = HDR_F_NEEDS_CSUM;
        vn_put16(hdr + HDR_CSUM_START, off->csum_start);
        vn_put16(hdr + HDR_CSUM_OFFSET, off->csum_off);
    } else {
        /* VALID: the sender (a NIC driver or the wire side) checked it; not checked again. */
        hdr[HDR_FLAGS] = HDR_F_DATA_VALID;
    }
    return true;
}

/* Counts what the guest was handed (once the frame is in its buffer). */
static void vn_rx_count_off(struct vmm_virtio_net *n, const uint8_t *hdr)
{
    if (hdr[HDR_GSO_TYPE] == HDR_GSO_TCPV4) {
        n->off.rx_gso++;
    }
    if (hdr[HDR_FLAGS] & HDR_F_NEEDS_CSUM) {
        n->off.rx_csum_partial++;
    }
    if (hdr[HDR_FLAGS] & HDR_F_DATA_VALID) {
        n->off.rx_csum_valid++;
    }
}

/* Writes bytes [soff, soff + len) of the stream header + frame into chain c from its start. */
static int vn_rx_write(struct vmm_virtio_net *n, const struct virtq_chain *c, const uint8_t *hdr,
                       size_t hlen, const uint8_t *frame, size_t soff, size_t len)
{
    size_t done = 0;
    int rc;

    if (soff < hlen) {
        done = hlen - soff < len ? hlen - soff : len;
        rc = virtq_chain_write(n->port.vm, c, 0, hdr + soff, done);
        if (rc < 0) {
            return rc;
        }
        soff += done;
    }
    if (len > done) {
        rc = virtq_chain_write(n->port.vm, c, done, frame + (soff - hlen), len - done);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Takes the next RX chain for the frame: 1 with *c filled, 0 when the ring is empty, -1 after
 * a hostile reset (a malformed ring, a device-readable descriptor). */
static int vn_rx_pop(struct vmm_virtio_net *n, struct virtq_chain *c)
{
    int rc = virtq_pop(n->port.vm, &n->q[RXQ], c);

    if (rc < 0) {
        vn_hostile(n, "malformed RX ring", rc);
        return -1;
    }
    if (rc == 0) {
        return 0;
    }
    for (unsigned i = 0; i < c->nsegs; i++) {
        if (!c->segs[i].write) {
            vn_hostile(n, "device-readable descriptor in the RX queue", -EIO);
            return -1;
        }
    }
    return 1;
}

/* With MRG_RXBUF: header + frame spread over as many buffers as it needs, in ring order, the
 * header's num_buffers saying how many. First the buffers are measured (nothing written);
 * when the ring runs out they go back to it untouched and the frame is dropped. Then they
 * are written, and their used elements published together. *c holds the first chain. */
static bool vn_rx_merge(struct vmm_virtio_net *n, struct virtq_chain *c, uint8_t *hdr, size_t hlen,
                        const uint8_t *frame, size_t len)
{
    struct virtq *q = &n->q[RXQ];
    size_t total = hlen + len;
    size_t have = 0;
    size_t soff = 0;
    uint16_t k = 0;
    int rc;

    for (;;) {
        size_t take = c->len < total - have ? (size_t)c->len : total - have;

        n->mrg_head[k] = c->head;
        n->mrg_len[k] = (uint32_t)take;
        have += take;
        k++;
        if (have == total) {
            break;
        }
        /* At most a ring's worth per frame (q->size <= VIRTIO_NET_QSIZE, the arrays' size):
         * a frame needing more finds the ring run out. */
        rc = k < q->size ? vn_rx_pop(n, c) : 0;
        if (rc < 0) {
            return vnic_rx_drop(&n->port);
        }
        if (rc == 0) {
            /* Out of buffers partway: all go back, unwritten; the frame is dropped. */
            if (virtq_unpop(q, k) < 0) {
                vn_hostile(n, "RX buffers could not be given back", -EIO);
            }
            n->off.rx_merge_short++;
            return vnic_rx_drop(&n->port);
        }
    }
    hdr[HDR_NUM_BUFFERS] = (uint8_t)k;
    hdr[HDR_NUM_BUFFERS + 1] = (uint8_t)(k >> 8);
    if (k > 1) {
        /* *c is the last chain: take them all again, now to write. A guest that changed
         * buffers it had made available (the spec forbids it) is hostile. */
        if (virtq_unpop(q, k) < 0) {
            vn_hostile(n, "RX buffers could not be given back", -EIO);
            return vnic_rx_drop(&n->port);
        }
    }
    for (uint16_t i = 0; i < k; i++) {
        if (k > 1) {
            rc = vn_rx_pop(n, c);
            if (rc < 0) {
                return vnic_rx_drop(&n->port);
            }
            if (rc == 0 || c->head != n->mrg_head[i] || c->len < n->mrg_len[i]) {
                vn_hostile(n, "RX buffers changed while in use", -EIO);
                return vnic_rx_drop(&n->port);
            }
        }
        rc = vn_rx_write(n, c, hdr, hlen, frame, soff, n->mrg_len[i]);
        if (rc == 0) {
            rc = virtq_fill(n->port.vm, q, i, c->head, n->mrg_len[i]);
            if (rc < 0) {
                vn_hostile(n, "RX used ring not in RAM", rc);
                return vnic_rx_drop(&n->port);
            }
        } else {
            vn_hostile(n, "RX buffer not in RAM", rc);
            return vnic_rx_drop(&n->port);
        }
        soff += n->mrg_len[i];
    }
    rc = virtq_flush(n->port.vm, q, k);
    if (rc < 0) {
        vn_hostile(n, "RX used ring not in RAM", rc);
        return false;
    }
    vnic_rx_count(&n->port, len);
    vn_rx_count_off(n, hdr);
    if (k > 1) {
        n->off.rx_merged++;
    }
    /* The interrupt is decided at the next poll: one for the whole burst. */
    return true;
}

static bool vn_rx_store(struct vmm_virtio_net *n, const void *frame, size_t len,
                        const struct netoff *off)
{
    struct virtq *q = &n->q[RXQ];
    struct virtq_chain c;
    uint8_t hdr[HDR_V1] = {0};
    size_t hlen = vn_hdr_len(n);
    size_t max =
        (off != NULL && off->gso != NETOFF_GSO_NONE) ? NETOFF_FRAME_MAX : VMM_NIC_FRAME_MAX;
    const char *why = NULL;
    int rc;

    if (!vn_dma_ok(n) || !virtq_ready(q) || len > max) {
        return vnic_rx_drop(&n->port);
    }
    /* Before a buffer is taken: a refused frame leaves the ring as it was. */
    if (!vn_rx_hdr(n, frame, len, off, hdr, &why)) {
        return vn_rx_bad_off(n, why != NULL ? why : "bad metadata", off);
    }
    rc = vn_rx_pop(n, &c);
    if (rc <= 0) {
        return vnic_rx_drop(&n->port);
    }
    /* Frames without metadata are complete; checked here, not trusted (another guest or the
     * wire may send a bad checksum on purpose), which still costs less than the guest. */
    if (vn_off_none(off) && (n->guest_features & F_GUEST_CSUM) &&
        netcsum_ipv4_l4_valid(frame, len)) {
        hdr[HDR_FLAGS] = HDR_F_DATA_VALID;
    }
    if (n->guest_features & F_MRG_RXBUF) {
        return vn_rx_merge(n, &c, hdr, hlen, frame, len);
    }
    if (c.len < hlen + len) {
        /* Too small for this frame (a super-frame needs a "big packet" chain): the buffer
         * goes back empty. */
        (void)vnic_rx_drop(&n->port);
        len = 0;
        hlen = 0;
    } else {
        if (hlen == HDR_V1) {
            hdr[HDR_NUM_BUFFERS] = 1;
        }
        rc = virtq_chain_write(n->port.vm, &c, 0, hdr, hlen);
        if (rc == 0) {
            rc = virtq_chain_write(n->port.vm, &c, hlen, frame, len);
        }
        if (rc < 0) {
            vn_hostile(n, "RX buffer not in RAM", rc);
            return vnic_rx_drop(&n->port);
        }
        vnic_rx_count(&n->port, len);
        vn_rx_count_off(n, hdr);
    }
    rc = virtq_push(n->port.vm, q, c.head, (uint32_t)(hlen + len));
    if (rc < 0) {
        vn_hostile(n, "RX used ring not in RAM", rc);
        return false;
    }
    return len != 0;
}

bool vmm_virtio_net_rx_off(void *dev, const void *frame, size_t len, const struct netoff *off)
{
    struct vmm_virtio_net *n = dev;
    bool stored = vn_rx_store(n, frame, len, off);

    /* The interrupt is decided at the vCPU's next poll: one for the whole burst. A vCPU
     * running on another CPU meanwhile polls only when it exits, so it is decided now (with
     * event-index suppression the first frame of a burst interrupts, the rest do not). */
    if (vmm_vm_elsewhere(n->port.vm)) {
        vn_flush_irq(n);
    }
    return stored;
}

bool vmm_virtio_net_rx(void *dev, const void *frame, size_t len)
{
    return vmm_virtio_net_rx_off(dev, frame, len, NULL);
}

static void vn_kick(struct vmm_virtio_net *n, uint32_t queue)
{
    n->port.stats.kicks++;
    if (queue == TXQ) {
        vn_process_tx(n);
        vn_flush_irq(n);
    } else if (queue != RXQ) {
        LOG_VM(VMM, LOG_LVL_DEBUG, vmm_vm_name(n->port.vm), "virtio-net %s: kick of queue %u",
               n->port.name, queue);
    }
}

static void vn_queue_enable(struct vmm_virtio_net *n, unsigned i)
{
    struct vq_setup *s = &n->setup[i];

    virtq_setup(&n->q[i], s->size, s->desc, s->avail, s->used,
                (n->guest_features & F_EVENT_IDX) != 0);
    s->enabled = true;
}

static void vn_set_status(struct vmm_virtio_net *n, uint8_t v)
{
    if (v == 0) {
        vn_reset(n);
        return;
    }
    if ((v & STATUS_FEATURES_OK) && !(n->status & STATUS_FEATURES_OK) &&
        (n->guest_features & ~n->host_features) != 0) {
        v &= (uint8_t)~STATUS_FEATURES_OK; /* refused */
    }
    if ((v & STATUS_DRIVER_OK) && !(n->status & STATUS_DRIVER_OK)) {
        for (unsigned i = 0; i < NQUEUES; i++) {
            n->q[i].event_idx = (n->guest_features & F_EVENT_IDX) != 0;
        }
        LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(n->port.vm),
               "virtio-net %s: driver ready (%s, features 0x%llx)", n->port.name,
               (n->guest_features & F_VERSION_1) ? "modern" : "legacy",
               (unsigned long long)n->guest_features);
    }
    n->status = (uint8_t)(v | (n->status & STATUS_NEEDS_RESET));
    vn_sync_offloads(n);
}

static uint8_t vn_config_byte(const struct vmm_virtio_net *n, unsigned off)
{
    uint16_t st = vnic_link_up(&n->port) ? NET_S_LINK_UP : 0;

    if (off < 6) {
        return n->port.mac[off];
    }
    if (off < 8) {
        return (uint8_t)(st >> (8 * (off - 6)));
    }
    if (off < 10) {
        return off == 8 ? 1 : 0; /* max_virtqueue_pairs: one (only meaningful with MQ) */
    }
    if (off < CONFIG_LEN) {
        return (uint8_t)(n->mtu >> (8 * (off - 10))); /* 0 unless F_MTU is offered */
    }
    return 0;
}

static uint8_t vn_read_isr(struct vmm_virtio_net *n)
{
    uint8_t v = n->isr;

    n->isr = 0;
    vn_update_irq(n);
    return v;
}

/* ---- legacy transport ---------------------------------------------------------------------- */

static void leg_set_pfn(struct vmm_virtio_net *n, unsigned i, uint32_t pfn)
{
    struct vq_setup *s = &n->setup[i];
    uint64_t base = (uint64_t)pfn << 12;

    s->pfn = pfn;
    if (pfn == 0) {
        virtq_reset(&n->q[i]);
        s->enabled = false;
        return;
    }
    s->size = VIRTIO_NET_QSIZE;
    s->desc = base;
    s->avail = base + 16ull * s->size;
    s->used =
        (s->avail + 6 + 2ull * s->size + LEG_VRING_ALIGN - 1) & ~(uint64_t)(LEG_VRING_ALIGN - 1);
    vn_queue_enable(n, i);
}

static uint32_t leg_read(struct vmm_virtio_net *n, unsigned off, unsigned size)
{
    uint32_t v = 0;

    switch (off) {
    case LEG_HOST_FEATURES:
        return (uint32_t)n->host_features;
    case LEG_GUEST_FEATURES:
        return (uint32_t)n->guest_features;
    case LEG_QUEUE_PFN:
        return n->queue_sel < NQUEUES ? n->setup[n->queue_sel].pfn : 0;
    case LEG_QUEUE_NUM:
        return n->queue_sel < NQUEUES ? VIRTIO_NET_QSIZE : 0;
    case LEG_QUEUE_SEL:
        return n->queue_sel;
    case LEG_STATUS:
        return n->status;
    case LEG_ISR:
        return vn_read_isr(n);
    default:
        break;
    }
    if (vn_msix_on(n) && off >= LEG_CONFIG_VECTOR) {
        if (off < LEG_CONFIG_MSIX) {
            /* config_vector at 0x14, queue_vector (of queue_sel) at 0x16. */
            uint32_t qv =
                n->queue_sel < NQUEUES ? n->queue_vector[n->queue_sel] : VMM_MSIX_NO_VECTOR;

            return (n->config_vector | qv << 16) >> (8 * (off - LEG_CONFIG_VECTOR));
        }
        for (unsigned i = 0; i < size; i++) {
            v |= (uint32_t)vn_config_byte(n, off - LEG_CONFIG_MSIX + i) << (8 * i);
        }
    } else if (off >= LEG_CONFIG) {
        for (unsigned i = 0; i < size; i++) {
            v |= (uint32_t)vn_config_byte(n, off - LEG_CONFIG + i) << (8 * i);
        }
    }
    return v;
}

static void leg_write(struct vmm_virtio_net *n, unsigned off, unsigned size, uint32_t v)
{
    if (vn_msix_on(n) && size == 2 && off == LEG_CONFIG_VECTOR) {
        n->config_vector = vn_vector(n, v & 0xFFFF);
        return;
    }
    if (vn_msix_on(n) && size == 2 && off == LEG_QUEUE_VECTOR) {
        if (n->queue_sel < NQUEUES) {
            n->queue_vector[n->queue_sel] = vn_vector(n, v & 0xFFFF);
        }
        return;
    }
    switch (off) {
    case LEG_GUEST_FEATURES:
        n->guest_features = v & n->host_features & 0xFFFFFFFFu;
        vn_sync_offloads(n); /* a legacy driver may write them again after DRIVER_OK */
        return;
    case LEG_QUEUE_PFN:
        if (n->queue_sel < NQUEUES) {
            leg_set_pfn(n, n->queue_sel, v);
        }
        return;
    case LEG_QUEUE_SEL:
        n->queue_sel = (uint16_t)v;
        return;
    case LEG_QUEUE_NOTIFY:
        vn_kick(n, v & 0xFFFF);
        return;
    case LEG_STATUS:
        vn_set_status(n, (uint8_t)v);
        return;
    default:
        LOG_VM(VMM, LOG_LVL_DEBUG, vmm_vm_name(n->port.vm),
               "virtio-net %s: %u-byte write of 0x%x to legacy register 0x%x ignored", n->port.name,
               size, v, off);
        return;
    }
}

static int vn_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_virtio_net *n = dev;
    unsigned off;

    if (!n->io_on || port < n->io_addr || port >= n->io_addr + VIRTIO_NET_IO_SIZE) {
        return VMM_NOT_MINE;
    }
    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    off = (unsigned)(port - n->io_addr);
    if (off >= PIO_NOTIFY && off < PIO_NOTIFY + PIO_NOTIFY_LEN) {
        if (write) {
            vn_kick(n, (off - PIO_NOTIFY) / MOD_NOTIFY_MUL);
        } else {
            *val = 0;
        }
        return VMM_HANDLED;
    }
    if (write) {
        leg_write(n, off, size, *val);
    } else {
        uint32_t v = leg_read(n, off, size);

        *val = size == 4 ? v : v & ((1u << (8 * size)) - 1);
    }
    return VMM_HANDLED;
}

/* ---- modern transport ---------------------------------------------------------------------- */

static uint64_t mod_common_read(struct vmm_virtio_net *n, unsigned off)
{
    const struct vq_setup *s = n->queue_sel < NQUEUES ? &n->setup[n->queue_sel] : NULL;

    switch (off) {
    case 0x00:
        return n->dfselect;
    case 0x04:
        return n->dfselect < 2 ? (uint32_t)(n->host_features >> (32 * n->dfselect)) : 0;
    case 0x08:
        return n->gfselect;
    case 0x0C:
        return n->gfselect < 2 ? (uint32_t)(n->guest_features >> (32 * n->gfselect)) : 0;
    case 0x10:
        return n->config_vector; /* msix_config */
    case 0x12:
        return NQUEUES;
    case 0x14:
        return n->status;
    case 0x15:
        return n->generation;
    case 0x16:
        return n->queue_sel;
    case 0x18:
        return s != NULL ? s->size : 0;
    case 0x1A:
        return s != NULL ? n->queue_vector[n->queue_sel] : VMM_MSIX_NO_VECTOR;
    case 0x1C:
        return s != NULL && s->enabled;
    case 0x1E:
        return n->queue_sel; /* notify offset: one multiplier step per queue */
    case 0x20:
        return s != NULL ? s->desc : 0;
    case 0x24:
        return s != NULL ? s->desc >> 32 : 0;
    case 0x28:
        return s != NULL ? s->avail : 0;
    case 0x2C:
        return s != NULL ? s->avail >> 32 : 0;
    case 0x30:
        return s != NULL ? s->used : 0;
    case 0x34:
        return s != NULL ? s->used >> 32 : 0;
    default:
        return 0;
    }
}

static void vn_set_lo(uint64_t *p, uint64_t v, unsigned size)
{
    *p = size == 8 ? v : ((*p & ~0xFFFFFFFFull) | (v & 0xFFFFFFFFull));
}

static void vn_set_hi(uint64_t *p, uint64_t v)
{
    *p = (*p & 0xFFFFFFFFull) | (v << 32);
}

static void mod_common_write(struct vmm_virtio_net *n, unsigned off, unsigned size, uint64_t v)
{
    struct vq_setup *s = n->queue_sel < NQUEUES ? &n->setup[n->queue_sel] : NULL;
    bool live = s != NULL && s->enabled;

    switch (off) {
    case 0x00:
        n->dfselect = (uint32_t)v;
        return;
    case 0x08:
        n->gfselect = (uint32_t)v;
        return;
    case 0x0C:
        if (n->gfselect < 2 && !(n->status & STATUS_FEATURES_OK)) {
            unsigned sh = 32 * n->gfselect;

            n->guest_features &= ~(0xFFFFFFFFull << sh);
            n->guest_features |= ((v & 0xFFFFFFFFull) << sh) & n->host_features;
            vn_sync_offloads(n);
        }
        return;
    case 0x10:
        n->config_vector = vn_vector(n, v & 0xFFFF);
        return;
    case 0x14:
        vn_set_status(n, (uint8_t)v);
        return;
    case 0x16:
        n->queue_sel = (uint16_t)v;
        return;
    case 0x1A:
        /* queue_msix_vector: may change while the queue runs, as the legacy register can. */
        if (s != NULL) {
            n->queue_vector[n->queue_sel] = vn_vector(n, v & 0xFFFF);
        }
        return;
    default:
        break;
    }
    if (s == NULL || live) {
        /* Queue registers of a missing or enabled queue are read-only. */
        return;
    }
    switch (off) {
    case 0x18:
        if (v != 0 && v <= VIRTIO_NET_QSIZE && (v & (v - 1)) == 0) {
            s->size = (uint16_t)v;
        } else {
            LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(n->port.vm),
                   "virtio-net %s: queue size %llu refused", n->port.name, (unsigned long long)v);
        }
        return;
    case 0x1C:
        if (v == 1) {
            vn_queue_enable(n, n->queue_sel);
        }
        return;
    case 0x20:
        vn_set_lo(&s->desc, v, size);
        return;
    case 0x24:
        vn_set_hi(&s->desc, v);
        return;
    case 0x28:
        vn_set_lo(&s->avail, v, size);
        return;
    case 0x2C:
        vn_set_hi(&s->avail, v);
        return;
    case 0x30:
        vn_set_lo(&s->used, v, size);
        return;
    case 0x34:
        vn_set_hi(&s->used, v);
        return;
    default:
        return;
    }
}

static int vn_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct vmm_virtio_net *n = dev;
    uint64_t off;
    uint64_t v = 0;

    if (!n->mem_on || gpa < n->mem_addr || gpa - n->mem_addr >= VIRTIO_NET_MMIO_SIZE) {
        /* The BAR is off or moved: nothing decodes here (reads float high). */
        if (!write) {
            *val = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
        }
        return VMM_HANDLED;
    }
    off = gpa - n->mem_addr;
    if (n->has_msix && vmm_msix_mmio(&n->msix, off, size, write, val)) {
        return VMM_HANDLED;
    }
    if (off < MOD_COMMON + MOD_COMMON_LEN) { /* MOD_COMMON is 0 */
        if (write) {
            mod_common_write(n, (unsigned)off, size, *val);
        } else {
            v = mod_common_read(n, (unsigned)off);
        }
    } else if (off >= MOD_ISR && off < MOD_ISR + 4) {
        if (!write && off == MOD_ISR) {
            v = vn_read_isr(n);
        }
    } else if (off >= MOD_DEVICE && off < MOD_DEVICE + CONFIG_LEN) {
        if (!write) {
            for (unsigned i = 0; i < size; i++) {
                v |= (uint64_t)vn_config_byte(n, (unsigned)(off - MOD_DEVICE) + i) << (8 * i);
            }
        }
    } else if (off >= MOD_NOTIFY && off < MOD_NOTIFY + MOD_REGION) {
        if (write) {
            vn_kick(n, (uint32_t)((off - MOD_NOTIFY) / MOD_NOTIFY_MUL));
        }
    }
    if (!write) {
        *val = size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
    }
    return VMM_HANDLED;
}

/* ---- PCI ----------------------------------------------------------------------------------- */

static void vn_put_cap(uint8_t *cfg, unsigned at, unsigned next, unsigned type, unsigned bar,
                       uint32_t off, uint32_t len)
{
    uint8_t *c = &cfg[at];

    c[0] = CAP_VNDR;
    c[1] = (uint8_t)next;
    c[2] = type == CAP_NOTIFY_CFG ? 20 : 16;
    c[3] = (uint8_t)type;
    c[4] = (uint8_t)bar;
    for (unsigned i = 0; i < 4; i++) {
        c[8 + i] = (uint8_t)(off >> (8 * i));
        c[12 + i] = (uint8_t)(len >> (8 * i));
    }
    if (type == CAP_NOTIFY_CFG) {
        c[16] = MOD_NOTIFY_MUL;
    }
}

static void vn_bar_changed(void *ctx, unsigned bar, uint64_t addr, bool enabled)
{
    struct vmm_virtio_net *n = ctx;
    uint64_t home = bar == 0 ? n->io_base : n->mmio_base;

    if (bar == 0) {
        n->io_addr = addr;
        n->io_on = enabled;
    } else if (bar == 1) {
        n->mem_addr = addr;
        n->mem_on = enabled;
    }
    if (enabled && addr != home && !n->moved_logged) {
        /* Ranges are registered once; the firmware-given address is the only one decoded. */
        n->moved_logged = true;
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(n->port.vm),
               "virtio-net %s: BAR%u moved to 0x%llx: only 0x%llx decodes", n->port.name, bar,
               (unsigned long long)addr, (unsigned long long)home);
    }
}

static uint64_t vn_poll(void *dev, uint64_t now)
{
    struct vmm_virtio_net *n = dev;

    (void)now;
    vn_process_tx(n);
    vn_flush_irq(n);
    return UINT64_MAX;
}

/* MSI-X changes (enable, function mask) move the interrupt between INTx and messages. */
static int vn_cfg_write(void *ctx, unsigned off, unsigned size, uint32_t val)
{
    struct vmm_virtio_net *n = ctx;
    int rc;

    if (!n->has_msix) {
        return VMM_NOT_MINE;
    }
    rc = vmm_msix_cfg_write(&n->msix, off, size, val);
    if (rc == VMM_HANDLED) {
        vn_update_irq(n);
    }
    return rc;
}

static void vn_dev_reset(void *dev)
{
    struct vmm_virtio_net *n = dev;

    if (n->has_msix) {
        vmm_msix_reset(&n->msix);
    }
    vn_reset(n);
}

static void vn_destroy(void *dev)
{
    struct vmm_virtio_net *n = dev;

    vnic_port_detach(&n->port);
    vmm_host()->free(n);
}

int vmm_dev_virtio_net_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                              const struct vmm_nic_dev_config *cfg, struct vmm_virtio_net **out)
{
    struct vmm_virtio_net *n;
    struct vmm_pci_func_config fc = {
        .vendor = 0x1AF4,
        .device = 0x1000,
        .class_code = 0x020000,
        .subsys_vendor = 0x1AF4,
        .subsys_id = 1, /* network */
        .command = VMM_PCI_CMD_IO | VMM_PCI_CMD_MEM,
        .irq_pin = 1,
        .irq_line = cfg->irq,
        .cap_ptr = CAP_BASE,
        .bars = {[0] = {.type = VMM_PCI_BAR_IO, .size = VIRTIO_NET_IO_SIZE, .addr = cfg->io_base},
                 [1] = {.type = VMM_PCI_BAR_MEM32,
                        .size = VIRTIO_NET_MMIO_SIZE,
                        .addr = cfg->mmio_base}},
        .cfg_write = vn_cfg_write,
        .bar_changed = vn_bar_changed,
    };
    struct vmm_msix_config mc = {
        .cap = CAP_MSIX,
        .nvec = MSIX_VECTORS,
        .bar = 1,
        .table_off = MOD_MSIX_TABLE,
        .pba_off = MOD_MSIX_PBA,
    };
    uint8_t *pcfg;
    int rc;

    if (pci == NULL || cfg->name == NULL || (cfg->io_base & (VIRTIO_NET_IO_SIZE - 1)) != 0 ||
        (cfg->mmio_base & (VIRTIO_NET_MMIO_SIZE - 1)) != 0 || cfg->mmio_base == 0) {
        return -EINVAL;
    }
    n = vmm_host()->zalloc(sizeof(*n));
    if (n == NULL) {
        return -ENOMEM;
    }
    n->port.vm = vm;
    n->irq = cfg->irq;
    n->io_base = cfg->io_base;
    n->mmio_base = cfg->mmio_base;
    n->host_features = F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_MRG_RXBUF | F_MAC | F_STATUS |
                       F_EVENT_IDX | F_VERSION_1;
    if (cfg->no_offload) {
        /* `offload=off`: every frame crosses as a wire-size frame with complete checksums
         * (captures show what a NIC without offloads would carry; a guest driver's offload
         * bug is out of the way). */
        n->host_features &= ~(F_CSUM | F_GUEST_CSUM | F_HOST_TSO4);
    }
    str_copy(n->port.name, cfg->name, sizeof(n->port.name));
    fc.ctx = n;
    n->reg.name = n->port.name;
    n->reg.dev = n;
    n->reg.io[0] =
        (struct vmm_dev_io_range){.base = cfg->io_base, .count = VIRTIO_NET_IO_SIZE, .fn = vn_io};
    n->reg.nio = 1;
    n->reg.mmio[0] = (struct vmm_dev_mmio_range){
        .base = cfg->mmio_base, .len = VIRTIO_NET_MMIO_SIZE, .fn = vn_mmio};
    n->reg.nmmio = 1;
    n->reg.irqs[0] = cfg->irq;
    n->reg.nirqs = 1;
    n->reg.poll = vn_poll;
    n->reg.io_poll = vn_io_poll;
    n->reg.reset = vn_dev_reset;
    n->reg.destroy = vn_destroy;
    rc = vmm_dev_register(vm, &n->reg);
    if (rc < 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vmm_vm_name(vm), "virtio-net %s: register failed: %d",
               n->port.name, rc);
        vmm_host()->free(n);
        return rc;
    }
    /* From here the VM owns the device (destroy frees it); the PCI function points at it and
     * goes away with the PCI host, which is destroyed after it and never calls back then. */
    rc = vmm_pci_add_func(pci, cfg->slot, 0, &fc, &n->pci);
    if (rc < 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vmm_vm_name(vm), "virtio-net %s: PCI slot %u: %d", n->port.name,
               cfg->slot, rc);
        return rc;
    }
    pcfg = vmm_pci_func_cfg(n->pci);
    vn_put_cap(pcfg, CAP_BASE, CAP_BASE + 0x10, CAP_COMMON_CFG, 1, MOD_COMMON, MOD_COMMON_LEN);
    vn_put_cap(pcfg, CAP_BASE + 0x10, CAP_BASE + 0x20, CAP_ISR_CFG, 1, MOD_ISR, 4);
    vn_put_cap(pcfg, CAP_BASE + 0x20, CAP_PIO_NOTIFY, CAP_DEVICE_CFG, 1, MOD_DEVICE, CONFIG_LEN);
    /* The IO BAR's notify region first (a driver takes the first it can map), then BAR1's. */
    vn_put_cap(pcfg, CAP_PIO_NOTIFY, CAP_BASE + 0x30, CAP_NOTIFY_CFG, 0, PIO_NOTIFY,
               PIO_NOTIFY_LEN);
    n->has_msix = vmm_pci_host_has_msi(pci);
    vn_put_cap(pcfg, CAP_BASE + 0x30, n->has_msix ? CAP_MSIX : 0, CAP_NOTIFY_CFG, 1, MOD_NOTIFY,
               MOD_REGION);
    if (n->has_msix) {
        rc = vmm_msix_init(&n->msix, vm, n->port.name, n->pci, &mc);
        if (rc < 0) {
            LOG_VM(VMM, LOG_LVL_ERROR, vmm_vm_name(vm), "virtio-net %s: MSI-X: %d", n->port.name,
                   rc);
            return rc;
        }
    }
    vn_reset(n);
    /* Attach last: from here the backend may deliver frames. */
    vnic_port_init(&n->port, vm, "virtio-net", cfg->name, cfg->mac, vmm_virtio_net_rx, n);
    if (vnic_offloads_supported(&n->port) && !cfg->no_offload) {
        /* The host hands super-frames on whole (or cuts them itself for receivers that cannot
         * take them), so the guest may be given them too. */
        n->host_features |= F_GUEST_TSO4;
    }
    if (vnic_link_up(&n->port) && vmm_host()->nic_mtu != NULL) {
        /* The port's MTU (1450 on a network a VXLAN link carries): Linux's virtio_net makes it
         * the interface's MTU, and its maximum (the spec wants 68..65535). */
        n->mtu = vmm_host()->nic_mtu(n->port.backend);
        if (n->mtu >= VMM_NIC_MTU_FLOOR) {
            n->host_features |= F_MTU;
        }
    }
    LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(vm),
           "virtio-net %s: 00:%02x.0 io 0x%x mmio 0x%llx irq %u%s mac "
           "%02x:%02x:%02x:%02x:%02x:%02x",
           n->port.name, cfg->slot, cfg->io_base, (unsigned long long)cfg->mmio_base, cfg->irq,
           n->has_msix ? " msi-x" : "", cfg->mac[0], cfg->mac[1], cfg->mac[2], cfg->mac[3],
           cfg->mac[4], cfg->mac[5]);
    if (out != NULL) {
        *out = n;
    }
    return 0;
}

const struct vmm_nic_stats *vmm_virtio_net_stats(const struct vmm_virtio_net *n)
{
    return &n->port.stats;
}

const struct vmm_virtio_net_offload_stats *
vmm_virtio_net_offload_stats(const struct vmm_virtio_net *n)
{
    return &n->off;
}
