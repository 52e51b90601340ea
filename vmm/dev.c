/* The device side of the core (vmm_dev.h): registration of device tables, routing of
 * intercepted IO and MMIO accesses, interrupt lines to the line controllers, guest memory
 * access for devices, and the VM console's byte paths. */
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define IRQ_LINES 24

/* vmm_dev_reg.irq_high has one bit per line. */
_Static_assert(IRQ_LINES <= 32, "irq_high holds one bit per line");

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static int check_table(const struct vmm_vm *vm, const struct vmm_dev_reg *reg)
{
    if (reg->name == NULL || reg->name[0] == '\0' || reg->nio > VMM_DEV_MAX_IO ||
        reg->nmmio > VMM_DEV_MAX_MMIO || reg->nirqs > VMM_DEV_MAX_IRQ) {
        return -EINVAL;
    }
    if (reg->nio == 0 && reg->nmmio == 0 && reg->poll == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; i < reg->nio; i++) {
        const struct vmm_dev_io_range *r = &reg->io[i];

        if (r->count == 0 || (uint32_t)r->base + r->count > 0x10000u || r->fn == NULL) {
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (ranges_overlap(r->base, r->count, reg->io[j].base, reg->io[j].count)) {
                return -EINVAL;
            }
        }
    }
    for (size_t i = 0; i < reg->nmmio; i++) {
        const struct vmm_dev_mmio_range *r = &reg->mmio[i];

        if (r->len == 0 || r->base + r->len < r->base || r->fn == NULL) {
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (ranges_overlap(r->base, r->len, reg->mmio[j].base, reg->mmio[j].len)) {
                return -EINVAL;
            }
        }
        /* MMIO may not shadow RAM: the nested page tables map RAM, so it would never exit. */
        if (ranges_overlap(r->base, r->len, 0, GMEM_VGA_START) ||
            (vm->mem.size > GMEM_VGA_END &&
             ranges_overlap(r->base, r->len, GMEM_VGA_END, vm->mem.size - GMEM_VGA_END))) {
            return -EEXIST;
        }
    }
    for (size_t i = 0; i < reg->nirqs; i++) {
        if (reg->irqs[i] >= IRQ_LINES) {
            return -EINVAL;
        }
    }
    return 0;
}

static int check_conflicts(const struct vmm_vm *vm, const struct vmm_dev_reg *reg)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        const struct vmm_dev_reg *o = &vm->devs[d];

        if (strcmp(o->name, reg->name) == 0) {
            return -EEXIST;
        }
        for (size_t i = 0; i < reg->nio; i++) {
            for (size_t j = 0; j < o->nio; j++) {
                if (ranges_overlap(reg->io[i].base, reg->io[i].count, o->io[j].base,
                                   o->io[j].count)) {
                    return -EEXIST;
                }
            }
        }
        for (size_t i = 0; i < reg->nmmio; i++) {
            for (size_t j = 0; j < o->nmmio; j++) {
                if (ranges_overlap(reg->mmio[i].base, reg->mmio[i].len, o->mmio[j].base,
                                   o->mmio[j].len)) {
                    return -EEXIST;
                }
            }
        }
    }
    return 0;
}

int vmm_dev_register(struct vmm_vm *vm, const struct vmm_dev_reg *reg)
{
    int rc;

    if (vm == NULL || reg == NULL) {
        return -EINVAL;
    }
    rc = check_table(vm, reg);
    if (rc == 0) {
        rc = check_conflicts(vm, reg);
    }
    if (rc == 0 && vm->ndevs >= VMM_MAX_DEVS) {
        rc = -ENOSPC;
    }
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "device %s: registration refused (%d)",
               reg->name != NULL ? reg->name : "(unnamed)", rc);
        return rc;
    }
    vm->devs[vm->ndevs] = *reg;
    vm->devs[vm->ndevs].irq_high = 0; /* asserts nothing until it says so */
    vm->devs[vm->ndevs].accesses = 0;
    vm->devs[vm->ndevs].access_ns = 0;
    vm->ndevs++;
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "device %s: %zu port ranges, %zu MMIO ranges", reg->name,
           reg->nio, reg->nmmio);
    return 0;
}

/* Whether a registered device holds the line asserted (its table entry says so). */
static bool line_held(const struct vmm_vm *vm, unsigned line)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].irq_high & (1u << line)) {
            return true;
        }
    }
    return false;
}

/* Every line controller gets the line's level, in registration order. */
static void line_apply(struct vmm_vm *vm, unsigned line, bool level)
{
    for (size_t i = 0; i < vm->nintc_lines; i++) {
        vm->intc_lines[i].ops->set_line(vm->intc_lines[i].intc, line, level);
    }
}

