/* Unit tests for the virtio-net model (vmm/devices/virtio_net.c, virtq.c): PCI identity and
 * capabilities, legacy and modern registers, TX and RX through rings in fake guest memory,
 * notification suppression (EVENT_IDX, NO_INTERRUPT), and hostile rings (out-of-RAM addresses,
 * huge lengths, loops, bad indices) that must reset the NIC with a log line, never touch
 * memory outside guest RAM (ASan watches). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/pci_host.h"
#include "../../vmm/devices/virtio_net.h"

#define IO      0xC000
#define MMIO    0xFE000000ull
#define SLOT    3
#define IRQ     11
#define QN      VIRTIO_NET_QSIZE
#define RXQ_PFN 1 /* 0x1000..0x3FFF */
#define TXQ_PFN 4 /* 0x4000..0x6FFF */
#define BUF     0x8000
#define HDR     10

#define F_MAC       (1u << 5)
#define F_STATUS    (1u << 16)
#define F_EVENT_IDX (1u << 29)

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *pci;
    struct vmm_virtio_net *nic;
    uint16_t rx_avail; /* driver-side avail index per queue */
    uint16_t tx_avail;
};

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* ---- guest memory and config helpers ---- */

static void put16(struct vmm_vm *vm, uint64_t a, uint16_t v)
{
    vm->ram[a] = (uint8_t)v;
    vm->ram[a + 1] = (uint8_t)(v >> 8);
}

static void put32(struct vmm_vm *vm, uint64_t a, uint32_t v)
{
    put16(vm, a, (uint16_t)v);
    put16(vm, a + 2, (uint16_t)(v >> 16));
}

