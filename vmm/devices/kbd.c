/* i8042 keyboard controller and PS/2 keyboard model, plus port 0x92 (kbd.h). */
#include "kbd.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define KBD_DATA   0x60
#define KBD_STATUS 0x64
#define PORT_A     0x92

/* Command byte (controller RAM 0). */
#define CCB_KBD_INT 0x01
#define CCB_SYS     0x04
#define CCB_KBD_OFF 0x10
#define CCB_XLATE   0x40
#define CCB_DEFAULT (CCB_KBD_INT | CCB_SYS | CCB_XLATE)

#define STAT_OBF   0x01
#define STAT_SYS   0x04
#define STAT_CMD   0x08 /* last write went to 0x64 */
#define STAT_UNINH 0x10 /* keyboard not inhibited */
#define STAT_AUXOB 0x20

#define OUT_RESET 0x01 /* 0 holds the CPU in reset */
#define OUT_A20   0x02
#define OUT_OBF   0x10
#define OUT_AUXOB 0x20

#define KBD_ACK    0xFA
#define KBD_RESEND 0xFE
#define Q_AUX      0x100 /* queue entry flag: the byte is aux (mouse) data */

struct kbd_queue {
    uint16_t buf[KBD_QUEUE];
    uint8_t head;
    uint8_t count;
};

struct vmm_kbd {
    struct vmm_vm *vm;
    struct vmm_kbd_config cfg;
    uint8_t ram[32]; /* ram[0] is the command byte */
    uint8_t outport;
    bool sys;
    bool last_was_cmd;
    uint8_t ob;
    bool obf;
    bool ob_aux;
    struct kbd_queue ctrl; /* controller replies, ahead of keyboard bytes */
    struct kbd_queue keys; /* bytes from the keyboard */
    uint8_t pending_cmd;   /* controller command waiting for its data byte */
    uint8_t kbd_pending;   /* keyboard command waiting for its argument */
    bool scanning;
    uint8_t scanset;
    uint8_t leds;
    uint8_t typematic;
    bool a20;
    uint8_t port92;
    bool irq_level;
    uint64_t resets;
    uint64_t bytes;
    struct vmm_dev_reg reg;
};

#define KBD_LOG(k, lvl, ...) LOG_VM(KBD, lvl, vmm_vm_name((k)->vm), __VA_ARGS__)

