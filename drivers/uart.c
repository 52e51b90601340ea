/* 16550 UART: the appliance's serial console on COM1 (boot log, panics, `make run` terminal). */
#include "uart.h"
#include "../kernel/cpu.h"

#define REG_DATA    0 /* THR/RBR, or divisor low with DLAB */
#define REG_IER     1 /* or divisor high with DLAB */
#define REG_FCR     2
#define REG_LCR     3
#define REG_MCR     4
#define REG_LSR     5
#define REG_SCRATCH 7

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20

/* A stuck transmitter must not hang the kernel: give up on a byte after this many polls. */
#define TX_SPIN_LIMIT 100000

static struct uart g_console;

struct uart *drv_uart_console(void)
{
    return &g_console;
}

int drv_uart_init(struct uart *u, uint16_t base, uint32_t baud)
{
    uint16_t divisor;

    if (baud == 0 || baud > 115200) {
        return -EINVAL;
    }
    divisor = (uint16_t)(115200 / baud);
    u->base = base;
    u->tx_bytes = 0;
    u->tx_timeouts = 0;
    u->rx_bytes = 0;
    u->rx_overruns = 0;

    outb(base + REG_SCRATCH, 0x5A);
    u->present = inb(base + REG_SCRATCH) == 0x5A;
    if (!u->present) {
        return -ENODEV;
    }
    outb(base + REG_IER, 0x00);
    outb(base + REG_LCR, 0x80); /* DLAB */
    outb(base + REG_DATA, (uint8_t)(divisor & 0xFF));
    outb(base + REG_IER, (uint8_t)(divisor >> 8));
    outb(base + REG_LCR, 0x03); /* 8N1 */
    outb(base + REG_FCR, 0xC7); /* FIFO on, clear both, 14-byte RX trigger */
    outb(base + REG_MCR, 0x0B); /* DTR, RTS, OUT2 (IRQ gate) */
    return 0;
}

void drv_uart_putc(struct uart *u, char c)
{
    if (!u->present) {
        return;
    }
    for (int i = 0; i < TX_SPIN_LIMIT; i++) {
        if (inb(u->base + REG_LSR) & LSR_THRE) {
            outb(u->base + REG_DATA, (uint8_t)c);
            u->tx_bytes++;
            return;
        }
        cpu_pause();
    }
    u->tx_timeouts++;
}

void drv_uart_puts(struct uart *u, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n') {
            drv_uart_putc(u, '\r');
        }
        drv_uart_putc(u, *s);
    }
}

int drv_uart_getc(struct uart *u)
{
    uint8_t lsr;

    if (!u->present) {
        return -EAGAIN;
    }
    lsr = inb(u->base + REG_LSR);
    if (lsr & LSR_OE) {
        u->rx_overruns++;
    }
    if (!(lsr & LSR_DR)) {
        return -EAGAIN;
    }
    u->rx_bytes++;
    return inb(u->base + REG_DATA);
}
