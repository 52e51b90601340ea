/* Guest RAM (gmem.h): allocation from host pages and checked guest-physical access. */
#include "gmem.h"
#include "host.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define PAGES_PER_CHUNK (GMEM_CHUNK / PAGE_SIZE)

static void free_chunk(struct gmem_chunk *c)
{
    const struct vmm_host *h = vmm_host();

    if (c->pages != NULL) {
        for (size_t i = 0; i < PAGES_PER_CHUNK; i++) {
            if (c->pages[i] != 0) {
                h->page_free(c->pages[i], 1);
            }
        }
        h->free(c->pages);
        c->pages = NULL;
    } else if (c->hpa != 0) {
        h->page_free(c->hpa, PAGES_PER_CHUNK);
    }
    c->hpa = 0;
}

static int alloc_chunk(struct gmem_chunk *c)
{
    const struct vmm_host *h = vmm_host();

    if (h->page_alloc_2m(&c->hpa) == 0) {
        memset(h->phys_to_virt(c->hpa), 0, GMEM_CHUNK);
        return 1;
    }
    c->hpa = 0;
    c->pages = h->zalloc(PAGES_PER_CHUNK * sizeof(uint64_t));
    if (c->pages == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < PAGES_PER_CHUNK; i++) {
        if (h->page_alloc(1, &c->pages[i]) != 0) {
            c->pages[i] = 0;
            return -ENOMEM;
        }
        memset(h->phys_to_virt(c->pages[i]), 0, PAGE_SIZE);
    }
    return 0;
}

int gmem_init(struct vmm_gmem *m, uint64_t size)
{
    const struct vmm_host *h = vmm_host();

    memset(m, 0, sizeof(*m));
    if (size == 0) {
        return -EINVAL;
    }
    size = ALIGN_UP(size, GMEM_CHUNK);
    m->nchunks = (size_t)(size / GMEM_CHUNK);
    m->chunks = h->zalloc(m->nchunks * sizeof(*m->chunks));
    if (m->chunks == NULL) {
        m->nchunks = 0;
        return -ENOMEM;
    }
    m->size = size;
    for (size_t i = 0; i < m->nchunks; i++) {
        int rc = alloc_chunk(&m->chunks[i]);

        if (rc < 0) {
            gmem_free(m);
            return rc;
        }
        m->chunks_2m += (size_t)rc;
    }
    return 0;
}

void gmem_free(struct vmm_gmem *m)
{
    if (m->chunks != NULL) {
        for (size_t i = 0; i < m->nchunks; i++) {
            free_chunk(&m->chunks[i]);
        }
        vmm_host()->free(m->chunks);
    }
    memset(m, 0, sizeof(*m));
}

bool gmem_is_ram(const struct vmm_gmem *m, uint64_t gpa)
{
    return gpa < m->size && !(gpa >= GMEM_VGA_START && gpa < GMEM_VGA_END);
}

int gmem_gpa_to_hpa(const struct vmm_gmem *m, uint64_t gpa, uint64_t *hpa)
{
    const struct gmem_chunk *c;

    if (!gmem_is_ram(m, gpa)) {
        return -EFAULT;
    }
    c = &m->chunks[gpa / GMEM_CHUNK];
    if (c->pages == NULL) {
        *hpa = c->hpa + (gpa % GMEM_CHUNK);
    } else {
        *hpa = c->pages[(gpa % GMEM_CHUNK) / PAGE_SIZE] + (gpa % PAGE_SIZE);
    }
    return 0;
}

void *gmem_ptr(const struct vmm_gmem *m, uint64_t gpa, size_t *contig)
{
    const struct gmem_chunk *c;
    uint64_t hpa;
    uint64_t end;

    if (gmem_gpa_to_hpa(m, gpa, &hpa) != 0) {
        return NULL;
    }
    c = &m->chunks[gpa / GMEM_CHUNK];
    end = c->pages == NULL ? ALIGN_DOWN(gpa, GMEM_CHUNK) + GMEM_CHUNK
                           : ALIGN_DOWN(gpa, PAGE_SIZE) + PAGE_SIZE;
    if (gpa < GMEM_VGA_START && end > GMEM_VGA_START) {
        end = GMEM_VGA_START;
    }
    *contig = (size_t)(end - gpa);
    return vmm_host()->phys_to_virt(hpa);
}

bool gmem_range_ok(const struct vmm_gmem *m, uint64_t gpa, uint64_t len)
{
    if (len == 0) {
        return true;
    }
    if (gpa >= m->size || len > m->size - gpa) {
        return false;
    }
    /* The only hole inside [0, size) is the VGA window. */
    return gpa + len <= GMEM_VGA_START || gpa >= GMEM_VGA_END;
}

int gmem_read(const struct vmm_gmem *m, uint64_t gpa, void *buf, size_t len)
{
    uint8_t *out = buf;

    if (!gmem_range_ok(m, gpa, len)) {
        return -EFAULT;
    }
    while (len > 0) {
        size_t n;
        const void *p = gmem_ptr(m, gpa, &n);

        n = MIN(n, len);
        memcpy(out, p, n);
        out += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

int gmem_write(struct vmm_gmem *m, uint64_t gpa, const void *buf, size_t len)
{
    const uint8_t *in = buf;

    if (!gmem_range_ok(m, gpa, len)) {
        return -EFAULT;
    }
    while (len > 0) {
        size_t n;
        void *p = gmem_ptr(m, gpa, &n);

        n = MIN(n, len);
        memcpy(p, in, n);
        in += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

int gmem_read16(const struct vmm_gmem *m, uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];
    int rc;

    if ((gpa & 1) == 0 && gmem_range_ok(m, gpa, 2)) {
        size_t n;
        const volatile uint16_t *p = gmem_ptr(m, gpa, &n);

        *v = *p; /* x86: little-endian already */
        return 0;
    }
    rc = gmem_read(m, gpa, b, 2);
    *v = (uint16_t)(b[0] | b[1] << 8);
    return rc;
}

int gmem_write16(struct vmm_gmem *m, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    if ((gpa & 1) == 0 && gmem_range_ok(m, gpa, 2)) {
        size_t n;
        volatile uint16_t *p = gmem_ptr(m, gpa, &n);

        *p = v;
        return 0;
    }
    return gmem_write(m, gpa, b, 2);
}

int gmem_fill(struct vmm_gmem *m, uint64_t gpa, uint8_t byte, size_t len)
{
    if (!gmem_range_ok(m, gpa, len)) {
        return -EFAULT;
    }
    while (len > 0) {
        size_t n;
        void *p = gmem_ptr(m, gpa, &n);

        n = MIN(n, len);
        memset(p, byte, n);
        gpa += n;
        len -= n;
    }
    return 0;
}

void gmem_clear(struct vmm_gmem *m)
{
    const struct vmm_host *h = vmm_host();

    for (size_t i = 0; i < m->nchunks; i++) {
        struct gmem_chunk *c = &m->chunks[i];

        if (c->pages == NULL) {
            memset(h->phys_to_virt(c->hpa), 0, GMEM_CHUNK);
            continue;
        }
        for (size_t p = 0; p < PAGES_PER_CHUNK; p++) {
            memset(h->phys_to_virt(c->pages[p]), 0, PAGE_SIZE);
        }
    }
}
