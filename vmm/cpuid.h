/* The guest's view of CPUID: the host's values filtered by a per-VM policy. Features the VMM
 * does not virtualize are hidden (SVM, VMX, x2APIC, MONITOR/MWAIT, PMU, TSC deadline, XSAVE
 * and what needs it, MTRR, machine check, thermal and power control), the hypervisor bit is
 * set, and leaf 0x40000000 carries the signature "PetrelPetrel". One logical CPU. */
#ifndef PETREL_VMM_CPUID_H
#define PETREL_VMM_CPUID_H

#include "../kernel/types.h"

#define VMM_CPUID_SIGNATURE "PetrelPetrel"
#define VMM_CPUID_HV_BASE   0x40000000u
#define VMM_CPUID_HV_MAX    0x40000001u
#define VMM_CPUID_BASIC_MAX 0x0Du
#define VMM_CPUID_EXT_MAX   0x80000008u

struct vmm_cpuid_policy {
    bool apic; /* a local APIC model exists: leave CPUID.1:EDX.APIC set */
};

void vmm_cpuid_policy_default(struct vmm_cpuid_policy *p);
/* r[] holds the host's EAX, EBX, ECX, EDX for (leaf, subleaf) and receives the guest's. */
void vmm_cpuid_filter(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
                      uint32_t r[4]);

#endif
