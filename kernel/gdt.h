/* Segment selectors of the kernel GDT. */
#ifndef PETREL_GDT_H
#define PETREL_GDT_H

#include "types.h"

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS   0x18
#define IST_FAULT 1

void gdt_init(void);

#endif
