/* CPU traps: the IDT, the frame the entry stubs build, and the kernel's fail-stop dump. */
#ifndef PETREL_TRAP_H
#define PETREL_TRAP_H

#include "types.h"

struct trapframe {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_IRQ_BASE 32   /* IOAPIC pins land at 32 + pin */
#define VEC_PIC_BASE 0xE0 /* the masked 8259's spurious vectors */
#define VEC_TIMER    0xF0
#define VEC_SPURIOUS 0xFF
#define TRAP_PANIC   0xFFFF /* trapframe.vector of a panic() dump: no CPU exception */

/* Loads the GDT (with a TSS whose IST stack catches double faults) and the IDT. */
void trap_init(void);
/* Loads the IDT trap_init built on the calling CPU: an application processor shares it (its
 * IST entries name IST1, which each CPU's own TSS points at its own stack: gdt_init_cpu). */
void trap_load_idt(void);
/* Called from kernel/isr.asm for every vector. */
void trap_dispatch(struct trapframe *tf);
/* Prints a full register dump and stops the appliance (a bug in the kernel itself). */
NORETURN void trap_fatal(const struct trapframe *tf, const char *why);
NORETURN void panic(const char *fmt, ...) PRINTF_FMT(1, 2);
const char *trap_name(uint64_t vector);

#endif
