/* Unit tests for the 16550A UART model (vmm/devices/uart.c) on a fake VM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/uart.h"

#define COM1 0x3F8
#define COM2 0x2F8
#define THR  (COM1 + 0)
#define IER  (COM1 + 1)
#define IIR  (COM1 + 2)
#define FCR  (COM1 + 2)
#define LCR  (COM1 + 3)
#define MCR  (COM1 + 4)
#define LSR  (COM1 + 5)
#define MSR  (COM1 + 6)
#define SCR  (COM1 + 7)

struct fixture {
    struct vmm_vm *vm;
    struct vmm_uart *com1;
    struct vmm_uart *com2;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_uart_config c1 = {.name = "com1", .base = COM1, .irq = 4, .console = true};
    struct vmm_uart_config c2 = {.name = "com2", .base = COM2, .irq = 3};

    fake_host_install(1000000);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_uart_create(f->vm, &c1, &f->com1), 0);
    assert_int_equal(vmm_dev_uart_create(f->vm, &c2, &f->com2), 0);
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

static void puts_thr(struct vmm_vm *vm, const char *s)
{
    while (*s != '\0') {
        fake_outb(vm, THR, (uint8_t)*s++);
    }
}

static bool console_is(struct vmm_vm *vm, const char *s)
{
    return vm->console_len == strlen(s) && memcmp(vm->console, s, vm->console_len) == 0;
}

static void test_registration(void **state)
{
    struct fixture *f = *state;
    struct vmm_uart_config dup = {.name = "com3", .base = COM1 + 4, .irq = 4};
    struct vmm_uart_config bad = {.name = NULL, .base = 0x3E8, .irq = 4};

    assert_ptr_equal(f->vm->console_dev, f->com1); /* only the console registers for input */
    assert_non_null(fake_find_dev(f->vm, "com2"));
    assert_int_equal(vmm_dev_uart_create(f->vm, &dup, NULL), -EEXIST);
    assert_int_equal(vmm_dev_uart_create(f->vm, &bad, NULL), -EINVAL);
    assert_int_equal(fake_live_allocs, 2);
}

static void test_tx_batching(void **state)
{
    struct fixture *f = *state;
    struct vmm_uart_stats st;

    puts_thr(f->vm, "hello");
    assert_int_equal(f->vm->console_len, 0);
    fake_outb(f->vm, THR, '\n');
    assert_true(console_is(f->vm, "hello\n"));
    assert_int_equal(f->vm->console_calls, 1);
    puts_thr(f->vm, "login: ");
    fake_poll(f->vm); /* a prompt without newline goes out at the next poll */
    assert_true(console_is(f->vm, "hello\nlogin: "));
    assert_int_equal(f->vm->console_calls, 2);
    /* A full batch goes out on its own. */
    for (unsigned i = 0; i < UART_TX_BATCH + 3; i++) {
        fake_outb(f->vm, THR, 'x');
    }
    assert_int_equal(f->vm->console_calls, 3);
    vmm_uart_stats(f->com1, &st);
    assert_int_equal(st.tx_bytes, 13 + UART_TX_BATCH + 3);
    /* COM2 is not the console. */
    fake_outb(f->vm, COM2, 'z');
    fake_outb(f->vm, COM2, '\n');
    assert_int_equal(f->vm->console_calls, 3);
}

static void test_string_write_one_call(void **state)
{
    struct fixture *f = *state;
    static uint8_t buf[65536];

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)('a' + i % 26);
    }
    assert_int_equal(fake_io_string(f->vm, THR, 1, true, buf, sizeof(buf)), VMM_HANDLED);
    fake_poll(f->vm);
    assert_int_equal(f->vm->console_len, sizeof(buf));
    assert_memory_equal(f->vm->console, buf, sizeof(buf));
    assert_int_equal(f->vm->console_calls, (sizeof(buf) + UART_TX_BATCH - 1) / UART_TX_BATCH);
    /* Other string accesses go element by element: rep insb from the scratch register. */
    fake_outb(f->vm, SCR, 0x5A);
    memset(buf, 0, 4);
    assert_int_equal(fake_io_string(f->vm, SCR, 1, false, buf, 4), VMM_HANDLED);
    assert_int_equal(buf[3], 0x5A);
}

