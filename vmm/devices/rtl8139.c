/* RTL8139 guest NIC model: registers, 93C46 EEPROM, RX ring, four TX descriptors (rtl8139.h). */
#include "rtl8139.h"
#include "../host.h"
#include "../../kernel/lib.h"
#include "../../kernel/log.h"

#define R_IDR0    0x00
#define R_MAR0    0x08
#define R_TSD0    0x10
#define R_TSAD0   0x20
#define R_RBSTART 0x30
#define R_CR      0x37
#define R_CAPR    0x38
#define R_CBR     0x3A
#define R_IMR     0x3C
#define R_ISR     0x3E
#define R_TCR     0x40
#define R_RCR     0x44
#define R_MPC     0x4C
#define R_9346CR  0x50
#define R_CONFIG0 0x51
#define R_CONFIG1 0x52
#define R_MSR     0x58
#define R_BMCR    0x62
#define R_BMSR    0x64
#define R_ANAR    0x66
#define R_ANLPAR  0x68

#define CR_BUFE 0x01
#define CR_TE   0x04
#define CR_RE   0x08
#define CR_RST  0x10

#define INT_ROK   0x0001
#define INT_TOK   0x0004
#define INT_TER   0x0008
#define INT_RXOVW 0x0010

#define TSD_SIZE 0x1FFF
#define TSD_OWN  0x2000
#define TSD_TOK  0x8000

#define RCR_AAP  0x01
#define RCR_APM  0x02
#define RCR_AM   0x04
#define RCR_AB   0x08
#define RCR_WRAP 0x80

#define RX_OK    0x0001
#define RX_BAR   0x2000
#define RX_PAM   0x4000
#define RX_MAR   0x8000
#define RX_SLACK (16 + 1536) /* what a WRAP driver allocates past the ring */

/* TCR hardware revision of an RTL8139C (8139too knows it); the low bits are writable. */
#define TCR_HWREV 0x74000000u
#define TCR_WMASK 0x03070FF1u

#define MSR_LINKB    0x04 /* set: link down */
#define MSR_SPEED_10 0x08

/* 9346CR: operating mode (bits 7-6) and, in programming mode (10), the EEPROM pins. */
#define EE_MODE_PROG 0x80
#define EE_CS        0x08
#define EE_SK        0x04
#define EE_DI        0x02
#define EE_DO        0x01
#define EE_WORDS     64
#define EE_ADDR_BITS 6

enum ee_state { EE_IDLE, EE_CMD, EE_READ };

struct vmm_rtl8139 {
    struct vnic_port port;
    struct vmm_pci_func *pci;
    uint8_t irq;
    uint16_t io_base;
    uint64_t mmio_base;
    uint64_t io_addr;
    bool io_on;
    uint64_t mem_addr;
    bool mem_on;
    bool moved_logged;

    uint8_t regs[RTL8139_IO_SIZE]; /* plain storage and the simple registers */
    uint32_t tsd[4];
    uint32_t tsad[4];
    uint16_t isr;
    uint32_t rx_write; /* CBR: ring offset the next frame goes to */
    uint32_t rx_read;  /* CAPR + 16: ring offset the driver reads next */
    uint32_t mpc;
    bool irq_level;

    uint16_t eeprom[EE_WORDS];
    enum ee_state ee_state;
    uint8_t ee_pins; /* last CS/SK/DI written */
    unsigned ee_bits;
    uint32_t ee_shift;
    uint16_t ee_out;
    bool ee_do;

    uint8_t frame[VMM_NIC_FRAME_MAX + 8];
    struct vmm_dev_reg reg;
};

#define RTL_LOG(r, lvl, ...) LOG_VM(VMM, lvl, vmm_vm_name((r)->port.vm), __VA_ARGS__)

static uint16_t rtl_command(const struct vmm_rtl8139 *r)
{
    return r->pci != NULL ? vmm_pci_func_command(r->pci) : 0;
}

static uint16_t rtl_get16(const struct vmm_rtl8139 *r, unsigned off)
{
    return (uint16_t)(r->regs[off] | r->regs[off + 1] << 8);
}

static uint32_t rtl_get32(const struct vmm_rtl8139 *r, unsigned off)
{
    return rtl_get16(r, off) | (uint32_t)rtl_get16(r, off + 2) << 16;
}

static void rtl_put16(struct vmm_rtl8139 *r, unsigned off, uint16_t v)
{
    r->regs[off] = (uint8_t)v;
    r->regs[off + 1] = (uint8_t)(v >> 8);
}

