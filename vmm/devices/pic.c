/* 8259A PIC pair model: ICW/OCW programming, ELCR, priority resolution, cascade, INTA (pic.h). */
#include "pic.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define PIC_MASTER 0
#define PIC_SLAVE  1

/* ELCR bits that may be level triggered: not 0, 1, 2 (master) nor 8, 13 (slave). */
static const uint8_t elcr_mask[2] = {0xF8, 0xDE};

struct pic_chip {
    uint8_t irr;          /* requests */
    uint8_t isr;          /* in service */
    uint8_t imr;          /* masked */
    uint8_t elcr;         /* level triggered inputs */
    uint8_t lines;        /* current input levels (the wires) */
    uint8_t base;         /* vector of input 0 (ICW2) */
    uint8_t priority_add; /* input with the highest priority (rotation) */
    uint8_t init_step;    /* 0 operational; 2, 3, 4: the next byte on the data port is ICWn */
    bool need_icw4;
    bool single;
    bool auto_eoi;
    bool rotate_on_aeoi;
    bool special_mask;
    bool sfnm; /* special fully nested mode (master only matters) */
    bool read_isr;
    bool poll;
};

struct vmm_pic {
    struct vmm_vm *vm;
    struct vmm_pic_config cfg;
    struct pic_chip chip[2];
    uint64_t acks;
    uint64_t spurious;
    struct vmm_dev_reg reg;
};

#define PIC_LOG(p, lvl, ...) LOG_VM(PIC, lvl, vmm_vm_name((p)->vm), __VA_ARGS__)

/* Priority (0 highest) of the best bit in mask under the chip's rotation; 8 for none. */
static unsigned chip_priority(const struct pic_chip *c, uint8_t mask)
{
    if (mask == 0) {
        return 8;
    }
    for (unsigned prio = 0; prio < 8; prio++) {
        if (mask & (1u << ((prio + c->priority_add) & 7))) {
            return prio;
        }
    }
    return 8;
}

/* The input this chip would present to its output now, or -1. */
static int chip_get_irq(const struct pic_chip *c, bool is_master)
{
    unsigned req = chip_priority(c, (uint8_t)(c->irr & ~c->imr));
    uint8_t serving = c->isr;

    if (req == 8) {
        return -1;
    }
    /* Special mask mode: masked in-service levels no longer block lower priorities. */
    if (c->special_mask) {
        serving &= (uint8_t)~c->imr;
    }
    /* Special fully nested mode: the slave may interrupt its own in-service request. */
    if (is_master && c->sfnm) {
        serving &= (uint8_t) ~(1u << 2);
    }
    if (req < chip_priority(c, serving)) {
        return (int)((req + c->priority_add) & 7);
    }
    return -1;
}

/* A new level on one input: edge inputs latch on the rising edge, level inputs follow. */
static void chip_set_input(struct pic_chip *c, unsigned irq, bool level)
{
    uint8_t bit = (uint8_t)(1u << irq);

    if (c->elcr & bit) {
        if (level) {
            c->irr |= bit;
        } else {
            c->irr &= (uint8_t)~bit;
        }
    } else if (level && !(c->lines & bit)) {
        c->irr |= bit;
    }
    if (level) {
        c->lines |= bit;
    } else {
        c->lines &= (uint8_t)~bit;
    }
}

/* The slave's output is the master's input 2, followed as a level: a slave request that appears
 * while another slave input is acknowledged is not lost for want of a new edge, and one that
 * vanishes (line dropped, masked) leaves no stale cascade request behind. */
static void pic_update(struct vmm_pic *p)
{
    if (chip_get_irq(&p->chip[PIC_SLAVE], false) >= 0) {
        p->chip[PIC_MASTER].irr |= 1u << 2;
    } else {
        p->chip[PIC_MASTER].irr &= (uint8_t) ~(1u << 2);
    }
}

