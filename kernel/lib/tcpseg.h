/* TCP segmentation offload for the NIC models (virtio-net's HOST_TSO4): a guest hands one
 * TCP/IPv4 "super-frame" of up to 64 KiB and a segment size; the model cuts it into frames
 * the wire takes, each a TCP segment of its own (IP total length, identification and header
 * checksum, TCP sequence number, flags and checksum rewritten), so the guest does the per-
 * packet work once per 64 KiB instead of once per 1.5 KiB. Pure functions on host memory:
 * tcpseg_prepare checks every field and length first, tcpseg_build then cannot fail. */
#ifndef PETREL_LIB_TCPSEG_H
#define PETREL_LIB_TCPSEG_H

#include <stddef.h>
#include <stdint.h>

/* The longest super-frame: Ethernet header with one VLAN tag + the largest IPv4 packet. */
#define TCPSEG_FRAME_MAX (14 + 4 + 65535)
/* The smallest segment size taken (Linux never sends less: tcp_min_snd_mss); smaller ones
 * would turn one guest request into thousands of frames. */
#define TCPSEG_MSS_MIN 48

struct tcpseg {
    size_t l2;      /* Ethernet header bytes: 14, or 18 with one VLAN tag */
    size_t ihl;     /* IP header bytes */
    size_t hlen;    /* Ethernet + IP + TCP header bytes, repeated in every segment */
    size_t payload; /* TCP payload bytes of the super-frame */
    size_t mss;     /* payload bytes per segment (the last may have fewer) */
    unsigned count; /* segments */
};

/* Checks an Ethernet (untagged or one 802.1Q/802.1ad tag) + IPv4 (not a fragment, total length exactly the frame's) + TCP
 * (no SYN, RST or URG) super-frame with at least one payload byte, for segments of `mss`
 * payload bytes no longer than max_frame. 0 with *s filled, or -EINVAL with *why saying what
 * is wrong. */
int tcpseg_prepare(const uint8_t *frame, size_t len, size_t mss, size_t max_frame, struct tcpseg *s,
                   const char **why);
/* Writes segment i (< s->count) of the prepared super-frame to out (room for hlen + mss
 * bytes): headers copied and rewritten, FIN and PSH only on the last segment, CWR only on the
 * first, both checksums computed. Returns the segment's length. */
size_t tcpseg_build(const struct tcpseg *s, const uint8_t *frame, unsigned i, uint8_t *out);

#endif