/* Posted requests. A device on another CPU than the vCPU's (a NIC model fed by the host's
 * network CPU) must not change the interrupt controllers while the guest runs: a virtual
 * interrupt the guest took is acknowledged only at its next exit (inject.c), and a request
 * for the same vector set meanwhile would merge into it and be lost. So the request waits in
 * the VM and the vCPU's CPU, kicked, applies it before its next entry: the controllers only
 * ever change between the vCPU's exits, as with one CPU. */
static void line_out(struct vmm_vm *vm, unsigned line, bool level)
{
    uint32_t bit = 1u << line;

    if (!vmm_vm_elsewhere(vm)) {
        line_apply(vm, line, level);
        return;
    }
    vm->posted.changed |= bit;
    if (level) {
        vm->posted.raised |= bit;
        vm->posted.level |= bit;
    } else {
        vm->posted.level &= ~bit;
    }
    vmm_vm_kick(vm);
}

bool vmm_post_msi(struct vmm_vm *vm, bool (*fn)(void *ctx, uint64_t addr, uint32_t data), void *ctx,
                  uint64_t addr, uint32_t data)
{
    struct vmm_posted *p = &vm->posted;

    for (size_t i = 0; i < p->nmsi; i++) {
        if (p->msi[i].fn == fn && p->msi[i].ctx == ctx && p->msi[i].addr == addr &&
            p->msi[i].data == data) {
            vmm_vm_kick(vm);
            return true; /* the same message waits already: one request, as in IRR */
        }
    }
    if (p->nmsi >= VMM_POSTED_MSI) {
        if (p->dropped++ == 0) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "more than %d MSI messages waiting: dropped",
                   VMM_POSTED_MSI);
        }
        return false;
    }
    p->msi[p->nmsi].fn = fn;
    p->msi[p->nmsi].ctx = ctx;
    p->msi[p->nmsi].addr = addr;
    p->msi[p->nmsi].data = data;
    p->nmsi++;
    vmm_vm_kick(vm);
    return true;
}

void vmm_posted_apply(struct vmm_vm *vm)
{
    struct vmm_posted *p = &vm->posted;

    for (unsigned line = 0; p->changed != 0 && line < IRQ_LINES; line++) {
        uint32_t bit = 1u << line;

        if (!(p->changed & bit)) {
            continue;
        }
        if (p->raised & bit) {
            line_apply(vm, line, true);
        }
        /* A device of this CPU's may hold the line meanwhile: the device table says. */
        if (!(p->level & bit) && !line_held(vm, line)) {
            line_apply(vm, line, false);
        }
        p->changed &= ~bit;
        p->raised &= ~bit;
    }
    for (size_t i = 0; i < p->nmsi; i++) {
        if (!p->msi[i].fn(p->msi[i].ctx, p->msi[i].addr, p->msi[i].data)) {
            LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "posted MSI %#llx/%#x refused",
                   (unsigned long long)p->msi[i].addr, p->msi[i].data);
        }
    }
    p->nmsi = 0;
}

static bool declares(const struct vmm_dev_reg *reg, unsigned line)
{
    for (size_t i = 0; i < reg->nirqs; i++) {
        if (reg->irqs[i] == line) {
            return true;
        }
    }
    return false;
}

/* A line is the OR of its sources (wire-OR, the way PCI INTx lines are shared): a device's
 * asserted lines are bits in its table entry, so the line's level is one pass over the device
 * table (at most VMM_MAX_DEVS entries, no allocation), done only when a level is set. */
int vmm_dev_irq_set(struct vmm_vm *vm, const void *dev, unsigned line, bool level)
{
    struct vmm_dev_reg *src = NULL;
    uint32_t bit;
    bool others = false;

    if (vm == NULL || line >= IRQ_LINES) {
        return -EINVAL;
    }
    bit = 1u << line;
    for (size_t d = 0; d < vm->ndevs; d++) {
        struct vmm_dev_reg *reg = &vm->devs[d];

        if (src == NULL && reg->dev == dev && declares(reg, line)) {
            src = reg;
        } else if ((reg->irq_high & bit) != 0) {
            others = true;
        }
    }
    if (src == NULL) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "IRQ %u set by a device not registered on it", line);
        return -ENOENT;
    }
    if (level) {
        src->irq_high |= bit;
    } else {
        src->irq_high &= ~bit;
    }
    if (vm->nintc_lines == 0) {
        return -ENODEV;
    }
    line_out(vm, line, level || others);
    return 0;
}

int vmm_irq_set(struct vmm_vm *vm, unsigned line, bool level)
{
    if (line >= IRQ_LINES) {
        return -EINVAL;
    }
    if (vm->nintc_lines == 0) {
        return -ENODEV;
    }
    line_out(vm, line, level || line_held(vm, line));
    return 0;
}

