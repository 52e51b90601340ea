/* Unit tests for the CPUID policy: hidden features, the hypervisor bit and leaf, one CPU,
 * clamped ranges, zeros elsewhere. The "host" offers every bit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../vmm/cpuid.h"

enum { A, B, C, D };

static void all_ones(uint32_t r[4])
{
    r[A] = 0xFFFFFFFFu;
    r[B] = 0xFFFFFFFFu;
    r[C] = 0xFFFFFFFFu;
    r[D] = 0xFFFFFFFFu;
}

static void test_leaf1(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];

    (void)state;
    vmm_cpuid_policy_default(&p);
    all_ones(r);
    vmm_cpuid_filter(&p, 1, 0, r);
    assert_int_equal(r[A], 0xFFFFFFFFu);      /* family/model/stepping kept */
    assert_true(r[C] & (1u << 31));           /* hypervisor */
    assert_false(r[C] & (1u << 5));           /* VMX */
    assert_false(r[C] & (1u << 3));           /* MONITOR */
    assert_false(r[C] & (1u << 21));          /* x2APIC */
    assert_false(r[C] & (1u << 24));          /* TSC deadline */
    assert_false(r[C] & (1u << 26));          /* XSAVE */
    assert_false(r[C] & (1u << 27));          /* OSXSAVE */
    assert_false(r[C] & (1u << 28));          /* AVX */
    assert_false(r[C] & (1u << 15));          /* PDCM */
    assert_true(r[C] & (1u << 0));            /* SSE3 stays */
    assert_false(r[D] & (1u << 9));           /* APIC: no LAPIC model */
    assert_false(r[D] & (1u << 12));          /* MTRR */
    assert_false(r[D] & (1u << 7));           /* MCE */
    assert_false(r[D] & (1u << 28));          /* HTT */
    assert_true(r[D] & (1u << 0));            /* FPU */
    assert_true(r[D] & (1u << 26));           /* SSE2 */
    assert_int_equal((r[B] >> 16) & 0xFF, 1); /* one logical CPU */
    assert_int_equal(r[B] >> 24, 0);          /* APIC ID 0 */
    p.apic = true;
    all_ones(r);
    vmm_cpuid_filter(&p, 1, 0, r);
    assert_true(r[D] & (1u << 9));
}

static void test_hypervisor_leaf(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];
    char sig[13];

    (void)state;
    vmm_cpuid_policy_default(&p);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000000, 0, r);
    assert_int_equal(r[A], 0x40000001);
    memcpy(sig, &r[B], 4);
    memcpy(sig + 4, &r[C], 4);
    memcpy(sig + 8, &r[D], 4);
    sig[12] = '\0';
    assert_string_equal(sig, "PetrelPetrel");
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000001, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000100, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
}

/* With a LAPIC and paravirt on: KVM's leaves, offering the PV EOI alone. */
static void test_kvm_pv_eoi_leaves(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];

    (void)state;
    vmm_cpuid_policy_default(&p);
    p.paravirt = true;
    assert_false(vmm_cpuid_pv_eoi(&p)); /* no LAPIC: Petrel's leaf as before */
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000000, 0, r);
    assert_memory_equal(&r[B], "Petr", 4);
    p.apic = true;
    assert_true(vmm_cpuid_pv_eoi(&p));
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000000, 0, r);
    assert_int_equal(r[A], 0x40000001);
    assert_int_equal(r[B], 0x4b4d564b);
    assert_int_equal(r[C], 0x564b4d56);
    assert_int_equal(r[D], 0x4d);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000001, 0, r);
    assert_int_equal(r[A], 1u << 6); /* PV EOI only */
    assert_int_equal(r[B] | r[C] | r[D], 0);
    all_ones(r);
    vmm_cpuid_filter(&p, 1, 0, r);
    assert_true(r[C] & (1u << 31)); /* hypervisor: Linux looks at 0x4000xxxx only then */
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000100, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
    /* paravirt = off: back to Petrel's signature without features. */
    p.paravirt = false;
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000000, 0, r);
    assert_memory_equal(&r[B], "Petr", 4);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x40000001, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
}

