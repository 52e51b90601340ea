/* Unit tests for the kernel heap (kernel/heap.c) over malloc'ed regions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "heap.h"

#define REGION_SIZE (256 * 1024)

struct fixture {
    struct heap h;
    uint8_t *mem;
    size_t largest0; /* heap_largest_free right after the region was added */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->mem = aligned_alloc(4096, REGION_SIZE);
    assert_non_null(f->mem);
    heap_init(&f->h);
    assert_int_equal(heap_add_region(&f->h, f->mem, REGION_SIZE), 0);
    f->largest0 = heap_largest_free(&f->h);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->mem);
    free(f);
    return 0;
}

static bool inside(const struct fixture *f, const void *p, size_t n)
{
    const uint8_t *b = p;

    return b >= f->mem && b + n <= f->mem + REGION_SIZE;
}

static void fill(void *p, size_t n, uint8_t tag)
{
    uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(tag + i * 7);
    }
}

static bool check_fill(const void *p, size_t n, uint8_t tag)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != (uint8_t)(tag + i * 7)) {
            return false;
        }
    }
    return true;
}

/* The heap is back to one free block covering the whole region. */
static void assert_pristine(const struct fixture *f)
{
    assert_int_equal(heap_check(&f->h), 0);
    assert_int_equal(f->h.used, 0);
    assert_int_equal(f->h.allocs, 0);
    assert_int_equal(heap_largest_free(&f->h), f->largest0);
}

static void test_add_region(void **state)
{
    struct heap h;
    static uint8_t small[48] __attribute__((aligned(16)));
    static uint8_t mem[4096] __attribute__((aligned(16)));

    (void)state;
    heap_init(&h);
    assert_int_equal(heap_add_region(&h, NULL, 4096), -EINVAL);
    assert_int_equal(heap_add_region(&h, small, sizeof(small)), -EINVAL);
    assert_int_equal(heap_add_region(&h, mem, 0), -EINVAL);
    assert_int_equal(h.total, 0);
    assert_null(heap_alloc(&h, 16, 0));
    assert_int_equal(h.failures, 1);
    /* An unaligned start is rounded in. */
    assert_int_equal(heap_add_region(&h, mem + 3, 4093), 0);
    assert_int_equal(h.total, 4096 - 16);
    assert_int_equal(heap_check(&h), 0);
    assert_true(heap_largest_free(&h) < h.total);
    assert_true(heap_largest_free(&h) >= h.total - 64);
}

static void test_alloc_free_integrity(void **state)
{
    struct fixture *f = *state;
    enum { N = 100 };
    void *p[N];
    size_t sz[N];

    for (int i = 0; i < N; i++) {
        sz[i] = 1 + (size_t)(i * 37) % 700;
        p[i] = heap_alloc(&f->h, sz[i], 0);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % HEAP_ALIGN, 0);
        assert_true(inside(f, p[i], sz[i]));
        fill(p[i], sz[i], (uint8_t)i);
    }
    assert_int_equal(f->h.allocs, N);
    assert_int_equal(heap_check(&f->h), 0);
    /* No two allocations overlap, and every pattern survived the later allocations. */
    for (int i = 0; i < N; i++) {
        assert_true(check_fill(p[i], sz[i], (uint8_t)i));
        for (int j = i + 1; j < N; j++) {
            const uint8_t *a = p[i];
            const uint8_t *b = p[j];

            assert_true(a + sz[i] <= b || b + sz[j] <= a);
        }
    }
    /* Free the even ones, check the odd ones, free the rest. */
    for (int i = 0; i < N; i += 2) {
        assert_int_equal(heap_free(&f->h, p[i]), 0);
    }
    assert_int_equal(heap_check(&f->h), 0);
    for (int i = 1; i < N; i += 2) {
        assert_true(check_fill(p[i], sz[i], (uint8_t)i));
        assert_int_equal(heap_free(&f->h, p[i]), 0);
    }
    assert_pristine(f);
}

