/* Unit tests for the i8042 keyboard controller model and port 0x92 (vmm/devices/kbd.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/kbd.h"

struct fixture {
    struct vmm_vm *vm;
    struct vmm_kbd *kbd;
    unsigned a20_calls;
    bool a20_last;
};

static void on_a20(void *ctx, bool on)
{
    struct fixture *f = ctx;

    f->a20_calls++;
    f->a20_last = on;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_kbd_config cfg = {.a20_changed = on_a20, .ctx = f};

    fake_host_install(0);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_kbd_create(f->vm, &cfg, &f->kbd), 0);
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

static void cmd(struct vmm_vm *vm, uint8_t c)
{
    fake_outb(vm, 0x64, c);
}

/* Reads the output buffer, which must be full. */
static uint8_t data(struct vmm_vm *vm)
{
    assert_int_equal(fake_inb(vm, 0x64) & 0x01, 0x01);
    return fake_inb(vm, 0x60);
}

static bool empty(struct vmm_vm *vm)
{
    return (fake_inb(vm, 0x64) & 0x01) == 0;
}

static void test_status_and_self_test(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fake_inb(f->vm, 0x64), 0x14); /* SYS, not inhibited */
    cmd(f->vm, 0xAA);
    assert_int_equal(fake_inb(f->vm, 0x64) & 0x08, 0x08); /* last write was a command */
    assert_int_equal(data(f->vm), 0x55);
    assert_true(empty(f->vm));
    cmd(f->vm, 0xAB);
    assert_int_equal(data(f->vm), 0x00);
    cmd(f->vm, 0xA9);
    assert_int_equal(data(f->vm), 0x02);           /* no aux port */
    assert_int_equal(fake_inb(f->vm, 0x60), 0x02); /* empty buffer reads the last byte */
}

static void test_command_byte(void **state)
{
    struct fixture *f = *state;

    cmd(f->vm, 0x20);
    assert_int_equal(data(f->vm), 0x45);
    cmd(f->vm, 0x60);
    fake_outb(f->vm, 0x60, 0x20); /* no IRQ, no SYS, no translation */
    cmd(f->vm, 0x20);
    assert_int_equal(data(f->vm), 0x20);
    assert_int_equal(fake_inb(f->vm, 0x64) & 0x04, 0x00);
    cmd(f->vm, 0x7F);
    fake_outb(f->vm, 0x60, 0x99);
    cmd(f->vm, 0x3F);
    assert_int_equal(data(f->vm), 0x99);
    cmd(f->vm, 0xA8); /* no aux port: the command byte keeps its aux bit */
    cmd(f->vm, 0x20);
    assert_int_equal(data(f->vm), 0x20);
}

static void test_a20(void **state)
{
    struct fixture *f = *state;

    assert_true(vmm_kbd_a20(f->kbd));
    cmd(f->vm, 0xD0);
    assert_int_equal(data(f->vm) & 0x03, 0x03);
    cmd(f->vm, 0xD1);
    fake_outb(f->vm, 0x60, 0xDD); /* A20 off, reset line inactive */
    assert_false(vmm_kbd_a20(f->kbd));
    assert_int_equal(f->a20_calls, 1);
    assert_false(f->a20_last);
    assert_int_equal(f->vm->resets, 0);
    assert_int_equal(fake_inb(f->vm, 0x92) & 0x02, 0x00);
    fake_outb(f->vm, 0x92, 0x02); /* fast A20 */
    assert_true(vmm_kbd_a20(f->kbd));
    cmd(f->vm, 0xD0);
    assert_int_equal(data(f->vm) & 0x02, 0x02);
    cmd(f->vm, 0xDD);
    assert_false(vmm_kbd_a20(f->kbd));
    cmd(f->vm, 0xDF);
    assert_true(vmm_kbd_a20(f->kbd));
    assert_int_equal(f->a20_calls, 4);
}

static void test_reset_requests(void **state)
{
    struct fixture *f = *state;
    struct vmm_kbd_stats st;

    cmd(f->vm, 0xFE);
    assert_int_equal(f->vm->resets, 1);
    cmd(f->vm, 0xFF); /* pulses nothing */
    assert_int_equal(f->vm->resets, 1);
    cmd(f->vm, 0xD1);
    fake_outb(f->vm, 0x60, 0x02); /* reset line low */
    assert_int_equal(f->vm->resets, 2);
    fake_outb(f->vm, 0x92, 0x03);
    assert_int_equal(f->vm->resets, 3);
    assert_int_equal(fake_inb(f->vm, 0x92) & 0x01, 0x00);
    vmm_kbd_stats(f->kbd, &st);
    assert_int_equal(st.resets, 3);
}

