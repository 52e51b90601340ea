/* Guest RAM: guest-physical [0, size) backed by host pages, 2 MiB at a time where the host
 * has free 2 MiB pages, else 512 single pages for that 2 MiB. The VGA window 0xA0000-0xBFFFF
 * is a hole (not RAM: an access there is MMIO). Every access from the VMM is checked here. */
#ifndef PETREL_VMM_GMEM_H
#define PETREL_VMM_GMEM_H

#include "../kernel/types.h"

#define GMEM_CHUNK     PAGE_SIZE_2M
#define GMEM_VGA_START 0xA0000ull
#define GMEM_VGA_END   0xC0000ull

struct gmem_chunk {
    uint64_t hpa;    /* host address of the 2 MiB page, when pages == NULL */
    uint64_t *pages; /* else: host addresses of its 512 4 KiB pages */
};

struct vmm_gmem {
    uint64_t size; /* bytes, a multiple of 2 MiB */
    size_t nchunks;
    struct gmem_chunk *chunks;
    size_t chunks_2m; /* how many chunks are whole 2 MiB host pages */
};

/* Allocates and zeroes size bytes (rounded up to 2 MiB). -ENOMEM frees what it took. */
int gmem_init(struct vmm_gmem *m, uint64_t size);
void gmem_free(struct vmm_gmem *m);
void gmem_clear(struct vmm_gmem *m);
bool gmem_is_ram(const struct vmm_gmem *m, uint64_t gpa);
/* Host-physical address of a RAM byte; -EFAULT when gpa is not RAM. */
int gmem_gpa_to_hpa(const struct vmm_gmem *m, uint64_t gpa, uint64_t *hpa);
/* Pointer to a RAM byte and how many bytes after it are contiguous in host memory and RAM
 * (at least 1); NULL when gpa is not RAM. */
void *gmem_ptr(const struct vmm_gmem *m, uint64_t gpa, size_t *contig);
/* Checked copies: -EFAULT (and nothing copied) when any byte is not RAM. */
int gmem_read(const struct vmm_gmem *m, uint64_t gpa, void *buf, size_t len);
int gmem_write(struct vmm_gmem *m, uint64_t gpa, const void *buf, size_t len);
/* One little-endian 16-bit value, in a single access when it is aligned: a guest running on
 * another CPU reads or writes it meanwhile (a virtqueue index) and must never see half of
 * one. Unaligned, it is two bytes (a guest that misaligns its ring gets what it asked for). */
int gmem_read16(const struct vmm_gmem *m, uint64_t gpa, uint16_t *v);
int gmem_write16(struct vmm_gmem *m, uint64_t gpa, uint16_t v);
int gmem_fill(struct vmm_gmem *m, uint64_t gpa, uint8_t byte, size_t len);
/* True when every byte of [gpa, gpa+len) is RAM. */
bool gmem_range_ok(const struct vmm_gmem *m, uint64_t gpa, uint64_t len);

#endif
