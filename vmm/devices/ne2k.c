/* NE2000 PCI (RTL8029) guest NIC model: DP8390 pages, remote DMA, card memory ring (ne2k.h). */
#include "ne2k.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/lib.h"
#include "../../kernel/log.h"

#define NE_CR    0x00
#define NE_DATA  0x10
#define NE_RESET 0x1F

#define CR_STP    0x01
#define CR_STA    0x02
#define CR_TXP    0x04
#define CR_RD     0x38
#define CR_RREAD  0x08
#define CR_RWRITE 0x10
#define CR_PS     0xC0

#define ISR_PRX 0x01
#define ISR_PTX 0x02
#define ISR_OVW 0x10
#define ISR_CNT 0x20
#define ISR_RDC 0x40
#define ISR_RST 0x80

#define NE_RCR_AB  0x04
#define NE_RCR_AM  0x08
#define NE_RCR_PRO 0x10
#define NE_RCR_MON 0x20

#define DCR_WTS 0x01

#define RSR_PRX 0x01
#define RSR_PHY 0x20
#define TSR_PTX 0x01

#define MEM_SIZE  0xC000u
#define MEM_RAM   0x4000u /* buffer RAM from here to MEM_SIZE */
#define PROM_LEN  32
#define MIN_FRAME 60

struct vmm_ne2k {
    struct vnic_port port;
    struct vmm_pci_func *pci;
    uint8_t irq;
    uint16_t io_base;
    uint64_t io_addr;
    bool io_on;
    bool moved_logged;

    uint8_t cr;
    uint8_t pstart;
    uint8_t pstop;
    uint8_t bnry;
    uint8_t tpsr;
    uint16_t tbcr;
    uint8_t isr;
    uint16_t rsar;
    uint16_t rbcr;
    uint8_t rcr;
    uint8_t tcr;
    uint8_t dcr;
    uint8_t imr;
    uint8_t tsr;
    uint8_t rsr;
    uint8_t par[6];
    uint8_t curr;
    uint8_t mar[8];
    uint8_t page3[16];
    uint8_t cntr[3];
    bool irq_level;

    uint8_t mem[MEM_SIZE];
    uint8_t frame[VMM_NIC_FRAME_MAX];
    struct vmm_dev_reg reg;
};

#define NE_LOG(n, lvl, ...) LOG_VM(VMM, lvl, vmm_vm_name((n)->port.vm), __VA_ARGS__)

static void ne_update_irq(struct vmm_ne2k *n)
{
    uint16_t cmd = n->pci != NULL ? vmm_pci_func_command(n->pci) : 0;
    bool level = (n->isr & n->imr & 0x7F) != 0 && !(cmd & VMM_PCI_CMD_INTX_DISABLE);

    if (level != n->irq_level) {
        n->irq_level = level;
        if (level) {
            n->port.stats.irqs++;
        }
        (void)vmm_dev_irq_set(n->port.vm, n, n->irq, level);
    }
}

/* The reset port and power-on: stopped, ISR.RST, the PROM in place. */
static void ne_reset(struct vmm_ne2k *n)
{
    n->cr = CR_STP | 0x20;
    n->isr = ISR_RST;
    n->imr = 0;
    n->rbcr = 0;
    n->rsar = 0;
    n->tsr = 0;
    n->dcr = 0;
    n->rcr = 0;
    n->tcr = 0;
    for (unsigned i = 0; i < 16; i++) {
        uint8_t b = i < 6 ? n->port.mac[i] : (i >= 14 ? 0x57 : 0);

        n->mem[2 * i] = b;
        n->mem[2 * i + 1] = b;
    }
    ne_update_irq(n);
}

static void ne_power_on(struct vmm_ne2k *n)
{
    memset(n->mem, 0, sizeof(n->mem));
    memcpy(n->par, n->port.mac, 6);
    memset(n->mar, 0, sizeof(n->mar));
    n->pstart = 0x40;
    n->pstop = 0x80;
    n->bnry = 0x40;
    n->curr = 0x40;
    ne_reset(n);
}

static void ne_hostile(struct vmm_ne2k *n, const char *what)
{
    vnic_hostile(&n->port, "%s (PSTART 0x%02x PSTOP 0x%02x CURR 0x%02x BNRY 0x%02x TPSR 0x%02x)",
                 what, n->pstart, n->pstop, n->curr, n->bnry, n->tpsr);
    ne_reset(n);
}

