/* libFuzzer target for the guest NIC models (vmm/devices/virtio_net.c with its virtqueue,
 * rtl8139.c, ne2k.c; the first byte picks one): one fake VM with the PCI host and one NIC
 * attached to the fake backend (or none), driven by random register
 * writes and reads (IO and MMIO, every size), random bytes and structured descriptors written
 * into fake guest memory (the rings the NIC walks), a correct driver bring-up now and then (so
 * the rings are live), frames delivered from the host, polls, PCI command/BAR writes and
 * resets. For virtio-net also structured TX chains (a legacy ring at a known place) carrying
 * virtio headers with random offload requests (NEEDS_CSUM offsets, TSO4 segment sizes) over
 * mostly-plausible TCP/UDP/IPv4 frames of up to 64 KiB, and received IPv4 frames with right
 * or wrong checksums (GUEST_CSUM). Besides ASan/UBSan/LSan it traps when a promise breaks: a
 * handler failing on a valid access, a read wider than its size, a frame sent longer than
 * the maximum, a TSO segment with a wrong IP or TCP checksum, the VM failed. virtio-net with
 * an MSI route (most runs) also gets random config writes into its MSI-X capability, random
 * table and PBA accesses, and an MSI-X bring-up now and then (table programmed, vectors
 * assigned through either transport); promises: no MSI while MSI-X is disabled or the function
 * masked, INTx never high while MSI-X is enabled. Half the runs the fake host takes offload
 * metadata (nic_send_off, nic_set_offloads): virtio-net then passes super-frames and partial
 * checksums on whole, and gets received frames with metadata (plausible super-frames into
 * long "big packet" chains, or spread over 1.5 KiB mergeable buffers when the bring-up acked
 * MRG_RXBUF (half the structured ones; the header is 12 bytes then), and random metadata
 * straight into its hook, as a buggy host would); promise: the host never refuses metadata
 * the model sent (netoff_check).
 *
 * As in fuzz_devices.c, the fuzz rule links HOSTED_SRC (the real VMM core and devices), so
 * this file takes private copies of the fake core and of the models under other names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define vmm_host_set              fz_vmm_host_set
#define vmm_host                  fz_vmm_host
#define vmm_dev_register          fz_vmm_dev_register
#define vmm_irq_set               fz_vmm_irq_set
#define vmm_dev_irq_set           fz_vmm_dev_irq_set
#define vmm_intc_register         fz_vmm_intc_register
#define vmm_intc_take_cpu         fz_vmm_intc_take_cpu
#define vmm_guest_tsc             fz_vmm_guest_tsc
#define vmm_guest_read            fz_vmm_guest_read
#define vmm_guest_write           fz_vmm_guest_write
#define vmm_console_out           fz_vmm_console_out
#define vmm_console_register      fz_vmm_console_register
#define vmm_vm_request_exit       fz_vmm_vm_request_exit
#define vmm_vm_request_reset      fz_vmm_vm_request_reset
#define vmm_vm_fail               fz_vmm_vm_fail
#define vmm_vm_name               fz_vmm_vm_name
#define vmm_dev_pci_host_create   fz_vmm_dev_pci_host_create
#define vmm_pci_add_func          fz_vmm_pci_add_func
#define vmm_pci_func_cfg          fz_vmm_pci_func_cfg
#define vmm_pci_func_wmask        fz_vmm_pci_func_wmask
#define vmm_pci_func_command      fz_vmm_pci_func_command
#define vmm_pci_func_bar          fz_vmm_pci_func_bar
#define vnic_port_init            fz_vnic_port_init
#define vnic_port_detach          fz_vnic_port_detach
#define vnic_send                 fz_vnic_send
#define vnic_rx_drop              fz_vnic_rx_drop
#define vnic_rx_count             fz_vnic_rx_count
#define vnic_hostile              fz_vnic_hostile
#define virtq_setup               fz_virtq_setup
#define virtq_reset               fz_virtq_reset
#define virtq_pop                 fz_virtq_pop
#define virtq_push                fz_virtq_push
#define virtq_unpop               fz_virtq_unpop
#define virtq_fill                fz_virtq_fill
#define virtq_flush               fz_virtq_flush
#define virtq_should_interrupt    fz_virtq_should_interrupt
#define virtq_want_kick           fz_virtq_want_kick
#define virtq_chain_read          fz_virtq_chain_read
#define virtq_chain_write         fz_virtq_chain_write
#define vmm_dev_virtio_net_create fz_vmm_dev_virtio_net_create
#define vmm_virtio_net_rx         fz_vmm_virtio_net_rx
#define vmm_virtio_net_stats      fz_vmm_virtio_net_stats
#define vmm_dev_rtl8139_create    fz_vmm_dev_rtl8139_create
#define vmm_rtl8139_rx            fz_vmm_rtl8139_rx
#define vmm_rtl8139_stats         fz_vmm_rtl8139_stats
#define vmm_dev_ne2k_create       fz_vmm_dev_ne2k_create
#define vmm_ne2k_rx               fz_vmm_ne2k_rx
#define vmm_ne2k_stats            fz_vmm_ne2k_stats
#define vnic_mcast_hash           fz_vnic_mcast_hash
#define vnic_accept               fz_vnic_accept

/* (its own block: the alignment above stays as it was) */
#define vmm_virtio_net_offload_stats fz_vmm_virtio_net_offload_stats
#define vmm_pci_host_set_msi         fz_vmm_pci_host_set_msi
#define vmm_pci_host_has_msi         fz_vmm_pci_host_has_msi
#define vmm_pci_func_msi             fz_vmm_pci_func_msi
#define vmm_msix_init                fz_vmm_msix_init
#define vmm_msix_reset               fz_vmm_msix_reset
#define vmm_msix_cfg_write           fz_vmm_msix_cfg_write
#define vmm_msix_mmio                fz_vmm_msix_mmio
#define vmm_msix_enabled             fz_vmm_msix_enabled
#define vmm_msix_notify              fz_vmm_msix_notify
#define vmm_msi_decode               fz_vmm_msi_decode
#define vnic_offloads_supported      fz_vnic_offloads_supported
#define vnic_send_off                fz_vnic_send_off
#define vnic_set_offloads            fz_vnic_set_offloads
#define vmm_virtio_net_rx_off        fz_vmm_virtio_net_rx_off

