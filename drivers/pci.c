/* PCI enumeration (configuration mechanism #1): every function, its IDs, class, BARs and IRQ. */
#include "pci.h"
#include "../kernel/cpu.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define CFG_ADDR 0xCF8
#define CFG_DATA 0xCFC

#define OFF_VENDOR   0x00
#define OFF_COMMAND  0x04
#define OFF_CLASSREV 0x08
#define OFF_HEADER   0x0E
#define OFF_BAR0     0x10
#define OFF_IRQ_LINE 0x3C
#define OFF_IRQ_PIN  0x3D

#define CMD_IO     0x1
#define CMD_MEM    0x2
#define CMD_MASTER 0x4

static struct pci_device g_devs[PCI_MAX_DEVICES];
static size_t g_ndevs;
static size_t g_dropped;

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return 0x80000000u | ((uint32_t)bus << 16) | ((uint32_t)(dev & 31) << 11) |
           ((uint32_t)(fn & 7) << 8) | (off & 0xFC);
}

uint32_t drv_pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    outl(CFG_ADDR, cfg_addr(bus, dev, fn, off));
    return inl(CFG_DATA);
}

uint16_t drv_pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return (uint16_t)(drv_pci_read32(bus, dev, fn, off) >> ((off & 2) * 8));
}

uint8_t drv_pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
    return (uint8_t)(drv_pci_read32(bus, dev, fn, off) >> ((off & 3) * 8));
}

void drv_pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
    outl(CFG_ADDR, cfg_addr(bus, dev, fn, off));
    outl(CFG_DATA, v);
}

void drv_pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v)
{
    outl(CFG_ADDR, cfg_addr(bus, dev, fn, off));
    outw((uint16_t)(CFG_DATA + (off & 2)), v);
}

/* Sizes BAR i (decoding is off meanwhile so the probe value never claims addresses).
 * Returns how many BAR slots it used (2 for a 64-bit BAR). */
static int probe_bar(struct pci_device *d, int i)
{
    uint8_t off = (uint8_t)(OFF_BAR0 + 4 * i);
    uint32_t orig = drv_pci_read32(d->bus, d->dev, d->fn, off);
    uint32_t mask;
    struct pci_bar *bar = &d->bars[i];

    drv_pci_write32(d->bus, d->dev, d->fn, off, 0xFFFFFFFFu);
    mask = drv_pci_read32(d->bus, d->dev, d->fn, off);
    drv_pci_write32(d->bus, d->dev, d->fn, off, orig);

    if (mask == 0 || mask == 0xFFFFFFFFu) {
        bar->kind = PCI_BAR_NONE;
        return 1;
    }
    if (orig & 1) {
        bar->kind = PCI_BAR_IO;
        bar->addr = orig & ~3u;
        bar->size = (uint16_t)(~(mask & ~3u) + 1);
        return 1;
    }
    bar->prefetchable = (orig & 8) != 0;
    bar->addr = orig & ~0xFu;
    bar->size = (uint32_t)(~(mask & ~0xFu) + 1);
    if (((orig >> 1) & 3) == 2 && i + 1 < PCI_NUM_BARS) {
        uint8_t hoff = (uint8_t)(off + 4);
        uint32_t horig = drv_pci_read32(d->bus, d->dev, d->fn, hoff);
        uint32_t hmask;
        uint64_t full;

        drv_pci_write32(d->bus, d->dev, d->fn, hoff, 0xFFFFFFFFu);
        hmask = drv_pci_read32(d->bus, d->dev, d->fn, hoff);
        drv_pci_write32(d->bus, d->dev, d->fn, hoff, horig);
        bar->kind = PCI_BAR_MEM64;
        bar->addr |= (uint64_t)horig << 32;
        full = ((uint64_t)hmask << 32) | (mask & ~0xFu);
        bar->size = ~full + 1;
        d->bars[i + 1].kind = PCI_BAR_NONE;
        return 2;
    }
    bar->kind = PCI_BAR_MEM32;
    return 1;
}

