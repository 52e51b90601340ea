/* The serial console sink: every kept log line is printed on COM1. */
#include "console_out.h"
#include "lib.h"
#include "log.h"
#include "../drivers/uart.h"

static void serial_sink(void *ctx, const struct log_record *rec)
{
    char line[LOG_TEXT_MAX + 64];

    (void)ctx;
    log_format(rec, line, sizeof(line));
    drv_uart_puts(drv_uart_console(), line);
    drv_uart_puts(drv_uart_console(), "\n");
}

void console_out_init(void)
{
    (void)drv_uart_init(drv_uart_console(), UART_COM1, 115200);
    (void)log_add_sink(serial_sink, NULL);
}

void console_out_raw(const char *s)
{
    drv_uart_puts(drv_uart_console(), s);
}