/* BNRY as a page of the ring. Linux's lib8390 writes BNRY = next frame - 1 without wrapping,
 * so PSTART - 1 stands for PSTOP - 1: the page before PSTART in ring order. */
static uint8_t ne_bnry(const struct vmm_ne2k *n)
{
    return n->bnry == (uint8_t)(n->pstart - 1) ? (uint8_t)(n->pstop - 1) : n->bnry;
}

/* A sane receive ring: inside the buffer RAM, CURR and BNRY inside the ring. */
static bool ne_ring_ok(const struct vmm_ne2k *n)
{
    uint8_t bnry = ne_bnry(n);

    return n->pstart >= MEM_RAM / 256 && n->pstop <= MEM_SIZE / 256 && n->pstart < n->pstop &&
           n->curr >= n->pstart && n->curr < n->pstop && bnry >= n->pstart && bnry < n->pstop;
}

/* ---- remote DMA ---------------------------------------------------------------------------- */

static uint8_t ne_mem_read(const struct vmm_ne2k *n, uint16_t a)
{
    if (a < PROM_LEN || (a >= MEM_RAM && a < MEM_SIZE)) {
        return n->mem[a];
    }
    return 0xFF;
}

static void ne_mem_write(struct vmm_ne2k *n, uint16_t a, uint8_t v)
{
    if (a >= MEM_RAM && a < MEM_SIZE) {
        n->mem[a] = v;
    }
}

/* Moves the remote DMA address on by one byte (wrapping from PSTOP to PSTART). */
static void ne_dma_step(struct vmm_ne2k *n)
{
    n->rsar++;
    if (n->pstop != 0 && n->rsar == (uint16_t)(n->pstop << 8) && n->pstart < n->pstop) {
        n->rsar = (uint16_t)(n->pstart << 8);
    }
}

static void ne_dma_done(struct vmm_ne2k *n, unsigned moved)
{
    if (n->rbcr <= moved) {
        n->rbcr = 0;
        n->isr |= ISR_RDC;
        ne_update_irq(n);
    } else {
        n->rbcr = (uint16_t)(n->rbcr - moved);
    }
}

/* One data port access: 1, 2 or 4 bytes on the bus, `width` bytes of card memory moved. */
static uint32_t ne_data(struct vmm_ne2k *n, unsigned size, bool write, uint32_t val)
{
    unsigned width = size == 4 ? 4 : ((n->dcr & DCR_WTS) ? 2 : 1);
    uint32_t v = 0;

    for (unsigned i = 0; i < width; i++) {
        if (write) {
            ne_mem_write(n, n->rsar, (uint8_t)(val >> (8 * i)));
        } else {
            v |= (uint32_t)ne_mem_read(n, n->rsar) << (8 * i);
        }
        ne_dma_step(n);
    }
    ne_dma_done(n, width);
    return v;
}

/* ---- transmit and receive ------------------------------------------------------------------ */

static void ne_transmit(struct vmm_ne2k *n)
{
    uint32_t start = (uint32_t)n->tpsr << 8;
    uint32_t len = n->tbcr;

    n->port.stats.kicks++;
    if (start < MEM_RAM || start + len > MEM_SIZE) {
        ne_hostile(n, "transmit area outside the card's RAM");
        return;
    }
    if (len >= 14 && len <= VMM_NIC_FRAME_MAX) {
        vnic_send(&n->port, &n->mem[start], len);
    } else {
        n->port.stats.tx_dropped++;
    }
    n->cr &= (uint8_t)~CR_TXP;
    n->tsr = TSR_PTX;
    n->isr |= ISR_PTX;
    ne_update_irq(n);
}

/* Free bytes from CURR up to BNRY in the ring (CURR == BNRY: the whole ring, as after power-on;
 * the receiver never writes up to BNRY itself, so that state never means full). */
static uint32_t ne_rx_room(const struct vmm_ne2k *n)
{
    uint32_t cur = (uint32_t)n->curr << 8;
    uint32_t bnd = (uint32_t)ne_bnry(n) << 8;
    uint32_t size = (uint32_t)(n->pstop - n->pstart) << 8;

    return cur < bnd ? bnd - cur : size - (cur - bnd);
}

