/* Unit tests for the RTL8139 model (vmm/devices/rtl8139.c): PCI identity, registers, the 93C46
 * EEPROM read the way Linux's 8139too does it, transmit through the four descriptors, receive
 * into the ring (filters, wrap, overflow), interrupts, and hostile addresses (reset + log). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/pci_host.h"
#include "../../vmm/devices/rtl8139.h"

#define IO    0xC000
#define MMIO  0xFE000000ull
#define SLOT  3
#define IRQ   11
#define RING  0x4000 /* 8 KiB ring + slack */
#define TXBUF 0x8000

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *pci;
    struct vmm_rtl8139 *nic;
    uint16_t cur_rx;
};

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC};

static void cfg_write(struct vmm_vm *vm, unsigned reg, unsigned size, uint32_t val)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    fake_out(vm, (uint16_t)(0xCFC + (reg & 3)), size, val);
}

static uint32_t cfg_read(struct vmm_vm *vm, unsigned reg, unsigned size)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    return fake_in(vm, (uint16_t)(0xCFC + (reg & 3)), size);
}

static int setup_common(void **state, bool backend)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_nic_dev_config dc = {
        .name = "eth0", .slot = SLOT, .irq = IRQ, .io_base = IO, .mmio_base = MMIO};

    fake_host_install(0);
    fake_nic_enable(backend);
    memcpy(dc.mac, mac, 6);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pci_host_create(f->vm, &f->pci), 0);
    assert_int_equal(vmm_dev_rtl8139_create(f->vm, f->pci, &dc, &f->nic), 0);
    cfg_write(f->vm, 0x04, 2, 0x0007);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_common(state, true);
}

static int setup_unplugged(void **state)
{
    return setup_common(state, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fake_vm_free(f->vm);
    assert_int_equal(fake_live_allocs, 0);
    free(f);
    return 0;
}

/* 8139too's read_eeprom, bit for bit. */
static uint16_t read_eeprom(struct vmm_vm *vm, unsigned location)
{
    unsigned read_cmd = location | (6u << 6);
    uint16_t retval = 0;

    fake_outb(vm, IO + 0x50, 0x80);
    fake_outb(vm, IO + 0x50, 0x88);
    for (int i = 4 + 6; i >= 0; i--) {
        uint8_t dataval = (read_cmd & (1u << i)) ? 0x02 : 0;

        fake_outb(vm, IO + 0x50, 0x88 | dataval);
        fake_outb(vm, IO + 0x50, 0x88 | dataval | 0x04);
    }
    fake_outb(vm, IO + 0x50, 0x88);
    for (int i = 16; i > 0; i--) {
        fake_outb(vm, IO + 0x50, 0x88 | 0x04);
        retval = (uint16_t)((retval << 1) | ((fake_inb(vm, IO + 0x50) & 0x01) ? 1 : 0));
        fake_outb(vm, IO + 0x50, 0x88);
    }
    fake_outb(vm, IO + 0x50, (uint8_t)~0x08);
    return retval;
}

/* The bring-up 8139too's rtl8139_hw_start does. */
static void hw_start(struct fixture *f, uint32_t rcr)
{
    struct vmm_vm *vm = f->vm;

    fake_outb(vm, IO + 0x37, 0x10);
    assert_int_equal(fake_inb(vm, IO + 0x37) & 0x10, 0);
    fake_outb(vm, IO + 0x50, 0xC0);
    fake_outb(vm, IO + 0x37, 0x0C);
    fake_out(vm, IO + 0x44, 4, rcr);
    fake_out(vm, IO + 0x40, 4, 0x03000600);
    fake_out(vm, IO + 0x30, 4, RING);
    fake_outb(vm, IO + 0x50, 0x00);
    for (unsigned i = 0; i < 4; i++) {
        fake_out(vm, IO + 0x20 + 4 * i, 4, TXBUF + 0x800 * i);
    }
    fake_out(vm, IO + 0x3C, 2, 0xE07F);
    f->cur_rx = 0;
}

static void test_identity_and_eeprom(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    assert_int_equal(cfg_read(vm, 0x00, 4), 0x813910EC);
    assert_true(cfg_read(vm, 0x08, 1) < 0x20); /* 8139too, not 8139cp */
    assert_int_equal(cfg_read(vm, 0x3C, 1), IRQ);
    assert_int_equal(cfg_read(vm, 0x10, 4), IO | 1);
    assert_int_equal(cfg_read(vm, 0x14, 4), (uint32_t)MMIO);
    assert_int_equal(fake_in(vm, IO + 0x40, 4) & 0x7CC00000, 0x74000000);
    assert_int_equal(read_eeprom(vm, 0), 0x8129);
    assert_int_equal(read_eeprom(vm, 7), 0x5452);
    assert_int_equal(read_eeprom(vm, 8), 0xAA00);
    assert_int_equal(read_eeprom(vm, 9), 0xCCBB);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(fake_inb(vm, IO + i), mac[i]);
    }
    /* The same registers through the memory BAR. */
    assert_int_equal(fake_read32(vm, MMIO + 0x40) & 0x7CC00000, 0x74000000);
    assert_int_equal(fake_read32(vm, MMIO) & 0xFF, 0x52);
    /* Link up: BMSR link bit, MSR LINKB clear. */
    assert_true(fake_in(vm, IO + 0x64, 2) & 0x04);
    assert_int_equal(fake_inb(vm, IO + 0x58) & 0x04, 0);
    /* After reset: BUFE, CAPR 0xFFF0, every TSD owned by the host. */
    assert_true(fake_inb(vm, IO + 0x37) & 0x01);
    assert_int_equal(fake_in(vm, IO + 0x38, 2), 0xFFF0);
    assert_true(fake_in(vm, IO + 0x10, 4) & 0x2000);
}

