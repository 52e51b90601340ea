/* The main loop: deferred IRQ work, timers, poll hooks, a vCPU's turn, then halt until the
 * next interrupt when nothing is runnable. */
#include "mainloop.h"
#include "bkl.h"
#include "cpu.h"
#include "guest_cpu.h"
#include "irq.h"
#include "timer.h"
#include "../vmm/vmm.h"

static struct poll_hook *g_hooks;
static struct poll_hook *g_busy_hooks;
static struct mainloop_stats g_stats;
static uint64_t g_poll_deadline = UINT64_MAX; /* this pass's busy-poll requests */
static bool g_vcpu_ran;
static bool g_asleep;    /* halted with the kernel lock released (set and cleared under it) */
static bool g_want_pass; /* work queued for the next pass (under the lock) */

void mainloop_want_pass(void)
{
    g_want_pass = true;
}

bool mainloop_wake_due(void)
{
    if (!g_asleep || !(g_want_pass || irq_work_pending())) {
        return false;
    }
    g_asleep = false; /* one IPI per sleep */
    return true;
}

void mainloop_poll_by(uint64_t deadline_ns)
{
    g_poll_deadline = MIN(g_poll_deadline, deadline_ns);
}

uint64_t mainloop_poll_deadline(void)
{
    return g_poll_deadline;
}

void mainloop_add_busy_poll(struct poll_hook *h)
{
    struct poll_hook **p = &g_busy_hooks;

    while (*p != NULL) {
        p = &(*p)->next;
    }
    h->next = NULL;
    *p = h;
}

static void run_busy_hooks(void)
{
    g_poll_deadline = UINT64_MAX;
    for (struct poll_hook *h = g_busy_hooks; h != NULL; h = h->next) {
        h->fn(h->ctx);
    }
}

uint64_t mainloop_busy_poll(void)
{
    g_stats.busy_polls++;
    run_busy_hooks();
    return g_poll_deadline;
}

bool mainloop_vcpu_ran(void)
{
    return g_vcpu_ran;
}

void mainloop_add_poll(struct poll_hook *h)
{
    h->next = g_hooks;
    g_hooks = h;
}

void mainloop_get_stats(struct mainloop_stats *out)
{
    *out = g_stats;
}

NORETURN void mainloop_run(void)
{
    bool idle_pass = false; /* this pass follows one that found no runnable vCPU */

    bkl_lock(); /* held but while halted and for a moment each pass (bkl.h) */
    cpu_sti();
    for (;;) {
        int did;
        struct vmm_vcpu *vcpu = NULL;

        /* A guest CPU waiting to handle an exit gets its turn here (the lock is fair). */
        bkl_unlock();
        bkl_lock();
        g_want_pass = false;
        g_stats.passes++;
        did = irq_run_deferred();
        g_stats.work_items += (uint64_t)did;
        did = timer_run_expired();
        g_stats.timers_run += (uint64_t)did;
        for (struct poll_hook *h = g_hooks; h != NULL; h = h->next) {
            h->fn(h->ctx);
        }
        run_busy_hooks();
        /* A runnable vCPU gets the CPU until its next exit that needs us (a host interrupt
         * always is one); sleep only when every vCPU sleeps too. */
        if (guest_cpu_on_cpu0()) {
            vcpu = vmm_sched_next();
        }
        g_vcpu_ran = vcpu != NULL;
        if (vcpu != NULL) {
            uint64_t t0 = now_ns();

            idle_pass = false;
            vmm_run(vcpu);
            g_stats.vcpu_ns += now_ns() - t0;
            continue;
        }
        /* Every guest sleeps: busy polling is over, one more pass lets the drivers turn their
         * interrupts back on (mainloop_vcpu_ran is false now); a driver that still asks is
         * looked at by its deadline. */
        if (g_poll_deadline != UINT64_MAX && !idle_pass) {
            idle_pass = true;
            continue;
        }
        idle_pass = false;
        /* Sleep only when nothing is queued; interrupts stay off between the check and HLT so
         * a wake-up cannot slip in between. */
        cpu_cli();
        if (!irq_work_pending()) {
            uint64_t t0;

            uint64_t wake = guest_cpu_on_cpu0() ? vmm_sched_wake_deadline() : UINT64_MAX;

            g_stats.halts++;
            timer_arm_wakeup(MIN(MIN(timer_next_deadline(), wake), g_poll_deadline));
            t0 = now_ns();
            g_asleep = true;
            bkl_unlock();
            cpu_sti_hlt();
            /* Interrupt handlers run before this line (taking the lock: irq.c): their time
             * counts as idle. */
            bkl_lock();
            g_asleep = false;
            g_stats.idle_ns += now_ns() - t0;
        } else {
            cpu_sti();
        }
    }
}
