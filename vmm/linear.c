/* Guest-linear memory access (linear.h). */
#include "linear.h"
#include "vm.h"
#include "../kernel/lib.h"

static int read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct vmm_vcpu *vcpu = ctx;

    return gmem_read(&vcpu->vm->mem, gpa, buf, len);
}

static int write_gpa(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct vmm_vcpu *vcpu = ctx;

    return gmem_write(&vcpu->vm->mem, gpa, buf, len);
}

void vmm_lin_env(struct vmm_vcpu *vcpu, struct vmm_walk_env *env)
{
    vmm_walk_env_init(env, &vcpu->regs, read_gpa, write_gpa, vcpu);
}

unsigned vmm_lin_access(const struct vmm_vcpu *vcpu, bool write)
{
    unsigned acc = write ? VMM_ACC_WRITE : 0;

    if (vcpu->vmcb->save.cpl == 3) {
        acc |= VMM_ACC_USER;
    }
    return acc;
}

int vmm_lin_to_gpa(struct vmm_vcpu *vcpu, uint64_t linear, bool write, uint64_t *gpa,
                   struct vmm_lin_fault *fault)
{
    struct vmm_walk_env env;
    uint64_t code = 0;
    int rc;

    vmm_lin_env(vcpu, &env);
    rc = vmm_walk(&env, linear, vmm_lin_access(vcpu, write), gpa, &code);
    if (rc == -EFAULT && fault != NULL) {
        fault->addr = linear;
        fault->code = code;
    }
    return rc;
}

static int lin_copy(struct vmm_vcpu *vcpu, uint64_t linear, uint8_t *buf, size_t len, bool write,
                    struct vmm_lin_fault *fault)
{
    while (len > 0) {
        size_t n = MIN(len, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
        uint64_t gpa;
        int rc = vmm_lin_to_gpa(vcpu, linear, write, &gpa, fault);

        if (rc != 0) {
            return rc;
        }
        rc = write ? gmem_write(&vcpu->vm->mem, gpa, buf, n)
                   : gmem_read(&vcpu->vm->mem, gpa, buf, n);
        if (rc != 0) {
            return -ERANGE;
        }
        linear += n;
        buf += n;
        len -= n;
    }
    return 0;
}

int vmm_lin_read(struct vmm_vcpu *vcpu, uint64_t linear, void *buf, size_t len,
                 struct vmm_lin_fault *fault)
{
    return lin_copy(vcpu, linear, buf, len, false, fault);
}

int vmm_lin_write(struct vmm_vcpu *vcpu, uint64_t linear, const void *buf, size_t len,
                  struct vmm_lin_fault *fault)
{
    return lin_copy(vcpu, linear, (uint8_t *)(uintptr_t)buf, len, true, fault);
}

void vmm_lin_inject_pf(struct vmm_vcpu *vcpu, const struct vmm_lin_fault *fault)
{
    vcpu->regs.cr2 = fault->addr;
    vmm_inject_exception(vcpu, 14, true, (uint32_t)fault->code);
}
