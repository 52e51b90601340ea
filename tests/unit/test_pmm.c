/* Unit tests for the physical page allocator (kernel/pmm.c). The pmm never touches the pages,
 * so the tests use fake physical addresses: 64 MiB starting at 1 MiB (not 2 MiB aligned). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pmm.h"

#define BASE   0x100000ULL
#define NPAGES ((size_t)(MiB(64) / PAGE_SIZE))
/* 2 MiB pages wholly inside [1 MiB, 65 MiB): 2 MiB .. 64 MiB. */
#define FULL_2M 31

struct fixture {
    struct pmm pmm;
    uint64_t *bitmap;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->bitmap = malloc(pmm_bitmap_bytes(NPAGES));
    assert_non_null(f->bitmap);
    pmm_init(&f->pmm, BASE, NPAGES, f->bitmap);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->bitmap);
    free(f);
    return 0;
}

static uint64_t page_addr(size_t i)
{
    return BASE + i * PAGE_SIZE;
}

static void release_all(struct pmm *p)
{
    pmm_release_range(p, BASE, NPAGES * PAGE_SIZE);
    assert_int_equal(pmm_free_count(p), NPAGES);
}

static void test_bitmap_bytes(void **state)
{
    (void)state;
    assert_int_equal(pmm_bitmap_bytes(0), 0);
    assert_int_equal(pmm_bitmap_bytes(1), 8);
    assert_int_equal(pmm_bitmap_bytes(64), 8);
    assert_int_equal(pmm_bitmap_bytes(65), 16);
    assert_int_equal(pmm_bitmap_bytes(NPAGES), NPAGES / 8);
}

static void test_init_all_used(void **state)
{
    struct fixture *f = *state;
    uint64_t pa = 0;

    assert_int_equal(pmm_free_count(&f->pmm), 0);
    assert_true(pmm_is_used(&f->pmm, BASE));
    assert_true(pmm_is_used(&f->pmm, page_addr(NPAGES - 1)));
    assert_true(pmm_is_used(&f->pmm, BASE - PAGE_SIZE)); /* outside counts as used */
    assert_true(pmm_is_used(&f->pmm, page_addr(NPAGES)));
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), -ENOMEM);
    assert_int_equal(pmm_free_2m_count(&f->pmm), 0);
}

static void test_init_unaligned_base_and_odd_size(void **state)
{
    uint64_t bitmap[2];
    struct pmm p;
    uint64_t pa;

    (void)state;
    /* 100 pages: the bitmap tail bits past page 99 must never be handed out. */
    pmm_init(&p, BASE + 123, 100, bitmap);
    assert_int_equal(p.base, BASE);
    pmm_release_range(&p, 0, GiB(1));
    assert_int_equal(pmm_free_count(&p), 100);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(pmm_alloc(&p, 1, 1, &pa), 0);
        assert_int_equal(pa, page_addr(i));
    }
    assert_int_equal(pmm_alloc(&p, 1, 1, &pa), -ENOMEM);
    assert_int_equal(pmm_free_count(&p), 0);
}

static void test_release_partial_pages(void **state)
{
    struct fixture *f = *state;

    /* [BASE+100, BASE+100+3 pages) holds only pages 1 and 2 whole. */
    pmm_release_range(&f->pmm, BASE + 100, 3 * PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    assert_true(pmm_is_used(&f->pmm, page_addr(0)));
    assert_false(pmm_is_used(&f->pmm, page_addr(1)));
    assert_false(pmm_is_used(&f->pmm, page_addr(2) + 4095));
    assert_true(pmm_is_used(&f->pmm, page_addr(3)));

    /* Releasing again changes nothing; less than a page frees nothing. */
    pmm_release_range(&f->pmm, BASE + 100, 3 * PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    pmm_release_range(&f->pmm, page_addr(10) + 1, PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    pmm_release_range(&f->pmm, page_addr(10), PAGE_SIZE - 1);
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    pmm_release_range(&f->pmm, page_addr(10), 0);
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    pmm_release_range(&f->pmm, page_addr(10), PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), 3);
    assert_false(pmm_is_used(&f->pmm, page_addr(10)));
}

static void test_reserve_partial_pages(void **state)
{
    struct fixture *f = *state;

    release_all(&f->pmm);
    /* One byte inside page 1 reserves the whole page. */
    pmm_reserve_range(&f->pmm, page_addr(1) + 1, 1);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 1);
    assert_true(pmm_is_used(&f->pmm, page_addr(1)));
    /* Two bytes straddling pages 2 and 3 reserve both. */
    pmm_reserve_range(&f->pmm, page_addr(3) - 1, 2);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 3);
    assert_true(pmm_is_used(&f->pmm, page_addr(2)));
    assert_true(pmm_is_used(&f->pmm, page_addr(3)));
    assert_false(pmm_is_used(&f->pmm, page_addr(4)));
    /* Reserving again (overlapping) does not count twice. */
    pmm_reserve_range(&f->pmm, page_addr(1), 3 * PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 3);
    pmm_reserve_range(&f->pmm, page_addr(20), 0);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 3);
}

