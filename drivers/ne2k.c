/* NE2000 driver (DP8390 core): the PCI clones (QEMU's ne2k_pci is a Realtek RTL8029) and the
 * ISA card at 0x300. Reset, station PROM, the page ring with remote-DMA receive, one transmit
 * area, overflow recovery, counters and the promiscuous / all-multicast filters.
 *
 * Locking: the DP8390 pages its registers and has one remote-DMA engine, so every register
 * sequence in the main loop runs with interrupts off and leaves the card on page 0 with no
 * remote DMA running; all remote DMA goes through ne_rdma_read() / ne_rdma_write(). The
 * interrupt handler relies on that: it only reads and acknowledges ISR and masks IMR (both
 * page 0), then defers ne_work(). The work drains a bounded number of frames, re-queues itself
 * while the ring is not empty and unmasks the card when done.
 *
 * The guard page: the page BNRY names always carries a 4-byte stamp the card never writes as
 * a header. A DP8390 never stores into the BNRY page, but QEMU's model takes CURR == BNRY for
 * an empty ring: once a frame fills the ring exactly, the next one is written at BNRY and on
 * over the frames we have not read yet. Every frame therefore counts only once the stamp is
 * found intact after its bytes were read; a broken stamp is a ring overrun, not a bad header,
 * and the driver resynchronises instead of trusting what it read. */
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

#define NE_RX_BUDGET     32   /* frames per pass of the main loop */
#define NE_RX_DRAIN_ALL  128  /* more than the largest ring (122 pages) can hold */
#define NE_RESET_POLLS   2000 /* x 10 us */
#define NE_RDC_POLLS     10000
#define NE_TX_WAIT_POLLS 1000 /* x 10 us: a 1514-byte frame takes 1.2 ms at 10 Mbit/s */
#define NE_STOP_DELAY_US 2000 /* the data sheet asks for at least 1.6 ms after STOP */
#define NE_TX_TIMEOUT_NS 1000000000ULL
#define NE_WATCHDOG_NS   1000000000ULL
#define NE_POLL_NS       10000000ULL
#define NE_SAY_NS        1000000000ULL /* at most one line per kind of trouble per second */
#define PCI_CMD_OFF      0x04
#define PCI_CMD_INTX_OFF 0x0400

/* Interrupts the driver takes. Transmit completion is not among them: the frame is accounted
 * when the next one is sent (QEMU finishes it before TXP reads back), by the watchdog otherwise. */
#define NE_IMR_RX (NE_ISR_PRX | NE_ISR_RXE | NE_ISR_OVW | NE_ISR_CNT)

/* A card with 32 KiB of buffer (QEMU's, some clones) has pages 0x40..0xbf; a classic NE2000
 * has 16 KiB (0x40..0x7f). ne_probe_memory() tells them apart. */
#define NE_STOP_32K  0xc0
#define NE_GUARD_LEN 4u
/* Receive buffer: the largest frame plus what rounding to a 32-bit transfer can add. */
#define NE_FRAME_BUF (NE_RX_LEN_MAX + 4u)

/* Status 0 (no PRX) and a next page no ring has: never a header the card writes. */
static const uint8_t g_ne_guard[NE_GUARD_LEN] = {0x00, 0xee, 0xa5, 0x5a};

/* Rate-limited logging of one kind of trouble: the first occurrence is logged, then at most
 * one summary a second (from the event or the watchdog). */
struct ne_say {
    uint64_t said_ns;
    uint32_t quiet; /* occurrences since the last line */
    bool said;
    uint8_t hdr[NE_RX_HDR_LEN];
    uint8_t page;
    uint32_t pages; /* overruns: ring pages of unread frames lost since the last line */
};

