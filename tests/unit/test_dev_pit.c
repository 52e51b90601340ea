/* Unit tests for the 8254 PIT model and port 0x61 (vmm/devices/pit.c) with a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/devio.h"
#include "../../vmm/devices/pit.h"

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pit *pit;
};

/* Absolute PIT tick -> the first ns at which the model counts it. */
static void at_tick(uint64_t t)
{
    fake_now = devio_ticks_to_ns(t, PIT_HZ);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    fake_host_install(0);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pit_create(f->vm, NULL, &f->pit), 0);
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

static void load(struct vmm_vm *vm, unsigned ch, uint8_t control_low, uint16_t count)
{
    fake_outb(vm, 0x43, (uint8_t)(ch << 6 | 0x30 | control_low));
    fake_outb(vm, (uint16_t)(0x40 + ch), (uint8_t)count);
    fake_outb(vm, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static uint16_t latch_read(struct vmm_vm *vm, unsigned ch)
{
    uint16_t v;

    fake_outb(vm, 0x43, (uint8_t)(ch << 6));
    v = fake_inb(vm, (uint16_t)(0x40 + ch));
    return (uint16_t)(v | fake_inb(vm, (uint16_t)(0x40 + ch)) << 8);
}

static uint8_t status(struct vmm_vm *vm, unsigned ch)
{
    fake_outb(vm, 0x43, (uint8_t)(0xE0 | 2u << ch)); /* read-back: status only */
    return fake_inb(vm, (uint16_t)(0x40 + ch));
}

static bool out(struct vmm_vm *vm, unsigned ch)
{
    return status(vm, ch) & 0x80;
}

static void test_power_on_18hz(void **state)
{
    struct fixture *f = *state;
    struct vmm_pit_stats st;

    /* Channel 0 runs mode 3 with 65536: 18.2 pulses a second. */
    for (unsigned ms = 1; ms <= 1000; ms++) {
        fake_now = ms * 1000000ULL;
        fake_poll(f->vm);
    }
    assert_int_equal(f->vm->rises[0], 18);
    vmm_pit_stats(f->pit, &st);
    assert_int_equal(st.irq_pulses, 18);
    assert_int_equal(st.irq_coalesced, 0);
    assert_int_equal(status(f->vm, 0) & 0x3F, 0x36); /* rw 3, mode 3, binary */
}

static void test_mode0_counts_and_fires_once(void **state)
{
    struct fixture *f = *state;

    at_tick(1000);
    fake_outb(f->vm, 0x43, 0x30);
    assert_false(out(f->vm, 0));                     /* low from the control word */
    assert_int_equal(status(f->vm, 0) & 0x40, 0x40); /* null count */
    fake_outb(f->vm, 0x40, 0xE8);
    fake_outb(f->vm, 0x40, 0x03); /* 1000 */
    assert_int_equal(status(f->vm, 0) & 0x40, 0);
    at_tick(1100);
    assert_int_equal(latch_read(f->vm, 0), 900);
    assert_false(out(f->vm, 0));
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 0);
    at_tick(1999);
    assert_int_equal(fake_poll(f->vm), devio_ticks_to_ns(2000, PIT_HZ));
    at_tick(2000);
    fake_poll(f->vm);
    assert_true(out(f->vm, 0));
    assert_int_equal(f->vm->rises[0], 1);
    /* Terminal count: the counter wraps on, OUT stays high, no more pulses. */
    at_tick(2010);
    assert_int_equal(latch_read(f->vm, 0), 65526);
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    at_tick(200000);
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
}

static void test_mode2_rate(void **state)
{
    struct fixture *f = *state;
    struct vmm_pit_stats st;

    at_tick(0);
    load(f->vm, 0, 0x04, 1193); /* ~1 kHz */
    assert_int_equal(latch_read(f->vm, 0), 1193);
    for (unsigned i = 1; i <= 100; i++) {
        at_tick(i * 1193ULL);
        fake_poll(f->vm);
    }
    assert_int_equal(f->vm->rises[0], 100);
    vmm_pit_stats(f->pit, &st);
    assert_int_equal(st.irq_coalesced, 0);
    /* OUT is low for the one tick before reload, count runs n..1. */
    at_tick(100 * 1193ULL + 1192);
    assert_false(out(f->vm, 0));
    assert_int_equal(latch_read(f->vm, 0), 1);
    at_tick(100 * 1193ULL + 1193);
    assert_true(out(f->vm, 0));
    assert_int_equal(latch_read(f->vm, 0), 1193);
}

static void test_missed_ticks_coalesce(void **state)
{
    struct fixture *f = *state;
    struct vmm_pit_stats st;
    uint64_t next;

    at_tick(0);
    load(f->vm, 0, 0x04, 1193);
    at_tick(10 * 1193ULL + 5); /* ten periods without a poll */
    next = fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
    vmm_pit_stats(f->pit, &st);
    assert_int_equal(st.irq_pulses, 1);
    assert_int_equal(st.irq_coalesced, 9);
    assert_int_equal(next, devio_ticks_to_ns(11 * 1193ULL, PIT_HZ));
}

static void test_rate_limit(void **state)
{
    struct fixture *f = *state;
    uint64_t next;

    at_tick(0);
    load(f->vm, 0, 0x04, 2); /* 600 kHz: far above what is worth waking for */
    at_tick(2);
    next = fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
    assert_true(next >= fake_now + PIT_MIN_PERIOD_NS);
}

static void test_mode3_square_wave_on_port61(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 2, 0x06, 100);
    /* Gate low: OUT high, not counting. */
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x20);
    at_tick(10);
    assert_int_equal(latch_read(f->vm, 2), 100);
    fake_outb(f->vm, 0x61, 0x01); /* gate on: the period starts now */
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x01, 0x01);
    at_tick(10 + 49);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x20);
    assert_int_equal(latch_read(f->vm, 2), 2); /* counts down by two */
    at_tick(10 + 50);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x00);
    at_tick(10 + 100);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x20);
    /* Gate low again: OUT forced high. */
    at_tick(10 + 160);
    fake_outb(f->vm, 0x61, 0x00);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x20);
    assert_int_equal(f->vm->rises[0], 0); /* channel 2 drives no IRQ */
}

