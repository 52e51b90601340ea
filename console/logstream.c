/* The TCP log stream (see logstream.h). */
#include "logstream.h"
#include "logfmt.h"
#include "ostream.h"

#include "lwip/tcp.h"

#include "../kernel/irqflags.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"
#include "../netstack/tcp_listen.h"

struct reader {
    bool used;
    struct con_ostream s;
    uint64_t seq;                    /* next record to send */
    uint64_t lines;                  /* sent */
    uint64_t dropped;                /* lost to the ring */
    char pend[LOGFMT_LINE_MAX + 32]; /* a marker and/or line not yet in lwIP's buffer */
    size_t pend_len;
    size_t pend_off;
};

static struct reader g_readers[LOGSTREAM_READERS];
static const struct acl *g_allow;

int con_log_read(uint64_t *seq, struct log_record *rec, uint64_t *dropped)
{
    irq_flags_t f = irqflags_save();
    int rc = log_ring_read(log_global_ring(), seq, rec, dropped);

    irqflags_restore(f);
    return rc;
}

static void finish(struct reader *r, const char *why)
{
    LOG_INFO(CONSOLE, "log stream reader %s left: %s (%llu lines sent, %llu dropped)", r->s.peer,
             why, (unsigned long long)r->lines, (unsigned long long)r->dropped);
    r->used = false;
}

/* Sends what is pending; returns true when all of it went into lwIP's buffer. */
static bool send_pending(struct reader *r, bool *wrote)
{
    while (r->pend_off < r->pend_len) {
        size_t n = con_ostream_write(&r->s, r->pend + r->pend_off, r->pend_len - r->pend_off);

        if (n == 0) {
            return false;
        }
        r->pend_off += n;
        *wrote = true;
    }
    r->pend_len = 0;
    r->pend_off = 0;
    return true;
}

static void pump(struct reader *r)
{
    bool wrote = false;

    for (int i = 0; i < LOGSTREAM_BURST; i++) {
        struct log_record rec;
        uint64_t dropped = 0;
        int rc;

        if (!send_pending(r, &wrote)) {
            break;
        }
        rc = con_log_read(&r->seq, &rec, &dropped);
        if (dropped > 0) {
            r->dropped += dropped;
            r->pend_len = logfmt_dropped(dropped, r->pend, sizeof(r->pend));
        }
        if (rc == 0) {
            r->pend_len += logfmt_line(&rec, r->pend + r->pend_len, sizeof(r->pend) - r->pend_len);
            r->lines++;
        } else if (r->pend_len == 0) {
            break; /* caught up */
        }
    }
    if (wrote) {
        con_ostream_flush(&r->s);
    }
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    char addr[NETADDR_STR_MAX];
    struct reader *r = NULL;

    (void)arg;
    if (err != ERR_OK || pcb == NULL) {
        return ERR_VAL;
    }
    if (!con_ostream_allowed(pcb, g_allow, "log stream", addr)) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    for (size_t i = 0; i < LOGSTREAM_READERS; i++) {
        if (!g_readers[i].used) {
            r = &g_readers[i];
            break;
        }
    }
    if (r == NULL) {
        static const char msg[] = "Petrel: too many log stream readers; try again later.\n";

        LOG_WARN(CONSOLE, "log stream: connection from %s refused: %d readers already", addr,
                 LOGSTREAM_READERS);
        tcp_recv(pcb, NULL);
        tcp_write(pcb, msg, sizeof(msg) - 1, TCP_WRITE_FLAG_COPY);
        if (tcp_close(pcb) != ERR_OK) {
            tcp_abort(pcb);
            return ERR_ABRT;
        }
        return ERR_OK;
    }
    memset(r, 0, sizeof(*r));
    r->used = true;
    r->seq = log_ring_first_seq(log_global_ring()); /* the backlog first */
    con_ostream_open(&r->s, pcb);
    LOG_INFO(CONSOLE, "log stream reader %s joined", r->s.peer);
    pump(r);
    return ERR_OK;
}

int con_logstream_start(uint16_t port, const struct acl *allow)
{
    g_allow = allow;
    return net_tcp_listen(port, LOGSTREAM_READERS + 1, on_accept, NULL, "log stream", NULL);
}

void con_logstream_poll(void)
{
    for (size_t i = 0; i < LOGSTREAM_READERS; i++) {
        struct reader *r = &g_readers[i];

        if (!r->used) {
            continue;
        }
        if (!r->s.closing) {
            pump(r);
        }
        if (r->s.closing) {
            finish(r, con_ostream_close(&r->s));
        }
    }
}

size_t con_logstream_readers(struct con_logstream_info *out, size_t max)
{
    uint64_t next = log_global_ring()->next_seq;
    size_t n = 0;

    for (size_t i = 0; i < LOGSTREAM_READERS && n < max; i++) {
        const struct reader *r = &g_readers[i];

        if (!r->used) {
            continue;
        }
        str_copy(out[n].peer, r->s.peer, sizeof(out[n].peer));
        out[n].lines = r->lines;
        out[n].dropped = r->dropped;
        out[n].behind = next > r->seq ? next - r->seq : 0;
        n++;
    }
    return n;
}
