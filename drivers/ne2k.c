/* NE2000 driver (DP8390 core): the PCI clones (QEMU's ne2k_pci is a Realtek RTL8029) and the
 * ISA card at 0x300. Reset, station PROM, the page ring with remote-DMA receive, one transmit
 * area, overflow recovery, counters and the promiscuous / all-multicast filters.
 *
 * Locking: the DP8390 pages its registers and has one remote-DMA engine, so every register
 * sequence in the main loop runs with interrupts off and leaves the card on page 0 with no
 * remote DMA running. The interrupt handler relies on that: it only reads and acknowledges
 * ISR and masks IMR (both page 0), then defers ne_work(). The work drains a bounded number of
 * frames, re-queues itself while the ring is not empty and unmasks the card when done. */
#include "nic.h"
#include "nic_ring.h"
#include "ioapic.h"
#include "ne2k.h"
#include "pci.h"
#include "../kernel/cpu.h"
#include "../kernel/heap.h"
#include "../kernel/irq.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/timer.h"

#define NE_RX_BUDGET     16   /* frames per pass of the main loop */
#define NE_RX_DRAIN_ALL  64   /* more than the 58-page ring can hold */
#define NE_RESET_POLLS   2000 /* x 10 us */
#define NE_RDC_POLLS     10000
#define NE_TX_WAIT_POLLS 1000 /* x 10 us: a 1514-byte frame takes 1.2 ms at 10 Mbit/s */
#define NE_STOP_DELAY_US 2000 /* the data sheet asks for at least 1.6 ms after STOP */
#define NE_TX_TIMEOUT_NS 1000000000ULL
#define NE_WATCHDOG_NS   1000000000ULL
#define NE_POLL_NS       10000000ULL
#define PCI_CMD_OFF      0x04
#define PCI_CMD_INTX_OFF 0x0400

struct ne2k {
    struct nic nic;
    uint16_t io;
    uint8_t irq;
    bool have_irq;
    bool dead;
    bool dead_said;
    struct ne_ring ring;
    uint8_t next_pkt; /* page of the next packet to read */
    bool promisc;
    bool allmulti;
    bool recovering; /* in the overflow sequence: the NIC is in loopback, no transmits */
    bool tx_busy;    /* a frame was handed to the card and not yet accounted */
    uint16_t tx_len;
    uint64_t tx_start_ns;
    volatile uint8_t pending;
    volatile bool scheduled;
    struct timer watchdog;
    uint8_t frame[NE_RX_LEN_MAX];
};

struct ne_pci_id {
    uint16_t vendor;
    uint16_t device;
    const char *name;
};

/* NE2000-compatible PCI chips (DP8390 core behind the classic NE2000 IO layout). */
static const struct ne_pci_id g_ne_pci_ids[] = {
    {0x10ec, 0x8029, "RTL8029"},  {0x1050, 0x0940, "W89C940"}, {0x1050, 0x5a5a, "W89C940F"},
    {0x11f6, 0x1401, "RL2000"},   {0x8e2e, 0x3000, "ET32P2"},  {0x4a14, 0x5000, "NV5000SC"},
    {0x1106, 0x0926, "VT86C926"}, {0x10bd, 0x0e34, "NE34"},    {0x12c3, 0x0058, "HT80232"},
    {0x12c3, 0x5598, "HT80229"},
};

static void ne_work(void *arg);

static uint8_t ne_in(const struct ne2k *n, uint8_t reg)
{
    return inb((uint16_t)(n->io + reg));
}

static void ne_out(const struct ne2k *n, uint8_t reg, uint8_t v)
{
    outb((uint16_t)(n->io + reg), v);
}

/* Card memory -> buf, word-wide. Interrupts off, card on page 0. */
static void ne_dma_read(struct ne2k *n, uint16_t addr, uint8_t *buf, size_t len)
{
    size_t words = (len + 1) / 2;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_STA | NE_CR_PAGE0);
    ne_out(n, NE_P0_RBCR0, (uint8_t)((words * 2) & 0xff));
    ne_out(n, NE_P0_RBCR1, (uint8_t)((words * 2) >> 8));
    ne_out(n, NE_P0_RSAR0, (uint8_t)(addr & 0xff));
    ne_out(n, NE_P0_RSAR1, (uint8_t)(addr >> 8));
    ne_out(n, NE_CR, NE_CR_RREAD | NE_CR_STA);
    for (size_t i = 0; i < words; i++) {
        uint16_t w = inw((uint16_t)(n->io + NE_DATA));

        buf[2 * i] = (uint8_t)w;
        if (2 * i + 1 < len) {
            buf[2 * i + 1] = (uint8_t)(w >> 8);
        }
    }
    ne_out(n, NE_P0_ISR, NE_ISR_RDC);
}

