/* The fail-stop dump: the guest's registers, the VMCB control area and save area, one log
 * line each group (LOG_VM at error level, component exit), so the log holds everything
 * needed to see why a VM stopped. */
#include "vm.h"
#include "../kernel/log.h"

#define DUMP(vm, ...) LOG_VM(EXIT, LOG_LVL_ERROR, (vm)->name, __VA_ARGS__)

typedef unsigned long long ull;

static void dump_seg(const struct vmm_vm *vm, const char *name, const struct vmcb_seg *s)
{
    DUMP(vm, "  %-4s sel %04x attr %04x limit %08x base %016llx", name, s->selector, s->attrib,
         s->limit, (ull)s->base);
}

void vmm_dump_vcpu(const struct vmm_vcpu *vcpu)
{
    const struct vmm_vm *vm = vcpu->vm;
    const struct vmm_regs *r = &vcpu->regs;
    const struct vmcb_control *c = &vcpu->vmcb->ctl;
    const struct vmcb_save *s = &vcpu->vmcb->save;

    DUMP(vm, "registers: RIP %016llx RFLAGS %016llx CPL %u%s", (ull)r->rip, (ull)r->rflags, s->cpl,
         vcpu->halted ? " (halted)" : "");
    DUMP(vm, "  RAX %016llx RBX %016llx RCX %016llx RDX %016llx", (ull)r->gpr[VMM_RAX],
         (ull)r->gpr[VMM_RBX], (ull)r->gpr[VMM_RCX], (ull)r->gpr[VMM_RDX]);
    DUMP(vm, "  RSI %016llx RDI %016llx RBP %016llx RSP %016llx", (ull)r->gpr[VMM_RSI],
         (ull)r->gpr[VMM_RDI], (ull)r->gpr[VMM_RBP], (ull)r->gpr[VMM_RSP]);
    DUMP(vm, "  R8  %016llx R9  %016llx R10 %016llx R11 %016llx", (ull)r->gpr[VMM_R8],
         (ull)r->gpr[VMM_R9], (ull)r->gpr[VMM_R10], (ull)r->gpr[VMM_R11]);
    DUMP(vm, "  R12 %016llx R13 %016llx R14 %016llx R15 %016llx", (ull)r->gpr[VMM_R12],
         (ull)r->gpr[VMM_R13], (ull)r->gpr[VMM_R14], (ull)r->gpr[VMM_R15]);
    DUMP(vm, "  CR0 %016llx CR2 %016llx CR3 %016llx CR4 %016llx", (ull)r->cr0, (ull)r->cr2,
         (ull)r->cr3, (ull)r->cr4);
    DUMP(vm, "  EFER %016llx DR6 %016llx DR7 %016llx PAT %016llx", (ull)r->efer, (ull)s->dr6,
         (ull)s->dr7, (ull)s->g_pat);
    dump_seg(vm, "CS", &s->cs);
    dump_seg(vm, "SS", &s->ss);
    dump_seg(vm, "DS", &s->ds);
    dump_seg(vm, "ES", &s->es);
    dump_seg(vm, "FS", &s->fs);
    dump_seg(vm, "GS", &s->gs);
    dump_seg(vm, "TR", &s->tr);
    dump_seg(vm, "LDTR", &s->ldtr);
    dump_seg(vm, "GDTR", &s->gdtr);
    dump_seg(vm, "IDTR", &s->idtr);
    DUMP(vm, "  STAR %llx LSTAR %llx CSTAR %llx SFMASK %llx KGSBASE %llx", (ull)s->star,
         (ull)s->lstar, (ull)s->cstar, (ull)s->sfmask, (ull)s->kernel_gs_base);
    DUMP(vm, "  SYSENTER CS %llx ESP %llx EIP %llx", (ull)s->sysenter_cs, (ull)s->sysenter_esp,
         (ull)s->sysenter_eip);
    DUMP(vm, "vmcb control: exit %#llx (%s) info1 %#llx info2 %#llx exitintinfo %#llx",
         (ull)c->exit_code, vmm_exit_name(c->exit_code), (ull)c->exit_info1, (ull)c->exit_info2,
         (ull)c->exit_int_info);
    DUMP(vm, "  intercepts cr %08x dr %08x exc %08x misc1 %08x misc2 %08x", c->intercept_cr,
         c->intercept_dr, c->intercept_exc, c->intercept1, c->intercept2);
    DUMP(vm, "  asid %u tlb %u int_ctl %#llx int_state %#llx eventinj %#llx pending %#llx", c->asid,
         c->tlb_control, (ull)c->int_ctl, (ull)c->int_state, (ull)c->event_inj,
         (ull)vcpu->pending_event);
    DUMP(vm, "  np %llu ncr3 %#llx iopm %#llx msrpm %#llx tsc_offset %#llx", (ull)c->np_enable,
         (ull)c->n_cr3, (ull)c->iopm_base_pa, (ull)c->msrpm_base_pa, (ull)c->tsc_offset);
    DUMP(vm, "counters: %llu exits, %llu us in guest, %llu us in vmm", (ull)vm->stats.exits_total,
         (ull)(vm->stats.guest_ns / 1000), (ull)(vm->stats.vmm_ns / 1000));
}