#include "../unit/fake_vmm.c"
#include "../../vmm/devices/pci_host.c"
#include "../../vmm/devices/vnic.c"
#include "../../vmm/devices/virtq.c"
#include "../../vmm/devices/msix.c"
#include "../../vmm/devices/virtio_net.c"
#include "../../vmm/devices/rtl8139.c"
#include "../../vmm/devices/ne2k.c"

#define FZ_IO   0xC000
#define FZ_MMIO 0xFE000000ull
#define FZ_SLOT 3
#define FZ_IRQ  11
#define FZ_OPS  512
#define FZ_BLOB 64

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t take8(struct input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)take8(in) << (8 * i);
    }
    return v;
}

static unsigned pick_size(struct input *in, bool mmio)
{
    static const unsigned sizes[8] = {1, 2, 4, 4, 2, 1, 8, 4};
    unsigned s = sizes[take8(in) & 7];

    return (!mmio && s == 8) ? 4 : s;
}

static void cfg_out(struct vmm_vm *vm, unsigned reg, unsigned size, uint32_t val)
{
    fake_out(vm, 0xCF8, 4, 0x80000000u | FZ_SLOT << 11 | (reg & 0xFC));
    fake_out(vm, (uint16_t)(0xCFC + (reg & 3)), size, val);
}

/* The model under test: 0 virtio-net, 1 rtl8139, 2 ne2k. */
static unsigned g_model;

static const unsigned io_span[3] = {72, 256, 40};

static void do_io(struct vmm_vm *vm, struct input *in, bool write)
{
    uint16_t port = (uint16_t)(FZ_IO + (take(in, 2) % io_span[g_model]));
    unsigned size = pick_size(in, false);
    uint32_t val = write ? (uint32_t)take(in, 4) : 0xA5A5A5A5u;

    if (fake_io(vm, port, size, write, &val) != VMM_HANDLED) {
        __builtin_trap();
    }
    if (!write && size < 4 && (val >> (8 * size)) != 0) {
        __builtin_trap();
    }
}

static void do_mmio(struct vmm_vm *vm, struct input *in, bool write)
{
    /* virtio-net: common, ISR, device, notify, MSI-X table (twice as often), PBA, the end. */
    static const uint64_t regions[8] = {0x0000, 0x1000, 0x2000, 0x3000,
                                        0x4000, 0x4000, 0x5000, 0x7FC0};
    uint64_t off = regions[take8(in) & 7];
    unsigned size = pick_size(in, true);
    uint64_t val = write ? take(in, 8) : 0xA5A5A5A5A5A5A5A5ull;

    if (g_model == 2) {
        return; /* the NE2000 has no memory BAR */
    }
    off = g_model == 1 ? take8(in) : off + take8(in) % 0x40;

    if (fake_mmio(vm, FZ_MMIO + off, size, write, &val) != VMM_HANDLED) {
        __builtin_trap();
    }
    if (!write && size < 8 && (val >> (8 * size)) != 0) {
        __builtin_trap();
    }
}

