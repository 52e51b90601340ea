/* One console session, independent of the transport: the telnet codec, the login with its
 * failure limits, the line editor, the shell and its foreground job, the idle timeout, and
 * the bounded output queue the transport drains. The transport (telnetd.c) feeds received
 * bytes in, calls poll on every main-loop pass, sends what the queue holds and closes the
 * connection once the session is closing and its output is out.
 * Time is passed in by the caller (milliseconds), so this runs hosted in unit tests. */
#ifndef PETREL_CON_SESSION_H
#define PETREL_CON_SESSION_H

#include "../kernel/types.h"
#include "config.h"
#include "lineedit.h"
#include "outq.h"
#include "shell.h"
#include "telnet.h"

#define CON_OUTQ_SIZE 16384
/* Input is taken only while this much output room is free (so a command's answer fits); a
 * client that stops reading therefore stops being served, and its TCP window closes. Jobs
 * never write into this reserve, so Ctrl-C always gets through. */
#define CON_INPUT_RESERVE    4096
#define CON_LOGIN_TIMEOUT_MS 60000 /* at the password prompt */
#define CON_MAX_FAILURES     3     /* wrong passwords before the connection is closed */
#define CON_REASON_MAX       64
#define CON_AUTORUN_MAX      64 /* a command run instead of the prompt (VM console ports) */

enum con_state {
    CON_LOGIN,   /* at the password prompt */
    CON_WAIT,    /* a rate-limit delay before the next prompt; input is discarded */
    CON_SHELL,   /* at the shell prompt */
    CON_JOB,     /* a foreground job runs */
    CON_CLOSING, /* the transport flushes the output and closes */
};

/* What all sessions share. */
struct con_env {
    const struct con_config *cfg;
    struct auth_limiter *limiter;
    const char *banner; /* first line shown, e.g. "Petrel 0.1.0 (1a2b3c4)" */
};

struct con_session {
    enum con_state state;
    bool admin;
    const struct con_env *env;
    uint32_t peer_ip; /* host byte order */
    uint16_t peer_port;
    unsigned failures;
    uint64_t opened_ms;
    uint64_t last_input_ms;
    uint64_t prompt_ms;
    uint64_t wait_until_ms;
    uint64_t rx_bytes;
    char peer[24]; /* "A.B.C.D:PORT" for log lines */
    char close_reason[CON_REASON_MAX];
    char autorun[CON_AUTORUN_MAX];
    struct tn tn;
    struct le le;
    struct shell sh;
    struct outq out;
    uint8_t outbuf[CON_OUTQ_SIZE];
};

/* Starts a session for a client at ip:port: telnet negotiation, banner, then the password
 * prompt, or a read-only shell when no password is configured. With `autorun` (NULL for a
 * normal session) the session runs that command line after the login instead of showing a
 * prompt, and ends when it ends (a VM's console port runs "console NAME"). */
void con_session_open(struct con_session *s, const struct con_env *env, uint32_t ip, uint16_t port,
                      const char *autorun, uint64_t now_ms);
/* Takes received bytes; returns how many it consumed (fewer when the output queue is too full
 * to answer: the caller keeps the rest and offers it again later). */
size_t con_session_input(struct con_session *s, const uint8_t *data, size_t len, uint64_t now_ms);
/* Timers (rate-limit waits, idle and login timeouts) and the foreground job. */
void con_session_poll(struct con_session *s, uint64_t now_ms);
/* Ends the session: the job stops, the reason is kept (for the log), nothing more is read. */
void con_session_close(struct con_session *s, const char *reason);
bool con_session_closing(const struct con_session *s);
/* Writes text ("\n" ends a line) through the telnet encoder into the output queue. */
void con_session_write(struct con_session *s, const char *buf, size_t len);
const char *con_state_name(enum con_state st);

#endif