static void rtl_put32(struct vmm_rtl8139 *r, unsigned off, uint32_t v)
{
    rtl_put16(r, off, (uint16_t)v);
    rtl_put16(r, off + 2, (uint16_t)(v >> 16));
}

static uint32_t rtl_ring_len(const struct vmm_rtl8139 *r)
{
    return 8192u << ((r->regs[R_RCR + 1] >> 3) & 3);
}

static void rtl_update_irq(struct vmm_rtl8139 *r)
{
    bool level =
        (r->isr & rtl_get16(r, R_IMR)) != 0 && !(rtl_command(r) & VMM_PCI_CMD_INTX_DISABLE);

    if (level != r->irq_level) {
        r->irq_level = level;
        if (level) {
            r->port.stats.irqs++;
        }
        (void)vmm_dev_irq_set(r->port.vm, r, r->irq, level);
    }
}

/* The software reset (CR.RST) and power-on state; the MAC comes back from the EEPROM. */
static void rtl_soft_reset(struct vmm_rtl8139 *r)
{
    r->regs[R_CR] = 0;
    rtl_put16(r, R_IMR, 0);
    r->isr = 0;
    for (unsigned i = 0; i < 4; i++) {
        r->tsd[i] = TSD_OWN;
    }
    r->rx_write = 0;
    r->rx_read = 0;
    rtl_put32(r, R_TCR, TCR_HWREV);
    rtl_put32(r, R_RCR, 0);
    rtl_update_irq(r);
}

static void rtl_power_on(struct vmm_rtl8139 *r)
{
    memset(r->regs, 0, sizeof(r->regs));
    for (unsigned i = 0; i < 4; i++) {
        r->tsad[i] = 0;
    }
    memcpy(&r->regs[R_IDR0], r->port.mac, 6);
    r->mpc = 0;
    r->ee_state = EE_IDLE;
    r->ee_pins = 0;
    r->ee_do = false;
    rtl_put16(r, R_BMCR, 0x3100); /* autonegotiation, 100 Mb/s, full duplex */
    rtl_put16(r, R_ANAR, 0x01E1);
    rtl_soft_reset(r);
}

static void rtl_hostile(struct vmm_rtl8139 *r, const char *what, uint64_t addr, uint64_t len)
{
    vnic_hostile(&r->port, "%s at 0x%llx+%llu", what, (unsigned long long)addr,
                 (unsigned long long)len);
    rtl_soft_reset(r);
}

static bool rtl_dma_ok(const struct vmm_rtl8139 *r)
{
    return (rtl_command(r) & VMM_PCI_CMD_MASTER) != 0;
}

/* ---- transmit ------------------------------------------------------------------------------ */

static void rtl_transmit(struct vmm_rtl8139 *r, unsigned i)
{
    uint32_t len = r->tsd[i] & TSD_SIZE;
    uint32_t addr = r->tsad[i];

    r->port.stats.kicks++;
    if (!(r->regs[R_CR] & CR_TE) || !rtl_dma_ok(r)) {
        RTL_LOG(r, LOG_LVL_DEBUG, "rtl8139 %s: TSD%u written with the transmitter off",
                r->port.name, i);
        return;
    }
    if (len > VMM_NIC_FRAME_MAX || len < 14) {
        /* The chip would send it; here it is too long for the network or not a frame. */
        r->port.stats.tx_dropped++;
    } else if (vmm_guest_read(r->port.vm, addr, r->frame, len) < 0) {
        rtl_hostile(r, "transmit buffer not in RAM", addr, len);
        return;
    } else {
        vnic_send(&r->port, r->frame, len);
    }
    r->tsd[i] |= TSD_OWN | TSD_TOK;
    r->isr |= INT_TOK;
    rtl_update_irq(r);
}

/* ---- receive ------------------------------------------------------------------------------- */

static bool rtl_rx_empty(const struct vmm_rtl8139 *r)
{
    return r->rx_read == r->rx_write;
}

/* Bytes the ring can take (one dword is kept free so full and empty differ). */
static uint32_t rtl_rx_room(const struct vmm_rtl8139 *r)
{
    uint32_t len = rtl_ring_len(r);

    return (r->rx_read - r->rx_write - 4) & (len - 1);
}

