/* Unit tests for exit handling with a fake VMCB: the dispatch switch and each handler (CPUID,
 * HLT, IOIO with the string and REP forms, MSR policy, VMMCALL, #NPF, MMIO through the
 * emulator, fail stops), interrupt injection, device registration, the run loop and the
 * scheduler driven by a scripted fake CPU, and the VM lifecycle freeing everything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm_fake.h"
#include "../../vmm/hypercall.h"

/* A 16 MiB VM with a flat image at 1 MiB (two HLTs), no PC devices. */
static const uint8_t g_image[] = {0xF4, 0xF4};

static struct vmm_vm *new_vm(const char *name)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm = NULL;

    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, name);
    cfg.mem_bytes = MiB(16);
    cfg.image = g_image;
    cfg.image_len = sizeof(g_image);
    cfg.kind = VMM_IMAGE_FLAT;
    cfg.flat_addr = 0x100000;
    assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
    assert_int_equal(vmm_vm_start(vm), 0);
    return vm;
}

static void free_vm(struct vmm_vm *vm)
{
    if (vm->state == VMM_VM_RUNNING || vm->state == VMM_VM_PAUSED) {
        assert_int_equal(vmm_vm_stop(vm), 0);
    }
    assert_int_equal(vmm_vm_destroy(vm), 0);
}

static struct vmm_vm *g_vm;

static int setup(void **state)
{
    (void)state;
    fake_vmm_init();
    g_vm = new_vm("t");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_vm != NULL) {
        free_vm(g_vm);
        g_vm = NULL;
    }
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
    return 0;
}

static struct vmm_vcpu *vcpu(void)
{
    return g_vm->vcpu;
}

/* One exit as the run loop handles it: the VM is busy meanwhile, so a VM that ends in the
 * handler keeps its memory until vmm_vm_finish_exit (the tests look at it first). */
static enum vmm_action do_exit(uint64_t code, uint64_t info1, uint64_t info2)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;
    enum vmm_action act;

    c->exit_code = code;
    c->exit_info1 = info1;
    c->exit_info2 = info2;
    g_vm->busy++;
    act = vmm_exit_dispatch(vcpu());
    g_vm->busy--;
    return act;
}

/* ---- a test device ------------------------------------------------------------------------ */

struct tdev {
    uint8_t out[70000];
    size_t nout;
    unsigned calls;
    unsigned string_calls;
    uint32_t in_val;
    int fail;
    bool exit_on_write;
    uint64_t mmio_last;
    unsigned mmio_writes;
};

static struct tdev g_dev;

static int tdev_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct tdev *t = dev;

    t->calls++;
    if (t->fail != 0) {
        return t->fail;
    }
    if (port == 0x501) {
        return VMM_NOT_MINE;
    }
    if (write) {
        if (t->exit_on_write) {
            vmm_vm_request_exit(g_vm, (int)*val, "test device");
        }
        if (t->nout + size <= sizeof(t->out)) {
            memcpy(t->out + t->nout, val, size);
            t->nout += size;
        }
    } else {
        *val = t->in_val;
    }
    return VMM_HANDLED;
}

static int tdev_string(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                       uint32_t count)
{
    struct tdev *t = dev;
    size_t bytes = (size_t)size * count;

    t->string_calls++;
    if (write) {
        if (t->nout + bytes <= sizeof(t->out)) {
            memcpy(t->out + t->nout, buf, bytes);
        }
        t->nout += bytes;
    } else {
        for (size_t i = 0; i < bytes; i++) {
            ((uint8_t *)buf)[i] = (uint8_t)(0x40 + i);
        }
    }
    return VMM_HANDLED;
}

static int tdev_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct tdev *t = dev;

    if (write) {
        t->mmio_last = *val;
        t->mmio_writes++;
    } else {
        *val = 0x11223344;
    }
    return VMM_HANDLED;
}

static void add_tdev(bool with_string)
{
    struct vmm_dev_reg reg;

    memset(&g_dev, 0, sizeof(g_dev));
    memset(&reg, 0, sizeof(reg));
    reg.name = "tdev";
    reg.dev = &g_dev;
    reg.io[0] = (struct vmm_dev_io_range){0x500, 4, tdev_io, with_string ? tdev_string : NULL};
    reg.nio = 1;
    reg.mmio[0] = (struct vmm_dev_mmio_range){0xFEB00000, 0x1000, tdev_mmio};
    reg.nmmio = 1;
    assert_int_equal(vmm_dev_register(g_vm, &reg), 0);
}

/* ---- simple exits ------------------------------------------------------------------------- */

static void test_cpuid_exit(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    r->rip = 0x1000;
    r->gpr[VMM_RAX] = 0x40000000;
    r->gpr[VMM_RCX] = 0;
    assert_int_equal(do_exit(SVM_EXIT_CPUID, 0, 0), VMM_ACT_CONTINUE);
    assert_int_equal(r->rip, 0x1002);
    assert_int_equal(r->gpr[VMM_RAX], 0x40000001);
    assert_memory_equal(&r->gpr[VMM_RBX], "Petr", 4);
    r->gpr[VMM_RAX] = 1;
    assert_int_equal(do_exit(SVM_EXIT_CPUID, 0, 0), VMM_ACT_CONTINUE);
    assert_true(r->gpr[VMM_RCX] & (1u << 31));
    assert_false(r->gpr[VMM_RCX] & (1u << 5));
    assert_int_equal(r->gpr[VMM_RCX] >> 32, 0);
    assert_int_equal(g_vm->stats.exits[SVM_EXIT_CPUID], 2);
    assert_int_equal(g_vm->stats.exits_total, 2);
}

static void test_hlt(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    r->rip = 0x2000;
    r->rflags = 0x202;
    assert_int_equal(do_exit(SVM_EXIT_HLT, 0, 0), VMM_ACT_YIELD);
    assert_true(vcpu()->halted);
    assert_int_equal(r->rip, 0x2001);
    /* With interrupts off nothing can wake it: the VM stops. */
    vcpu()->halted = false;
    r->rflags = 0x2;
    assert_int_equal(do_exit(SVM_EXIT_HLT, 0, 0), VMM_ACT_YIELD);
    assert_int_equal(g_vm->state, VMM_VM_STOPPED);
    assert_false(g_vm->released); /* not while the handler runs */
    vmm_vm_finish_exit(g_vm);
    assert_true(g_vm->released);
    assert_null(g_vm->vcpu);
}

static void test_io_in_out(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    add_tdev(false);
    r->gpr[VMM_RAX] = 0xAAAABBBBCCCCDD41ull;
    assert_int_equal(do_exit(SVM_EXIT_IOIO, (0x500u << 16) | SVM_IO_SZ8 | SVM_IO_A32, 0x3002),
                     VMM_ACT_CONTINUE);
    assert_int_equal(r->rip, 0x3002); /* next RIP from EXITINFO2 */
    assert_int_equal(g_dev.nout, 1);
    assert_int_equal(g_dev.out[0], 0x41);
    /* IN AX keeps the rest of RAX; IN EAX zero-extends. */
    g_dev.in_val = 0x12345678;
    r->gpr[VMM_RAX] = 0xFFFFFFFFFFFFFFFFull;
    do_exit(SVM_EXIT_IOIO, (0x502u << 16) | SVM_IO_IN | SVM_IO_SZ16, 0x3004);
    assert_int_equal(r->gpr[VMM_RAX], 0xFFFFFFFFFFFF5678ull);
    do_exit(SVM_EXIT_IOIO, (0x502u << 16) | SVM_IO_IN | SVM_IO_SZ32, 0x3005);
    assert_int_equal(r->gpr[VMM_RAX], 0x12345678ull);
    /* Unclaimed (and not-mine) ports read all ones and count. */
    do_exit(SVM_EXIT_IOIO, (0x501u << 16) | SVM_IO_IN | SVM_IO_SZ8, 0x3006);
    assert_int_equal(r->gpr[VMM_RAX] & 0xFF, 0xFF);
    do_exit(SVM_EXIT_IOIO, (0x1234u << 16) | SVM_IO_IN | SVM_IO_SZ16, 0x3007);
    assert_int_equal(r->gpr[VMM_RAX] & 0xFFFF, 0xFFFF);
    assert_int_equal(g_vm->stats.io_unclaimed, 2);
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
}

static void test_io_device_error_fails_vm(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    add_tdev(false);
    g_dev.fail = -EIO;
    r->rip = 0x100;
    assert_int_equal(do_exit(SVM_EXIT_IOIO, (0x500u << 16) | SVM_IO_SZ8, 0x101), VMM_ACT_YIELD);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "tdev"));
    assert_int_equal(r->rip, 0x100);
    assert_true(log_count_with("registers: RIP") >= 1); /* the dump */
    assert_true(log_count_with("vmcb control:") >= 1);
}

