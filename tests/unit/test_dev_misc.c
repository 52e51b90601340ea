/* Unit tests for the small devices: POST code and debugcon ports (vmm/devices/debugport.c) and
 * the isa-debug-exit compatible exit device (vmm/devices/exitdev.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/debugport.h"
#include "../../vmm/devices/exitdev.h"

struct fixture {
    struct vmm_vm *vm;
    struct vmm_debugport *dbg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    fake_host_install(0);
    f->vm = fake_vm_new("guest1");
    assert_int_equal(vmm_dev_debugport_create(f->vm, NULL, &f->dbg), 0);
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

static void test_post_codes(void **state)
{
    struct fixture *f = *state;
    struct vmm_debugport_stats st;

    fake_outb(f->vm, 0x80, 0x12);
    fake_outb(f->vm, 0x80, 0x34);
    fake_out(f->vm, 0x80, 2, 0xBEEF); /* wider writes: the low byte */
    assert_int_equal(fake_inb(f->vm, 0x80), 0xEF);
    vmm_debugport_stats(f->dbg, &st);
    assert_int_equal(st.post_code, 0xEF);
    assert_int_equal(st.post_writes, 3);
}

static void test_debugcon_lines(void **state)
{
    struct fixture *f = *state;
    const char *msg = "hi there\r\nsecond\x01";
    struct vmm_debugport_stats st;

    assert_int_equal(fake_inb(f->vm, 0xE9), 0xE9);
    for (const char *p = msg; *p != '\0'; p++) {
        fake_outb(f->vm, 0xE9, (uint8_t)*p);
    }
    assert_true(fake_log_has("vm guest1: debugcon: hi there"));
    assert_false(fake_log_has("second"));
    /* rep outsb in one call. */
    assert_int_equal(fake_io_string(f->vm, 0xE9, 1, true, (void *)" line\n", 6), VMM_HANDLED);
    assert_true(fake_log_has("vm guest1: debugcon: second. line"));
    vmm_debugport_stats(f->dbg, &st);
    assert_int_equal(st.con_lines, 2);
    assert_int_equal(st.con_bytes, strlen(msg) + 6);
}

static void test_debugcon_long_line_and_flush(void **state)
{
    struct fixture *f = *state;
    struct vmm_debugport_stats st;

    for (unsigned i = 0; i < DEBUGPORT_LINE_MAX + 5; i++) {
        fake_outb(f->vm, 0xE9, 'x');
    }
    vmm_debugport_stats(f->dbg, &st);
    assert_int_equal(st.con_lines, 1);
    fake_reset_devices(f->vm); /* the partial line goes out */
    vmm_debugport_stats(f->dbg, &st);
    assert_int_equal(st.con_lines, 2);
    assert_true(fake_log_has("debugcon: xxxxx"));
}

static void test_exit_codes(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(vmm_exitdev_code(0), 1);
    assert_int_equal(vmm_exitdev_code(1), 3);
    assert_int_equal(vmm_exitdev_code(0x7F), 0xFF);
    assert_int_equal(vmm_dev_exitdev_create(f->vm, NULL, NULL), 0);
    assert_int_equal(fake_in(f->vm, 0xF4, 4), 0);
    assert_false(f->vm->exit_requested);
    fake_out(f->vm, 0xF4, 4, 0x10);
    assert_true(f->vm->exit_requested);
    assert_int_equal(f->vm->exit_code, 0x21);
    assert_string_equal(f->vm->exit_why, "isa-debug-exit");
    fake_outb(f->vm, 0xF4, 0x0);
    assert_int_equal(f->vm->exit_code, 1);
    fake_out(f->vm, 0xF4, 2, 0x12345); /* the access width bounds the value */
    assert_int_equal(f->vm->exit_code, 0x468B);
    fake_outb(f->vm, 0xF7, 3); /* any port of the range */
    assert_int_equal(f->vm->exit_code, 7);
    fake_outb(f->vm, 0xF8, 3); /* past it: not ours */
    assert_int_equal(f->vm->exit_code, 7);
}

static void test_exit_device_config(void **state)
{
    struct fixture *f = *state;
    struct vmm_exitdev_config big = {.iosize = 5};
    struct vmm_exitdev_config qemu = {.port = 0x501, .iosize = 2};

    assert_int_equal(vmm_dev_exitdev_create(f->vm, &big, NULL), -EINVAL);
    assert_int_equal(vmm_dev_exitdev_create(f->vm, &qemu, NULL), 0);
    fake_outb(f->vm, 0x503, 0x01); /* past the 2-port range */
    assert_false(f->vm->exit_requested);
    fake_outb(f->vm, 0x501, 0x01);
    assert_int_equal(f->vm->exit_code, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debugcon_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debugcon_long_line_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_device_config, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
