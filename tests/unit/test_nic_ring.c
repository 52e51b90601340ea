/* Unit tests for drivers/nic_ring.c: nic= selection strings, RTL8139 ring arithmetic and
 * header checks (including frames that wrap and hostile headers), NE2000 page-ring arithmetic
 * and header checks, the legacy virtio ring layout and virtio-net used-ring checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../drivers/nic_ring.h"

#define RING RTL_RX_RING_LEN

static uint32_t rtl_hdr(uint16_t status, uint16_t len)
{
    return (uint32_t)status | ((uint32_t)len << 16);
}

/* ---- selection ---------------------------------------------------------------------------- */

static void test_sel_any(void **state)
{
    struct nic_sel s;

    (void)state;
    nic_sel_parse(NULL, "rtl8139", &s);
    assert_int_equal(s.kind, NIC_SEL_ANY);
    nic_sel_parse("", "rtl8139", &s);
    assert_int_equal(s.kind, NIC_SEL_ANY);
    nic_sel_parse("rtl8139", "rtl8139", &s);
    assert_int_equal(s.kind, NIC_SEL_ANY);
    nic_sel_parse("RTL8139", "rtl8139", &s);
    assert_int_equal(s.kind, NIC_SEL_ANY);
    nic_sel_parse("ne2k", "ne2k", &s);
    assert_int_equal(s.kind, NIC_SEL_ANY);
    assert_true(nic_sel_match_pci(&s, 0, 3, 0));
}

static void test_sel_other(void **state)
{
    static const char *const other[] = {
        "ne2k",   "rtl",     "rtl81399", "e1000",    "00:03",   "00:03.",
        "00:3.8", "00:20.0", "100:03.0", "00:03.0x", "0:0:0",   ":03.0",
        "00:.0",  "isa0",    " 00:03.0", "00:03.0 ", "g0:03.0",
    };
    struct nic_sel s;

    (void)state;
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        nic_sel_parse(other[i], "rtl8139", &s);
        assert_int_equal(s.kind, NIC_SEL_OTHER);
        assert_false(nic_sel_match_pci(&s, 0, 3, 0));
    }
}

static void test_sel_pci(void **state)
{
    struct nic_sel s;

    (void)state;
    nic_sel_parse("00:03.0", "rtl8139", &s);
    assert_int_equal(s.kind, NIC_SEL_PCI);
    assert_int_equal(s.bus, 0);
    assert_int_equal(s.dev, 3);
    assert_int_equal(s.fn, 0);
    assert_true(nic_sel_match_pci(&s, 0, 3, 0));
    assert_false(nic_sel_match_pci(&s, 0, 4, 0));
    assert_false(nic_sel_match_pci(&s, 1, 3, 0));
    assert_false(nic_sel_match_pci(&s, 0, 3, 1));

    nic_sel_parse("ff:1F.7", "ne2k", &s);
    assert_int_equal(s.kind, NIC_SEL_PCI);
    assert_int_equal(s.bus, 0xff);
    assert_int_equal(s.dev, 0x1f);
    assert_int_equal(s.fn, 7);

    nic_sel_parse("0:4.1", "ne2k", &s);
    assert_int_equal(s.kind, NIC_SEL_PCI);
    assert_int_equal(s.dev, 4);
    assert_int_equal(s.fn, 1);
}

static void test_sel_isa(void **state)
{
    struct nic_sel s;

    (void)state;
    nic_sel_parse("isa", "ne2k", &s);
    assert_int_equal(s.kind, NIC_SEL_ISA);
    nic_sel_parse("ISA", "ne2k", &s);
    assert_int_equal(s.kind, NIC_SEL_ISA);
    /* An ISA card never matches a PCI address. */
    assert_false(nic_sel_match_pci(&s, 0, 3, 0));
}

/* ---- RTL8139 ------------------------------------------------------------------------------- */

static void test_rtl_capr(void **state)
{
    (void)state;
    /* The chip wants CAPR 16 below the read offset, as a 16-bit value. */
    assert_int_equal(rtl_rx_capr(0), 0xfff0);
    assert_int_equal(rtl_rx_capr(16), 0);
    assert_int_equal(rtl_rx_capr(600), 600 - 16);
    assert_int_equal(rtl_rx_capr(RING - 4), RING - 20);
}

