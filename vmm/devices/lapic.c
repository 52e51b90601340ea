/* Local APIC model (xAPIC MMIO), its timer, and the CPU side of interrupt delivery (lapic.h). */
#include "lapic.h"
#include "devio.h"
#include "../host.h"
#include "../platform.h"
#include "../../kernel/log.h"

/* Register offsets in the 4 KiB page (each register is the first dword of 16 bytes). */
#define R_ID     0x020u
#define R_VER    0x030u
#define R_TPR    0x080u
#define R_APR    0x090u
#define R_PPR    0x0A0u
#define R_EOI    0x0B0u
#define R_RRD    0x0C0u
#define R_LDR    0x0D0u
#define R_DFR    0x0E0u
#define R_SVR    0x0F0u
#define R_ISR    0x100u /* 8 registers: 0x100-0x170 */
#define R_TMR    0x180u
#define R_IRR    0x200u
#define R_ESR    0x280u
#define R_ICR_LO 0x300u
#define R_ICR_HI 0x310u
#define R_LVT    0x320u /* 6 entries: 0x320-0x370 */
#define R_TMICT  0x380u
#define R_TMCCT  0x390u
#define R_TDCR   0x3E0u

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LVT_MASKED        (1u << 16)
#define LVT_LEVEL         (1u << 15)
#define LVT_DM(v)         (((v) >> 8) & 7u)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3u)
#define TIMER_ONESHOT     0u
#define TIMER_PERIODIC    1u
#define TIMER_TSC         2u

#define SVR_ENABLE       (1u << 8)
#define SVR_WRITABLE     0x3FFu /* vector, software enable, focus checking */
#define TDCR_WRITABLE    0xBu
#define ICR_LO_WRITABLE  0xCCFFFu /* vector, mode, dest mode, level, trigger, shorthand */
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_DEST_LOGICAL (1u << 11)

#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG  (1u << 7)

#define BASE_BSP      (1ull << 8)
#define BASE_X2APIC   (1ull << 10)
#define BASE_ENABLE   (1ull << 11)
#define BASE_ADDR     0x000FFFFFFFFFF000ull
#define BASE_RESERVED (~(BASE_ADDR | BASE_BSP | BASE_ENABLE))

_Static_assert(LAPIC_BUS_HZ == 1000000000ULL, "a timer count is div ns");

/* Things logged once per LAPIC (a guest could otherwise flood the log). */
enum {
    ONCE_ACCESS = 1u << 0,
    ONCE_RELOCATE = 1u << 1,
    ONCE_IPI = 1u << 2,
    ONCE_DEST = 1u << 3,
    ONCE_LINT = 1u << 4,
    ONCE_DISABLED = 1u << 5,
};

struct vmm_lapic {
    struct vmm_vm *vm;
    struct vmm_lapic_config cfg;
    /* The 8259 pair: ExtINT source. */
    const struct vmm_intc_ops *pic_ops;
    void *pic;
    void (*eoi_hook)(void *ctx, uint8_t vector);
    void *eoi_ctx;

    uint64_t apic_base; /* MSR 0x1B */
    bool hw_enabled;
    uint32_t id, tpr, ldr, dfr, svr;
    uint32_t esr, esr_pending;
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    bool nmi;        /* an NMI waits for the CPU */
    bool extint_req; /* an ExtINT message from the IOAPIC waits */

    /* Timer: counting down from base_count at base_ns; expiry at base_ns + base_count * div. */
    uint32_t tmict, tdcr;
    bool armed;
    uint64_t base_ns;
    uint32_t base_count;
    uint64_t last_fire_ns;
    uint64_t tsc_deadline;

    unsigned logged;
    struct vmm_lapic_stats st;
    struct vmm_dev_reg reg;
};

#define LAPIC_LOG(l, lvl, ...) LOG_VM(APIC, lvl, vmm_vm_name((l)->vm), __VA_ARGS__)

static bool first_time(struct vmm_lapic *l, unsigned what)
{
    bool first = !(l->logged & what);

    l->logged |= what;
    return first;
}

/* ---- vectors and priorities ----------------------------------------------------------------- */

static bool vec_test(const uint32_t r[8], unsigned v)
{
    return (r[v >> 5] >> (v & 31)) & 1;
}

