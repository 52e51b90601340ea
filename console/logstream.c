/* The TCP log stream (see logstream.h). */
#include "logstream.h"
#include "logfmt.h"
#include "telnetd.h"

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "../kernel/irqflags.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"
#include "../netstack/tcp_listen.h"

struct reader {
    bool used;
    bool closing;
    struct tcp_pcb *pcb;
    uint64_t seq;                    /* next record to send */
    uint64_t lines;                  /* sent */
    uint64_t dropped;                /* lost to the ring */
    char pend[LOGFMT_LINE_MAX + 32]; /* a marker and/or line not yet in lwIP's buffer */
    size_t pend_len;
    size_t pend_off;
    char peer[24];
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

static void detach(struct reader *r)
{
    if (r->pcb != NULL) {
        tcp_arg(r->pcb, NULL);
        tcp_recv(r->pcb, NULL);
        tcp_err(r->pcb, NULL);
        tcp_sent(r->pcb, NULL);
        r->pcb = NULL;
    }
}

static void finish(struct reader *r, const char *why)
{
    LOG_INFO(CONSOLE, "log stream reader %s left: %s (%llu lines sent, %llu dropped)", r->peer, why,
             (unsigned long long)r->lines, (unsigned long long)r->dropped);
    r->used = false;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct reader *r = arg;

    (void)err;
    if (p != NULL) {
        /* Readers have nothing to say: what they send is taken and dropped. */
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    if (r != NULL) {
        r->closing = true; /* closed from the main loop */
    }
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    struct reader *r = arg;

    if (r != NULL) {
        r->pcb = NULL;
        finish(r, err == ERR_RST ? "reset" : "connection lost");
    }
}

/* Sends what is pending; returns true when all of it went into lwIP's buffer. */
static bool send_pending(struct reader *r, bool *wrote)
{
    while (r->pend_off < r->pend_len) {
        size_t n = MIN(r->pend_len - r->pend_off, (size_t)tcp_sndbuf(r->pcb));
        err_t err;

        if (n == 0 || tcp_sndqueuelen(r->pcb) >= TCP_SND_QUEUELEN - 1) {
            return false;
        }
        err = tcp_write(r->pcb, r->pend + r->pend_off, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (err == ERR_MEM) {
            return false;
        }
        if (err != ERR_OK) {
            r->closing = true;
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
    if (wrote && r->pcb != NULL) {
        tcp_output(r->pcb);
    }
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    uint32_t ip;
    char addr[NETADDR_STR_MAX];
    struct reader *r = NULL;

    (void)arg;
    if (err != ERR_OK || pcb == NULL) {
        return ERR_VAL;
    }
    ip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
    netaddr_format(ip, addr, sizeof(addr));
    if (!acl_allows(g_allow, ip)) {
        LOG_WARN(CONSOLE, "log stream: connection from %s refused: not in console.allow", addr);
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
    r->pcb = pcb;
    r->seq = log_ring_first_seq(log_global_ring()); /* the backlog first */
    fmt_snprintf(r->peer, sizeof(r->peer), "%s:%u", addr, pcb->remote_port);
    tcp_arg(pcb, r);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
    con_keepalive(pcb);
    LOG_INFO(CONSOLE, "log stream reader %s joined", r->peer);
    pump(r);
    return ERR_OK;
}

int con_logstream_start(uint16_t port, const struct acl *allow)
{
    g_allow = allow;
    return net_tcp_listen(port, 2, on_accept, NULL, "log stream", NULL);
}

void con_logstream_poll(void)
{
    for (size_t i = 0; i < LOGSTREAM_READERS; i++) {
        struct reader *r = &g_readers[i];

        if (!r->used) {
            continue;
        }
        if (r->pcb != NULL && !r->closing) {
            pump(r);
        }
        if (r->closing && r->pcb != NULL) {
            struct tcp_pcb *pcb = r->pcb;

            detach(r);
            if (tcp_close(pcb) != ERR_OK) {
                tcp_abort(pcb);
            }
            finish(r, "closed by the reader");
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
        str_copy(out[n].peer, r->peer, sizeof(out[n].peer));
        out[n].lines = r->lines;
        out[n].dropped = r->dropped;
        out[n].behind = next > r->seq ? next - r->seq : 0;
        n++;
    }
    return n;
}
