/* One-way TCP streams to readers (see ostream.h). */
#include "ostream.h"
#include "telnetd.h"

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"

static uint32_t peer_ip(const struct tcp_pcb *pcb)
{
    return lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
}

bool con_ostream_allowed(const struct tcp_pcb *pcb, const struct acl *allow, const char *what,
                         char *addr)
{
    netaddr_format(peer_ip(pcb), addr, NETADDR_STR_MAX);
    if (acl_allows(allow, peer_ip(pcb))) {
        return true;
    }
    LOG_WARN(CONSOLE, "%s: connection from %s refused: not in console.allow", what, addr);
    return false;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct con_ostream *s = arg;

    (void)err;
    if (p != NULL) {
        tcp_recved(pcb, p->tot_len); /* readers have nothing to say */
        pbuf_free(p);
        return ERR_OK;
    }
    if (s != NULL) {
        s->closing = true; /* the reader's FIN: closed from the main loop */
    }
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    struct con_ostream *s = arg;

    (void)err;
    if (s != NULL) {
        s->pcb = NULL; /* lwIP has freed it */
        s->closing = true;
        s->lost = true;
    }
}

void con_ostream_open(struct con_ostream *s, struct tcp_pcb *pcb)
{
    char addr[NETADDR_STR_MAX];

    memset(s, 0, sizeof(*s));
    s->pcb = pcb;
    netaddr_format(peer_ip(pcb), addr, sizeof(addr));
    fmt_snprintf(s->peer, sizeof(s->peer), "%s:%u", addr, pcb->remote_port);
    tcp_arg(pcb, s);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
    con_keepalive(pcb);
}

size_t con_ostream_write(struct con_ostream *s, const void *buf, size_t len)
{
    size_t n;
    err_t err;

    if (s->pcb == NULL || s->closing) {
        return 0;
    }
    n = MIN(MIN(len, (size_t)tcp_sndbuf(s->pcb)), (size_t)0xffff);
    if (n == 0 || tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 1) {
        return 0;
    }
    err = tcp_write(s->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
    if (err == ERR_MEM) {
        return 0; /* lwIP is short of memory: try again on a later pass */
    }
    if (err != ERR_OK) {
        s->closing = true;
        return 0;
    }
    return n;
}

void con_ostream_flush(struct con_ostream *s)
{
    if (s->pcb != NULL) {
        tcp_output(s->pcb);
    }
}

const char *con_ostream_close(struct con_ostream *s)
{
    struct tcp_pcb *pcb = s->pcb;

    s->closing = true;
    if (pcb == NULL) {
        return s->lost ? "connection lost" : "closed";
    }
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_sent(pcb, NULL);
    s->pcb = NULL;
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
    }
    return "closed by the reader";
}
