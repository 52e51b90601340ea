/* Unit tests for the split virtqueue's device side (vmm/devices/virtq.c) on its own: chains
 * taken in order, the available index read once per burst (entries it announced are taken
 * without reading it again, so a later bogus index is noticed only when they are used up),
 * the 16-bit index wrapping, an index ahead by more than the ring size refused, a reset
 * starting over, and long chains (Linux's "big packet" receive buffers for GUEST_TSO4 are 19
 * descriptors, up to 47 with CONFIG_MAX_SKB_FRAGS=45) taken whole and written across, one
 * segment more than VIRTQ_SEGS_MAX refused; chains given back (virtq_unpop, a frame that did
 * not fit the mergeable buffers left) and used elements published together (virtq_fill,
 * virtq_flush). The NIC model's own tests (test_dev_virtio_net.c) drive it through a NIC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/virtq.h"

#define QSIZE 8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define BUFS  0x4000

struct fixture {
    struct vmm_vm *vm;
    struct virtq q;
    uint16_t avail; /* the driver's avail index */
};

static void put16(struct vmm_vm *vm, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    assert_int_equal(vmm_guest_write(vm, gpa, b, 2), 0);
}

/* The driver makes descriptor `d` (one 64-byte readable buffer) available. */
static void post(struct fixture *f, uint16_t d)
{
    uint8_t desc[16] = {0};
    uint64_t addr = BUFS + 64ull * d;

    for (int i = 0; i < 8; i++) {
        desc[i] = (uint8_t)(addr >> (8 * i));
    }
    desc[8] = 64;
    assert_int_equal(vmm_guest_write(f->vm, DESC + 16ull * d, desc, sizeof(desc)), 0);
    put16(f->vm, AVAIL + 4 + 2ull * (f->avail % QSIZE), d);
    f->avail++;
    put16(f->vm, AVAIL + 2, f->avail);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    fake_host_install(0);
    f->vm = fake_vm_new("vq");
    assert_non_null(f->vm);
    virtq_setup(&f->q, QSIZE, DESC, AVAIL, USED, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fake_vm_free(f->vm);
    free(f);
    return 0;
}

static void test_pop_in_order_then_empty(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
    post(f, 5);
    post(f, 2);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 5);
    assert_int_equal(c.nsegs, 1);
    assert_int_equal(c.segs[0].addr, BUFS + 64 * 5);
    assert_int_equal(c.len, 64);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 2);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
    /* More posted after the device caught up are seen. */
    post(f, 7);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 7);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
}

static void test_index_read_once_per_burst(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    post(f, 0);
    post(f, 1);
    post(f, 3);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    /* A hostile index now: the two entries already announced are still taken... */
    put16(f->vm, AVAIL + 2, (uint16_t)(f->avail + 100));
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 3);
    /* ... and the index is refused when it is read again. */
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), -EIO);
}

static void test_index_wraps(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    /* 70000 chains in bursts of 3: both indices wrap past 65535. */
    for (unsigned i = 0; i < 70000 / 3; i++) {
        for (uint16_t k = 0; k < 3; k++) {
            post(f, (uint16_t)((i + k) % QSIZE));
        }
        for (uint16_t k = 0; k < 3; k++) {
            assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
            assert_int_equal(c.head, (i + k) % QSIZE);
        }
        assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
    }
    assert_true(f->q.last_avail < 70000 - 65536);
}

static void test_index_too_far_ahead(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    put16(f->vm, AVAIL + 2, QSIZE + 1);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), -EIO);
    put16(f->vm, AVAIL + 2, QSIZE);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1); /* a full ring is fine */
}

static void test_reset_starts_over(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    post(f, 4);
    post(f, 6);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    virtq_reset(&f->q);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0); /* not set up */
    virtq_setup(&f->q, QSIZE, DESC, AVAIL, USED, false);
    f->avail = 0;
    put16(f->vm, AVAIL + 2, 0);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
    post(f, 1);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
}

static uint16_t get16(struct vmm_vm *vm, uint64_t gpa)
{
    uint8_t b[2];

    assert_int_equal(vmm_guest_read(vm, gpa, b, 2), 0);
    return (uint16_t)(b[0] | b[1] << 8);
}

/* Chains given back come again in the same order; only what was taken can be given back. */
static void test_unpop(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    assert_int_equal(virtq_unpop(&f->q, 1), -EINVAL); /* nothing taken yet */
    post(f, 3);
    post(f, 1);
    post(f, 6);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
    assert_int_equal(virtq_unpop(&f->q, 2), 0);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 3);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 6);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 0);
    /* All three back after the ring ran dry (the index was read again meanwhile). */
    assert_int_equal(virtq_unpop(&f->q, 3), 0);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 3);
    /* Giving back more than was taken is refused and changes nothing... */
    assert_int_equal(virtq_unpop(&f->q, 2), -EINVAL);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
    /* ... as is giving back a chain already returned. */
    assert_int_equal(virtq_push(f->vm, &f->q, 3, 0), 0);
    assert_int_equal(virtq_unpop(&f->q, 2), -EINVAL);
    assert_int_equal(virtq_unpop(&f->q, 1), 0);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 1);
}

