/* Pure helpers for the host NIC drivers (see nic_ring.h): selection strings, RTL8139 ring
 * arithmetic and header checks, NE2000 page-ring arithmetic and header checks, virtio rings. */
#include "nic_ring.h"
#include "../kernel/lib.h"

/* ---- NIC selection --------------------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Parses 1..maxdigits hex digits at *s; advances *s. Returns the value or -1. */
static int parse_hex(const char **s, int maxdigits)
{
    int v = 0;
    int n = 0;

    while (n < maxdigits && hex_digit(**s) >= 0) {
        v = v * 16 + hex_digit(**s);
        (*s)++;
        n++;
    }
    return n == 0 ? -1 : v;
}

static bool parse_pci_addr(const char *s, uint8_t *bus, uint8_t *dev, uint8_t *fn)
{
    int b = parse_hex(&s, 2);
    int d;
    int f;

    if (b < 0 || *s++ != ':') {
        return false;
    }
    d = parse_hex(&s, 2);
    if (d < 0 || d > 0x1f || *s++ != '.') {
        return false;
    }
    f = parse_hex(&s, 1);
    if (f < 0 || f > 7 || *s != '\0') {
        return false;
    }
    *bus = (uint8_t)b;
    *dev = (uint8_t)d;
    *fn = (uint8_t)f;
    return true;
}

void nic_sel_parse(const char *sel, const char *driver, struct nic_sel *out)
{
    out->kind = NIC_SEL_OTHER;
    out->bus = 0;
    out->dev = 0;
    out->fn = 0;
    if (sel == NULL || sel[0] == '\0' || str_casecmp(sel, driver) == 0) {
        out->kind = NIC_SEL_ANY;
    } else if (str_casecmp(sel, "isa") == 0) {
        out->kind = NIC_SEL_ISA;
    } else if (parse_pci_addr(sel, &out->bus, &out->dev, &out->fn)) {
        out->kind = NIC_SEL_PCI;
    }
}

bool nic_sel_match_pci(const struct nic_sel *s, uint8_t bus, uint8_t dev, uint8_t fn)
{
    if (s->kind == NIC_SEL_ANY) {
        return true;
    }
    return s->kind == NIC_SEL_PCI && s->bus == bus && s->dev == dev && s->fn == fn;
}

/* ---- RTL8139 receive ring ---------------------------------------------------------------- */

uint32_t rtl_rx_used(uint32_t cur, uint16_t cbr)
{
    return ((uint32_t)cbr - cur) & (RTL_RX_RING_LEN - 1);
}

uint32_t rtl_rx_next(uint32_t cur, uint32_t len)
{
    /* Entries start on 4-byte boundaries: header, frame, CRC, then padding. */
    return ((cur + RTL_RX_HDR_LEN + len + 3u) & ~3u) & (RTL_RX_RING_LEN - 1);
}

uint16_t rtl_rx_capr(uint32_t cur)
{
    return (uint16_t)(cur - 16u);
}

enum nic_rx_verdict rtl_rx_check(uint32_t cur, uint32_t hdr, uint32_t used, struct rtl_rx_entry *e)
{
    e->status = (uint16_t)(hdr & 0xffffu);
    e->len = (uint16_t)(hdr >> 16);
    e->frame_len = 0;
    e->next = cur;
    if (e->len == RTL_RX_EARLY_LEN) {
        return NIC_RX_EARLY;
    }
    /* Our own offset must be a sane entry start, and the entry must lie inside what the card
     * says it has written; otherwise neither its length nor the next entry can be trusted. */
    if (cur >= RTL_RX_RING_LEN || (cur & 3u) != 0) {
        return NIC_RX_CORRUPT;
    }
    if (e->len < 8u || e->len > RTL_RX_LEN_GIANT_MAX || used > RTL_RX_RING_LEN ||
        RTL_RX_HDR_LEN + (uint32_t)e->len > used) {
        return NIC_RX_CORRUPT;
    }
    /* ROK clear without an error bit to say why is no status the card writes. */
    if (!(e->status & RTL_RXS_ROK) && (e->status & RTL_RXS_BAD) == 0) {
        return NIC_RX_CORRUPT;
    }
    /* A giant is credible only with a clean status (QEMU stores any size the TAP lets
     * through and marks it OK; the chip flags frames over 4 KiB with LONG). */
    if (e->len > RTL_RX_LEN_MAX &&
        (!(e->status & RTL_RXS_ROK) || (e->status & (RTL_RXS_BAD & ~RTL_RXS_LONG)) != 0)) {
        return NIC_RX_CORRUPT;
    }
    e->next = rtl_rx_next(cur, e->len);
    if (!(e->status & RTL_RXS_ROK) || (e->status & RTL_RXS_BAD) != 0) {
        return NIC_RX_SKIP;
    }
    if (e->len < RTL_RX_LEN_MIN) {
        return NIC_RX_SKIP;
    }
    e->frame_len = (uint16_t)(e->len - 4u);
    if (e->frame_len > 1514u) {
        e->frame_len = 0;
        return NIC_RX_SKIP;
    }
    return NIC_RX_OK;
}

