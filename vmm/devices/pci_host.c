/* PCI host bridge with configuration mechanism #1 and a bus-0 function table (pci_host.h). */
#include "pci_host.h"
#include "../../kernel/bytes.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define PCI_ADDR_PORT 0xCF8
#define PCI_RCR_PORT  0xCF9
#define PCI_DATA_PORT 0xCFC
#define PCI_ENABLE    0x80000000u

#define CFG_VENDOR    0x00
#define CFG_DEVICE    0x02
#define CFG_COMMAND   0x04
#define CFG_STATUS    0x06
#define CFG_REVISION  0x08
#define CFG_CLASS     0x09 /* 3 bytes: prog-if, subclass, class */
#define CFG_CACHELINE 0x0C
#define CFG_LATENCY   0x0D
#define CFG_HEADER    0x0E
#define CFG_BAR0      0x10
#define CFG_SUBSYS_V  0x2C
#define CFG_SUBSYS_ID 0x2E
#define CFG_CAP_PTR   0x34
#define CFG_IRQ_LINE  0x3C
#define CFG_IRQ_PIN   0x3D
#define CFG_HDR_END   0x40

#define STATUS_CAP_LIST 0x0010
#define CMD_WMASK       0x0547 /* IO, memory, master, parity, SERR, INTx disable */

struct vmm_pci_func {
    struct vmm_pci_host *host;
    unsigned dev;
    unsigned fn;
    struct vmm_pci_func_config cfg;
    uint8_t bytes[VMM_PCI_CFG_SIZE];
    uint8_t wmask[VMM_PCI_CFG_SIZE];
    uint8_t header[CFG_HDR_END]; /* the header as created, for reset */
    uint64_t bar_addr[6];        /* what bar_changed last reported */
    bool bar_on[6];
};

struct vmm_pci_host {
    struct vmm_vm *vm;
    uint32_t addr; /* 0xCF8 */
    uint8_t rcr;   /* 0xCF9 */
    struct vmm_pci_func *funcs[VMM_PCI_DEVS][VMM_PCI_FUNCS];
    vmm_pci_msi_fn msi; /* where functions' MSI writes go (NULL: no MSI) */
    void *msi_ctx;
    struct vmm_dev_reg reg;
};

#define PCI_LOG(h, lvl, ...) LOG_VM(PCI, lvl, vmm_vm_name((h)->vm), __VA_ARGS__)

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

uint8_t *vmm_pci_func_cfg(struct vmm_pci_func *f)
{
    return f->bytes;
}

uint8_t *vmm_pci_func_wmask(struct vmm_pci_func *f)
{
    return f->wmask;
}

uint16_t vmm_pci_func_command(const struct vmm_pci_func *f)
{
    return (uint16_t)(f->bytes[CFG_COMMAND] | f->bytes[CFG_COMMAND + 1] << 8);
}

uint64_t vmm_pci_func_bar(const struct vmm_pci_func *f, unsigned bar, bool *enabled)
{
    uint16_t cmd = vmm_pci_func_command(f);
    uint32_t lo;
    uint64_t addr;
    bool on;

    *enabled = false;
    if (bar >= 6) {
        return 0;
    }
    lo = rd32(&f->bytes[CFG_BAR0 + 4 * bar]);
    switch (f->cfg.bars[bar].type) {
    case VMM_PCI_BAR_IO:
        addr = lo & ~3u;
        on = cmd & VMM_PCI_CMD_IO;
        break;
    case VMM_PCI_BAR_MEM32:
        addr = lo & ~0xFu;
        on = cmd & VMM_PCI_CMD_MEM;
        break;
    case VMM_PCI_BAR_MEM64:
        addr = (lo & ~0xFu) | (uint64_t)rd32(&f->bytes[CFG_BAR0 + 4 * (bar + 1)]) << 32;
        on = cmd & VMM_PCI_CMD_MEM;
        break;
    default:
        return 0;
    }
    *enabled = on && addr != 0;
    return addr;
}

void vmm_pci_host_set_msi(struct vmm_pci_host *h, vmm_pci_msi_fn fn, void *ctx)
{
    h->msi = fn;
    h->msi_ctx = ctx;
}

bool vmm_pci_host_has_msi(const struct vmm_pci_host *h)
{
    return h->msi != NULL;
}