/* frame (zero-padded to `wire` bytes) -> the transmit area. Interrupts off, page 0.
 * 0 or -ETIMEDOUT when the card never reports the remote DMA complete. */
static int ne_dma_write_tx(struct ne2k *n, const uint8_t *frame, size_t len, size_t wire)
{
    size_t even = (wire + 1) & ~(size_t)1;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_STA | NE_CR_PAGE0);
    ne_out(n, NE_P0_ISR, NE_ISR_RDC);
    ne_out(n, NE_P0_RBCR0, (uint8_t)(even & 0xff));
    ne_out(n, NE_P0_RBCR1, (uint8_t)(even >> 8));
    ne_out(n, NE_P0_RSAR0, 0);
    ne_out(n, NE_P0_RSAR1, NE_TX_PAGE);
    ne_out(n, NE_CR, NE_CR_RWRITE | NE_CR_STA);
    for (size_t i = 0; i < even; i += 2) {
        uint16_t lo = i < len ? frame[i] : 0;
        uint16_t hi = i + 1 < len ? frame[i + 1] : 0;

        outw((uint16_t)(n->io + NE_DATA), (uint16_t)(lo | (hi << 8)));
    }
    for (int i = 0; i < NE_RDC_POLLS; i++) {
        if (ne_in(n, NE_P0_ISR) & NE_ISR_RDC) {
            ne_out(n, NE_P0_ISR, NE_ISR_RDC);
            return 0;
        }
    }
    return -ETIMEDOUT;
}

static uint8_t ne_rcr_value(const struct ne2k *n)
{
    uint8_t rcr = NE_RCR_AB;

    if (n->allmulti) {
        rcr |= NE_RCR_AM;
    }
    if (n->promisc) {
        rcr |= NE_RCR_PRO;
    }
    return rcr;
}

/* Pulses the reset port and waits for ISR.RST. 0, or -ENODEV if the card never answers. */
static int ne_reset_pulse(uint16_t io)
{
    uint8_t v = inb((uint16_t)(io + NE_RESET));

    outb((uint16_t)(io + NE_RESET), v);
    for (int i = 0; i < NE_RESET_POLLS; i++) {
        if (inb((uint16_t)(io + NE_P0_ISR)) & NE_ISR_RST) {
            outb((uint16_t)(io + NE_P0_ISR), 0xff);
            return 0;
        }
        timer_udelay(10);
    }
    return -ENODEV;
}

/* The DP8390 initialisation sequence. Interrupts off. Leaves IMR at 0. */
static void ne_hw_init(struct ne2k *n)
{
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    ne_out(n, NE_P0_DCR, NE_DCR_WORD);
    ne_out(n, NE_P0_RBCR0, 0);
    ne_out(n, NE_P0_RBCR1, 0);
    ne_out(n, NE_P0_RCR, NE_RCR_MON);
    ne_out(n, NE_P0_TCR, NE_TCR_LOOP1);
    ne_out(n, NE_P0_TPSR, NE_TX_PAGE);
    ne_out(n, NE_P0_PSTART, n->ring.start);
    ne_out(n, NE_P0_PSTOP, n->ring.stop);
    n->next_pkt = n->ring.start;
    ne_out(n, NE_P0_BNRY, ne_ring_bnry(&n->ring, n->next_pkt));
    ne_out(n, NE_P0_ISR, 0xff);
    ne_out(n, NE_P0_IMR, 0);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STP);
    for (unsigned i = 0; i < NIC_MAC_LEN; i++) {
        ne_out(n, (uint8_t)(NE_P1_PAR0 + i), n->nic.mac[i]);
    }
    for (unsigned i = 0; i < 8; i++) {
        ne_out(n, (uint8_t)(NE_P1_MAR0 + i), n->allmulti ? 0xff : 0x00);
    }
    ne_out(n, NE_P1_CURR, n->ring.start);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    ne_out(n, NE_P0_TCR, NE_TCR_NORMAL);
    ne_out(n, NE_P0_RCR, ne_rcr_value(n));
    n->tx_busy = false;
}

