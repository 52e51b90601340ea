/* The VNET capture stream (see capture.h): a TCP server whose readers each get a capture tap,
 * a pcapng writer and a ring of bytes. The tap callback runs inside the switch: it only writes
 * into the ring (all of a packet or nothing, counted lost); the main loop moves the ring into
 * lwIP's send buffer. */
#include "capture.h"
#include "acl.h"
#include "config.h"
#include "telnetd.h"

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "../kernel/heap.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"
#include "../netstack/tcp_listen.h"
#include "../vnet/pcapng.h"
#include "../vnet/vnet.h"

#define SCRATCH_MAX (VNET_MTU_MAX + 18 + 512) /* one EPB of the largest frame, SHB and IDB */

struct reader {
    bool used;
    bool closing;
    struct tcp_pcb *pcb;
    int tap;
    struct vnet_pcapng_writer w;
    uint8_t *ring; /* CAPTURE_RING bytes */
    size_t head;   /* next byte to send */
    size_t count;  /* bytes buffered */
    uint64_t packets;
    uint64_t bytes;
    uint64_t lost;
    char peer[24];
};

static struct reader g_readers[CAPTURE_READERS];
static uint8_t g_scratch[SCRATCH_MAX];
static char g_sel[CAPTURE_NAMES][VNET_NAME_MAX];
static size_t g_nsel;

static uint16_t g_port; /* the stream's own TCP port */

/* Whether a frame is IPv4 TCP from or to the capture port: the stream's own segments are not
 * captured (they would feed themselves without end). */
static bool own_segment(const uint8_t *f, size_t len)
{
    size_t ihl;
    uint16_t sport;
    uint16_t dport;

    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4 || f[23] != 6) {
        return false;
    }
    ihl = (size_t)(f[14] & 0x0f) * 4;
    if (ihl < 20 || len < 14 + ihl + 4) {
        return false;
    }
    sport = (uint16_t)(f[14 + ihl] << 8 | f[14 + ihl + 1]);
    dport = (uint16_t)(f[14 + ihl + 2] << 8 | f[14 + ihl + 3]);
    return sport == g_port || dport == g_port;
}

/* The tap: one packet into the reader's ring, or counted lost. */
static void on_packet(void *ctx, const struct vnet_capture_pkt *pkt)
{
    struct reader *r = ctx;
    size_t space = CAPTURE_RING - r->count;
    size_t tail;
    size_t first;
    int n;

    if (r->closing || r->pcb == NULL || own_segment(pkt->frame, pkt->len)) {
        return;
    }
    /* The writer is given only the room the ring has, so it marks a new interface described
     * only when its block really goes into the stream. */
    n = vnet_pcapng_write(&r->w, g_scratch, MIN(space, sizeof(g_scratch)), pkt);
    if (n < 0) {
        r->lost++;
        return;
    }
    tail = (r->head + r->count) % CAPTURE_RING;
    first = MIN((size_t)n, CAPTURE_RING - tail);
    memcpy(r->ring + tail, g_scratch, first);
    memcpy(r->ring, g_scratch + first, (size_t)n - first);
    r->count += (size_t)n;
    r->packets++;
    r->bytes += (size_t)n;
}

static const char *const *sel_ptrs(const char **ptrs)
{
    for (size_t i = 0; i < g_nsel; i++) {
        ptrs[i] = g_sel[i];
    }
    return ptrs;
}

static void detach(struct reader *r)
{
    if (r->pcb != NULL) {
        tcp_arg(r->pcb, NULL);
        tcp_recv(r->pcb, NULL);
        tcp_err(r->pcb, NULL);
        r->pcb = NULL;
    }
}

static void finish(struct reader *r, const char *why)
{
    struct vnet_switch *sw = vnet_default();

    if (r->tap >= 0 && sw != NULL && vnet_capture_detach(sw, r->tap) != 0) {
        LOG_WARN(CONSOLE, "capture reader %s: tap %d not detached", r->peer, r->tap);
    }
    LOG_INFO(CONSOLE, "capture reader %s left: %s (%llu packets, %llu bytes, %llu lost)", r->peer,
             why, (unsigned long long)r->packets, (unsigned long long)r->bytes,
             (unsigned long long)r->lost);
    kfree(r->ring);
    r->ring = NULL;
    r->tap = -1;
    r->used = false;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct reader *r = arg;

    (void)err;
    if (p != NULL) {
        tcp_recved(pcb, p->tot_len); /* readers have nothing to say */
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
        r->closing = true;
        (void)err;
    }
}

