/* Segment selectors of the kernel GDT (one per CPU, the same layout on each). */
#ifndef PETREL_GDT_H
#define PETREL_GDT_H

#include "types.h"

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS   0x18
#define IST_FAULT 1

/* The boot CPU's GDT and TSS: gdt_init_cpu(0). */
void gdt_init(void);
/* Loads CPU cpu's own GDT and TSS (IST1 stack of its own) on the calling CPU and reloads the
 * segment registers. -EINVAL if cpu >= SMP_MAX_CPUS. */
int gdt_init_cpu(unsigned cpu);

#endif