static void test_rtl_next(void **state)
{
    (void)state;
    /* header 4 + len, rounded up to 4, modulo the ring */
    assert_int_equal(rtl_rx_next(0, 64), 68);
    assert_int_equal(rtl_rx_next(0, 65), 72);
    assert_int_equal(rtl_rx_next(0, 594), 600);
    assert_int_equal(rtl_rx_next(68, 1518), 68 + 1524);
    /* wraps */
    assert_int_equal(rtl_rx_next(RING - 68, 64), 0);
    assert_int_equal(rtl_rx_next(RING - 68, 1518), 1524 - 68);
    assert_int_equal(rtl_rx_next(RING - 4, 64), 64);
}

static void test_rtl_used(void **state)
{
    (void)state;
    assert_int_equal(rtl_rx_used(0, 0), 0);
    assert_int_equal(rtl_rx_used(0, 600), 600);
    assert_int_equal(rtl_rx_used(600, 1200), 600);
    /* the card's pointer has wrapped */
    assert_int_equal(rtl_rx_used(RING - 68, 64), 132);
    /* CBR is a 16-bit register; only its ring offset counts */
    assert_int_equal(rtl_rx_used(0, (uint16_t)(RING + 100)), 100);
}

static void test_rtl_check_ok(void **state)
{
    struct rtl_rx_entry e;

    (void)state;
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x4001, 64), 68, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 60);
    assert_int_equal(e.next, 68);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x2001, 594), 600, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 590);
    assert_int_equal(e.next, 600);
    assert_int_equal(rtl_rx_check(600, rtl_hdr(0x0001, 1518), 4096, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 1514);
    /* an entry that wraps past the end of the ring */
    assert_int_equal(rtl_rx_check(RING - 100, rtl_hdr(0x0001, 1518), 1524, &e), NIC_RX_OK);
    assert_int_equal(e.next, 1524 - 100);
}

static void test_rtl_check_early(void **state)
{
    struct rtl_rx_entry e;

    (void)state;
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0000, RTL_RX_EARLY_LEN), 8, &e), NIC_RX_EARLY);
    assert_int_equal(e.next, 0);
}

static void test_rtl_check_bad_status(void **state)
{
    static const uint16_t bad[] = {
        RTL_RXS_ROK | RTL_RXS_FAE,  RTL_RXS_ROK | RTL_RXS_CRC, RTL_RXS_ROK | RTL_RXS_LONG,
        RTL_RXS_ROK | RTL_RXS_RUNT, RTL_RXS_ROK | RTL_RXS_ISE, RTL_RXS_CRC,
    };
    struct rtl_rx_entry e;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rtl_rx_check(0, rtl_hdr(bad[i], 100), 104, &e), NIC_RX_SKIP);
        assert_int_equal(e.next, 104); /* a sane length can still be skipped */
        assert_int_equal(e.frame_len, 0);
    }
    /* a runt the card marked OK: skipped, not delivered */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(RTL_RXS_ROK, 40), 44, &e), NIC_RX_SKIP);
    /* a VLAN-sized frame: well formed but longer than we deliver */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(RTL_RXS_ROK, 1522), 1528, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 1528);
}

/* Giants with a clean status (QEMU with a raised TAP MTU): skipped by their length, also
 * across the end of the ring, and never delivered. */
static void test_rtl_check_giant(void **state)
{
    struct rtl_rx_entry e;

    (void)state;
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 1523), 8192, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 1528);
    assert_int_equal(e.frame_len, 0);
    assert_int_equal(rtl_rx_check(64, rtl_hdr(0x2001, 4046), 8192, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 64 + 4052);
    assert_int_equal(e.len, 4046);
    /* the chip's LONG flag next to ROK */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(RTL_RXS_ROK | RTL_RXS_LONG, 5000), 8192, &e),
                     NIC_RX_SKIP);
    /* 9014 + CRC wrapping past the end of the ring */
    assert_int_equal(rtl_rx_check(RING - 1000, rtl_hdr(0x0001, 9018), 9024, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 9024 - 1000);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, RTL_RX_LEN_GIANT_MAX), RING, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 0); /* the whole ring */
    assert_int_equal(rtl_rx_check(64, rtl_hdr(0x0001, 20000), 20004, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 20068);
    /* not all of it written yet (or a lying length): corrupt, as for any entry */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 4046), 4049, &e), NIC_RX_CORRUPT);
}

