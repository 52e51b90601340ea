/* Host memory setup: reserve what is in use (low 1 MiB, the kernel, boot info, modules), hand
 * the rest to the page allocator, and carve the kernel heap out of it. */
#include "memory.h"
#include "heap.h"
#include "lib.h"
#include "log.h"

extern char _kernel_start[];
extern char _kernel_end[];

static struct pmm g_pmm;
/* One bit per page of the 4 GiB identity map: 128 KiB, in .bss. */
static uint64_t g_bitmap[(MEMORY_MAPPED_LIMIT / PAGE_SIZE) / 64];

struct pmm *kernel_pmm(void)
{
    return &g_pmm;
}

int page_alloc(size_t npages, uint64_t *phys)
{
    return pmm_alloc(&g_pmm, npages, 1, phys);
}

int page_alloc_2m(uint64_t *phys)
{
    return pmm_alloc(&g_pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, phys);
}

int page_free(uint64_t phys, size_t npages)
{
    int rc = pmm_free(&g_pmm, phys, npages);

    if (rc != 0) {
        LOG_ERROR(MM, "page_free(%#llx, %zu): not allocated", (unsigned long long)phys, npages);
    }
    return rc;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case BOOT_MEM_USABLE:
        return "usable";
    case BOOT_MEM_ACPI:
        return "ACPI";
    case BOOT_MEM_NVS:
        return "ACPI NVS";
    case BOOT_MEM_BAD:
        return "bad";
    default:
        return "reserved";
    }
}

int memory_init(const struct bootinfo *bi)
{
    uint64_t above = 0;
    uint64_t heap_size;
    uint64_t heap_phys;
    int rc;

    if (bi->nmmap == 0) {
        LOG_ERROR(MM, "the boot loader gave no memory map");
        return -EINVAL;
    }
    pmm_init(&g_pmm, 0, MEMORY_MAPPED_LIMIT / PAGE_SIZE, g_bitmap);
    for (size_t i = 0; i < bi->nmmap; i++) {
        const struct boot_mmap_entry *e = &bi->mmap[i];

        LOG_DEBUG(MM, "e820 %#014llx-%#014llx %s", (unsigned long long)e->addr,
                  (unsigned long long)(e->addr + e->len - 1), type_name(e->type));
        if (e->type != BOOT_MEM_USABLE) {
            continue;
        }
        if (e->addr + e->len > MEMORY_MAPPED_LIMIT) {
            uint64_t start = e->addr > MEMORY_MAPPED_LIMIT ? e->addr : MEMORY_MAPPED_LIMIT;
            above += e->addr + e->len - start;
        }
        pmm_release_range(&g_pmm, e->addr, e->len);
    }
    /* Overlapping map entries: anything any entry calls reserved stays reserved. */
    for (size_t i = 0; i < bi->nmmap; i++) {
        if (bi->mmap[i].type != BOOT_MEM_USABLE) {
            pmm_reserve_range(&g_pmm, bi->mmap[i].addr, bi->mmap[i].len);
        }
    }
    pmm_reserve_range(&g_pmm, 0, MiB(1)); /* BIOS data, real-mode IVT, option ROMs */
    pmm_reserve_range(&g_pmm, (uint64_t)(uintptr_t)_kernel_start,
                      (uint64_t)(uintptr_t)(_kernel_end - _kernel_start));
    pmm_reserve_range(&g_pmm, bi->info_start, bi->info_end - bi->info_start);
    for (size_t i = 0; i < bi->nmodules; i++) {
        pmm_reserve_range(&g_pmm, bi->modules[i].start, bi->modules[i].end - bi->modules[i].start);
    }
    if (bi->truncated > 0) {
        LOG_WARN(MM, "boot info: %u memory-map entries or modules did not fit and were skipped",
                 bi->truncated);
    }

    LOG_INFO(BOOT, "memory: %llu MiB usable, kernel %llu KiB at %#llx",
             (unsigned long long)(bootinfo_usable_bytes(bi) >> 20),
             (unsigned long long)((uint64_t)(_kernel_end - _kernel_start) >> 10),
             (unsigned long long)(uintptr_t)_kernel_start);
    if (above > 0) {
        LOG_WARN(MM, "%llu MiB above 4 GiB left unused (the identity map covers 4 GiB)",
                 (unsigned long long)(above >> 20));
    }

    /* Heap: an eighth of free memory, at most KERNEL_HEAP_MAX, whole 2 MiB pages if possible. */
    heap_size = ((uint64_t)pmm_free_count(&g_pmm) * PAGE_SIZE) / 8;
    if (heap_size > KERNEL_HEAP_MAX) {
        heap_size = KERNEL_HEAP_MAX;
    }
    heap_size = ALIGN_DOWN(heap_size, PAGE_SIZE);
    if (heap_size < MiB(1)) {
        LOG_ERROR(MM, "too little memory for the kernel heap");
        return -ENOMEM;
    }
    rc = pmm_alloc(&g_pmm, heap_size / PAGE_SIZE, PMM_PAGES_PER_2M, &heap_phys);
    if (rc != 0) {
        rc = pmm_alloc(&g_pmm, heap_size / PAGE_SIZE, 1, &heap_phys);
    }
    if (rc != 0) {
        LOG_ERROR(MM, "no contiguous %llu KiB for the kernel heap",
                  (unsigned long long)(heap_size >> 10));
        return rc;
    }
    heap_init(kernel_heap());
    rc = heap_add_region(kernel_heap(), (void *)(uintptr_t)heap_phys, heap_size);
    if (rc != 0) {
        return rc;
    }
    LOG_INFO(BOOT, "memory: %zu pages free (%zu MiB, %zu free 2 MiB pages), heap %llu MiB at %#llx",
             pmm_free_count(&g_pmm), pmm_free_count(&g_pmm) >> 8, pmm_free_2m_count(&g_pmm),
             (unsigned long long)(heap_size >> 20), (unsigned long long)heap_phys);
    return 0;
}
