/* A pcapng writer (draft-ietf-opsawg-pcapng): pure byte-level block writers into a caller
 * buffer, and a small stateful helper that turns capture-tap packets into a stream (Section
 * Header Block first, an Interface Description Block for each port the first time it shows
 * up, then Enhanced Packet Blocks). Blocks are written little-endian; timestamps have ns
 * resolution (if_tsresol = 9). Wireshark and tshark read the result, also as a live stream
 * (`nc APPLIANCE 5555 | wireshark -k -i -`). */
#ifndef PETREL_VNET_PCAPNG_H
#define PETREL_VNET_PCAPNG_H

#include "vnet.h"

#define VNET_PCAPNG_LINKTYPE_ETHERNET 1
/* libpcap's MAXIMUM_SNAPLEN (what tcpdump and dumpcap write): a TSO super-frame entering the
 * switch (up to NETOFF_FRAME_MAX = 65553 bytes, more than the classic 65535) is stored whole.
 * A smaller snaplen stores the first snaplen bytes, the original length recorded. */
#define VNET_PCAPNG_SNAPLEN_DEFAULT 262144
#define VNET_PCAPNG_IFS_MAX         256 /* interfaces one stream can describe */

enum vnet_pcapng_dir {
    VNET_PCAPNG_DIR_UNKNOWN = 0,
    VNET_PCAPNG_DIR_IN = 1,  /* epb_flags "inbound": entered the switch from the port */
    VNET_PCAPNG_DIR_OUT = 2, /* "outbound": left the switch through the port */
};

/* Each writer returns the bytes written, or -ENOSPC (nothing written) when buf is too small.
 * The *_size functions give the exact size the writer needs. */
size_t vnet_pcapng_shb_size(const char *appl);
int vnet_pcapng_shb(uint8_t *buf, size_t len, const char *appl);
size_t vnet_pcapng_idb_size(const char *if_name);
int vnet_pcapng_idb(uint8_t *buf, size_t len, const char *if_name, uint32_t snaplen);
/* caplen = min(frame_len, snaplen) bytes of the frame are stored; orig len is frame_len. */
size_t vnet_pcapng_epb_size(size_t frame_len, uint32_t snaplen);
int vnet_pcapng_epb(uint8_t *buf, size_t len, uint32_t if_id, uint64_t ts_ns, const void *frame,
                    size_t frame_len, uint32_t snaplen, enum vnet_pcapng_dir dir);

/* A stream: which ports have an interface block (port id -> interface id = index). */
struct vnet_pcapng_writer {
    uint32_t snaplen;
    bool shb_done;
    uint32_t nifs;
    uint32_t port_ids[VNET_PCAPNG_IFS_MAX];
};

/* snaplen 0 = VNET_PCAPNG_SNAPLEN_DEFAULT. */
void vnet_pcapng_writer_init(struct vnet_pcapng_writer *w, uint32_t snaplen);
/* Writes whatever the packet needs (SHB, IDB, EPB) into buf, all or nothing. Returns the
 * bytes written, -ENOSPC (buf too small: the caller drops and counts the packet, and the
 * writer's state is unchanged) or -E2BIG (VNET_PCAPNG_IFS_MAX interfaces described). */
int vnet_pcapng_write(struct vnet_pcapng_writer *w, uint8_t *buf, size_t len,
                      const struct vnet_capture_pkt *pkt);

#endif
