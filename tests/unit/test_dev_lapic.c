/* Unit tests for the local APIC model (vmm/devices/lapic.c) on a fake VM with the 8259 pair
 * under it: registers, the APIC base and TSC-deadline MSRs, priorities, EOI and TMR, the ICR,
 * the 8259 through LINT0 (virtual wire mode), and the timer in one-shot, periodic and
 * TSC-deadline modes against the fake clock (which is also the guest TSC, 1 GHz). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/lapic.h"
#include "../../vmm/devices/pic.h"
#include "../../vmm/platform.h"

#define BASE   VMM_LAPIC_BASE
#define T0     1000000000ull /* the fake clock at set-up: 1 s */
#define SVR_ON 0x1FFu        /* software enabled, spurious vector 0xFF */

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pic *pic;
    struct vmm_lapic *lapic;
    uint8_t eoi_vec[16];
    unsigned eois;
};

static void record_eoi(void *ctx, uint8_t vector)
{
    struct fixture *f = ctx;

    if (f->eois < 16) {
        f->eoi_vec[f->eois] = vector;
    }
    f->eois++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_lapic_config cfg = {.base = BASE, .id = 0, .tsc_deadline = true};

    fake_host_install(T0);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pic_create(f->vm, NULL, &f->pic), 0);
    assert_int_equal(vmm_dev_lapic_create(f->vm, &cfg, &f->lapic), 0);
    vmm_lapic_set_eoi_hook(f->lapic, record_eoi, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    assert_false(f->vm->failed);
    fake_vm_free(f->vm);
    assert_int_equal(fake_live_allocs, 0);
    free(f);
    return 0;
}

static uint32_t rd(struct fixture *f, uint32_t reg)
{
    return fake_read32(f->vm, BASE + reg);
}

static void wr(struct fixture *f, uint32_t reg, uint32_t val)
{
    fake_write32(f->vm, BASE + reg, val);
}

static uint64_t msr_rd(struct fixture *f, uint32_t msr, int want_rc)
{
    uint64_t v = 0;

    assert_int_equal(vmm_lapic_msr_read(f->lapic, f->vm, msr, &v), want_rc);
    return v;
}

static void msr_wr(struct fixture *f, uint32_t msr, uint64_t v, int want_rc)
{
    assert_int_equal(vmm_lapic_msr_write(f->lapic, f->vm, msr, &v), want_rc);
}

static bool pending(struct fixture *f, uint8_t *vec)
{
    return f->vm->intc_ops->pending(f->vm->intc, vec);
}

/* What the core does to inject: pending, then ack of that vector; -1 when nothing. */
static int take(struct fixture *f)
{
    uint8_t v;

    if (!pending(f, &v)) {
        return -1;
    }
    f->vm->intc_ops->ack(f->vm->intc, v);
    return v;
}

static bool fixed(struct fixture *f, uint8_t vec, bool level)
{
    struct vmm_apic_irq irq = {.vector = vec, .mode = APIC_DM_FIXED, .level = level, .dest = 0};

    return vmm_lapic_deliver(f->lapic, &irq);
}

