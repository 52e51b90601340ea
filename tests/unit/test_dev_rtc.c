/* Unit tests for the RTC/CMOS model (vmm/devices/rtc.c) with a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/rtc.h"

#define SEC      1000000000ULL
#define START_NS (5 * SEC) /* the host clock is not at 0 when the VM starts */

struct fixture {
    struct vmm_vm *vm;
    struct vmm_rtc *rtc;
};

static struct fixture *make(const struct vmm_rtc_config *cfg)
{
    struct fixture *f = calloc(1, sizeof(*f));

    fake_host_install(START_NS);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_rtc_create(f->vm, cfg, &f->rtc), 0);
    return f;
}

static int setup(void **state)
{
    *state = make(NULL);
    return 0;
}

static int setup_march(void **state)
{
    struct vmm_rtc_config cfg = {.start_epoch = 1773582330}; /* 2026-03-15 13:45:30 Sun */

    *state = make(&cfg);
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

static uint8_t cmos(struct vmm_vm *vm, uint8_t idx)
{
    fake_outb(vm, 0x70, idx);
    return fake_inb(vm, 0x71);
}

static void cmos_set(struct vmm_vm *vm, uint8_t idx, uint8_t val)
{
    fake_outb(vm, 0x70, idx);
    fake_outb(vm, 0x71, val);
}

static void test_default_time_bcd(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cmos(f->vm, 0x0B), 0x02); /* BCD, 24 h */
    assert_int_equal(cmos(f->vm, 0x00), 0x00);
    assert_int_equal(cmos(f->vm, 0x02), 0x00);
    assert_int_equal(cmos(f->vm, 0x04), 0x00);
    assert_int_equal(cmos(f->vm, 0x06), 0x05); /* Thursday */
    assert_int_equal(cmos(f->vm, 0x07), 0x01);
    assert_int_equal(cmos(f->vm, 0x08), 0x01);
    assert_int_equal(cmos(f->vm, 0x09), 0x26);
    assert_int_equal(cmos(f->vm, 0x32), 0x20);
    assert_int_equal(vmm_rtc_time(f->rtc, fake_now), RTC_DEFAULT_EPOCH);
}

static void test_time_advances(void **state)
{
    struct fixture *f = *state;

    fake_now += 3661 * SEC + SEC / 2; /* 1 h 1 min 1.5 s */
    assert_int_equal(cmos(f->vm, 0x00), 0x01);
    assert_int_equal(cmos(f->vm, 0x02), 0x01);
    assert_int_equal(cmos(f->vm, 0x04), 0x01);
    fake_now += 23 * 3600 * SEC; /* past midnight: 2026-01-02 00:01:01 */
    assert_int_equal(cmos(f->vm, 0x04), 0x00);
    assert_int_equal(cmos(f->vm, 0x07), 0x02);
    assert_int_equal(cmos(f->vm, 0x06), 0x06); /* Friday */
}

static void test_binary_and_12h(void **state)
{
    struct fixture *f = *state;

    cmos_set(f->vm, 0x0B, 0x04);               /* binary, 12 h */
    assert_int_equal(cmos(f->vm, 0x04), 0x81); /* 1 PM */
    assert_int_equal(cmos(f->vm, 0x02), 45);
    assert_int_equal(cmos(f->vm, 0x00), 30);
    assert_int_equal(cmos(f->vm, 0x09), 26);
    assert_int_equal(cmos(f->vm, 0x32), 20);
    cmos_set(f->vm, 0x0B, 0x06); /* binary, 24 h */
    assert_int_equal(cmos(f->vm, 0x04), 13);
    cmos_set(f->vm, 0x0B, 0x00); /* BCD, 12 h */
    assert_int_equal(cmos(f->vm, 0x04), 0x81);
    fake_now += 11 * 3600 * SEC; /* 00:45: 12 AM */
    assert_int_equal(cmos(f->vm, 0x04), 0x12);
}