static void test_rtl_check_corrupt(void **state)
{
    struct rtl_rx_entry e;

    (void)state;
    /* lengths that cannot be */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 0), 8192, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 7), 8192, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, RTL_RX_LEN_GIANT_MAX + 1), RING, &e),
                     NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 0xffff), 8192, &e), NIC_RX_CORRUPT);
    /* ROK clear and no error bit: no status the card writes */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0000, 100), 104, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0xe000, 100), 104, &e), NIC_RX_CORRUPT);
    /* a giant whose status is not clean: its length cannot be trusted */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(RTL_RXS_CRC, 4046), 8192, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(RTL_RXS_ROK | RTL_RXS_FAE, 1523), 8192, &e),
                     NIC_RX_CORRUPT);
    /* longer than what the card says it wrote */
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 100), 103, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 64), 0, &e), NIC_RX_CORRUPT);
    /* our own offset broken */
    assert_int_equal(rtl_rx_check(2, rtl_hdr(0x0001, 64), 8192, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(RING, rtl_hdr(0x0001, 64), 8192, &e), NIC_RX_CORRUPT);
    assert_int_equal(rtl_rx_check(0, rtl_hdr(0x0001, 64), RING + 1, &e), NIC_RX_CORRUPT);
}

/* Every header value against every amount written: the verdict must never let a copy run past
 * what the card wrote or past a 1514-byte frame buffer. */
static void test_rtl_check_exhaustive_len(void **state)
{
    struct rtl_rx_entry e;

    (void)state;
    for (uint32_t len = 0; len <= 0xffff; len += 1) {
        for (uint32_t used = 0; used <= RING; used += 509) {
            enum nic_rx_verdict v =
                rtl_rx_check(RING - 12, rtl_hdr(0x0001, (uint16_t)len), used, &e);

            if (v == NIC_RX_OK) {
                assert_true(e.frame_len <= 1514);
                assert_true(RTL_RX_HDR_LEN + e.frame_len + 4u <= used);
            }
            if (v == NIC_RX_OK || v == NIC_RX_SKIP) {
                assert_true(e.next < RING);
                assert_int_equal(e.next % 4, 0);
                assert_true(RTL_RX_HDR_LEN + len <= used);
                assert_true(len <= RTL_RX_LEN_GIANT_MAX);
            }
            if (v == NIC_RX_SKIP) {
                assert_int_equal(e.frame_len, 0);
            }
        }
    }
}

static void test_rtl_copy_wrap(void **state)
{
    static uint8_t ring[RTL_RX_BUF_LEN];
    uint8_t out[1600];

    (void)state;
    for (size_t i = 0; i < sizeof(ring); i++) {
        ring[i] = (uint8_t)(i * 7 + 3);
    }
    /* no wrap */
    assert_int_equal(rtl_rx_copy(ring, 100, out, 500), 0);
    assert_memory_equal(out, ring + 100, 500);
    /* wrap: the tail of the ring, then its start (not the 16 + 1500 spare bytes) */
    assert_int_equal(rtl_rx_copy(ring, RING - 96, out, 1514), 0);
    assert_memory_equal(out, ring + RING - 96, 96);
    assert_memory_equal(out + 96, ring, 1514 - 96);
    /* exactly to the end */
    assert_int_equal(rtl_rx_copy(ring, RING - 64, out, 64), 0);
    assert_memory_equal(out, ring + RING - 64, 64);
    /* out of range: nothing copied */
    memset(out, 0xee, sizeof(out));
    assert_int_equal(rtl_rx_copy(ring, RING, out, 10), -EINVAL);
    assert_int_equal(rtl_rx_copy(ring, 0, out, RING + 1), -EINVAL);
    assert_int_equal(out[0], 0xee);
}

/* ---- NE2000 -------------------------------------------------------------------------------- */

static const struct ne_ring g_ne = {0x46, 0x80};

