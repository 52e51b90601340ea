/* 8254 PIT model with port 0x61, computed lazily from the host clock (pit.h). */
#include "pit.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define PIT_REFRESH_NS 15085ULL /* DRAM refresh request period: port 0x61 bit 4 toggles */

struct pit_channel {
    uint8_t mode; /* 0-5 (6 and 7 fold to 2 and 3) */
    uint8_t rw;   /* 1 lobyte, 2 hibyte, 3 lobyte then hibyte */
    bool bcd;
    bool gate;
    bool loaded;     /* a count was written after the control word */
    bool triggered;  /* modes 1 and 5: a gate rising edge started the count */
    bool paused;     /* gate low in modes 0, 2, 3, 4 */
    bool null_count; /* control word written, no count yet (status bit 6) */
    uint32_t n;      /* initial count in binary: 1-65536 (1-10000 in BCD) */
    uint64_t start;  /* tick at which counting (re)started */
    uint64_t frozen; /* ticks counted before the gate paused it */
    uint8_t write_lsb;
    bool write_hi;
    bool read_hi;
    uint16_t latch;
    uint8_t latch_left; /* latched bytes still to read */
    bool status_latched;
    uint8_t status;
};

struct vmm_pit {
    struct vmm_vm *vm;
    struct vmm_pit_config cfg;
    struct pit_channel ch[3];
    uint8_t port61;    /* bits 0-3 as written */
    uint64_t irq_tick; /* channel 0 edges up to this tick were delivered */
    uint64_t last_pulse_ns;
    uint64_t irq_pulses;
    uint64_t irq_coalesced;
    struct vmm_dev_reg reg;
};

#define PIT_LOG(p, lvl, ...) LOG_VM(PIT, lvl, vmm_vm_name((p)->vm), __VA_ARGS__)

static uint64_t pit_now_ns(void)
{
    return vmm_host()->now_ns();
}

static uint64_t pit_ticks(uint64_t ns)
{
    return devio_ns_to_ticks(ns, PIT_HZ);
}

static uint32_t ch_modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 65536;
}

/* Ticks counted at tick T; false while the channel does not count at all. */
static bool ch_elapsed(const struct pit_channel *c, uint64_t t, uint64_t *d)
{
    if (!c->loaded || ((c->mode == 1 || c->mode == 5) && !c->triggered)) {
        return false;
    }
    if (c->paused) {
        *d = c->frozen;
    } else {
        *d = t > c->start ? t - c->start : 0;
    }
    return true;
}

/* The counting element in binary (0 stands for the full modulus). */
static uint32_t ch_count(const struct pit_channel *c, uint64_t t)
{
    uint32_t m = ch_modulus(c);
    uint64_t d;
    uint32_t v;

    if (!ch_elapsed(c, t, &d)) {
        return c->n % m;
    }
    switch (c->mode) {
    case 2:
        v = c->n - (uint32_t)(d % c->n);
        break;
    case 3:
        /* Counts down by two each tick, twice per period. */
        v = (c->n - (uint32_t)((2 * (d % c->n)) % c->n)) & ~1u;
        break;
    default: /* 0, 1, 4, 5: count down and wrap */
        v = (uint32_t)(((uint64_t)c->n + m - d % m) % m);
        break;
    }
    return v % m;
}

static bool ch_out(const struct pit_channel *c, uint64_t t)
{
    uint64_t d = 0;
    bool active = ch_elapsed(c, t, &d);

    if (!c->loaded) {
        return c->mode != 0;
    }
    switch (c->mode) {
    case 0:
        return active && d >= c->n;
    case 1:
        return !active || d >= c->n;
    case 2:
        return c->paused || d % c->n != c->n - 1;
    case 3:
        return c->paused || d % c->n < (c->n + 1) / 2;
    case 4:
        return !(active && d == c->n);
    default: /* 5 */
        return !active || d != c->n;
    }
}