static void test_ranges_are_clipped(void **state)
{
    struct fixture *f = *state;

    /* Entirely below or above the allocator: nothing. */
    pmm_release_range(&f->pmm, 0, BASE);
    pmm_release_range(&f->pmm, page_addr(NPAGES), MiB(4));
    assert_int_equal(pmm_free_count(&f->pmm), 0);
    /* Straddling the top: only the pages inside. */
    pmm_release_range(&f->pmm, page_addr(NPAGES - 2), MiB(4));
    assert_int_equal(pmm_free_count(&f->pmm), 2);
    /* A range from 0 covering everything. */
    pmm_release_range(&f->pmm, 0, GiB(1));
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES);
    /* Reserving [0, BASE + 1 page) takes only page 0 of the allocator. */
    pmm_reserve_range(&f->pmm, 0, BASE + PAGE_SIZE);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 1);
    assert_true(pmm_is_used(&f->pmm, page_addr(0)));
    assert_false(pmm_is_used(&f->pmm, page_addr(1)));
    pmm_reserve_range(&f->pmm, page_addr(NPAGES), MiB(1));
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 1);
}

static void test_ranges_near_top_of_address_space(void **state)
{
    struct fixture *f = *state;

    /* Release ranges that wrap, or whose start rounds up past 2^64, free nothing. */
    pmm_release_range(&f->pmm, UINT64_MAX - 100, 200);
    assert_int_equal(pmm_free_count(&f->pmm), 0);
    pmm_release_range(&f->pmm, 0xFFFFFFFFFFFFF001ULL, 0xFFE);
    assert_int_equal(pmm_free_count(&f->pmm), 0);
    pmm_release_range(&f->pmm, BASE, UINT64_MAX);
    assert_int_equal(pmm_free_count(&f->pmm), 0);

    /* A reserved range that runs past 2^64 still reserves everything from its start. */
    release_all(&f->pmm);
    pmm_reserve_range(&f->pmm, page_addr(NPAGES - 10), UINT64_MAX);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 10);
    assert_true(pmm_is_used(&f->pmm, page_addr(NPAGES - 10)));
    assert_false(pmm_is_used(&f->pmm, page_addr(NPAGES - 11)));
    /* One whose end is exactly 2^64 - 1 (rounding it up would wrap). */
    release_all(&f->pmm);
    pmm_reserve_range(&f->pmm, page_addr(5), UINT64_MAX - page_addr(5));
    assert_int_equal(pmm_free_count(&f->pmm), 5);
}

static void test_single_alloc_free(void **state)
{
    struct fixture *f = *state;
    uint64_t a;
    uint64_t b;
    uint64_t c;

    release_all(&f->pmm);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &a), 0);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 0, &b), 0); /* align 0 means 1 */
    assert_int_equal(a, page_addr(0));
    assert_int_equal(b, page_addr(1));
    assert_true(pmm_is_used(&f->pmm, a));
    assert_true(pmm_is_used(&f->pmm, b));
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 2);
    assert_int_equal(pmm_free(&f->pmm, a, 1), 0);
    assert_false(pmm_is_used(&f->pmm, a));
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - 1);
    /* The freed page is found again first (the hint moved back). */
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &c), 0);
    assert_int_equal(c, a);
    assert_int_equal(pmm_free(&f->pmm, b, 1), 0);
    assert_int_equal(pmm_free(&f->pmm, c, 1), 0);
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES);
}

