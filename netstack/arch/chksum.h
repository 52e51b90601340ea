/* The Internet checksum lwIP uses for every header and payload (LWIP_CHKSUM in lwipopts.h):
 * the appliance's 8-bytes-a-step sum (kernel/lib/inet_csum.c) with lwip_standard_chksum's
 * contract. */
#ifndef PETREL_NET_CHKSUM_H
#define PETREL_NET_CHKSUM_H

#include <stdint.h>

#include "../../kernel/lib/inet_csum.h"

/* The 16-bit ones' complement sum of len bytes at data, not inverted, in the byte order of the
 * data as it lies in memory; any alignment; 0 for len <= 0. */
static inline uint16_t net_chksum(const void *data, int len)
{
    return len <= 0 ? 0 : inet_csum_fold(inet_csum_add(0, data, (size_t)len));
}

#endif
