/* Kernel heap (see heap.h). Layout of an allocated block: [header][padding][user data]; the
 * header sits right before the user pointer so kfree can find it from the pointer alone. */
#include "heap.h"
#include "lib.h"
#include "irqflags.h"

#define MAGIC_FREE 0x46524545464c4953ULL /* "FREEFLIS" */
#define MAGIC_USED 0x55534544424c4f4bULL /* "USEDBLOK" */

struct heap_block {
    uint64_t magic;
    size_t size;             /* bytes of the whole block, header included */
    struct heap_block *next; /* free list link (free blocks only) */
    size_t offset;           /* used blocks: bytes from block start to the user pointer */
};

/* The header placed just before a user pointer (may be the block header or a copy of its
 * address for aligned allocations). */
struct used_tag {
    uint64_t magic;
    struct heap_block *block;
};

#define HDR_SIZE  ALIGN_UP(sizeof(struct heap_block), HEAP_ALIGN)
#define MIN_BLOCK (HDR_SIZE + 32)

void heap_init(struct heap *h)
{
    h->free_list = NULL;
    h->total = 0;
    h->used = 0;
    h->allocs = 0;
    h->failures = 0;
}

static void insert_free(struct heap *h, struct heap_block *b)
{
    struct heap_block **pp = &h->free_list;

    b->magic = MAGIC_FREE;
    while (*pp != NULL && *pp < b) {
        pp = &(*pp)->next;
    }
    b->next = *pp;
    *pp = b;
    /* Merge with the following block, then with the preceding one. */
    if (b->next != NULL && (uint8_t *)b + b->size == (uint8_t *)b->next) {
        b->size += b->next->size;
        b->next->magic = 0;
        b->next = b->next->next;
    }
    if (pp != &h->free_list) {
        struct heap_block *prev =
            (struct heap_block *)((uint8_t *)pp - offsetof(struct heap_block, next));
        if ((uint8_t *)prev + prev->size == (uint8_t *)b) {
            prev->size += b->size;
            prev->next = b->next;
            b->magic = 0;
        }
    }
}

int heap_add_region(struct heap *h, void *mem, size_t size)
{
    uintptr_t start = ALIGN_UP((uintptr_t)mem, HEAP_ALIGN);
    uintptr_t end = ALIGN_DOWN((uintptr_t)mem + size, HEAP_ALIGN);
    struct heap_block *b;

    if (mem == NULL || end <= start || end - start < MIN_BLOCK) {
        return -EINVAL;
    }
    b = (struct heap_block *)start;
    b->size = end - start;
    h->total += b->size;
    insert_free(h, b);
    return 0;
}

void *heap_alloc(struct heap *h, size_t size, size_t align)
{
    struct heap_block **pp;
    irq_flags_t flags;
    void *ret = NULL;

    if (align == 0) {
        align = HEAP_ALIGN;
    }
    if ((align & (align - 1)) != 0 || size == 0 || size > (SIZE_MAX / 2)) {
        return NULL;
    }
    if (align < HEAP_ALIGN) {
        align = HEAP_ALIGN;
    }
    size = ALIGN_UP(size, HEAP_ALIGN);

    flags = irqflags_save();
    for (pp = &h->free_list; *pp != NULL; pp = &(*pp)->next) {
        struct heap_block *b = *pp;
        uintptr_t user = ALIGN_UP((uintptr_t)b + HDR_SIZE, align);
        size_t need = (user - (uintptr_t)b) + size;

        if (need > b->size) {
            continue;
        }
        *pp = b->next;
        /* Split off the tail if it is big enough to be useful. */
        need = ALIGN_UP(need, HEAP_ALIGN);
        if (b->size - need >= MIN_BLOCK) {
            struct heap_block *rest = (struct heap_block *)((uint8_t *)b + need);
            rest->size = b->size - need;
            b->size = need;
            insert_free(h, rest);
        }
        b->magic = MAGIC_USED;
        b->next = NULL;
        b->offset = user - (uintptr_t)b;
        /* For aligned blocks the user pointer is past the header: leave a tag right before it. */
        if (b->offset > HDR_SIZE) {
            struct used_tag *tag = (struct used_tag *)(user - sizeof(struct used_tag));
            tag->magic = MAGIC_USED;
            tag->block = b;
        }
        h->used += b->size;
        h->allocs++;
        ret = (void *)user;
        break;
    }
    if (ret == NULL) {
        h->failures++;
    }
    irqflags_restore(flags);
    return ret;
}

static struct heap_block *block_of(const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    struct heap_block *b;
    const struct used_tag *tag;

    if (ptr == NULL || (p % HEAP_ALIGN) != 0) {
        return NULL;
    }
    b = (struct heap_block *)(p - HDR_SIZE);
    if (b->magic == MAGIC_USED && b->offset == HDR_SIZE) {
        return b;
    }
    tag = (const struct used_tag *)(p - sizeof(struct used_tag));
    if (tag->magic == MAGIC_USED && tag->block != NULL && tag->block->magic == MAGIC_USED &&
        (uintptr_t)tag->block + tag->block->offset == p) {
        return tag->block;
    }
    return NULL;
}

int heap_free(struct heap *h, void *ptr)
{
    struct heap_block *b;
    irq_flags_t flags;

    if (ptr == NULL) {
        return 0;
    }
    flags = irqflags_save();
    b = block_of(ptr);
    if (b == NULL) {
        irqflags_restore(flags);
        return -EINVAL;
    }
    if (b->offset > HDR_SIZE) {
        ((struct used_tag *)((uintptr_t)ptr - sizeof(struct used_tag)))->magic = 0;
    }
    h->used -= b->size;
    h->allocs--;
    insert_free(h, b);
    irqflags_restore(flags);
    return 0;
}

size_t heap_usable_size(const struct heap *h, const void *ptr)
{
    const struct heap_block *b = block_of(ptr);

    (void)h;
    return b != NULL ? b->size - b->offset : 0;
}

int heap_check(const struct heap *h)
{
    const struct heap_block *b;
    size_t free_bytes = 0;

    for (b = h->free_list; b != NULL; b = b->next) {
        /* Not MIN_BLOCK: a freed small allocation (header + 16 bytes) is a valid free block. */
        if (b->magic != MAGIC_FREE || b->size < HDR_SIZE + HEAP_ALIGN ||
            (b->size % HEAP_ALIGN) != 0) {
            return -EINVAL;
        }
        if (b->next != NULL && (uint8_t *)b + b->size >= (uint8_t *)b->next) {
            return -EINVAL; /* overlapping or unmerged neighbours */
        }
        free_bytes += b->size;
    }
    if (free_bytes + h->used != h->total) {
        return -EINVAL;
    }
    return 0;
}

size_t heap_largest_free(const struct heap *h)
{
    size_t best = 0;

    for (const struct heap_block *b = h->free_list; b != NULL; b = b->next) {
        if (b->size > best) {
            best = b->size;
        }
    }
    return best > HDR_SIZE ? best - HDR_SIZE : 0;
}
