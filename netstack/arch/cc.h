/* lwIP's compiler and platform port for the Petrel kernel (freestanding x86-64, GCC). */
#ifndef PETREL_LWIP_ARCH_CC_H
#define PETREL_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

/* ---- headers the kernel does not have --------------------------------------------------------
 * The build puts no libc on the include path (-nostdinc, only GCC's own freestanding headers and
 * netstack/arch/include), so tell lwIP to do without <inttypes.h> and <ctype.h> and to define
 * ssize_t itself. <limits.h> comes from netstack/arch/include. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_UNISTD_H   1

/* printf formats for lwIP's types (debug messages only), checked against kernel vsnprintf. */
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* ---- byte order -------------------------------------------------------------------------------
 * x86 is little-endian; the compiler's byte swaps replace lwIP's portable C versions. */
#define BYTE_ORDER    LITTLE_ENDIAN
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* ---- structure packing (protocol headers) ----------------------------------------------------- */
#define PACK_STRUCT_BEGIN
#define PACK_STRUCT_STRUCT __attribute__((packed))
#define PACK_STRUCT_END
#define PACK_STRUCT_FIELD(x) x

/* ---- diagnostics (netstack/arch/sys_arch.c) ----------------------------------------------------
 * LWIP_PLATFORM_DIAG((fmt, ...)) carries lwIP's debug text, often a line in several pieces; the
 * port joins the pieces and logs whole lines at debug level under the net component.
 * A failed LWIP_ASSERT is a bug in the kernel (lwIP's invariants broken by us or by lwIP): it
 * panics with the message and where it failed. */
void net_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void net_lwip_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        net_lwip_diag x;                                                                           \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) net_lwip_assert((x), __FILE__, __LINE__)

/* ---- randomness -------------------------------------------------------------------------------
 * DHCP transaction ids, initial local ports, TCP ISNs: rdtsc mixed through a 64-bit mixer. Not
 * cryptographic, but unpredictable enough that two boots do not repeat. */
uint32_t net_lwip_rand(void);
#define LWIP_RAND() net_lwip_rand()

/* ---- checksum ----------------------------------------------------------------------------------
 * lwipopts.h points LWIP_CHKSUM at net_chksum (arch/chksum.h, on kernel/lib/inet_csum.c):
 * lwIP's inet_chksum.c calls it without declaring it, so the declaration comes with the port. */
#include "chksum.h"

#endif
