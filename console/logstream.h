/* The debug-log stream: TCP readers get the log ring's backlog, then live lines
 * ("uptime comp level [vm] text\n"). Each reader follows the ring at its own pace; one that
 * falls a whole ring behind loses lines and gets "[N lines dropped]" instead. Nothing waits
 * for a reader. Also the optional RFC 5424 syslog over UDP (syslog=IP:PORT). */
#ifndef PETREL_CON_LOGSTREAM_H
#define PETREL_CON_LOGSTREAM_H

#include "../kernel/types.h"
#include "acl.h"
#include "../kernel/log.h"

#define LOGSTREAM_READERS 4
#define LOGSTREAM_BURST   256 /* records one reader takes per main-loop pass at most */
#define SYSLOG_BURST      32  /* datagrams per main-loop pass at most */

/* Reads one record of the kernel log ring (log_ring_read with interrupts off: the ring is
 * also written from interrupt context). */
int con_log_read(uint64_t *seq, struct log_record *rec, uint64_t *dropped);

/* Listens on `port`; connections from outside `allow` are refused. */
int con_logstream_start(uint16_t port, const struct acl *allow);
void con_logstream_poll(void);

struct con_logstream_info {
    char peer[24];
    uint64_t lines;
    uint64_t dropped;
    uint64_t behind; /* records in the ring it has not read */
};
size_t con_logstream_readers(struct con_logstream_info *out, size_t max);

/* Sends every log line (the ring's backlog first) to ip:port as RFC 5424 over UDP. */
int con_syslog_start(uint32_t ip, uint16_t port);
void con_syslog_poll(void);

struct con_syslog_stats {
    bool on;
    uint32_t ip;
    uint16_t port;
    uint64_t sent;
    uint64_t dropped; /* lines the ring overwrote before they were sent */
    uint64_t errors;
};
void con_syslog_get_stats(struct con_syslog_stats *out);

#endif
