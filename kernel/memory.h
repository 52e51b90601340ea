/* Host memory setup: the page allocator over the boot memory map, and the kernel heap. */
#ifndef PETREL_MEMORY_H
#define PETREL_MEMORY_H

#include "bootinfo.h"
#include "pmm.h"

/* Identity map built by boot/entry.asm: memory above it is not used. */
#define MEMORY_MAPPED_LIMIT GiB(4)
#define KERNEL_HEAP_MAX     MiB(32)

int memory_init(const struct bootinfo *bi);
struct pmm *kernel_pmm(void);
/* Page allocation for the rest of the kernel (and the VMM's host interface). */
int page_alloc(size_t npages, uint64_t *phys);
int page_alloc_2m(uint64_t *phys);
int page_free(uint64_t phys, size_t npages);

#endif