static void vec_set(uint32_t r[8], unsigned v)
{
    r[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t r[8], unsigned v)
{
    r[v >> 5] &= ~(1u << (v & 31));
}

/* The highest vector set, or -1. */
static int vec_highest(const uint32_t r[8])
{
    for (int i = 7; i >= 0; i--) {
        if (r[i] != 0) {
            return i * 32 + 31 - __builtin_clz(r[i]);
        }
    }
    return -1;
}

static unsigned class_of(int v)
{
    return v < 0 ? 0 : ((unsigned)v >> 4);
}

static uint32_t ppr_of(const struct vmm_lapic *l)
{
    int isrv = vec_highest(l->isr);

    if ((l->tpr >> 4) >= class_of(isrv)) {
        return l->tpr & 0xFF;
    }
    return (uint32_t)isrv & 0xF0;
}

static uint32_t apr_of(const struct vmm_lapic *l)
{
    unsigned tpr = (l->tpr >> 4) & 0xF;
    unsigned isr = class_of(vec_highest(l->isr));
    unsigned irr = class_of(vec_highest(l->irr));

    if (tpr >= irr && tpr > isr) {
        return l->tpr & 0xFF;
    }
    return MAX(tpr, MAX(isr, irr)) << 4;
}

static bool sw_enabled(const struct vmm_lapic *l)
{
    return (l->svr & SVR_ENABLE) != 0;
}

/* The LAPIC's own vector for the CPU now: the highest IRR above the processor priority. */
static bool apic_vector(const struct vmm_lapic *l, uint8_t *vector)
{
    int v;

    if (!l->hw_enabled || !sw_enabled(l)) {
        return false;
    }
    v = vec_highest(l->irr);
    if (v < 0 || class_of(v) <= (ppr_of(l) >> 4)) {
        return false;
    }
    *vector = (uint8_t)v;
    return true;
}

/* Virtual wire mode: does the 8259's INTR reach the CPU now? */
static bool extint_open(const struct vmm_lapic *l)
{
    uint32_t lint0 = l->lvt[LVT_LINT0];

    return !l->hw_enabled || !sw_enabled(l) || l->extint_req ||
           (!(lint0 & LVT_MASKED) && LVT_DM(lint0) == APIC_DM_EXTINT);
}

/* ---- accepting interrupts ------------------------------------------------------------------- */

static void set_irr(struct vmm_lapic *l, uint8_t vector, bool level)
{
    vec_set(l->irr, vector);
    if (level) {
        vec_set(l->tmr, vector);
    } else {
        vec_clear(l->tmr, vector);
    }
    l->st.accepted++;
}

/* An error: latched in ESR and, if the error LVT entry allows, an interrupt. */
static void raise_error(struct vmm_lapic *l, uint32_t bits)
{
    uint32_t lvt = l->lvt[LVT_ERROR];

    l->esr_pending |= bits;
    if (!l->hw_enabled || (lvt & LVT_MASKED)) {
        return;
    }
    if ((lvt & 0xFF) < 16) {
        l->esr_pending |= ESR_RECV_ILLEGAL; /* and no interrupt: it would loop */
        return;
    }
    set_irr(l, (uint8_t)lvt, false);
}

static bool accept(struct vmm_lapic *l, uint8_t vector, bool level)
{
    if (!l->hw_enabled) {
        return false;
    }
    if (vector < 16) {
        raise_error(l, ESR_RECV_ILLEGAL);
        return false;
    }
    set_irr(l, vector, level);
    return true;
}

/* Does a destination name this LAPIC (flat or cluster logical, or physical; 0xFF is all)? */
static bool dest_match(const struct vmm_lapic *l, uint8_t dest, bool logical)
{
    uint8_t ldr = (uint8_t)(l->ldr >> 24);

    if (dest == 0xFF) {
        return true;
    }
    if (!logical) {
        return dest == (uint8_t)(l->id >> 24);
    }
    switch (l->dfr >> 28) {
    case 0xF: /* flat: one bit per APIC */
        return (dest & ldr) != 0;
    case 0x0: /* cluster: cluster in the high nibble, a bit per APIC in the low one */
        return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0x0F) != 0;
    default:
        return false;
    }
}