static void ne_unmask(struct ne2k *n)
{
    if (n->have_irq && !n->dead) {
        ne_out(n, NE_P0_IMR, NE_INT_MASK);
    }
}

/* Full reset (transmit timeout, remote DMA that never completes). Frames in flight are lost. */
static void ne_reinit(struct ne2k *n, const char *why)
{
    uint64_t flags;
    int rc;

    LOG_WARN(DRV, "%s: resetting the card (%s)", n->nic.model, why);
    if (n->tx_busy) {
        n->nic.stats.tx_dropped++;
    }
    flags = irq_save();
    rc = ne_reset_pulse(n->io);
    if (rc == 0) {
        ne_hw_init(n);
    }
    irq_restore(flags);
    if (rc != 0) {
        LOG_ERROR(DRV, "%s: reset failed (%d): card disabled", n->nic.model, rc);
        n->dead = true;
        return;
    }
    LOG_DEBUG(DRV, "%s: card reset done", n->nic.model);
}

/* Stops the NIC and rebuilds the receive ring empty (a header that cannot be trusted means
 * nothing after it can be either). */
static void ne_ring_reset(struct ne2k *n, const char *why)
{
    uint64_t flags = irq_save();
    bool was_tx = (ne_in(n, NE_CR) & NE_CR_TXP) != 0;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    timer_udelay(NE_STOP_DELAY_US);
    ne_out(n, NE_P0_RBCR0, 0);
    ne_out(n, NE_P0_RBCR1, 0);
    ne_out(n, NE_P0_TCR, NE_TCR_LOOP1);
    ne_out(n, NE_P0_PSTART, n->ring.start);
    ne_out(n, NE_P0_PSTOP, n->ring.stop);
    n->next_pkt = n->ring.start;
    ne_out(n, NE_P0_BNRY, ne_ring_bnry(&n->ring, n->next_pkt));
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STP);
    ne_out(n, NE_P1_CURR, n->ring.start);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    ne_out(n, NE_P0_ISR, NE_ISR_OVW | NE_ISR_PRX | NE_ISR_RXE);
    ne_out(n, NE_P0_TCR, NE_TCR_NORMAL);
    irq_restore(flags);
    if (was_tx && n->tx_busy) {
        /* STOP aborted it; the frame is lost rather than sent twice. */
        n->tx_busy = false;
        n->nic.stats.tx_dropped++;
    }
    LOG_DEBUG(DRV, "%s: receive ring reset (%s), pages %#x..%#x", n->nic.model, why, n->ring.start,
              n->ring.stop - 1);
}

static void ne_read_tallies(struct ne2k *n)
{
    /* Clear-on-read 8-bit counters; the CNT interrupt fires before they saturate. */
    uint8_t fae = ne_in(n, NE_P0_CNTR0);
    uint8_t crc = ne_in(n, NE_P0_CNTR1);
    uint8_t missed = ne_in(n, NE_P0_CNTR2);

    if ((fae | crc | missed) == 0) {
        return;
    }
    n->nic.stats.rx_errors += (uint64_t)fae + crc;
    n->nic.stats.rx_crc_errors += crc;
    n->nic.stats.rx_dropped += missed;
    LOG_DEBUG(DRV, "%s: counters: %u alignment errors, %u CRC errors, %u missed", n->nic.model, fae,
              crc, missed);
}

/* Accounts the frame in the transmit area once the card is done with it. */
static void ne_tx_complete(struct ne2k *n)
{
    uint8_t tsr;

    if (!n->tx_busy || (ne_in(n, NE_CR) & NE_CR_TXP) != 0) {
        return;
    }
    tsr = ne_in(n, NE_P0_TSR);
    n->tx_busy = false;
    if (tsr & NE_TSR_PTX) {
        n->nic.stats.tx_packets++;
        n->nic.stats.tx_bytes += n->tx_len;
    } else {
        n->nic.stats.tx_errors++;
        LOG_DEBUG(DRV, "%s: transmit failed, TSR %#x", n->nic.model, tsr);
    }
}

static void ne_count_skip(struct ne2k *n, const struct ne_rx_entry *e)
{
    n->nic.stats.rx_errors++;
    if (e->status & NE_RSR_CRC) {
        n->nic.stats.rx_crc_errors++;
    }
    if (e->status & NE_RSR_FO) {
        n->nic.stats.rx_fifo_overruns++;
    }
    LOG_DEBUG(DRV, "%s: bad frame in ring: status %#x, %u bytes", n->nic.model, e->status,
              e->count);
}

