/* The vCPU scheduler: round robin over the VMs in creation order. A vCPU sleeping in HLT is
 * skipped until one of its devices raises an interrupt (its devices are polled here, so
 * timers in a sleeping guest still fire). */
#include "host.h"
#include "vm.h"

static struct vmm_vm *g_last; /* the VM that ran last */

void vmm_sched_forget(struct vmm_vm *vm)
{
    if (g_last == vm) {
        g_last = NULL;
    }
}

static bool runnable(struct vmm_vm *vm)
{
    bool pending;

    if (vm->state != VMM_VM_RUNNING || vm->vcpu == NULL) {
        return false;
    }
    if (!vm->vcpu->halted) {
        return true;
    }
    vm->busy++;
    pending = vmm_vcpu_poll(vm->vcpu, vmm_host()->now_ns());
    vm->busy--;
    vmm_vm_finish_exit(vm);
    return pending && vm->state == VMM_VM_RUNNING;
}

uint64_t vmm_sched_wake_deadline(void)
{
    uint64_t next = UINT64_MAX;

    for (struct vmm_vm *vm = vmm_vm_next(NULL); vm != NULL; vm = vm->next) {
        if (vm->state == VMM_VM_RUNNING && vm->vcpu != NULL && vm->vcpu->halted) {
            next = MIN(next, vm->vcpu->wake_ns);
        }
    }
    return next;
}

struct vmm_vcpu *vmm_sched_next(void)
{
    struct vmm_vm *first = vmm_vm_next(NULL);
    struct vmm_vm *start = (g_last != NULL && g_last->next != NULL) ? g_last->next : first;
    struct vmm_vm *vm = start;

    if (first == NULL) {
        return NULL;
    }
    do {
        if (runnable(vm)) {
            g_last = vm;
            return vm->vcpu;
        }
        vm = vm->next != NULL ? vm->next : first;
    } while (vm != start);
    return NULL;
}