int vmm_pci_func_msi(struct vmm_pci_func *f, uint64_t addr, uint32_t data)
{
    struct vmm_pci_host *h = f->host;

    /* An MSI is a memory write by the function: no bus master, no write. */
    if (!(vmm_pci_func_command(f) & VMM_PCI_CMD_MASTER)) {
        return -EPERM;
    }
    if (h->msi == NULL) {
        return -ENODEV;
    }
    return h->msi(h->msi_ctx, addr, data) ? 0 : -EINVAL;
}

/* Tells the device about BARs whose decoding changed. */
static void func_check_bars(struct vmm_pci_func *f)
{
    for (unsigned i = 0; i < 6; i++) {
        bool on;
        uint64_t addr = vmm_pci_func_bar(f, i, &on);

        if (f->cfg.bars[i].type == VMM_PCI_BAR_NONE ||
            (addr == f->bar_addr[i] && on == f->bar_on[i])) {
            continue;
        }
        f->bar_addr[i] = addr;
        f->bar_on[i] = on;
        PCI_LOG(f->host, LOG_LVL_DEBUG, "00:%02x.%u BAR%u at 0x%llx %s", f->dev, f->fn, i,
                (unsigned long long)addr, on ? "enabled" : "disabled");
        if (f->cfg.bar_changed != NULL) {
            f->cfg.bar_changed(f->cfg.ctx, i, addr, on);
        }
    }
}

static int check_config(const struct vmm_pci_func_config *c)
{
    if (c->irq_pin > 4) {
        return -EINVAL;
    }
    if (c->cap_ptr != 0 && (c->cap_ptr < CFG_HDR_END || (c->cap_ptr & 3) != 0)) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < 6; i++) {
        const struct vmm_pci_bar *b = &c->bars[i];

        switch (b->type) {
        case VMM_PCI_BAR_NONE:
            break;
        case VMM_PCI_BAR_IO:
            if (!is_pow2(b->size) || b->size < 4 || b->size > 256) {
                return -EINVAL;
            }
            break;
        case VMM_PCI_BAR_MEM32:
            if (!is_pow2(b->size) || b->size < 16 || b->size > (1ULL << 31)) {
                return -EINVAL;
            }
            break;
        case VMM_PCI_BAR_MEM64:
            if (i == 5 || c->bars[i + 1].type != VMM_PCI_BAR_NONE || !is_pow2(b->size) ||
                b->size < 16 || b->size > (1ULL << 63)) {
                return -EINVAL;
            }
            i++; /* the upper half */
            break;
        default:
            return -EINVAL;
        }
    }
    return 0;
}

static void func_build(struct vmm_pci_func *f)
{
    const struct vmm_pci_func_config *c = &f->cfg;
    uint8_t *b = f->bytes;
    uint8_t *m = f->wmask;

    wr16(&b[CFG_VENDOR], c->vendor);
    wr16(&b[CFG_DEVICE], c->device);
    wr16(&b[CFG_COMMAND], c->command & CMD_WMASK);
    wr16(&m[CFG_COMMAND], CMD_WMASK);
    wr16(&b[CFG_STATUS], c->cap_ptr != 0 ? STATUS_CAP_LIST : 0);
    b[CFG_REVISION] = c->revision;
    b[CFG_CLASS] = (uint8_t)c->class_code;
    b[CFG_CLASS + 1] = (uint8_t)(c->class_code >> 8);
    b[CFG_CLASS + 2] = (uint8_t)(c->class_code >> 16);
    m[CFG_CACHELINE] = 0xFF;
    m[CFG_LATENCY] = 0xFF;
    for (unsigned i = 0; i < 6; i++) {
        const struct vmm_pci_bar *bar = &c->bars[i];
        uint64_t mask = ~(bar->size - 1);
        uint8_t *reg = &b[CFG_BAR0 + 4 * i];
        uint8_t *wm = &m[CFG_BAR0 + 4 * i];

        switch (bar->type) {
        case VMM_PCI_BAR_IO:
            wr32(reg, ((uint32_t)bar->addr & (uint32_t)mask & ~3u) | 0x1);
            wr32(wm, (uint32_t)mask & ~3u);
            break;
        case VMM_PCI_BAR_MEM32:
            wr32(reg, ((uint32_t)bar->addr & (uint32_t)mask & ~0xFu) | (bar->prefetch ? 0x8 : 0));
            wr32(wm, (uint32_t)mask & ~0xFu);
            break;
        case VMM_PCI_BAR_MEM64:
            wr32(reg,
                 ((uint32_t)bar->addr & (uint32_t)mask & ~0xFu) | 0x4 | (bar->prefetch ? 0x8 : 0));
            wr32(wm, (uint32_t)mask & ~0xFu);
            wr32(reg + 4, (uint32_t)((bar->addr & mask) >> 32));
            wr32(wm + 4, (uint32_t)(mask >> 32));
            i++;
            break;
        default:
            break;
        }
    }
    wr16(&b[CFG_SUBSYS_V], c->subsys_vendor);
    wr16(&b[CFG_SUBSYS_ID], c->subsys_id);
    b[CFG_CAP_PTR] = c->cap_ptr;
    b[CFG_IRQ_LINE] = c->irq_line;
    m[CFG_IRQ_LINE] = 0xFF;
    b[CFG_IRQ_PIN] = c->irq_pin;
}