/* US layout, set 1 make codes by ASCII; 0x80 means "with shift". */
#define SH 0x80
static const uint8_t ascii_set1[128] = {
    ['\b'] = 0x0E,     ['\t'] = 0x0F,     ['\n'] = 0x1C,     ['\r'] = 0x1C,     [0x1B] = 0x01,
    [0x7F] = 0x0E,     [' '] = 0x39,      ['1'] = 0x02,      ['2'] = 0x03,      ['3'] = 0x04,
    ['4'] = 0x05,      ['5'] = 0x06,      ['6'] = 0x07,      ['7'] = 0x08,      ['8'] = 0x09,
    ['9'] = 0x0A,      ['0'] = 0x0B,      ['-'] = 0x0C,      ['='] = 0x0D,      ['q'] = 0x10,
    ['w'] = 0x11,      ['e'] = 0x12,      ['r'] = 0x13,      ['t'] = 0x14,      ['y'] = 0x15,
    ['u'] = 0x16,      ['i'] = 0x17,      ['o'] = 0x18,      ['p'] = 0x19,      ['['] = 0x1A,
    [']'] = 0x1B,      ['a'] = 0x1E,      ['s'] = 0x1F,      ['d'] = 0x20,      ['f'] = 0x21,
    ['g'] = 0x22,      ['h'] = 0x23,      ['j'] = 0x24,      ['k'] = 0x25,      ['l'] = 0x26,
    [';'] = 0x27,      ['\''] = 0x28,     ['`'] = 0x29,      ['\\'] = 0x2B,     ['z'] = 0x2C,
    ['x'] = 0x2D,      ['c'] = 0x2E,      ['v'] = 0x2F,      ['b'] = 0x30,      ['n'] = 0x31,
    ['m'] = 0x32,      [','] = 0x33,      ['.'] = 0x34,      ['/'] = 0x35,      ['!'] = SH | 0x02,
    ['@'] = SH | 0x03, ['#'] = SH | 0x04, ['$'] = SH | 0x05, ['%'] = SH | 0x06, ['^'] = SH | 0x07,
    ['&'] = SH | 0x08, ['*'] = SH | 0x09, ['('] = SH | 0x0A, [')'] = SH | 0x0B, ['_'] = SH | 0x0C,
    ['+'] = SH | 0x0D, ['{'] = SH | 0x1A, ['}'] = SH | 0x1B, [':'] = SH | 0x27, ['"'] = SH | 0x28,
    ['~'] = SH | 0x29, ['|'] = SH | 0x2B, ['<'] = SH | 0x33, ['>'] = SH | 0x34, ['?'] = SH | 0x35,
    ['A'] = SH | 0x1E, ['B'] = SH | 0x30, ['C'] = SH | 0x2E, ['D'] = SH | 0x20, ['E'] = SH | 0x12,
    ['F'] = SH | 0x21, ['G'] = SH | 0x22, ['H'] = SH | 0x23, ['I'] = SH | 0x17, ['J'] = SH | 0x24,
    ['K'] = SH | 0x25, ['L'] = SH | 0x26, ['M'] = SH | 0x32, ['N'] = SH | 0x31, ['O'] = SH | 0x18,
    ['P'] = SH | 0x19, ['Q'] = SH | 0x10, ['R'] = SH | 0x13, ['S'] = SH | 0x1F, ['T'] = SH | 0x14,
    ['U'] = SH | 0x16, ['V'] = SH | 0x2F, ['W'] = SH | 0x11, ['X'] = SH | 0x2D, ['Y'] = SH | 0x15,
    ['Z'] = SH | 0x2C,
};

/* Set 2 make codes of the set 1 keys above (index: set 1 code). */
static const uint8_t set1_to_set2[0x3A] = {
    [0x01] = 0x76, [0x02] = 0x16, [0x03] = 0x1E, [0x04] = 0x26, [0x05] = 0x25, [0x06] = 0x2E,
    [0x07] = 0x36, [0x08] = 0x3D, [0x09] = 0x3E, [0x0A] = 0x46, [0x0B] = 0x45, [0x0C] = 0x4E,
    [0x0D] = 0x55, [0x0E] = 0x66, [0x0F] = 0x0D, [0x10] = 0x15, [0x11] = 0x1D, [0x12] = 0x24,
    [0x13] = 0x2D, [0x14] = 0x2C, [0x15] = 0x35, [0x16] = 0x3C, [0x17] = 0x43, [0x18] = 0x44,
    [0x19] = 0x4D, [0x1A] = 0x54, [0x1B] = 0x5B, [0x1C] = 0x5A, [0x1D] = 0x14, [0x1E] = 0x1C,
    [0x1F] = 0x1B, [0x20] = 0x23, [0x21] = 0x2B, [0x22] = 0x34, [0x23] = 0x33, [0x24] = 0x3B,
    [0x25] = 0x42, [0x26] = 0x4B, [0x27] = 0x4C, [0x28] = 0x52, [0x29] = 0x0E, [0x2A] = 0x12,
    [0x2B] = 0x5D, [0x2C] = 0x1A, [0x2D] = 0x22, [0x2E] = 0x21, [0x2F] = 0x2A, [0x30] = 0x32,
    [0x31] = 0x31, [0x32] = 0x3A, [0x33] = 0x41, [0x34] = 0x49, [0x35] = 0x4A, [0x36] = 0x59,
    [0x37] = 0x7C, [0x38] = 0x11, [0x39] = 0x29,
};

#define SET1_LSHIFT 0x2A
#define SET1_LCTRL  0x1D

