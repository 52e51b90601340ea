/* Unit tests for the MMIO test device (vmm/devices/testdev.c): registers, sizes and alignments,
 * the access counter and its reset, the buffer, accesses at the window's end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/testdev.h"

struct fixture {
    struct vmm_vm *vm;
    struct vmm_testdev *t;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    fake_host_install(0);
    f->vm = fake_vm_new("guest1");
    assert_int_equal(vmm_dev_testdev_create(f->vm, NULL, &f->t), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fake_vm_free(f->vm);
    assert_int_equal(fake_live_allocs, 0);
    free(f);
    return 0;
}

static int mmio(struct fixture *f, uint64_t off, unsigned size, bool write, uint64_t *val)
{
    const struct vmm_dev_reg *r = &f->vm->devs[0];

    assert_int_equal(r->nmmio, 1);
    assert_int_equal(r->mmio[0].base, TESTDEV_BASE);
    assert_int_equal(r->mmio[0].len, TESTDEV_SIZE);
    return r->mmio[0].fn(r->dev, TESTDEV_BASE + off, size, write, val);
}

static uint64_t rd(struct fixture *f, uint64_t off, unsigned size)
{
    uint64_t v = 0xDEADBEEFDEADBEEFull;

    assert_int_equal(mmio(f, off, size, false, &v), VMM_HANDLED);
    return v;
}

static void wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
    assert_int_equal(mmio(f, off, size, true, &v), VMM_HANDLED);
}

static void test_id_and_version(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, 0, 4), TESTDEV_ID);
    assert_int_equal(rd(f, 0, 1), 'P');
    assert_int_equal(rd(f, 3, 1), 'T');
    assert_int_equal(rd(f, 1, 2), 0x5354); /* "TS", unaligned */
    assert_int_equal(rd(f, 4, 4), TESTDEV_VERSION);
    assert_int_equal(rd(f, 0, 8), ((uint64_t)TESTDEV_VERSION << 32) | TESTDEV_ID);
    wr(f, 0, 4, 0); /* read only */
    assert_int_equal(rd(f, 0, 4), TESTDEV_ID);
}

static void test_scratch(void **state)
{
    struct fixture *f = *state;

    wr(f, TESTDEV_SCRATCH, 4, 0x11223344);
    assert_int_equal(rd(f, TESTDEV_SCRATCH, 4), 0x11223344);
    wr(f, TESTDEV_SCRATCH + 1, 1, 0xAB);
    assert_int_equal(rd(f, TESTDEV_SCRATCH, 4), 0x1122AB44);
    wr(f, TESTDEV_SCRATCH, 8, 0x0102030405060708ull);
    assert_int_equal(rd(f, TESTDEV_SCRATCH + 4, 4), 0x01020304);
    assert_int_equal(rd(f, TESTDEV_SCRATCH, 2), 0x0708);
    /* A write straddling into COUNT changes only the scratch bytes. */
    wr(f, TESTDEV_SCRATCH + 6, 4, 0xFFFFFFFF);
    assert_int_equal(rd(f, TESTDEV_SCRATCH, 8), 0xFFFF030405060708ull);
}

static void test_count_and_reset(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, TESTDEV_COUNT, 8), 0); /* accesses before this one */
    assert_int_equal(rd(f, TESTDEV_COUNT, 4), 1);
    wr(f, TESTDEV_SINK, 4, 123);
    wr(f, TESTDEV_SINK, 8, 456);
    assert_int_equal(rd(f, TESTDEV_SINK, 8), 0);
    assert_int_equal(rd(f, TESTDEV_COUNT, 8), 5);
    assert_int_equal(vmm_testdev_count(f->t), 6);
    wr(f, TESTDEV_RESET, 1, 0);
    assert_int_equal(vmm_testdev_count(f->t), 0);
    assert_int_equal(rd(f, TESTDEV_COUNT, 2), 0);
    assert_int_equal(rd(f, 0x40, 4), 0); /* reserved: reads 0 */
    wr(f, 0x40, 4, 7);
    assert_int_equal(rd(f, 0x40, 4), 0);
    assert_int_equal(vmm_testdev_count(f->t), 4);
}

static void test_buffer_and_window_end(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;

    for (uint64_t off = TESTDEV_BUF; off < TESTDEV_SIZE; off += 4) {
        wr(f, off, 4, off * 3);
    }
    for (uint64_t off = TESTDEV_BUF; off < TESTDEV_SIZE; off += 4) {
        assert_int_equal(rd(f, off, 4), (off * 3) & 0xFFFFFFFF);
    }
    wr(f, TESTDEV_SIZE - 8, 8, 0x8877665544332211ull);
    assert_int_equal(rd(f, TESTDEV_SIZE - 8, 8), 0x8877665544332211ull);
    /* Bytes past the window read 0xFF; their writes are dropped. */
    assert_int_equal(rd(f, TESTDEV_SIZE - 2, 4), 0xFFFF8877);
    wr(f, TESTDEV_SIZE - 1, 2, 0xAAAA);
    assert_int_equal(rd(f, TESTDEV_SIZE - 1, 1), 0xAA);
    /* Outside the window entirely, and bad sizes. */
    assert_int_equal(mmio(f, TESTDEV_SIZE, 4, false, &v), VMM_NOT_MINE);
    assert_int_equal(mmio(f, 0, 3, false, &v), -EINVAL);
    assert_int_equal(mmio(f, 0, 16, true, &v), -EINVAL);
}

static void test_device_reset_and_bad_base(void **state)
{
    struct fixture *f = *state;
    struct vmm_testdev_config cfg = {.base = TESTDEV_BASE + 0x10};

    wr(f, TESTDEV_SCRATCH, 4, 5);
    wr(f, TESTDEV_BUF, 4, 6);
    f->vm->devs[0].reset(f->vm->devs[0].dev);
    assert_int_equal(vmm_testdev_count(f->t), 0);
    assert_int_equal(rd(f, TESTDEV_SCRATCH, 4), 0);
    assert_int_equal(rd(f, TESTDEV_BUF, 4), 0);
    assert_int_equal(vmm_dev_testdev_create(f->vm, &cfg, NULL), -EINVAL);
    /* A second one over the same window is refused by the registration. */
    assert_int_not_equal(vmm_dev_testdev_create(f->vm, NULL, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_id_and_version),
        T(test_scratch),
        T(test_count_and_reset),
        T(test_buffer_and_window_end),
        T(test_device_reset_and_bad_base),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
