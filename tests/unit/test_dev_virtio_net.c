/* Unit tests for the virtio-net model (vmm/devices/virtio_net.c, virtq.c): PCI identity and
 * capabilities, legacy and modern registers, TX and RX through rings in fake guest memory,
 * notification suppression (EVENT_IDX, NO_INTERRUPT), and hostile rings (out-of-RAM addresses,
 * huge lengths, loops, bad indices) that must reset the NIC with a log line, never touch
 * memory outside guest RAM (ASan watches). Checksum offloads: DATA_VALID only on received
 * TCP/UDP-over-IPv4 frames whose checksum is right, NEEDS_CSUM filled in on transmit, and
 * hostile TX headers dropping just their frame; TCPv4 segmentation (TSO4) of super-frames up
 * to 64 KiB into checked segments, and hostile super-frames. MSI-X (with an MSI route, as a
 * VM with APICs has): the capability in the chain, vectors assigned through the legacy
 * registers (which move the device config by 4) and the modern common config (out-of-range
 * numbers read back NO_VECTOR), queue interrupts as their vector's message and never INTx,
 * masked vectors pending until unmasked, and resets clearing the assignments. Offloads through a
 * host that takes metadata (the fake's nic_send_off / nic_set_offloads): super-frames and
 * partial checksums passed on whole after the same checks, GUEST_TSO4 offered and the receive
 * caps following negotiation and resets, received metadata written into the header (GSO
 * super-frames across long "big packet" chains) and metadata the guest did not negotiate
 * dropped. */
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

#define F_CSUM       (1u << 0)
#define F_GUEST_CSUM (1u << 1)
#define F_MTU        (1u << 3)
#define F_HOST_TSO4  (1u << 11)
#define F_MAC        (1u << 5)
#define F_GUEST_TSO4 (1u << 7)
#define F_MRG_RXBUF  (1u << 15)
#define F_STATUS     (1u << 16)
#define F_EVENT_IDX  (1u << 29)

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *pci;
    struct vmm_virtio_net *nic;
    uint16_t rx_avail; /* driver-side avail index per queue */
    uint16_t tx_avail;
    unsigned nmsi; /* MSIs the route got, and the last one */
    uint64_t msi_addr;
    uint32_t msi_data;
};

/* The machine's MSI route, recorded. */
static bool msi_route(void *ctx, uint64_t addr, uint32_t data)
{
    struct fixture *f = ctx;

    f->nmsi++;
    f->msi_addr = addr;
    f->msi_data = data;
    return true;
}

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

/* A VM with the NIC: a backend or none, an MSI route, a host that takes offload metadata, and
 * the nic line's offload=off. */
static int setup_nic(void **state, bool backend, bool msi, bool offloads, bool no_offload)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_nic_dev_config dc = {.name = "eth0",
                                    .slot = SLOT,
                                    .irq = IRQ,
                                    .io_base = IO,
                                    .mmio_base = MMIO,
                                    .no_offload = no_offload};

    fake_host_install(0);
    fake_nic_enable(backend);
    fake_nic_offloads(offloads);
    memcpy(dc.mac, mac, 6);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pci_host_create(f->vm, &f->pci), 0);
    if (msi) {
        vmm_pci_host_set_msi(f->pci, msi_route, f);
    }
    assert_int_equal(vmm_dev_virtio_net_create(f->vm, f->pci, &dc, &f->nic), 0);
    /* The driver enables bus mastering, as pci_set_master does. */
    cfg_write(f->vm, 0x04, 2, 0x0007);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_nic(state, true, false, false, false);
}

static int setup_msix(void **state)
{
    return setup_nic(state, true, true, false, false);
}

static int setup_unplugged(void **state)
{
    return setup_nic(state, false, false, false, false);
}

/* A host that takes offload metadata (nic_send_off, nic_set_offloads). */
static int setup_off(void **state)
{
    return setup_nic(state, true, false, true, false);
}

/* `nic = virtio,offload=off` on a host that takes offloads. */
static int setup_no_offload(void **state)
{
    return setup_nic(state, true, false, true, true);
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
    unsigned notifies = 0;

    assert_int_equal(cfg_read(f->vm, 0x00, 4), 0x10001AF4);
    assert_int_equal(cfg_read(f->vm, 0x2C, 4), 0x00011AF4);
    assert_int_equal(cfg_read(f->vm, 0x08, 4) >> 8, 0x020000);
    assert_int_equal(cfg_read(f->vm, 0x3C, 1), IRQ);
    assert_int_equal(cfg_read(f->vm, 0x3D, 1), 1);
    assert_int_equal(cfg_read(f->vm, 0x10, 4), IO | 1);
    assert_int_equal(cfg_read(f->vm, 0x14, 4), (uint32_t)MMIO);
    assert_true(cfg_read(f->vm, 0x06, 2) & 0x10);
    /* Five vendor capabilities: common, ISR, device and notify in BAR1, and before BAR1's
     * notify one in the IO BAR (0x30, 8 bytes), which a driver meets first. */
    cap = cfg_read(f->vm, 0x34, 1);
    for (unsigned i = 0; cap != 0 && i < 8; i++) {
        unsigned type = cfg_read(f->vm, cap + 3, 1);
        unsigned bar = cfg_read(f->vm, cap + 4, 1);

        assert_int_equal(cfg_read(f->vm, cap, 1), 0x09);
        if (type == 2) {
            assert_int_equal(cfg_read(f->vm, cap + 16, 4), 4);
            assert_int_equal(bar, notifies == 0 ? 0 : 1);
            assert_int_equal(cfg_read(f->vm, cap + 8, 4), notifies == 0 ? 0x30 : 0x3000);
            notifies++;
        } else {
            assert_int_equal(bar, 1);
        }
        types |= 1u << type;
        cap = cfg_read(f->vm, cap + 1, 1);
    }
    assert_int_equal(types, 0x1E);
    assert_int_equal(notifies, 2);
    /* BAR sizing. */
    cfg_write(f->vm, 0x10, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 0x10, 4), 0xFFFFFFC1); /* 64 ports */
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
    assert_false(hf & F_GUEST_TSO4); /* the fake host has no offload hooks here */
    assert_true(hf & F_MRG_RXBUF);   /* offered always, with or without offloads */
    fake_out(vm, IO + 0x0E, 2, 0);
    assert_int_equal(fake_in(vm, IO + 0x0C, 2), QN);
    fake_out(vm, IO + 0x0E, 2, 2);
    assert_int_equal(fake_in(vm, IO + 0x0C, 2), 0);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(fake_inb(vm, IO + 0x14 + i), mac[i]);
    }
    assert_int_equal(fake_in(vm, IO + 0x1A, 2), 1); /* link up */
    /* The network's MTU, offered (F_MTU) at offset 10 of the device config. */
    assert_true(hf & F_MTU);
    assert_int_equal(fake_in(vm, IO + 0x14 + 10, 2), FAKE_NIC_MTU);
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

/* While the host busy-polls, the guest is made to exit often anyway: the device asks for no
 * TX kicks and takes the ring before every entry; kicks are asked for again once it stops. */
static void test_tx_quiet_while_host_polls(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    legacy_up(f, F_MAC | F_STATUS);
    post_tx(f, 0, 60, 1);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(get16(vm, q_used(TXQ_PFN)) & 1, 0); /* kicks wanted */
    fake_poll_deadline = fake_now + 500000;
    post_tx(f, 1, 60, 2);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 2);
    assert_int_equal(get16(vm, q_used(TXQ_PFN)) & 1, 1); /* NO_NOTIFY */
    post_tx(f, 2, 60, 3);
    post_tx(f, 3, 60, 4);
    fake_poll(vm); /* no kick: the poll before entry takes them */
    assert_int_equal(fake_nic.nsent, 4);
    assert_int_equal(fake_nic.sent[3][0], 4);
    fake_poll_deadline = UINT64_MAX;
    fake_poll(vm);
    assert_int_equal(get16(vm, q_used(TXQ_PFN)) & 1, 0);
}

/* Another CPU polls the TX ring while the guest runs (a guest CPU: vmm_dev_reg.io_poll): it
 * takes the chains, asks for no kicks while the host says it polls, and for kicks again
 * after; a frame it took raises the TX interrupt decision at once. */
static void test_tx_io_poll_from_another_cpu(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    unsigned (*io_poll)(void *dev) = NULL;
    void *dev = NULL;

    legacy_up(f, F_MAC | F_STATUS);
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].io_poll != NULL) {
            io_poll = vm->devs[d].io_poll;
            dev = vm->devs[d].dev;
        }
    }
    assert_non_null(io_poll);
    vm->elsewhere = true;
    vm->io_polled = true;
    assert_int_equal(io_poll(dev), 0); /* nothing queued */
    post_tx(f, 0, 60, 1);
    post_tx(f, 1, 60, 2);
    assert_int_equal(io_poll(dev), 2);
    assert_int_equal(fake_nic.nsent, 2);
    assert_int_equal(get16(vm, q_used(TXQ_PFN)) & 1, 1); /* NO_NOTIFY while polled */
    vm->io_polled = false;
    post_tx(f, 2, 60, 3);
    assert_int_equal(io_poll(dev), 1); /* the look after polling ends takes it... */
    assert_int_equal(get16(vm, q_used(TXQ_PFN)) & 1, 0); /* ...and asks for kicks again */
    assert_int_equal(fake_nic.nsent, 3);
    vm->elsewhere = false;
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
    assert_true(mrd(vm, 0x04, 4) & F_MRG_RXBUF);
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
    assert_int_equal(mrd(vm, 0x2000 + 10, 2), FAKE_NIC_MTU);
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
    /* The same through the IO BAR's notify region (queue 1 at 0x30 + 4); queue 0's kick and
     * a read there do nothing else. */
    put16(vm, 0x2100 + 4 + 2, 0);
    put16(vm, 0x2100 + 2, ++txa);
    fake_out(vm, IO + 0x30, 2, 0);
    assert_int_equal(fake_nic.nsent, 1);
    fake_out(vm, IO + 0x34, 2, 1);
    assert_int_equal(fake_nic.nsent, 2);
    assert_int_equal(get16(vm, 0x2200 + 2), 2);
    assert_int_equal(fake_in(vm, IO + 0x34, 2), 0);
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

/* ---- checksum offloads ---- */

/* The reference checksum, byte by byte as RFC 1071 writes it (independent of netcsum.c). */
static uint16_t ref_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i < len; i++) {
        sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)sum;
}

