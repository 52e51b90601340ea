/* Unit tests for the IOAPIC model (vmm/devices/ioapic.c) on a fake VM wired as vmm/machine.c
 * wires a PC: the 8259 pair and the IOAPIC both on the ISA lines (IRQ 0 on pin 2), the IOAPIC
 * sending to a real local APIC, the LAPIC's EOIs coming back. Registers, redirection entries,
 * masking, edge and level pins with remote IRR and the EOI broadcast, delivery modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_vmm.c"
#include "../../vmm/devices/ioapic.h"
#include "../../vmm/devices/lapic.h"
#include "../../vmm/devices/pic.h"
#include "../../vmm/platform.h"

#define IOBASE VMM_IOAPIC_BASE
#define LBASE  VMM_LAPIC_BASE

struct fixture {
    struct vmm_vm *vm;
    struct vmm_pic *pic;
    struct vmm_lapic *lapic;
    struct vmm_ioapic *io;
    /* Messages the IOAPIC sent (also passed on to the LAPIC). */
    struct vmm_apic_irq sent[64];
    unsigned nsent;
};

static bool to_lapic(void *ctx, const struct vmm_apic_irq *irq)
{
    struct fixture *f = ctx;

    if (f->nsent < 64) {
        f->sent[f->nsent] = *irq;
    }
    f->nsent++;
    return vmm_lapic_deliver(f->lapic, irq);
}

