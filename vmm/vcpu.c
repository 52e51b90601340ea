/* The vCPU: VMCB set-up (intercepts, ASID, nested paging), its architectural reset state,
 * the register file's trips to and from the VMCB, and the run loop the host's main loop
 * calls: poll devices, inject, VMRUN, dispatch the exit, until the main loop is needed. */
#include "arch.h"
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define ASID_OWNERS  256
#define GPAT_DEFAULT 0x0007040600070406ull

/* Intercepted always: host interrupts, what the CPUID policy hides, what would touch host
 * state, and the exits the VMM emulates (CPUID, HLT, IO, MSR, VMMCALL, shutdown). */
#define INTERCEPT1                                                                                 \
    (SVM_I1_INTR | SVM_I1_NMI | SVM_I1_CPUID | SVM_I1_HLT | SVM_I1_IOIO | SVM_I1_MSR |             \
     SVM_I1_SHUTDOWN | SVM_I1_INVD | SVM_I1_RDPMC | (1u << 26))
#define INTERCEPT2                                                                                 \
    (SVM_I2_VMRUN | SVM_I2_VMMCALL | SVM_I2_VMLOAD | SVM_I2_VMSAVE | SVM_I2_STGI | SVM_I2_CLGI |   \
     SVM_I2_SKINIT | (1u << 7) | SVM_I2_MONITOR | SVM_I2_MWAIT | SVM_I2_XSETBV)

/* Which vCPU last ran with each ASID: another one there means its TLB entries are stale. */
static struct vmm_vcpu *g_asid_owner[ASID_OWNERS];

uint32_t vmm_asid_for(unsigned vm_id)
{
    uint32_t n = vmm_global()->nasids;

    if (n < 2) {
        return 1;
    }
    n = MIN(n, (uint32_t)ASID_OWNERS) - 1;
    return 1 + (vm_id - 1) % n;
}

static void fpu_init(uint8_t *fx)
{
    uint16_t fcw = 0x037F;
    uint32_t mxcsr = 0x1F80;

    memset(fx, 0, 512);
    memcpy(fx, &fcw, sizeof(fcw));
    memcpy(fx + 24, &mxcsr, sizeof(mxcsr));
}

static void set_seg(struct vmm_segment *s, uint16_t sel, uint16_t attr, uint32_t limit,
                    uint64_t base)
{
    s->selector = sel;
    s->attrib = attr;
    s->limit = limit;
    s->base = base;
}

static void put_seg(struct vmcb_seg *d, const struct vmm_segment *s)
{
    d->selector = s->selector;
    d->attrib = s->attrib;
    d->limit = s->limit;
    d->base = s->base;
}

static void get_seg(struct vmm_segment *d, const struct vmcb_seg *s)
{
    d->selector = s->selector;
    d->attrib = s->attrib;
    d->limit = s->limit;
    d->base = s->base;
}

void vmm_vcpu_set_pm32(struct vmm_vcpu *vcpu, uint32_t eip, uint32_t eax, uint32_t ebx)
{
    struct vmm_regs *r = &vcpu->regs;
    struct vmcb_save *s = &vcpu->vmcb->save;
    /* Flat 4 GiB: code execute/read, data read/write, both accessed, 32-bit, 4 KiB granular. */
    const uint16_t code = 0xB | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
    const uint16_t data = 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;

    memset(r->gpr, 0, sizeof(r->gpr));
    r->gpr[VMM_RAX] = eax;
    r->gpr[VMM_RBX] = ebx;
    r->gpr[VMM_RSP] = VMM_BOOT_STACK_TOP;
    r->rip = eip;
    r->rflags = 0x2;
    r->cr0 = CR0_PE | CR0_ET;
    r->cr2 = 0;
    r->cr3 = 0;
    r->cr4 = 0;
    r->efer = EFER_SVME;
    set_seg(&r->seg[VMM_CS], 0x08, code, 0xFFFFFFFF, 0);
    for (int i = 0; i < VMM_NSEG; i++) {
        if (i != VMM_CS) {
            set_seg(&r->seg[i], 0x10, data, 0xFFFFFFFF, 0);
        }
    }
    s->cpl = 0;
    s->tr = (struct vmcb_seg){0, 0x8B, 0xFFFF, 0}; /* busy 32-bit TSS, as after reset */
    s->ldtr = (struct vmcb_seg){0, 0x82, 0xFFFF, 0};
    s->gdtr = (struct vmcb_seg){0, 0, 0xFFFF, 0};
    s->idtr = (struct vmcb_seg){0, 0, 0xFFFF, 0};
}

