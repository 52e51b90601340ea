/* libFuzzer target: the telnet decoder (console/telnet.c) on any bytes, the encoder's round
 * trip, and the same bytes through a whole console session (console/session.c: decoder, line
 * editor, login and the shell's builtins) with and without a password. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../console/session.h"
#include "../../console/telnet.h"
#include "lib.h"
#include "log.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static size_t g_sent;

/* Replies are whole 3-byte negotiations or the AYT text, never anything else. */
static void sink(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    if (len == 3) {
        if (buf[0] != TN_IAC || buf[1] < TN_WILL) {
            abort();
        }
    } else if (len == 0 || buf[0] != '\r') {
        abort();
    }
    g_sent += len;
}

static void decode(const uint8_t *data, size_t size)
{
    struct tn t;

    tn_init(&t, sink, NULL);
    tn_start(&t);
    g_sent = 0;
    for (size_t i = 0; i < size; i++) {
        int r = tn_rx(&t, data[i]);

        if (r < TN_EV_WINDOW || r > 255) {
            abort();
        }
        if (t.sb_len > TN_SB_MAX || t.sb_total > TN_SB_LIMIT + 1) {
            abort();
        }
    }
    /* At most one reply per negotiation command: no loops, no amplification beyond AYT. */
    if (g_sent > 3 * (t.stats.commands + 3) + 20 * t.stats.commands) {
        abort();
    }
}

/* decode(encode(x)) == x, with '\n' coming back as '\r' (both are an end of line). */
static void round_trip(const uint8_t *data, size_t size)
{
    uint8_t *enc = malloc(2 * size + 1);
    uint8_t *dec = malloc(size + 1);
    size_t enclen;
    size_t n = 0;
    struct tn t;

    if (enc == NULL || dec == NULL) {
        abort();
    }
    if (tn_encode(data, size, enc, 2 * size + 1, &enclen) != size ||
        enclen != tn_encoded_len(data, size)) {
        abort();
    }
    tn_init(&t, sink, NULL);
    for (size_t i = 0; i < enclen; i++) {
        int r = tn_rx(&t, enc[i]);

        if (r >= 0) {
            dec[n++] = (uint8_t)r;
        } else if (r != TN_NONE) {
            abort();
        }
    }
    if (n != size) {
        abort();
    }
    for (size_t i = 0; i < size; i++) {
        if (dec[i] != (data[i] == '\n' ? '\r' : data[i])) {
            abort();
        }
    }
    free(enc);
    free(dec);
}

static struct con_session g_s;

static void session(const uint8_t *data, size_t size, bool password)
{
    static struct con_config cfg;
    static struct auth_limiter lim;
    static const struct con_env env = {&cfg, &lim, "fuzz"};
    size_t off = 0;
    uint64_t now = 0;

    con_config_defaults(&cfg);
    if (password) {
        /* The password is "p" (SHA-256 of "sp"), so the fuzzer gets past the login easily. */
        auth_parse("sha256:s:be18b85f77fc024db379acf19e8a1ce62307ab7bb1bca395389ecfc2dafaf741",
                   &cfg.password, NULL);
    }
    auth_limiter_init(&lim);
    con_session_open(&g_s, &env, 0x0a000202, 1234, NULL, now);
    /* Feed in pieces, draining as a client would; time moves so the timers run too. */
    while (off < size) {
        size_t piece = 1 + data[off] % 64;
        size_t n;

        piece = MIN(piece, size - off);
        n = con_session_input(&g_s, data + off, piece, now);
        if (n > piece) {
            abort();
        }
        off += n;
        if (n < piece || data[off - (n > 0 ? 1 : 0)] == 0x7e) {
            outq_consume(&g_s.out, outq_len(&g_s.out));
        }
        now += 700;
        con_session_poll(&g_s, now);
        if (g_s.le.len > LE_LINE_MAX || g_s.le.cur > g_s.le.len ||
            outq_len(&g_s.out) > g_s.out.cap) {
            abort();
        }
        if (con_session_closing(&g_s)) {
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;

    if (!once) {
        log_init();
        log_set_level(LOG_COMP_CONSOLE, LOG_LVL_ERROR); /* quiet logins */
        once = true;
    }
    decode(data, size);
    round_trip(data, size);
    session(data, size, false);
    session(data, size, true);
    return 0;
}
