/* Unit tests for guest memory: RAM allocation (2 MiB pages and the 4 KiB fallback), checked
 * guest-physical access, the VGA hole, nested page tables (map, lookup, 2 MiB leaves, the U
 * bit, errors, freeing) and the guest e820 map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm_fake.h"
#include "../../vmm/e820.h"
#include "../../vmm/gmem.h"
#include "../../vmm/npt.h"

static int setup(void **state)
{
    (void)state;
    fake_setup();
    return 0;
}

static void test_gmem_2m_pages(void **state)
{
    struct vmm_gmem m;
    uint8_t b = 1;

    (void)state;
    assert_int_equal(gmem_init(&m, MiB(5)), 0);
    assert_int_equal(m.size, MiB(6)); /* rounded up to 2 MiB */
    assert_int_equal(m.nchunks, 3);
    assert_int_equal(m.chunks_2m, 3);
    assert_int_equal(g_fake.pages_live, 3 * 512);
    /* Zeroed although the host's pages were not. */
    for (uint64_t gpa = 0; gpa < m.size; gpa += 4093) {
        if (gmem_is_ram(&m, gpa)) {
            assert_int_equal(gmem_read(&m, gpa, &b, 1), 0);
            assert_int_equal(b, 0);
        }
    }
    gmem_free(&m);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

static void test_gmem_4k_fallback(void **state)
{
    struct vmm_gmem m;
    char buf[10000];
    char back[10000];

    (void)state;
    g_fake.no_2m = true;
    assert_int_equal(gmem_init(&m, MiB(4)), 0);
    assert_int_equal(m.chunks_2m, 0);
    assert_non_null(m.chunks[0].pages);
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (char)(i * 7);
    }
    /* Across several discontiguous host pages and the 2 MiB chunk boundary. */
    assert_int_equal(gmem_write(&m, MiB(2) - 5000, buf, sizeof(buf)), 0);
    assert_int_equal(gmem_read(&m, MiB(2) - 5000, back, sizeof(back)), 0);
    assert_memory_equal(buf, back, sizeof(buf));
    gmem_free(&m);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