static void test_lsr_and_scratch(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fake_inb(f->vm, LSR), 0x60);
    fake_outb(f->vm, SCR, 0xA5);
    assert_int_equal(fake_inb(f->vm, SCR), 0xA5);
    assert_int_equal(fake_inb(f->vm, IIR), 0x01);
    assert_int_equal(fake_inb(f->vm, MSR), 0xB0); /* CTS, DSR, DCD */
}

static void test_dlab_divisor(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, LCR, 0x83);
    fake_outb(f->vm, THR, 0x0C);
    fake_outb(f->vm, IER, 0x00);
    assert_int_equal(fake_inb(f->vm, THR), 0x0C);
    assert_int_equal(fake_inb(f->vm, IER), 0x00);
    fake_outb(f->vm, LCR, 0x03);
    assert_int_equal(f->vm->console_len, 0); /* the divisor write sent nothing */
    fake_outb(f->vm, IER, 0x05);
    assert_int_equal(fake_inb(f->vm, IER), 0x05);
}

static void test_thre_interrupt_and_out2(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, IER, 0x02); /* ETBEI with THR empty: THRE pending at once */
    assert_int_equal(fake_inb(f->vm, IIR) & 0x0F, 0x02);
    assert_false(f->vm->line[4]); /* OUT2 off: the PC's buffer keeps the line quiet */
    fake_outb(f->vm, IER, 0x00);
    fake_outb(f->vm, MCR, 0x08);
    fake_outb(f->vm, IER, 0x02);
    assert_true(f->vm->line[4]);
    assert_int_equal(fake_inb(f->vm, IIR), 0x02); /* reading IIR clears THRE */
    assert_false(f->vm->line[4]);
    assert_int_equal(fake_inb(f->vm, IIR), 0x01);
    fake_outb(f->vm, THR, 'a'); /* sent at once: THRE again */
    assert_true(f->vm->line[4]);
    fake_outb(f->vm, MCR, 0x00); /* OUT2 off drops the line */
    assert_false(f->vm->line[4]);
    assert_int_equal(fake_inb(f->vm, IIR), 0x02);
}

static void test_rx_fifo_and_interrupts(void **state)
{
    struct fixture *f = *state;
    const uint8_t in[20] = "abcdefghijklmnopqrst";
    uint64_t deadline;

    fake_outb(f->vm, FCR, 0x47); /* FIFO on, clear both, trigger 4 */
    fake_outb(f->vm, IER, 0x01);
    fake_outb(f->vm, MCR, 0x08);
    assert_int_equal(fake_inb(f->vm, IIR), 0xC1);

    assert_int_equal(f->vm->console_rx(f->vm->console_dev, in, 3), 3);
    assert_int_equal(fake_inb(f->vm, LSR) & 0x01, 0x01);
    assert_int_equal(fake_inb(f->vm, IIR), 0xC1); /* below the trigger level */
    assert_false(f->vm->line[4]);
    /* 4 characters of 10 bits at 115200 baud. */
    deadline = fake_poll(f->vm);
    assert_int_equal(deadline, fake_now + 4 * (10 * 1000000000ULL / 115200));
    fake_now = deadline;
    fake_poll(f->vm);
    assert_true(f->vm->line[4]);
    assert_int_equal(fake_inb(f->vm, IIR), 0xCC); /* character timeout */

    assert_int_equal(vmm_uart_receive(f->com1, in + 3, 1), 1);
    assert_int_equal(fake_inb(f->vm, IIR), 0xC4); /* trigger level reached */
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(fake_inb(f->vm, THR), in[i]);
    }
    assert_int_equal(fake_inb(f->vm, LSR) & 0x01, 0x00);
    assert_int_equal(fake_inb(f->vm, IIR), 0xC1);
    assert_false(f->vm->line[4]);
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);

    /* 16 bytes fit; the rest stays with the core. */
    assert_int_equal(vmm_uart_receive(f->com1, in, 20), 16);
    assert_int_equal(vmm_uart_receive(f->com1, in, 20), 0);
    fake_outb(f->vm, FCR, 0x00); /* FIFO off: cleared, one holding register */
    assert_int_equal(fake_inb(f->vm, IIR), 0x01);
    assert_int_equal(vmm_uart_receive(f->com1, in, 20), 1);
    assert_int_equal(vmm_uart_receive(f->com1, in, 20), 0);
    assert_int_equal(fake_inb(f->vm, IIR), 0x04);
}