static int rtl_ring_write(struct vmm_rtl8139 *r, uint32_t off, const void *buf, uint32_t n)
{
    uint32_t len = rtl_ring_len(r);
    uint64_t base = rtl_get32(r, R_RBSTART);
    const uint8_t *p = buf;

    if (r->regs[R_RCR] & RCR_WRAP) {
        /* The frame continues past the ring's end into the driver's slack. */
        if (off + n > len + RX_SLACK) {
            return -EIO;
        }
        return vmm_guest_write(r->port.vm, base + off, p, n);
    }
    while (n > 0) {
        uint32_t at = off & (len - 1);
        uint32_t chunk = len - at < n ? len - at : n;
        int rc = vmm_guest_write(r->port.vm, base + at, p, chunk);

        if (rc < 0) {
            return rc;
        }
        p += chunk;
        n -= chunk;
        off += chunk;
    }
    return 0;
}

bool vmm_rtl8139_rx(void *dev, const void *frame, size_t len)
{
    struct vmm_rtl8139 *r = dev;
    const uint8_t *f = frame;
    uint32_t rcr = rtl_get32(r, R_RCR);
    uint16_t status = RX_OK;
    uint32_t size;
    uint8_t hdr[4];
    static const uint8_t crc[4];
    int rc;

    if (!(r->regs[R_CR] & CR_RE) || !rtl_dma_ok(r) || len < 14 || len > VMM_NIC_FRAME_MAX) {
        return vnic_rx_drop(&r->port);
    }
    /* The station address is what the driver programmed into IDR0-5. */
    if (!vnic_accept(&r->regs[R_IDR0], f, rcr & RCR_AAP, rcr & RCR_AB, rcr & RCR_AM,
                     &r->regs[R_MAR0]) ||
        (!(f[0] & 1) && !(rcr & (RCR_APM | RCR_AAP)))) {
        return false; /* filtered, as the chip does: not a drop */
    }
    if (f[0] == 0xFF && memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0) {
        status |= RX_BAR;
    } else if (f[0] & 1) {
        status |= RX_MAR;
    } else if (memcmp(f, &r->regs[R_IDR0], 6) == 0) {
        status |= RX_PAM;
    }
    size = (uint32_t)len + 4; /* with the CRC */
    if (rtl_rx_room(r) < ((size + 4 + 3) & ~3u)) {
        r->isr |= INT_RXOVW;
        r->mpc++;
        rtl_update_irq(r);
        return vnic_rx_drop(&r->port);
    }
    hdr[0] = (uint8_t)status;
    hdr[1] = (uint8_t)(status >> 8);
    hdr[2] = (uint8_t)size;
    hdr[3] = (uint8_t)(size >> 8);
    rc = rtl_ring_write(r, r->rx_write, hdr, 4);
    if (rc == 0) {
        rc = rtl_ring_write(r, r->rx_write + 4, f, (uint32_t)len);
    }
    if (rc == 0) {
        rc = rtl_ring_write(r, r->rx_write + 4 + (uint32_t)len, crc, 4);
    }
    if (rc < 0) {
        rtl_hostile(r, "receive ring not in RAM", rtl_get32(r, R_RBSTART), rtl_ring_len(r));
        return vnic_rx_drop(&r->port);
    }
    r->rx_write = (r->rx_write + 4 + size + 3) & ~3u & (rtl_ring_len(r) - 1);
    vnic_rx_count(&r->port, len);
    r->isr |= INT_ROK;
    rtl_update_irq(r);
    return true;
}

/* ---- 93C46 EEPROM -------------------------------------------------------------------------- */

/* The pins after a 9346CR write in programming mode: act on SK's rising edge with CS high. */
static void rtl_eeprom_pins(struct vmm_rtl8139 *r, uint8_t v)
{
    bool rise = (v & EE_SK) && !(r->ee_pins & EE_SK);

    r->ee_pins = v & (EE_CS | EE_SK | EE_DI);
    if (!(v & EE_CS)) {
        r->ee_state = EE_IDLE;
        r->ee_do = false;
        return;
    }
    if (!rise) {
        return;
    }
    switch (r->ee_state) {
    case EE_IDLE:
        if (v & EE_DI) { /* start bit */
            r->ee_state = EE_CMD;
            r->ee_bits = 0;
            r->ee_shift = 0;
        }
        break;
    case EE_CMD:
        r->ee_shift = (r->ee_shift << 1) | ((v & EE_DI) ? 1 : 0);
        if (++r->ee_bits == 2 + EE_ADDR_BITS) {
            unsigned op = r->ee_shift >> EE_ADDR_BITS;

            if (op == 2) { /* READ: a dummy 0, then D15..D0 */
                r->ee_out = r->eeprom[r->ee_shift & (EE_WORDS - 1)];
                r->ee_bits = 0;
                r->ee_do = false;
                r->ee_state = EE_READ;
            } else {
                r->ee_state = EE_IDLE; /* write/erase: the EEPROM is read-only here */
            }
        }
        break;
    case EE_READ:
        r->ee_do = r->ee_bits < 16 && ((r->ee_out >> (15 - r->ee_bits)) & 1);
        r->ee_bits++;
        break;
    }
}