static bool q_push(struct kbd_queue *q, uint16_t v)
{
    if (q->count >= KBD_QUEUE) {
        return false;
    }
    q->buf[(q->head + q->count) % KBD_QUEUE] = v;
    q->count++;
    return true;
}

static uint16_t q_pop(struct kbd_queue *q)
{
    uint16_t v = q->buf[q->head];

    q->head = (uint8_t)((q->head + 1) % KBD_QUEUE);
    q->count--;
    return v;
}

static void q_clear(struct kbd_queue *q)
{
    q->head = 0;
    q->count = 0;
}

static uint8_t kbd_ccb(const struct vmm_kbd *k)
{
    return k->ram[0];
}

static void kbd_update_irq(struct vmm_kbd *k)
{
    bool level = k->obf && !k->ob_aux && (kbd_ccb(k) & CCB_KBD_INT);

    if (level != k->irq_level) {
        k->irq_level = level;
        (void)vmm_dev_irq_set(k->vm, k, 1, level);
    }
}

/* Moves the next byte into the output buffer when it is free. */
static void kbd_refill(struct vmm_kbd *k)
{
    if (!k->obf) {
        if (k->ctrl.count > 0) {
            uint16_t v = q_pop(&k->ctrl);

            k->ob = (uint8_t)v;
            k->ob_aux = v & Q_AUX;
            k->obf = true;
        } else if (!(kbd_ccb(k) & CCB_KBD_OFF) && k->keys.count > 0) {
            k->ob = (uint8_t)q_pop(&k->keys);
            k->ob_aux = false;
            k->obf = true;
        }
    }
    kbd_update_irq(k);
}

static void kbd_reply(struct vmm_kbd *k, uint16_t v)
{
    if (!q_push(&k->ctrl, v)) {
        KBD_LOG(k, LOG_LVL_DEBUG, "controller reply 0x%02x dropped (queue full)", v & 0xFF);
    }
}

static void kbd_key_reply(struct vmm_kbd *k, uint8_t v)
{
    if (!q_push(&k->keys, v)) {
        KBD_LOG(k, LOG_LVL_DEBUG, "keyboard reply 0x%02x dropped (queue full)", v);
    }
}

static void kbd_set_a20(struct vmm_kbd *k, bool on)
{
    if (on == k->a20) {
        return;
    }
    k->a20 = on;
    k->outport = (uint8_t)((k->outport & ~OUT_A20) | (on ? OUT_A20 : 0));
    KBD_LOG(k, LOG_LVL_DEBUG, "A20 %s", on ? "enabled" : "disabled");
    if (k->cfg.a20_changed != NULL) {
        k->cfg.a20_changed(k->cfg.ctx, on);
    }
}

static void kbd_request_reset(struct vmm_kbd *k, const char *how)
{
    k->resets++;
    KBD_LOG(k, LOG_LVL_INFO, "guest requested a reset (%s)", how);
    vmm_vm_request_reset(k->vm);
}

static void kbd_write_ccb(struct vmm_kbd *k, uint8_t val)
{
    k->ram[0] = val;
    k->sys = val & CCB_SYS;
}

