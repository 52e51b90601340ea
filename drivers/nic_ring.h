/* Pure helpers for the host NIC drivers: NIC selection strings, RTL8139 receive-ring arithmetic
 * and header checks, NE2000 page-ring arithmetic and header checks, the legacy virtio ring layout
 * and virtio-net used-ring checks.
 *
 * Nothing here touches hardware, so the unit tests run it hosted. Every value that comes from
 * the card is treated as hostile: the checks decide whether a header may be trusted before the
 * drivers copy a single byte. */
#ifndef PETREL_NIC_RING_H
#define PETREL_NIC_RING_H

#include "../kernel/types.h"

/* ---- NIC selection (nic=...) -------------------------------------------------------------- */

enum nic_sel_kind {
    NIC_SEL_ANY,   /* NULL, "" or the driver's own name: the first card this driver finds */
    NIC_SEL_PCI,   /* "BB:DD.F" (hex): the card at that PCI address */
    NIC_SEL_ISA,   /* "isa": the ISA card (NE2000 only) */
    NIC_SEL_OTHER, /* another driver's name or something else: not for this driver */
};

struct nic_sel {
    enum nic_sel_kind kind;
    uint8_t bus, dev, fn;
};

/* Classifies `sel` for the driver called `driver`. Never fails: unknown strings are
 * NIC_SEL_OTHER. A PCI address needs bus <= 0xff, dev <= 0x1f, fn <= 7. */
void nic_sel_parse(const char *sel, const char *driver, struct nic_sel *out);
/* True if a PCI card at bus:dev.fn is what `s` asks for (ANY or the same address). */
bool nic_sel_match_pci(const struct nic_sel *s, uint8_t bus, uint8_t dev, uint8_t fn);

/* ---- RTL8139 receive ring ---------------------------------------------------------------- */

/* The ring proper is RTL_RX_RING_LEN bytes (RCR.RBLEN). With RCR.WRAP = 0 the card continues
 * a frame that reaches the end at offset 0, so the driver copies such a frame in two pieces.
 * The buffer is still allocated with 16 + 1500 spare bytes, as the data sheet asks, so that a
 * card that behaves as if WRAP were set cannot write past our allocation. */
#define RTL_RX_RING_LEN  32768u /* 8K lost ~20% of frames under QEMU at full rate; 32K none */
#define RTL_RX_BUF_LEN   (RTL_RX_RING_LEN + 16u + 1500u)
#define RTL_RX_HDR_LEN   4u
#define RTL_RX_EARLY_LEN 0xfff0u /* length while the card is still copying the frame in */
#define RTL_RX_LEN_MIN   64u     /* 60-byte minimum frame + 4-byte CRC */
#define RTL_RX_LEN_MAX   1522u   /* 1514 + VLAN tag + CRC: the longest frame we might take */
/* Longer entries are giants (a raised TAP MTU under QEMU, or a jumbo frame): skipped by their
 * length when the status is clean and the entry fits in the ring; beyond that (QEMU writes a
 * frame larger than the ring over itself) the length is corruption. */
#define RTL_RX_LEN_GIANT_MAX (RTL_RX_RING_LEN - RTL_RX_HDR_LEN)

/* Receive header status bits (low 16 bits of the 32-bit header). */
#define RTL_RXS_ROK  0x0001u /* receive OK */
#define RTL_RXS_FAE  0x0002u /* frame alignment error */
#define RTL_RXS_CRC  0x0004u /* CRC error */
#define RTL_RXS_LONG 0x0008u /* frame longer than 4 KiB */
#define RTL_RXS_RUNT 0x0010u /* frame shorter than 64 bytes */
#define RTL_RXS_ISE  0x0020u /* invalid symbol error (100BASE-TX) */
#define RTL_RXS_BAD  (RTL_RXS_FAE | RTL_RXS_CRC | RTL_RXS_LONG | RTL_RXS_RUNT | RTL_RXS_ISE)

enum nic_rx_verdict {
    NIC_RX_OK,      /* deliver the frame, then advance */
    NIC_RX_EARLY,   /* the card is still writing it: stop and look again later */
    NIC_RX_SKIP,    /* a well-formed entry with a frame we do not take (too long, error status
                       with a trustworthy length): count it and advance */
    NIC_RX_CORRUPT, /* the entry cannot be trusted: reset the receive path */
};

struct rtl_rx_entry {
    uint16_t status;
    uint16_t len;       /* from the header: frame + 4-byte CRC */
    uint16_t frame_len; /* bytes to deliver (without CRC) when verdict is NIC_RX_OK */
    uint32_t next;      /* ring offset of the next entry (valid unless CORRUPT or EARLY) */
};

/* Bytes the card has written and we have not read: from our offset `cur` to the card's write
 * offset `cbr` (the CBR register), modulo the ring. 0 means empty or (impossible for a sane
 * card) completely full; the caller tells which from CR.BUFE. */
uint32_t rtl_rx_used(uint32_t cur, uint16_t cbr);
/* Ring offset of the entry after one at `cur` whose header says `len` bytes. */
uint32_t rtl_rx_next(uint32_t cur, uint32_t len);
/* CAPR value that tells the card we have read up to `cur` (the chip wants it 16 lower). */
uint16_t rtl_rx_capr(uint32_t cur);
/* Judges the entry at `cur` with header `hdr`, when `used` bytes are known to be valid.
 * Fills *e (always) and returns the verdict. */
