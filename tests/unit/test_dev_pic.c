/* Unit tests for the 8259 PIC pair model (vmm/devices/pic.c), driven through its ports and
 * interrupt controller hooks on a fake VM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/pic.h"

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pic *pic;
};

/* ICW1-4 on both chips: vectors 0x20 and 0x28, optional auto-EOI, nothing masked. */
static void pic_program(struct vmm_vm *vm, bool aeoi)
{
    fake_outb(vm, 0x20, 0x11);
    fake_outb(vm, 0x21, 0x20);
    fake_outb(vm, 0x21, 0x04);
    fake_outb(vm, 0x21, aeoi ? 0x03 : 0x01);
    fake_outb(vm, 0xA0, 0x11);
    fake_outb(vm, 0xA1, 0x28);
    fake_outb(vm, 0xA1, 0x02);
    fake_outb(vm, 0xA1, aeoi ? 0x03 : 0x01);
    fake_outb(vm, 0x21, 0x00);
    fake_outb(vm, 0xA1, 0x00);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_pic_config cfg = {.power_on_state = true};

    fake_host_install(0);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pic_create(f->vm, &cfg, &f->pic), 0);
    pic_program(f->vm, false);
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

static void pulse(struct vmm_vm *vm, unsigned line)
{
    vmm_irq_set(vm, line, true);
    vmm_irq_set(vm, line, false);
}

static bool pending(struct vmm_vm *vm, uint8_t *vec)
{
    return vm->intc_ops->pending(vm->intc, vec);
}

/* What the core does to deliver: pending, then ack of that vector. */
static int deliver(struct vmm_vm *vm)
{
    uint8_t v;

    if (!pending(vm, &v)) {
        return -1;
    }
    vm->intc_ops->ack(vm->intc, v);
    return v;
}

static uint8_t read_isr(struct vmm_vm *vm, uint16_t cmd)
{
    fake_outb(vm, cmd, 0x0B);
    return fake_inb(vm, cmd);
}

static uint8_t read_irr(struct vmm_vm *vm, uint16_t cmd)
{
    fake_outb(vm, cmd, 0x0A);
    return fake_inb(vm, cmd);
}

static void test_registration(void **state)
{
    struct fixture *f = *state;
    const struct vmm_dev_reg *r = fake_find_dev(f->vm, "pic");

    assert_non_null(r);
    assert_int_equal(r->nio, 3);
    assert_non_null(f->vm->intc_ops);
    assert_ptr_equal(f->vm->intc, f->pic);
}

static void test_bios_state(void **state)
{
    struct vmm_vm *vm;
    struct vmm_pic *pic;
    struct vmm_pic_stats st;
    uint8_t v;

    (void)state;
    vm = fake_vm_new("b");
    assert_int_equal(vmm_dev_pic_create(vm, NULL, &pic), 0);
    assert_int_equal(fake_inb(vm, 0x21), 0xFB);
    assert_int_equal(fake_inb(vm, 0xA1), 0xFF);
    vmm_pic_stats(pic, &st);
    assert_int_equal(st.base[0], 0x08);
    assert_int_equal(st.base[1], 0x70);
    pulse(vm, 0);
    assert_false(pending(vm, &v)); /* masked */
    fake_outb(vm, 0x21, 0xFA);
    assert_true(pending(vm, &v));
    assert_int_equal(v, 0x08);
    fake_vm_free(vm);
}

static void test_vector_and_isr(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 0);
    assert_int_equal(read_irr(f->vm, 0x20), 0x01);
    assert_int_equal(deliver(f->vm), 0x20);
    assert_int_equal(read_isr(f->vm, 0x20), 0x01);
    assert_int_equal(read_irr(f->vm, 0x20), 0x00);
    assert_int_equal(deliver(f->vm), -1);
    fake_outb(f->vm, 0x20, 0x20); /* non-specific EOI */
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);
}

static void test_priority_and_nesting(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 5);
    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23); /* 3 beats 5 */
    assert_int_equal(deliver(f->vm), -1);   /* 5 waits behind 3 in service */
    pulse(f->vm, 1);
    assert_int_equal(deliver(f->vm), 0x21); /* 1 nests over 3 */
    assert_int_equal(read_isr(f->vm, 0x20), 0x0A);
    fake_outb(f->vm, 0x20, 0x20); /* clears the highest: 1 */
    assert_int_equal(read_isr(f->vm, 0x20), 0x08);
    assert_int_equal(deliver(f->vm), -1);
    fake_outb(f->vm, 0x20, 0x20);
    assert_int_equal(deliver(f->vm), 0x25);
}