static void test_rep_outsb_one_exit(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;
    static uint8_t data[65536];

    (void)state;
    add_tdev(true);
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 13);
    }
    assert_int_equal(vmm_guest_write(g_vm, 0x200000, data, sizeof(data)), 0);
    r->gpr[VMM_RSI] = 0x200000;
    r->gpr[VMM_RCX] = sizeof(data);
    r->rflags = 0x2;
    r->rip = 0x5000;
    assert_int_equal(do_exit(SVM_EXIT_IOIO,
                             (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32 |
                                 (3u << SVM_IO_SEG_SHIFT),
                             0x5002),
                     VMM_ACT_CONTINUE);
    assert_int_equal(g_dev.nout, sizeof(data));
    assert_memory_equal(g_dev.out, data, sizeof(data));
    assert_int_equal(r->gpr[VMM_RCX], 0);
    assert_int_equal(r->gpr[VMM_RSI], 0x200000 + sizeof(data));
    assert_int_equal(r->rip, 0x5002);
    assert_int_equal(g_dev.string_calls, 16); /* a page per device call */
    assert_int_equal(g_vm->stats.exits_total, 1);
    assert_int_equal(g_vm->stats.io_string_elems, sizeof(data));
}

static void test_string_backwards_a16(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;
    const uint16_t words[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    uint16_t got[4];

    (void)state;
    add_tdev(false); /* element by element through the plain handler */
    assert_int_equal(vmm_guest_write(g_vm, 0x7000, words, sizeof(words)), 0);
    /* std; rep outsw with SI at the last word, 16-bit addressing, DS base 0x7000 - 0x10. */
    r->seg[VMM_DS].base = 0x7000 - 0x10;
    r->gpr[VMM_RSI] = 0xABCD0000ull | (0x10 + 6);
    r->gpr[VMM_RCX] = 0x55550004ull;
    r->rflags = 0x2 | VMM_RFLAGS_DF;
    assert_int_equal(do_exit(SVM_EXIT_IOIO,
                             (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ16 | SVM_IO_A16 |
                                 (3u << SVM_IO_SEG_SHIFT),
                             0x6002),
                     VMM_ACT_CONTINUE);
    assert_int_equal(g_dev.nout, 8);
    memcpy(got, g_dev.out, 8);
    assert_int_equal(got[0], 0x4444); /* highest address first */
    assert_int_equal(got[3], 0x1111);
    assert_int_equal(r->gpr[VMM_RCX], 0x55550000ull); /* only CX changed */
    assert_int_equal(r->gpr[VMM_RSI], 0xABCD0000ull | (0x10 - 2));
    r->seg[VMM_DS].base = 0;
}

static void test_rep_insb(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;
    uint8_t got[5000];

    (void)state;
    add_tdev(true);
    r->gpr[VMM_RDI] = 0x300000;
    r->gpr[VMM_RCX] = sizeof(got);
    r->rflags = 0x2;
    do_exit(SVM_EXIT_IOIO,
            (0x500u << 16) | SVM_IO_IN | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32, 0x10);
    assert_int_equal(vmm_guest_read(g_vm, 0x300000, got, sizeof(got)), 0);
    assert_int_equal(got[0], 0x40);
    assert_int_equal(got[4096], 0x40); /* the second block starts again */
    assert_int_equal(r->gpr[VMM_RDI], 0x300000 + sizeof(got));
    assert_int_equal(r->rip, 0x10);
}

static void test_string_budget_and_bad_memory(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    add_tdev(true);
    /* 3 MiB: more than one exit's budget. RIP stays, the guest re-executes for the rest. */
    r->gpr[VMM_RSI] = 0x100000;
    r->gpr[VMM_RCX] = MiB(3);
    r->rflags = 0x2;
    r->rip = 0x7000;
    do_exit(SVM_EXIT_IOIO,
            (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32 | (3u << 10),
            0x7002);
    assert_int_equal(r->rip, 0x7000);
    assert_int_equal(r->gpr[VMM_RCX], MiB(2));
    assert_int_equal(r->gpr[VMM_RSI], 0x100000 + MiB(1));
    /* From beyond guest RAM: fail stop. */
    r->gpr[VMM_RSI] = MiB(16) - 10;
    r->gpr[VMM_RCX] = 100;
    do_exit(SVM_EXIT_IOIO,
            (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32 | (3u << 10),
            0x7002);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
}

/* String IO with the guest's paging on: 32-bit paging maps linear 0x400000 to 0x300000; the
 * next page is not present, so a read from it injects #PF with CR2 set. */
static void test_string_io_with_paging(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;
    uint32_t pde = 0x11000 | 0x3;
    uint32_t pte = 0x300000 | 0x3;
    uint64_t ev;

    (void)state;
    add_tdev(true);
    assert_int_equal(vmm_guest_write(g_vm, 0x10000 + 1 * 4, &pde, 4), 0);
    assert_int_equal(vmm_guest_write(g_vm, 0x11000 + 0 * 4, &pte, 4), 0);
    assert_int_equal(vmm_guest_write(g_vm, 0x300000, "abcd", 4), 0);
    r->cr0 = CR0_PE | CR0_PG | CR0_ET;
    r->cr3 = 0x10000;
    r->gpr[VMM_RSI] = 0x400000;
    r->gpr[VMM_RCX] = 4;
    r->rflags = 0x2;
    r->rip = 0x1000;
    do_exit(SVM_EXIT_IOIO,
            (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32 | (3u << 10),
            0x1002);
    assert_int_equal(g_dev.nout, 4);
    assert_memory_equal(g_dev.out, "abcd", 4);
    assert_int_equal(r->rip, 0x1002);
    r->gpr[VMM_RSI] = 0x401000;
    r->gpr[VMM_RCX] = 4;
    do_exit(SVM_EXIT_IOIO,
            (0x500u << 16) | SVM_IO_STR | SVM_IO_REP | SVM_IO_SZ8 | SVM_IO_A32 | (3u << 10),
            0x1004);
    ev = vcpu()->pending_event;
    assert_true(ev & SVM_EVT_VALID);
    assert_int_equal(ev & 0xFF, 14);
    assert_true(ev & SVM_EVT_EV);
    assert_int_equal(ev >> 32, 0); /* not present, read, supervisor */
    assert_int_equal(r->cr2, 0x401000);
    assert_int_equal(r->rip, 0x1002); /* faulted: not advanced */
    assert_int_equal(r->gpr[VMM_RCX], 4);
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
}

/* ---- MSRs --------------------------------------------------------------------------------- */

static void wrmsr(uint32_t msr, uint64_t val)
{
    struct vmm_regs *r = &vcpu()->regs;

    r->gpr[VMM_RCX] = msr;
    r->gpr[VMM_RAX] = (uint32_t)val;
    r->gpr[VMM_RDX] = val >> 32;
    do_exit(SVM_EXIT_MSR, 1, 0);
}

static uint64_t rdmsr(uint32_t msr)
{
    struct vmm_regs *r = &vcpu()->regs;

    r->gpr[VMM_RCX] = msr;
    do_exit(SVM_EXIT_MSR, 0, 0);
    return (r->gpr[VMM_RDX] << 32) | (r->gpr[VMM_RAX] & 0xFFFFFFFFu);
}

static bool gp_pending(void)
{
    uint64_t ev = vcpu()->pending_event;
    bool gp =
        (ev & SVM_EVT_VALID) && (ev & 0xFF) == 13 && (ev & SVM_EVT_TYPE_MASK) == SVM_EVT_TYPE_EXC;

    vcpu()->pending_event = 0;
    return gp;
}

static int my_rd(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    *val = 0x1122334455667788ull;
    return 0;
}

static void test_msr_policy(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    r->rip = 0x100;
    /* EFER: SVME is there underneath but hidden. */
    assert_true(r->efer & EFER_SVME);
    assert_int_equal(rdmsr(0xC0000080), 0);
    assert_int_equal(r->rip, 0x102);
    wrmsr(0xC0000080, EFER_LME | EFER_NXE);
    assert_false(gp_pending());
    assert_int_equal(r->efer, EFER_LME | EFER_NXE | EFER_SVME);
    assert_int_equal(rdmsr(0xC0000080), EFER_LME | EFER_NXE);
    r->rip = 0x200;
    wrmsr(0xC0000080, EFER_SVME); /* the guest may not touch SVME */
    assert_true(gp_pending());
    assert_int_equal(r->rip, 0x200); /* faulting: RIP stays */
    /* PAT: valid types only. */
    wrmsr(0x277, 0x0007040600070406ull);
    assert_false(gp_pending());
    wrmsr(0x277, 0x02);
    assert_true(gp_pending());
    /* Unknown MSRs: #GP, logged once each. */
    rdmsr(0xC0010004); /* PERF_CTR0: no PMU */
    assert_true(gp_pending());
    rdmsr(0xC0010004);
    assert_true(gp_pending());
    wrmsr(0x1B, 0); /* APIC base: no LAPIC in this VM */
    assert_true(gp_pending());
    assert_int_equal(log_count_with("0xc0010004"), 1);
    assert_int_equal(log_count_with("wrmsr 0x1b"), 1);
    assert_int_equal(g_vm->stats.msr_unknown, 3);
    /* A hook. */
    assert_int_equal(vmm_hook_msr(g_vm, 0x1234, my_rd, NULL, NULL), 0);
    assert_int_equal(vmm_hook_msr(g_vm, 0x1234, my_rd, NULL, NULL), -EEXIST);
    assert_int_equal(rdmsr(0x1234), 0x1122334455667788ull);
    wrmsr(0x1234, 1);
    assert_true(gp_pending());
}

static void test_msrpm(void **state)
{
    static uint8_t pm[8192];

    (void)state;
    vmm_msrpm_init(pm);
    /* FS_BASE (0xC0000100) passes through: bits 0x200-0x201 of the second 2 KiB. */
    assert_int_equal(pm[0x800 + 0x100 / 4] & 3, 0);
    /* EFER is intercepted both ways. */
    assert_int_equal((pm[0x800 + 0x80 / 4] >> 0) & 3, 3);
    /* TSC: reads pass, writes exit. */
    assert_int_equal((pm[0x10 / 4] >> ((0x10 % 4) * 2)) & 3, 2);
    assert_int_equal(vmm_msrpm_set(pm, 0x40000000, true, true), -ERANGE);
}

/* ---- VMMCALL ------------------------------------------------------------------------------ */

static void test_vmmcall(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    assert_int_equal(vmm_guest_write(g_vm, 0x9000, "hi there", 8), 0);
    r->rip = 0x100;
    r->gpr[VMM_RAX] = VMM_HC_PRINT;
    r->gpr[VMM_RBX] = 0x9000;
    r->gpr[VMM_RCX] = 8;
    assert_int_equal(do_exit(SVM_EXIT_VMMCALL, 0, 0), VMM_ACT_CONTINUE);
    assert_int_equal(r->rip, 0x103);
    assert_int_equal(r->gpr[VMM_RAX], 0);
    assert_int_equal(g_fake.console_len, 8);
    assert_memory_equal(g_fake.console, "hi there", 8);
    r->gpr[VMM_RAX] = VMM_HC_PRINT;
    r->gpr[VMM_RCX] = VMM_HC_PRINT_MAX + 1;
    do_exit(SVM_EXIT_VMMCALL, 0, 0);
    assert_int_equal((int64_t)r->gpr[VMM_RAX], -E2BIG);
    r->gpr[VMM_RAX] = VMM_HC_PRINT;
    r->gpr[VMM_RBX] = MiB(16) - 4;
    r->gpr[VMM_RCX] = 8;
    do_exit(SVM_EXIT_VMMCALL, 0, 0);
    assert_int_equal((int64_t)r->gpr[VMM_RAX], -EFAULT);
    r->gpr[VMM_RAX] = 77;
    do_exit(SVM_EXIT_VMMCALL, 0, 0);
    assert_int_equal((int64_t)r->gpr[VMM_RAX], -ENOSYS);
    vcpu()->vmcb->save.cpl = 3;
    r->gpr[VMM_RAX] = VMM_HC_EXIT;
    do_exit(SVM_EXIT_VMMCALL, 0, 0);
    assert_int_equal((int64_t)r->gpr[VMM_RAX], -EPERM);
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
    vcpu()->vmcb->save.cpl = 0;
    r->gpr[VMM_RAX] = VMM_HC_EXIT;
    r->gpr[VMM_RBX] = 42;
    assert_int_equal(do_exit(SVM_EXIT_VMMCALL, 0, 0), VMM_ACT_YIELD);
    assert_int_equal(g_vm->state, VMM_VM_EXITED);
    assert_int_equal(g_vm->exit_code, 42);
    assert_int_equal(log_count_with("vm t: exited with code 42"), 1);
}

/* ---- fail stops --------------------------------------------------------------------------- */

static void test_npf_outside_ram(void **state)
{
    (void)state;
    vcpu()->regs.rip = 0x100037;
    assert_int_equal(do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_WRITE, 0x40000000), VMM_ACT_YIELD);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "0x40000000"));
    assert_non_null(strstr(g_vm->reason, "write"));
    assert_int_equal(log_count_with("vm t: fail stop: guest write of guest-physical 0x40000000"),
                     1);
}

static void test_unknown_exit(void **state)
{
    (void)state;
    do_exit(0x65, 0, 0);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "unhandled exit 0x65"));
}

