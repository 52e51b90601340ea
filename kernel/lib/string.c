/* String and memory functions for the freestanding kernel (hosted builds use libc's). */
#include "../lib.h"
#include "format.h"

/* Copies and fills of 256 bytes and more are C loops moving four 8-byte words a step; shorter
 * ones use `rep movsq/stosq` (8 bytes a step) and `rep movsb/stosb` for the rest. Petrel runs
 * under QEMU TCG, where a REP string instruction runs one iteration per pass through its
 * translated block and each branch of C code ends a block, so the best choice depends on the
 * length. Measured under QEMU 7.2 TCG (source 2 bytes off alignment, warm, per call):
 *
 *     bytes           2     14     64    256   1514   4000
 *     rep movsq      7.6   13.6   15.1   45.5    252    649  ns
 *     C loop        12.7   15.7   20.3   45.3    213    548  ns
 *     rep stosq      7.0   10.8   11.7   31.0    166    413  ns
 *     C loop        10.0   10.2   13.8   27.0    113    288  ns
 *
 * GCC turns a copy or fill loop back into a memcpy/memset call at -O2 (loop distribution):
 * inside memcpy itself that would recurse forever, hence NO_LIBCALL. The may_alias, byte-
 * aligned word type keeps every access a plain load or store of any alignment. */
#define STRING_LOOP_MIN 256
#define NO_LIBCALL      __attribute__((optimize("no-tree-loop-distribute-patterns")))

typedef uint64_t __attribute__((may_alias, aligned(1))) word64;

static inline void rep_copy(void *dst, const void *src, size_t n)
{
    size_t q = n / 8;
    size_t r = n % 8;

    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
}

static inline void rep_fill(void *dst, uint64_t pattern, size_t n)
{
    size_t q = n / 8;
    size_t r = n % 8;

    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(q) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(r) : "a"(pattern) : "memory");
}

/* Front to back like `rep movs`, each 32-byte block loaded before it is stored: memmove relies
 * on that when the destination lies below the source. */
NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (n < STRING_LOOP_MIN) {
        rep_copy(d, s, n);
        return dst;
    }
    while (n >= 32) {
        uint64_t a = ((const word64 *)s)[0];
        uint64_t b = ((const word64 *)s)[1];
        uint64_t c = ((const word64 *)s)[2];
        uint64_t e = ((const word64 *)s)[3];

        ((word64 *)d)[0] = a;
        ((word64 *)d)[1] = b;
        ((word64 *)d)[2] = c;
        ((word64 *)d)[3] = e;
        d += 32;
        s += 32;
        n -= 32;
    }
    rep_copy(d, s, n);
    return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0) {
        return dst;
    }
    if (d < s || d >= s + n) {
        return memcpy(dst, src, n);
    }
    /* The destination overlaps the source's end: back to front, a word at a time. */
    while (n >= 8) {
        n -= 8;
        *(word64 *)(d + n) = *(const word64 *)(s + n);
    }
    while (n > 0) {
        n--;
        d[n] = s[n];
    }
    return dst;
}

NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t v = 0x0101010101010101ULL * (uint8_t)c;

    if (n < STRING_LOOP_MIN) {
        rep_fill(d, v, n);
        return dst;
    }
    while (n >= 32) {
        ((word64 *)d)[0] = v;
        ((word64 *)d)[1] = v;
        ((word64 *)d)[2] = v;
        ((word64 *)d)[3] = v;
        d += 32;
        n -= 32;
    }
    rep_fill(d, v, n);
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0') {
        n++;
    }
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || a[i] == '\0') {
            return (unsigned char)a[i] - (unsigned char)b[i];
        }
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c) {
            return (char *)s;
        }
        if (*s == '\0') {
            return NULL;
        }
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    return fmt_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
