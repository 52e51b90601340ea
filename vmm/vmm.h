/* The VMM's public API: create and control VMs, run vCPUs from the host's main loop, read
 * their state and counters. Devices use vmm_dev.h; the host fills struct vmm_host (host.h). */
#ifndef PETREL_VMM_VMM_H
#define PETREL_VMM_VMM_H

#include "../kernel/types.h"
#include "nic_config.h"

struct vmm_vm;
struct vmm_vcpu;

#define VMM_NAME_MAX    16 /* with the NUL; the log's [vm] column holds 15 characters */
#define VMM_CMDLINE_MAX 512
#define VMM_REASON_MAX  160
#define VMM_MEM_MIN     MiB(2)
#define VMM_MEM_MAX     GiB(3) /* RAM sits below the 3 GiB PCI/MMIO hole */

enum vmm_image_kind {
    VMM_IMAGE_AUTO,      /* a Linux bzImage ("HdrS"), else multiboot if the image has a
                          * multiboot header, else refused */
    VMM_IMAGE_MULTIBOOT, /* multiboot v1 (a.out kludge address fields or ELF) */
    VMM_IMAGE_FLAT,      /* raw bytes at flat_addr, entered there in 32-bit protected mode */
};

struct vmm_vm_config {
    char name[VMM_NAME_MAX];
    uint64_t mem_bytes; /* rounded up to 2 MiB */
    const void *image;  /* stays valid for the VM's life (a reset reloads it) */
    size_t image_len;
    enum vmm_image_kind kind;
    uint64_t flat_addr;
    char cmdline[VMM_CMDLINE_MAX];
    /* Linux guests: the initial RAM disk (NULL when none); stays valid like image. */
    const void *initrd;
    size_t initrd_len;
    /* Build the standard PC device set (vmm/machine.c). Unit tests turn it off. */
    bool pc_devices;
    /* With pc_devices: add a local APIC and an IOAPIC (and advertise them in CPUID), as a
     * Linux guest needs; without, the 8259 pair is the only interrupt controller. */
    bool apic;
    /* With apic: do not offer the paravirtual interface (KVM's CPUID leaves with the PV EOI
     * feature and its MSR; vmm/inject.c). The config's `paravirt = off`. */
    bool no_paravirt;
    /* With pc_devices: guest NICs (vmm/nic_config.h, parsed from `nic =` lines), one PCI
     * function each from slot 3 on; each attaches through vmm_host's nic_attach. */
    struct vmm_nic_config nics[VMM_NICS_MAX];
    size_t nnics;
};

enum vmm_vm_state {
    VMM_VM_CREATED, /* built, not started */
    VMM_VM_RUNNING,
    VMM_VM_PAUSED,
    VMM_VM_EXITED,  /* the guest asked to end (exit device, hypercall): exit_code is valid */
    VMM_VM_FAILED,  /* fail stop: reason says why, the dump is in the log */
    VMM_VM_STOPPED, /* stopped by the operator or halted for good (cli; hlt) */
};

/* Exit counters: one slot per SVM exit code below 0x100, then these. */
#define VMM_EXIT_SLOT_NPF     0x100
#define VMM_EXIT_SLOT_INVALID 0x101
#define VMM_EXIT_SLOT_OTHER   0x102
#define VMM_EXIT_SLOTS        0x103

struct vmm_vm_stats {
    uint64_t exits[VMM_EXIT_SLOTS];
    uint64_t exit_ns[VMM_EXIT_SLOTS]; /* time handling each exit reason */
    uint64_t exits_total;
    uint64_t guest_ns; /* time inside VMRUN */
    uint64_t vmm_ns;   /* time handling exits */
    uint64_t io_unclaimed;
    uint64_t io_string_elems; /* elements moved by string IO (REP INS/OUTS) */
    uint64_t irqs_injected;
    uint64_t pv_eois; /* EOIs the guest signalled through its paravirtual EOI word */
    uint64_t msr_unknown;
    uint64_t halts;
};

