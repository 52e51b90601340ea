/* Interrupt and exception injection. Before each entry: an event that an exit interrupted is
 * delivered again first, then an exception a handler raised, then an NMI the CPU controller
 * holds (outside an interrupt shadow), then the CPU controller's highest pending vector.
 *
 * A guest that can take it now (RFLAGS.IF set, no interrupt shadow) gets it through EVENTINJ
 * and the controller is acked at once. A guest that cannot gets it as a virtual interrupt: the
 * vector in V_INTR_VECTOR with V_IRQ and V_IGN_TPR set and no VINTR intercept, so the CPU
 * delivers it by itself the moment the guest opens IF (AMD APM vol. 2, "Virtual interrupts").
 * That saves the two world switches of an interrupt window (a VINTR exit, then an entry that
 * injects), which under QEMU TCG cost the guest far more than the exit handling. The
 * controller is not acked while the virtual interrupt is armed: at the next exit (before it
 * is dispatched, so the controller is as it was at the entry) V_IRQ tells whether the CPU took
 * it. Taken: the controller is acked for that vector, once; if the delivery itself was
 * interrupted (a nested page fault pushing the frame) the event also comes back in
 * EXITINTINFO and is delivered again like any other. Not taken: V_IRQ is cleared and the next
 * entry decides afresh (a higher vector may have arrived meanwhile).
 *
 * An exit handler that carried out the guest's instruction (moved RIP) also ends the
 * interrupt shadow the instruction was in: the HLT of Linux's STI; HLT idle comes back with
 * the shadow set, and an interrupt for it would otherwise need a virtual interrupt.
 *
 * The VINTR exit stays handled (it closes the window; the next entry injects) though nothing
 * asks for it any more.
 *
 * The CPU controller (vmm_dev.h) is the 8259 pair or, in a VM with APICs, the local APIC: its
 * pending() then answers with its own highest deliverable vector or the 8259's through LINT0,
 * and the guest's EOI (an MMIO exit) changes what the next entry's pending() says.
 *
 * Paravirtual EOI (KVM's PV EOI, the part of KVM's guest ABI Linux uses; offered with the
 * LAPIC unless the config says paravirt = off, see cpuid.h): the guest gives the address of a
 * word in its RAM through MSR_KVM_PV_EOI_EN (msr.c). When an interrupt goes in and the LAPIC
 * will then have that one vector in service and every other request is one that vector's EOI
 * holds back anyway (its priority class or below), the core sets bit 0 of the word: after
 * the EVENTINJ's ack, or before arming a virtual interrupt (its vector the highest request,
 * nothing in service), so the bit is there before the guest can take it (learning at the exit
 * that it did would come too late: a handler's EOI is often its first exit). The guest's EOI
 * then only clears the bit (no MMIO exit); at the next exit (before its dispatch, after the
 * virtual interrupt is settled and acked) the core sees the bit clear and performs the EOI as
 * the register write would (ISR, and the IOAPIC's EOI for a level-triggered vector: a level
 * line is re-delivered an exit later at worst). Before every entry a bit still set is looked
 * at again: when anything is to be injected or armed (also the virtual interrupt the guest
 * did not take), or the LAPIC no longer has just that vector in service, or a request above
 * its class waits, it is cleared in memory first, so the guest writes the EOI register as
 * usual.
 *
 * Lower requests behind the bit (two queue interrupts of a virtio NIC raised together, most
 * often) would go in at the register write's exit; with the bit they go in at the exit that
 * finds it cleared, which comes later. So they wait PV_EOI_HOLD_NS at most: the vCPU is made
 * to exit by then (vcpu.c), and an entry past it takes the bit back. Nothing is ever
 * delivered that the LAPIC holds back; only the delivery of what its EOI releases may come
 * up to that long after the guest's EOI.
 *
 * Why that is safe: the guest looks at the bit only in its EOI (one read-and-clear
 * instruction, then the register write if the bit was clear), and all of the above runs
 * between exit and entry while the guest is stopped; the bit is set only while the guest
 * holds (or may take by itself) just that one vector, and a guest that cleared it has ended
 * that vector, so the core's EOI is the guest's, once. A guest that ignores the bit and writes
 * the register stays correct: the stale bit is cleared before its next entry.
 *
 * NMIs: the NMI-blocking state until the handler's IRET is not tracked (no IRET intercept);
 * the platform has no NMI source but the guest's own (self IPI, LVT or IOAPIC entries in NMI
 * mode). An NMI that meets an interrupt shadow waits for the next entry. */
#include "host.h"
#include "vm.h"
#include "../kernel/log.h"

#define NMI_VECTOR 2