static bool vec_bit(struct fixture *f, uint32_t base_reg, unsigned vec)
{
    return (rd(f, base_reg + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

/* The 8259 as a BIOS leaves it (vectors 0x08/0x70), remapped to 0x20/0x28 with IRQ 0 only. */
static void pic_program(struct vmm_vm *vm)
{
    static const uint8_t seq[][2] = {{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
                                     {0xA0, 0x11}, {0xA1, 0x28}, {0xA1, 0x02}, {0xA1, 0x01},
                                     {0x21, 0xFE}, {0xA1, 0xFF}};

    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        fake_outb(vm, seq[i][0], seq[i][1]);
    }
}

/* ---- registers ------------------------------------------------------------------------------ */

static void test_registration(void **state)
{
    struct fixture *f = *state;
    const struct vmm_dev_reg *r = fake_find_dev(f->vm, "lapic");

    assert_non_null(r);
    assert_int_equal(r->nmmio, 1);
    assert_int_equal(r->mmio[0].base, BASE);
    assert_int_equal(r->mmio[0].len, 0x1000);
    assert_non_null(r->poll);
    /* The LAPIC is the CPU's controller now; the 8259 stays on the lines. */
    assert_ptr_equal(f->vm->intc, f->lapic);
    assert_int_equal(f->vm->nintc_lines, 1);
    assert_ptr_equal(f->vm->intc_lines[0].intc, f->pic);
}

static void test_reset_state(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, 0x020), 0);          /* ID */
    assert_int_equal(rd(f, 0x030), 0x00050014); /* version */
    assert_int_equal(rd(f, 0x080), 0);          /* TPR */
    assert_int_equal(rd(f, 0x0D0), 0);          /* LDR */
    assert_int_equal(rd(f, 0x0E0), 0xFFFFFFFF); /* DFR: flat */
    assert_int_equal(rd(f, 0x0F0), 0xFF);       /* SVR: software-disabled */
    assert_int_equal(rd(f, 0x320), 0x10000);    /* timer masked */
    assert_int_equal(rd(f, 0x330), 0x10000);
    assert_int_equal(rd(f, 0x340), 0x10000);
    assert_int_equal(rd(f, 0x350), 0x700); /* LINT0 ExtINT */
    assert_int_equal(rd(f, 0x360), 0x400); /* LINT1 NMI */
    assert_int_equal(rd(f, 0x370), 0x10000);
    assert_int_equal(rd(f, 0x380), 0);
    assert_int_equal(rd(f, 0x390), 0);
    assert_int_equal(msr_rd(f, MSR_APIC_BASE, 0), 0xFEE00900ull);
}

static void test_register_semantics(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;

    wr(f, 0x0F0, SVR_ON);
    assert_int_equal(rd(f, 0x0F0), SVR_ON);
    wr(f, 0x0F0, 0xFFFFFFFF);
    assert_int_equal(rd(f, 0x0F0), 0x3FF); /* vector, enable, focus */
    wr(f, 0x080, 0x1234);
    assert_int_equal(rd(f, 0x080), 0x34);
    wr(f, 0x0D0, 0x01ABCDEF);
    assert_int_equal(rd(f, 0x0D0), 0x01000000);
    wr(f, 0x0E0, 0x0);
    assert_int_equal(rd(f, 0x0E0), 0x0FFFFFFF); /* cluster model */
    wr(f, 0x3E0, 0xFF);
    assert_int_equal(rd(f, 0x3E0), 0xB);
    wr(f, 0x310, 0x12345678);
    assert_int_equal(rd(f, 0x310), 0x12000000);
    /* Read-only registers ignore writes. */
    wr(f, 0x030, 0);
    assert_int_equal(rd(f, 0x030), 0x00050014);
    wr(f, 0x200, 0xFFFFFFFF);
    assert_int_equal(rd(f, 0x200), 0);
    /* LVT entries keep their writable bits (delivery status and remote IRR read 0). */
    wr(f, 0x350, 0xFFFFFFFF);
    assert_int_equal(rd(f, 0x350), 0x1A7FF);
    wr(f, 0x370, 0xFFFFFFFF);
    assert_int_equal(rd(f, 0x370), 0x100FF);
    wr(f, 0x320, 0xFFFFFFFF);
    assert_int_equal(rd(f, 0x320), 0x700FF);
    /* A byte load reads part of the register; the rest of a 16-byte slot reads 0. */
    assert_int_equal(fake_mmio(f->vm, BASE + 0x031, 1, false, &v), 0);
    assert_int_equal(v, 0x00);
    assert_int_equal(fake_mmio(f->vm, BASE + 0x032, 2, false, &v), 0);
    assert_int_equal(v, 0x0005);
    assert_int_equal(fake_mmio(f->vm, BASE + 0x034, 4, false, &v), 0);
    assert_int_equal(v, 0);
    /* Reserved registers and bad writes: nothing, and ESR's illegal register address. */
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0);
    assert_int_equal(rd(f, 0x2F0), 0); /* no CMCI entry with six LVTs */
    v = 0x55;
    assert_int_equal(fake_mmio(f->vm, BASE + 0x080, 1, true, &v), 0); /* byte store: ignored */
    assert_int_equal(rd(f, 0x080), 0x34);
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0x80);
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0);
}