/* The keyboard's own reply to a command byte it received. */
static void kbd_keyboard_cmd(struct vmm_kbd *k, uint8_t val)
{
    bool xlate = kbd_ccb(k) & CCB_XLATE;
    uint8_t cmd = k->kbd_pending;

    if (cmd != 0) { /* the argument of an earlier command */
        k->kbd_pending = 0;
        switch (cmd) {
        case 0xED:
            k->leds = val & 7;
            kbd_key_reply(k, KBD_ACK);
            return;
        case 0xF3:
            k->typematic = val & 0x7F;
            kbd_key_reply(k, KBD_ACK);
            return;
        default: /* 0xF0: scancode set */
            if (val == 0) {
                static const uint8_t raw[4] = {0, 0x01, 0x02, 0x03};
                static const uint8_t translated[4] = {0, 0x43, 0x41, 0x3F};

                kbd_key_reply(k, KBD_ACK);
                kbd_key_reply(k, xlate ? translated[k->scanset] : raw[k->scanset]);
            } else if (val <= 3) {
                k->scanset = val;
                kbd_key_reply(k, KBD_ACK);
            } else {
                kbd_key_reply(k, KBD_RESEND);
            }
            return;
        }
    }
    switch (val) {
    case 0xFF: /* reset and self test */
        q_clear(&k->keys);
        k->scanning = true;
        k->scanset = 2;
        k->leds = 0;
        kbd_key_reply(k, KBD_ACK);
        kbd_key_reply(k, 0xAA);
        break;
    case 0xF6: /* defaults */
        k->scanning = true;
        k->scanset = 2;
        kbd_key_reply(k, KBD_ACK);
        break;
    case 0xF5:
        q_clear(&k->keys);
        k->scanning = false;
        kbd_key_reply(k, KBD_ACK);
        break;
    case 0xF4:
        k->scanning = true;
        kbd_key_reply(k, KBD_ACK);
        break;
    case 0xF2: /* identify: an MF2 keyboard */
        kbd_key_reply(k, KBD_ACK);
        kbd_key_reply(k, 0xAB);
        kbd_key_reply(k, xlate ? 0x41 : 0x83);
        break;
    case 0xF0:
    case 0xED:
    case 0xF3:
        k->kbd_pending = val;
        kbd_key_reply(k, KBD_ACK);
        break;
    case 0xEE:
        kbd_key_reply(k, 0xEE);
        break;
    case 0xF7:
    case 0xF8:
    case 0xF9:
    case 0xFA:
    case 0xFB:
    case 0xFC:
    case 0xFD:
    case 0xFE:
        kbd_key_reply(k, KBD_ACK);
        break;
    default:
        KBD_LOG(k, LOG_LVL_DEBUG, "unknown keyboard command 0x%02x", val);
        kbd_key_reply(k, KBD_RESEND);
        break;
    }
}

/* The data byte of a controller command (0x60-0x7F, 0xD1-0xD4). */
static void kbd_controller_data(struct vmm_kbd *k, uint8_t cmd, uint8_t val)
{
    if (cmd >= 0x60 && cmd <= 0x7F) {
        if (cmd == 0x60) {
            kbd_write_ccb(k, val);
        } else {
            k->ram[cmd & 0x1F] = val;
        }
        return;
    }
    switch (cmd) {
    case 0xD1: /* output port */
        k->outport = val;
        kbd_set_a20(k, val & OUT_A20);
        k->outport = (uint8_t)((val & ~OUT_A20) | (k->a20 ? OUT_A20 : 0));
        if (!(val & OUT_RESET)) {
            kbd_request_reset(k, "i8042 output port");
        }
        break;
    case 0xD2:
        kbd_reply(k, val);
        break;
    case 0xD3:
        kbd_reply(k, Q_AUX | val);
        break;
    default: /* 0xD4: to the aux device, which is absent */
        KBD_LOG(k, LOG_LVL_DEBUG, "byte 0x%02x to the absent aux device dropped", val);
        break;
    }
}

static void kbd_controller_cmd(struct vmm_kbd *k, uint8_t cmd)
{
    if (cmd >= 0x20 && cmd <= 0x3F) {
        kbd_reply(k, k->ram[cmd & 0x1F]);
        return;
    }
    if ((cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4)) {
        k->pending_cmd = cmd;
        return;
    }
    if (cmd >= 0xF0) { /* pulse output lines: bit 0 clear pulses reset */
        if (!(cmd & 1)) {
            kbd_request_reset(k, "i8042 0xFE");
        }
        return;
    }
    switch (cmd) {
    case 0xA7:
    case 0xA8:
        break; /* no aux port: the command byte keeps its aux bits */
    case 0xA9:
        kbd_reply(k, 0x02); /* aux clock line stuck high: no aux port */
        break;
    case 0xAA:
        k->sys = true;
        kbd_reply(k, 0x55);
        break;
    case 0xAB:
        kbd_reply(k, 0x00);
        break;
    case 0xAD:
        k->ram[0] |= CCB_KBD_OFF;
        break;
    case 0xAE:
        k->ram[0] &= (uint8_t)~CCB_KBD_OFF;
        break;
    case 0xC0:
        kbd_reply(k, 0x80); /* input port: keyboard not inhibited */
        break;
    case 0xD0:
        kbd_reply(k, (uint8_t)((k->outport & ~(OUT_OBF | OUT_AUXOB)) |
                               (k->obf && !k->ob_aux ? OUT_OBF : 0) |
                               (k->obf && k->ob_aux ? OUT_AUXOB : 0)));
        break;
    case 0xDD:
        kbd_set_a20(k, false);
        break;
    case 0xDF:
        kbd_set_a20(k, true);
        break;
    case 0xE0:
        kbd_reply(k, 0x00);
        break;
    default:
        KBD_LOG(k, LOG_LVL_DEBUG, "unknown controller command 0x%02x ignored", cmd);
        break;
    }
}

