/* Unit tests for the MSI-X model (vmm/devices/msix.c) on a PCI function of the PCI host model:
 * the capability's layout and message control, the vector table and pending bits, masking
 * (entry and function) turning a vector into a pending bit and unmasking delivering it once,
 * bad table accesses ignored without touching anything, messages decoded for the LAPIC
 * (vmm_msi_decode) and, end to end, a vector landing in a real LAPIC model's IRR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/lapic.h"
#include "../../vmm/devices/msix.h"
#include "../../vmm/devices/pci_host.h"
#include "../../vmm/devices/pic.h"
#include "../../vmm/platform.h"

#define SLOT  4
#define CAP   0x50
#define NVEC  3
#define TABLE 0x2000
#define PBA   0x3000
#define MSGS  16

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *host;
    struct vmm_pci_func *func;
    struct vmm_msix msix;
    bool accept; /* what the fake route answers */
    unsigned nmsgs;
    uint64_t addr[MSGS];
    uint32_t data[MSGS];
};

static bool route(void *ctx, uint64_t addr, uint32_t data)
{
    struct fixture *f = ctx;

    if (f->nmsgs < MSGS) {
        f->addr[f->nmsgs] = addr;
        f->data[f->nmsgs] = data;
    }
    f->nmsgs++;
    return f->accept;
}

static int cfg_hook(void *ctx, unsigned off, unsigned size, uint32_t val)
{
    struct fixture *f = ctx;

    return vmm_msix_cfg_write(&f->msix, off, size, val);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_pci_func_config fc = {
        .vendor = 0x1234,
        .device = 0x5678,
        .class_code = 0x020000,
        .command = VMM_PCI_CMD_MEM | VMM_PCI_CMD_MASTER,
        .cap_ptr = CAP,
        .bars = {[2] = {.type = VMM_PCI_BAR_MEM32, .size = 0x4000, .addr = 0xFE100000}},
        .cfg_write = cfg_hook,
        .ctx = f,
    };
    struct vmm_msix_config mc = {
        .cap = CAP, .next = 0, .nvec = NVEC, .bar = 2, .table_off = TABLE, .pba_off = PBA};

    fake_host_install(0);
    f->vm = fake_vm_new("t");
    f->accept = true;
    assert_int_equal(vmm_dev_pci_host_create(f->vm, &f->host), 0);
    vmm_pci_host_set_msi(f->host, route, f);
    assert_int_equal(vmm_pci_add_func(f->host, SLOT, 0, &fc, &f->func), 0);
    assert_int_equal(vmm_msix_init(&f->msix, f->vm, "nic0", f->func, &mc), 0);
    fake_log_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    assert_false(f->vm->failed);
    fake_vm_free(f->vm);
    assert_int_equal(fake_live_allocs, 0);
    free(f);
    return 0;
}