static void test_masking(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    fake_outb(f->vm, 0x21, 0x10);
    assert_int_equal(fake_inb(f->vm, 0x21), 0x10);
    pulse(f->vm, 4);
    assert_false(pending(f->vm, &v));
    assert_int_equal(read_irr(f->vm, 0x20), 0x10); /* requested, masked */
    fake_outb(f->vm, 0x21, 0x00);
    assert_int_equal(deliver(f->vm), 0x24);
}

static void test_specific_eoi(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23);
    pulse(f->vm, 1);
    assert_int_equal(deliver(f->vm), 0x21);
    fake_outb(f->vm, 0x20, 0x63); /* specific EOI for 3 */
    assert_int_equal(read_isr(f->vm, 0x20), 0x02);
    fake_outb(f->vm, 0x20, 0x61);
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);
}

static void test_cascade(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 10);
    assert_int_equal(read_irr(f->vm, 0x20), 0x04); /* master sees the slave on 2 */
    assert_int_equal(deliver(f->vm), 0x2A);
    assert_int_equal(read_isr(f->vm, 0xA0), 0x04);
    assert_int_equal(read_isr(f->vm, 0x20), 0x04);
    /* A second slave request waits for both EOIs. */
    pulse(f->vm, 12);
    assert_int_equal(deliver(f->vm), -1);
    fake_outb(f->vm, 0xA0, 0x20);
    assert_int_equal(deliver(f->vm), -1); /* master 2 still in service */
    fake_outb(f->vm, 0x20, 0x20);
    assert_int_equal(deliver(f->vm), 0x2C);
    /* Line 2 of the ISA bus is IRQ 9. */
    fake_outb(f->vm, 0xA0, 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    pulse(f->vm, 2);
    assert_int_equal(deliver(f->vm), 0x29);
    /* A masked slave line does not reach the master. */
    fake_outb(f->vm, 0xA0, 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    fake_outb(f->vm, 0xA1, 0x08);
    pulse(f->vm, 11);
    assert_int_equal(deliver(f->vm), -1);
}

static void test_slave_priority_over_master_low(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 7);
    pulse(f->vm, 8);
    assert_int_equal(deliver(f->vm), 0x28); /* slave on IR2 outranks master IR7 */
    fake_outb(f->vm, 0xA0, 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    assert_int_equal(deliver(f->vm), 0x27);
}

static void test_elcr_level(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x4D0, 0xFF);
    assert_int_equal(fake_inb(f->vm, 0x4D0), 0xF8); /* 0-2 are edge only */
    fake_outb(f->vm, 0x4D1, 0xFF);
    assert_int_equal(fake_inb(f->vm, 0x4D1), 0xDE);
    fake_outb(f->vm, 0x4D0, 0x20); /* IRQ 5 level */
    fake_outb(f->vm, 0x4D1, 0x08); /* IRQ 11 level */

    vmm_irq_set(f->vm, 5, true);
    assert_int_equal(deliver(f->vm), 0x25);
    fake_outb(f->vm, 0x20, 0x20);
    /* Still high: requests again after EOI. */
    assert_int_equal(deliver(f->vm), 0x25);
    fake_outb(f->vm, 0x20, 0x20);
    vmm_irq_set(f->vm, 5, false);
    assert_int_equal(deliver(f->vm), -1);
    assert_int_equal(read_irr(f->vm, 0x20), 0x00);

    vmm_irq_set(f->vm, 11, true);
    assert_int_equal(deliver(f->vm), 0x2B);
    fake_outb(f->vm, 0xA0, 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    assert_int_equal(deliver(f->vm), 0x2B);
    fake_outb(f->vm, 0xA0, 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    vmm_irq_set(f->vm, 11, false);
    assert_int_equal(deliver(f->vm), -1);
}

static void test_edge_needs_new_edge(void **state)
{
    struct fixture *f = *state;

    vmm_irq_set(f->vm, 4, true);
    assert_int_equal(deliver(f->vm), 0x24);
    fake_outb(f->vm, 0x20, 0x20);
    vmm_irq_set(f->vm, 4, true); /* still high: no new edge */
    assert_int_equal(deliver(f->vm), -1);
    vmm_irq_set(f->vm, 4, false);
    vmm_irq_set(f->vm, 4, true);
    assert_int_equal(deliver(f->vm), 0x24);
}

static void test_spurious(void **state)
{
    struct fixture *f = *state;
    struct vmm_pic_stats st;
    uint8_t v;

    fake_outb(f->vm, 0x4D0, 0x20);
    vmm_irq_set(f->vm, 5, true);
    assert_true(pending(f->vm, &v));
    vmm_irq_set(f->vm, 5, false); /* the request vanishes before INTA */
    assert_int_equal(vmm_pic_intack(f->pic), 0x27);
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);
    vmm_pic_stats(f->pic, &st);
    assert_int_equal(st.spurious, 1);

    /* Slave: the master's cascade input follows the slave, so a vanished slave request
     * leaves nothing to deliver. */
    fake_outb(f->vm, 0x4D1, 0x08);
    vmm_irq_set(f->vm, 11, true);
    assert_int_equal(read_irr(f->vm, 0x20), 0x04);
    vmm_irq_set(f->vm, 11, false);
    assert_int_equal(read_irr(f->vm, 0x20), 0x00);
    assert_false(pending(f->vm, &v));
    assert_int_equal(vmm_pic_intack(f->pic), 0x27);
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);

    /* Through the core's hooks: ack of a vanished request changes nothing. */
    vmm_irq_set(f->vm, 5, true);
    assert_true(pending(f->vm, &v));
    assert_int_equal(v, 0x25);
    vmm_irq_set(f->vm, 5, false);
    f->vm->intc_ops->ack(f->vm->intc, v);
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);
    vmm_pic_stats(f->pic, &st);
    assert_int_equal(st.spurious, 3);
}

