/* The PC a guest sees: the device models of vmm/devices/ put together. The 8259 pair comes
 * first (it is the interrupt controller the others raise lines on); COM1 is the VM's console.
 *
 *   0x20/0xA0, 0x4D0   8259 pair and ELCR        0x40-0x43, 0x61  8254 PIT, port B
 *   0x60/0x64, 0x92    i8042 keyboard, port A    0x70/0x71        RTC and CMOS (IRQ 8)
 *   0x3F8 (IRQ 4)      COM1, the console         0x2F8 (IRQ 3)    COM2
 *   0x80, 0xE9         POST code, debugcon       0xF4             isa-debug-exit
 *   0xCF8-0xCFF        PCI host bridge (config mechanism #1, reset at 0xCF9) */
#include "vm.h"
#include "devices/debugport.h"
#include "devices/exitdev.h"
#include "devices/kbd.h"
#include "devices/pci_host.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "../kernel/log.h"

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

static int create_pci(struct vmm_vm *vm)
{
    struct vmm_pci_host *pci = NULL;
    int rc = vmm_dev_pci_host_create(vm, &pci);

    vm->pci_host = pci;
    return rc;
}

int vmm_machine_create(struct vmm_vm *vm)
{
    int rc = vmm_dev_pic_create(vm, NULL, NULL);

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
        rc = create_pci(vm);
    }
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: PC devices failed (%d)", vm->name, rc);
    }
    return rc;
}
