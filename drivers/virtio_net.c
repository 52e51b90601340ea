/* virtio-net driver (legacy virtio-pci, I/O BAR0): reset and feature negotiation (the MAC, the
 * link status, and checksum and TCP/IPv4 segmentation offloads both ways when offered), one RX
 * and one TX split ring, interrupt-driven receive with the work deferred to the main loop,
 * counters.
 *
 * Why this NIC: with QEMU's rtl8139 every TSD doorbell makes QEMU write the frame to the TAP
 * inside the port write, on the appliance's only vCPU thread, and every CAPR write copies the
 * queued frames into the ring there too. QEMU's virtio-net does its TAP I/O in its main-loop
 * thread (TX in a bottom half after the kick, RX from the TAP's fd handler), on the other host
 * core, while the appliance runs on. The driver's job is to keep it that way: few kicks (none
 * while the device says VRING_USED_F_NO_NOTIFY), few interrupts (RX interrupts off while the
 * deferred work is queued, TX interrupts only while a sender waits for a slot) and few port
 * accesses (only the ISR read per interrupt; everything else is shared memory).
 *
 * Layout: descriptor i of a queue always points at buffer slot i, so a used-ring entry names its
 * buffer by id; each frame is one descriptor holding the 10-byte legacy net header and the frame.
 * Slots are VIO_SLOT_LEN bytes, except receive slots with GUEST_TSO4: without mergeable RX
 * buffers (not taken: the header stays 10 bytes and a frame stays one buffer) the device needs
 * room for a whole 64 KiB super-frame in every buffer, so each is VIO_BIG_LEN bytes, and there
 * are fewer of them (VIO_RX_BIG_BUFS). A super-frame to send does not fit a TX slot either: it
 * goes into one of a few big TX buffers (VIO_TX_BIG_BUFS), which the slot's descriptor points at
 * until the device returns the slot; none free is -EAGAIN (the caller segments in software).
 *
 * Offloads: a received frame's header becomes struct netoff (NEEDS_CSUM -> PARTIAL, DATA_VALID
 * -> VALID, GSO TCPV4 -> GSO) and nic_deliver_off hands it on or does the work in software;
 * send_off turns struct netoff into the header. Only what was negotiated is taken.
 *
 * Everything the device writes (used indexes, ids, lengths, net headers) is checked before use:
 * a bad entry is counted as an error and logged at most once a second, an index that cannot be
 * right resets the device. */
#include "virtio_net.h"
#include "nic.h"
#include "nic_ring.h"
#include "ioapic.h"
#include "pci.h"
#include "../kernel/cpu.h"
#include "../kernel/heap.h"
#include "../kernel/irq.h"
#include "../kernel/lib.h"
#include "../kernel/lib/netoff.h"
#include "../kernel/log.h"
#include "../kernel/mainloop.h"
#include "../kernel/memory.h"
#include "../kernel/timer.h"

#define VIO_SLOT_LEN   2048u /* one buffer: net header + 1514-byte frame, 2 per page */
#define VIO_RX_BUF_LEN (VIO_NET_HDR_LEN + NIC_FRAME_MAX) /* what the device may write */
#define VIO_SLOTS_MAX  256u /* buffers per queue (QEMU offers 256 by default) */
/* A buffer for a whole super-frame: the spec asks for at least 65562 bytes per RX buffer with
 * GUEST_TSO4 and without MRG_RXBUF; header + the longest frame netoff describes, whole pages. */
#define VIO_BIG_LEN                                                                                \
    ((uint32_t)(((VIO_NET_HDR_LEN + NETOFF_FRAME_MAX + PAGE_SIZE - 1) / PAGE_SIZE) * PAGE_SIZE))
/* 128 x 68 KiB = 8.5 MiB of the appliance's 512: 256 (QEMU's ring) would be 17 MiB. 128 is
 * still more than lwIP's receive window (NET_TCP_WND_MAX, 44 segments) even if every buffer
 * held a single 1514-byte frame, and QEMU leaves what does not fit in the TAP. */
#define VIO_RX_BIG_BUFS 128u
/* Super-frames in flight to the device at once; 16 x 68 KiB = 1.1 MiB. */
#define VIO_TX_BIG_BUFS 16u
#define VIO_BIG_NONE    0xffu
/* Receive bytes per pass besides the frame count: a super-frame is up to 44 segments' work for
 * the receiver (software segmentation for lwIP), so a pass stops after a few of them. */
#define VIO_RX_BYTE_BUDGET (256u * 1024u)
#define VIO_RX_BUDGET      64 /* frames per pass of the main loop */
#define VIO_WATCHDOG_NS    1000000000ULL
#define VIO_POLL_NS        10000000ULL
/* Busy polling (vio_service): the longest a frame waits for a guest that does not exit by
 * itself; it ends VIO_BUSY_IDLE_NS after the last bulk frame, one of at least VIO_BULK_LEN
 * bytes (a data segment: ACKs alone, a sender's traffic, are better served by interrupts). */
#define VIO_BUSY_POLL_NS    500000ULL
#define VIO_BUSY_IDLE_NS    2000000ULL
#define VIO_BULK_LEN        1000u
#define VIO_TX_TIMEOUT_NS   2000000000ULL
#define VIO_SAY_INTERVAL_NS 1000000000ULL
#define PCI_CMD_OFF         0x04
#define PCI_CMD_INTX_OFF    0x0400

/* The device runs on another host thread: our ring stores must be visible before the index
 * that publishes them (x86 keeps stores in order, so the compiler is the only reorderer), and a
 * store of ours must be visible before we read the device's flag that depends on it (store ->
 * load needs a real fence on x86). */
#define VIO_WMB() __asm__ volatile("" ::: "memory")
#define VIO_RMB() __asm__ volatile("" ::: "memory")
#define VIO_MB()  __asm__ volatile("mfence" ::: "memory")

/* The offloads we take when the device offers them (nothing else: see vio_hw_start). */
#define VIO_NET_F_OFFLOADS                                                                         \
    (VIO_NET_F_CSUM | VIO_NET_F_GUEST_CSUM | VIO_NET_F_GUEST_TSO4 | VIO_NET_F_HOST_TSO4)

_Static_assert(sizeof(struct vio_net_hdr) == VIO_NET_HDR_LEN, "legacy net header layout");
_Static_assert(VIO_BIG_LEN >= 65562u, "virtio 1.x 5.1.6.3.1: big receive buffers");
_Static_assert(VIO_TX_BIG_BUFS < VIO_BIG_NONE, "big buffer numbers fit a byte");

struct vio_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} __attribute__((packed));

struct vio_used_elem {
    uint32_t id;
    uint32_t len;
} __attribute__((packed));

_Static_assert(sizeof(struct vio_desc) == VIO_DESC_LEN, "legacy descriptor layout");
_Static_assert(sizeof(struct vio_used_elem) == VIO_USED_ELEM, "legacy used element layout");