static void test_mode0_channel2_gate_pauses(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    fake_outb(f->vm, 0x61, 0x01);
    load(f->vm, 2, 0x00, 100);
    at_tick(40);
    fake_outb(f->vm, 0x61, 0x00); /* pause at 60 left */
    at_tick(500);
    assert_int_equal(latch_read(f->vm, 2), 60);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0);
    fake_outb(f->vm, 0x61, 0x01);
    at_tick(559);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0);
    at_tick(560);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x20, 0x20);
}

static void test_mode1_gate_trigger(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 2, 0x02, 50);
    at_tick(100);
    assert_true(out(f->vm, 2)); /* waiting for a trigger */
    assert_int_equal(latch_read(f->vm, 2), 50);
    fake_outb(f->vm, 0x61, 0x01);
    at_tick(120);
    assert_false(out(f->vm, 2));
    assert_int_equal(latch_read(f->vm, 2), 30);
    at_tick(150);
    assert_true(out(f->vm, 2));
    /* Retrigger restarts the one shot. */
    fake_outb(f->vm, 0x61, 0x00);
    fake_outb(f->vm, 0x61, 0x01);
    assert_false(out(f->vm, 2));
}

static void test_mode4_strobe(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 0, 0x08, 10);
    at_tick(10);
    fake_poll(f->vm);
    assert_false(out(f->vm, 0)); /* the one low tick */
    assert_int_equal(f->vm->rises[0], 0);
    at_tick(11);
    fake_poll(f->vm);
    assert_true(out(f->vm, 0));
    assert_int_equal(f->vm->rises[0], 1);
    at_tick(100000);
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
}

static void test_mode5_gate_strobe(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 2, 0x0A, 5);
    at_tick(50);
    assert_true(out(f->vm, 2));
    fake_outb(f->vm, 0x61, 0x01);
    at_tick(55);
    assert_false(out(f->vm, 2));
    at_tick(56);
    assert_true(out(f->vm, 2));
}

static void test_lobyte_hibyte_modes(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    fake_outb(f->vm, 0x43, 0x54); /* ch1, lobyte only, mode 2 */
    fake_outb(f->vm, 0x41, 0x80);
    at_tick(0x10);
    fake_outb(f->vm, 0x43, 0x40); /* latch ch1 */
    assert_int_equal(fake_inb(f->vm, 0x41), 0x70);
    assert_int_equal(fake_inb(f->vm, 0x41), 0x70); /* live again, still lobyte */
    fake_outb(f->vm, 0x43, 0x64);                  /* ch1, hibyte only, mode 2: count 0x0200 */
    fake_outb(f->vm, 0x41, 0x02);
    at_tick(0x10 + 0x100);
    assert_int_equal(fake_inb(f->vm, 0x41), 0x01);
}