static void test_apic_base_msr(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    msr_wr(f, MSR_APIC_BASE, 0xFEE00900ull | (1u << 10), -EPERM); /* x2APIC */
    msr_wr(f, MSR_APIC_BASE, 0xFEE00901ull, -EPERM);              /* reserved */
    /* Relocation: ignored with a warning. */
    fake_log_clear();
    msr_wr(f, MSR_APIC_BASE, 0xFED00900ull, 0);
    assert_true(fake_log_has("relocation not supported"));
    assert_int_equal(msr_rd(f, MSR_APIC_BASE, 0), 0xFEE00900ull);
    /* Hardware disable: the registers go, the 8259 reaches the CPU directly. */
    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x350, 0x10700); /* LINT0 masked */
    pic_program(f->vm);
    vmm_irq_set(f->vm, 0, true);
    assert_false(pending(f, &v));
    msr_wr(f, MSR_APIC_BASE, 0xFEE00100ull, 0);
    assert_int_equal(msr_rd(f, MSR_APIC_BASE, 0), 0xFEE00100ull);
    assert_int_equal(rd(f, 0x030), 0); /* hardware-disabled: reads 0 */
    assert_false(fixed(f, 0x40, false));
    assert_int_equal(take(f), 0x20);
    /* Enabled again: the reset state (software-disabled). */
    msr_wr(f, MSR_APIC_BASE, 0xFEE00900ull, 0);
    assert_int_equal(rd(f, 0x030), 0x00050014);
    assert_int_equal(rd(f, 0x0F0), 0xFF);
    assert_int_equal(rd(f, 0x350), 0x700);
    /* Not our MSR. */
    msr_rd(f, 0x10, -EPERM);
}

/* ---- priorities, EOI -------------------------------------------------------------------------- */

static void test_software_disabled_holds(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    /* Accepted while software-disabled, delivered only once enabled. */
    assert_true(fixed(f, 0x41, false));
    assert_true(vec_bit(f, 0x200, 0x41));
    assert_false(pending(f, &v));
    wr(f, 0x0F0, SVR_ON);
    assert_int_equal(take(f), 0x41);
    assert_false(vec_bit(f, 0x200, 0x41));
    assert_true(vec_bit(f, 0x100, 0x41));
}

static void test_priority(void **state)
{
    struct fixture *f = *state;
    struct vmm_lapic_stats st;
    uint8_t v;

    wr(f, 0x0F0, SVR_ON);
    fixed(f, 0x31, false);
    fixed(f, 0x52, false);
    fixed(f, 0x55, false);
    assert_true(pending(f, &v));
    assert_int_equal(v, 0x55);            /* highest first */
    assert_int_equal(rd(f, 0x090), 0x50); /* APR: the IRR's class */
    assert_int_equal(take(f), 0x55);
    assert_int_equal(rd(f, 0x0A0), 0x50); /* PPR: the ISR's class */
    /* 0x52 is in the same class as 0x55 in service: it waits. */
    assert_false(pending(f, &v));
    fixed(f, 0x61, false);
    assert_int_equal(take(f), 0x61); /* a higher class nests */
    assert_int_equal(rd(f, 0x0A0), 0x60);
    wr(f, 0x0B0, 0); /* EOI: 0x61 */
    assert_false(vec_bit(f, 0x100, 0x61));
    assert_true(vec_bit(f, 0x100, 0x55));
    assert_false(pending(f, &v));
    wr(f, 0x0B0, 0); /* EOI: 0x55 */
    /* TPR blocks classes at or below its own. */
    wr(f, 0x080, 0x52);
    assert_int_equal(rd(f, 0x0A0), 0x52);
    assert_false(pending(f, &v));
    wr(f, 0x080, 0x40);
    assert_int_equal(take(f), 0x52);
    wr(f, 0x0B0, 0);
    assert_false(pending(f, &v));
    wr(f, 0x080, 0x20);
    assert_int_equal(take(f), 0x31);
    wr(f, 0x0B0, 0);
    wr(f, 0x0B0, 0); /* EOI with nothing in service: harmless */
    assert_int_equal(take(f), -1);
    vmm_lapic_stats(f->lapic, &st);
    assert_int_equal(st.accepted, 4);
    assert_int_equal(st.delivered, 4);
    assert_int_equal(st.eois, 4);
    /* Vectors 0-15 are refused: ESR receive illegal vector. */
    assert_false(fixed(f, 0x0E, false));
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0x40);
}

