/* IOAPIC model: register window, redirection table, edge and level pins with remote IRR
 * (ioapic.h). */
#include "ioapic.h"
#include "devio.h"
#include "../host.h"
#include "../platform.h"
#include "../../kernel/log.h"

#define IOREGSEL 0x00u
#define IOWIN    0x10u

#define REG_ID    0x00u
#define REG_VER   0x01u
#define REG_ARB   0x02u
#define REG_REDIR 0x10u /* 0x10 + 2n: low dword of entry n, 0x11 + 2n: high dword */

#define RE_LOGICAL    (1ull << 11)
#define RE_REMOTE_IRR (1ull << 14)
#define RE_LEVEL      (1ull << 15)
#define RE_MASKED     (1ull << 16)
#define RE_DM(e)      ((unsigned)((e) >> 8) & 7u)
/* Vector, delivery mode, destination mode, polarity, trigger mode, mask. */
#define RE_WRITABLE_LO 0x1AFFFull
#define RE_DEST_SHIFT  56

enum {
    IO_ONCE_ACCESS = 1u << 0,
    IO_ONCE_MODE = 1u << 1,
    IO_ONCE_LINE = 1u << 2,
    IO_ONCE_INDEX = 1u << 3,
};

struct vmm_ioapic {
    struct vmm_vm *vm;
    struct vmm_ioapic_config cfg;
    uint32_t regsel;
    uint8_t id;
    uint64_t redir[IOAPIC_PINS];
    uint32_t lines; /* bit n: pin n asserted */
    unsigned logged;
    struct vmm_ioapic_stats st;
    struct vmm_dev_reg reg;
};

#define IOAPIC_LOG(io, lvl, ...) LOG_VM(APIC, lvl, vmm_vm_name((io)->vm), __VA_ARGS__)

static bool io_first_time(struct vmm_ioapic *io, unsigned what)
{
    bool first = !(io->logged & what);

    io->logged |= what;
    return first;
}

/* One message for pin's entry; true when a LAPIC accepted it. */
static bool send(struct vmm_ioapic *io, unsigned pin)
{
    uint64_t e = io->redir[pin];
    struct vmm_apic_irq irq = {
        .vector = (uint8_t)e,
        .mode = (uint8_t)RE_DM(e),
        .level = (e & RE_LEVEL) != 0,
        .logical = (e & RE_LOGICAL) != 0,
        .dest = (uint8_t)(e >> RE_DEST_SHIFT),
    };
    bool ok;

    switch (irq.mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
    case APIC_DM_NMI:
    case APIC_DM_EXTINT:
        break;
    default:
        if (io_first_time(io, IO_ONCE_MODE)) {
            IOAPIC_LOG(io, LOG_LVL_DEBUG, "pin %u: delivery mode %u not modelled, dropped", pin,
                       irq.mode);
        }
        return false;
    }
    io->st.messages++;
    ok = io->cfg.deliver(io->cfg.ctx, &irq);
    if (!ok) {
        io->st.refused++;
    }
    return ok;
}

/* A level pin: asserted, unmasked and not waiting for its EOI sends. */
static void service_level(struct vmm_ioapic *io, unsigned pin)
{
    uint64_t e = io->redir[pin];

    if (!(e & RE_LEVEL) || !(io->lines & (1u << pin)) || (e & (RE_MASKED | RE_REMOTE_IRR))) {
        return;
    }
    if (send(io, pin)) {
        io->redir[pin] |= RE_REMOTE_IRR;
    }
}

static void set_pin(struct vmm_ioapic *io, unsigned pin, bool level)
{
    uint32_t bit = 1u << pin;
    bool rising = level && !(io->lines & bit);
    uint64_t e = io->redir[pin];

    if (level) {
        io->lines |= bit;
    } else {
        io->lines &= ~bit;
    }
    if (e & RE_LEVEL) {
        service_level(io, pin);
    } else if (rising) {
        if (e & RE_MASKED) {
            io->st.masked_edges++; /* lost, as on the 82093AA */
        } else {
            (void)send(io, pin);
        }
    }
}

/* The board: ISA IRQ 0 is wired to irq0_pin, the pin IRQ 2 (the cascade) would take. */
static void ioapic_set_line(void *dev, unsigned line, bool level)
{
    struct vmm_ioapic *io = dev;
    unsigned pin = line;

    if (line == 0) {
        pin = io->cfg.irq0_pin;
    } else if (line == io->cfg.irq0_pin) {
        if (io_first_time(io, IO_ONCE_LINE)) {
            IOAPIC_LOG(io, LOG_LVL_DEBUG, "ISA line %u has no IOAPIC pin (IRQ 0 uses it)", line);
        }
        return;
    }
    if (pin >= IOAPIC_PINS) {
        return;
    }
    set_pin(io, pin, level);
}

static const struct vmm_intc_ops ioapic_line_ops = {
    .set_line = ioapic_set_line,
};

void vmm_ioapic_eoi(struct vmm_ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];

        if ((e & RE_LEVEL) && (e & RE_REMOTE_IRR) && (uint8_t)e == vector) {
            io->redir[pin] &= ~RE_REMOTE_IRR;
            io->st.eois++;
            service_level(io, pin);
        }
    }
}