/* An LVT entry fires (timer, LINT pins, thermal...): deliver as its mode says. */
static void lvt_deliver(struct vmm_lapic *l, unsigned idx)
{
    uint32_t v = l->lvt[idx];
    unsigned mode = idx == LVT_TIMER || idx == LVT_ERROR ? APIC_DM_FIXED : LVT_DM(v);

    if (!l->hw_enabled || (v & LVT_MASKED)) {
        return;
    }
    switch (mode) {
    case APIC_DM_FIXED:
        (void)accept(l, (uint8_t)v, false);
        break;
    case APIC_DM_NMI:
        l->nmi = true;
        l->st.nmis++;
        break;
    case APIC_DM_EXTINT:
        l->extint_req = true;
        break;
    default:
        if (first_time(l, ONCE_LINT)) {
            LAPIC_LOG(l, LOG_LVL_DEBUG, "LVT entry %u: delivery mode %u not modelled, dropped", idx,
                      mode);
        }
        break;
    }
}

struct vmm_vm *vmm_lapic_vm(const struct vmm_lapic *l)
{
    return l->vm;
}

bool vmm_lapic_deliver(struct vmm_lapic *l, const struct vmm_apic_irq *irq)
{
    if (!l->hw_enabled) {
        return false;
    }
    if (!dest_match(l, irq->dest, irq->logical)) {
        if (first_time(l, ONCE_DEST)) {
            LAPIC_LOG(l, LOG_LVL_DEBUG,
                      "interrupt 0x%02x for %s destination 0x%02x: not this APIC, dropped",
                      irq->vector, irq->logical ? "logical" : "physical", irq->dest);
        }
        return false;
    }
    switch (irq->mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST: /* one CPU: it is always the lowest-priority one */
        return accept(l, irq->vector, irq->level);
    case APIC_DM_NMI:
        l->nmi = true;
        l->st.nmis++;
        return true;
    case APIC_DM_EXTINT:
        l->extint_req = true;
        return true;
    default:
        if (first_time(l, ONCE_IPI)) {
            LAPIC_LOG(l, LOG_LVL_DEBUG, "interrupt message with delivery mode %u dropped",
                      irq->mode);
        }
        return false;
    }
}

void vmm_lapic_lint(struct vmm_lapic *l, unsigned pin)
{
    if (pin > 1) {
        LAPIC_LOG(l, LOG_LVL_DEBUG, "LINT%u does not exist", pin);
        return;
    }
    lvt_deliver(l, LVT_LINT0 + pin);
}

/* ---- the CPU side --------------------------------------------------------------------------- */

static void do_eoi(struct vmm_lapic *l);

static bool lapic_pending(void *dev, uint8_t *vector)
{
    struct vmm_lapic *l = dev;

    if (apic_vector(l, vector)) {
        return true;
    }
    return extint_open(l) && l->pic_ops != NULL && l->pic_ops->pending(l->pic, vector);
}

static void lapic_ack(void *dev, uint8_t vector)
{
    struct vmm_lapic *l = dev;
    uint8_t v;

    if (apic_vector(l, &v) && v == vector) {
        vec_clear(l->irr, v);
        vec_set(l->isr, v);
        l->st.delivered++;
        return;
    }
    if (extint_open(l) && l->pic_ops != NULL) {
        l->pic_ops->ack(l->pic, vector);
        l->extint_req = false;
        l->st.extint++;
        return;
    }
    LAPIC_LOG(l, LOG_LVL_DEBUG, "ack of vector 0x%02x that is not pending", vector);
}

static bool lapic_nmi_pending(void *dev)
{
    const struct vmm_lapic *l = dev;

    return l->nmi;
}

static void lapic_nmi_ack(void *dev)
{
    struct vmm_lapic *l = dev;

    l->nmi = false;
}

/* The paravirtual EOI (vmm/inject.c): the guest may skip the EOI register write when the
 * vector it takes is the only one in service, since its EOI then changes nothing the CPU
 * could see before the next exit (where the core performs it), as long as every other
 * request is one that EOI holds back anyway: of `vector`'s priority class or below (the same
 * vector again included). Those wait until that exit (VMM_EOI_DEFER_HOLDS; the core bounds
 * the wait); a higher class could preempt, so its EOI must exit. taken: `vector` is in
 * service already (ISR just it); else it is about to be (ISR empty, `vector` the highest
 * request), for a virtual interrupt the CPU takes by itself. */
