/* 8259 PIC pair: remap to vector_base..+15 and mask every line (the IOAPIC takes over). */
#include "pic.h"
#include "../kernel/cpu.h"
#include "../kernel/log.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1

void drv_pic_disable(uint8_t vector_base)
{
    /* Remap first: a spurious IRQ 7/15 still arrives on the new vectors, never on an exception
     * vector. */
    outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 */
    io_wait();
    outb(PIC2_CMD, 0x11);
    io_wait();
    outb(PIC1_DATA, vector_base);
    io_wait();
    outb(PIC2_DATA, (uint8_t)(vector_base + 8));
    io_wait();
    outb(PIC1_DATA, 0x04); /* slave on IRQ2 */
    io_wait();
    outb(PIC2_DATA, 0x02);
    io_wait();
    outb(PIC1_DATA, 0x01); /* 8086 mode */
    io_wait();
    outb(PIC2_DATA, 0x01);
    io_wait();
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    LOG_DEBUG(PIC, "8259 remapped to vectors %u-%u and masked", vector_base, vector_base + 15);
}
