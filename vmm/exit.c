/* Exit dispatch: one switch on the SVM exit code. Handlers update the register file and say
 * whether to re-enter the guest or go back to the main loop. Anything not listed is a fail
 * stop with the exit information and a full register and VMCB dump.
 *
 * Without NRIPS (QEMU TCG) the next RIP is the handler's business: IOIO gives it in EXITINFO2,
 * the others have fixed lengths (CPUID 0F A2, HLT F4, RDMSR/WRMSR 0F 32/30, VMMCALL 0F 01 D9,
 * INVD 0F 08). */
#include "arch.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

size_t vmm_exit_slot(uint64_t code)
{
    if (code < 0x100) {
        return (size_t)code;
    }
    if (code == SVM_EXIT_NPF) {
        return VMM_EXIT_SLOT_NPF;
    }
    if ((uint32_t)code == SVM_EXIT_INVALID_LO32) {
        return VMM_EXIT_SLOT_INVALID;
    }
    return VMM_EXIT_SLOT_OTHER;
}

static enum vmm_action exit_cpuid(struct vmm_vcpu *vcpu)
{
    struct vmm_regs *r = &vcpu->regs;
    uint32_t leaf = (uint32_t)r->gpr[VMM_RAX];
    uint32_t sub = (uint32_t)r->gpr[VMM_RCX];
    uint32_t out[4];

    vmm_arch()->cpuid(leaf, sub, out);
    vmm_cpuid_filter(&vcpu->vm->cpuid, leaf, sub, out);
    r->gpr[VMM_RAX] = out[0];
    r->gpr[VMM_RBX] = out[1];
    r->gpr[VMM_RCX] = out[2];
    r->gpr[VMM_RDX] = out[3];
    r->rip += 2;
    return VMM_ACT_CONTINUE;
}

static enum vmm_action exit_hlt(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;

    vcpu->regs.rip += 1;
    vm->stats.halts++;
    if (!(vcpu->regs.rflags & VMM_RFLAGS_IF)) {
        /* Nothing but NMI, SMI or INIT could wake it, and none of those is modelled. */
        vmm_vm_end(vm, VMM_VM_STOPPED, 0, "guest halted with interrupts disabled");
        return VMM_ACT_YIELD;
    }
    if (vmm_intc_pending(vm)) {
        return VMM_ACT_CONTINUE; /* an interrupt is already waiting: HLT ends at once */
    }
    vcpu->halted = true;
    return VMM_ACT_YIELD;
}

static const char *npf_access(uint64_t err)
{
    if (err & SVM_NPF_FETCH) {
        return "fetch";
    }
    return (err & SVM_NPF_WRITE) ? "write" : "read";
}

static enum vmm_action exit_npf(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    uint64_t err = vcpu->vmcb->ctl.exit_info1;
    uint64_t gpa = vcpu->vmcb->ctl.exit_info2;

    if (!gmem_is_ram(&vm->mem, gpa) && vmm_mmio_claimed(vm, gpa) && !(err & SVM_NPF_FETCH)) {
        return vmm_exit_mmio(vcpu, gpa);
    }
    vmm_vm_fail(vm, "guest %s of guest-physical %#llx (%s) at RIP %#llx", npf_access(err),
                (unsigned long long)gpa,
                gmem_is_ram(&vm->mem, gpa) ? "RAM, unexpected nested fault"
                : (err & SVM_NPF_GPT)      ? "outside RAM, during a page-table walk"
                                           : "outside RAM and MMIO",
                (unsigned long long)vcpu->regs.rip);
    return VMM_ACT_YIELD;
}

static enum vmm_action fail_unhandled(struct vmm_vcpu *vcpu, uint64_t code)
{
    const struct vmcb_control *c = &vcpu->vmcb->ctl;

    vmm_vm_fail(vcpu->vm, "unhandled exit %#llx (%s), info1 %#llx info2 %#llx",
                (unsigned long long)code, vmm_exit_name(code), (unsigned long long)c->exit_info1,
                (unsigned long long)c->exit_info2);
    return VMM_ACT_YIELD;
}

