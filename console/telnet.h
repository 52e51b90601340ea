/* The telnet protocol (RFC 854 NVT) for the server side, as a byte-at-a-time state machine.
 *
 * Decoding takes the client's bytes one at a time and returns the data bytes among them;
 * commands, option negotiation and subnegotiation are handled inside, and replies go out
 * through the send callback. Options follow RFC 1143's Q method, so a peer that repeats
 * itself, or answers a request it did not get, never causes a negotiation loop. The server
 * offers ECHO (RFC 857) and SUPPRESS-GO-AHEAD (RFC 858) and asks for NAWS (RFC 1073);
 * everything else is refused. Pure: runs hosted for the unit tests and the fuzzer. */
#ifndef PETREL_CON_TELNET_H
#define PETREL_CON_TELNET_H

#include "../kernel/types.h"

/* Commands (RFC 854). */
#define TN_SE   240
#define TN_NOP  241
#define TN_DM   242
#define TN_BRK  243
#define TN_IP   244
#define TN_AO   245
#define TN_AYT  246
#define TN_EC   247
#define TN_EL   248
#define TN_GA   249
#define TN_SB   250
#define TN_WILL 251
#define TN_WONT 252
#define TN_DO   253
#define TN_DONT 254
#define TN_IAC  255

/* Options. */
#define TN_OPT_BINARY 0
#define TN_OPT_ECHO   1
#define TN_OPT_SGA    3
#define TN_OPT_TM     6
#define TN_OPT_TTYPE  24
#define TN_OPT_NAWS   31

/* Subnegotiation bytes kept (NAWS needs 4, or up to 8 when every byte is an escaped 255).
 * Longer ones are counted and ignored. */
#define TN_SB_MAX 32
/* A subnegotiation that runs longer than this without IAC SE is abandoned: a client cannot
 * make the server swallow its input forever by opening one. */
#define TN_SB_LIMIT 512

/* tn_rx results besides data bytes 0..255. */
#define TN_NONE      (-1) /* the byte was protocol, no data */
#define TN_EV_WINDOW (-2) /* the window size changed (tn.width/height) */

/* Control bytes that the NVT's "standard representation of control functions" map to. */
#define TN_CTRL_C   0x03 /* IP and BRK */
#define TN_CTRL_U   0x15 /* EL */
#define TN_CTRL_DEL 0x7f /* EC */

enum tn_q {
    TN_Q_NO = 0,
    TN_Q_YES,
    TN_Q_WANTNO,  /* we sent WONT/DONT and wait for the answer */
    TN_Q_WANTYES, /* we sent WILL/DO and wait for the answer */
};

struct tn_stats {
    uint64_t commands;    /* IAC sequences received */
    uint64_t refused;     /* options refused (WONT/DONT sent for an unsupported one) */
    uint64_t sb_ignored;  /* subnegotiations for options not enabled, or malformed */
    uint64_t sb_overflow; /* subnegotiations longer than TN_SB_MAX */
    uint64_t sb_aborted;  /* subnegotiations ended by TN_SB_LIMIT or a stray IAC command */
};

typedef void (*tn_send_fn)(void *ctx, const uint8_t *buf, size_t len);

struct tn {
    uint8_t state;
    uint8_t verb; /* WILL/WONT/DO/DONT waiting for its option byte */
    uint8_t sb_opt;
    uint8_t sb_buf[TN_SB_MAX];
    uint16_t sb_len;
    uint16_t sb_total;
    bool sb_overflow;
    uint8_t us[256];  /* our side of each option (enum tn_q) */
    uint8_t him[256]; /* the client's side */
    uint16_t width;   /* from NAWS; 0 = unknown */
    uint16_t height;
    tn_send_fn send;
    void *ctx;
    struct tn_stats stats;
};

void tn_init(struct tn *t, tn_send_fn send, void *ctx);
/* The server's opening: IAC WILL ECHO, IAC WILL SGA, IAC DO NAWS. */
void tn_start(struct tn *t);
/* Decodes one received byte: returns a data byte (0..255), TN_NONE, or TN_EV_WINDOW.
 * CR LF and CR NUL come out as one '\r'; a bare LF as '\n'. IP and BRK come out as Ctrl-C,
 * EL as Ctrl-U and EC as DEL, so the line editor handles them like the keys. AYT is
 * answered directly. */
int tn_rx(struct tn *t, uint8_t b);
/* Whether an option is on (or being turned on) on our side / the client's side. */
bool tn_us_on(const struct tn *t, uint8_t opt);
bool tn_him_on(const struct tn *t, uint8_t opt);

/* Escapes bytes for sending: IAC doubled, "\n" as CR LF, "\r" as CR NUL. Fills out (cap
 * bytes) and returns how many input bytes were consumed (all of them unless out is full);
 * *outlen gets the bytes written. A byte is never half-written. */
size_t tn_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* Bytes that tn_encode makes of in[0..len). */
size_t tn_encoded_len(const uint8_t *in, size_t len);

const char *tn_option_name(uint8_t opt);

#endif