static void probe_function(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id)
{
    struct pci_device *d;
    uint32_t classrev;
    uint16_t cmd;
    int nbars;

    if (g_ndevs >= PCI_MAX_DEVICES) {
        g_dropped++;
        return;
    }
    d = &g_devs[g_ndevs++];
    memset(d, 0, sizeof(*d));
    d->bus = bus;
    d->dev = dev;
    d->fn = fn;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    classrev = drv_pci_read32(bus, dev, fn, OFF_CLASSREV);
    d->class_code = (uint8_t)(classrev >> 24);
    d->subclass = (uint8_t)(classrev >> 16);
    d->prog_if = (uint8_t)(classrev >> 8);
    d->revision = (uint8_t)classrev;
    d->header_type = drv_pci_read8(bus, dev, fn, OFF_HEADER) & 0x7F;
    d->irq_line = drv_pci_read8(bus, dev, fn, OFF_IRQ_LINE);
    d->irq_pin = drv_pci_read8(bus, dev, fn, OFF_IRQ_PIN);

    /* Only plain devices (header type 0) have six BARs; bridges have two. */
    nbars = d->header_type == 0 ? 6 : (d->header_type == 1 ? 2 : 0);
    if (nbars == 0) {
        return;
    }
    cmd = drv_pci_read16(bus, dev, fn, OFF_COMMAND);
    drv_pci_write16(bus, dev, fn, OFF_COMMAND, (uint16_t)(cmd & ~(CMD_IO | CMD_MEM)));
    for (int i = 0; i < nbars;) {
        i += probe_bar(d, i);
    }
    drv_pci_write16(bus, dev, fn, OFF_COMMAND, cmd);
}

size_t drv_pci_enumerate(void)
{
    g_ndevs = 0;
    g_dropped = 0;
    for (unsigned bus = 0; bus < 256; bus++) {
        for (uint8_t dev = 0; dev < 32; dev++) {
            uint32_t id = drv_pci_read32((uint8_t)bus, dev, 0, OFF_VENDOR);
            uint8_t nfn;

            if ((id & 0xFFFF) == 0xFFFF) {
                continue;
            }
            nfn = (drv_pci_read8((uint8_t)bus, dev, 0, OFF_HEADER) & 0x80) ? 8 : 1;
            for (uint8_t fn = 0; fn < nfn; fn++) {
                if (fn > 0) {
                    id = drv_pci_read32((uint8_t)bus, dev, fn, OFF_VENDOR);
                    if ((id & 0xFFFF) == 0xFFFF) {
                        continue;
                    }
                }
                probe_function((uint8_t)bus, dev, fn, id);
            }
        }
    }
    if (g_dropped > 0) {
        LOG_WARN(PCI, "%zu functions not recorded (table holds %d)", g_dropped, PCI_MAX_DEVICES);
    }
    return g_ndevs;
}

size_t drv_pci_count(void)
{
    return g_ndevs;
}

const struct pci_device *drv_pci_get(size_t i)
{
    return i < g_ndevs ? &g_devs[i] : NULL;
}

const struct pci_device *drv_pci_find(uint16_t vendor, uint16_t device, size_t nth)
{
    for (size_t i = 0; i < g_ndevs; i++) {
        if (g_devs[i].vendor == vendor && g_devs[i].device == device) {
            if (nth == 0) {
                return &g_devs[i];
            }
            nth--;
        }
    }
    return NULL;
}

void drv_pci_enable(const struct pci_device *d)
{
    uint16_t cmd = drv_pci_read16(d->bus, d->dev, d->fn, OFF_COMMAND);

    drv_pci_write16(d->bus, d->dev, d->fn, OFF_COMMAND,
                    (uint16_t)(cmd | CMD_IO | CMD_MEM | CMD_MASTER));
}

const char *drv_pci_class_name(uint8_t class_code, uint8_t subclass)
{
    switch (class_code) {
    case 0x01:
        return subclass == 0x01 ? "IDE controller" : "storage";
    case 0x02:
        return subclass == 0x00 ? "ethernet" : "network";
    case 0x03:
        return "display";
    case 0x04:
        return "multimedia";
    case 0x05:
        return "memory";
    case 0x06:
        switch (subclass) {
        case 0x00:
            return "host bridge";
        case 0x01:
            return "ISA bridge";
        case 0x04:
            return "PCI bridge";
        case 0x80:
            return "bridge";
        default:
            return "bridge";
        }
    case 0x07:
        return "communication";
    case 0x08:
        return "system";
    case 0x0C:
        return subclass == 0x03 ? "USB" : "serial bus";
    default:
        return "other";
    }
}

int drv_pci_describe(const struct pci_device *d, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%02x:%02x.%x %04x:%04x class %02x.%02x.%02x %-14s", d->bus, d->dev,
                     d->fn, d->vendor, d->device, d->class_code, d->subclass, d->prog_if,
                     drv_pci_class_name(d->class_code, d->subclass));

    if (d->irq_pin != 0 && d->irq_line != 0xFF) {
        n += snprintf(buf + MIN((size_t)n, len), len - MIN((size_t)n, len), " irq %u", d->irq_line);
    }
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *b = &d->bars[i];
        size_t at = MIN((size_t)n, len);

        if (b->kind == PCI_BAR_NONE) {
            continue;
        }
        n += snprintf(buf + at, len - at, " bar%d %s %#llx/%#llx", i,
                      b->kind == PCI_BAR_IO ? "io" : (b->kind == PCI_BAR_MEM64 ? "mem64" : "mem"),
                      (unsigned long long)b->addr, (unsigned long long)b->size);
    }
    return n;
}