static void put64(struct vmm_vm *vm, uint64_t a, uint64_t v)
{
    put32(vm, a, (uint32_t)v);
    put32(vm, a + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(struct vmm_vm *vm, uint64_t a)
{
    return (uint16_t)(vm->ram[a] | vm->ram[a + 1] << 8);
}

static uint32_t get32(struct vmm_vm *vm, uint64_t a)
{
    return get16(vm, a) | (uint32_t)get16(vm, a + 2) << 16;
}

static uint32_t cfg_read(struct vmm_vm *vm, unsigned reg, unsigned size)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    return fake_in(vm, (uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_write(struct vmm_vm *vm, unsigned reg, unsigned size, uint32_t val)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    fake_out(vm, (uint16_t)(0xCFC + (reg & 3)), size, val);
}

/* Legacy ring addresses of a queue at pfn. */
static uint64_t q_desc(unsigned pfn)
{
    return (uint64_t)pfn << 12;
}

static uint64_t q_avail(unsigned pfn)
{
    return q_desc(pfn) + 16 * QN;
}

static uint64_t q_used(unsigned pfn)
{
    return (q_avail(pfn) + 6 + 2 * QN + 4095) & ~4095ull;
}

static void put_desc(struct vmm_vm *vm, uint64_t desc, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    put64(vm, desc + 16 * i, addr);
    put32(vm, desc + 16 * i + 8, len);
    put16(vm, desc + 16 * i + 12, flags);
    put16(vm, desc + 16 * i + 14, next);
}

/* Makes head available in a queue whose avail ring is at `avail`. */
static void make_avail(struct vmm_vm *vm, uint64_t avail, uint16_t *idx, uint16_t head)
{
    put16(vm, avail + 4 + 2 * (*idx % QN), head);
    (*idx)++;
    put16(vm, avail + 2, *idx);
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
    assert_int_equal(vmm_dev_virtio_net_create(f->vm, f->pci, &dc, &f->nic), 0);
    /* The driver enables bus mastering, as pci_set_master does. */
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

/* The legacy driver's bring-up: reset, ACK|DRIVER, features, queue PFNs, DRIVER_OK. */
static void legacy_up(struct fixture *f, uint32_t features)
{
    struct vmm_vm *vm = f->vm;

    fake_outb(vm, IO + 0x12, 0);
    fake_outb(vm, IO + 0x12, 0x03);
    fake_out(vm, IO + 0x04, 4, features);
    fake_out(vm, IO + 0x0E, 2, 0);
    fake_out(vm, IO + 0x08, 4, RXQ_PFN);
    fake_out(vm, IO + 0x0E, 2, 1);
    fake_out(vm, IO + 0x08, 4, TXQ_PFN);
    fake_outb(vm, IO + 0x12, 0x07);
    f->rx_avail = 0;
    f->tx_avail = 0;
}

static void post_rx(struct fixture *f, uint16_t i, uint32_t len)
{
    put_desc(f->vm, q_desc(RXQ_PFN), i, BUF + 0x800ull * i, len, 2 /* WRITE */, 0);
    make_avail(f->vm, q_avail(RXQ_PFN), &f->rx_avail, i);
}

/* A frame of len bytes (after a HDR-byte header) in one TX descriptor at slot i. */
static void post_tx(struct fixture *f, uint16_t i, size_t len, uint8_t fill)
{
    uint64_t a = BUF + 0x800ull * (i % 8);

    memset(&f->vm->ram[a], 0, HDR);
    memset(&f->vm->ram[a + HDR], fill, len);
    put_desc(f->vm, q_desc(TXQ_PFN), i, a, (uint32_t)(HDR + len), 0, 0);
    make_avail(f->vm, q_avail(TXQ_PFN), &f->tx_avail, i);
}

/* ---- tests ---- */

static void test_pci_identity(void **state)
{
    struct fixture *f = *state;
    unsigned cap;
    unsigned types = 0;

    assert_int_equal(cfg_read(f->vm, 0x00, 4), 0x10001AF4);
    assert_int_equal(cfg_read(f->vm, 0x2C, 4), 0x00011AF4);
    assert_int_equal(cfg_read(f->vm, 0x08, 4) >> 8, 0x020000);
    assert_int_equal(cfg_read(f->vm, 0x3C, 1), IRQ);
    assert_int_equal(cfg_read(f->vm, 0x3D, 1), 1);
    assert_int_equal(cfg_read(f->vm, 0x10, 4), IO | 1);
    assert_int_equal(cfg_read(f->vm, 0x14, 4), (uint32_t)MMIO);
    assert_true(cfg_read(f->vm, 0x06, 2) & 0x10);
    /* Four vendor capabilities: common, ISR, device, notify, all in BAR1. */
    cap = cfg_read(f->vm, 0x34, 1);
    for (unsigned i = 0; cap != 0 && i < 8; i++) {
        assert_int_equal(cfg_read(f->vm, cap, 1), 0x09);
        assert_int_equal(cfg_read(f->vm, cap + 4, 1), 1);
        types |= 1u << cfg_read(f->vm, cap + 3, 1);
        if (cfg_read(f->vm, cap + 3, 1) == 2) {
            assert_int_equal(cfg_read(f->vm, cap + 16, 4), 4);
        }
        cap = cfg_read(f->vm, cap + 1, 1);
    }
    assert_int_equal(types, 0x1E);
    /* BAR sizing. */
    cfg_write(f->vm, 0x10, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 0x10, 4), 0xFFFFFFE1);
    cfg_write(f->vm, 0x10, 4, IO);
    assert_string_equal(fake_nic.name, "eth0");
    assert_memory_equal(fake_nic.mac, mac, 6);
}

static void test_legacy_registers(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint32_t hf = fake_in(vm, IO, 4);

    assert_true(hf & F_MAC);
    assert_true(hf & F_STATUS);
    assert_true(hf & F_EVENT_IDX);
    fake_out(vm, IO + 0x0E, 2, 0);
    assert_int_equal(fake_in(vm, IO + 0x0C, 2), QN);
    fake_out(vm, IO + 0x0E, 2, 2);
    assert_int_equal(fake_in(vm, IO + 0x0C, 2), 0);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(fake_inb(vm, IO + 0x14 + i), mac[i]);
    }
    assert_int_equal(fake_in(vm, IO + 0x1A, 2), 1); /* link up */
    /* Guest features are masked with what is offered. */
    fake_out(vm, IO + 0x04, 4, 0xFFFFFFFF);
    assert_int_equal(fake_in(vm, IO + 0x04, 4), hf);
    fake_out(vm, IO + 0x0E, 2, 1);
    fake_out(vm, IO + 0x08, 4, TXQ_PFN);
    assert_int_equal(fake_in(vm, IO + 0x08, 4), TXQ_PFN);
    fake_outb(vm, IO + 0x12, 0x07);
    assert_int_equal(fake_inb(vm, IO + 0x12), 0x07);
    /* Status 0 resets: queue gone. */
    fake_outb(vm, IO + 0x12, 0);
    assert_int_equal(fake_in(vm, IO + 0x08, 4), 0);
    assert_int_equal(fake_inb(vm, IO + 0x12), 0);
    /* Other ports of the window are not decoded, IO off means nothing decodes. */
    cfg_write(vm, 0x04, 2, 0x0006);
    assert_int_equal(fake_in(vm, IO, 4), 0xFFFFFFFF);
    cfg_write(vm, 0x04, 2, 0x0007);
    assert_int_equal(fake_in(vm, IO, 4), hf);
}

static void test_legacy_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);

    legacy_up(f, F_MAC | F_STATUS);
    post_tx(f, 0, 60, 0xAB);
    fake_out(vm, IO + 0x10, 2, 1); /* kick TX */
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.sent_len[0], 60);
    assert_int_equal(fake_nic.sent[0][0], 0xAB);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 1);
    assert_int_equal(get32(vm, q_used(TXQ_PFN) + 4), 0);
    assert_true(vm->line[IRQ]);
    assert_int_equal(fake_inb(vm, IO + 0x13), 1);
    assert_false(vm->line[IRQ]);
    assert_int_equal(fake_inb(vm, IO + 0x13), 0);
    /* Without a kick, the poll before entry takes what is there, all of it. */
    post_tx(f, 1, 100, 0x11);
    post_tx(f, 2, 1514, 0x22);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 3);
    assert_int_equal(fake_nic.sent_len[2], 1514);
    assert_int_equal(st->tx_frames, 3);
    /* NO_INTERRUPT: the driver does not want TX interrupts. */
    fake_inb(vm, IO + 0x13);
    put16(vm, q_avail(TXQ_PFN), 1);
    post_tx(f, 3, 60, 0x33);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 4);
    assert_false(vm->line[IRQ]);
    /* Too long or too short: dropped and counted, the buffer comes back. */
    post_tx(f, 4, 1600, 0x44);
    post_tx(f, 5, 2, 0x55);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 4);
    assert_int_equal(st->tx_dropped, 2);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 6);
    /* No bus mastering: no DMA. */
    cfg_write(vm, 0x04, 2, 0x0003);
    post_tx(f, 6, 60, 0x66);
    fake_poll(vm);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 6);
    cfg_write(vm, 0x04, 2, 0x0007);
    fake_poll(vm);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 7);
    assert_int_equal(st->hostile, 0);
}