static int lapic_eoi_deferrable(void *dev, uint8_t vector, bool taken)
{
    const struct vmm_lapic *l = dev;
    uint32_t others[8];
    int top;

    if (!l->hw_enabled || l->nmi || l->extint_req) {
        return VMM_EOI_EXIT;
    }
    for (unsigned i = 0; i < 8; i++) {
        uint32_t want = i == (unsigned)(vector >> 5) ? 1u << (vector & 31) : 0;

        if (l->isr[i] != (taken ? want : 0) || (!taken && (l->irr[i] & want) != want)) {
            return VMM_EOI_EXIT;
        }
        others[i] = taken ? l->irr[i] : l->irr[i] & ~want;
    }
    top = vec_highest(others);
    if (top < 0) {
        return VMM_EOI_DEFER;
    }
    if (taken ? class_of(top) > class_of(vector) : top > (int)vector) {
        return VMM_EOI_EXIT;
    }
    return VMM_EOI_DEFER_HOLDS;
}

static void lapic_eoi(void *dev)
{
    struct vmm_lapic *l = dev;

    do_eoi(l);
}

static const struct vmm_intc_ops lapic_cpu_ops = {
    .pending = lapic_pending,
    .ack = lapic_ack,
    .nmi_pending = lapic_nmi_pending,
    .nmi_ack = lapic_nmi_ack,
    .eoi_deferrable = lapic_eoi_deferrable,
    .eoi = lapic_eoi,
};

/* ---- timer ---------------------------------------------------------------------------------- */

static uint64_t timer_div(const struct vmm_lapic *l)
{
    unsigned v = ((l->tdcr >> 1) & 4u) | (l->tdcr & 3u);

    return v == 7 ? 1 : 2ull << v;
}

static unsigned timer_mode(const struct vmm_lapic *l)
{
    unsigned m = LVT_TIMER_MODE(l->lvt[LVT_TIMER]);

    return m == 3 ? TIMER_ONESHOT : m; /* 3 is reserved */
}

static uint64_t timer_expiry(const struct vmm_lapic *l)
{
    return l->base_ns + (uint64_t)l->base_count * timer_div(l);
}

static void timer_fire(struct vmm_lapic *l, uint64_t now)
{
    l->st.timer_fires++;
    l->last_fire_ns = now;
    lvt_deliver(l, LVT_TIMER);
}

static uint32_t timer_current(const struct vmm_lapic *l, uint64_t now)
{
    uint64_t div = timer_div(l);
    uint64_t exp;

    if (!l->armed || timer_mode(l) == TIMER_TSC) {
        return 0;
    }
    exp = timer_expiry(l);
    if (now < exp) {
        uint64_t elapsed = now > l->base_ns ? (now - l->base_ns) / div : 0;

        return (uint32_t)(l->base_count - elapsed);
    }
    if (timer_mode(l) == TIMER_PERIODIC) {
        uint64_t period = (uint64_t)l->tmict * div;

        return (uint32_t)(l->tmict - ((now - exp) % period) / div);
    }
    return 0;
}