static void test_alloc_skips_used_words(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;

    release_all(&f->pmm);
    /* Pages 0..199 used (three full bitmap words and part of a fourth). */
    pmm_reserve_range(&f->pmm, BASE, 200 * PAGE_SIZE);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
    assert_int_equal(pa, page_addr(200));
}

static void test_hint_wraps_around(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;

    /* Only pages [0, 100) exist as free memory. */
    pmm_release_range(&f->pmm, BASE, 100 * PAGE_SIZE);
    for (size_t i = 0; i < 60; i++) {
        assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
        assert_int_equal(pa, page_addr(i));
    }
    /* Nothing free past the hint; a page freed behind it by a range release must be found. */
    pmm_reserve_range(&f->pmm, page_addr(60), 40 * PAGE_SIZE);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), -ENOMEM);
    pmm_release_range(&f->pmm, page_addr(20), PAGE_SIZE);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
    assert_int_equal(pa, page_addr(20));
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), -ENOMEM);

    /* Hint at the very end (everything allocated), then one page appears at the bottom. */
    pmm_init(&f->pmm, BASE, NPAGES, f->bitmap);
    release_all(&f->pmm);
    for (size_t i = 0; i < NPAGES; i++) {
        assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
    }
    assert_int_equal(pa, page_addr(NPAGES - 1));
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), -ENOMEM);
    pmm_release_range(&f->pmm, page_addr(7), PAGE_SIZE);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
    assert_int_equal(pa, page_addr(7));
}

static void test_aligned_2m_runs(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;
    uint64_t pb;
    uint64_t pc;

    release_all(&f->pmm);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M);
    /* The base is 1 MiB, so the first 2 MiB-aligned run starts 256 pages in. */
    assert_int_equal(pmm_alloc(&f->pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, &pa), 0);
    assert_int_equal(pa, MiB(2));
    for (size_t i = 0; i < PMM_PAGES_PER_2M; i++) {
        assert_true(pmm_is_used(&f->pmm, pa + i * PAGE_SIZE));
    }
    assert_false(pmm_is_used(&f->pmm, pa - PAGE_SIZE));
    assert_false(pmm_is_used(&f->pmm, pa + MiB(2)));
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - PMM_PAGES_PER_2M);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 1);

    /* One used page inside [6 MiB, 8 MiB) pushes the next-but-one run to 8 MiB. */
    pmm_reserve_range(&f->pmm, MiB(6) + 5 * PAGE_SIZE, 1);
    assert_int_equal(pmm_alloc(&f->pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, &pb), 0);
    assert_int_equal(pb, MiB(4));
    assert_int_equal(pmm_alloc(&f->pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, &pc), 0);
    assert_int_equal(pc, MiB(8));
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 4);

    /* Small aligned runs. */
    assert_int_equal(pmm_alloc(&f->pmm, 3, 4, &pa), 0);
    assert_int_equal(pa % (4 * PAGE_SIZE), 0);
    assert_int_equal(pa, BASE); /* 1 MiB is 16 KiB aligned */
    assert_int_equal(pmm_alloc(&f->pmm, 1, 4, &pa), 0);
    assert_int_equal(pa, BASE + 4 * PAGE_SIZE);

    assert_int_equal(pmm_free(&f->pmm, pb, PMM_PAGES_PER_2M), 0);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 3);
    assert_int_equal(pmm_alloc(&f->pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, &pa), 0);
    assert_int_equal(pa, pb);
}

static void test_contiguous_needs_a_hole(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;
    size_t before;

    release_all(&f->pmm);
    /* Every 8th page used: plenty free, but no 8-page run. */
    for (size_t i = 0; i < NPAGES; i += 8) {
        pmm_reserve_range(&f->pmm, page_addr(i), PAGE_SIZE);
    }
    before = pmm_free_count(&f->pmm);
    assert_int_equal(pmm_alloc(&f->pmm, 8, 1, &pa), -ENOMEM);
    assert_int_equal(pmm_free_count(&f->pmm), before);
    assert_int_equal(pmm_alloc(&f->pmm, 7, 1, &pa), 0);
    assert_int_equal(pa, page_addr(1));
    assert_int_equal(pmm_free_2m_count(&f->pmm), 0);
}