static void test_set_mode(void **state)
{
    struct fixture *f = *state;

    cmos_set(f->vm, 0x0B, 0x82); /* SET: the clock stops */
    fake_now += 5 * SEC;
    assert_int_equal(cmos(f->vm, 0x00), 0x30);
    cmos_set(f->vm, 0x00, 0x00);
    cmos_set(f->vm, 0x02, 0x00);
    cmos_set(f->vm, 0x04, 0x12);
    cmos_set(f->vm, 0x07, 0x01);
    cmos_set(f->vm, 0x08, 0x06);
    cmos_set(f->vm, 0x09, 0x30);
    cmos_set(f->vm, 0x32, 0x20);
    fake_now += 5 * SEC;
    assert_int_equal(cmos(f->vm, 0x04), 0x12);
    cmos_set(f->vm, 0x0B, 0x02);
    assert_int_equal(vmm_rtc_time(f->rtc, fake_now), 1906545600); /* 2030-06-01 12:00 */
    fake_now += 2 * SEC;
    assert_int_equal(cmos(f->vm, 0x00), 0x02);
    assert_int_equal(cmos(f->vm, 0x06), 0x07); /* Saturday */
}

static void test_write_running_clock(void **state)
{
    struct fixture *f = *state;

    fake_now += SEC / 4;
    cmos_set(f->vm, 0x02, 0x10); /* minutes := 10 */
    assert_int_equal(cmos(f->vm, 0x02), 0x10);
    assert_int_equal(cmos(f->vm, 0x04), 0x13);
    assert_int_equal(cmos(f->vm, 0x00), 0x30);
    fake_now += SEC * 3 / 4; /* the sub-second phase was kept */
    assert_int_equal(cmos(f->vm, 0x00), 0x31);
}

static void test_uip(void **state)
{
    struct fixture *f = *state;

    fake_now = START_NS + SEC / 2;
    assert_int_equal(cmos(f->vm, 0x0A), 0x26);
    fake_now = START_NS + SEC - 100000; /* 100 us before the update */
    assert_int_equal(cmos(f->vm, 0x0A), 0xA6);
    assert_int_equal(cmos(f->vm, 0x00), 0x00); /* old second during UIP */
    fake_now = START_NS + SEC;
    assert_int_equal(cmos(f->vm, 0x0A), 0x26);
    assert_int_equal(cmos(f->vm, 0x00), 0x01);
}

static void test_periodic_rate(void **state)
{
    struct fixture *f = *state;
    unsigned irqs = 0;
    struct vmm_rtc_stats st;

    cmos_set(f->vm, 0x0B, 0x42); /* PIE */
    while (fake_now < START_NS + SEC) {
        uint64_t next = fake_poll(f->vm);

        assert_true(next > fake_now && next != UINT64_MAX);
        fake_now = next;
        fake_poll(f->vm);
        if (f->vm->line[8]) {
            irqs++;
            assert_int_equal(cmos(f->vm, 0x0C) & 0xC0, 0xC0); /* IRQF | PF */
            assert_false(f->vm->line[8]);
        }
    }
    assert_int_equal(irqs, 1024);
    assert_int_equal(f->vm->rises[8], 1024);
    vmm_rtc_stats(f->rtc, &st);
    assert_int_equal(st.periodic_coalesced, 0);

    /* 2 Hz (rate 15). */
    cmos_set(f->vm, 0x0A, 0x2F);
    irqs = 0;
    for (unsigned ms = 1; ms <= 2000; ms++) {
        fake_now += 1000000;
        fake_poll(f->vm);
        if (f->vm->line[8]) {
            irqs++;
            (void)cmos(f->vm, 0x0C);
        }
    }
    assert_int_equal(irqs, 4);
}

static void test_periodic_coalesced_and_line_held(void **state)
{
    struct fixture *f = *state;
    struct vmm_rtc_stats st;

    cmos_set(f->vm, 0x0B, 0x42);
    fake_advance(f->vm, SEC / 100); /* ~10 ticks at 1024 Hz without service */
    assert_true(f->vm->line[8]);
    assert_int_equal(f->vm->rises[8], 1);
    /* While IRQF is set nothing new can raise the line: no wake-ups needed. */
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    fake_advance(f->vm, SEC / 100);
    assert_int_equal(f->vm->rises[8], 1);
    vmm_rtc_stats(f->rtc, &st);
    assert_true(st.periodic >= 20);
    assert_int_equal(st.periodic_coalesced, st.periodic - 1);
    /* Disabling PIE drops IRQF and the line. */
    cmos_set(f->vm, 0x0B, 0x02);
    assert_false(f->vm->line[8]);
    assert_int_equal(cmos(f->vm, 0x0C), 0x40); /* PF stays visible */
    assert_int_equal(cmos(f->vm, 0x0C), 0x00); /* read clears */
}