/* ns until the guest TSC advances by `ticks` (UINT64_MAX if never). */
static uint64_t tsc_delta_ns(uint64_t ticks)
{
    uint64_t hz = vmm_host()->tsc_hz;

    return hz == 0 ? UINT64_MAX : devio_ticks_to_ns(ticks, hz);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Brings the timer up to `now` (fires what is due) and returns its next expiry. */
static uint64_t timer_update(struct vmm_lapic *l, uint64_t now)
{
    uint64_t exp;
    uint64_t next;

    if (!l->hw_enabled) {
        return UINT64_MAX;
    }
    if (timer_mode(l) == TIMER_TSC) {
        uint64_t tsc;

        if (l->tsc_deadline == 0) {
            return UINT64_MAX;
        }
        tsc = vmm_guest_tsc(l->vm);
        if (tsc >= l->tsc_deadline) {
            l->tsc_deadline = 0; /* the MSR reads 0 once the timer fired */
            timer_fire(l, now);
            return UINT64_MAX;
        }
        return add_sat(now, tsc_delta_ns(l->tsc_deadline - tsc));
    }
    if (!l->armed) {
        return UINT64_MAX;
    }
    exp = timer_expiry(l);
    if (timer_mode(l) == TIMER_PERIODIC) {
        uint64_t period = (uint64_t)l->tmict * timer_div(l);
        uint64_t earliest = l->last_fire_ns == 0 ? 0 : l->last_fire_ns + LAPIC_MIN_PERIOD_NS;

        if (now >= exp && now >= earliest) {
            uint64_t missed = (now - exp) / period;

            timer_fire(l, now);
            l->st.timer_coalesced += missed;
            l->base_ns = exp + missed * period;
            l->base_count = l->tmict;
            exp = timer_expiry(l);
        }
        next = MAX(exp, l->last_fire_ns + LAPIC_MIN_PERIOD_NS);
        return next;
    }
    if (now >= exp) {
        l->armed = false;
        timer_fire(l, now);
        return UINT64_MAX;
    }
    return exp;
}

static uint64_t lapic_poll(void *dev, uint64_t now)
{
    return timer_update(dev, now);
}

static void timer_start(struct vmm_lapic *l, uint32_t count, uint64_t now)
{
    l->tmict = count;
    l->armed = count != 0;
    l->base_ns = now;
    l->base_count = count;
    l->last_fire_ns = 0;
}

static void timer_write_lvt(struct vmm_lapic *l, uint32_t val)
{
    bool was_tsc = timer_mode(l) == TIMER_TSC;

    l->lvt[LVT_TIMER] = val;
    if (was_tsc != (timer_mode(l) == TIMER_TSC)) {
        /* Switching to or from TSC-deadline mode disarms the timer. */
        l->armed = false;
        l->tmict = 0;
        l->tsc_deadline = 0;
    }
}

static void timer_write_tdcr(struct vmm_lapic *l, uint32_t val, uint64_t now)
{
    /* The count goes on from where it is at the new rate. */
    if (l->armed && now < timer_expiry(l)) {
        uint32_t cur = timer_current(l, now);

        l->base_ns = now;
        l->base_count = cur;
    }
    l->tdcr = val & TDCR_WRITABLE;
}

/* ---- registers ------------------------------------------------------------------------------ */

static uint32_t lvt_writable(const struct vmm_lapic *l, unsigned idx)
{
    switch (idx) {
    case LVT_TIMER:
        return l->cfg.tsc_deadline ? 0x700FFu : 0x300FFu;
    case LVT_LINT0:
    case LVT_LINT1:
        return 0x1A7FFu; /* vector, mode, polarity, trigger, mask */
    case LVT_ERROR:
        return 0x100FFu;
    default:
        return 0x107FFu; /* thermal, performance: vector, mode, mask */
    }
}

static void state_reset(struct vmm_lapic *l)
{
    l->id = (uint32_t)l->cfg.id << 24;
    l->tpr = 0;
    l->ldr = 0;
    l->dfr = 0xFFFFFFFFu;
    l->svr = 0xFF;
    l->esr = 0;
    l->esr_pending = 0;
    l->icr_lo = 0;
    l->icr_hi = 0;
    for (unsigned i = 0; i < LVT_COUNT; i++) {
        l->lvt[i] = LVT_MASKED;
    }
    /* Virtual wire mode, as a PC BIOS leaves it. */
    l->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
    l->lvt[LVT_LINT1] = APIC_DM_NMI << 8;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->nmi = false;
    l->extint_req = false;
    l->tmict = 0;
    l->tdcr = 0;
    l->armed = false;
    l->tsc_deadline = 0;
    l->last_fire_ns = 0;
}

static void do_eoi(struct vmm_lapic *l)
{
    int v = vec_highest(l->isr);

    if (v < 0) {
        LAPIC_LOG(l, LOG_LVL_DEBUG, "EOI with nothing in service");
        return;
    }
    vec_clear(l->isr, (unsigned)v);
    l->st.eois++;
    if (vec_test(l->tmr, (unsigned)v) && l->eoi_hook != NULL) {
        l->eoi_hook(l->eoi_ctx, (uint8_t)v);
    }
}

static void drop_ipi(struct vmm_lapic *l, const char *why)
{
    l->st.ipis_dropped++;
    if (first_time(l, ONCE_IPI)) {
        LAPIC_LOG(l, LOG_LVL_DEBUG, "ICR %#x (destination 0x%02x): %s, dropped", l->icr_lo,
                  l->icr_hi >> 24, why);
    }
}

/* The ICR was written: send the IPI. Only this CPU exists. */
static void icr_send(struct vmm_lapic *l)
{
    uint32_t lo = l->icr_lo;
    uint8_t vector = (uint8_t)lo;
    unsigned mode = (lo >> 8) & 7u;
    bool logical = (lo & ICR_DEST_LOGICAL) != 0;
    uint8_t dest = (uint8_t)(l->icr_hi >> 24);
    bool self;
    bool others;

    switch ((lo >> 18) & 3u) {
    case 1: /* self */
        self = true;
        others = false;
        break;
    case 2: /* all including self */
        self = true;
        others = true;
        break;
    case 3: /* all excluding self */
        self = false;
        others = true;
        break;
    default:
        self = dest_match(l, dest, logical);
        others = dest == 0xFF || (logical ? (dest & ~(uint8_t)(l->ldr >> 24)) != 0
                                          : dest != (uint8_t)(l->id >> 24));
        break;
    }
    if (others) {
        drop_ipi(l, "other CPUs do not exist");
    }
    if (!self) {
        return;
    }
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (vector < 16) {
            raise_error(l, ESR_SEND_ILLEGAL);
            return;
        }
        (void)accept(l, vector, false);
        break;
    case APIC_DM_NMI:
        l->nmi = true;
        l->st.nmis++;
        break;
    case APIC_DM_INIT:
        if (!(lo & ICR_LEVEL_ASSERT)) {
            break; /* INIT level de-assert: arbitration ID sync, nothing to do */
        }
        drop_ipi(l, "INIT to itself is not modelled");
        break;
    default:
        drop_ipi(l, "delivery mode not modelled for itself");
        break;
    }
}