bool vmm_ne2k_rx(void *dev, const void *frame, size_t len)
{
    struct vmm_ne2k *n = dev;
    const uint8_t *f = frame;
    uint32_t total;
    uint32_t pages;
    uint32_t index;
    uint32_t next;
    uint32_t start;
    uint32_t stop;

    if ((n->cr & CR_STP) || len < 14 || len > VMM_NIC_FRAME_MAX || (n->rcr & NE_RCR_MON)) {
        return vnic_rx_drop(&n->port);
    }
    if (!vnic_accept(n->par, f, n->rcr & NE_RCR_PRO, n->rcr & NE_RCR_AB, n->rcr & NE_RCR_AM,
                     n->mar)) {
        return false;
    }
    if (!ne_ring_ok(n)) {
        ne_hostile(n, "receive ring outside the card's RAM");
        return vnic_rx_drop(&n->port);
    }
    memcpy(n->frame, f, len);
    if (len < MIN_FRAME) {
        memset(&n->frame[len], 0, MIN_FRAME - len);
        len = MIN_FRAME;
    }
    total = (uint32_t)len + 4;
    /* Pages as the chip fills them: header, frame and its 4-byte CRC. lib8390 checks the next
     * page pointer against this (a frame whose header + data end on a page boundary still
     * takes one page more); a frame may not reach BNRY's page. */
    pages = (total + 4 + 255) >> 8;
    if (ne_rx_room(n) <= pages << 8) {
        n->isr |= ISR_OVW;
        if (n->cntr[2] < 0xFF) {
            n->cntr[2]++; /* missed packets */
        }
        ne_update_irq(n);
        return vnic_rx_drop(&n->port);
    }
    start = (uint32_t)n->pstart << 8;
    stop = (uint32_t)n->pstop << 8;
    index = (uint32_t)n->curr << 8;
    next = index + (pages << 8);
    if (next >= stop) {
        next -= stop - start;
    }
    n->rsr = RSR_PRX | ((f[0] & 1) ? RSR_PHY : 0);
    n->mem[index] = n->rsr;
    n->mem[index + 1] = (uint8_t)(next >> 8);
    n->mem[index + 2] = (uint8_t)total;
    n->mem[index + 3] = (uint8_t)(total >> 8);
    index += 4;
    for (size_t i = 0; i < len; i++) {
        n->mem[index++] = n->frame[i];
        if (index == stop) {
            index = start;
        }
    }
    n->curr = (uint8_t)(next >> 8);
    vnic_rx_count(&n->port, len);
    n->isr |= ISR_PRX;
    ne_update_irq(n);
    return true;
}

/* ---- registers ----------------------------------------------------------------------------- */

static void ne_write_cr(struct vmm_ne2k *n, uint8_t v)
{
    /* STA and STP change only when one of them is written; TXP clears when the send is done. */
    n->cr = (uint8_t)((v & ~(CR_TXP | CR_STA | CR_STP)) | (n->cr & (CR_TXP | CR_STA | CR_STP)));
    if (v & CR_STP) {
        n->cr = (uint8_t)((n->cr & ~CR_STA) | CR_STP);
        n->isr |= ISR_RST;
    } else if (v & CR_STA) {
        n->cr &= (uint8_t)~CR_STP;
        n->isr &= (uint8_t)~ISR_RST;
    }
    /* A remote DMA command with a zero count completes at once. */
    if ((v & (CR_RREAD | CR_RWRITE)) && !(v & 0x20) && n->rbcr == 0) {
        n->isr |= ISR_RDC;
    }
    if ((v & CR_TXP) && !(n->cr & CR_STP)) {
        n->cr |= CR_TXP;
        ne_transmit(n);
    }
    ne_update_irq(n);
}