static void test_alignment(void **state)
{
    struct fixture *f = *state;
    void *keep[16];
    void *p[16];
    int n = 0;

    for (size_t align = 16; align <= 4096; align *= 2) {
        /* A small block first so the aligned one does not start at a lucky address. */
        keep[n] = heap_alloc(&f->h, 24, 0);
        assert_non_null(keep[n]);
        fill(keep[n], 24, 0xA0);
        p[n] = heap_alloc(&f->h, 100, align);
        assert_non_null(p[n]);
        assert_int_equal((uintptr_t)p[n] % align, 0);
        assert_true(heap_usable_size(&f->h, p[n]) >= 100);
        fill(p[n], 100, (uint8_t)n);
        n++;
    }
    assert_int_equal(heap_check(&f->h), 0);
    for (int i = 0; i < n; i++) {
        assert_true(check_fill(keep[i], 24, 0xA0));
        assert_true(check_fill(p[i], 100, (uint8_t)i));
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(heap_free(&f->h, p[i]), 0);
        assert_int_equal(heap_free(&f->h, keep[i]), 0);
    }
    assert_pristine(f);

    /* Alignment below HEAP_ALIGN is raised; not a power of two is refused. */
    p[0] = heap_alloc(&f->h, 8, 4);
    assert_non_null(p[0]);
    assert_int_equal((uintptr_t)p[0] % HEAP_ALIGN, 0);
    assert_null(heap_alloc(&f->h, 8, 24));
    assert_null(heap_alloc(&f->h, 8, 3));
    assert_int_equal(heap_free(&f->h, p[0]), 0);
    assert_pristine(f);
}

static void test_coalescing(void **state)
{
    struct fixture *f = *state;
    /* Every order of freeing three neighbours: middle last joins both sides. */
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

    for (int o = 0; o < 6; o++) {
        void *p[3];

        for (int i = 0; i < 3; i++) {
            p[i] = heap_alloc(&f->h, 200, 0);
            assert_non_null(p[i]);
        }
        assert_true(heap_largest_free(&f->h) < f->largest0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(heap_free(&f->h, p[orders[o][i]]), 0);
            assert_int_equal(heap_check(&f->h), 0);
        }
        assert_pristine(f);
        /* One free block again: the whole region is allocatable at once. */
        p[0] = heap_alloc(&f->h, f->largest0, 0);
        assert_non_null(p[0]);
        assert_int_equal(heap_free(&f->h, p[0]), 0);
    }
}

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random_sequences(void **state)
{
    struct fixture *f = *state;
    enum { SLOTS = 64 };
    void *p[SLOTS] = {0};
    size_t sz[SLOTS] = {0};
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    int allocated = 0;

    for (int op = 0; op < 5000; op++) {
        uint64_t r = rng_next(&seed);
        int k = (int)(r % SLOTS);

        if (p[k] == NULL) {
            size_t align = (r >> 8) % 4 == 0 ? (size_t)16 << ((r >> 12) % 9) : 0;
            size_t n = 1 + (r >> 20) % ((r >> 40) % 8 == 0 ? 20000 : 600);

            p[k] = heap_alloc(&f->h, n, align);
            if (p[k] == NULL) {
                continue; /* full for now; frees will make room */
            }
            allocated++;
            sz[k] = n;
            if (align != 0) {
                assert_int_equal((uintptr_t)p[k] % align, 0);
            }
            assert_true(inside(f, p[k], n));
            assert_true(heap_usable_size(&f->h, p[k]) >= n);
            fill(p[k], n, (uint8_t)k);
        } else {
            assert_true(check_fill(p[k], sz[k], (uint8_t)k));
            assert_int_equal(heap_free(&f->h, p[k]), 0);
            p[k] = NULL;
        }
        assert_int_equal(heap_check(&f->h), 0);
    }
    assert_true(allocated > 1000);
    for (int k = 0; k < SLOTS; k++) {
        if (p[k] != NULL) {
            assert_true(check_fill(p[k], sz[k], (uint8_t)k));
            assert_int_equal(heap_free(&f->h, p[k]), 0);
        }
    }
    assert_pristine(f);
}

