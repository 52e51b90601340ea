/* 8254 PIT: channel 2 one-shot as the calibration reference; channel 0 quiesced. */
#include "pit.h"
#include "../kernel/cpu.h"
#include "../kernel/log.h"

#define PIT_CH0     0x40
#define PIT_CH2     0x42
#define PIT_CMD     0x43
#define PORT_B      0x61
#define PORT_B_GATE 0x01
#define PORT_B_SPK  0x02
#define PORT_B_OUT2 0x20

/* The loop polls OUT2; bound it by TSC cycles too in case the PIT is dead. */
#define POLL_LIMIT 50000000ULL

uint64_t drv_pit_measure_tsc(uint32_t us)
{
    uint32_t count;
    uint8_t b;
    uint64_t t0;
    uint64_t t1;
    uint64_t polls = 0;

    if (us == 0 || us > 50000) {
        return 0;
    }
    count = (uint32_t)(((uint64_t)PIT_HZ * us) / 1000000);
    if (count == 0 || count > 0xFFFF) {
        return 0;
    }
    /* Gate low, speaker off, then program channel 2 in mode 0 (interrupt on terminal count):
     * OUT2 goes high when the count reaches zero. */
    b = inb(PORT_B);
    outb(PORT_B, (uint8_t)((b & ~PORT_B_SPK) & ~PORT_B_GATE));
    outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, (uint8_t)(count & 0xFF));
    outb(PIT_CH2, (uint8_t)(count >> 8));
    LOG_DEBUG(PIT, "channel 2 one-shot: %u us, count %u", us, count);

    b = inb(PORT_B);
    outb(PORT_B, (uint8_t)(b | PORT_B_GATE)); /* gate high starts counting */
    t0 = rdtsc();
    while ((inb(PORT_B) & PORT_B_OUT2) == 0) {
        if (++polls > POLL_LIMIT) {
            LOG_WARN(PIT, "channel 2 never reached terminal count");
            return 0;
        }
    }
    t1 = rdtsc();
    outb(PORT_B, (uint8_t)(inb(PORT_B) & ~PORT_B_GATE));
    LOG_DEBUG(PIT, "channel 2 done after %llu polls, %llu TSC ticks", (unsigned long long)polls,
              (unsigned long long)(t1 - t0));
    return t1 - t0;
}

void drv_pit_stop_channel0(void)
{
    outb(PIT_CMD, 0x30); /* channel 0, lobyte/hibyte, mode 0 */
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0);
    LOG_DEBUG(PIT, "channel 0 stopped (one-shot, no reload)");
}