static void test_exhaustion(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;
    size_t runs = 0;
    size_t singles = 0;

    release_all(&f->pmm);
    assert_int_equal(pmm_alloc(&f->pmm, 0, 1, &pa), -ENOMEM);
    assert_int_equal(pmm_alloc(&f->pmm, NPAGES + 1, 1, &pa), -ENOMEM);
    while (pmm_alloc(&f->pmm, PMM_PAGES_PER_2M, PMM_PAGES_PER_2M, &pa) == 0) {
        assert_int_equal(pa % PAGE_SIZE_2M, 0);
        runs++;
        assert_true(runs <= FULL_2M);
    }
    assert_int_equal(runs, FULL_2M);
    assert_int_equal(pmm_free_2m_count(&f->pmm), 0);
    /* 256 pages below 2 MiB and 256 above 64 MiB remain. */
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES - FULL_2M * PMM_PAGES_PER_2M);
    while (pmm_alloc(&f->pmm, 1, 1, &pa) == 0) {
        singles++;
        assert_true(singles <= NPAGES);
    }
    assert_int_equal(singles, NPAGES - FULL_2M * PMM_PAGES_PER_2M);
    assert_int_equal(pmm_free_count(&f->pmm), 0);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), -ENOMEM);
    assert_int_equal(pmm_alloc(&f->pmm, 2, 2, &pa), -ENOMEM);
}

static void test_bad_frees_change_nothing(void **state)
{
    struct fixture *f = *state;
    uint64_t pa;
    uint64_t run;
    size_t n;

    release_all(&f->pmm);
    assert_int_equal(pmm_alloc(&f->pmm, 1, 1, &pa), 0);
    assert_int_equal(pmm_alloc(&f->pmm, 4, 1, &run), 0);
    n = pmm_free_count(&f->pmm);

    assert_int_equal(pmm_free(&f->pmm, pa + 1, 1), -EINVAL);           /* unaligned */
    assert_int_equal(pmm_free(&f->pmm, pa + 2048, 1), -EINVAL);        /* unaligned */
    assert_int_equal(pmm_free(&f->pmm, BASE - PAGE_SIZE, 1), -EINVAL); /* below */
    assert_int_equal(pmm_free(&f->pmm, 0, 1), -EINVAL);
    assert_int_equal(pmm_free(&f->pmm, page_addr(NPAGES), 1), -EINVAL); /* above */
    assert_int_equal(pmm_free(&f->pmm, UINT64_MAX & ~(PAGE_SIZE - 1), 1), -EINVAL);
    assert_int_equal(pmm_free(&f->pmm, pa, 0), -EINVAL);
    assert_int_equal(pmm_free(&f->pmm, pa, SIZE_MAX), -EINVAL); /* runs past the end */
    assert_int_equal(pmm_free(&f->pmm, page_addr(NPAGES - 1), 2), -EINVAL);
    assert_int_equal(pmm_free(&f->pmm, page_addr(100), 1), -EINVAL); /* never allocated */
    assert_int_equal(pmm_free_count(&f->pmm), n);
    assert_true(pmm_is_used(&f->pmm, pa));

    /* A run whose middle page was already freed: nothing of it is freed again. */
    assert_int_equal(pmm_free(&f->pmm, run + PAGE_SIZE, 1), 0);
    n = pmm_free_count(&f->pmm);
    assert_int_equal(pmm_free(&f->pmm, run, 4), -EINVAL);
    assert_int_equal(pmm_free_count(&f->pmm), n);
    assert_true(pmm_is_used(&f->pmm, run));
    assert_true(pmm_is_used(&f->pmm, run + 2 * PAGE_SIZE));
    assert_true(pmm_is_used(&f->pmm, run + 3 * PAGE_SIZE));
    /* A run that goes one page past the allocation into free memory. */
    assert_int_equal(pmm_free(&f->pmm, run + 2 * PAGE_SIZE, 3), -EINVAL);
    assert_int_equal(pmm_free_count(&f->pmm), n);

    /* Double free. */
    assert_int_equal(pmm_free(&f->pmm, pa, 1), 0);
    assert_int_equal(pmm_free_count(&f->pmm), n + 1);
    assert_int_equal(pmm_free(&f->pmm, pa, 1), -EINVAL);
    assert_int_equal(pmm_free_count(&f->pmm), n + 1);
    assert_false(pmm_is_used(&f->pmm, pa));
}