/* Defined register offsets (the rest are reserved). */
static bool reg_defined(uint32_t reg)
{
    switch (reg) {
    case R_ID:
    case R_VER:
    case R_TPR:
    case R_APR:
    case R_PPR:
    case R_EOI:
    case R_RRD:
    case R_LDR:
    case R_DFR:
    case R_SVR:
    case R_ESR:
    case R_ICR_LO:
    case R_ICR_HI:
    case R_TMICT:
    case R_TMCCT:
    case R_TDCR:
        return true;
    default:
        return (reg >= R_ISR && reg < R_IRR + 0x80) ||
               (reg >= R_LVT && reg < R_LVT + LVT_COUNT * 0x10u);
    }
}

static uint32_t reg_read(struct vmm_lapic *l, uint32_t reg, uint64_t now)
{
    if (reg >= R_ISR && reg < R_ISR + 0x80) {
        return l->isr[(reg - R_ISR) >> 4];
    }
    if (reg >= R_TMR && reg < R_TMR + 0x80) {
        return l->tmr[(reg - R_TMR) >> 4];
    }
    if (reg >= R_IRR && reg < R_IRR + 0x80) {
        return l->irr[(reg - R_IRR) >> 4];
    }
    if (reg >= R_LVT && reg < R_LVT + LVT_COUNT * 0x10u) {
        return l->lvt[(reg - R_LVT) >> 4];
    }
    switch (reg) {
    case R_ID:
        return l->id;
    case R_VER:
        return LAPIC_VERSION;
    case R_TPR:
        return l->tpr;
    case R_APR:
        return apr_of(l);
    case R_PPR:
        return ppr_of(l);
    case R_LDR:
        return l->ldr;
    case R_DFR:
        return l->dfr | 0x0FFFFFFFu;
    case R_SVR:
        return l->svr;
    case R_ESR:
        return l->esr;
    case R_ICR_LO:
        return l->icr_lo; /* delivery status always idle */
    case R_ICR_HI:
        return l->icr_hi;
    case R_TMICT:
        return l->tmict;
    case R_TMCCT:
        (void)timer_update(l, now);
        return timer_current(l, now);
    case R_TDCR:
        return l->tdcr;
    default:
        return 0; /* EOI, RRD */
    }
}

