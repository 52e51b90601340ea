/* Unit tests for console/telnet.c: option negotiation (RFC 1143 Q method: no loops, refusals),
 * NAWS subnegotiation, IAC escaping both ways, CR LF / CR NUL, commands, bounded SB. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/telnet.h"

static uint8_t g_sent[1024];
static size_t g_nsent;

static void sink(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    assert_true(g_nsent + len <= sizeof(g_sent));
    memcpy(g_sent + g_nsent, buf, len);
    g_nsent += len;
}

/* Feeds bytes; collects data bytes in out (returns how many) and counts window events. */
static size_t feed(struct tn *t, const void *in, size_t len, uint8_t *out, int *windows)
{
    const uint8_t *p = in;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int r = tn_rx(t, p[i]);

        if (r >= 0) {
            out[n++] = (uint8_t)r;
        } else if (r == TN_EV_WINDOW) {
            if (windows != NULL) {
                (*windows)++;
            }
        } else {
            assert_int_equal(r, TN_NONE);
        }
    }
    return n;
}

static void setup_tn(struct tn *t)
{
    g_nsent = 0;
    tn_init(t, sink, NULL);
}

#define SENT(...)                                                                                  \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        assert_int_equal(g_nsent, sizeof(want_));                                                  \
        assert_memory_equal(g_sent, want_, sizeof(want_));                                         \
        g_nsent = 0;                                                                               \
    } while (0)
#define NOTHING_SENT() assert_int_equal(g_nsent, 0)

static void test_start(void **state)
{
    struct tn t;

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    SENT(TN_IAC, TN_WILL, TN_OPT_ECHO, TN_IAC, TN_WILL, TN_OPT_SGA, TN_IAC, TN_DO, TN_OPT_NAWS);
    /* Echo counts as on while the answer is outstanding. */
    assert_true(tn_us_on(&t, TN_OPT_ECHO));
}

/* The Linux telnet client's answers: they confirm our requests, so nothing more is sent, and
 * repeating them does not start a loop. */
static void test_accept_no_loop(void **state)
{
    struct tn t;
    uint8_t out[16];
    static const uint8_t answers[] = {TN_IAC,     TN_DO,  TN_OPT_ECHO, TN_IAC,     TN_DO,
                                      TN_OPT_SGA, TN_IAC, TN_WILL,     TN_OPT_NAWS};

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    g_nsent = 0;
    assert_int_equal(feed(&t, answers, sizeof(answers), out, NULL), 0);
    NOTHING_SENT();
    assert_int_equal(t.us[TN_OPT_ECHO], TN_Q_YES);
    assert_int_equal(t.us[TN_OPT_SGA], TN_Q_YES);
    assert_int_equal(t.him[TN_OPT_NAWS], TN_Q_YES);
    for (int i = 0; i < 5; i++) {
        feed(&t, answers, sizeof(answers), out, NULL);
    }
    NOTHING_SENT();
    assert_int_equal(t.stats.commands, 6 * 3);
}

static void test_refuse_unsupported(void **state)
{
    struct tn t;
    uint8_t out[16];

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    g_nsent = 0;
    /* The client offers TERMINAL-TYPE and asks us for LINEMODE and BINARY. */
    feed(&t, (uint8_t[]){TN_IAC, TN_WILL, TN_OPT_TTYPE}, 3, out, NULL);
    SENT(TN_IAC, TN_DONT, TN_OPT_TTYPE);
    feed(&t, (uint8_t[]){TN_IAC, TN_DO, 34}, 3, out, NULL);
    SENT(TN_IAC, TN_WONT, 34);
    feed(&t, (uint8_t[]){TN_IAC, TN_DO, TN_OPT_BINARY}, 3, out, NULL);
    SENT(TN_IAC, TN_WONT, TN_OPT_BINARY);
    /* Its acknowledgements of our refusals need no answer. */
    feed(&t, (uint8_t[]){TN_IAC, TN_WONT, TN_OPT_TTYPE, TN_IAC, TN_DONT, 34}, 6, out, NULL);
    NOTHING_SENT();
    assert_false(tn_him_on(&t, TN_OPT_TTYPE));
    assert_false(tn_us_on(&t, 34));
    assert_int_equal(t.stats.refused, 3);
    /* Every option byte, including 255, is safe. ECHO and SGA are on once the client agrees. */
    feed(&t, (uint8_t[]){TN_IAC, TN_DO, TN_OPT_ECHO, TN_IAC, TN_DO, TN_OPT_SGA}, 6, out, NULL);
    NOTHING_SENT();
    for (int opt = 0; opt < 256; opt++) {
        feed(&t, (uint8_t[]){TN_IAC, TN_DONT, (uint8_t)opt}, 3, out, NULL);
    }
    /* DONT for ECHO and SGA (on) turned them off with one WONT each. */
    SENT(TN_IAC, TN_WONT, TN_OPT_ECHO, TN_IAC, TN_WONT, TN_OPT_SGA);
}

