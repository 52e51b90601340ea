/* The VM's 8254 programmable interval timer (ports 0x40-0x43) and the PC's system control
 * port B (0x61: channel 2 gate, speaker data, OUT2 and refresh toggle read back).
 *
 * Counting is computed lazily from vmm_host()->now_ns() at 1.193182 MHz; nothing runs per
 * tick. All six modes: 0 (interrupt on terminal count), 1 (gate-triggered one shot), 2 (rate
 * generator), 3 (square wave), 4 (software strobe), 5 (gate-triggered strobe); binary and BCD
 * counting; lobyte, hibyte and lobyte-then-hibyte access; counter latch and read-back (count and
 * status). The gates of channels 0 and 1 are tied high, as on a PC, so modes 1 and 5 only
 * count on channel 2 (gate from port 0x61 bit 0). A count is loaded as soon as it is written
 * (the 8254 waits for the end of the current period in modes 2 and 3).
 *
 * IRQ 0 is pulsed on each rising edge of channel 0's OUT, from poll(): when several edges passed
 * since the last poll (a long guest slice, a busy host) one pulse stands for them all and the
 * rest are counted as coalesced, since the PIC latches only one request anyway. poll() returns
 * the time of the next edge, never sooner than PIT_MIN_PERIOD_NS ahead, which bounds the wake-up
 * rate a guest can ask for (a count of 2 in mode 2 would be 600 kHz).
 *
 * Port 0x61: bit 0 gate 2, bit 1 speaker data, bits 2-3 kept (parity/IO-check enables); reads
 * add bit 4, the DRAM refresh toggle (flips every 15.085 us, what BIOS delay loops count), and
 * bit 5, channel 2's OUT. */
#ifndef PETREL_VMM_DEV_PIT_H
#define PETREL_VMM_DEV_PIT_H

#include "../vmm_dev.h"

#define PIT_HZ            1193182ULL
#define PIT_MIN_PERIOD_NS 50000ULL

struct vmm_pit;

struct vmm_pit_config {
    unsigned irq; /* the line channel 0 drives: 0 on a PC */
};

/* cfg may be NULL (IRQ 0). Power-on state as after a PC BIOS: every channel in mode 3 with a
 * count of 65536 (18.2 Hz), channel 0 running, channel 2's gate low. */
int vmm_dev_pit_create(struct vmm_vm *vm, const struct vmm_pit_config *cfg, struct vmm_pit **out);

struct vmm_pit_stats {
    uint64_t irq_pulses;    /* IRQ 0 pulses raised */
    uint64_t irq_coalesced; /* channel 0 edges folded into an earlier pulse */
};
void vmm_pit_stats(const struct vmm_pit *pit, struct vmm_pit_stats *st);

#endif
