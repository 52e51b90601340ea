/* The VNET capture stream (see capture.h): a TCP server whose readers each get a capture tap,
 * a pcapng writer and a ring of bytes. The tap callback runs inside the switch: it only writes
 * into the ring (all of a packet or nothing, counted lost); the main loop moves the ring into
 * lwIP's send buffer. */
#include "capture.h"
#include "acl.h"
#include "config.h"
#include "ostream.h"

#include "lwip/tcp.h"

#include "../kernel/heap.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"
#include "../netstack/tcp_listen.h"
#include "../vnet/pcapng.h"
#include "../vnet/vnet.h"

/* One EPB of the largest frame (a 64 KiB super-frame, captured whole), or the SHB and IDBs. */
#define SCRATCH_MAX (NETOFF_FRAME_MAX + 512)

struct reader {
    bool used;
    struct con_ostream s;
    int tap;
    struct vnet_pcapng_writer w;
    uint8_t *ring; /* CAPTURE_RING bytes */
    size_t head;   /* next byte to send */
    size_t count;  /* bytes buffered */
    uint64_t packets;
    uint64_t bytes;
    uint64_t lost;
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

    if (r->s.closing || own_segment(pkt->frame, pkt->len)) {
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

static void finish(struct reader *r, const char *why)
{
    struct vnet_switch *sw = vnet_default();

    if (r->tap >= 0 && sw != NULL && vnet_capture_detach(sw, r->tap) != 0) {
        LOG_WARN(CONSOLE, "capture reader %s: tap %d not detached", r->s.peer, r->tap);
    }
    LOG_INFO(CONSOLE, "capture reader %s left: %s (%llu packets, %llu bytes, %llu lost)", r->s.peer,
             why, (unsigned long long)r->packets, (unsigned long long)r->bytes,
             (unsigned long long)r->lost);
    kfree(r->ring);
    r->ring = NULL;
    r->tap = -1;
    r->used = false;
}

/* Moves buffered bytes into lwIP's send buffer. */
static void pump(struct reader *r)
{
    bool wrote = false;

    while (r->count > 0) {
        size_t n =
            con_ostream_write(&r->s, r->ring + r->head, MIN(r->count, CAPTURE_RING - r->head));

        if (n == 0) {
            break;
        }
        r->head = (r->head + n) % CAPTURE_RING;
        r->count -= n;
        wrote = true;
    }
    if (wrote) {
        con_ostream_flush(&r->s);
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

    (void)arg;
    if (err != ERR_OK || pcb == NULL) {
        return ERR_VAL;
    }
    if (!con_ostream_allowed(pcb, &g_con_config.allow, "capture", addr)) {
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
    con_ostream_open(&r->s, pcb);
    LOG_INFO(CONSOLE, "capture reader %s joined (%s)", r->s.peer,
             g_nsel == 0 ? "every port" : "selected ports");
    return ERR_OK;
}

int con_capture_start(uint16_t port)
{
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
        g_readers[i].tap = -1;
    }
    g_port = port;
    return net_tcp_listen(port, CAPTURE_READERS + 1, on_accept, NULL, "capture", NULL);
}

void con_capture_poll(void)
{
    for (size_t i = 0; i < CAPTURE_READERS; i++) {
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
                LOG_WARN(CONSOLE, "capture reader %s: selection not changed (%d)", r->s.peer, rc);
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
        str_copy(out[n].peer, r->s.peer, sizeof(out[n].peer));
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