static void test_free_2m_count(void **state)
{
    struct fixture *f = *state;
    uint64_t bitmap[16];
    struct pmm p;

    release_all(&f->pmm);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M);
    /* One used page costs exactly one 2 MiB page; a page outside any full one costs none. */
    pmm_reserve_range(&f->pmm, MiB(10) + MiB(1), 1);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 1);
    pmm_reserve_range(&f->pmm, BASE, PAGE_SIZE);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 1);
    pmm_reserve_range(&f->pmm, MiB(64) + PAGE_SIZE, PAGE_SIZE);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M - 1);

    /* A 2 MiB-aligned base with 1024 pages: exactly two. */
    pmm_init(&p, MiB(2), 1024, bitmap);
    pmm_release_range(&p, 0, GiB(1));
    assert_int_equal(pmm_free_2m_count(&p), 2);
    /* Fewer pages than a 2 MiB page: none. */
    pmm_init(&p, MiB(2), 511, bitmap);
    pmm_release_range(&p, 0, GiB(1));
    assert_int_equal(pmm_free_2m_count(&p), 0);
}

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

struct run {
    uint64_t addr;
    size_t n;
};

static void test_random_alloc_free(void **state)
{
    struct fixture *f = *state;
    static struct run live[256];
    static uint8_t owner[NPAGES]; /* 1 = page belongs to a live run */
    size_t nlive = 0;
    size_t used = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;

    memset(owner, 0, sizeof(owner));
    release_all(&f->pmm);
    for (int op = 0; op < 4000; op++) {
        uint64_t r = rng_next(&seed);

        if (nlive < ARRAY_SIZE(live) && (r & 3) != 0) {
            static const size_t aligns[] = {1, 1, 1, 2, 8, 64};
            size_t n = 1 + (r >> 8) % 40;
            size_t align = aligns[(r >> 20) % ARRAY_SIZE(aligns)];
            uint64_t pa;
            size_t first;

            if (pmm_alloc(&f->pmm, n, align, &pa) != 0) {
                continue;
            }
            assert_int_equal(pa % (align * PAGE_SIZE), 0);
            assert_true(pa >= BASE && pa + n * PAGE_SIZE <= page_addr(NPAGES));
            first = (size_t)((pa - BASE) / PAGE_SIZE);
            for (size_t i = first; i < first + n; i++) {
                assert_int_equal(owner[i], 0); /* no overlap with a live run */
                owner[i] = 1;
            }
            live[nlive].addr = pa;
            live[nlive].n = n;
            nlive++;
            used += n;
        } else if (nlive > 0) {
            size_t k = (size_t)((r >> 8) % nlive);
            size_t first = (size_t)((live[k].addr - BASE) / PAGE_SIZE);

            assert_int_equal(pmm_free(&f->pmm, live[k].addr, live[k].n), 0);
            assert_int_equal(pmm_free(&f->pmm, live[k].addr, live[k].n), -EINVAL);
            for (size_t i = first; i < first + live[k].n; i++) {
                owner[i] = 0;
            }
            used -= live[k].n;
            live[k] = live[--nlive];
        }
        assert_int_equal(pmm_free_count(&f->pmm), NPAGES - used);
    }
    while (nlive > 0) {
        nlive--;
        assert_int_equal(pmm_free(&f->pmm, live[nlive].addr, live[nlive].n), 0);
    }
    assert_int_equal(pmm_free_count(&f->pmm), NPAGES);
    assert_int_equal(pmm_free_2m_count(&f->pmm), FULL_2M);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap_bytes),
        T(test_init_all_used),
        cmocka_unit_test(test_init_unaligned_base_and_odd_size),
        T(test_release_partial_pages),
        T(test_reserve_partial_pages),
        T(test_ranges_are_clipped),
        T(test_ranges_near_top_of_address_space),
        T(test_single_alloc_free),
        T(test_alloc_skips_used_words),
        T(test_hint_wraps_around),
        T(test_aligned_2m_runs),
        T(test_contiguous_needs_a_hole),
        T(test_exhaustion),
        T(test_bad_frees_change_nothing),
        T(test_free_2m_count),
        T(test_random_alloc_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
