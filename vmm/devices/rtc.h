/* The VM's MC146818 RTC and CMOS NVRAM (index port 0x70 with the NMI-disable bit 7, data port
 * 0x71, 128 bytes, IRQ 8).
 *
 * Time: registers 0-9 and the century byte 0x32 are computed from the configured start time
 * advancing with vmm_host()->now_ns(), in BCD or binary and 12 or 24 hour format as REG B says.
 * A write to a time register while the clock runs sets the clock (the sub-second phase is kept);
 * with REG B SET the clock stops and the guest writes the registers, which take effect when SET
 * is cleared. The day of week is derived from the date (a written value is not kept).
 *   REG A: UIP is set during the 244 us before each second's update; DV 0-2 runs the clock,
 *          DV 6-7 holds the divider in reset (on release the first update comes 500 ms later);
 *          RS selects the periodic rate (1: 256 Hz, 2: 128 Hz, n >= 3: 65536 >> n Hz).
 *   REG B: SET, PIE, AIE, UIE, SQWE (kept), DM (binary), 24/12, DSE (kept, no DST applied).
 *   REG C: IRQF PF AF UF; reading clears it and lowers IRQ 8. IRQF = (PF & PIE) | (AF & AIE) |
 *          (UF & UIE) and IRQ 8 is high exactly while IRQF is set.
 *   REG D: VRT (battery good).
 * Interrupts are computed lazily in poll(): several periodic ticks since the last poll set PF
 * once (the rest are counted as coalesced); poll() returns the next periodic tick or second
 * boundary that could raise IRQ 8, or UINT64_MAX while IRQF is already set.
 *
 * Memory-size bytes, as QEMU's PC sets them: 0x15/0x16 base memory (640 KiB), 0x17/0x18 and
 * 0x30/0x31 KiB above 1 MiB (max 65535), 0x34/0x35 64 KiB units above 16 MiB below 4 GiB,
 * 0x5B-0x5D 64 KiB units above 4 GiB, 0x5F CPUs - 1, 0x14 equipment (FPU), and the checksum of
 * 0x10-0x2D at 0x2E/0x2F. Everything else is NVRAM the guest may use. */
#ifndef PETREL_VMM_DEV_RTC_H
#define PETREL_VMM_DEV_RTC_H

#include "../vmm_dev.h"

/* 2026-01-01 00:00:00 UTC, the start time when the host does not know the wall clock. */
#define RTC_DEFAULT_EPOCH 1767225600LL

struct vmm_rtc;

struct vmm_rtc_config {
    int64_t start_epoch;   /* seconds since 1970-01-01 UTC at creation; 0: RTC_DEFAULT_EPOCH */
    uint64_t mem_below_4g; /* bytes of guest RAM from 0 below 4 GiB */
    uint64_t mem_above_4g; /* bytes of guest RAM from 4 GiB */
    unsigned ncpus;        /* 0 counts as 1 */
    unsigned irq;          /* 0 means 8, the PC's line */
};

/* cfg may be NULL (defaults, no memory). */
int vmm_dev_rtc_create(struct vmm_vm *vm, const struct vmm_rtc_config *cfg, struct vmm_rtc **out);

/* The guest's clock (seconds since 1970) at host time now_ns. */
int64_t vmm_rtc_time(struct vmm_rtc *rtc, uint64_t now_ns);

struct vmm_rtc_stats {
    uint64_t periodic;           /* periodic ticks seen */
    uint64_t periodic_coalesced; /* ticks that found PF already set */
    uint64_t irqs;               /* rising edges of IRQ 8 */
};
void vmm_rtc_stats(const struct vmm_rtc *rtc, struct vmm_rtc_stats *st);

/* Calendar helpers (UTC, proleptic Gregorian), exported for tests and loaders. */
struct rtc_tm {
    int64_t year;
    unsigned month; /* 1-12 */
    unsigned day;   /* 1-31 */
    unsigned hour, min, sec;
    unsigned wday; /* 0 Sunday */
};
void rtc_epoch_to_tm(int64_t t, struct rtc_tm *tm);
int64_t rtc_tm_to_epoch(const struct rtc_tm *tm);

#endif