/* Function 0 announces the other functions of its device. */
static void host_update_multifn(struct vmm_pci_host *h, unsigned dev)
{
    struct vmm_pci_func *f0 = h->funcs[dev][0];
    bool multi = false;

    if (f0 == NULL) {
        return;
    }
    for (unsigned fn = 1; fn < VMM_PCI_FUNCS; fn++) {
        multi |= h->funcs[dev][fn] != NULL;
    }
    f0->bytes[CFG_HEADER] = multi ? 0x80 : 0x00;
    f0->header[CFG_HEADER] = f0->bytes[CFG_HEADER];
}

int vmm_pci_add_func(struct vmm_pci_host *h, unsigned dev, unsigned fn,
                     const struct vmm_pci_func_config *cfg, struct vmm_pci_func **out)
{
    struct vmm_pci_func *f;
    int rc;

    if (dev >= VMM_PCI_DEVS || fn >= VMM_PCI_FUNCS || cfg == NULL) {
        return -EINVAL;
    }
    rc = check_config(cfg);
    if (rc < 0) {
        PCI_LOG(h, LOG_LVL_ERROR, "00:%02x.%u: bad function config (BAR, pin or cap)", dev, fn);
        return rc;
    }
    if (h->funcs[dev][fn] != NULL) {
        PCI_LOG(h, LOG_LVL_ERROR, "00:%02x.%u is taken", dev, fn);
        return -EEXIST;
    }
    f = vmm_host()->zalloc(sizeof(*f));
    if (f == NULL) {
        return -ENOMEM;
    }
    f->host = h;
    f->dev = dev;
    f->fn = fn;
    f->cfg = *cfg;
    func_build(f);
    memcpy(f->header, f->bytes, sizeof(f->header));
    h->funcs[dev][fn] = f;
    host_update_multifn(h, dev);
    func_check_bars(f);
    PCI_LOG(h, LOG_LVL_DEBUG, "00:%02x.%u: %04x:%04x class %06x", dev, fn, cfg->vendor, cfg->device,
            cfg->class_code);
    if (out != NULL) {
        *out = f;
    }
    return 0;
}

static uint32_t func_cfg_read(struct vmm_pci_func *f, unsigned off, unsigned size)
{
    uint32_t v = 0;

    if (f->cfg.cfg_read != NULL && f->cfg.cfg_read(f->cfg.ctx, off, size, &v) == VMM_HANDLED) {
        return v;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)f->bytes[off + i] << (8 * i);
    }
    return v;
}

static void func_cfg_write(struct vmm_pci_func *f, unsigned off, unsigned size, uint32_t v)
{
    if (f->cfg.cfg_write == NULL || f->cfg.cfg_write(f->cfg.ctx, off, size, v) != VMM_HANDLED) {
        for (unsigned i = 0; i < size; i++) {
            uint8_t m = f->wmask[off + i];
            uint8_t b = (uint8_t)(v >> (8 * i));

            f->bytes[off + i] = (uint8_t)((f->bytes[off + i] & ~m) | (b & m));
        }
    }
    func_check_bars(f);
}

