/* The kernel lock. With a guest CPU (kernel/guest_cpu.c) two CPUs run host code, and all of
 * it (lwIP, VNET, the drivers, the VMM's exit handling, the heap, the log) was written for
 * one: one lock makes it so again. CPU 0 holds it except while it halts and for a moment in
 * each main-loop pass; the guest CPU holds it from each #VMEXIT until the next VMRUN and
 * while it picks a vCPU, never while a guest runs or while it sleeps. So the two CPUs
 * overlap exactly where it pays: a guest runs while CPU 0 moves frames. Interrupt handlers
 * on CPU 0 take it when they interrupted a halt (irq.c). With one CPU it is a no-op. */
#ifndef PETREL_BKL_H
#define PETREL_BKL_H

#include "types.h"

/* Takes the lock; returns at once if this CPU holds it already. */
void bkl_lock(void);
void bkl_unlock(void);
bool bkl_held(void);

#endif