/* One split ring and its buffers. */
struct vio_queue {
    uint16_t index;
    uint32_t size; /* entries, as the device offers them */
    uint32_t nbuf; /* slots we use: min(size, VIO_SLOTS_MAX) */
    uint8_t *ring;
    uint64_t ring_phys;
    size_t ring_pages;
    volatile struct vio_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size] */
    volatile uint16_t *used;  /* flags, idx, then the elements */
    volatile struct vio_used_elem *used_elem;
    uint8_t *buf;
    uint64_t buf_phys;
    size_t buf_pages;
    uint32_t stride;             /* bytes per slot: VIO_SLOT_LEN or VIO_BIG_LEN */
    uint32_t post_len;           /* RX: bytes the device may write into a slot */
    uint16_t avail_idx;          /* our copy of avail->idx */
    uint16_t used_seen;          /* used entries consumed */
    bool busy[VIO_SLOTS_MAX];    /* the device owns this slot */
    uint32_t len[VIO_SLOTS_MAX]; /* TX: frame bytes, counted when the device is done */
};

/* A rate-limited warning: the first event is said at once, later ones summed up once a second. */
struct vio_say {
    uint64_t said_ns;
    bool said;
    uint32_t quiet; /* events since the last line */
    uint32_t last_id;
    uint32_t last_len;
    const char *last_why; /* what was wrong, when more than the id or length says */
};

struct vio {
    struct nic nic;
    uint16_t io;
    uint8_t irq;
    bool have_irq;
    bool dead;
    bool dead_said;
    uint32_t features; /* negotiated */
    uint32_t want;     /* offloads we take when offered (less after an allocation failed) */
    uint32_t offered;  /* what the device offered at the last start */
    struct vio_queue rx;
    struct vio_queue tx;
    uint16_t tx_free[VIO_SLOTS_MAX]; /* stack of free TX slots */
    uint32_t tx_nfree;
    /* Big TX buffers (HOST_TSO4): the pool, a stack of free ones, and which one each TX slot's
     * descriptor points at (VIO_BIG_NONE: its own slot). */
    uint8_t *tx_big;
    uint64_t tx_big_phys;
    size_t tx_big_pages;
    uint8_t tx_big_free[VIO_TX_BIG_BUFS];
    uint32_t tx_big_nfree;
    uint8_t tx_big_of[VIO_SLOTS_MAX];
    uint64_t tx_big_busy; /* super-frames refused (-EAGAIN) for want of a big buffer */
    bool tx_wait;         /* a sender found no free slot: TX interrupts on until one is */
    uint64_t tx_progress_ns;
    bool link;
    bool in_rx;               /* inside the receive pass (the receiver may call vio_send) */
    const char *reset_why;    /* a reset asked for while in_rx: done after the pass */
    volatile uint8_t pending; /* ISR bits the handler saw and the work has not handled */
    volatile bool scheduled;  /* vio_work is queued */
    bool polling;             /* busy polling: RX interrupts off, vio_poll looks instead */
    uint64_t rx_last_ns;      /* when the last bulk frame came */
    struct poll_hook poll;
    struct timer watchdog;
    struct vio_say bad_rx;  /* used RX entries with a bad id or length */
    struct vio_say bad_tx;  /* used TX entries naming a slot the device does not own */
    struct vio_say bad_hdr; /* received net headers we did not negotiate or cannot use */
};

static void vio_work(void *arg);
static int vio_hw_start(struct vio *v);
static void vio_arm(struct vio *v);

/* ---- memory ----------------------------------------------------------------------------- */

