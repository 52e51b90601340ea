/* The Internet checksum (RFC 1071 ones'-complement sum), 8 bytes a step. Pure: shared by
 * lwIP's port (LWIP_CHKSUM, netstack/arch/chksum.h) and the guest NIC models' checksum
 * offloads (vmm/devices/netcsum.c, tcpseg.c), and compiled hosted for the unit tests. */
#ifndef PETREL_LIB_INET_CSUM_H
#define PETREL_LIB_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at p (any alignment) to a running sum: 16-bit words in memory order, an odd
 * last byte padded with zero. Chained ranges must each start at an even offset of the data. */
uint64_t inet_csum_add(uint64_t sum, const void *p, size_t len);
/* Folds a running sum to 16 bits, not complemented, in memory order (store it with memcpy;
 * read back little-endian it is what lwIP's lwip_standard_chksum returns). */
uint16_t inet_csum_fold(uint64_t sum);

#endif
