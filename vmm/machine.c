/* The PC a guest sees: the device models of vmm/devices/ put together. The 8259 pair comes
 * first (it is the interrupt controller the others raise lines on); COM1 is the VM's console.
 * With vm->cfg.apic, the local APIC and the IOAPIC come next, wired as on a PC: the LAPIC
 * takes the CPU's interrupts over from the 8259 (which reaches the CPU through LINT0 in
 * virtual wire mode), the IOAPIC sits on the ISA lines next to the 8259 (IRQ 0 on pin 2) and
 * sends to the LAPIC, and the LAPIC's EOIs of level-triggered vectors come back to it. Every
 * PC guest gets the MTRRs (msr.c), and CPUID says what is there.
 *
 *   0x20/0xA0, 0x4D0   8259 pair and ELCR        0x40-0x43, 0x61  8254 PIT, port B
 *   0x60/0x64, 0x92    i8042 keyboard, port A    0x70/0x71        RTC and CMOS (IRQ 8)
 *   0x3F8 (IRQ 4)      COM1, the console         0x2F8 (IRQ 3)    COM2
 *   0x80, 0xE9         POST code, debugcon       0xF4             isa-debug-exit
 *   0xCF8-0xCFF        PCI host bridge (config mechanism #1, reset at 0xCF9)
 *   0xFEB00000 (MMIO)  testdev, 4 KiB: the test guests' and benchmark's MMIO target
 *   0xFEC00000 (MMIO)  IOAPIC, 24 pins           0xFEE00000 (MMIO)  local APIC (apic only)
 *   MSR 0x1B, 0x6E0    APIC base, TSC deadline (apic only)
 *   PCI 00:03.0...     the configured NICs (vm->cfg.nics), one slot each: IO BAR at
 *                      0xC000 + 0x100 * i, memory BAR at 0xFE000000 + 0x10000 * i, INTA
 *                      on the line platform.h's swizzle gives the slot; with the APICs,
 *                      PCI functions' MSIs (virtio-net's MSI-X) go to the LAPIC */
#include "arch.h"
#include "host.h"
#include "platform.h"
#include "vm.h"
#include "devices/debugport.h"
#include "devices/exitdev.h"
#include "devices/ioapic.h"
#include "devices/kbd.h"
#include "devices/lapic.h"
#include "devices/msix.h"
#include "devices/ne2k.h"
#include "devices/pci_host.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/testdev.h"
#include "devices/rtl8139.h"
#include "devices/uart.h"
#include "devices/virtio_net.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

static bool ioapic_to_lapic(void *lapic, const struct vmm_apic_irq *irq)
{
    return vmm_lapic_deliver(lapic, irq);
}

static void lapic_eoi_to_ioapic(void *ioapic, uint8_t vector)
{
    vmm_ioapic_eoi(ioapic, vector);
}

/* A PCI function's MSI write (the PCI host's route): a message to the LAPIC, as the IOAPIC
 * sends them. Anything else (another address, a delivery mode other than fixed or lowest
 * priority) is refused; the device counts and logs it. */
static bool msi_to_lapic(void *lapic, uint64_t addr, uint32_t data)
{
    struct vmm_apic_irq irq;
    struct vmm_vm *vm = vmm_lapic_vm(lapic);

    if (vmm_vm_elsewhere(vm)) {
        return vmm_post_msi(vm, msi_to_lapic, lapic, addr, data);
    }
    if (vmm_msi_decode(addr, data, &irq) < 0) {
        return false;
    }
    return vmm_lapic_deliver(lapic, &irq);
}

static int create_apics(struct vmm_vm *vm, struct vmm_lapic **lapic_out)
{
    const struct vmm_arch_ops *a = vmm_arch();
    struct vmm_lapic_config lc = {
        .base = VMM_LAPIC_BASE,
        .id = VMM_LAPIC_ID,
        /* The deadline is compared with the guest's TSC: it must be readable and its rate
         * known. */
        .tsc_deadline = a != NULL && a->rdtsc != NULL && vmm_host()->tsc_hz != 0,
    };
    struct vmm_ioapic_config ic = {
        .base = VMM_IOAPIC_BASE,
        .id = VMM_IOAPIC_ID,
        .irq0_pin = VMM_ISA_IRQ0_GSI,
        .deliver = ioapic_to_lapic,
    };
    struct vmm_lapic *lapic = NULL;
    struct vmm_ioapic *ioapic = NULL;
    int rc = vmm_dev_lapic_create(vm, &lc, &lapic);

    if (rc != 0) {
        return rc;
    }
    ic.ctx = lapic;
    rc = vmm_dev_ioapic_create(vm, &ic, &ioapic);
    if (rc != 0) {
        return rc;
    }
    vmm_lapic_set_eoi_hook(lapic, lapic_eoi_to_ioapic, ioapic);
    rc = vmm_hook_msr(vm, MSR_APIC_BASE, vmm_lapic_msr_read, vmm_lapic_msr_write, lapic);
    if (rc == 0 && lc.tsc_deadline) {
        rc = vmm_hook_msr(vm, MSR_TSC_DEADLINE, vmm_lapic_msr_read, vmm_lapic_msr_write, lapic);
    }
    vm->cpuid.apic = true;
    vm->cpuid.tsc_deadline = lc.tsc_deadline;
    *lapic_out = lapic;
    return rc;
}