static void test_legacy_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    uint8_t frame[64];

    for (unsigned i = 0; i < sizeof(frame); i++) {
        frame[i] = (uint8_t)i;
    }
    /* Before DRIVER_OK frames are dropped. */
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    legacy_up(f, F_MAC | F_STATUS);
    post_rx(f, 0, 1600);
    post_rx(f, 1, 1600);
    assert_true(fake_nic_deliver(frame, sizeof(frame)));
    assert_true(fake_nic_deliver(frame, 60));
    assert_false(fake_nic_deliver(frame, 60)); /* ring empty */
    assert_int_equal(st->rx_frames, 2);
    assert_int_equal(st->rx_dropped, 2);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 2);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4), 0);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 8), HDR + 64);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 16), HDR + 60);
    assert_memory_equal(&vm->ram[BUF + HDR], frame, 64);
    for (unsigned i = 0; i < HDR; i++) {
        assert_int_equal(vm->ram[BUF + i], 0);
    }
    /* One interrupt for the burst, at the poll. */
    assert_false(vm->line[IRQ]);
    fake_poll(vm);
    assert_true(vm->line[IRQ]);
    assert_int_equal(vm->rises[IRQ], 1);
    assert_int_equal(fake_inb(vm, IO + 0x13), 1);
    /* A buffer too small for the frame comes back empty. */
    post_rx(f, 2, 20);
    assert_false(fake_nic_deliver(frame, 64));
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 8 * 2 + 4), 0);
    assert_int_equal(st->hostile, 0);
}