static uint8_t ne_read_reg(struct vmm_ne2k *n, unsigned off)
{
    unsigned page = n->cr >> 6;

    if (off == NE_CR) {
        return n->cr;
    }
    if (page == 1) {
        if (off <= 6) {
            return n->par[off - 1];
        }
        return off == 7 ? n->curr : n->mar[off - 8];
    }
    if (page == 2) {
        switch (off) {
        case 0x01:
            return n->pstart;
        case 0x02:
            return n->pstop;
        case 0x04:
            return n->tpsr;
        case 0x0C:
            return n->rcr;
        case 0x0D:
            return n->tcr;
        case 0x0E:
            return n->dcr;
        case 0x0F:
            return n->imr;
        default:
            return 0xFF;
        }
    }
    if (page == 3) {
        return n->page3[off];
    }
    switch (off) {
    case 0x01:
    case 0x08:
        return (uint8_t)n->rsar;
    case 0x02:
    case 0x09:
        return (uint8_t)(n->rsar >> 8);
    case 0x03:
        return n->bnry;
    case 0x04:
        return n->tsr;
    case 0x07:
        return n->isr;
    case 0x0A:
        return 0x50; /* RTL8029 ID 'P' 'C' */
    case 0x0B:
        return 0x43;
    case 0x0C:
        return n->rsr;
    case 0x0D:
    case 0x0E:
    case 0x0F:
        return n->cntr[off - 0x0D];
    default:
        return 0;
    }
}

static void ne_write_reg(struct vmm_ne2k *n, unsigned off, uint8_t v)
{
    unsigned page = n->cr >> 6;

    if (off == NE_CR) {
        ne_write_cr(n, v);
        return;
    }
    if (page == 1) {
        if (off <= 6) {
            n->par[off - 1] = v;
        } else if (off == 7) {
            n->curr = v;
        } else {
            n->mar[off - 8] = v;
        }
        return;
    }
    if (page == 3) {
        n->page3[off] = v;
        return;
    }
    if (page == 2) {
        return; /* page 2 is for reading */
    }
    switch (off) {
    case 0x01:
        n->pstart = v;
        return;
    case 0x02:
        n->pstop = v;
        return;
    case 0x03:
        n->bnry = v;
        return;
    case 0x04:
        n->tpsr = v;
        return;
    case 0x05:
        n->tbcr = (uint16_t)((n->tbcr & 0xFF00) | v);
        return;
    case 0x06:
        n->tbcr = (uint16_t)((n->tbcr & 0x00FF) | v << 8);
        return;
    case 0x07:
        n->isr &= (uint8_t) ~(v & 0x7F);
        ne_update_irq(n);
        return;
    case 0x08:
        n->rsar = (uint16_t)((n->rsar & 0xFF00) | v);
        return;
    case 0x09:
        n->rsar = (uint16_t)((n->rsar & 0x00FF) | v << 8);
        return;
    case 0x0A:
        n->rbcr = (uint16_t)((n->rbcr & 0xFF00) | v);
        return;
    case 0x0B:
        n->rbcr = (uint16_t)((n->rbcr & 0x00FF) | v << 8);
        return;
    case 0x0C:
        n->rcr = v;
        return;
    case 0x0D:
        n->tcr = v;
        return;
    case 0x0E:
        n->dcr = v;
        return;
    case 0x0F:
        n->imr = v;
        ne_update_irq(n);
        return;
    default:
        return;
    }
}

static int ne_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_ne2k *n = dev;
    unsigned off;

    if (!n->io_on || port < n->io_addr || port >= n->io_addr + NE2K_IO_SIZE) {
        return VMM_NOT_MINE;
    }
    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    off = (unsigned)(port - n->io_addr);
    if (off >= NE_DATA && off < NE_RESET) {
        uint32_t v = ne_data(n, size, write, write ? *val : 0);

        if (!write) {
            *val = size == 4 ? v : v & ((1u << (8 * size)) - 1);
        }
        return VMM_HANDLED;
    }
    if (off == NE_RESET) {
        ne_reset(n);
        if (!write) {
            *val = 0;
        }
        return VMM_HANDLED;
    }
    /* Byte registers; a wider access touches the following ones, as the ISA bus splits it. */
    if (write) {
        for (unsigned i = 0; i < size && off + i < NE_DATA; i++) {
            ne_write_reg(n, off + i, (uint8_t)(*val >> (8 * i)));
        }
    } else {
        uint32_t v = 0;

        for (unsigned i = 0; i < size && off + i < NE_DATA; i++) {
            v |= (uint32_t)ne_read_reg(n, off + i) << (8 * i);
        }
        *val = v;
    }
    return VMM_HANDLED;
}

