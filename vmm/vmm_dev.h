/* The contract between the VMM core and its virtual devices (vmm/devices/, one device per file).
 *
 * A device keeps all its state in its own struct (no globals). At creation it fills ONE table,
 * struct vmm_dev_reg, naming its IO ports, MMIO ranges and IRQ lines and its handlers, and calls
 * vmm_dev_register(). The core routes intercepted accesses to the handlers.
 *
 * Handler results (the same for IO and MMIO):
 *   VMM_HANDLED  (0)   the access was handled; for reads *val holds the value.
 *   VMM_NOT_MINE (1)   not this device's (e.g. a port in its range it does not decode); the core
 *                      tries the next device, then applies the VM's default policy.
 *   < 0                an error (negative errno): the core fails this VM (fail stop) and logs
 *                      the device, access and register dump.
 * Reads of unclaimed IO ports return all ones; writes to them are dropped; both are counted and
 * logged at debug level (that is what a PC does). Unclaimed MMIO (not RAM, not a registered range)
 * is a fail stop.
 *
 * Devices never touch guest memory directly: DMA-capable devices use vmm_guest_read/write, which
 * check every address and length against guest RAM. */
#ifndef PETREL_VMM_DEV_H
#define PETREL_VMM_DEV_H

#include "../kernel/types.h"

struct vmm_vm;

#define VMM_HANDLED  0
#define VMM_NOT_MINE 1

/* size is 1, 2 or 4; *val carries the value (written) or receives it (read). */
typedef int (*vmm_io_fn)(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val);
/* size is 1, 2, 4 or 8; gpa is the guest-physical address accessed. */
typedef int (*vmm_mmio_fn)(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val);
/* String IO in one call (REP INS/OUTS = one exit): count elements of size bytes in buf. Optional;
 * without it the core calls vmm_io_fn once per element. */
typedef int (*vmm_io_string_fn)(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                                uint32_t count);

#define VMM_DEV_MAX_IO   8
#define VMM_DEV_MAX_MMIO 4
#define VMM_DEV_MAX_IRQ  4
#define VMM_INTC_MAX     4 /* line controllers per VM */

struct vmm_dev_io_range {
    uint16_t base;
    uint16_t count;
    vmm_io_fn fn;
    vmm_io_string_fn string_fn; /* may be NULL */
};

struct vmm_dev_mmio_range {
    uint64_t base;
    uint64_t len;
    vmm_mmio_fn fn;
};

struct vmm_dev_reg {
    const char *name; /* "pic", "pit", "com1", ... unique within the VM */
    void *dev;        /* the device's state, passed to every handler */
    struct vmm_dev_io_range io[VMM_DEV_MAX_IO];
    size_t nio;
    struct vmm_dev_mmio_range mmio[VMM_DEV_MAX_MMIO];
    size_t nmmio;
    uint8_t irqs[VMM_DEV_MAX_IRQ]; /* ISA/GSI lines the device drives (vmm_dev_irq_set) */
    size_t nirqs;
    /* The core's, not the device's (vmm_dev_register clears it): bit n set while the device
     * holds line n asserted through vmm_dev_irq_set. */
    uint32_t irq_high;
    uint64_t accesses;  /* the core's: port and MMIO accesses the device handled */
    uint64_t access_ns; /* the core's: time in the device's port and MMIO handlers */
    /* Called before the vCPU enters the guest and when it sleeps in HLT: bring the device's
     * time-driven state up to `now_ns` (raise IRQs that are due) and return the next deadline
     * in ns (UINT64_MAX for none). Optional. */
    uint64_t (*poll)(void *dev, uint64_t now_ns);
    /* Called on another CPU than the vCPU's while the guest may run (vmm_vm_io_poll): take
     * what the guest queued in shared memory (a NIC's TX ring), as a device on a thread of
     * its own would. Returns how much it took (0: nothing). Optional. */
    unsigned (*io_poll)(void *dev);
    void (*reset)(void *dev);   /* optional: guest reset (e.g. via i8042 0xFE) */
    void (*destroy)(void *dev); /* frees the device state */
};

/* Registers a device's ranges and lines; -EEXIST if a range overlaps another device's,
 * -EINVAL for an empty or malformed table. The VM owns the device from now on. */
int vmm_dev_register(struct vmm_vm *vm, const struct vmm_dev_reg *reg);

/* Interrupt lines (ISA IRQ 0-15 and GSIs up to 23): level-triggered semantics, `level` true
 * meaning asserted. A line is a wire-OR of its sources, as shared PCI INTx lines are: it is
 * asserted while any source holds it, so one device lowering its level does not drop another's
 * interrupt. Each registered device is a source on the lines its table declares (irqs[]) and
 * drives them with vmm_dev_irq_set, `dev` being its state as registered (vmm_dev_reg.dev);
 * -ENOENT (and an error log line) for a device or line that was not registered. An
 * edge-triggered device pulses: true then false (an edge the controllers see only when no
 * other source holds the line). Every line controller sees every call, with the line's
 * resulting level (below); -ENODEV when there is none (the level is still recorded). */
int vmm_dev_irq_set(struct vmm_vm *vm, const void *dev, unsigned line, bool level);
/* Drives a line for a caller that is not a registered device (the core's tests): `level` is
 * ORed with the devices' sources on the line but not remembered as a source of its own. */
int vmm_irq_set(struct vmm_vm *vm, unsigned line, bool level);

/* Interrupt controllers have two sides. Line controllers take the lines devices drive: on a PC
 * both the 8259 pair and the IOAPIC sit on the ISA lines, and each gets every line change in
 * the order they registered. The CPU controller is the one the core asks what to inject: the
 * 8259 pair alone, or the local APIC, which reaches the 8259 through LINT0 (ExtINT). */
