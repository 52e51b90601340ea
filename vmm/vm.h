/* Internal to vmm/: the VM and vCPU structures and the functions the VMM's files share.
 * Nothing outside vmm/ includes this (the host uses vmm.h, devices use vmm_dev.h). */
#ifndef PETREL_VMM_VM_H
#define PETREL_VMM_VM_H

#include "../kernel/types.h"
#include "cpuid.h"
#include "gmem.h"
#include "npt.h"
#include "regs.h"
#include "svm.h"
#include "vmm.h"
#include "vmm_dev.h"

#define VMM_MAX_DEVS       32
#define VMM_MAX_MSR_HOOKS  32
#define VMM_MSR_LOG_SLOTS  32
#define VMM_CONSOLE_IN_MAX 1024
/* Longest run of exits handled without going back to the main loop. */
#define VMM_SLICE_NS 10000000ull
/* Boot data the loader writes for the guest (multiboot info, memory map, command line) and
 * the initial stack below it, all in conventional memory. */
#define VMM_BOOT_STACK_TOP  0x8000u
#define VMM_BOOT_DATA_START 0x8000u
#define VMM_BOOT_DATA_END   0x10000u

/* What an exit handler wants next. */
enum vmm_action {
    VMM_ACT_CONTINUE, /* re-enter the guest */
    VMM_ACT_YIELD,    /* go back to the main loop (host interrupt, HLT) */
};

struct vmm_vcpu {
    struct vmm_vm *vm;
    struct vmcb *vmcb;
    uint64_t vmcb_pa;
    /* The register file, canonical while an exit is handled: filled from the VMCB (and the
     * world switch, for the GPRs it does not hold) after each exit, written back before each
     * entry. Handlers change regs, never the VMCB's copies of these fields. */
    struct vmm_regs regs;
    /* FXSAVE image of the guest's x87/SSE state (the world switch does not swap it). */
    uint8_t fpu[512] __attribute__((aligned(16)));
    bool halted;
    bool fresh;             /* never ran: flush its ASID's TLB entries */
    uint64_t pending_event; /* EVENTINJ to deliver at the next entry (0 = none) */
    bool virq_armed;        /* V_IRQ set with virq_vector for this entry (inject.c) */
    uint64_t exit_rip;      /* RIP at the last exit: a handler that moved it ran an insn */
    uint8_t virq_vector;
    /* Paravirtual EOI (inject.c): the MSR's value (GPA | enable), and whether bit 0 of the
     * guest's word was set by us for pv_eoi_vector and not seen cleared yet. */
    uint64_t pv_eoi_msr;
    bool pv_eoi_set;
    uint8_t pv_eoi_vector;
    uint64_t pv_eoi_hold_until; /* lower requests wait for that EOI until then (else MAX) */
    bool pv_eoi_bad_logged;     /* a refused MSR value was logged (once per vCPU) */
    uint64_t wake_ns;           /* earliest device deadline from the last poll (UINT64_MAX: none) */
    struct vmm_vcpu *sched_next;
};

/* The CPU MSRs the core keeps for the guest (msr.c) beyond those in the VMCB. A guest reset
 * keeps them, as a warm reset keeps a CPU's MTRRs. */
#define VMM_MTRR_FIXED 11
#define VMM_MTRR_VAR   8
struct vmm_cpu_msrs {
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[VMM_MTRR_FIXED];
    uint64_t mtrr_var[2 * VMM_MTRR_VAR]; /* PhysBase, PhysMask pairs */
    uint64_t hwcr;
    uint64_t syscfg;
    uint64_t de_cfg;
    uint64_t ls_cfg;
};

struct vmm_msr_hook {
    uint32_t msr;
    vmm_msr_fn rd;
    vmm_msr_fn wr;
    void *ctx;
};

/* Distinct MSI messages a VM's devices can have waiting for its vCPU's CPU at once (a
 * virtio-net has three vectors). */
#define VMM_POSTED_MSI 32

struct vmm_vm {
    char name[VMM_NAME_MAX];
    unsigned id;
    enum vmm_vm_state state;
    char reason[VMM_REASON_MAX];
    int exit_code;
    struct vmm_vm_config cfg;
    struct vmm_gmem mem;
    struct vmm_npt npt;
    uint32_t asid;

    struct vmm_dev_reg devs[VMM_MAX_DEVS];
    size_t ndevs;
    /* Line controllers (vmm_irq_set goes to each) and the CPU controller (inject.c asks it). */
    struct vmm_intc_slot {
        const struct vmm_intc_ops *ops;
        void *intc;
    } intc_lines[VMM_INTC_MAX];
    size_t nintc_lines;
    const struct vmm_intc_ops *intc_ops;
    void *intc;
    void *pci_host; /* struct vmm_pci_host of the PC device set, for NIC models */

    /* Interrupt requests from another CPU than the vCPU's, applied on its CPU before its next
     * entry (dev.c, vmm_posted_apply): line changes (a rise is kept even if the line fell
     * again since: an edge) and MSI messages (identical ones merge, as in IRR). */
    struct vmm_posted {
        uint32_t changed; /* lines to apply */
        uint32_t raised;  /* lines that rose */
        uint32_t level;   /* their level now */
        struct {
            bool (*fn)(void *ctx, uint64_t addr, uint32_t data); /* the route, called again */
            void *ctx;
            uint64_t addr;
            uint32_t data;
        } msi[VMM_POSTED_MSI];
        size_t nmsi;
        uint64_t dropped; /* MSIs beyond the table (never expected: logged) */
    } posted;

