/* A TCP listener on every IPv4 address of the appliance: the bind, listen and accept steps
 * each TCP service takes (console, VM console ports, log stream, capture, iperf), with one
 * error path. */
#ifndef PETREL_NET_TCP_LISTEN_H
#define PETREL_NET_TCP_LISTEN_H

#include "lwip/tcp.h"

/* Listens on TCP `port` with `backlog` pending connections; accept(arg, ...) gets each new
 * one. lwIP counts a connection as pending from its SYN until the handshake completes and
 * drops further SYNs silently: the client retries only after its retransmission timeout
 * (seconds, then doubling), so a service's backlog covers a burst of as many clients as it
 * serves, plus one that is told it is full. `what` names the service in the error line.
 * Returns 0 with the listening pcb in *out (out may be NULL), -ENOMEM when lwIP has no pcb, or
 * -EIO when the port cannot be bound or listened on (logged). */
int net_tcp_listen(uint16_t port, u8_t backlog, tcp_accept_fn accept, void *arg, const char *what,
                   struct tcp_pcb **out);

#endif