static uint8_t kbd_status(const struct vmm_kbd *k)
{
    return (uint8_t)((k->obf ? STAT_OBF : 0) | (k->sys ? STAT_SYS : 0) |
                     (k->last_was_cmd ? STAT_CMD : 0) | STAT_UNINH |
                     (k->obf && k->ob_aux ? STAT_AUXOB : 0));
}

static int kbd_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_kbd *k = dev;

    switch (port) {
    case KBD_DATA:
        if (write) {
            uint8_t cmd = k->pending_cmd;

            k->last_was_cmd = false;
            k->pending_cmd = 0;
            if (cmd != 0) {
                kbd_controller_data(k, cmd, *val);
            } else {
                kbd_keyboard_cmd(k, *val);
            }
        } else {
            *val = k->ob; /* an empty buffer reads its last byte again */
            if (k->obf) {
                k->obf = false;
                k->bytes++;
                kbd_update_irq(k); /* the line drops, so the next byte is a new edge */
            }
        }
        break;
    case KBD_STATUS:
        if (write) {
            k->last_was_cmd = true;
            k->pending_cmd = 0;
            kbd_controller_cmd(k, *val);
        } else {
            *val = kbd_status(k);
        }
        break;
    case PORT_A:
        if (write) {
            k->port92 = *val & (uint8_t)~0x03;
            kbd_set_a20(k, *val & 0x02);
            if (*val & 0x01) {
                kbd_request_reset(k, "port 0x92");
            }
        } else {
            *val = (uint8_t)(k->port92 | (k->a20 ? 0x02 : 0));
        }
        return VMM_HANDLED;
    default:
        return VMM_NOT_MINE;
    }
    kbd_refill(k);
    return VMM_HANDLED;
}

static int kbd_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, kbd_byte);
}

size_t vmm_kbd_push(struct vmm_kbd *k, const uint8_t *bytes, size_t len)
{
    size_t n = 0;

    while (n < len && q_push(&k->keys, bytes[n])) {
        n++;
    }
    kbd_refill(k);
    return n;
}

