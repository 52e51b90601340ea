/* A one-way TCP stream to a reader (the log stream, the capture stream): the appliance only
 * sends; what the reader sends is taken and dropped. The reader's close and lwIP's errors
 * only mark the stream closing; the owner ends it from the main loop (con_ostream_close). */
#ifndef PETREL_CON_OSTREAM_H
#define PETREL_CON_OSTREAM_H

#include "../kernel/types.h"
#include "acl.h"

struct tcp_pcb;

struct con_ostream {
    struct tcp_pcb *pcb; /* NULL once lwIP dropped the connection or it was closed */
    bool closing;        /* the reader closed, a write failed or the connection was lost */
    bool lost;           /* lwIP dropped the connection (reset, timeout): nothing to close */
    char peer[24];       /* "a.b.c.d:port" */
};

/* Whether an accepted connection's peer is in `allow`; if not, logs "<what>: connection
 * from ADDR refused: not in console.allow" and the caller refuses it. The peer's address is
 * put in `addr` (NETADDR_STR_MAX bytes) for the caller's own messages. */
bool con_ostream_allowed(const struct tcp_pcb *pcb, const struct acl *allow, const char *what,
                         char *addr);
/* Starts the stream on an accepted connection (callbacks, keepalive, peer). */
void con_ostream_open(struct con_ostream *s, struct tcp_pcb *pcb);
/* Puts up to `len` bytes into lwIP's send buffer; returns how many went (0 when it is full or
 * the stream is closing; a failed write marks it closing). */
size_t con_ostream_write(struct con_ostream *s, const void *buf, size_t len);
/* Sends what the writes queued. */
void con_ostream_flush(struct con_ostream *s);
/* Ends the stream: the connection is closed (or aborted) unless lwIP already dropped it.
 * Returns why, for the owner's log line. */
const char *con_ostream_close(struct con_ostream *s);

#endif