static void test_extended(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];

    (void)state;
    vmm_cpuid_policy_default(&p);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x80000000, 0, r);
    assert_int_equal(r[A], 0x80000008);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x80000001, 0, r);
    assert_false(r[C] & (1u << 2));  /* SVM */
    assert_false(r[C] & (1u << 1));  /* CmpLegacy */
    assert_false(r[C] & (1u << 23)); /* PerfCtrExtCore */
    assert_true(r[D] & (1u << 29));  /* LM */
    assert_true(r[D] & (1u << 20));  /* NX */
    assert_false(r[D] & (1u << 27)); /* RDTSCP */
    all_ones(r);
    vmm_cpuid_filter(&p, 0x8000000A, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x80000008, 0, r);
    assert_int_equal(r[A], 0xFFFF);
    assert_int_equal(r[C], 0);
}

static void test_basic_range(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];

    (void)state;
    vmm_cpuid_policy_default(&p);
    r[A] = 0x20;
    r[B] = 0x68747541; /* vendor kept */
    r[C] = 0x444d4163;
    r[D] = 0x69746e65;
    vmm_cpuid_filter(&p, 0, 0, r);
    assert_int_equal(r[A], VMM_CPUID_BASIC_MAX);
    assert_int_equal(r[B], 0x68747541);
    r[A] = 4;
    vmm_cpuid_filter(&p, 0, 0, r);
    assert_int_equal(r[A], 4); /* a smaller host maximum stays */
    all_ones(r);
    vmm_cpuid_filter(&p, 7, 0, r);
    assert_int_equal(r[A], 0);
    assert_int_equal(r[D], 0);
    assert_false(r[B] & (1u << 5));  /* AVX2 */
    assert_false(r[B] & (1u << 16)); /* AVX512F */
    assert_true(r[B] & (1u << 7));   /* SMEP */
    assert_false(r[C] & (1u << 3));  /* PKU */
    all_ones(r);
    vmm_cpuid_filter(&p, 7, 1, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
    for (uint32_t leaf = 2; leaf <= VMM_CPUID_BASIC_MAX; leaf++) {
        if (leaf == 7) {
            continue;
        }
        all_ones(r);
        vmm_cpuid_filter(&p, leaf, 0, r);
        assert_int_equal(r[A] | r[B] | r[C] | r[D], 0); /* PMU, XSAVE, topology: none */
    }
    all_ones(r);
    vmm_cpuid_filter(&p, 0x20000000, 0, r);
    assert_int_equal(r[A] | r[B] | r[C] | r[D], 0);
}

static void test_platform_bits(void **state)
{
    struct vmm_cpuid_policy p;
    uint32_t r[4];

    (void)state;
    vmm_cpuid_policy_default(&p);
    /* Ours whatever the host says: the host here has none of them. */
    r[A] = r[B] = r[C] = r[D] = 0;
    p.apic = true;
    p.tsc_deadline = true;
    p.mtrr = true;
    vmm_cpuid_filter(&p, 1, 0, r);
    assert_true(r[D] & (1u << 9));   /* APIC */
    assert_true(r[D] & (1u << 12));  /* MTRR */
    assert_true(r[C] & (1u << 24));  /* TSC deadline */
    assert_false(r[C] & (1u << 21)); /* never x2APIC */
    r[A] = r[B] = r[C] = r[D] = 0;
    vmm_cpuid_filter(&p, 0x80000001, 0, r);
    assert_true(r[D] & (1u << 9));
    assert_true(r[D] & (1u << 12));
    all_ones(r);
    vmm_cpuid_filter(&p, 6, 0, r);
    assert_int_equal(r[A], 1u << 2); /* ARAT only */
    assert_int_equal(r[B] | r[C] | r[D], 0);
    /* TSC deadline needs the APIC. */
    p.apic = false;
    all_ones(r);
    vmm_cpuid_filter(&p, 1, 0, r);
    assert_false(r[C] & (1u << 24));
    assert_false(r[D] & (1u << 9));
    /* Invariant TSC, always, and nothing else of leaf 0x80000007. */
    r[A] = r[B] = r[C] = r[D] = 0;
    vmm_cpuid_filter(&p, 0x80000007, 0, r);
    assert_int_equal(r[D], 1u << 8);
    all_ones(r);
    vmm_cpuid_filter(&p, 0x80000007, 0, r);
    assert_int_equal(r[D], 1u << 8);
    assert_int_equal(r[A] | r[B] | r[C], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf1),
        cmocka_unit_test(test_hypervisor_leaf),
        cmocka_unit_test(test_kvm_pv_eoi_leaves),
        cmocka_unit_test(test_extended),
        cmocka_unit_test(test_basic_range),
        cmocka_unit_test_setup_teardown(test_platform_bits, NULL, NULL),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