/* Reads up to `budget` packets from the ring. Returns true if packets remain. */
static bool ne_rx_drain(struct ne2k *n, int budget)
{
    for (int i = 0; i < budget; i++) {
        struct ne_rx_entry e;
        enum nic_rx_verdict v;
        uint8_t hdr[NE_RX_HDR_LEN];
        uint8_t curr;
        uint8_t page = n->next_pkt;
        size_t len = 0;
        uint64_t flags = irq_save();

        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STA);
        curr = ne_in(n, NE_P1_CURR);
        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
        if (curr == page) {
            irq_restore(flags);
            return false;
        }
        if (!ne_ring_valid(&n->ring, curr)) {
            irq_restore(flags);
            LOG_WARN(DRV, "%s: CURR %#x outside the ring", n->nic.model, curr);
            n->nic.stats.rx_errors++;
            ne_ring_reset(n, "bad CURR");
            return false;
        }
        ne_dma_read(n, (uint16_t)(page * NE_PAGE_SIZE), hdr, sizeof(hdr));
        v = ne_rx_check(&n->ring, page, hdr, &e);
        if (v == NIC_RX_CORRUPT) {
            irq_restore(flags);
            LOG_WARN(DRV, "%s: bad ring header %02x %02x %02x %02x at page %#x (CURR %#x)",
                     n->nic.model, hdr[0], hdr[1], hdr[2], hdr[3], page, curr);
            n->nic.stats.rx_errors++;
            ne_ring_reset(n, "corrupt packet header");
            return false;
        }
        if (v == NIC_RX_OK) {
            uint32_t addr = (uint32_t)page * NE_PAGE_SIZE + NE_RX_HDR_LEN;
            size_t first;

            len = e.frame_len; /* <= NE_RX_LEN_MAX, checked by ne_rx_check */
            first = ne_ring_first_chunk(&n->ring, addr, len);
            ne_dma_read(n, (uint16_t)addr, n->frame, first);
            if (len > first) {
                ne_dma_read(n, (uint16_t)(n->ring.start * NE_PAGE_SIZE), n->frame + first,
                            len - first);
            }
        }
        n->next_pkt = e.next;
        ne_out(n, NE_P0_BNRY, ne_ring_bnry(&n->ring, e.next));
        irq_restore(flags);

        if (v == NIC_RX_SKIP) {
            ne_count_skip(n, &e);
            continue;
        }
        if (len > NIC_FRAME_MAX) {
            len = NIC_FRAME_MAX; /* the 4 bytes past 1514 can only be a CRC the card kept */
        }
        LOG_TRACE(DRV, "%s: rx %zu bytes at page %#x, next %#x, status %#x, type %02x%02x",
                  n->nic.model, len, page, e.next, e.status, n->frame[12], n->frame[13]);
        nic_deliver(&n->nic, n->frame, len);
    }
    {
        uint64_t flags = irq_save();
        uint8_t curr;

        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STA);
        curr = ne_in(n, NE_P1_CURR);
        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
        irq_restore(flags);
        return curr != n->next_pkt;
    }
}

/* Receive ring overflow: the DP8390 data sheet's recovery sequence. `seen` holds ISR bits
 * already taken from the card, which tell whether a transmit finished. */
static void ne_overflow_recover(struct ne2k *n, uint8_t seen)
{
    uint64_t flags = irq_save();
    bool was_tx = (ne_in(n, NE_CR) & NE_CR_TXP) != 0;
    bool resend;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    irq_restore(flags);
    timer_udelay(NE_STOP_DELAY_US);
    flags = irq_save();
    ne_out(n, NE_P0_RBCR0, 0);
    ne_out(n, NE_P0_RBCR1, 0);
    resend = was_tx && ((ne_in(n, NE_P0_ISR) | n->pending | seen) & (NE_ISR_PTX | NE_ISR_TXE)) == 0;
    ne_out(n, NE_P0_TCR, NE_TCR_LOOP1);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    irq_restore(flags);

    /* The receiver may answer from the drain; in loopback that frame would never leave. */
    n->recovering = true;
    ne_rx_drain(n, NE_RX_DRAIN_ALL);
    n->recovering = false;

    flags = irq_save();
    ne_out(n, NE_P0_ISR, NE_ISR_OVW);
    ne_out(n, NE_P0_TCR, NE_TCR_NORMAL);
    if (resend) {
        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA | NE_CR_TXP);
    }
    irq_restore(flags);
    LOG_DEBUG(DRV, "%s: receive ring overflow recovered%s", n->nic.model,
              resend ? ", transmit restarted" : "");
}

