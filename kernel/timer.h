/* Time: a monotonic now_ns() from the TSC calibrated against the PIT, a periodic LAPIC tick
 * that wakes the main loop, and timer callbacks run from the main loop. */
#ifndef PETREL_TIMER_H
#define PETREL_TIMER_H

#include "types.h"

#define TIMER_HZ 100

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
/* Busy-waits, for drivers that must wait microseconds for hardware. */
void timer_udelay(uint32_t us);

#endif