void vmm_vcpu_reset_state(struct vmm_vcpu *vcpu)
{
    const struct vmm_global *g = vmm_global();
    struct vmm_vm *vm = vcpu->vm;
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    struct vmcb_save *s = &vcpu->vmcb->save;

    memset(vcpu->vmcb, 0, sizeof(*vcpu->vmcb));
    memset(&vcpu->regs, 0, sizeof(vcpu->regs));
    c->intercept1 = INTERCEPT1;
    c->intercept2 = INTERCEPT2;
    c->iopm_base_pa = g->iopm_pa;
    c->msrpm_base_pa = g->msrpm_pa;
    c->asid = vm->asid;
    /* The guest's IF masks only virtual interrupts; host interrupts always exit. */
    c->int_ctl = SVM_INT_V_INTR_MASKING;
    c->np_enable = 1;
    c->n_cr3 = vm->npt.root_pa;
    s->g_pat = GPAT_DEFAULT;
    s->dr6 = 0xFFFF0FF0;
    s->dr7 = 0x400;
    vmm_vcpu_set_pm32(vcpu, 0, 0, 0);
    fpu_init(vcpu->fpu);
    vcpu->halted = false;
    vcpu->fresh = true;
    vcpu->wake_ns = UINT64_MAX;
    vcpu->pending_event = 0;
    vcpu->virq_armed = false;
    vcpu->exit_rip = 0;
    vcpu->pv_eoi_msr = 0; /* a reset turns the paravirtual EOI off */
    vcpu->pv_eoi_set = false;
    vcpu->pv_eoi_hold_until = UINT64_MAX;
    vmm_vcpu_regs_to_vmcb(vcpu);
}

int vmm_vcpu_create(struct vmm_vm *vm)
{
    const struct vmm_host *h = vmm_host();
    struct vmm_vcpu *vcpu = h->zalloc(sizeof(*vcpu));

    if (vcpu == NULL) {
        return -ENOMEM;
    }
    if (((uintptr_t)vcpu->fpu & 15) != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vCPU state not 16-byte aligned");
        h->free(vcpu);
        return -EINVAL;
    }
    if (h->page_alloc(1, &vcpu->vmcb_pa) != 0) {
        h->free(vcpu);
        return -ENOMEM;
    }
    vcpu->vmcb = h->phys_to_virt(vcpu->vmcb_pa);
    vcpu->vm = vm;
    vm->vcpu = vcpu;
    vmm_vcpu_reset_state(vcpu);
    return 0;
}

void vmm_vcpu_destroy(struct vmm_vcpu *vcpu)
{
    const struct vmm_host *h = vmm_host();

    for (size_t i = 0; i < ASID_OWNERS; i++) {
        if (g_asid_owner[i] == vcpu) {
            g_asid_owner[i] = NULL;
        }
    }
    vmm_arch()->vcpu_gone(vcpu);
    h->page_free(vcpu->vmcb_pa, 1);
    h->free(vcpu);
}

void vmm_vcpu_regs_from_vmcb(struct vmm_vcpu *vcpu)
{
    struct vmm_regs *r = &vcpu->regs;
    const struct vmcb_save *s = &vcpu->vmcb->save;

    r->gpr[VMM_RAX] = s->rax;
    r->gpr[VMM_RSP] = s->rsp;
    r->rip = s->rip;
    r->rflags = s->rflags;
    r->cr0 = s->cr0;
    r->cr2 = s->cr2;
    r->cr3 = s->cr3;
    r->cr4 = s->cr4;
    r->efer = s->efer;
    get_seg(&r->seg[VMM_ES], &s->es);
    get_seg(&r->seg[VMM_CS], &s->cs);
    get_seg(&r->seg[VMM_SS], &s->ss);
    get_seg(&r->seg[VMM_DS], &s->ds);
    get_seg(&r->seg[VMM_FS], &s->fs);
    get_seg(&r->seg[VMM_GS], &s->gs);
}

