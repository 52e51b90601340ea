/* The kernel's global heap and its kmalloc/kfree front end. */
#include "heap.h"
#include "lib.h"
#include "log.h"

static struct heap g_heap;

struct heap *kernel_heap(void)
{
    return &g_heap;
}

void *kmalloc(size_t size)
{
    return heap_alloc(&g_heap, size, 0);
}

void *kmalloc_aligned(size_t size, size_t align)
{
    return heap_alloc(&g_heap, size, align);
}

void *kzalloc(size_t size)
{
    void *p = heap_alloc(&g_heap, size, 0);

    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

void kfree(void *ptr)
{
    if (heap_free(&g_heap, ptr) != 0) {
        LOG_ERROR(MM, "kfree: %p is not a live heap block (double free or corruption)", ptr);
    }
}
