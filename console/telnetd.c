/* The telnet server over lwIP's raw TCP API (see telnetd.h).
 *
 * Received bytes are copied into the connection's input buffer and the pbufs freed at once (a
 * client sending tiny segments must not pin lwIP's shared pbuf pool), then fed to the session
 * as it can answer (con_session_input may take only part: backpressure). tcp_recved is called
 * only for what was consumed, so a client that floods input without reading the answers sees
 * its TCP window close: the buffer never holds more than one window. Output leaves the session's
 * queue as lwIP's send buffer allows (tcp_sent and the main loop push more). Closing is done
 * from the main loop, never inside an lwIP callback. */
#include "telnetd.h"
#include "acl.h"

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/timer.h"
#include "../netstack/netaddr.h"
#include "../netstack/tcp_listen.h"

struct con_conn {
    bool used;
    bool peer_closed; /* FIN received: finish the input, then close */
    bool send_failed; /* lwIP refused data: abort from the main loop */
    unsigned id;
    struct tcp_pcb *pcb;
    uint64_t closing_since_ms;
    uint64_t rx_overflow; /* bytes beyond the window (cannot happen with a correct lwIP) */
    uint64_t tx_bytes;
    size_t in_head; /* input buffer: received, not yet consumed */
    size_t in_len;
    uint8_t in[CON_INBUF];
    struct con_session s;
};

_Static_assert(CON_INBUF >= NET_TCP_WND_MAX, "the input buffer must hold a whole TCP window");

/* A listening port: the console's own, or a VM's console port (autorun "console NAME"). */
struct con_listener {
    bool used;
    uint16_t port;
    struct tcp_pcb *pcb;
    char autorun[CON_AUTORUN_MAX];
};

static struct con_conn g_conns[CON_SESSIONS_MAX];
static struct con_listener g_listeners[CON_LISTENERS_MAX];
static const struct con_env *g_env;
static unsigned g_next_id = 1;
static struct con_telnetd_stats g_stats;

static uint64_t now_ms(void)
{
    return now_ns() / 1000000;
}

void con_keepalive(struct tcp_pcb *pcb)
{
    /* Finds peers that vanished without a FIN or RST (a powered-off laptop) in about three
     * minutes instead of lwIP's default two hours, so they do not hold a slot. */
    ip_set_option(pcb, SOF_KEEPALIVE);
    pcb->keep_idle = 120000;
    pcb->keep_intvl = 10000;
    pcb->keep_cnt = 6;
}

static uint32_t pcb_peer_ip(const struct tcp_pcb *pcb)
{
    return lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
}

/* Forgets the connection's pcb: no more callbacks reach this connection. */
static void detach(struct con_conn *c)
{
    if (c->pcb != NULL) {
        tcp_arg(c->pcb, NULL);
        tcp_recv(c->pcb, NULL);
        tcp_sent(c->pcb, NULL);
        tcp_err(c->pcb, NULL);
        tcp_poll(c->pcb, NULL, 0);
        c->pcb = NULL;
    }
    c->in_len = 0;
}

static void release(struct con_conn *c, const char *how)
{
    const char *reason = c->s.close_reason[0] != '\0' ? c->s.close_reason : how;

    con_session_close(&c->s, reason); /* ends a running job */
    LOG_INFO(CONSOLE, "session %u from %s closed: %s (%llu bytes in, %llu out)", c->id, c->s.peer,
             reason, (unsigned long long)c->s.rx_bytes, (unsigned long long)c->tx_bytes);
    detach(c);
    c->used = false;
}

static void abort_conn(struct con_conn *c, const char *why)
{
    struct tcp_pcb *pcb = c->pcb;

    g_stats.aborted++;
    con_session_close(&c->s, why);
    detach(c);
    if (pcb != NULL) {
        tcp_abort(pcb);
    }
    release(c, why);
}

/* Copies a received chain into the input buffer (as much as fits) and frees it. */
static void take(struct con_conn *c, struct pbuf *p)
{
    for (struct pbuf *q = p; q != NULL; q = q->next) {
        const uint8_t *src = q->payload;

        for (u16_t i = 0; i < q->len; i++) {
            if (c->in_len == CON_INBUF) {
                c->rx_overflow += (uint64_t)(q->len - i);
                break;
            }
            c->in[(c->in_head + c->in_len) % CON_INBUF] = src[i];
            c->in_len++;
        }
    }
    pbuf_free(p);
}