static uint32_t size_mask(unsigned size)
{
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

/* The function the address register selects, NULL for none (all ones). */
static struct vmm_pci_func *host_selected(struct vmm_pci_host *h)
{
    if (!(h->addr & PCI_ENABLE) || ((h->addr >> 16) & 0xFF) != 0) {
        return NULL;
    }
    return h->funcs[(h->addr >> 11) & 0x1F][(h->addr >> 8) & 7];
}

static int pci_host_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_pci_host *h = dev;
    unsigned off;
    struct vmm_pci_func *f;

    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    if (port >= PCI_DATA_PORT && port < PCI_DATA_PORT + 4) {
        off = port - PCI_DATA_PORT;
        f = host_selected(h);
        if (f == NULL || off + size > 4) {
            if (f != NULL) {
                PCI_LOG(h, LOG_LVL_DEBUG, "config access of %u bytes at 0x%x crosses a dword", size,
                        port);
            }
            if (!write) {
                *val = size_mask(size);
            }
            return VMM_HANDLED;
        }
        off += h->addr & 0xFC;
        if (write) {
            func_cfg_write(f, off, size, *val & size_mask(size));
        } else {
            *val = func_cfg_read(f, off, size);
        }
        return VMM_HANDLED;
    }
    if (port == PCI_ADDR_PORT && size == 4) {
        if (write) {
            h->addr = *val & ~3u;
        } else {
            *val = h->addr;
        }
        return VMM_HANDLED;
    }
    if (port == PCI_RCR_PORT && size == 1) {
        if (!write) {
            *val = h->rcr;
        } else if (*val & 0x04) {
            PCI_LOG(h, LOG_LVL_INFO, "guest requested a reset (0xCF9 = 0x%02x)", *val & 0xFF);
            vmm_vm_request_reset(h->vm);
        } else {
            h->rcr = *val & 0x02;
        }
        return VMM_HANDLED;
    }
    if (port >= PCI_ADDR_PORT && port < PCI_ADDR_PORT + 4) {
        PCI_LOG(h, LOG_LVL_DEBUG, "%u-byte %s at 0x%x ignored", size, write ? "write" : "read",
                port);
        if (!write) {
            *val = size_mask(size);
        }
        return VMM_HANDLED;
    }
    return VMM_NOT_MINE;
}

static void pci_host_reset(void *dev)
{
    struct vmm_pci_host *h = dev;

    h->addr = 0;
    h->rcr = 0;
    for (unsigned d = 0; d < VMM_PCI_DEVS; d++) {
        for (unsigned fn = 0; fn < VMM_PCI_FUNCS; fn++) {
            struct vmm_pci_func *f = h->funcs[d][fn];

            if (f != NULL) {
                memcpy(f->bytes, f->header, sizeof(f->header));
                func_check_bars(f);
            }
        }
    }
}

static void pci_host_destroy(void *dev)
{
    struct vmm_pci_host *h = dev;

    for (unsigned d = 0; d < VMM_PCI_DEVS; d++) {
        for (unsigned fn = 0; fn < VMM_PCI_FUNCS; fn++) {
            if (h->funcs[d][fn] != NULL) {
                vmm_host()->free(h->funcs[d][fn]);
            }
        }
    }
    vmm_host()->free(h);
}

int vmm_dev_pci_host_create(struct vmm_vm *vm, struct vmm_pci_host **out)
{
    static const struct vmm_pci_func_config bridge = {
        .vendor = 0x8086,
        .device = 0x1237,
        .revision = 0x02,
        .class_code = 0x060000,
        .command = VMM_PCI_CMD_MEM | VMM_PCI_CMD_MASTER,
    };
    struct vmm_pci_host *h = vmm_host()->zalloc(sizeof(*h));
    struct vmm_pci_func *f;
    int rc;

    if (h == NULL) {
        return -ENOMEM;
    }
    h->vm = vm;
    rc = vmm_pci_add_func(h, 0, 0, &bridge, &f);
    if (rc < 0) {
        pci_host_destroy(h);
        return rc;
    }
    /* i440FX registers (PAM, SMRAM, ...) are plain storage. */
    memset(&f->wmask[CFG_HDR_END], 0xFF, VMM_PCI_CFG_SIZE - CFG_HDR_END);

    h->reg.name = "pci-host";
    h->reg.dev = h;
    h->reg.io[0] = (struct vmm_dev_io_range){.base = PCI_ADDR_PORT, .count = 4, .fn = pci_host_io};
    h->reg.io[1] = (struct vmm_dev_io_range){.base = PCI_DATA_PORT, .count = 4, .fn = pci_host_io};
    h->reg.nio = 2;
    h->reg.reset = pci_host_reset;
    h->reg.destroy = pci_host_destroy;
    rc = vmm_dev_register(vm, &h->reg);
    if (rc < 0) {
        LOG_VM(PCI, LOG_LVL_ERROR, vmm_vm_name(vm), "pci-host: register failed: %d", rc);
        pci_host_destroy(h);
        return rc;
    }
    if (out != NULL) {
        *out = h;
    }
    return 0;
}
