/* Unit tests for the PCI host bridge model (vmm/devices/pci_host.c): config mechanism #1,
 * the function table, BAR sizing and device hooks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/pci_host.h"

struct bar_event {
    unsigned bar;
    uint64_t addr;
    bool enabled;
};

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pci_host *host;
    struct bar_event events[16];
    unsigned nevents;
    uint32_t magic_writes;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    fake_host_install(0);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pci_host_create(f->vm, &f->host), 0);
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

static uint32_t addr(unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | dev << 11 | fn << 8 | (reg & 0xFC);
}

static uint32_t cfg_read(struct vmm_vm *vm, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    fake_out(vm, 0xCF8, 4, addr(dev, fn, reg));
    return fake_in(vm, (uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_write(struct vmm_vm *vm, unsigned dev, unsigned fn, unsigned reg, unsigned size,
                      uint32_t val)
{
    fake_out(vm, 0xCF8, 4, addr(dev, fn, reg));
    fake_out(vm, (uint16_t)(0xCFC + (reg & 3)), size, val);
}

static void on_bar(void *ctx, unsigned bar, uint64_t a, bool enabled)
{
    struct fixture *f = ctx;

    if (f->nevents < 16) {
        f->events[f->nevents++] = (struct bar_event){bar, a, enabled};
    }
}

static int nic_read(void *ctx, unsigned off, unsigned size, uint32_t *val)
{
    struct fixture *f = ctx;

    if (off == 0x40 && size == 4) {
        *val = 0xC0FFEE00u | f->magic_writes;
        return VMM_HANDLED;
    }
    return VMM_NOT_MINE;
}

static int nic_write(void *ctx, unsigned off, unsigned size, uint32_t val)
{
    struct fixture *f = ctx;

    if (off == 0x40) {
        f->magic_writes++;
        return VMM_HANDLED;
    }
    return VMM_NOT_MINE;
}

static struct vmm_pci_func *add_nic(struct fixture *f)
{
    struct vmm_pci_func_config fc = {
        .vendor = 0x10EC,
        .device = 0x8139,
        .revision = 0x20,
        .class_code = 0x020000,
        .subsys_vendor = 0x1AF4,
        .subsys_id = 0x1100,
        .irq_pin = 1,
        .irq_line = 11,
        .cap_ptr = 0x50,
        .bars = {[0] = {.type = VMM_PCI_BAR_IO, .size = 256, .addr = 0xC000},
                 [1] = {.type = VMM_PCI_BAR_MEM32, .size = 4096, .addr = 0xFEB00000},
                 [2] = {.type = VMM_PCI_BAR_MEM64,
                        .size = 1ULL << 20,
                        .prefetch = true,
                        .addr = 0x800000000ULL}},
        .cfg_read = nic_read,
        .cfg_write = nic_write,
        .bar_changed = on_bar,
        .ctx = f,
    };
    struct vmm_pci_func *fn;

    assert_int_equal(vmm_pci_add_func(f->host, 3, 0, &fc, &fn), 0);
    return fn;
}

static void test_host_bridge(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cfg_read(f->vm, 0, 0, 0x00, 4), 0x12378086);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x08, 4), 0x06000002);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x0E, 1), 0x00);
    assert_int_equal(fake_in(f->vm, 0xCF8, 4), addr(0, 0, 0x0C));
    /* Word and byte windows at every offset. */
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x02, 2), 0x1237);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x01, 1), 0x80);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x03, 1), 0x12);
    /* i440FX registers above the header are plain storage (PAM). */
    cfg_write(f->vm, 0, 0, 0x59, 1, 0x30);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x59, 1), 0x30);
    /* Identity is read only. */
    cfg_write(f->vm, 0, 0, 0x00, 4, 0);
    assert_int_equal(cfg_read(f->vm, 0, 0, 0x00, 4), 0x12378086);
}

