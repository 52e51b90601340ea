/* Unit tests for the NE2000 PCI model (vmm/devices/ne2k.c): PCI identity, the reset port, the
 * station PROM read both ways (Linux's word-mode byte reads, Petrel's byte mode), register
 * pages, transmit through remote DMA, receive into the card ring read back the way lib8390
 * does (with wrap), overflow, filters, and hostile ring registers (reset + log). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/ne2k.h"
#include "../../vmm/devices/pci_host.h"

#define IO   0xC000
#define SLOT 4
#define IRQ  10

#define TX_START 0x40
#define RX_START 0x4C
#define RX_STOP  0x80

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *pci;
    struct vmm_ne2k *nic;
};

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03};

static uint32_t cfg_read(struct vmm_vm *vm, unsigned reg, unsigned size)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    return fake_in(vm, (uint16_t)(0xCFC + (reg & 3)), size);
}

static int setup_common(void **state, bool backend)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_nic_dev_config dc = {.name = "eth1", .slot = SLOT, .irq = IRQ, .io_base = IO};

    fake_host_install(0);
    fake_nic_enable(backend);
    memcpy(dc.mac, mac, 6);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pci_host_create(f->vm, &f->pci), 0);
    assert_int_equal(vmm_dev_ne2k_create(f->vm, f->pci, &dc, &f->nic), 0);
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

static void out(struct vmm_vm *vm, unsigned reg, uint8_t v)
{
    fake_outb(vm, (uint16_t)(IO + reg), v);
}

static uint8_t in(struct vmm_vm *vm, unsigned reg)
{
    return fake_inb(vm, (uint16_t)(IO + reg));
}

/* lib8390's NS8390_init(dev, 1) with ne2k-pci's pages. */
static void ns8390_init(struct vmm_vm *vm)
{
    out(vm, 0x00, 0x21);
    out(vm, 0x0E, 0x49);
    out(vm, 0x0A, 0);
    out(vm, 0x0B, 0);
    out(vm, 0x0C, 0x20);
    out(vm, 0x0D, 0x02);
    out(vm, 0x04, TX_START);
    out(vm, 0x01, RX_START);
    out(vm, 0x03, RX_STOP - 1);
    out(vm, 0x02, RX_STOP);
    out(vm, 0x07, 0xFF);
    out(vm, 0x0F, 0x00);
    out(vm, 0x00, 0x61);
    for (unsigned i = 0; i < 6; i++) {
        out(vm, 1 + i, mac[i]);
    }
    for (unsigned i = 0; i < 8; i++) {
        out(vm, 8 + i, 0);
    }
    out(vm, 0x07, RX_START);
    out(vm, 0x00, 0x21);
    out(vm, 0x07, 0xFF);
    out(vm, 0x0F, 0x3F);
    out(vm, 0x00, 0x22);
    out(vm, 0x0D, 0x00);
    out(vm, 0x0C, 0x04);
}

/* Remote DMA read of len bytes at card address `at`, 32-bit string IO as ne2k-pci does. */
static void block_input(struct vmm_vm *vm, uint16_t at, uint8_t *buf, size_t len)
{
    size_t n = (len + 3) & ~3u;
    uint8_t tmp[2048];

    out(vm, 0x00, 0x22);
    out(vm, 0x0A, (uint8_t)n);
    out(vm, 0x0B, (uint8_t)(n >> 8));
    out(vm, 0x08, (uint8_t)at);
    out(vm, 0x09, (uint8_t)(at >> 8));
    out(vm, 0x00, 0x0A);
    assert_int_equal(fake_io_string(vm, IO + 0x10, 4, false, tmp, (uint32_t)(n / 4)), 0);
    memcpy(buf, tmp, len);
    assert_true(in(vm, 0x07) & 0x40);
    out(vm, 0x07, 0x40);
}

