/* Time: a monotonic now_ns() from the TSC calibrated against the PIT, a one-shot LAPIC timer
 * that wakes the main loop at the next deadline (and at least every tick), and timer callbacks
 * run from the main loop. */
#ifndef PETREL_TIMER_H
#define PETREL_TIMER_H

#include "types.h"

#define TIMER_HZ     100      /* the longest the CPU sleeps or a guest runs unasked */
#define TIMER_MIN_NS 20000ULL /* closest wake-up armed: no interrupt storms */

struct timer {
    uint64_t deadline_ns;
    uint64_t period_ns; /* 0 = one-shot */
    void (*fn)(void *arg);
    void *arg;
    const char *name;
    bool active;
    struct timer *next;
};

/* Calibrates the TSC and LAPIC timer and starts the tick. */
int timer_init(void);
uint64_t now_ns(void);
uint64_t timer_tsc_hz(void);
uint64_t timer_ticks(void);
/* Arms t to fire after delay_ns (then every period_ns if non-zero). Re-arming moves it. */
void timer_start(struct timer *t, uint64_t delay_ns, uint64_t period_ns, void (*fn)(void *),
                 void *arg, const char *name);
void timer_stop(struct timer *t);
/* Runs expired timers (main loop). Returns how many ran. */
int timer_run_expired(void);
/* Arms the LAPIC timer to interrupt at deadline_ns, clamped to [now + TIMER_MIN_NS,
 * now + one tick]. The latest call wins. */
void timer_arm_wakeup(uint64_t deadline_ns);
/* The earliest deadline of the armed timer callbacks (UINT64_MAX: none). */
uint64_t timer_next_deadline(void);
/* Busy-waits, for drivers that must wait microseconds for hardware. */
void timer_udelay(uint32_t us);

#endif