static void test_tmr_eoi_broadcast(void **state)
{
    struct fixture *f = *state;

    wr(f, 0x0F0, SVR_ON);
    fixed(f, 0x60, true);  /* level: TMR set */
    fixed(f, 0x50, false); /* edge */
    assert_true(vec_bit(f, 0x180, 0x60));
    assert_false(vec_bit(f, 0x180, 0x50));
    assert_int_equal(take(f), 0x60);
    wr(f, 0x0B0, 0);
    assert_int_equal(f->eois, 1);
    assert_int_equal(f->eoi_vec[0], 0x60);
    assert_int_equal(take(f), 0x50);
    wr(f, 0x0B0, 0);
    assert_int_equal(f->eois, 1); /* edge: no broadcast */
    /* The same vector edge-triggered next time clears its TMR bit. */
    fixed(f, 0x60, false);
    assert_false(vec_bit(f, 0x180, 0x60));
}

/* The paravirtual EOI's questions: one vector in service, and every other request one its
 * EOI holds back anyway (of its priority class or below: they then wait, HOLDS); and an EOI
 * performed for the core as the register write does it (IOAPIC broadcast for level). */
static void test_pv_eoi_ops(void **state)
{
    struct fixture *f = *state;
    const struct vmm_intc_ops *ops = f->vm->intc_ops;
    void *in = f->vm->intc;

    assert_non_null(ops->eoi_deferrable);
    assert_non_null(ops->eoi);
    wr(f, 0x0F0, SVR_ON);
    assert_int_equal(ops->eoi_deferrable(in, 0x60, true), VMM_EOI_EXIT); /* none in service */
    fixed(f, 0x60, true);
    /* Not taken yet (a virtual interrupt about to be armed): the only request, none in
     * service; not a vector that is not requested. */
    assert_int_equal(ops->eoi_deferrable(in, 0x60, false), VMM_EOI_DEFER);
    assert_int_equal(ops->eoi_deferrable(in, 0x61, false), VMM_EOI_EXIT);
    /* A lower request besides it waits for its EOI; a higher one would be taken first. */
    fixed(f, 0x50, false);
    assert_int_equal(ops->eoi_deferrable(in, 0x60, false), VMM_EOI_DEFER_HOLDS);
    assert_int_equal(ops->eoi_deferrable(in, 0x50, false), VMM_EOI_EXIT);
    assert_int_equal(take(f), 0x60);
    assert_int_equal(ops->eoi_deferrable(in, 0x50, false), VMM_EOI_EXIT); /* 0x60 in service */
    assert_int_equal(ops->eoi_deferrable(in, 0x60, true), VMM_EOI_DEFER_HOLDS);
    /* The same class waits too (0x6F is above 0x60 but cannot preempt it), and the vector in
     * service requested again; a higher class could preempt: the EOI must exit. */
    fixed(f, 0x6F, false);
    fixed(f, 0x60, true);
    assert_int_equal(ops->eoi_deferrable(in, 0x60, true), VMM_EOI_DEFER_HOLDS);
    fixed(f, 0x70, false);
    assert_int_equal(ops->eoi_deferrable(in, 0x60, true), VMM_EOI_EXIT);
    assert_int_equal(take(f), 0x70);
    wr(f, 0x0B0, 0); /* 0x70 */
    wr(f, 0x0B0, 0); /* 0x60 */
    assert_int_equal(take(f), 0x6F);
    wr(f, 0x0B0, 0);
    assert_int_equal(take(f), 0x60);
    wr(f, 0x0B0, 0);
    assert_int_equal(take(f), 0x50);
    assert_int_equal(ops->eoi_deferrable(in, 0x50, true), VMM_EOI_DEFER);
    assert_int_equal(ops->eoi_deferrable(in, 0x51, true), VMM_EOI_EXIT); /* not that one */
    ops->eoi(in);
    assert_false(vec_bit(f, 0x100, 0x50));
    assert_int_equal(f->eois, 2); /* 0x50 is edge: only the level 0x60's two EOIs went out */
    /* Two in service (nested): no. A level vector alone: yes, and its EOI is broadcast. */
    fixed(f, 0x40, true);
    assert_int_equal(take(f), 0x40);
    assert_int_equal(ops->eoi_deferrable(in, 0x40, true), VMM_EOI_DEFER);
    fixed(f, 0x70, false);
    assert_int_equal(take(f), 0x70);
    assert_int_equal(ops->eoi_deferrable(in, 0x70, true), VMM_EOI_EXIT);
    wr(f, 0x0B0, 0); /* 0x70 */
    assert_int_equal(ops->eoi_deferrable(in, 0x40, true), VMM_EOI_DEFER);
    ops->eoi(in);
    assert_int_equal(f->eois, 3);
    assert_int_equal(f->eoi_vec[2], 0x40);
    assert_false(vec_bit(f, 0x100, 0x40));
    /* A hardware-disabled APIC defers nothing. */
    fixed(f, 0x40, false);
    assert_int_equal(take(f), 0x40);
    msr_wr(f, MSR_APIC_BASE, BASE, 0);
    assert_int_equal(ops->eoi_deferrable(in, 0x40, true), VMM_EOI_EXIT);
}