/* Sum of the IPv4 pseudo-header of the IP packet at ip. */
static uint32_t ref_pseudo(const uint8_t *ip, unsigned proto, size_t l4len)
{
    uint32_t sum = 0;

    for (unsigned i = 12; i < 20; i += 2) {
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    }
    return sum + proto + (uint32_t)l4len;
}

/* Whether the transport checksum of the frame's IPv4 packet (ihl 5) is right. */
static bool ref_l4_ok(const uint8_t *frame, unsigned proto, size_t l4len)
{
    return ref_csum(frame + 34, l4len, ref_pseudo(frame + 14, proto, l4len)) == 0xFFFF;
}

/* Ethernet + IPv4 (ihl 5) + TCP (20 bytes) or UDP (8) with `pay` payload bytes; the transport
 * checksum is right when `good`, else holds the pseudo-header sum only (what a guest leaves
 * for NEEDS_CSUM). Returns the frame length. */
static size_t make_ip_frame(uint8_t *fr, unsigned proto, size_t pay, bool good)
{
    size_t l4h = proto == 6 ? 20 : 8;
    size_t l4len = l4h + pay;
    size_t tot = 20 + l4len;
    unsigned ck = proto == 6 ? 16 : 6;
    uint16_t c;

    memset(fr, 0, 14 + tot);
    memcpy(fr, mac, 6);
    memcpy(fr + 6, "\x52\x54\x00\x00\x00\x09", 6);
    fr[12] = 0x08;
    fr[13] = 0x00;
    fr[14] = 0x45;
    fr[16] = (uint8_t)(tot >> 8);
    fr[17] = (uint8_t)tot;
    fr[22] = 64;
    fr[23] = (uint8_t)proto;
    memcpy(fr + 26, "\x0a\x4d\x00\x01\x0a\x4d\x00\x03", 8);
    fr[34] = 0x13;
    fr[35] = 0x89;
    fr[36] = 0xC3;
    fr[37] = 0x51;
    if (proto == 6) {
        fr[46] = 0x50; /* data offset 5 */
        fr[47] = 0x18;
    } else {
        fr[38] = (uint8_t)(l4len >> 8);
        fr[39] = (uint8_t)l4len;
    }
    for (size_t i = 0; i < pay; i++) {
        fr[34 + l4h + i] = (uint8_t)(i * 7 + 3);
    }
    c = ref_csum(NULL, 0, ref_pseudo(fr + 14, proto, l4len));
    if (good) {
        c = (uint16_t)~ref_csum(fr + 34, l4len, ref_pseudo(fr + 14, proto, l4len));
    }
    fr[34 + ck] = (uint8_t)(c >> 8);
    fr[34 + ck + 1] = (uint8_t)c;
    return 14 + tot;
}

/* Delivers a frame into RX buffer i and returns the header flags the guest sees. */
static uint8_t rx_flags(struct fixture *f, uint16_t i, const uint8_t *fr, size_t len)
{
    post_rx(f, i, 1600);
    memset(&f->vm->ram[BUF + 0x800ull * i], 0xEE, HDR);
    assert_true(fake_nic_deliver(fr, len));
    assert_memory_equal(&f->vm->ram[BUF + 0x800ull * i + HDR], fr, len);
    return f->vm->ram[BUF + 0x800ull * i];
}

static void test_guest_csum_rx(void **state)
{
    struct fixture *f = *state;
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    uint8_t fr[1514];
    size_t len;
    uint16_t i = 0;

    assert_true(fake_in(f->vm, IO, 4) & F_GUEST_CSUM);
    /* Not negotiated: flags stay 0 even for a good frame. */
    legacy_up(f, F_MAC);
    len = make_ip_frame(fr, 6, 100, true);
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    legacy_up(f, F_MAC | F_GUEST_CSUM);
    i = 0;
    /* Good TCP (even and odd payload, full size) and UDP: DATA_VALID. */
    assert_int_equal(rx_flags(f, i++, fr, len), 2);
    len = make_ip_frame(fr, 6, 1460, true);
    assert_int_equal(rx_flags(f, i++, fr, len), 2);
    len = make_ip_frame(fr, 6, 33, true);
    assert_int_equal(rx_flags(f, i++, fr, len), 2);
    len = make_ip_frame(fr, 17, 17, true);
    assert_int_equal(rx_flags(f, i++, fr, len), 2);
    /* Ethernet padding after the IP packet does not count. */
    len = make_ip_frame(fr, 17, 3, true);
    memset(fr + len, 0xA5, 60 - len);
    assert_int_equal(rx_flags(f, i++, fr, 60), 2);
    assert_int_equal(os->rx_csum_valid, 5);
    /* Bad or unverifiable: flags 0, the frame delivered all the same. */
    len = make_ip_frame(fr, 6, 100, true);
    fr[len - 1] ^= 0x01; /* a flipped payload bit */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, false);
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 17, 20, true);
    fr[40] = 0;
    fr[41] = 0; /* UDP without a checksum */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, true);
    fr[20] = 0x20; /* more fragments */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, true);
    fr[17] += 1; /* IP total length past the frame */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, true);
    fr[14] = 0x44; /* ihl 4 */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, true);
    fr[14] = 0x65; /* IPv6 version nibble */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 100, true);
    fr[12] = 0x81; /* VLAN tagged / not IPv4 */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 6, 0, true);
    fr[16] = 0;
    fr[17] = 36; /* TCP header cut to 16 bytes */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    len = make_ip_frame(fr, 1, 100, true); /* ICMP */
    assert_int_equal(rx_flags(f, i++, fr, len), 0);
    assert_int_equal(rx_flags(f, i++, fr, 20), 0); /* runt */
    assert_int_equal(os->rx_csum_valid, 5);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

/* A TX frame with a header (NEEDS_CSUM at start/off when flags say so) in slot i, the header
 * in its own descriptor and the frame split over two more (as a scatter-gather guest sends). */
static void post_tx_hdr(struct fixture *f, uint16_t i, const uint8_t *fr, size_t len, uint8_t flags,
                        uint8_t gso, uint16_t start, uint16_t off)
{
    struct vmm_vm *vm = f->vm;
    uint64_t desc = q_desc(TXQ_PFN);
    uint64_t a = BUF + 0x800ull * (i % 8);
    size_t cut = len / 3;
    uint16_t d = (uint16_t)(i * 3 % QN);

    memset(&vm->ram[a], 0, HDR);
    vm->ram[a] = flags;
    vm->ram[a + 1] = gso;
    put16(vm, a + 6, start);
    put16(vm, a + 8, off);
    memcpy(&vm->ram[a + 16], fr, cut);
    memcpy(&vm->ram[a + 16 + cut + 8], fr + cut, len - cut);
    put_desc(vm, desc, d, a, HDR, 1, (uint16_t)(d + 1));
    put_desc(vm, desc, d + 1u, a + 16, (uint32_t)cut, 1, (uint16_t)(d + 2));
    put_desc(vm, desc, d + 2u, a + 16 + cut + 8, (uint32_t)(len - cut), 0, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, d);
}

/* Headers no host should get: each dropped by the model, with or without the host's offload hooks. */
static const struct {
    uint8_t flags;
    uint8_t gso;
    uint16_t start;
    uint16_t off;
} bad_csum_hdrs[] = {
    {1, 0, 34, 1514 - 34 - 1}, /* the field's second byte past the end */
    {1, 0, 34, 1514 - 34},     /* the field just past the end */
    {1, 0, 1514, 0},           /* start at the end */
    {1, 0, 0xFFFF, 16},        /* start far outside */
    {1, 0, 34, 0xFFFF},        /* offset far outside */
    {1, 0, 0xFFFF, 0xFFFF},    /* both: no wrap-around */
    {1, 1, 34, 16},            /* GSO TCPv4, not negotiated */
    {0, 3, 0, 0},              /* GSO UDP, never offered */
    {2, 0, 0, 0},              /* DATA_VALID is for the device to set */
    {3, 0, 34, 16},            /* ... also with NEEDS_CSUM */
    {0x81, 0, 34, 16},         /* unknown flag */
};

static void test_csum_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    const uint8_t *out;
    uint8_t fr[1514];
    size_t len;
    uint16_t i = 0;
    const size_t nbad = sizeof(bad_csum_hdrs) / sizeof(bad_csum_hdrs[0]);

    assert_true(fake_in(vm, IO, 4) & F_CSUM);
    /* NEEDS_CSUM without CSUM negotiated is a bad header. */
    legacy_up(f, F_MAC);
    len = make_ip_frame(fr, 6, 100, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 0);
    assert_int_equal(os->tx_bad_hdr, 1);
    assert_int_equal(st->tx_dropped, 1);

    legacy_up(f, F_MAC | F_CSUM);
    i = 0;
    /* TCP: the guest left the pseudo-header sum in the field; the model completes it. */
    len = make_ip_frame(fr, 6, 1460, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 16);
    /* UDP, odd length. */
    len = make_ip_frame(fr, 17, 101, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 6);
    /* No NEEDS_CSUM: sent as it is. */
    len = make_ip_frame(fr, 6, 10, false);
    post_tx_hdr(f, i++, fr, len, 0, 0, 0, 0);
    /* The field exactly at the end of the frame is inside. */
    len = make_ip_frame(fr, 6, 1460, false);
    fr[1512] = 0;
    fr[1513] = 0; /* the field starts at 0: a plain checksum of [1510, 1514) */
    post_tx_hdr(f, i++, fr, len, 1, 0, 1510, 2);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 4);
    out = fake_nic.sent[0];
    assert_int_equal(fake_nic.sent_len[0], 1514);
    assert_true(ref_l4_ok(out, 6, 1480));
    out = fake_nic.sent[1];
    assert_int_equal(fake_nic.sent_len[1], 14 + 20 + 8 + 101);
    assert_true(ref_l4_ok(out, 17, 8 + 101));
    assert_false(ref_l4_ok(fake_nic.sent[2], 6, 30));
    /* The sum of [1510, 1514) with the stored field is complete. */
    out = fake_nic.sent[3];
    assert_int_equal(ref_csum(out + 1510, 4, 0), 0xFFFF);
    assert_int_equal(os->tx_csum, 3);
    assert_int_equal(os->tx_bad_hdr, 1); /* counters survive a device reset */
    /* Hostile headers: each drops its frame only, counted; the ring goes on. */
    len = make_ip_frame(fr, 6, 1460, false);
    for (unsigned k = 0; k < nbad; k++) {
        post_tx_hdr(f, i++, fr, len, bad_csum_hdrs[k].flags, bad_csum_hdrs[k].gso,
                    bad_csum_hdrs[k].start, bad_csum_hdrs[k].off);
    }
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 4);
    assert_int_equal(os->tx_bad_hdr, 1 + nbad);
    assert_int_equal(st->tx_dropped, 1 + nbad);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), i);
    /* Still working after them. */
    len = make_ip_frame(fr, 6, 200, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 5);
    assert_true(ref_l4_ok(fake_nic.sent[4], 6, 220));
    assert_int_equal(st->hostile, 0);
    assert_int_equal(fake_inb(vm, IO + 0x12), 0x07);
}