static void test_iir_priorities(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, FCR, 0x07);        /* FIFO on, trigger 1 */
    fake_outb(f->vm, MCR, 0x10);        /* loopback */
    for (unsigned i = 0; i < 17; i++) { /* one more than fits: overrun */
        fake_outb(f->vm, THR, (uint8_t)i);
    }
    (void)fake_inb(f->vm, MSR);  /* no modem deltas pending */
    fake_outb(f->vm, MCR, 0x11); /* DTR toggles DSR in loopback: a modem status change */
    fake_outb(f->vm, IER, 0x0F);
    assert_int_equal(fake_inb(f->vm, IIR), 0xC6); /* line status first */
    assert_int_equal(fake_inb(f->vm, LSR), 0x63); /* DR, OE, THRE, TEMT; read clears OE */
    assert_int_equal(fake_inb(f->vm, IIR), 0xC4); /* then received data */
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(fake_inb(f->vm, THR), i);
    }
    assert_int_equal(fake_inb(f->vm, IIR), 0xC2); /* then THR empty */
    assert_int_equal(fake_inb(f->vm, IIR), 0xC0); /* then modem status */
    assert_int_equal(fake_inb(f->vm, MSR), 0x22); /* DSR with its delta */
    assert_int_equal(fake_inb(f->vm, IIR), 0xC1);
    assert_int_equal(f->vm->console_len, 0);
}

static void test_loopback(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, MCR, 0x1A); /* loop, OUT2, RTS: what Linux's probe writes */
    assert_int_equal(fake_inb(f->vm, MSR) & 0xF0, 0x90);
    fake_outb(f->vm, MCR, 0x1F);
    assert_int_equal(fake_inb(f->vm, MSR) & 0xF0, 0xF0);
    fake_outb(f->vm, THR, 0x55);
    assert_int_equal(fake_inb(f->vm, LSR) & 0x01, 0x01);
    assert_int_equal(fake_inb(f->vm, THR), 0x55);
    assert_int_equal(f->vm->console_len, 0);
    /* The console's bytes wait while the receiver listens to the transmitter. */
    assert_int_equal(vmm_uart_receive(f->com1, (const uint8_t *)"x", 1), 0);
    /* Loopback keeps the IRQ off even with OUT2 set and THRE pending. */
    fake_outb(f->vm, IER, 0x02);
    assert_false(f->vm->line[4]);
    fake_outb(f->vm, MCR, 0x0B);
    assert_int_equal(fake_inb(f->vm, MSR) & 0xF0, 0xB0);
    assert_true(f->vm->line[4]);
}

static void test_holding_register_overrun(void **state)
{
    struct fixture *f = *state;
    struct vmm_uart_stats st;

    fake_outb(f->vm, MCR, 0x10);
    fake_outb(f->vm, THR, 1);
    fake_outb(f->vm, THR, 2); /* without FIFO the new byte overwrites */
    assert_int_equal(fake_inb(f->vm, LSR) & 0x03, 0x03);
    assert_int_equal(fake_inb(f->vm, THR), 2);
    vmm_uart_stats(f->com1, &st);
    assert_int_equal(st.overruns, 1);
}

static void test_word_access_and_reset(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, SCR, 0x77);
    /* A word read at LSR reads LSR and MSR. */
    assert_int_equal(fake_in(f->vm, LSR, 2), 0xB060);
    fake_outb(f->vm, IER, 0x0F);
    fake_outb(f->vm, MCR, 0x08);
    puts_thr(f->vm, "part");
    fake_reset_devices(f->vm);
    assert_true(console_is(f->vm, "part")); /* flushed before the reset */
    assert_int_equal(fake_inb(f->vm, IER), 0x00);
    assert_int_equal(fake_inb(f->vm, SCR), 0x00);
    assert_false(f->vm->line[4]);
}

static void test_destroy_flushes(void **state)
{
    struct fixture *f = *state;
    struct vmm_dev_reg *r = (struct vmm_dev_reg *)fake_find_dev(f->vm, "com1");

    puts_thr(f->vm, "bye");
    assert_int_equal(f->vm->console_len, 0);
    /* A guest that prints and exits at once: destroy sends the partial line. */
    r->destroy(r->dev);
    r->destroy = NULL; /* gone: the fixture's teardown must not free it again */
    assert_true(console_is(f->vm, "bye"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_batching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_write_one_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lsr_and_scratch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlab_divisor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thre_interrupt_and_out2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_fifo_and_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holding_register_overrun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_word_access_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_flushes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