static void eoi_to_ioapic(void *ctx, uint8_t vector)
{
    vmm_ioapic_eoi(ctx, vector);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct vmm_ioapic_config cfg = {
        .base = IOBASE,
        .id = VMM_IOAPIC_ID,
        .irq0_pin = VMM_ISA_IRQ0_GSI,
        .deliver = to_lapic,
        .ctx = f,
    };

    fake_host_install(1000000000ull);
    f->vm = fake_vm_new("t");
    assert_int_equal(vmm_dev_pic_create(f->vm, NULL, &f->pic), 0);
    assert_int_equal(vmm_dev_lapic_create(f->vm, NULL, &f->lapic), 0);
    assert_int_equal(vmm_dev_ioapic_create(f->vm, &cfg, &f->io), 0);
    vmm_lapic_set_eoi_hook(f->lapic, eoi_to_ioapic, f->io);
    fake_write32(f->vm, LBASE + 0x0F0, 0x1FF); /* LAPIC software-enabled */
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

static uint32_t io_rd(struct fixture *f, uint32_t index)
{
    fake_write32(f->vm, IOBASE, index);
    return fake_read32(f->vm, IOBASE + 0x10);
}

static void io_wr(struct fixture *f, uint32_t index, uint32_t val)
{
    fake_write32(f->vm, IOBASE, index);
    fake_write32(f->vm, IOBASE + 0x10, val);
}

/* Redirection entry for pin: low dword then high dword (destination APIC 0 unless given). */
static void route(struct fixture *f, unsigned pin, uint32_t lo, uint32_t hi)
{
    io_wr(f, 0x11 + 2 * pin, hi);
    io_wr(f, 0x10 + 2 * pin, lo);
}

static int take(struct fixture *f)
{
    uint8_t v;

    if (!f->vm->intc_ops->pending(f->vm->intc, &v)) {
        return -1;
    }
    f->vm->intc_ops->ack(f->vm->intc, v);
    return v;
}

static void lapic_eoi(struct fixture *f)
{
    fake_write32(f->vm, LBASE + 0x0B0, 0);
}

static void pulse(struct fixture *f, unsigned line)
{
    vmm_irq_set(f->vm, line, true);
    vmm_irq_set(f->vm, line, false);
}

#define RE_LEVEL  (1u << 15)
#define RE_MASKED (1u << 16)
#define RE_RIRR   (1u << 14)

static void test_registration(void **state)
{
    struct fixture *f = *state;
    const struct vmm_dev_reg *r = fake_find_dev(f->vm, "ioapic");

    assert_non_null(r);
    assert_int_equal(r->mmio[0].base, IOBASE);
    /* Two line controllers: the 8259 first, then the IOAPIC; the LAPIC is the CPU's. */
    assert_int_equal(f->vm->nintc_lines, 2);
    assert_ptr_equal(f->vm->intc_lines[0].intc, f->pic);
    assert_ptr_equal(f->vm->intc_lines[1].intc, f->io);
    assert_ptr_equal(f->vm->intc, f->lapic);
}

static void test_registers(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;

    assert_int_equal(io_rd(f, 0), 0);          /* ID 0 */
    assert_int_equal(io_rd(f, 1), 0x00170011); /* version 0x11, 24 pins */
    assert_int_equal(io_rd(f, 2), 0);          /* arbitration */
    io_wr(f, 0, 0x0A000000);
    assert_int_equal(io_rd(f, 0), 0x0A000000);
    assert_int_equal(io_rd(f, 2), 0x0A000000);
    io_wr(f, 1, 0);
    assert_int_equal(io_rd(f, 1), 0x00170011);
    assert_int_equal(io_rd(f, 0x03), 0); /* no such register */
    /* Every entry masked at reset. */
    for (unsigned pin = 0; pin < 24; pin++) {
        assert_int_equal(io_rd(f, 0x10 + 2 * pin), RE_MASKED);
        assert_int_equal(io_rd(f, 0x11 + 2 * pin), 0);
    }
    assert_int_equal(io_rd(f, 0x40), 0); /* past the last entry */
    /* Writable bits: no delivery status, no remote IRR; destination bits 63:56 only. */
    io_wr(f, 0x10 + 2 * 5, 0xFFFFFFFF);
    assert_int_equal(io_rd(f, 0x10 + 2 * 5), 0x1AFFF);
    io_wr(f, 0x11 + 2 * 5, 0xFFFFFFFF);
    assert_int_equal(io_rd(f, 0x11 + 2 * 5), 0xFF000000);
    /* IOREGSEL reads back; a byte store selects too; other offsets read 0. */
    fake_write32(f->vm, IOBASE, 0x1234);
    assert_int_equal(fake_read32(f->vm, IOBASE), 0x34);
    v = 0x01;
    assert_int_equal(fake_mmio(f->vm, IOBASE, 1, true, &v), 0);
    assert_int_equal(fake_read32(f->vm, IOBASE + 0x10), 0x00170011);
    assert_int_equal(fake_read32(f->vm, IOBASE + 0x40), 0);
    assert_int_equal(fake_mmio(f->vm, IOBASE + 0x10, 2, false, &v), 0);
    assert_int_equal(v, 0);
}

static void test_edge_and_mask(void **state)
{
    struct fixture *f = *state;
    struct vmm_ioapic_stats st;

    route(f, 4, 0x41, 0); /* COM1's IRQ 4: edge, fixed, vector 0x41 */
    pulse(f, 4);
    assert_int_equal(f->nsent, 1);
    assert_int_equal(f->sent[0].vector, 0x41);
    assert_false(f->sent[0].level);
    assert_int_equal(take(f), 0x41);
    lapic_eoi(f);
    /* A line held high gives one edge. */
    vmm_irq_set(f->vm, 4, true);
    vmm_irq_set(f->vm, 4, true);
    assert_int_equal(f->nsent, 2);
    vmm_irq_set(f->vm, 4, false);
    assert_int_equal(take(f), 0x41);
    lapic_eoi(f);
    /* Masked: the edge is lost, unmasking does not bring it back. */
    route(f, 4, 0x41 | RE_MASKED, 0);
    pulse(f, 4);
    route(f, 4, 0x41, 0);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(take(f), -1);
    vmm_ioapic_stats(f->io, &st);
    assert_int_equal(st.masked_edges, 1);
    assert_int_equal(st.messages, 2);
}

static void test_irq0_on_pin2(void **state)
{
    struct fixture *f = *state;
    uint8_t v;

    route(f, 0, 0x50, 0);
    route(f, 2, 0x52, 0);
    pulse(f, 0); /* the PIT's line: pin 2 */
    assert_int_equal(f->nsent, 1);
    assert_int_equal(f->sent[0].vector, 0x52);
    assert_int_equal(take(f), 0x52);
    lapic_eoi(f);
    /* The 8259 saw it too (its IRQ 0 request), it just does not reach the CPU now: LINT0 is
     * masked as Linux does once the IOAPIC has the timer. */
    fake_write32(f->vm, LBASE + 0x350, 0x10700);
    fake_outb(f->vm, 0x21, 0xFE); /* unmask IRQ 0 at the 8259 */
    assert_false(f->vm->intc_ops->pending(f->vm->intc, &v));
    fake_write32(f->vm, LBASE + 0x350, 0x00700);
    assert_true(f->vm->intc_ops->pending(f->vm->intc, &v));
    assert_int_equal(v, 0x08); /* the BIOS vector base */
    /* ISA IRQ 2 (the cascade) has no IOAPIC pin; IRQ 5 is pin 5; GSI 20 is pin 20. */
    pulse(f, 2);
    assert_int_equal(f->nsent, 1);
    route(f, 5, 0x55, 0);
    route(f, 20, 0x5A, 0);
    pulse(f, 5);
    pulse(f, 20);
    assert_int_equal(f->nsent, 3);
    assert_int_equal(f->sent[1].vector, 0x55);
    assert_int_equal(f->sent[2].vector, 0x5A);
}

static void test_level_remote_irr(void **state)
{
    struct fixture *f = *state;

    route(f, 10, 0x60 | RE_LEVEL, 0); /* a PCI line: level, active high */
    vmm_irq_set(f->vm, 10, true);
    assert_int_equal(f->nsent, 1);
    assert_true(f->sent[0].level);
    assert_true(io_rd(f, 0x10 + 2 * 10) & RE_RIRR);
    assert_int_equal(take(f), 0x60);
    /* No second message while remote IRR is set, even on a new edge. */
    vmm_irq_set(f->vm, 10, false);
    vmm_irq_set(f->vm, 10, true);
    assert_int_equal(f->nsent, 1);
    /* EOI: remote IRR clears and the still-asserted line sends again. */
    lapic_eoi(f);
    assert_int_equal(f->nsent, 2);
    assert_true(io_rd(f, 0x10 + 2 * 10) & RE_RIRR);
    assert_int_equal(take(f), 0x60);
    /* The device drops the line before the EOI: nothing more. */
    vmm_irq_set(f->vm, 10, false);
    lapic_eoi(f);
    assert_int_equal(f->nsent, 2);
    assert_false(io_rd(f, 0x10 + 2 * 10) & RE_RIRR);
    assert_int_equal(take(f), -1);
    /* Masked while asserted: held back, sent when unmasked. */
    route(f, 10, 0x60 | RE_LEVEL | RE_MASKED, 0);
    vmm_irq_set(f->vm, 10, true);
    assert_int_equal(f->nsent, 2);
    route(f, 10, 0x60 | RE_LEVEL, 0);
    assert_int_equal(f->nsent, 3);
    assert_int_equal(take(f), 0x60);
    /* Linux's EOI for version 0x11 without a broadcast: switching to edge clears remote IRR. */
    route(f, 10, 0x60 | RE_MASKED, 0);
    assert_false(io_rd(f, 0x10 + 2 * 10) & RE_RIRR);
    route(f, 10, 0x60 | RE_LEVEL, 0);
    assert_int_equal(f->nsent, 4); /* still asserted: sent again */
    vmm_irq_set(f->vm, 10, false);
}

static void test_eoi_other_vector(void **state)
{
    struct fixture *f = *state;
    struct vmm_ioapic_stats st;

    route(f, 11, 0x70 | RE_LEVEL, 0);
    vmm_irq_set(f->vm, 11, true);
    vmm_ioapic_eoi(f->io, 0x71); /* not its vector */
    assert_true(io_rd(f, 0x10 + 2 * 11) & RE_RIRR);
    vmm_ioapic_eoi(f->io, 0x70);
    vmm_ioapic_stats(f->io, &st);
    assert_int_equal(st.eois, 1);
    assert_int_equal(st.lines, 1u << 11);
}

static void test_delivery_modes(void **state)
{
    struct fixture *f = *state;
    struct vmm_ioapic_stats st;

    /* Logical flat destination: the LAPIC's LDR bit 0. */
    fake_write32(f->vm, LBASE + 0x0D0, 0x01000000);
    route(f, 6, 0x46 | (1u << 11), 0x01000000);
    pulse(f, 6);
    assert_int_equal(take(f), 0x46);
    lapic_eoi(f);
    /* A destination nobody has: refused, counted. */
    route(f, 6, 0x46, 0x05000000);
    pulse(f, 6);
    assert_int_equal(take(f), -1);
    /* NMI. */
    route(f, 7, (4u << 8), 0);
    pulse(f, 7);
    assert_true(f->vm->intc_ops->nmi_pending(f->vm->intc));
    f->vm->intc_ops->nmi_ack(f->vm->intc);
    /* SMI, INIT: dropped. */
    route(f, 7, (2u << 8), 0);
    pulse(f, 7);
    route(f, 7, (5u << 8), 0);
    pulse(f, 7);
    /* Lowest priority: the one CPU. */
    route(f, 7, 0x47 | (1u << 8), 0);
    pulse(f, 7);
    assert_int_equal(take(f), 0x47);
    lapic_eoi(f);
    vmm_ioapic_stats(f->io, &st);
    assert_int_equal(st.messages, 4);
    assert_int_equal(st.refused, 1);
}

static void test_extint_pin(void **state)
{
    struct fixture *f = *state;

    /* LINT0 masked; an ExtINT entry lets the 8259's interrupt through once. */
    fake_write32(f->vm, LBASE + 0x350, 0x10700);
    fake_outb(f->vm, 0x21, 0xFE);
    route(f, 3, (7u << 8), 0);
    vmm_irq_set(f->vm, 0, true); /* the 8259's IRQ 0 */
    assert_int_equal(take(f), -1);
    pulse(f, 3);
    assert_int_equal(take(f), 0x08);
    vmm_irq_set(f->vm, 0, false);
}

static void test_reset(void **state)
{
    struct fixture *f = *state;

    route(f, 4, 0x41, 0xFF000000);
    io_wr(f, 0, 0x03000000);
    fake_reset_devices(f->vm);
    assert_int_equal(io_rd(f, 0x10 + 8), RE_MASKED);
    assert_int_equal(io_rd(f, 0x11 + 8), 0);
    assert_int_equal(io_rd(f, 0), 0);
}

static void test_bad_config(void **state)
{
    struct vmm_vm *vm;
    struct vmm_ioapic_config cfg = {.base = IOBASE, .irq0_pin = 2};

    (void)state;
    fake_host_install(0);
    vm = fake_vm_new("b");
    assert_int_equal(vmm_dev_ioapic_create(vm, NULL, NULL), -EINVAL);
    assert_int_equal(vmm_dev_ioapic_create(vm, &cfg, NULL), -EINVAL); /* no deliver hook */
    fake_vm_free(vm);
    assert_int_equal(fake_live_allocs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_and_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq0_on_pin2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_remote_irr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eoi_other_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extint_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test(test_bad_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