/* INTA for one input of one chip. */
static void chip_ack(struct pic_chip *c, unsigned irq)
{
    uint8_t bit = (uint8_t)(1u << irq);

    if (c->auto_eoi) {
        if (c->rotate_on_aeoi) {
            c->priority_add = (uint8_t)((irq + 1) & 7);
        }
    } else {
        c->isr |= bit;
    }
    /* A level input keeps requesting while its line is high. */
    if (!(c->elcr & bit)) {
        c->irr &= (uint8_t)~bit;
    }
}

static bool pic_pending(void *dev, uint8_t *vector)
{
    struct vmm_pic *p = dev;
    int irq = chip_get_irq(&p->chip[PIC_MASTER], true);
    int irq2;

    if (irq < 0) {
        return false;
    }
    if (irq != 2) {
        *vector = (uint8_t)(p->chip[PIC_MASTER].base + irq);
        return true;
    }
    irq2 = chip_get_irq(&p->chip[PIC_SLAVE], false);
    *vector = (uint8_t)(p->chip[PIC_SLAVE].base + (irq2 >= 0 ? irq2 : 7));
    return true;
}

uint8_t vmm_pic_intack(struct vmm_pic *p)
{
    struct pic_chip *m = &p->chip[PIC_MASTER];
    struct pic_chip *s = &p->chip[PIC_SLAVE];
    int irq = chip_get_irq(m, true);
    uint8_t vector;

    if (irq < 0) {
        p->spurious++;
        PIC_LOG(p, LOG_LVL_DEBUG, "spurious interrupt: IRQ7 (master request vanished)");
        return (uint8_t)(m->base + 7);
    }
    chip_ack(m, (unsigned)irq);
    if (irq == 2) {
        int irq2 = chip_get_irq(s, false);

        if (irq2 >= 0) {
            chip_ack(s, (unsigned)irq2);
            vector = (uint8_t)(s->base + irq2);
        } else {
            p->spurious++;
            PIC_LOG(p, LOG_LVL_DEBUG, "spurious interrupt: IRQ15 (slave request vanished)");
            vector = (uint8_t)(s->base + 7);
        }
    } else {
        vector = (uint8_t)(m->base + irq);
    }
    p->acks++;
    pic_update(p);
    return vector;
}

static bool chip_requests(const struct pic_chip *c, unsigned irq)
{
    return ((c->irr & ~c->imr) >> irq) & 1;
}

static void pic_ack(void *dev, uint8_t vector)
{
    struct vmm_pic *p = dev;
    struct pic_chip *m = &p->chip[PIC_MASTER];
    struct pic_chip *s = &p->chip[PIC_SLAVE];
    uint8_t now;

    if (pic_pending(p, &now) && now == vector) {
        (void)vmm_pic_intack(p);
        return;
    }
    /* The state changed between pending() and ack(): acknowledge what the CPU took if it is
     * still requested, else it is spurious. */
    if ((uint8_t)(vector - m->base) < 8 && (uint8_t)(vector - m->base) != 2 &&
        chip_requests(m, (uint8_t)(vector - m->base))) {
        chip_ack(m, (uint8_t)(vector - m->base));
        p->acks++;
    } else if ((uint8_t)(vector - s->base) < 8 && chip_requests(s, (uint8_t)(vector - s->base))) {
        chip_ack(m, 2);
        chip_ack(s, (uint8_t)(vector - s->base));
        p->acks++;
    } else {
        p->spurious++;
        PIC_LOG(p, LOG_LVL_DEBUG, "ack of vector 0x%02x whose request vanished (spurious)", vector);
    }
    pic_update(p);
}

static void pic_set_line(void *dev, unsigned line, bool level)
{
    struct vmm_pic *p = dev;

    if (line >= 16) {
        PIC_LOG(p, LOG_LVL_DEBUG, "line %u is not an ISA line, ignored", line);
        return;
    }
    if (line == 2) {
        line = 9;
    }
    chip_set_input(&p->chip[line >> 3], line & 7, level);
    pic_update(p);
}

static const struct vmm_intc_ops pic_intc_ops = {
    .set_line = pic_set_line,
    .pending = pic_pending,
    .ack = pic_ack,
};