/* rtl8139: 8139too's hw_start with the ring and buffers at random (often valid) places. */
static void rtl_bringup(struct vmm_vm *vm, struct input *in)
{
    fake_outb(vm, FZ_IO + 0x37, 0x10);
    fake_outb(vm, FZ_IO + 0x50, 0xC0);
    fake_outb(vm, FZ_IO + 0x37, 0x0C);
    fake_out(vm, FZ_IO + 0x44, 4, (take8(in) & 1) ? 0x8A : (uint32_t)take(in, 4));
    fake_out(vm, FZ_IO + 0x30, 4,
             (take8(in) & 1) ? (take8(in) % 16u) << 12 : (uint32_t)take(in, 4));
    fake_outb(vm, FZ_IO + 0x50, 0x00);
    for (unsigned i = 0; i < 4; i++) {
        fake_out(vm, FZ_IO + 0x20 + 4 * i, 4, (uint32_t)take(in, 2));
    }
    fake_out(vm, FZ_IO + 0x3C, 2, 0xE07F);
}

/* ne2k: NS8390_init with ring pages that are mostly sane. */
static void ne_bringup(struct vmm_vm *vm, struct input *in)
{
    bool sane = take8(in) & 1;
    uint8_t pstart = sane ? 0x4C : take8(in);
    uint8_t pstop = sane ? 0x80 : take8(in);

    fake_outb(vm, FZ_IO + 0x00, 0x21);
    fake_outb(vm, FZ_IO + 0x0E, 0x49);
    fake_outb(vm, FZ_IO + 0x04, 0x40);
    fake_outb(vm, FZ_IO + 0x01, pstart);
    fake_outb(vm, FZ_IO + 0x03, (uint8_t)(pstop - 1));
    fake_outb(vm, FZ_IO + 0x02, pstop);
    fake_outb(vm, FZ_IO + 0x00, 0x61);
    fake_outb(vm, FZ_IO + 0x07, sane ? pstart : take8(in));
    fake_outb(vm, FZ_IO + 0x00, 0x22);
    fake_outb(vm, FZ_IO + 0x07, 0xFF);
    fake_outb(vm, FZ_IO + 0x0F, 0x3F);
    fake_outb(vm, FZ_IO + 0x0C, take8(in) & 0x3C);
}

/* ne2k: a remote DMA burst through the data port (string IO, as insl/outsl). */
static void ne_dma(struct vmm_vm *vm, struct input *in)
{
    uint8_t buf[256];
    unsigned size = (take8(in) & 1) ? 4 : 2;
    uint32_t count = take8(in) % (sizeof(buf) / size + 1);
    bool write = take8(in) & 1;

    fake_outb(vm, FZ_IO + 0x0A, take8(in));
    fake_outb(vm, FZ_IO + 0x0B, take8(in));
    fake_outb(vm, FZ_IO + 0x08, take8(in));
    fake_outb(vm, FZ_IO + 0x09, take8(in));
    fake_outb(vm, FZ_IO + 0x00, write ? 0x12 : 0x0A);
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = take8(in);
    }
    if (fake_io_string(vm, FZ_IO + 0x10, size, write, buf, count) != VMM_HANDLED) {
        __builtin_trap();
    }
}

/* virtio-net's MSI-X as Linux sets it up: enable, three entries (mostly valid messages),
 * unmasked, vectors for config and both queues through the legacy or the modern registers. */
static void msix_bringup(struct vmm_vm *vm, struct input *in, bool legacy)
{
    uint64_t v;

    cfg_out(vm, 0x86, 2, (take8(in) & 7) ? 0x8000 : (uint32_t)take(in, 2));
    for (unsigned n = 0; n < 3; n++) {
        uint32_t w[4] = {0xFEE00000u, 0, 0x30u + n, 0};

        if ((take8(in) & 3) == 0) {
            w[take8(in) & 3] = (uint32_t)take(in, 4);
        }
        for (unsigned i = 0; i < 4; i++) {
            v = w[i];
            (void)fake_mmio(vm, FZ_MMIO + 0x4000 + 16 * n + 4 * i, 4, true, &v);
        }
    }
    for (unsigned q = 0; q < 3; q++) {
        uint16_t vec = (take8(in) & 3) ? (uint16_t)q : (uint16_t)take(in, 2);

        if (legacy) {
            if (q == 0) {
                fake_out(vm, FZ_IO + 0x14, 2, vec);
            } else {
                fake_out(vm, FZ_IO + 0x0E, 2, q - 1);
                fake_out(vm, FZ_IO + 0x16, 2, vec);
            }
        } else if (q == 0) {
            v = vec;
            (void)fake_mmio(vm, FZ_MMIO + 0x10, 2, true, &v);
        } else {
            v = q - 1;
            (void)fake_mmio(vm, FZ_MMIO + 0x16, 2, true, &v);
            v = vec;
            (void)fake_mmio(vm, FZ_MMIO + 0x1A, 2, true, &v);
        }
    }
}