static void block_output(struct vmm_vm *vm, uint16_t at, const uint8_t *buf, size_t len)
{
    size_t n = (len + 3) & ~3u;
    uint8_t tmp[2048] = {0};

    memcpy(tmp, buf, len);
    out(vm, 0x00, 0x22);
    out(vm, 0x07, 0x40);
    out(vm, 0x0A, (uint8_t)n);
    out(vm, 0x0B, (uint8_t)(n >> 8));
    out(vm, 0x08, (uint8_t)at);
    out(vm, 0x09, (uint8_t)(at >> 8));
    out(vm, 0x00, 0x12);
    assert_int_equal(fake_io_string(vm, IO + 0x10, 4, true, tmp, (uint32_t)(n / 4)), 0);
    assert_true(in(vm, 0x07) & 0x40);
    out(vm, 0x07, 0x40);
}

static void test_identity_reset_prom(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t prom[32];

    assert_int_equal(cfg_read(vm, 0x00, 4), 0x802910EC);
    assert_int_equal(cfg_read(vm, 0x10, 4), IO | 1);
    assert_int_equal(cfg_read(vm, 0x3C, 1), IRQ);
    /* ne2k-pci's reset handshake. */
    out(vm, 0x07, 0xFF);
    out(vm, 0x1F, in(vm, 0x1F));
    assert_true(in(vm, 0x07) & 0x80);
    out(vm, 0x07, 0x80);
    /* Linux: word mode, 32 byte reads, every other PROM byte. */
    out(vm, 0x00, 0x21);
    out(vm, 0x0E, 0x49);
    out(vm, 0x0A, 32);
    out(vm, 0x0B, 0);
    out(vm, 0x08, 0);
    out(vm, 0x09, 0);
    out(vm, 0x00, 0x0A);
    for (unsigned i = 0; i < 32; i++) {
        prom[i] = in(vm, 0x10);
    }
    assert_memory_equal(prom, mac, 6);
    assert_int_equal(prom[14], 0x57);
    /* Petrel's driver: byte mode, doubled bytes, 'W' 'W' at 28 and 30. */
    out(vm, 0x0E, 0x48);
    out(vm, 0x0A, 32);
    out(vm, 0x08, 0);
    out(vm, 0x09, 0);
    out(vm, 0x00, 0x0A);
    for (unsigned i = 0; i < 32; i++) {
        prom[i] = in(vm, 0x10);
    }
    assert_int_equal(prom[0], mac[0]);
    assert_int_equal(prom[1], mac[0]);
    assert_int_equal(prom[10], mac[5]);
    assert_int_equal(prom[28], 0x57);
    assert_int_equal(prom[30], 0x57);
    assert_true(in(vm, 0x07) & 0x40);
    /* RTL8029 ID, page 1 and 2 registers. */
    ns8390_init(vm);
    assert_int_equal(in(vm, 0x0A), 0x50);
    assert_int_equal(in(vm, 0x0B), 0x43);
    out(vm, 0x00, 0x62);
    assert_int_equal(in(vm, 0x01), mac[0]);
    assert_int_equal(in(vm, 0x07), RX_START);
    out(vm, 0x00, 0xA2);
    assert_int_equal(in(vm, 0x01), RX_START);
    assert_int_equal(in(vm, 0x02), RX_STOP);
    assert_int_equal(in(vm, 0x0F), 0x3F);
    out(vm, 0x00, 0x22);
}

static void test_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[100];

    ns8390_init(vm);
    for (unsigned i = 0; i < sizeof(frame); i++) {
        frame[i] = (uint8_t)(i * 3);
    }
    block_output(vm, TX_START << 8, frame, sizeof(frame));
    /* NS8390_trigger_send. */
    out(vm, 0x00, 0x20);
    assert_int_equal(in(vm, 0x00) & 0x04, 0);
    out(vm, 0x05, sizeof(frame));
    out(vm, 0x06, 0);
    out(vm, 0x04, TX_START);
    out(vm, 0x00, 0x26);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.sent_len[0], sizeof(frame));
    assert_memory_equal(fake_nic.sent[0], frame, sizeof(frame));
    assert_int_equal(in(vm, 0x00) & 0x04, 0);
    assert_int_equal(in(vm, 0x07) & 0x02, 0x02);
    assert_int_equal(in(vm, 0x04) & 0x01, 0x01);
    assert_true(vm->line[IRQ]);
    out(vm, 0x07, 0x02);
    assert_false(vm->line[IRQ]);
    /* Stopped: TXP does nothing. */
    out(vm, 0x00, 0x21);
    out(vm, 0x00, 0x25);
    assert_int_equal(fake_nic.nsent, 1);
}