/* ---- TCP segmentation offload ---- */

#define SUPER_HDR 0x8000 /* virtio header + Ethernet/IP/TCP headers of a super-frame */
#define SUPER_PAY 0x9000 /* a 4 KiB payload pattern every payload descriptor points at */
#define MSS       1448

static uint8_t pay_byte(size_t k)
{
    return (uint8_t)((k % 4096) * 13 + 5);
}

/* Ethernet + IPv4 + TCP headers (54 bytes) of a super-frame with `pay` payload bytes. */
static void make_tcp_hdrs(uint8_t *h, size_t pay, uint8_t tcp_flags)
{
    uint8_t tmp[54];

    make_ip_frame(tmp, 6, 0, false);
    memcpy(h, tmp, 54);
    h[16] = (uint8_t)((40 + pay) >> 8);
    h[17] = (uint8_t)(40 + pay);
    h[18] = 0x12; /* id 0x1234 */
    h[19] = 0x34;
    h[20] = 0x40;                          /* DF */
    memcpy(h + 38, "\xff\xff\xf0\x00", 4); /* seq: wraps within the super-frame */
    h[47] = tcp_flags;
}

/* Posts a super-frame: virtio header + headers in one descriptor, then the payload in 4 KiB
 * descriptors all pointing at the same pattern (the fake RAM is 64 KiB). */
static void post_super(struct fixture *f, unsigned k, const uint8_t *hdrs, size_t hlen, size_t pay,
                       uint8_t flags, uint8_t gso, uint16_t gso_size, uint16_t start, uint16_t off)
{
    struct vmm_vm *vm = f->vm;
    uint64_t desc = q_desc(TXQ_PFN);
    uint16_t d = (uint16_t)(k * 20 % 240);
    unsigned nd = 0;

    memset(&vm->ram[SUPER_HDR], 0, HDR);
    vm->ram[SUPER_HDR] = flags;
    vm->ram[SUPER_HDR + 1] = gso;
    put16(vm, SUPER_HDR + 2, (uint16_t)hlen);
    put16(vm, SUPER_HDR + 4, gso_size);
    put16(vm, SUPER_HDR + 6, start);
    put16(vm, SUPER_HDR + 8, off);
    memcpy(&vm->ram[SUPER_HDR + HDR], hdrs, hlen);
    for (size_t i = 0; i < 4096; i++) {
        vm->ram[SUPER_PAY + i] = pay_byte(i);
    }
    put_desc(vm, desc, d, SUPER_HDR, (uint32_t)(HDR + hlen), pay ? 1 : 0, (uint16_t)(d + 1));
    while (pay > 0) {
        uint32_t n = pay > 4096 ? 4096 : (uint32_t)pay;

        pay -= n;
        nd++;
        put_desc(vm, desc, d + nd, SUPER_PAY, n, pay ? 1 : 0, (uint16_t)(d + nd + 1));
    }
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, d);
}

/* Checks segment `seg` (sent frame `slot`) of a super-frame of `total` payload bytes whose
 * Ethernet header is l2 bytes (14, or 18 with a VLAN tag: then o points 4 bytes in, so the
 * IP and TCP offsets below stay those of an untagged frame). */
static void check_segment_l2(unsigned slot, unsigned seg, size_t total, uint8_t flags, size_t l2)
{
    const uint8_t *o = fake_nic.sent[slot % FAKE_NIC_FRAMES] + (l2 - 14);
    size_t off = (size_t)seg * MSS;
    size_t n = total - off < MSS ? total - off : MSS;
    bool last = off + n == total;
    uint32_t seq = 0xFFFFF000u + (uint32_t)off;
    uint8_t want = flags;

    assert_int_equal(fake_nic.sent_len[slot % FAKE_NIC_FRAMES], l2 + 40 + n);
    assert_int_equal(o[16] << 8 | o[17], 40 + n);
    assert_int_equal(o[18] << 8 | o[19], 0x1234 + seg);
    assert_int_equal(o[20], 0x40);
    assert_int_equal(ref_csum(o + 14, 20, 0), 0xFFFF);
    assert_int_equal((uint32_t)o[38] << 24 | (uint32_t)o[39] << 16 | (uint32_t)o[40] << 8 | o[41],
                     seq);
    if (!last) {
        want &= (uint8_t)~0x09; /* FIN, PSH */
    }
    if (seg > 0) {
        want &= (uint8_t)~0x80; /* CWR */
    }
    assert_int_equal(o[47], want);
    assert_true(ref_l4_ok(o, 6, 20 + n));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(o[54 + i], pay_byte(off + i));
    }
}

static void check_segment(unsigned slot, unsigned seg, size_t total, uint8_t flags)
{
    check_segment_l2(slot, seg, total, flags, 14);
}

static void test_tso_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    uint8_t h[54];
    unsigned k = 0;
    unsigned sent = 0;
    const size_t big = 65535 - 40; /* the largest IPv4 packet */

    assert_true(fake_in(vm, IO, 4) & F_HOST_TSO4);
    /* Not negotiated: a GSO header is bad, and so is a frame over 1518 bytes. */
    legacy_up(f, F_MAC | F_CSUM);
    make_tcp_hdrs(h, 100, 0x10);
    post_super(f, k++, h, 54, 100, 1, 1, MSS, 34, 16);
    fake_poll(vm); /* (every super-frame uses the same memory) */
    make_tcp_hdrs(h, 4000, 0x10);
    post_super(f, k++, h, 54, 4000, 1, 0, 0, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 0);
    assert_int_equal(os->tx_bad_hdr, 1); /* the long one is dropped before its header is read */
    assert_int_equal(st->tx_dropped, 2);

    legacy_up(f, F_MAC | F_CSUM | F_HOST_TSO4);
    k = 0;
    /* 4000 bytes: 1448 + 1448 + 1104; CWR on the first only, PSH and FIN on the last only. */
    make_tcp_hdrs(h, 4000, 0x99); /* CWR ACK PSH FIN */
    post_super(f, k++, h, 54, 4000, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 3);
    for (unsigned i = 0; i < 3; i++) {
        check_segment(sent++, i, 4000, 0x99);
    }
    /* A multiple of the segment size, and one smaller than it. */
    make_tcp_hdrs(h, 2 * MSS, 0x19);
    post_super(f, k++, h, 54, 2 * MSS, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    check_segment(sent++, 0, 2 * MSS, 0x19);
    check_segment(sent++, 1, 2 * MSS, 0x19);
    make_tcp_hdrs(h, 100, 0x18);
    post_super(f, k++, h, 54, 100, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    check_segment(sent++, 0, 100, 0x18);
    assert_int_equal(fake_nic.nsent, sent);
    /* The largest: 46 segments, the last 16 of them kept by the fake backend. */
    make_tcp_hdrs(h, big, 0x18);
    post_super(f, k++, h, 54, big, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, sent + 46);
    for (unsigned i = 30; i < 46; i++) {
        check_segment(sent + i, i, big, 0x18);
    }
    sent += 46;
    /* One VLAN tag: kept in every segment, the IP header 4 bytes further in. */
    {
        uint8_t t[58];

        make_tcp_hdrs(h, 3000, 0x18);
        memcpy(t, h, 12);
        memcpy(t + 12, "\x81\x00\x00\x2a", 4);
        memcpy(t + 16, h + 12, 42);
        post_super(f, k++, t, 58, 3000, 1, 1, MSS, 38, 16);
        fake_poll(vm);
        assert_int_equal(fake_nic.nsent, sent + 3);
        for (unsigned i = 0; i < 3; i++) {
            assert_memory_equal(fake_nic.sent[(sent + i) % FAKE_NIC_FRAMES] + 12, t + 12, 6);
            check_segment_l2(sent + i, i, 3000, 0x18, 18);
        }
        sent += 3;
    }
    assert_int_equal(os->tx_tso, 5);
    assert_int_equal(os->tx_tso_segs, 3 + 2 + 1 + 46 + 3);
    assert_int_equal(os->tx_bad_hdr, 1);
    assert_int_equal(st->hostile, 0);
}

/* One hostile super-frame: dropped and counted, nothing sent, the ring goes on. */
static void expect_bad_super(struct fixture *f, unsigned *k, const uint8_t *h, size_t hlen,
                             size_t pay, uint8_t flags, uint16_t gso_size, uint16_t start,
                             uint16_t off)
{
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    uint64_t bad = os->tx_bad_hdr;
    unsigned sent = fake_nic.nsent;
    unsigned sent_off = fake_nic.nsent_off;

    post_super(f, (*k)++, h, hlen, pay, flags, 1, gso_size, start, off);
    fake_poll(f->vm);
    assert_int_equal(fake_nic.nsent, sent);
    assert_int_equal(fake_nic.nsent_off, sent_off);
    assert_int_equal(os->tx_bad_hdr, bad + 1);
    assert_int_equal(get16(f->vm, q_used(TXQ_PFN) + 2), f->tx_avail);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

static void test_tso_hostile(void **state)
{
    struct fixture *f = *state;
    uint8_t h[54];
    uint8_t g[54];
    unsigned k = 0;

    legacy_up(f, F_MAC | F_CSUM | F_HOST_TSO4);
    make_tcp_hdrs(h, 4000, 0x10);
    /* Header fields. */
    expect_bad_super(f, &k, h, 54, 4000, 0, MSS, 34, 16);    /* no NEEDS_CSUM */
    expect_bad_super(f, &k, h, 54, 4000, 1, MSS, 30, 16);    /* csum_start not TCP */
    expect_bad_super(f, &k, h, 54, 4000, 1, MSS, 34, 6);     /* csum_offset not TCP's */
    expect_bad_super(f, &k, h, 54, 4000, 1, 0, 34, 16);      /* gso_size 0 */
    expect_bad_super(f, &k, h, 54, 4000, 1, 47, 34, 16);     /* tiny segments */
    expect_bad_super(f, &k, h, 54, 4000, 1, 1465, 34, 16);   /* 54 + 1465 > 1518 */
    expect_bad_super(f, &k, h, 54, 4000, 1, 0xFFFF, 34, 16); /* huge */
    expect_bad_super(f, &k, h, 54, 4000, 0x03, MSS, 34, 16); /* DATA_VALID */
    /* Frame fields. */
    memcpy(g, h, 54);
    g[17]++; /* total length not the frame's */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[16] = 0xFF;
    g[17] = 0xFF; /* total length past the frame */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[20] = 0x20; /* MF */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[21] = 0x01; /* fragment offset */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[23] = 17; /* UDP */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[14] = 0x44; /* ihl 4 */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    memcpy(g, h, 54);
    g[14] = 0x4F; /* ihl 15: IP header reaches into the payload, TCP header from the payload */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 74, 16);
    memcpy(g, h, 54);
    g[12] = 0x86;
    g[13] = 0xDD; /* IPv6 ethertype */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    {
        uint8_t t[62];

        /* Two VLAN tags (not taken), and one tag with csum_start of an untagged frame. */
        memcpy(t, h, 12);
        memcpy(t + 12, "\x88\xa8\x00\x01\x81\x00\x00\x2a", 8);
        memcpy(t + 20, h + 12, 42);
        expect_bad_super(f, &k, t, 62, 4000, 1, MSS, 42, 16);
        memcpy(t + 12, "\x81\x00\x00\x2a", 4);
        memcpy(t + 16, h + 12, 42);
        expect_bad_super(f, &k, t, 58, 4000, 1, MSS, 34, 16);
    }
    memcpy(g, h, 54);
    g[46] = 0x40; /* data offset 4 */
    expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    for (unsigned fl = 0; fl < 3; fl++) {
        memcpy(g, h, 54);
        g[47] |= (uint8_t[]){0x02, 0x04, 0x20}[fl]; /* SYN, RST, URG */
        expect_bad_super(f, &k, g, 54, 4000, 1, MSS, 34, 16);
    }
    /* No payload: headers only, and a TCP header cut short. */
    make_tcp_hdrs(g, 0, 0x10);
    expect_bad_super(f, &k, g, 54, 0, 1, MSS, 34, 16);
    make_tcp_hdrs(g, 0, 0x10);
    g[17] = 36;
    expect_bad_super(f, &k, g, 50, 0, 1, MSS, 34, 16);
    /* Still segmenting (or passing super-frames on) after all that. */
    post_super(f, k++, h, 54, 4000, 1, 1, MSS, 34, 16);
    fake_poll(f->vm);
    if (vmm_host()->nic_send_off != NULL) {
        assert_int_equal(fake_nic.nsent, 0);
        assert_int_equal(fake_nic.nsent_off, 1);
        assert_int_equal(fake_nic.off_len, 54 + 4000);
        assert_int_equal(fake_nic.off_refused, 0);
    } else {
        assert_int_equal(fake_nic.nsent, 3);
        check_segment(2, 2, 4000, 0x10);
    }
}

/* ---- offloads through a host that takes metadata ---- */

/* The metadata the fake host got with the last frame nic_send_off took. */
static void expect_off(unsigned gso, unsigned csum, unsigned gso_size, unsigned start, unsigned off)
{
    assert_false(fake_nic.off_null);
    assert_int_equal(fake_nic.off.gso, gso);
    assert_int_equal(fake_nic.off.csum, csum);
    assert_int_equal(fake_nic.off.gso_size, gso_size);
    assert_int_equal(fake_nic.off.csum_start, start);
    assert_int_equal(fake_nic.off.csum_off, off);
}

/* Whether the fake host's last nic_send_off frame is the super-frame post_super built: the
 * guest's headers and the payload pattern, untouched (the checksum still partial). */
static void expect_super_sent(const uint8_t *hdrs, size_t hlen, size_t pay)
{
    assert_int_equal(fake_nic.off_len, hlen + pay);
    assert_memory_equal(fake_nic.off_frame, hdrs, hlen);
    for (size_t i = 0; i < pay; i++) {
        assert_int_equal(fake_nic.off_frame[hlen + i], pay_byte(i % 4096));
    }
}

/* offload=off: no checksum or segmentation feature is offered, even though the host would take
 * them, and the port is never told it takes metadata; mergeable buffers stay. */
static void test_offload_off(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint32_t hf = fake_in(vm, IO, 4);

    assert_int_equal(hf & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_GUEST_TSO4), 0);
    assert_true(hf & F_MRG_RXBUF);
    assert_true(hf & F_MAC);
    /* A driver acking them anyway gets only what was offered. */
    legacy_up(f, F_MAC | F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_GUEST_TSO4);
    assert_int_equal(fake_in(vm, IO + 0x04, 4) & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4), 0);
}