static void test_logical_destinations(void **state)
{
    struct fixture *f = *state;
    struct vmm_apic_irq irq = {.vector = 0x40, .mode = APIC_DM_FIXED, .logical = true};

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x0D0, 0x01000000); /* flat, bit 0 */
    irq.dest = 0x01;
    assert_true(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 0x02;
    assert_false(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 0x03;
    assert_true(vmm_lapic_deliver(f->lapic, &irq));
    /* Cluster: cluster 1, member bit 0. */
    wr(f, 0x0E0, 0x0FFFFFFF);
    wr(f, 0x0D0, 0x11000000);
    irq.dest = 0x11;
    assert_true(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 0x21;
    assert_false(vmm_lapic_deliver(f->lapic, &irq));
    /* Physical: ID 0 and broadcast; another ID is not us; lowest priority acts as fixed. */
    irq.logical = false;
    irq.dest = 0;
    irq.mode = APIC_DM_LOWEST;
    assert_true(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 0xFF;
    assert_true(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 1;
    assert_false(vmm_lapic_deliver(f->lapic, &irq));
    irq.dest = 0;
    irq.mode = APIC_DM_INIT;
    assert_false(vmm_lapic_deliver(f->lapic, &irq));
}

static void test_sw_disable_masks_lvts(void **state)
{
    struct fixture *f = *state;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x320, 0x00040);
    wr(f, 0x350, 0x00700);
    wr(f, 0x0F0, 0xFF); /* software disable: every LVT masked */
    assert_int_equal(rd(f, 0x320), 0x10040);
    assert_int_equal(rd(f, 0x350), 0x10700);
    wr(f, 0x320, 0x00041); /* the mask sticks while disabled */
    assert_int_equal(rd(f, 0x320), 0x10041);
}

/* ---- ICR ------------------------------------------------------------------------------------- */

static void test_icr(void **state)
{
    struct fixture *f = *state;
    struct vmm_lapic_stats st;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x300, 0x00040000 | 0x45); /* self shorthand, fixed */
    assert_int_equal(rd(f, 0x300), 0x00040045);
    assert_int_equal(take(f), 0x45);
    wr(f, 0x0B0, 0);
    wr(f, 0x310, 0x00000000); /* physical destination 0: us */
    wr(f, 0x300, 0x46);
    assert_int_equal(take(f), 0x46);
    wr(f, 0x0B0, 0);
    wr(f, 0x310, 0x01000000); /* APIC 1 does not exist */
    wr(f, 0x300, 0x47);
    assert_int_equal(take(f), -1);
    wr(f, 0x300, 0x000C0000 | 0x48); /* all excluding self */
    assert_int_equal(take(f), -1);
    wr(f, 0x300, 0x00080000 | 0x49); /* all including self */
    assert_int_equal(take(f), 0x49);
    wr(f, 0x0B0, 0);
    /* INIT and SIPI to others: dropped. INIT level de-assert to all: nothing. */
    wr(f, 0x310, 0x01000000);
    wr(f, 0x300, 0x00004500);
    wr(f, 0x300, 0x00004608);
    wr(f, 0x300, 0x00088500);
    vmm_lapic_stats(f->lapic, &st);
    assert_true(st.ipis_dropped >= 4);
    assert_int_equal(take(f), -1);
    /* NMI to self. */
    assert_false(f->vm->intc_ops->nmi_pending(f->vm->intc));
    wr(f, 0x300, 0x00040400);
    assert_true(f->vm->intc_ops->nmi_pending(f->vm->intc));
    f->vm->intc_ops->nmi_ack(f->vm->intc);
    assert_false(f->vm->intc_ops->nmi_pending(f->vm->intc));
    /* An illegal vector: ESR send illegal vector, nothing accepted. */
    wr(f, 0x300, 0x00040005);
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0x20);
    assert_int_equal(take(f), -1);
}

static void test_error_lvt(void **state)
{
    struct fixture *f = *state;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x370, 0xFE); /* error interrupt on vector 0xFE */
    wr(f, 0x300, 0x00040003);
    assert_int_equal(take(f), 0xFE);
    wr(f, 0x0B0, 0);
    /* An error vector below 16 raises no interrupt (it would loop). */
    wr(f, 0x370, 0x03);
    fixed(f, 0x01, false);
    assert_int_equal(take(f), -1);
    wr(f, 0x280, 0);
    assert_int_equal(rd(f, 0x280), 0x60);
}

