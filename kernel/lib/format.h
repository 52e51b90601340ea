/* The kernel's printf engine, usable hosted for tests. */
#ifndef PETREL_FORMAT_H
#define PETREL_FORMAT_H

#include "../types.h"

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);

#endif
