/* Shell commands about the appliance's own network: ifconfig, arp, netstat (lwIP's PCBs and
 * memory). ping lives in cmd_ping.c. */
#include "cmds.h"
#include "shell.h"
#include "table.h"

#include "lwip/etharp.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/udp.h"

#include "../drivers/nic.h"
#include "../kernel/lib.h"
#include "../netstack/net.h"
#include "../netstack/netaddr.h"
#include "../netstack/netif.h"

static struct table g_table;

static const char *const g_memp_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) desc,
#include "lwip/priv/memp_std.h"
};

static void fmt_mac(const uint8_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_ip(uint32_t ip, char *buf, size_t len)
{
    netaddr_format(ip, buf, len);
}

static unsigned prefix_len(uint32_t mask)
{
    unsigned n = 0;

    while (n < 32 && (mask & (0x80000000u >> n)) != 0) {
        n++;
    }
    return n;
}

static void counter_row(const char *name, unsigned long long rx, unsigned long long tx)
{
    table_row(&g_table);
    table_set(&g_table, 0, "%s", name);
    table_set(&g_table, 1, "%llu", rx);
    table_set(&g_table, 2, "%llu", tx);
}

static int cmd_ifconfig(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"COUNTER", "RX", "TX"};
    struct net_info ni;
    const struct nic *nic = nic_primary();
    char mac[24];
    char ip[NETADDR_STR_MAX];
    char gw[NETADDR_STR_MAX];

    (void)argv;
    if (argc != 1) {
        shell_puts(sh, "error: ifconfig takes no arguments\n");
        return -EINVAL;
    }
    if (net_get_info(&ni) != 0) {
        shell_puts(sh, "error: the network stack is not running\n");
        return -ENODEV;
    }
    fmt_mac(ni.mac, mac, sizeof(mac));
    shell_printf(sh, "interface  %s%s%s%s\n", ni.link_name, nic != NULL ? " (" : "",
                 nic != NULL ? nic->model : "", nic != NULL ? ")" : "");
    shell_printf(sh, "link       %s, mtu %u, mac %s\n", ni.link_up ? "up" : "down", ni.mtu, mac);
    if (ni.bound) {
        fmt_ip(ni.ip, ip, sizeof(ip));
        if (ni.gw != 0) {
            fmt_ip(ni.gw, gw, sizeof(gw));
        } else {
            str_copy(gw, "none", sizeof(gw));
        }
        shell_printf(sh, "address    %s/%u (%s), gateway %s\n", ip, prefix_len(ni.netmask),
                     ni.dhcp ? "dhcp" : "static", gw);
    } else {
        shell_printf(sh, "address    none yet (%s)\n", ni.dhcp ? "waiting for DHCP" : "static");
    }
    table_init(&g_table, 3, hdr);
    table_align_right(&g_table, 1);
    table_align_right(&g_table, 2);
    if (nic != NULL) {
        const struct nic_stats *s = &nic->stats;

        counter_row("nic frames", s->rx_packets, s->tx_packets);
        counter_row("nic bytes", s->rx_bytes, s->tx_bytes);
        counter_row("nic dropped", s->rx_dropped, s->tx_dropped);
        counter_row("nic errors", s->rx_errors, s->tx_errors);
        counter_row("nic crc errors", s->rx_crc_errors, 0);
        counter_row("nic overruns", s->rx_fifo_overruns, 0);
    }
    if (ni.netif_stats != NULL) {
        const struct net_netif_stats *s = ni.netif_stats;

        counter_row("stack frames", s->rx_frames, s->tx_frames);
        counter_row("stack bytes", s->rx_bytes, s->tx_bytes);
        counter_row("stack dropped", s->rx_nomem + s->rx_bad_len, s->tx_dropped);
    }
    if (ni.lwip_stats != NULL) {
        const struct stats_ *l = ni.lwip_stats;

        counter_row("ip packets", l->ip.recv, l->ip.xmit);
        counter_row("ip dropped", l->ip.drop, 0);
        counter_row("tcp segments", l->tcp.recv, l->tcp.xmit);
        counter_row("udp datagrams", l->udp.recv, l->udp.xmit);
        counter_row("icmp messages", l->icmp.recv, l->icmp.xmit);
    }
    shell_puts(sh, "\n");
    table_print_shell(&g_table, sh);
    if (ni.txq_len > 0) {
        shell_printf(sh, "%u frames waiting for the link\n", ni.txq_len);
    }
    return 0;
}

