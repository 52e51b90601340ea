/* Small helpers shared by the device models: byte-register port access splitting, string IO
 * done element by element, BCD, and the ns <-> clock-tick arithmetic the timers need. */
#ifndef PETREL_VMM_DEVIO_H
#define PETREL_VMM_DEVIO_H

#include "../../kernel/lib.h"
#include "../../kernel/types.h"
#include "../vmm_dev.h"

#define DEVIO_NS_PER_SEC 1000000000ULL

/* One byte-wide register access: *val is written or receives the value. VMM_NOT_MINE for a
 * port the device does not decode. */
typedef int (*devio_byte_fn)(void *dev, uint16_t port, bool write, uint8_t *val);

/* ISA devices have byte registers; a 2- or 4-byte access touches consecutive ports, as the ISA
 * bus splits it. Bytes on ports the device does not decode read as 0xFF and their writes are
 * dropped; if the first port is not decoded the whole access is VMM_NOT_MINE. */
static inline int devio_split(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val,
                              devio_byte_fn fn)
{
    uint32_t out = 0;

    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = write ? (uint8_t)(*val >> (8 * i)) : 0xFF;
        int rc = fn(dev, (uint16_t)(port + i), write, &b);

        if (rc == VMM_NOT_MINE) {
            if (i == 0) {
                return VMM_NOT_MINE;
            }
            b = 0xFF;
        } else if (rc < 0) {
            return rc;
        }
        out |= (uint32_t)b << (8 * i);
    }
    if (!write) {
        *val = out;
    }
    return VMM_HANDLED;
}

/* String IO as `count` single accesses through `fn` (elements are little endian in buf). */
static inline int devio_string_each(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                                    uint32_t count, vmm_io_fn fn)
{
    uint8_t *p = buf;

    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < count; i++, p += size) {
        uint32_t v = 0;
        int rc;

        if (write) {
            memcpy(&v, p, size);
        }
        rc = fn(dev, port, size, write, &v);
        if (rc != VMM_HANDLED) {
            return rc;
        }
        if (!write) {
            memcpy(p, &v, size);
        }
    }
    return VMM_HANDLED;
}

static inline uint8_t devio_bin_to_bcd(unsigned v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

/* Digits above 9 are taken at face value (0x1F is 25): garbage in, bounded garbage out. */
static inline unsigned devio_bcd_to_bin(uint8_t v)
{
    return (unsigned)(v >> 4) * 10 + (v & 0x0F);
}

/* Whole ticks of a `hz` clock in `ns` nanoseconds (exact, no 64-bit overflow for hz < 2^34). */
static inline uint64_t devio_ns_to_ticks(uint64_t ns, uint64_t hz)
{
    return (ns / DEVIO_NS_PER_SEC) * hz + (ns % DEVIO_NS_PER_SEC) * hz / DEVIO_NS_PER_SEC;
}

/* The first nanosecond at which devio_ns_to_ticks(ns, hz) >= ticks; UINT64_MAX if beyond. */
static inline uint64_t devio_ticks_to_ns(uint64_t ticks, uint64_t hz)
{
    uint64_t whole = ticks / hz;
    uint64_t frac = ((ticks % hz) * DEVIO_NS_PER_SEC + hz - 1) / hz;

    if (whole > (UINT64_MAX - frac) / DEVIO_NS_PER_SEC) {
        return UINT64_MAX;
    }
    return whole * DEVIO_NS_PER_SEC + frac;
}

#endif
