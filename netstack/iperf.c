/* Petrel's iperf 2 endpoint on lwIP's raw TCP API (replaces lwIP's lwiperf): the server on
 * NET_IPERF_PORT and the console's client.
 *
 * A session is one test: the client's connection to us (rx) and, for -r/-d or the console
 * client, the stream we send (tx). Each connection is a struct iperf_conn whose pcb pointer is
 * the only reference we keep to lwIP's PCB. lwIP frees a PCB itself before calling the error
 * callback (reset, timeout, our own tcp_abort), so that callback only forgets the pointer; and
 * every callback is detached before we close or abort a PCB, so none can reach a conn that has
 * been reused. One log line reports each finished connection. */
#include "iperf.h"
#include "iperf_proto.h"
#include "net.h"
#include "netaddr.h"
#include "tcp_listen.h"

#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"

#define IPERF_BACKLOG       IPERF_MAX_SESSIONS /* half-open connections on the listener */
#define IPERF_POLL_INTERVAL 2                  /* tcp_poll in TCP_SLOW_INTERVAL (500 ms) units */
#define IPERF_IDLE_MS       30000 /* a connection without progress this long is aborted */
#define IPERF_FILL_ROUNDS   8     /* tcp_write calls per callback (bounds the loop) */
#define IPERF_QUIET_MS      1000  /* at most one "busy"/UDP line per second */

struct iperf_session;

struct iperf_conn {
    struct tcp_pcb *pcb; /* NULL once closed, aborted, or freed by lwIP */
    struct iperf_session *s;
    bool active;    /* started and not yet reported */
    bool tx;        /* we send (connect-back or console client); else we receive */
    bool connected; /* tx: the handshake finished */
    bool closing;   /* tx: all sent, tcp_close still to succeed */
    uint64_t bytes; /* received (all of them, headers included) or queued to send */
    uint32_t start_ms;
    uint32_t last_ms; /* last progress, for IPERF_IDLE_MS */
    uint32_t ip;      /* the peer, host byte order (kept for the report) */
    uint16_t port;
};

struct iperf_session {
    bool used;
    struct iperf_conn rx;
    struct iperf_conn tx;
    uint8_t hdr[IPERF_HDR_EXT_LEN]; /* the start of rx, as much as the parser wants */
    size_t hdr_have;
    bool hdr_done;
    bool back_pending; /* -r: connect back when rx ends */
    struct iperf_request req;
    struct iperf_amount amount; /* how long tx runs */
};

static struct iperf_session g_sessions[IPERF_MAX_SESSIONS];
static struct tcp_pcb *g_listen;
static struct udp_pcb *g_udp;
/* The iperf payload pattern, long enough for one full send buffer at any phase of "0123456789". */
static uint8_t g_pattern[TCP_SND_BUF + 10];
static uint32_t g_busy_logged_ms;
static unsigned g_busy_quiet; /* refusals not logged since the last line */
static uint32_t g_udp_logged_ms;
static unsigned g_udp_quiet;

static err_t rx_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t tx_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t tx_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t conn_poll(void *arg, struct tcp_pcb *pcb);
static void conn_err(void *arg, err_t err);

static void pattern_init(void)
{
    static bool done;

    if (!done) {
        iperf_pattern_fill(g_pattern, sizeof(g_pattern), 0);
        done = true;
    }
}

static uint32_t pcb_peer_ip(const struct tcp_pcb *pcb)
{
    return lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
}

/* Says once per second at most that something was refused; counts the lines it held back. */
static bool quiet_ok(uint32_t *logged_ms, unsigned *quiet)
{
    uint32_t now = sys_now();

    if (*logged_ms != 0 && now - *logged_ms < IPERF_QUIET_MS) {
        (*quiet)++;
        return false;
    }
    *logged_ms = now == 0 ? 1 : now;
    return true;
}

/* The per-test report, in the format the system tests and benchmarks read:
 * "iperf: <what> N bytes in M ms (K kbit/s) with A.B.C.D:PORT". */
