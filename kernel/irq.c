/* Host interrupt routing (vector table, IOAPIC routes, EOI) and the deferred-work queue. */
#include "irq.h"
#include "bkl.h"
#include "cpu.h"
#include "smp.h"
#include "log.h"
#include "trap.h"
#include "../drivers/ioapic.h"
#include "../drivers/lapic.h"

struct vector_slot {
    irq_handler_fn fn;
    void *ctx;
    const char *name;
    uint64_t count;
};

struct work_item {
    irq_work_fn fn;
    void *arg;
};

static struct vector_slot g_vectors[256];
static struct work_item g_work[IRQ_DEFER_SLOTS];
static volatile uint32_t g_work_head; /* next to run */
static volatile uint32_t g_work_tail; /* next free */
static struct irq_stats g_stats;

void irq_init(void)
{
    g_work_head = 0;
    g_work_tail = 0;
}

int irq_register_vector(uint8_t vector, irq_handler_fn fn, void *ctx, const char *name)
{
    if (vector < 32 || fn == NULL) {
        return -EINVAL;
    }
    if (g_vectors[vector].fn != NULL) {
        return -EBUSY;
    }
    g_vectors[vector].fn = fn;
    g_vectors[vector].ctx = ctx;
    g_vectors[vector].name = name;
    return 0;
}

int irq_route_gsi(unsigned gsi, bool level, bool active_low, irq_handler_fn fn, void *ctx,
                  const char *name)
{
    unsigned vector = VEC_IRQ_BASE + gsi;
    int rc;

    if (vector >= VEC_PIC_BASE) {
        return -EINVAL;
    }
    rc = irq_register_vector((uint8_t)vector, fn, ctx, name);
    if (rc != 0) {
        return rc;
    }
    rc = drv_ioapic_route(gsi, (uint8_t)vector, level, active_low);
    if (rc != 0) {
        g_vectors[vector].fn = NULL;
        return rc;
    }
    LOG_INFO(IRQ, "gsi %u -> vector %u (%s)", gsi, vector, name);
    return 0;
}

void irq_dispatch(uint8_t vector)
{
    struct vector_slot *s = &g_vectors[vector];

    if (vector == VEC_SPURIOUS || (vector >= VEC_PIC_BASE && vector < VEC_PIC_BASE + 16)) {
        g_stats.spurious++;
        return; /* no EOI for spurious interrupts */
    }
    /* A handler on CPU 0 works on shared state (a driver's, the deferred-work queue): it
     * runs under the kernel lock, taken here when the interrupt woke a halt (bkl.h). The
     * guest CPU's own vectors do nothing but wake it. */
    if (smp_cpus() > 1 && smp_cpu() == 0) {
        bkl_lock();
    }
    s->count++;
    if (s->fn != NULL) {
        s->fn(s->ctx);
    } else {
        g_stats.unhandled++;
    }
    drv_lapic_eoi();
}

int irq_defer(irq_work_fn fn, void *arg)
{
    uint64_t flags = irq_save();
    uint32_t tail = g_work_tail;

    if (tail - g_work_head >= IRQ_DEFER_SLOTS) {
        g_stats.deferred_overflows++;
        irq_restore(flags);
        return -ENOSPC;
    }
    g_work[tail % IRQ_DEFER_SLOTS].fn = fn;
    g_work[tail % IRQ_DEFER_SLOTS].arg = arg;
    g_work_tail = tail + 1;
    irq_restore(flags);
    return 0;
}

int irq_run_deferred(void)
{
    int ran = 0;

    /* Bounded: work queued while we run waits for the next pass of the main loop. */
    for (uint32_t n = g_work_tail - g_work_head; n > 0; n--) {
        struct work_item w;
        uint64_t flags = irq_save();

        w = g_work[g_work_head % IRQ_DEFER_SLOTS];
        g_work_head++;
        irq_restore(flags);
        w.fn(w.arg);
        ran++;
    }
    return ran;
}

bool irq_work_pending(void)
{
    return g_work_tail != g_work_head;
}

void irq_get_stats(struct irq_stats *out)
{
    *out = g_stats;
}

bool irq_vector_info(uint8_t vector, uint64_t *count, const char **name)
{
    if (g_vectors[vector].fn == NULL) {
        return false;
    }
    *count = g_vectors[vector].count;
    *name = g_vectors[vector].name;
    return true;
}
