/* libFuzzer target: the iperf 2 header decoder (netstack/iperf_proto.c) on any bytes, fed the
 * way the server feeds it: growing prefixes until iperf_hdr_need is met. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../netstack/iperf_proto.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    uint8_t hdr[IPERF_HDR_EXT_LEN];
    struct iperf_request req;
    struct iperf_amount amount;
    const char *why = NULL;
    size_t have = 0;
    int rc;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size); /* exactly sized: ASan sees any read past the end */

    /* As the server does: collect what the parser asks for, never more than its buffer. */
    for (int round = 0; round < 3; round++) {
        size_t need = iperf_hdr_need(buf, have);

        if (need > sizeof(hdr)) {
            abort();
        }
        if (need <= have || need > size) {
            break;
        }
        have = need;
    }
    if (have > 0) {
        memcpy(hdr, buf, have);
    }
    rc = iperf_parse_request(have > 0 ? hdr : NULL, have, &req, &why);
    if (rc != 0 && rc != -ENOTSUP && rc != -EINVAL && rc != -ENODATA) {
        abort();
    }
    if (why == NULL || (rc != 0 && why[0] == '\0')) {
        abort(); /* every refusal says why */
    }
    if (rc == 0) {
        if (req.mode != IPERF_MODE_PLAIN && req.port == 0) {
            abort(); /* a connect-back always has a port */
        }
        if (req.mode != IPERF_MODE_PLAIN && !req.has_header) {
            abort();
        }
        if (req.back.by_time ? (req.back.ms == 0 || req.back.ms > IPERF_MAX_MS)
                             : (req.back.bytes == 0 || req.back.bytes > INT32_MAX)) {
            if (req.has_header) {
                abort();
            }
        }
        (void)iperf_mode_name(req.mode);
    }
    /* The whole input, too (more than the server would pass). */
    (void)iperf_parse_request(buf, size, &req, &why);

    if (size >= 4) {
        int32_t a;

        memcpy(&a, buf, sizeof(a));
        iperf_amount_decode(a, &amount);
        if (amount.by_time && (amount.ms == 0 || amount.ms > IPERF_MAX_MS)) {
            abort();
        }
        (void)iperf_kbit_s((uint64_t)a * 977u, (uint32_t)a);
        iperf_pattern_fill(buf, size, (uint64_t)(uint32_t)a);
        for (size_t i = 0; i < size; i++) {
            if (buf[i] < '0' || buf[i] > '9') {
                abort();
            }
        }
    }
    free(buf);
    return 0;
}