enum nic_rx_verdict rtl_rx_check(uint32_t cur, uint32_t hdr, uint32_t used, struct rtl_rx_entry *e);
/* Copies `n` bytes starting at ring offset `off` into dst, wrapping at the end of the ring.
 * Returns -EINVAL (copying nothing) if off or n is out of range. */
int rtl_rx_copy(const uint8_t *ring, uint32_t off, uint8_t *dst, size_t n);

/* ---- NE2000 (DP8390) page ring ------------------------------------------------------------- */

#define NE_PAGE_SIZE  256u
#define NE_RX_HDR_LEN 4u
#define NE_RX_LEN_MIN 60u   /* frame bytes after the 4-byte header */
#define NE_RX_LEN_MAX 1518u /* 1514 + 4 (a card that leaves the CRC in the count) */

/* Receive status byte (first header byte, also the RSR register). */
#define NE_RSR_PRX 0x01u /* packet received intact */
#define NE_RSR_CRC 0x02u
#define NE_RSR_FAE 0x04u
#define NE_RSR_FO  0x08u /* FIFO overrun */
#define NE_RSR_MPA 0x10u /* missed packet */

struct ne_ring {
    uint8_t start; /* PSTART: first page of the receive ring */
    uint8_t stop;  /* PSTOP: one past the last page */
};

struct ne_rx_entry {
    uint8_t status;
    uint8_t next;       /* next-packet page from the header */
    uint16_t count;     /* byte count from the header (includes the 4-byte header) */
    uint16_t frame_len; /* bytes after the header; valid unless CORRUPT */
};

/* True if `page` is inside the ring. */
bool ne_ring_valid(const struct ne_ring *r, uint8_t page);
/* The page after `page`, wrapping from stop-1 to start. */
uint8_t ne_ring_next_page(const struct ne_ring *r, uint8_t page);
/* BNRY for a driver whose next unread packet starts at `next_pkt`: the page before it, so
 * the card never writes into the packet we are about to read. */
uint8_t ne_ring_bnry(const struct ne_ring *r, uint8_t next_pkt);
/* Pages from `from` forward to `to` (0 when equal). */
unsigned ne_ring_distance(const struct ne_ring *r, uint8_t from, uint8_t to);
/* Of `n` bytes starting at card address `addr` inside the ring, how many come before the
 * ring's end (the rest continue at start * 256). */
size_t ne_ring_first_chunk(const struct ne_ring *r, uint32_t addr, size_t n);
/* Judges the 4-byte header read from page `page`. NIC_RX_OK: deliver frame_len bytes from
 * page * 256 + 4. NIC_RX_SKIP: a bad frame (status or length) with a consistent next pointer.
 * NIC_RX_CORRUPT: the next pointer is outside the ring or does not fit the byte count. */
enum nic_rx_verdict ne_rx_check(const struct ne_ring *r, uint8_t page, const uint8_t hdr[4],
                                struct ne_rx_entry *e);

/* ---- virtio-net: legacy virtqueue layout and used-ring checks --------------------------------- */

/* The legacy (virtio 0.9.5) split ring: descriptors, then the available ring, then, at the next
 * 4096-byte boundary, the used ring, all in one physically contiguous region whose first page
 * number is written to the device (VIRTIO_PCI_QUEUE_PFN). */
#define VIO_RING_ALIGN  4096u
#define VIO_QUEUE_MAX   32768u /* the largest queue the legacy interface allows */
#define VIO_DESC_LEN    16u    /* addr (8), len (4), flags (2), next (2) */
#define VIO_USED_ELEM   8u     /* id (4), len (4) */
#define VIO_NET_HDR_LEN 10u    /* struct virtio_net_hdr without mergeable RX buffers */

struct vio_ring_layout {
    uint32_t avail_off; /* from the start of the region; descriptors are at 0 */
    uint32_t used_off;
    uint32_t size; /* bytes the region must have */
};

/* Fills *out for a queue of `n` entries; -EINVAL unless n is a power of two in 1..VIO_QUEUE_MAX. */
int vio_ring_layout(uint32_t n, struct vio_ring_layout *out);
/* Used-ring entries the device has added since we last looked: used_idx - seen (both free
 * running 16-bit counters). -EIO when that exceeds the queue size `n` (a device cannot have
 * used more buffers than the ring holds: its index cannot be trusted). */
int vio_used_pending(uint16_t used_idx, uint16_t seen, uint32_t n);
/* Judges a received buffer from the used ring: descriptor `id` (must be < n), `len` bytes
 * written by the device (net header + frame), into a buffer of `buf_len` bytes.
 * NIC_RX_OK: *frame_len bytes of frame follow the header. NIC_RX_SKIP: the id is good but the
 * length is not (shorter than header + Ethernet header, or longer than the buffer or a
 * frame): count it, post the buffer again. NIC_RX_CORRUPT: the id is out of range. */
enum nic_rx_verdict vio_rx_check(uint32_t id, uint32_t len, uint32_t n, uint32_t buf_len,
                                 uint16_t *frame_len);

#endif
