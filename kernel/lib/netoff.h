/* Offload metadata that travels with a frame between a NIC and the VNET switch, after virtio's
 * net header: a TCP/IPv4 "super-frame" of up to 64 KiB to be cut into segments of gso_size
 * payload bytes (GSO), and a transport checksum left for someone else to finish (PARTIAL) or
 * already checked (VALID). A frame is handed on with its metadata only to a receiver that said
 * it takes that kind (a NETOFF_CAP_* bit); for any other receiver netoff_emit does the work in
 * software first (segments with tcpseg, completes checksums with netcsum), so every receiver
 * sees only frames it can take. Pure functions on host memory; every offset is checked against
 * the frame. */
#ifndef PETREL_LIB_NETOFF_H
#define PETREL_LIB_NETOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum netoff_gso {
    NETOFF_GSO_NONE = 0,
    NETOFF_GSO_TCPV4 = 1, /* Ethernet (+ one VLAN tag) + IPv4 + TCP, tcpseg_prepare's rules */
};

enum netoff_csum {
    NETOFF_CSUM_NONE = 0, /* checksums complete (or absent), nobody vouches for them */
    /* The 16-bit field at csum_start + csum_off holds only the pseudo-header sum: the sum of
     * [csum_start, len) completes it (virtio's NEEDS_CSUM, Linux's CHECKSUM_PARTIAL). */
    NETOFF_CSUM_PARTIAL = 1,
    /* The sender checked the transport checksum (virtio's DATA_VALID). Only NIC drivers and the
     * wire side may say so: a guest's word is never taken for it. */
    NETOFF_CSUM_VALID = 2,
};

struct netoff {
    uint8_t gso;         /* enum netoff_gso */
    uint8_t csum;        /* enum netoff_csum; GSO frames are always PARTIAL */
    uint16_t gso_size;   /* GSO: payload bytes per segment (the TCP MSS) */
    uint16_t csum_start; /* PARTIAL: offset of the first byte summed */
    uint16_t csum_off;   /* PARTIAL: offset of the checksum field from csum_start */
};

/* What a receiver takes as it is (a bit set): */
#define NETOFF_CAP_CSUM  0x1u /* PARTIAL frames (it or its peer finishes the checksum) */
#define NETOFF_CAP_TSO4  0x2u /* GSO TCPV4 super-frames (implies PARTIAL for those) */
#define NETOFF_CAP_VALID 0x4u /* wants to hear VALID (otherwise it is just dropped) */

/* The longest frame metadata can describe: a super-frame (tcpseg.h's TCPSEG_FRAME_MAX). */
#define NETOFF_FRAME_MAX (14 + 4 + 65535)

/* Whether off asks for any work: GSO or a PARTIAL checksum. NULL asks for none. */
bool netoff_active(const struct netoff *off);

/* Checks metadata against its frame: known gso and csum values; PARTIAL's field inside the
 * frame; a GSO frame that tcpseg_prepare accepts, with PARTIAL on the TCP checksum, and whose
 * segments are at most seg_max bytes long. A frame without GSO must be at most plain_max bytes
 * long. NULL is plain metadata. 0, or -EINVAL / -EMSGSIZE with *why saying what is wrong. */
int netoff_check(const uint8_t *frame, size_t len, const struct netoff *off, size_t plain_max,
                 size_t seg_max, const char **why);

/* The header bytes (Ethernet + IP + TCP) every segment of a checked GSO frame repeats: what
 * virtio's hdr_len says. netoff_check made csum_start the TCP header's offset and put its data
 * offset inside the frame. */
size_t netoff_gso_hlen(const uint8_t *frame, const struct netoff *off);

/* Receives one frame from netoff_emit; off is NULL when the frame needs nothing done. */
typedef int (*netoff_emit_fn)(void *ctx, const uint8_t *frame, size_t len,
                              const struct netoff *off);

/* Hands a checked frame (netoff_check) to fn the way a receiver with capabilities `caps` takes
 * it: as it is, with off, when caps cover what off asks; otherwise each TCP segment (GSO), or a
 * copy with the checksum completed (PARTIAL), built in scratch (room for the largest segment,
 * or for the whole frame when only the checksum is missing), with off NULL. VALID is passed on
 * only to NETOFF_CAP_VALID. Returns the number of frames fn took (fn returned >= 0), or fn's
 * first error, or -EMSGSIZE when scratch is too small. */
int netoff_emit(const uint8_t *frame, size_t len, const struct netoff *off, unsigned caps,
                uint8_t *scratch, size_t scratch_len, netoff_emit_fn fn, void *ctx);

#endif
