/* Physical page allocator: a bitmap over a range of physical memory, one bit per 4 KiB page
 * (set = in use). It never touches the pages themselves, so it runs hosted in unit tests.
 * Contiguous, aligned runs give 2 MiB pages for guest memory (pmm_alloc(p, 512, 512, &pa)). */
#ifndef PETREL_PMM_H
#define PETREL_PMM_H

#include "types.h"

#define PMM_PAGES_PER_2M 512

struct pmm {
    uint64_t base;     /* physical address of page 0, 4 KiB aligned */
    size_t npages;     /* pages covered by the bitmap */
    uint64_t *bitmap;  /* (npages + 63) / 64 words */
    size_t free_pages; /* pages currently free */
    size_t hint;       /* where the next single-page search starts */
};

/* Bytes of bitmap needed for npages. */
size_t pmm_bitmap_bytes(size_t npages);
/* Starts with every page in use; free the usable ranges with pmm_release_range. */
void pmm_init(struct pmm *p, uint64_t base, size_t npages, uint64_t *bitmap);
/* Marks the whole pages inside [addr, addr+len) free / in use (partial pages are skipped when
 * freeing and included when reserving). Ranges outside the allocator are clipped. */
void pmm_release_range(struct pmm *p, uint64_t addr, uint64_t len);
void pmm_reserve_range(struct pmm *p, uint64_t addr, uint64_t len);
/* Allocates npages contiguous pages whose first page index is a multiple of align_pages
 * (relative to physical 0). Returns 0 and the address, or -ENOMEM. */
int pmm_alloc(struct pmm *p, size_t npages, size_t align_pages, uint64_t *addr);
/* Frees a run; -EINVAL (and nothing changes) if any page of it is not allocated or the range
 * is not page aligned or outside the allocator. */
int pmm_free(struct pmm *p, uint64_t addr, size_t npages);
bool pmm_is_used(const struct pmm *p, uint64_t addr);
size_t pmm_free_count(const struct pmm *p);
/* Number of free 2 MiB-aligned 2 MiB pages (for the banner and `mem`). */
size_t pmm_free_2m_count(const struct pmm *p);

#endif