static void test_off_tso_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    uint8_t h[54];
    uint8_t t[58];
    unsigned k = 0;
    const size_t big = 65535 - 40;

    assert_true(fake_in(vm, IO, 4) & F_GUEST_TSO4);
    legacy_up(f, F_MAC | F_CSUM | F_HOST_TSO4);
    /* A super-frame goes to the host once, whole, with GSO TCPV4 + PARTIAL on TCP's field. */
    make_tcp_hdrs(h, 4000, 0x99);
    post_super(f, k++, h, 54, 4000, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 0);
    assert_int_equal(fake_nic.nsent_off, 1);
    expect_off(NETOFF_GSO_TCPV4, NETOFF_CSUM_PARTIAL, MSS, 34, 16);
    expect_super_sent(h, 54, 4000);
    /* The largest, and one VLAN tag (the TCP checksum 4 bytes further in). */
    make_tcp_hdrs(h, big, 0x18);
    post_super(f, k++, h, 54, big, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent_off, 2);
    expect_super_sent(h, 54, big);
    assert_int_equal(fake_nic.off_len, 14 + 65535);
    make_tcp_hdrs(h, 3000, 0x18);
    memcpy(t, h, 12);
    memcpy(t + 12, "\x81\x00\x00\x2a", 4);
    memcpy(t + 16, h + 12, 42);
    post_super(f, k++, t, 58, 3000, 1, 1, 1000, 38, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent_off, 3);
    expect_off(NETOFF_GSO_TCPV4, NETOFF_CSUM_PARTIAL, 1000, 38, 16);
    expect_super_sent(t, 58, 3000);
    /* Counted as before: super-frames taken, the segments they make; and passed whole. */
    assert_int_equal(os->tx_tso, 3);
    assert_int_equal(os->tx_tso_segs, 3 + 46 + 3);
    assert_int_equal(os->tx_off, 3);
    assert_int_equal(st->tx_frames, 3);
    assert_int_equal(st->tx_bytes, 54 + 4000 + 14 + 65535 + 58 + 3000);
    /* A host that refuses it: a counted drop, the ring goes on. */
    fake_nic.send_off_rc = -EIO;
    make_tcp_hdrs(h, 4000, 0x18);
    post_super(f, k++, h, 54, 4000, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent_off, 3);
    assert_int_equal(st->tx_dropped, 1);
    assert_int_equal(os->tx_off, 3);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), k);
    assert_int_equal(fake_nic.off_refused, 0);
    assert_int_equal(st->hostile, 0);
}

static void test_off_csum_tx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    const size_t nbad = sizeof(bad_csum_hdrs) / sizeof(bad_csum_hdrs[0]);
    uint8_t fr[1514];
    size_t len;
    uint16_t i = 0;

    /* NEEDS_CSUM without CSUM negotiated: still a bad header. */
    legacy_up(f, F_MAC);
    len = make_ip_frame(fr, 6, 100, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent + fake_nic.nsent_off, 0);
    assert_int_equal(os->tx_bad_hdr, 1);

    legacy_up(f, F_MAC | F_CSUM);
    i = 0;
    /* NEEDS_CSUM: passed as PARTIAL, the checksum left to the host (not filled in here). */
    len = make_ip_frame(fr, 6, 1460, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 0);
    assert_int_equal(fake_nic.nsent_off, 1);
    expect_off(NETOFF_GSO_NONE, NETOFF_CSUM_PARTIAL, 0, 34, 16);
    assert_int_equal(fake_nic.off_len, len);
    assert_memory_equal(fake_nic.off_frame, fr, len);
    /* UDP, and the field exactly at the end of the frame. */
    len = make_ip_frame(fr, 17, 101, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 34, 6);
    fake_poll(vm);
    expect_off(NETOFF_GSO_NONE, NETOFF_CSUM_PARTIAL, 0, 34, 6);
    len = make_ip_frame(fr, 6, 1460, false);
    post_tx_hdr(f, i++, fr, len, 1, 0, 1510, 2);
    fake_poll(vm);
    expect_off(NETOFF_GSO_NONE, NETOFF_CSUM_PARTIAL, 0, 1510, 2);
    assert_int_equal(fake_nic.nsent_off, 3);
    /* No NEEDS_CSUM: a plain send, no metadata. */
    len = make_ip_frame(fr, 6, 10, false);
    post_tx_hdr(f, i++, fr, len, 0, 0, 0, 0);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.nsent_off, 3);
    assert_int_equal(os->tx_csum, 3);
    assert_int_equal(os->tx_off, 3);
    /* Hostile headers: each drops its frame only, nothing reaches the host. */
    len = make_ip_frame(fr, 6, 1460, false);
    for (unsigned k = 0; k < nbad; k++) {
        post_tx_hdr(f, i++, fr, len, bad_csum_hdrs[k].flags, bad_csum_hdrs[k].gso,
                    bad_csum_hdrs[k].start, bad_csum_hdrs[k].off);
    }
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.nsent_off, 3);
    assert_int_equal(os->tx_bad_hdr, 1 + nbad);
    assert_int_equal(st->tx_dropped, 1 + nbad);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), i);
    assert_int_equal(fake_nic.off_refused, 0);
    assert_int_equal(st->hostile, 0);
}

/* The receive caps the host was given follow negotiation (legacy: DRIVER_OK; modern:
 * FEATURES_OK) and go back to none at every reset. */
