/* CPUID policy (cpuid.h): which host leaves and bits a guest sees. Whitelists, so a feature
 * a newer host adds stays hidden until someone decides it is safe to show. */
#include "cpuid.h"
#include "../kernel/lib.h"

enum { A, B, C, D };

/* Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, FMA? no (needs AVX), CX16, SSE4.1, SSE4.2, MOVBE,
 * POPCNT, AES, RDRAND; bit 31 (hypervisor) is added separately. */
#define L1_ECX_OK                                                                                  \
    ((1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 22) |       \
     (1u << 23) | (1u << 25) | (1u << 30))
#define L1_ECX_HYPERVISOR   (1u << 31)
#define L1_ECX_TSC_DEADLINE (1u << 24)
/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE CX8 SEP PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2;
 * APIC (bit 9) with a LAPIC model and MTRR (bit 12) with the MTRR MSRs, both added by the
 * policy whatever the host has. */
#define L1_EDX_OK                                                                                  \
    ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |           \
     (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19) |     \
     (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define L1_EDX_APIC (1u << 9)
#define L1_EDX_MTRR (1u << 12)
/* Leaf 6 EAX: ARAT, the APIC timer keeps running in every C-state (ours is computed from the
 * host clock), so Linux needs no broadcast timer. */
#define L6_EAX_ARAT (1u << 2)
/* Leaf 7.0 EBX: FSGSBASE BMI1 SMEP BMI2 ERMS RDSEED ADX SMAP CLFLUSHOPT SHA. */
#define L7_EBX_OK                                                                                  \
    ((1u << 0) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 18) | (1u << 19) |         \
     (1u << 20) | (1u << 23) | (1u << 29))
/* Leaf 7.0 ECX: UMIP. */
#define L7_ECX_OK (1u << 2)
/* 8000_0001 ECX: LAHF/SAHF, AltMovCr8, ABM, SSE4A, MisAlignSse, 3DNowPrefetch. */
#define E1_ECX_OK ((1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8))
/* 8000_0001 EDX: the leaf-1 bits AMD mirrors, plus SYSCALL, NX, MMXExt, FFXSR, 1 GiB pages,
 * LM, 3DNowExt, 3DNow. Not RDTSCP: TSC_AUX is not part of the guest state SVM switches. */
#define E1_EDX_OK                                                                                  \
    ((L1_EDX_OK & 0x0183F3FFu) | (1u << 11) | (1u << 20) | (1u << 22) | (1u << 25) | (1u << 26) |  \
     (1u << 29) | (1u << 30) | (1u << 31))
/* 8000_0007 EDX: invariant TSC, always (the TSC is the host's plus a fixed offset). */
#define E7_EDX_INVARIANT_TSC (1u << 8)

void vmm_cpuid_policy_default(struct vmm_cpuid_policy *p)
{
    memset(p, 0, sizeof(*p));
}

static void zero(uint32_t r[4])
{
    r[A] = 0;
    r[B] = 0;
    r[C] = 0;
    r[D] = 0;
}

static void basic_leaf(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
                       uint32_t r[4])
{
    switch (leaf) {
    case 0:
        r[A] = MIN(r[A], VMM_CPUID_BASIC_MAX);
        break;
    case 1:
        /* EBX: keep the CLFLUSH line size, one logical CPU, initial APIC ID 0. */
        r[B] = (r[B] & 0x0000FF00u) | (1u << 16);
        r[C] = (r[C] & L1_ECX_OK) | L1_ECX_HYPERVISOR |
               (p->apic && p->tsc_deadline ? L1_ECX_TSC_DEADLINE : 0);
        /* The APIC and the MTRRs are ours, whatever the host has. */
        r[D] &= L1_EDX_OK;
        r[D] |= (p->apic ? L1_EDX_APIC : 0) | (p->mtrr ? L1_EDX_MTRR : 0);
        break;
    case 6:
        zero(r);
        r[A] = p->apic ? L6_EAX_ARAT : 0;
        break;
    case 7:
        if (subleaf == 0) {
            r[A] = 0; /* no further subleaves */
            r[B] &= L7_EBX_OK;
            r[C] &= L7_ECX_OK;
            r[D] = 0;
        } else {
            zero(r);
        }
        break;
    default:
        /* Cache and topology (Intel), power, PMU, XSAVE: not offered. */
        zero(r);
        break;
    }
}

static void ext_leaf(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t r[4])
{
    switch (leaf) {
    case 0x80000000:
        r[A] = MIN(r[A], VMM_CPUID_EXT_MAX);
        break;
    case 0x80000001:
        r[C] &= E1_ECX_OK;
        r[D] &= E1_EDX_OK;
        r[D] |= (p->apic ? L1_EDX_APIC : 0) | (p->mtrr ? L1_EDX_MTRR : 0);
        break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004:
    case 0x80000005:
    case 0x80000006:
        break; /* brand string, cache and TLB descriptions */
    case 0x80000007:
        r[A] = 0;
        r[B] = 0;
        r[C] = 0;
        r[D] = E7_EDX_INVARIANT_TSC;
        break;
    case 0x80000008:
        r[A] &= 0xFFFFu; /* physical and linear address sizes */
        r[B] = 0;
        r[C] = 0; /* one core */
        r[D] = 0;
        break;
    default:
        zero(r);
        break;
    }
}

bool vmm_cpuid_pv_eoi(const struct vmm_cpuid_policy *p)
{
    return p->apic && p->paravirt;
}

/* 0x40000000: the highest hypervisor leaf and a signature; 0x40000001: KVM's feature bits. */
static void hv_leaf(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t r[4])
{
    bool kvm = vmm_cpuid_pv_eoi(p);

    zero(r);
    if (leaf == VMM_CPUID_HV_BASE) {
        const char *sig = kvm ? VMM_CPUID_KVM_SIG : VMM_CPUID_SIGNATURE;

        r[A] = VMM_CPUID_HV_MAX;
        memcpy(&r[B], sig, 4);
        memcpy(&r[C], sig + 4, 4);
        memcpy(&r[D], sig + 8, 4);
    } else if (leaf == VMM_CPUID_HV_BASE + 1 && kvm) {
        r[A] = VMM_KVM_FEATURE_PV_EOI; /* no clock, async PF, PV IPI/TLB/spinlocks; no hints */
    }
}

void vmm_cpuid_filter(const struct vmm_cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
                      uint32_t r[4])
{
    if (leaf <= VMM_CPUID_BASIC_MAX) {
        basic_leaf(p, leaf, subleaf, r);
    } else if (leaf >= VMM_CPUID_HV_BASE && leaf <= 0x4000FFFFu) {
        hv_leaf(p, leaf, r);
    } else if (leaf >= 0x80000000u && leaf <= VMM_CPUID_EXT_MAX) {
        ext_leaf(p, leaf, r);
    } else {
        /* Out of range: AMD returns zeros (Intel repeats the highest basic leaf). */
        zero(r);
    }
}
