/* 16550A UART model: FIFOs, interrupt priorities, loopback, batched console output (uart.h). */
#include "uart.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define UART_RBR 0 /* read; THR on write; DLL with DLAB */
#define UART_IER 1 /* DLM with DLAB */
#define UART_IIR 2 /* read; FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08

#define IIR_NONE    0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO    0xC0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

#define UART_CLOCK_BAUD 115200ULL /* 1.8432 MHz / 16 */

struct vmm_uart {
    struct vmm_vm *vm;
    struct vmm_uart_config cfg;
    uint8_t ier;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t scr;
    uint8_t dll;
    uint8_t dlm;
    bool fifo_on;
    uint8_t trigger;
    uint8_t lsr_err;   /* overrun (the only line error a virtual line has) */
    uint8_t msr_in;    /* modem input lines (MSR bits 4-7) */
    uint8_t msr_delta; /* MSR bits 0-3 */
    bool thr_ipending;
    uint8_t rx[UART_FIFO_SIZE];
    uint8_t rx_head;
    uint8_t rx_count;
    uint64_t rx_activity_ns; /* last byte received or read (RX timeout) */
    bool irq_level;
    uint8_t tx[UART_TX_BATCH];
    size_t tx_len;
    uint64_t tx_bytes;
    uint64_t tx_flushes;
    uint64_t rx_bytes;
    uint64_t overruns;
    struct vmm_dev_reg reg;
};

#define UART_LOG(u, lvl, ...) LOG_VM(UART, lvl, vmm_vm_name((u)->vm), __VA_ARGS__)

static uint64_t uart_now(void)
{
    return vmm_host()->now_ns();
}

static unsigned uart_rx_cap(const struct vmm_uart *u)
{
    return u->fifo_on ? UART_FIFO_SIZE : 1;
}

/* One character's time on the wire at the programmed speed and frame. */
static uint64_t uart_char_ns(const struct vmm_uart *u)
{
    uint64_t divisor = (uint64_t)u->dll | (uint64_t)u->dlm << 8;
    uint64_t bits = 1 + 5 + (u->lcr & 3) + ((u->lcr & 0x08) ? 1 : 0) + ((u->lcr & 0x04) ? 2 : 1);

    if (divisor == 0) {
        divisor = 1;
    }
    return bits * divisor * DEVIO_NS_PER_SEC / UART_CLOCK_BAUD;
}

static uint64_t uart_timeout_at(const struct vmm_uart *u)
{
    return u->rx_activity_ns + 4 * uart_char_ns(u);
}

static bool uart_timeout_due(const struct vmm_uart *u, uint64_t now)
{
    return u->fifo_on && u->rx_count > 0 && now >= uart_timeout_at(u);
}

static bool uart_rx_ready(const struct vmm_uart *u)
{
    return u->fifo_on ? u->rx_count >= u->trigger : u->rx_count > 0;
}

static uint8_t uart_iir(const struct vmm_uart *u, uint64_t now)
{
    uint8_t id;

    if ((u->ier & IER_RLSI) && u->lsr_err) {
        id = IIR_RLSI;
    } else if ((u->ier & IER_RDI) && uart_rx_ready(u)) {
        id = IIR_RDI;
    } else if ((u->ier & IER_RDI) && uart_timeout_due(u, now)) {
        id = IIR_TIMEOUT;
    } else if ((u->ier & IER_THRI) && u->thr_ipending) {
        id = IIR_THRI;
    } else if ((u->ier & IER_MSI) && (u->msr_delta & 0x0F)) {
        id = IIR_MSI;
    } else {
        id = IIR_NONE;
    }
    return (uint8_t)(id | (u->fifo_on ? IIR_FIFO : 0));
}

/* A PC drives the IRQ through a buffer enabled by OUT2; loopback forces OUT2 inactive. */
static void uart_update_irq(struct vmm_uart *u, uint64_t now)
{
    bool level = !(uart_iir(u, now) & IIR_NONE) && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);

    if (level != u->irq_level) {
        u->irq_level = level;
        (void)vmm_dev_irq_set(u->vm, u, u->cfg.irq, level);
    }
}

static void uart_flush(struct vmm_uart *u)
{
    if (u->tx_len == 0) {
        return;
    }
    if (u->cfg.console) {
        vmm_console_out(u->vm, u->tx, u->tx_len);
    } else {
        UART_LOG(u, LOG_LVL_DEBUG, "%s: %zu bytes sent (not the console)", u->cfg.name, u->tx_len);
    }
    u->tx_flushes++;
    u->tx_len = 0;
}