static void conn_report(struct iperf_conn *c, const char *what)
{
    char peer[NETADDR_STR_MAX];
    uint32_t ms = sys_now() - c->start_ms;

    if (!c->active) {
        return;
    }
    c->active = false;
    netaddr_format(c->ip, peer, sizeof(peer));
    LOG_INFO(NET, "iperf: %s %llu bytes in %u ms (%u kbit/s) with %s:%u", what,
             (unsigned long long)c->bytes, ms, iperf_kbit_s(c->bytes, ms), peer, c->port);
}

static void conn_attach(struct iperf_conn *c)
{
    tcp_arg(c->pcb, c);
    tcp_err(c->pcb, conn_err);
    tcp_poll(c->pcb, conn_poll, IPERF_POLL_INTERVAL);
    if (c->tx) {
        tcp_recv(c->pcb, tx_recv);
        tcp_sent(c->pcb, tx_sent);
    } else {
        tcp_recv(c->pcb, rx_recv);
    }
}

/* After this no callback of the PCB reaches c (lwIP's defaults take over). */
static void conn_detach(struct iperf_conn *c)
{
    tcp_arg(c->pcb, NULL);
    tcp_err(c->pcb, NULL);
    tcp_poll(c->pcb, NULL, 0);
    tcp_recv(c->pcb, NULL);
    tcp_sent(c->pcb, NULL);
}

/* Sends a RST and frees the PCB. A callback of this PCB must then return ERR_ABRT. */
static err_t conn_abort(struct iperf_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    if (pcb == NULL) {
        return ERR_OK;
    }
    conn_detach(c);
    c->pcb = NULL;
    tcp_abort(pcb);
    return ERR_ABRT;
}

/* Closes gracefully (FIN after the queued data); aborts when lwIP has no memory for the FIN.
 * Returns ERR_OK or ERR_ABRT (see conn_abort). */
static err_t conn_close(struct iperf_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    if (pcb == NULL) {
        return ERR_OK;
    }
    conn_detach(c);
    if (tcp_close(pcb) != ERR_OK) {
        c->pcb = pcb;
        return conn_abort(c);
    }
    c->pcb = NULL;
    return ERR_OK;
}

static struct iperf_session *session_alloc(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(g_sessions); i++) {
        if (!g_sessions[i].used) {
            memset(&g_sessions[i], 0, sizeof(g_sessions[i]));
            g_sessions[i].used = true;
            g_sessions[i].rx.s = &g_sessions[i];
            g_sessions[i].tx.s = &g_sessions[i];
            g_sessions[i].tx.tx = true;
            return &g_sessions[i];
        }
    }
    return NULL;
}

static void session_maybe_free(struct iperf_session *s)
{
    if (s->rx.pcb == NULL && s->tx.pcb == NULL && !s->rx.active && !s->tx.active &&
        !s->back_pending) {
        s->used = false;
    }
}

/* ---- sending (tx) -------------------------------------------------------------------------- */

static bool tx_done(const struct iperf_conn *c)
{
    const struct iperf_amount *a = &c->s->amount;

    if (a->by_time) {
        return sys_now() - c->start_ms >= a->ms;
    }
    return c->bytes >= a->bytes;
}

/* The run is over: FIN after the queued data, then the report. If lwIP has no memory for the
 * FIN now, conn_poll tries again. Returns ERR_OK (the PCB lives on in lwIP's hands or ours). */
static err_t tx_finish(struct iperf_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    conn_detach(c);
    if (tcp_close(pcb) != ERR_OK) {
        conn_attach(c);
        if (!c->closing) {
            LOG_DEBUG(NET, "iperf: no memory for the FIN yet; retrying");
        }
        c->closing = true;
        return ERR_OK;
    }
    c->pcb = NULL;
    conn_report(c, "sent");
    session_maybe_free(c->s);
    return ERR_OK;
}

/* Queues as much of the pattern as the send buffer takes, or ends the run. Returns ERR_OK or
 * ERR_ABRT (the PCB was aborted: a callback must return that). */
