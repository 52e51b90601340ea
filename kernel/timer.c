/* Time keeping: TSC calibrated against PIT channel 2, LAPIC periodic tick, timer callbacks. */
#include "timer.h"
#include "cpu.h"
#include "irq.h"
#include "log.h"
#include "trap.h"
#include "../drivers/lapic.h"
#include "../drivers/pit.h"

#define CALIBRATE_US   10000
#define CALIBRATE_RUNS 3

static uint64_t g_tsc_hz;
static uint64_t g_tsc0;
static uint64_t g_mult; /* ns = (delta * g_mult) >> 32 */
static volatile uint64_t g_ticks;
static uint64_t g_lapic_hz;
static struct timer *g_timers;

uint64_t now_ns(void)
{
    uint64_t delta;

    if (g_tsc_hz == 0) {
        return 0;
    }
    delta = rdtsc() - g_tsc0;
    return (uint64_t)(((unsigned __int128)delta * g_mult) >> 32);
}

uint64_t timer_tsc_hz(void)
{
    return g_tsc_hz;
}

uint64_t timer_ticks(void)
{
    return g_ticks;
}

void timer_arm_wakeup(uint64_t deadline_ns)
{
    uint64_t now = now_ns();
    uint64_t delta;
    uint64_t count;

    if (g_lapic_hz == 0) {
        return;
    }
    delta = deadline_ns > now ? deadline_ns - now : 0;
    delta = MAX(delta, TIMER_MIN_NS);
    delta = MIN(delta, 1000000000ULL / TIMER_HZ);
    count = (delta * g_lapic_hz) / 1000000000ULL; /* delta <= 10 ms: no overflow */
    drv_lapic_timer_arm((uint32_t)MIN(count, 0xFFFFFFFFULL));
}

uint64_t timer_next_deadline(void)
{
    uint64_t next = UINT64_MAX;

    for (struct timer *t = g_timers; t != NULL; t = t->next) {
        if (t->active && t->deadline_ns < next) {
            next = t->deadline_ns;
        }
    }
    return next;
}

static void tick_handler(void *ctx)
{
    (void)ctx;
    g_ticks++;
    /* Keep waking at least once a tick; the main loop and the VMM arm earlier as needed. */
    timer_arm_wakeup(UINT64_MAX);
}

static void sort3(uint64_t *v)
{
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2 - i; j++) {
            if (v[j] > v[j + 1]) {
                uint64_t t = v[j];
                v[j] = v[j + 1];
                v[j + 1] = t;
            }
        }
    }
}

int timer_init(void)
{
    uint64_t runs[CALIBRATE_RUNS];
    uint64_t lapic_hz;
    int rc;

    drv_pit_stop_channel0();
    for (int i = 0; i < CALIBRATE_RUNS; i++) {
        runs[i] = drv_pit_measure_tsc(CALIBRATE_US);
        if (runs[i] == 0) {
            LOG_ERROR(TIMER, "TSC calibration failed: the PIT does not count");
            return -EIO;
        }
    }
    sort3(runs);
    g_tsc_hz = runs[1] * (1000000 / CALIBRATE_US);
    g_mult = (uint64_t)(((unsigned __int128)1000000000ULL << 32) / g_tsc_hz);
    g_tsc0 = rdtsc();
    LOG_INFO(TIMER, "TSC %llu.%03llu MHz (median of %d PIT windows of %d us)",
             (unsigned long long)(g_tsc_hz / 1000000),
             (unsigned long long)((g_tsc_hz / 1000) % 1000), CALIBRATE_RUNS, CALIBRATE_US);

    lapic_hz = drv_lapic_timer_calibrate();
    if (lapic_hz == 0) {
        LOG_ERROR(TIMER, "LAPIC timer calibration failed");
        return -EIO;
    }
    rc = irq_register_vector(VEC_TIMER, tick_handler, NULL, "lapic-timer");
    if (rc != 0) {
        return rc;
    }
    g_lapic_hz = lapic_hz;
    drv_lapic_timer_oneshot(VEC_TIMER);
    timer_arm_wakeup(UINT64_MAX);
    LOG_INFO(TIMER, "LAPIC timer %llu kHz, one-shot, at least %d wake-ups/s",
             (unsigned long long)(lapic_hz / 1000), TIMER_HZ);
    return 0;
}

void timer_start(struct timer *t, uint64_t delay_ns, uint64_t period_ns, void (*fn)(void *),
                 void *arg, const char *name)
{
    timer_stop(t);
    t->deadline_ns = now_ns() + delay_ns;
    t->period_ns = period_ns;
    t->fn = fn;
    t->arg = arg;
    t->name = name;
    t->active = true;
    t->next = g_timers;
    g_timers = t;
}

void timer_stop(struct timer *t)
{
    for (struct timer **pp = &g_timers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->active = false;
    t->next = NULL;
}

int timer_run_expired(void)
{
    uint64_t now = now_ns();
    int ran = 0;
    struct timer *t = g_timers;

    while (t != NULL) {
        struct timer *next = t->next; /* the callback may stop or re-arm t */

        if (t->active && now >= t->deadline_ns) {
            if (t->period_ns != 0) {
                /* Skip missed periods rather than firing a burst. */
                do {
                    t->deadline_ns += t->period_ns;
                } while (t->deadline_ns <= now);
            } else {
                timer_stop(t);
            }
            LOG_TRACE(TIMER, "timer %s fires", t->name != NULL ? t->name : "?");
            t->fn(t->arg);
            ran++;
        }
        t = next;
    }
    return ran;
}

void timer_udelay(uint32_t us)
{
    uint64_t end;

    if (g_tsc_hz == 0) {
        for (uint32_t i = 0; i < us; i++) {
            io_wait(); /* about 1 us on ISA timing */
        }
        return;
    }
    end = rdtsc() + (g_tsc_hz / 1000000) * us;
    while (rdtsc() < end) {
        cpu_pause();
    }
}