/* Rising edges of OUT at ticks in (t0, t1]. */
static uint64_t ch_edges(const struct pit_channel *c, uint64_t t0, uint64_t t1)
{
    uint64_t d0 = 0;
    uint64_t d1;
    uint64_t at;

    if (c->paused || !ch_elapsed(c, t1, &d1)) {
        return 0;
    }
    if (t0 > c->start) {
        d0 = t0 - c->start;
    }
    switch (c->mode) {
    case 2:
    case 3:
        if (c->n < 2 || d1 <= d0) {
            return 0;
        }
        return d1 / c->n - d0 / c->n;
    case 0:
    case 1:
        at = c->n;
        break;
    default: /* 4, 5: OUT is low for the one tick at terminal count */
        at = (uint64_t)c->n + 1;
        break;
    }
    return d0 < at && at <= d1;
}

/* Tick of the next rising edge of OUT after tick t, UINT64_MAX for none. */
static uint64_t ch_next_edge(const struct pit_channel *c, uint64_t t)
{
    uint64_t d;
    uint64_t at;

    if (c->paused || !ch_elapsed(c, t, &d)) {
        return UINT64_MAX;
    }
    switch (c->mode) {
    case 2:
    case 3:
        if (c->n < 2) {
            return UINT64_MAX;
        }
        return c->start + (d / c->n + 1) * c->n;
    case 0:
    case 1:
        at = c->n;
        break;
    default:
        at = (uint64_t)c->n + 1;
        break;
    }
    return d < at ? c->start + at : UINT64_MAX;
}

/* Delivers channel 0's edges up to tick t as one pulse. */
static void pit_irq_update(struct vmm_pit *p, uint64_t t, uint64_t now)
{
    uint64_t edges = ch_edges(&p->ch[0], p->irq_tick, t);

    p->irq_tick = t;
    if (edges == 0) {
        return;
    }
    p->irq_pulses++;
    p->irq_coalesced += edges - 1;
    p->last_pulse_ns = now;
    (void)vmm_dev_irq_set(p->vm, p, p->cfg.irq, true);
    (void)vmm_dev_irq_set(p->vm, p, p->cfg.irq, false);
}

static uint64_t pit_poll(void *dev, uint64_t now)
{
    struct vmm_pit *p = dev;
    uint64_t t = pit_ticks(now);
    uint64_t next;
    uint64_t ns;

    pit_irq_update(p, t, now);
    next = ch_next_edge(&p->ch[0], t);
    if (next == UINT64_MAX) {
        return UINT64_MAX;
    }
    ns = devio_ticks_to_ns(next, PIT_HZ);
    /* Rate limit: at most one pulse per PIT_MIN_PERIOD_NS; the rest coalesce. */
    if (p->last_pulse_ns <= UINT64_MAX - PIT_MIN_PERIOD_NS &&
        ns < p->last_pulse_ns + PIT_MIN_PERIOD_NS) {
        ns = p->last_pulse_ns + PIT_MIN_PERIOD_NS;
    }
    return ns;
}

static void ch_set_gate(struct pit_channel *c, bool level, uint64_t t)
{
    if (level == c->gate) {
        return;
    }
    c->gate = level;
    if (!c->loaded) {
        return;
    }
    switch (c->mode) {
    case 0:
    case 4: /* the gate suspends counting */
        if (level && c->paused) {
            c->start = t - c->frozen;
            c->paused = false;
        } else if (!level && !c->paused) {
            c->frozen = t > c->start ? t - c->start : 0;
            c->paused = true;
        }
        break;
    case 2:
    case 3: /* low stops (OUT high), the rising edge restarts the period */
        if (level) {
            c->start = t;
            c->paused = false;
        } else {
            c->frozen = t > c->start ? t - c->start : 0;
            c->paused = true;
        }
        break;
    default: /* 1, 5: the rising edge triggers */
        if (level) {
            c->triggered = true;
            c->start = t;
        }
        break;
    }
}

