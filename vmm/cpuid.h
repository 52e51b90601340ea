/* The guest's view of CPUID: the host's values filtered by a per-VM policy. Features the VMM
 * does not virtualize are hidden (SVM, VMX, x2APIC, MONITOR/MWAIT, PMU, XSAVE and what needs
 * it, machine check, thermal and power control), the hypervisor bit is set, and leaf
 * 0x40000000 carries the signature "PetrelPetrel" (no features in 0x40000001), except in a VM
 * that offers the paravirtual EOI: there the leaves are KVM's (signature "KVMKVMKVM\0\0\0",
 * 0x40000001 EAX with only the PV EOI feature, bit 6), the one interface Linux looks for.
 * One logical CPU with APIC ID 0. The TSC is invariant (the guest's is the host's plus an
 * offset, and Petrel's own clock already relies on a constant-rate TSC). The local APIC (with the always-running APIC timer, ARAT), its
 * TSC-deadline mode and the MTRRs show only when the VM has the model behind them. */
#ifndef PETREL_VMM_CPUID_H
#define PETREL_VMM_CPUID_H

#include "../kernel/types.h"

#define VMM_CPUID_SIGNATURE    "PetrelPetrel"
#define VMM_CPUID_KVM_SIG      "KVMKVMKVM\0\0\0"
#define VMM_KVM_FEATURE_PV_EOI (1u << 6)
#define VMM_CPUID_HV_BASE      0x40000000u
#define VMM_CPUID_HV_MAX       0x40000001u
#define VMM_CPUID_BASIC_MAX    0x0Du
#define VMM_CPUID_EXT_MAX      0x80000008u

struct vmm_cpuid_policy {
    bool apic;         /* a local APIC model exists: CPUID.1:EDX.APIC (and 6:EAX.ARAT) */
    bool tsc_deadline; /* it has the TSC-deadline timer mode: CPUID.1:ECX[24] */
    bool mtrr;         /* the MTRR MSRs are emulated (msr.c): CPUID.1:EDX.MTRR */
    bool paravirt;     /* not turned off in the config; with apic: KVM's leaves, PV EOI only */
};

void vmm_cpuid_policy_default(struct vmm_cpuid_policy *p);
/* The paravirtual EOI is offered (its CPUID feature and MSR): a LAPIC and paravirt on. */
bool vmm_cpuid_pv_eoi(const struct vmm_cpuid_policy *p);
/* r[] holds the host's EAX, EBX, ECX, EDX for (leaf, subleaf) and receives the guest's. */
void vmm_cpuid_filter(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
                      uint32_t r[4]);

#endif
