/* The VM's i8042 keyboard controller with a PS/2 keyboard behind it (data port 0x60, status and
 * command port 0x64, IRQ 1), and the PC's system control port A at 0x92 ("fast A20" and fast
 * reset), which shares the A20 state and so lives in this file.
 *
 * Controller commands: 0x20-0x3F read controller RAM (0x20 the command byte), 0x60-0x7F write
 * it, 0xAA self test (-> 0x55), 0xAB keyboard interface test (-> 0x00), 0xAD/0xAE disable and
 * enable the keyboard, 0xC0 input port, 0xD0/0xD1 read/write the output port (bit 1 A20, bit 0
 * clear resets the CPU), 0xD2/0xD3 write the keyboard/aux output buffer, 0xDD/0xDF A20 off/on,
 * 0xE0 test inputs, 0xF0-0xFF pulse output lines (0xFE pulses reset: vmm_vm_request_reset).
 * There is no mouse: 0xA7/0xA8 leave the command byte alone and 0xA9 answers 0x02 (clock line
 * stuck), which is how a guest concludes there is no aux port; 0xD4 bytes are dropped.
 * Unknown commands are logged at debug and ignored.
 *
 * Keyboard commands: 0xFF reset (-> 0xFA 0xAA), 0xF6 defaults, 0xF5/0xF4 disable/enable
 * scanning, 0xF2 identify (-> 0xFA 0xAB 0x83, or 0x41 with translation on), 0xF0 scancode set
 * (0 reports the set), 0xED LEDs, 0xF3 typematic rate, 0xEE echo, 0xF7-0xFD acknowledged,
 * anything else answered 0xFE (resend).
 *
 * IRQ 1 is high while the output buffer holds a keyboard (or controller) byte and the command
 * byte enables it (bit 0). Controller replies go before keyboard bytes; keyboard bytes wait
 * while the keyboard is disabled (command byte bit 4). Port 0x92: bit 1 A20, bit 0 written 1
 * resets; it reads back A20 in bit 1.
 *
 * Starting state as a BIOS leaves it: command byte 0x45 (keyboard IRQ, system flag,
 * translation), A20 enabled, scanning on, scancode set 2 (set 1 bytes reach the guest through
 * translation). */
#ifndef PETREL_VMM_DEV_KBD_H
#define PETREL_VMM_DEV_KBD_H

#include "../vmm_dev.h"

#define KBD_QUEUE 32

struct vmm_kbd;

struct vmm_kbd_config {
    /* Optional: called when the guest switches A20 (the VMM may model the 1 MiB wrap later). */
    void (*a20_changed)(void *ctx, bool enabled);
    void *ctx;
    bool a20_disabled; /* start with A20 off (as at power on) instead of on */
};

/* cfg may be NULL. */
int vmm_dev_kbd_create(struct vmm_vm *vm, const struct vmm_kbd_config *cfg, struct vmm_kbd **out);

bool vmm_kbd_a20(const struct vmm_kbd *kbd);

/* Types ASCII text on the keyboard: each byte becomes make and break scancodes (with shift or
 * control as needed; '\n' and '\r' are Enter) in the set the guest sees (set 1 with translation
 * on, else set 2). Returns how many bytes were taken: it stops when the keyboard queue is full
 * and takes nothing while scanning is disabled. Bytes with no key are taken and dropped. */
size_t vmm_kbd_type(struct vmm_kbd *kbd, const uint8_t *text, size_t len);
/* Queues raw bytes from the keyboard; returns how many fit. */
size_t vmm_kbd_push(struct vmm_kbd *kbd, const uint8_t *bytes, size_t len);

struct vmm_kbd_stats {
    uint64_t resets; /* reset requests (0xFE, output port, port 0x92) */
    uint64_t bytes;  /* bytes the guest read from the output buffer */
};
void vmm_kbd_stats(const struct vmm_kbd *kbd, struct vmm_kbd_stats *st);

#endif