static void test_invalid_and_shutdown(void **state)
{
    (void)state;
    do_exit(0x00000000FFFFFFFFull, 0, 0); /* QEMU's spelling of VMEXIT_INVALID */
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "VMRUN refused"));
    assert_int_equal(g_vm->stats.exits[VMM_EXIT_SLOT_INVALID], 1);
    free_vm(g_vm);
    g_vm = new_vm("t2");
    do_exit(SVM_EXIT_SHUTDOWN, 0, 0);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "triple fault"));
}

static void test_hidden_instructions_ud(void **state)
{
    (void)state;
    vcpu()->regs.rip = 0x500;
    assert_int_equal(do_exit(SVM_EXIT_VMRUN, 0, 0), VMM_ACT_CONTINUE);
    assert_int_equal(vcpu()->pending_event & 0xFFF, 6 | SVM_EVT_TYPE_EXC);
    assert_int_equal(vcpu()->regs.rip, 0x500);
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
}

/* ---- MMIO --------------------------------------------------------------------------------- */

static void test_mmio_emulated(void **state)
{
    struct vmm_regs *r = &vcpu()->regs;
    /* mov [0xFEB00010], eax ; mov ebx, [0xFEB00020] */
    const uint8_t code[] = {0xA3, 0x10, 0x00, 0xB0, 0xFE, 0x8B, 0x1D, 0x20, 0x00, 0xB0, 0xFE};

    (void)state;
    add_tdev(false);
    assert_int_equal(vmm_guest_write(g_vm, 0x180000, code, sizeof(code)), 0);
    r->rip = 0x180000;
    r->gpr[VMM_RAX] = 0xCAFEBABE;
    assert_int_equal(do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_WRITE | SVM_NPF_P, 0xFEB00010),
                     VMM_ACT_CONTINUE);
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
    assert_int_equal(g_dev.mmio_writes, 1);
    assert_int_equal(g_dev.mmio_last, 0xCAFEBABE);
    assert_int_equal(r->rip, 0x180005);
    do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_P, 0xFEB00020);
    assert_int_equal(r->gpr[VMM_RBX], 0x11223344);
    assert_int_equal(r->rip, 0x18000B);
    /* An instruction the emulator does not do: fail stop naming it. */
    assert_int_equal(vmm_guest_write(g_vm, 0x180000, "\xF0\x0F\xC7\x0D\x00\x00\xB0\xFE", 8), 0);
    r->rip = 0x180000;
    do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_WRITE, 0xFEB00000);
    assert_int_equal(g_vm->state, VMM_VM_FAILED);
    assert_non_null(strstr(g_vm->reason, "cannot emulate"));
}

/* ---- devices ------------------------------------------------------------------------------ */

static void test_dev_register_checks(void **state)
{
    struct vmm_dev_reg reg;

    (void)state;
    add_tdev(false);
    memset(&reg, 0, sizeof(reg));
    reg.name = "other";
    reg.io[0] = (struct vmm_dev_io_range){0x503, 2, tdev_io, NULL};
    reg.nio = 1;
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EEXIST); /* overlaps tdev */
    reg.io[0].base = 0x600;
    reg.name = "tdev";
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EEXIST); /* same name */
    reg.name = "other";
    reg.io[0].count = 0;
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EINVAL);
    reg.io[0] = (struct vmm_dev_io_range){0xFFFF, 2, tdev_io, NULL};
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EINVAL); /* beyond port 0xFFFF */
    reg.io[0] = (struct vmm_dev_io_range){0x600, 2, NULL, NULL};
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EINVAL);
    memset(&reg, 0, sizeof(reg));
    reg.name = "ram";
    reg.mmio[0] = (struct vmm_dev_mmio_range){0x100000, 0x1000, tdev_mmio};
    reg.nmmio = 1;
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EEXIST); /* over RAM */
    reg.mmio[0].base = 0xA0000;                              /* the VGA hole is fine */
    assert_int_equal(vmm_dev_register(g_vm, &reg), 0);
    memset(&reg, 0, sizeof(reg));
    reg.name = "empty";
    assert_int_equal(vmm_dev_register(g_vm, &reg), -EINVAL);
}

/* ---- interrupt injection ------------------------------------------------------------------ */

struct fintc {
    bool pending;
    uint8_t vec;
    unsigned acks;
    unsigned lines_set;
};

static struct fintc g_intc;

static void fintc_set_line(void *p, unsigned line, bool level)
{
    struct fintc *i = p;

    i->lines_set++;
    if (level) {
        i->pending = true;
        i->vec = (uint8_t)(0x20 + line);
    }
}

static bool fintc_pending(void *p, uint8_t *vec)
{
    struct fintc *i = p;

    *vec = i->vec;
    return i->pending;
}

static void fintc_ack(void *p, uint8_t vec)
{
    struct fintc *i = p;

    assert_int_equal(vec, i->vec);
    i->acks++;
    i->pending = false;
}

static const struct vmm_intc_ops g_fintc_ops = {
    .set_line = fintc_set_line,
    .pending = fintc_pending,
    .ack = fintc_ack,
};

static void add_intc(void)
{
    memset(&g_intc, 0, sizeof(g_intc));
    assert_int_equal(vmm_intc_register(g_vm, &g_fintc_ops, &g_intc), 0);
}

