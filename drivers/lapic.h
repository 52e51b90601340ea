/* Local APIC (xAPIC, MMIO at the address in IA32_APIC_BASE): EOI, spurious vector, timer, IPIs. */
#ifndef PETREL_LAPIC_H
#define PETREL_LAPIC_H

#include "../kernel/types.h"

int drv_lapic_init(uint8_t spurious_vector);
/* On an application processor, after drv_lapic_init ran on the BSP: enables this CPU's APIC
 * the same way (TPR 0, local vectors masked, the BSP's spurious vector). Logs nothing (the log
 * is the BSP's while APs start). -ENODEV if the APIC is not where the BSP's is. */
int drv_lapic_init_ap(void);
uint32_t drv_lapic_id(void);
void drv_lapic_eoi(void);
/* Counts LAPIC timer ticks (divide by 16) during a PIT-measured interval; returns ticks/s. */
uint64_t drv_lapic_timer_calibrate(void);
uint64_t drv_lapic_base(void);
/* One-shot mode on `vector`: each drv_lapic_timer_arm(count) fires once after count ticks. */
void drv_lapic_timer_oneshot(uint8_t vector);
void drv_lapic_timer_arm(uint32_t count);
/* IPIs. Each waits (bounded, ~1 ms) for the previous one to leave the APIC and for its own to
 * be accepted, and returns -ETIMEDOUT if the delivery status stays pending. */
/* INIT (assert) to all CPUs but this one: the first step of starting the APs. */
int drv_lapic_send_init_all(void);
/* Start-up IPI to all CPUs but this one: those waiting for it start in real mode at
 * page << 12. */
int drv_lapic_send_sipi_all(uint8_t page);
/* A fixed-delivery interrupt on vector (32-255) to the CPU whose APIC id is apic_id. */
int drv_lapic_send_ipi(uint32_t apic_id, uint8_t vector);

#endif