/* Feeds buffered input to the session; acknowledges what it took. */
static void feed(struct con_conn *c, uint64_t now)
{
    while (c->in_len > 0 && c->pcb != NULL) {
        size_t run = MIN(c->in_len, CON_INBUF - c->in_head);
        size_t n = con_session_input(&c->s, c->in + c->in_head, run, now);

        if (n == 0) {
            break; /* the session's output is full: wait for the client to read */
        }
        c->in_head = (c->in_head + n) % CON_INBUF;
        c->in_len -= n;
        if (c->in_len == 0) {
            c->in_head = 0;
        }
        tcp_recved(c->pcb, (u16_t)n);
    }
}

/* Moves queued output into lwIP's send buffer. Safe inside lwIP callbacks: it never closes
 * or aborts (a failure is left for the main loop). */
static void flush(struct con_conn *c)
{
    bool wrote = false;

    while (c->pcb != NULL) {
        const uint8_t *p;
        size_t n;
        size_t room = tcp_sndbuf(c->pcb);
        err_t err;

        if (outq_len(&c->s.out) == 0) {
            outq_flush_marker(&c->s.out);
        }
        n = outq_peek(&c->s.out, &p);
        if (n == 0 || room == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN - 1) {
            break;
        }
        n = MIN(n, MIN(room, (size_t)0xffff));
        err = tcp_write(c->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (err == ERR_MEM) {
            break; /* lwIP is short of segments or heap: try again on the next pass */
        }
        if (err != ERR_OK) {
            LOG_WARN(CONSOLE, "session %u: send failed (lwIP error %d)", c->id, (int)err);
            c->send_failed = true;
            con_session_close(&c->s, "send failed");
            return;
        }
        outq_consume(&c->s.out, n);
        c->tx_bytes += n;
        wrote = true;
    }
    if (wrote) {
        tcp_output(c->pcb);
    }
}

/* Closes a session whose output has gone out (or that has waited too long for that). */
static void maybe_close(struct con_conn *c, uint64_t now)
{
    struct tcp_pcb *pcb = c->pcb;

    if (!con_session_closing(&c->s)) {
        return;
    }
    if (c->send_failed) {
        abort_conn(c, "send failed");
        return;
    }
    if (c->closing_since_ms == 0) {
        c->closing_since_ms = now;
    }
    if (outq_len(&c->s.out) > 0 && now - c->closing_since_ms < CON_CLOSE_FLUSH_MS) {
        return;
    }
    if (outq_len(&c->s.out) > 0) {
        abort_conn(c, "output did not drain before the close");
        return;
    }
    detach(c);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb); /* out of memory for the FIN: a reset still ends it */
    }
    release(c, "closed");
}

static void service(struct con_conn *c, uint64_t now)
{
    feed(c, now);
    if (c->peer_closed && c->in_len == 0) {
        con_session_close(&c->s, "closed by the client");
    }
    if (c->pcb != NULL) {
        flush(c);
    }
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct con_conn *c = arg;

    if (c == NULL) {
        if (p != NULL) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (p == NULL) {
        c->peer_closed = true;
    } else if (err != ERR_OK) {
        pbuf_free(p);
    } else {
        take(c, p);
    }
    /* Answer at once (echo latency); closing waits for the main loop. */
    service(c, now_ms());
    return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct con_conn *c = arg;

    (void)pcb;
    (void)len;
    if (c != NULL) {
        service(c, now_ms());
    }
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    struct con_conn *c = arg;

    if (c == NULL) {
        return;
    }
    /* lwIP has freed the pcb already. */
    c->pcb = NULL;
    g_stats.aborted++;
    release(c, err == ERR_RST ? "reset by the client" : "connection lost");
}

static struct con_conn *free_conn(void)
{
    for (size_t i = 0; i < CON_SESSIONS_MAX; i++) {
        if (!g_conns[i].used) {
            return &g_conns[i];
        }
    }
    return NULL;
}

static err_t refuse(struct tcp_pcb *pcb, const char *msg)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL); /* lwIP's default takes and drops anything the client sends */
    if (msg != NULL) {
        tcp_write(pcb, msg, (u16_t)strlen(msg), TCP_WRITE_FLAG_COPY);
    }
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    const struct con_listener *l = arg;
    struct con_conn *c;
    uint32_t ip;
    char addr[NETADDR_STR_MAX];

    if (err != ERR_OK || pcb == NULL || l == NULL) {
        return ERR_VAL;
    }
    ip = pcb_peer_ip(pcb);
    netaddr_format(ip, addr, sizeof(addr));
    if (!acl_allows(&g_env->cfg->allow, ip)) {
        g_stats.refused_acl++;
        LOG_WARN(CONSOLE, "connection from %s:%u refused: not in console.allow", addr,
                 pcb->remote_port);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c = free_conn();
    if (c == NULL) {
        g_stats.refused_full++;
        LOG_WARN(CONSOLE, "connection from %s:%u refused: all %d sessions in use", addr,
                 pcb->remote_port, CON_SESSIONS_MAX);
        return refuse(pcb, "Petrel: all console sessions are in use; try again later.\r\n");
    }
    memset(c, 0, offsetof(struct con_conn, s));
    c->used = true;
    c->id = g_next_id++;
    c->pcb = pcb;
    g_stats.accepted++;
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    tcp_nagle_disable(pcb); /* echo each keystroke at once */
    con_keepalive(pcb);
    con_session_open(&c->s, g_env, ip, pcb->remote_port, l->autorun[0] != '\0' ? l->autorun : NULL,
                     now_ms());
    if (l->autorun[0] != '\0') {
        LOG_INFO(CONSOLE, "session %u from %s opened on port %u (%s)", c->id, c->s.peer, l->port,
                 l->autorun);
    } else {
        LOG_INFO(CONSOLE, "session %u from %s opened", c->id, c->s.peer);
    }
    flush(c);
    return ERR_OK;
}