static void test_inject_when_interruptible(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    assert_int_equal(vmm_intc_register(g_vm, &g_fintc_ops, &g_intc), -EEXIST);
    assert_int_equal(vmm_irq_set(g_vm, 4, true), 0);
    assert_int_equal(vmm_irq_set(g_vm, 99, true), -EINVAL);
    vcpu()->regs.rflags = 0x202;
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | SVM_EVT_TYPE_INTR | 0x24);
    assert_int_equal(g_intc.acks, 1);
    assert_int_equal(g_vm->stats.irqs_injected, 1);
    /* Nothing pending: nothing injected. */
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, 0);
}

static void test_window_when_masked(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    vmm_irq_set(g_vm, 0, true);
    vcpu()->regs.rflags = 0x2; /* IF = 0 */
    vmm_inject_prepare(vcpu());
    /* A virtual interrupt with the real vector, no VINTR intercept, the controller not acked. */
    assert_int_equal(c->event_inj, 0);
    assert_true(c->int_ctl & SVM_INT_V_IRQ);
    assert_true(c->int_ctl & SVM_INT_V_IGN_TPR);
    assert_true(c->int_ctl & SVM_INT_V_INTR_MASKING);
    assert_int_equal((c->int_ctl >> SVM_INT_V_VECTOR_SHIFT) & 0xFF, 0x20);
    assert_false(c->intercept1 & SVM_I1_VINTR);
    assert_int_equal(g_intc.acks, 0);
    /* The CPU took it (V_IRQ clear at the exit): acked once, counted, nothing re-injected. */
    c->int_ctl &= ~SVM_INT_V_IRQ;
    do_exit(SVM_EXIT_HLT, 0, 0);
    assert_int_equal(g_intc.acks, 1);
    assert_int_equal(g_vm->stats.irqs_injected, 1);
    assert_int_equal(c->int_ctl & ~SVM_INT_V_INTR_MASKING, 0);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, 0);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(g_intc.acks, 1);
}

static void test_virq_not_taken(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    do_exit(SVM_EXIT_INTR, 0, 0); /* the guest stopped at an instruction right after STI */
    vmm_irq_set(g_vm, 0, true);
    vcpu()->regs.rflags = 0x202;
    c->int_state = SVM_INT_STATE_SHADOW; /* after STI: waits too */
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, 0);
    assert_true(c->int_ctl & SVM_INT_V_IRQ);
    /* The guest exited before opening its window: V_IRQ cleared, not acked. */
    c->int_state = 0;
    vcpu()->regs.rflags = 0x2;
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    assert_int_equal(g_intc.acks, 0);
    assert_int_equal(g_vm->stats.irqs_injected, 0);
    /* A higher vector arrived meanwhile: the next entry arms that one. */
    g_intc.vec = 0x31;
    vmm_inject_prepare(vcpu());
    assert_int_equal((c->int_ctl >> SVM_INT_V_VECTOR_SHIFT) & 0xFF, 0x31);
    do_exit(SVM_EXIT_INTR, 0, 0);
    /* IF open now: plain injection, acked at once. */
    vcpu()->regs.rflags = 0x202;
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x31);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    assert_int_equal(g_intc.acks, 1);
    /* A VINTR exit (nobody asks for it now) still just closes the window. */
    c->intercept1 |= SVM_I1_VINTR;
    assert_int_equal(do_exit(SVM_EXIT_VINTR, 0, 0), VMM_ACT_CONTINUE);
    assert_false(c->intercept1 & SVM_I1_VINTR);
}

/* STI; HLT: the HLT exit comes with the STI's shadow still set. The core carried the HLT out,
 * so the shadow is over: the interrupt that ends the halt goes in at once, not as V_IRQ. */
static void test_hlt_ends_the_shadow(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    vcpu()->regs.rflags = 0x202;
    c->int_state = SVM_INT_STATE_SHADOW;
    assert_int_equal(do_exit(SVM_EXIT_HLT, 0, 0), VMM_ACT_YIELD);
    assert_true(vcpu()->halted);
    vmm_irq_set(g_vm, 5, true);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x25);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    assert_false(c->int_state & SVM_INT_STATE_SHADOW);
    assert_int_equal(g_intc.acks, 1);
}

static void test_virq_delivery_interrupted(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    vmm_irq_set(g_vm, 2, true);
    vcpu()->regs.rflags = 0x2;
    vmm_inject_prepare(vcpu());
    assert_true(c->int_ctl & SVM_INT_V_IRQ);
    /* The CPU started delivering 0x22 and a nested page fault stopped it: EXITINTINFO has it
     * (V_IRQ still set, as QEMU leaves it). Acked once, delivered again through EVENTINJ. */
    c->exit_int_info = SVM_EVT_VALID | SVM_EVT_TYPE_INTR | 0x22;
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(g_intc.acks, 1);
    assert_int_equal(g_vm->stats.irqs_injected, 1);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x22);
    assert_false(c->int_ctl & SVM_INT_V_IRQ);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(g_intc.acks, 1);
    /* Taken and V_IRQ clear with it in EXITINTINFO: still one ack. */
    vmm_irq_set(g_vm, 3, true);
    vmm_inject_prepare(vcpu());
    c->int_ctl &= ~SVM_INT_V_IRQ;
    c->exit_int_info = SVM_EVT_VALID | SVM_EVT_TYPE_INTR | 0x23;
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(g_intc.acks, 2);
    assert_int_equal(vcpu()->pending_event, SVM_EVT_VALID | 0x23);
}

static void test_reinject_interrupted_event(void **state)
{
    struct vmcb_control *c = &vcpu()->vmcb->ctl;

    (void)state;
    add_intc();
    vcpu()->regs.rflags = 0x202;
    /* The exit interrupted the delivery of vector 0x30; stale high bits as QEMU leaves them. */
    c->exit_int_info = 0xDEAD000080000030ull;
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_irq_set(g_vm, 1, true); /* another one is pending: it waits its turn */
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x30);
    assert_int_equal(g_intc.acks, 0);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x21);
    /* An exception with an error code keeps it. */
    c->exit_int_info = 0x0000000580000B0Eull; /* #PF (14), EV, error code 5 */
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, 0x0000000580000B0Eull);
}

/* ---- interrupt controllers: roles, NMI ---------------------------------------------------- */

static unsigned g_lines_only_calls;

static void lines_only_set(void *p, unsigned line, bool level)
{
    (void)p;
    (void)line;
    (void)level;
    g_lines_only_calls++;
}

static bool g_nmi;

static bool fnmi_pending(void *p)
{
    (void)p;
    return g_nmi;
}

static void fnmi_ack(void *p)
{
    (void)p;
    g_nmi = false;
}

static void test_intc_roles(void **state)
{
    static const struct vmm_intc_ops lines_only = {.set_line = lines_only_set};
    static const struct vmm_intc_ops cpu_only = {
        .pending = fintc_pending,
        .ack = fintc_ack,
        .nmi_pending = fnmi_pending,
        .nmi_ack = fnmi_ack,
    };
    static const struct vmm_intc_ops half = {.pending = fintc_pending};
    static const struct vmm_intc_ops none = {.nmi_pending = fnmi_pending, .nmi_ack = fnmi_ack};
    const struct vmm_intc_ops *prev_ops = NULL;
    void *prev = NULL;
    struct fintc other;

    (void)state;
    assert_int_equal(vmm_irq_set(g_vm, 1, true), -ENODEV); /* nobody on the lines */
    assert_int_equal(vmm_intc_register(g_vm, &half, &g_intc), -EINVAL);
    assert_int_equal(vmm_intc_register(g_vm, &none, &g_intc), -EINVAL);
    assert_int_equal(vmm_intc_register(g_vm, NULL, &g_intc), -EINVAL);
    add_intc();
    /* A second line controller sees the same lines; it is not the CPU's. */
    g_lines_only_calls = 0;
    assert_int_equal(vmm_intc_register(g_vm, &lines_only, NULL), 0);
    vmm_irq_set(g_vm, 5, true);
    assert_int_equal(g_intc.lines_set, 1);
    assert_int_equal(g_lines_only_calls, 1);
    assert_ptr_equal(g_vm->intc, &g_intc);
    for (int i = 2; i < VMM_INTC_MAX; i++) {
        assert_int_equal(vmm_intc_register(g_vm, &lines_only, NULL), 0);
    }
    assert_int_equal(vmm_intc_register(g_vm, &lines_only, NULL), -ENOSPC);
    /* Taking over the CPU side: the old controller comes back, and stays on the lines. */
    memset(&other, 0, sizeof(other));
    assert_int_equal(vmm_intc_take_cpu(g_vm, &lines_only, &other, &prev_ops, &prev), -EINVAL);
    assert_int_equal(vmm_intc_take_cpu(g_vm, &cpu_only, &other, &prev_ops, &prev), 0);
    assert_ptr_equal(prev_ops, &g_fintc_ops);
    assert_ptr_equal(prev, &g_intc);
    assert_ptr_equal(g_vm->intc, &other);
    vmm_irq_set(g_vm, 6, true);
    assert_int_equal(g_intc.lines_set, 2);
    assert_false(other.pending); /* set_line of the new one is not called: it has none */
}