/* OCW3 poll: an INTA through the data bus of one chip. */
static uint8_t chip_poll_read(struct vmm_pic *p, unsigned idx)
{
    struct pic_chip *c = &p->chip[idx];
    int irq = chip_get_irq(c, idx == PIC_MASTER);

    c->poll = false;
    if (irq < 0) {
        return 0;
    }
    chip_ack(c, (unsigned)irq);
    p->acks++;
    pic_update(p);
    return (uint8_t)(0x80 | irq);
}

static void chip_icw1(struct vmm_pic *p, unsigned idx, uint8_t val)
{
    struct pic_chip *c = &p->chip[idx];

    /* Edge sense is cleared: an edge input held high needs a new rising edge. */
    c->irr &= c->elcr;
    c->isr = 0;
    c->imr = 0;
    c->priority_add = 0;
    c->auto_eoi = false;
    c->rotate_on_aeoi = false;
    c->special_mask = false;
    c->sfnm = false;
    c->read_isr = false;
    c->poll = false;
    c->need_icw4 = val & 0x01;
    c->single = val & 0x02;
    c->init_step = 2;
    if (val & 0x08) {
        PIC_LOG(p, LOG_LVL_DEBUG, "%s: ICW1 LTIM ignored (ELCR selects level inputs)",
                idx ? "slave" : "master");
    }
    if (c->single) {
        PIC_LOG(p, LOG_LVL_DEBUG, "%s: ICW1 single mode ignored (always cascaded)",
                idx ? "slave" : "master");
    }
}

static void chip_ocw2(struct vmm_pic *p, unsigned idx, uint8_t val)
{
    struct pic_chip *c = &p->chip[idx];
    unsigned cmd = val >> 5;
    unsigned irq;

    switch (cmd) {
    case 0: /* rotate in auto-EOI mode: clear */
    case 4: /* rotate in auto-EOI mode: set */
        c->rotate_on_aeoi = cmd == 4;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        irq = chip_priority(c, c->isr);
        if (irq == 8) {
            PIC_LOG(p, LOG_LVL_DEBUG, "%s: EOI with nothing in service", idx ? "slave" : "master");
            break;
        }
        irq = (irq + c->priority_add) & 7;
        c->isr &= (uint8_t) ~(1u << irq);
        if (cmd == 5) {
            c->priority_add = (uint8_t)((irq + 1) & 7);
        }
        break;
    case 3: /* specific EOI */
    case 7: /* rotate on specific EOI */
        irq = val & 7;
        c->isr &= (uint8_t) ~(1u << irq);
        if (cmd == 7) {
            c->priority_add = (uint8_t)((irq + 1) & 7);
        }
        break;
    case 6: /* set priority: val & 7 becomes the lowest */
        c->priority_add = (uint8_t)((val + 1) & 7);
        break;
    default: /* 2: no operation */
        break;
    }
}

static void chip_write_cmd(struct vmm_pic *p, unsigned idx, uint8_t val)
{
    struct pic_chip *c = &p->chip[idx];

    if (val & 0x10) {
        chip_icw1(p, idx, val);
    } else if (val & 0x08) { /* OCW3 */
        if (val & 0x04) {
            c->poll = true;
        }
        if (val & 0x02) {
            c->read_isr = val & 0x01;
        }
        if (val & 0x40) {
            c->special_mask = (val >> 5) & 1;
        }
    } else {
        chip_ocw2(p, idx, val);
    }
}

static void chip_write_data(struct vmm_pic *p, unsigned idx, uint8_t val)
{
    struct pic_chip *c = &p->chip[idx];

    switch (c->init_step) {
    case 0: /* OCW1 */
        c->imr = val;
        break;
    case 2: /* ICW2: the vector base */
        c->base = val & 0xF8;
        c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
        break;
    case 3: /* ICW3: cascade wiring, fixed on a PC */
        c->init_step = c->need_icw4 ? 4 : 0;
        break;
    default: /* ICW4 */
        if (!(val & 0x01)) {
            PIC_LOG(p, LOG_LVL_WARN, "%s: ICW4 selects 8080 mode, treated as 8086",
                    idx ? "slave" : "master");
        }
        c->auto_eoi = (val >> 1) & 1;
        c->sfnm = (val >> 4) & 1;
        c->init_step = 0;
        break;
    }
}