void vmm_vcpu_regs_to_vmcb(struct vmm_vcpu *vcpu)
{
    const struct vmm_regs *r = &vcpu->regs;
    struct vmcb_save *s = &vcpu->vmcb->save;

    s->rax = r->gpr[VMM_RAX];
    s->rsp = r->gpr[VMM_RSP];
    s->rip = r->rip;
    s->rflags = r->rflags;
    s->cr0 = r->cr0;
    s->cr2 = r->cr2;
    s->cr3 = r->cr3;
    s->cr4 = r->cr4;
    s->efer = r->efer | EFER_SVME; /* VMRUN refuses a guest without it */
    put_seg(&s->es, &r->seg[VMM_ES]);
    put_seg(&s->cs, &r->seg[VMM_CS]);
    put_seg(&s->ss, &r->seg[VMM_SS]);
    put_seg(&s->ds, &r->seg[VMM_DS]);
    put_seg(&s->fs, &r->seg[VMM_FS]);
    put_seg(&s->gs, &r->seg[VMM_GS]);
}

bool vmm_vcpu_poll(struct vmm_vcpu *vcpu, uint64_t now)
{
    struct vmm_vm *vm = vcpu->vm;

    vmm_posted_apply(vm);
    vmm_console_deliver(vm);
    vcpu->wake_ns = vmm_devs_poll(vm, now);
    return vmm_intc_pending(vm);
}

static void enter(struct vmm_vcpu *vcpu)
{
    const struct vmm_host *h = vmm_host();
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    size_t slot = c->asid % ASID_OWNERS;

    if (vcpu->fresh || g_asid_owner[slot] != vcpu) {
        c->tlb_control = SVM_TLB_FLUSH_ALL;
        g_asid_owner[slot] = vcpu;
        vcpu->fresh = false;
    } else {
        c->tlb_control = SVM_TLB_NONE;
    }
    vmm_vcpu_regs_to_vmcb(vcpu);
    if (h->guest_enter != NULL) {
        h->guest_enter();
    }
    vmm_arch()->enter(vcpu);
    if (h->guest_exit != NULL) {
        h->guest_exit();
    }
    vmm_vcpu_regs_from_vmcb(vcpu);
}

void vmm_run(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    const struct vmm_host *h = vmm_host();
    uint64_t start = h->now_ns();
    uint64_t now = start;

    if (vm->state != VMM_VM_RUNNING) {
        return;
    }
    vm->busy++;
    for (bool first = true;; first = false) {
        enum vmm_action act;
        uint64_t poll = h->poll_deadline != NULL ? h->poll_deadline() : UINT64_MAX;
        bool pending;
        uint64_t t_exit;
        size_t slot;

        /* A host busy-polling looks at its devices after every exit (the main loop just did
         * before the first entry); what they bring the guest is injected on this entry. */
        if (!first && poll != UINT64_MAX && h->busy_poll != NULL) {
            poll = h->busy_poll();
        }
        pending = vmm_vcpu_poll(vcpu, now);

        if (vm->state != VMM_VM_RUNNING) {
            break;
        }
        if (vcpu->halted) {
            if (!pending) {
                break;
            }
            vcpu->halted = false;
        }
        vmm_inject_prepare(vcpu);
        now = h->now_ns();
        /* The guest must come back out when a device of its own is due (a PIT or RTC tick),
         * its slice ends or a request waiting for its paravirtual EOI has waited long
         * enough (inject.c), even if it never exits by itself. */
        if (h->arm_wakeup != NULL) {
            h->arm_wakeup(
                MIN(MIN(vcpu->wake_ns, start + VMM_SLICE_NS), MIN(poll, vcpu->pv_eoi_hold_until)));
        }
        enter(vcpu);
        t_exit = h->now_ns();
        vm->stats.guest_ns += t_exit - now;
        slot = vmm_exit_slot(vcpu->vmcb->ctl.exit_code);
        act = vmm_exit_dispatch(vcpu);
        now = h->now_ns();
        vm->stats.vmm_ns += now - t_exit;
        vm->stats.exit_ns[slot] += now - t_exit;
        if (vm->state != VMM_VM_RUNNING) {
            break;
        }
        if (vm->reset_requested) {
            if (vmm_vm_reset_now(vm) != 0) {
                break;
            }
            continue;
        }
        if (act == VMM_ACT_YIELD || now - start >= VMM_SLICE_NS) {
            break;
        }
    }
    vm->busy--;
    vmm_vm_finish_exit(vm);
}