static void test_ne_pages(void **state)
{
    (void)state;
    assert_true(ne_ring_valid(&g_ne, 0x46));
    assert_true(ne_ring_valid(&g_ne, 0x7f));
    assert_false(ne_ring_valid(&g_ne, 0x45));
    assert_false(ne_ring_valid(&g_ne, 0x80));
    assert_false(ne_ring_valid(&g_ne, 0x00));
    assert_false(ne_ring_valid(&g_ne, 0xff));

    assert_int_equal(ne_ring_next_page(&g_ne, 0x46), 0x47);
    assert_int_equal(ne_ring_next_page(&g_ne, 0x7f), 0x46);

    /* BNRY trails the next packet by one page, wrapping backwards */
    assert_int_equal(ne_ring_bnry(&g_ne, 0x47), 0x46);
    assert_int_equal(ne_ring_bnry(&g_ne, 0x46), 0x7f);

    assert_int_equal(ne_ring_distance(&g_ne, 0x46, 0x46), 0);
    assert_int_equal(ne_ring_distance(&g_ne, 0x46, 0x4c), 6);
    assert_int_equal(ne_ring_distance(&g_ne, 0x7e, 0x48), 4);
    assert_int_equal(ne_ring_distance(&g_ne, 0x47, 0x46), 0x80 - 0x46 - 1);

    assert_int_equal(ne_ring_first_chunk(&g_ne, 0x4604, 1514), 1514);
    assert_int_equal(ne_ring_first_chunk(&g_ne, 0x7f04, 1514), 252);
    assert_int_equal(ne_ring_first_chunk(&g_ne, 0x7e04, 508), 508);
    assert_int_equal(ne_ring_first_chunk(&g_ne, 0x8000, 10), 0);
}

static enum nic_rx_verdict ne_check(uint8_t page, uint8_t status, uint8_t next, uint16_t count,
                                    struct ne_rx_entry *e)
{
    uint8_t hdr[4] = {status, next, (uint8_t)(count & 0xff), (uint8_t)(count >> 8)};

    return ne_rx_check(&g_ne, page, hdr, e);
}

static void test_ne_check_ok(void **state)
{
    struct ne_rx_entry e;

    (void)state;
    /* QEMU: count = 60 + 4, next = this + ceil((count + 4) / 256) */
    assert_int_equal(ne_check(0x46, 0x21, 0x47, 64, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 60);
    /* 1514-byte frame: 1518 + 4 -> 6 pages */
    assert_int_equal(ne_check(0x46, 0x01, 0x4c, 1518, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 1514);
    /* the CRC pushes it onto one more page */
    assert_int_equal(ne_check(0x46, 0x01, 0x48, 254, &e), NIC_RX_OK);
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 254, &e), NIC_RX_OK);
    /* a packet that wraps at the end of the ring */
    assert_int_equal(ne_check(0x7e, 0x01, 0x4a, 1518, &e), NIC_RX_OK);
    /* a card that counts the CRC: 1514 + 4 + header */
    assert_int_equal(ne_check(0x46, 0x01, 0x4c, 1522, &e), NIC_RX_OK);
    assert_int_equal(e.frame_len, 1518);
}

static void test_ne_check_skip(void **state)
{
    struct ne_rx_entry e;

    (void)state;
    /* error status with a consistent next pointer: skip it */
    assert_int_equal(ne_check(0x46, NE_RSR_CRC, 0x47, 64, &e), NIC_RX_SKIP);
    assert_int_equal(e.next, 0x47);
    assert_int_equal(ne_check(0x46, NE_RSR_PRX | NE_RSR_FAE, 0x47, 64, &e), NIC_RX_SKIP);
    assert_int_equal(ne_check(0x46, NE_RSR_PRX | NE_RSR_FO, 0x47, 64, &e), NIC_RX_SKIP);
    assert_int_equal(ne_check(0x46, 0x00, 0x47, 64, &e), NIC_RX_SKIP);
    /* runt and giant, consistent with next */
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 40, &e), NIC_RX_SKIP);
    assert_int_equal(ne_check(0x46, 0x01, 0x4e, 2000, &e), NIC_RX_SKIP);
}

static void test_ne_check_corrupt(void **state)
{
    struct ne_rx_entry e;

    (void)state;
    /* next outside the ring */
    assert_int_equal(ne_check(0x46, 0x01, 0x80, 64, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x45, 64, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x00, 64, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0xff, 64, &e), NIC_RX_CORRUPT);
    /* next pointing at itself */
    assert_int_equal(ne_check(0x46, 0x01, 0x46, 64, &e), NIC_RX_CORRUPT);
    /* count that does not fit the pages */
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 1518, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x50, 64, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 0xffff, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 3, &e), NIC_RX_CORRUPT);
    assert_int_equal(ne_check(0x46, 0x01, 0x47, 0, &e), NIC_RX_CORRUPT);
    /* the page we read from is outside the ring */
    assert_int_equal(ne_check(0x40, 0x01, 0x47, 64, &e), NIC_RX_CORRUPT);
}