static void uart_rx_clear(struct vmm_uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

/* A byte arriving at the receiver from the loopback path. */
static void uart_rx_push(struct vmm_uart *u, uint8_t b, uint64_t now)
{
    if (u->rx_count < uart_rx_cap(u)) {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
        u->rx_count++;
    } else {
        /* Overrun: a full FIFO keeps its bytes; a holding register is overwritten. */
        u->lsr_err |= LSR_OE;
        u->overruns++;
        if (!u->fifo_on) {
            u->rx[u->rx_head] = b;
        }
    }
    u->rx_activity_ns = now;
}

static uint8_t uart_rx_pop(struct vmm_uart *u, uint64_t now)
{
    uint8_t b;

    if (u->rx_count == 0) {
        return 0;
    }
    b = u->rx[u->rx_head];
    u->rx_head = (uint8_t)((u->rx_head + 1) % UART_FIFO_SIZE);
    u->rx_count--;
    u->rx_activity_ns = now;
    return b;
}

static void uart_tx_byte(struct vmm_uart *u, uint8_t b, uint64_t now)
{
    if (u->mcr & MCR_LOOP) {
        uart_rx_push(u, b, now);
        return;
    }
    u->tx[u->tx_len++] = b;
    u->tx_bytes++;
    if (b == '\n' || u->tx_len == UART_TX_BATCH) {
        uart_flush(u);
    }
}

static uint8_t uart_modem_inputs(const struct vmm_uart *u)
{
    if (!(u->mcr & MCR_LOOP)) {
        return MSR_CTS | MSR_DSR | MSR_DCD;
    }
    return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
                     ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static void uart_write_mcr(struct vmm_uart *u, uint8_t val)
{
    uint8_t in;
    uint8_t changed;

    u->mcr = val & 0x1F;
    in = uart_modem_inputs(u);
    changed = in ^ u->msr_in;
    if (changed & MSR_CTS) {
        u->msr_delta |= MSR_DCTS;
    }
    if (changed & MSR_DSR) {
        u->msr_delta |= MSR_DDSR;
    }
    if ((changed & MSR_RI) && !(in & MSR_RI)) {
        u->msr_delta |= MSR_TERI; /* trailing edge only */
    }
    if (changed & MSR_DCD) {
        u->msr_delta |= MSR_DDCD;
    }
    u->msr_in = in;
}

static void uart_write_fcr(struct vmm_uart *u, uint8_t val)
{
    static const uint8_t trigger[4] = {1, 4, 8, 14};
    bool on = val & 0x01;

    if (on != u->fifo_on) {
        uart_rx_clear(u);
        u->fifo_on = on;
    }
    if (!on) {
        return;
    }
    if (val & 0x02) {
        uart_rx_clear(u);
    }
    /* Bit 2 clears the TX FIFO: it is always empty already. */
    u->trigger = trigger[val >> 6];
}

static void uart_write(struct vmm_uart *u, unsigned reg, uint8_t val, uint64_t now)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t old;

    switch (reg) {
    case UART_RBR:
        if (dlab) {
            u->dll = val;
            break;
        }
        uart_tx_byte(u, val, now);
        u->thr_ipending = true; /* sent at once: THR is empty again */
        break;
    case UART_IER:
        if (dlab) {
            u->dlm = val;
            break;
        }
        old = u->ier;
        u->ier = val & 0x0F;
        if ((u->ier ^ old) & IER_THRI) {
            u->thr_ipending = (u->ier & IER_THRI) != 0; /* THR is always empty */
        }
        break;
    case UART_IIR:
        uart_write_fcr(u, val);
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR:
        uart_write_mcr(u, val);
        break;
    case UART_LSR:
    case UART_MSR:
        UART_LOG(u, LOG_LVL_DEBUG, "%s: write 0x%02x to read-only register %u ignored", u->cfg.name,
                 val, reg);
        break;
    default:
        u->scr = val;
        break;
    }
}

static uint8_t uart_read(struct vmm_uart *u, unsigned reg, uint64_t now)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v;

    switch (reg) {
    case UART_RBR:
        return dlab ? u->dll : uart_rx_pop(u, now);
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR:
        v = uart_iir(u, now);
        if ((v & 0x0F) == IIR_THRI) {
            u->thr_ipending = false;
        }
        return v;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        v = (uint8_t)((u->rx_count > 0 ? LSR_DR : 0) | u->lsr_err | LSR_THRE | LSR_TEMT);
        u->lsr_err = 0;
        return v;
    case UART_MSR:
        v = u->msr_in | u->msr_delta;
        u->msr_delta = 0;
        return v;
    default:
        return u->scr;
    }
}

static int uart_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_uart *u = dev;
    uint64_t now;
    unsigned reg = (uint16_t)(port - u->cfg.base);

    if (reg >= 8) {
        return VMM_NOT_MINE;
    }
    now = uart_now();
    if (write) {
        uart_write(u, reg, *val, now);
    } else {
        *val = uart_read(u, reg, now);
    }
    uart_update_irq(u, now);
    return VMM_HANDLED;
}

static int uart_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, uart_byte);
}

