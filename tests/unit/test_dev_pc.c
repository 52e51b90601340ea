/* The device models together on one fake VM: PIT interrupts through the 8259 counted against
 * RTC time, RTC and UART lines through the PIC, as a guest sees them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/pic.h"
#include "../../vmm/devices/pit.h"
#include "../../vmm/devices/rtc.h"
#include "../../vmm/devices/uart.h"

#define SEC 1000000000ULL

struct fixture {
    struct vmm_vm *vm;
    struct vmm_rtc *rtc;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_uart_config com1 = {.name = "com1", .base = 0x3F8, .irq = 4, .console = true};

    fake_host_install(3 * SEC);
    f->vm = fake_vm_new("pc");
    assert_int_equal(vmm_dev_pic_create(f->vm, NULL, NULL), 0);
    assert_int_equal(vmm_dev_pit_create(f->vm, NULL, NULL), 0);
    assert_int_equal(vmm_dev_rtc_create(f->vm, NULL, &f->rtc), 0);
    assert_int_equal(vmm_dev_uart_create(f->vm, &com1, NULL), 0);
    /* Guest init: vectors 0x20/0x28, nothing masked. */
    fake_outb(f->vm, 0x20, 0x11);
    fake_outb(f->vm, 0x21, 0x20);
    fake_outb(f->vm, 0x21, 0x04);
    fake_outb(f->vm, 0x21, 0x01);
    fake_outb(f->vm, 0xA0, 0x11);
    fake_outb(f->vm, 0xA1, 0x28);
    fake_outb(f->vm, 0xA1, 0x02);
    fake_outb(f->vm, 0xA1, 0x01);
    fake_outb(f->vm, 0x21, 0x00);
    fake_outb(f->vm, 0xA1, 0x00);
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

/* The core's loop in miniature: poll, sleep to the deadline (at most `slice`), deliver. */
static unsigned run(struct vmm_vm *vm, uint64_t until, uint64_t slice, unsigned *counts)
{
    unsigned total = 0;
    uint8_t v;

    while (fake_now < until) {
        uint64_t next = fake_poll(vm);

        fake_now = MIN(MIN(next, fake_now + slice), until);
        fake_poll(vm);
        while (vm->intc_ops->pending(vm->intc, &v)) {
            vm->intc_ops->ack(vm->intc, v);
            counts[v]++;
            total++;
            if (v == 0x28) {
                fake_outb(vm, 0x70, 0x0C); /* the RTC handler reads REG C */
                (void)fake_inb(vm, 0x71);
            }
            if (v >= 0x28) {
                fake_outb(vm, 0xA0, 0x20);
            }
            fake_outb(vm, 0x20, 0x20);
        }
    }
    return total;
}

static void test_pit_rate_against_rtc(void **state)
{
    struct fixture *f = *state;
    unsigned counts[256] = {0};
    int64_t t0 = vmm_rtc_time(f->rtc, fake_now);

    fake_outb(f->vm, 0x43, 0x34); /* 100 Hz, mode 2 */
    fake_outb(f->vm, 0x40, 11932 & 0xFF);
    fake_outb(f->vm, 0x40, 11932 >> 8);
    run(f->vm, fake_now + 5 * SEC, SEC, counts);
    assert_int_equal(vmm_rtc_time(f->rtc, fake_now) - t0, 5);
    assert_in_range(counts[0x20], 499, 500);
}

static void test_rtc_periodic_through_slave(void **state)
{
    struct fixture *f = *state;
    unsigned counts[256] = {0};

    fake_outb(f->vm, 0x21, 0x01); /* PIT off */
    fake_outb(f->vm, 0x70, 0x0A);
    fake_outb(f->vm, 0x71, 0x2A); /* 64 Hz */
    fake_outb(f->vm, 0x70, 0x0B);
    fake_outb(f->vm, 0x71, 0x42); /* PIE */
    run(f->vm, fake_now + SEC, SEC, counts);
    assert_int_equal(counts[0x28], 64);
}

static void test_uart_irq_through_pic(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    fake_outb(f->vm, 0x21, 0x01);
    fake_outb(f->vm, 0x3FC, 0x08); /* OUT2 */
    fake_outb(f->vm, 0x3F9, 0x01); /* RX data interrupts */
    vmm_uart_receive(f->vm->console_dev, (const uint8_t *)"k", 1);
    assert_true(f->vm->intc_ops->pending(f->vm->intc, &v));
    assert_int_equal(v, 0x24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pit_rate_against_rtc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_periodic_through_slave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uart_irq_through_pic, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