/* A driver bring-up with rings at random (often valid) places. */
static void do_bringup(struct vmm_vm *vm, struct input *in)
{
    uint8_t how = take8(in);

    cfg_out(vm, 0x04, 2, 0x0007);
    if (g_model == 1) {
        rtl_bringup(vm, in);
        return;
    }
    if (g_model == 2) {
        ne_bringup(vm, in);
        return;
    }
    if (how & 1) {
        fake_outb(vm, FZ_IO + 0x12, 0);
        fake_outb(vm, FZ_IO + 0x12, 3);
        fake_out(vm, FZ_IO + 0x04, 4, (uint32_t)take(in, 4));
        for (unsigned q = 0; q < 2; q++) {
            fake_out(vm, FZ_IO + 0x0E, 2, q);
            fake_out(vm, FZ_IO + 0x08, 4, take8(in) % 20);
        }
        fake_outb(vm, FZ_IO + 0x12, 7);
        if (how & 2) {
            msix_bringup(vm, in, true);
        }
        return;
    }
    {
        uint64_t v;

        v = 0;
        (void)fake_mmio(vm, FZ_MMIO + 0x14, 1, true, &v);
        for (unsigned w = 0; w < 2; w++) {
            v = w;
            (void)fake_mmio(vm, FZ_MMIO + 0x08, 4, true, &v);
            v = take(in, 4);
            (void)fake_mmio(vm, FZ_MMIO + 0x0C, 4, true, &v);
        }
        for (unsigned q = 0; q < 2; q++) {
            static const uint64_t offs[4] = {0x18, 0x20, 0x28, 0x30};
            static const unsigned sz[4] = {2, 8, 8, 8};

            v = q;
            (void)fake_mmio(vm, FZ_MMIO + 0x16, 2, true, &v);
            for (unsigned r = 0; r < 4; r++) {
                v = r == 0 ? (1u << (take8(in) % 10)) : (uint64_t)(take8(in) % 0x100) << 8;
                (void)fake_mmio(vm, FZ_MMIO + offs[r], sz[r], true, &v);
            }
            v = 1;
            (void)fake_mmio(vm, FZ_MMIO + 0x1C, 2, true, &v);
        }
        v = 0x0F;
        (void)fake_mmio(vm, FZ_MMIO + 0x14, 1, true, &v);
        if (how & 2) {
            msix_bringup(vm, in, false);
        }
    }
}

/* A descriptor or ring word at a random place: mostly plausible values. */
static void do_ring_write(struct vmm_vm *vm, struct input *in)
{
    uint32_t at = (uint32_t)take(in, 2) % (FAKE_RAM_SIZE - 16);
    uint8_t kind = take8(in) & 3;

    if (kind == 0) {
        /* A descriptor: addr (small or wild), len, flags, next. */
        uint64_t addr = (take8(in) & 1) ? take(in, 2) : take(in, 8);
        uint32_t len = (take8(in) & 1) ? take8(in) * 8u : (uint32_t)take(in, 4);
        uint16_t flags = take8(in) & 7;
        uint16_t next = (uint16_t)take(in, 2);

        at &= ~15u;
        memcpy(&vm->ram[at], &addr, 8);
        memcpy(&vm->ram[at + 8], &len, 4);
        memcpy(&vm->ram[at + 12], &flags, 2);
        memcpy(&vm->ram[at + 14], &next, 2);
    } else if (kind == 1) {
        uint16_t v = (uint16_t)take(in, 2);

        at &= ~1u;
        memcpy(&vm->ram[at], &v, 2);
    } else {
        size_t n = take8(in) % FZ_BLOB;

        for (size_t i = 0; i < n && at + i < FAKE_RAM_SIZE; i++) {
            vm->ram[at + i] = take8(in);
        }
    }
}

/* A mostly-plausible Ethernet + IPv4 + TCP/UDP frame of len bytes: fields from the input,
 * then (often) the IPv4 total length and transport checksum made right. */