static void test_event_idx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[60] = {0};

    legacy_up(f, F_MAC | F_EVENT_IDX);
    /* used_event = 2: interrupt only once the used index passes 2 (the 3rd buffer). */
    put16(vm, q_avail(RXQ_PFN) + 4 + 2 * QN, 2);
    for (uint16_t i = 0; i < 4; i++) {
        post_rx(f, i, 1600);
    }
    assert_true(fake_nic_deliver(frame, 60));
    fake_poll(vm);
    assert_false(vm->line[IRQ]);
    assert_true(fake_nic_deliver(frame, 60));
    fake_poll(vm);
    assert_false(vm->line[IRQ]);
    assert_true(fake_nic_deliver(frame, 60));
    assert_true(fake_nic_deliver(frame, 60));
    fake_poll(vm);
    assert_true(vm->line[IRQ]);
    fake_inb(vm, IO + 0x13);
    /* TX: the device asks for a kick at the next buffer after what it took. */
    post_tx(f, 0, 60, 1);
    post_tx(f, 1, 60, 2);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 2);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 4 + 8 * QN), 2);
}

/* A TX index that wraps the 16-bit space: 70000 frames through a 256-entry ring. */
static void test_index_wraparound(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    legacy_up(f, F_MAC);
    put16(vm, q_avail(TXQ_PFN), 1); /* no interrupts */
    for (unsigned n = 0; n < 70000; n++) {
        post_tx(f, (uint16_t)(n % QN), 60, (uint8_t)n);
        if (n % 3 == 2) {
            fake_out(vm, IO + 0x10, 2, 1);
        }
    }
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->tx_frames, 70000);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), (uint16_t)70000);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

/* Each hostile ring resets the NIC with a log line; nothing outside guest RAM is touched. */
static void expect_hostile(struct fixture *f, unsigned before)
{
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, before + 1);
    assert_true(fake_log_has("NIC reset"));
    assert_int_equal(fake_inb(f->vm, IO + 0x12), 0x40);
    assert_int_equal(fake_in(f->vm, IO + 0x08, 4), 0);
    fake_log_clear();
}

static void test_hostile_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint64_t d = q_desc(TXQ_PFN);
    unsigned h = 0;

    /* Buffer outside guest RAM. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, 0x100000000ull, 100, 0, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* A kick after the reset does nothing. */
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 0);
    /* Huge length. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 0xFFFFFFFFu, 0, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* Address + length wraps the 64-bit space. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, 0xFFFFFFFFFFFFFF00ull, 0x200, 0, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_poll(vm);
    expect_hostile(f, h++);
    /* Descriptor loop: 0 -> 1 -> 0. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 10, 1, 1);
    put_desc(vm, d, 1, BUF, 10, 1, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* next out of range. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 10, 1, 999);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* head out of range. */
    legacy_up(f, F_MAC);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 4000);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* avail index ahead by more than the ring. */
    legacy_up(f, F_MAC);
    put16(vm, q_avail(TXQ_PFN) + 2, QN + 1);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* Indirect descriptors are not offered. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 16, 4, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* A device-writable buffer in the TX queue. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 100, 2, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    /* The ring itself beyond RAM (PFN far out). */
    legacy_up(f, F_MAC);
    fake_out(vm, IO + 0x0E, 2, 1);
    fake_out(vm, IO + 0x08, 4, 0x100000);
    fake_out(vm, IO + 0x10, 2, 1);
    expect_hostile(f, h++);
    assert_int_equal(fake_nic.nsent, 0);
    /* After a proper reset the NIC works again. */
    legacy_up(f, F_MAC);
    post_tx(f, 0, 60, 0x77);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
}

