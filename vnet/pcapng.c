/* pcapng block writers and the capture stream helper (pcapng.h). */
#include "pcapng.h"
#include "../kernel/lib.h"

#define BT_SHB           0x0a0d0d0au
#define BT_IDB           0x00000001u
#define BT_EPB           0x00000006u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

#define OPT_END          0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME      2
#define OPT_IF_TSRESOL   9
#define OPT_EPB_FLAGS    2

#define NAME_OPT_MAX 255 /* longest string option value written */

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static size_t str_opt_len(const char *s)
{
    return (s == NULL) ? 0 : strnlen(s, NAME_OPT_MAX);
}

/* Size of an option with an n-byte value (header + padded value). */
static size_t opt_size(size_t n)
{
    return 4 + pad4(n);
}

struct out {
    uint8_t *p;
    size_t off;
};

static void put8(struct out *o, uint8_t v)
{
    o->p[o->off++] = v;
}

static void put16(struct out *o, uint16_t v)
{
    put8(o, (uint8_t)v);
    put8(o, (uint8_t)(v >> 8));
}

static void put32(struct out *o, uint32_t v)
{
    put16(o, (uint16_t)v);
    put16(o, (uint16_t)(v >> 16));
}

static void put_bytes(struct out *o, const void *src, size_t n)
{
    if (n > 0) {
        memcpy(o->p + o->off, src, n);
        o->off += n;
    }
    while ((o->off & 3) != 0) {
        put8(o, 0);
    }
}

static void put_opt(struct out *o, uint16_t code, const void *val, size_t n)
{
    put16(o, code);
    put16(o, (uint16_t)n);
    put_bytes(o, val, n);
}

/* ---- Section Header Block ---------------------------------------------------------------- */

size_t vnet_pcapng_shb_size(const char *appl)
{
    size_t n = 28; /* type, length, magic, version, section length, trailing length */
    size_t a = str_opt_len(appl);

    if (a > 0) {
        n += opt_size(a) + 4;
    }
    return n;
}

int vnet_pcapng_shb(uint8_t *buf, size_t len, const char *appl)
{
    size_t total = vnet_pcapng_shb_size(appl);
    size_t a = str_opt_len(appl);
    struct out o = {buf, 0};

    if (buf == NULL || len < total) {
        return -ENOSPC;
    }
    put32(&o, BT_SHB);
    put32(&o, (uint32_t)total);
    put32(&o, BYTE_ORDER_MAGIC);
    put16(&o, 1);           /* major */
    put16(&o, 0);           /* minor */
    put32(&o, 0xffffffffu); /* section length: unknown (a stream) */
    put32(&o, 0xffffffffu);
    if (a > 0) {
        put_opt(&o, OPT_SHB_USERAPPL, appl, a);
        put_opt(&o, OPT_END, NULL, 0);
    }
    put32(&o, (uint32_t)total);
    return (int)o.off;
}

/* ---- Interface Description Block ------------------------------------------------------ */

size_t vnet_pcapng_idb_size(const char *if_name)
{
    size_t n = 20; /* type, length, linktype, reserved, snaplen, trailing length */
    size_t name = str_opt_len(if_name);

    if (name > 0) {
        n += opt_size(name);
    }
    return n + opt_size(1) + 4; /* if_tsresol, end of options */
}

int vnet_pcapng_idb(uint8_t *buf, size_t len, const char *if_name, uint32_t snaplen)
{
    size_t total = vnet_pcapng_idb_size(if_name);
    size_t name = str_opt_len(if_name);
    uint8_t tsresol = 9; /* 10^-9 s */
    struct out o = {buf, 0};

    if (buf == NULL || len < total) {
        return -ENOSPC;
    }
    put32(&o, BT_IDB);
    put32(&o, (uint32_t)total);
    put16(&o, VNET_PCAPNG_LINKTYPE_ETHERNET);
    put16(&o, 0);
    put32(&o, snaplen);
    if (name > 0) {
        put_opt(&o, OPT_IF_NAME, if_name, name);
    }
    put_opt(&o, OPT_IF_TSRESOL, &tsresol, 1);
    put_opt(&o, OPT_END, NULL, 0);
    put32(&o, (uint32_t)total);
    return (int)o.off;
}

