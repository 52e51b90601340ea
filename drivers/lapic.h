/* Local APIC (xAPIC, MMIO at the address in IA32_APIC_BASE): EOI, spurious vector, timer. */
#ifndef PETREL_LAPIC_H
#define PETREL_LAPIC_H

#include "../kernel/types.h"

int drv_lapic_init(uint8_t spurious_vector);
uint32_t drv_lapic_id(void);
void drv_lapic_eoi(void);
/* Counts LAPIC timer ticks (divide by 16) during a PIT-measured interval; returns ticks/s. */
uint64_t drv_lapic_timer_calibrate(void);
uint64_t drv_lapic_base(void);
/* One-shot mode on `vector`: each drv_lapic_timer_arm(count) fires once after count ticks. */
void drv_lapic_timer_oneshot(uint8_t vector);
void drv_lapic_timer_arm(uint32_t count);

#endif
