/* Petrel's iperf 2 endpoint on lwIP's raw TCP API: a server on NET_IPERF_PORT (plain, -r, -d
 * tests of iperf 2.0 and 2.1 clients) and a client for the console. The protocol decoding is
 * in iperf_proto.c. */
#ifndef PETREL_IPERF_H
#define PETREL_IPERF_H

#include "../kernel/types.h"

/* Tests (server or client) that may run at once; one more is refused with a RST and a log
 * line. A -d or -r test counts once for both of its connections. */
#define IPERF_MAX_SESSIONS 4

/* Listens on TCP NET_IPERF_PORT; also binds UDP NET_IPERF_PORT only to say in the log that
 * UDP tests are not served. Call once lwIP is up. Returns 0, -EBUSY when already started,
 * -ENOMEM when lwIP has no PCB or -EIO when the port cannot be bound (net_tcp_listen). */
int net_iperf_start(void);

/* Sends iperf's pattern for `ms` milliseconds to an iperf 2 server at ip:port (host byte
 * order), without a header (like `iperf -c -C`): any `iperf -s` counts it. The result is one
 * log line. Returns 0, -EBUSY when IPERF_MAX_SESSIONS tests run, -ENOMEM when lwIP is out of
 * PCBs, or -EIO when lwIP refuses the connect. */
int net_iperf_connect(uint32_t ip, uint16_t port, uint32_t ms);

#endif