struct ne2k {
    struct nic nic;
    uint16_t io;
    uint8_t irq;
    bool have_irq;
    bool dead;
    bool dead_said;
    bool io32; /* the data port moves 32 bits per access (tested at attach) */
    struct ne_ring ring;
    uint8_t next_pkt; /* page of the next packet to read */
    uint8_t bnry;     /* what BNRY holds; that page carries the guard stamp */
    bool promisc;
    bool allmulti;
    bool recovering; /* in the overflow sequence: the NIC is in loopback, no transmits */
    bool tx_busy;    /* a frame was handed to the card and not yet accounted */
    uint16_t tx_len;
    uint64_t tx_start_ns;
    volatile uint8_t pending;
    volatile bool scheduled;
    struct timer watchdog;
    struct ne_say say_corrupt; /* headers that cannot be trusted: ring reset */
    struct ne_say say_overrun; /* the card wrote over unread frames: resynchronised */
    uint8_t frame[NE_FRAME_BUF];
};

struct ne_pci_id {
    uint16_t vendor;
    uint16_t device;
    const char *name;
    bool io32; /* may move 32 bits per data-port access (still tested before use) */
};

/* NE2000-compatible PCI chips (DP8390 core behind the classic NE2000 IO layout). The VIA and
 * the Holtek HT80232 take 16-bit accesses only. */
