/* The session output queue (see outq.h). */
#include "outq.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"

void outq_init(struct outq *q, uint8_t *buf, size_t cap)
{
    q->buf = buf;
    q->cap = cap;
    outq_reset(q);
}

void outq_reset(struct outq *q)
{
    q->head = 0;
    q->len = 0;
    q->dropped_bytes = 0;
    q->drop_events = 0;
    q->unreported = 0;
}

static size_t free_space(const struct outq *q)
{
    return q->cap - q->len;
}

size_t outq_room(const struct outq *q)
{
    size_t room = free_space(q);

    if (q->unreported > 0) {
        return room > OUTQ_MARKER_MAX ? room - OUTQ_MARKER_MAX : 0;
    }
    return room;
}

static void append(struct outq *q, const uint8_t *p, size_t len)
{
    size_t tail = (q->head + q->len) % q->cap;
    size_t first = MIN(len, q->cap - tail);

    memcpy(q->buf + tail, p, first);
    memcpy(q->buf, p + first, len - first);
    q->len += len;
}

void outq_flush_marker(struct outq *q)
{
    char marker[OUTQ_MARKER_MAX];
    int n;

    if (q->unreported == 0 || free_space(q) < OUTQ_MARKER_MAX) {
        return;
    }
    n = fmt_snprintf(marker, sizeof(marker), "\r\n[console: %llu bytes of output dropped]\r\n",
                     (unsigned long long)q->unreported);
    append(q, (const uint8_t *)marker, (size_t)MIN(n, OUTQ_MARKER_MAX - 1));
    q->unreported = 0;
}

int outq_put(struct outq *q, const void *data, size_t len)
{
    if (len > outq_room(q)) {
        q->dropped_bytes += len;
        q->unreported += len;
        q->drop_events++;
        return -ENOSPC;
    }
    outq_flush_marker(q);
    if (len > 0) {
        append(q, data, len);
    }
    return 0;
}

size_t outq_peek(const struct outq *q, const uint8_t **data)
{
    *data = q->buf + q->head;
    return MIN(q->len, q->cap - q->head);
}

void outq_consume(struct outq *q, size_t n)
{
    n = MIN(n, q->len);
    q->head = (q->head + n) % q->cap;
    q->len -= n;
    if (q->len == 0) {
        q->head = 0; /* keeps the next peek contiguous for longer */
    }
}

size_t outq_len(const struct outq *q)
{
    return q->len;
}