/* Moves buffered bytes into lwIP's send buffer. */
static void pump(struct reader *r)
{
    bool wrote = false;

    while (r->count > 0) {
        size_t run = MIN(r->count, CAPTURE_RING - r->head);
        size_t n = MIN(run, (size_t)tcp_sndbuf(r->pcb));
        err_t err;

        if (n == 0 || tcp_sndqueuelen(r->pcb) >= TCP_SND_QUEUELEN - 1) {
            break;
        }
        n = MIN(n, (size_t)0xffff);
        err = tcp_write(r->pcb, r->ring + r->head, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (err == ERR_MEM) {
            break;
        }
        if (err != ERR_OK) {
            r->closing = true;
            break;
        }
        r->head = (r->head + n) % CAPTURE_RING;
        r->count -= n;
        wrote = true;
    }
    if (wrote) {
        tcp_output(r->pcb);
    }
}

static err_t refuse(struct tcp_pcb *pcb)
{
    tcp_abort(pcb);
    return ERR_ABRT;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    const char *ptrs[CAPTURE_NAMES];
    struct vnet_switch *sw = vnet_default();
    char addr[NETADDR_STR_MAX];
    struct reader *r = NULL;
    uint32_t ip;

    (void)arg;
    if (err != ERR_OK || pcb == NULL) {
        return ERR_VAL;
    }
    ip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
    netaddr_format(ip, addr, sizeof(addr));
    if (!acl_allows(&g_con_config.allow, ip)) {
        LOG_WARN(CONSOLE, "capture: connection from %s refused: not in console.allow", addr);
        return refuse(pcb);
    }
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
        if (!g_readers[i].used) {
            r = &g_readers[i];
            break;
        }
    }
    if (r == NULL || sw == NULL) {
        LOG_WARN(CONSOLE, "capture: connection from %s refused: %s", addr,
                 sw == NULL ? "no switch" : "too many readers");
        return refuse(pcb);
    }
    memset(r, 0, sizeof(*r));
    r->tap = -1;
    r->ring = kzalloc(CAPTURE_RING);
    if (r->ring == NULL) {
        LOG_WARN(CONSOLE, "capture: connection from %s refused: out of memory", addr);
        return refuse(pcb);
    }
    vnet_pcapng_writer_init(&r->w, 0);
    r->tap = vnet_capture_attach(sw, on_packet, r, sel_ptrs(ptrs), g_nsel);
    if (r->tap < 0) {
        LOG_WARN(CONSOLE, "capture: connection from %s refused: no tap (%d)", addr, r->tap);
        kfree(r->ring);
        r->ring = NULL;
        return refuse(pcb);
    }
    r->used = true;
    r->pcb = pcb;
    fmt_snprintf(r->peer, sizeof(r->peer), "%s:%u", addr, pcb->remote_port);
    tcp_arg(pcb, r);
    tcp_recv(pcb, on_recv);
    tcp_err(pcb, on_err);
    con_keepalive(pcb);
    LOG_INFO(CONSOLE, "capture reader %s joined (%s)", r->peer,
             g_nsel == 0 ? "every port" : "selected ports");
    return ERR_OK;
}

int con_capture_start(uint16_t port)
{
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
        g_readers[i].tap = -1;
    }
    g_port = port;
    return net_tcp_listen(port, 2, on_accept, NULL, "capture", NULL);
}

void con_capture_poll(void)
{
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
        struct reader *r = &g_readers[i];

        if (!r->used) {
            continue;
        }
        if (r->pcb != NULL && !r->closing) {
            pump(r);
        }
        if (r->closing) {
            struct tcp_pcb *pcb = r->pcb;
            bool lost = pcb == NULL;

            detach(r);
            if (pcb != NULL && tcp_close(pcb) != ERR_OK) {
                tcp_abort(pcb);
            }
            finish(r, lost ? "connection lost" : "closed by the reader");
        }
    }
}

int con_capture_select(const char *const *names, size_t nnames)
{
    struct vnet_switch *sw = vnet_default();
    const char *ptrs[CAPTURE_NAMES];
    int rc;

    if (nnames > CAPTURE_NAMES) {
        return -E2BIG;
    }
    for (size_t i = 0; i < nnames; i++) {
        if (vnet_name_check(names[i]) != 0) {
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < nnames; i++) {
        str_copy(g_sel[i], names[i], sizeof(g_sel[i]));
    }
    g_nsel = nnames;
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
        struct reader *r = &g_readers[i];

        if (r->used && r->tap >= 0 && sw != NULL) {
            rc = vnet_capture_filter(sw, r->tap, sel_ptrs(ptrs), g_nsel);
            if (rc != 0) {
                LOG_WARN(CONSOLE, "capture reader %s: selection not changed (%d)", r->peer, rc);
            }
        }
    }
    return 0;
}

size_t con_capture_readers(struct con_capture_info *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < CAPTURE_READERS && n < max; i++) {
        const struct reader *r = &g_readers[i];

        if (!r->used) {
            continue;
        }
        str_copy(out[n].peer, r->peer, sizeof(out[n].peer));
        out[n].packets = r->packets;
        out[n].bytes = r->bytes;
        out[n].lost = r->lost;
        out[n].buffered = r->count;
        n++;
    }
    return n;
}

size_t con_capture_selection(char (*names)[32], size_t max)
{
    size_t n = MIN(max, g_nsel);

    for (size_t i = 0; i < n; i++) {
        str_copy(names[i], g_sel[i], 32);
    }
    return n;
}