static void test_inject_nmi(void **state)
{
    static const struct vmm_intc_ops with_nmi = {
        .set_line = fintc_set_line,
        .pending = fintc_pending,
        .ack = fintc_ack,
        .nmi_pending = fnmi_pending,
        .nmi_ack = fnmi_ack,
    };
    struct vmcb_control *c = &vcpu()->vmcb->ctl;
    struct vmm_regs *r = &vcpu()->regs;

    (void)state;
    memset(&g_intc, 0, sizeof(g_intc));
    assert_int_equal(vmm_intc_register(g_vm, &with_nmi, &g_intc), 0);
    /* An NMI goes before an interrupt, and IF does not hold it back. */
    vmm_irq_set(g_vm, 1, true);
    g_nmi = true;
    r->rflags = 0x2;
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | SVM_EVT_TYPE_NMI | 2);
    assert_false(g_nmi);
    /* An interrupt shadow does. */
    do_exit(SVM_EXIT_INTR, 0, 0);
    g_nmi = true;
    c->int_state = SVM_INT_STATE_SHADOW;
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, 0);
    c->int_state = 0;
    /* HLT with an NMI pending ends at once. */
    r->rflags = 0x202;
    g_intc.pending = false;
    assert_int_equal(do_exit(SVM_EXIT_HLT, 0, 0), VMM_ACT_CONTINUE);
    assert_false(vcpu()->halted);
    vmm_inject_prepare(vcpu());
    assert_int_equal(c->event_inj, SVM_EVT_VALID | SVM_EVT_TYPE_NMI | 2);
}

/* ---- the CPU MSRs the core keeps, the TSC --------------------------------------------------- */

static void test_cpu_msrs(void **state)
{
    (void)state;
    /* MTRRs exist only when CPUID shows them (a PC VM). */
    rdmsr(0xFE);
    assert_true(gp_pending());
    g_vm->cpuid.mtrr = true;
    assert_int_equal(rdmsr(0xFE), 0x508);
    wrmsr(0xFE, 0);
    assert_true(gp_pending());
    assert_int_equal(rdmsr(0x2FF), 0xC06); /* enabled, fixed enabled, write-back */
    wrmsr(0x2FF, 0x0C02);                  /* type 2 is reserved */
    assert_true(gp_pending());
    wrmsr(0x2FF, 0x1000);
    assert_true(gp_pending());
    wrmsr(0x2FF, 0x0006);
    assert_false(gp_pending());
    assert_int_equal(rdmsr(0x2FF), 0x6);
    assert_int_equal(rdmsr(0x250), 0x0606060606060606ull);
    assert_int_equal(rdmsr(0x259), 0); /* VGA window uncached */
    assert_int_equal(rdmsr(0x26F), 0x0606060606060606ull);
    wrmsr(0x268, 0x0505050505050505ull);
    assert_int_equal(rdmsr(0x268), 0x0505050505050505ull);
    wrmsr(0x268, 0x0707070707070707ull);
    assert_true(gp_pending());
    assert_int_equal(rdmsr(0x201), 0); /* PhysMask0: not valid */
    wrmsr(0x200, 0xC0000000ull);       /* PhysBase0: UC at 3 GiB */
    wrmsr(0x201, 0xFC0000800ull);      /* PhysMask0: 1 GiB, valid */
    assert_false(gp_pending());
    assert_int_equal(rdmsr(0x201), 0xFC0000800ull);
    wrmsr(0x201, 0x100); /* reserved bit */
    assert_true(gp_pending());
    rdmsr(0x210); /* beyond the 8 pairs */
    assert_true(gp_pending());
    /* AMD: HWCR says the TSC counts at P0, VM_CR says SVM is locked off. */
    assert_int_equal(rdmsr(0xC0010015), 1u << 24);
    wrmsr(0xC0010015, (1u << 24) | (1u << 6));
    assert_int_equal(rdmsr(0xC0010015), (1u << 24) | (1u << 6));
    assert_int_equal(rdmsr(0xC0010114), 0x18);
    wrmsr(0xC0010114, 0);
    assert_true(gp_pending());
    assert_int_equal(rdmsr(0xC0011029), 2); /* LFENCE serializing */
    wrmsr(0xC0011029, 3);
    assert_int_equal(rdmsr(0xC0011029), 3);
    assert_int_equal(rdmsr(0xC0011020), 0);
    assert_int_equal(rdmsr(0xC0010010), 0);
    assert_int_equal(rdmsr(0xC0010055), 0);
    assert_false(gp_pending());
    assert_int_equal(g_vm->stats.msr_unknown, 2); /* 0xFE before CPUID showed it, 0x210 */
}

static void test_tsc_offset(void **state)
{
    (void)state;
    g_fake.now = 5000;
    assert_int_equal(vmm_guest_tsc(g_vm), FAKE_TSC_BASE + 5000);
    wrmsr(0x10, 1000000);
    assert_int_equal(vcpu()->vmcb->ctl.tsc_offset, 1000000 - (FAKE_TSC_BASE + 5000));
    g_fake.now += 300;
    assert_int_equal(vmm_guest_tsc(g_vm), 1000300);
}

/* ---- a PC VM with APICs ---------------------------------------------------------------------- */

static struct vmm_vm *new_pc_vm(const char *name, bool apic)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm = NULL;

    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, name);
    cfg.mem_bytes = MiB(16);
    cfg.image = g_image;
    cfg.image_len = sizeof(g_image);
    cfg.kind = VMM_IMAGE_FLAT;
    cfg.flat_addr = 0x100000;
    cfg.pc_devices = true;
    cfg.apic = apic;
    assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
    assert_int_equal(vmm_vm_start(vm), 0);
    return vm;
}

static uint32_t cpuid_of(struct vmm_vm *vm, uint32_t leaf, int reg)
{
    struct vmm_regs *r = &vm->vcpu->regs;
    struct vmm_vm *saved = g_vm;

    g_vm = vm;
    r->gpr[VMM_RAX] = leaf;
    r->gpr[VMM_RCX] = 0;
    do_exit(SVM_EXIT_CPUID, 0, 0);
    g_vm = saved;
    return (uint32_t)r->gpr[reg];
}

