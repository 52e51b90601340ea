/* Internet checksums (RFC 1071 ones'-complement sums) for the NIC models' checksum offloads:
 * virtio-net's VIRTIO_NET_F_CSUM (the guest leaves the TCP/UDP checksum for the device to fill
 * in) and VIRTIO_NET_F_GUEST_CSUM (the device tells the guest a received checksum is good).
 * Pure functions on a frame in host memory; every offset is checked against the length. */
#ifndef PETREL_LIB_NETCSUM_H
#define PETREL_LIB_NETCSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inet_csum.h" /* inet_csum_add, inet_csum_fold: the sums */

/* The unfolded sum of the IPv4 pseudo-header for the header at ip (its addresses), protocol
 * proto and l4len transport bytes: the start of a TCP or UDP checksum. */
uint64_t netcsum_pseudo4(const uint8_t *ip, uint8_t proto, size_t l4len);
/* Writes the header checksum of the ihl-byte IPv4 header at ip. */
void netcsum_ipv4_hdr_fill(uint8_t *ip, size_t ihl);
/* Whether the frame is untagged Ethernet + IPv4 (not a fragment) + TCP or UDP (with a
 * checksum) whose transport checksum, over the pseudo-header and the IP payload, is right. */
bool netcsum_ipv4_l4_valid(const uint8_t *frame, size_t len);
/* Completes a partial checksum the way virtio's NEEDS_CSUM asks: sums [start, len), stores the
 * complement at start + off (0 is sent as 0xFFFF, its equal). -EINVAL when the field does
 * not fit inside the frame. */
int netcsum_fill(uint8_t *frame, size_t len, size_t start, size_t off);

#endif