static void test_keyboard_reset_and_irq1(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x60, 0xFF);
    assert_true(f->vm->line[1]);
    assert_int_equal(fake_inb(f->vm, 0x60), 0xFA);
    assert_true(f->vm->line[1]);
    assert_int_equal(f->vm->rises[1], 2); /* a new edge for the second byte */
    assert_int_equal(fake_inb(f->vm, 0x60), 0xAA);
    assert_false(f->vm->line[1]);
    /* With IRQ 1 off in the command byte the line stays low. */
    cmd(f->vm, 0x60);
    fake_outb(f->vm, 0x60, 0x44);
    fake_outb(f->vm, 0x60, 0xEE);
    assert_false(f->vm->line[1]);
    assert_int_equal(data(f->vm), 0xEE);
}

static void test_keyboard_commands(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x60, 0xF2);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0xAB);
    assert_int_equal(data(f->vm), 0x41); /* translated MF2 id */
    fake_outb(f->vm, 0x60, 0xED);
    assert_int_equal(data(f->vm), 0xFA);
    fake_outb(f->vm, 0x60, 0x07);
    assert_int_equal(data(f->vm), 0xFA);
    fake_outb(f->vm, 0x60, 0xF0);
    fake_outb(f->vm, 0x60, 0x00);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0x41); /* set 2, translated */
    fake_outb(f->vm, 0x60, 0xF0);
    fake_outb(f->vm, 0x60, 0x01);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0xFA);
    cmd(f->vm, 0x60);
    fake_outb(f->vm, 0x60, 0x05); /* translation off */
    fake_outb(f->vm, 0x60, 0xF0);
    fake_outb(f->vm, 0x60, 0x00);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0x01);
    fake_outb(f->vm, 0x60, 0xF2);
    assert_int_equal(data(f->vm), 0xFA);
    assert_int_equal(data(f->vm), 0xAB);
    assert_int_equal(data(f->vm), 0x83);
    fake_outb(f->vm, 0x60, 0x42); /* not a command */
    assert_int_equal(data(f->vm), 0xFE);
    assert_true(empty(f->vm));
}

static void test_disable_keyboard_holds_bytes(void **state)
{
    struct fixture *f = *state;
    const uint8_t keys[2] = {0x1E, 0x9E};

    cmd(f->vm, 0xAD);
    assert_int_equal(vmm_kbd_push(f->kbd, keys, 2), 2);
    assert_true(empty(f->vm));
    cmd(f->vm, 0x20); /* controller replies still come: 0x45 with the disable bit */
    assert_int_equal(data(f->vm), 0x55);
    cmd(f->vm, 0xAE);
    assert_int_equal(data(f->vm), 0x1E);
    assert_int_equal(data(f->vm), 0x9E);
}

static void test_type_ascii(void **state)
{
    struct fixture *f = *state;
    static const uint8_t want1[] = {0x1E, 0x9E, 0x2A, 0x30, 0xB0, 0xAA, 0x1C, 0x9C};
    static const uint8_t want2[] = {0x1C, 0xF0, 0x1C, 0x1D, 0x14, 0x21, 0xF0, 0x21, 0xF0, 0x14};

    assert_int_equal(vmm_kbd_type(f->kbd, (const uint8_t *)"aB\n", 3), 3);
    for (size_t i = 0; i < sizeof(want1); i++) {
        assert_int_equal(data(f->vm), want1[i]);
    }
    assert_true(empty(f->vm));
    /* Translation off: set 2 codes; ^C is control-c. */
    cmd(f->vm, 0x60);
    fake_outb(f->vm, 0x60, 0x05);
    assert_int_equal(vmm_kbd_type(f->kbd, (const uint8_t *)"a\x03", 2), 2);
    /* Control-c: LCtrl (0x14) then c (0x21); check the 'a' first (0x1C). */
    assert_int_equal(data(f->vm), want2[0]);
    assert_int_equal(data(f->vm), want2[1]);
    assert_int_equal(data(f->vm), want2[2]);
    assert_int_equal(data(f->vm), 0x14);
    assert_int_equal(data(f->vm), 0x21);
    assert_int_equal(data(f->vm), 0xF0);
    assert_int_equal(data(f->vm), 0x21);
    assert_int_equal(data(f->vm), 0xF0);
    assert_int_equal(data(f->vm), 0x14);
    assert_true(empty(f->vm));
    /* The queue holds 32 bytes, a set 2 letter takes 3: typing stops when it is full. */
    assert_int_equal(vmm_kbd_type(f->kbd, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26), 10);
    /* Scanning disabled: nothing is taken. */
    fake_outb(f->vm, 0x60, 0xF5);
    assert_int_equal(vmm_kbd_type(f->kbd, (const uint8_t *)"a", 1), 0);
}

static void test_reset_hook(void **state)
{
    struct fixture *f = *state;

    cmd(f->vm, 0xDD);
    cmd(f->vm, 0xAA);
    fake_reset_devices(f->vm);
    assert_true(empty(f->vm));
    assert_true(vmm_kbd_a20(f->kbd));
    assert_true(f->a20_last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_and_self_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a20, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyboard_reset_and_irq1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_keyboard_holds_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_ascii, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
