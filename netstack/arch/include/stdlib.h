/* <stdlib.h> for lwIP inside the kernel: only what lwIP calls (netif_find uses atoi). */
#ifndef PETREL_LWIP_STDLIB_H
#define PETREL_LWIP_STDLIB_H

/* Decimal with optional sign; stops at the first non-digit and saturates instead of overflowing
 * (netstack/arch/libc.c). */
int atoi(const char *s);

#endif
