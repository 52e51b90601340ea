/* The MSR exit and the MSR policy.
 *
 * Passed through (not intercepted): the MSRs that are part of the guest state SVM switches
 * (FS/GS base, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) and TSC reads. Emulated by
 * the core: EFER (SVME kept set underneath, hidden from the guest), PAT (the VMCB's G_PAT),
 * TSC writes (ignored), microcode revision (0). Devices hook more with vmm_hook_msr().
 * Everything else is the explicit default: the guest gets #GP, as on a CPU without that MSR,
 * and the first access to each such MSR is logged. */
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define MSR_TSC            0x00000010u
#define MSR_UCODE_REV      0x0000008Bu
#define MSR_SYSENTER_CS    0x00000174u
#define MSR_SYSENTER_ESP   0x00000175u
#define MSR_SYSENTER_EIP   0x00000176u
#define MSR_PAT            0x00000277u
#define MSR_STAR           0xC0000081u
#define MSR_LSTAR          0xC0000082u
#define MSR_CSTAR          0xC0000083u
#define MSR_SFMASK         0xC0000084u
#define MSR_FS_BASE        0xC0000100u
#define MSR_GS_BASE        0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u

/* EFER bits a guest may set: SCE, LME, LMA (read-only, kept), NXE, FFXSR. */
#define EFER_GUEST_OK (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_FFXSR)

static const uint32_t g_passthrough[] = {
    MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_STAR,    MSR_LSTAR,
    MSR_CSTAR,       MSR_SFMASK,       MSR_FS_BASE,      MSR_GS_BASE, MSR_KERNEL_GS_BASE,
};

/* The three ranges the MSR permission map covers, 2 KiB (8192 MSRs) each. */
static int msrpm_offset(uint32_t msr, size_t *byte, unsigned *bit)
{
    static const uint32_t base[] = {0x00000000u, 0xC0000000u, 0xC0010000u};

    for (size_t i = 0; i < ARRAY_SIZE(base); i++) {
        if (msr >= base[i] && msr - base[i] < 0x2000u) {
            uint32_t n = msr - base[i];

            *byte = i * 0x800 + n / 4;
            *bit = (n % 4) * 2;
            return 0;
        }
    }
    return -ERANGE; /* MSRs outside the map always exit */
}

int vmm_msrpm_set(uint8_t *msrpm, uint32_t msr, bool intercept_read, bool intercept_write)
{
    size_t byte;
    unsigned bit;
    int rc = msrpm_offset(msr, &byte, &bit);

    if (rc != 0) {
        return rc;
    }
    msrpm[byte] &= (uint8_t) ~(3u << bit);
    msrpm[byte] |= (uint8_t)(((intercept_read ? 1u : 0u) | (intercept_write ? 2u : 0u)) << bit);
    return 0;
}

void vmm_msrpm_init(uint8_t *msrpm)
{
    memset(msrpm, 0xFF, SVM_MSRPM_PAGES * PAGE_SIZE);
    for (size_t i = 0; i < ARRAY_SIZE(g_passthrough); i++) {
        (void)vmm_msrpm_set(msrpm, g_passthrough[i], false, false);
    }
    (void)vmm_msrpm_set(msrpm, MSR_TSC, false, true);
}

int vmm_hook_msr(struct vmm_vm *vm, uint32_t msr, vmm_msr_fn rd, vmm_msr_fn wr, void *ctx)
{
    for (size_t i = 0; i < vm->nmsr_hooks; i++) {
        if (vm->msr_hooks[i].msr == msr) {
            return -EEXIST;
        }
    }
    if (vm->nmsr_hooks >= VMM_MAX_MSR_HOOKS) {
        return -ENOSPC;
    }
    vm->msr_hooks[vm->nmsr_hooks++] = (struct vmm_msr_hook){msr, rd, wr, ctx};
    return 0;
}

static int efer_rd(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    *val = vm->vcpu->regs.efer & ~EFER_SVME;
    return 0;
}

static int efer_wr(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    struct vmm_regs *r = &vm->vcpu->regs;

    if (*val & ~EFER_GUEST_OK) {
        return -EPERM;
    }
    /* LMA is the CPU's to set; LME may not change while paging is on. */
    if (((*val ^ r->efer) & EFER_LME) && (r->cr0 & CR0_PG)) {
        return -EPERM;
    }
    r->efer = (*val & ~EFER_LMA) | (r->efer & EFER_LMA) | EFER_SVME;
    return 0;
}