static size_t vio_pages(size_t len)
{
    return (len + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* Zeroed, physically contiguous, page-aligned (4096: what the legacy ring needs) memory the
 * device can reach; the kernel maps physical memory 1:1. */
static void *vio_dma_alloc(size_t len, uint64_t *phys, size_t *pages)
{
    size_t n = vio_pages(len);
    uint64_t pa;

    if (page_alloc(n, &pa) != 0) {
        return NULL;
    }
    /* The PFN register is 32 bits wide; buffers are 64-bit, but keep all of it below 4 GiB so
     * nothing depends on that. */
    if (pa + n * PAGE_SIZE > 0x100000000ULL) {
        LOG_ERROR(DRV, "virtio-net: DMA memory at %#llx is above 4 GiB", (unsigned long long)pa);
        page_free(pa, n);
        return NULL;
    }
    memset((void *)(uintptr_t)pa, 0, n * PAGE_SIZE);
    *phys = pa;
    *pages = n;
    return (void *)(uintptr_t)pa;
}

/* ---- rate-limited warnings ----------------------------------------------------------------- */

static bool vio_say_due(struct vio_say *s, uint64_t now, uint32_t id, uint32_t len, const char *why)
{
    s->quiet++;
    s->last_id = id;
    s->last_len = len;
    s->last_why = why;
    return !s->said || now - s->said_ns >= VIO_SAY_INTERVAL_NS;
}

static void vio_say(struct vio *v, struct vio_say *s, const char *what, uint64_t now)
{
    const char *sep = s->last_why != NULL ? ": " : "";
    const char *why = s->last_why != NULL ? s->last_why : "";

    if (s->quiet == 1) {
        LOG_WARN(DRV, "%s: bad %s used entry (id %u, length %u%s%s): skipped, counted as an error",
                 v->nic.model, what, s->last_id, s->last_len, sep, why);
    } else {
        LOG_WARN(DRV, "%s: %u bad %s used entries in %llu ms (last: id %u, length %u%s%s)",
                 v->nic.model, s->quiet, what,
                 (unsigned long long)(s->said ? (now - s->said_ns) / 1000000 : 0), s->last_id,
                 s->last_len, sep, why);
    }
    s->said = true;
    s->said_ns = now;
    s->quiet = 0;
}

static void vio_bad_entry(struct vio *v, struct vio_say *s, const char *what, uint32_t id,
                          uint32_t len, const char *why)
{
    uint64_t now = now_ns();

    if (vio_say_due(s, now, id, len, why)) {
        vio_say(v, s, what, now);
    }
}

/* The watchdog's share: summaries of what was held back. */
static void vio_say_pending(struct vio *v)
{
    uint64_t now = now_ns();

    if (v->bad_rx.quiet > 0 && now - v->bad_rx.said_ns >= VIO_SAY_INTERVAL_NS) {
        vio_say(v, &v->bad_rx, "rx", now);
    }
    if (v->bad_tx.quiet > 0 && now - v->bad_tx.said_ns >= VIO_SAY_INTERVAL_NS) {
        vio_say(v, &v->bad_tx, "tx", now);
    }
    if (v->bad_hdr.quiet > 0 && now - v->bad_hdr.said_ns >= VIO_SAY_INTERVAL_NS) {
        vio_say(v, &v->bad_hdr, "rx header", now);
    }
}

/* ---- rings ------------------------------------------------------------------------------- */

static uint16_t vio_used_idx(const struct vio_queue *q)
{
    return q->used[1];
}

static uint64_t vio_slot_phys(const struct vio_queue *q, uint16_t id)
{
    return q->buf_phys + (uint64_t)id * q->stride;
}

static uint8_t *vio_slot(const struct vio_queue *q, uint32_t id)
{
    return q->buf + (size_t)id * q->stride;
}

/* Hands slot `id` (its buffer at `addr`) to the device: its descriptor (rewritten every time:
 * the device could have scribbled on it), then the available ring entry, then the index that
 * publishes both. */
static void vio_post(struct vio_queue *q, uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
    q->desc[id].addr = addr;
    q->desc[id].len = len;
    q->desc[id].flags = flags;
    q->desc[id].next = 0;
    q->avail[2 + (q->avail_idx & (q->size - 1))] = id;
    q->busy[id] = true;
    VIO_WMB();
    q->avail_idx++;
    q->avail[1] = q->avail_idx;
}

/* Tells the device about new buffers, unless it said it does not need to hear (it is already
 * working through the ring, e.g. QEMU's TX bottom half is scheduled): a burst costs one kick. */
static void vio_kick(struct vio *v, struct vio_queue *q)
{
    VIO_MB(); /* our avail->idx store before the load of used->flags */
    if ((q->used[0] & VIO_USED_F_NO_NOTIFY) == 0) {
        outw(v->io + VIO_REG_QUEUE_NOTIFY, q->index);
    }
}

static void vio_set_intr(struct vio_queue *q, bool on)
{
    q->avail[0] = on ? 0 : VIO_AVAIL_F_NO_INTERRUPT;
}

/* Reads the size the device offers for queue `index`, allocates the ring and at most `max_bufs`
 * slots of `stride` bytes (first time) and tells the device where the ring is. 0, -EIO (a size
 * we cannot use, or a different one after a reset), -ENOMEM. */
static int vio_queue_setup(struct vio *v, struct vio_queue *q, uint16_t index, uint32_t stride,
                           uint32_t max_bufs)
{
    struct vio_ring_layout l;
    uint32_t size;

    outw(v->io + VIO_REG_QUEUE_SEL, index);
    size = inw(v->io + VIO_REG_QUEUE_NUM);
    if (vio_ring_layout(size, &l) != 0) {
        LOG_WARN(DRV, "%s: queue %u has size %u (not a power of two in 1..%u)", v->nic.model, index,
                 size, VIO_QUEUE_MAX);
        return -EIO;
    }
    if (q->ring != NULL && size != q->size) {
        LOG_WARN(DRV, "%s: queue %u changed size from %u to %u", v->nic.model, index, q->size,
                 size);
        return -EIO;
    }
    if (q->ring == NULL) {
        q->index = index;
        q->size = size;
        q->nbuf = size < max_bufs ? size : max_bufs;
        q->stride = stride;
        q->ring = vio_dma_alloc(l.size, &q->ring_phys, &q->ring_pages);
        if (q->ring == NULL) {
            return -ENOMEM;
        }
        q->buf = vio_dma_alloc((size_t)q->nbuf * stride, &q->buf_phys, &q->buf_pages);
        if (q->buf == NULL) {
            page_free(q->ring_phys, q->ring_pages);
            q->ring = NULL;
            return -ENOMEM;
        }
        q->desc = (volatile struct vio_desc *)q->ring;
        q->avail = (volatile uint16_t *)(q->ring + l.avail_off);
        q->used = (volatile uint16_t *)(q->ring + l.used_off);
        q->used_elem = (volatile struct vio_used_elem *)(q->ring + l.used_off + 4);
    } else {
        memset(q->ring, 0, q->ring_pages * PAGE_SIZE);
    }
    q->avail_idx = 0;
    q->used_seen = 0;
    memset(q->busy, 0, sizeof(q->busy));
    memset(q->len, 0, sizeof(q->len));
    outl(v->io + VIO_REG_QUEUE_PFN, (uint32_t)(q->ring_phys >> 12));
    LOG_DEBUG(
        DRV, "%s: queue %u: %u entries, %u buffers of %u bytes, ring %#llx (%u bytes, used at +%u)",
        v->nic.model, index, size, q->nbuf, stride, (unsigned long long)q->ring_phys, l.size,
        l.used_off);
    return 0;
}

/* ---- transmit ---------------------------------------------------------------------------- */

/* Takes back the slots the device has finished. False when the used index is impossible. */
static bool vio_tx_reclaim(struct vio *v)
{
    struct vio_queue *q = &v->tx;
    int n = vio_used_pending(vio_used_idx(q), q->used_seen, q->size);

    if (n < 0) {
        return false;
    }
    VIO_RMB(); /* the index before the entries it covers */
    for (int i = 0; i < n; i++) {
        uint32_t id = q->used_elem[q->used_seen & (q->size - 1)].id;

        q->used_seen++;
        if (id >= q->nbuf || !q->busy[id]) {
            v->nic.stats.tx_errors++;
            vio_bad_entry(v, &v->bad_tx, "tx", id, 0, NULL);
            continue;
        }
        q->busy[id] = false;
        v->tx_free[v->tx_nfree++] = (uint16_t)id;
        if (v->tx_big_of[id] != VIO_BIG_NONE) {
            v->tx_big_free[v->tx_big_nfree++] = v->tx_big_of[id];
            v->tx_big_of[id] = VIO_BIG_NONE;
        }
        v->nic.stats.tx_packets++;
        v->nic.stats.tx_bytes += q->len[id];
    }
    if (n > 0) {
        v->tx_progress_ns = now_ns();
    }
    if (n > 0 && v->tx_wait) {
        v->tx_wait = false;
        vio_set_intr(q, false);
    }
    return true;
}

/* Full reset after the device broke a rule we cannot work around: frames in flight are lost. */
static void vio_reinit(struct vio *v, const char *why)
{
    int rc;

    if (v->in_rx) {
        v->reset_why = why; /* not under the receive pass's feet */
        return;
    }
    LOG_WARN(DRV, "%s: resetting the device (%s)", v->nic.model, why);
    v->polling = false;
    v->nic.stats.tx_dropped += v->tx.nbuf - v->tx_nfree;
    rc = vio_hw_start(v);
    if (rc != 0) {
        LOG_ERROR(DRV, "%s: reset failed (%d): device disabled", v->nic.model, rc);
        v->dead = true;
        return;
    }
    vio_arm(v);
}

/* Queues one frame with net header `hdr` (NULL: all zero, a plain frame): into its TX slot, or
 * into a big TX buffer when it does not fit one (a super-frame). The caller checked len against
 * what the header allows. */
static int vio_xmit(struct vio *v, const void *frame, size_t len, const struct vio_net_hdr *hdr)
{
    struct nic *nic = &v->nic;
    bool big = VIO_NET_HDR_LEN + len > VIO_SLOT_LEN;
    uint8_t *dst;
    uint64_t phys;
    uint8_t b = VIO_BIG_NONE;
    uint16_t id;

    if (v->dead) {
        nic->stats.tx_dropped++;
        return -EIO;
    }
    if (big && (v->tx_big == NULL || len > NETOFF_FRAME_MAX)) {
        nic->stats.tx_dropped++;
        return -EMSGSIZE;
    }
    if ((v->tx_nfree == 0 || (big && v->tx_big_nfree == 0)) && !vio_tx_reclaim(v)) {
        vio_reinit(v, "impossible tx used index");
        nic->stats.tx_dropped++;
        return -EIO;
    }
    if (v->tx_nfree == 0) {
        /* Ask for an interrupt when the device finishes one, so the main loop wakes up for the
         * frames queued above us; then look once more in case it finished meanwhile. */
        v->tx_wait = true;
        vio_set_intr(&v->tx, true);
        VIO_MB();
        (void)vio_tx_reclaim(v);
        if (v->tx_nfree == 0) {
            nic->stats.tx_dropped++;
            LOG_TRACE(DRV, "%s: tx ring full, %zu-byte frame refused", nic->model, len);
            return -EAGAIN;
        }
    }
    if (big && v->tx_big_nfree == 0) {
        /* No interrupt wanted for this: the caller segments the frame in software and sends the
         * pieces through ordinary slots. */
        nic->stats.tx_dropped++;
        v->tx_big_busy++;
        LOG_TRACE(DRV, "%s: no big tx buffer free, %zu-byte frame refused", nic->model, len);
        return -EAGAIN;
    }
    id = v->tx_free[--v->tx_nfree];
    if (big) {
        b = v->tx_big_free[--v->tx_big_nfree];
        dst = v->tx_big + (size_t)b * VIO_BIG_LEN;
        phys = v->tx_big_phys + (uint64_t)b * VIO_BIG_LEN;
    } else {
        dst = vio_slot(&v->tx, id);
        phys = vio_slot_phys(&v->tx, id);
    }
    v->tx_big_of[id] = b;
    if (hdr != NULL) {
        memcpy(dst, hdr, VIO_NET_HDR_LEN);
    } else {
        memset(dst, 0, VIO_NET_HDR_LEN); /* no checksum offload, no GSO */
    }
    memcpy(dst + VIO_NET_HDR_LEN, frame, len);
    v->tx.len[id] = (uint32_t)len;
    if (v->tx_nfree + 1 == v->tx.nbuf) {
        v->tx_progress_ns = now_ns(); /* the first in flight: the timeout starts now */
    }
    vio_post(&v->tx, id, phys, (uint32_t)(VIO_NET_HDR_LEN + len), 0);
    vio_kick(v, &v->tx);
    LOG_TRACE(DRV, "%s: tx %zu bytes in slot %u%s", nic->model, len, id, big ? " (big)" : "");
    return 0;
}

static int vio_send(struct nic *nic, const void *frame, size_t len)
{
    if (len > NIC_FRAME_MAX) {
        nic->stats.tx_dropped++;
        return -EMSGSIZE;
    }
    return vio_xmit(nic->priv, frame, len, NULL);
}

/* A frame with offload metadata (nic_send_off checked it against nic->tx_offloads): checked
 * once more against the frame, since the header tells the device where to write (the checksum)
 * and how to cut (the header length), then turned into the net header. */
static int vio_send_off(struct nic *nic, const void *frame, size_t len, const struct netoff *off)
{
    struct vio *v = nic->priv;
    struct vio_net_hdr h;
    const char *why = NULL;
    bool gso;
    int rc;

    if (!netoff_active(off)) {
        return vio_send(nic, frame, len); /* VALID means nothing to the device */
    }
    gso = off->gso != NETOFF_GSO_NONE;
    if ((v->features & VIO_NET_F_CSUM) == 0 || (gso && (v->features & VIO_NET_F_HOST_TSO4) == 0)) {
        nic->stats.tx_dropped++;
        return -EINVAL;
    }
    rc = netoff_check(frame, len, off, NIC_FRAME_MAX, NIC_FRAME_MAX, &why);
    if (rc != 0) {
        nic->stats.tx_dropped++;
        LOG_DEBUG(DRV, "%s: %zu-byte frame with offloads refused: %s", nic->model, len, why);
        return rc;
    }
    memset(&h, 0, sizeof(h));
    if (off->csum == NETOFF_CSUM_PARTIAL) {
        h.flags = VIO_NET_HDR_F_NEEDS_CSUM;
        h.csum_start = off->csum_start;
        h.csum_offset = off->csum_off;
    }
    if (gso) {
        h.gso_type = VIO_NET_HDR_GSO_TCPV4;
        h.gso_size = off->gso_size;
        h.hdr_len = (uint16_t)netoff_gso_hlen(frame, off);
    }
    return vio_xmit(v, frame, len, &h);
}

/* ---- receive ----------------------------------------------------------------------------- */

/* The offload metadata of a received net header, as far as negotiated: NULL with *off filled,
 * or what is wrong with it. The header is read once, into a copy every field is judged from. */
static const char *vio_rx_hdr(const struct vio *v, const uint8_t *slot, struct netoff *off)
{
    struct vio_net_hdr h;

    memcpy(&h, slot, sizeof(h));
    memset(off, 0, sizeof(*off));
    if ((v->features & VIO_NET_F_GUEST_CSUM) == 0) {
        /* QEMU hands the TAP's DATA_VALID on whether negotiated or not: ignored, as it always
         * was. A partial checksum or a super-frame would not be a frame we can use. */
        if ((h.flags & VIO_NET_HDR_F_NEEDS_CSUM) != 0 || h.gso_type != VIO_NET_HDR_GSO_NONE) {
            return "offloads not negotiated";
        }
        return NULL;
    }
    if ((h.flags & ~(VIO_NET_HDR_F_NEEDS_CSUM | VIO_NET_HDR_F_DATA_VALID)) != 0) {
        return "unknown header flags";
    }
    if (h.gso_type == VIO_NET_HDR_GSO_TCPV4 && (v->features & VIO_NET_F_GUEST_TSO4) != 0) {
        off->gso = NETOFF_GSO_TCPV4;
        off->gso_size = h.gso_size;
    } else if (h.gso_type != VIO_NET_HDR_GSO_NONE) {
        return (h.gso_type & VIO_NET_HDR_GSO_ECN) != 0 ? "GSO with ECN not negotiated"
                                                       : "GSO type not negotiated";
    }
    /* NEEDS_CSUM wins: the data is as good as the sender's, only the sum is missing. */
    if ((h.flags & VIO_NET_HDR_F_NEEDS_CSUM) != 0) {
        off->csum = NETOFF_CSUM_PARTIAL;
        off->csum_start = h.csum_start;
        off->csum_off = h.csum_offset;
    } else if ((h.flags & VIO_NET_HDR_F_DATA_VALID) != 0) {
        off->csum = NETOFF_CSUM_VALID;
    }
    return NULL;
}

/* Checks the frame in RX slot `id` (ours, `len` bytes written by the device) and its header,
 * and hands it to the receiver; a bad one is counted and skipped. */
static void vio_rx_one(struct vio *v, uint32_t id, uint32_t len)
{
    struct vio_queue *q = &v->rx;
    uint8_t *slot = vio_slot(q, id);
    uint8_t *frame = slot + VIO_NET_HDR_LEN;
    struct netoff off;
    const char *why;
    uint32_t flen;

    if (q->stride == VIO_SLOT_LEN) {
        uint16_t f16;

        if (vio_rx_check(id, len, q->nbuf, q->post_len, &f16) != NIC_RX_OK) {
            v->nic.stats.rx_errors++;
            vio_bad_entry(v, &v->bad_rx, "rx", id, len, NULL);
            return;
        }
        flen = f16;
    } else {
        /* A whole super-frame fits: at least an Ethernet header, never more than the buffer
         * or the longest frame netoff describes. */
        if (len < VIO_NET_HDR_LEN + 14u || len > q->post_len ||
            len - VIO_NET_HDR_LEN > NETOFF_FRAME_MAX) {
            v->nic.stats.rx_errors++;
            vio_bad_entry(v, &v->bad_rx, "rx", id, len, NULL);
            return;
        }
        flen = len - VIO_NET_HDR_LEN;
    }
    why = vio_rx_hdr(v, slot, &off);
    if (why == NULL && off.gso == NETOFF_GSO_NONE && flen > NIC_FRAME_MAX) {
        why = "longer than 1514 bytes without GSO";
    }
    if (why != NULL) {
        v->nic.stats.rx_errors++;
        vio_bad_entry(v, &v->bad_hdr, "rx header", id, len, why);
        return;
    }
    /* QEMU's virtio-net does not pad short frames (ARP is 42 bytes); the stack's callers expect
     * at least the 60-byte minimum, as every other card delivers. Zero bytes after the IP packet
     * leave a partial checksum right: the sum of [csum_start, len) does not change when zeros
     * are added at its end (an odd last byte is summed as if followed by a zero byte anyway),
     * and receivers take the packet's length from its IP header. A super-frame is never padded
     * (its IP total length must be the frame's; real ones are far longer anyway). */
    if (flen < NIC_FRAME_MIN && off.gso == NETOFF_GSO_NONE) {
        memset(frame + flen, 0, NIC_FRAME_MIN - flen);
        flen = NIC_FRAME_MIN;
    }
    if (netoff_active(&off) &&
        netoff_check(frame, flen, &off, NIC_FRAME_MAX, NIC_FRAME_MAX, &why) != 0) {
        v->nic.stats.rx_errors++;
        vio_bad_entry(v, &v->bad_hdr, "rx header", id, len, why);
        return;
    }
    LOG_TRACE(DRV, "%s: rx %u bytes in slot %u (gso %u/%u, csum %u)", v->nic.model, flen, id,
              off.gso, off.gso_size, off.csum);
    nic_deliver_off(&v->nic, frame, flen,
                    off.gso != NETOFF_GSO_NONE || off.csum != NETOFF_CSUM_NONE ? &off : NULL);
}

/* One receive pass over at most `budget` used entries (and about VIO_RX_BYTE_BUDGET bytes):
 * each good frame goes to the receiver straight from its buffer, and the buffer goes back to
 * the device right after; one kick at the end. Returns true if entries are left, false when
 * caught up; *broken on an impossible index. No frame is lost to a full ring meanwhile: QEMU
 * leaves frames in the TAP while it has no buffer. */
static bool vio_rx_pass(struct vio *v, int budget, bool *broken, int *bulk)
{
    struct vio_queue *q = &v->rx;
    int pending = vio_used_pending(vio_used_idx(q), q->used_seen, q->size);
    int n;
    int done = 0;
    int reposted = 0;
    uint32_t bytes = 0;

    *broken = pending < 0;
    *bulk = 0;
    if (pending <= 0) {
        return false;
    }
    n = pending < budget ? pending : budget;
    VIO_RMB();
    v->in_rx = true;
    while (done < n && bytes < VIO_RX_BYTE_BUDGET) {
        volatile struct vio_used_elem *e = &q->used_elem[q->used_seen & (q->size - 1)];
        uint32_t id = e->id;
        uint32_t len = e->len;

        q->used_seen++;
        done++;
        if (id >= q->nbuf || !q->busy[id]) {
            /* No buffer of ours to give back: the slot stays lost until a reset. */
            v->nic.stats.rx_errors++;
            vio_bad_entry(v, &v->bad_rx, "rx", id, len, NULL);
            continue;
        }
        q->busy[id] = false;
        vio_rx_one(v, id, len);
        if (len >= VIO_BULK_LEN) {
            (*bulk)++;
        }
        bytes += len < q->post_len ? len : q->post_len;
        vio_post(q, (uint16_t)id, vio_slot_phys(q, (uint16_t)id), q->post_len, VIO_DESC_F_WRITE);
        reposted++;
    }
    v->in_rx = false;
    if (reposted > 0) {
        vio_kick(v, q);
    }
    return pending > done;
}

/* Handles the ISR bits in `isr` and the rings; re-queues itself or turns RX interrupts back on. */
static void vio_service(struct vio *v, uint8_t isr)
{
    uint64_t flags;
    bool broken = false;
    bool more;
    int bulk;
    uint64_t now;

    if (isr & VIO_ISR_CONFIG) {
        bool up = v->nic.ops->link_up(&v->nic);

        if (up != v->link) {
            v->link = up;
            LOG_INFO(DRV, "%s: link %s", v->nic.model, up ? "up" : "down");
        }
    }
    if (!vio_tx_reclaim(v)) {
        vio_reinit(v, "impossible tx used index");
        return;
    }
    more = vio_rx_pass(v, VIO_RX_BUDGET, &broken, &bulk);
    if (broken || v->reset_why != NULL) {
        const char *why = broken ? "impossible rx used index" : v->reset_why;

        v->reset_why = NULL;
        vio_reinit(v, why);
        return;
    }
    /* Bulk frames keep coming while a guest runs: keep interrupts off (each would be a world
     * switch of its own) and look again after each of the guest's exits, at the latest
     * VIO_BUSY_POLL_NS from now (mainloop.h, busy polling), until none came for
     * VIO_BUSY_IDLE_NS. Measured with bench/vnet.sh: docs/vnet.md, Performance. */
    now = now_ns();
    if (bulk > 0) {
        v->rx_last_ns = now;
    }
    v->polling = !more && mainloop_vcpu_ran() && now - v->rx_last_ns < VIO_BUSY_IDLE_NS;
    if (v->polling) {
        mainloop_poll_by(now + VIO_BUSY_POLL_NS);
    } else if (!more) {
        /* Interrupts back on, then one more look: a frame the device used after our pass and
         * before it saw the flag cleared raised no interrupt. */
        vio_set_intr(&v->rx, true);
        VIO_MB();
        if (vio_used_idx(&v->rx) != v->rx.used_seen) {
            vio_set_intr(&v->rx, false);
            more = true;
        }
    }
    flags = irq_save();
    if (more && !v->scheduled) {
        if (irq_defer(vio_work, v) == 0) {
            v->scheduled = true;
        } else {
            vio_set_intr(&v->rx, true); /* the defer queue is full: the next interrupt or the
                                           watchdog comes back for the rest */
        }
    }
    irq_restore(flags);
}

static void vio_work(void *arg)
{
    struct vio *v = arg;
    uint64_t flags = irq_save();
    uint8_t isr = v->pending;

    v->pending = 0;
    v->scheduled = false;
    irq_restore(flags);
    if (!v->dead) {
        vio_service(v, isr);
    }
}

/* Busy hook: while busy polling, a pass over the rings (main-loop passes, guest exits). */
static void vio_poll(void *arg)
{
    struct vio *v = arg;

    if (v->polling && !v->scheduled) {
        vio_work(v);
    }
}

static void vio_isr(void *ctx)
{
    struct vio *v = ctx;
    uint8_t isr = inb(v->io + VIO_REG_ISR); /* reading acknowledges and lowers the line */

    if (isr == 0) {
        return; /* another device on a shared line */
    }
    if (isr == 0xff) {
        /* Nothing answers: stop the line from firing forever. */
        v->dead = true;
        drv_ioapic_mask(v->irq, true);
        return;
    }
    v->nic.stats.interrupts++;
    v->pending |= isr;
    /* No more RX interrupts until the deferred work has caught up (QEMU would raise one per
     * frame it stores). */
    vio_set_intr(&v->rx, false);
    if (!v->scheduled && irq_defer(vio_work, v) == 0) {
        v->scheduled = true;
    }
}

/* Main-loop timer: whatever no interrupt reported, stuck transmits, held-back log lines. */
static void vio_watchdog(void *arg)
{
    struct vio *v = arg;
    uint64_t flags;
    uint8_t isr;

    if (v->dead) {
        if (!v->dead_said) {
            v->dead_said = true;
            LOG_ERROR(DRV, "%s: device not responding; driver stopped", v->nic.model);
            timer_stop(&v->watchdog);
        }
        return;
    }
    vio_say_pending(v);
    if (!vio_tx_reclaim(v)) {
        vio_reinit(v, "impossible tx used index");
        return;
    }
    if (v->tx_nfree < v->tx.nbuf && now_ns() - v->tx_progress_ns > VIO_TX_TIMEOUT_NS) {
        vio_reinit(v, "transmit timeout");
        return;
    }
    flags = irq_save();
    if (v->scheduled) {
        irq_restore(flags);
        return;
    }
    isr = v->have_irq ? 0 : inb(v->io + VIO_REG_ISR); /* polling: acknowledge here */
    isr |= v->pending;
    v->pending = 0;
    irq_restore(flags);
    vio_service(v, isr);
}

/* ---- nic_ops ----------------------------------------------------------------------------- */

/* QEMU's virtio-net without the control queue receives every frame its backend gets (it starts
 * in promiscuous mode and only the control queue could change that), and on a TAP in a bridge
 * the VNET switch does the filtering: both filters are accepted as no-ops. */
static int vio_set_promisc(struct nic *nic, bool on)
{
    LOG_DEBUG(DRV, "%s: promiscuous %s: nothing to do (the device takes every frame)", nic->model,
              on ? "on" : "off");
    return 0;
}

static int vio_set_allmulti(struct nic *nic, bool on)
{
    LOG_DEBUG(DRV, "%s: all-multicast %s: nothing to do (the device takes every frame)", nic->model,
              on ? "on" : "off");
    return 0;
}

static bool vio_link_up(struct nic *nic)
{
    struct vio *v = nic->priv;

    if ((v->features & VIO_NET_F_STATUS) == 0) {
        return true; /* the device cannot tell */
    }
    return (inw(v->io + VIO_REG_CONFIG + VIO_NET_CFG_STATUS) & VIO_NET_S_LINK_UP) != 0;
}

static const struct nic_ops g_vio_ops = {
    .send = vio_send,
    .set_promisc = vio_set_promisc,
    .set_allmulti = vio_set_allmulti,
    .link_up = vio_link_up,
};

/* With CSUM negotiated (and HOST_TSO4 perhaps): frames with offload metadata too. */
static const struct nic_ops g_vio_ops_off = {
    .send = vio_send,
    .set_promisc = vio_set_promisc,
    .set_allmulti = vio_set_allmulti,
    .link_up = vio_link_up,
    .send_off = vio_send_off,
};

/* ---- set-up ------------------------------------------------------------------------------ */

/* What we take of `offered`: the MAC, the link status, and the offloads in `want`, each only
 * with what it depends on (virtio 1.x 5.1.3.1: HOST_TSO4 needs CSUM, GUEST_TSO4 GUEST_CSUM).
 * Nothing else we do not implement: no mergeable RX buffers (so the header stays 10 bytes and a
 * frame fits one buffer), no ECN, UFO or TSO6 (so no super-frame we could not cut), no control
 * queue, no event index (the flags fields do the suppression). */
static uint32_t vio_features_for(uint32_t offered, uint32_t want)
{
    uint32_t f = offered & (VIO_NET_F_MAC | VIO_NET_F_STATUS | (want & VIO_NET_F_OFFLOADS));

    if ((f & VIO_NET_F_CSUM) == 0) {
        f &= ~VIO_NET_F_HOST_TSO4;
    }
    if ((f & VIO_NET_F_GUEST_CSUM) == 0) {
        f &= ~VIO_NET_F_GUEST_TSO4;
    }
    return f;
}

/* The big TX buffers (HOST_TSO4): allocated the first time, all free again after a reset (the
 * device forgot every slot it had). 0 or -ENOMEM. */
static int vio_tx_big_setup(struct vio *v)
{
    if (v->tx_big == NULL) {
        v->tx_big =
            vio_dma_alloc((size_t)VIO_TX_BIG_BUFS * VIO_BIG_LEN, &v->tx_big_phys, &v->tx_big_pages);
        if (v->tx_big == NULL) {
            return -ENOMEM;
        }
    }
    v->tx_big_nfree = 0;
    for (uint32_t i = VIO_TX_BIG_BUFS; i > 0; i--) {
        v->tx_big_free[v->tx_big_nfree++] = (uint8_t)(i - 1);
    }
    return 0;
}

/* The legacy initialisation sequence: reset, ACKNOWLEDGE, DRIVER, features, queues, RX buffers,
 * DRIVER_OK. Also used to recover from a broken device (memory from the first call is reused). */
static int vio_hw_start(struct vio *v)
{
    uint32_t offered;
    uint32_t features;
    bool big_rx;
    int rc;

    outb(v->io + VIO_REG_STATUS, 0);
    if (inb(v->io + VIO_REG_STATUS) != 0) {
        LOG_WARN(DRV, "%s: status %#x after reset", v->nic.model, inb(v->io + VIO_REG_STATUS));
        return -EIO;
    }
    outb(v->io + VIO_REG_STATUS, VIO_STATUS_ACK);
    outb(v->io + VIO_REG_STATUS, VIO_STATUS_ACK | VIO_STATUS_DRIVER);
    offered = inl(v->io + VIO_REG_HOST_FEATURES);
    features = vio_features_for(offered, v->want);
    /* The buffers (and what nic->tx_offloads promised) were sized for the first set: a device
     * that offers something else after a reset is not one we know how to run. */
    if (v->rx.ring != NULL && features != v->features) {
        LOG_WARN(DRV, "%s: features changed from %#x to %#x (offered %#x)", v->nic.model,
                 v->features, features, offered);
        outb(v->io + VIO_REG_STATUS, VIO_STATUS_FAILED);
        return -EIO;
    }
    v->offered = offered;
    v->features = features;
    outl(v->io + VIO_REG_GUEST_FEATURES, v->features);
    LOG_DEBUG(DRV, "%s: features offered %#x, taken %#x", v->nic.model, offered, v->features);

    /* GUEST_TSO4 without MRG_RXBUF: every receive buffer must hold a whole super-frame. */
    big_rx = (v->features & VIO_NET_F_GUEST_TSO4) != 0;
    rc = vio_queue_setup(v, &v->rx, VIO_QUEUE_RX, big_rx ? VIO_BIG_LEN : VIO_SLOT_LEN,
                         big_rx ? VIO_RX_BIG_BUFS : VIO_SLOTS_MAX);
    if (rc == 0) {
        rc = vio_queue_setup(v, &v->tx, VIO_QUEUE_TX, VIO_SLOT_LEN, VIO_SLOTS_MAX);
    }
    if (rc == 0 && (v->features & VIO_NET_F_HOST_TSO4) != 0) {
        rc = vio_tx_big_setup(v);
    }
    if (rc != 0) {
        outb(v->io + VIO_REG_STATUS, VIO_STATUS_FAILED);
        return rc;
    }
    v->rx.post_len = big_rx ? VIO_BIG_LEN : VIO_RX_BUF_LEN;
    for (uint32_t i = 0; i < v->rx.nbuf; i++) {
        vio_post(&v->rx, (uint16_t)i, vio_slot_phys(&v->rx, (uint16_t)i), v->rx.post_len,
                 VIO_DESC_F_WRITE);
    }
    v->tx_nfree = 0;
    for (uint32_t i = v->tx.nbuf; i > 0; i--) {
        v->tx_free[v->tx_nfree++] = (uint16_t)(i - 1);
    }
    memset(v->tx_big_of, VIO_BIG_NONE, sizeof(v->tx_big_of));
    v->tx_wait = false;
    vio_set_intr(&v->tx, false); /* completions are reclaimed on the next send or interrupt */
    /* RX interrupts stay off until vio_arm: a line raised before the IOAPIC pin is programmed
     * (an edge the masked pin ignores) would stay high and never interrupt. */
    vio_set_intr(&v->rx, false);
    outb(v->io + VIO_REG_STATUS, VIO_STATUS_ACK | VIO_STATUS_DRIVER | VIO_STATUS_DRIVER_OK);
    if (inb(v->io + VIO_REG_STATUS) & VIO_STATUS_FAILED) {
        LOG_WARN(DRV, "%s: the device refused the set-up", v->nic.model);
        return -EIO;
    }
    outw(v->io + VIO_REG_QUEUE_NOTIFY, VIO_QUEUE_RX); /* buffers are there */
    return 0;
}

/* After vio_hw_start (and the IRQ routing): reads ISR once, which lowers a line that went up
 * while the pin was not yet routed, and queues the work, which turns RX interrupts on and
 * catches up with whatever arrived meanwhile. */
static void vio_arm(struct vio *v)
{
    uint64_t flags = irq_save();

    v->pending |= inb(v->io + VIO_REG_ISR);
    if (!v->scheduled && irq_defer(vio_work, v) == 0) {
        v->scheduled = true;
    }
    irq_restore(flags);
}

static void vio_setup_irq(struct vio *v, const struct pci_device *d)
{
    int rc;

    v->irq = d->irq_line;
    if (d->irq_pin == 0 || d->irq_line == 0 || d->irq_line == 0xff) {
        LOG_WARN(DRV, "%s: no interrupt line assigned; polling every %llu ms", v->nic.model,
                 (unsigned long long)(VIO_POLL_NS / 1000000));
        return;
    }
    /* PCI INTx (MSI-X stays off): level-triggered, active high behind the PIIX link routing. */
    rc = irq_route_gsi(d->irq_line, true, false, vio_isr, v, "virtio-net");
    if (rc != 0) {
        LOG_WARN(DRV, "%s: cannot route IRQ %u (%d); polling every %llu ms", v->nic.model,
                 d->irq_line, rc, (unsigned long long)(VIO_POLL_NS / 1000000));
        return;
    }
    v->have_irq = true;
    LOG_DEBUG(DRV, "%s: IRQ %u routed (level, active high)", v->nic.model, d->irq_line);
}

static void vio_free_queue(struct vio_queue *q)
{
    if (q->ring != NULL) {
        page_free(q->ring_phys, q->ring_pages);
        q->ring = NULL;
    }
    if (q->buf != NULL) {
        page_free(q->buf_phys, q->buf_pages);
        q->buf = NULL;
    }
}

/* After a failed vio_hw_start: the device reset, all its memory freed (the next start
 * allocates afresh, for the features it then takes). */
static void vio_free_all(struct vio *v)
{
    outb(v->io + VIO_REG_STATUS, 0);
    vio_free_queue(&v->rx);
    vio_free_queue(&v->tx);
    if (v->tx_big != NULL) {
        page_free(v->tx_big_phys, v->tx_big_pages);
        v->tx_big = NULL;
    }
}

/* One line at probe: what was offered and taken, and the buffers that follow from it. */
static void vio_say_features(const struct vio *v)
{
    uint32_t f = v->features;
    unsigned caps = v->nic.tx_offloads;

    LOG_INFO(DRV,
             "%s: features %#x of %#x offered:%s%s%s%s%s%s; rx %u x %u-byte buffers; "
             "tx offloads%s%s%s (%u big buffers)",
             v->nic.model, f, v->offered, (f & VIO_NET_F_MAC) ? " mac" : "",
             (f & VIO_NET_F_STATUS) ? " status" : "", (f & VIO_NET_F_CSUM) ? " csum" : "",
             (f & VIO_NET_F_GUEST_CSUM) ? " guest-csum" : "",
             (f & VIO_NET_F_GUEST_TSO4) ? " guest-tso4" : "",
             (f & VIO_NET_F_HOST_TSO4) ? " host-tso4" : "", v->rx.nbuf, v->rx.post_len,
             (caps & NETOFF_CAP_CSUM) ? " csum" : "", (caps & NETOFF_CAP_TSO4) ? " tso4" : "",
             caps == 0 ? " none" : "", v->tx_big != NULL ? VIO_TX_BIG_BUFS : 0u);
}

static int vio_attach(const struct pci_device *d, struct nic **out)
{
    const struct pci_bar *bar = &d->bars[0];
    struct vio *v;
    uint16_t cmd;
    int rc;

    if (bar->kind != PCI_BAR_IO || bar->size < VIO_IO_MIN || bar->addr == 0 ||
        bar->addr > 0x10000 - VIO_IO_MIN) {
        LOG_WARN(DRV, "virtio-net %02x:%02x.%x: BAR0 is not a usable I/O BAR (not transitional?)",
                 d->bus, d->dev, d->fn);
        return -EIO;
    }
    drv_pci_enable(d); /* bus master: the device reads and writes the rings */
    cmd = drv_pci_read16(d->bus, d->dev, d->fn, PCI_CMD_OFF);
    if (cmd & PCI_CMD_INTX_OFF) {
        drv_pci_write16(d->bus, d->dev, d->fn, PCI_CMD_OFF, (uint16_t)(cmd & ~PCI_CMD_INTX_OFF));
    }
    v = kzalloc(sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    v->io = (uint16_t)bar->addr;
    snprintf(v->nic.model, sizeof(v->nic.model), "virtio-net %02x:%02x.%x", d->bus, d->dev, d->fn);
    LOG_DEBUG(DRV, "%s: IO %#x, IRQ line %u, resetting", v->nic.model, v->io, d->irq_line);
    v->nic.ops = &g_vio_ops;
    v->nic.priv = v;
    v->want = VIO_NET_F_OFFLOADS;

    rc = vio_hw_start(v);
    if (rc == -ENOMEM && (v->features & (VIO_NET_F_GUEST_TSO4 | VIO_NET_F_HOST_TSO4)) != 0) {
        /* The super-frame buffers are what is big: without TSO it needs what it always did. */
        LOG_WARN(DRV, "%s: no memory for 64 KiB buffers: trying without TSO", v->nic.model);
        vio_free_all(v);
        v->want &= ~(VIO_NET_F_GUEST_TSO4 | VIO_NET_F_HOST_TSO4);
        rc = vio_hw_start(v);
    }
    if (rc != 0) {
        LOG_WARN(DRV, "%s: set-up failed (%d)", v->nic.model, rc);
        vio_free_all(v);
        kfree(v);
        return rc;
    }
    if (v->features & VIO_NET_F_CSUM) {
        v->nic.ops = &g_vio_ops_off;
        v->nic.tx_offloads = NETOFF_CAP_CSUM;
        if (v->features & VIO_NET_F_HOST_TSO4) {
            v->nic.tx_offloads |= NETOFF_CAP_TSO4;
        }
    }
    vio_say_features(v);
    if (v->features & VIO_NET_F_MAC) {
        for (unsigned i = 0; i < NIC_MAC_LEN; i++) {
            v->nic.mac[i] = inb((uint16_t)(v->io + VIO_REG_CONFIG + VIO_NET_CFG_MAC + i));
        }
    } else {
        /* A locally administered address from the PCI address; the device (promiscuous, see
         * vio_set_promisc) receives for it all the same. */
        uint8_t mac[NIC_MAC_LEN] = {0x02, 0x00, 0x00, d->bus, d->dev, d->fn};

        memcpy(v->nic.mac, mac, sizeof(mac));
        LOG_WARN(DRV, "%s: the device offers no MAC address; using a local one", v->nic.model);
    }
    if ((v->nic.mac[0] & 1) != 0 || (v->nic.mac[0] | v->nic.mac[1] | v->nic.mac[2] | v->nic.mac[3] |
                                     v->nic.mac[4] | v->nic.mac[5]) == 0) {
        LOG_WARN(DRV, "%s: MAC %02x:%02x:%02x:%02x:%02x:%02x is not a unicast address",
                 v->nic.model, v->nic.mac[0], v->nic.mac[1], v->nic.mac[2], v->nic.mac[3],
                 v->nic.mac[4], v->nic.mac[5]);
    }
    str_copy(v->nic.name, "virtio", sizeof(v->nic.name));
    /* The device never loses a frame to a full ring (QEMU leaves it in the TAP), so a peer may
     * send as many full-size frames as we have RX buffers (the stack caps the window anyway). */
    v->nic.rx_burst_frames = (uint16_t)v->rx.nbuf;
    v->nic.pci_bus = d->bus;
    v->nic.pci_dev = d->dev;
    v->nic.pci_fn = d->fn;
    v->nic.is_pci = true;
    v->link = vio_link_up(&v->nic);
    LOG_DEBUG(DRV, "%s: link %s", v->nic.model, v->link ? "up" : "down");

    vio_setup_irq(v, d);
    vio_arm(v);
    timer_start(&v->watchdog, v->have_irq ? VIO_WATCHDOG_NS : VIO_POLL_NS,
                v->have_irq ? VIO_WATCHDOG_NS : VIO_POLL_NS, vio_watchdog, v, "virtio-net");
    v->poll.fn = vio_poll;
    v->poll.ctx = v;
    v->poll.name = "virtio-net";
    mainloop_add_busy_poll(&v->poll);
    *out = &v->nic;
    return 0;
}

static int probe(const char *sel, struct nic **out)
{
    struct nic_sel s;
    int first_err = -ENODEV;

    /* nic=virtio (or nic=virtio-net) or a PCI address. */
    nic_sel_parse(sel, "virtio", &s);
    if (s.kind == NIC_SEL_OTHER) {
        nic_sel_parse(sel, "virtio-net", &s);
    }
    if (s.kind != NIC_SEL_ANY && s.kind != NIC_SEL_PCI) {
        return -ENODEV;
    }
    for (size_t i = 0; i < PCI_MAX_DEVICES; i++) {
        const struct pci_device *d = drv_pci_find(VIO_VENDOR, VIO_DEVICE_NET, i);
        int rc;

        if (d == NULL) {
            break;
        }
        if (!nic_sel_match_pci(&s, d->bus, d->dev, d->fn)) {
            continue;
        }
        rc = vio_attach(d, out);
        if (rc == 0) {
            return 0;
        }
        if (first_err == -ENODEV) {
            first_err = rc;
        }
    }
    return first_err;
}

const struct nic_driver drv_virtio_net_driver = {"virtio", probe};