int con_telnetd_listen(uint16_t port, const char *autorun)
{
    struct con_listener *l = NULL;
    int rc;

    if (g_env == NULL || port == 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < CON_LISTENERS_MAX; i++) {
        if (g_listeners[i].used && g_listeners[i].port == port) {
            LOG_ERROR(CONSOLE, "TCP port %u is already a console port", port);
            return -EEXIST;
        }
        if (!g_listeners[i].used && l == NULL) {
            l = &g_listeners[i];
        }
    }
    if (l == NULL) {
        LOG_ERROR(CONSOLE, "no room for console port %u (%d ports at most)", port,
                  CON_LISTENERS_MAX);
        return -ENOSPC;
    }
    memset(l, 0, sizeof(*l));
    rc = net_tcp_listen(port, CON_SESSIONS_MAX + 1, on_accept, l, "console", &l->pcb);
    if (rc != 0) {
        return rc;
    }
    l->used = true;
    l->port = port;
    if (autorun != NULL) {
        str_copy(l->autorun, autorun, sizeof(l->autorun));
    }
    return 0;
}

int con_telnetd_start(const struct con_env *env, uint16_t port)
{
    g_env = env;
    return con_telnetd_listen(port, NULL);
}

void con_telnetd_poll(uint64_t now)
{
    for (size_t i = 0; i < CON_SESSIONS_MAX; i++) {
        struct con_conn *c = &g_conns[i];

        if (!c->used) {
            continue;
        }
        if (c->pcb == NULL) {
            release(c, "connection lost");
            continue;
        }
        con_session_poll(&c->s, now);
        service(c, now);
        if (c->used && c->pcb != NULL) {
            maybe_close(c, now);
        }
    }
}

size_t con_telnetd_sessions(struct con_session_info *out, size_t max, const struct shell *self)
{
    size_t n = 0;

    for (size_t i = 0; i < CON_SESSIONS_MAX && n < max; i++) {
        const struct con_conn *c = &g_conns[i];
        struct con_session_info *o = &out[n];

        if (!c->used) {
            continue;
        }
        memset(o, 0, sizeof(*o));
        o->id = c->id;
        str_copy(o->peer, c->s.peer, sizeof(o->peer));
        o->admin = c->s.admin;
        o->self = self != NULL && &c->s.sh == self;
        o->state = c->s.state;
        o->job = c->s.state == CON_JOB && c->s.sh.job != NULL ? c->s.sh.job->name : NULL;
        o->opened_ms = c->s.opened_ms;
        o->last_input_ms = c->s.last_input_ms;
        o->rx_bytes = c->s.rx_bytes;
        o->tx_bytes = c->tx_bytes;
        o->dropped_bytes = c->s.out.dropped_bytes;
        n++;
    }
    return n;
}

void con_telnetd_get_stats(struct con_telnetd_stats *out)
{
    *out = g_stats;
}