static void ne_service(struct ne2k *n, uint8_t st)
{
    uint64_t flags;
    bool more;

    if (st != 0) {
        LOG_TRACE(DRV, "%s: service ISR %#x", n->nic.model, st);
    }
    if (st & (NE_ISR_PTX | NE_ISR_TXE)) {
        ne_tx_complete(n);
    }
    if (st & NE_ISR_RXE) {
        uint8_t rsr = ne_in(n, NE_P0_RSR);

        if (rsr & NE_RSR_FO) {
            n->nic.stats.rx_fifo_overruns++;
        }
        LOG_DEBUG(DRV, "%s: receive error, RSR %#x", n->nic.model, rsr);
    }
    if (st & (NE_ISR_CNT | NE_ISR_RXE)) {
        ne_read_tallies(n);
    }
    if (st & NE_ISR_OVW) {
        n->nic.stats.rx_fifo_overruns++;
        LOG_DEBUG(DRV, "%s: receive ring overflow", n->nic.model);
        ne_overflow_recover(n, st);
        more = false;
    } else {
        more = ne_rx_drain(n, NE_RX_BUDGET);
    }

    flags = irq_save();
    if (more && !n->scheduled && irq_defer(ne_work, n) == 0) {
        n->scheduled = true;
    }
    if (!n->scheduled) {
        ne_unmask(n);
    }
    irq_restore(flags);
}

static void ne_work(void *arg)
{
    struct ne2k *n = arg;
    uint64_t flags = irq_save();
    uint8_t st = n->pending;

    n->pending = 0;
    n->scheduled = false;
    irq_restore(flags);
    if (!n->dead) {
        ne_service(n, st);
    }
}

static void ne_isr(void *ctx)
{
    struct ne2k *n = ctx;
    uint8_t st = ne_in(n, NE_P0_ISR);

    if (st == 0xff && ne_in(n, NE_CR) == 0xff) {
        n->dead = true;
        drv_ioapic_mask(n->irq, true);
        return;
    }
    st &= NE_INT_MASK;
    if (st == 0) {
        return; /* not us (shared line) */
    }
    ne_out(n, NE_P0_IMR, 0);
    ne_out(n, NE_P0_ISR, st);
    n->pending |= st;
    n->nic.stats.interrupts++;
    if (!n->scheduled && irq_defer(ne_work, n) == 0) {
        n->scheduled = true;
    }
}

static void ne_watchdog(void *arg)
{
    struct ne2k *n = arg;
    uint64_t flags;
    uint8_t st;

    if (n->dead) {
        if (!n->dead_said) {
            n->dead_said = true;
            LOG_ERROR(DRV, "%s: card not responding; driver stopped", n->nic.model);
            timer_stop(&n->watchdog);
        }
        return;
    }
    ne_read_tallies(n);
    if (n->tx_busy && (ne_in(n, NE_CR) & NE_CR_TXP) != 0 &&
        now_ns() - n->tx_start_ns > NE_TX_TIMEOUT_NS) {
        ne_reinit(n, "transmit timeout");
        return;
    }
    flags = irq_save();
    if (n->scheduled) {
        irq_restore(flags);
        return;
    }
    st = ne_in(n, NE_P0_ISR) & NE_INT_MASK;
    if (st != 0) {
        ne_out(n, NE_P0_ISR, st);
    }
    st |= n->pending;
    n->pending = 0;
    irq_restore(flags);
    ne_service(n, st);
}

