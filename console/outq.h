/* A session's bounded output queue: a byte ring that never blocks its writer.
 *
 * A write that does not fit is dropped whole (so a telnet command or an escaped byte is never
 * cut in half) and counted; once there is room again, a visible marker saying how much was
 * lost goes out before the next write. Pure (runs hosted). */
#ifndef PETREL_CON_OUTQ_H
#define PETREL_CON_OUTQ_H

#include "../kernel/types.h"

/* Room kept for the marker "\r\n[console: N bytes of output dropped]\r\n". */
#define OUTQ_MARKER_MAX 64

struct outq {
    uint8_t *buf;
    size_t cap;
    size_t head; /* oldest byte */
    size_t len;
    uint64_t dropped_bytes; /* all time */
    uint64_t drop_events;   /* writes dropped, all time */
    uint64_t unreported;    /* bytes dropped since the last marker */
};

void outq_init(struct outq *q, uint8_t *buf, size_t cap);
void outq_reset(struct outq *q);
/* Free space for a write (the marker's room is kept back while a drop is unreported). */
size_t outq_room(const struct outq *q);
/* Appends all of data, or nothing: returns 0 or -ENOSPC (the bytes are counted as dropped). */
int outq_put(struct outq *q, const void *data, size_t len);
/* Emits the pending drop marker now if there is room (the transport calls it when the
 * client drains the queue, so the marker shows even when nothing else is written). */
void outq_flush_marker(struct outq *q);
/* The oldest queued bytes as one contiguous run: returns its length (0 when empty). */
size_t outq_peek(const struct outq *q, const uint8_t **data);
void outq_consume(struct outq *q, size_t n);
size_t outq_len(const struct outq *q);

#endif
