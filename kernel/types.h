/* Basic types for every Petrel source file, freestanding or hosted. */
#ifndef PETREL_TYPES_H
#define PETREL_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errno.h"

#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#define NORETURN         __attribute__((noreturn))
#define UNUSED           __attribute__((unused))

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define PAGE_SIZE    4096ULL
#define PAGE_SIZE_2M (2ULL << 20)

#endif
