/* libFuzzer target for TCP receive coalescing (kernel/lib/tcpgro.c): the input is split into
 * frames fed to tcpgro_add one by one, then tcpgro_flush. A frame is either raw bytes from the
 * input or a TCP/IPv4 segment built from fuzzer-chosen fields (flow, flags, options, payload
 * length, often continuing the previous segment's sequence so merges happen), with right
 * checksums unless a byte is flipped after. The buffer's size and out's failures are chosen
 * by the input too.
 *
 * Beyond ASan/UBSan it aborts when a promise breaks: an output that is not the next input(s)
 * in order (a plain one byte for byte; a super-frame the first's headers and the payloads of
 * 2..64 consecutive inputs, each a full gso_size but the last), a super-frame netoff_check
 * refuses or whose completed TCP checksum is wrong, input bytes that do not come out, more
 * held than the buffer holds, or a return value that is not 0 or out's first error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/errno.h"
#include "../../kernel/lib/netcsum.h"
#include "../../kernel/lib/netoff.h"
#include "../../kernel/lib/tcpgro.h"

#define FRAMES_MAX 512
#define FRAME_MAX  9018 /* a jumbo frame */
#define POOL_MAX   (FRAMES_MAX * 2048)

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t take8(struct input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint16_t take16(struct input *in)
{
    return (uint16_t)(take8(in) | (take8(in) << 8));
}

static uint8_t g_pool[POOL_MAX];
static size_t g_pool_used;
static uint8_t *g_in[FRAMES_MAX];
static size_t g_in_len[FRAMES_MAX];
static unsigned g_in_n;
static unsigned g_next; /* the input the next output must start with */
static size_t g_bytes_in;
static size_t g_bytes_out;
static size_t g_hdr_merged; /* header bytes of merged inputs that did not come out */
static unsigned g_calls;
static uint8_t g_fail_mask; /* out fails on call c when bit c % 8 is set */
static int g_first_err;     /* out's first error during the current call */
static uint8_t g_gro_buf[NETOFF_FRAME_MAX];
static uint8_t g_copy[NETOFF_FRAME_MAX];

static void check_super(const uint8_t *frame, size_t len, const struct netoff *off)
{
    const char *why = NULL;
    size_t hlen;
    size_t pos;
    unsigned k = 0;

    if (netoff_check(frame, len, off, 1514, NETOFF_FRAME_MAX, &why) != 0 ||
        off->gso != NETOFF_GSO_TCPV4 || off->csum_start != 34 || off->csum_off != 16) {
        abort();
    }
    hlen = netoff_gso_hlen(frame, off);
    /* The first input's MACs and flow; the others' payloads, in order. */
    if (memcmp(frame, g_in[g_next], 14) != 0 || memcmp(frame + 26, g_in[g_next] + 26, 12) != 0) {
        abort();
    }
    for (pos = hlen; pos < len; k++) {
        const uint8_t *in = g_in[g_next];
        size_t pl;

        if (g_next >= g_in_n || g_in_len[g_next] <= hlen) {
            abort();
        }
        pl = g_in_len[g_next] - hlen;
        if (pos + pl > len || pl > off->gso_size || (pl < off->gso_size && pos + pl != len) ||
            (size_t)(in[46] >> 4) * 4 + 34 != hlen || memcmp(frame + pos, in + hlen, pl) != 0) {
            abort();
        }
        pos += pl;
        g_next++;
    }
    if (k < 2 || k > TCPGRO_SEGS_MAX) {
        abort();
    }
    /* PARTIAL as promised: completing it gives a right checksum. */
    memcpy(g_copy, frame, len);
    if (netcsum_fill(g_copy, len, 34, 16) != 0 || !netcsum_ipv4_l4_valid(g_copy, len)) {
        abort();
    }
    g_bytes_out += len;
    g_hdr_merged += (k - 1) * hlen;
}

static int out_fn(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    unsigned c = g_calls++;

    (void)ctx;
    if (g_next >= g_in_n) {
        abort(); /* more out than in */
    }
    if (off == NULL) {
        if (len != g_in_len[g_next] || (len > 0 && memcmp(frame, g_in[g_next], len) != 0)) {
            abort();
        }
        g_bytes_out += len;
        g_next++;
    } else {
        check_super(frame, len, off);
    }
    if ((g_fail_mask >> (c % 8)) & 1) {
        int rc = (c & 8) ? -EIO : -EAGAIN;

        if (g_first_err == 0) {
            g_first_err = rc;
        }
        return rc;
    }
    return (int)(c & 1); /* positive values are not errors */
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Right IP header and TCP checksums for a built segment (IHL 5, total length = len - 14). */
static void fix_csums(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14;
    uint8_t pseudo[12];
    uint16_t c;

    ip[10] = 0;
    ip[11] = 0;
    c = (uint16_t)~inet_csum_fold(inet_csum_add(0, ip, 20));
    memcpy(ip + 10, &c, 2);
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (unsigned)(len - 34));
    ip[36] = 0;
    ip[37] = 0;
    c = (uint16_t)~inet_csum_fold(
        inet_csum_add(inet_csum_add(0, pseudo, sizeof(pseudo)), ip + 20, len - 34));
    memcpy(ip + 36, &c, 2);
}

/* A TCP/IPv4 segment into f: a fresh flow from the input, or the previous built segment's
 * headers with the next sequence number. Returns its length. */
static size_t build_seg(struct input *in, uint8_t ctl, uint8_t *f, const uint8_t *prev,
                        size_t prev_len)
{
    uint8_t *ip = f + 14;
    uint8_t *tcp = ip + 20;
    size_t opts;
    size_t payload;
    uint8_t seed = take8(in);
    size_t len;
    uint32_t seq;

    /* Continue only a previous segment whose header is all there (it may be damaged). */
    if (prev != NULL && (prev[46] >> 4) >= 5 && prev_len >= 34 + (size_t)(prev[46] >> 4) * 4) {
        size_t hlen = 34 + (size_t)(prev[46] >> 4) * 4;

        memcpy(f, prev, hlen);
        opts = hlen - 54;
        /* The same size as before unless asked (so merges are common), or a short one. */
        payload = (ctl & 8) ? take8(in) % 100 : prev_len - hlen;
        seq = ((uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7]) +
              (uint32_t)(prev_len - hlen);
    } else {
        payload = (ctl & 8) ? take8(in) % 100 : take16(in) % (FRAME_MAX - 100);
        opts = 4 * (size_t)(take8(in) % 11);
        memset(f, 0, 54 + opts);
        f[0] = 0x52;
        f[5] = take8(in) & 3;
        put16(f + 12, 0x0800);
        ip[0] = 0x45;
        ip[1] = take8(in) & 1;
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        ip[12] = 10;
        ip[15] = take8(in) & 3;
        ip[16] = 10;
        put16(tcp, take8(in) & 3);
        put16(tcp + 2, 80);
        put16(tcp + 8, take8(in) & 3);
        tcp[12] = (uint8_t)((20 + opts) / 4) << 4;
        for (size_t i = 0; i < opts; i++) {
            tcp[20 + i] = (uint8_t)(take8(in) & 1);
        }
        seq = (uint32_t)take16(in) << 16 | take16(in);
    }
    len = 54 + opts + payload;
    put16(ip + 2, (unsigned)(len - 14));
    put16(ip + 4, take16(in));
    tcp[4] = (uint8_t)(seq >> 24);
    tcp[5] = (uint8_t)(seq >> 16);
    tcp[6] = (uint8_t)(seq >> 8);
    tcp[7] = (uint8_t)seq;
    /* ACK, ACK + PSH, or any flags. */
    tcp[13] = (ctl & 0x30) == 0x30 ? take8(in) : (uint8_t)(0x10 | (ctl & 0x10 ? 0x08 : 0));
    for (size_t i = 0; i < payload; i++) {
        f[54 + opts + i] = (uint8_t)(seed + i * 13);
    }
    fix_csums(f, len);
    if ((ctl >> 6) == 2) {
        f[take16(in) % len] ^= (uint8_t)(1 + take8(in) % 255); /* something wrong */
    } else if ((ctl >> 6) == 3) {
        len -= 1 + take8(in) % 8; /* truncated (len >= 54) */
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct tcpgro g;
    uint8_t shape = take8(&in);
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    size_t cap = (shape & 1) ? sizeof(g_gro_buf) : 54 + (size_t)take16(&in) % 20000;
    int rc;

    g_pool_used = 0;
    g_in_n = 0;
    g_next = 0;
    g_bytes_in = 0;
    g_bytes_out = 0;
    g_hdr_merged = 0;
    g_calls = 0;
    g_fail_mask = (shape & 2) ? take8(&in) : 0;
    tcpgro_init(&g, g_gro_buf, cap);
    while (in.pos < in.size && g_in_n < FRAMES_MAX && g_pool_used + FRAME_MAX <= POOL_MAX) {
        uint8_t ctl = take8(&in);
        uint8_t *f = g_pool + g_pool_used;
        size_t len;

        if ((ctl & 3) == 0) {
            len = take16(&in) % 2048;
            len = len < in.size - in.pos ? len : in.size - in.pos;
            memcpy(f, in.data + in.pos, len);
            in.pos += len;
        } else {
            len = build_seg(&in, ctl, f, (ctl & 4) ? prev : NULL, prev_len);
            prev = f;
            prev_len = len;
        }
        g_pool_used += len;
        g_in[g_in_n] = f;
        g_in_len[g_in_n] = len;
        g_in_n++;
        g_bytes_in += len;
        g_first_err = 0;
        rc = tcpgro_add(&g, f, len, out_fn, NULL);
        if (rc != g_first_err || g.len > g.cap) {
            abort();
        }
    }
    g_first_err = 0;
    rc = tcpgro_flush(&g, out_fn, NULL);
    if (rc != g_first_err || g.len != 0 || g_next != g_in_n ||
        g_bytes_out + g_hdr_merged != g_bytes_in) {
        abort();
    }
    return 0;
}