/* ---- the 8259 through LINT0 ------------------------------------------------------------------ */

static void test_extint_virtual_wire(void **state)
{
    struct fixture *f = *state;
    struct vmm_apic_irq ext = {.mode = APIC_DM_EXTINT, .dest = 0};
    struct vmm_lapic_stats st;
    uint8_t v;

    pic_program(f->vm);
    /* Software-disabled LAPIC: the 8259 reaches the CPU. */
    vmm_irq_set(f->vm, 0, true);
    vmm_irq_set(f->vm, 0, false);
    assert_int_equal(take(f), 0x20);
    fake_outb(f->vm, 0x20, 0x20); /* EOI to the 8259 */
    /* Enabled with LINT0 ExtINT unmasked (the BIOS state): still through. */
    wr(f, 0x0F0, SVR_ON);
    vmm_irq_set(f->vm, 0, true);
    vmm_irq_set(f->vm, 0, false);
    assert_true(pending(f, &v));
    assert_int_equal(v, 0x20);
    /* The LAPIC's own vectors come first. */
    fixed(f, 0x90, false);
    assert_int_equal(take(f), 0x90);
    /* In service 0x90 blocks only the LAPIC's lower vectors, not ExtINT. */
    assert_int_equal(take(f), 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    wr(f, 0x0B0, 0);
    /* LINT0 masked: the 8259 is cut off. */
    wr(f, 0x350, 0x10700);
    vmm_irq_set(f->vm, 0, true);
    vmm_irq_set(f->vm, 0, false);
    assert_false(pending(f, &v));
    /* An ExtINT message from the IOAPIC lets one 8259 interrupt through. */
    assert_true(vmm_lapic_deliver(f->lapic, &ext));
    assert_int_equal(take(f), 0x20);
    fake_outb(f->vm, 0x20, 0x20);
    vmm_irq_set(f->vm, 0, true);
    vmm_irq_set(f->vm, 0, false);
    assert_false(pending(f, &v));
    vmm_lapic_stats(f->lapic, &st);
    assert_int_equal(st.extint, 3);
}

static void test_lint_pins(void **state)
{
    struct fixture *f = *state;

    wr(f, 0x0F0, SVR_ON);
    vmm_lapic_lint(f->lapic, 1); /* LINT1: NMI */
    assert_true(f->vm->intc_ops->nmi_pending(f->vm->intc));
    f->vm->intc_ops->nmi_ack(f->vm->intc);
    wr(f, 0x360, 0x10400); /* masked */
    vmm_lapic_lint(f->lapic, 1);
    assert_false(f->vm->intc_ops->nmi_pending(f->vm->intc));
    wr(f, 0x350, 0x00033); /* LINT0 fixed, vector 0x33 */
    vmm_lapic_lint(f->lapic, 0);
    assert_int_equal(take(f), 0x33);
    vmm_lapic_lint(f->lapic, 2); /* no such pin */
}

/* ---- timer ----------------------------------------------------------------------------------- */

static void test_timer_oneshot(void **state)
{
    struct fixture *f = *state;
    struct vmm_lapic_stats st;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x3E0, 0x3);     /* divide by 16 */
    wr(f, 0x320, 0x00030); /* one-shot, vector 0x30 */
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    wr(f, 0x380, 1000); /* 16 us */
    assert_int_equal(rd(f, 0x390), 1000);
    assert_int_equal(fake_poll(f->vm), T0 + 16000);
    fake_now += 8000;
    assert_int_equal(rd(f, 0x390), 500);
    assert_int_equal(fake_advance(f->vm, 7999), T0 + 16000);
    assert_int_equal(take(f), -1);
    assert_int_equal(fake_advance(f->vm, 1), UINT64_MAX);
    assert_int_equal(rd(f, 0x390), 0);
    assert_int_equal(take(f), 0x30);
    wr(f, 0x0B0, 0);
    fake_advance(f->vm, 100000);
    assert_int_equal(take(f), -1); /* one shot only */
    /* Masked: the count runs out and nothing is raised. */
    wr(f, 0x320, 0x10030);
    wr(f, 0x380, 10);
    fake_advance(f->vm, 1000);
    assert_int_equal(take(f), -1);
    vmm_lapic_stats(f->lapic, &st);
    assert_int_equal(st.timer_fires, 2);
    /* Writing 0 stops it; the divide value 1011 is divide by 1. */
    wr(f, 0x320, 0x00030);
    wr(f, 0x3E0, 0xB);
    wr(f, 0x380, 5000);
    assert_int_equal(fake_poll(f->vm), fake_now + 5000);
    wr(f, 0x380, 0);
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    assert_int_equal(rd(f, 0x390), 0);
    /* A divide change in the middle goes on from the current count at the new rate. */
    wr(f, 0x380, 1000);
    fake_now += 400;
    wr(f, 0x3E0, 0x0); /* divide by 2: 600 left, 1200 ns */
    assert_int_equal(rd(f, 0x390), 600);
    assert_int_equal(fake_poll(f->vm), fake_now + 1200);
}