static void make_ipv4(struct input *in, uint8_t *f, size_t len, bool fix)
{
    size_t ihl;
    size_t l4len;
    size_t ck;

    for (size_t i = 0; i < len; i++) {
        f[i] = (uint8_t)(i * 31 + 7);
    }
    if (len < 54) {
        return;
    }
    f[12] = 0x08;
    f[13] = (take8(in) & 7) ? 0x00 : take8(in);
    f[14] = (take8(in) & 3) ? 0x45 : take8(in);
    f[20] = (take8(in) & 3) ? 0x40 : take8(in);
    f[21] = (take8(in) & 3) ? 0 : take8(in);
    f[23] = (take8(in) & 1) ? 6 : ((take8(in) & 1) ? 17 : take8(in));
    f[46] = (take8(in) & 3) ? 0x50 : take8(in);
    f[47] = take8(in);
    ihl = (size_t)(f[14] & 15) * 4;
    if (fix && ihl >= 20 && 14 + ihl + 20 <= len) {
        uint8_t ps[12];

        f[16] = (uint8_t)((len - 14) >> 8);
        f[17] = (uint8_t)(len - 14);
        l4len = len - 14 - ihl;
        ck = 14 + ihl + (f[23] == 17 ? 6 : 16);
        memcpy(ps, f + 26, 8);
        ps[8] = 0;
        ps[9] = f[23];
        ps[10] = (uint8_t)(l4len >> 8);
        ps[11] = (uint8_t)l4len;
        f[ck] = 0;
        f[ck + 1] = 0;
        {
            uint16_t c = (uint16_t)~inet_csum_fold(
                inet_csum_add(inet_csum_add(0, ps, 12), f + 14 + ihl, l4len));

            memcpy(f + ck, &c, 2);
        }
    }
}

static void do_rx(struct input *in)
{
    static uint8_t frame[VMM_NIC_FRAME_MAX + 16];
    size_t len = take(in, 2) % sizeof(frame);

    if (take8(in) & 1) {
        make_ipv4(in, frame, len, take8(in) & 1);
    } else {
        memset(frame, take8(in), len);
    }
    (void)fake_nic_deliver(frame, len);
}

/* virtio-net: a legacy bring-up with the rings at known places (features from the input, the
 * offloads often on; 64 RX buffers posted), then one TX chain: a header with random offload fields and a frame of
 * up to 64 KiB whose payload descriptors repeat one 4 KiB area (all below 64 KiB of fake RAM). */
#define FZ_TX_PFN 4
#define FZ_TX_HDR 0x8000
#define FZ_TX_PAY 0x9000
#define FZ_RX_PFN 1
#define FZ_RX_BUF 0xA000
#define FZ_RX_BIG 0xD000
static uint16_t g_tx_avail;
static size_t g_tx_hdr = 10; /* the header the bring-up negotiated: 12 with MRG_RXBUF */
static struct vmm_virtio_net *g_vn;

