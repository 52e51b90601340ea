/* The small C library the kernel carries: string functions and snprintf.
 * Hosted builds (unit tests) use the host's libc instead, with the same names. */
#ifndef PETREL_LIB_H
#define PETREL_LIB_H

#include "types.h"

#if __STDC_HOSTED__
#include <stdio.h>
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);
#endif

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Case-insensitive ASCII comparison. */
int str_casecmp(const char *a, const char *b);
/* Parses an unsigned decimal or 0x-prefixed hex number; the whole string must be a number. */
int str_to_u64(const char *s, uint64_t *out);

#endif
