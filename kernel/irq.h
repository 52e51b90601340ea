/* Host interrupt routing and deferred work.
 *
 * Drivers register a handler for a global system interrupt (IOAPIC pin) or a fixed vector. The
 * handler runs with interrupts off and should only acknowledge the device and queue the real
 * work with irq_defer(); the main loop runs deferred work with interrupts on. */
#ifndef PETREL_IRQ_H
#define PETREL_IRQ_H

#include "types.h"

typedef void (*irq_handler_fn)(void *ctx);
typedef void (*irq_work_fn)(void *arg);

#define IRQ_DEFER_SLOTS 256

void irq_init(void);
/* Routes IOAPIC pin `gsi` to a free vector and calls fn(ctx) for each interrupt. */
int irq_route_gsi(unsigned gsi, bool level, bool active_low, irq_handler_fn fn, void *ctx,
                  const char *name);
int irq_register_vector(uint8_t vector, irq_handler_fn fn, void *ctx, const char *name);
/* Called from trap_dispatch for vectors >= 32: runs the handler and sends the EOI. */
void irq_dispatch(uint8_t vector);
/* Queues fn(arg) for the main loop. Safe from interrupt handlers. -ENOSPC when full (the
 * overflow is counted). */
int irq_defer(irq_work_fn fn, void *arg);
/* Runs queued work; returns how many items ran. */
int irq_run_deferred(void);
bool irq_work_pending(void);

struct irq_stats {
    uint64_t deferred_overflows;
    uint64_t unhandled;
    uint64_t spurious;
};
void irq_get_stats(struct irq_stats *out);
/* For `irq`-style listings: count and name of a vector, false when unused. */
bool irq_vector_info(uint8_t vector, uint64_t *count, const char **name);

#endif
