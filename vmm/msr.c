/* The MSR exit and the MSR policy.
 *
 * Passed through (not intercepted): the MSRs that are part of the guest state SVM switches
 * (FS/GS base, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) and TSC reads. Emulated by
 * the core: EFER (SVME kept set underneath, hidden from the guest), PAT (the VMCB's G_PAT),
 * the TSC (guest TSC = host TSC + the VMCB's TSC_OFFSET: a write sets the offset, so the
 * guest's TSC stays one steady clock), microcode revision (0), and the CPU MSRs an AMD guest
 * kernel reads (cpu_msr() below: MTRRs when the CPUID policy shows them, HWCR, SYSCFG, VM_CR,
 * DE_CFG, LS_CFG, the C1E message register) and KVM's PV EOI enable MSR where the CPUID
 * policy offers it (bit 0 enable, bit 1 reserved, bits 63:2 the GPA of a 4-byte word that
 * must be guest RAM; anything else #GP). Devices hook more with vmm_hook_msr() (the LAPIC:
 * APIC base and TSC deadline). Everything else is the explicit default: the guest gets #GP,
 * as on a CPU without that MSR, and the first access to each such MSR is logged. */
#include "arch.h"
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define MSR_TSC            0x00000010u
#define MSR_UCODE_REV      0x0000008Bu
#define MSR_MTRR_CAP       0x000000FEu
#define MSR_SYSENTER_CS    0x00000174u
#define MSR_SYSENTER_ESP   0x00000175u
#define MSR_SYSENTER_EIP   0x00000176u
#define MSR_MTRR_VAR_BASE  0x00000200u /* PhysBase0, PhysMask0, PhysBase1, ... */
#define MSR_MTRR_FIX_64K   0x00000250u
#define MSR_MTRR_FIX_16K_8 0x00000258u
#define MSR_MTRR_FIX_16K_A 0x00000259u
#define MSR_MTRR_FIX_4K    0x00000268u /* 0x268-0x26F: C0000 to F8000 */
#define MSR_PAT            0x00000277u
#define MSR_MTRR_DEF_TYPE  0x000002FFu
#define MSR_STAR           0xC0000081u
#define MSR_LSTAR          0xC0000082u
#define MSR_CSTAR          0xC0000083u
#define MSR_SFMASK         0xC0000084u
#define MSR_FS_BASE        0xC0000100u
#define MSR_GS_BASE        0xC0000101u
#define MSR_KERNEL_GS_BASE 0xC0000102u
#define MSR_AMD_SYSCFG     0xC0010010u
#define MSR_AMD_HWCR       0xC0010015u
#define MSR_AMD_INT_PEND   0xC0010055u /* K8 interrupt pending message (C1E state) */
#define MSR_AMD_VM_CR      0xC0010114u
#define MSR_AMD_LS_CFG     0xC0011020u
#define MSR_AMD_DE_CFG     0xC0011029u
#define MSR_KVM_PV_EOI_EN  0x4B564D04u /* KVM's paravirtual EOI (inject.c) */

/* MTRRcap: 8 variable ranges, fixed ranges, write combining; no SMRR. */
#define MTRR_CAP_VALUE (8u | (1u << 8) | (1u << 10))
/* MTRRdefType: E, FE, and bits 7:0 the default type. */
#define MTRR_DEF_E    (1u << 11)
#define MTRR_DEF_FE   (1u << 10)
#define MTRR_TYPE_UC  0u
#define MTRR_TYPE_WB  6u
#define MTRR_BYTES(t) (0x0101010101010101ull * (t))
/* HWCR.TscFreqSel: the TSC counts at the P0 frequency (Linux warns otherwise). */
#define HWCR_TSC_FREQ_SEL (1u << 24)
/* DE_CFG bit 1: LFENCE is dispatch serializing (Linux sets it and reads it back). */
#define DE_CFG_LFENCE_SERIALIZE (1u << 1)
/* VM_CR: LOCK and SVMDIS, so a guest sees SVM disabled by the firmware for good. */
#define VM_CR_GUEST_VALUE ((1u << 3) | (1u << 4))

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

