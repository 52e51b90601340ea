/* Application processors: bring-up (INIT-SIPI-SIPI through boot/ap_start.asm), CPU numbering
 * and IPIs. See docs/ARCHITECTURE.md, "SMP bring-up". */
#ifndef PETREL_SMP_H
#define PETREL_SMP_H

#include "types.h"

#define SMP_MAX_CPUS 8

typedef void (*smp_entry_fn)(unsigned cpu);

/* Starts the application processors. Each AP runs in 64-bit mode on the kernel's page tables
 * (the BSP's CR3, CR0, CR4, EFER minus SVME), with its own 16 KiB-aligned kernel stack (at
 * least 64 KiB), its own GDT+TSS (IST1 stack of its own, like gdt.c does for the BSP), the
 * shared IDT loaded, its local APIC software-enabled (TPR 0, LVTs masked, same spurious
 * vector as the BSP), and calls entry(cpu) with interrupts off, cpu = 1, 2, ... in the order
 * they checked in. entry never returns. APs beyond SMP_MAX_CPUS park (cli; hlt forever).
 * Returns the number of CPUs running afterwards, the BSP included (1 when there are no APs or
 * they did not answer within a bounded wait; logged either way). Call once, from the BSP,
 * after the LAPIC, IDT and memory are set up. */
unsigned smp_start(smp_entry_fn entry);
/* CPUs running (1 before smp_start). */
unsigned smp_cpus(void);
/* This CPU's index: 0 = the boot CPU (by local APIC id). */
unsigned smp_cpu(void);
/* A fixed-delivery IPI to CPU cpu (index as above) on vector; cpu must be running. */
void smp_ipi(unsigned cpu, uint8_t vector);

#endif