/* lib8390's ei_receive for one frame; returns its length (0: ring empty). */
static size_t ei_receive(struct vmm_vm *vm, uint8_t *buf)
{
    uint8_t hdr[4];
    uint8_t curr;
    uint8_t this_frame;
    unsigned next_frame;
    size_t len;

    out(vm, 0x00, 0x62);
    curr = in(vm, 0x07);
    out(vm, 0x00, 0x22);
    this_frame = (uint8_t)(in(vm, 0x03) + 1);
    if (this_frame >= RX_STOP) {
        this_frame = RX_START;
    }
    if (this_frame == curr) {
        return 0;
    }
    block_input(vm, (uint16_t)(this_frame << 8), hdr, 4);
    assert_int_equal(hdr[0] & 0x0F, 0x01);
    len = (size_t)(hdr[2] | hdr[3] << 8) - 4;
    /* lib8390's check of the next page pointer (it drops the frame with an rx error when the
     * chip's pointer is none of these). */
    next_frame = this_frame + 1 + (unsigned)((len + 4) >> 8);
    assert_true(hdr[1] == next_frame || hdr[1] == next_frame + 1 ||
                hdr[1] == next_frame - (RX_STOP - RX_START) ||
                hdr[1] == next_frame + 1 - (RX_STOP - RX_START));
    block_input(vm, (uint16_t)((this_frame << 8) + 4), buf, len);
    /* As lib8390 does: BNRY = next - 1, not wrapped (PSTART - 1 after a wrap). */
    out(vm, 0x03, (uint8_t)(hdr[1] - 1));
    return len;
}

static void test_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[1514];
    uint8_t got[1600];
    static const uint8_t bcast[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

    /* Stopped: dropped. */
    memcpy(frame, mac, 6);
    assert_false(fake_nic_deliver(frame, 60));
    ns8390_init(vm);
    for (unsigned i = 6; i < sizeof(frame); i++) {
        frame[i] = (uint8_t)i;
    }
    /* A short frame arrives padded to 60. */
    assert_true(fake_nic_deliver(frame, 42));
    assert_true(vm->line[IRQ]);
    assert_int_equal(ei_receive(vm, got), 60);
    assert_memory_equal(got, frame, 42);
    assert_int_equal(got[59], 0);
    out(vm, 0x07, 0x01);
    assert_false(vm->line[IRQ]);
    assert_int_equal(ei_receive(vm, got), 0);
    /* Filters: other unicast and multicast dropped, broadcast taken. */
    frame[0] = 0x02;
    assert_false(fake_nic_deliver(frame, 60));
    frame[0] = 0x01;
    assert_false(fake_nic_deliver(frame, 60));
    memcpy(frame, bcast, 6);
    assert_true(fake_nic_deliver(frame, 60));
    assert_int_equal(ei_receive(vm, got), 60);
    memcpy(frame, mac, 6);
    /* Many full frames: the ring wraps (remote DMA wraps at PSTOP) and data stays intact. */
    for (unsigned n = 0; n < 40; n++) {
        frame[6] = (uint8_t)n;
        assert_true(fake_nic_deliver(frame, sizeof(frame)));
        assert_int_equal(ei_receive(vm, got), sizeof(frame));
        assert_memory_equal(got, frame, sizeof(frame));
    }
    /* Frames whose header + data end on a page boundary (252, 508, ... bytes): the chip keeps
     * room for the CRC, so the next pointer is one page on (lib8390 checks it). */
    for (unsigned n = 0; n < 12; n++) {
        size_t len = 252 + 256 * (n % 5);

        frame[6] = (uint8_t)n;
        assert_true(fake_nic_deliver(frame, len));
        assert_int_equal(ei_receive(vm, got), len);
        assert_memory_equal(got, frame, len);
    }
    /* Not read: the ring fills and overflows; what was taken stays intact (the receiver never
     * writes up to BNRY, whatever the frame sizes). */
    {
        unsigned ok = 0;
        unsigned read = 0;

        for (unsigned n = 0; n < 60; n++) {
            size_t len = n % 3 == 0 ? sizeof(frame) : 1270 + 2 * n;

            frame[6] = (uint8_t)n;
            if (fake_nic_deliver(frame, len)) {
                ok++;
            }
        }
        assert_true(ok > 0 && ok < 60);
        assert_true(in(vm, 0x07) & 0x10);
        assert_int_equal(vmm_ne2k_stats(f->nic)->rx_dropped, 60 - ok + 1);
        for (size_t len; (len = ei_receive(vm, got)) != 0; read++) {
            assert_true(read < ok);
            assert_memory_equal(got + 7, frame + 7, len - 7);
        }
        assert_int_equal(read, ok);
    }
    assert_int_equal(vmm_ne2k_stats(f->nic)->hostile, 0);
}