static void virtio_tx_offload(struct vmm_vm *vm, struct input *in)
{
    static uint8_t f[1600];
    uint64_t desc = (uint64_t)FZ_TX_PFN << 12;
    uint64_t avail = desc + 16 * VIRTIO_NET_QSIZE;
    size_t hlen = 14 + take8(in) % 100;
    size_t pay = (take8(in) & 1) ? take(in, 2) : take(in, 2) % 3000;
    uint16_t head = (uint16_t)(take8(in) % 200);
    unsigned nd = 1;
    uint16_t v;
    uint64_t segs;

    if (take8(in) & 1) {
        uint8_t sel = take8(in);
        /* EVENT_IDX, HOST_TSO4, GUEST_TSO4, MAC, GUEST_CSUM, CSUM; MRG_RXBUF in half. */
        uint32_t feat = (sel & 3) ? 0x200008A3u | ((sel & 4) ? 0x8000u : 0) : (uint32_t)take(in, 4);

        cfg_out(vm, 0x04, 2, 0x0007);
        fake_outb(vm, FZ_IO + 0x12, 0);
        fake_outb(vm, FZ_IO + 0x12, 3);
        fake_out(vm, FZ_IO + 0x04, 4, feat);
        g_tx_hdr = (fake_in(vm, FZ_IO + 0x04, 4) & 0x8000u) ? 12 : 10;
        fake_out(vm, FZ_IO + 0x0E, 2, 1);
        fake_out(vm, FZ_IO + 0x08, 4, FZ_TX_PFN);
        fake_out(vm, FZ_IO + 0x0E, 2, 0);
        fake_out(vm, FZ_IO + 0x08, 4, FZ_RX_PFN);
        fake_outb(vm, FZ_IO + 0x12, 7);
        g_tx_avail = 0;
        /* 64 RX buffers (sharing eight 1.5 KiB areas) for the frames do_rx delivers; with
         * MRG_RXBUF a super-frame spreads over them. */
        for (uint16_t i = 0; i < 64; i++) {
            uint64_t rd = (uint64_t)FZ_RX_PFN << 12;
            uint64_t a = FZ_RX_BUF + 0x600ull * (i % 8);
            uint32_t l = 0x600;
            uint16_t fl = 2;
            uint16_t nx = 0;

            memcpy(&vm->ram[rd + 16 * i], &a, 8);
            memcpy(&vm->ram[rd + 16 * i + 8], &l, 4);
            memcpy(&vm->ram[rd + 16 * i + 12], &fl, 2);
            memcpy(&vm->ram[rd + 16 * i + 14], &nx, 2);
            memcpy(&vm->ram[rd + 16 * VIRTIO_NET_QSIZE + 4 + 2 * i], &i, 2);
        }
        /* Then 8 "big packet" chains (a 10-byte header, 18 x 4 KiB sharing one area) for
         * super-frames. */
        for (uint16_t k = 0; k < 8; k++) {
            uint64_t rd = (uint64_t)FZ_RX_PFN << 12;
            uint16_t head = (uint16_t)(64 + 20 * k);
            uint16_t slot = (uint16_t)(64 + k);

            for (uint16_t i = 0; i < 19; i++) {
                uint64_t a = i == 0 ? FZ_RX_BIG : FZ_RX_BIG + 16;
                uint32_t l = i == 0 ? 10 : 4096;
                uint16_t fl = i < 18 ? 3 : 2;
                uint16_t nx = (uint16_t)(head + i + 1);

                memcpy(&vm->ram[rd + 16 * (head + i)], &a, 8);
                memcpy(&vm->ram[rd + 16 * (head + i) + 8], &l, 4);
                memcpy(&vm->ram[rd + 16 * (head + i) + 12], &fl, 2);
                memcpy(&vm->ram[rd + 16 * (head + i) + 14], &nx, 2);
            }
            memcpy(&vm->ram[rd + 16 * VIRTIO_NET_QSIZE + 4 + 2 * slot], &head, 2);
        }
        v = 72;
        memcpy(&vm->ram[((uint64_t)FZ_RX_PFN << 12) + 16 * VIRTIO_NET_QSIZE + 2], &v, 2);
    }
    make_ipv4(in, f, hlen + 1, false);
    if (hlen + pay >= 54) {
        size_t tot = hlen + pay - 14;

        f[16] = (take8(in) & 3) ? (uint8_t)(tot >> 8) : take8(in);
        f[17] = (take8(in) & 3) ? (uint8_t)tot : take8(in);
    }
    /* virtio header: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
    vm->ram[FZ_TX_HDR] = (take8(in) & 3) ? 1 : take8(in);
    vm->ram[FZ_TX_HDR + 1] = (take8(in) & 1) ? 1 : take8(in) & 0x83;
    for (unsigned i = 2; i < 10; i += 2) {
        v = (take8(in) & 1) ? (uint16_t)take(in, 2) : (uint16_t)(take8(in) * 8);
        if (i == 4 && (take8(in) & 1)) {
            v = 1448;
        } else if (i == 6 && (take8(in) & 1)) {
            v = (uint16_t)(14 + (f[14] & 15) * 4);
        } else if (i == 8 && (take8(in) & 1)) {
            v = f[23] == 17 ? 6 : 16;
        }
        memcpy(&vm->ram[FZ_TX_HDR + i], &v, 2);
    }
    vm->ram[FZ_TX_HDR + 10] = 0; /* num_buffers (with a 12-byte header) */
    vm->ram[FZ_TX_HDR + 11] = 0;
    memcpy(&vm->ram[FZ_TX_HDR + g_tx_hdr], f, hlen);
    for (unsigned i = 0; i < 4096; i++) {
        vm->ram[FZ_TX_PAY + i] = (uint8_t)(i * 13 + 5);
    }
    {
        uint64_t a = FZ_TX_HDR;
        uint32_t l = (uint32_t)(g_tx_hdr + hlen);
        uint16_t fl = pay ? 1 : 0;
        uint16_t nx = (uint16_t)(head + 1);

        memcpy(&vm->ram[desc + 16 * head], &a, 8);
        memcpy(&vm->ram[desc + 16 * head + 8], &l, 4);
        memcpy(&vm->ram[desc + 16 * head + 12], &fl, 2);
        memcpy(&vm->ram[desc + 16 * head + 14], &nx, 2);
    }
    while (pay > 0 && nd < 40) {
        uint64_t a = FZ_TX_PAY;
        uint32_t l = pay > 4096 ? 4096 : (uint32_t)pay;
        uint16_t fl;
        uint16_t nx = (uint16_t)(head + nd + 1);
        uint64_t at = desc + 16 * ((head + nd) % VIRTIO_NET_QSIZE);

        pay -= l;
        fl = pay ? 1 : 0;
        memcpy(&vm->ram[at], &a, 8);
        memcpy(&vm->ram[at + 8], &l, 4);
        memcpy(&vm->ram[at + 12], &fl, 2);
        memcpy(&vm->ram[at + 14], &nx, 2);
        nd++;
    }
    v = head;
    memcpy(&vm->ram[avail + 4 + 2 * (g_tx_avail % VIRTIO_NET_QSIZE)], &v, 2);
    g_tx_avail++;
    memcpy(&vm->ram[avail + 2], &g_tx_avail, 2);
    segs = g_vn != NULL ? vmm_virtio_net_offload_stats(g_vn)->tx_tso_segs : 0;
    fake_out(vm, FZ_IO + 0x10, 2, 1);
    if (g_vn != NULL) {
        segs = vmm_virtio_net_offload_stats(g_vn)->tx_tso_segs - segs;
    }
    if (vmm_host()->nic_send_off != NULL) {
        segs = 0; /* super-frames went to the host whole (checked there: off_refused) */
    }
    /* Every TSO segment the model made (the last FAKE_NIC_FRAMES kept) has right checksums. */
    for (uint64_t i = 0; fake_nic.attached && i < segs && i < FAKE_NIC_FRAMES && i < fake_nic.nsent;
         i++) {
        unsigned slot = (unsigned)((fake_nic.nsent - 1 - i) % FAKE_NIC_FRAMES);
        const uint8_t *o = fake_nic.sent[slot];
        size_t ihl = (size_t)(o[14] & 15) * 4;
        size_t l4len = fake_nic.sent_len[slot] - 14 - ihl;
        uint8_t ps[12];

        memcpy(ps, o + 26, 8);
        ps[8] = 0;
        ps[9] = 6;
        ps[10] = (uint8_t)(l4len >> 8);
        ps[11] = (uint8_t)l4len;
        if (inet_csum_fold(inet_csum_add(0, o + 14, ihl)) != 0xFFFF ||
            inet_csum_fold(inet_csum_add(inet_csum_add(0, ps, 12), o + 14 + ihl, l4len)) !=
                0xFFFF) {
            __builtin_trap();
        }
    }
}