static void test_bad_frees(void **state)
{
    struct fixture *f = *state;
    static uint8_t foreign[256] __attribute__((aligned(16)));
    uint8_t *a = heap_alloc(&f->h, 256, 0);
    uint8_t *b = heap_alloc(&f->h, 64, 1024);
    uint8_t *c = heap_alloc(&f->h, 64, 0);
    size_t used;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    fill(a, 256, 1);
    fill(b, 64, 2);
    fill(c, 64, 3);
    used = f->h.used;

    assert_int_equal(heap_free(&f->h, NULL), 0);
    assert_int_equal(heap_free(&f->h, foreign + 64), -EINVAL);
    assert_int_equal(heap_free(&f->h, a + 1), -EINVAL);  /* unaligned interior */
    assert_int_equal(heap_free(&f->h, a + 16), -EINVAL); /* aligned interior */
    assert_int_equal(heap_free(&f->h, a + 32), -EINVAL);
    assert_int_equal(heap_free(&f->h, a + 128), -EINVAL);
    assert_int_equal(heap_free(&f->h, b + 16), -EINVAL);
    assert_int_equal(heap_free(&f->h, b - 16), -EINVAL); /* the aligned block's tag */
    /* A pointer into free space after the last allocation. */
    assert_int_equal(heap_free(&f->h, c + 4096), -EINVAL);
    assert_int_equal(f->h.used, used);
    assert_int_equal(f->h.allocs, 3);
    assert_int_equal(heap_check(&f->h), 0);

    /* Double frees, for a plain and for an aligned block; c stays allocated in between so a
     * freed block is not simply merged away. */
    assert_int_equal(heap_free(&f->h, a), 0);
    assert_int_equal(heap_free(&f->h, a), -EINVAL);
    assert_int_equal(heap_free(&f->h, b), 0);
    assert_int_equal(heap_free(&f->h, b), -EINVAL);
    assert_int_equal(heap_free(&f->h, a), -EINVAL);
    assert_int_equal(heap_check(&f->h), 0);
    assert_int_equal(f->h.allocs, 1);
    assert_true(check_fill(c, 64, 3));
    assert_int_equal(heap_usable_size(&f->h, a), 0);
    assert_int_equal(heap_usable_size(&f->h, b), 0);

    /* Still works afterwards. */
    a = heap_alloc(&f->h, 300, 0);
    assert_non_null(a);
    assert_int_equal(heap_free(&f->h, a), 0);
    assert_int_equal(heap_free(&f->h, c), 0);
    assert_int_equal(heap_free(&f->h, c), -EINVAL);
    assert_pristine(f);
}

static void test_zero_and_huge_sizes(void **state)
{
    struct fixture *f = *state;
    size_t failures = f->h.failures;

    assert_null(heap_alloc(&f->h, 0, 0));
    assert_null(heap_alloc(&f->h, SIZE_MAX, 0));
    assert_null(heap_alloc(&f->h, SIZE_MAX - 15, 0));
    assert_null(heap_alloc(&f->h, SIZE_MAX / 2, 0));
    assert_null(heap_alloc(&f->h, SIZE_MAX / 2, 4096));
    assert_null(heap_alloc(&f->h, REGION_SIZE, 0));
    assert_null(heap_alloc(&f->h, f->largest0 + 1, 0));
    assert_null(heap_alloc(&f->h, 64, (size_t)1 << 40));
    assert_true(f->h.failures > failures);
    assert_pristine(f);
    /* Exactly the largest free block fits. */
    void *p = heap_alloc(&f->h, f->largest0, 0);
    assert_non_null(p);
    assert_null(heap_alloc(&f->h, 16, 0));
    assert_int_equal(heap_free(&f->h, p), 0);
    assert_pristine(f);
}

