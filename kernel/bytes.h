/* Unaligned little-endian loads and stores for parsing and building binary structures
 * (multiboot information, boot images, ACPI tables, PCI config space). Pure: hosted builds
 * use it too. x86 is little-endian, so a memcpy is the whole conversion. */
#ifndef PETREL_BYTES_H
#define PETREL_BYTES_H

#include "lib.h"

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline void wr64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

#endif