static int pic_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_pic *p = dev;
    unsigned idx;
    struct pic_chip *c;

    switch (port) {
    case 0x20:
    case 0x21:
        idx = PIC_MASTER;
        break;
    case 0xA0:
    case 0xA1:
        idx = PIC_SLAVE;
        break;
    case 0x4D0:
    case 0x4D1:
        c = &p->chip[port - 0x4D0];
        if (write) {
            c->elcr = *val & elcr_mask[port - 0x4D0];
            /* Level inputs request exactly while their line is high. */
            c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
            pic_update(p);
        } else {
            *val = c->elcr;
        }
        return VMM_HANDLED;
    default:
        return VMM_NOT_MINE;
    }
    c = &p->chip[idx];
    if (write) {
        if (port & 1) {
            chip_write_data(p, idx, *val);
        } else {
            chip_write_cmd(p, idx, *val);
        }
        pic_update(p);
    } else if (c->poll) {
        *val = chip_poll_read(p, idx);
    } else if (port & 1) {
        *val = c->imr;
    } else {
        *val = c->read_isr ? c->isr : c->irr;
    }
    return VMM_HANDLED;
}

static int pic_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, pic_byte);
}

static void pic_init_state(struct vmm_pic *p)
{
    for (unsigned i = 0; i < 2; i++) {
        struct pic_chip *c = &p->chip[i];
        uint8_t lines = c->lines;

        memset(c, 0, sizeof(*c));
        c->lines = lines; /* the wires keep their levels */
    }
    if (!p->cfg.power_on_state) {
        p->chip[PIC_MASTER].base = 0x08;
        p->chip[PIC_MASTER].imr = 0xFB;
        p->chip[PIC_SLAVE].base = 0x70;
        p->chip[PIC_SLAVE].imr = 0xFF;
    }
    pic_update(p);
}

static void pic_reset(void *dev)
{
    pic_init_state(dev);
}

static void pic_destroy(void *dev)
{
    vmm_host()->free(dev);
}

void vmm_pic_stats(const struct vmm_pic *p, struct vmm_pic_stats *st)
{
    st->acks = p->acks;
    st->spurious = p->spurious;
    for (unsigned i = 0; i < 2; i++) {
        st->irr[i] = p->chip[i].irr;
        st->isr[i] = p->chip[i].isr;
        st->imr[i] = p->chip[i].imr;
        st->elcr[i] = p->chip[i].elcr;
        st->base[i] = p->chip[i].base;
    }
}

int vmm_dev_pic_create(struct vmm_vm *vm, const struct vmm_pic_config *cfg, struct vmm_pic **out)
{
    struct vmm_pic *p = vmm_host()->zalloc(sizeof(*p));
    int rc;

    if (p == NULL) {
        return -ENOMEM;
    }
    p->vm = vm;
    if (cfg != NULL) {
        p->cfg = *cfg;
    }
    pic_init_state(p);

    p->reg.name = "pic";
    p->reg.dev = p;
    p->reg.io[0] = (struct vmm_dev_io_range){.base = 0x20, .count = 2, .fn = pic_io};
    p->reg.io[1] = (struct vmm_dev_io_range){.base = 0xA0, .count = 2, .fn = pic_io};
    p->reg.io[2] = (struct vmm_dev_io_range){.base = 0x4D0, .count = 2, .fn = pic_io};
    p->reg.nio = 3;
    p->reg.reset = pic_reset;
    p->reg.destroy = pic_destroy;
    rc = vmm_dev_register(vm, &p->reg);
    if (rc < 0) {
        LOG_VM(PIC, LOG_LVL_ERROR, vmm_vm_name(vm), "pic: register failed: %d", rc);
        vmm_host()->free(p);
        return rc;
    }
    /* From here the VM owns the device and frees it through destroy. */
    rc = vmm_intc_register(vm, &pic_intc_ops, p);
    if (rc < 0) {
        PIC_LOG(p, LOG_LVL_ERROR, "pic: interrupt controller register failed: %d", rc);
        return rc;
    }
    if (out != NULL) {
        *out = p;
    }
    return 0;
}