static void reg_write(struct vmm_lapic *l, uint32_t reg, uint32_t val, uint64_t now)
{
    if (reg >= R_LVT && reg < R_LVT + LVT_COUNT * 0x10u) {
        unsigned idx = (reg - R_LVT) >> 4;

        val &= lvt_writable(l, idx);
        if (!sw_enabled(l)) {
            val |= LVT_MASKED; /* a software-disabled APIC keeps its entries masked */
        }
        if (idx == LVT_TIMER) {
            (void)timer_update(l, now);
            timer_write_lvt(l, val);
        } else {
            l->lvt[idx] = val;
        }
        return;
    }
    switch (reg) {
    case R_ID:
        l->id = val & 0xFF000000u;
        break;
    case R_TPR:
        l->tpr = val & 0xFF;
        break;
    case R_EOI:
        do_eoi(l);
        break;
    case R_LDR:
        l->ldr = val & 0xFF000000u;
        break;
    case R_DFR:
        l->dfr = (val & 0xF0000000u) | 0x0FFFFFFFu;
        break;
    case R_SVR:
        if ((l->svr & SVR_ENABLE) && !(val & SVR_ENABLE)) {
            for (unsigned i = 0; i < LVT_COUNT; i++) {
                l->lvt[i] |= LVT_MASKED;
            }
        }
        l->svr = val & SVR_WRITABLE;
        break;
    case R_ESR:
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case R_ICR_LO:
        l->icr_lo = val & ICR_LO_WRITABLE;
        icr_send(l);
        break;
    case R_ICR_HI:
        l->icr_hi = val & 0xFF000000u;
        break;
    case R_TMICT:
        (void)timer_update(l, now);
        if (timer_mode(l) != TIMER_TSC) {
            timer_start(l, val, now);
        }
        break;
    case R_TDCR:
        (void)timer_update(l, now);
        timer_write_tdcr(l, val, now);
        break;
    default:
        break; /* read-only: VER, APR, PPR, RRD, ISR, TMR, IRR, TMCCT */
    }
}

static void bad_access(struct vmm_lapic *l, uint64_t off, unsigned size, bool write)
{
    raise_error(l, ESR_ILLEGAL_REG);
    if (first_time(l, ONCE_ACCESS)) {
        LAPIC_LOG(l, LOG_LVL_DEBUG,
                  "%s of %u bytes at offset %#llx: not a register access, %s (logged once)",
                  write ? "write" : "read", size, (unsigned long long)off,
                  write ? "ignored" : "reads 0");
    }
}

static int lapic_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct vmm_lapic *l = dev;
    uint64_t off = gpa - l->cfg.base;
    uint32_t reg = (uint32_t)(off & ~0xFull);
    uint64_t now = vmm_host()->now_ns();
    uint64_t out = 0;

    if (!l->hw_enabled) {
        if (first_time(l, ONCE_DISABLED)) {
            LAPIC_LOG(l, LOG_LVL_DEBUG, "access to a hardware-disabled APIC: reads 0");
        }
        if (!write) {
            *val = 0;
        }
        return VMM_HANDLED;
    }
    if (write) {
        if (size != 4 || (off & 0xF) != 0 || !reg_defined(reg)) {
            bad_access(l, off, size, true);
            return VMM_HANDLED;
        }
        reg_write(l, reg, (uint32_t)*val, now);
        return VMM_HANDLED;
    }
    if (!reg_defined(reg) || (off & 0xF) + size > 16) {
        bad_access(l, off, size, false);
        *val = 0;
        return VMM_HANDLED;
    }
    /* Loads of part of a register read those bytes; bytes 4-15 of a register read 0. */
    if ((off & 0xF) < 4) {
        uint64_t v = reg_read(l, reg, now);

        out = v >> ((off & 0xF) * 8);
    }
    if (size < 8) {
        out &= (1ull << (size * 8)) - 1;
    }
    *val = out;
    return VMM_HANDLED;
}

/* ---- MSRs ----------------------------------------------------------------------------------- */

int vmm_lapic_msr_read(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    struct vmm_lapic *l = ctx;

    if (msr == MSR_APIC_BASE) {
        *val = l->apic_base;
        return 0;
    }
    if (msr == MSR_TSC_DEADLINE && l->cfg.tsc_deadline) {
        *val = timer_mode(l) == TIMER_TSC ? l->tsc_deadline : 0;
        return 0;
    }
    return -EPERM;
}

static int apic_base_write(struct vmm_lapic *l, uint64_t val)
{
    bool enable = (val & BASE_ENABLE) != 0;

    if (val & (BASE_RESERVED | BASE_X2APIC)) {
        return -EPERM;
    }
    if ((val & BASE_ADDR) != l->cfg.base && first_time(l, ONCE_RELOCATE)) {
        LAPIC_LOG(l, LOG_LVL_WARN,
                  "APIC base moved to %#llx: relocation not supported, stays at "
                  "%#llx (logged once)",
                  (unsigned long long)(val & BASE_ADDR), (unsigned long long)l->cfg.base);
    }
    if (l->hw_enabled && !enable) {
        state_reset(l);
        l->hw_enabled = false;
        LAPIC_LOG(l, LOG_LVL_DEBUG, "APIC disabled through MSR 0x1b");
    } else if (!l->hw_enabled && enable) {
        l->hw_enabled = true;
        LAPIC_LOG(l, LOG_LVL_DEBUG, "APIC enabled through MSR 0x1b");
    }
    l->apic_base = l->cfg.base | BASE_BSP | (enable ? BASE_ENABLE : 0);
    return 0;
}

