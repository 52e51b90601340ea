/* The guest CPU: on a machine with a second CPU, guests run there while CPU 0 keeps the
 * network, the console and every driver (ARCHITECTURE.md, "CPUs"). */
#ifndef PETREL_GUEST_CPU_H
#define PETREL_GUEST_CPU_H

#include "types.h"

struct vmm_vm;

/* The CPU that runs guests, as smp_cpu() numbers them. */
#define GUEST_CPU 1
/* Its interrupt vectors (next to trap.h's VEC_TIMER): CPU 0's IPI that makes it look at a
 * vCPU, and its own LAPIC timer for the guests' deadlines. */
#define VEC_GUEST_KICK  0xF1
#define VEC_GUEST_TIMER 0xF2
#define VEC_CPU0_WAKE   0xF3 /* the guest CPU wakes CPU 0's main loop */

struct guest_cpu_stats {
    bool active;             /* guests run on GUEST_CPU (else on CPU 0) */
    uint64_t kicks;          /* IPIs CPU 0 sent to make it look at a vCPU */
    uint64_t kicks_held;     /* kicks for a running guest, held a while (guest_cpu.c) */
    uint64_t kicks_absorbed; /* of those, the ones the guest's own exit made unneeded */
    uint64_t vcpu_ns;        /* time in vmm_run */
    uint64_t idle_ns;        /* time halted with nothing runnable */
    uint64_t lock_ns;        /* time waiting for the kernel lock after exits and wake-ups */
    uint64_t halts;
    uint64_t wakes;     /* IPIs it sent to wake CPU 0's main loop */
    uint64_t io_polled; /* TX chains CPU 0 took from the guests' rings itself */
};

/* Registers the guest CPU's interrupt vectors; call on CPU 0 before smp_start. */
void guest_cpu_setup(void);
/* smp_start's entry: the first AP becomes the guest CPU (when SVM comes up there), others
 * park. Never returns. */
NORETURN void guest_cpu_entry(unsigned cpu);
/* Waits (bounded) until the guest CPU is running guests or has given up, so no vCPU ever
 * starts on CPU 0 and then moves. */
void guest_cpu_wait_ready(void);
/* Whether CPU 0 runs the vCPUs itself (no guest CPU). */
bool guest_cpu_on_cpu0(void);
/* vmm_host hooks (kernel/vmm_host.c). */
void guest_cpu_enter(void);
void guest_cpu_exit(void);
void guest_cpu_kick(struct vmm_vm *vm);
bool guest_cpu_elsewhere(struct vmm_vm *vm);
bool guest_cpu_io_polling(struct vmm_vm *vm);
void guest_cpu_get_stats(struct guest_cpu_stats *out);

#endif