static void test_update_interrupt(void **state)
{
    struct fixture *f = *state;
    uint64_t next;

    cmos_set(f->vm, 0x0B, 0x12); /* UIE */
    next = fake_poll(f->vm);
    assert_int_equal(next, START_NS + SEC);
    fake_now = next - 1;
    fake_poll(f->vm);
    assert_false(f->vm->line[8]);
    fake_now = next;
    fake_poll(f->vm);
    assert_true(f->vm->line[8]);
    assert_int_equal(cmos(f->vm, 0x0C) & 0xB0, 0x90); /* IRQF | UF (PF runs too) */
    assert_false(f->vm->line[8]);
    /* SET clears UIE. */
    cmos_set(f->vm, 0x0B, 0x92);
    assert_int_equal(cmos(f->vm, 0x0B), 0x82);
}

static void test_alarm(void **state)
{
    struct fixture *f = *state;

    cmos_set(f->vm, 0x01, 0x05); /* 00:00:05 */
    cmos_set(f->vm, 0x03, 0x00);
    cmos_set(f->vm, 0x05, 0x00);
    cmos_set(f->vm, 0x0B, 0x22); /* AIE */
    fake_advance(f->vm, 4 * SEC);
    assert_false(f->vm->line[8]);
    fake_advance(f->vm, SEC);
    assert_true(f->vm->line[8]);
    assert_int_equal(cmos(f->vm, 0x0C) & 0xA0, 0xA0);
    /* Don't-care hours and minutes, second 30: once a minute. */
    cmos_set(f->vm, 0x05, 0xC0);
    cmos_set(f->vm, 0x03, 0xFF);
    cmos_set(f->vm, 0x01, 0x30);
    fake_advance(f->vm, 60 * SEC);
    assert_int_equal(cmos(f->vm, 0x0C) & 0xA0, 0xA0);
    fake_advance(f->vm, 10 * SEC);
    assert_int_equal(cmos(f->vm, 0x0C) & 0xA0, 0x00);
}

static void test_reg_c_clear_and_reg_d(void **state)
{
    struct fixture *f = *state;

    fake_advance(f->vm, 2 * SEC);
    assert_int_equal(cmos(f->vm, 0x0C), 0x50); /* PF and UF, no enables: no IRQF */
    assert_int_equal(cmos(f->vm, 0x0C), 0x00);
    assert_int_equal(f->vm->rises[8], 0);
    assert_int_equal(cmos(f->vm, 0x0D), 0x80);
    cmos_set(f->vm, 0x0D, 0x00);
    assert_int_equal(cmos(f->vm, 0x0D), 0x80);
}

static void test_memory_bytes(void **state)
{
    struct vmm_rtc_config cfg = {
        .mem_below_4g = 512ULL << 20,
        .mem_above_4g = 1ULL << 30,
        .ncpus = 2,
    };
    struct fixture *f = make(&cfg);
    struct fixture *g;
    unsigned sum = 0;

    (void)state;
    assert_int_equal(cmos(f->vm, 0x15), 0x80);
    assert_int_equal(cmos(f->vm, 0x16), 0x02); /* 640 KiB */
    assert_int_equal(cmos(f->vm, 0x17), 0xFF);
    assert_int_equal(cmos(f->vm, 0x18), 0xFF); /* capped at 65535 KiB */
    assert_int_equal(cmos(f->vm, 0x30), 0xFF);
    assert_int_equal(cmos(f->vm, 0x31), 0xFF);
    assert_int_equal(cmos(f->vm, 0x34), 0x00);
    assert_int_equal(cmos(f->vm, 0x35), 0x1F); /* 496 MiB / 64 KiB = 0x1F00 */
    assert_int_equal(cmos(f->vm, 0x5B), 0x00);
    assert_int_equal(cmos(f->vm, 0x5C), 0x40);
    assert_int_equal(cmos(f->vm, 0x5D), 0x00); /* 1 GiB / 64 KiB = 0x4000 */
    assert_int_equal(cmos(f->vm, 0x5F), 0x01);
    for (uint8_t i = 0x10; i <= 0x2D; i++) {
        sum += cmos(f->vm, i);
    }
    assert_int_equal(cmos(f->vm, 0x2E) << 8 | cmos(f->vm, 0x2F), sum);
    teardown((void **)&f);

    cfg.mem_below_4g = 32ULL << 20;
    cfg.mem_above_4g = 0;
    g = make(&cfg);
    assert_int_equal(cmos(g->vm, 0x17) | cmos(g->vm, 0x18) << 8, 31744);
    assert_int_equal(cmos(g->vm, 0x34) | cmos(g->vm, 0x35) << 8, 256);
    teardown((void **)&g);
}