static void test_unpopulated_reads_ones(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(cfg_read(f->vm, 5, 0, 0, 4), 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 0, 1, 0, 2), 0xFFFF);
    fake_out(f->vm, 0xCF8, 4, 0x80010000u); /* bus 1 */
    assert_int_equal(fake_in(f->vm, 0xCFC, 4), 0xFFFFFFFF);
    fake_out(f->vm, 0xCF8, 4, 0x00000000u); /* enable bit clear */
    assert_int_equal(fake_in(f->vm, 0xCFC, 4), 0xFFFFFFFF);
    /* A word at 0xCFF would cross the dword. */
    fake_out(f->vm, 0xCF8, 4, addr(0, 0, 0));
    assert_int_equal(fake_in(f->vm, 0xCFF, 2), 0xFFFF);
    cfg_write(f->vm, 7, 0, 0x04, 2, 0x0007); /* dropped */
    assert_false(f->vm->failed);
}

static void test_function_header(void **state)
{
    struct fixture *f = *state;

    (void)add_nic(f);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x00, 4), 0x813910EC);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x08, 4), 0x02000020);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x06, 2) & 0x10, 0x10); /* capability list */
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x2C, 4), 0x11001AF4);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x34, 1), 0x50);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x3C, 2), 0x010B);
    cfg_write(f->vm, 3, 0, 0x3C, 2, 0x0405); /* line writable, pin read only */
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x3C, 2), 0x0105);
    cfg_write(f->vm, 3, 0, 0x30, 4, 0xFFFFFFFF); /* no expansion ROM */
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x30, 4), 0);
    cfg_write(f->vm, 3, 0, 0x04, 2, 0xFFFF);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x04, 2), 0x0547);
}

static void test_bar_sizing(void **state)
{
    struct fixture *f = *state;
    struct vmm_pci_func *fn = add_nic(f);
    bool on;

    assert_int_equal(cfg_read(f->vm, 3, 0, 0x10, 4), 0xC001);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x14, 4), 0xFEB00000);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x18, 4), 0x0000000C);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x1C, 4), 0x00000008);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x20, 4), 0);

    cfg_write(f->vm, 3, 0, 0x10, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x10, 4), 0xFFFFFF01);
    cfg_write(f->vm, 3, 0, 0x14, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x14, 4), 0xFFFFF000);
    cfg_write(f->vm, 3, 0, 0x18, 4, 0xFFFFFFFF);
    cfg_write(f->vm, 3, 0, 0x1C, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x18, 4), 0xFFF0000C);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x1C, 4), 0xFFFFFFFF);
    cfg_write(f->vm, 3, 0, 0x20, 4, 0xFFFFFFFF); /* unimplemented BAR */
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x20, 4), 0);

    /* Program addresses, then turn decoding on. */
    cfg_write(f->vm, 3, 0, 0x10, 4, 0xD000);
    cfg_write(f->vm, 3, 0, 0x14, 4, 0xFEC01000);
    cfg_write(f->vm, 3, 0, 0x18, 4, 0xE0000000);
    cfg_write(f->vm, 3, 0, 0x1C, 4, 0x1);
    f->nevents = 0;
    cfg_write(f->vm, 3, 0, 0x04, 2, 0x0003);
    assert_int_equal(f->nevents, 3);
    assert_int_equal(f->events[0].bar, 0);
    assert_int_equal(f->events[0].addr, 0xD000);
    assert_true(f->events[0].enabled);
    assert_int_equal(f->events[1].addr, 0xFEC01000);
    assert_int_equal(f->events[2].bar, 2);
    assert_int_equal(f->events[2].addr, 0x1E0000000ULL);
    assert_int_equal(vmm_pci_func_bar(fn, 2, &on), 0x1E0000000ULL);
    assert_true(on);
    assert_int_equal(vmm_pci_func_command(fn), 0x0003);
    /* Memory decoding off: the two memory BARs go. */
    f->nevents = 0;
    cfg_write(f->vm, 3, 0, 0x04, 1, 0x01);
    assert_int_equal(f->nevents, 2);
    assert_false(f->events[0].enabled);
}

