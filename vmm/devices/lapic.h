/* The vCPU's local APIC, xAPIC mode, as MMIO at VMM_LAPIC_BASE (4 KiB).
 *
 * Registers: ID (RW, 0 at reset), version 0x00050014 (version 0x14, six LVT entries, no EOI
 * broadcast suppression, no extended space), TPR, APR and PPR, EOI, LDR and DFR (flat and
 * cluster logical destinations), SVR (bit 8 software enable, focus bit kept), ISR, TMR and IRR
 * (256 bits each, read-only), ESR (write to latch, then read), ICR low and high, the LVT entries
 * timer, thermal, performance counter, LINT0, LINT1 and error, and the timer's initial count,
 * current count and divide configuration. Accesses are 32-bit loads and stores of the first
 * dword of a 16-byte register; narrower loads read part of it, anything else (and reserved
 * offsets) reads 0, is ignored, and sets ESR's illegal register address bit (logged once at
 * debug). x2APIC is not offered (CPUID hides it, MSR 0x1B refuses bit 10).
 *
 * Each access is an MMIO exit decoded by the instruction emulator, about 14 us under QEMU TCG
 * and a few hundred ns on hardware: an interrupt costs the guest one exit for its EOI; the
 * TSC-deadline timer is armed with WRMSR, a cheaper exit than an MMIO store.
 *
 * Interrupts: the highest IRR vector whose priority class is above PPR's goes to the CPU
 * (vmm_intc_ops pending/ack: IRR to ISR). EOI clears the highest ISR bit; if that vector's TMR
 * bit is set (it came level-triggered from the IOAPIC) the EOI is broadcast through the eoi
 * hook, which clears the IOAPIC's remote IRR. Vectors 0-15 are refused (ESR receive/send
 * illegal vector). Sources: the timer, LINT0/LINT1 and error LVT entries, vmm_lapic_deliver
 * (the IOAPIC's messages) and the ICR.
 *
 * The 8259 (virtual wire mode): the LAPIC takes over the CPU side from the 8259 pair and keeps
 * it as its ExtINT source. The 8259's INTR reaches the CPU while the LAPIC is hardware-disabled
 * (MSR 0x1B bit 11 clear), software-disabled (SVR bit 8 clear) or LINT0 is an unmasked ExtINT
 * entry, and once per ExtINT message from the IOAPIC; the LAPIC's own vectors come first. The
 * reset state is what a PC BIOS leaves: software-disabled, LINT0 ExtINT and LINT1 NMI
 * unmasked, the other LVT entries masked, so a guest that never touches the APIC runs on the
 * 8259 as before. LINT1 is NMI on a PC but nothing drives it; vmm_lapic_lint() pulses a pin.
 *
 * The paravirtual EOI (KVM's PV EOI, vmm/inject.c): the CPU side also tells the core whether
 * a vector taken (or about to be) is the only one in service with nothing else requested (its
 * EOI may then wait for the guest's word in memory), and performs an EOI as the register
 * write does.
 *
 * TPR is the MMIO register only: CR8 (its 64-bit alias) is the VMCB's V_TPR, which this model
 * neither reads nor sets (Linux and the test guests use the register).
 *
 * ICR: fixed, lowest-priority and NMI to the LAPIC itself (self shorthand, all-including-self,
 * or a destination that names it). With one vCPU, anything for other CPUs (INIT, SIPI, IPIs)
 * and INIT or SMI to itself are dropped with a debug log.
 *
 * Timer: a 1 GHz bus clock divided by the divide configuration (1 to 128), so a count is that
 * many ns. One-shot, periodic (several periods missed between polls fire once, the rest are
 * counted as coalesced; periods under LAPIC_MIN_PERIOD_NS fire at most that often) and
 * TSC-deadline (MSR 0x6E0 against vmm_guest_tsc(), when enabled in the config). A mode change
 * to or from TSC-deadline disarms the timer. Everything is computed from vmm_host()->now_ns in
 * poll(), which returns the next expiry so the core arms the host's wake-up for it.
 *
 * MSR 0x1B (APIC base): 0xFEE00000 | enable (bit 11) | BSP (bit 8). Clearing the enable bit
 * hardware-disables the LAPIC (its state goes back to reset, the 8259 reaches the CPU directly);
 * setting it again enables it. Relocation is not supported: a new base is ignored with a
 * warning (logged once) and the register keeps 0xFEE00000; bit 10 (x2APIC) and reserved bits
 * give #GP. */