static void test_latch_holds_until_read(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 0, 0x04, 1000);
    at_tick(100);
    fake_outb(f->vm, 0x43, 0x00);
    at_tick(300);
    fake_outb(f->vm, 0x43, 0x00); /* a second latch does not replace the first */
    assert_int_equal(fake_inb(f->vm, 0x40), (uint8_t)900);
    at_tick(400);
    assert_int_equal(fake_inb(f->vm, 0x40), 900 >> 8);
    /* Live reads now. */
    assert_int_equal(fake_inb(f->vm, 0x40), (uint8_t)600);
    assert_int_equal(fake_inb(f->vm, 0x40), 600 >> 8);
}

static void test_readback(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 0, 0x04, 500);
    at_tick(200);
    fake_outb(f->vm, 0x43, 0xC2);                  /* count and status of channel 0 */
    assert_int_equal(fake_inb(f->vm, 0x40), 0xB4); /* OUT high, rw 3, mode 2 */
    assert_int_equal(fake_inb(f->vm, 0x40), (uint8_t)300);
    assert_int_equal(fake_inb(f->vm, 0x40), 300 >> 8);
    /* Status only, of channels 1 and 2. */
    fake_outb(f->vm, 0x43, 0xEC);
    assert_int_equal(fake_inb(f->vm, 0x41), 0xB6); /* mode 3, first half: OUT high */
    assert_int_equal(fake_inb(f->vm, 0x42), 0xB6); /* gate low: OUT high */
    assert_int_equal(fake_inb(f->vm, 0x43), 0x00);
}

static void test_bcd(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    fake_outb(f->vm, 0x43, 0x31); /* ch0, mode 0, BCD */
    fake_outb(f->vm, 0x40, 0x00);
    fake_outb(f->vm, 0x40, 0x10); /* 1000 in BCD */
    at_tick(1);
    assert_int_equal(latch_read(f->vm, 0), 0x0999);
    at_tick(1000);
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
    at_tick(1001);
    assert_int_equal(latch_read(f->vm, 0), 0x9999); /* wraps modulo 10000 */
    /* A count of 0 is 10000 in BCD. */
    fake_outb(f->vm, 0x43, 0x35);
    fake_outb(f->vm, 0x40, 0x00);
    fake_outb(f->vm, 0x40, 0x00);
    at_tick(1001 + 5000);
    assert_int_equal(latch_read(f->vm, 0), 0x5000);
}

static void test_port61(void **state)
{
    struct fixture *f = *state;
    uint8_t a;
    uint8_t b;

    fake_outb(f->vm, 0x61, 0xFF);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x0F, 0x0F);
    fake_now = 1000000;
    a = fake_inb(f->vm, 0x61) & 0x10;
    fake_now += 15085;
    b = fake_inb(f->vm, 0x61) & 0x10;
    assert_int_not_equal(a, b); /* the refresh toggle BIOS delay loops count */
    fake_outb(f->vm, 0x61, 0x00);
    assert_int_equal(fake_inb(f->vm, 0x61) & 0x0F, 0x00);
}

static void test_reprogram_delivers_pending_edges(void **state)
{
    struct fixture *f = *state;

    at_tick(0);
    load(f->vm, 0, 0x04, 100);
    at_tick(150); /* one edge at 100, not polled yet */
    load(f->vm, 0, 0x04, 1000);
    assert_int_equal(f->vm->rises[0], 1);
    at_tick(1149);
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 1);
    at_tick(1150);
    fake_poll(f->vm);
    assert_int_equal(f->vm->rises[0], 2);
}

static void test_reset_hook(void **state)
{
    struct fixture *f = *state;

    load(f->vm, 0, 0x00, 10);
    fake_reset_devices(f->vm);
    assert_int_equal(status(f->vm, 0) & 0x3F, 0x36);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_power_on_18hz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode0_counts_and_fires_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missed_ticks_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode3_square_wave_on_port61, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode0_channel2_gate_pauses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode1_gate_trigger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode4_strobe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode5_gate_strobe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lobyte_hibyte_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latch_holds_until_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port61, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reprogram_delivers_pending_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
