/* Nested page tables (npt.h). Table pages come from the host's page allocator; the tree is
 * freed by walking it, so no separate list of tables is kept. */
#include "npt.h"
#include "gmem.h"
#include "host.h"
#include "../kernel/lib.h"

#define NPT_ENTRIES 512
#define GPA_LIMIT   (1ull << 48)

static uint64_t *table(uint64_t pa)
{
    return vmm_host()->phys_to_virt(pa);
}

static int alloc_table(struct vmm_npt *n, uint64_t *pa)
{
    const struct vmm_host *h = vmm_host();
    int rc = h->page_alloc(1, pa);

    if (rc != 0) {
        return -ENOMEM;
    }
    memset(h->phys_to_virt(*pa), 0, PAGE_SIZE);
    n->tables++;
    return 0;
}

int npt_init(struct vmm_npt *n)
{
    n->root_pa = 0;
    n->tables = 0;
    return alloc_table(n, &n->root_pa);
}

static void free_level(struct vmm_npt *n, uint64_t pa, int level)
{
    uint64_t *t = table(pa);

    if (level > 1) {
        for (size_t i = 0; i < NPT_ENTRIES; i++) {
            if ((t[i] & NPT_P) && !(t[i] & NPT_PS)) {
                free_level(n, t[i] & NPT_ADDR, level - 1);
            }
        }
    }
    vmm_host()->page_free(pa, 1);
    n->tables--;
}

void npt_destroy(struct vmm_npt *n)
{
    if (n->root_pa != 0) {
        free_level(n, n->root_pa, 4);
    }
    n->root_pa = 0;
}

static unsigned index_at(uint64_t gpa, int level)
{
    return (unsigned)((gpa >> (12 + 9 * (level - 1))) & (NPT_ENTRIES - 1));
}

int npt_map(struct vmm_npt *n, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags)
{
    int leaf_level;
    uint64_t pa = n->root_pa;

    if (size == PAGE_SIZE) {
        leaf_level = 1;
    } else if (size == PAGE_SIZE_2M) {
        leaf_level = 2;
    } else {
        return -EINVAL;
    }
    if ((gpa & (size - 1)) != 0 || (hpa & (size - 1)) != 0 || gpa >= GPA_LIMIT ||
        (hpa & ~NPT_ADDR) != 0 || n->root_pa == 0) {
        return -EINVAL;
    }
    for (int level = 4; level > leaf_level; level--) {
        uint64_t *t = table(pa);
        uint64_t *e = &t[index_at(gpa, level)];

        if (*e & NPT_PS) {
            return -EEXIST;
        }
        if (!(*e & NPT_P)) {
            uint64_t next;
            int rc = alloc_table(n, &next);

            if (rc != 0) {
                return rc;
            }
            *e = next | NPT_P | NPT_RW | NPT_U;
        }
        pa = *e & NPT_ADDR;
    }
    {
        uint64_t *e = &table(pa)[index_at(gpa, leaf_level)];

        if (*e & NPT_P) {
            return -EEXIST;
        }
        *e = hpa | (flags & (NPT_P | NPT_RW | NPT_U | NPT_NX)) | NPT_P | NPT_U |
             (leaf_level == 2 ? NPT_PS : 0);
    }
    return 0;
}

int npt_lookup(const struct vmm_npt *n, uint64_t gpa, uint64_t *hpa, uint64_t *flags)
{
    uint64_t pa = n->root_pa;

    if (gpa >= GPA_LIMIT || n->root_pa == 0) {
        return -ENOENT;
    }
    for (int level = 4; level >= 1; level--) {
        uint64_t e = table(pa)[index_at(gpa, level)];

        if (!(e & NPT_P)) {
            return -ENOENT;
        }
        if (level == 1 || (level == 2 && (e & NPT_PS))) {
            uint64_t size = level == 1 ? PAGE_SIZE : PAGE_SIZE_2M;

            *hpa = (e & NPT_ADDR & ~(size - 1)) + (gpa & (size - 1));
            *flags = e & ~NPT_ADDR;
            return 0;
        }
        if (e & NPT_PS) {
            return -ENOENT; /* 1 GiB leaves are never built */
        }
        pa = e & NPT_ADDR;
    }
    return -ENOENT;
}

int npt_map_gmem(struct vmm_npt *n, const struct vmm_gmem *m)
{
    for (uint64_t gpa = 0; gpa < m->size; gpa += GMEM_CHUNK) {
        const struct gmem_chunk *c = &m->chunks[gpa / GMEM_CHUNK];
        bool has_hole = gpa < GMEM_VGA_END && gpa + GMEM_CHUNK > GMEM_VGA_START;
        int rc;

        if (c->pages == NULL && !has_hole) {
            rc = npt_map(n, gpa, c->hpa, PAGE_SIZE_2M, NPT_RAM);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        for (uint64_t off = 0; off < GMEM_CHUNK; off += PAGE_SIZE) {
            uint64_t hpa;

            if (gmem_gpa_to_hpa(m, gpa + off, &hpa) != 0) {
                continue; /* the VGA hole */
            }
            rc = npt_map(n, gpa + off, hpa, PAGE_SIZE, NPT_RAM);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}
