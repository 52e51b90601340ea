/* The iperf 2 TCP test header: decoding what a client asks for (see iperf_proto.h for the wire
 * format). Pure: no lwIP, runs hosted. */
#include "iperf_proto.h"
#include "../kernel/lib.h"

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static bool has_header(uint32_t flags)
{
    return (flags & (IPERF_FLAG_VERSION1 | IPERF_FLAG_EXTEND)) != 0;
}

size_t iperf_hdr_need(const uint8_t *buf, size_t have)
{
    uint32_t flags;

    if (buf == NULL || have < IPERF_HDR_FLAGS_LEN) {
        return IPERF_HDR_FLAGS_LEN;
    }
    flags = be32(buf);
    if (!has_header(flags)) {
        return 0;
    }
    return (flags & IPERF_FLAG_EXTEND) ? IPERF_HDR_EXT_LEN : IPERF_HDR_V1_LEN;
}

void iperf_amount_decode(int32_t amount, struct iperf_amount *out)
{
    uint64_t ms;

    memset(out, 0, sizeof(*out));
    if (amount > 0) {
        out->bytes = (uint64_t)amount;
        return;
    }
    out->by_time = true;
    if (amount == 0) {
        out->ms = IPERF_DEFAULT_MS;
        return;
    }
    /* In 64 bits: -INT32_MIN does not fit in an int32_t. */
    ms = (uint64_t)(-(int64_t)amount) * 10u;

    if (ms > IPERF_MAX_MS) {
        ms = IPERF_MAX_MS;
        out->capped = true;
    }
    out->ms = (uint32_t)ms;
}

/* Refuses the tests whose client waits for something this server never sends. */
static int check_supported(const struct iperf_request *req, const char **why)
{
    uint32_t f = req->flags;

    if (f & IPERF_FLAG_UDPTESTS) {
        *why = "UDP test header on a TCP connection";
        return -ENOTSUP;
    }
    if (f & IPERF_FLAG_BOUNCEBACK) {
        *why = "--bounceback is not served";
        return -ENOTSUP;
    }
    if (req->upper & IPERF_UPPER_REVERSE) {
        *why = "-R (reverse on the same connection) is not served; use -r or -d";
        return -ENOTSUP;
    }
    if (req->upper & IPERF_UPPER_FULLDUPLEX) {
        *why = "--full-duplex is not served; use -d";
        return -ENOTSUP;
    }
    if (f & IPERF_FLAG_PEERDETECT) {
        *why = "-X (peer detect) is not served";
        return -ENOTSUP;
    }
    if (f & IPERF_FLAG_VERSION2) {
        *why = "the client waits for a server reply header, which is not sent";
        return -ENOTSUP;
    }
    return 0;
}

int iperf_parse_request(const uint8_t *buf, size_t len, struct iperf_request *req, const char **why)
{
    static const char *unused;
    size_t need;
    int32_t port;
    int rc;

    if (why == NULL) {
        why = &unused;
    }
    *why = "";
    if (req == NULL) {
        *why = "no request";
        return -EINVAL;
    }
    memset(req, 0, sizeof(*req));
    need = iperf_hdr_need(buf, len);
    if (buf == NULL || len < need || len < IPERF_HDR_FLAGS_LEN) {
        *why = "header incomplete";
        return -ENODATA;
    }
    req->flags = be32(buf);
    if (need == 0) {
        return 0; /* no header: plain */
    }
    req->has_header = true;
    req->threads = (int32_t)be32(buf + 4);
    port = (int32_t)be32(buf + 8);
    req->amount = (int32_t)be32(buf + 20);
    req->header_len = IPERF_HDR_V1_LEN;
    if (req->flags & IPERF_FLAG_EXTEND) {
        req->extended = true;
        req->upper = be16(buf + 32);
        req->lower = be16(buf + 34);
        req->header_len = IPERF_HDR_EXT_LEN;
        if (req->flags & IPERF_FLAG_LEN_BIT) {
            req->header_len = (req->flags & IPERF_FLAG_LEN_MASK) >> 1;
            if (req->header_len < IPERF_HDR_EXT_LEN) {
                /* The 16-bit flags just read would be payload: refuse rather than guess. */
                *why = "announced header length shorter than the 2.1 extension";
                return -EINVAL;
            }
        }
    }
    iperf_amount_decode(req->amount, &req->back);
    if (req->flags & IPERF_FLAG_VERSION1) {
        req->mode = (req->flags & IPERF_FLAG_RUN_NOW) ? IPERF_MODE_DUAL : IPERF_MODE_TRADEOFF;
    }
    rc = check_supported(req, why);
    if (rc != 0) {
        return rc;
    }
    if (req->mode != IPERF_MODE_PLAIN) {
        if (port <= 0 || port > 65535) {
            *why = "connect-back port out of range";
            return -EINVAL;
        }
        req->port = (uint16_t)port;
    }
    return 0;
}

const char *iperf_mode_name(enum iperf_mode mode)
{
    switch (mode) {
    case IPERF_MODE_PLAIN:
        return "plain";
    case IPERF_MODE_TRADEOFF:
        return "-r";
    case IPERF_MODE_DUAL:
        return "-d";
    }
    return "?";
}

uint32_t iperf_kbit_s(uint64_t bytes, uint32_t ms)
{
    uint64_t kbit;

    if (ms == 0) {
        return 0;
    }
    /* bytes * 8 / ms is bits per millisecond = kbit/s; divide first when the product would
     * overflow (only for absurd byte counts). */
    if (bytes > UINT64_MAX / 8) {
        kbit = bytes / ms * 8;
    } else {
        kbit = bytes * 8 / ms;
    }
    return kbit > UINT32_MAX ? UINT32_MAX : (uint32_t)kbit;
}

void iperf_pattern_fill(uint8_t *buf, size_t len, uint64_t offset)
{
    unsigned digit = (unsigned)(offset % 10);

    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)('0' + digit);
        digit = digit == 9 ? 0 : digit + 1;
    }
}
