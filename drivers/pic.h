/* Legacy 8259 PIC pair: remapped away from the exception vectors and masked, because Petrel
 * routes interrupts through the IOAPIC and LAPIC. */
#ifndef PETREL_PIC_H
#define PETREL_PIC_H

#include "../kernel/types.h"

void drv_pic_disable(uint8_t vector_base);

#endif