static void test_off_negotiation(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const unsigned all = NETOFF_CAP_CSUM | NETOFF_CAP_VALID | NETOFF_CAP_TSO4;

    assert_int_equal(fake_nic.set_offloads_calls, 0);
    /* Nothing negotiated: nothing to say. */
    legacy_up(f, F_MAC);
    assert_int_equal(fake_nic.set_offloads_calls, 0);
    assert_null(fake_nic.rx_off);
    /* GUEST_CSUM: partial and checked checksums; the model's rx_off as the hook. */
    legacy_up(f, F_MAC | F_GUEST_CSUM);
    assert_int_equal(fake_nic.caps, NETOFF_CAP_CSUM | NETOFF_CAP_VALID);
    assert_ptr_equal(fake_nic.rx_off, vmm_virtio_net_rx_off);
    assert_ptr_equal(fake_nic.dev, f->nic);
    /* A device reset: back to none, the plain hook. */
    fake_outb(vm, IO + 0x12, 0);
    assert_int_equal(fake_nic.caps, 0);
    assert_null(fake_nic.rx_off);
    /* GUEST_TSO4 with GUEST_CSUM: super-frames too; not before DRIVER_OK on legacy. */
    fake_outb(vm, IO + 0x12, 0x03);
    fake_out(vm, IO + 0x04, 4, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    assert_int_equal(fake_nic.caps, 0);
    fake_outb(vm, IO + 0x12, 0x07);
    assert_int_equal(fake_nic.caps, all);
    /* A legacy driver writing its features again after DRIVER_OK is followed. */
    fake_out(vm, IO + 0x04, 4, F_MAC | F_GUEST_CSUM);
    assert_int_equal(fake_nic.caps, NETOFF_CAP_CSUM | NETOFF_CAP_VALID);
    /* GUEST_TSO4 without GUEST_CSUM (the spec forbids it): no caps at all. */
    legacy_up(f, F_MAC | F_GUEST_TSO4);
    assert_int_equal(fake_nic.caps, 0);
    assert_null(fake_nic.rx_off);
    /* The core's VM reset. */
    legacy_up(f, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    assert_int_equal(fake_nic.caps, all);
    fake_reset_devices(vm);
    assert_int_equal(fake_nic.caps, 0);
    assert_null(fake_nic.rx_off);
    cfg_write(vm, 0x04, 2, 0x0007); /* (the VM reset cleared the PCI command register) */
    /* A hostile reset (a device-writable TX descriptor) takes them back too. */
    legacy_up(f, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    assert_int_equal(fake_nic.caps, all);
    put_desc(vm, q_desc(TXQ_PFN), 0, BUF, 100, 2, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 1);
    assert_int_equal(fake_nic.caps, 0);
    /* Modern: at FEATURES_OK. */
    mwr(vm, 0x14, 1, 0);
    mwr(vm, 0x14, 1, 3);
    mwr(vm, 0x08, 4, 0);
    mwr(vm, 0x0C, 4, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    mwr(vm, 0x08, 4, 1);
    mwr(vm, 0x0C, 4, 1);
    assert_int_equal(fake_nic.caps, 0);
    mwr(vm, 0x14, 1, 0x0B);
    assert_int_equal(fake_nic.caps, all);
    assert_ptr_equal(fake_nic.rx_off, vmm_virtio_net_rx_off);
    mwr(vm, 0x14, 1, 0);
    assert_int_equal(fake_nic.caps, 0);
    assert_null(fake_nic.rx_off);
}

/* Without the host's hooks nothing is offered and nothing told: the software path. */
static void test_off_without_hooks(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t h[54];

    assert_false(fake_in(vm, IO, 4) & F_GUEST_TSO4);
    legacy_up(f, F_MAC | F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_GUEST_TSO4);
    assert_false(fake_in(vm, IO + 0x04, 4) & F_GUEST_TSO4);
    assert_int_equal(fake_nic.set_offloads_calls, 0);
    make_tcp_hdrs(h, 4000, 0x18);
    post_super(f, 0, h, 54, 4000, 1, 1, MSS, 34, 16);
    fake_poll(vm);
    assert_int_equal(fake_nic.nsent, 3);
    assert_int_equal(fake_nic.nsent_off, 0);
    check_segment(2, 2, 4000, 0x18);
    assert_int_equal(vmm_virtio_net_offload_stats(f->nic)->tx_off, 0);
}

/* ---- receive offloads ---- */

#define RXC     0x7000 /* a "big packet" chain: header, then the frame over many descriptors */
#define RXC_END 0x10000

/* Posts a chain of one HDR-byte header descriptor and nseg descriptors of seglen bytes (as
 * Linux's add_recvbuf_big does, in smaller pages: the fake RAM is 64 KiB) at descriptor
 * head.., memory poisoned. */
static void post_rx_chain(struct fixture *f, uint16_t head, unsigned nseg, uint32_t seglen,
                          size_t hdr)
{
    struct vmm_vm *vm = f->vm;
    uint64_t d = q_desc(RXQ_PFN);

    assert_true(RXC + 16 + (uint64_t)nseg * seglen <= RXC_END);
    assert_true(head + nseg < QN);
    memset(&vm->ram[RXC], 0xEE, RXC_END - RXC);
    put_desc(vm, d, head, RXC, (uint32_t)hdr, 3, (uint16_t)(head + 1));
    for (unsigned i = 0; i < nseg; i++) {
        put_desc(vm, d, head + 1 + i, RXC + 16 + (uint64_t)i * seglen, seglen, i + 1 < nseg ? 3 : 2,
                 (uint16_t)(head + 2 + i));
    }
    make_avail(vm, q_avail(RXQ_PFN), &f->rx_avail, head);
}

/* A super-frame of `pay` payload bytes: Ethernet (+ a VLAN tag when vlan) + IPv4 + TCP with
 * `opt` bytes of options (NOPs), the payload pattern after. Returns its length; *hlen gets
 * the header bytes. */
static size_t make_super(uint8_t *fr, size_t pay, bool vlan, size_t opt, size_t *hlen)
{
    uint8_t h[54];
    size_t l2 = vlan ? 18 : 14;

    make_tcp_hdrs(h, pay + opt, 0x18);
    memcpy(fr, h, 12);
    if (vlan) {
        memcpy(fr + 12, "\x81\x00\x00\x2a", 4);
    }
    memcpy(fr + l2 - 2, h + 12, 42);
    fr[l2 + 32] = (uint8_t)((20 + opt) / 4) << 4;
    memset(fr + l2 + 40, 1 /* NOP */, opt);
    *hlen = l2 + 40 + opt;
    for (size_t i = 0; i < pay; i++) {
        fr[*hlen + i] = pay_byte(i);
    }
    return *hlen + pay;
}

static uint8_t g_super[NETOFF_FRAME_MAX];

/* The metadata of the test super-frames: GSO TCPv4 at MSS, partial checksum at 34 + 16. */
static struct netoff gso_meta(void)
{
    struct netoff o = {.gso = NETOFF_GSO_TCPV4,
                       .csum = NETOFF_CSUM_PARTIAL,
                       .gso_size = MSS,
                       .csum_start = 34,
                       .csum_off = 16};

    return o;
}

static void test_off_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    struct netoff gso = gso_meta();
    struct netoff partial = {.csum = NETOFF_CSUM_PARTIAL, .csum_start = 34, .csum_off = 16};
    struct netoff valid = {.csum = NETOFF_CSUM_VALID};
    const uint8_t *hb = &vm->ram[RXC];
    uint8_t fr[1514];
    size_t hlen;
    size_t len;
    uint16_t used = 0;

    legacy_up(f, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    /* A super-frame over 19 descriptors (header + 18): header fields from the metadata and
     * the frame, the frame whole across the chain. */
    len = make_super(g_super, 30000, false, 0, &hlen);
    post_rx_chain(f, 100, 18, 1800, HDR);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    used++;
    assert_int_equal(hb[0], 1);                /* NEEDS_CSUM */
    assert_int_equal(hb[1], 1);                /* GSO TCPV4 */
    assert_int_equal(get16(vm, RXC + 2), 54);  /* hdr_len */
    assert_int_equal(get16(vm, RXC + 4), MSS); /* gso_size */
    assert_int_equal(get16(vm, RXC + 6), 34);  /* csum_start */
    assert_int_equal(get16(vm, RXC + 8), 16);  /* csum_offset */
    assert_memory_equal(&vm->ram[RXC + 16], g_super, len);
    assert_int_equal(vm->ram[RXC + 16 + len], 0xEE); /* not a byte more */
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), used);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4), 100);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 8), HDR + len);
    /* TCP options and a VLAN tag count in hdr_len; 47 descriptors (MAX_SKB_FRAGS 45). */
    len = make_super(g_super, 20000, true, 12, &hlen);
    assert_int_equal(hlen, 18 + 20 + 32);
    gso.csum_start = 38;
    post_rx_chain(f, 100, 46, 600, HDR);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    used++;
    assert_int_equal(hb[1], 1);
    assert_int_equal(get16(vm, RXC + 2), hlen);
    assert_int_equal(get16(vm, RXC + 6), 38);
    assert_memory_equal(&vm->ram[RXC + 16], g_super, len);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 8 * (used - 1) + 4), HDR + len);
    gso.csum_start = 34;
    assert_int_equal(os->rx_gso, 2);
    /* A chain too short for it: the buffer back empty, the drop counted. */
    len = make_super(g_super, 30000, false, 0, &hlen);
    post_rx_chain(f, 100, 3, 1800, HDR);
    assert_false(fake_nic_deliver_off(g_super, len, &gso));
    used++;
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), used);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 8 * (used - 1) + 4), 0);
    assert_int_equal(st->rx_dropped, 1);
    assert_int_equal(os->rx_gso, 2);
    /* PARTIAL alone: NEEDS_CSUM with the field, no GSO. */
    len = make_ip_frame(fr, 6, 1460, false);
    post_rx_chain(f, 100, 1, 1600, HDR);
    assert_true(fake_nic_deliver_off(fr, len, &partial));
    used++;
    assert_int_equal(hb[0], 1);
    assert_int_equal(hb[1], 0);
    assert_int_equal(get16(vm, RXC + 2), 0);
    assert_int_equal(get16(vm, RXC + 4), 0);
    assert_int_equal(get16(vm, RXC + 6), 34);
    assert_int_equal(get16(vm, RXC + 8), 16);
    assert_memory_equal(&vm->ram[RXC + 16], fr, len);
    /* VALID: DATA_VALID on the host's word, the checksum not computed (here it is wrong). */
    len = make_ip_frame(fr, 6, 100, false);
    post_rx_chain(f, 100, 1, 1600, HDR);
    assert_true(fake_nic_deliver_off(fr, len, &valid));
    used++;
    assert_int_equal(hb[0], 2);
    assert_int_equal(hb[1], 0);
    assert_int_equal(os->rx_csum_valid, 1);
    /* No metadata: as before, DATA_VALID only after the model's own check. */
    post_rx_chain(f, 100, 1, 1600, HDR);
    assert_true(fake_nic_deliver_off(fr, len, NULL));
    used++;
    assert_int_equal(hb[0], 0);
    len = make_ip_frame(fr, 6, 100, true);
    post_rx_chain(f, 100, 1, 1600, HDR);
    assert_true(fake_nic_deliver_off(fr, len, NULL));
    used++;
    assert_int_equal(hb[0], 2);
    assert_int_equal(os->rx_csum_valid, 2);
    assert_int_equal(os->rx_csum_partial, 3);
    assert_int_equal(os->rx_bad_off, 0);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), used);
    assert_int_equal(st->hostile, 0);
}

