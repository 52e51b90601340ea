/* The VM's 8259A interrupt controller pair (master 0x20/0x21, slave 0xA0/0xA1 on IRQ2, ELCR
 * 0x4D0/0x4D1): the model of ICW1-4, OCW1-3, priority, cascade and INTA.
 *
 * It registers itself as the VM's interrupt controller (vmm_intc_register), so it must be
 * created before any device that raises a line. Lines 0-7 go to the master, 8-15 to the slave;
 * line 2 is taken as 9, as the ISA bus of an AT redirects IRQ2 there (the master's input 2 is
 * the cascade). Each input is edge triggered unless its ELCR bit says level (ELCR can make
 * level only lines 3-7, 9-12, 14, 15, as on PIIX). An edge input latches its request on the
 * rising edge (a pulse set true/false is enough); a level input requests while high.
 *
 * Interrupt acknowledge (vmm_intc_ops):
 *   pending(vector)  what an INTA would deliver now, without changing state.
 *   ack(vector)      the CPU took `vector`: its request moves to in service (nothing goes in
 *                    service with auto-EOI). The core calls it right after pending() returned
 *                    that vector. If that request has meanwhile vanished (a level line dropped,
 *                    the guest masked it), ack counts a spurious acknowledge and changes nothing.
 * vmm_pic_intack() is the whole hardware INTA cycle in one call, returning the vector the
 * 8259 puts on the bus: when no request is left it is the master's IRQ7 vector with nothing
 * set in service (the spurious IRQ7 of a PC). The master's cascade input follows the slave's
 * output as a level, so a vanished slave request leaves nothing behind to deliver (the slave's
 * IRQ15 vector is given only if that ever happens).
 *
 * Not modelled: single (non-cascade) mode and LTIM (ICW1 bit 3; ELCR decides, as on PIIX),
 * buffered mode; both are logged at debug and ignored. */
#ifndef PETREL_VMM_DEV_PIC_H
#define PETREL_VMM_DEV_PIC_H

#include "../vmm_dev.h"

struct vmm_pic;

struct vmm_pic_config {
    /* false: the state a PC BIOS leaves (initialised, vectors 0x08 and 0x70, every line masked
     * but the cascade), what a multiboot guest finds. true: the power-on state, which needs
     * ICW1-4 before it does anything useful (vectors 0, nothing masked). */
    bool power_on_state;
};

/* cfg may be NULL (the defaults). On success *out (if out is not NULL) is the device, owned by
 * the VM. */
int vmm_dev_pic_create(struct vmm_vm *vm, const struct vmm_pic_config *cfg, struct vmm_pic **out);

/* A full INTA cycle (see above). */
uint8_t vmm_pic_intack(struct vmm_pic *pic);

/* Counters and register views, for `vm info` and tests. */
struct vmm_pic_stats {
    uint64_t acks;     /* interrupts delivered */
    uint64_t spurious; /* acknowledges that found the request gone */
    uint8_t irr[2], isr[2], imr[2], elcr[2], base[2];
};
void vmm_pic_stats(const struct vmm_pic *pic, struct vmm_pic_stats *st);

#endif
