/* Guest-linear memory access for the core's exit handlers (string IO, the MMIO emulator's RAM
 * side, instruction fetch): the guest's own page tables walked with vmm_walk, then checked
 * guest-physical access. */
#ifndef PETREL_VMM_LINEAR_H
#define PETREL_VMM_LINEAR_H

#include "../kernel/types.h"
#include "walk.h"

struct vmm_vcpu;

/* What went wrong on a failed linear access (-EFAULT): the guest's #PF to inject. */
struct vmm_lin_fault {
    uint64_t addr; /* CR2 */
    uint64_t code; /* #PF error code */
};

/* A walk environment for the vCPU's current control registers. */
void vmm_lin_env(struct vmm_vcpu *vcpu, struct vmm_walk_env *env);
/* Access flags for the vCPU's privilege level (VMM_ACC_USER at CPL 3). */
unsigned vmm_lin_access(const struct vmm_vcpu *vcpu, bool write);
/* Translates one linear address: -EFAULT is a guest page fault (fault filled), -EIO a page
 * table outside guest RAM, -EINVAL a non-canonical address. */
int vmm_lin_to_gpa(struct vmm_vcpu *vcpu, uint64_t linear, bool write, uint64_t *gpa,
                   struct vmm_lin_fault *fault);
/* Copies between a host buffer and guest-linear memory, page by page. Besides the walk's
 * errors, -ERANGE when a page lands outside guest RAM (e.g. on MMIO). */
int vmm_lin_read(struct vmm_vcpu *vcpu, uint64_t linear, void *buf, size_t len,
                 struct vmm_lin_fault *fault);
int vmm_lin_write(struct vmm_vcpu *vcpu, uint64_t linear, const void *buf, size_t len,
                  struct vmm_lin_fault *fault);
/* Injects the #PF a failed access recorded (CR2 and error code). */
void vmm_lin_inject_pf(struct vmm_vcpu *vcpu, const struct vmm_lin_fault *fault);

#endif