/* Metadata the guest did not negotiate, or that does not fit the frame: a host bug; the frame
 * is dropped and counted before a buffer is taken, the header never written. */
static void expect_bad_rx(struct fixture *f, const uint8_t *fr, size_t len,
                          const struct netoff *off)
{
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    uint64_t bad = os->rx_bad_off;
    uint64_t dropped = vmm_virtio_net_stats(f->nic)->rx_dropped;
    uint16_t used = get16(f->vm, q_used(RXQ_PFN) + 2);

    /* Straight to the hook: a host with the bug may call it whatever caps it was given. */
    assert_false(vmm_virtio_net_rx_off(f->nic, fr, len, off));
    assert_int_equal(os->rx_bad_off, bad + 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->rx_dropped, dropped + 1);
    assert_int_equal(get16(f->vm, q_used(RXQ_PFN) + 2), used);
    assert_int_equal(f->vm->ram[RXC], 0xEE);
}

static void test_off_rx_bad(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    struct netoff gso = gso_meta();
    struct netoff partial = {.csum = NETOFF_CSUM_PARTIAL, .csum_start = 34, .csum_off = 16};
    struct netoff valid = {.csum = NETOFF_CSUM_VALID};
    struct netoff o;
    uint8_t fr[1514];
    size_t hlen;
    size_t len;
    size_t slen;

    slen = make_super(g_super, 30000, false, 0, &hlen);
    len = make_ip_frame(fr, 6, 1460, false);
    /* No GUEST_CSUM: no metadata at all. */
    legacy_up(f, F_MAC);
    post_rx_chain(f, 100, 18, 1800, HDR);
    expect_bad_rx(f, fr, len, &partial);
    expect_bad_rx(f, fr, len, &valid);
    expect_bad_rx(f, g_super, slen, &gso);
    /* GUEST_CSUM without GUEST_TSO4, or GUEST_TSO4 without GUEST_CSUM: no super-frames. */
    legacy_up(f, F_MAC | F_GUEST_CSUM);
    post_rx_chain(f, 100, 18, 1800, HDR);
    expect_bad_rx(f, g_super, slen, &gso);
    legacy_up(f, F_MAC | F_GUEST_TSO4);
    post_rx_chain(f, 100, 18, 1800, HDR);
    expect_bad_rx(f, g_super, slen, &gso);
    /* Everything negotiated, metadata that does not fit the frame. */
    legacy_up(f, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    post_rx_chain(f, 100, 18, 1800, HDR);
    o = partial;
    o.csum_off = (uint16_t)(len - 34 - 1); /* field past the end */
    expect_bad_rx(f, fr, len, &o);
    o = partial;
    o.csum = 3; /* unknown */
    expect_bad_rx(f, fr, len, &o);
    o = gso;
    o.gso = 4; /* unknown */
    expect_bad_rx(f, g_super, slen, &o);
    o = gso;
    o.csum_start = 30; /* not TCP's */
    expect_bad_rx(f, g_super, slen, &o);
    o = gso;
    o.csum = NETOFF_CSUM_VALID; /* GSO is always PARTIAL */
    expect_bad_rx(f, g_super, slen, &o);
    o = gso;
    o.gso_size = 0;
    expect_bad_rx(f, g_super, slen, &o);
    o = gso;
    o.gso_size = 4000; /* segments longer than a frame */
    expect_bad_rx(f, g_super, slen, &o);
    g_super[23] = 17; /* not TCP */
    expect_bad_rx(f, g_super, slen, &gso);
    g_super[23] = 6;
    expect_bad_rx(f, g_super, slen - 1, &gso); /* IP length not the frame's */
    /* Too long for the metadata: a plain drop (not a metadata one). */
    assert_false(fake_nic_deliver_off(g_super, slen, &partial));
    assert_int_equal(vmm_virtio_net_offload_stats(f->nic)->rx_bad_off, 14);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 0);
    /* The buffer is still there for a good one. */
    assert_true(fake_nic_deliver_off(g_super, slen, &gso));
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 1);
    assert_int_equal(vm->ram[RXC + 1], 1);
    assert_true(fake_log_has("RX frame dropped"));
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

/* Modern transport: the 12-byte header (num_buffers 1) with a super-frame over a long chain. */
static void test_off_rx_modern(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    struct netoff gso = gso_meta();
    uint64_t d = 0x1000;
    size_t hlen;
    size_t len = make_super(g_super, 25000, false, 0, &hlen);

    mwr(vm, 0x14, 1, 0);
    mwr(vm, 0x14, 1, 3);
    mwr(vm, 0x08, 4, 0);
    mwr(vm, 0x0C, 4, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4);
    mwr(vm, 0x08, 4, 1);
    mwr(vm, 0x0C, 4, 1);
    mwr(vm, 0x14, 1, 0x0B);
    modern_queue(vm, 0, 32, 0x1000, 0x1400, 0x1600);
    modern_queue(vm, 1, 8, 0x2000, 0x2100, 0x2200);
    mwr(vm, 0x14, 1, 0x0F);
    memset(&vm->ram[RXC], 0xEE, RXC_END - RXC);
    put_desc(vm, d, 0, RXC, 12, 3, 1);
    for (unsigned i = 0; i < 18; i++) {
        put_desc(vm, d, 1 + i, RXC + 16 + 1600ull * i, 1600, i < 17 ? 3 : 2, (uint16_t)(2 + i));
    }
    put16(vm, 0x1400 + 4, 0);
    put16(vm, 0x1400 + 2, 1);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    assert_int_equal(vm->ram[RXC], 1);
    assert_int_equal(vm->ram[RXC + 1], 1);
    assert_int_equal(get16(vm, RXC + 2), 54);
    assert_int_equal(get16(vm, RXC + 4), MSS);
    assert_int_equal(get16(vm, RXC + 10), 1); /* num_buffers */
    assert_memory_equal(&vm->ram[RXC + 16], g_super, len);
    assert_int_equal(get32(vm, 0x1600 + 8), 12 + len);
}

/* ---- mergeable receive buffers (MRG_RXBUF) ---- */

#define MRG_BUF 0x10000 /* single-descriptor buffers as Linux posts them, up to the RAM's end */

/* Posts n device-writable buffers of `size` bytes (buffer `first`.. at MRG_BUF), each one
 * descriptor numbered after its avail slot, memory poisoned; on the ring at desc / avail. */
static void post_mrg_at(struct fixture *f, uint64_t desc, uint64_t avail, uint16_t qsize,
                        unsigned first, unsigned n, uint32_t size)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = MRG_BUF + (uint64_t)(first + i) * size;
        uint16_t d = (uint16_t)(f->rx_avail % qsize);

        assert_true(a + size <= FAKE_RAM_SIZE);
        memset(&f->vm->ram[a], 0xEE, size);
        put_desc(f->vm, desc, d, a, size, 2 /* WRITE */, 0);
        put16(f->vm, avail + 4 + 2 * (f->rx_avail % qsize), d);
        f->rx_avail++;
    }
    put16(f->vm, avail + 2, f->rx_avail);
}

static void post_mrg(struct fixture *f, unsigned first, unsigned n, uint32_t size)
{
    post_mrg_at(f, q_desc(RXQ_PFN), q_avail(RXQ_PFN), QN, first, n, size);
}

static uint8_t g_got[NETOFF_FRAME_MAX + 64];

/* The frame the guest got in the used elements from `from` (ring of qsize at desc / used):
 * num_buffers (== nbuf) elements published at once, each buffer's bytes in ring order, every
 * buffer full but the last, nothing written beyond a used length; header and frame compared
 * with hdr (12 bytes, num_buffers filled in here) and fr. */
static void check_mrg_at(struct fixture *f, uint64_t desc, uint64_t used, uint16_t qsize,
                         uint16_t from, const uint8_t *hdr, const uint8_t *fr, size_t len,
                         unsigned nbuf)
{
    struct vmm_vm *vm = f->vm;
    size_t got = 0;
    uint8_t want[12];

    assert_int_equal(get16(vm, used + 2), (uint16_t)(from + nbuf));
    for (unsigned i = 0; i < nbuf; i++) {
        uint16_t slot = (uint16_t)((from + i) % qsize);
        uint16_t head = (uint16_t)get32(vm, used + 4 + 8ull * slot);
        uint32_t ulen = get32(vm, used + 4 + 8ull * slot + 4);
        uint64_t a = get32(vm, desc + 16ull * head);
        uint32_t blen = get32(vm, desc + 16ull * head + 8);

        assert_true(ulen <= blen);
        if (i + 1 < nbuf) {
            assert_int_equal(ulen, blen);
        } else if (ulen < blen) {
            assert_int_equal(vm->ram[a + ulen], 0xEE);
        }
        assert_true(got + ulen <= sizeof(g_got));
        memcpy(g_got + got, &vm->ram[a], ulen);
        got += ulen;
    }
    assert_int_equal(got, 12 + len);
    memcpy(want, hdr, 12);
    want[10] = (uint8_t)nbuf;
    want[11] = (uint8_t)(nbuf >> 8);
    assert_memory_equal(g_got, want, 12);
    assert_memory_equal(g_got + 12, fr, len);
}

static void check_mrg(struct fixture *f, uint16_t from, const uint8_t *hdr, const uint8_t *fr,
                      size_t len, unsigned nbuf)
{
    check_mrg_at(f, q_desc(RXQ_PFN), q_used(RXQ_PFN), QN, from, hdr, fr, len, nbuf);
}

/* The GSO header a TCPv4 super-frame (no options, no VLAN) gets. */
static void gso_hdr(uint8_t *h)
{
    memset(h, 0, 12);
    h[0] = 1;  /* NEEDS_CSUM */
    h[1] = 1;  /* TCPV4 */
    h[2] = 54; /* hdr_len */
    h[4] = (uint8_t)MSS;
    h[5] = (uint8_t)(MSS >> 8);
    h[6] = 34; /* csum_start */
    h[8] = 16; /* csum_offset */
}

/* Legacy with MRG_RXBUF (12-byte header): plain frames, 64 KiB super-frames over many
 * buffers, and a ring that runs out partway. */
