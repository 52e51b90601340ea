/* The appliance's main loop (ARCHITECTURE.md, "The main loop"). */
#ifndef PETREL_MAINLOOP_H
#define PETREL_MAINLOOP_H

#include "types.h"

/* A function the main loop calls on every pass (network stack timers, console, ...). */
struct poll_hook {
    void (*fn)(void *ctx);
    void *ctx;
    const char *name;
    struct poll_hook *next;
};

void mainloop_add_poll(struct poll_hook *h);

/* Busy polling: a driver whose device keeps bringing work while a guest runs (a NIC's frames)
 * turns the device's interrupts off, each of which would be a world switch of its own, and
 * looks instead: its busy hook runs on every pass and, through vmm_host.busy_poll, after every
 * guest exit. A hook that wants to go on calls mainloop_poll_by(deadline) on each call: the
 * guest is made to exit by the earliest deadline asked (the request ends with the call).
 * Busy hooks run in the order added, after the poll hooks (VNET's flush, added after the NICs,
 * hands on what their polls brought). mainloop_vcpu_ran: the last pass ran a vCPU (with no
 * guest running, polling is not worth it). */
void mainloop_add_busy_poll(struct poll_hook *h);
void mainloop_poll_by(uint64_t deadline_ns);
uint64_t mainloop_poll_deadline(void);
uint64_t mainloop_busy_poll(void);
bool mainloop_vcpu_ran(void);
/* Work for the main loop's next pass was queued (a frame for lwIP, one for a busy NIC) from
 * the guest CPU's exit handling: mainloop_wake_due says so once CPU 0 sleeps, and the guest CPU
 * wakes it with an IPI (guest_cpu.c). On CPU 0 itself the pass comes anyway. */
void mainloop_want_pass(void);
bool mainloop_wake_due(void);
NORETURN void mainloop_run(void);

struct mainloop_stats {
    uint64_t passes;
    uint64_t halts;
    uint64_t work_items;
    uint64_t timers_run;
    uint64_t busy_polls; /* busy hook rounds after guest exits (mainloop_busy_poll) */
    uint64_t idle_ns;    /* time halted, waiting for an interrupt */
    uint64_t vcpu_ns;    /* time in vmm_run: guests and their exits */
};
void mainloop_get_stats(struct mainloop_stats *out);

#endif