static uint32_t cfg_read(struct fixture *f, unsigned reg, unsigned size)
{
    fake_out(f->vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    return fake_in(f->vm, (uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_write(struct fixture *f, unsigned reg, unsigned size, uint32_t val)
{
    fake_out(f->vm, 0xCF8, 4, 0x80000000u | SLOT << 11 | (reg & 0xFC));
    fake_out(f->vm, (uint16_t)(0xCFC + (reg & 3)), size, val);
}

static uint64_t bar_rd(struct fixture *f, uint64_t off, unsigned size)
{
    uint64_t v = 0xA5A5A5A5A5A5A5A5ull;

    assert_true(vmm_msix_mmio(&f->msix, off, size, false, &v));
    return v;
}

static void bar_wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
    assert_true(vmm_msix_mmio(&f->msix, off, size, true, &v));
}

/* Programs entry n as Linux does: address, data, then unmasks. */
static void program(struct fixture *f, unsigned n, uint8_t dest, uint8_t vector, bool unmask)
{
    uint64_t e = TABLE + 16ull * n;

    bar_wr(f, e + 0, 4, 0xFEE00000u | (uint32_t)dest << 12);
    bar_wr(f, e + 4, 4, 0);
    bar_wr(f, e + 8, 4, vector);
    if (unmask) {
        bar_wr(f, e + 12, 4, 0);
    }
}

static void enable(struct fixture *f, bool on, bool fmask)
{
    cfg_write(f, CAP + 2, 2, (on ? 0x8000u : 0) | (fmask ? 0x4000u : 0));
}

static void test_capability_layout(void **state)
{
    struct fixture *f = *state;

    assert_true(cfg_read(f, 0x06, 2) & 0x10); /* capability list */
    assert_int_equal(cfg_read(f, 0x34, 1), CAP);
    assert_int_equal(cfg_read(f, CAP, 1), 0x11);
    assert_int_equal(cfg_read(f, CAP + 1, 1), 0);
    assert_int_equal(cfg_read(f, CAP + 2, 2), NVEC - 1); /* disabled, unmasked */
    assert_int_equal(cfg_read(f, CAP + 4, 4), TABLE | 2);
    assert_int_equal(cfg_read(f, CAP + 8, 4), PBA | 2);
    /* Enable and function mask are the only writable bits; the rest stays. */
    cfg_write(f, CAP, 4, 0xFFFFFFFFu);
    assert_int_equal(cfg_read(f, CAP, 4), 0xC0000000u | (NVEC - 1) << 16 | 0x11);
    assert_true(vmm_msix_enabled(&f->msix));
    cfg_write(f, CAP + 4, 4, 0);
    cfg_write(f, CAP + 8, 4, 0x12345678);
    assert_int_equal(cfg_read(f, CAP + 4, 4), TABLE | 2);
    assert_int_equal(cfg_read(f, CAP + 8, 4), PBA | 2);
    /* A byte write to the upper control byte. */
    cfg_write(f, CAP + 3, 1, 0x00);
    assert_false(vmm_msix_enabled(&f->msix));
    assert_int_equal(cfg_read(f, CAP + 2, 2), NVEC - 1);
    cfg_write(f, CAP + 3, 1, 0x80);
    assert_int_equal(cfg_read(f, CAP + 2, 2), 0x8000 | (NVEC - 1));
    /* A bad layout is refused. */
    struct vmm_msix bad;
    struct vmm_msix_config mc = {.cap = 0x42, .nvec = 1, .table_off = 0, .pba_off = 0x100};
    assert_int_equal(vmm_msix_init(&bad, f->vm, "x", f->func, &mc), -EINVAL);
    mc.cap = 0x60;
    mc.nvec = VMM_MSIX_MAX + 1;
    assert_int_equal(vmm_msix_init(&bad, f->vm, "x", f->func, &mc), -EINVAL);
    mc.nvec = 4;
    mc.pba_off = 0x30; /* inside the table */
    assert_int_equal(vmm_msix_init(&bad, f->vm, "x", f->func, &mc), -EINVAL);
    mc.pba_off = 0x104; /* not qword aligned */
    assert_int_equal(vmm_msix_init(&bad, f->vm, "x", f->func, &mc), -EINVAL);
}

static void test_table_read_write(void **state)
{
    struct fixture *f = *state;

    /* Reset state: every entry zero and masked, nothing pending. */
    for (unsigned n = 0; n < NVEC; n++) {
        assert_int_equal(bar_rd(f, TABLE + 16 * n, 8), 0);
        assert_int_equal(bar_rd(f, TABLE + 16 * n + 8, 8), 1ull << 32);
    }
    assert_int_equal(bar_rd(f, PBA, 8), 0);
    bar_wr(f, TABLE + 16, 4, 0xFEE01007u); /* address bits 1:0 read-only zero */
    bar_wr(f, TABLE + 20, 4, 0x11);
    bar_wr(f, TABLE + 24, 4, 0xABCD0041u);
    bar_wr(f, TABLE + 28, 4, 0xFFFFFFFEu); /* reserved bits stay zero: unmasked */
    assert_int_equal(bar_rd(f, TABLE + 16, 4), 0xFEE01004u);
    assert_int_equal(bar_rd(f, TABLE + 20, 4), 0x11);
    assert_int_equal(bar_rd(f, TABLE + 24, 4), 0xABCD0041u);
    assert_int_equal(bar_rd(f, TABLE + 28, 4), 0);
    assert_int_equal(bar_rd(f, TABLE + 16, 8), 0x11FEE01004ull);
    /* A qword write of data and control. */
    bar_wr(f, TABLE + 40, 8, 0x0000000100000033ull);
    assert_int_equal(bar_rd(f, TABLE + 40, 4), 0x33);
    assert_int_equal(bar_rd(f, TABLE + 44, 4), 1);
    /* Outside the table and PBA: not MSI-X's (the owner decodes it). */
    uint64_t v = 0;
    assert_false(vmm_msix_mmio(&f->msix, TABLE + 16 * NVEC, 4, false, &v));
    assert_false(vmm_msix_mmio(&f->msix, TABLE - 4, 4, false, &v));
    assert_false(vmm_msix_mmio(&f->msix, PBA + 8, 4, false, &v));
    assert_int_equal(f->msix.stats.bad_access, 0);
}

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;

    program(f, 0, 0, 0x41, true);
    /* Bytes, words, misaligned dwords and qwords: reads 0, writes ignored, logged once a
     * second. */
    assert_int_equal(bar_rd(f, TABLE + 8, 1), 0);
    assert_int_equal(bar_rd(f, TABLE + 8, 2), 0);
    assert_int_equal(bar_rd(f, TABLE + 9, 4), 0);
    assert_int_equal(bar_rd(f, TABLE + 4, 8), 0);
    bar_wr(f, TABLE + 8, 1, 0xFF);
    bar_wr(f, TABLE + 10, 2, 0xFFFF);
    bar_wr(f, TABLE + 12 + 16 * (NVEC - 1), 8, ~0ull); /* would cross the table's end */
    bar_wr(f, TABLE + 13, 4, ~0u);
    assert_int_equal(bar_rd(f, TABLE + 8, 4), 0x41);
    assert_int_equal(bar_rd(f, TABLE + 12, 4), 0);
    assert_int_equal(bar_rd(f, TABLE + 16 * (NVEC - 1) + 12, 4), 1);
    assert_true(fake_log_has("ignored: not an aligned dword or qword"));
    fake_log_clear();
    bar_wr(f, TABLE + 9, 1, 0); /* within the second: counted, not logged */
    assert_false(fake_log_has("ignored"));
    /* PBA writes are ignored. */
    fake_now += 2000000000ull;
    bar_wr(f, PBA, 8, ~0ull);
    assert_int_equal(bar_rd(f, PBA, 8), 0);
    assert_true(fake_log_has("the pending bits are read-only"));
    assert_int_equal(f->msix.stats.bad_access, 10);
    /* Nothing was sent by any of it. */
    assert_int_equal(f->nmsgs, 0);
}

static void test_notify_delivers(void **state)
{
    struct fixture *f = *state;

    program(f, 1, 0, 0x42, true);
    /* Disabled: nothing (the device uses INTx). */
    vmm_msix_notify(&f->msix, 1);
    assert_int_equal(f->nmsgs, 0);
    enable(f, true, false);
    vmm_msix_notify(&f->msix, 1);
    assert_int_equal(f->nmsgs, 1);
    assert_int_equal(f->addr[0], 0xFEE00000u);
    assert_int_equal(f->data[0], 0x42);
    /* No vector and vectors beyond the table: nothing. */
    vmm_msix_notify(&f->msix, VMM_MSIX_NO_VECTOR);
    vmm_msix_notify(&f->msix, NVEC);
    assert_int_equal(f->nmsgs, 1);
    assert_int_equal(f->msix.stats.sent, 1);
    /* Refused by the route: dropped, counted, logged. */
    f->accept = false;
    vmm_msix_notify(&f->msix, 1);
    assert_int_equal(f->msix.stats.dropped, 1);
    assert_true(fake_log_has("MSI-X vector 1 (address 0xfee00000 data 0x42) dropped"));
    /* Bus mastering off: the function may not write, nothing reaches the route. */
    f->accept = true;
    cfg_write(f, 0x04, 2, VMM_PCI_CMD_MEM);
    vmm_msix_notify(&f->msix, 1);
    assert_int_equal(f->nmsgs, 2);
    assert_int_equal(f->msix.stats.dropped, 2);
}

static void test_entry_mask_pending(void **state)
{
    struct fixture *f = *state;

    program(f, 0, 0, 0x50, false); /* still masked */
    program(f, 2, 0, 0x52, true);
    enable(f, true, false);
    vmm_msix_notify(&f->msix, 0);
    vmm_msix_notify(&f->msix, 0); /* twice while masked: one pending bit, one message */
    assert_int_equal(f->nmsgs, 0);
    assert_int_equal(bar_rd(f, PBA, 8), 1);
    assert_int_equal(bar_rd(f, PBA, 4), 1);
    assert_int_equal(bar_rd(f, PBA + 4, 4), 0);
    assert_int_equal(f->msix.stats.pended, 2);
    /* Other vectors are not held up. */
    vmm_msix_notify(&f->msix, 2);
    assert_int_equal(f->nmsgs, 1);
    assert_int_equal(f->data[0], 0x52);
    /* Unmasking delivers the pending vector once and clears its bit. */
    bar_wr(f, TABLE + 12, 4, 0);
    assert_int_equal(f->nmsgs, 2);
    assert_int_equal(f->data[1], 0x50);
    assert_int_equal(bar_rd(f, PBA, 8), 0);
    bar_wr(f, TABLE + 12, 4, 0);
    assert_int_equal(f->nmsgs, 2);
}

static void test_function_mask(void **state)
{
    struct fixture *f = *state;

    program(f, 0, 0, 0x60, true);
    program(f, 1, 0, 0x61, true);
    enable(f, true, true);
    vmm_msix_notify(&f->msix, 1);
    vmm_msix_notify(&f->msix, 0);
    assert_int_equal(f->nmsgs, 0);
    assert_int_equal(bar_rd(f, PBA, 8), 3);
    /* Entry unmask writes do not get past the function mask. */
    bar_wr(f, TABLE + 12, 4, 0);
    assert_int_equal(f->nmsgs, 0);
    /* Clearing the function mask sends both, lowest vector first. */
    enable(f, true, false);
    assert_int_equal(f->nmsgs, 2);
    assert_int_equal(f->data[0], 0x60);
    assert_int_equal(f->data[1], 0x61);
    assert_int_equal(bar_rd(f, PBA, 8), 0);
    /* Pending bits survive a disable while masked, and go once enabled and unmasked. */
    enable(f, true, true);
    vmm_msix_notify(&f->msix, 0);
    enable(f, false, false);
    assert_int_equal(f->nmsgs, 2);
    enable(f, true, false);
    assert_int_equal(f->nmsgs, 3);
    /* Reset: disabled, entries zero and masked, nothing pending. */
    enable(f, true, true);
    vmm_msix_notify(&f->msix, 0);
    vmm_msix_reset(&f->msix);
    assert_false(vmm_msix_enabled(&f->msix));
    assert_int_equal(cfg_read(f, CAP + 2, 2), NVEC - 1);
    assert_int_equal(bar_rd(f, PBA, 8), 0);
    assert_int_equal(bar_rd(f, TABLE + 8, 8), 1ull << 32);
    enable(f, true, false);
    assert_int_equal(f->nmsgs, 3);
}

static void test_msi_decode(void **state)
{
    struct vmm_apic_irq irq;

    (void)state;
    assert_int_equal(vmm_msi_decode(0xFEE03000u, 0x4031, &irq), 0);
    assert_int_equal(irq.vector, 0x31);
    assert_int_equal(irq.mode, APIC_DM_FIXED);
    assert_int_equal(irq.dest, 3);
    assert_false(irq.logical);
    assert_false(irq.level);
    /* Lowest priority, logical destination; the trigger bit is ignored (an edge). */
    assert_int_equal(vmm_msi_decode(0xFEE01004u, 0xC1EF, &irq), 0);
    assert_int_equal(irq.mode, APIC_DM_LOWEST);
    assert_true(irq.logical);
    assert_int_equal(irq.dest, 1);
    assert_false(irq.level);
    /* Not the interrupt address range, NMI/SMI/INIT/ExtINT, vectors under 16. */
    assert_int_equal(vmm_msi_decode(0xFED00000u, 0x31, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0x1FEE00000ull, 0x31, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0, 0x31, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0xFEE00000u, 0x0431, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0xFEE00000u, 0x0231, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0xFEE00000u, 0x0731, &irq), -EINVAL);
    assert_int_equal(vmm_msi_decode(0xFEE00000u, 0x0F, &irq), -EINVAL);
}

/* The machine's route (machine.c): decode, then the LAPIC's delivery. */
static bool to_lapic(void *lapic, uint64_t addr, uint32_t data)
{
    struct vmm_apic_irq irq;

    return vmm_msi_decode(addr, data, &irq) == 0 && vmm_lapic_deliver(lapic, &irq);
}

static void test_delivery_into_lapic(void **state)
{
    struct fixture *f = *state;
    struct vmm_lapic *lapic = NULL;
    struct vmm_lapic_stats st;

    assert_int_equal(vmm_dev_pic_create(f->vm, NULL, NULL), 0);
    assert_int_equal(vmm_dev_lapic_create(f->vm, NULL, &lapic), 0);
    fake_write32(f->vm, VMM_LAPIC_BASE + 0xF0, 0x1FF); /* software enable */
    vmm_pci_host_set_msi(f->host, to_lapic, lapic);
    program(f, 0, 0, 0x45, true);
    program(f, 1, 7, 0x46, true); /* another APIC ID: nobody accepts it */
    enable(f, true, false);
    vmm_msix_notify(&f->msix, 0);
    vmm_lapic_stats(lapic, &st);
    assert_int_equal(st.accepted, 1);
    assert_true(st.irr[0x45 / 32] & (1u << (0x45 % 32)));
    assert_false(st.tmr[0x45 / 32] & (1u << (0x45 % 32))); /* edge: no EOI broadcast */
    vmm_msix_notify(&f->msix, 1);
    vmm_lapic_stats(lapic, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(f->msix.stats.dropped, 1);
    assert_int_equal(f->msix.stats.sent, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capability_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_mask_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msi_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_into_lapic, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
