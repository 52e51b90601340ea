/* The VM's PCI host bridge: configuration mechanism #1 (address register 0xCF8 as a dword, data
 * window 0xCFC-0xCFF in byte, word or dword accesses at any offset that stays inside the dword)
 * for bus 0, the PIIX reset control register at 0xCF9 (byte; bit 2 requests a reset), and a
 * table of bus-0 functions. The bridge itself is 00:00.0, 8086:1237 (an i440FX), whose
 * registers 0x40-0xFF are plain read/write bytes (PAM, SMRAM: stored, not acted on).
 * Functions nobody added, other buses, and accesses with the enable bit 31 clear read all ones
 * and drop writes.
 *
 * Adding a function (what a NIC model does):
 *
 *     struct vmm_pci_func_config fc = {
 *         .vendor = 0x10EC, .device = 0x8139, .class_code = 0x020000, .irq_pin = 1,
 *         .irq_line = 11,
 *         .bars = {[0] = {.type = VMM_PCI_BAR_IO, .size = 256, .addr = 0xC000},
 *                  [1] = {.type = VMM_PCI_BAR_MEM32, .size = 256, .addr = 0xFEB00000}},
 *         .bar_changed = nic_bar_changed, .ctx = nic,
 *     };
 *     rc = vmm_pci_add_func(host, 3, 0, &fc, &func);
 *
 * The configuration space is 256 bytes with a write mask per byte. The header is built from
 * the config: vendor/device, command (writable bits: IO, memory, bus master, parity, SERR,
 * INTx disable), status (capability list bit when cap_ptr is set), revision, class, cache line
 * size and latency timer (writable), header type 0 (bit 7 set on function 0 when the device has
 * other functions), BARs, subsystem IDs, capability pointer, interrupt line (writable, starts at
 * irq_line) and pin. The expansion ROM BAR reads 0. Bytes 0x40-0xFF start as zero and read-only;
 * a device lays out its capabilities and registers there through vmm_pci_func_cfg() and
 * vmm_pci_func_wmask() (for example after add, before the guest runs).
 *
 * BARs: a BAR of `size` bytes (a power of two; IO 4-256, memory at least 16) has its low address
 * bits read-only zero, so writing all ones and reading back gives ~(size - 1) | type bits, the
 * standard sizing. A 64-bit memory BAR takes two slots (the next must be VMM_PCI_BAR_NONE). An
 * initial address stands for what firmware would assign. After every config write, bar_changed
 * is called for each BAR whose decoded address or enable (command IO/memory bit, non-zero
 * address) changed: that is where a device moves its IO/MMIO handling. (Guests turn decoding off
 * while they size BARs, so the all-ones address is normally never enabled.)
 *
 * Device-specific registers: cfg_read/cfg_write see every access to the function first
 * (offset, size 1/2/4, never crossing a dword) and return VMM_HANDLED (done; for reads *val is
 * the value) or VMM_NOT_MINE (the generic bytes and write mask apply). The interrupt line itself
 * is the device's business: it raises vmm_irq_set on its line (and honours INTx disable, command
 * bit 10, see vmm_pci_func_command).
 *
 * Message signalled interrupts: the machine names where a function's MSI writes go
 * (vmm_pci_host_set_msi: the LAPIC route of machine.c) and a device sends one with
 * vmm_pci_func_msi, which is a memory write by the function: dropped while bus mastering
 * (command bit 2) is off, as on real hardware. A device offers MSI-X (msix.h) only when the
 * host has a route (vmm_pci_host_has_msi), so a guest without an APIC keeps INTx. */
#ifndef PETREL_VMM_DEV_PCI_HOST_H
#define PETREL_VMM_DEV_PCI_HOST_H

#include "../vmm_dev.h"

#define VMM_PCI_DEVS     32
#define VMM_PCI_FUNCS    8
#define VMM_PCI_CFG_SIZE 256

#define VMM_PCI_CMD_IO           0x0001
#define VMM_PCI_CMD_MEM          0x0002
#define VMM_PCI_CMD_MASTER       0x0004
#define VMM_PCI_CMD_INTX_DISABLE 0x0400

struct vmm_pci_host;
struct vmm_pci_func;

enum vmm_pci_bar_type {
    VMM_PCI_BAR_NONE = 0,
    VMM_PCI_BAR_IO,
    VMM_PCI_BAR_MEM32,
    VMM_PCI_BAR_MEM64,
};

struct vmm_pci_bar {
    enum vmm_pci_bar_type type;
    uint64_t size;
    bool prefetch; /* memory BARs */
    uint64_t addr; /* initial address, 0 for unassigned */
};

struct vmm_pci_func_config {
    uint16_t vendor;
    uint16_t device;
    uint8_t revision;
    uint32_t class_code; /* class << 16 | subclass << 8 | programming interface */
    uint16_t subsys_vendor;
    uint16_t subsys_id;
    uint16_t command; /* initial command register */
    uint8_t irq_pin;  /* 0 none, 1-4 INTA#-INTD# */
    uint8_t irq_line; /* initial interrupt line register */
    uint8_t cap_ptr;  /* first capability (0x40-0xFC, dword aligned), 0 for none */
    struct vmm_pci_bar bars[6];
    int (*cfg_read)(void *ctx, unsigned off, unsigned size, uint32_t *val);
    int (*cfg_write)(void *ctx, unsigned off, unsigned size, uint32_t val);
    void (*bar_changed)(void *ctx, unsigned bar, uint64_t addr, bool enabled);
    void *ctx;
};

/* The host bridge at 00:00.0; no configuration. */
int vmm_dev_pci_host_create(struct vmm_vm *vm, struct vmm_pci_host **out);

/* Adds function dev:fn on bus 0. -EINVAL for a bad slot or config (BAR sizes, cap_ptr),
 * -EEXIST when taken, -ENOMEM. The host owns the function (freed with it). */
int vmm_pci_add_func(struct vmm_pci_host *h, unsigned dev, unsigned fn,
                     const struct vmm_pci_func_config *cfg, struct vmm_pci_func **out);

/* The function's 256 configuration bytes and their write masks (bits the guest may change). */
uint8_t *vmm_pci_func_cfg(struct vmm_pci_func *f);
uint8_t *vmm_pci_func_wmask(struct vmm_pci_func *f);
uint16_t vmm_pci_func_command(const struct vmm_pci_func *f);
/* The address BAR `bar` decodes now (0 for no BAR), and whether decoding is on. */
uint64_t vmm_pci_func_bar(const struct vmm_pci_func *f, unsigned bar, bool *enabled);

/* Where MSI writes go: fn(ctx, address, data) returns false when nothing accepted the message.
 * fn NULL removes the route. */
typedef bool (*vmm_pci_msi_fn)(void *ctx, uint64_t addr, uint32_t data);
void vmm_pci_host_set_msi(struct vmm_pci_host *h, vmm_pci_msi_fn fn, void *ctx);
bool vmm_pci_host_has_msi(const struct vmm_pci_host *h);
/* Function f writes data to addr as an MSI: 0 when a LAPIC accepted it, -EPERM with bus
 * mastering off, -ENODEV without a route, -EINVAL when the route refused it (bad address or
 * delivery mode, nobody addressed). The caller logs. */
int vmm_pci_func_msi(struct vmm_pci_func *f, uint64_t addr, uint32_t data);

#endif