static void test_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    hw_start(f, 0x0000F78E);
    for (unsigned n = 0; n < 6; n++) {
        unsigned i = n % 4;

        memset(&vm->ram[TXBUF + 0x800 * i], 0x10 + n, 100);
        fake_out(vm, IO + 0x10 + 4 * i, 4, 0x00080000 | (60 + n));
        assert_int_equal(fake_nic.nsent, n + 1);
        assert_int_equal(fake_nic.sent_len[n], 60 + n);
        assert_int_equal(fake_nic.sent[n][0], 0x10 + n);
        assert_int_equal(fake_in(vm, IO + 0x10 + 4 * i, 4) & 0xA000, 0xA000); /* OWN|TOK */
        assert_true(vm->line[IRQ]);
        assert_int_equal(fake_in(vm, IO + 0x3E, 2), 0x0004);
        fake_out(vm, IO + 0x3E, 2, 0x0004);
        assert_false(vm->line[IRQ]);
    }
    /* Masked: the status is there, the line is not. */
    fake_out(vm, IO + 0x3C, 2, 0);
    fake_out(vm, IO + 0x10, 4, 60);
    assert_false(vm->line[IRQ]);
    fake_out(vm, IO + 0x3C, 2, 0x0004);
    assert_true(vm->line[IRQ]);
    /* Too long: dropped but completed. */
    fake_out(vm, IO + 0x14, 4, 1800);
    assert_int_equal(vmm_rtl8139_stats(f->nic)->tx_dropped, 1);
    assert_int_equal(vmm_rtl8139_stats(f->nic)->hostile, 0);
}

static void deliver(uint8_t dst0, size_t len, bool expect)
{
    uint8_t frame[1600];

    memset(frame, 0x77, sizeof(frame));
    memcpy(frame, mac, 6);
    frame[0] = dst0;
    if (dst0 == 0xFF) {
        memset(frame, 0xFF, 6);
    }
    assert_int_equal(fake_nic_deliver(frame, len), expect);
}

/* What rtl8139_rx does for one frame: returns its length (no CRC). */
static unsigned rx_one(struct fixture *f, uint16_t *status)
{
    struct vmm_vm *vm = f->vm;
    uint32_t off = f->cur_rx % 8192;
    uint16_t size;

    assert_int_equal(fake_inb(vm, IO + 0x37) & 0x01, 0);
    *status = (uint16_t)(vm->ram[RING + off] | vm->ram[RING + off + 1] << 8);
    size = (uint16_t)(vm->ram[RING + off + 2] | vm->ram[RING + off + 3] << 8);
    f->cur_rx = (uint16_t)((f->cur_rx + size + 4 + 3) & ~3);
    fake_out(vm, IO + 0x38, 2, (uint16_t)(f->cur_rx - 16));
    fake_out(vm, IO + 0x3E, 2, 0x0011);
    return size - 4u;
}