/* ---- registers ----------------------------------------------------------------------------- */

static uint8_t rtl_read_byte(struct vmm_rtl8139 *r, unsigned off)
{
    bool link = vnic_link_up(&r->port);

    if (off >= R_TSD0 && off < R_TSD0 + 16) {
        return (uint8_t)(r->tsd[(off - R_TSD0) / 4] >> (8 * (off & 3)));
    }
    if (off >= R_TSAD0 && off < R_TSAD0 + 16) {
        return (uint8_t)(r->tsad[(off - R_TSAD0) / 4] >> (8 * (off & 3)));
    }
    switch (off) {
    case R_CR:
        return (uint8_t)((r->regs[R_CR] & (CR_RE | CR_TE)) | (rtl_rx_empty(r) ? CR_BUFE : 0));
    case R_CAPR:
    case R_CAPR + 1:
        return (uint8_t)((uint16_t)(r->rx_read - 16) >> (8 * (off - R_CAPR)));
    case R_CBR:
    case R_CBR + 1:
        return (uint8_t)(r->rx_write >> (8 * (off - R_CBR)));
    case R_ISR:
    case R_ISR + 1:
        return (uint8_t)(r->isr >> (8 * (off - R_ISR)));
    case R_MPC:
    case R_MPC + 1:
    case R_MPC + 2:
        return (uint8_t)(r->mpc >> (8 * (off - R_MPC)));
    case R_MPC + 3:
        return 0;
    case R_9346CR:
        if ((r->regs[R_9346CR] & 0xC0) == EE_MODE_PROG) {
            return (uint8_t)(EE_MODE_PROG | r->ee_pins | (r->ee_do ? EE_DO : 0));
        }
        return r->regs[R_9346CR] & 0xC0;
    case R_MSR:
        return (uint8_t)((r->regs[R_MSR] & ~(MSR_LINKB | MSR_SPEED_10)) | (link ? 0 : MSR_LINKB));
    case R_BMSR:
        return link ? 0x2D : 0x09; /* link, autoneg complete, extended capability */
    case R_BMSR + 1:
        return 0x78; /* 10/100, half/full */
    case R_ANLPAR:
        return link ? 0xE1 : 0;
    case R_ANLPAR + 1:
        return link ? 0x45 : 0;
    default:
        return r->regs[off];
    }
}

static void rtl_write_byte(struct vmm_rtl8139 *r, unsigned off, uint8_t v)
{
    if (off >= R_TSD0 && off < R_TSD0 + 16) {
        unsigned i = (off - R_TSD0) / 4;
        unsigned sh = 8 * (off & 3);

        /* OWN and TOK are the card's (a write clears OWN: the buffer goes to the card). */
        r->tsd[i] = (r->tsd[i] & ~(0xFFu << sh)) | ((uint32_t)v << sh);
        return;
    }
    if (off >= R_TSAD0 && off < R_TSAD0 + 16) {
        unsigned i = (off - R_TSAD0) / 4;
        unsigned sh = 8 * (off & 3);

        r->tsad[i] = (r->tsad[i] & ~(0xFFu << sh)) | ((uint32_t)v << sh);
        return;
    }
    switch (off) {
    case R_CR:
        if (v & CR_RST) {
            rtl_soft_reset(r);
            return;
        }
        r->regs[R_CR] = v & (CR_RE | CR_TE);
        return;
    case R_CAPR:
        r->rx_read = (((uint32_t)(uint16_t)(r->rx_read - 16) & 0xFF00) | v);
        r->rx_read = (r->rx_read + 16) & (rtl_ring_len(r) - 1);
        return;
    case R_CAPR + 1:
        r->rx_read = (((uint32_t)(uint16_t)(r->rx_read - 16) & 0x00FF) | (uint32_t)v << 8);
        r->rx_read = (r->rx_read + 16) & (rtl_ring_len(r) - 1);
        return;
    case R_CBR:
    case R_CBR + 1:
    case R_MSR + 1:
    case R_BMSR:
    case R_BMSR + 1:
    case R_ANLPAR:
    case R_ANLPAR + 1:
        return; /* read-only */
    case R_ISR:
    case R_ISR + 1:
        r->isr &= (uint16_t) ~((uint16_t)v << (8 * (off - R_ISR)));
        return;
    case R_TCR + 3:
        /* The hardware revision bits stay. */
        r->regs[off] = (uint8_t)((TCR_HWREV >> 24) | (v & (TCR_WMASK >> 24)));
        return;
    case R_MPC:
    case R_MPC + 1:
    case R_MPC + 2:
    case R_MPC + 3:
        r->mpc = 0;
        return;
    case R_9346CR:
        r->regs[R_9346CR] = v & 0xC0;
        if ((v & 0xC0) == EE_MODE_PROG) {
            rtl_eeprom_pins(r, v);
        } else {
            r->ee_state = EE_IDLE;
            r->ee_pins = 0;
            if ((v & 0xC0) == 0x40) {
                memcpy(&r->regs[R_IDR0], r->port.mac, 6); /* auto-load */
                r->regs[R_9346CR] = 0;
            }
        }
        return;
    default:
        r->regs[off] = v;
        return;
    }
}

