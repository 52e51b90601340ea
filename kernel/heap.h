/* Kernel heap: first-fit free list with boundary coalescing over regions handed to it.
 * Each block carries a header with a magic value, so freeing a bad pointer or a double free is
 * reported (-EINVAL) instead of corrupting the heap. Runs hosted in unit tests. */
#ifndef PETREL_HEAP_H
#define PETREL_HEAP_H

#include "types.h"

#define HEAP_ALIGN 16

struct heap_block;

struct heap {
    struct heap_block *free_list; /* sorted by address, so neighbours can merge */
    size_t total;                 /* bytes managed, headers included */
    size_t used;                  /* bytes allocated, headers included */
    size_t allocs;                /* live allocations */
    size_t failures;              /* allocations that found no room */
};

void heap_init(struct heap *h);
/* Gives a region to the heap; it must stay valid for the heap's lifetime. -EINVAL if too small. */
int heap_add_region(struct heap *h, void *mem, size_t size);
/* Returns memory aligned to `align` (a power of two; 0 means HEAP_ALIGN), or NULL. */
void *heap_alloc(struct heap *h, size_t size, size_t align);
int heap_free(struct heap *h, void *ptr);
/* Usable size of an allocation (>= the size asked for), 0 for a bad pointer. */
size_t heap_usable_size(const struct heap *h, const void *ptr);
/* Walks the free list checking order, bounds and magics: 0 when consistent. */
int heap_check(const struct heap *h);
size_t heap_largest_free(const struct heap *h);

/* The kernel's global heap (kernel/heap.c keeps it; kernel/main.c gives it memory). */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void *kmalloc_aligned(size_t size, size_t align);
void kfree(void *ptr);
struct heap *kernel_heap(void);

#endif
