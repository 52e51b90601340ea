/* The SVM hardware edge (arch.h: vmm_svm_arch), for the kernel build only: detection, EFER.SVME, the host
 * save area, the world switch around VMRUN with the GIF discipline, host CPUID, and the
 * guests' x87/SSE state, which VMRUN does not switch (swapped lazily between vCPUs).
 *
 * Interrupts around VMRUN: CLGI, then STI. With GIF clear nothing is taken on the host;
 * VMRUN sets GIF, and with V_INTR_MASKING the host's IF (now 1) decides whether a physical
 * interrupt is recognised in the guest, so it always causes an INTR exit. #VMEXIT clears GIF
 * again; after the host state is back (VMLOAD in the switch), STGI lets the pending interrupt
 * in, on the host's IDT. */
#include "arch.h"
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR0_EM         (1ull << 2)
#define CR0_TS         (1ull << 3)
#define CR0_MP         (1ull << 1)

void svm_world_switch(uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa, uint64_t *gpr);

/* The CPU that runs guests: one at a time (init on the boot CPU, cpu_init on the guest CPU
 * when the host has one), so one host save area and one FPU owner. */
static uint64_t g_hsave_pa;
static uint64_t g_host_vmcb_pa;
static struct vmm_vcpu *g_fpu_owner; /* whose x87/SSE state is in the registers */

static inline void cpuid_raw(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr64(uint32_t msr)
{
    uint32_t lo;
    uint32_t hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr64(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t svm_rdtsc(void)
{
    uint32_t lo;
    uint32_t hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void svm_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    cpuid_raw(leaf, subleaf, out);
}

/* FXSAVE/FXRSTOR need CR4.OSFXSR to include the SSE registers, and CR0.EM/TS clear. The
 * kernel itself never uses the FPU (-mgeneral-regs-only). */
static void fpu_enable(void)
{
    uint64_t cr0;
    uint64_t cr4;

    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    __asm__ volatile("fninit");
}

/* SVM on for this CPU: EFER.SVME, a host save area and the host-state page of its own (the
 * previous CPU's stay allocated: a few KiB, once), the FPU usable for guests' state. */
static int svm_cpu_init(void)
{
    const struct vmm_host *h = vmm_host();
    uint64_t hsave;
    uint64_t host_vmcb;

    if (rdmsr64(MSR_VM_CR) & VM_CR_SVMDIS) {
        LOG_WARN(SVM, "SVM is disabled on this CPU (VM_CR.SVMDIS)");
        return -ENODEV;
    }
    if (h->page_alloc(1, &hsave) != 0 || h->page_alloc(1, &host_vmcb) != 0) {
        LOG_ERROR(SVM, "no memory for the host save area");
        return -ENOMEM;
    }
    memset(h->phys_to_virt(hsave), 0, PAGE_SIZE);
    memset(h->phys_to_virt(host_vmcb), 0, PAGE_SIZE);
    wrmsr64(MSR_EFER, rdmsr64(MSR_EFER) | EFER_SVME);
    wrmsr64(MSR_VM_HSAVE_PA, hsave);
    g_hsave_pa = hsave;
    g_host_vmcb_pa = host_vmcb;
    g_fpu_owner = NULL; /* this CPU's registers hold no vCPU's state */
    fpu_enable();
    return 0;
}

static int svm_init(struct vmm_arch_info *info)
{
    uint32_t r[4];

    cpuid_raw(0x80000000u, 0, r);
    if (r[0] < 0x8000000Au) {
        LOG_WARN(SVM, "no SVM: CPUID has no leaf 0x8000000a (boot QEMU with -cpu qemu64,+svm,+npt "
                      "or -cpu max)");
        return -ENODEV;
    }
    cpuid_raw(0x80000001u, 0, r);
    if (!(r[2] & (1u << 2))) {
        LOG_WARN(SVM, "no SVM: CPUID 8000_0001 ECX.SVM is clear (boot QEMU with "
                      "-cpu qemu64,+svm,+npt or -cpu max)");
        return -ENODEV;
    }
    if (rdmsr64(MSR_VM_CR) & VM_CR_SVMDIS) {
        LOG_WARN(SVM, "SVM is disabled by the firmware (VM_CR.SVMDIS): enable it in the BIOS");
        return -ENODEV;
    }
    cpuid_raw(0x8000000Au, 0, r);
    info->svm_rev = r[0] & 0xFF;
    info->nasids = r[1];
    info->npt = (r[3] & (1u << 0)) != 0;
    info->nrips = (r[3] & (1u << 3)) != 0;
    info->decode_assists = (r[3] & (1u << 7)) != 0;
    info->vgif = (r[3] & (1u << 16)) != 0;
    if (!info->npt) {
        LOG_WARN(SVM, "SVM without nested paging: Petrel needs NPT (QEMU: -cpu ...,+npt)");
        return -ENODEV;
    }
    if (info->nasids < 2) {
        LOG_WARN(SVM, "SVM offers %u ASIDs: at least 2 needed", info->nasids);
        return -ENODEV;
    }
    return svm_cpu_init();
}

static void fpu_switch_to(struct vmm_vcpu *vcpu)
{
    if (g_fpu_owner == vcpu) {
        return;
    }
    if (g_fpu_owner != NULL) {
        __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])g_fpu_owner->fpu));
    }
    __asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])vcpu->fpu));
    g_fpu_owner = vcpu;
}

static void svm_vcpu_gone(struct vmm_vcpu *vcpu)
{
    if (g_fpu_owner == vcpu) {
        g_fpu_owner = NULL; /* its state dies with it; the next vCPU loads its own */
    }
}

static void svm_enter(struct vmm_vcpu *vcpu)
{
    fpu_switch_to(vcpu);
    __asm__ volatile("clgi\n\tsti" ::: "memory");
    svm_world_switch(vcpu->vmcb_pa, g_host_vmcb_pa, vcpu->regs.gpr);
    __asm__ volatile("stgi" ::: "memory");
}

const struct vmm_arch_ops vmm_svm_arch = {
    .init = svm_init,
    .cpu_init = svm_cpu_init,
    .enter = svm_enter,
    .cpuid = svm_cpuid,
    .vcpu_gone = svm_vcpu_gone,
    .rdtsc = svm_rdtsc,
};
