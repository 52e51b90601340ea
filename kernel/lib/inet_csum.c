/* The Internet checksum, 8 bytes a step (inet_csum.h).
 *
 * A plain version adds 16 bits per loop iteration; under QEMU TCG every instruction costs about
 * the same whatever its width, so summing 64-bit loads, each split into two 32-bit halves added
 * to a 64-bit accumulator (no carries to chase), cuts the work per byte about four times. The
 * ones'-complement sum does not depend on where 16-bit words start in memory, only on their
 * position in the data, so unaligned loads (fine on x86) need no special case. */
#include "inet_csum.h"

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;

    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

/* Both halves of a 64-bit word: at most 2^33 each, so no realistic length can overflow. */
static uint64_t halves(uint64_t v)
{
    return (v & 0xFFFFFFFFu) + (v >> 32);
}

uint64_t inet_csum_add(uint64_t sum, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t acc = 0;

    while (len >= 32) {
        acc += halves(load64(b)) + halves(load64(b + 8)) + halves(load64(b + 16)) +
               halves(load64(b + 24));
        b += 32;
        len -= 32;
    }
    while (len >= 8) {
        acc += halves(load64(b));
        b += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;

        __builtin_memcpy(&w, b, sizeof(w));
        acc += w;
        b += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t h;

        __builtin_memcpy(&h, b, sizeof(h));
        acc += h;
        b += 2;
        len -= 2;
    }
    if (len == 1) {
        acc += *b; /* little-endian: a last odd byte is the low half of its 16-bit word */
    }
    sum += acc;
    sum += sum < acc; /* end-around carry */
    return sum;
}

uint16_t inet_csum_fold(uint64_t sum)
{
    /* 64 -> 33 -> 32 -> 17 -> 16 bits, each step adding the carries back in. */
    sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
    sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
    sum = (sum & 0xFFFFu) + (sum >> 16);
    sum = (sum & 0xFFFFu) + (sum >> 16);
    sum = (sum & 0xFFFFu) + (sum >> 16);
    return (uint16_t)sum;
}
