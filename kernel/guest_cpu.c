/* The guest CPU (guest_cpu.h). It runs the VMM's scheduler and vCPUs; everything it does
 * outside a guest is under the kernel lock (bkl.h), so the VMM, its devices, VNET and lwIP
 * see one CPU at a time as before. CPU 0 makes it look at a vCPU with an IPI (an interrupt
 * the guest's own devices raised from CPU 0: a frame arrived, console input, a stop): in the
 * guest that is an exit, in a halt a wake-up; its handler does nothing else. Kicks coalesce:
 * one IPI until this CPU has taken the lock again. A kick for a guest that is running waits up
 * to KICK_DELAY_NS: an exit of the guest's own (a HLT once it is idle, its timer) applies what
 * CPU 0 posted just as well and costs no extra world switch; only a guest that has not exited
 * by then gets the IPI. */
#include "guest_cpu.h"
#include "bkl.h"
#include "cpu.h"
#include "irq.h"
#include "log.h"
#include "mainloop.h"
#include "smp.h"
#include "timer.h"
#include "../drivers/lapic.h"
#include "../vmm/vmm.h"

#define READY_WAIT_NS 2000000000ull /* SVM set-up on the guest CPU: far less under TCG */
/* CPU 0 takes the guests' TX rings itself while they bring frames (no kick exits then):
 * every IO_POLL_NS at least, until IO_POLL_IDLE_NS pass without a frame. */
#define IO_POLL_NS      50000ull
#define IO_POLL_IDLE_NS 1000000ull
#define KICK_DELAY_NS   250000ull

enum { GC_NONE, GC_STARTING, GC_ACTIVE, GC_FAILED };

static int g_state = GC_NONE;
static volatile bool g_kicked; /* an IPI is on its way; set and cleared under the lock */
static struct guest_cpu_stats g_stats;
static struct poll_hook g_io_hook;
static uint64_t g_io_until; /* CPU 0 polls the guests' rings until then (under the lock) */
static bool g_io_on;        /* it did at its last look */
/* Where the guest CPU is (written by it, read by CPU 0 under the lock): in a guest, back out
 * and waiting for the lock (it looks at what CPU 0 posted before it enters again), or in the
 * kernel (with the lock, or halted without it). */
enum { AT_HOST, AT_GUEST, AT_EXIT };
static volatile int g_at = AT_HOST;
static volatile uint64_t g_entries; /* entries so far (written under the lock) */
static uint64_t g_kick_due;         /* a held kick's deadline (0: none; CPU 0, under the lock) */
static uint64_t g_kick_entries;     /* g_entries when it was held */

static void send_kick(void)
{
    g_kicked = true;
    g_stats.kicks++;
    smp_ipi(GUEST_CPU, VEC_GUEST_KICK);
}

/* CPU 0, under the lock: a held kick is dropped once the guest has exited (its requests
 * were applied before it went back in), sent when due, else looked at again by then. */
static void check_held_kick(uint64_t now)
{
    if (g_kick_due == 0) {
        return;
    }
    if (g_at != AT_GUEST || g_entries != g_kick_entries) {
        g_kick_due = 0;
        g_stats.kicks_absorbed++;
    } else if (now >= g_kick_due) {
        g_kick_due = 0;
        if (!g_kicked) {
            send_kick();
        }
    } else {
        mainloop_poll_by(g_kick_due);
    }
}

/* CPU 0's busy hook: each running VM's io_poll (vmm_vm_io_poll), while frames come and once
 * more after (then the devices, seeing guest_cpu_io_polling false, ask for kicks again). */
static void io_poll(void *ctx)
{
    uint64_t now;
    unsigned found = 0;

    (void)ctx;
    if (g_state != GC_ACTIVE) {
        return;
    }
    now = now_ns();
    check_held_kick(now);
    g_io_on = now < g_io_until;
    /* Also when idle (a pass happens anyway): a chain CPU 0 finds now saves a kick exit, and
     * the first look after polling ended asks the devices for kicks again. */
    for (struct vmm_vm *vm = vmm_vm_next(NULL); vm != NULL; vm = vmm_vm_next(vm)) {
        found += vmm_vm_io_poll(vm);
    }
    if (found > 0) {
        g_stats.io_polled += found;
        g_io_until = now + IO_POLL_IDLE_NS;
        g_io_on = true;
    }
    if (g_io_on) {
        mainloop_poll_by(now + IO_POLL_NS);
    }
}

bool guest_cpu_io_polling(struct vmm_vm *vm)
{
    (void)vm;
    return g_state == GC_ACTIVE && g_io_on;
}

static void wake_handler(void *ctx)
{
    (void)ctx; /* the exit or the wake-up was the point */
}

void guest_cpu_setup(void)
{
    if (irq_register_vector(VEC_GUEST_KICK, wake_handler, NULL, "guest-kick") != 0 ||
        irq_register_vector(VEC_GUEST_TIMER, wake_handler, NULL, "guest-timer") != 0 ||
        irq_register_vector(VEC_CPU0_WAKE, wake_handler, NULL, "cpu0-wake") != 0) {
        LOG_ERROR(BOOT, "guest cpu: vectors taken; guests stay on CPU 0");
        return;
    }
    g_io_hook.fn = io_poll;
    g_io_hook.name = "guest-io";
    mainloop_add_busy_poll(&g_io_hook);
    __atomic_store_n(&g_state, GC_STARTING, __ATOMIC_RELEASE);
}