static int create_rtc(struct vmm_vm *vm)
{
    struct vmm_rtc_config cfg = {
        .mem_below_4g = vm->mem.size,
        .ncpus = 1,
    };

    return vmm_dev_rtc_create(vm, &cfg, NULL);
}

static int create_uarts(struct vmm_vm *vm)
{
    static const struct vmm_uart_config com1 = {"com1", 0x3F8, 4, true};
    static const struct vmm_uart_config com2 = {"com2", 0x2F8, 3, false};
    int rc = vmm_dev_uart_create(vm, &com1, NULL);

    return rc != 0 ? rc : vmm_dev_uart_create(vm, &com2, NULL);
}

/* With a LAPIC, functions' MSIs go to it (the NICs then offer MSI-X). */
static int create_pci(struct vmm_vm *vm, struct vmm_lapic *lapic)
{
    struct vmm_pci_host *pci = NULL;
    int rc = vmm_dev_pci_host_create(vm, &pci);

    vm->pci_host = pci;
    if (rc == 0 && lapic != NULL) {
        vmm_pci_host_set_msi(pci, msi_to_lapic, lapic);
    }
    return rc;
}

#define NIC_FIRST_SLOT 3
#define NIC_IO_BASE    0xC000u
#define NIC_MMIO_BASE  0xFE000000u

static int create_nics(struct vmm_vm *vm)
{
    for (size_t i = 0; i < vm->cfg.nnics && i < VMM_NICS_MAX; i++) {
        const struct vmm_nic_config *nc = &vm->cfg.nics[i];
        struct vmm_nic_dev_config dc = {
            .name = nc->name,
            .slot = NIC_FIRST_SLOT + (unsigned)i,
            .irq = (uint8_t)VMM_PCI_INTX_IRQ(NIC_FIRST_SLOT + i, 1),
            .io_base = (uint16_t)(NIC_IO_BASE + 0x100 * i),
            .mmio_base = NIC_MMIO_BASE + 0x10000ull * i,
            .no_offload = nc->no_offload,
        };
        int rc;

        if (nc->mac_set) {
            memcpy(dc.mac, nc->mac, 6);
        } else {
            vmm_nic_default_mac(vm->id, (unsigned)i, dc.mac);
        }
        switch (nc->model) {
        case VMM_NIC_VIRTIO:
            rc = vmm_dev_virtio_net_create(vm, vm->pci_host, &dc, NULL);
            break;
        case VMM_NIC_RTL8139:
            rc = vmm_dev_rtl8139_create(vm, vm->pci_host, &dc, NULL);
            break;
        case VMM_NIC_NE2K:
            rc = vmm_dev_ne2k_create(vm, vm->pci_host, &dc, NULL);
            break;
        default:
            LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: NIC %s: model %s not available yet",
                   vm->name, nc->name, vmm_nic_model_name(nc->model));
            rc = -ENOSYS;
            break;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int vmm_machine_create(struct vmm_vm *vm)
{
    struct vmm_lapic *lapic = NULL;
    int rc = vmm_dev_pic_create(vm, NULL, NULL);

    if (rc == 0 && vm->cfg.apic) {
        rc = create_apics(vm, &lapic);
    }
    if (rc == 0) {
        rc = vmm_dev_pit_create(vm, NULL, NULL);
    }
    if (rc == 0) {
        rc = create_rtc(vm);
    }
    if (rc == 0) {
        rc = create_uarts(vm);
    }
    if (rc == 0) {
        rc = vmm_dev_kbd_create(vm, NULL, NULL);
    }
    if (rc == 0) {
        rc = vmm_dev_debugport_create(vm, NULL, NULL);
    }
    if (rc == 0) {
        rc = vmm_dev_exitdev_create(vm, NULL, NULL);
    }
    if (rc == 0) {
        rc = create_pci(vm, lapic);
    }
    if (rc == 0) {
        rc = vmm_dev_testdev_create(vm, NULL, NULL);
    }
    if (rc == 0) {
        rc = create_nics(vm);
    }
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: PC devices failed (%d)", vm->name, rc);
    }
    vm->cpuid.mtrr = true;
    return rc;
}
