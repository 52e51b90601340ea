/* RFC 5424 syslog over UDP to one collector (see logstream.h). Sent from the main loop, a
 * bounded burst per pass, following the log ring like a log stream reader; the ring's
 * backlog goes first, so the boot messages reach the collector too. */
#include "cmds.h"
#include "logfmt.h"
#include "logstream.h"

#include "lwip/etharp.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../netstack/net.h"
#include "../netstack/netaddr.h"

static struct udp_pcb *g_pcb;
static ip_addr_t g_dst;
static uint64_t g_seq;
static struct con_syslog_stats g_stats;
static uint64_t g_probe_until; /* while the next hop's MAC is unknown: one datagram a second */

#define ARP_PROBE_MS 1000

/* Whether the next hop towards the collector is in the ARP cache. Until it is, lwIP keeps
 * only a few packets per unresolved address (ARP_QUEUE_LEN) and drops the rest, so a burst
 * (the boot backlog) would mostly be lost. */
static bool next_hop_known(void)
{
    const ip4_addr_t *dst = ip_2_ip4(&g_dst);
    struct netif *nif = ip4_route(dst);
    const ip4_addr_t *hop;
    struct eth_addr *eth;
    const ip4_addr_t *found;

    if (nif == NULL) {
        return false;
    }
    hop =
        ip4_addr_netcmp(dst, netif_ip4_addr(nif), netif_ip4_netmask(nif)) ? dst : netif_ip4_gw(nif);
    return etharp_find_addr(nif, hop, &eth, &found) >= 0;
}

int con_syslog_start(uint32_t ip, uint16_t port)
{
    g_pcb = udp_new_ip_type(IPADDR_TYPE_V4);
    if (g_pcb == NULL) {
        return -ENOMEM;
    }
    ip_addr_set_ip4_u32_val(g_dst, lwip_htonl(ip));
    g_seq = log_ring_first_seq(log_global_ring());
    g_stats.on = true;
    g_stats.ip = ip;
    g_stats.port = port;
    return 0;
}

/* Sends one message; false when lwIP could not take it now (retried on a later pass). */
static bool send_text(const char *text, size_t len)
{
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    err_t err;

    if (p == NULL) {
        return false;
    }
    memcpy(p->payload, text, len);
    err = udp_sendto(g_pcb, p, &g_dst, g_stats.port);
    pbuf_free(p);
    if (err == ERR_MEM) {
        return false;
    }
    if (err != ERR_OK) {
        g_stats.errors++; /* no route or the like: this message is lost, go on */
    } else {
        g_stats.sent++;
    }
    return true;
}

void con_syslog_poll(void)
{
    struct net_info ni;
    char host[NETADDR_STR_MAX];
    char msg[LOGFMT_SYSLOG_MAX];
    int burst;

    if (g_pcb == NULL || net_get_info(&ni) != 0 || !ni.bound) {
        return; /* no address yet: the lines wait in the ring */
    }
    netaddr_format(ni.ip, host, sizeof(host));
    burst = SYSLOG_BURST;
    if (!next_hop_known()) {
        uint64_t now = con_now_ms();

        if (now < g_probe_until) {
            return;
        }
        g_probe_until = now + ARP_PROBE_MS;
        burst = 1; /* it waits in lwIP's ARP queue and goes out once the MAC is known */
    }
    for (int i = 0; i < burst; i++) {
        struct log_record rec;
        uint64_t seq = g_seq;
        uint64_t dropped = 0;
        size_t n;

        if (con_log_read(&seq, &rec, &dropped) != 0) {
            if (dropped > 0) {
                g_seq = seq;
                g_stats.dropped += dropped;
            }
            return;
        }
        if (dropped > 0) {
            /* Say what the collector missed, as a message of its own. */
            struct log_record note = rec;

            note.comp = LOG_COMP_CONSOLE;
            note.level = LOG_LVL_WARN;
            note.vm[0] = '\0';
            fmt_snprintf(note.text, sizeof(note.text), "[%llu lines dropped]",
                         (unsigned long long)dropped);
            n = logfmt_syslog(&note, host, msg, sizeof(msg));
            if (!send_text(msg, n)) {
                return;
            }
            g_stats.dropped += dropped;
        }
        n = logfmt_syslog(&rec, host, msg, sizeof(msg));
        if (!send_text(msg, n)) {
            g_seq = seq - 1; /* this record again next time */
            return;
        }
        g_seq = seq;
    }
}

void con_syslog_get_stats(struct con_syslog_stats *out)
{
    *out = g_stats;
}