static void test_client_turns_echo_off_and_on(void **state)
{
    struct tn t;
    uint8_t out[16];

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    feed(&t, (uint8_t[]){TN_IAC, TN_DO, TN_OPT_ECHO}, 3, out, NULL);
    g_nsent = 0;
    feed(&t, (uint8_t[]){TN_IAC, TN_DONT, TN_OPT_ECHO}, 3, out, NULL);
    SENT(TN_IAC, TN_WONT, TN_OPT_ECHO);
    assert_false(tn_us_on(&t, TN_OPT_ECHO));
    feed(&t, (uint8_t[]){TN_IAC, TN_DONT, TN_OPT_ECHO}, 3, out, NULL);
    NOTHING_SENT();
    feed(&t, (uint8_t[]){TN_IAC, TN_DO, TN_OPT_ECHO}, 3, out, NULL);
    SENT(TN_IAC, TN_WILL, TN_OPT_ECHO);
    assert_true(tn_us_on(&t, TN_OPT_ECHO));
}

static void test_client_refuses_our_requests(void **state)
{
    struct tn t;
    uint8_t out[16];

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    g_nsent = 0;
    feed(&t, (uint8_t[]){TN_IAC, TN_DONT, TN_OPT_ECHO, TN_IAC, TN_WONT, TN_OPT_NAWS}, 6, out, NULL);
    NOTHING_SENT(); /* answers to our own requests: no reply */
    assert_false(tn_us_on(&t, TN_OPT_ECHO));
    assert_false(tn_him_on(&t, TN_OPT_NAWS));
    /* A NAWS report now is ignored: the option is off. */
    feed(&t, (uint8_t[]){TN_IAC, TN_SB, TN_OPT_NAWS, 0, 80, 0, 24, TN_IAC, TN_SE}, 9, out, NULL);
    assert_int_equal(t.width, 0);
    assert_int_equal(t.stats.sb_ignored, 1);
}

static void test_naws(void **state)
{
    struct tn t;
    uint8_t out[16];
    int windows = 0;

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    feed(&t, (uint8_t[]){TN_IAC, TN_WILL, TN_OPT_NAWS}, 3, out, NULL);
    g_nsent = 0;
    assert_int_equal(feed(&t, (uint8_t[]){TN_IAC, TN_SB, TN_OPT_NAWS, 0, 80, 0, 24, TN_IAC, TN_SE},
                          9, out, &windows),
                     0);
    assert_int_equal(windows, 1);
    assert_int_equal(t.width, 80);
    assert_int_equal(t.height, 24);
    /* A 255 inside the parameters is doubled (RFC 1073): 255 x 300. */
    windows = 0;
    feed(&t, (uint8_t[]){TN_IAC, TN_SB, TN_OPT_NAWS, 0, TN_IAC, TN_IAC, 1, 44, TN_IAC, TN_SE}, 10,
         out, &windows);
    assert_int_equal(windows, 1);
    assert_int_equal(t.width, 255);
    assert_int_equal(t.height, 300);
    /* Too short and too long reports are ignored. */
    feed(&t, (uint8_t[]){TN_IAC, TN_SB, TN_OPT_NAWS, 0, 90, TN_IAC, TN_SE}, 7, out, &windows);
    assert_int_equal(t.width, 255);
    NOTHING_SENT();
}

static void test_sb_bounded(void **state)
{
    struct tn t;
    uint8_t in[TN_SB_LIMIT + 16];
    uint8_t out[sizeof(in)];
    size_t n;

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    feed(&t, (uint8_t[]){TN_IAC, TN_WILL, TN_OPT_NAWS}, 3, out, NULL);
    /* Longer than the buffer, but ended: counted and ignored, the stream goes on. */
    in[0] = TN_IAC;
    in[1] = TN_SB;
    in[2] = TN_OPT_NAWS;
    memset(in + 3, 7, 100);
    in[103] = TN_IAC;
    in[104] = TN_SE;
    in[105] = 'x';
    n = feed(&t, in, 106, out, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 'x');
    assert_int_equal(t.stats.sb_overflow, 1);
    assert_int_equal(t.width, 0);
    /* Never ended: abandoned after TN_SB_LIMIT bytes, and what follows is data again. */
    memset(in, 'a', sizeof(in));
    in[0] = TN_IAC;
    in[1] = TN_SB;
    in[2] = TN_OPT_TTYPE;
    n = feed(&t, in, sizeof(in), out, NULL);
    assert_int_equal(t.stats.sb_aborted, 1);
    assert_int_equal(n, sizeof(in) - 3 - TN_SB_LIMIT);
    /* A command inside SB ends it and is obeyed. */
    n = feed(&t, (uint8_t[]){TN_IAC, TN_SB, TN_OPT_NAWS, 1, TN_IAC, TN_IP, 'y'}, 7, out, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], TN_CTRL_C);
    assert_int_equal(out[1], 'y');
    assert_int_equal(t.stats.sb_aborted, 2);
}