int vmm_intc_register(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc)
{
    if (ops == NULL || (ops->set_line == NULL && ops->pending == NULL) ||
        (ops->pending == NULL) != (ops->ack == NULL) ||
        (ops->nmi_pending == NULL) != (ops->nmi_ack == NULL)) {
        return -EINVAL;
    }
    if (ops->pending != NULL && vm->intc_ops != NULL) {
        return -EEXIST;
    }
    if (ops->set_line != NULL) {
        if (vm->nintc_lines >= VMM_INTC_MAX) {
            return -ENOSPC;
        }
        vm->intc_lines[vm->nintc_lines].ops = ops;
        vm->intc_lines[vm->nintc_lines].intc = intc;
        vm->nintc_lines++;
    }
    if (ops->pending != NULL) {
        vm->intc_ops = ops;
        vm->intc = intc;
    }
    return 0;
}

int vmm_intc_take_cpu(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc,
                      const struct vmm_intc_ops **prev_ops, void **prev)
{
    if (ops == NULL || ops->pending == NULL || ops->ack == NULL ||
        (ops->nmi_pending == NULL) != (ops->nmi_ack == NULL) || prev_ops == NULL || prev == NULL) {
        return -EINVAL;
    }
    *prev_ops = vm->intc_ops;
    *prev = vm->intc;
    vm->intc_ops = ops;
    vm->intc = intc;
    return 0;
}

int vmm_guest_read(struct vmm_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    return gmem_read(&vm->mem, gpa, buf, len);
}

int vmm_guest_write(struct vmm_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    return gmem_write(&vm->mem, gpa, buf, len);
}

int vmm_guest_read16(struct vmm_vm *vm, uint64_t gpa, uint16_t *v)
{
    return gmem_read16(&vm->mem, gpa, v);
}

int vmm_guest_write16(struct vmm_vm *vm, uint64_t gpa, uint16_t v)
{
    return gmem_write16(&vm->mem, gpa, v);
}

void vmm_console_out(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
    const struct vmm_host *h = vmm_host();

    if (len > 0 && h->console_out != NULL) {
        h->console_out(vm, buf, len);
    }
}

int vmm_console_register(struct vmm_vm *vm, size_t (*rx)(void *dev, const uint8_t *buf, size_t len),
                         void *dev)
{
    if (rx == NULL) {
        return -EINVAL;
    }
    if (vm->console_rx != NULL) {
        return -EEXIST;
    }
    vm->console_rx = rx;
    vm->console_dev = dev;
    return 0;
}

size_t vmm_vm_console_write(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
    size_t n = MIN(len, sizeof(vm->console_in) - vm->console_in_len);

    memcpy(vm->console_in + vm->console_in_len, buf, n);
    vm->console_in_len += n;
    if (n > 0) {
        vmm_vm_kick(vm);
    }
    return n;
}

void vmm_console_deliver(struct vmm_vm *vm)
{
    size_t took;

    if (vm->console_in_len == 0 || vm->console_rx == NULL) {
        return;
    }
    took = vm->console_rx(vm->console_dev, vm->console_in, vm->console_in_len);
    took = MIN(took, vm->console_in_len);
    memmove(vm->console_in, vm->console_in + took, vm->console_in_len - took);
    vm->console_in_len -= took;
}

static uint32_t ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

static void device_failed(struct vmm_vm *vm, const char *dev, const char *what, uint64_t where,
                          unsigned size, bool write, int rc)
{
    vmm_vm_fail(vm, "device %s failed (%d) on %s %s %#llx size %u", dev, rc,
                write ? "write to" : "read of", what, (unsigned long long)where, size);
}

int vmm_io_access(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        struct vmm_dev_reg *dev = &vm->devs[d];

        for (size_t i = 0; i < dev->nio; i++) {
            const struct vmm_dev_io_range *r = &dev->io[i];
            uint64_t t0;
            int rc;

            if (port < r->base || port - r->base >= r->count) {
                continue;
            }
            t0 = vmm_host()->now_ns();
            rc = r->fn(dev->dev, port, size, write, val);
            dev->access_ns += vmm_host()->now_ns() - t0;
            if (rc == VMM_NOT_MINE) {
                break;
            }
            if (rc < 0) {
                device_failed(vm, dev->name, "port", port, size, write, rc);
                return rc;
            }
            if (!write) {
                *val &= ones(size);
            }
            dev->accesses++;
            return 0;
        }
    }
    /* Nobody decodes this port: a PC floats the bus (reads all ones, writes vanish). */
    vm->stats.io_unclaimed++;
    LOG_VM(IO, LOG_LVL_DEBUG, vm->name, "unclaimed %s port %#x size %u",
           write ? "write to" : "read of", port, size);
    if (!write) {
        *val = ones(size);
    }
    return 0;
}