static uint32_t io_reg_read(struct vmm_ioapic *io, uint32_t index)
{
    if (index >= REG_REDIR && index < REG_REDIR + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(index - REG_REDIR) / 2];

        return (index & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    switch (index) {
    case REG_ID:
    case REG_ARB:
        return (uint32_t)io->id << 24;
    case REG_VER:
        return IOAPIC_VERSION;
    default:
        if (io_first_time(io, IO_ONCE_INDEX)) {
            IOAPIC_LOG(io, LOG_LVL_DEBUG, "read of register %#x: none, reads 0", index);
        }
        return 0;
    }
}

static void redir_write(struct vmm_ioapic *io, unsigned pin, bool high, uint32_t val)
{
    uint64_t e = io->redir[pin];

    if (high) {
        e = (e & 0xFFFFFFFFull) | ((uint64_t)(val >> 24) << RE_DEST_SHIFT);
    } else {
        e = (e & ~0xFFFFFFFFull) | (val & RE_WRITABLE_LO) | (e & RE_REMOTE_IRR);
        if (!(e & RE_LEVEL)) {
            e &= ~RE_REMOTE_IRR; /* an edge entry has no EOI to wait for */
        }
    }
    io->redir[pin] = e;
    service_level(io, pin); /* e.g. an asserted level pin unmasked */
}

static void io_reg_write(struct vmm_ioapic *io, uint32_t index, uint32_t val)
{
    if (index >= REG_REDIR && index < REG_REDIR + 2 * IOAPIC_PINS) {
        redir_write(io, (index - REG_REDIR) / 2, index & 1, val);
        return;
    }
    if (index == REG_ID) {
        io->id = (uint8_t)((val >> 24) & 0x0F);
        return;
    }
    if (index != REG_VER && index != REG_ARB && io_first_time(io, IO_ONCE_INDEX)) {
        IOAPIC_LOG(io, LOG_LVL_DEBUG, "write to register %#x: none, ignored", index);
    }
}

static int ioapic_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct vmm_ioapic *io = dev;
    uint64_t off = gpa - io->cfg.base;

    if (off == IOREGSEL && size <= 4) {
        if (write) {
            io->regsel = (uint32_t)*val & 0xFF;
        } else {
            *val = io->regsel;
        }
        return VMM_HANDLED;
    }
    if (off == IOWIN && size == 4) {
        if (write) {
            io_reg_write(io, io->regsel, (uint32_t)*val);
        } else {
            *val = io_reg_read(io, io->regsel);
        }
        return VMM_HANDLED;
    }
    if (io_first_time(io, IO_ONCE_ACCESS)) {
        IOAPIC_LOG(io, LOG_LVL_DEBUG, "%s of %u bytes at offset %#llx: %s (logged once)",
                   write ? "write" : "read", size, (unsigned long long)off,
                   write ? "ignored" : "reads 0");
    }
    if (!write) {
        *val = 0;
    }
    return VMM_HANDLED;
}

void vmm_ioapic_stats(const struct vmm_ioapic *io, struct vmm_ioapic_stats *st)
{
    *st = io->st;
    st->lines = io->lines;
    memcpy(st->redir, io->redir, sizeof(st->redir));
}

static void ioapic_reset(void *dev)
{
    struct vmm_ioapic *io = dev;

    io->regsel = 0;
    io->id = io->cfg.id;
    for (unsigned i = 0; i < IOAPIC_PINS; i++) {
        io->redir[i] = RE_MASKED;
    }
    /* The wires keep their levels. */
}

static void ioapic_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_dev_ioapic_create(struct vmm_vm *vm, const struct vmm_ioapic_config *cfg,
                          struct vmm_ioapic **out)
{
    struct vmm_ioapic *io;
    int rc;

    if (cfg == NULL || cfg->deliver == NULL || (cfg->base & 0xFFF) != 0 || cfg->id > 15 ||
        cfg->irq0_pin >= IOAPIC_PINS) {
        LOG_VM(APIC, LOG_LVL_ERROR, vmm_vm_name(vm), "ioapic: bad configuration");
        return -EINVAL;
    }
    io = vmm_host()->zalloc(sizeof(*io));
    if (io == NULL) {
        return -ENOMEM;
    }
    io->vm = vm;
    io->cfg = *cfg;
    ioapic_reset(io);

    io->reg.name = "ioapic";
    io->reg.dev = io;
    io->reg.mmio[0] =
        (struct vmm_dev_mmio_range){.base = cfg->base, .len = VMM_IOAPIC_SIZE, .fn = ioapic_mmio};
    io->reg.nmmio = 1;
    io->reg.reset = ioapic_reset;
    io->reg.destroy = ioapic_destroy;
    rc = vmm_dev_register(vm, &io->reg);
    if (rc < 0) {
        IOAPIC_LOG(io, LOG_LVL_ERROR, "ioapic: register failed: %d", rc);
        vmm_host()->free(io);
        return rc;
    }
    /* From here the VM owns the device and frees it through destroy. */
    rc = vmm_intc_register(vm, &ioapic_line_ops, io);
    if (rc < 0) {
        IOAPIC_LOG(io, LOG_LVL_ERROR, "ioapic: line controller register failed: %d", rc);
        return rc;
    }
    if (out != NULL) {
        *out = io;
    }
    return 0;
}