static void test_exhaustion(void **state)
{
    struct fixture *f = *state;
    static void *p[REGION_SIZE / 64];
    size_t n = 0;

    while (n < ARRAY_SIZE(p) && (p[n] = heap_alloc(&f->h, 64, 0)) != NULL) {
        fill(p[n], 64, (uint8_t)n);
        n++;
    }
    assert_true(n > 100);
    assert_true(n < ARRAY_SIZE(p));
    assert_int_equal(heap_check(&f->h), 0);
    /* Freeing one makes room for exactly that size again. */
    assert_int_equal(heap_free(&f->h, p[n / 2]), 0);
    p[n / 2] = heap_alloc(&f->h, 64, 0);
    assert_non_null(p[n / 2]);
    fill(p[n / 2], 64, (uint8_t)(n / 2));
    for (size_t i = 0; i < n; i++) {
        assert_true(check_fill(p[i], 64, (uint8_t)i));
        assert_int_equal(heap_free(&f->h, p[i]), 0);
    }
    assert_pristine(f);
}

static void test_multiple_regions(void **state)
{
    struct heap h;
    /* Static, so an assertion failing half way leaks nothing. */
    static uint8_t small[4096] __attribute__((aligned(16)));
    static uint8_t big[65536] __attribute__((aligned(16)));
    static uint8_t joined[8192] __attribute__((aligned(16)));
    void *p;
    void *q;
    size_t largest_big;

    (void)state;
    heap_init(&h);
    assert_int_equal(heap_add_region(&h, small, 4096), 0);
    assert_int_equal(heap_add_region(&h, big, 65536), 0);
    assert_int_equal(h.total, 4096 + 65536);
    assert_int_equal(heap_check(&h), 0);
    largest_big = heap_largest_free(&h);
    assert_true(largest_big > 60000);

    /* Too big for the small region: comes from the big one. */
    p = heap_alloc(&h, 10000, 0);
    assert_non_null(p);
    assert_true((uint8_t *)p >= big && (uint8_t *)p + 10000 <= big + 65536);
    q = heap_alloc(&h, 1000, 0);
    assert_non_null(q);
    fill(p, 10000, 1);
    fill(q, 1000, 2);
    assert_int_equal(heap_check(&h), 0);
    assert_true(check_fill(p, 10000, 1));
    assert_int_equal(heap_free(&h, q), 0);
    assert_int_equal(heap_free(&h, p), 0);
    assert_int_equal(heap_check(&h), 0);
    assert_int_equal(h.used, 0);
    assert_int_equal(heap_largest_free(&h), largest_big);

    /* Two adjacent regions merge into one block. */
    heap_init(&h);
    assert_int_equal(heap_add_region(&h, joined + 4096, 4096), 0);
    assert_int_equal(heap_add_region(&h, joined, 4096), 0);
    assert_int_equal(heap_check(&h), 0);
    p = heap_alloc(&h, 6000, 0);
    assert_non_null(p);
    assert_int_equal(heap_free(&h, p), 0);
    assert_int_equal(heap_check(&h), 0);
}

static void test_usable_size(void **state)
{
    struct fixture *f = *state;
    static uint8_t foreign[256] __attribute__((aligned(16)));

    for (size_t n = 1; n <= 130; n++) {
        uint8_t *p = heap_alloc(&f->h, n, 0);
        uint8_t *guard = heap_alloc(&f->h, 16, 0);
        size_t u;

        assert_non_null(p);
        assert_non_null(guard);
        u = heap_usable_size(&f->h, p);
        assert_true(u >= n);
        assert_true(u < n + 256);
        /* The whole usable size is ours: writing it must not touch the next block. */
        fill(guard, 16, 0x55);
        memset(p, 0xEE, u);
        assert_true(check_fill(guard, 16, 0x55));
        assert_int_equal(heap_check(&f->h), 0);
        assert_int_equal(heap_free(&f->h, guard), 0);
        assert_int_equal(heap_free(&f->h, p), 0);
    }
    assert_int_equal(heap_usable_size(&f->h, NULL), 0);
    assert_int_equal(heap_usable_size(&f->h, foreign + 64), 0);
    assert_pristine(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_region),
        T(test_alloc_free_integrity),
        T(test_alignment),
        T(test_coalescing),
        T(test_random_sequences),
        T(test_bad_frees),
        T(test_zero_and_huge_sizes),
        T(test_exhaustion),
        cmocka_unit_test(test_multiple_regions),
        T(test_usable_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