#ifndef PETREL_VMM_DEV_LAPIC_H
#define PETREL_VMM_DEV_LAPIC_H

#include "../vmm_dev.h"

#define LAPIC_BUS_HZ        1000000000ULL
#define LAPIC_MIN_PERIOD_NS 50000ULL
#define LAPIC_VERSION       0x00050014u

#define MSR_APIC_BASE    0x0000001Bu
#define MSR_TSC_DEADLINE 0x000006E0u

/* Delivery modes (ICR, LVT, IOAPIC redirection entries). */
#define APIC_DM_FIXED   0u
#define APIC_DM_LOWEST  1u
#define APIC_DM_SMI     2u
#define APIC_DM_NMI     4u
#define APIC_DM_INIT    5u
#define APIC_DM_STARTUP 6u
#define APIC_DM_EXTINT  7u

struct vmm_lapic;

/* An interrupt message as the IOAPIC sends it. */
struct vmm_apic_irq {
    uint8_t vector;
    uint8_t mode; /* APIC_DM_* */
    bool level;   /* level-triggered: sets the TMR bit, so the EOI is broadcast */
    bool logical; /* dest is a logical destination (else a physical APIC ID) */
    uint8_t dest;
};

struct vmm_lapic_config {
    uint64_t base;     /* MMIO base: VMM_LAPIC_BASE */
    uint8_t id;        /* APIC ID at reset */
    bool tsc_deadline; /* offer the TSC-deadline mode (needs vmm_guest_tsc and tsc_hz) */
};

/* cfg may be NULL (VMM_LAPIC_BASE, ID 0, TSC deadline if vmm_host()->tsc_hz is set). Takes
 * the CPU side from the VM's current CPU controller (vmm_intc_take_cpu), which becomes its
 * ExtINT source. The VM owns the device; *out (if not NULL) is it. */
int vmm_dev_lapic_create(struct vmm_vm *vm, const struct vmm_lapic_config *cfg,
                         struct vmm_lapic **out);

/* Where EOIs of level-triggered vectors go (the IOAPIC), set once the IOAPIC exists. */
void vmm_lapic_set_eoi_hook(struct vmm_lapic *l, void (*eoi)(void *ctx, uint8_t vector), void *ctx);
/* The VM the LAPIC belongs to. */
struct vmm_vm *vmm_lapic_vm(const struct vmm_lapic *l);
/* A message from the IOAPIC: true when this LAPIC accepted it (it was addressed). */
bool vmm_lapic_deliver(struct vmm_lapic *l, const struct vmm_apic_irq *irq);
/* A rising edge on LINT0 (pin 0) or LINT1 (pin 1), delivered as its LVT entry says (ExtINT on
 * LINT0 needs no edge: the 8259 is asked directly). */
void vmm_lapic_lint(struct vmm_lapic *l, unsigned pin);

/* MSR 0x1B and 0x6E0, with the signature of vmm_msr_fn (vmm.h); ctx is the LAPIC. 0 or -EPERM
 * (#GP). */
int vmm_lapic_msr_read(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val);
int vmm_lapic_msr_write(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val);

/* Register views and counters, for `vm info` and tests. */
struct vmm_lapic_stats {
    uint64_t accepted;  /* vectors set in IRR */
    uint64_t delivered; /* vectors moved to ISR (taken by the CPU) */
    uint64_t extint;    /* 8259 vectors taken through LINT0 / ExtINT */
    uint64_t eois;
    uint64_t timer_fires;
    uint64_t timer_coalesced; /* periodic expiries folded into an earlier one */
    uint64_t nmis;
    uint64_t ipis_dropped; /* ICR messages for other CPUs, INIT, SMI */
    uint32_t svr, tpr, ppr, esr;
    uint32_t lvt_timer, lvt_lint0, lvt_lint1;
    uint32_t irr[8], isr[8], tmr[8];
    bool hw_enabled;
};
void vmm_lapic_stats(const struct vmm_lapic *l, struct vmm_lapic_stats *st);

#endif