/* Across the 16-bit wrap of the indices: 65535 -> 0 and back. */
static void test_unpop_wraps(void **state)
{
    struct fixture *f = *state;
    struct virtq_chain c;

    f->avail = 65534;
    put16(f->vm, AVAIL + 2, f->avail);
    f->q.last_avail = 65534;
    f->q.avail_seen = 65534;
    f->q.used_idx = 65534;
    post(f, 2);
    post(f, 4);
    post(f, 5);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    }
    assert_int_equal(f->q.last_avail, 1);
    assert_int_equal(virtq_unpop(&f->q, 3), 0);
    assert_int_equal(f->q.last_avail, 65534);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 2);
    assert_int_equal(virtq_pop(f->vm, &f->q, &c), 1);
    assert_int_equal(c.head, 4);
}

/* Filled elements are invisible to the driver until the flush publishes them together. */
static void test_fill_flush(void **state)
{
    struct fixture *f = *state;

    f->q.used_idx = (uint16_t)(QSIZE - 1); /* the elements wrap round the ring */
    put16(f->vm, USED + 2, f->q.used_idx);
    assert_int_equal(virtq_fill(f->vm, &f->q, 0, 5, 100), 0);
    assert_int_equal(virtq_fill(f->vm, &f->q, 1, 6, 200), 0);
    assert_int_equal(virtq_fill(f->vm, &f->q, 2, 7, 300), 0);
    assert_int_equal(virtq_fill(f->vm, &f->q, QSIZE, 7, 300), -EIO);
    assert_int_equal(get16(f->vm, USED + 2), QSIZE - 1);
    assert_int_equal(f->q.used_idx, QSIZE - 1);
    assert_int_equal(virtq_flush(f->vm, &f->q, 3), 0);
    assert_int_equal(get16(f->vm, USED + 2), QSIZE + 2);
    assert_int_equal(get16(f->vm, USED + 4 + 8 * (QSIZE - 1)), 5);
    assert_int_equal(get16(f->vm, USED + 4 + 8 * (QSIZE - 1) + 4), 100);
    assert_int_equal(get16(f->vm, USED + 4), 6);
    assert_int_equal(get16(f->vm, USED + 4 + 4), 200);
    assert_int_equal(get16(f->vm, USED + 4 + 8), 7);
    assert_int_equal(get16(f->vm, USED + 4 + 8 + 4), 300);
    assert_int_equal(virtq_flush(f->vm, &f->q, QSIZE + 1), -EIO);
}

/* A chain of n device-writable descriptors (0..n-1) of seglen bytes each at BUFS.., made
 * available (in a queue of more than n entries). */
static void post_long(struct fixture *f, unsigned n, uint32_t seglen)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t desc[16] = {0};
        uint64_t addr = BUFS + (uint64_t)seglen * i;
        uint16_t flags = VIRTQ_DESC_F_WRITE | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

        for (int b = 0; b < 8; b++) {
            desc[b] = (uint8_t)(addr >> (8 * b));
        }
        desc[8] = (uint8_t)seglen;
        desc[9] = (uint8_t)(seglen >> 8);
        desc[12] = (uint8_t)flags;
        desc[14] = (uint8_t)(i + 1);
        assert_int_equal(vmm_guest_write(f->vm, DESC + 16ull * i, desc, sizeof(desc)), 0);
    }
    put16(f->vm, AVAIL + 4 + 2ull * f->avail, 0);
    f->avail++;
    put16(f->vm, AVAIL + 2, f->avail);
}

static void test_long_chain(void **state)
{
    struct fixture *f = *state;
    struct virtq q;
    struct virtq_chain c;
    static uint8_t data[VIRTQ_SEGS_MAX * 500];
    const size_t total = sizeof(data);

    assert_true(VIRTQ_SEGS_MAX >= 47);
    virtq_setup(&q, 256, DESC, AVAIL, USED, false);
    for (size_t i = 0; i < total; i++) {
        data[i] = (uint8_t)(i * 7 + i / 251);
    }
    /* The most segments taken: every one in the chain, written across from any offset. */
    post_long(f, VIRTQ_SEGS_MAX, 500);
    assert_int_equal(virtq_pop(f->vm, &q, &c), 1);
    assert_int_equal(c.head, 0);
    assert_int_equal(c.nsegs, VIRTQ_SEGS_MAX);
    assert_int_equal(c.len, total);
    memset(&f->vm->ram[BUFS], 0xEE, total + 16);
    assert_int_equal(virtq_chain_write(f->vm, &c, 0, data, 12), 0);
    assert_int_equal(virtq_chain_write(f->vm, &c, 12, data + 12, total - 12), 0);
    assert_memory_equal(&f->vm->ram[BUFS], data, total);
    assert_int_equal(f->vm->ram[BUFS + total], 0xEE);
    /* Not a byte past the chain. */
    assert_int_equal(virtq_chain_write(f->vm, &c, 1, data, total), -EIO);
    assert_int_equal(virtq_chain_write(f->vm, &c, total, data, 1), -EIO);
    /* One segment more: a malformed ring. */
    post_long(f, VIRTQ_SEGS_MAX + 1, 400);
    assert_int_equal(virtq_pop(f->vm, &q, &c), -EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pop_in_order_then_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_read_once_per_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_too_far_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_starts_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpop_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_flush, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