static void test_device_hooks(void **state)
{
    struct fixture *f = *state;
    struct vmm_pci_func *fn = add_nic(f);

    assert_int_equal(cfg_read(f->vm, 3, 0, 0x40, 4), 0xC0FFEE00);
    cfg_write(f->vm, 3, 0, 0x40, 4, 1);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x40, 4), 0xC0FFEE01);
    /* Capability bytes laid out by the device through the config array. */
    vmm_pci_func_cfg(fn)[0x50] = 0x01; /* power management */
    vmm_pci_func_cfg(fn)[0x51] = 0x00;
    vmm_pci_func_wmask(fn)[0x54] = 0x03;
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x50, 2), 0x0001);
    cfg_write(f->vm, 3, 0, 0x54, 1, 0xFF);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x54, 1), 0x03);
    cfg_write(f->vm, 3, 0, 0x60, 1, 0xFF); /* read only by default */
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x60, 1), 0x00);
}

static void test_multifunction_and_errors(void **state)
{
    struct fixture *f = *state;
    struct vmm_pci_func_config fc = {.vendor = 0x1234, .device = 0x1111, .class_code = 0x010100};
    struct vmm_pci_func_config bad = fc;

    assert_int_equal(vmm_pci_add_func(f->host, 4, 0, &fc, NULL), 0);
    assert_int_equal(vmm_pci_add_func(f->host, 4, 2, &fc, NULL), 0);
    assert_int_equal(cfg_read(f->vm, 4, 0, 0x0E, 1), 0x80);
    assert_int_equal(cfg_read(f->vm, 4, 2, 0x0E, 1), 0x00);
    assert_int_equal(cfg_read(f->vm, 4, 1, 0x00, 4), 0xFFFFFFFF);
    assert_int_equal(vmm_pci_add_func(f->host, 4, 0, &fc, NULL), -EEXIST);
    assert_int_equal(vmm_pci_add_func(f->host, 32, 0, &fc, NULL), -EINVAL);
    assert_int_equal(vmm_pci_add_func(f->host, 5, 8, &fc, NULL), -EINVAL);
    bad.bars[0] = (struct vmm_pci_bar){.type = VMM_PCI_BAR_IO, .size = 100};
    assert_int_equal(vmm_pci_add_func(f->host, 5, 0, &bad, NULL), -EINVAL);
    bad.bars[0] = (struct vmm_pci_bar){.type = VMM_PCI_BAR_MEM64, .size = 4096};
    bad.bars[1] = (struct vmm_pci_bar){.type = VMM_PCI_BAR_IO, .size = 16};
    assert_int_equal(vmm_pci_add_func(f->host, 5, 0, &bad, NULL), -EINVAL);
    bad = fc;
    bad.bars[5] = (struct vmm_pci_bar){.type = VMM_PCI_BAR_MEM64, .size = 4096};
    assert_int_equal(vmm_pci_add_func(f->host, 5, 0, &bad, NULL), -EINVAL);
    bad = fc;
    bad.cap_ptr = 0x41;
    assert_int_equal(vmm_pci_add_func(f->host, 5, 0, &bad, NULL), -EINVAL);
}

static void test_reset_control_and_reset(void **state)
{
    struct fixture *f = *state;

    fake_outb(f->vm, 0xCF9, 0x02);
    assert_int_equal(fake_inb(f->vm, 0xCF9), 0x02);
    assert_int_equal(f->vm->resets, 0);
    fake_outb(f->vm, 0xCF9, 0x06);
    assert_int_equal(f->vm->resets, 1);
    (void)add_nic(f);
    cfg_write(f->vm, 3, 0, 0x10, 4, 0xE000);
    cfg_write(f->vm, 3, 0, 0x3C, 1, 5);
    fake_reset_devices(f->vm);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x10, 4), 0xC001);
    assert_int_equal(cfg_read(f->vm, 3, 0, 0x3C, 1), 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpopulated_reads_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_hooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multifunction_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_control_and_reset, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