/* A frame from the host with metadata: a plausible TCP/IPv4 super-frame (often with the
 * metadata right) or a frame of up to 1.5 KiB with random metadata; through the hook the
 * host was given, or (a buggy host) straight into the model's. */
static void do_rx_off(struct input *in)
{
    static uint8_t frame[NETOFF_FRAME_MAX];
    struct netoff off = {0};
    uint8_t kind = take8(in);
    size_t len;

    if ((kind & 1) == 0) {
        size_t pay = 1 + take(in, 2) % (65535 - 40);

        len = 54 + pay;
        make_ipv4(in, frame, len, false);
        frame[16] = (uint8_t)((len - 14) >> 8);
        frame[17] = (uint8_t)(len - 14);
        if (take8(in) & 3) {
            frame[47] = 0x18; /* ACK PSH: no SYN, RST or URG, which super-frames never carry */
        }
        off.gso = (take8(in) & 7) ? NETOFF_GSO_TCPV4 : take8(in);
        off.csum = (take8(in) & 7) ? NETOFF_CSUM_PARTIAL : take8(in);
        off.gso_size = (take8(in) & 3) ? 1448 : (uint16_t)take(in, 2);
        off.csum_start = (take8(in) & 3) ? 34 : (uint16_t)take(in, 2);
        off.csum_off = (take8(in) & 3) ? 16 : (uint16_t)take(in, 2);
    } else {
        len = take(in, 2) % (VMM_NIC_FRAME_MAX + 16);
        make_ipv4(in, frame, len, take8(in) & 1);
        off.gso = (take8(in) & 7) ? NETOFF_GSO_NONE : take8(in);
        off.csum = take8(in) % 4;
        off.gso_size = (uint16_t)take(in, 2);
        off.csum_start = (take8(in) & 1) ? 34 : (uint16_t)take(in, 2);
        off.csum_off = (take8(in) & 1) ? 16 : (uint16_t)take(in, 2);
    }
    if (g_vn != NULL && (kind & 4)) {
        (void)vmm_virtio_net_rx_off(g_vn, frame, len, (kind & 8) ? NULL : &off);
    } else {
        (void)fake_nic_deliver_off(frame, len, &off);
    }
}

