/* 8254 PIT: used by the host only as a reference clock to calibrate the TSC and LAPIC timer. */
#ifndef PETREL_PIT_H
#define PETREL_PIT_H

#include "../kernel/types.h"

#define PIT_HZ 1193182u

/* Busy-waits `us` microseconds (at most 50 ms) on PIT channel 2 and returns the TSC ticks that
 * passed, or 0 when the PIT never counted down (broken or absent). */
uint64_t drv_pit_measure_tsc(uint32_t us);
/* Stops channel 0 so it raises no interrupts (mode 0, never reloaded). */
void drv_pit_stop_channel0(void);

#endif
