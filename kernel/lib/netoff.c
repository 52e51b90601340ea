/* Offload metadata checks and the software fallback for receivers without offloads (netoff.h). */
#include "netoff.h"
#include "netcsum.h"
#include "tcpseg.h"
#include "../errno.h"
#include "../lib.h"

_Static_assert(NETOFF_FRAME_MAX == TCPSEG_FRAME_MAX, "super-frame limits differ");

bool netoff_active(const struct netoff *off)
{
    return off != NULL && (off->gso != NETOFF_GSO_NONE || off->csum == NETOFF_CSUM_PARTIAL);
}

static int netoff_bad(const char **why, const char *what, int rc)
{
    *why = what;
    return rc;
}

int netoff_check(const uint8_t *frame, size_t len, const struct netoff *off, size_t plain_max,
                 size_t seg_max, const char **why)
{
    struct tcpseg sg;

    *why = NULL;
    if (off == NULL || off->gso == NETOFF_GSO_NONE) {
        if (len > plain_max) {
            return netoff_bad(why, "frame longer than the MTU allows", -EMSGSIZE);
        }
    }
    if (off == NULL) {
        return 0;
    }
    if (off->csum > NETOFF_CSUM_VALID) {
        return netoff_bad(why, "unknown checksum state", -EINVAL);
    }
    if (off->csum == NETOFF_CSUM_PARTIAL &&
        ((size_t)off->csum_start + off->csum_off + 2 > len || len < 14)) {
        return netoff_bad(why, "checksum field outside the frame", -EINVAL);
    }
    if (off->gso == NETOFF_GSO_NONE) {
        return 0;
    }
    if (off->gso != NETOFF_GSO_TCPV4) {
        return netoff_bad(why, "unknown segmentation type", -EINVAL);
    }
    if (tcpseg_prepare(frame, len, off->gso_size, seg_max, &sg, why) < 0) {
        return -EINVAL;
    }
    /* Segments get their checksums computed afresh; a receiver that takes the super-frame
     * finishes the one the sender left partial, so it must be the TCP checksum. */
    if (off->csum != NETOFF_CSUM_PARTIAL || off->csum_start != sg.l2 + sg.ihl ||
        off->csum_off != 16) {
        return netoff_bad(why, "GSO without the partial TCP checksum", -EINVAL);
    }
    return 0;
}

size_t netoff_gso_hlen(const uint8_t *frame, const struct netoff *off)
{
    return (size_t)off->csum_start + (size_t)(frame[off->csum_start + 12] >> 4) * 4;
}

/* What of off this receiver may hear: NULL when nothing. */
static const struct netoff *netoff_for(const struct netoff *off, unsigned caps)
{
    if (off == NULL) {
        return NULL;
    }
    if (off->csum == NETOFF_CSUM_VALID && off->gso == NETOFF_GSO_NONE) {
        return (caps & NETOFF_CAP_VALID) ? off : NULL;
    }
    return off;
}

int netoff_emit(const uint8_t *frame, size_t len, const struct netoff *off, unsigned caps,
                uint8_t *scratch, size_t scratch_len, netoff_emit_fn fn, void *ctx)
{
    struct tcpseg sg;
    const char *why = NULL;
    int rc;

    if (!netoff_active(off) || (off->gso == NETOFF_GSO_TCPV4 && (caps & NETOFF_CAP_TSO4)) ||
        (off->gso == NETOFF_GSO_NONE && (caps & NETOFF_CAP_CSUM))) {
        rc = fn(ctx, frame, len, netoff_for(off, caps));
        return rc < 0 ? rc : 1;
    }
    if (off->gso == NETOFF_GSO_NONE) {
        /* Only the checksum is missing: complete it in a copy (the frame is the sender's). */
        if (len > scratch_len) {
            return -EMSGSIZE;
        }
        memcpy(scratch, frame, len);
        if (netcsum_fill(scratch, len, off->csum_start, off->csum_off) < 0) {
            return -EINVAL;
        }
        rc = fn(ctx, scratch, len, NULL);
        return rc < 0 ? rc : 1;
    }
    if (tcpseg_prepare(frame, len, off->gso_size, scratch_len, &sg, &why) < 0) {
        return -EMSGSIZE; /* checked at entry: only the scratch can be too small */
    }
    for (unsigned i = 0; i < sg.count; i++) {
        rc = fn(ctx, scratch, tcpseg_build(&sg, frame, i, scratch), NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return (int)sg.count;
}