static err_t tx_fill(struct iperf_conn *c)
{
    bool wrote = false;

    if (c->pcb == NULL || !c->connected) {
        return ERR_OK;
    }
    if (c->closing) {
        return tx_finish(c);
    }
    for (int round = 0; round < IPERF_FILL_ROUNDS; round++) {
        uint32_t space = tcp_sndbuf(c->pcb);
        uint32_t n = MIN(space, (uint32_t)TCP_SND_BUF);
        err_t err;

        if (tx_done(c)) {
            return tx_finish(c);
        }
        if (!c->s->amount.by_time) {
            n = (uint32_t)MIN((uint64_t)n, c->s->amount.bytes - c->bytes);
        }
        if (n == 0 || tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN / 2) {
            break;
        }
        err = tcp_write(c->pcb, g_pattern + c->bytes % 10, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (err == ERR_MEM) {
            break; /* the sent callback comes back */
        }
        if (err != ERR_OK) {
            LOG_WARN(NET, "iperf: tcp_write failed (lwIP error %d)", (int)err);
            conn_report(c, "aborted (send error)");
            conn_abort(c);
            session_maybe_free(c->s);
            return ERR_ABRT;
        }
        c->bytes += n;
        wrote = true;
    }
    if (wrote) {
        tcp_output(c->pcb);
    }
    return ERR_OK;
}

static err_t tx_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct iperf_conn *c = arg;

    (void)pcb;
    (void)err; /* lwIP 2.1 always passes ERR_OK; failures arrive through conn_err */
    if (c == NULL) {
        return ERR_OK;
    }
    c->connected = true;
    c->start_ms = sys_now();
    c->last_ms = c->start_ms;
    return tx_fill(c);
}

static err_t tx_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct iperf_conn *c = arg;

    (void)pcb;
    (void)len;
    if (c == NULL) {
        return ERR_OK;
    }
    c->last_ms = sys_now();
    return tx_fill(c);
}

/* The peer of our stream sends nothing in iperf 2; drop whatever comes. Its FIN ends the run
 * early (the client gave up or stopped reading). */
static err_t tx_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iperf_conn *c = arg;

    (void)err;
    if (p != NULL) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    if (c == NULL) {
        return ERR_OK;
    }
    if (!c->connected) {
        c->connected = true; /* cannot happen before the handshake; be safe */
    }
    c->closing = true;
    return tx_finish(c);
}

/* Opens the stream to ip:port for session s (connect-back or console client). */
static int tx_start(struct iperf_session *s, uint32_t ip, uint16_t port)
{
    struct iperf_conn *c = &s->tx;
    ip_addr_t remote;
    char peer[NETADDR_STR_MAX];
    err_t err;

    netaddr_format(ip, peer, sizeof(peer));
    c->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (c->pcb == NULL) {
        LOG_WARN(NET, "iperf: no TCP PCB to connect to %s:%u", peer, port);
        return -ENOMEM;
    }
    c->ip = ip;
    c->port = port;
    c->bytes = 0;
    c->connected = false;
    c->closing = false;
    c->start_ms = sys_now();
    c->last_ms = c->start_ms;
    conn_attach(c);
    ip_addr_set_ip4_u32_val(remote, lwip_htonl(ip));
    err = tcp_connect(c->pcb, &remote, port, tx_connected);
    if (err != ERR_OK) {
        LOG_WARN(NET, "iperf: cannot connect to %s:%u (lwIP error %d)", peer, port, (int)err);
        conn_abort(c);
        return -EIO;
    }
    c->active = true;
    return 0;
}

/* ---- receiving (rx) ------------------------------------------------------------------------ */