#define V_IRQ_FIELDS                                                                               \
    (SVM_INT_V_IRQ | SVM_INT_V_IGN_TPR | (0xFull << SVM_INT_V_PRIO_SHIFT) |                        \
     (0xFFull << SVM_INT_V_VECTOR_SHIFT))

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

static void virq_disarm(struct vmm_vcpu *vcpu)
{
    vcpu->vmcb->ctl.int_ctl &= ~V_IRQ_FIELDS;
    vcpu->virq_armed = false;
}

static void virq_arm(struct vmm_vcpu *vcpu, uint8_t vec)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;

    c->int_ctl &= ~V_IRQ_FIELDS;
    c->int_ctl |= SVM_INT_V_IRQ | SVM_INT_V_IGN_TPR |
                  ((uint64_t)(vec >> 4) << SVM_INT_V_PRIO_SHIFT) |
                  ((uint64_t)vec << SVM_INT_V_VECTOR_SHIFT);
    vcpu->virq_armed = true;
    vcpu->virq_vector = vec;
}

/* The exit ended a run with a virtual interrupt armed: did the CPU take it? */
static void virq_settle(struct vmm_vcpu *vcpu, uint64_t info)
{
    struct vmm_vm *vm = vcpu->vm;
    uint8_t vec = vcpu->virq_vector;
    /* Nothing else was injected with it, so an external interrupt in EXITINTINFO is this one,
     * caught half delivered (V_IRQ may still read set then). */
    bool interrupted = (info & SVM_EVT_VALID) && (info & SVM_EVT_TYPE_MASK) == SVM_EVT_TYPE_INTR &&
                       (info & SVM_EVT_VECTOR_MASK) == vec;
    bool taken = interrupted || !(vcpu->vmcb->ctl.int_ctl & SVM_INT_V_IRQ);

    virq_disarm(vcpu);
    if (taken && vm->intc_ops != NULL) {
        vm->intc_ops->ack(vm->intc, vec);
        vm->stats.irqs_injected++;
    }
}

/* ---- paravirtual EOI ------------------------------------------------------------------------- */

#define PV_EOI_ENABLED 1ull
#define PV_EOI_BIT     1u
/* How long lower requests may wait behind a paravirtual EOI (VMM_EOI_DEFER_HOLDS): the exit
 * that performs the EOI lets them in, and the vCPU is made to exit by then. */
#define PV_EOI_HOLD_NS 200000ull

static bool pv_eoi_on(const struct vmm_vcpu *vcpu)
{
    const struct vmm_vm *vm = vcpu->vm;

    return (vcpu->pv_eoi_msr & PV_EOI_ENABLED) && vm->intc_ops != NULL &&
           vm->intc_ops->eoi_deferrable != NULL && vm->intc_ops->eoi != NULL;
}

/* The guest's word: msr.c checked that its 4 bytes are RAM, which never changes. */
static int pv_word(struct vmm_vcpu *vcpu, uint64_t msr, bool write, uint32_t *w)
{
    uint64_t gpa = msr & ~3ull;
    int rc = write ? gmem_write(&vcpu->vm->mem, gpa, w, sizeof(*w))
                   : gmem_read(&vcpu->vm->mem, gpa, w, sizeof(*w));

    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vcpu->vm->name, "PV EOI word at %#llx: %s failed (%d)",
               (unsigned long long)gpa, write ? "write" : "read", rc);
    }
    return rc;
}

/* Takes back a bit we set and the guest has not used: it will write the EOI register. */
static void pv_eoi_cancel(struct vmm_vcpu *vcpu)
{
    uint32_t w;

    vcpu->pv_eoi_set = false;
    vcpu->pv_eoi_hold_until = UINT64_MAX;
    if (pv_word(vcpu, vcpu->pv_eoi_msr, false, &w) == 0 && (w & PV_EOI_BIT)) {
        w &= ~PV_EOI_BIT;
        (void)pv_word(vcpu, vcpu->pv_eoi_msr, true, &w);
    }
}

/* At each exit: the guest cleared the bit, so it has ended the interrupt. */
static void pv_eoi_check(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    uint32_t w;

    if (pv_word(vcpu, vcpu->pv_eoi_msr, false, &w) != 0) {
        vcpu->pv_eoi_set = false;
        vcpu->pv_eoi_hold_until = UINT64_MAX;
        return;
    }
    if (w & PV_EOI_BIT) {
        return;
    }
    vcpu->pv_eoi_set = false;
    vcpu->pv_eoi_hold_until = UINT64_MAX;
    vm->intc_ops->eoi(vm->intc);
    vm->stats.pv_eois++;
}

/* Lower requests wait behind the bit (VMM_EOI_DEFER_HOLDS): from now on for at most
 * PV_EOI_HOLD_NS. */