static void test_nvram_and_nmi_bit(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0x70, 0xC0); /* NMI off, index 0x40 */
    fake_outb(f->vm, 0x71, 0xA5);
    assert_int_equal(cmos(f->vm, 0x40), 0xA5);
    cmos_set(f->vm, 0x7F, 0x5A);
    assert_int_equal(cmos(f->vm, 0x7F), 0x5A);
    assert_int_equal(fake_inb(f->vm, 0x70), 0xFF);
}

static void test_divider_reset(void **state)
{
    struct fixture *f = *state;

    cmos_set(f->vm, 0x0A, 0x70); /* divider held in reset: the clock stops */
    fake_now += 10 * SEC;
    assert_int_equal(cmos(f->vm, 0x00), 0x00);
    cmos_set(f->vm, 0x0A, 0x26);
    fake_now += SEC / 2 - 1;
    assert_int_equal(cmos(f->vm, 0x00), 0x00);
    fake_now += 1; /* first update 500 ms after release */
    assert_int_equal(cmos(f->vm, 0x00), 0x01);
}

static void test_calendar(void **state)
{
    static const struct {
        int64_t t;
        int64_t year;
        unsigned month, day, hour, min, sec, wday;
    } cases[] = {
        {0, 1970, 1, 1, 0, 0, 0, 4},
        {1709251199, 2024, 2, 29, 23, 59, 59, 4},
        {-1, 1969, 12, 31, 23, 59, 59, 3},
        {-2203891200LL, 1900, 3, 1, 0, 0, 0, 4},
        {4133894400LL, 2100, 12, 31, 0, 0, 0, 5},
        {1773582330, 2026, 3, 15, 13, 45, 30, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rtc_tm tm;

        rtc_epoch_to_tm(cases[i].t, &tm);
        assert_int_equal(tm.year, cases[i].year);
        assert_int_equal(tm.month, cases[i].month);
        assert_int_equal(tm.day, cases[i].day);
        assert_int_equal(tm.hour, cases[i].hour);
        assert_int_equal(tm.min, cases[i].min);
        assert_int_equal(tm.sec, cases[i].sec);
        assert_int_equal(tm.wday, cases[i].wday);
        assert_int_equal(rtc_tm_to_epoch(&tm), cases[i].t);
    }
}

static void test_reset_clears_enables(void **state)
{
    struct fixture *f = *state;

    cmos_set(f->vm, 0x0B, 0x72);
    fake_advance(f->vm, 2 * SEC);
    assert_true(f->vm->line[8]);
    fake_reset_devices(f->vm);
    assert_false(f->vm->line[8]);
    assert_int_equal(cmos(f->vm, 0x0B), 0x02);
    assert_int_equal(cmos(f->vm, 0x09), 0x26); /* the clock survives */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_time_bcd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_advances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_12h, setup_march, teardown),
        cmocka_unit_test_setup_teardown(test_set_mode, setup_march, teardown),
        cmocka_unit_test_setup_teardown(test_write_running_clock, setup_march, teardown),
        cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic_coalesced_and_line_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reg_c_clear_and_reg_d, setup, teardown),
        cmocka_unit_test(test_memory_bytes),
        cmocka_unit_test_setup_teardown(test_nvram_and_nmi_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_divider_reset, setup, teardown),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test_setup_teardown(test_reset_clears_enables, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
