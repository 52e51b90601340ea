/* A fake vnet_host and fake ports for the VNET unit tests and fuzz targets: a controllable
 * clock, counted allocations (every test checks it frees everything), recorded UDP datagrams,
 * and ports that record the frames the switch sends them. Header-only (static functions), so
 * each test file includes it and the unit test rule (one .c file + libpetrel.a) still works. */
#ifndef PETREL_TEST_VNET_FAKE_H
#define PETREL_TEST_VNET_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/log.h"
#include "../../vnet/vnet.h"

#define FK_FRAME_MAX 9100
#define FK_DGRAMS    64
#define FK_LOG_LINES 64

static uint64_t fk_now = 1000000000ull;
static long fk_live;

static void *fk_zalloc(size_t n)
{
    void *p = calloc(1, n);

    if (p != NULL) {
        fk_live++;
    }
    return p;
}

static void fk_free(void *p)
{
    if (p != NULL) {
        fk_live--;
    }
    free(p);
}

static uint64_t fk_now_ns(void)
{
    return fk_now;
}

struct fk_dgram {
    uint32_t ip;
    uint16_t dport;
    uint16_t sport;
    size_t len;
    uint8_t data[FK_FRAME_MAX];
};

static struct fk_dgram fk_dgrams[FK_DGRAMS];
static size_t fk_ndgrams;
static int fk_udp_rc;

static int fk_udp_send(void *ctx, uint32_t ip, uint16_t dport, uint16_t sport, const void *buf,
                       size_t len)
{
    (void)ctx;
    if (fk_udp_rc != 0) {
        return fk_udp_rc;
    }
    if (fk_ndgrams < FK_DGRAMS && len <= FK_FRAME_MAX) {
        struct fk_dgram *d = &fk_dgrams[fk_ndgrams];

        d->ip = ip;
        d->dport = dport;
        d->sport = sport;
        d->len = len;
        memcpy(d->data, buf, len);
    }
    fk_ndgrams++;
    return 0;
}

static const struct vnet_host fk_host = {
    .zalloc = fk_zalloc,
    .free = fk_free,
    .now_ns = fk_now_ns,
    .wall_ns = NULL,
    .udp_send = fk_udp_send,
    .udp_ctx = NULL,
};

static char fk_log[FK_LOG_LINES][LOG_TEXT_MAX];
static size_t fk_nlog;

static void fk_log_sink(void *ctx, const struct log_record *rec)
{
    (void)ctx;
    snprintf(fk_log[fk_nlog % FK_LOG_LINES], LOG_TEXT_MAX, "%s", rec->text);
    fk_nlog++;
}

static inline bool fk_log_has(const char *needle)
{
    size_t n = fk_nlog < FK_LOG_LINES ? fk_nlog : FK_LOG_LINES;

    for (size_t i = 0; i < n; i++) {
        if (strstr(fk_log[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

/* Installs the fake host (and a log sink, once) and resets the fakes. */
static inline void fk_reset(void)
{
    static bool log_ready;

    if (!log_ready) {
        log_init();
        (void)log_add_sink(fk_log_sink, NULL);
        log_ready = true;
    }
    vnet_host_set(&fk_host);
    fk_now = 1000000000ull;
    fk_ndgrams = 0;
    fk_udp_rc = 0;
    fk_nlog = 0;
}

static inline struct vnet_switch *fk_switch(uint32_t macs, uint32_t aging_s)
{
    struct vnet_config cfg = {.mac_table_size = macs, .aging_s = aging_s};
    struct vnet_switch *sw = NULL;

    fk_reset();
    if (vnet_switch_create(&cfg, &sw) < 0) {
        return NULL;
    }
    return sw;
}

/* A port that records what the switch sends it. */
struct fk_port {
    struct vnet_port *port;
    int rc; /* what tx returns */
    unsigned frames;
    size_t last_len;
    uint8_t last[FK_FRAME_MAX];
    bool promisc;
    unsigned promisc_calls;
    struct vnet_port *reenter_port; /* tx answers once: the frame with its MACs swapped */
};

static int fk_tx(struct vnet_port *port, const void *frame, size_t len)
{
    struct fk_port *fp = vnet_port_ctx(port);

    fp->frames++;
    fp->last_len = len;
    if (len <= FK_FRAME_MAX) {
        memcpy(fp->last, frame, len);
    }
    if (fp->reenter_port != NULL) {
        struct vnet_port *p = fp->reenter_port;

        uint8_t reply[FK_FRAME_MAX];

        fp->reenter_port = NULL;
        if (len >= VNET_ETH_HLEN && len <= FK_FRAME_MAX) {
            memcpy(reply, frame, len);
            memcpy(reply, (const uint8_t *)frame + VNET_MAC_LEN, VNET_MAC_LEN);
            memcpy(reply + VNET_MAC_LEN, frame, VNET_MAC_LEN);
            (void)vnet_input(p, reply, len);
        }
    }
    return fp->rc;
}

static int fk_set_promisc(struct vnet_port *port, bool on)
{
    struct fk_port *fp = vnet_port_ctx(port);

    fp->promisc = on;
    fp->promisc_calls++;
    return 0;
}

static inline void fk_mac(uint8_t *mac, uint8_t last)
{
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = 0x00;
    mac[4] = 0x00;
    mac[5] = last;
}

/* Adds a port; mac_last 0 = no MAC. Returns 0 or the error. */
static inline int fk_add(struct vnet_switch *sw, struct fk_port *fp, const char *name,
                         enum vnet_port_kind kind, uint8_t mac_last, uint32_t network)
{
    uint8_t mac[VNET_MAC_LEN];
    struct vnet_port_config cfg = {
        .name = name,
        .kind = kind,
        .mac = NULL,
        .network = network,
        .tx = fk_tx,
        .set_promisc = fk_set_promisc,
        .ctx = fp,
    };

    memset(fp, 0, sizeof(*fp));
    if (mac_last != 0) {
        fk_mac(mac, mac_last);
        cfg.mac = mac;
    }
    return vnet_port_add(sw, &cfg, &fp->port);
}

/* Builds a frame dst <- src of `len` bytes (>= 14): EtherType 0x0800, payload bytes i & 0xff. */
static inline size_t fk_frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, size_t len)
{
    memcpy(buf, dst, VNET_MAC_LEN);
    memcpy(buf + VNET_MAC_LEN, src, VNET_MAC_LEN);
    buf[12] = 0x08;
    buf[13] = 0x00;
    for (size_t i = VNET_ETH_HLEN; i < len; i++) {
        buf[i] = (uint8_t)i;
    }
    return len;
}

/* A frame between 52:54:00:00:00:<dst> and 52:54:00:00:00:<src>; dst 0xff = broadcast. */
static inline size_t fk_frame_ids(uint8_t *buf, uint8_t dst, uint8_t src, size_t len)
{
    uint8_t d[VNET_MAC_LEN];
    uint8_t s[VNET_MAC_LEN];

    if (dst == 0xff) {
        memset(d, 0xff, sizeof(d));
    } else {
        fk_mac(d, dst);
    }
    fk_mac(s, src);
    return fk_frame(buf, d, s, len);
}

static inline uint64_t fk_drops(const struct vnet_port *p, enum vnet_drop why)
{
    struct vnet_port_info info;

    vnet_port_info(p, &info);
    return info.c.drops[why];
}

#endif