size_t vmm_kbd_type(struct vmm_kbd *k, const uint8_t *text, size_t len)
{
    bool set1 = (kbd_ccb(k) & CCB_XLATE) || k->scanset == 1;
    size_t i;

    for (i = 0; i < len && k->scanning; i++) {
        uint8_t c = text[i];
        uint8_t code = c < 128 ? ascii_set1[c] : 0;
        bool shift = code & SH;
        bool ctrl = false;
        uint8_t seq[12];
        size_t n = 0;

        if (code == 0 && c >= 1 && c <= 26) {
            code = ascii_set1['a' + c - 1]; /* control-letter */
            ctrl = true;
        }
        code &= (uint8_t)~SH;
        if (code == 0) {
            KBD_LOG(k, LOG_LVL_DEBUG, "no key for byte 0x%02x", c);
            continue;
        }
        if (set1) {
            if (ctrl) {
                seq[n++] = SET1_LCTRL;
            }
            if (shift) {
                seq[n++] = SET1_LSHIFT;
            }
            seq[n++] = code;
            seq[n++] = code | 0x80;
            if (shift) {
                seq[n++] = SET1_LSHIFT | 0x80;
            }
            if (ctrl) {
                seq[n++] = SET1_LCTRL | 0x80;
            }
        } else {
            if (ctrl) {
                seq[n++] = set1_to_set2[SET1_LCTRL];
            }
            if (shift) {
                seq[n++] = set1_to_set2[SET1_LSHIFT];
            }
            seq[n++] = set1_to_set2[code];
            seq[n++] = 0xF0;
            seq[n++] = set1_to_set2[code];
            if (shift) {
                seq[n++] = 0xF0;
                seq[n++] = set1_to_set2[SET1_LSHIFT];
            }
            if (ctrl) {
                seq[n++] = 0xF0;
                seq[n++] = set1_to_set2[SET1_LCTRL];
            }
        }
        if ((size_t)(KBD_QUEUE - k->keys.count) < n) {
            break;
        }
        for (size_t j = 0; j < n; j++) {
            (void)q_push(&k->keys, seq[j]);
        }
    }
    kbd_refill(k);
    return i;
}

bool vmm_kbd_a20(const struct vmm_kbd *k)
{
    return k->a20;
}

void vmm_kbd_stats(const struct vmm_kbd *k, struct vmm_kbd_stats *st)
{
    st->resets = k->resets;
    st->bytes = k->bytes;
}

static void kbd_init_state(struct vmm_kbd *k)
{
    memset(k->ram, 0, sizeof(k->ram));
    kbd_write_ccb(k, CCB_DEFAULT);
    k->a20 = !k->cfg.a20_disabled;
    k->outport = (uint8_t)(OUT_RESET | (k->a20 ? OUT_A20 : 0));
    k->last_was_cmd = false;
    k->ob = 0;
    k->obf = false;
    k->ob_aux = false;
    q_clear(&k->ctrl);
    q_clear(&k->keys);
    k->pending_cmd = 0;
    k->kbd_pending = 0;
    k->scanning = true;
    k->scanset = 2;
    k->leds = 0;
    k->typematic = 0;
    k->port92 = 0;
}

static void kbd_reset(void *dev)
{
    struct vmm_kbd *k = dev;
    bool a20 = k->a20;

    kbd_init_state(k);
    if (a20 != k->a20 && k->cfg.a20_changed != NULL) {
        k->cfg.a20_changed(k->cfg.ctx, k->a20);
    }
    kbd_update_irq(k);
}

static void kbd_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_dev_kbd_create(struct vmm_vm *vm, const struct vmm_kbd_config *cfg, struct vmm_kbd **out)
{
    struct vmm_kbd *k = vmm_host()->zalloc(sizeof(*k));
    int rc;

    if (k == NULL) {
        return -ENOMEM;
    }
    k->vm = vm;
    if (cfg != NULL) {
        k->cfg = *cfg;
    }
    kbd_init_state(k);

    k->reg.name = "i8042";
    k->reg.dev = k;
    k->reg.io[0] = (struct vmm_dev_io_range){.base = KBD_DATA, .count = 1, .fn = kbd_io};
    k->reg.io[1] = (struct vmm_dev_io_range){.base = KBD_STATUS, .count = 1, .fn = kbd_io};
    k->reg.io[2] = (struct vmm_dev_io_range){.base = PORT_A, .count = 1, .fn = kbd_io};
    k->reg.nio = 3;
    k->reg.irqs[0] = 1;
    k->reg.nirqs = 1;
    k->reg.reset = kbd_reset;
    k->reg.destroy = kbd_destroy;
    rc = vmm_dev_register(vm, &k->reg);
    if (rc < 0) {
        LOG_VM(KBD, LOG_LVL_ERROR, vmm_vm_name(vm), "i8042: register failed: %d", rc);
        vmm_host()->free(k);
        return rc;
    }
    if (out != NULL) {
        *out = k;
    }
    return 0;
}
