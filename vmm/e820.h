/* The guest's physical memory map as a PC BIOS reports it (e820), also the source of the
 * multiboot memory map and mem_lower/mem_upper. */
#ifndef PETREL_VMM_E820_H
#define PETREL_VMM_E820_H

#include "../kernel/types.h"

#define E820_RAM      1
#define E820_RESERVED 2

#define E820_MAX 8

struct vmm_e820_entry {
    uint64_t addr;
    uint64_t len;
    uint32_t type;
};

/* Low memory ends at the EBDA; the BIOS area is reserved; RAM resumes at 1 MiB. */
#define E820_LOW_END    0x9FC00ull
#define E820_BIOS_START 0xF0000ull
#define E820_HIGH_START 0x100000ull

/* Fills out (up to max entries, sorted, not overlapping) for a guest with ram_size bytes of
 * RAM from address 0. Returns the number of entries, or -EINVAL for less than 2 MiB of RAM or
 * a table that does not fit. */
int vmm_e820_build(uint64_t ram_size, struct vmm_e820_entry *out, size_t max);

#endif
