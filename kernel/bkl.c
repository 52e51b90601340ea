/* The kernel lock (bkl.h): a ticket lock, so CPU 0 releasing and retaking it at each pass of
 * its main loop lets a waiting guest CPU in first instead of winning the race every time. */
#include "bkl.h"
#include "cpu.h"
#include "smp.h"

static uint32_t g_next;    /* next ticket to hand out */
static uint32_t g_serving; /* ticket that holds the lock */
static volatile int g_owner = -1;

bool bkl_held(void)
{
    return smp_cpus() < 2 || g_owner == (int)smp_cpu();
}

void bkl_lock(void)
{
    int me;
    uint64_t flags;
    uint32_t ticket;

    if (smp_cpus() < 2) {
        return;
    }
    /* Interrupts off from the check on: a handler on this CPU that takes the lock between
     * the check and the ticket, or while we wait, would leave this CPU queued behind its own
     * ticket forever. */
    flags = irq_save();
    me = (int)smp_cpu();
    if (g_owner == me) {
        irq_restore(flags);
        return;
    }
    ticket = __atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&g_serving, __ATOMIC_ACQUIRE) != ticket) {
        cpu_pause();
    }
    g_owner = me;
    irq_restore(flags);
}

void bkl_unlock(void)
{
    uint64_t flags;

    if (smp_cpus() < 2 || g_owner != (int)smp_cpu()) {
        return; /* not ours: releasing it would let two CPUs in */
    }
    flags = irq_save();
    g_owner = -1;
    __atomic_store_n(&g_serving, g_serving + 1, __ATOMIC_RELEASE);
    irq_restore(flags);
}
