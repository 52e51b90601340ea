/* TCP receive coalescing ("GRO"), the inverse of tcpseg: consecutive in-order TCP/IPv4
 * segments of one flow, as a VXLAN link delivers them (~1450 bytes each), are merged into one
 * super-frame of up to 64 KiB with GSO TCPV4 metadata (netoff.h), so a guest whose NIC takes
 * TSO super-frames does its per-packet work once per 64 KiB instead of once per segment. The
 * rules are Linux's tcp_gro_receive's, conservatively: only plain data segments whose IP and
 * TCP checksums were verified here are merged (the super-frame goes out PARTIAL and nobody
 * checks the payload again); anything else passes through unchanged, in order. Pure: no
 * allocation, the caller owns the buffer and the output function. */
#ifndef PETREL_LIB_TCPGRO_H
#define PETREL_LIB_TCPGRO_H

#include <stddef.h>
#include <stdint.h>

#include "netoff.h"

/* The most segments merged into one super-frame (Linux's MAX_GRO_SKBS-like bound: limits the
 * work one flush hands on and how long the first segment waits). */
#define TCPGRO_SEGS_MAX 64

struct tcpgro {
    uint8_t *buf; /* the held super-frame (caller's buffer, NETOFF_FRAME_MAX bytes) */
    size_t cap;
    size_t len; /* bytes held; 0: nothing held */
    /* private */
    size_t hlen;       /* Ethernet + IP + TCP header bytes of the held frame */
    size_t gso_size;   /* payload bytes of the first segment */
    uint32_t next_seq; /* sequence number the next appended segment must have */
    unsigned segs;     /* segments held */
};

typedef int (*tcpgro_out_fn)(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off);

void tcpgro_init(struct tcpgro *g, uint8_t *buf, size_t cap);
/* Offers one plain frame (no metadata; untrusted bytes). Either appends it to what is held, or
 * emits what is held first (tcpgro_flush) and then holds the frame (if it can start a merge)
 * or emits it as it is (off NULL). A PSH segment, or one shorter than the first, is appended
 * and then everything is flushed at once. Frames always come out in the order they went in,
 * and every frame is taken even when out fails (out saw it). Returns 0 or the first negative
 * value out returned. */
int tcpgro_add(struct tcpgro *g, const uint8_t *frame, size_t len, tcpgro_out_fn out, void *ctx);
/* Emits what is held: a single segment exactly as it came (off NULL), two or more as one
 * super-frame with off = {NETOFF_GSO_TCPV4, NETOFF_CSUM_PARTIAL, gso_size, csum_start = TCP
 * header offset (34), csum_off = 16}: the first segment's headers (its TCP window too) with
 * the IP total length and header checksum rewritten, PSH if the last segment had it, and the
 * TCP checksum field holding the pseudo-header sum. Then holds nothing, even when out fails.
 * 0 (nothing held, or out returned >= 0) or out's error. */
int tcpgro_flush(struct tcpgro *g, tcpgro_out_fn out, void *ctx);

#endif