static void test_ack_of_stale_vector(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    pulse(f->vm, 6);
    assert_true(pending(f->vm, &v));
    assert_int_equal(v, 0x26);
    pulse(f->vm, 1); /* a higher request arrives between pending and ack */
    f->vm->intc_ops->ack(f->vm->intc, 0x26);
    assert_int_equal(read_isr(f->vm, 0x20), 0x40); /* what the CPU took is in service */
    assert_int_equal(deliver(f->vm), 0x21);
}

static void test_auto_eoi(void **state)
{
    struct fixture *f = *state;

    pic_program(f->vm, true);
    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23);
    assert_int_equal(read_isr(f->vm, 0x20), 0x00);
    pulse(f->vm, 5);
    assert_int_equal(deliver(f->vm), 0x25); /* nothing blocks */
}

static void test_poll_mode(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x20, 0x0C);
    assert_int_equal(fake_inb(f->vm, 0x20), 0x00); /* nothing requested */
    pulse(f->vm, 6);
    fake_outb(f->vm, 0x20, 0x0C);
    assert_int_equal(fake_inb(f->vm, 0x20), 0x86);
    assert_int_equal(read_isr(f->vm, 0x20), 0x40);
    /* Poll mode ends with the read: the next read is IRR or ISR again. */
    assert_int_equal(fake_inb(f->vm, 0x20), 0x40);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 0);
    assert_int_equal(deliver(f->vm), 0x20);
    fake_outb(f->vm, 0x20, 0xA0); /* rotate on non-specific EOI: 0 becomes lowest */
    pulse(f->vm, 0);
    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23);
    fake_outb(f->vm, 0x20, 0x20);
    assert_int_equal(deliver(f->vm), 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    /* Set priority: 4 lowest, so 5 is highest. */
    fake_outb(f->vm, 0x20, 0xC4);
    pulse(f->vm, 4);
    pulse(f->vm, 5);
    assert_int_equal(deliver(f->vm), 0x25);
}

static void test_special_mask_mode(void **state)
{
    struct fixture *f = *state;

    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23);
    pulse(f->vm, 5);
    assert_int_equal(deliver(f->vm), -1);
    fake_outb(f->vm, 0x20, 0x68); /* special mask mode on */
    fake_outb(f->vm, 0x21, 0x08); /* mask the in-service 3 */
    assert_int_equal(deliver(f->vm), 0x25);
    fake_outb(f->vm, 0x20, 0x48); /* off */
}

static void test_word_access(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x21, 0x5A);
    pulse(f->vm, 1);
    fake_outb(f->vm, 0x20, 0x0A);
    /* A word read at 0x20 reads IRR (0x20) and IMR (0x21). */
    assert_int_equal(fake_in(f->vm, 0x20, 2), 0x5A02);
    assert_int_equal(fake_in(f->vm, 0x4D0, 2), 0x0000);
    assert_false(f->vm->failed);
}

static void test_reset_hook(void **state)
{
    struct fixture *f = *state;
    struct vmm_pic_stats st;

    pulse(f->vm, 3);
    assert_int_equal(deliver(f->vm), 0x23);
    fake_reset_devices(f->vm);
    vmm_pic_stats(f->pic, &st);
    assert_int_equal(st.isr[0], 0);
    assert_int_equal(st.base[0], 0x00); /* power-on state configured */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bios_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_and_isr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_and_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_specific_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slave_priority_over_master_low, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elcr_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_needs_new_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_of_stale_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_mask_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_word_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
