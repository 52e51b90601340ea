/* Telnet NVT decoding and encoding for the server (see telnet.h). */
#include "telnet.h"
#include "../kernel/lib.h"

enum {
    ST_DATA,
    ST_CR,     /* after CR: LF or NUL complete it */
    ST_IAC,    /* after IAC */
    ST_VERB,   /* after IAC WILL/WONT/DO/DONT: the option byte comes next */
    ST_SB_OPT, /* after IAC SB: the option byte comes next */
    ST_SB,     /* inside a subnegotiation */
    ST_SB_IAC, /* IAC inside a subnegotiation */
};

static const char ayt_reply[] = "\r\n[Petrel: yes]\r\n";

void tn_init(struct tn *t, tn_send_fn send, void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->state = ST_DATA;
    t->send = send;
    t->ctx = ctx;
}

static void send_cmd(struct tn *t, uint8_t verb, uint8_t opt)
{
    uint8_t b[3] = {TN_IAC, verb, opt};

    t->send(t->ctx, b, sizeof(b));
}

void tn_start(struct tn *t)
{
    t->us[TN_OPT_ECHO] = TN_Q_WANTYES;
    send_cmd(t, TN_WILL, TN_OPT_ECHO);
    t->us[TN_OPT_SGA] = TN_Q_WANTYES;
    send_cmd(t, TN_WILL, TN_OPT_SGA);
    t->him[TN_OPT_NAWS] = TN_Q_WANTYES;
    send_cmd(t, TN_DO, TN_OPT_NAWS);
}

/* What the server agrees to: it echoes and suppresses go-ahead itself; the client may send
 * its window size and suppress go-ahead. Everything else is refused. */
static bool us_supported(uint8_t opt)
{
    return opt == TN_OPT_ECHO || opt == TN_OPT_SGA;
}

static bool him_supported(uint8_t opt)
{
    return opt == TN_OPT_NAWS || opt == TN_OPT_SGA;
}

/* RFC 1143 section 7 without the queue bit: the server never asks for a change while one is
 * pending (it asks once, at the start), so the queue is always empty. `q` is our view of one
 * side of an option; `yes` says whether the peer announced it on (WILL/DO) or off
 * (WONT/DONT). `agree` sends our positive answer (DO/WILL), `refuse` the negative one. */
static void q_receive(struct tn *t, uint8_t *q, bool yes, bool supported, uint8_t opt,
                      uint8_t agree, uint8_t refuse)
{
    if (yes) {
        switch (*q) {
        case TN_Q_NO:
            if (supported) {
                *q = TN_Q_YES;
                send_cmd(t, agree, opt);
            } else {
                t->stats.refused++;
                send_cmd(t, refuse, opt);
            }
            break;
        case TN_Q_YES:
            break; /* already on: answering would start a loop */
        case TN_Q_WANTNO:
            *q = TN_Q_NO; /* the peer answered our refusal with a yes: an error, stay off */
            break;
        case TN_Q_WANTYES:
            *q = TN_Q_YES;
            break;
        }
        return;
    }
    switch (*q) {
    case TN_Q_NO:
        break; /* already off */
    case TN_Q_YES:
        *q = TN_Q_NO;
        send_cmd(t, refuse, opt);
        break;
    case TN_Q_WANTNO:
    case TN_Q_WANTYES:
        *q = TN_Q_NO;
        break;
    }
}

static void negotiate(struct tn *t, uint8_t verb, uint8_t opt)
{
    switch (verb) {
    case TN_WILL:
        q_receive(t, &t->him[opt], true, him_supported(opt), opt, TN_DO, TN_DONT);
        break;
    case TN_WONT:
        q_receive(t, &t->him[opt], false, him_supported(opt), opt, TN_DO, TN_DONT);
        break;
    case TN_DO:
        q_receive(t, &t->us[opt], true, us_supported(opt), opt, TN_WILL, TN_WONT);
        break;
    case TN_DONT:
        q_receive(t, &t->us[opt], false, us_supported(opt), opt, TN_WILL, TN_WONT);
        break;
    }
}

/* A complete subnegotiation arrived (IAC SE). Returns TN_EV_WINDOW when it changed the
 * window size. */
static int sb_done(struct tn *t)
{
    if (t->sb_overflow || t->sb_opt != TN_OPT_NAWS || t->him[TN_OPT_NAWS] != TN_Q_YES ||
        t->sb_len != 4) {
        t->stats.sb_ignored++;
        return TN_NONE;
    }
    /* RFC 1073: width and height as 16-bit big-endian numbers; 0 means unknown. */
    t->width = (uint16_t)((t->sb_buf[0] << 8) | t->sb_buf[1]);
    t->height = (uint16_t)((t->sb_buf[2] << 8) | t->sb_buf[3]);
    return TN_EV_WINDOW;
}

