/* The telnet server: lwIP raw TCP connections carrying console sessions (session.c). */
#ifndef PETREL_CON_TELNETD_H
#define PETREL_CON_TELNETD_H

#include "../kernel/types.h"
#include "session.h"

#define CON_SESSIONS_MAX  10
#define CON_LISTENERS_MAX 9 /* the console's port and 8 VM console ports */
/* Received bytes waiting for the session: the largest TCP window (lwipopts.h NET_TCP_WND_MAX),
 * which is all a client can have unacknowledged. */
#define CON_INBUF (44 * 1460)
/* A closing session whose output does not drain in this time (a client that stopped
 * reading) is aborted. */
#define CON_CLOSE_FLUSH_MS 5000

/* Listens on `port` with the shared session environment. Returns 0, -ENOMEM or -EADDRINUSE
 * style errors from lwIP as -EIO. */
int con_telnetd_start(const struct con_env *env, uint16_t port);
/* Main-loop work: pending input, session timers and jobs, output, closes. */
void con_telnetd_poll(uint64_t now_ms);
/* One more port whose sessions run `autorun` after the login (see con_session_open); the
 * sessions share the CON_SESSIONS_MAX pool. -EEXIST, -ENOSPC, -ENOMEM, -EIO. */
int con_telnetd_listen(uint16_t port, const char *autorun);

struct tcp_pcb;
/* Turns on TCP keepalive with the console's timing (telnet sessions, log stream readers). */
void con_keepalive(struct tcp_pcb *pcb);

struct con_session_info {
    unsigned id;
    char peer[24];
    bool admin;
    bool self; /* the session asking */
    enum con_state state;
    const char *job; /* the running job's name, or NULL */
    uint64_t opened_ms;
    uint64_t last_input_ms;
    uint64_t rx_bytes;
    uint64_t tx_bytes;
    uint64_t dropped_bytes;
};

/* Fills up to max entries about the open sessions; `self` marks the caller's own. Returns
 * how many were filled. */
size_t con_telnetd_sessions(struct con_session_info *out, size_t max, const struct shell *self);

struct con_telnetd_stats {
    uint64_t accepted;
    uint64_t refused_acl;
    uint64_t refused_full;
    uint64_t aborted; /* reset by the client or aborted by us */
};
void con_telnetd_get_stats(struct con_telnetd_stats *out);

#endif