/* The machine's MSI route: decodes as machine.c does; a message while MSI-X is off or the
 * function masked breaks a promise. */
static bool fz_msi_route(void *ctx, uint64_t addr, uint32_t data)
{
    struct vmm_apic_irq irq;

    (void)ctx;
    if (g_vn == NULL || !g_vn->msix.enabled || g_vn->msix.fmask) {
        __builtin_trap();
    }
    return vmm_msi_decode(addr, data, &irq) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct vmm_nic_dev_config dc = {.name = "eth0",
                                    .mac = {0x52, 0x54, 0, 1, 2, 3},
                                    .slot = FZ_SLOT,
                                    .irq = FZ_IRQ,
                                    .io_base = FZ_IO,
                                    .mmio_base = FZ_MMIO};
    struct vmm_pci_host *pci = NULL;
    struct vmm_vm *vm;
    int rc;

    fake_host_install(0);
    fake_nic_enable((take8(&in) & 7) != 0);
    fake_nic_offloads(take8(&in) & 1);
    g_tx_avail = 0;
    g_tx_hdr = 10;
    g_vn = NULL;
    vm = fake_vm_new("fz");
    if (vm == NULL) {
        return 0;
    }
    /* The first model byte picks the NIC: 0 virtio-net, 1 rtl8139, 2 ne2k. */
    g_model = take8(&in) % 3;
    if (vmm_dev_pci_host_create(vm, &pci) != 0) {
        __builtin_trap();
    }
    if (take8(&in) & 3) {
        vmm_pci_host_set_msi(pci, fz_msi_route, NULL);
    }
    if (g_model == 0) {
        rc = vmm_dev_virtio_net_create(vm, pci, &dc, &g_vn);
    } else if (g_model == 1) {
        rc = vmm_dev_rtl8139_create(vm, pci, &dc, NULL);
    } else {
        rc = vmm_dev_ne2k_create(vm, pci, &dc, NULL);
    }
    if (rc != 0) {
        __builtin_trap();
    }
    for (unsigned op = 0; op < FZ_OPS && in.pos < in.size; op++) {
        switch (take8(&in) % 14) {
        case 0:
            do_io(vm, &in, true);
            break;
        case 1:
            do_io(vm, &in, false);
            break;
        case 2:
            do_mmio(vm, &in, true);
            break;
        case 3:
            do_mmio(vm, &in, false);
            break;
        case 4:
        case 5:
            do_ring_write(vm, &in);
            break;
        case 6:
            do_bringup(vm, &in);
            break;
        case 7:
            do_rx(&in);
            break;
        case 8:
            (void)fake_poll(vm);
            break;
        case 9:
            if (take8(&in) & 1) {
                cfg_out(vm, 0x04 + 4 * (take8(&in) % 4), 4, (uint32_t)take(&in, 4));
            } else {
                /* Anywhere around the MSI-X capability (0x84-0x8F), any size. */
                cfg_out(vm, 0x80 + take8(&in) % 20, pick_size(&in, false), (uint32_t)take(&in, 4));
            }
            break;
        case 10:
            fake_reset_devices(vm);
            break;
        case 11:
            if (g_model == 0) {
                virtio_tx_offload(vm, &in);
            }
            break;
        case 12:
            do_rx_off(&in);
            break;
        default:
            if (g_model == 0) {
                /* Kick a queue through both transports. */
                uint64_t v = 1;

                fake_out(vm, FZ_IO + 0x10, 2, take8(&in) & 3);
                (void)fake_mmio(vm, FZ_MMIO + 0x3000 + 4 * (take8(&in) & 3), 2, true, &v);
            } else if (g_model == 1) {
                /* Send from a descriptor. */
                fake_out(vm, FZ_IO + 0x10 + 4 * (take8(&in) & 3), 4, (uint32_t)take(&in, 2));
            } else {
                ne_dma(vm, &in);
            }
            break;
        }
        for (unsigned i = 0; i < FAKE_NIC_FRAMES; i++) {
            if (fake_nic.sent_len[i] > VMM_NIC_FRAME_MAX) {
                __builtin_trap();
            }
        }
        /* The model checks a guest's offload request as the host would. */
        if (fake_nic.off_refused != 0) {
            __builtin_trap();
        }
        /* With MSI-X enabled the function must not use INTx. */
        if (g_vn != NULL && g_vn->has_msix && g_vn->msix.enabled && vm->line[FZ_IRQ]) {
            __builtin_trap();
        }
        if (vm->failed) {
            __builtin_trap();
        }
    }
    fake_vm_free(vm);
    if (fake_live_allocs != 0) {
        __builtin_trap();
    }
    return 0;
}