bool guest_cpu_on_cpu0(void)
{
    int s = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);

    return s != GC_ACTIVE && s != GC_STARTING;
}

void guest_cpu_wait_ready(void)
{
    uint64_t until;
    int starting = GC_STARTING;

    if (smp_cpus() < 2) {
        __atomic_store_n(&g_state, GC_NONE, __ATOMIC_RELEASE);
        return;
    }
    until = now_ns() + READY_WAIT_NS;
    while (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == GC_STARTING && now_ns() < until) {
        cpu_pause();
    }
    if (__atomic_compare_exchange_n(&g_state, &starting, GC_FAILED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        LOG_WARN(BOOT, "guest cpu: CPU %u did not come up in time; guests run on CPU 0", GUEST_CPU);
    } else if (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == GC_ACTIVE) {
        /* From now on two CPUs run kernel code: this one under the lock too (the main loop
         * keeps it; bkl_lock is a no-op there then). */
        bkl_lock();
        LOG_INFO(BOOT, "guest cpu: guests run on CPU %u; CPU 0 runs the network and the console",
                 GUEST_CPU);
    }
}

static NORETURN void guest_loop(void)
{
    bkl_lock();
    for (;;) {
        struct vmm_vcpu *vcpu;
        uint64_t t0;
        uint64_t t1;

        g_kicked = false;
        vcpu = vmm_sched_next();
        if (vcpu != NULL) {
            t0 = now_ns();
            vmm_run(vcpu);
            g_stats.vcpu_ns += now_ns() - t0;
            continue;
        }
        /* Nothing runnable: sleep until a guest's device is due or CPU 0 kicks. Interrupts
         * stay off from the check to the HLT, so a kick sent after the lock is released
         * wakes the HLT instead of being taken before it. */
        cpu_cli();
        timer_arm_wakeup(vmm_sched_wake_deadline());
        g_stats.halts++;
        t0 = now_ns();
        bkl_unlock();
        cpu_sti_hlt();
        t1 = now_ns();
        bkl_lock();
        g_stats.idle_ns += t1 - t0;
        g_stats.lock_ns += now_ns() - t1;
    }
}

NORETURN void guest_cpu_entry(unsigned cpu)
{
    int starting = GC_STARTING;
    int rc;

    if (cpu != GUEST_CPU || __atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != GC_STARTING) {
        cpu_halt_forever(); /* one guest CPU: the kernel lock would serialise more anyway */
    }
    drv_lapic_timer_oneshot(VEC_GUEST_TIMER);
    /* CPU 0 waits in guest_cpu_wait_ready meanwhile: nothing else allocates or logs. */
    rc = vmm_ready() ? vmm_cpu_init() : -ENODEV;
    if (rc != 0) {
        LOG_WARN(BOOT, "guest cpu: no SVM on CPU %u (%d); guests run on CPU 0", cpu, rc);
        __atomic_store_n(&g_state, GC_FAILED, __ATOMIC_RELEASE);
        cpu_halt_forever();
    }
    if (!__atomic_compare_exchange_n(&g_state, &starting, GC_ACTIVE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        cpu_halt_forever(); /* CPU 0 gave up waiting and runs the guests itself */
    }
    /* CPU 0 says so in the log: from here this CPU logs only under the lock. */
    cpu_sti();
    guest_loop();
}

void guest_cpu_enter(void)
{
    /* Interrupts off from here to VMRUN (the world switch keeps them held with CLGI): CPU 0
     * may raise a request and kick as soon as the lock is free, after this vCPU's injection
     * was prepared, and that kick must make the guest exit at once, not be taken here. */
    if (g_state == GC_ACTIVE) {
        /* What the exit left for CPU 0 (frames for lwIP or a busy NIC's queue, deferred
         * work, timers) waits for its next pass: wake it if it sleeps. */
        if (mainloop_wake_due()) {
            g_stats.wakes++;
            smp_ipi(0, VEC_CPU0_WAKE);
        }
        g_entries++;
        g_at = AT_GUEST;
        cpu_cli();
        bkl_unlock();
    }
}

void guest_cpu_exit(void)
{
    if (g_state == GC_ACTIVE) {
        uint64_t t0 = now_ns();

        g_at = AT_EXIT; /* before the lock: CPU 0 need not kick while we wait for it */
        bkl_lock();
        g_at = AT_HOST;
        g_kicked = false;
        g_stats.lock_ns += now_ns() - t0;
    }
}

void guest_cpu_kick(struct vmm_vm *vm)
{
    (void)vm; /* one guest CPU runs them all */
    if (g_state != GC_ACTIVE || g_kicked || smp_cpu() == GUEST_CPU) {
        return;
    }
    if (g_at == AT_EXIT) {
        return; /* it applies CPU 0's requests before it enters again */
    }
    if (g_at == AT_GUEST) {
        if (g_kick_due == 0) {
            g_kick_due = now_ns() + KICK_DELAY_NS;
            g_kick_entries = g_entries;
            g_stats.kicks_held++;
        }
        mainloop_poll_by(g_kick_due); /* CPU 0's busy hook (io_poll) looks again by then */
        return;
    }
    send_kick();
}

bool guest_cpu_elsewhere(struct vmm_vm *vm)
{
    (void)vm;
    return g_state == GC_ACTIVE && smp_cpu() != GUEST_CPU;
}

void guest_cpu_get_stats(struct guest_cpu_stats *out)
{
    *out = g_stats;
    out->active = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE) == GC_ACTIVE;
}