/* Every next page and count from page 0x7d: accepted frames fit the frame buffer, and the
 * pages they claim match the byte count. */
static void test_ne_check_exhaustive(void **state)
{
    struct ne_rx_entry e;

    (void)state;
    for (unsigned next = 0; next < 256; next++) {
        for (unsigned count = 0; count <= 0xffff; count += 3) {
            enum nic_rx_verdict v = ne_check(0x7d, 0x01, (uint8_t)next, (uint16_t)count, &e);

            if (v == NIC_RX_OK) {
                assert_true(e.frame_len >= NE_RX_LEN_MIN && e.frame_len <= NE_RX_LEN_MAX);
            }
            if (v != NIC_RX_CORRUPT) {
                unsigned pages = ne_ring_distance(&g_ne, 0x7d, (uint8_t)next);

                assert_true(ne_ring_valid(&g_ne, (uint8_t)next));
                assert_true(pages * 256 >= count);
            }
        }
    }
}

/* ---- virtio-net ---------------------------------------------------------------------------- */

static void test_vio_layout(void **state)
{
    struct vio_ring_layout l;

    (void)state;
    /* QEMU's default 256 entries: 4 KiB of descriptors, the available ring after them, the
     * used ring on the next page. */
    assert_int_equal(vio_ring_layout(256, &l), 0);
    assert_int_equal(l.avail_off, 4096);
    assert_int_equal(l.used_off, 8192);
    assert_int_equal(l.size, 8192 + 6 + 8 * 256);
    assert_int_equal(vio_ring_layout(1, &l), 0);
    assert_int_equal(l.avail_off, 16);
    assert_int_equal(l.used_off, 4096);
    assert_int_equal(vio_ring_layout(1024, &l), 0);
    assert_int_equal(l.avail_off, 16384);
    assert_int_equal(l.used_off, 16384 + 4096);
    assert_int_equal(vio_ring_layout(VIO_QUEUE_MAX, &l), 0);
    assert_int_equal(l.used_off % VIO_RING_ALIGN, 0);
    assert_int_equal(vio_ring_layout(0, &l), -EINVAL);
    assert_int_equal(vio_ring_layout(255, &l), -EINVAL);
    assert_int_equal(vio_ring_layout(VIO_QUEUE_MAX * 2, &l), -EINVAL);
    assert_int_equal(vio_ring_layout(0xffffffffu, &l), -EINVAL);
}

static void test_vio_layout_all_sizes(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= VIO_QUEUE_MAX; n *= 2) {
        struct vio_ring_layout l;

        assert_int_equal(vio_ring_layout(n, &l), 0);
        /* The available ring (with used_event) ends before the used ring starts, which is
         * aligned and within one alignment step of it. */
        assert_true(l.avail_off + 6 + 2 * n <= l.used_off);
        assert_true(l.used_off - (l.avail_off + 6 + 2 * n) < VIO_RING_ALIGN);
        assert_int_equal(l.used_off % VIO_RING_ALIGN, 0);
        assert_int_equal(l.size, l.used_off + 6 + 8 * n);
    }
}

static void test_vio_used_pending(void **state)
{
    (void)state;
    assert_int_equal(vio_used_pending(0, 0, 256), 0);
    assert_int_equal(vio_used_pending(5, 0, 256), 5);
    assert_int_equal(vio_used_pending(256, 0, 256), 256);
    assert_int_equal(vio_used_pending(257, 0, 256), -EIO);
    /* The 16-bit counters wrap. */
    assert_int_equal(vio_used_pending(3, 65533, 256), 6);
    assert_int_equal(vio_used_pending(0, 65535, 256), 1);
    /* A device index behind ours is as impossible as one too far ahead. */
    assert_int_equal(vio_used_pending(65535, 0, 256), -EIO);
    assert_int_equal(vio_used_pending(9, 10, 256), -EIO);
}