struct vmm_vm_info {
    char name[VMM_NAME_MAX];
    enum vmm_vm_state state;
    char reason[VMM_REASON_MAX];
    int exit_code;
    uint64_t mem_bytes;
    uint32_t asid;
    bool halted; /* the vCPU sleeps in HLT */
    uint64_t rip;
    struct vmm_vm_stats stats;
};

struct vmm_arch_ops;

/* Brings the VMM up once the host is installed (vmm_host_set): the CPU edge (arch.h; the
 * kernel passes &vmm_svm_arch) detects and enables SVM, then the shared IO and MSR
 * permission maps. -ENODEV with a logged reason when the CPU cannot run guests. */
int vmm_init(const struct vmm_arch_ops *arch);
bool vmm_ready(void);
/* Enables SVM on the calling CPU, once, before it runs guests (a host whose guests run on
 * another CPU than the one vmm_init ran on). -ENODEV when the arch cannot. */
int vmm_cpu_init(void);

/* Builds a VM (memory, nested page tables, devices, the image loaded, the vCPU at its
 * entry point) in state CREATED. Errors are logged with the VM's name. */
int vmm_vm_create(const struct vmm_vm_config *cfg, struct vmm_vm **out);
int vmm_vm_start(struct vmm_vm *vm);
int vmm_vm_pause(struct vmm_vm *vm);
int vmm_vm_resume(struct vmm_vm *vm);
/* Stops a VM and frees its memory and devices; the VM stays listed (state STOPPED). */
int vmm_vm_stop(struct vmm_vm *vm);
/* Removes a VM that is not running or paused from the list and frees it. */
int vmm_vm_destroy(struct vmm_vm *vm);
int vmm_vm_info(const struct vmm_vm *vm, struct vmm_vm_info *out);
/* The VM's device number i (registration order): its name and how many port and MMIO
 * accesses it handled. -ENOENT past the last one. */
struct vmm_dev_stat {
    const char *name;
    uint64_t accesses;
    uint64_t access_ns; /* time in its handlers */
};
int vmm_vm_device(const struct vmm_vm *vm, size_t i, struct vmm_dev_stat *out);
struct vmm_vm *vmm_vm_find(const char *name);
/* Iteration over all VMs: vmm_vm_next(NULL) is the first. */
struct vmm_vm *vmm_vm_next(const struct vmm_vm *vm);
const char *vmm_vm_state_name(enum vmm_vm_state s);
/* Bytes typed on the VM's console, queued for its UART. Returns how many were queued. */
size_t vmm_vm_console_write(struct vmm_vm *vm, const uint8_t *buf, size_t len);
/* A pointer the host keeps with the VM (e.g. its console ring). */
void vmm_vm_set_host_ctx(struct vmm_vm *vm, void *ctx);
void *vmm_vm_host_ctx(const struct vmm_vm *vm);

/* The scheduler: the next vCPU that can run (round robin; a vCPU halted in HLT is runnable
 * once an interrupt is pending for it), or NULL when all sleep. */
struct vmm_vcpu *vmm_sched_next(void);
/* The earliest time a sleeping vCPU's devices need attention (UINT64_MAX: none): the host
 * arms a wake-up for it before it halts. */
uint64_t vmm_sched_wake_deadline(void);
/* Runs the vCPU until an exit needs the main loop (host interrupt, HLT, the VM ended) or its
 * time slice is used up. */
void vmm_run(struct vmm_vcpu *vcpu);
/* From another CPU than the vCPU's, under the host's lock, while the guest may run: each
 * device's io_poll (vmm_dev.h). Returns the work found (0: none). */
unsigned vmm_vm_io_poll(struct vmm_vm *vm);

/* MSR hooks: rd/wr return 0, -EPERM to inject #GP into the guest, or another negative error
 * to fail the VM. Either may be NULL (that direction then raises #GP). */
typedef int (*vmm_msr_fn)(void *ctx, struct vmm_vm *vm, uint32_t msr, uint64_t *val);
int vmm_hook_msr(struct vmm_vm *vm, uint32_t msr, vmm_msr_fn rd, vmm_msr_fn wr, void *ctx);

const char *vmm_exit_name(uint64_t exit_code);
/* Name of a counter slot (for listings); NULL for slots that have no name. */
const char *vmm_exit_slot_name(size_t slot);

#endif