static void test_timer_periodic(void **state)
{
    struct fixture *f = *state;
    struct vmm_lapic_stats st;
    unsigned n = 0;
    uint64_t next;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x3E0, 0xB);     /* divide by 1: 1 ns per count */
    wr(f, 0x320, 0x20031); /* periodic, vector 0x31 */
    wr(f, 0x380, 1000000); /* 1 ms: 1 kHz */
    assert_int_equal(fake_poll(f->vm), T0 + 1000000);
    /* 100 ms polled every 100 us: 100 interrupts, taken and EOId as a guest would. */
    for (int i = 0; i < 1000; i++) {
        fake_advance(f->vm, 100000);
        if (take(f) == 0x31) {
            n++;
            wr(f, 0x0B0, 0);
        }
    }
    assert_int_equal(n, 100);
    assert_int_equal(rd(f, 0x390), 1000000); /* exactly at a period boundary */
    fake_now += 250000;
    assert_int_equal(rd(f, 0x390), 750000);
    /* A long gap: one interrupt, the missed periods are counted as coalesced. */
    fake_advance(f->vm, 10000000);
    assert_int_equal(take(f), 0x31);
    wr(f, 0x0B0, 0);
    assert_int_equal(take(f), -1);
    vmm_lapic_stats(f->lapic, &st);
    assert_int_equal(st.timer_fires, 101);
    assert_int_equal(st.timer_coalesced, 9);
    /* The next expiry stays on the period grid. */
    assert_int_equal(fake_poll(f->vm), T0 + 111000000);
    /* A tiny period fires at most every LAPIC_MIN_PERIOD_NS. */
    wr(f, 0x380, 10);
    fake_advance(f->vm, 10);
    assert_int_equal(take(f), 0x31);
    wr(f, 0x0B0, 0);
    next = fake_advance(f->vm, 10);
    assert_int_equal(next, fake_now - 10 + LAPIC_MIN_PERIOD_NS);
    assert_int_equal(take(f), -1);
    /* Switching to one-shot: the next expiry is the last. */
    wr(f, 0x380, 1000);
    wr(f, 0x320, 0x00031);
    fake_advance(f->vm, 1000);
    assert_int_equal(take(f), 0x31);
    wr(f, 0x0B0, 0);
    assert_int_equal(fake_advance(f->vm, 5000), UINT64_MAX);
}