static void test_vio_rx_check(void **state)
{
    uint16_t fl = 0xffff;
    const uint32_t buf = VIO_NET_HDR_LEN + 1514;

    (void)state;
    assert_int_equal(vio_rx_check(0, VIO_NET_HDR_LEN + 60, 256, buf, &fl), NIC_RX_OK);
    assert_int_equal(fl, 60);
    /* A 42-byte ARP frame, unpadded (QEMU's virtio-net does not pad). */
    assert_int_equal(vio_rx_check(255, VIO_NET_HDR_LEN + 42, 256, buf, &fl), NIC_RX_OK);
    assert_int_equal(fl, 42);
    assert_int_equal(vio_rx_check(7, buf, 256, buf, &fl), NIC_RX_OK);
    assert_int_equal(fl, 1514);
    /* Bad lengths: skipped, the buffer still ours to post again. */
    assert_int_equal(vio_rx_check(7, buf + 1, 256, buf, &fl), NIC_RX_SKIP);
    assert_int_equal(fl, 0);
    assert_int_equal(vio_rx_check(7, 0, 256, buf, &fl), NIC_RX_SKIP);
    assert_int_equal(vio_rx_check(7, VIO_NET_HDR_LEN, 256, buf, &fl), NIC_RX_SKIP);
    assert_int_equal(vio_rx_check(7, VIO_NET_HDR_LEN + 13, 256, buf, &fl), NIC_RX_SKIP);
    assert_int_equal(vio_rx_check(7, VIO_NET_HDR_LEN + 14, 256, buf, &fl), NIC_RX_OK);
    assert_int_equal(vio_rx_check(7, 0xffffffffu, 256, buf, &fl), NIC_RX_SKIP);
    /* A buffer larger than a frame still takes no more than 1514 bytes of frame. */
    assert_int_equal(vio_rx_check(7, VIO_NET_HDR_LEN + 1515, 256, 2048, &fl), NIC_RX_SKIP);
    /* Ids out of range: corrupt. */
    assert_int_equal(vio_rx_check(256, VIO_NET_HDR_LEN + 60, 256, buf, &fl), NIC_RX_CORRUPT);
    assert_int_equal(vio_rx_check(0xffffffffu, VIO_NET_HDR_LEN + 60, 256, buf, &fl),
                     NIC_RX_CORRUPT);
    assert_int_equal(vio_rx_check(0, VIO_NET_HDR_LEN + 60, 0, buf, &fl), NIC_RX_CORRUPT);
}

static void test_vio_rx_check_exhaustive(void **state)
{
    const uint32_t buf = VIO_NET_HDR_LEN + 1514;

    (void)state;
    for (uint32_t len = 0; len < 70000; len++) {
        uint16_t fl;
        enum nic_rx_verdict v = vio_rx_check(3, len, 16, buf, &fl);

        if (v == NIC_RX_OK) {
            assert_true(len <= buf);
            assert_int_equal(fl, len - VIO_NET_HDR_LEN);
            assert_true(fl >= 14 && fl <= 1514);
        } else {
            assert_int_equal(v, NIC_RX_SKIP);
            assert_int_equal(fl, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sel_any),
        cmocka_unit_test(test_sel_other),
        cmocka_unit_test(test_sel_pci),
        cmocka_unit_test(test_sel_isa),
        cmocka_unit_test(test_rtl_capr),
        cmocka_unit_test(test_rtl_next),
        cmocka_unit_test(test_rtl_used),
        cmocka_unit_test(test_rtl_check_ok),
        cmocka_unit_test(test_rtl_check_early),
        cmocka_unit_test(test_rtl_check_bad_status),
        cmocka_unit_test(test_rtl_check_corrupt),
        cmocka_unit_test(test_rtl_check_exhaustive_len),
        cmocka_unit_test(test_rtl_check_giant),
        cmocka_unit_test(test_rtl_copy_wrap),
        cmocka_unit_test(test_ne_pages),
        cmocka_unit_test(test_ne_check_ok),
        cmocka_unit_test(test_ne_check_skip),
        cmocka_unit_test(test_ne_check_corrupt),
        cmocka_unit_test(test_ne_check_exhaustive),
        cmocka_unit_test(test_vio_layout),
        cmocka_unit_test(test_vio_layout_all_sizes),
        cmocka_unit_test(test_vio_used_pending),
        cmocka_unit_test(test_vio_rx_check),
        cmocka_unit_test(test_vio_rx_check_exhaustive),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
