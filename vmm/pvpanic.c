/* pvpanic (acpi.h): QEMU's ISA panic-notification port, which the DSDT describes as device
 * QEMU0001. Reading it gives the events the guest may report (bit 0: panicked, bit 1: crash
 * kernel loaded); writing "panicked" fails the VM stop with a dump, as a triple fault does, so a
 * panicked guest neither spins forever nor goes unnoticed. */
#include "acpi.h"
#include "host.h"
#include "platform.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define PVPANIC_NAME         "pvpanic"
#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

struct vmm_pvpanic {
    struct vmm_vm *vm;
};

static int pvpanic_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_pvpanic *p = dev;

    if (!write) {
        *val = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
        return VMM_HANDLED;
    }
    if (*val & PVPANIC_PANICKED) {
        vmm_vm_fail(p->vm, "guest kernel panic (pvpanic)");
    } else if (*val & PVPANIC_CRASH_LOADED) {
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(p->vm),
               "vm %s: guest kernel crashed, its crash kernel runs (pvpanic)", vmm_vm_name(p->vm));
    }
    return VMM_HANDLED;
}

static void pvpanic_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_pvpanic_create(struct vmm_vm *vm)
{
    struct vmm_pvpanic *p;
    struct vmm_dev_reg reg;
    int rc;

    for (size_t i = 0; i < vm->ndevs; i++) {
        if (strcmp(vm->devs[i].name, PVPANIC_NAME) == 0) {
            return -EEXIST;
        }
    }
    p = vmm_host()->zalloc(sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->vm = vm;
    memset(&reg, 0, sizeof(reg));
    reg.name = PVPANIC_NAME;
    reg.dev = p;
    reg.io[0] = (struct vmm_dev_io_range){.base = VMM_PVPANIC_PORT, .count = 1, .fn = pvpanic_io};
    reg.nio = 1;
    reg.destroy = pvpanic_destroy;
    rc = vmm_dev_register(vm, &reg);
    if (rc != 0) {
        vmm_host()->free(p);
    }
    return rc;
}