struct vmm_intc_ops {
    /* Line side; NULL for a controller without lines (the LAPIC). */
    void (*set_line)(void *intc, unsigned line, bool level);
    /* CPU side; both NULL for a controller that only takes lines (the IOAPIC).
     * pending: true and the vector when an interrupt is ready for the CPU (no state change).
     * ack: the CPU took `vector` (INTA, or the LAPIC's IRR to ISR); the core calls it right
     * after pending() returned that vector. */
    bool (*pending)(void *intc, uint8_t *vector);
    void (*ack)(void *intc, uint8_t vector);
    /* Optional (both or neither): an NMI is waiting / the CPU took it. */
    bool (*nmi_pending)(void *intc);
    void (*nmi_ack)(void *intc);
    /* Optional (both or neither; the LAPIC), for the paravirtual EOI (inject.c):
     * eoi_deferrable: may the EOI of `vector` wait until the guest says so in memory? It
     * may when `vector` is (taken: already; else: once acked, `vector` being the highest
     * request now) the only one in service and every other request needs that EOI before it
     * can be delivered anyway (a vmm_eoi_defer); eoi: an EOI as the EOI register's. */
    int (*eoi_deferrable)(void *intc, uint8_t vector, bool taken);
    void (*eoi)(void *intc);
};

/* eoi_deferrable's answers. */
enum vmm_eoi_defer {
    VMM_EOI_EXIT,        /* no: the guest writes the EOI register */
    VMM_EOI_DEFER,       /* yes, and nothing else is requested */
    VMM_EOI_DEFER_HOLDS, /* yes, but lower requests wait for that EOI (inject.c bounds how long) */
};
/* Registers a controller: with set_line it joins the line controllers (at most VMM_INTC_MAX,
 * -ENOSPC beyond); with pending/ack it becomes the CPU controller (-EEXIST if there is one).
 * -EINVAL for a table with neither side or half a side. */
int vmm_intc_register(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc);
/* The CPU side changes hands (the LAPIC taking over from the 8259 pair, which stays a line
 * controller): ops must have pending/ack (a set_line in it is ignored). *prev_ops and *prev
 * receive the controller replaced (NULL if none), the new one's ExtINT source. */
int vmm_intc_take_cpu(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc,
                      const struct vmm_intc_ops **prev_ops, void **prev);

/* The guest's time stamp counter now (host TSC plus the VM's offset), for a device that
 * compares against it (the LAPIC's TSC-deadline timer); it runs at vmm_host()->tsc_hz. */
uint64_t vmm_guest_tsc(struct vmm_vm *vm);

/* Checked guest-physical memory access for devices (DMA) and loaders: -EFAULT when any byte
 * of [gpa, gpa+len) is not guest RAM. */
int vmm_guest_read(struct vmm_vm *vm, uint64_t gpa, void *buf, size_t len);
int vmm_guest_write(struct vmm_vm *vm, uint64_t gpa, const void *buf, size_t len);
/* The VM's vCPU has something new to see (an interrupt request, input, a state change):
 * tells the host (vmm_host.vcpu_kick), which makes the CPU that runs it look. */
void vmm_vm_kick(struct vmm_vm *vm);
/* Whether the VM's vCPU runs on another CPU than this code (vmm_host.vcpu_elsewhere). */
bool vmm_vm_elsewhere(struct vmm_vm *vm);
/* Whether the host looks at the VM's rings often enough without being told (busy polling on
 * the vCPU's CPU, or I/O polling from another: vmm_host.io_polling): a device may turn its
 * guest's kicks off then. */
bool vmm_vm_io_polled(struct vmm_vm *vm);
/* Posted interrupts (dev.c): an MSI route called on another CPU than the vCPU's posts the
 * message with itself as fn instead of delivering it (false only when too many wait); the
 * vCPU's CPU calls vmm_posted_apply before each entry, which applies posted line changes
 * and calls each posted fn again, now on the right CPU. Lines post by themselves. */
bool vmm_post_msi(struct vmm_vm *vm, bool (*fn)(void *ctx, uint64_t addr, uint32_t data), void *ctx,
                  uint64_t addr, uint32_t data);
void vmm_posted_apply(struct vmm_vm *vm);

/* A 16-bit little-endian value in one access when aligned (gmem.h: shared ring indexes). */
int vmm_guest_read16(struct vmm_vm *vm, uint64_t gpa, uint16_t *v);
int vmm_guest_write16(struct vmm_vm *vm, uint64_t gpa, uint16_t v);

/* The VM's serial console: bytes the guest's UART sends go out through the host's console sink;
 * bytes typed on the console come back through the device's rx hook. */
void vmm_console_out(struct vmm_vm *vm, const uint8_t *buf, size_t len);
/* The device that is the VM's console (COM1's UART) registers its input hook; the core calls it
 * with bytes typed on the console (vmm_vm_console_write). Returns how many bytes it took (a full
 * receive FIFO takes fewer; the rest stay queued in the core). */
int vmm_console_register(struct vmm_vm *vm, size_t (*rx)(void *dev, const uint8_t *buf, size_t len),
                         void *dev);

/* The guest asked to stop (isa-debug-exit at 0xF4, VMMCALL exit, ACPI poweroff later): the VM
 * ends with that code (no fail stop). */
void vmm_vm_request_exit(struct vmm_vm *vm, int code, const char *why);
/* The guest asked for a reset (i8042 0xFE, triple fault policy is separate). */
void vmm_vm_request_reset(struct vmm_vm *vm);
/* A device found a state it cannot handle: fail stop this VM with the message. */
void vmm_vm_fail(struct vmm_vm *vm, const char *fmt, ...) PRINTF_FMT(2, 3);
const char *vmm_vm_name(const struct vmm_vm *vm);

#endif
