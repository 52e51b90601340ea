/* The guest platform's fixed layout: where the interrupt controllers, the ACPI tables and
 * registers and the PCI windows are, and how interrupt lines are wired. The ACPI tables
 * (vmm/acpi.c) describe exactly this, so every device model that has an address or a line
 * takes it from here, never from a literal of its own. */
#ifndef PETREL_VMM_PLATFORM_H
#define PETREL_VMM_PLATFORM_H

/* Local APIC of the one vCPU (xAPIC MMIO page). */
#define VMM_LAPIC_BASE 0xFEE00000u
#define VMM_LAPIC_SIZE 0x1000u
#define VMM_LAPIC_ID   0u

/* The one IOAPIC: ID, MMIO page, pins. Its GSIs start at 0, so GSI n is pin n. */
#define VMM_IOAPIC_BASE     0xFEC00000u
#define VMM_IOAPIC_SIZE     0x1000u
#define VMM_IOAPIC_ID       0u
#define VMM_IOAPIC_PINS     24u
#define VMM_IOAPIC_GSI_BASE 0u

/* ISA IRQ n is GSI n (edge, active high), except IRQ 0 (the PIT), which is wired to GSI 2 as
 * on every PC since the IOAPIC came (MADT interrupt source override, "conforming" flags). */
#define VMM_ISA_IRQ0_GSI 2u

/* Level-triggered, active-high ISA lines (MADT overrides with those flags, as QEMU's PIIX
 * machine has): the ACPI SCI and the lines PCI INTx are routed to. A model of the IOAPIC
 * treats a line raised with vmm_dev_irq_set(vm, dev, n, true) as asserted (active high); the
 * 8259's ELCR must be set for these by the guest (Linux does, from the tables). Several
 * devices may share one (links A and B are both IRQ 10, C and D both IRQ 11):
 * the core ORs their levels (vmm_dev.h), as the wire does. */
#define VMM_ACPI_SCI_IRQ 9u
#define VMM_PCI_IRQ_A    10u /* PCI links A and B */
#define VMM_PCI_IRQ_C    11u /* PCI links C and D */

/* PCI INTx routing (one fixed "PIRQ" swizzle, as a PIIX with SeaBIOS's defaults): function pin
 * 1-4 (INTA-INTD) of the device in slot 0-31 reaches link (slot + pin - 1) mod 4, and links
 * A-D are ISA IRQs 10, 10, 11, 11. A NIC model sets its config-space interrupt line to this
 * and raises that line; the DSDT's _PRT says the same to the guest. */
#define VMM_PCI_LINKS                4u
#define VMM_PCI_LINK_IRQ(link)       ((link) < 2u ? VMM_PCI_IRQ_A : VMM_PCI_IRQ_C)
#define VMM_PCI_INTX_LINK(slot, pin) (((unsigned)(slot) + (unsigned)(pin)-1u) % VMM_PCI_LINKS)
#define VMM_PCI_INTX_IRQ(slot, pin)  VMM_PCI_LINK_IRQ(VMM_PCI_INTX_LINK(slot, pin))

/* PCI windows the root bridge decodes (DSDT _CRS): IO above the legacy ports, and memory in
 * the hole between the top of guest RAM (at most 3 GiB) and the IOAPIC. */
#define VMM_PCI_IO_BASE   0x0D00u
#define VMM_PCI_IO_END    0xFFFFu /* inclusive */
#define VMM_PCI_MMIO_BASE 0xC0000000u
#define VMM_PCI_MMIO_END  0xFEAFFFFFu /* inclusive; 0xFEB00000-0xFEBFFFFF: platform MMIO (testdev) */

/* ACPI fixed hardware: the PM1a event block (status and enable, 2 bytes each), the PM1a
 * control block (2 bytes) and the 32-bit PM timer (3.579545 MHz), at QEMU's PIIX4 addresses.
 * The FADT's reset register is the PCI host's reset control at 0xCF9 (value 6). */
#define VMM_ACPI_PM_BASE     0x600u
#define VMM_ACPI_PM1A_EVT    (VMM_ACPI_PM_BASE + 0u)
#define VMM_ACPI_PM1A_CNT    (VMM_ACPI_PM_BASE + 4u)
#define VMM_ACPI_PM_TMR      (VMM_ACPI_PM_BASE + 8u)
#define VMM_ACPI_PM_LEN      12u
#define VMM_ACPI_PM_TMR_HZ   3579545u
#define VMM_ACPI_RESET_PORT  0xCF9u
#define VMM_ACPI_RESET_VALUE 0x06u
/* SLP_TYP the DSDT's \_S5 package names; PM1a_CNT with SLP_EN and this type powers off. */
#define VMM_ACPI_S5_TYP 5u

/* pvpanic (QEMU's ISA device, ACPI _HID QEMU0001): the guest kernel writes 1 here when it
 * panics; the VM then fails stop with a dump (vmm/pvpanic.c). */
#define VMM_PVPANIC_PORT 0x505u

/* ACPI tables: all of them, the RSDP first (16-byte aligned, where a guest scans for it), in
 * the BIOS area the e820 map reserves (vmm/e820.h: 0xF0000-0xFFFFF). */
#define VMM_ACPI_TABLES_BASE 0xF0000u
#define VMM_ACPI_TABLES_END  0x100000u
#define VMM_ACPI_RSDP_GPA    VMM_ACPI_TABLES_BASE

#endif
