/* ACPI for guests: the tables (RSDP, RSDT, XSDT, FADT, FACS, MADT, DSDT) that describe the
 * platform of vmm/platform.h, and the fixed-hardware PM registers (vmm/acpi_pm.c) the FADT
 * points at, so that an unmodified Linux finds its interrupt controllers, routes PCI
 * interrupts, powers off (S5) and resets through ACPI.
 *
 * The DSDT also names the pvpanic port (vmm/pvpanic.c), so that a guest kernel panic fails
 * the VM stop instead of leaving it spinning.
 *
 * The tables are built into a caller's buffer that stands for guest-physical [base, base+len)
 * (pure, unit-tested), then copied into guest RAM by vmm_acpi_install. Layout, every table
 * aligned to 16 bytes (the FACS to 64) in this order: RSDP, FACS, RSDT, XSDT, FADT, MADT,
 * DSDT. The DSDT's AML is written by a tiny assembler in acpi.c; its source is in
 * docs/linux-guest.md. */
#ifndef PETREL_VMM_ACPI_H
#define PETREL_VMM_ACPI_H

#include "../kernel/types.h"

struct vmm_vm;

#define ACPI_HDR_LEN    36u
#define ACPI_RSDP_LEN   36u
#define ACPI_FACS_LEN   64u
#define ACPI_FADT_LEN   244u /* ACPI 2.0 layout, revision 3 */
#define ACPI_OEM_ID     "PETREL"
#define ACPI_OEM_TABLE  "PETRELVM"
#define ACPI_CREATOR_ID "PTRL"

/* Where each table landed (guest-physical addresses). */
struct vmm_acpi_layout {
    uint64_t rsdp, facs, rsdt, xsdt, fadt, madt, dsdt;
    uint32_t dsdt_len;
    uint64_t end; /* first byte after the last table */
};

/* Builds every table into buf (len bytes standing for guest-physical base..base+len; base
 * 16-byte aligned and below 4 GiB). -ENOSPC when they do not fit, -EINVAL for a bad base. */
int vmm_acpi_build(uint8_t *buf, size_t len, uint64_t base, struct vmm_acpi_layout *out);

/* Builds the tables at VMM_ACPI_TABLES_BASE in the VM's RAM and adds the devices they name,
 * the PM registers and pvpanic (once per VM: a reset rewrites the tables only). rsdp receives
 * the RSDP's address. */
int vmm_acpi_install(struct vmm_vm *vm, uint64_t *rsdp);

/* The ACPI PM1a event/control blocks and PM timer (acpi_pm.c). -EEXIST if already there. */
int vmm_acpi_pm_create(struct vmm_vm *vm);

/* The pvpanic port the DSDT describes (pvpanic.c). -EEXIST if already there. */
int vmm_pvpanic_create(struct vmm_vm *vm);

/* Checksum byte helper, exported for tests: the 8-bit sum of len bytes. */
uint8_t vmm_acpi_sum(const uint8_t *p, size_t len);

#endif