static void test_mrg_rx(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_nic_stats *st = vmm_virtio_net_stats(f->nic);
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    struct netoff gso = gso_meta();
    uint8_t h[12];
    uint8_t fr[1514];
    size_t hlen;
    size_t len;
    uint16_t used = 0;
    unsigned rises;

    legacy_up(f, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4 | F_MRG_RXBUF);
    /* A 1514-byte frame fits one 1536-byte buffer: num_buffers 1, DATA_VALID (checked). */
    len = make_ip_frame(fr, 6, 1460, true);
    assert_int_equal(len, 1514);
    post_mrg(f, 0, 1, 1536);
    assert_true(fake_nic_deliver_off(fr, len, NULL));
    memset(h, 0, sizeof(h));
    h[0] = 2;
    check_mrg(f, used, h, fr, len, 1);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 4), 12 + 1514);
    used += 1;
    assert_int_equal(os->rx_merged, 0);
    /* The largest super-frame over 1536-byte buffers: 43 of them, published together. */
    len = make_super(g_super, 65535 - 40, false, 0, &hlen);
    assert_int_equal(len, 14 + 65535);
    post_mrg(f, 0, 50, 1536);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    gso_hdr(h);
    check_mrg(f, used, h, g_super, len, 43);
    used += 43;
    assert_int_equal(os->rx_merged, 1);
    assert_int_equal(os->rx_gso, 1);
    assert_int_equal(st->rx_frames, 2);
    assert_int_equal(st->rx_bytes, 1514 + len);
    /* The 7 left over take the next frames, a short one then a 9000-byte one (6 buffers). */
    len = make_ip_frame(fr, 17, 100, true);
    assert_true(fake_nic_deliver_off(fr, len, NULL));
    h[0] = 2;
    memset(h + 1, 0, 11);
    check_mrg(f, used, h, fr, len, 1);
    used += 1;
    len = make_super(g_super, 9000 - 54, false, 0, &hlen);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    gso_hdr(h);
    check_mrg(f, used, h, g_super, len, 6);
    used += 6;
    /* One interrupt for the whole burst, at the poll. */
    rises = vm->rises[IRQ];
    assert_false(vm->line[IRQ]);
    fake_poll(vm);
    assert_int_equal(vm->rises[IRQ], rises + 1);
    assert_int_equal(fake_inb(vm, IO + 0x13), 1);
    /* The ring runs out partway: dropped and counted, nothing in the used ring, the buffers
     * untouched and still available... */
    len = make_super(g_super, 65535 - 40, false, 0, &hlen);
    post_mrg(f, 0, 10, 4096);
    assert_false(fake_nic_deliver_off(g_super, len, &gso));
    assert_int_equal(st->rx_dropped, 1);
    assert_int_equal(os->rx_merge_short, 1);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), used);
    for (size_t i = 0; i < 10 * 4096; i++) {
        assert_int_equal(vm->ram[MRG_BUF + i], 0xEE);
    }
    /* ... for the next frame, which takes them and 7 more (4096-byte buffers: 17). */
    post_mrg(f, 10, 7, 4096);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    check_mrg(f, used, h, g_super, len, 17);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 8 * used), used % QN); /* ring order */
    used += 17;
    /* An empty ring: a plain drop. */
    assert_false(fake_nic_deliver_off(fr, 60, NULL));
    assert_int_equal(st->rx_dropped, 2);
    assert_int_equal(os->rx_merge_short, 1);
    assert_int_equal(os->rx_merged, 3);
    assert_int_equal(st->rx_frames, 5);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), used);
    assert_int_equal(st->hostile, 0);
}

/* The 12-byte header on a legacy transport both ways once MRG_RXBUF is acked, without
 * offloads (a host without the hooks): TX takes it, RX spreads a frame over small buffers.
 * A driver that does not ack it keeps the 10-byte header and one chain per frame. */
static void test_mrg_legacy_hdr(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t fr[1514];
    uint8_t h[12] = {0};
    size_t len = make_ip_frame(fr, 6, 1460, true);

    legacy_up(f, F_MAC | F_MRG_RXBUF);
    assert_int_equal(fake_in(vm, IO + 0x04, 4), F_MAC | F_MRG_RXBUF);
    memset(&vm->ram[BUF], 0, 12);
    memset(&vm->ram[BUF + 12], 0x77, 100);
    put_desc(vm, q_desc(TXQ_PFN), 0, BUF, 112, 0, 0);
    make_avail(vm, q_avail(TXQ_PFN), &f->tx_avail, 0);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(fake_nic.sent_len[0], 100);
    assert_int_equal(fake_nic.sent[0][0], 0x77);
    /* 1514 bytes + header over 600-byte buffers: three, the last partly. */
    post_mrg(f, 0, 4, 600);
    assert_true(fake_nic_deliver(fr, len));
    check_mrg(f, 0, h, fr, len, 3);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 4 + 8 * 2 + 4), 12 + 1514 - 1200);
    /* A buffer smaller than the header: the header spans two. */
    post_mrg(f, 4, 3, 8);
    post_mrg(f, 30, 1, 2048);
    assert_true(fake_nic_deliver(fr, 60)); /* takes the 600-byte one left over */
    check_mrg(f, 3, h, fr, 60, 1);
    assert_true(fake_nic_deliver(fr, 60));
    check_mrg(f, 4, h, fr, 60, 4);
    assert_int_equal(vmm_virtio_net_offload_stats(f->nic)->rx_merged, 2);
    /* Without MRG_RXBUF: 10-byte header, a frame too big for the chain comes back empty. */
    legacy_up(f, F_MAC);
    post_mrg(f, 0, 1, 600);
    assert_false(fake_nic_deliver(fr, len));
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 1);
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 8), 0);
    post_mrg(f, 0, 1, 1600);
    assert_true(fake_nic_deliver(fr, len));
    assert_int_equal(get32(vm, q_used(RXQ_PFN) + 16), HDR + 1514);
    assert_memory_equal(&vm->ram[MRG_BUF + HDR], fr, len);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

/* Hostile buffers past the first: a device-readable one, one outside RAM, a changed one. */
static void test_mrg_hostile(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint8_t fr[1514];
    size_t len = make_ip_frame(fr, 6, 1460, true);

    legacy_up(f, F_MAC | F_MRG_RXBUF);
    post_mrg(f, 0, 4, 512);
    put16(vm, q_desc(RXQ_PFN) + 16 * 2 + 12, 0); /* the third readable */
    assert_false(fake_nic_deliver(fr, len));
    expect_hostile(f, 0);
    legacy_up(f, F_MAC | F_MRG_RXBUF);
    post_mrg(f, 0, 4, 512);
    put64(vm, q_desc(RXQ_PFN) + 16 * 1, FAKE_RAM_SIZE - 100); /* the second beyond RAM */
    assert_false(fake_nic_deliver(fr, len));
    expect_hostile(f, 1);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 0);
    /* More buffers than the ring holds cannot be taken: a ring of 1-byte buffers. */
    legacy_up(f, F_MAC | F_MRG_RXBUF);
    post_mrg(f, 0, QN, 1);
    assert_false(fake_nic_deliver(fr, len));
    assert_int_equal(vmm_virtio_net_offload_stats(f->nic)->rx_merge_short, 1);
    assert_int_equal(get16(vm, q_used(RXQ_PFN) + 2), 0);
    assert_true(fake_nic_deliver(fr, 200)); /* 212 of them do */
    check_mrg(f, 0, (const uint8_t[12]){0}, fr, 200, 212);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 2);
}

/* Modern (VERSION_1) with MRG_RXBUF: a super-frame over 4096-byte buffers of a 64-entry ring,
 * a ring running out, and the buffers then used. */
static void test_mrg_rx_modern(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    const struct vmm_virtio_net_offload_stats *os = vmm_virtio_net_offload_stats(f->nic);
    struct netoff gso = gso_meta();
    const uint64_t desc = 0x1000;
    const uint64_t avail = 0x1400;
    const uint64_t used = 0x1600;
    uint8_t h[12];
    size_t hlen;
    size_t len = make_super(g_super, 40000, false, 0, &hlen);

    mwr(vm, 0x14, 1, 0);
    mwr(vm, 0x14, 1, 3);
    mwr(vm, 0x08, 4, 0);
    mwr(vm, 0x0C, 4, F_MAC | F_GUEST_CSUM | F_GUEST_TSO4 | F_MRG_RXBUF);
    mwr(vm, 0x08, 4, 1);
    mwr(vm, 0x0C, 4, 1);
    mwr(vm, 0x14, 1, 0x0B);
    assert_int_equal(mrd(vm, 0x14, 1), 0x0B);
    modern_queue(vm, 0, 64, desc, avail, used);
    modern_queue(vm, 1, 8, 0x2000, 0x2100, 0x2200);
    mwr(vm, 0x14, 1, 0x0F);
    f->rx_avail = 0;
    post_mrg_at(f, desc, avail, 64, 0, 5, 4096);
    assert_false(fake_nic_deliver_off(g_super, len, &gso));
    assert_int_equal(os->rx_merge_short, 1);
    assert_int_equal(get16(vm, used + 2), 0);
    post_mrg_at(f, desc, avail, 64, 5, 5, 4096);
    assert_true(fake_nic_deliver_off(g_super, len, &gso));
    gso_hdr(h);
    check_mrg_at(f, desc, used, 64, 0, h, g_super, len, 10);
    assert_int_equal(os->rx_merged, 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

static void test_unplugged(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    assert_false(fake_nic.attached);
    assert_int_equal(fake_in(vm, IO + 0x1A, 2), 0); /* link down */
    /* No network: no MTU to offer. */
    assert_false(fake_in(vm, IO, 4) & F_MTU);
    assert_int_equal(fake_in(vm, IO + 0x14 + 10, 2), 0);
    legacy_up(f, F_MAC);
    post_tx(f, 0, 60, 1);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->tx_dropped, 1);
    assert_int_equal(get16(vm, q_used(TXQ_PFN) + 2), 1);
}

/* ---- MSI-X ---- */

#define MSIX_CAP   0x84
#define MSIX_TABLE 0x4000 /* in BAR1 */
#define MSIX_PBA   0x5000

/* Enables MSI-X and programs entry n with vector 0x40 + n, unmasked, as Linux does. */
static void msix_up(struct fixture *f)
{
    cfg_write(f->vm, MSIX_CAP + 2, 2, 0x8000);
    for (unsigned n = 0; n < 3; n++) {
        mwr(f->vm, MSIX_TABLE + 16 * n, 4, 0xFEE00000u);
        mwr(f->vm, MSIX_TABLE + 16 * n + 4, 4, 0);
        mwr(f->vm, MSIX_TABLE + 16 * n + 8, 4, 0x40 + n);
        mwr(f->vm, MSIX_TABLE + 16 * n + 12, 4, 0);
    }
}

static void test_msix_capability(void **state)
{
    struct fixture *f = *state;
    unsigned cap = cfg_read(f->vm, 0x34, 1);
    unsigned vendor = 0;
    unsigned msix = 0;

    for (unsigned i = 0; cap != 0 && i < 8; i++) {
        if (cfg_read(f->vm, cap, 1) == 0x09) {
            vendor++;
        } else {
            assert_int_equal(cfg_read(f->vm, cap, 1), 0x11);
            assert_int_equal(cap, MSIX_CAP);
            msix++;
        }
        cap = cfg_read(f->vm, cap + 1, 1);
    }
    assert_int_equal(vendor, 5);
    assert_int_equal(msix, 1);
    assert_int_equal(cfg_read(f->vm, MSIX_CAP + 2, 2), 2); /* 3 vectors, disabled */
    assert_int_equal(cfg_read(f->vm, MSIX_CAP + 4, 4), MSIX_TABLE | 1);
    assert_int_equal(cfg_read(f->vm, MSIX_CAP + 8, 4), MSIX_PBA | 1);
    /* BAR1 is 32 KiB now: table and PBA after the modern regions. */
    cfg_write(f->vm, 0x14, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 0x14, 4), 0xFFFF8000);
    cfg_write(f->vm, 0x14, 4, (uint32_t)MMIO);
    assert_int_equal(mrd(f->vm, MSIX_TABLE + 12, 4), 1); /* masked at reset */
    assert_int_equal(mrd(f->vm, MSIX_PBA, 4), 0);
    assert_int_equal(mrd(f->vm, 0x4FF0, 4), 0); /* between table and PBA: nothing */
}