static int ne_send(struct nic *nic, const void *frame, size_t len)
{
    struct ne2k *n = nic->priv;
    size_t wire = len < NIC_FRAME_MIN ? NIC_FRAME_MIN : len;
    uint64_t flags;
    int rc;

    if (len > NIC_FRAME_MAX) {
        nic->stats.tx_dropped++;
        return -EMSGSIZE;
    }
    if (n->dead) {
        nic->stats.tx_dropped++;
        return -EIO;
    }
    if (n->recovering) {
        nic->stats.tx_dropped++;
        LOG_TRACE(DRV, "%s: overflow recovery in progress, %zu-byte frame dropped", nic->model,
                  len);
        return -EAGAIN;
    }
    /* One transmit area: wait (bounded) for the previous frame to leave. */
    for (int i = 0; i < NE_TX_WAIT_POLLS && (ne_in(n, NE_CR) & NE_CR_TXP) != 0; i++) {
        timer_udelay(10);
    }
    if (ne_in(n, NE_CR) & NE_CR_TXP) {
        nic->stats.tx_dropped++;
        LOG_DEBUG(DRV, "%s: transmitter still busy, %zu-byte frame dropped", nic->model, len);
        return -EAGAIN;
    }
    ne_tx_complete(n);

    flags = irq_save();
    rc = ne_dma_write_tx(n, frame, len, wire);
    if (rc == 0) {
        ne_out(n, NE_P0_TPSR, NE_TX_PAGE);
        ne_out(n, NE_P0_TBCR0, (uint8_t)(wire & 0xff));
        ne_out(n, NE_P0_TBCR1, (uint8_t)(wire >> 8));
        ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA | NE_CR_TXP);
    }
    irq_restore(flags);
    if (rc != 0) {
        nic->stats.tx_errors++;
        ne_reinit(n, "remote DMA write did not complete");
        return -EIO;
    }
    n->tx_busy = true;
    n->tx_len = (uint16_t)wire;
    n->tx_start_ns = now_ns();
    LOG_TRACE(DRV, "%s: tx %zu bytes (%zu on the wire)", nic->model, len, wire);
    return 0;
}

static int ne_set_promisc(struct nic *nic, bool on)
{
    struct ne2k *n = nic->priv;
    uint64_t flags = irq_save();
    uint8_t rcr;

    n->promisc = on;
    rcr = ne_rcr_value(n);
    ne_out(n, NE_P0_RCR, rcr);
    irq_restore(flags);
    LOG_DEBUG(DRV, "%s: promiscuous %s (RCR %#x, PRO %s)", nic->model, on ? "on" : "off", rcr,
              (rcr & NE_RCR_PRO) ? "set" : "clear");
    return 0;
}

static int ne_set_allmulti(struct nic *nic, bool on)
{
    struct ne2k *n = nic->priv;
    uint64_t flags = irq_save();
    uint8_t rcr;
    uint8_t mar0;

    n->allmulti = on;
    rcr = ne_rcr_value(n);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STA);
    for (unsigned i = 0; i < 8; i++) {
        ne_out(n, (uint8_t)(NE_P1_MAR0 + i), on ? 0xff : 0x00);
    }
    mar0 = ne_in(n, NE_P1_MAR0);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    ne_out(n, NE_P0_RCR, rcr);
    irq_restore(flags);
    LOG_DEBUG(DRV, "%s: all-multicast %s (RCR %#x, MAR0 %#x)", nic->model, on ? "on" : "off", rcr,
              mar0);
    return 0;
}

static bool ne_link_up(struct nic *nic)
{
    (void)nic;
    return true; /* the DP8390 cannot tell */
}

static const struct nic_ops g_ne_ops = {
    .send = ne_send,
    .set_promisc = ne_set_promisc,
    .set_allmulti = ne_set_allmulti,
    .link_up = ne_link_up,
};

/* Checks that an 8390 answers at `io`: register paging must work and CNTR0 must clear on
 * read. Restores what it touched. True if it looks like one. */
static bool ne_looks_like_8390(uint16_t io)
{
    uint8_t cr = inb((uint16_t)(io + NE_CR));
    uint8_t mar5;
    uint8_t back;
    bool ok;

    if (cr == 0xff) {
        return false; /* nothing decodes the port */
    }
    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STP);
    mar5 = inb((uint16_t)(io + NE_P1_MAR5));
    outb((uint16_t)(io + NE_P1_MAR5), 0xff);
    back = inb((uint16_t)(io + NE_P1_MAR5));
    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    (void)inb((uint16_t)(io + NE_P0_CNTR0));
    ok = back == 0xff && inb((uint16_t)(io + NE_P0_CNTR0)) == 0;
    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STP);
    outb((uint16_t)(io + NE_P1_MAR5), mar5);
    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    return ok;
}

/* Reads the station PROM byte-wide. A 16-bit NE2000 shows each byte twice and 'W' 'W' in
 * bytes 14 and 15. Fills mac; -ENODEV if the pattern is not there. */