static bool has_dev(struct vmm_vm *vm, const char *name)
{
    for (size_t i = 0; i < vm->ndevs; i++) {
        if (strcmp(vm->devs[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

static uint32_t mmio32(struct vmm_vm *vm, uint64_t gpa, bool write, uint32_t val)
{
    uint64_t v = val;

    assert_int_equal(vmm_mmio_access(vm, gpa, 4, write, &v), 0);
    return (uint32_t)v;
}

static void test_pc_vm_without_apic(void **state)
{
    struct vmm_vm *vm;

    (void)state;
    vm = new_pc_vm("noapic", false);
    assert_false(has_dev(vm, "lapic"));
    assert_false(has_dev(vm, "ioapic"));
    assert_false(cpuid_of(vm, 1, VMM_RDX) & (1u << 9));
    assert_false(cpuid_of(vm, 1, VMM_RCX) & (1u << 24));
    assert_true(cpuid_of(vm, 1, VMM_RDX) & (1u << 12)); /* MTRR */
    assert_int_equal(cpuid_of(vm, 6, VMM_RAX), 0);
    assert_true(cpuid_of(vm, 0x80000007, VMM_RDX) & (1u << 8)); /* invariant TSC */
    assert_false(vmm_mmio_claimed(vm, 0xFEE00000));
    free_vm(vm);
}

static void test_pc_vm_with_apic(void **state)
{
    struct vmm_vm *vm;
    struct vmm_vcpu *v;
    struct vmcb_control *c;
    struct vmm_vm *saved = g_vm;
    /* mov [0xFEE000B0], eax: the guest's EOI */
    const uint8_t eoi[] = {0xA3, 0xB0, 0x00, 0xE0, 0xFE};

    (void)state;
    vm = new_pc_vm("apic", true);
    v = vm->vcpu;
    c = &v->vmcb->ctl;
    assert_true(has_dev(vm, "lapic"));
    assert_true(has_dev(vm, "ioapic"));
    assert_int_equal(vm->nintc_lines, 2); /* the 8259 and the IOAPIC */
    assert_true(cpuid_of(vm, 1, VMM_RDX) & (1u << 9));
    assert_true(cpuid_of(vm, 1, VMM_RCX) & (1u << 24));
    assert_false(cpuid_of(vm, 1, VMM_RCX) & (1u << 21)); /* no x2APIC */
    assert_int_equal(cpuid_of(vm, 6, VMM_RAX), 1u << 2); /* ARAT */
    assert_int_equal(mmio32(vm, 0xFEE00030, false, 0), 0x00050014);
    mmio32(vm, 0xFEC00000, true, 1); /* IOREGSEL: the version register */
    assert_int_equal(mmio32(vm, 0xFEC00010, false, 0), 0x00170011);
    g_vm = vm;
    assert_int_equal(rdmsr(0x1B), 0xFEE00900ull);
    /* The PIT's line reaches the CPU through IOAPIC pin 2 and the LAPIC. */
    mmio32(vm, 0xFEE000F0, true, 0x1FF);
    mmio32(vm, 0xFEE00350, true, 0x10700); /* LINT0 masked: the 8259 is out */
    mmio32(vm, 0xFEC00000, true, 0x15);    /* pin 2 high dword: destination 0 */
    mmio32(vm, 0xFEC00010, true, 0);
    mmio32(vm, 0xFEC00000, true, 0x14); /* pin 2 low dword: vector 0x30, edge */
    mmio32(vm, 0xFEC00010, true, 0x30);
    v->regs.rflags = 0x202;
    vmm_irq_set(vm, 0, true);
    vmm_irq_set(vm, 0, false);
    assert_true(vmm_vcpu_poll(v, g_fake.now));
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x30);
    /* The guest's EOI, a store the emulator carries out. */
    assert_int_equal(vmm_guest_write(vm, 0x180000, eoi, sizeof(eoi)), 0);
    v->regs.rip = 0x180000;
    assert_int_equal(do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_WRITE | SVM_NPF_P, 0xFEE000B0),
                     VMM_ACT_CONTINUE);
    assert_int_equal(v->regs.rip, 0x180005);
    assert_int_equal(mmio32(vm, 0xFEE00100 + 0x10, false, 0), 0); /* ISR bits 32-63 clear */
    /* TSC-deadline timer: armed by WRMSR, fired by the poll before an entry. */
    mmio32(vm, 0xFEE00320, true, 0x40041);
    wrmsr(0x6E0, vmm_guest_tsc(vm) + 5000);
    assert_false(vmm_vcpu_poll(v, g_fake.now));
    assert_int_equal(v->wake_ns, g_fake.now + 5000);
    g_fake.now += 5000;
    assert_true(vmm_vcpu_poll(v, g_fake.now));
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x41);
    g_vm = saved;
    free_vm(vm);
}

/* ---- paravirtual EOI ------------------------------------------------------------------------ */

#define PV_EOI_MSR  0x4B564D04u
#define PV_EOI_WORD 0x3000u

static uint32_t pv_word(struct vmm_vm *vm)
{
    uint32_t w = 0;

    assert_int_equal(vmm_guest_read(vm, PV_EOI_WORD, &w, sizeof(w)), 0);
    return w;
}

static void pv_word_set(struct vmm_vm *vm, uint32_t w)
{
    assert_int_equal(vmm_guest_write(vm, PV_EOI_WORD, &w, sizeof(w)), 0);
}

/* IOAPIC pin 2 (the PIT's IRQ 0): `vector`, level or edge, destination 0. */
static void ioapic_pin2(struct vmm_vm *vm, uint8_t vector, bool level)
{
    mmio32(vm, 0xFEC00000, true, 0x15);
    mmio32(vm, 0xFEC00010, true, 0);
    mmio32(vm, 0xFEC00000, true, 0x14);
    mmio32(vm, 0xFEC00010, true, vector | (level ? 1u << 15 : 0));
}

static bool lapic_isr(struct vmm_vm *vm, uint8_t vector)
{
    return (mmio32(vm, 0xFEE00100 + (vector / 32) * 0x10, false, 0) >> (vector % 32)) & 1;
}

/* A self IPI (ICR, fixed, self shorthand): the LAPIC requests `vector`. */
static void self_ipi(struct vmm_vm *vm, uint8_t vector)
{
    mmio32(vm, 0xFEE00300, true, 0x40000u | vector);
}

/* The guest takes the armed virtual interrupt and writes the EOI register (mov [0xFEE000B0],
 * eax): the exit is that MMIO write. */
static void take_virq_write_eoi(struct vmm_vm *vm)
{
    struct vmm_vcpu *v = vm->vcpu;

    v->vmcb->ctl.int_ctl &= ~SVM_INT_V_IRQ;
    assert_int_equal(vmm_guest_write(vm, 0x180000, "\xA3\xB0\x00\xE0\xFE", 5), 0);
    v->regs.rip = 0x180000;
    assert_int_equal(do_exit(SVM_EXIT_NPF, SVM_NPF_GPA | SVM_NPF_WRITE | SVM_NPF_P, 0xFEE000B0),
                     VMM_ACT_CONTINUE);
}

static void test_pv_eoi_msr(void **state)
{
    struct vmm_vm *saved = g_vm;
    struct vmm_vm *vm;

    (void)state;
    /* Without a LAPIC there is no such MSR, and CPUID keeps Petrel's signature. */
    vm = new_pc_vm("noapic", false);
    g_vm = vm;
    assert_int_equal(cpuid_of(vm, 0x40000000, VMM_RBX), 0x72746550); /* "Petr" */
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    assert_true(gp_pending());
    g_vm = saved;
    free_vm(vm);
    vm = new_pc_vm("apic", true);
    g_vm = vm;
    assert_int_equal(cpuid_of(vm, 0x40000000, VMM_RBX), 0x4b4d564b); /* "KVMK" */
    assert_int_equal(cpuid_of(vm, 0x40000001, VMM_RAX), 1u << 6);
    assert_int_equal(rdmsr(PV_EOI_MSR), 0);
    assert_false(gp_pending());
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    assert_false(gp_pending());
    assert_int_equal(rdmsr(PV_EOI_MSR), PV_EOI_WORD | 1);
    /* Reserved bit 1, a word outside RAM (above it, the LAPIC page): #GP, the value stays. */
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 3);
    assert_true(gp_pending());
    wrmsr(PV_EOI_MSR, 0x40000000ull | 1);
    assert_true(gp_pending());
    wrmsr(PV_EOI_MSR, 0xFEE00000ull | 1);
    assert_true(gp_pending());
    wrmsr(PV_EOI_MSR, (MiB(16) - 4) | 1); /* the last word of RAM is fine */
    assert_false(gp_pending());
    wrmsr(PV_EOI_MSR, MiB(16) | 1);
    assert_true(gp_pending());
    assert_int_equal(rdmsr(PV_EOI_MSR), (MiB(16) - 4) | 1);
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    assert_int_equal(rdmsr(PV_EOI_MSR), PV_EOI_WORD | 1);
    /* Disabled: any address is fine. */
    wrmsr(PV_EOI_MSR, 0x40000000ull);
    assert_false(gp_pending());
    assert_int_equal(rdmsr(PV_EOI_MSR), 0x40000000ull);
    /* A reset turns it off. */
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    assert_int_equal(vmm_vm_reset_now(vm), 0);
    assert_int_equal(rdmsr(PV_EOI_MSR), 0);
    g_vm = saved;
    free_vm(vm);
    /* paravirt = off: no KVM leaves, no MSR. */
    {
        struct vmm_vm_config cfg;

        memset(&cfg, 0, sizeof(cfg));
        strcpy(cfg.name, "nopv");
        cfg.mem_bytes = MiB(16);
        cfg.image = g_image;
        cfg.image_len = sizeof(g_image);
        cfg.kind = VMM_IMAGE_FLAT;
        cfg.flat_addr = 0x100000;
        cfg.pc_devices = true;
        cfg.apic = true;
        cfg.no_paravirt = true;
        assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
        assert_int_equal(vmm_vm_start(vm), 0);
    }
    g_vm = vm;
    assert_int_equal(cpuid_of(vm, 0x40000000, VMM_RBX), 0x72746550);
    assert_int_equal(cpuid_of(vm, 0x40000001, VMM_RAX), 0);
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    assert_true(gp_pending());
    g_vm = saved;
    free_vm(vm);
}

static void test_pv_eoi(void **state)
{
    struct vmm_vm *saved = g_vm;
    struct vmm_vm *vm = new_pc_vm("apic", true);
    struct vmm_vcpu *v = vm->vcpu;
    struct vmcb_control *c = &v->vmcb->ctl;
    uint64_t eois = 0;
    uint64_t irqs;

    (void)state;
    g_vm = vm;
    mmio32(vm, 0xFEE000F0, true, 0x1FF);
    mmio32(vm, 0xFEE00350, true, 0x10700); /* LINT0 masked: the 8259 is out */
    pv_word_set(vm, 0xABCD0000u);          /* the rest of the word is the guest's */
    wrmsr(PV_EOI_MSR, PV_EOI_WORD | 1);
    v->regs.rflags = 0x202;

    /* A level-triggered vector alone in service with nothing requested: bit set. */
    ioapic_pin2(vm, 0x30, true);
    vmm_irq_set(vm, 0, true);
    assert_true(vmm_vcpu_poll(v, g_fake.now));
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x30);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    vmm_irq_set(vm, 0, false); /* the handler quiets the device */
    /* An exit with the bit still set changes nothing. */
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_true(lapic_isr(vm, 0x30));
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, 0);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    /* The guest clears it: the next exit performs the EOI, IOAPIC included (remote IRR). */
    assert_true(mmio32(vm, 0xFEC00010, false, 0) & (1u << 14));
    pv_word_set(vm, 0xABCD0000u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(lapic_isr(vm, 0x30));
    assert_false(mmio32(vm, 0xFEC00010, false, 0) & (1u << 14));
    assert_int_equal(vm->stats.pv_eois, ++eois);
    assert_int_equal(pv_word(vm), 0xABCD0000u);

    /* Another vector arrives while the bit is set: cleared in memory before that injection,
     * and with two in service the next one gets no bit. */
    self_ipi(vm, 0x40);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x40);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    self_ipi(vm, 0x50);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x50);
    assert_int_equal(pv_word(vm), 0xABCD0000u);
    assert_true(lapic_isr(vm, 0x40) && lapic_isr(vm, 0x50));
    /* The guest writes the register for both: exact LAPIC state, no PV EOI counted. */
    mmio32(vm, 0xFEE000B0, true, 0);
    mmio32(vm, 0xFEE000B0, true, 0);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(lapic_isr(vm, 0x40) || lapic_isr(vm, 0x50));
    assert_int_equal(vm->stats.pv_eois, eois);

    /* A guest that ignores the bit and writes the register: the stale bit goes before the
     * next injection, and its EOI is not done twice. */
    self_ipi(vm, 0x60);
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    mmio32(vm, 0xFEE000B0, true, 0);
    do_exit(SVM_EXIT_INTR, 0, 0);
    /* A lower request (0x61) needs 0x70's EOI before it can go in anyway: 0x70 gets the bit,
     * and 0x61 goes in at the exit that finds the bit cleared. */
    self_ipi(vm, 0x70);
    self_ipi(vm, 0x61);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x70);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    assert_int_equal(v->pv_eoi_hold_until, g_fake.now + 200000);
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, 0);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    pv_word_set(vm, 0xABCD0000u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(vm->stats.pv_eois, ++eois);
    assert_int_equal(v->pv_eoi_hold_until, UINT64_MAX);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x61);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    assert_int_equal(v->pv_eoi_hold_until, UINT64_MAX); /* nothing waits behind 0x61 */
    /* A lower vector arriving behind the one in service waits for the bit 200 us at most;
     * then the bit is taken back, so the guest's EOI exits and lets it in. */
    do_exit(SVM_EXIT_INTR, 0, 0);
    self_ipi(vm, 0x51);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, 0);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    assert_int_equal(v->pv_eoi_hold_until, g_fake.now + 200000);
    g_fake.now += 199999;
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    g_fake.now += 1;
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, 0);
    assert_int_equal(pv_word(vm), 0xABCD0000u);
    assert_int_equal(v->pv_eoi_hold_until, UINT64_MAX);
    mmio32(vm, 0xFEE000B0, true, 0);
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x51);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    pv_word_set(vm, 0xABCD0000u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_int_equal(vm->stats.pv_eois, ++eois);
    assert_false(lapic_isr(vm, 0x51));

    /* A virtual interrupt (IF clear at the entry), its vector the only request: the bit is
     * set before it is armed, so it is there when the guest takes it. Taken and cleared by
     * the exit: acked, then its EOI performed. */
    v->regs.rflags = 0x2;
    irqs = vm->stats.irqs_injected;
    self_ipi(vm, 0x80);
    vmm_inject_prepare(v);
    assert_true(c->int_ctl & SVM_INT_V_IRQ);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    c->int_ctl &= ~SVM_INT_V_IRQ; /* taken */
    pv_word_set(vm, 0xABCD0000u); /* and ended through the word, without an exit */
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(lapic_isr(vm, 0x80));
    assert_int_equal(vm->stats.pv_eois, ++eois);
    assert_int_equal(vm->stats.irqs_injected, irqs + 1);
    /* Taken, not ended by the exit: kept, ended at a later one. */
    self_ipi(vm, 0x81);
    vmm_inject_prepare(v);
    c->int_ctl &= ~SVM_INT_V_IRQ;
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_true(lapic_isr(vm, 0x81));
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    pv_word_set(vm, 0xABCD0000u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(lapic_isr(vm, 0x81));
    assert_int_equal(vm->stats.pv_eois, ++eois);
    /* Not taken by the exit (IF stayed clear): the bit goes before the next decision, and is
     * set again for it (a lower request waiting behind it); a higher request takes it over. */
    self_ipi(vm, 0x82);
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    do_exit(SVM_EXIT_INTR, 0, 0); /* V_IRQ still set: not taken */
    assert_false(lapic_isr(vm, 0x82));
    self_ipi(vm, 0x42);
    vmm_inject_prepare(v);
    assert_true(c->int_ctl & SVM_INT_V_IRQ);
    assert_int_equal((c->int_ctl >> SVM_INT_V_VECTOR_SHIFT) & 0xFF, 0x82);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    assert_int_equal(v->pv_eoi_hold_until, g_fake.now + 200000);
    do_exit(SVM_EXIT_INTR, 0, 0);
    self_ipi(vm, 0x84);
    vmm_inject_prepare(v);
    assert_int_equal((c->int_ctl >> SVM_INT_V_VECTOR_SHIFT) & 0xFF, 0x84);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    /* It takes 0x84 and writes the register anyway; 0x82 comes next (the stale bit taken back
     * and set again for it), then 0x42. */
    take_virq_write_eoi(vm);
    assert_false(lapic_isr(vm, 0x84));
    vmm_inject_prepare(v);
    assert_int_equal((c->int_ctl >> SVM_INT_V_VECTOR_SHIFT) & 0xFF, 0x82);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    /* The guest's EOI register write is the exit: the LAPIC is exact, no PV EOI counted. */
    take_virq_write_eoi(vm);
    assert_false(lapic_isr(vm, 0x82));
    assert_int_equal(vm->stats.pv_eois, eois);
    /* 0x42 now: the only request, IF open: EVENTINJ with the bit; this guest writes the
     * register anyway, and the stale bit goes before the next entry. */
    v->regs.rflags = 0x202;
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x42);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    mmio32(vm, 0xFEE000B0, true, 0);
    do_exit(SVM_EXIT_INTR, 0, 0);
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, 0);
    assert_int_equal(pv_word(vm), 0xABCD0000u);
    assert_false(lapic_isr(vm, 0x42));
    assert_int_equal(vm->stats.pv_eois, eois);
    /* A virtual interrupt caught half delivered goes in again through EVENTINJ, after the
     * bit is taken back. */
    v->regs.rflags = 0x2;
    self_ipi(vm, 0x83);
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    c->exit_int_info = SVM_EVT_VALID | SVM_EVT_TYPE_INTR | 0x83;
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_true(lapic_isr(vm, 0x83));
    vmm_inject_prepare(v);
    assert_int_equal(c->event_inj, SVM_EVT_VALID | 0x83);
    assert_int_equal(pv_word(vm), 0xABCD0000u);
    mmio32(vm, 0xFEE000B0, true, 0);
    do_exit(SVM_EXIT_INTR, 0, 0);
    assert_false(lapic_isr(vm, 0x83));

    /* Turning it off with the bit set clears the bit first. */
    v->regs.rflags = 0x202;
    self_ipi(vm, 0x90);
    vmm_inject_prepare(v);
    assert_int_equal(pv_word(vm), 0xABCD0001u);
    do_exit(SVM_EXIT_INTR, 0, 0);
    wrmsr(PV_EOI_MSR, 0);
    assert_int_equal(pv_word(vm), 0xABCD0000u);
    assert_true(lapic_isr(vm, 0x90));
    g_vm = saved;
    free_vm(vm);
}