static void test_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint16_t st;

    /* Receiver off: dropped. */
    deliver(0x52, 60, false);
    hw_start(f, 0x0000008A); /* APM | AB | WRAP, 8 KiB */
    deliver(0x52, 60, true);
    assert_true(vm->line[IRQ]);
    assert_int_equal(fake_in(vm, IO + 0x3A, 2), (4 + 64 + 3) & ~3);
    assert_int_equal(rx_one(f, &st), 60);
    assert_int_equal(st, 0x4001);
    assert_false(vm->line[IRQ]);
    assert_true(fake_inb(vm, IO + 0x37) & 0x01);
    /* Broadcast accepted, other unicast and multicast filtered. */
    deliver(0xFF, 70, true);
    deliver(0x02, 70, false);
    deliver(0x01, 70, false);
    assert_int_equal(rx_one(f, &st), 70);
    assert_int_equal(st, 0x2001);
    /* Multicast through the MAR hash: all ones accepts every group. */
    fake_out(vm, IO + 0x44, 4, 0x0000008E);
    fake_out(vm, IO + 0x08, 4, 0xFFFFFFFF);
    fake_out(vm, IO + 0x0C, 4, 0xFFFFFFFF);
    deliver(0x01, 80, true);
    assert_int_equal(rx_one(f, &st), 80);
    assert_int_equal(st, 0x8001);
    /* Fill the ring without reading: it overflows, the frame is missed. */
    for (unsigned n = 0; n < 10; n++) {
        deliver(0x52, 1514, n < 5);
    }
    assert_true(fake_in(vm, IO + 0x3E, 2) & 0x0010);
    assert_int_equal(fake_in(vm, IO + 0x4C, 4), 5);
    fake_out(vm, IO + 0x4C, 4, 0);
    assert_int_equal(fake_in(vm, IO + 0x4C, 4), 0);
    /* Read them back; the one crossing the end lies contiguous in the slack (WRAP). */
    for (unsigned n = 0; n < 5; n++) {
        uint32_t off = f->cur_rx % 8192;

        assert_int_equal(rx_one(f, &st), 1514);
        assert_int_equal(vm->ram[RING + off + 4 + 1513], 0x77);
    }
    assert_true(fake_inb(vm, IO + 0x37) & 0x01);
    /* The filter uses the address the driver programs into IDR0-5. */
    fake_outb(vm, IO + 0x00, 0x02);
    deliver(0x02, 60, true);
    deliver(0x52, 60, false);
    assert_int_equal(rx_one(f, &st), 60);
    assert_int_equal(st, 0x4001);
    assert_int_equal(vmm_rtl8139_stats(f->nic)->hostile, 0);
}

static void test_rx_nowrap_mode(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint16_t st;

    hw_start(f, 0x0000000A); /* WRAP clear: frames wrap at the ring's end */
    for (unsigned n = 0; n < 12; n++) {
        deliver(0x52, 1000, true);
        assert_int_equal(rx_one(f, &st), 1000);
    }
    /* The 9th frame started at 8 * 1008 = 8064 and wrapped. */
    assert_int_equal(vm->ram[RING + 8064 + 4], 0x52);
    assert_int_equal(vm->ram[RING + 8192], 0);
}

static void test_hostile(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    hw_start(f, 0x0000008A);
    fake_out(vm, IO + 0x20, 4, 0xFFFFFF00);
    fake_out(vm, IO + 0x10, 4, 1000);
    assert_true(fake_log_has("NIC reset"));
    assert_int_equal(vmm_rtl8139_stats(f->nic)->hostile, 1);
    assert_int_equal(fake_inb(vm, IO + 0x37) & 0x0C, 0);
    assert_int_equal(fake_nic.nsent, 0);
    fake_log_clear();
    /* Receive ring outside RAM. */
    hw_start(f, 0x0000008A);
    fake_out(vm, IO + 0x30, 4, FAKE_RAM_SIZE - 100);
    deliver(0x52, 200, false);
    assert_true(fake_log_has("NIC reset"));
    assert_int_equal(vmm_rtl8139_stats(f->nic)->hostile, 2);
    /* Hostile register values: a 64 KiB ring, CAPR garbage, a ring at the top of 4 GiB. */
    hw_start(f, 0x0000188A);
    fake_out(vm, IO + 0x38, 2, 0x1234);
    fake_out(vm, IO + 0x30, 4, 0xFFFFFFF0);
    deliver(0x52, 200, false);
    assert_int_equal(vmm_rtl8139_stats(f->nic)->hostile, 3);
    assert_false(vm->failed);
}

static void test_unplugged(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    assert_int_equal(fake_in(vm, IO + 0x64, 2) & 0x04, 0);
    assert_true(fake_inb(vm, IO + 0x58) & 0x04);
    hw_start(f, 0x0000008A);
    fake_out(vm, IO + 0x10, 4, 60);
    assert_int_equal(vmm_rtl8139_stats(f->nic)->tx_dropped, 1);
    assert_true(fake_in(vm, IO + 0x10, 4) & 0x8000);
}

static void test_reset_hook(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    hw_start(f, 0x0000008A);
    fake_out(vm, IO, 4, 0x11223344);
    fake_reset_devices(vm);
    assert_int_equal(fake_inb(vm, IO), 0x52);
    assert_int_equal(fake_inb(vm, IO + 0x37) & 0x0C, 0);
    assert_int_equal(fake_in(vm, IO + 0x3C, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_and_eeprom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_nowrap_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unplugged, setup_unplugged, teardown),
        cmocka_unit_test_setup_teardown(test_reset_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