/* REP INS/OUTS on the data port in one call. */
static int ne_io_string(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                        uint32_t count)
{
    struct vmm_ne2k *n = dev;
    uint8_t *p = buf;

    if (!n->io_on || port != n->io_addr + NE_DATA) {
        return devio_string_each(dev, port, size, write, buf, count, ne_io);
    }
    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < count; i++, p += size) {
        uint32_t v = 0;

        if (write) {
            memcpy(&v, p, size);
        }
        v = ne_data(n, size, write, v);
        if (!write) {
            memcpy(p, &v, size);
        }
    }
    return VMM_HANDLED;
}

static void ne_bar_changed(void *ctx, unsigned bar, uint64_t addr, bool enabled)
{
    struct vmm_ne2k *n = ctx;

    if (bar != 0) {
        return;
    }
    n->io_addr = addr;
    n->io_on = enabled;
    if (enabled && addr != n->io_base && !n->moved_logged) {
        n->moved_logged = true;
        NE_LOG(n, LOG_LVL_WARN, "ne2k %s: BAR0 moved to 0x%llx: only 0x%x decodes", n->port.name,
               (unsigned long long)addr, n->io_base);
    }
}

static void ne_dev_reset(void *dev)
{
    ne_power_on(dev);
}

static void ne_destroy(void *dev)
{
    struct vmm_ne2k *n = dev;

    vnic_port_detach(&n->port);
    vmm_host()->free(n);
}

int vmm_dev_ne2k_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                        const struct vmm_nic_dev_config *cfg, struct vmm_ne2k **out)
{
    struct vmm_ne2k *n;
    struct vmm_pci_func_config fc = {
        .vendor = 0x10EC,
        .device = 0x8029,
        .class_code = 0x020000,
        .subsys_vendor = 0x10EC,
        .subsys_id = 0x8029,
        .command = VMM_PCI_CMD_IO,
        .irq_pin = 1,
        .irq_line = cfg->irq,
        .bars = {[0] = {.type = VMM_PCI_BAR_IO, .size = NE2K_IO_SIZE, .addr = cfg->io_base}},
        .bar_changed = ne_bar_changed,
    };
    int rc;

    if (pci == NULL || cfg->name == NULL || (cfg->io_base & (NE2K_IO_SIZE - 1)) != 0) {
        return -EINVAL;
    }
    n = vmm_host()->zalloc(sizeof(*n));
    if (n == NULL) {
        return -ENOMEM;
    }
    n->port.vm = vm;
    n->irq = cfg->irq;
    n->io_base = cfg->io_base;
    str_copy(n->port.name, cfg->name, sizeof(n->port.name));
    memcpy(n->port.mac, cfg->mac, 6);
    ne_power_on(n);
    fc.ctx = n;
    n->reg.name = n->port.name;
    n->reg.dev = n;
    n->reg.io[0] = (struct vmm_dev_io_range){
        .base = cfg->io_base, .count = NE2K_IO_SIZE, .fn = ne_io, .string_fn = ne_io_string};
    n->reg.nio = 1;
    n->reg.irqs[0] = cfg->irq;
    n->reg.nirqs = 1;
    n->reg.reset = ne_dev_reset;
    n->reg.destroy = ne_destroy;
    rc = vmm_dev_register(vm, &n->reg);
    if (rc < 0) {
        NE_LOG(n, LOG_LVL_ERROR, "ne2k %s: register failed: %d", n->port.name, rc);
        vmm_host()->free(n);
        return rc;
    }
    rc = vmm_pci_add_func(pci, cfg->slot, 0, &fc, &n->pci);
    if (rc < 0) {
        NE_LOG(n, LOG_LVL_ERROR, "ne2k %s: PCI slot %u: %d", n->port.name, cfg->slot, rc);
        return rc;
    }
    vnic_port_init(&n->port, vm, "ne2k", cfg->name, cfg->mac, vmm_ne2k_rx, n);
    NE_LOG(n, LOG_LVL_INFO, "ne2k %s: 00:%02x.0 io 0x%x irq %u mac %02x:%02x:%02x:%02x:%02x:%02x",
           n->port.name, cfg->slot, cfg->io_base, cfg->irq, cfg->mac[0], cfg->mac[1], cfg->mac[2],
           cfg->mac[3], cfg->mac[4], cfg->mac[5]);
    if (out != NULL) {
        *out = n;
    }
    return 0;
}

const struct vmm_nic_stats *vmm_ne2k_stats(const struct vmm_ne2k *n)
{
    return &n->port.stats;
}