static void ch_load(struct pit_channel *c, uint16_t raw, uint64_t t)
{
    uint32_t n = raw;

    if (c->bcd) {
        n = (devio_bcd_to_bin((uint8_t)(raw >> 8)) * 100 + devio_bcd_to_bin((uint8_t)raw)) % 10000;
    }
    if (n == 0) {
        n = ch_modulus(c);
    }
    c->n = n;
    c->loaded = true;
    c->null_count = false;
    c->start = t;
    c->frozen = 0;
    c->triggered = false;
    c->paused = c->mode != 1 && c->mode != 5 && !c->gate;
}

/* The count as the guest reads it (BCD encoded in BCD mode). */
static uint16_t ch_read_value(const struct pit_channel *c, uint64_t t)
{
    uint32_t v = ch_count(c, t);

    if (c->bcd) {
        return (uint16_t)(devio_bin_to_bcd(v / 100) << 8 | devio_bin_to_bcd(v % 100));
    }
    return (uint16_t)v;
}

static void ch_latch_count(struct pit_channel *c, uint64_t t)
{
    if (c->latch_left > 0) {
        return; /* the first latch holds until read */
    }
    c->latch = ch_read_value(c, t);
    c->latch_left = c->rw == 3 ? 2 : 1;
}

static void ch_latch_status(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        return;
    }
    c->status = (uint8_t)((ch_out(c, t) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | c->rw << 4 |
                          c->mode << 1 | (c->bcd ? 1 : 0));
    c->status_latched = true;
}

/* One byte of a 16-bit value in the order the access mode asks for. */
static uint8_t ch_pick_byte(struct pit_channel *c, uint16_t v)
{
    switch (c->rw) {
    case 1:
        return (uint8_t)v;
    case 2:
        return (uint8_t)(v >> 8);
    default:
        c->read_hi = !c->read_hi;
        return c->read_hi ? (uint8_t)v : (uint8_t)(v >> 8);
    }
}

static uint8_t ch_read(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->latch_left > 0) {
        c->latch_left--;
        return ch_pick_byte(c, c->latch);
    }
    return ch_pick_byte(c, ch_read_value(c, t));
}

static void pit_write_channel(struct vmm_pit *p, unsigned i, uint8_t val, uint64_t t, uint64_t now)
{
    struct pit_channel *c = &p->ch[i];
    uint16_t raw;

    switch (c->rw) {
    case 1:
        raw = val;
        break;
    case 2:
        raw = (uint16_t)(val << 8);
        break;
    default:
        if (!c->write_hi) {
            c->write_lsb = val;
            c->write_hi = true;
            return;
        }
        c->write_hi = false;
        raw = (uint16_t)(c->write_lsb | val << 8);
        break;
    }
    if (i == 0) {
        pit_irq_update(p, t, now);
    }
    ch_load(c, raw, t);
    PIT_LOG(p, LOG_LVL_DEBUG, "channel %u: mode %u count %u%s", i, c->mode, c->n,
            c->bcd ? " (BCD)" : "");
}

static void pit_write_control(struct vmm_pit *p, uint8_t val, uint64_t t, uint64_t now)
{
    unsigned sel = val >> 6;
    unsigned access = (val >> 4) & 3;
    struct pit_channel *c;

    if (sel == 3) { /* read-back */
        for (unsigned i = 0; i < 3; i++) {
            if (!(val & (2u << i))) {
                continue;
            }
            if (!(val & 0x20)) {
                ch_latch_count(&p->ch[i], t);
            }
            if (!(val & 0x10)) {
                ch_latch_status(&p->ch[i], t);
            }
        }
        return;
    }
    c = &p->ch[sel];
    if (access == 0) {
        ch_latch_count(c, t);
        return;
    }
    if (sel == 0) {
        pit_irq_update(p, t, now);
    }
    c->rw = (uint8_t)access;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5) {
        c->mode -= 4;
    }
    c->bcd = val & 1;
    c->write_hi = false;
    c->read_hi = false;
    c->latch_left = 0;
    c->status_latched = false;
    c->loaded = false;
    c->null_count = true;
    c->triggered = false;
    c->paused = false;
}