static void sb_byte(struct tn *t, uint8_t b)
{
    if (t->sb_len < TN_SB_MAX) {
        t->sb_buf[t->sb_len++] = b;
    } else if (!t->sb_overflow) {
        t->sb_overflow = true;
        t->stats.sb_overflow++;
    }
}

/* An IAC command byte (not a verb, not SB). */
static int command(struct tn *t, uint8_t cmd)
{
    switch (cmd) {
    case TN_IP:
    case TN_BRK:
        return TN_CTRL_C;
    case TN_EL:
        return TN_CTRL_U;
    case TN_EC:
        return TN_CTRL_DEL;
    case TN_AYT:
        t->send(t->ctx, (const uint8_t *)ayt_reply, sizeof(ayt_reply) - 1);
        return TN_NONE;
    default:
        return TN_NONE; /* NOP, DM, AO, GA, a stray SE, and the unassigned 0..239 */
    }
}

static int rx_data(struct tn *t, uint8_t b)
{
    if (b == TN_IAC) {
        t->state = ST_IAC;
        return TN_NONE;
    }
    if (b == '\r') {
        t->state = ST_CR;
        return '\r';
    }
    return b;
}

int tn_rx(struct tn *t, uint8_t b)
{
    switch (t->state) {
    case ST_CR:
        t->state = ST_DATA;
        if (b == '\n' || b == '\0') {
            return TN_NONE; /* CR LF and CR NUL are one end of line */
        }
        return rx_data(t, b); /* a bare CR: already delivered, this byte stands alone */
    case ST_DATA:
        return rx_data(t, b);
    case ST_IAC:
        t->stats.commands++;
        switch (b) {
        case TN_IAC:
            t->state = ST_DATA;
            return TN_IAC; /* an escaped 255 data byte */
        case TN_WILL:
        case TN_WONT:
        case TN_DO:
        case TN_DONT:
            t->verb = b;
            t->state = ST_VERB;
            return TN_NONE;
        case TN_SB:
            t->state = ST_SB_OPT;
            return TN_NONE;
        default:
            t->state = ST_DATA;
            return command(t, b);
        }
    case ST_VERB:
        t->state = ST_DATA;
        negotiate(t, t->verb, b);
        return TN_NONE;
    case ST_SB_OPT:
        t->sb_opt = b;
        t->sb_len = 0;
        t->sb_total = 0;
        t->sb_overflow = false;
        t->state = ST_SB;
        return TN_NONE;
    case ST_SB:
        if (++t->sb_total > TN_SB_LIMIT) {
            t->stats.sb_aborted++;
            t->state = ST_DATA;
            return rx_data(t, b);
        }
        if (b == TN_IAC) {
            t->state = ST_SB_IAC;
        } else {
            sb_byte(t, b);
        }
        return TN_NONE;
    case ST_SB_IAC:
        if (b == TN_IAC) {
            sb_byte(t, TN_IAC); /* IAC IAC inside SB is a 255 of the parameters */
            t->state = ST_SB;
            return TN_NONE;
        }
        if (b == TN_SE) {
            t->state = ST_DATA;
            return sb_done(t);
        }
        /* Any other command ends the subnegotiation unfinished (RFC 854 leaves it undefined;
         * dropping it and obeying the command keeps the two sides in step). */
        t->stats.sb_aborted++;
        t->state = ST_IAC;
        return tn_rx(t, b);
    }
    t->state = ST_DATA; /* unreachable: every state is handled above */
    return TN_NONE;
}

bool tn_us_on(const struct tn *t, uint8_t opt)
{
    return t->us[opt] == TN_Q_YES || t->us[opt] == TN_Q_WANTYES;
}

bool tn_him_on(const struct tn *t, uint8_t opt)
{
    return t->him[opt] == TN_Q_YES || t->him[opt] == TN_Q_WANTYES;
}

static size_t encoded_size(uint8_t c)
{
    return (c == TN_IAC || c == '\n' || c == '\r') ? 2 : 1;
}

size_t tn_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t i = 0;
    size_t o = 0;

    for (; i < len; i++) {
        uint8_t c = in[i];

        if (o + encoded_size(c) > cap) {
            break;
        }
        if (c == TN_IAC) {
            out[o++] = TN_IAC;
            out[o++] = TN_IAC;
        } else if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else if (c == '\r') {
            out[o++] = '\r';
            out[o++] = '\0';
        } else {
            out[o++] = c;
        }
    }
    *outlen = o;
    return i;
}

size_t tn_encoded_len(const uint8_t *in, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        n += encoded_size(in[i]);
    }
    return n;
}

const char *tn_option_name(uint8_t opt)
{
    switch (opt) {
    case TN_OPT_BINARY:
        return "BINARY";
    case TN_OPT_ECHO:
        return "ECHO";
    case TN_OPT_SGA:
        return "SGA";
    case TN_OPT_TM:
        return "TIMING-MARK";
    case TN_OPT_TTYPE:
        return "TERMINAL-TYPE";
    case TN_OPT_NAWS:
        return "NAWS";
    default:
        return "?";
    }
}