static void test_data_and_newlines(void **state)
{
    struct tn t;
    uint8_t out[32];
    size_t n;

    (void)state;
    setup_tn(&t);
    n = feed(&t, "ab\r\ncd\r\0e\rf\ng", 13, out, NULL);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "ab\rcd\re\rf\ng", 11);
    /* IAC IAC is a 255 data byte; a bare CR before IAC stays a CR. */
    n = feed(&t, (uint8_t[]){'\r', TN_IAC, TN_IAC, TN_IAC, TN_IAC, 'z'}, 6, out, NULL);
    assert_int_equal(n, 4);
    assert_memory_equal(out, ((uint8_t[]){'\r', 255, 255, 'z'}), 4);
    NOTHING_SENT();
}

static void test_commands(void **state)
{
    struct tn t;
    uint8_t out[32];
    size_t n;

    (void)state;
    setup_tn(&t);
    n = feed(&t, (uint8_t[]){TN_IAC, TN_IP,  TN_IAC, TN_BRK, TN_IAC, TN_EC,  TN_IAC,
                             TN_EL,  TN_IAC, TN_NOP, TN_IAC, TN_DM,  TN_IAC, TN_GA,
                             TN_IAC, TN_AO,  TN_IAC, TN_SE,  TN_IAC, 17},
             20, out, NULL);
    assert_int_equal(n, 4);
    assert_memory_equal(out, ((uint8_t[]){TN_CTRL_C, TN_CTRL_C, TN_CTRL_DEL, TN_CTRL_U}), 4);
    NOTHING_SENT();
    feed(&t, (uint8_t[]){TN_IAC, TN_AYT}, 2, out, NULL);
    assert_true(g_nsent > 0);
    assert_non_null(memmem(g_sent, g_nsent, "yes", 3));
}

/* Byte-at-a-time decoding: any split of the input across TCP segments gives the same result. */
static void test_split_anywhere(void **state)
{
    static const uint8_t in[] = {'h',     TN_IAC,      TN_DO,  TN_OPT_ECHO, 'i',         TN_IAC,
                                 TN_WILL, TN_OPT_NAWS, TN_IAC, TN_SB,       TN_OPT_NAWS, 0,
                                 100,     0,           40,     TN_IAC,      TN_SE,       '\r',
                                 '\0',    TN_IAC,      TN_IAC, '\r',        '\n'};
    uint8_t ref[64];
    uint8_t refsent[64];
    size_t nref;
    size_t nrefsent;
    struct tn t;

    (void)state;
    setup_tn(&t);
    tn_start(&t);
    nref = feed(&t, in, sizeof(in), ref, NULL);
    memcpy(refsent, g_sent, g_nsent);
    nrefsent = g_nsent;
    assert_int_equal(t.width, 100);
    for (size_t cut = 1; cut < sizeof(in); cut++) {
        uint8_t out[64];
        size_t n;

        setup_tn(&t);
        tn_start(&t);
        n = feed(&t, in, cut, out, NULL);
        n += feed(&t, in + cut, sizeof(in) - cut, out + n, NULL);
        assert_int_equal(n, nref);
        assert_memory_equal(out, ref, n);
        assert_int_equal(g_nsent, nrefsent);
        assert_memory_equal(g_sent, refsent, g_nsent);
        assert_int_equal(t.width, 100);
    }
}

static void test_encode(void **state)
{
    uint8_t out[32];
    size_t outlen;
    size_t used;
    static const uint8_t in[] = {'a', '\n', 'b', '\r', 0xff, 'c'};
    static const uint8_t want[] = {'a', '\r', '\n', 'b', '\r', '\0', 0xff, 0xff, 'c'};

    (void)state;
    used = tn_encode(in, sizeof(in), out, sizeof(out), &outlen);
    assert_int_equal(used, sizeof(in));
    assert_int_equal(outlen, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(tn_encoded_len(in, sizeof(in)), sizeof(want));
    /* Never half an escape: with room for 7 bytes the IAC pair does not fit. */
    used = tn_encode(in, sizeof(in), out, 7, &outlen);
    assert_int_equal(used, 4);
    assert_int_equal(outlen, 6);
    used = tn_encode(in + used, sizeof(in) - used, out, 1, &outlen);
    assert_int_equal(used, 0);
    assert_int_equal(outlen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_accept_no_loop),
        cmocka_unit_test(test_refuse_unsupported),
        cmocka_unit_test(test_client_turns_echo_off_and_on),
        cmocka_unit_test(test_client_refuses_our_requests),
        cmocka_unit_test(test_naws),
        cmocka_unit_test(test_sb_bounded),
        cmocka_unit_test(test_data_and_newlines),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_encode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