int vmm_lapic_msr_write(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    struct vmm_lapic *l = ctx;

    if (msr == MSR_APIC_BASE) {
        return apic_base_write(l, *val);
    }
    if (msr == MSR_TSC_DEADLINE && l->cfg.tsc_deadline) {
        if (l->hw_enabled && timer_mode(l) == TIMER_TSC) {
            l->tsc_deadline = *val; /* 0 disarms; a past deadline fires at the next poll */
        }
        return 0;
    }
    return -EPERM;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

void vmm_lapic_set_eoi_hook(struct vmm_lapic *l, void (*eoi)(void *ctx, uint8_t vector), void *ctx)
{
    l->eoi_hook = eoi;
    l->eoi_ctx = ctx;
}

void vmm_lapic_stats(const struct vmm_lapic *l, struct vmm_lapic_stats *st)
{
    *st = l->st;
    st->svr = l->svr;
    st->tpr = l->tpr;
    st->ppr = ppr_of(l);
    st->esr = l->esr;
    st->lvt_timer = l->lvt[LVT_TIMER];
    st->lvt_lint0 = l->lvt[LVT_LINT0];
    st->lvt_lint1 = l->lvt[LVT_LINT1];
    memcpy(st->irr, l->irr, sizeof(st->irr));
    memcpy(st->isr, l->isr, sizeof(st->isr));
    memcpy(st->tmr, l->tmr, sizeof(st->tmr));
    st->hw_enabled = l->hw_enabled;
}

static void lapic_reset(void *dev)
{
    struct vmm_lapic *l = dev;

    state_reset(l);
    l->hw_enabled = true;
    l->apic_base = l->cfg.base | BASE_BSP | BASE_ENABLE;
}

static void lapic_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_dev_lapic_create(struct vmm_vm *vm, const struct vmm_lapic_config *cfg,
                         struct vmm_lapic **out)
{
    struct vmm_lapic *l;
    int rc;

    if (cfg != NULL && (cfg->base & 0xFFF) != 0) {
        LOG_VM(APIC, LOG_LVL_ERROR, vmm_vm_name(vm), "lapic: base %#llx not page aligned",
               (unsigned long long)cfg->base);
        return -EINVAL;
    }
    l = vmm_host()->zalloc(sizeof(*l));
    if (l == NULL) {
        return -ENOMEM;
    }
    l->vm = vm;
    if (cfg != NULL) {
        l->cfg = *cfg;
    } else {
        l->cfg.base = VMM_LAPIC_BASE;
        l->cfg.id = VMM_LAPIC_ID;
        l->cfg.tsc_deadline = true;
    }
    if (l->cfg.tsc_deadline && vmm_host()->tsc_hz == 0) {
        LAPIC_LOG(l, LOG_LVL_WARN, "lapic: TSC frequency unknown: no TSC-deadline mode");
        l->cfg.tsc_deadline = false;
    }
    lapic_reset(l);

    l->reg.name = "lapic";
    l->reg.dev = l;
    l->reg.mmio[0] =
        (struct vmm_dev_mmio_range){.base = l->cfg.base, .len = 0x1000, .fn = lapic_mmio};
    l->reg.nmmio = 1;
    l->reg.poll = lapic_poll;
    l->reg.reset = lapic_reset;
    l->reg.destroy = lapic_destroy;
    rc = vmm_dev_register(vm, &l->reg);
    if (rc < 0) {
        LAPIC_LOG(l, LOG_LVL_ERROR, "lapic: register failed: %d", rc);
        vmm_host()->free(l);
        return rc;
    }
    /* From here the VM owns the device and frees it through destroy. */
    rc = vmm_intc_take_cpu(vm, &lapic_cpu_ops, l, &l->pic_ops, &l->pic);
    if (rc < 0) {
        LAPIC_LOG(l, LOG_LVL_ERROR, "lapic: taking the CPU's interrupts failed: %d", rc);
        return rc;
    }
    if (out != NULL) {
        *out = l;
    }
    return 0;
}