/* ---- the run loop and the scheduler --------------------------------------------------------- */

static unsigned g_step;

/* The guest: OUT to 0x500, CPUID, then HLT with interrupts on. */
static void script_out_cpuid_hlt(struct vmm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->ctl;

    switch (g_step++) {
    case 0:
        c->exit_code = SVM_EXIT_IOIO;
        c->exit_info1 = (0x500u << 16) | SVM_IO_SZ8;
        c->exit_info2 = v->vmcb->save.rip + 1;
        v->vmcb->save.rax = 'x';
        break;
    case 1:
        c->exit_code = SVM_EXIT_CPUID;
        v->vmcb->save.rax = 0;
        break;
    default:
        v->vmcb->save.rflags = 0x202;
        c->exit_code = SVM_EXIT_HLT;
        break;
    }
}

static void test_run_loop(void **state)
{
    (void)state;
    add_tdev(false);
    add_intc();
    g_step = 0;
    fake_guest = script_out_cpuid_hlt;
    assert_ptr_equal(vmm_sched_next(), vcpu());
    g_fake.guest_enters = 0;
    g_fake.guest_exits = 0;
    g_fake.vmruns_outside = 0;
    vmm_run(vcpu());
    assert_int_equal(g_fake_entries, 3);
    /* Every VMRUN sits between the host's guest_enter and guest_exit (where a host with a
     * guest CPU lets its other CPU in), and the host is back in charge after the last. */
    assert_int_equal(g_fake.guest_enters, 3);
    assert_int_equal(g_fake.guest_exits, 3);
    assert_int_equal(g_fake.vmruns_outside, 0);
    assert_false(g_fake.in_guest);
    assert_int_equal(g_dev.nout, 1);
    assert_int_equal(g_dev.out[0], 'x');
    assert_true(vcpu()->halted);
    assert_int_equal(vcpu()->regs.rip, 0x100000 + 1 + 2 + 1);
    assert_true(g_vm->stats.guest_ns > 0);
    /* Asleep: not runnable until an interrupt is pending. */
    assert_null(vmm_sched_next());
    vmm_irq_set(g_vm, 3, true);
    assert_ptr_equal(vmm_sched_next(), vcpu());
    g_step = 2;
    vmm_run(vcpu());
    assert_int_equal(g_fake_last_eventinj, SVM_EVT_VALID | 0x23); /* injected on entry */
    fake_guest = NULL;
}

/* Busy polling: the host looks at its devices after every exit (not before the first entry:
 * the main loop just did) and the guest is made to exit by the host's deadline; once the host
 * stops, the deadline is the guest's own again. */
