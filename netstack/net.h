/* The appliance's own network stack (lwIP): bring-up on a NIC and address configuration. */
#ifndef PETREL_NET_H
#define PETREL_NET_H

#include "../kernel/types.h"

struct nic;
struct stats_;          /* lwIP's counters (lwip/stats.h) */
struct net_netif_stats; /* the netif's own counters (netstack/netif.h) */

/* Address configuration from the command line: ip=dhcp (default, NULL or "") or
 * ip=A.B.C.D/PREFIX, and gw=A.B.C.D. */
struct net_boot_config {
    const char *ip;
    const char *gw;
};

/* Starts lwIP on `nic` and begins address configuration. Registers its own main-loop hook.
 * A bad ip= or gw= is reported and DHCP is used instead. Returns 0, -EBUSY if already started,
 * -EINVAL for NULL arguments or -EIO if lwIP refuses the interface. */
int net_init(struct nic *nic, const struct net_boot_config *cfg);

#define NET_IPERF_PORT      5001  /* iperf 2 server (netstack/iperf.c) */
#define NET_IPERF_CLIENT_MS 10000 /* length of a console client run */

/* Starts an iperf 2 client test towards ip:port (host byte order): sends iperf's pattern for
 * NET_IPERF_CLIENT_MS to an `iperf -s` there and logs the result ("iperf: sent N bytes ...").
 * This measures the appliance's send direction. Returns 0, -ENODEV when the stack has no address
 * yet, -EBUSY when IPERF_MAX_SESSIONS tests run, -ENOMEM when lwIP is out of PCBs, -EIO when
 * lwIP refuses the connect. */
int net_iperf_client(uint32_t ip, uint16_t port);

/* A snapshot for the console (ifconfig, netstat). Addresses are in host byte order. */
struct net_info {
    bool started; /* net_init succeeded */
    bool dhcp;    /* addresses come from DHCP */
    bool link_up; /* carrier */
    bool bound;   /* an address is configured and the interface is up */
    uint32_t ip;
    uint32_t netmask;
    uint32_t gw;
    uint8_t mac[6];
    uint16_t mtu;
    char link_name[16];
    unsigned txq_len; /* frames waiting for the link */
    const struct net_netif_stats *netif_stats;
    const struct stats_ *lwip_stats; /* &lwip_stats: link, etharp, ip, icmp, udp, tcp, mem, memp */
};

/* Fills *out (all zero but the flags when the stack is not started). Returns 0 or -ENODEV when
 * net_init has not run. */
int net_get_info(struct net_info *out);

#endif
