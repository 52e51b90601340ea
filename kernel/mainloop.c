/* The main loop: deferred IRQ work, timers, poll hooks, a vCPU's turn, then halt until the
 * next interrupt when nothing is runnable. */
#include "mainloop.h"
#include "cpu.h"
#include "irq.h"
#include "timer.h"
#include "../vmm/vmm.h"

static struct poll_hook *g_hooks;
static struct mainloop_stats g_stats;

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
    cpu_sti();
    for (;;) {
        int did;

        g_stats.passes++;
        did = irq_run_deferred();
        g_stats.work_items += (uint64_t)did;
        did = timer_run_expired();
        g_stats.timers_run += (uint64_t)did;
        for (struct poll_hook *h = g_hooks; h != NULL; h = h->next) {
            h->fn(h->ctx);
        }
        /* A runnable vCPU gets the CPU until its next exit that needs us (a host interrupt
         * always is one); sleep only when every vCPU sleeps too. */
        struct vmm_vcpu *vcpu = vmm_sched_next();
        if (vcpu != NULL) {
            uint64_t t0 = now_ns();

            vmm_run(vcpu);
            g_stats.vcpu_ns += now_ns() - t0;
            continue;
        }
        /* Sleep only when nothing is queued; interrupts stay off between the check and HLT so
         * a wake-up cannot slip in between. */
        cpu_cli();
        if (!irq_work_pending()) {
            uint64_t t0;

            g_stats.halts++;
            timer_arm_wakeup(MIN(timer_next_deadline(), vmm_sched_wake_deadline()));
            t0 = now_ns();
            cpu_sti_hlt();
            /* Interrupt handlers run before this line: their time counts as idle. */
            g_stats.idle_ns += now_ns() - t0;
        } else {
            cpu_sti();
        }
    }
}