int rtl_rx_copy(const uint8_t *ring, uint32_t off, uint8_t *dst, size_t n)
{
    size_t first;

    if (off >= RTL_RX_RING_LEN || n > RTL_RX_RING_LEN) {
        return -EINVAL;
    }
    first = MIN(n, (size_t)(RTL_RX_RING_LEN - off));
    memcpy(dst, ring + off, first);
    if (n > first) {
        memcpy(dst + first, ring, n - first);
    }
    return 0;
}

/* ---- NE2000 page ring -------------------------------------------------------------------- */

bool ne_ring_valid(const struct ne_ring *r, uint8_t page)
{
    return page >= r->start && page < r->stop;
}

uint8_t ne_ring_next_page(const struct ne_ring *r, uint8_t page)
{
    return (uint8_t)(page + 1u >= r->stop ? r->start : page + 1u);
}

uint8_t ne_ring_bnry(const struct ne_ring *r, uint8_t next_pkt)
{
    return (uint8_t)(next_pkt <= r->start ? r->stop - 1u : next_pkt - 1u);
}

unsigned ne_ring_distance(const struct ne_ring *r, uint8_t from, uint8_t to)
{
    unsigned pages = (unsigned)(r->stop - r->start);

    if (to >= from) {
        return (unsigned)(to - from);
    }
    return pages - (unsigned)(from - to);
}

size_t ne_ring_first_chunk(const struct ne_ring *r, uint32_t addr, size_t n)
{
    uint32_t end = (uint32_t)r->stop * NE_PAGE_SIZE;

    if (addr >= end) {
        return 0;
    }
    return MIN(n, (size_t)(end - addr));
}

enum nic_rx_verdict ne_rx_check(const struct ne_ring *r, uint8_t page, const uint8_t hdr[4],
                                struct ne_rx_entry *e)
{
    unsigned pages;
    unsigned need;

    e->status = hdr[0];
    e->next = hdr[1];
    e->count = (uint16_t)(hdr[2] | (hdr[3] << 8));
    e->frame_len = 0;
    if (r->start >= r->stop || !ne_ring_valid(r, page) || !ne_ring_valid(r, e->next) ||
        e->count < NE_RX_HDR_LEN) {
        return NIC_RX_CORRUPT;
    }
    /* The packet occupies the pages from `page` up to `next`. A card writes the header, the
     * frame and maybe the CRC (QEMU reserves room for it without counting it), so the pages
     * used are ceil(count / 256) or one more; anything else means a broken header. */
    pages = ne_ring_distance(r, page, e->next);
    need = (e->count + NE_PAGE_SIZE - 1u) / NE_PAGE_SIZE;
    if (pages < need || pages > need + 1u) {
        return NIC_RX_CORRUPT;
    }
    e->frame_len = (uint16_t)(e->count - NE_RX_HDR_LEN);
    if ((e->status & 0x0fu) != NE_RSR_PRX) {
        return NIC_RX_SKIP;
    }
    if (e->frame_len < NE_RX_LEN_MIN || e->frame_len > NE_RX_LEN_MAX) {
        return NIC_RX_SKIP;
    }
    return NIC_RX_OK;
}

/* ---- virtio-net ---------------------------------------------------------------------------- */

int vio_ring_layout(uint32_t n, struct vio_ring_layout *out)
{
    uint32_t avail_end;

    if (n == 0 || n > VIO_QUEUE_MAX || (n & (n - 1)) != 0) {
        return -EINVAL;
    }
    /* Available ring: flags, idx, ring[n], used_event (the last only with EVENT_IDX, but the
     * legacy layout reserves it either way). Used ring: flags, idx, ring[n], avail_event. */
    out->avail_off = n * VIO_DESC_LEN;
    avail_end = out->avail_off + 2u + 2u + 2u * n + 2u;
    out->used_off = (avail_end + VIO_RING_ALIGN - 1u) & ~(VIO_RING_ALIGN - 1u);
    out->size = out->used_off + 2u + 2u + VIO_USED_ELEM * n + 2u;
    return 0;
}

int vio_used_pending(uint16_t used_idx, uint16_t seen, uint32_t n)
{
    uint32_t d = (uint16_t)(used_idx - seen);

    if (d > n) {
        return -EIO;
    }
    return (int)d;
}

enum nic_rx_verdict vio_rx_check(uint32_t id, uint32_t len, uint32_t n, uint32_t buf_len,
                                 uint16_t *frame_len)
{
    *frame_len = 0;
    if (id >= n) {
        return NIC_RX_CORRUPT;
    }
    /* At least an Ethernet header after the net header; short frames (QEMU's virtio-net does
     * not pad to 60 bytes) are fine. Never more than the buffer or a 1514-byte frame. */
    if (len < VIO_NET_HDR_LEN + 14u || len > buf_len || len - VIO_NET_HDR_LEN > 1514u) {
        return NIC_RX_SKIP;
    }
    *frame_len = (uint16_t)(len - VIO_NET_HDR_LEN);
    return NIC_RX_OK;
}
