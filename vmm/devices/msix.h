/* MSI-X for a PCI function (PCI 3.0 section 6.8.2): the capability in configuration space, the
 * vector table and the pending bit array (PBA) in one of the function's memory BARs, and
 * delivery of a vector as an MSI write through the PCI host's route (vmm_pci_func_msi: the
 * machine sends it to the LAPIC). A device embeds struct vmm_msix in its state, calls
 * vmm_msix_init once its PCI function exists, passes config writes (vmm_msix_cfg_write, from its
 * cfg_write hook) and its BAR's accesses (vmm_msix_mmio) on, and fires vectors with
 * vmm_msix_notify.
 *
 * Capability (12 bytes at cfg->cap): ID 0x11, next pointer, message control (table size N-1 in
 * bits 10:0, read-only; function mask bit 14 and MSI-X enable bit 15, read/write), table offset
 * | BIR, PBA offset | BIR. Other bytes of the capability are read-only.
 *
 * Table: N entries of 16 bytes (message address low with bits 1:0 read-only zero, message
 * address high, message data, vector control whose bit 0 masks the vector). PBA: one bit per
 * vector, read-only, in qwords. Accesses are aligned dwords or qwords (the spec's only legal
 * ones); anything else, and writes to the PBA, are ignored (reads give 0) with a log line at
 * most once a second. The owner decodes the rest of its BAR.
 *
 * Firing a vector: while MSI-X is disabled nothing happens (the device uses INTx). A vector
 * beyond the table (0xFFFF, NO_VECTOR) sends nothing. A vector masked by its entry or by the
 * function mask sets its pending bit instead; clearing the mask (entry or function, with MSI-X
 * enabled) sends each pending vector once and clears its bit. A send the route refuses (the
 * address is not 0xFEExxxxx, a delivery mode other than fixed or lowest priority, a vector
 * under 16, no LAPIC addressed) or that bus mastering forbids is dropped, counted and logged at
 * most once a second. Reset (the function's, on a VM reset): disabled, unmasked function, every
 * entry zero and masked, nothing pending. */
#ifndef PETREL_VMM_DEV_MSIX_H
#define PETREL_VMM_DEV_MSIX_H

#include "lapic.h"
#include "pci_host.h"

#define VMM_MSIX_CAP_ID     0x11
#define VMM_MSIX_CAP_LEN    12
#define VMM_MSIX_MAX        32 /* vectors per function this model supports */
#define VMM_MSIX_ENTRY_SIZE 16
#define VMM_MSIX_NO_VECTOR  0xFFFF

struct vmm_msix_entry {
    uint32_t addr_lo;
    uint32_t addr_hi;
    uint32_t data;
    uint32_t ctrl; /* bit 0: masked */
};

struct vmm_msix_stats {
    uint64_t sent;       /* messages the route accepted */
    uint64_t pended;     /* vectors fired while masked */
    uint64_t dropped;    /* messages refused (bad address or mode, no bus master) */
    uint64_t bad_access; /* table/PBA accesses ignored (size, alignment, PBA writes) */
};

struct vmm_msix_config {
    unsigned cap;       /* config space offset of the capability (dword aligned, >= 0x40) */
    unsigned next;      /* the next capability's offset, 0 for the last */
    unsigned nvec;      /* table entries, 1..VMM_MSIX_MAX */
    unsigned bar;       /* BIR: the memory BAR holding table and PBA */
    uint32_t table_off; /* offsets in that BAR, qword aligned, not overlapping */
    uint32_t pba_off;
};

struct vmm_msix {
    struct vmm_vm *vm;
    const char *name; /* the owner, for log lines */
    struct vmm_pci_func *pci;
    struct vmm_msix_config cfg;
    bool enabled;
    bool fmask;
    struct vmm_msix_entry table[VMM_MSIX_MAX];
    uint32_t pending; /* bit n: vector n fired while masked */
    struct vmm_msix_stats stats;
    uint64_t log_ns; /* when the last rate-limited line was logged */
    uint64_t log_quiet;
    bool logged;
};

/* Lays the capability out in f's config space (the owner chains it: cfg->next, and points the
 * previous capability at cfg->cap) and resets the state. -EINVAL for a bad config. */
int vmm_msix_init(struct vmm_msix *m, struct vmm_vm *vm, const char *name, struct vmm_pci_func *f,
                  const struct vmm_msix_config *cfg);
void vmm_msix_reset(struct vmm_msix *m);
/* A config space write (the function's cfg_write hook): VMM_HANDLED when it falls in the
 * capability (message control acted on), VMM_NOT_MINE otherwise. */
int vmm_msix_cfg_write(struct vmm_msix *m, unsigned off, unsigned size, uint32_t val);
/* An access at offset `off` of the BAR: false when it is not in the table or the PBA (the
 * owner's), else handled (for reads *val is set). */
bool vmm_msix_mmio(struct vmm_msix *m, uint64_t off, unsigned size, bool write, uint64_t *val);
bool vmm_msix_enabled(const struct vmm_msix *m);
/* Fires `vector` (see above); nothing while MSI-X is disabled. */
void vmm_msix_notify(struct vmm_msix *m, unsigned vector);

/* An MSI address/data pair as an APIC message: 0, or -EINVAL for an address outside
 * 0xFEE00000-0xFEEFFFFF, a delivery mode other than fixed or lowest priority, or a vector
 * under 16. Edge-triggered always (the trigger bit is ignored, as MSIs are edges). */
int vmm_msi_decode(uint64_t addr, uint32_t data, struct vmm_apic_irq *irq);

#endif
