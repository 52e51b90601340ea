/* Unit tests for the split virtqueue's device side (vmm/devices/virtq.c) on its own: chains
 * taken in order, the available index read once per burst (entries it announced are taken
 * without reading it again, so a later bogus index is noticed only when they are used up),
 * the 16-bit index wrapping, an index ahead by more than the ring size refused, and a reset
 * starting over. The NIC model's own tests (test_dev_virtio_net.c) drive it through a NIC. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pop_in_order_then_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_read_once_per_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_too_far_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_starts_over, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