static int pit_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_pit *p = dev;
    uint64_t now = pit_now_ns();
    uint64_t t = pit_ticks(now);

    switch (port) {
    case 0x40:
    case 0x41:
    case 0x42:
        if (write) {
            pit_write_channel(p, port - 0x40u, *val, t, now);
        } else {
            *val = ch_read(&p->ch[port - 0x40], t);
        }
        return VMM_HANDLED;
    case 0x43:
        if (write) {
            pit_write_control(p, *val, t, now);
        } else {
            *val = 0; /* write only; QEMU reads 0 too */
        }
        return VMM_HANDLED;
    case 0x61:
        if (write) {
            p->port61 = *val & 0x0F;
            ch_set_gate(&p->ch[2], *val & 1, t);
        } else {
            *val = (uint8_t)(p->port61 | ((now / PIT_REFRESH_NS) & 1) << 4 |
                             (ch_out(&p->ch[2], t) ? 0x20 : 0));
        }
        return VMM_HANDLED;
    default:
        return VMM_NOT_MINE;
    }
}

static int pit_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, pit_byte);
}

static void pit_init_state(struct vmm_pit *p)
{
    uint64_t now = pit_now_ns();
    uint64_t t = pit_ticks(now);

    memset(p->ch, 0, sizeof(p->ch));
    for (unsigned i = 0; i < 3; i++) {
        struct pit_channel *c = &p->ch[i];

        c->mode = 3;
        c->rw = 3;
        c->gate = i != 2;
        ch_load(c, 0, t);
    }
    p->port61 = 0;
    p->irq_tick = t;
    p->last_pulse_ns = 0;
}

static void pit_reset(void *dev)
{
    pit_init_state(dev);
}

static void pit_destroy(void *dev)
{
    vmm_host()->free(dev);
}

void vmm_pit_stats(const struct vmm_pit *p, struct vmm_pit_stats *st)
{
    st->irq_pulses = p->irq_pulses;
    st->irq_coalesced = p->irq_coalesced;
}

int vmm_dev_pit_create(struct vmm_vm *vm, const struct vmm_pit_config *cfg, struct vmm_pit **out)
{
    struct vmm_pit *p;
    int rc;

    if (cfg != NULL && cfg->irq >= 16) {
        LOG_VM(PIT, LOG_LVL_ERROR, vmm_vm_name(vm), "pit: bad irq %u", cfg->irq);
        return -EINVAL;
    }
    p = vmm_host()->zalloc(sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->vm = vm;
    if (cfg != NULL) {
        p->cfg = *cfg;
    }
    pit_init_state(p);

    p->reg.name = "pit";
    p->reg.dev = p;
    p->reg.io[0] = (struct vmm_dev_io_range){.base = 0x40, .count = 4, .fn = pit_io};
    p->reg.io[1] = (struct vmm_dev_io_range){.base = 0x61, .count = 1, .fn = pit_io};
    p->reg.nio = 2;
    p->reg.irqs[0] = (uint8_t)p->cfg.irq;
    p->reg.nirqs = 1;
    p->reg.poll = pit_poll;
    p->reg.reset = pit_reset;
    p->reg.destroy = pit_destroy;
    rc = vmm_dev_register(vm, &p->reg);
    if (rc < 0) {
        LOG_VM(PIT, LOG_LVL_ERROR, vmm_vm_name(vm), "pit: register failed: %d", rc);
        vmm_host()->free(p);
        return rc;
    }
    if (out != NULL) {
        *out = p;
    }
    return 0;
}