enum vmm_action vmm_exit_dispatch(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    uint64_t code = vcpu->vmcb->ctl.exit_code;

    vm->stats.exits[vmm_exit_slot(code)]++;
    vm->stats.exits_total++;
    vmm_inject_after_exit(vcpu);
    if ((uint32_t)code == SVM_EXIT_INVALID_LO32) {
        vmm_vm_fail(vm, "VMRUN refused the guest state (exit code %#llx)",
                    (unsigned long long)code);
        return VMM_ACT_YIELD;
    }
    switch (code) {
    case SVM_EXIT_INTR:
    case SVM_EXIT_NMI:
        /* The host's interrupt: taken when the world switch set GIF again. */
        return VMM_ACT_YIELD;
    case SVM_EXIT_VINTR:
        vmm_inject_window_exit(vcpu);
        return VMM_ACT_CONTINUE;
    case SVM_EXIT_CPUID:
        return exit_cpuid(vcpu);
    case SVM_EXIT_HLT:
        return exit_hlt(vcpu);
    case SVM_EXIT_IOIO:
        return vmm_exit_ioio(vcpu);
    case SVM_EXIT_MSR:
        return vmm_exit_msr(vcpu);
    case SVM_EXIT_VMMCALL:
        return vmm_exit_vmmcall(vcpu);
    case SVM_EXIT_NPF:
        return exit_npf(vcpu);
    case SVM_EXIT_SHUTDOWN:
        vmm_vm_fail(vm, "triple fault (shutdown) at RIP %#llx", (unsigned long long)vcpu->regs.rip);
        return VMM_ACT_YIELD;
    case SVM_EXIT_INVD:
        vcpu->regs.rip += 2; /* INVD would drop dirty host cache lines: do nothing */
        return VMM_ACT_CONTINUE;
    case SVM_EXIT_RDPMC:
        vmm_inject_exception(vcpu, 13, true, 0); /* no PMU is offered */
        return VMM_ACT_CONTINUE;
    case SVM_EXIT_VMRUN:
    case SVM_EXIT_VMLOAD:
    case SVM_EXIT_VMSAVE:
    case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI:
    case SVM_EXIT_SKINIT:
    case SVM_EXIT_INVLPGA:
    case SVM_EXIT_RDTSCP:
    case SVM_EXIT_MONITOR:
    case SVM_EXIT_MWAIT:
    case SVM_EXIT_XSETBV:
        /* Features hidden by the CPUID policy: the instruction is invalid for the guest. */
        vmm_inject_exception(vcpu, 6, false, 0);
        return VMM_ACT_CONTINUE;
    default:
        return fail_unhandled(vcpu, code);
    }
}

const char *vmm_exit_name(uint64_t code)
{
    static const char *const exc[32] = {
        "#DE",    "#DB",    "NMI exc", "#BP",    "#OF", "#BR", "#UD",    "#NM",
        "#DF",    "exc 9",  "#TS",     "#NP",    "#SS", "#GP", "#PF",    "exc 15",
        "#MF",    "#AC",    "#MC",     "#XM",    "#VE", "#CP", "exc 22", "exc 23",
        "exc 24", "exc 25", "exc 26",  "exc 27", "#HV", "#VC", "#SX",    "exc 31"};

    if ((uint32_t)code == SVM_EXIT_INVALID_LO32) {
        return "invalid";
    }
    if (code < 0x10) {
        return "cr read";
    }
    if (code < 0x20) {
        return "cr write";
    }
    if (code < 0x40) {
        return "dr access";
    }
    if (code < 0x60) {
        return exc[code - 0x40];
    }
    switch (code) {
    case SVM_EXIT_INTR:
        return "intr";
    case SVM_EXIT_NMI:
        return "nmi";
    case SVM_EXIT_SMI:
        return "smi";
    case SVM_EXIT_INIT:
        return "init";
    case SVM_EXIT_VINTR:
        return "vintr";
    case SVM_EXIT_RDTSC:
        return "rdtsc";
    case SVM_EXIT_RDPMC:
        return "rdpmc";
    case SVM_EXIT_CPUID:
        return "cpuid";
    case SVM_EXIT_RSM:
        return "rsm";
    case SVM_EXIT_IRET:
        return "iret";
    case SVM_EXIT_INVD:
        return "invd";
    case SVM_EXIT_PAUSE:
        return "pause";
    case SVM_EXIT_HLT:
        return "hlt";
    case SVM_EXIT_INVLPG:
        return "invlpg";
    case SVM_EXIT_INVLPGA:
        return "invlpga";
    case SVM_EXIT_IOIO:
        return "ioio";
    case SVM_EXIT_MSR:
        return "msr";
    case SVM_EXIT_TASK_SWITCH:
        return "task switch";
    case SVM_EXIT_SHUTDOWN:
        return "shutdown";
    case SVM_EXIT_VMRUN:
        return "vmrun";
    case SVM_EXIT_VMMCALL:
        return "vmmcall";
    case SVM_EXIT_VMLOAD:
        return "vmload";
    case SVM_EXIT_VMSAVE:
        return "vmsave";
    case SVM_EXIT_STGI:
        return "stgi";
    case SVM_EXIT_CLGI:
        return "clgi";
    case SVM_EXIT_SKINIT:
        return "skinit";
    case SVM_EXIT_RDTSCP:
        return "rdtscp";
    case SVM_EXIT_WBINVD:
        return "wbinvd";
    case SVM_EXIT_MONITOR:
        return "monitor";
    case SVM_EXIT_MWAIT:
        return "mwait";
    case SVM_EXIT_XSETBV:
        return "xsetbv";
    case SVM_EXIT_NPF:
        return "npf";
    default:
        return "other";
    }
}

const char *vmm_exit_slot_name(size_t slot)
{
    if (slot < 0x100) {
        const char *n = vmm_exit_name(slot);

        return strcmp(n, "other") == 0 ? NULL : n;
    }
    switch (slot) {
    case VMM_EXIT_SLOT_NPF:
        return "npf";
    case VMM_EXIT_SLOT_INVALID:
        return "invalid";
    case VMM_EXIT_SLOT_OTHER:
        return "other";
    default:
        return NULL;
    }
}