static void test_timer_tsc_deadline(void **state)
{
    struct fixture *f = *state;
    uint64_t tsc;
    uint64_t next;

    wr(f, 0x0F0, SVR_ON);
    /* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
    msr_wr(f, MSR_TSC_DEADLINE, 12345, 0);
    assert_int_equal(msr_rd(f, MSR_TSC_DEADLINE, 0), 0);
    wr(f, 0x380, 5000);    /* a one-shot count, disarmed by the mode change */
    wr(f, 0x320, 0x40032); /* TSC deadline, vector 0x32 */
    assert_int_equal(rd(f, 0x320), 0x40032);
    assert_int_equal(rd(f, 0x380), 0);
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    wr(f, 0x380, 5000); /* ignored in this mode */
    assert_int_equal(rd(f, 0x380), 0);
    f->vm->tsc_offset = 777; /* the guest TSC is not the clock */
    tsc = vmm_guest_tsc(f->vm);
    msr_wr(f, MSR_TSC_DEADLINE, tsc + 20000, 0);
    assert_int_equal(msr_rd(f, MSR_TSC_DEADLINE, 0), tsc + 20000);
    assert_int_equal(fake_poll(f->vm), fake_now + 20000);
    next = fake_advance(f->vm, 19999);
    assert_int_equal(next, fake_now + 1);
    assert_int_equal(take(f), -1);
    assert_int_equal(fake_advance(f->vm, 1), UINT64_MAX);
    assert_int_equal(take(f), 0x32);
    wr(f, 0x0B0, 0);
    assert_int_equal(msr_rd(f, MSR_TSC_DEADLINE, 0), 0); /* cleared when it fired */
    /* A deadline in the past fires at the next poll; 0 disarms. */
    msr_wr(f, MSR_TSC_DEADLINE, 1, 0);
    fake_poll(f->vm);
    assert_int_equal(take(f), 0x32);
    wr(f, 0x0B0, 0);
    msr_wr(f, MSR_TSC_DEADLINE, vmm_guest_tsc(f->vm) + 100, 0);
    msr_wr(f, MSR_TSC_DEADLINE, 0, 0);
    assert_int_equal(fake_advance(f->vm, 1000), UINT64_MAX);
    assert_int_equal(take(f), -1);
    /* Leaving the mode disarms. */
    msr_wr(f, MSR_TSC_DEADLINE, vmm_guest_tsc(f->vm) + 100, 0);
    wr(f, 0x320, 0x00032);
    assert_int_equal(fake_advance(f->vm, 1000), UINT64_MAX);
    assert_int_equal(take(f), -1);
}

static void test_no_tsc_deadline(void **state)
{
    struct vmm_vm *vm;
    struct vmm_lapic *l;
    struct vmm_lapic_config cfg = {.base = BASE, .id = 3, .tsc_deadline = false};
    uint64_t v = 0;

    (void)state;
    fake_host_install(T0);
    vm = fake_vm_new("n");
    assert_int_equal(vmm_dev_pic_create(vm, NULL, NULL), 0);
    assert_int_equal(vmm_dev_lapic_create(vm, &cfg, &l), 0);
    assert_int_equal(fake_read32(vm, BASE + 0x020), 0x03000000);
    fake_write32(vm, BASE + 0x320, 0x700FF);
    assert_int_equal(fake_read32(vm, BASE + 0x320), 0x300FF); /* no TSC-deadline mode */
    assert_int_equal(vmm_lapic_msr_read(l, vm, MSR_TSC_DEADLINE, &v), -EPERM);
    assert_int_equal(vmm_lapic_msr_write(l, vm, MSR_TSC_DEADLINE, &v), -EPERM);
    /* A misaligned base is refused. */
    cfg.base = BASE + 4;
    assert_int_equal(vmm_dev_lapic_create(vm, &cfg, NULL), -EINVAL);
    fake_vm_free(vm);
    assert_int_equal(fake_live_allocs, 0);
}

static void test_reset_hook(void **state)
{
    struct fixture *f = *state;

    wr(f, 0x0F0, SVR_ON);
    wr(f, 0x320, 0x20031);
    wr(f, 0x380, 1000);
    fixed(f, 0x44, false);
    fake_reset_devices(f->vm);
    assert_int_equal(rd(f, 0x0F0), 0xFF);
    assert_int_equal(rd(f, 0x320), 0x10000);
    assert_int_equal(rd(f, 0x200 + 0x20), 0);
    assert_int_equal(fake_poll(f->vm), UINT64_MAX);
    assert_int_equal(msr_rd(f, MSR_APIC_BASE, 0), 0xFEE00900ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apic_base_msr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_software_disabled_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmr_eoi_broadcast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pv_eoi_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logical_destinations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sw_disable_masks_lvts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_lvt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extint_virtual_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_periodic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_tsc_deadline, setup, teardown),
        cmocka_unit_test(test_no_tsc_deadline),
        cmocka_unit_test_setup_teardown(test_reset_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