uint64_t vmm_guest_tsc(struct vmm_vm *vm)
{
    const struct vmm_arch_ops *a = vmm_arch();
    uint64_t offset = vm->vcpu != NULL ? vm->vcpu->vmcb->ctl.tsc_offset : 0;

    if (a == NULL || a->rdtsc == NULL) {
        /* No TSC to read: the host clock in TSC ticks stands in (tsc_hz below 2^34). */
        uint64_t ns = vmm_host()->now_ns();
        uint64_t hz = vmm_host()->tsc_hz;

        return (ns / 1000000000ull) * hz + (ns % 1000000000ull) * hz / 1000000000ull + offset;
    }
    return a->rdtsc() + offset;
}

/* A TSC write moves the guest's TSC, not the host's: the offset absorbs the difference. */
static int tsc_wr(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val)
{
    const struct vmm_arch_ops *a = vmm_arch();

    if (a == NULL || a->rdtsc == NULL) {
        LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "guest write to the TSC ignored");
        return 0;
    }
    vm->vcpu->vmcb->ctl.tsc_offset = *val - a->rdtsc();
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "guest TSC set to %#llx", (unsigned long long)*val);
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

/* ---- CPU MSRs kept by the core ------------------------------------------------------------ */

static bool mem_type_ok(unsigned t)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; /* UC WC WT WP WB */
}

static bool mtrr_bytes_ok(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        if (!mem_type_ok((unsigned)(v >> (i * 8)) & 0xFF)) {
            return false;
        }
    }
    return true;
}

/* The fixed-range MTRR at index i of vmm_cpu_msrs.mtrr_fixed, or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX_64K) {
        return 0;
    }
    if (msr == MSR_MTRR_FIX_16K_8 || msr == MSR_MTRR_FIX_16K_A) {
        return 1 + (int)(msr - MSR_MTRR_FIX_16K_8);
    }
    if (msr >= MSR_MTRR_FIX_4K && msr < MSR_MTRR_FIX_4K + 8) {
        return 3 + (int)(msr - MSR_MTRR_FIX_4K);
    }
    return -1;
}

/* What a BIOS leaves: MTRRs on, write-back by default and below 1 MiB, the VGA window
 * 0xA0000-0xBFFFF uncached, no variable range in use. */
static void cpu_msrs_init(struct vmm_cpu_msrs *m)
{
    memset(m, 0, sizeof(*m));
    m->mtrr_def_type = MTRR_DEF_E | MTRR_DEF_FE | MTRR_TYPE_WB;
    for (int i = 0; i < VMM_MTRR_FIXED; i++) {
        m->mtrr_fixed[i] = MTRR_BYTES(MTRR_TYPE_WB);
    }
    m->mtrr_fixed[2] = MTRR_BYTES(MTRR_TYPE_UC); /* 16K_A0000 */
    m->hwcr = HWCR_TSC_FREQ_SEL;
    m->de_cfg = DE_CFG_LFENCE_SERIALIZE;
}

/* The MTRRs (only when CPUID shows them): 0 with *val read or taken, -EPERM for a bad value
 * (#GP, as the CPU does), -ENOENT for an MSR that is not one. */
static int mtrr_msr(struct vmm_vm *vm, uint32_t msr, bool write, uint64_t *val)
{
    struct vmm_cpu_msrs *m = &vm->msrs;
    int fixed = mtrr_fixed_index(msr);

    if (!vm->cpuid.mtrr) {
        return -ENOENT;
    }
    if (msr == MSR_MTRR_CAP) {
        if (write) {
            return -EPERM;
        }
        *val = MTRR_CAP_VALUE;
        return 0;
    }
    if (msr == MSR_MTRR_DEF_TYPE) {
        if (write) {
            if ((*val & ~(uint64_t)(MTRR_DEF_E | MTRR_DEF_FE | 0xFFu)) ||
                !mem_type_ok((unsigned)*val & 0xFF)) {
                return -EPERM;
            }
            m->mtrr_def_type = *val;
        } else {
            *val = m->mtrr_def_type;
        }
        return 0;
    }
    if (fixed >= 0) {
        if (write) {
            if (!mtrr_bytes_ok(*val)) {
                return -EPERM;
            }
            m->mtrr_fixed[fixed] = *val;
        } else {
            *val = m->mtrr_fixed[fixed];
        }
        return 0;
    }
    if (msr >= MSR_MTRR_VAR_BASE && msr < MSR_MTRR_VAR_BASE + 2 * VMM_MTRR_VAR) {
        unsigned i = msr - MSR_MTRR_VAR_BASE;

        if (write) {
            /* Bases carry a type in bits 7:0, masks the valid bit (11); bits 8-10 are
             * reserved in both, and bits 0-7 and 11 in a mask and a base respectively.
             * Address bits are kept as written. */
            uint64_t reserved = (i & 1) ? 0x7FFull : 0xF00ull;

            if ((*val & reserved) || (!(i & 1) && !mem_type_ok((unsigned)*val & 0xFF))) {
                return -EPERM;
            }
            m->mtrr_var[i] = *val;
        } else {
            *val = m->mtrr_var[i];
        }
        return 0;
    }
    return -ENOENT;
}