/* The header is in: decide what the test is. Returns ERR_OK or ERR_ABRT. */
static err_t rx_header(struct iperf_session *s)
{
    struct iperf_conn *c = &s->rx;
    char peer[NETADDR_STR_MAX];
    const char *why = "";
    int rc;

    s->hdr_done = true;
    netaddr_format(c->ip, peer, sizeof(peer));
    rc = iperf_parse_request(s->hdr, s->hdr_have, &s->req, &why);
    if (rc != 0) {
        LOG_WARN(NET, "iperf: refusing the test from %s:%u: %s", peer, c->port, why);
        c->active = false; /* refused, not a finished test: no report line */
        return conn_close(c);
    }
    if (s->req.mode == IPERF_MODE_PLAIN) {
        LOG_DEBUG(NET, "iperf: plain test from %s:%u (%s)", peer, c->port,
                  s->req.has_header ? (s->req.extended ? "iperf 2.1 header" : "iperf 2.0 header")
                                    : "no header");
        return ERR_OK;
    }
    s->amount = s->req.back;
    if (s->amount.by_time) {
        LOG_INFO(NET, "iperf: %s test from %s:%u: sending back to port %u for %u ms%s",
                 iperf_mode_name(s->req.mode), peer, c->port, s->req.port, s->amount.ms,
                 s->amount.capped ? " (capped)" : "");
    } else {
        LOG_INFO(NET, "iperf: %s test from %s:%u: sending back %llu bytes to port %u",
                 iperf_mode_name(s->req.mode), peer, c->port, (unsigned long long)s->amount.bytes,
                 s->req.port);
    }
    if (s->req.threads > 1) {
        LOG_DEBUG(NET, "iperf: -P %d: each of the client's connections gets its own stream back",
                  (int)s->req.threads);
    }
    if (s->req.mode == IPERF_MODE_DUAL) {
        (void)tx_start(s, c->ip, s->req.port);
    } else {
        s->back_pending = true;
    }
    return ERR_OK;
}

/* Collects the first bytes of the connection until iperf_hdr_need is satisfied. */
static err_t rx_collect_header(struct iperf_session *s, struct pbuf *p)
{
    size_t offset = 0;

    /* Three rounds at most: the flags, then the 2.0 or the extended header. */
    for (int round = 0; round < 3 && !s->hdr_done; round++) {
        size_t need = iperf_hdr_need(s->hdr, s->hdr_have);
        size_t take;

        if (need <= s->hdr_have) {
            return rx_header(s);
        }
        if (need > sizeof(s->hdr)) {
            need = sizeof(s->hdr); /* cannot happen: the parser never asks for more */
        }
        take = MIN(need - s->hdr_have, (size_t)p->tot_len - offset);
        if (take == 0) {
            break;
        }
        take = pbuf_copy_partial(p, s->hdr + s->hdr_have, (u16_t)take, (u16_t)offset);
        s->hdr_have += take;
        offset += take;
    }
    if (!s->hdr_done && iperf_hdr_need(s->hdr, s->hdr_have) <= s->hdr_have) {
        return rx_header(s);
    }
    return ERR_OK;
}

/* The client finished (FIN): report, close, and for -r start sending back. */
static err_t rx_end(struct iperf_conn *c)
{
    struct iperf_session *s = c->s;
    err_t ret;

    if (!s->hdr_done && s->hdr_have > 0) {
        LOG_DEBUG(NET, "iperf: connection ended inside the header (%u bytes): a plain test",
                  (unsigned)s->hdr_have);
    }
    conn_report(c, "received");
    ret = conn_close(c);
    if (s->back_pending) {
        s->back_pending = false;
        (void)tx_start(s, c->ip, s->req.port);
    }
    session_maybe_free(s);
    return ret;
}

static err_t rx_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iperf_conn *c = arg;
    struct iperf_session *s;
    u16_t len;
    err_t ret = ERR_OK;

    if (c == NULL) {
        if (p != NULL) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (p == NULL) {
        return rx_end(c);
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return ERR_OK;
    }
    s = c->s;
    len = p->tot_len;
    c->bytes += len;
    c->last_ms = sys_now();
    if (!s->hdr_done) {
        ret = rx_collect_header(s, p);
    }
    if (ret != ERR_ABRT && c->pcb != NULL) {
        tcp_recved(pcb, len);
    }
    pbuf_free(p);
    if (c->pcb == NULL) {
        session_maybe_free(s);
    }
    return ret;
}

/* ---- both ---------------------------------------------------------------------------------- */

static void conn_err(void *arg, err_t err)
{
    struct iperf_conn *c = arg;

    if (c == NULL) {
        return;
    }
    c->pcb = NULL; /* lwIP has freed it already: never close or abort it */
    if (err == ERR_RST || err == ERR_CLSD) {
        conn_report(c, "aborted by the peer");
    } else if (err == ERR_ABRT) {
        conn_report(c, "aborted locally");
    } else {
        conn_report(c, "aborted (lwIP error)");
    }
    if (!c->tx) {
        c->s->back_pending = false; /* no -r stream after a failed run */
    }
    session_maybe_free(c->s);
}