static void test_gmem_alloc_failure_frees(void **state)
{
    struct vmm_gmem m;

    (void)state;
    g_fake.no_2m = true;
    g_fake.fail_pages_after = 700; /* dies inside the second chunk */
    assert_int_equal(gmem_init(&m, MiB(4)), -ENOMEM);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

static void test_gmem_checks(void **state)
{
    struct vmm_gmem m;
    uint8_t b = 0x5A;
    size_t contig;

    (void)state;
    assert_int_equal(gmem_init(&m, MiB(2)), 0);
    assert_true(gmem_is_ram(&m, 0));
    assert_true(gmem_is_ram(&m, GMEM_VGA_START - 1));
    assert_false(gmem_is_ram(&m, GMEM_VGA_START));
    assert_false(gmem_is_ram(&m, GMEM_VGA_END - 1));
    assert_true(gmem_is_ram(&m, GMEM_VGA_END));
    assert_false(gmem_is_ram(&m, MiB(2)));
    /* Every byte is checked: the last byte in, one beyond out. */
    assert_int_equal(gmem_write(&m, MiB(2) - 1, &b, 1), 0);
    assert_int_equal(gmem_write(&m, MiB(2) - 1, "ab", 2), -EFAULT);
    assert_int_equal(gmem_write(&m, GMEM_VGA_START - 1, "ab", 2), -EFAULT);
    assert_int_equal(gmem_read(&m, GMEM_VGA_END - 1, &b, 1), -EFAULT);
    assert_int_equal(gmem_read(&m, UINT64_MAX, &b, 1), -EFAULT);
    assert_false(gmem_range_ok(&m, 16, UINT64_MAX - 8)); /* no wrap-around */
    assert_true(gmem_range_ok(&m, 0, 0));
    assert_null(gmem_ptr(&m, GMEM_VGA_START, &contig));
    assert_non_null(gmem_ptr(&m, GMEM_VGA_START - 16, &contig));
    assert_int_equal(contig, 16); /* stops at the hole */
    gmem_free(&m);
}

/* 16-bit values (virtqueue indexes): little-endian, aligned or not, checked like any access. */
static void test_gmem_16(void **state)
{
    struct vmm_gmem m;
    uint8_t b[3];
    uint16_t v = 0;

    (void)state;
    assert_int_equal(gmem_init(&m, MiB(2)), 0);
    assert_int_equal(gmem_write16(&m, 0x1000, 0xBEEF), 0);
    assert_int_equal(gmem_read(&m, 0x1000, b, 2), 0);
    assert_int_equal(b[0], 0xEF);
    assert_int_equal(b[1], 0xBE);
    assert_int_equal(gmem_read16(&m, 0x1000, &v), 0);
    assert_int_equal(v, 0xBEEF);
    assert_int_equal(gmem_write16(&m, 0x2001, 0x1234), 0); /* unaligned: byte by byte */
    assert_int_equal(gmem_read(&m, 0x2001, b, 2), 0);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(b[1], 0x12);
    assert_int_equal(gmem_read16(&m, 0x2001, &v), 0);
    assert_int_equal(v, 0x1234);
    assert_int_equal(gmem_write16(&m, MiB(2) - 2, 1), 0);
    assert_int_equal(gmem_write16(&m, MiB(2), 1), -EFAULT);
    assert_int_equal(gmem_write16(&m, MiB(2) - 1, 1), -EFAULT); /* half outside */
    assert_int_equal(gmem_read16(&m, GMEM_VGA_START, &v), -EFAULT);
    assert_int_equal(gmem_read16(&m, GMEM_VGA_START - 1, &v), -EFAULT);
    gmem_free(&m);
}

static void test_npt_map_lookup(void **state)
{
    struct vmm_npt n;
    uint64_t hpa;
    uint64_t flags;

    (void)state;
    assert_int_equal(npt_init(&n), 0);
    assert_int_equal(npt_map(&n, 0x200000, 0x40000000, PAGE_SIZE_2M, NPT_RAM), 0);
    assert_int_equal(npt_map(&n, 0x5000, 0x7000, PAGE_SIZE, NPT_P | NPT_RW), 0);
    assert_int_equal(npt_lookup(&n, 0x212345, &hpa, &flags), 0);
    assert_int_equal(hpa, 0x40012345);
    assert_true(flags & NPT_PS);
    assert_true(flags & NPT_U); /* always: nested walks are user accesses */
    assert_int_equal(npt_lookup(&n, 0x5FFF, &hpa, &flags), 0);
    assert_int_equal(hpa, 0x7FFF);
    assert_true(flags & NPT_U);
    assert_false(flags & NPT_PS);
    assert_int_equal(npt_lookup(&n, 0x6000, &hpa, &flags), -ENOENT);
    assert_int_equal(npt_lookup(&n, 0x400000, &hpa, &flags), -ENOENT);
    assert_int_equal(npt_lookup(&n, 1ull << 48, &hpa, &flags), -ENOENT);
    /* Overlaps and bad arguments. */
    assert_int_equal(npt_map(&n, 0x200000, 0x0, PAGE_SIZE_2M, NPT_RAM), -EEXIST);
    assert_int_equal(npt_map(&n, 0x201000, 0x0, PAGE_SIZE, NPT_RAM), -EEXIST);
    assert_int_equal(npt_map(&n, 0x5000, 0x0, PAGE_SIZE, NPT_RAM), -EEXIST);
    assert_int_equal(npt_map(&n, 0x0, 0x0, PAGE_SIZE_2M, NPT_RAM), -EEXIST); /* PT below */
    assert_int_equal(npt_map(&n, 0x1000, 0x0, PAGE_SIZE_2M, NPT_RAM), -EINVAL);
    assert_int_equal(npt_map(&n, 0x400000, 0x1000, PAGE_SIZE_2M, NPT_RAM), -EINVAL);
    assert_int_equal(npt_map(&n, 0x400000, 0x0, 8192, NPT_RAM), -EINVAL);
    assert_int_equal(npt_map(&n, 1ull << 48, 0x0, PAGE_SIZE, NPT_RAM), -EINVAL);
    /* PML4 + PDPT + PD + one PT. */
    assert_int_equal(n.tables, 4);
    npt_destroy(&n);
    assert_int_equal(g_fake.pages_live, 0);
}

static void test_npt_map_gmem(void **state)
{
    struct vmm_gmem m;
    struct vmm_npt n;
    uint64_t hpa;
    uint64_t want;
    uint64_t flags;

    (void)state;
    assert_int_equal(gmem_init(&m, MiB(8)), 0);
    assert_int_equal(npt_init(&n), 0);
    assert_int_equal(npt_map_gmem(&n, &m), 0);
    /* Chunk 0 is mapped by 4 KiB pages around the VGA hole, the rest by 2 MiB leaves. */
    assert_int_equal(npt_lookup(&n, 0x1234, &hpa, &flags), 0);
    assert_int_equal(gmem_gpa_to_hpa(&m, 0x1234, &want), 0);
    assert_int_equal(hpa, want);
    assert_false(flags & NPT_PS);
    assert_int_equal(npt_lookup(&n, GMEM_VGA_START, &hpa, &flags), -ENOENT);
    assert_int_equal(npt_lookup(&n, GMEM_VGA_END - 1, &hpa, &flags), -ENOENT);
    assert_int_equal(npt_lookup(&n, GMEM_VGA_END, &hpa, &flags), 0);
    assert_int_equal(npt_lookup(&n, MiB(6) + 99, &hpa, &flags), 0);
    assert_int_equal(gmem_gpa_to_hpa(&m, MiB(6) + 99, &want), 0);
    assert_int_equal(hpa, want);
    assert_true(flags & NPT_PS);
    assert_int_equal(npt_lookup(&n, MiB(8), &hpa, &flags), -ENOENT);
    npt_destroy(&n);
    gmem_free(&m);
    assert_int_equal(g_fake.pages_live, 0);
}

static void test_npt_map_gmem_4k(void **state)
{
    struct vmm_gmem m;
    struct vmm_npt n;
    uint64_t hpa;
    uint64_t want;
    uint64_t flags;

    (void)state;
    g_fake.no_2m = true;
    assert_int_equal(gmem_init(&m, MiB(4)), 0);
    assert_int_equal(npt_init(&n), 0);
    assert_int_equal(npt_map_gmem(&n, &m), 0);
    for (uint64_t gpa = 0; gpa < MiB(4); gpa += 0x3001) {
        int rc = npt_lookup(&n, gpa, &hpa, &flags);

        if (!gmem_is_ram(&m, gpa)) {
            assert_int_equal(rc, -ENOENT);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(gmem_gpa_to_hpa(&m, gpa, &want), 0);
        assert_int_equal(hpa, want);
    }
    assert_int_equal(n.tables, 3 + 2); /* PML4, PDPT, PD, a PT per 2 MiB */
    npt_destroy(&n);
    gmem_free(&m);
    assert_int_equal(g_fake.pages_live, 0);
}

static void test_e820(void **state)
{
    struct vmm_e820_entry e[E820_MAX];
    int n;

    (void)state;
    n = vmm_e820_build(MiB(16), e, E820_MAX);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].addr, 0);
    assert_int_equal(e[0].len, 0x9FC00);
    assert_int_equal(e[0].type, E820_RAM);
    assert_int_equal(e[1].type, E820_RESERVED);
    assert_int_equal(e[2].addr, 0xF0000);
    assert_int_equal(e[2].addr + e[2].len, 0x100000);
    assert_int_equal(e[3].addr, 0x100000);
    assert_int_equal(e[3].addr + e[3].len, MiB(16));
    assert_int_equal(e[3].type, E820_RAM);
    for (int i = 1; i < n; i++) {
        assert_true(e[i - 1].addr + e[i - 1].len <= e[i].addr); /* sorted, disjoint */
    }
    assert_int_equal(vmm_e820_build(MiB(1), e, E820_MAX), -EINVAL);
    assert_int_equal(vmm_e820_build(MiB(16), e, 3), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_gmem_2m_pages, setup),
        cmocka_unit_test_setup(test_gmem_4k_fallback, setup),
        cmocka_unit_test_setup(test_gmem_alloc_failure_frees, setup),
        cmocka_unit_test_setup(test_gmem_checks, setup),
        cmocka_unit_test_setup(test_gmem_16, setup),
        cmocka_unit_test_setup(test_npt_map_lookup, setup),
        cmocka_unit_test_setup(test_npt_map_gmem, setup),
        cmocka_unit_test_setup(test_npt_map_gmem_4k, setup),
        cmocka_unit_test_setup(test_e820, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
