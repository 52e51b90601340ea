/* The VM's IOAPIC (82093AA style), MMIO at VMM_IOAPIC_BASE: IOREGSEL at offset 0x00, IOWIN at
 * 0x10 (32-bit accesses; IOREGSEL also takes narrower stores). Registers: ID (index 0, bits
 * 27:24), version (index 1: 0x00170011, version 0x11, 24 pins), arbitration (index 2, the ID),
 * and 24 redirection entries (0x10 + 2n low, 0x11 + 2n high): vector, delivery mode (fixed,
 * lowest priority, NMI, ExtINT; SMI, INIT and start-up are dropped with a debug log),
 * destination mode and field (physical APIC ID or logical, as the LAPIC decodes), polarity
 * (kept; see below), trigger mode, remote IRR (read-only), mask. Version 0x11 has no EOI
 * register: level-triggered entries are completed by the LAPIC's EOI broadcast
 * (vmm_ioapic_eoi), and switching an entry to edge clears its remote IRR (what Linux does to
 * an IOAPIC of this version). Reset: every entry masked, edge, vector 0.
 *
 * Inputs: it is a line controller (vmm_intc_register): every vmm_irq_set reaches it as well as
 * the 8259 pair, wired as on a PC: ISA IRQ 0 drives pin VMM_ISA_IRQ0_GSI (2), the pin that
 * IRQ 2 (the 8259 cascade, never a device line) would otherwise take; every other line n
 * drives pin n. `level` true is an asserted line: polarity is how the board wires a line, and
 * the platform's lines are all active high (vmm/platform.h), so the polarity bit is stored and
 * read back but not applied.
 *   edge entries: a rising edge on an unmasked pin sends one message; an edge while the pin is
 *     masked is lost (82093AA).
 *   level entries: an asserted, unmasked pin with remote IRR clear sends a message and sets
 *     remote IRR; the EOI for its vector clears it, and a pin still asserted sends again.
 *     Unmasking an asserted pin sends too.
 * Messages go through the deliver hook (the LAPIC). */
#ifndef PETREL_VMM_DEV_IOAPIC_H
#define PETREL_VMM_DEV_IOAPIC_H

#include "lapic.h"
#include "../vmm_dev.h"

#define IOAPIC_PINS    24u
#define IOAPIC_VERSION 0x00170011u

struct vmm_ioapic;

struct vmm_ioapic_config {
    uint64_t base;    /* MMIO base: VMM_IOAPIC_BASE */
    uint8_t id;       /* VMM_IOAPIC_ID */
    uint8_t irq0_pin; /* the pin ISA IRQ 0 drives: VMM_ISA_IRQ0_GSI */
    /* Sends a message to the local APIC(s); true when one accepted it. */
    bool (*deliver)(void *ctx, const struct vmm_apic_irq *irq);
    void *ctx;
};

/* cfg must name the deliver hook. The VM owns the device; *out (if not NULL) is it. */
int vmm_dev_ioapic_create(struct vmm_vm *vm, const struct vmm_ioapic_config *cfg,
                          struct vmm_ioapic **out);

/* The LAPIC's EOI broadcast for a level-triggered vector. */
void vmm_ioapic_eoi(struct vmm_ioapic *io, uint8_t vector);

struct vmm_ioapic_stats {
    uint64_t messages; /* sent through the deliver hook */
    uint64_t refused;  /* of those, not accepted by any LAPIC */
    uint64_t masked_edges;
    uint64_t eois;
    uint32_t lines; /* pin levels (bit n: pin n asserted) */
    uint64_t redir[IOAPIC_PINS];
};
void vmm_ioapic_stats(const struct vmm_ioapic *io, struct vmm_ioapic_stats *st);

#endif
