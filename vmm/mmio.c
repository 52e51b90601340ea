/* MMIO: a nested page fault in a registered MMIO range. The faulting instruction is fetched
 * through the guest's page tables and carried out by the emulator (emulate.h), whose device
 * accesses come back here and go to the device that registered the range. */
#include "emulate.h"
#include "linear.h"
#include "vm.h"
#include "../kernel/lib.h"

struct mmio_ctx {
    struct vmm_vcpu *vcpu;
    bool faulted;
    struct vmm_lin_fault fault;
};

static int cb_mmio_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct mmio_ctx *m = ctx;

    return vmm_mmio_access(m->vcpu->vm, gpa, size, false, val);
}

static int cb_mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
    struct mmio_ctx *m = ctx;

    return vmm_mmio_access(m->vcpu->vm, gpa, size, true, &val);
}

static int note_fault(struct mmio_ctx *m, int rc, const struct vmm_lin_fault *f)
{
    if (rc == -EFAULT) {
        m->faulted = true;
        m->fault = *f;
    }
    return rc;
}

static int cb_mem_read(void *ctx, uint64_t linear, void *buf, size_t len)
{
    struct mmio_ctx *m = ctx;
    struct vmm_lin_fault f;

    return note_fault(m, vmm_lin_read(m->vcpu, linear, buf, len, &f), &f);
}

static int cb_mem_write(void *ctx, uint64_t linear, const void *buf, size_t len)
{
    struct mmio_ctx *m = ctx;
    struct vmm_lin_fault f;

    return note_fault(m, vmm_lin_write(m->vcpu, linear, buf, len, &f), &f);
}

static int cb_translate(void *ctx, uint64_t linear, bool write, uint64_t *gpa)
{
    struct mmio_ctx *m = ctx;
    struct vmm_lin_fault f;

    return note_fault(m, vmm_lin_to_gpa(m->vcpu, linear, write, gpa, &f), &f);
}

static bool cb_is_mmio(void *ctx, uint64_t gpa)
{
    struct mmio_ctx *m = ctx;

    return !gmem_is_ram(&m->vcpu->vm->mem, gpa) && vmm_mmio_claimed(m->vcpu->vm, gpa);
}

static const struct vmm_emu_ops g_mmio_ops = {
    .mmio_read = cb_mmio_read,
    .mmio_write = cb_mmio_write,
    .mem_read = cb_mem_read,
    .mem_write = cb_mem_write,
    .translate = cb_translate,
    .is_mmio = cb_is_mmio,
};

enum vmm_action vmm_exit_mmio(struct vmm_vcpu *vcpu, uint64_t gpa)
{
    struct vmm_regs *r = &vcpu->regs;
    struct mmio_ctx ctx = {.vcpu = vcpu};
    struct vmm_emu emu;
    struct vmm_walk_env env;
    struct vmm_lin_fault fetch_fault = {0, 0};
    enum vmm_cpu_mode mode = vmm_cpu_mode_of(r);
    size_t got = 0;
    int fetch_rc;
    int rc;
    char text[96];

    memset(&emu, 0, sizeof(emu));
    vmm_lin_env(vcpu, &env);
    fetch_rc =
        vmm_fetch_insn(&env, vmm_linear_addr(r, VMM_CS, r->rip, mode), vmm_lin_access(vcpu, false),
                       emu.insn, VMM_EMU_INSN_MAX, &got, &fetch_fault.code, &fetch_fault.addr);
    if (got == 0) {
        if (fetch_rc == -EFAULT) {
            vmm_lin_inject_pf(vcpu, &fetch_fault);
            return VMM_ACT_CONTINUE;
        }
        vmm_vm_fail(vcpu->vm, "MMIO at %#llx: cannot fetch the instruction at RIP %#llx (%d)",
                    (unsigned long long)gpa, (unsigned long long)r->rip, fetch_rc);
        return VMM_ACT_YIELD;
    }
    emu.insn_len = got;
    emu.mode = mode;
    emu.regs = r;
    emu.gpa = gpa;
    emu.ops = &g_mmio_ops;
    emu.ctx = &ctx;
    rc = vmm_emulate_mmio(&emu);
    if (rc == 0) {
        return VMM_ACT_CONTINUE;
    }
    if (vcpu->vm->state != VMM_VM_RUNNING) {
        return VMM_ACT_YIELD; /* a device failed or ended the VM */
    }
    if (rc == -ENODATA && fetch_rc == -EFAULT) {
        vmm_lin_inject_pf(vcpu, &fetch_fault);
        return VMM_ACT_CONTINUE;
    }
    if (rc == -EFAULT && ctx.faulted) {
        vmm_lin_inject_pf(vcpu, &ctx.fault);
        return VMM_ACT_CONTINUE;
    }
    vmm_emulate_describe(&emu, text, sizeof(text));
    vmm_vm_fail(vcpu->vm, "MMIO at %#llx, RIP %#llx: cannot emulate %s (%d)",
                (unsigned long long)gpa, (unsigned long long)r->rip, text, rc);
    return VMM_ACT_YIELD;
}