static void rtl_access(struct vmm_rtl8139 *r, unsigned off, unsigned size, bool write,
                       uint32_t *val)
{
    uint32_t v = 0;

    if (!write) {
        for (unsigned i = 0; i < size && off + i < RTL8139_IO_SIZE; i++) {
            v |= (uint32_t)rtl_read_byte(r, off + i) << (8 * i);
        }
        *val = v;
        return;
    }
    for (unsigned i = 0; i < size && off + i < RTL8139_IO_SIZE; i++) {
        rtl_write_byte(r, off + i, (uint8_t)(*val >> (8 * i)));
    }
    /* Side effects once the whole access is in. */
    if (off <= R_TSD0 + 15 && off + size > R_TSD0) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned at = R_TSD0 + 4 * i;

            /* The driver writes the size word with OWN clear: that starts the send. */
            if (off <= at && off + size > at && !(r->tsd[i] & TSD_OWN)) {
                r->tsd[i] &= ~(uint32_t)TSD_TOK;
                rtl_transmit(r, i);
            }
        }
    }
    if (off <= R_ISR + 1 && off + size > R_IMR) {
        rtl_update_irq(r);
    }
    if (off <= R_RCR + 3 && off + size > R_RCR) {
        /* A new ring length keeps the offsets inside it. */
        r->rx_read &= rtl_ring_len(r) - 1;
        r->rx_write &= rtl_ring_len(r) - 1;
    }
}

static int rtl_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_rtl8139 *r = dev;

    if (!r->io_on || port < r->io_addr || port >= r->io_addr + RTL8139_IO_SIZE) {
        return VMM_NOT_MINE;
    }
    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    rtl_access(r, (unsigned)(port - r->io_addr), size, write, val);
    if (!write && size < 4) {
        *val &= (1u << (8 * size)) - 1;
    }
    return VMM_HANDLED;
}

static int rtl_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct vmm_rtl8139 *r = dev;
    uint32_t v = (uint32_t)*val;

    if (!r->mem_on || gpa < r->mem_addr || gpa - r->mem_addr >= RTL8139_IO_SIZE || size > 4) {
        if (!write) {
            *val = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
        }
        return VMM_HANDLED;
    }
    rtl_access(r, (unsigned)(gpa - r->mem_addr), size, write, &v);
    if (!write) {
        *val = size < 4 ? v & ((1u << (8 * size)) - 1) : v;
    }
    return VMM_HANDLED;
}

static void rtl_bar_changed(void *ctx, unsigned bar, uint64_t addr, bool enabled)
{
    struct vmm_rtl8139 *r = ctx;
    uint64_t home = bar == 0 ? r->io_base : r->mmio_base;

    if (bar == 0) {
        r->io_addr = addr;
        r->io_on = enabled;
    } else {
        r->mem_addr = addr;
        r->mem_on = enabled;
    }
    if (enabled && addr != home && !r->moved_logged) {
        r->moved_logged = true;
        RTL_LOG(r, LOG_LVL_WARN, "rtl8139 %s: BAR%u moved to 0x%llx: only 0x%llx decodes",
                r->port.name, bar, (unsigned long long)addr, (unsigned long long)home);
    }
}