    size_t (*console_rx)(void *dev, const uint8_t *buf, size_t len);
    void *console_dev;
    uint8_t console_in[VMM_CONSOLE_IN_MAX];
    size_t console_in_len;

    struct vmm_msr_hook msr_hooks[VMM_MAX_MSR_HOOKS];
    size_t nmsr_hooks;
    uint32_t msr_logged[VMM_MSR_LOG_SLOTS];
    size_t nmsr_logged;
    struct vmm_cpu_msrs msrs;

    struct vmm_cpuid_policy cpuid;
    struct vmm_vcpu *vcpu;
    struct vmm_vm_stats stats;
    bool reset_requested;
    /* > 0 while the core is inside the VM's handlers or devices: a VM that ends meanwhile
     * is released (memory, devices, vCPU) only when the core is back out. */
    unsigned busy;
    bool released;
    void *host_ctx;
    struct vmm_vm *next;
};

/* vm.c */
void vmm_vm_end(struct vmm_vm *vm, enum vmm_vm_state state, int code, const char *reason);
void vmm_vm_finish_exit(struct vmm_vm *vm);
int vmm_vm_reset_now(struct vmm_vm *vm);

/* vcpu.c */
int vmm_vcpu_create(struct vmm_vm *vm);
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);
void vmm_vcpu_reset_state(struct vmm_vcpu *vcpu);
/* 32-bit protected mode, paging off, flat segments: the multiboot entry state. */
void vmm_vcpu_set_pm32(struct vmm_vcpu *vcpu, uint32_t eip, uint32_t eax, uint32_t ebx);
void vmm_vcpu_regs_from_vmcb(struct vmm_vcpu *vcpu);
void vmm_vcpu_regs_to_vmcb(struct vmm_vcpu *vcpu);
/* Runs device time and console input forward; true when an interrupt is pending. */
bool vmm_vcpu_poll(struct vmm_vcpu *vcpu, uint64_t now);
uint32_t vmm_asid_for(unsigned vm_id);

/* exit.c: handles the exit recorded in the VMCB (after regs_from_vmcb). */
enum vmm_action vmm_exit_dispatch(struct vmm_vcpu *vcpu);
/* The stats slot (vmm_vm_stats.exits) that counts exit code `code`. */
size_t vmm_exit_slot(uint64_t code);
void vmm_inject_exception(struct vmm_vcpu *vcpu, uint8_t vector, bool has_err, uint32_t err);
/* io.c, msr.c, hypercall.c */
enum vmm_action vmm_exit_ioio(struct vmm_vcpu *vcpu);
enum vmm_action vmm_exit_msr(struct vmm_vcpu *vcpu);
enum vmm_action vmm_exit_vmmcall(struct vmm_vcpu *vcpu);
/* mmio.c: a nested page fault on a registered MMIO range */
enum vmm_action vmm_exit_mmio(struct vmm_vcpu *vcpu, uint64_t gpa);
int vmm_msr_install_defaults(struct vmm_vm *vm);
/* The shared MSR permission map: 2 bits per MSR (read, write) in three 2 KiB ranges. */
int vmm_msrpm_set(uint8_t *msrpm, uint32_t msr, bool intercept_read, bool intercept_write);
void vmm_msrpm_init(uint8_t *msrpm);

/* inject.c: before each entry, deliver a pending event or ask for an interrupt window. */
void vmm_inject_prepare(struct vmm_vcpu *vcpu);
/* After each exit, before its dispatch: settles an armed virtual interrupt (taken: the
 * controller is acked) and keeps an event whose delivery the exit interrupted for the next
 * entry. */
void vmm_inject_after_exit(struct vmm_vcpu *vcpu);
/* The VINTR exit (no longer requested): the window is open, the next entry injects. */
void vmm_inject_window_exit(struct vmm_vcpu *vcpu);
bool vmm_intc_pending(struct vmm_vm *vm);
/* MSR_KVM_PV_EOI_EN written (msr.c checked the value): a word we set at the old address is
 * cleared there first. */
void vmm_inject_pv_eoi_msr(struct vmm_vcpu *vcpu, uint64_t val);

/* dev.c: routing of intercepted accesses to devices. */
int vmm_io_access(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, uint32_t *val);
/* count elements of size bytes through one device call when it has a string handler. */
int vmm_io_string(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, void *buf,
                  uint32_t count);
/* -ENOENT when no device claims gpa. */
int vmm_mmio_access(struct vmm_vm *vm, uint64_t gpa, unsigned size, bool write, uint64_t *val);
bool vmm_mmio_claimed(const struct vmm_vm *vm, uint64_t gpa);
/* Earliest device deadline after running every device's poll. */
uint64_t vmm_devs_poll(struct vmm_vm *vm, uint64_t now);
void vmm_devs_reset(struct vmm_vm *vm);
void vmm_devs_destroy(struct vmm_vm *vm);
void vmm_console_deliver(struct vmm_vm *vm);

/* sched.c: a VM that goes away is no longer the round robin's position. */
void vmm_sched_forget(struct vmm_vm *vm);

/* machine.c: the PC device set. */
int vmm_machine_create(struct vmm_vm *vm);

/* loader.c: puts the image into guest RAM and the vCPU at its entry point. */
int vmm_load_image(struct vmm_vm *vm);

/* dump.c */
void vmm_dump_vcpu(const struct vmm_vcpu *vcpu);

/* Global state shared by the VMM's files (vm.c owns it). */
struct vmm_global {
    bool ready;
    uint32_t nasids;
    uint64_t iopm_pa;
    uint64_t msrpm_pa;
    uint8_t *msrpm;
    struct vmm_vm *vms;
    unsigned next_id;
};
struct vmm_global *vmm_global(void);

#endif
