/* A 16550A UART model (COM1 at 0x3F8 on IRQ 4 and COM2 at 0x2F8 on IRQ 3 are two instances).
 *
 * Registers: RBR/THR, IER, IIR/FCR, LCR (DLAB), MCR, LSR, MSR, SCR and the divisor latch.
 * 16-byte FIFOs with RX trigger levels 1/4/8/14 (one-byte holding registers with the FIFOs off).
 * Interrupts by IIR priority: line status (overrun), RX data at the trigger level, RX timeout
 * (data below the trigger level and nothing received or read for 4 character times at the
 * programmed speed and frame), THR empty, modem status. THRE is raised when the transmitter
 * empties and when ETBEI is enabled while it is empty; reading IIR while it reports THRE, or
 * writing THR, clears it. The line goes out as a PC wires it: the IRQ is driven only while MCR
 * OUT2 is set and loopback is off (loopback forces OUT2 inactive).
 *
 * Transmission is instant (THR and TX FIFO are always empty again after a write, LSR THRE and
 * TEMT always read 1). Bytes are batched and given to vmm_console_out in one call on a newline,
 * when the batch buffer is full, at every poll (the core polls before entering the guest) and on
 * destroy. A UART that is not the VM's console counts its output and logs it at debug. The
 * string hook takes `rep outsb` to THR in one call (one exit for the whole string).
 *
 * Loopback (MCR bit 4): THR bytes go to the receiver (overrun when it is full), MSR reads back
 * CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2, and console input is not taken. Without loopback the
 * modem inputs read CTS, DSR and DCD asserted.
 *
 * Receive: the console instance registers with vmm_console_register; the core offers typed
 * bytes and the UART takes what fits in its receive FIFO (16 bytes, 1 with FIFOs off). Bytes it
 * does not take stay queued in the core, which must offer them again later (e.g. after each
 * exit, before entering the guest), since the UART cannot ask. */
#ifndef PETREL_VMM_DEV_UART_H
#define PETREL_VMM_DEV_UART_H

#include "../vmm_dev.h"

#define UART_FIFO_SIZE 16
#define UART_TX_BATCH  128

struct vmm_uart;

struct vmm_uart_config {
    const char *name; /* "com1": unique device name; the string must outlive the device */
    uint16_t base;    /* 0x3F8 */
    unsigned irq;     /* 4 */
    bool console;     /* this UART is the VM's console (registers for input, output goes out) */
};

int vmm_dev_uart_create(struct vmm_vm *vm, const struct vmm_uart_config *cfg,
                        struct vmm_uart **out);

/* Feeds received bytes (what the console hook does); returns how many were taken. */
size_t vmm_uart_receive(struct vmm_uart *u, const uint8_t *buf, size_t len);

struct vmm_uart_stats {
    uint64_t tx_bytes;
    uint64_t tx_flushes; /* vmm_console_out calls */
    uint64_t rx_bytes;
    uint64_t overruns;
};
void vmm_uart_stats(const struct vmm_uart *u, struct vmm_uart_stats *st);

#endif
