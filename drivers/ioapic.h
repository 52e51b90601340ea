/* IOAPIC: routes global system interrupts (ISA IRQs, PCI INTx) to LAPIC vectors. */
#ifndef PETREL_IOAPIC_H
#define PETREL_IOAPIC_H

#include "../kernel/types.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000ULL

int drv_ioapic_init(uint64_t phys);
unsigned drv_ioapic_pins(void);
/* Routes a pin to `vector` on the boot CPU, unmasked. level: level-triggered; active_low. */
int drv_ioapic_route(unsigned pin, uint8_t vector, bool level, bool active_low);
int drv_ioapic_mask(unsigned pin, bool masked);

#endif