static int cmd_arp(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"ADDRESS", "MAC", "INTERFACE"};
    size_t n = 0;

    (void)argv;
    if (argc != 1) {
        shell_puts(sh, "error: arp takes no arguments\n");
        return -EINVAL;
    }
    table_init(&g_table, 3, hdr);
    for (size_t i = 0; i < ARP_TABLE_SIZE; i++) {
        ip4_addr_t *ip;
        struct netif *nif;
        struct eth_addr *eth;
        char a[NETADDR_STR_MAX];
        char m[24];

        if (etharp_get_entry(i, &ip, &nif, &eth) != 1) {
            continue;
        }
        fmt_ip(lwip_ntohl(ip4_addr_get_u32(ip)), a, sizeof(a));
        fmt_mac(eth->addr, m, sizeof(m));
        table_row(&g_table);
        table_set(&g_table, 0, "%s", a);
        table_set(&g_table, 1, "%s", m);
        table_set(&g_table, 2, "%c%c%u", nif->name[0], nif->name[1], nif->num);
        n++;
    }
    if (n == 0) {
        shell_puts(sh, "no ARP entries\n");
        return 0;
    }
    table_print_shell(&g_table, sh);
    return 0;
}

static const char *tcp_state_name(enum tcp_state s)
{
    static const char *const names[] = {"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RCVD",
                                        "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                        "CLOSING",     "LAST_ACK",   "TIME_WAIT"};

    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

static void endpoint(const ip_addr_t *ip, u16_t port, char *buf, size_t len)
{
    char a[NETADDR_STR_MAX];

    fmt_ip(lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(ip))), a, sizeof(a));
    if (port == 0) {
        snprintf(buf, len, "%s:*", a);
    } else {
        snprintf(buf, len, "%s:%u", a, port);
    }
}

static void pcb_row(const char *proto, const ip_addr_t *lip, u16_t lport, const ip_addr_t *rip,
                    u16_t rport, const char *state, unsigned sendq)
{
    char l[24];
    char r[24];

    endpoint(lip, lport, l, sizeof(l));
    endpoint(rip, rport, r, sizeof(r));
    table_row(&g_table);
    table_set(&g_table, 0, "%s", proto);
    table_set(&g_table, 1, "%s", l);
    table_set(&g_table, 2, "%s", r);
    table_set(&g_table, 3, "%s", state);
    table_set(&g_table, 4, "%u", sendq);
}

static int cmd_netstat(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"PROTO", "LOCAL", "REMOTE", "STATE", "SEND-Q"};
    static const char *const mhdr[] = {"LWIP POOL", "USED", "MAX", "AVAIL", "ERRORS"};

    (void)argv;
    if (argc != 1) {
        shell_puts(sh, "error: netstat takes no arguments\n");
        return -EINVAL;
    }
    table_init(&g_table, 5, hdr);
    table_align_right(&g_table, 4);
    for (struct tcp_pcb_listen *p = tcp_listen_pcbs.listen_pcbs; p != NULL; p = p->next) {
        pcb_row("tcp", &p->local_ip, p->local_port, IP4_ADDR_ANY, 0, "LISTEN", 0);
    }
    for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next) {
        pcb_row("tcp", &p->local_ip, p->local_port, &p->remote_ip, p->remote_port,
                tcp_state_name(p->state), (unsigned)(TCP_SND_BUF - p->snd_buf));
    }
    for (struct tcp_pcb *p = tcp_tw_pcbs; p != NULL; p = p->next) {
        pcb_row("tcp", &p->local_ip, p->local_port, &p->remote_ip, p->remote_port, "TIME_WAIT", 0);
    }
    for (struct udp_pcb *p = udp_pcbs; p != NULL; p = p->next) {
        pcb_row("udp", &p->local_ip, p->local_port, &p->remote_ip, p->remote_port, "", 0);
    }
    table_print_shell(&g_table, sh);

    shell_puts(sh, "\n");
    table_init(&g_table, 5, mhdr);
    for (size_t c = 1; c < 5; c++) {
        table_align_right(&g_table, c);
    }
    table_row(&g_table);
    table_set(&g_table, 0, "heap (bytes)");
    table_set(&g_table, 1, "%llu", (unsigned long long)lwip_stats.mem.used);
    table_set(&g_table, 2, "%llu", (unsigned long long)lwip_stats.mem.max);
    table_set(&g_table, 3, "%llu", (unsigned long long)lwip_stats.mem.avail);
    table_set(&g_table, 4, "%llu", (unsigned long long)lwip_stats.mem.err);
    for (size_t i = 0; i < MEMP_MAX && i < ARRAY_SIZE(g_memp_names); i++) {
        const struct stats_mem *m = lwip_stats.memp[i];

        if (m == NULL) {
            continue;
        }
        table_row(&g_table);
        table_set(&g_table, 0, "%s", g_memp_names[i]);
        table_set(&g_table, 1, "%llu", (unsigned long long)m->used);
        table_set(&g_table, 2, "%llu", (unsigned long long)m->max);
        table_set(&g_table, 3, "%llu", (unsigned long long)m->avail);
        table_set(&g_table, 4, "%llu", (unsigned long long)m->err);
    }
    table_print_shell(&g_table, sh);
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"ifconfig", "", "the appliance's address, MAC and traffic counters", cmd_ifconfig, SHELL_RO,
     NULL},
    {"arp", "", "the ARP cache", cmd_arp, 0, NULL},
    {"netstat", "", "TCP and UDP endpoints, lwIP memory pools", cmd_netstat, 0, NULL},
};

int con_cmds_net_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