/* ---- Enhanced Packet Block -------------------------------------------------------------- */

static size_t cap_len(size_t frame_len, uint32_t snaplen)
{
    return (snaplen != 0 && frame_len > snaplen) ? snaplen : frame_len;
}

size_t vnet_pcapng_epb_size(size_t frame_len, uint32_t snaplen)
{
    /* type, length, interface, ts high, ts low, caplen, origlen, data, epb_flags, end,
     * trailing length */
    return 28 + pad4(cap_len(frame_len, snaplen)) + opt_size(4) + 4 + 4;
}

int vnet_pcapng_epb(uint8_t *buf, size_t len, uint32_t if_id, uint64_t ts_ns, const void *frame,
                    size_t frame_len, uint32_t snaplen, enum vnet_pcapng_dir dir)
{
    size_t caplen = cap_len(frame_len, snaplen);
    size_t total = vnet_pcapng_epb_size(frame_len, snaplen);
    uint8_t flags[4] = {(uint8_t)(dir & 3), 0, 0, 0};
    struct out o = {buf, 0};

    if (buf == NULL || len < total || frame_len > UINT32_MAX || (frame == NULL && caplen > 0)) {
        return -ENOSPC;
    }
    put32(&o, BT_EPB);
    put32(&o, (uint32_t)total);
    put32(&o, if_id);
    put32(&o, (uint32_t)(ts_ns >> 32));
    put32(&o, (uint32_t)ts_ns);
    put32(&o, (uint32_t)caplen);
    put32(&o, (uint32_t)frame_len);
    if (caplen > 0) {
        put_bytes(&o, frame, caplen);
    }
    put_opt(&o, OPT_EPB_FLAGS, flags, sizeof(flags));
    put_opt(&o, OPT_END, NULL, 0);
    put32(&o, (uint32_t)total);
    return (int)o.off;
}

/* ---- the stream helper -------------------------------------------------------------------- */

#define PCAPNG_APPL "Petrel VNET"

void vnet_pcapng_writer_init(struct vnet_pcapng_writer *w, uint32_t snaplen)
{
    memset(w, 0, sizeof(*w));
    w->snaplen = snaplen != 0 ? snaplen : VNET_PCAPNG_SNAPLEN_DEFAULT;
}

static int find_if(const struct vnet_pcapng_writer *w, uint32_t port_id)
{
    for (uint32_t i = 0; i < w->nifs; i++) {
        if (w->port_ids[i] == port_id) {
            return (int)i;
        }
    }
    return -1;
}

int vnet_pcapng_write(struct vnet_pcapng_writer *w, uint8_t *buf, size_t len,
                      const struct vnet_capture_pkt *pkt)
{
    int ifid = find_if(w, pkt->port_id);
    size_t need = vnet_pcapng_epb_size(pkt->len, w->snaplen);
    enum vnet_pcapng_dir dir = pkt->dir == VNET_DIR_IN ? VNET_PCAPNG_DIR_IN : VNET_PCAPNG_DIR_OUT;
    size_t off = 0;
    int n;

    if (!w->shb_done) {
        need += vnet_pcapng_shb_size(PCAPNG_APPL);
    }
    if (ifid < 0) {
        if (w->nifs >= VNET_PCAPNG_IFS_MAX) {
            return -E2BIG;
        }
        need += vnet_pcapng_idb_size(pkt->port_name);
    }
    if (buf == NULL || len < need) {
        return -ENOSPC;
    }
    if (!w->shb_done) {
        n = vnet_pcapng_shb(buf, len, PCAPNG_APPL);
        off += (size_t)n;
        w->shb_done = true;
    }
    if (ifid < 0) {
        n = vnet_pcapng_idb(buf + off, len - off, pkt->port_name, w->snaplen);
        off += (size_t)n;
        ifid = (int)w->nifs;
        w->port_ids[w->nifs++] = pkt->port_id;
    }
    n = vnet_pcapng_epb(buf + off, len - off, (uint32_t)ifid, pkt->ts_ns, pkt->frame, pkt->len,
                        w->snaplen, dir);
    off += (size_t)n;
    return (int)off;
}
