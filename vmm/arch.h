/* The machine-specific edge of the VMM: the few operations that execute SVM and CPU
 * instructions, as a table the host hands to vmm_init(). vmm/svm_hw.c provides vmm_svm_arch
 * for the real CPU (kernel build only); hosted unit tests provide a scripted fake CPU, so
 * everything else in vmm/ runs under test unchanged. */
#ifndef PETREL_VMM_ARCH_H
#define PETREL_VMM_ARCH_H

#include "../kernel/types.h"

struct vmm_vcpu;

struct vmm_arch_info {
    uint32_t nasids; /* ASIDs the CPU offers (ASID 0 is the host's) */
    bool npt;
    bool nrips;
    bool decode_assists;
    bool vgif;
    unsigned svm_rev;
};

struct vmm_arch_ops {
    /* Detects SVM and nested paging, enables EFER.SVME and sets up the host save area.
     * -ENODEV with a logged reason when the CPU cannot run guests. */
    int (*init)(struct vmm_arch_info *info);
    /* Enables SVM on the calling CPU (EFER.SVME, a host save area of its own, the FPU) after
     * init ran on the boot CPU: the CPU that runs guests from then on calls it. Optional. */
    int (*cpu_init)(void);
    /* Enters the guest once (VMRUN) and returns after the #VMEXIT; the VMCB holds the exit
     * and vcpu->regs.gpr[] the guest GPRs (except RAX and RSP, which live in the VMCB). Host
     * interrupts that arrived meanwhile are taken before it returns. */
    void (*enter)(struct vmm_vcpu *vcpu);
    /* The host CPU's CPUID leaf: out[0..3] = EAX, EBX, ECX, EDX. */
    void (*cpuid)(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
    /* A vCPU is going away: forget it (lazy FPU state). */
    void (*vcpu_gone)(struct vmm_vcpu *vcpu);
    /* The host's TSC (RDTSC). Optional: without it guest TSC writes are ignored and the
     * TSC-deadline timer is not offered. */
    uint64_t (*rdtsc)(void);
};

/* The real thing (vmm/svm_hw.c). */
extern const struct vmm_arch_ops vmm_svm_arch;

/* The table vmm_init() was given. */
const struct vmm_arch_ops *vmm_arch(void);

#endif