/* `rep outsb` to THR in one call; everything else element by element. */
static int uart_io_string(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                          uint32_t count)
{
    struct vmm_uart *u = dev;
    const uint8_t *p = buf;
    uint64_t now;

    if (!write || size != 1 || port != u->cfg.base || (u->lcr & LCR_DLAB) || (u->mcr & MCR_LOOP)) {
        return devio_string_each(dev, port, size, write, buf, count, uart_io);
    }
    now = uart_now();
    for (uint32_t i = 0; i < count; i++) {
        uart_tx_byte(u, p[i], now);
    }
    u->thr_ipending = true;
    uart_update_irq(u, now);
    return VMM_HANDLED;
}

size_t vmm_uart_receive(struct vmm_uart *u, const uint8_t *buf, size_t len)
{
    uint64_t now = uart_now();
    size_t n = 0;

    if (u->mcr & MCR_LOOP) {
        return 0; /* the receiver listens to the transmitter only */
    }
    while (n < len && u->rx_count < uart_rx_cap(u)) {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = buf[n++];
        u->rx_count++;
    }
    if (n > 0) {
        u->rx_bytes += n;
        u->rx_activity_ns = now;
        uart_update_irq(u, now);
    }
    return n;
}

static size_t uart_console_rx(void *dev, const uint8_t *buf, size_t len)
{
    return vmm_uart_receive(dev, buf, len);
}

static uint64_t uart_poll(void *dev, uint64_t now)
{
    struct vmm_uart *u = dev;

    uart_flush(u);
    uart_update_irq(u, now);
    if ((u->ier & IER_RDI) && u->fifo_on && u->rx_count > 0 && !uart_timeout_due(u, now)) {
        return uart_timeout_at(u); /* the RX timeout interrupt */
    }
    return UINT64_MAX;
}

static void uart_init_state(struct vmm_uart *u)
{
    u->ier = 0;
    u->lcr = 0x03; /* 8N1 */
    u->mcr = 0;
    u->scr = 0;
    u->dll = 1; /* 115200 baud */
    u->dlm = 0;
    u->fifo_on = false;
    u->trigger = 1;
    u->lsr_err = 0;
    u->msr_in = uart_modem_inputs(u);
    u->msr_delta = 0;
    u->thr_ipending = false;
    uart_rx_clear(u);
    u->rx_activity_ns = uart_now();
}

static void uart_reset(void *dev)
{
    struct vmm_uart *u = dev;

    uart_flush(u);
    uart_init_state(u);
    uart_update_irq(u, uart_now());
}

static void uart_destroy(void *dev)
{
    struct vmm_uart *u = dev;

    uart_flush(u); /* the last partial line (a guest that prints and exits at once) */
    vmm_host()->free(u);
}

void vmm_uart_stats(const struct vmm_uart *u, struct vmm_uart_stats *st)
{
    st->tx_bytes = u->tx_bytes;
    st->tx_flushes = u->tx_flushes;
    st->rx_bytes = u->rx_bytes;
    st->overruns = u->overruns;
}

int vmm_dev_uart_create(struct vmm_vm *vm, const struct vmm_uart_config *cfg, struct vmm_uart **out)
{
    struct vmm_uart *u;
    int rc;

    if (cfg == NULL || cfg->name == NULL || cfg->irq >= 16 || cfg->base > 0xFFF8) {
        LOG_VM(UART, LOG_LVL_ERROR, vmm_vm_name(vm), "uart: bad configuration");
        return -EINVAL;
    }
    u = vmm_host()->zalloc(sizeof(*u));
    if (u == NULL) {
        return -ENOMEM;
    }
    u->vm = vm;
    u->cfg = *cfg;
    uart_init_state(u);

    u->reg.name = u->cfg.name;
    u->reg.dev = u;
    u->reg.io[0] = (struct vmm_dev_io_range){
        .base = cfg->base, .count = 8, .fn = uart_io, .string_fn = uart_io_string};
    u->reg.nio = 1;
    u->reg.irqs[0] = (uint8_t)cfg->irq;
    u->reg.nirqs = 1;
    u->reg.poll = uart_poll;
    u->reg.reset = uart_reset;
    u->reg.destroy = uart_destroy;
    rc = vmm_dev_register(vm, &u->reg);
    if (rc < 0) {
        LOG_VM(UART, LOG_LVL_ERROR, vmm_vm_name(vm), "%s: register failed: %d", cfg->name, rc);
        vmm_host()->free(u);
        return rc;
    }
    /* From here the VM owns the device and frees it through destroy. */
    if (cfg->console) {
        rc = vmm_console_register(vm, uart_console_rx, u);
        if (rc < 0) {
            UART_LOG(u, LOG_LVL_ERROR, "%s: console register failed: %d", cfg->name, rc);
            return rc;
        }
    }
    if (out != NULL) {
        *out = u;
    }
    return 0;
}
