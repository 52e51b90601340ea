/* Interrupt masking around short critical sections. Hosted builds (unit tests) have no
 * interrupts, so there it does nothing. */
#ifndef PETREL_IRQFLAGS_H
#define PETREL_IRQFLAGS_H

#include "types.h"

typedef uint64_t irq_flags_t;

#if __STDC_HOSTED__
static inline irq_flags_t irqflags_save(void)
{
    return 0;
}

static inline void irqflags_restore(irq_flags_t f)
{
    (void)f;
}
#else
#include "cpu.h"

static inline irq_flags_t irqflags_save(void)
{
    return irq_save();
}

static inline void irqflags_restore(irq_flags_t f)
{
    irq_restore(f);
}
#endif

#endif