static void pv_eoi_hold(struct vmm_vcpu *vcpu, int defer)
{
    if (defer != VMM_EOI_DEFER_HOLDS) {
        vcpu->pv_eoi_hold_until = UINT64_MAX;
    } else if (vcpu->pv_eoi_hold_until == UINT64_MAX) {
        vcpu->pv_eoi_hold_until = vmm_host()->now_ns() + PV_EOI_HOLD_NS;
    }
}

/* The guest took `vec` (acked), or may take it by itself (taken false: a virtual interrupt
 * about to be armed): may it end it through its word? */
static void pv_eoi_offer(struct vmm_vcpu *vcpu, uint8_t vec, bool taken)
{
    struct vmm_vm *vm = vcpu->vm;
    uint32_t w;
    int defer;

    if (!pv_eoi_on(vcpu)) {
        return;
    }
    defer = vm->intc_ops->eoi_deferrable(vm->intc, vec, taken);
    if (defer == VMM_EOI_EXIT || pv_word(vcpu, vcpu->pv_eoi_msr, false, &w) != 0) {
        return;
    }
    w |= PV_EOI_BIT;
    if (pv_word(vcpu, vcpu->pv_eoi_msr, true, &w) == 0) {
        vcpu->pv_eoi_set = true;
        vcpu->pv_eoi_vector = vec;
        vcpu->pv_eoi_hold_until = UINT64_MAX;
        pv_eoi_hold(vcpu, defer);
    }
}

/* Before an entry, with the bit still set: it stays only while nothing is to be injected, the
 * LAPIC still has just that vector in service (the guest may have written the register
 * instead) and no request higher than it waits, and lower ones for PV_EOI_HOLD_NS at most:
 * after that the bit is taken back, so the guest's EOI exits and lets them in. */
static void pv_eoi_recheck(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    uint8_t vec;
    int defer;

    if (!pv_eoi_on(vcpu) || (vcpu->pending_event & SVM_EVT_VALID) || nmi_pending(vm) ||
        vm->intc_ops->pending(vm->intc, &vec)) {
        pv_eoi_cancel(vcpu);
        return;
    }
    defer = vm->intc_ops->eoi_deferrable(vm->intc, vcpu->pv_eoi_vector, true);
    if (defer == VMM_EOI_EXIT || vmm_host()->now_ns() >= vcpu->pv_eoi_hold_until) {
        pv_eoi_cancel(vcpu);
        return;
    }
    pv_eoi_hold(vcpu, defer);
}

void vmm_inject_pv_eoi_msr(struct vmm_vcpu *vcpu, uint64_t val)
{
    if (vcpu->pv_eoi_set) {
        pv_eoi_cancel(vcpu);
    }
    vcpu->pv_eoi_msr = val;
}

/* ---- entry and exit ------------------------------------------------------------------------- */

void vmm_inject_after_exit(struct vmm_vcpu *vcpu)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    uint64_t info = c->exit_int_info;

    vcpu->exit_rip = vcpu->regs.rip;
    if (vcpu->virq_armed) {
        virq_settle(vcpu, info);
    }
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
    if (vcpu->pv_eoi_set) {
        pv_eoi_check(vcpu);
    }
}

void vmm_inject_prepare(struct vmm_vcpu *vcpu)
{
    struct vmm_vm *vm = vcpu->vm;
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    uint8_t vec;

    c->event_inj = 0;
    if (vcpu->virq_armed) {
        virq_disarm(vcpu); /* an entry without an exit since: decide again */
    }
    if (vcpu->regs.rip != vcpu->exit_rip) {
        /* A handler carried out the instruction at the exit (HLT after STI, most often):
         * the interrupt shadow it was in is over, as after the CPU's own execution. Else
         * the interrupt would wait for a virtual interrupt rather than go in now. */
        c->int_state &= ~SVM_INT_STATE_SHADOW;
    }
    if (vcpu->pv_eoi_set) {
        pv_eoi_recheck(vcpu);
    }
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
        return;
    }
    if ((vcpu->regs.rflags & VMM_RFLAGS_IF) && !(c->int_state & SVM_INT_STATE_SHADOW)) {
        c->event_inj = vec | SVM_EVT_TYPE_INTR | SVM_EVT_VALID;
        vm->intc_ops->ack(vm->intc, vec);
        vm->stats.irqs_injected++;
        pv_eoi_offer(vcpu, vec, true);
        return;
    }
    pv_eoi_offer(vcpu, vec, false);
    virq_arm(vcpu, vec);
}

/* The VINTR exit (only if something set the intercept): the window is open, the next entry
 * injects. */
void vmm_inject_window_exit(struct vmm_vcpu *vcpu)
{
    vcpu->vmcb->ctl.intercept1 &= ~SVM_I1_VINTR;
    virq_disarm(vcpu);
}
