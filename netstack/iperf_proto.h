/* The iperf 2 TCP test header: what a client asks of the server in the first bytes of its
 * connection. Pure (no lwIP; runs hosted for the unit tests and the fuzzer). */
#ifndef PETREL_IPERF_PROTO_H
#define PETREL_IPERF_PROTO_H

#include "../kernel/types.h"

/* Wire format (all fields big-endian 32-bit words unless said otherwise):
 *   0  flags       which parts follow and what the server must do (IPERF_FLAG_*)
 *   4  numThreads  the client's -P
 *   8  port        where the server connects back for -r/-d (the client's -L)
 *  12  bufferlen   the client's -l (0: default)
 *  16  winband     window or UDP rate
 *  20  amount      the client's -n in bytes when positive, its -t in 1/100 s when negative
 * iperf 2.0 stops here (24 bytes) and sends the header only for -r/-d. iperf 2.1 always sends
 * one, sets IPERF_FLAG_EXTEND and follows with:
 *  24  type, 28 length (zero over TCP), 32 upper flags (16 bit), 34 lower flags (16 bit),
 *  36  version, then rates and more options, up to the length announced in the flags
 *      (IPERF_FLAG_LEN_BIT set: bytes = (flags & IPERF_FLAG_LEN_MASK) >> 1; 60 for a TCP test).
 * iperf 2.1 writes the header alone first, then repeats it at the start of every write buffer:
 * a server that only counts bytes needs the first copy and nothing else. A connection whose
 * first word has neither VERSION1 nor EXTEND carries no header (iperf -C, or any data). */
#define IPERF_HDR_FLAGS_LEN 4
#define IPERF_HDR_V1_LEN    24  /* the 2.0 header */
#define IPERF_HDR_EXT_LEN   36  /* the 2.0 header plus type, length and the 16-bit flag pair */
#define IPERF_HDR_MAX_LEN   255 /* longest length the flags can announce */

#define IPERF_FLAG_VERSION1   0x80000000u /* the server must connect back (-r, -d) */
#define IPERF_FLAG_EXTEND     0x40000000u /* the 2.1 extension follows the 2.0 header */
#define IPERF_FLAG_UDPTESTS   0x20000000u
#define IPERF_FLAG_KEYCHECK   0x10000000u /* a --permit-key follows the header */
#define IPERF_FLAG_SEQNO64B   0x08000000u
#define IPERF_FLAG_VERSION2   0x04000000u /* the client waits for the server's reply header */
#define IPERF_FLAG_PEERDETECT 0x02000000u /* -X */
#define IPERF_FLAG_BOUNCEBACK 0x00800000u /* --bounceback */
#define IPERF_FLAG_LEN_BIT    0x00010000u /* the header length is in IPERF_FLAG_LEN_MASK */
#define IPERF_FLAG_LEN_MASK   0x000001feu
#define IPERF_FLAG_RUN_NOW    0x00000001u /* with VERSION1: -d (at once), else -r (afterwards) */

#define IPERF_UPPER_REVERSE    0x0400u /* -R: the server sends on the client's connection */
#define IPERF_UPPER_FULLDUPLEX 0x0800u /* --full-duplex: both ways on the one connection */

#define IPERF_DEFAULT_MS 10000u   /* iperf's default -t when the header gives no amount */
#define IPERF_MAX_MS     3600000u /* longest connect-back run served (1 hour) */

enum iperf_mode {
    IPERF_MODE_PLAIN,    /* receive and count */
    IPERF_MODE_TRADEOFF, /* -r: after the client's run, connect back and send */
    IPERF_MODE_DUAL,     /* -d: connect back at once and send while receiving */
};

/* How long the server's own stream (the connect-back of -r/-d) runs. */
struct iperf_amount {
    bool by_time;   /* true: for `ms` milliseconds; false: `bytes` bytes */
    bool capped;    /* the client asked for more than IPERF_MAX_MS */
    uint32_t ms;    /* by_time: 1..IPERF_MAX_MS */
    uint64_t bytes; /* !by_time: 1..INT32_MAX */
};

struct iperf_request {
    bool has_header; /* false: no header, a plain test (the fields below are zero) */
    bool extended;   /* the 2.1 extension is present */
    uint32_t flags;  /* the first word */
    uint16_t upper;  /* the extension's 16-bit flag pair (zero without it) */
    uint16_t lower;
    uint32_t header_len; /* the announced length (2.1), else 24 or 36 */
    int32_t threads;     /* numThreads as sent (informational) */
    uint16_t port;       /* connect-back port (-L); valid for -r/-d */
    int32_t amount;      /* as sent */
    enum iperf_mode mode;
    struct iperf_amount back; /* what to send back for -r/-d */
};

/* How many bytes from the start of the connection iperf_parse_request needs, given the `have`
 * bytes seen so far: IPERF_HDR_FLAGS_LEN until the flags are in, then 0 (no header),
 * IPERF_HDR_V1_LEN or IPERF_HDR_EXT_LEN. Never more than IPERF_HDR_EXT_LEN, so a fixed buffer
 * of that size holds everything the server reads. */
size_t iperf_hdr_need(const uint8_t *buf, size_t have);

/* Decodes the header in buf[0..len) (at least iperf_hdr_need bytes). Returns 0 with *req filled
 * for a test this server runs (plain, -r, -d); -ENOTSUP for one it does not (UDP, -R,
 * --full-duplex, -X, --bounceback and other tests whose client waits for a reply); -EINVAL for
 * a malformed header (bad length or connect-back port); -ENODATA when len is too short. *why
 * (never NULL after an error) says what, for the log. *req is filled as far as it was read. */
int iperf_parse_request(const uint8_t *buf, size_t len, struct iperf_request *req,
                        const char **why);

/* What the amount field means for the server's own stream: time (negative, 1/100 s), bytes
 * (positive) or iperf's default of 10 s (zero). Times are capped at IPERF_MAX_MS. */
void iperf_amount_decode(int32_t amount, struct iperf_amount *out);

/* "plain", "-r" or "-d", for the log. */
const char *iperf_mode_name(enum iperf_mode mode);

/* Throughput in kbit/s (1000 bits) of `bytes` in `ms` milliseconds; 0 when ms is 0; saturates
 * at UINT32_MAX. */
uint32_t iperf_kbit_s(uint64_t bytes, uint32_t ms);

/* Fills buf[0..len) with iperf's payload pattern "0123456789..." as it continues at byte
 * `offset` of a stream (real servers send the same, and an iperf client's listener reads the
 * first word as flags without VERSION1/EXTEND: no header). */
void iperf_pattern_fill(uint8_t *buf, size_t len, uint64_t offset);

#endif
