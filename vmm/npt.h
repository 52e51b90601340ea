/* Nested page tables (AMD NPT): guest-physical to host-physical, 4 levels like long-mode
 * paging, 2 MiB leaves where guest and host are both 2 MiB aligned, else 4 KiB leaves.
 * Every entry carries the U bit: the CPU performs nested walks as user accesses. */
#ifndef PETREL_VMM_NPT_H
#define PETREL_VMM_NPT_H

#include "../kernel/types.h"

#define NPT_P    (1ull << 0)
#define NPT_RW   (1ull << 1)
#define NPT_U    (1ull << 2)
#define NPT_PS   (1ull << 7)
#define NPT_NX   (1ull << 63)
#define NPT_ADDR 0x000FFFFFFFFFF000ull
/* Flags for ordinary guest RAM. */
#define NPT_RAM (NPT_P | NPT_RW | NPT_U)

struct vmm_npt {
    uint64_t root_pa; /* PML4, the VMCB's N_CR3 */
    size_t tables;    /* page-table pages in use, the root included */
};

struct vmm_gmem;

int npt_init(struct vmm_npt *n);
/* Frees every table page. */
void npt_destroy(struct vmm_npt *n);
/* Maps one page: size is PAGE_SIZE or PAGE_SIZE_2M, gpa and hpa aligned to it. -EEXIST when
 * something is mapped there already, -EINVAL for bad alignment or a gpa above 48 bits. */
int npt_map(struct vmm_npt *n, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags);
/* Translates gpa: 0 with the host address and the leaf's flags, or -ENOENT. */
int npt_lookup(const struct vmm_npt *n, uint64_t gpa, uint64_t *hpa, uint64_t *flags);
/* Maps all of guest RAM (2 MiB leaves for 2 MiB host pages, 4 KiB leaves elsewhere; the
 * VGA hole stays unmapped). */
int npt_map_gmem(struct vmm_npt *n, const struct vmm_gmem *m);

#endif