static void rtl_dev_reset(void *dev)
{
    rtl_power_on(dev);
}

static void rtl_destroy(void *dev)
{
    struct vmm_rtl8139 *r = dev;

    vnic_port_detach(&r->port);
    vmm_host()->free(r);
}

int vmm_dev_rtl8139_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                           const struct vmm_nic_dev_config *cfg, struct vmm_rtl8139 **out)
{
    struct vmm_rtl8139 *r;
    struct vmm_pci_func_config fc = {
        .vendor = 0x10EC,
        .device = 0x8139,
        .revision = 0x10,
        .class_code = 0x020000,
        .subsys_vendor = 0x10EC,
        .subsys_id = 0x8139,
        .command = VMM_PCI_CMD_IO | VMM_PCI_CMD_MEM,
        .irq_pin = 1,
        .irq_line = cfg->irq,
        .bars = {[0] = {.type = VMM_PCI_BAR_IO, .size = RTL8139_IO_SIZE, .addr = cfg->io_base},
                 [1] = {.type = VMM_PCI_BAR_MEM32,
                        .size = RTL8139_IO_SIZE,
                        .addr = cfg->mmio_base}},
        .bar_changed = rtl_bar_changed,
    };
    int rc;

    if (pci == NULL || cfg->name == NULL || (cfg->io_base & (RTL8139_IO_SIZE - 1)) != 0 ||
        cfg->mmio_base == 0 || (cfg->mmio_base & (RTL8139_IO_SIZE - 1)) != 0) {
        return -EINVAL;
    }
    r = vmm_host()->zalloc(sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->port.vm = vm;
    r->irq = cfg->irq;
    r->io_base = cfg->io_base;
    r->mmio_base = cfg->mmio_base;
    str_copy(r->port.name, cfg->name, sizeof(r->port.name));
    memcpy(r->port.mac, cfg->mac, 6);
    r->eeprom[0] = 0x8129;
    r->eeprom[1] = 0x10EC;
    r->eeprom[2] = 0x8139;
    for (unsigned i = 0; i < 3; i++) {
        r->eeprom[7 + i] = (uint16_t)(cfg->mac[2 * i] | cfg->mac[2 * i + 1] << 8);
    }
    rtl_power_on(r);
    fc.ctx = r;
    r->reg.name = r->port.name;
    r->reg.dev = r;
    r->reg.io[0] =
        (struct vmm_dev_io_range){.base = cfg->io_base, .count = RTL8139_IO_SIZE, .fn = rtl_io};
    r->reg.nio = 1;
    r->reg.mmio[0] =
        (struct vmm_dev_mmio_range){.base = cfg->mmio_base, .len = RTL8139_IO_SIZE, .fn = rtl_mmio};
    r->reg.nmmio = 1;
    r->reg.irqs[0] = cfg->irq;
    r->reg.nirqs = 1;
    r->reg.reset = rtl_dev_reset;
    r->reg.destroy = rtl_destroy;
    rc = vmm_dev_register(vm, &r->reg);
    if (rc < 0) {
        RTL_LOG(r, LOG_LVL_ERROR, "rtl8139 %s: register failed: %d", r->port.name, rc);
        vmm_host()->free(r);
        return rc;
    }
    /* The VM owns the device from here (see virtio_net.c for the order). */
    rc = vmm_pci_add_func(pci, cfg->slot, 0, &fc, &r->pci);
    if (rc < 0) {
        RTL_LOG(r, LOG_LVL_ERROR, "rtl8139 %s: PCI slot %u: %d", r->port.name, cfg->slot, rc);
        return rc;
    }
    vnic_port_init(&r->port, vm, "rtl8139", cfg->name, cfg->mac, vmm_rtl8139_rx, r);
    RTL_LOG(r, LOG_LVL_INFO,
            "rtl8139 %s: 00:%02x.0 io 0x%x mmio 0x%llx irq %u mac %02x:%02x:%02x:%02x:%02x:%02x",
            r->port.name, cfg->slot, cfg->io_base, (unsigned long long)cfg->mmio_base, cfg->irq,
            cfg->mac[0], cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
    if (out != NULL) {
        *out = r;
    }
    return 0;
}

const struct vmm_nic_stats *vmm_rtl8139_stats(const struct vmm_rtl8139 *r)
{
    return &r->port.stats;
}