static void test_hostile(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[60] = {0};

    memcpy(frame, mac, 6);
    /* A ring above the card's RAM. */
    ns8390_init(vm);
    out(vm, 0x02, 0xFF);
    out(vm, 0x00, 0x62);
    out(vm, 0x07, 0xF0);
    out(vm, 0x00, 0x22);
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    assert_true(fake_log_has("NIC reset"));
    assert_int_equal(vmm_ne2k_stats(f->nic)->hostile, 1);
    fake_log_clear();
    /* PSTART above PSTOP. */
    ns8390_init(vm);
    out(vm, 0x01, 0x70);
    out(vm, 0x02, 0x50);
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    assert_int_equal(vmm_ne2k_stats(f->nic)->hostile, 2);
    /* A transmit area running off the card. */
    ns8390_init(vm);
    out(vm, 0x04, 0xBF);
    out(vm, 0x05, 0x00);
    out(vm, 0x06, 0x06);
    out(vm, 0x00, 0x26);
    assert_int_equal(vmm_ne2k_stats(f->nic)->hostile, 3);
    assert_int_equal(fake_nic.nsent, 0);
    /* Remote DMA anywhere in the 64 KiB space: reads float, writes outside RAM vanish. */
    ns8390_init(vm);
    out(vm, 0x0A, 0xFF);
    out(vm, 0x0B, 0xFF);
    out(vm, 0x08, 0xF0);
    out(vm, 0x09, 0xFF);
    out(vm, 0x00, 0x12);
    for (unsigned i = 0; i < 100; i++) {
        fake_out(vm, IO + 0x10, 4, 0xDEADBEEF);
    }
    out(vm, 0x08, 0xF0);
    out(vm, 0x09, 0xFF);
    out(vm, 0x00, 0x0A);
    assert_int_equal(fake_in(vm, IO + 0x10, 4), 0xFFFFFFFF);
    assert_false(vm->failed);
}

static void test_unplugged(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[60] = {0};

    ns8390_init(vm);
    block_output(vm, TX_START << 8, frame, sizeof(frame));
    out(vm, 0x05, 60);
    out(vm, 0x06, 0);
    out(vm, 0x04, TX_START);
    out(vm, 0x00, 0x26);
    assert_int_equal(vmm_ne2k_stats(f->nic)->tx_dropped, 1);
    assert_true(in(vm, 0x07) & 0x02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_reset_prom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unplugged, setup_unplugged, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