/* MSR_KVM_PV_EOI_EN, only where CPUID offers it. Same results as mtrr_msr. */
static int pv_eoi_msr(struct vmm_vm *vm, bool write, uint64_t *val)
{
    uint64_t gpa = *val & ~3ull;

    if (!vmm_cpuid_pv_eoi(&vm->cpuid)) {
        return -ENOENT;
    }
    if (!write) {
        *val = vm->vcpu->pv_eoi_msr;
        return 0;
    }
    if ((*val & 2u) || ((*val & 1u) && !gmem_range_ok(&vm->mem, gpa, 4))) {
        if (!vm->vcpu->pv_eoi_bad_logged) {
            vm->vcpu->pv_eoi_bad_logged = true;
            LOG_VM(VMM, LOG_LVL_WARN, vm->name, "PV EOI MSR %#llx: %s, #GP (logged once)",
                   (unsigned long long)*val,
                   (*val & 2u) ? "reserved bit 1 set" : "the word is not guest RAM");
        }
        return -EPERM;
    }
    vmm_inject_pv_eoi_msr(vm->vcpu, *val);
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "PV EOI %s (word at %#llx)",
           (*val & 1u) ? "enabled" : "disabled", (unsigned long long)gpa);
    return 0;
}

/* The CPU MSRs an AMD guest kernel reads and sets, kept per VM (their values mean nothing to
 * the real CPU). Same results as mtrr_msr. */
static int cpu_msr(struct vmm_vm *vm, uint32_t msr, bool write, uint64_t *val)
{
    struct vmm_cpu_msrs *m = &vm->msrs;
    uint64_t *keep = NULL;

    switch (msr) {
    case MSR_AMD_HWCR:
        keep = &m->hwcr;
        break;
    case MSR_AMD_SYSCFG:
        keep = &m->syscfg;
        break;
    case MSR_AMD_DE_CFG:
        keep = &m->de_cfg;
        break;
    case MSR_AMD_LS_CFG:
        keep = &m->ls_cfg;
        break;
    case MSR_AMD_VM_CR:
        if (write) {
            return -EPERM; /* locked */
        }
        *val = VM_CR_GUEST_VALUE;
        return 0;
    case MSR_AMD_INT_PEND:
        if (!write) {
            *val = 0; /* no C1E: Linux's AMD E400 check reads it without a fixup */
        }
        return 0;
    case MSR_KVM_PV_EOI_EN:
        return pv_eoi_msr(vm, write, val);
    default:
        return mtrr_msr(vm, msr, write, val);
    }
    if (write) {
        *keep = *val;
    } else {
        *val = *keep;
    }
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
    cpu_msrs_init(&vm->msrs);
    /* The paravirtual EOI (this MSR and the CPUID leaves announcing it) unless turned off;
     * it needs the LAPIC too, which the machine adds later (vmm_cpuid_pv_eoi). */
    vm->cpuid.paravirt = !vm->cfg.no_paravirt;
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
    bool unknown = false;
    vmm_msr_fn fn;
    int rc;

    for (size_t i = 0; i < vm->nmsr_hooks; i++) {
        if (vm->msr_hooks[i].msr == msr) {
            hook = &vm->msr_hooks[i];
            break;
        }
    }
    fn = hook == NULL ? NULL : (write ? hook->wr : hook->rd);
    if (fn != NULL) {
        rc = fn(hook->ctx, vm, msr, &val);
    } else {
        /* A hooked MSR without this direction is unknown that way. */
        rc = hook == NULL ? cpu_msr(vm, msr, write, &val) : -ENOENT;
        unknown = rc == -ENOENT;
    }
    if (unknown) {
        log_unknown(vm, msr, write, val);
        vmm_inject_exception(vcpu, 13, true, 0);
        return VMM_ACT_CONTINUE;
    }
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