static void test_msix_legacy(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;

    legacy_up(f, F_MAC | F_STATUS);
    /* Without MSI-X: device config at 0x14. */
    assert_int_equal(fake_inb(vm, IO + 0x14), mac[0]);
    msix_up(f);
    /* With it: config_vector and queue_vector at 0x14/0x16, the config at 0x18. */
    assert_int_equal(fake_in(vm, IO + 0x14, 2), 0xFFFF);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(fake_inb(vm, IO + 0x18 + i), mac[i]);
    }
    assert_int_equal(fake_in(vm, IO + 0x1E, 2), 1); /* link up */
    fake_out(vm, IO + 0x14, 2, 0);
    assert_int_equal(fake_in(vm, IO + 0x14, 2), 0);
    fake_out(vm, IO + 0x0E, 2, 0);
    fake_out(vm, IO + 0x16, 2, 1);
    fake_out(vm, IO + 0x0E, 2, 1);
    fake_out(vm, IO + 0x16, 2, 3); /* beyond the table: refused */
    assert_int_equal(fake_in(vm, IO + 0x16, 2), 0xFFFF);
    fake_out(vm, IO + 0x16, 2, 2);
    assert_int_equal(fake_in(vm, IO + 0x16, 2), 2);
    assert_int_equal(fake_in(vm, IO + 0x14, 4), 0x00020000);
    fake_out(vm, IO + 0x0E, 2, 0);
    assert_int_equal(fake_in(vm, IO + 0x16, 2), 1);
    /* TX: the TX vector's message, no INTx; ISR still records it. */
    post_tx(f, 0, 60, 0xAB);
    fake_out(vm, IO + 0x10, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(f->nmsi, 1);
    assert_int_equal(f->msi_addr, 0xFEE00000u);
    assert_int_equal(f->msi_data, 0x42);
    assert_false(vm->line[IRQ]);
    assert_int_equal(vm->rises[IRQ], 0);
    /* RX: the RX vector at the poll. */
    post_rx(f, 0, 1600);
    assert_true(fake_nic_deliver((const uint8_t[60]){0}, 60));
    fake_poll(vm);
    assert_int_equal(f->nmsi, 2);
    assert_int_equal(f->msi_data, 0x41);
    assert_false(vm->line[IRQ]);
    assert_int_equal(fake_inb(vm, IO + 0x13), 1);
    /* A masked entry: pending, delivered on unmask. */
    mwr(vm, MSIX_TABLE + 16 + 12, 4, 1);
    post_rx(f, 1, 1600);
    assert_true(fake_nic_deliver((const uint8_t[60]){0}, 60));
    fake_poll(vm);
    assert_int_equal(f->nmsi, 2);
    assert_int_equal(mrd(vm, MSIX_PBA, 4), 2);
    mwr(vm, MSIX_TABLE + 16 + 12, 4, 0);
    assert_int_equal(f->nmsi, 3);
    assert_int_equal(f->msi_data, 0x41);
    assert_int_equal(mrd(vm, MSIX_PBA, 4), 0);
    /* A queue without a vector: no interrupt at all while MSI-X is on. */
    fake_out(vm, IO + 0x16, 2, 0xFFFF);
    post_rx(f, 2, 1600);
    assert_true(fake_nic_deliver((const uint8_t[60]){0}, 60));
    fake_poll(vm);
    assert_int_equal(f->nmsi, 3);
    assert_false(vm->line[IRQ]);
    /* MSI-X off: back to INTx (ISR holds the cause) and the config at 0x14. */
    cfg_write(vm, MSIX_CAP + 2, 2, 0);
    assert_true(vm->line[IRQ]);
    assert_int_equal(fake_inb(vm, IO + 0x14), mac[0]);
    assert_int_equal(fake_inb(vm, IO + 0x13), 1);
    assert_false(vm->line[IRQ]);
    /* A device reset clears the vectors. */
    fake_outb(vm, IO + 0x12, 0);
    cfg_write(vm, MSIX_CAP + 2, 2, 0x8000);
    assert_int_equal(fake_in(vm, IO + 0x14, 4), 0xFFFFFFFF);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

static void test_msix_modern(void **state)
{
    struct fixture *f = *state;
    struct vmm_vm *vm = f->vm;
    uint16_t txa = 0;

    mwr(vm, 0x14, 1, 0);
    mwr(vm, 0x14, 1, 3);
    mwr(vm, 0x08, 4, 1);
    mwr(vm, 0x0C, 4, 1);
    mwr(vm, 0x14, 1, 0x0B);
    msix_up(f);
    /* msix_config and queue_msix_vector: out-of-range reads back NO_VECTOR. */
    assert_int_equal(mrd(vm, 0x10, 2), 0xFFFF);
    mwr(vm, 0x10, 2, 0);
    assert_int_equal(mrd(vm, 0x10, 2), 0);
    mwr(vm, 0x10, 2, 3);
    assert_int_equal(mrd(vm, 0x10, 2), 0xFFFF);
    mwr(vm, 0x10, 2, 0);
    modern_queue(vm, 0, 8, 0x1000, 0x1100, 0x1200);
    modern_queue(vm, 1, 8, 0x2000, 0x2100, 0x2200);
    mwr(vm, 0x16, 2, 0);
    mwr(vm, 0x1A, 2, 1);
    assert_int_equal(mrd(vm, 0x1A, 2), 1);
    mwr(vm, 0x16, 2, 1);
    mwr(vm, 0x1A, 2, 0x7FFF);
    assert_int_equal(mrd(vm, 0x1A, 2), 0xFFFF);
    mwr(vm, 0x1A, 2, 2);
    assert_int_equal(mrd(vm, 0x1A, 2), 2);
    mwr(vm, 0x16, 2, 5); /* no such queue */
    assert_int_equal(mrd(vm, 0x1A, 2), 0xFFFF);
    mwr(vm, 0x1A, 2, 1);
    mwr(vm, 0x14, 1, 0x0F);
    /* TX through the modern notify: the TX vector, INTx stays low, ISR records. */
    memset(&vm->ram[BUF], 0, 12);
    memset(&vm->ram[BUF + 12], 0xC3, 60);
    put_desc(vm, 0x2000, 0, BUF, 72, 0, 0);
    put16(vm, 0x2100 + 4, 0);
    put16(vm, 0x2100 + 2, ++txa);
    mwr(vm, 0x3000 + 4, 2, 1);
    assert_int_equal(fake_nic.nsent, 1);
    assert_int_equal(f->nmsi, 1);
    assert_int_equal(f->msi_data, 0x42);
    assert_false(vm->line[IRQ]);
    assert_int_equal(mrd(vm, 0x1000, 1), 1);
    /* The function mask holds vectors back; clearing it delivers. */
    cfg_write(vm, MSIX_CAP + 2, 2, 0xC000);
    put_desc(vm, 0x2000, 1, BUF, 72, 0, 0);
    put16(vm, 0x2100 + 4 + 2, 1);
    put16(vm, 0x2100 + 2, ++txa);
    mwr(vm, 0x3000 + 4, 2, 1);
    assert_int_equal(fake_nic.nsent, 2);
    assert_int_equal(f->nmsi, 1);
    assert_int_equal(mrd(vm, MSIX_PBA, 4), 4);
    cfg_write(vm, MSIX_CAP + 2, 2, 0x8000);
    assert_int_equal(f->nmsi, 2);
    assert_false(vm->line[IRQ]);
    /* Bad table accesses are ignored (a byte write into an entry). */
    mwr(vm, MSIX_TABLE + 8, 1, 0xFF);
    assert_int_equal(mrd(vm, MSIX_TABLE + 8, 4), 0x40);
    assert_int_equal(mrd(vm, MSIX_TABLE + 8, 2), 0);
    /* Status 0 clears the vectors; the VM reset also MSI-X itself. */
    mwr(vm, 0x14, 1, 0);
    assert_int_equal(mrd(vm, 0x10, 2), 0xFFFF);
    mwr(vm, 0x16, 2, 1);
    assert_int_equal(mrd(vm, 0x1A, 2), 0xFFFF);
    fake_reset_devices(vm);
    assert_int_equal(cfg_read(vm, MSIX_CAP + 2, 2), 2);
    assert_int_equal(mrd(vm, MSIX_TABLE + 12, 4), 1);
    assert_int_equal(mrd(vm, MSIX_TABLE + 8, 4), 0);
    assert_int_equal(vmm_virtio_net_stats(f->nic)->hostile, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_quiet_while_host_polls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_io_poll_from_another_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_csum_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csum_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tso_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tso_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tso_hostile, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_offload_off, setup_no_offload, teardown),
        cmocka_unit_test_setup_teardown(test_off_tso_tx, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_off_csum_tx, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_off_negotiation, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_off_without_hooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_rx, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_off_rx_bad, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_off_rx_modern, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_rx, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_legacy_hdr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_rx_modern, setup_off, teardown),
        cmocka_unit_test_setup_teardown(test_unplugged, setup_unplugged, teardown),
        cmocka_unit_test_setup_teardown(test_msix_capability, setup_msix, teardown),
        cmocka_unit_test_setup_teardown(test_msix_legacy, setup_msix, teardown),
        cmocka_unit_test_setup_teardown(test_msix_modern, setup_msix, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