static int ne_read_prom(uint16_t io, uint8_t mac[NIC_MAC_LEN])
{
    uint8_t prom[NE_PROM_LEN];

    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    outb((uint16_t)(io + NE_P0_DCR), NE_DCR_BYTE);
    outb((uint16_t)(io + NE_P0_RBCR0), 0);
    outb((uint16_t)(io + NE_P0_RBCR1), 0);
    outb((uint16_t)(io + NE_P0_IMR), 0);
    outb((uint16_t)(io + NE_P0_ISR), 0xff);
    outb((uint16_t)(io + NE_P0_RCR), NE_RCR_MON);
    outb((uint16_t)(io + NE_P0_TCR), NE_TCR_LOOP1);
    outb((uint16_t)(io + NE_P0_RBCR0), NE_PROM_LEN);
    outb((uint16_t)(io + NE_P0_RBCR1), 0);
    outb((uint16_t)(io + NE_P0_RSAR0), 0);
    outb((uint16_t)(io + NE_P0_RSAR1), 0);
    outb((uint16_t)(io + NE_CR), NE_CR_RREAD | NE_CR_STA);
    for (unsigned i = 0; i < NE_PROM_LEN; i++) {
        prom[i] = inb((uint16_t)(io + NE_DATA));
    }
    outb((uint16_t)(io + NE_CR), NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    outb((uint16_t)(io + NE_P0_ISR), NE_ISR_RDC);
    for (unsigned i = 0; i < NE_PROM_LEN; i += 2) {
        if (prom[i] != prom[i + 1]) {
            LOG_DEBUG(DRV,
                      "ne2k %#x: PROM bytes not doubled at %u (%#x %#x): not a 16-bit "
                      "NE2000",
                      io, i, prom[i], prom[i + 1]);
            return -ENODEV;
        }
    }
    if (prom[28] != 0x57 || prom[30] != 0x57) {
        LOG_DEBUG(DRV, "ne2k %#x: PROM signature %#x %#x, want 0x57 0x57", io, prom[28], prom[30]);
        return -ENODEV;
    }
    for (unsigned i = 0; i < NIC_MAC_LEN; i++) {
        mac[i] = prom[2 * i];
    }
    if ((mac[0] & 1) != 0 || (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0) {
        LOG_DEBUG(DRV, "ne2k %#x: PROM MAC is not a unicast address", io);
        return -ENODEV;
    }
    return 0;
}

static int ne_attach(uint16_t io, int irq, const struct pci_device *d, struct nic **out)
{
    struct ne2k *n;
    uint8_t mac[NIC_MAC_LEN];
    uint64_t flags;
    int rc;

    if (!ne_looks_like_8390(io)) {
        LOG_DEBUG(DRV, "ne2k: no DP8390 at %#x", io);
        return -ENODEV;
    }
    rc = ne_reset_pulse(io);
    if (rc != 0) {
        LOG_DEBUG(DRV, "ne2k: no reset acknowledge at %#x", io);
        return -ENODEV;
    }
    rc = ne_read_prom(io, mac);
    if (rc != 0) {
        return rc;
    }
    n = kzalloc(sizeof(*n));
    if (n == NULL) {
        return -ENOMEM;
    }
    n->io = io;
    n->ring.start = NE_RX_START;
    n->ring.stop = NE_RX_STOP;
    memcpy(n->nic.mac, mac, NIC_MAC_LEN);
    str_copy(n->nic.name, "ne2k", sizeof(n->nic.name));
    n->nic.ops = &g_ne_ops;
    n->nic.priv = n;
    if (d != NULL) {
        n->nic.is_pci = true;
        n->nic.pci_bus = d->bus;
        n->nic.pci_dev = d->dev;
        n->nic.pci_fn = d->fn;
        snprintf(n->nic.model, sizeof(n->nic.model), "NE2000 PCI %02x:%02x.%x", d->bus, d->dev,
                 d->fn);
    } else {
        snprintf(n->nic.model, sizeof(n->nic.model), "NE2000 ISA %#x", io);
    }
    flags = irq_save();
    ne_hw_init(n);
    irq_restore(flags);
    LOG_DEBUG(DRV, "%s: IO %#x, tx pages %#x..%#x, rx ring pages %#x..%#x, RCR %#x", n->nic.model,
              io, NE_TX_PAGE, NE_TX_PAGE + NE_TX_PAGES - 1, n->ring.start, n->ring.stop - 1,
              ne_rcr_value(n));

    if (irq > 0) {
        n->irq = (uint8_t)irq;
        /* PCI INTx and QEMU's ISA IRQ 9 are both level-triggered, active high. */
        rc = irq_route_gsi((unsigned)irq, true, false, ne_isr, n, "ne2k");
        if (rc == 0) {
            n->have_irq = true;
            LOG_DEBUG(DRV, "%s: IRQ %d routed (level, active high)", n->nic.model, irq);
        } else {
            LOG_WARN(DRV, "%s: cannot route IRQ %d (%d); polling every %llu ms", n->nic.model, irq,
                     rc, (unsigned long long)(NE_POLL_NS / 1000000));
        }
    } else {
        LOG_WARN(DRV, "%s: no interrupt line; polling every %llu ms", n->nic.model,
                 (unsigned long long)(NE_POLL_NS / 1000000));
    }
    ne_unmask(n);
    timer_start(&n->watchdog, n->have_irq ? NE_WATCHDOG_NS : NE_POLL_NS,
                n->have_irq ? NE_WATCHDOG_NS : NE_POLL_NS, ne_watchdog, n, "ne2k");
    *out = &n->nic;
    return 0;
}

static int ne_attach_pci(const struct pci_device *d, const char *chip, struct nic **out)
{
    const struct pci_bar *bar = NULL;
    uint16_t cmd;
    int irq = -1;

    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bars[i].kind == PCI_BAR_IO && d->bars[i].size >= NE_IO_SIZE) {
            bar = &d->bars[i];
            break;
        }
    }
    if (bar == NULL || bar->addr == 0 || bar->addr > 0xffe0) {
        LOG_WARN(DRV, "ne2k %s %02x:%02x.%x: no usable IO BAR", chip, d->bus, d->dev, d->fn);
        return -EIO;
    }
    drv_pci_enable(d);
    cmd = drv_pci_read16(d->bus, d->dev, d->fn, PCI_CMD_OFF);
    if (cmd & PCI_CMD_INTX_OFF) {
        drv_pci_write16(d->bus, d->dev, d->fn, PCI_CMD_OFF, (uint16_t)(cmd & ~PCI_CMD_INTX_OFF));
    }
    if (d->irq_pin != 0 && d->irq_line != 0 && d->irq_line != 0xff) {
        irq = d->irq_line;
    }
    LOG_DEBUG(DRV, "ne2k %s %02x:%02x.%x: IO %#llx, IRQ line %u", chip, d->bus, d->dev, d->fn,
              (unsigned long long)bar->addr, d->irq_line);
    return ne_attach((uint16_t)bar->addr, irq, d, out);
}

