/* Physical page allocator: bitmap, first fit, aligned contiguous runs (see pmm.h). */
#include "pmm.h"

static bool bit_get(const struct pmm *p, size_t i)
{
    return (p->bitmap[i / 64] >> (i % 64)) & 1;
}

static void bit_set(struct pmm *p, size_t i)
{
    p->bitmap[i / 64] |= 1ULL << (i % 64);
}

static void bit_clear(struct pmm *p, size_t i)
{
    p->bitmap[i / 64] &= ~(1ULL << (i % 64));
}

size_t pmm_bitmap_bytes(size_t npages)
{
    return ((npages + 63) / 64) * sizeof(uint64_t);
}

void pmm_init(struct pmm *p, uint64_t base, size_t npages, uint64_t *bitmap)
{
    p->base = ALIGN_DOWN(base, PAGE_SIZE);
    p->npages = npages;
    p->bitmap = bitmap;
    p->free_pages = 0;
    p->hint = 0;
    for (size_t i = 0; i < (npages + 63) / 64; i++) {
        bitmap[i] = ~0ULL;
    }
}

/* Clips [first, last) page indexes to the allocator. Returns false when nothing is left. */
static bool clip(const struct pmm *p, uint64_t start, uint64_t end, size_t *first, size_t *last)
{
    uint64_t lo = p->base;
    uint64_t hi = p->base + (uint64_t)p->npages * PAGE_SIZE;

    if (end <= start) {
        return false;
    }
    if (start < lo) {
        start = lo;
    }
    if (end > hi) {
        end = hi;
    }
    if (end <= start) {
        return false;
    }
    *first = (size_t)((start - p->base) / PAGE_SIZE);
    *last = (size_t)((end - p->base) / PAGE_SIZE);
    return *last > *first;
}

void pmm_release_range(struct pmm *p, uint64_t addr, uint64_t len)
{
    size_t first;
    size_t last;

    /* The second test keeps ALIGN_UP(addr) from wrapping to 0, which would free everything. */
    if (len == 0 || addr + len < addr || addr > UINT64_MAX - (PAGE_SIZE - 1)) {
        return;
    }
    if (!clip(p, ALIGN_UP(addr, PAGE_SIZE), ALIGN_DOWN(addr + len, PAGE_SIZE), &first, &last)) {
        return;
    }
    for (size_t i = first; i < last; i++) {
        if (bit_get(p, i)) {
            bit_clear(p, i);
            p->free_pages++;
        }
    }
}

void pmm_reserve_range(struct pmm *p, uint64_t addr, uint64_t len)
{
    size_t first;
    size_t last;
    uint64_t end = addr + len;

    if (len == 0) {
        return;
    }
    /* A range running past the top of memory reserves up to the last whole page; rounding a
     * wrapped or near-top end up would give 0 and reserve nothing. */
    if (end < addr || end > UINT64_MAX - (PAGE_SIZE - 1)) {
        end = ALIGN_DOWN(UINT64_MAX, PAGE_SIZE);
    }
    if (!clip(p, ALIGN_DOWN(addr, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE), &first, &last)) {
        return;
    }
    for (size_t i = first; i < last; i++) {
        if (!bit_get(p, i)) {
            bit_set(p, i);
            p->free_pages--;
        }
    }
}

static bool run_free(const struct pmm *p, size_t start, size_t n, size_t *blocker)
{
    for (size_t i = start; i < start + n; i++) {
        if (bit_get(p, i)) {
            *blocker = i;
            return false;
        }
    }
    return true;
}

int pmm_alloc(struct pmm *p, size_t npages, size_t align_pages, uint64_t *addr)
{
    size_t base_page = (size_t)(p->base / PAGE_SIZE);
    size_t i;

    if (npages == 0 || npages > p->free_pages) {
        return -ENOMEM;
    }
    if (align_pages == 0) {
        align_pages = 1;
    }
    /* Single pages start at the hint; aligned runs scan from the start so big runs come from
     * low memory first and stay predictable. */
    i = (npages == 1 && align_pages == 1) ? p->hint : 0;
    for (size_t pass = 0; pass < 2; pass++) {
        while (i < p->npages) {
            size_t rem = (base_page + i) % align_pages;
            size_t blocker;

            if (rem != 0) {
                i += align_pages - rem;
                continue;
            }
            if (i + npages > p->npages) {
                break;
            }
            /* Skip whole full words quickly. */
            if (npages == 1 && (i % 64) == 0 && p->bitmap[i / 64] == ~0ULL) {
                i += 64;
                continue;
            }
            if (run_free(p, i, npages, &blocker)) {
                for (size_t j = i; j < i + npages; j++) {
                    bit_set(p, j);
                }
                p->free_pages -= npages;
                if (npages == 1 && align_pages == 1) {
                    p->hint = i + 1;
                }
                *addr = p->base + (uint64_t)i * PAGE_SIZE;
                return 0;
            }
            i = blocker + 1;
        }
        i = 0;
        if (!(npages == 1 && align_pages == 1)) {
            break;
        }
    }
    return -ENOMEM;
}

int pmm_free(struct pmm *p, uint64_t addr, size_t npages)
{
    size_t first;

    if (npages == 0 || (addr % PAGE_SIZE) != 0 || addr < p->base) {
        return -EINVAL;
    }
    first = (size_t)((addr - p->base) / PAGE_SIZE);
    if (first >= p->npages || npages > p->npages - first) {
        return -EINVAL;
    }
    for (size_t i = first; i < first + npages; i++) {
        if (!bit_get(p, i)) {
            return -EINVAL; /* double free or never allocated: change nothing */
        }
    }
    for (size_t i = first; i < first + npages; i++) {
        bit_clear(p, i);
    }
    p->free_pages += npages;
    if (first < p->hint) {
        p->hint = first;
    }
    return 0;
}

bool pmm_is_used(const struct pmm *p, uint64_t addr)
{
    size_t i;

    if (addr < p->base) {
        return true;
    }
    i = (size_t)((addr - p->base) / PAGE_SIZE);
    return i >= p->npages || bit_get(p, i);
}

size_t pmm_free_count(const struct pmm *p)
{
    return p->free_pages;
}

size_t pmm_free_2m_count(const struct pmm *p)
{
    size_t count = 0;
    size_t base_page = (size_t)(p->base / PAGE_SIZE);
    size_t i = (PMM_PAGES_PER_2M - base_page % PMM_PAGES_PER_2M) % PMM_PAGES_PER_2M;

    for (; i + PMM_PAGES_PER_2M <= p->npages; i += PMM_PAGES_PER_2M) {
        size_t blocker;

        if (run_free(p, i, PMM_PAGES_PER_2M, &blocker)) {
            count++;
        }
    }
    return count;
}