static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(pat >> (i * 8));

        if (t == 2 || t == 3 || t > 7) {
            return false;
        }
    }
    return true;
}

static int pat_rd(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    *val = vm->vcpu->vmcb->save.g_pat;
    return 0;
}

static int pat_wr(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    if (!pat_valid(*val)) {
        return -EPERM;
    }
    vm->vcpu->vmcb->save.g_pat = *val;
    return 0;
}

static int tsc_wr(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "guest write to the TSC ignored");
    return 0;
}

static int zero_rd(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    *val = 0;
    return 0;
}

static int ignore_wr(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    return 0;
}

int vmm_msr_install_defaults(struct vmm_vm *vm)
{
    int rc = vmm_hook_msr(vm, MSR_EFER, efer_rd, efer_wr, NULL);

    if (rc == 0) {
        rc = vmm_hook_msr(vm, MSR_PAT, pat_rd, pat_wr, NULL);
    }
    if (rc == 0) {
        rc = vmm_hook_msr(vm, MSR_TSC, NULL, tsc_wr, NULL);
    }
    if (rc == 0) {
        rc = vmm_hook_msr(vm, MSR_UCODE_REV, zero_rd, ignore_wr, NULL);
    }
    return rc;
}

static void log_unknown(struct vmm_vm *vm, uint32_t msr, bool write, uint64_t val)
{
    vm->stats.msr_unknown++;
    for (size_t i = 0; i < vm->nmsr_logged; i++) {
        if (vm->msr_logged[i] == msr) {
            return;
        }
    }
    if (vm->nmsr_logged < VMM_MSR_LOG_SLOTS) {
        vm->msr_logged[vm->nmsr_logged++] = msr;
    } else if (vm->nmsr_logged == VMM_MSR_LOG_SLOTS) {
        vm->nmsr_logged++;
        LOG_VM(VMM, LOG_LVL_WARN, vm->name, "more unknown MSRs: no longer logged");
        return;
    } else {
        return;
    }
    if (write) {
        LOG_VM(VMM, LOG_LVL_WARN, vm->name, "wrmsr %#x (value %#llx): unknown MSR, #GP injected",
               msr, (unsigned long long)val);
    } else {
        LOG_VM(VMM, LOG_LVL_WARN, vm->name, "rdmsr %#x: unknown MSR, #GP injected", msr);
    }
}

enum vmm_action vmm_exit_msr(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    struct vmm_regs *r = &vcpu->regs;
    bool write = vcpu->vmcb->ctl.exit_info1 == 1;
    uint32_t msr = (uint32_t)r->gpr[VMM_RCX];
    uint64_t val = (r->gpr[VMM_RDX] << 32) | (r->gpr[VMM_RAX] & 0xFFFFFFFFull);
    const struct vmm_msr_hook *hook = NULL;
    vmm_msr_fn fn;
    int rc;

    for (size_t i = 0; i < vm->nmsr_hooks; i++) {
        if (vm->msr_hooks[i].msr == msr) {
            hook = &vm->msr_hooks[i];
            break;
        }
    }
    fn = hook == NULL ? NULL : (write ? hook->wr : hook->rd);
    if (fn == NULL) {
        log_unknown(vm, msr, write, val);
        vmm_inject_exception(vcpu, 13, true, 0);
        return VMM_ACT_CONTINUE;
    }
    rc = fn(hook->ctx, vm, msr, &val);
    if (rc == -EPERM) {
        LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "%s %#x refused: #GP", write ? "wrmsr" : "rdmsr", msr);
        vmm_inject_exception(vcpu, 13, true, 0);
        return VMM_ACT_CONTINUE;
    }
    if (rc < 0) {
        vmm_vm_fail(vm, "%s %#x failed (%d)", write ? "wrmsr" : "rdmsr", msr, rc);
        return VMM_ACT_YIELD;
    }
    if (!write) {
        r->gpr[VMM_RAX] = val & 0xFFFFFFFFull;
        r->gpr[VMM_RDX] = val >> 32;
    }
    r->rip += 2; /* RDMSR and WRMSR are 0F 32 and 0F 30 */
    return VMM_ACT_CONTINUE;
}