static err_t conn_poll(void *arg, struct tcp_pcb *pcb)
{
    struct iperf_conn *c = arg;

    (void)pcb;
    if (c == NULL) {
        return ERR_OK;
    }
    if (sys_now() - c->last_ms >= IPERF_IDLE_MS) {
        LOG_WARN(NET, "iperf: no progress for %u s; aborting", IPERF_IDLE_MS / 1000);
        conn_report(c, "aborted (idle)");
        if (!c->tx) {
            c->s->back_pending = false;
        }
        conn_abort(c);
        session_maybe_free(c->s);
        return ERR_ABRT;
    }
    if (c->tx) {
        return tx_fill(c);
    }
    return ERR_OK;
}

static err_t server_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
    struct iperf_session *s;
    char peer[NETADDR_STR_MAX];

    (void)arg;
    if (err != ERR_OK || newpcb == NULL) {
        return ERR_VAL;
    }
    s = session_alloc();
    if (s == NULL) {
        if (quiet_ok(&g_busy_logged_ms, &g_busy_quiet)) {
            netaddr_format(pcb_peer_ip(newpcb), peer, sizeof(peer));
            LOG_WARN(NET, "iperf: busy (%u tests running); refusing %s:%u (%u more not logged)",
                     (unsigned)IPERF_MAX_SESSIONS, peer, newpcb->remote_port, g_busy_quiet);
            g_busy_quiet = 0;
        }
        tcp_abort(newpcb);
        return ERR_ABRT;
    }
    s->rx.pcb = newpcb;
    s->rx.ip = pcb_peer_ip(newpcb);
    s->rx.port = newpcb->remote_port;
    s->rx.start_ms = sys_now();
    s->rx.last_ms = s->rx.start_ms;
    s->rx.active = true;
    conn_attach(&s->rx);
    return ERR_OK;
}

/* UDP tests (iperf -u) are not served: say so, at most once a second, and drop the datagram. */
static void udp_note(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                     u16_t port)
{
    char peer[NETADDR_STR_MAX];

    (void)arg;
    (void)pcb;
    if (quiet_ok(&g_udp_logged_ms, &g_udp_quiet)) {
        netaddr_format(lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(addr))), peer, sizeof(peer));
        LOG_WARN(NET,
                 "iperf: UDP datagram from %s:%u dropped: only TCP tests are served (%u more "
                 "not logged)",
                 peer, port, g_udp_quiet);
        g_udp_quiet = 0;
    }
    pbuf_free(p);
}

int net_iperf_start(void)
{
    int rc;

    if (g_listen != NULL) {
        return -EBUSY;
    }
    pattern_init();
    rc = net_tcp_listen(NET_IPERF_PORT, IPERF_BACKLOG, server_accept, NULL, "iperf", &g_listen);
    if (rc != 0) {
        return rc;
    }

    g_udp = udp_new_ip_type(IPADDR_TYPE_V4);
    if (g_udp == NULL || udp_bind(g_udp, IP4_ADDR_ANY, NET_IPERF_PORT) != ERR_OK) {
        LOG_DEBUG(NET, "iperf: no UDP PCB: UDP tests will get ICMP port unreachable instead");
        if (g_udp != NULL) {
            udp_remove(g_udp);
            g_udp = NULL;
        }
    } else {
        udp_recv(g_udp, udp_note, NULL);
    }
    return 0;
}

int net_iperf_connect(uint32_t ip, uint16_t port, uint32_t ms)
{
    struct iperf_session *s;
    int rc;

    pattern_init();
    s = session_alloc();
    if (s == NULL) {
        return -EBUSY;
    }
    s->amount.by_time = true;
    s->amount.ms = ms == 0 ? IPERF_DEFAULT_MS : MIN(ms, IPERF_MAX_MS);
    rc = tx_start(s, ip, port);
    if (rc != 0) {
        s->used = false;
    }
    return rc;
}