static void test_hostile_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint64_t d = q_desc(RXQ_PFN);
    uint8_t frame[100] = {0};
    unsigned h = 0;

    /* RX buffer that runs off the end of RAM. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, FAKE_RAM_SIZE - 50, 2000, 2, 0);
    make_avail(vm, q_avail(RXQ_PFN), &f->rx_avail, 0);
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    expect_hostile(f, h++);
    /* A device-readable buffer in the RX queue. */
    legacy_up(f, F_MAC);
    put_desc(vm, d, 0, BUF, 2000, 0, 0);
    make_avail(vm, q_avail(RXQ_PFN), &f->rx_avail, 0);
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    expect_hostile(f, h++);
    /* A long chain of tiny segments (more than the model takes). */
    legacy_up(f, F_MAC);
    for (uint16_t i = 0; i < 100; i++) {
        put_desc(vm, d, i, BUF + i, 1, 3, (uint16_t)(i + 1));
    }
    make_avail(vm, q_avail(RXQ_PFN), &f->rx_avail, 0);
    assert_false(fake_nic_deliver(frame, sizeof(frame)));
    expect_hostile(f, h++);
    /* Frames too long from the host are dropped, not written. */
    legacy_up(f, F_MAC);
    post_rx(f, 0, 1600);
    {
        uint8_t big[VMM_NIC_FRAME_MAX + 1] = {0};

        assert_false(fake_nic_deliver(big, sizeof(big)));
    }
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 0);
}

/* ---- modern transport (BAR1 MMIO) ---- */

static uint32_t mrd(struct vmm_vm *vm, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    assert_int_equal(fake_mmio(vm, MMIO + off, size, false, &v), VMM_HANDLED);
    return (uint32_t)v;
}

static void mwr(struct vmm_vm *vm, uint64_t off, unsigned size, uint64_t v)
{
    assert_int_equal(fake_mmio(vm, MMIO + off, size, true, &v), VMM_HANDLED);
}

static void modern_queue(struct vmm_vm *vm, unsigned q, uint16_t size, uint64_t desc,
                         uint64_t avail, uint64_t used)
{
    mwr(vm, 0x16, 2, q);
    assert_int_equal(mrd(vm, 0x18, 2), QN);
    mwr(vm, 0x18, 2, size);
    mwr(vm, 0x20, 4, (uint32_t)desc);
    mwr(vm, 0x24, 4, desc >> 32);
    mwr(vm, 0x28, 4, (uint32_t)avail);
    mwr(vm, 0x2C, 4, avail >> 32);
    mwr(vm, 0x30, 4, (uint32_t)used);
    mwr(vm, 0x34, 4, used >> 32);
    assert_int_equal(mrd(vm, 0x1E, 2), q);
    mwr(vm, 0x1C, 2, 1);
    assert_int_equal(mrd(vm, 0x1C, 2), 1);
}

