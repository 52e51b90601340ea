/* Interrupt and exception injection. Before each entry: an event that an exit interrupted is
 * delivered again first, then an exception a handler raised, then an NMI the CPU controller
 * holds (outside an interrupt shadow), then the CPU controller's highest pending vector if the
 * guest can take it now (RFLAGS.IF set, no interrupt shadow). If it cannot, a virtual
 * interrupt (V_IRQ, TPR ignored) with the VINTR intercept asks the CPU to exit as soon as the
 * guest opens its interrupt window.
 *
 * The CPU controller (vmm_dev.h) is the 8259 pair or, in a VM with APICs, the local APIC: its
 * pending() then answers with its own highest deliverable vector or the 8259's through LINT0,
 * and the guest's EOI (an MMIO exit) changes what the next entry's pending() says.
 *
 * NMIs: the NMI-blocking state until the handler's IRET is not tracked (no IRET intercept);
 * the platform has no NMI source but the guest's own (self IPI, LVT or IOAPIC entries in NMI
 * mode). An NMI that meets an interrupt shadow waits for the next entry. */
#include "vm.h"

#define NMI_VECTOR 2

static bool nmi_pending(struct vmm_vm *vm)
{
    return vm->intc_ops != NULL && vm->intc_ops->nmi_pending != NULL &&
           vm->intc_ops->nmi_pending(vm->intc);
}

bool vmm_intc_pending(struct vmm_vm *vm)
{
    uint8_t vec;

    return vm->intc_ops != NULL && (vm->intc_ops->pending(vm->intc, &vec) || nmi_pending(vm));
}

void vmm_inject_exception(struct vmm_vcpu *vcpu, uint8_t vector, bool has_err, uint32_t err)
{
    vcpu->pending_event = vector | SVM_EVT_TYPE_EXC | SVM_EVT_VALID |
                          (has_err ? SVM_EVT_EV | ((uint64_t)err << SVM_EVT_ERR_SHIFT) : 0);
}

void vmm_inject_after_exit(struct vmm_vcpu *vcpu)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    uint64_t info = c->exit_int_info;

    /* Only bit 31 is reliable (QEMU leaves stale high bits): keep the defined fields. */
    if (info & SVM_EVT_VALID) {
        uint64_t ev = info & (SVM_EVT_VECTOR_MASK | SVM_EVT_TYPE_MASK | SVM_EVT_EV | SVM_EVT_VALID);

        if (info & SVM_EVT_EV) {
            ev |= info & (0xFFFFFFFFull << SVM_EVT_ERR_SHIFT);
        }
        vcpu->pending_event = ev;
    }
    c->exit_int_info = 0;
    c->event_inj = 0;
}

static void window_close(struct vmm_vcpu *vcpu)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;

    c->int_ctl &= ~(SVM_INT_V_IRQ | SVM_INT_V_IGN_TPR | (0xFFull << SVM_INT_V_VECTOR_SHIFT));
    c->intercept1 &= ~SVM_I1_VINTR;
    vcpu->window_open_req = false;
}

static void window_open(struct vmm_vcpu *vcpu, uint8_t vec)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;

    c->int_ctl &= ~(0xFFull << SVM_INT_V_VECTOR_SHIFT);
    c->int_ctl |= SVM_INT_V_IRQ | SVM_INT_V_IGN_TPR | ((uint64_t)vec << SVM_INT_V_VECTOR_SHIFT);
    c->intercept1 |= SVM_I1_VINTR;
    vcpu->window_open_req = true;
}

void vmm_inject_prepare(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    uint8_t vec;

    c->event_inj = 0;
    if (vcpu->pending_event & SVM_EVT_VALID) {
        c->event_inj = vcpu->pending_event;
        vcpu->pending_event = 0;
        return;
    }
    if (nmi_pending(vm) && !(c->int_state & SVM_INT_STATE_SHADOW)) {
        c->event_inj = NMI_VECTOR | SVM_EVT_TYPE_NMI | SVM_EVT_VALID;
        vm->intc_ops->nmi_ack(vm->intc);
        return;
    }
    if (vm->intc_ops == NULL || !vm->intc_ops->pending(vm->intc, &vec)) {
        if (vcpu->window_open_req) {
            window_close(vcpu);
        }
        return;
    }
    if ((vcpu->regs.rflags & VMM_RFLAGS_IF) && !(c->int_state & SVM_INT_STATE_SHADOW)) {
        if (vcpu->window_open_req) {
            window_close(vcpu);
        }
        c->event_inj = vec | SVM_EVT_TYPE_INTR | SVM_EVT_VALID;
        vm->intc_ops->ack(vm->intc, vec);
        vm->stats.irqs_injected++;
        return;
    }
    window_open(vcpu, vec);
}

/* The VINTR exit: the guest can take interrupts now; the next entry injects. */
void vmm_inject_window_exit(struct vmm_vcpu *vcpu)
{
    window_close(vcpu);
}
