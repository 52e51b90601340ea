/* The VMMCALL exit: a small hypercall ABI for test guests (hypercall.h, docs/hypercalls.md).
 * VMMCALL is 0F 01 D9, three bytes; without NRIPS the next RIP is computed here. */
#include "hypercall.h"
#include "vm.h"
#include "../kernel/lib.h"

static uint8_t g_print_buf[VMM_HC_PRINT_MAX];

static int64_t hc_print(struct vmm_vcpu *vcpu, uint64_t gpa, uint64_t len)
{
    if (len > VMM_HC_PRINT_MAX) {
        return -E2BIG;
    }
    if (gmem_read(&vcpu->vm->mem, gpa, g_print_buf, (size_t)len) != 0) {
        return -EFAULT;
    }
    vmm_console_out(vcpu->vm, g_print_buf, (size_t)len);
    return 0;
}

enum vmm_action vmm_exit_vmmcall(struct vmm_vcpu *vcpu)
{
    struct vmm_regs *r = &vcpu->regs;
    int64_t ret;

    r->rip += 3;
    if (r->gpr[VMM_RAX] == VMM_HC_NOP) {
        /* Before anything else: a loop of it is the exit benchmark's bare round trip. */
        r->gpr[VMM_RAX] = 0;
        return VMM_ACT_CONTINUE;
    }
    if (vcpu->vmcb->save.cpl != 0) {
        r->gpr[VMM_RAX] = (uint64_t)(int64_t)-EPERM;
        return VMM_ACT_CONTINUE;
    }
    switch (r->gpr[VMM_RAX]) {
    case VMM_HC_PRINT:
        ret = hc_print(vcpu, r->gpr[VMM_RBX], r->gpr[VMM_RCX]);
        break;
    case VMM_HC_EXIT:
        r->gpr[VMM_RAX] = 0;
        vmm_vm_request_exit(vcpu->vm, (int)(int32_t)r->gpr[VMM_RBX], "hypercall");
        return VMM_ACT_YIELD;
    default:
        ret = -ENOSYS;
        break;
    }
    r->gpr[VMM_RAX] = (uint64_t)ret;
    return VMM_ACT_CONTINUE;
}