static void test_modern(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t frame[60];
    uint16_t rxa = 0;
    uint16_t txa = 0;

    memset(frame, 0x5A, sizeof(frame));
    mwr(vm, 0x14, 1, 0);
    mwr(vm, 0x14, 1, 3);
    mwr(vm, 0x00, 4, 1);
    assert_int_equal(mrd(vm, 0x04, 4), 1); /* VERSION_1 */
    mwr(vm, 0x00, 4, 0);
    assert_true(mrd(vm, 0x04, 4) & F_MAC);
    mwr(vm, 0x08, 4, 0);
    mwr(vm, 0x0C, 4, F_MAC);
    mwr(vm, 0x08, 4, 1);
    mwr(vm, 0x0C, 4, 1);
    mwr(vm, 0x14, 1, 0x0B);
    assert_int_equal(mrd(vm, 0x14, 1), 0x0B);
    assert_int_equal(mrd(vm, 0x12, 2), 2);
    assert_int_equal(mrd(vm, 0x10, 2), 0xFFFF);
    /* 8-entry queues: RX at 0x1000, TX at 0x2000. */
    modern_queue(vm, 0, 8, 0x1000, 0x1100, 0x1200);
    modern_queue(vm, 1, 8, 0x2000, 0x2100, 0x2200);
    mwr(vm, 0x14, 1, 0x0F);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(mrd(vm, 0x2000 + i, 1), mac[i]);
    }
    assert_int_equal(mrd(vm, 0x2006, 2), 1);
    /* TX: 12-byte header. */
    memset(&vm->ram[BUF], 0, 12);
    memset(&vm->ram[BUF + 12], 0xC3, 60);
    put_desc(vm, 0x2000, 0, BUF, 12, 1, 1);
    put_desc(vm, 0x2000, 1, BUF + 12, 60, 0, 0);
    put16(vm, 0x2100 + 4, 0);
    put16(vm, 0x2100 + 2, ++txa);
    mwr(vm, 0x3000 + 4, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.sent_len[0], 60);
    assert_int_equal(fake_nic.sent[0][0], 0xC3);
    assert_int_equal(get16(vm, 0x2200 + 2), 1);
    assert_true(vm->line[IRQ]);
    assert_int_equal(mrd(vm, 0x1000, 1), 1);
    assert_false(vm->line[IRQ]);
    /* RX: header with num_buffers = 1. */
    put_desc(vm, 0x1000, 0, BUF + 0x1000, 1600, 2, 0);
    put16(vm, 0x1100 + 4, 0);
    put16(vm, 0x1100 + 2, ++rxa);
    assert_true(fake_nic_deliver(frame, sizeof(frame)));
    assert_int_equal(get32(vm, 0x1200 + 8), 72);
    assert_int_equal(get16(vm, BUF + 0x1000 + 10), 1);
    assert_memory_equal(&vm->ram[BUF + 0x1000 + 12], frame, 60);
    fake_poll(vm);
    assert_true(vm->line[IRQ]);
    /* INTx disable masks the line. */
    cfg_write(vm, 0x04, 2, 0x0407);
    fake_poll(vm);
    assert_false(vm->line[IRQ]);
    cfg_write(vm, 0x04, 2, 0x0007);
    fake_poll(vm);
    assert_true(vm->line[IRQ]);
    /* A bad queue size is refused; enabled queues are read-only. */
    mwr(vm, 0x16, 2, 1);
    mwr(vm, 0x18, 2, 3);
    assert_int_equal(mrd(vm, 0x18, 2), 8);
    /* Device reset through the core's reset hook. */
    fake_reset_devices(vm);
    assert_int_equal(mrd(vm, 0x14, 1), 0);
    assert_int_equal(mrd(vm, 0x1C, 2), 0);
    assert_false(vm->line[IRQ]);
}

static void test_unplugged(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    assert_false(fake_nic.attached);
    assert_int_equal(fake_in(vm, IO + 0x1A, 2), 0); /* link down */
    legacy_up(f, F_MAC);
    post_tx(f, 0, 60, 1);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->tx_dropped, 1);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unplugged, setup_unplugged, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