static int probe_pci(const struct nic_sel *s, struct nic **out)
{
    int first_err = -ENODEV;

    for (size_t k = 0; k < ARRAY_SIZE(g_ne_pci_ids); k++) {
        for (size_t i = 0; i < PCI_MAX_DEVICES; i++) {
            const struct pci_device *d =
                drv_pci_find(g_ne_pci_ids[k].vendor, g_ne_pci_ids[k].device, i);
            int rc;

            if (d == NULL) {
                break;
            }
            if (!nic_sel_match_pci(s, d->bus, d->dev, d->fn)) {
                continue;
            }
            rc = ne_attach_pci(d, g_ne_pci_ids[k].name, out);
            if (rc == 0) {
                return 0;
            }
            if (first_err == -ENODEV) {
                first_err = rc;
            }
        }
    }
    return first_err;
}

static int probe(const char *sel, struct nic **out)
{
    struct nic_sel s;
    int rc = -ENODEV;

    nic_sel_parse(sel, "ne2k", &s);
    if (s.kind == NIC_SEL_ANY || s.kind == NIC_SEL_PCI) {
        rc = probe_pci(&s, out);
        if (rc == 0 || s.kind == NIC_SEL_PCI) {
            return rc;
        }
    }
    if (s.kind == NIC_SEL_ANY || s.kind == NIC_SEL_ISA) {
        int isa = ne_attach(NE_ISA_BASE, NE_ISA_IRQ, NULL, out);

        if (isa == 0 || rc == -ENODEV) {
            rc = isa;
        }
    }
    return rc;
}

const struct nic_driver drv_ne2k_driver = {"ne2k", probe};