static void test_run_busy_poll(void **state)
{
    uint64_t start;

    (void)state;
    add_tdev(false);
    add_intc();
    g_step = 0;
    fake_guest = script_out_cpuid_hlt;
    g_fake.now = 1000;
    g_fake.poll_deadline = 1500;
    vmm_run(vcpu());
    assert_int_equal(g_fake_entries, 3);
    assert_int_equal(g_fake.busy_polls, 2); /* after the OUT and the CPUID (HLT yields) */
    assert_int_equal(g_fake.wakeup, 1500);
    assert_int_equal(g_dev.nout, 1);

    g_step = 0;
    g_fake_entries = 0;
    g_fake.busy_polls = 0;
    g_fake.polls_left = 1; /* the first look ends it */
    vcpu()->halted = false;
    start = g_fake.now;
    vmm_run(vcpu());
    assert_int_equal(g_fake_entries, 3);
    assert_int_equal(g_fake.busy_polls, 1);
    assert_int_equal(g_fake.wakeup, start + VMM_SLICE_NS);
    fake_guest = NULL;
}

static void script_exit_device(struct vmm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->ctl;

    c->exit_code = SVM_EXIT_IOIO;
    c->exit_info1 = (0x500u << 16) | SVM_IO_SZ8;
    c->exit_info2 = v->vmcb->save.rip + 2;
    v->vmcb->save.rax = 7;
}

static void test_exit_from_device_inside_handler(void **state)
{
    (void)state;
    add_tdev(false);
    g_dev.exit_on_write = true;
    fake_guest = script_exit_device;
    vmm_run(vcpu());
    assert_int_equal(g_vm->state, VMM_VM_EXITED);
    assert_int_equal(g_vm->exit_code, 7);
    /* Released after the handler returned, not inside it. */
    assert_true(g_vm->released);
    assert_int_equal(g_fake.pages_live, 0);
    assert_null(vmm_sched_next());
    fake_guest = NULL;
}

static void script_busy(struct vmm_vcpu *v)
{
    v->vmcb->ctl.exit_code = SVM_EXIT_CPUID;
    g_fake.now += VMM_SLICE_NS / 4;
}

static void test_round_robin(void **state)
{
    struct vmm_vm *b = new_vm("b");
    struct vmm_vcpu *first;
    struct vmm_vcpu *second;

    (void)state;
    fake_guest = script_busy;
    first = vmm_sched_next();
    vmm_run(first);
    assert_int_equal(g_fake_entries, 4); /* the slice ends the run */
    second = vmm_sched_next();
    assert_ptr_not_equal(first, second);
    vmm_run(second);
    assert_ptr_equal(vmm_sched_next(), first);
    /* A paused VM is skipped. */
    assert_int_equal(vmm_vm_pause(second->vm), 0);
    assert_ptr_equal(vmm_sched_next(), first);
    assert_ptr_equal(vmm_sched_next(), first);
    assert_int_equal(vmm_vm_resume(second->vm), 0);
    assert_ptr_equal(vmm_sched_next(), second);
    fake_guest = NULL;
    free_vm(b);
}

static void test_lifecycle(void **state)
{
    struct vmm_vm *vm;
    struct vmm_vm_info info;
    struct vmm_vm_config cfg;

    (void)state;
    vm = new_vm("life");
    assert_ptr_equal(vmm_vm_find("life"), vm);
    assert_int_equal(vmm_vm_destroy(vm), -EBUSY); /* running */
    assert_int_equal(vmm_vm_start(vm), -EINVAL);
    assert_int_equal(vmm_vm_resume(vm), -EINVAL);
    assert_int_equal(vmm_vm_pause(vm), 0);
    assert_int_equal(vmm_vm_info(vm, &info), 0);
    assert_int_equal(info.state, VMM_VM_PAUSED);
    assert_int_equal(vmm_vm_stop(vm), 0);
    assert_int_equal(vm->state, VMM_VM_STOPPED);
    assert_true(vm->released);
    assert_int_equal(vmm_vm_info(vm, &info), 0);
    assert_string_equal(info.reason, "stopped by the operator");
    assert_int_equal(vmm_vm_destroy(vm), 0);
    assert_null(vmm_vm_find("life"));
    /* Names: unique, bounded, plain characters. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.mem_bytes = MiB(4);
    cfg.image = g_image;
    cfg.image_len = sizeof(g_image);
    cfg.kind = VMM_IMAGE_FLAT;
    cfg.flat_addr = 0x100000;
    strcpy(cfg.name, "t");
    assert_int_equal(vmm_vm_create(&cfg, &vm), -EEXIST);
    strcpy(cfg.name, "bad name");
    assert_int_equal(vmm_vm_create(&cfg, &vm), -EINVAL);
    strcpy(cfg.name, "ok");
    cfg.mem_bytes = MiB(1);
    assert_int_equal(vmm_vm_create(&cfg, &vm), -EINVAL);
    cfg.mem_bytes = GiB(4);
    assert_int_equal(vmm_vm_create(&cfg, &vm), -EINVAL);
    /* Out of host memory half-way: nothing leaks. */
    cfg.mem_bytes = MiB(4);
    g_fake.no_2m = true;
    g_fake.fail_pages_after = 600;
    assert_int_equal(vmm_vm_create(&cfg, &vm), -ENOMEM);
    g_fake.no_2m = false;
    g_fake.fail_pages_after = 0;
}

static void reset_dev_io(struct vmm_vcpu *v)
{
    (void)v;
}

static int tdev_reset_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    vmm_vm_request_reset(g_vm);
    return VMM_HANDLED;
}

static void script_reset(struct vmm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->ctl;

    if (g_step++ == 0) {
        c->exit_code = SVM_EXIT_IOIO;
        c->exit_info1 = (0x64u << 16) | SVM_IO_SZ8;
        c->exit_info2 = v->vmcb->save.rip + 2;
        return;
    }
    v->vmcb->save.rflags = 0x202;
    c->exit_code = SVM_EXIT_HLT;
}

static void test_reset(void **state)
{
    struct vmm_dev_reg reg;
    uint8_t b = 0x77;

    (void)state;
    (void)reset_dev_io;
    memset(&reg, 0, sizeof(reg));
    reg.name = "kbd";
    reg.io[0] = (struct vmm_dev_io_range){0x64, 1, tdev_reset_io, NULL};
    reg.nio = 1;
    assert_int_equal(vmm_dev_register(g_vm, &reg), 0);
    assert_int_equal(vmm_guest_write(g_vm, 0x500000, &b, 1), 0);
    vcpu()->regs.rip = 0x123456;
    g_step = 0;
    fake_guest = script_reset;
    vmm_run(vcpu());
    assert_int_equal(g_vm->state, VMM_VM_RUNNING);
    /* After the reset the guest ran again from the entry point with clean RAM. */
    assert_int_equal(vcpu()->regs.rip, 0x100000 + 1);
    assert_int_equal(vmm_guest_read(g_vm, 0x500000, &b, 1), 0);
    assert_int_equal(b, 0);
    assert_int_equal(log_count_with("vm t: reset"), 1);
    fake_guest = NULL;
}

/* ---- console input ------------------------------------------------------------------------- */

static uint8_t g_rx[64];
static size_t g_rx_len;

/* A receiver with a two-byte FIFO. */
static size_t small_rx(void *dev, const uint8_t *buf, size_t len)
{
    size_t n = len < 2 ? len : 2;

    (void)dev;
    memcpy(g_rx + g_rx_len, buf, n);
    g_rx_len += n;
    return n;
}

static void test_console_input_queue(void **state)
{
    (void)state;
    g_rx_len = 0;
    assert_int_equal(vmm_vm_console_write(g_vm, (const uint8_t *)"hello", 5), 5);
    vmm_vcpu_poll(vcpu(), 0); /* nobody listens yet: stays queued */
    assert_int_equal(g_rx_len, 0);
    assert_int_equal(vmm_console_register(g_vm, small_rx, NULL), 0);
    assert_int_equal(vmm_console_register(g_vm, small_rx, NULL), -EEXIST);
    vmm_vcpu_poll(vcpu(), 0);
    assert_int_equal(g_rx_len, 2);
    vmm_vcpu_poll(vcpu(), 0);
    vmm_vcpu_poll(vcpu(), 0);
    assert_int_equal(g_rx_len, 5);
    assert_memory_equal(g_rx, "hello", 5);
    /* The queue is bounded. */
    for (int i = 0; i < 100; i++) {
        vmm_vm_console_write(g_vm, (const uint8_t *)"0123456789abcdef", 16);
    }
    assert_int_equal(g_vm->console_in_len, VMM_CONSOLE_IN_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cpuid_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hlt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_in_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_device_error_fails_vm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_outsb_one_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_backwards_a16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_insb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_budget_and_bad_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_io_with_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msr_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msrpm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmmcall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npf_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_and_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hidden_instructions_ud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_emulated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_register_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inject_when_interruptible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_when_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virq_not_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hlt_ends_the_shadow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virq_delivery_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinject_interrupted_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intc_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inject_nmi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_msrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tsc_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pc_vm_without_apic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pc_vm_with_apic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pv_eoi_msr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pv_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_busy_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_from_device_inside_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_input_queue, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