static void put_elem(uint8_t *p, unsigned size, uint32_t v)
{
    memcpy(p, &v, size); /* little endian */
}

static uint32_t get_elem(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;

    memcpy(&v, p, size);
    return v;
}

int vmm_io_string(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, void *buf,
                  uint32_t count)
{
    uint8_t *b = buf;

    for (size_t d = 0; d < vm->ndevs; d++) {
        struct vmm_dev_reg *dev = &vm->devs[d];

        for (size_t i = 0; i < dev->nio; i++) {
            const struct vmm_dev_io_range *r = &dev->io[i];
            int rc;

            if (port < r->base || port - r->base >= r->count) {
                continue;
            }
            if (r->string_fn != NULL) {
                rc = r->string_fn(dev->dev, port, size, write, buf, count);
            } else {
                rc = VMM_HANDLED;
                for (uint32_t e = 0; e < count && rc == VMM_HANDLED; e++) {
                    uint32_t v = write ? get_elem(b + (size_t)e * size, size) : 0;

                    rc = r->fn(dev->dev, port, size, write, &v);
                    if (rc == VMM_HANDLED && !write) {
                        put_elem(b + (size_t)e * size, size, v);
                    }
                }
            }
            if (rc == VMM_NOT_MINE) {
                break;
            }
            if (rc < 0) {
                device_failed(vm, dev->name, "port (string)", port, size, write, rc);
                return rc;
            }
            return 0;
        }
    }
    vm->stats.io_unclaimed++;
    LOG_VM(IO, LOG_LVL_DEBUG, vm->name, "unclaimed string %s port %#x, %u x %u bytes",
           write ? "write to" : "read of", port, count, size);
    if (!write) {
        memset(buf, 0xFF, (size_t)count * size);
    }
    return 0;
}

int vmm_mmio_access(struct vmm_vm *vm, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        struct vmm_dev_reg *dev = &vm->devs[d];

        for (size_t i = 0; i < dev->nmmio; i++) {
            const struct vmm_dev_mmio_range *r = &dev->mmio[i];
            uint64_t t0;
            int rc;

            if (gpa < r->base || gpa - r->base >= r->len) {
                continue;
            }
            t0 = vmm_host()->now_ns();
            rc = r->fn(dev->dev, gpa, size, write, val);
            dev->access_ns += vmm_host()->now_ns() - t0;
            if (rc == VMM_NOT_MINE) {
                break;
            }
            if (rc < 0) {
                device_failed(vm, dev->name, "MMIO", gpa, size, write, rc);
                return rc;
            }
            dev->accesses++;
            return 0;
        }
    }
    return -ENOENT;
}

bool vmm_mmio_claimed(const struct vmm_vm *vm, uint64_t gpa)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        for (size_t i = 0; i < vm->devs[d].nmmio; i++) {
            const struct vmm_dev_mmio_range *r = &vm->devs[d].mmio[i];

            if (gpa >= r->base && gpa - r->base < r->len) {
                return true;
            }
        }
    }
    return false;
}

uint64_t vmm_devs_poll(struct vmm_vm *vm, uint64_t now)
{
    uint64_t next = UINT64_MAX;

    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].poll != NULL) {
            next = MIN(next, vm->devs[d].poll(vm->devs[d].dev, now));
        }
    }
    return next;
}

unsigned vmm_vm_io_poll(struct vmm_vm *vm)
{
    unsigned found = 0;

    if (vm->state != VMM_VM_RUNNING) {
        return 0;
    }
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].io_poll != NULL) {
            found += vm->devs[d].io_poll(vm->devs[d].dev);
        }
    }
    return found;
}

void vmm_devs_reset(struct vmm_vm *vm)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].reset != NULL) {
            vm->devs[d].reset(vm->devs[d].dev);
        }
    }
    vm->console_in_len = 0;
}

void vmm_devs_destroy(struct vmm_vm *vm)
{
    /* Last registered first: a device may hold pointers to ones registered before it. */
    while (vm->ndevs > 0) {
        struct vmm_dev_reg *d = &vm->devs[--vm->ndevs];

        if (d->destroy != NULL) {
            d->destroy(d->dev);
        }
    }
    vm->intc_ops = NULL;
    vm->intc = NULL;
    memset(vm->intc_lines, 0, sizeof(vm->intc_lines));
    vm->nintc_lines = 0;
    vm->pci_host = NULL;
    vm->console_rx = NULL;
    vm->console_dev = NULL;
    vm->console_in_len = 0;
}
