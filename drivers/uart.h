/* 16550 UART driver: polled output, polled or interrupt-driven input. */
#ifndef PETREL_UART_H
#define PETREL_UART_H

#include "../kernel/types.h"

#define UART_COM1 0x3F8
#define UART_COM2 0x2F8

struct uart {
    uint16_t base;
    bool present;
    uint64_t tx_bytes;
    uint64_t tx_timeouts; /* characters given up on because THR never emptied */
    uint64_t rx_bytes;
    uint64_t rx_overruns;
};

/* Programs 8N1 at `baud` with FIFOs on. Sets u->present from a scratch-register check. */
int drv_uart_init(struct uart *u, uint16_t base, uint32_t baud);
void drv_uart_putc(struct uart *u, char c);
/* Writes a string, turning "\n" into "\r\n". */
void drv_uart_puts(struct uart *u, const char *s);
/* Returns a received byte, or -EAGAIN when none is waiting. */
int drv_uart_getc(struct uart *u);
/* The kernel's serial console (COM1). */
struct uart *drv_uart_console(void);

#endif