static const struct ne_pci_id g_ne_pci_ids[] = {
    {0x10ec, 0x8029, "RTL8029", true},   {0x1050, 0x0940, "W89C940", true},
    {0x1050, 0x5a5a, "W89C940F", true},  {0x11f6, 0x1401, "RL2000", true},
    {0x8e2e, 0x3000, "ET32P2", true},    {0x4a14, 0x5000, "NV5000SC", true},
    {0x1106, 0x0926, "VT86C926", false}, {0x10bd, 0x0e34, "NE34", true},
    {0x12c3, 0x0058, "HT80232", false},  {0x12c3, 0x5598, "HT80229", true},
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

static void ne_insw(uint16_t port, void *buf, size_t count)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static void ne_insl(uint16_t port, void *buf, size_t count)
{
    __asm__ volatile("rep insl" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static void ne_outsw(uint16_t port, const void *buf, size_t count)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

static void ne_outsl(uint16_t port, const void *buf, size_t count)
{
    __asm__ volatile("rep outsl" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

/* Bytes one data-port access moves. */
static size_t ne_unit(const struct ne2k *n)
{
    return n->io32 ? 4 : 2;
}

/* `len` rounded up to whole data-port accesses: what a transfer of `len` bytes really moves. */
static size_t ne_xfer_len(const struct ne2k *n, size_t len)
{
    size_t unit = ne_unit(n);

    return (len + unit - 1) & ~(unit - 1);
}

/* Programs a remote DMA of `count` bytes at card address `addr` and starts it with `cmd`
 * (RREAD or RWRITE). Interrupts off; the card is left on page 0. */
static void ne_rdma_start(struct ne2k *n, uint16_t addr, size_t count, uint8_t cmd)
{
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    ne_out(n, NE_P0_ISR, NE_ISR_RDC);
    ne_out(n, NE_P0_RBCR0, (uint8_t)(count & 0xff));
    ne_out(n, NE_P0_RBCR1, (uint8_t)(count >> 8));
    ne_out(n, NE_P0_RSAR0, (uint8_t)(addr & 0xff));
    ne_out(n, NE_P0_RSAR1, (uint8_t)(addr >> 8));
    ne_out(n, NE_CR, (uint8_t)(cmd | NE_CR_PAGE0 | NE_CR_STA));
}

/* Card memory at `addr` -> buf. `buf` must hold ne_xfer_len(n, len) bytes: the transfer moves
 * whole accesses so that the remote DMA ends exactly with it. Interrupts off. */
static void ne_rdma_read(struct ne2k *n, uint16_t addr, void *buf, size_t len)
{
    size_t count = ne_xfer_len(n, len);

    if (count == 0) {
        return;
    }
    ne_rdma_start(n, addr, count, NE_CR_RREAD);
    if (n->io32) {
        ne_insl((uint16_t)(n->io + NE_DATA), buf, count / 4);
    } else {
        ne_insw((uint16_t)(n->io + NE_DATA), buf, count / 2);
    }
}

/* data (len bytes), then zeros up to `total` bytes -> card memory at `addr`, and waits for
 * the card to report the remote DMA complete. Interrupts off. 0, or -ETIMEDOUT (the remote DMA
 * is then aborted). */
static int ne_rdma_write(struct ne2k *n, uint16_t addr, const uint8_t *data, size_t len,
                         size_t total)
{
    uint16_t port = (uint16_t)(n->io + NE_DATA);
    size_t unit = ne_unit(n);
    size_t count = ne_xfer_len(n, total < len ? len : total);
    size_t whole = len / unit;
    size_t done = whole * unit;
    uint8_t last[4] = {0, 0, 0, 0};

    ne_rdma_start(n, addr, count, NE_CR_RWRITE);
    if (n->io32) {
        ne_outsl(port, data, whole);
    } else {
        ne_outsw(port, data, whole);
    }
    if (done < len) {
        /* The partial last access comes from a copy: never read past the caller's bytes. */
        memcpy(last, data + done, len - done);
    }
    for (; done < count; done += unit) {
        if (n->io32) {
            outl(port, (uint32_t)last[0] | (uint32_t)last[1] << 8 | (uint32_t)last[2] << 16 |
                           (uint32_t)last[3] << 24);
        } else {
            outw(port, (uint16_t)(last[0] | last[1] << 8));
        }
        memset(last, 0, sizeof(last));
    }
    for (int i = 0; i < NE_RDC_POLLS; i++) {
        if (ne_in(n, NE_P0_ISR) & NE_ISR_RDC) {
            ne_out(n, NE_P0_ISR, NE_ISR_RDC);
            return 0;
        }
    }
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    return -ETIMEDOUT;
}

/* CURR (a page 1 register). Interrupts off; back on page 0 after. */
static uint8_t ne_read_curr(struct ne2k *n)
{
    uint8_t curr;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STA);
    curr = ne_in(n, NE_P1_CURR);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    return curr;
}

static uint8_t ne_curr_now(struct ne2k *n)
{
    uint64_t flags = irq_save();
    uint8_t curr = ne_read_curr(n);

    irq_restore(flags);
    return curr;
}

static int ne_guard_write(struct ne2k *n, uint8_t page)
{
    return ne_rdma_write(n, (uint16_t)(page * NE_PAGE_SIZE), g_ne_guard, NE_GUARD_LEN,
                         NE_GUARD_LEN);
}

/* True if the stamp on `page` is still ours. Interrupts off. */
static bool ne_guard_intact(struct ne2k *n, uint8_t page)
{
    uint8_t b[NE_GUARD_LEN];

    ne_rdma_read(n, (uint16_t)(page * NE_PAGE_SIZE), b, sizeof(b));
    return memcmp(b, g_ne_guard, sizeof(b)) == 0;
}

/* Restarts reading at `start`: BNRY goes to the page before it, stamped first (that page is
 * ours until BNRY names it). Interrupts off. */
static int ne_rx_restart_at(struct ne2k *n, uint8_t start)
{
    uint8_t b = ne_ring_bnry(&n->ring, start);
    int rc = ne_guard_write(n, b);

    ne_out(n, NE_P0_BNRY, b);
    n->bnry = b;
    n->next_pkt = start;
    return rc;
}

static bool ne_say_due(struct ne_say *s, uint64_t now)
{
    s->quiet++;
    return !s->said || now - s->said_ns >= NE_SAY_NS;
}

static void ne_said(struct ne_say *s, uint64_t now)
{
    s->said = true;
    s->said_ns = now;
    s->quiet = 0;
}

static void ne_say_corrupt(struct ne2k *n, uint64_t now)
{
    const struct ne_say *s = &n->say_corrupt;

    if (s->quiet == 1) {
        LOG_WARN(DRV, "%s: bad ring header %02x %02x %02x %02x at page %#x: receive ring reset",
                 n->nic.model, s->hdr[0], s->hdr[1], s->hdr[2], s->hdr[3], s->page);
    } else {
        LOG_WARN(DRV,
                 "%s: %u bad ring headers in %llu ms, the last %02x %02x %02x %02x at page "
                 "%#x: receive ring reset each time",
                 n->nic.model, s->quiet, (unsigned long long)((now - s->said_ns) / 1000000),
                 s->hdr[0], s->hdr[1], s->hdr[2], s->hdr[3], s->page);
    }
    ne_said(&n->say_corrupt, now);
}

static void ne_say_overrun(struct ne2k *n, uint64_t now)
{
    const struct ne_say *s = &n->say_overrun;

    if (s->quiet == 1) {
        LOG_WARN(DRV,
                 "%s: receive ring overrun: the card wrote over %u pages of unread frames; "
                 "reading again from page %#x (more are summed up once a second)",
                 n->nic.model, s->pages, s->page);
    } else {
        LOG_WARN(
            DRV, "%s: %u receive ring overruns in %llu ms, %u ring pages of unread frames lost",
            n->nic.model, s->quiet, (unsigned long long)((now - s->said_ns) / 1000000), s->pages);
    }
    ne_said(&n->say_overrun, now);
    n->say_overrun.pages = 0;
}

/* The watchdog's share: summaries of what was held back. */
static void ne_say_pending(struct ne2k *n)
{
    uint64_t now = now_ns();

    if (n->say_corrupt.quiet > 0 && now - n->say_corrupt.said_ns >= NE_SAY_NS) {
        ne_say_corrupt(n, now);
    }
    if (n->say_overrun.quiet > 0 && now - n->say_overrun.said_ns >= NE_SAY_NS) {
        ne_say_overrun(n, now);
    }
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

/* The DP8390 initialisation sequence. Interrupts off. Leaves IMR at 0. 0, or -ETIMEDOUT when
 * the guard stamp cannot be written (remote DMA never completes). */
static int ne_hw_init(struct ne2k *n)
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
    n->bnry = ne_ring_bnry(&n->ring, n->next_pkt);
    ne_out(n, NE_P0_BNRY, n->bnry);
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
    n->tx_busy = false;
    /* Stamp the BNRY page before the receiver stores anything (it writes from PSTART). */
    if (ne_guard_write(n, n->bnry) != 0) {
        return -ETIMEDOUT;
    }
    ne_out(n, NE_P0_TCR, NE_TCR_NORMAL);
    ne_out(n, NE_P0_RCR, ne_rcr_value(n));
    return 0;
}

static void ne_unmask(struct ne2k *n)
{
    if (n->have_irq && !n->dead) {
        ne_out(n, NE_P0_IMR, NE_IMR_RX);
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
        rc = ne_hw_init(n);
    }
    if (rc == 0) {
        ne_unmask(n);
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
    int rc;

    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    timer_udelay(NE_STOP_DELAY_US);
    ne_out(n, NE_P0_RBCR0, 0);
    ne_out(n, NE_P0_RBCR1, 0);
    ne_out(n, NE_P0_TCR, NE_TCR_LOOP1);
    ne_out(n, NE_P0_PSTART, n->ring.start);
    ne_out(n, NE_P0_PSTOP, n->ring.stop);
    n->next_pkt = n->ring.start;
    n->bnry = ne_ring_bnry(&n->ring, n->next_pkt);
    ne_out(n, NE_P0_BNRY, n->bnry);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE1 | NE_CR_STP);
    ne_out(n, NE_P1_CURR, n->ring.start);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    rc = ne_guard_write(n, n->bnry);
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
    if (rc != 0) {
        ne_reinit(n, "remote DMA write did not complete");
    }
}

static void ne_read_tallies(struct ne2k *n)
{
    /* Clear-on-read 8-bit counters; the CNT interrupt fires before they saturate. */
    uint64_t flags = irq_save();
    uint8_t fae = ne_in(n, NE_P0_CNTR0);
    uint8_t crc = ne_in(n, NE_P0_CNTR1);
    uint8_t missed = ne_in(n, NE_P0_CNTR2);

    irq_restore(flags);
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
    uint64_t flags;
    uint8_t tsr;

    if (!n->tx_busy) {
        return;
    }
    flags = irq_save();
    if ((ne_in(n, NE_CR) & NE_CR_TXP) != 0) {
        irq_restore(flags);
        return;
    }
    tsr = ne_in(n, NE_P0_TSR);
    ne_out(n, NE_P0_ISR, NE_ISR_PTX | NE_ISR_TXE);
    irq_restore(flags);
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

/* True if the headers from page `from` chain, each one sound, to exactly page `to`: then the
 * packets between were written by the card in one run and can be read. Interrupts off. */
static bool ne_chain_reaches(struct ne2k *n, uint8_t from, uint8_t to)
{
    unsigned limit = (unsigned)(n->ring.stop - n->ring.start);
    uint8_t page = from;

    for (unsigned i = 0; i < limit && page != to; i++) {
        uint8_t hdr[NE_RX_HDR_LEN];
        struct ne_rx_entry e;

        ne_rdma_read(n, (uint16_t)(page * NE_PAGE_SIZE), hdr, sizeof(hdr));
        if (ne_rx_check(&n->ring, page, hdr, &e) == NIC_RX_CORRUPT ||
            ne_ring_distance(&n->ring, page, e.next) > ne_ring_distance(&n->ring, page, to)) {
            return false;
        }
        page = e.next;
    }
    return page == to;
}

/* The guard stamp was gone: the card wrote over frames we had not read. What was read since
 * the stamp was last seen intact is dropped. When the card runs over it writes its next
 * packet at the BNRY page, so reading goes on there if the packets from that page chain to
 * CURR; otherwise the ring is given up up to CURR. Interrupts off. */
static int ne_rx_overrun(struct ne2k *n)
{
    uint8_t curr = ne_read_curr(n);
    uint8_t from = n->bnry;
    uint8_t start = curr;

    n->nic.stats.rx_fifo_overruns++;
    if (!ne_ring_valid(&n->ring, curr)) {
        start = n->ring.start; /* never trust a CURR outside the ring */
    } else if (ne_ring_valid(&n->ring, from) && from != curr && ne_chain_reaches(n, from, curr)) {
        start = from;
    }
    LOG_DEBUG(DRV, "%s: overrun: next %#x, BNRY %#x, CURR %#x: reading on at %#x", n->nic.model,
              n->next_pkt, from, curr, start);
    /* Unread were the pages from next_pkt up to BNRY; whatever we start at, those before it
     * are gone. Frames cannot be counted: their headers are what was overwritten. */
    n->say_overrun.pages += ne_ring_distance(&n->ring, n->next_pkt, start);
    n->say_overrun.page = start;
    return ne_rx_restart_at(n, start);
}

enum ne_rx_outcome {
    NE_RX_FRAME,   /* n->frame holds a good frame of *len bytes */
    NE_RX_SKIPPED, /* a bad frame with a sound header: counted and passed over */
    NE_RX_OVERRUN, /* the card ran over unread frames; reading resynchronised */
    NE_RX_CORRUPT, /* a header that cannot be trusted with the guard intact: reset the ring */
    NE_RX_DMA_FAIL /* remote DMA never completed: reset the card */
};

/* Reads the packet at next_pkt, then proves it with the guard and hands the pages back to the
 * card: stamp the new BNRY page (still ours), check the old stamp, move BNRY. Any write of
 * the card over the frames read here crossed the old stamp first, so an intact stamp means
 * the bytes are good; a write that starts after the check crosses the new stamp before it
 * reaches unread frames. Interrupts off. */
static enum ne_rx_outcome ne_rx_one(struct ne2k *n, size_t *len, struct ne_rx_entry *e)
{
    uint8_t hdr[NE_RX_HDR_LEN];
    uint8_t saved[NE_GUARD_LEN];
    uint8_t page = n->next_pkt;
    enum nic_rx_verdict v;
    uint8_t nb;
    int rc;

    ne_rdma_read(n, (uint16_t)(page * NE_PAGE_SIZE), hdr, sizeof(hdr));
    v = ne_rx_check(&n->ring, page, hdr, e);
    if (v == NIC_RX_CORRUPT) {
        if (!ne_guard_intact(n, n->bnry)) {
            return ne_rx_overrun(n) == 0 ? NE_RX_OVERRUN : NE_RX_DMA_FAIL;
        }
        memcpy(n->say_corrupt.hdr, hdr, sizeof(hdr));
        n->say_corrupt.page = page;
        return NE_RX_CORRUPT;
    }
    *len = 0;
    if (v == NIC_RX_OK) {
        uint32_t addr = (uint32_t)page * NE_PAGE_SIZE + NE_RX_HDR_LEN;
        size_t first;

        *len = e->frame_len; /* <= NE_RX_LEN_MAX, checked by ne_rx_check */
        first = ne_ring_first_chunk(&n->ring, addr, *len);
        /* first is a multiple of 4 (the ring ends on a page), so the second piece lands right
         * after it and the rounding of either stays inside NE_FRAME_BUF. */
        ne_rdma_read(n, (uint16_t)addr, n->frame, first);
        if (*len > first) {
            ne_rdma_read(n, (uint16_t)(n->ring.start * NE_PAGE_SIZE), n->frame + first,
                         *len - first);
        }
    }
    nb = ne_ring_bnry(&n->ring, e->next);
    ne_rdma_read(n, (uint16_t)(nb * NE_PAGE_SIZE), saved, sizeof(saved));
    rc = ne_guard_write(n, nb);
    if (rc != 0) {
        return NE_RX_DMA_FAIL;
    }
    if (!ne_guard_intact(n, n->bnry)) {
        if (v == NIC_RX_OK) {
            n->nic.stats.rx_dropped++; /* read while the card was writing over it */
        }
        /* The card may have put a packet of the run-over under the new stamp: give the page
         * its bytes back before reading on from there. */
        if (ne_rdma_write(n, (uint16_t)(nb * NE_PAGE_SIZE), saved, sizeof(saved), sizeof(saved)) !=
            0) {
            return NE_RX_DMA_FAIL;
        }
        return ne_rx_overrun(n) == 0 ? NE_RX_OVERRUN : NE_RX_DMA_FAIL;
    }
    ne_out(n, NE_P0_BNRY, nb);
    n->bnry = nb;
    n->next_pkt = e->next;
    return v == NIC_RX_OK ? NE_RX_FRAME : NE_RX_SKIPPED;
}

/* Reads up to `budget` packets from the ring. Returns true if packets remain. */
static bool ne_rx_drain(struct ne2k *n, int budget)
{
    uint8_t curr = ne_curr_now(n);

    for (int i = 0; i < budget; i++) {
        struct ne_rx_entry e;
        enum ne_rx_outcome out;
        uint8_t page = n->next_pkt;
        size_t len = 0;
        uint64_t flags;

        if (curr == page) {
            /* Caught up with the last look at CURR: look again before stopping. */
            curr = ne_curr_now(n);
            if (curr == page) {
                return false;
            }
        }
        if (!ne_ring_valid(&n->ring, curr)) {
            LOG_WARN(DRV, "%s: CURR %#x outside the ring", n->nic.model, curr);
            n->nic.stats.rx_errors++;
            ne_ring_reset(n, "bad CURR");
            return false;
        }
        flags = irq_save();
        out = ne_rx_one(n, &len, &e);
        irq_restore(flags);

        switch (out) {
        case NE_RX_FRAME:
            break;
        case NE_RX_SKIPPED:
            ne_count_skip(n, &e);
            continue;
        case NE_RX_OVERRUN: {
            uint64_t now = now_ns();

            if (ne_say_due(&n->say_overrun, now)) {
                ne_say_overrun(n, now);
            }
            curr = ne_curr_now(n);
            continue;
        }
        case NE_RX_CORRUPT: {
            uint64_t now = now_ns();

            n->nic.stats.rx_errors++;
            if (ne_say_due(&n->say_corrupt, now)) {
                ne_say_corrupt(n, now);
            }
            ne_ring_reset(n, "corrupt packet header");
            return false;
        }
        case NE_RX_DMA_FAIL:
        default:
            ne_reinit(n, "remote DMA write did not complete");
            return false;
        }
        if (len > NIC_FRAME_MAX) {
            len = NIC_FRAME_MAX; /* the 4 bytes past 1514 can only be a CRC the card kept */
        }
        LOG_TRACE(DRV, "%s: rx %zu bytes at page %#x, next %#x, status %#x, type %02x%02x",
                  n->nic.model, len, page, e.next, e.status, n->frame[12], n->frame[13]);
        nic_deliver(&n->nic, n->frame, len);
    }
    return ne_curr_now(n) != n->next_pkt;
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
    ne_tx_complete(n);
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
    st &= NE_IMR_RX;
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
    ne_say_pending(n);
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
    st = ne_in(n, NE_P0_ISR) & NE_IMR_RX;
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
    /* One transmit area: wait (bounded) for the previous frame to leave before the remote DMA
     * writes over it. QEMU's card sends on TXP, so this never waits there. */
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
    rc = ne_rdma_write(n, (uint16_t)(NE_TX_PAGE * NE_PAGE_SIZE), frame, len, wire);
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
    ne_tx_complete(n); /* done already if the card sent it on TXP */
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

/* Puts a freshly reset card where remote DMA can be tried safely: stopped receiver (monitor
 * mode, loopback, an empty ring QEMU refuses to store into), word-wide, started so that remote
 * DMA runs. Interrupts off. */
static void ne_probe_mode(struct ne2k *n)
{
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STP);
    ne_out(n, NE_P0_DCR, NE_DCR_WORD);
    ne_out(n, NE_P0_RBCR0, 0);
    ne_out(n, NE_P0_RBCR1, 0);
    ne_out(n, NE_P0_IMR, 0);
    ne_out(n, NE_P0_ISR, 0xff);
    ne_out(n, NE_P0_RCR, NE_RCR_MON);
    ne_out(n, NE_P0_TCR, NE_TCR_LOOP1);
    ne_out(n, NE_P0_PSTART, NE_RX_START);
    ne_out(n, NE_P0_PSTOP, NE_RX_START);
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
}

/* Writes `len` bytes at `addr` and reads them back; true if they survived. Interrupts off. */
static bool ne_mem_roundtrip(struct ne2k *n, uint16_t addr, const uint8_t *pat, size_t len)
{
    uint8_t back[8];

    if (len > sizeof(back) || ne_rdma_write(n, addr, pat, len, len) != 0) {
        return false;
    }
    ne_rdma_read(n, addr, back, len);
    return memcmp(back, pat, len) == 0;
}

/* Ring end for this card: NE_STOP_32K if pages 0x80..0xbf are real memory of their own (not a
 * mirror of 0x40..0x7f, not open bus), else NE_RX_STOP. 16-bit accesses. Interrupts off. */
static uint8_t ne_probe_memory(struct ne2k *n)
{
    static const uint8_t low[4] = {0x13, 0x57, 0x9b, 0xdf};
    static const uint8_t high[4] = {0xec, 0xa8, 0x64, 0x20};
    static const uint8_t top[4] = {0x5a, 0xc3, 0x3c, 0xa5};
    uint8_t back[4];

    if (!ne_mem_roundtrip(n, NE_TX_PAGE * NE_PAGE_SIZE, low, sizeof(low)) ||
        !ne_mem_roundtrip(n, 0x80 * NE_PAGE_SIZE, high, sizeof(high)) ||
        !ne_mem_roundtrip(n, (NE_STOP_32K - 1) * NE_PAGE_SIZE, top, sizeof(top))) {
        return NE_RX_STOP;
    }
    ne_rdma_read(n, NE_TX_PAGE * NE_PAGE_SIZE, back, sizeof(back));
    return memcmp(back, low, sizeof(low)) == 0 ? NE_STOP_32K : NE_RX_STOP;
}

/* True if the data port moves 32 bits per access: what one width writes the other must read
 * back. Leaves n->io32 as found. Interrupts off. */
static bool ne_probe_io32(struct ne2k *n)
{
    static const uint8_t a[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    static const uint8_t b[8] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    uint16_t addr = NE_TX_PAGE * NE_PAGE_SIZE;
    uint8_t back[8];
    bool ok;

    n->io32 = false;
    ok = ne_rdma_write(n, addr, a, sizeof(a), sizeof(a)) == 0;
    n->io32 = true;
    if (ok) {
        ne_rdma_read(n, addr, back, sizeof(back));
        ok = memcmp(back, a, sizeof(a)) == 0 && (ne_in(n, NE_P0_ISR) & NE_ISR_RDC) != 0;
    }
    if (ok) {
        ok = ne_rdma_write(n, addr, b, sizeof(b), sizeof(b)) == 0;
    }
    n->io32 = false;
    if (ok) {
        ne_rdma_read(n, addr, back, sizeof(back));
        ok = memcmp(back, b, sizeof(b)) == 0;
    }
    ne_out(n, NE_CR, NE_CR_NODMA | NE_CR_PAGE0 | NE_CR_STA);
    return ok;
}

static int ne_attach(uint16_t io, int irq, const struct pci_device *d, bool try_io32,
                     struct nic **out)
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
    memcpy(n->nic.mac, mac, NIC_MAC_LEN);
    str_copy(n->nic.name, "ne2k", sizeof(n->nic.name));
    /* The receive ring holds about 20 full frames and QEMU's NE2000 loses what does not fit:
     * with 22 or 44 segments in flight the host retransmitted a third of them. */
    n->nic.rx_burst_frames = 16;
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
    ne_probe_mode(n);
    n->ring.start = NE_RX_START;
    n->ring.stop = ne_probe_memory(n);
    n->io32 = try_io32 && ne_probe_io32(n);
    rc = ne_hw_init(n);
    irq_restore(flags);
    if (rc != 0) {
        LOG_WARN(DRV, "%s: remote DMA does not complete (%d): card not used", n->nic.model, rc);
        kfree(n);
        return -EIO;
    }
    LOG_DEBUG(DRV,
              "%s: IO %#x, %u KiB buffer, tx pages %#x..%#x, rx ring pages %#x..%#x, %u-bit "
              "data port, RCR %#x",
              n->nic.model, io, n->ring.stop == NE_STOP_32K ? 32u : 16u, NE_TX_PAGE,
              NE_TX_PAGE + NE_TX_PAGES - 1, n->ring.start, n->ring.stop - 1, n->io32 ? 32u : 16u,
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

static int ne_attach_pci(const struct pci_device *d, const struct ne_pci_id *id, struct nic **out)
{
    const struct pci_bar *bar = NULL;
    const char *chip = id->name;
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
    return ne_attach((uint16_t)bar->addr, irq, d, id->io32, out);
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
            rc = ne_attach_pci(d, &g_ne_pci_ids[k], out);
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
        int isa = ne_attach(NE_ISA_BASE, NE_ISA_IRQ, NULL, false, out);

        if (isa == 0 || rc == -ENODEV) {
            rc = isa;
        }
    }
    return rc;
}

const struct nic_driver drv_ne2k_driver = {"ne2k", probe};
