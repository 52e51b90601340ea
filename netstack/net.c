/* Network stack bring-up: lwIP on the host NIC, DHCP or static addresses, the main-loop hook,
 * the iperf server (netstack/iperf.c), and a snapshot of the state for the console. */
#include "net.h"
#include "iperf.h"
#include "link.h"
#include "netaddr.h"
#include "netif.h"

#include "lwip/dhcp.h"
#include "lwip/init.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"

#include "../drivers/nic.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/mainloop.h"

#define DHCP_WARN_MS 15000 /* say so when DHCP has not answered by then */

/* lwIP's TCP_WND (lwipopts.h): the receive window of every new PCB, set from the NIC in
 * net_init before any PCB exists. */
unsigned int net_tcp_wnd = NET_TCP_WND_MIN;

/* lwIP's own TCP sanity checks (init.c) are off because TCP_WND is a variable; the same rules
 * on the constants, checked here. */
_Static_assert(NET_TCP_WND_MIN >= TCP_MSS, "the window must hold a segment");
_Static_assert(NET_TCP_WND_MAX <= 0xFFFF, "without window scaling the window is 16 bits");
_Static_assert(NET_TCP_WND_MAX <= PBUF_POOL_SIZE * (PBUF_POOL_BUFSIZE -
                                                    (PBUF_LINK_ENCAPSULATION_HLEN + PBUF_LINK_HLEN +
                                                     PBUF_IP_HLEN + PBUF_TRANSPORT_HLEN)),
               "the pbuf pool must hold a whole window");
_Static_assert(TCP_SND_BUF >= 2 * TCP_MSS, "lwIP wants at least two segments of send buffer");
_Static_assert(TCP_SND_QUEUELEN >= 2 * (TCP_SND_BUF / TCP_MSS), "send queue too short");
_Static_assert(MEMP_NUM_TCP_SEG >= TCP_SND_QUEUELEN, "segment pool smaller than one send queue");
_Static_assert(TCP_SNDLOWAT < TCP_SND_BUF && TCP_SNDQUEUELOWAT < TCP_SND_QUEUELEN,
               "low-water marks must be below their limits");

static struct net_netif g_nif;
static struct poll_hook g_poll;
static bool g_lwip_ready; /* lwip_init ran (it must run only once) */
static bool g_started;
static bool g_dhcp;
/* The configuration last logged, so a DHCP renewal that changes nothing stays quiet. */
static bool g_bound;
static ip4_addr_t g_logged_ip;
static ip4_addr_t g_logged_mask;
static ip4_addr_t g_logged_gw;

/* lwIP keeps addresses in network byte order; the rest of Petrel (and netaddr) in host order. */
static void to_ip4(uint32_t host, ip4_addr_t *out)
{
    ip4_addr_set_u32(out, lwip_htonl(host));
}

static uint32_t from_ip4(const ip4_addr_t *a)
{
    return lwip_ntohl(ip4_addr_get_u32(a));
}

static void fmt_ip(const ip4_addr_t *a, char *buf, size_t len)
{
    netaddr_format(from_ip4(a), buf, len);
}

/* The status callback: the interface went up or down or its address changed. */
static void net_status_changed(struct netif *netif)
{
    char ip[NETADDR_STR_MAX];
    char mask[NETADDR_STR_MAX];
    char gw[NETADDR_STR_MAX];
    const uint8_t *m = netif->hwaddr;

    if (!netif_is_up(netif) || ip4_addr_isany_val(*netif_ip4_addr(netif))) {
        if (g_bound) {
            LOG_INFO(NET, "address released");
            g_bound = false;
        }
        return;
    }
    if (g_bound && ip4_addr_cmp(&g_logged_ip, netif_ip4_addr(netif)) &&
        ip4_addr_cmp(&g_logged_mask, netif_ip4_netmask(netif)) &&
        ip4_addr_cmp(&g_logged_gw, netif_ip4_gw(netif))) {
        return;
    }
    g_bound = true;
    ip4_addr_copy(g_logged_ip, *netif_ip4_addr(netif));
    ip4_addr_copy(g_logged_mask, *netif_ip4_netmask(netif));
    ip4_addr_copy(g_logged_gw, *netif_ip4_gw(netif));
    fmt_ip(&g_logged_ip, ip, sizeof(ip));
    fmt_ip(&g_logged_mask, mask, sizeof(mask));
    if (ip4_addr_isany_val(g_logged_gw)) {
        str_copy(gw, "none", sizeof(gw));
    } else {
        fmt_ip(&g_logged_gw, gw, sizeof(gw));
    }
    LOG_INFO(NET, "address %s netmask %s gateway %s mac %02x:%02x:%02x:%02x:%02x:%02x (%s)", ip,
             mask, gw, m[0], m[1], m[2], m[3], m[4], m[5], g_dhcp ? "dhcp" : "static");
}

/* One-shot lwIP timeout: DHCP is slow or nobody answers. lwIP keeps trying in the background. */
static void dhcp_wait_check(void *arg)
{
    (void)arg;
    if (!g_bound) {
        LOG_WARN(NET, "no DHCP answer after %u s; still trying (or boot with ip=A.B.C.D/N gw=...)",
                 DHCP_WARN_MS / 1000);
    }
}

int net_iperf_client(uint32_t ip, uint16_t port)
{
    if (!g_started || !g_bound) {
        return -ENODEV;
    }
    return net_iperf_connect(ip, port, NET_IPERF_CLIENT_MS);
}

/* The main-loop hook: queued frames, carrier changes, then lwIP's timers (ARP, TCP, DHCP...). */
static void net_poll(void *ctx)
{
    (void)ctx;
    net_netif_poll(&g_nif);
    sys_check_timeouts();
}

/* Works out the static configuration from ip= and gw=. Returns false (after saying why) when
 * DHCP must be used instead. */
static bool static_config(const struct net_boot_config *cfg, ip4_addr_t *ip, ip4_addr_t *mask,
                          ip4_addr_t *gw)
{
    struct netaddr_config ac;
    const char *why = "invalid";
    uint32_t gw_host = 0;
    bool have_gw = cfg->gw != NULL && cfg->gw[0] != '\0';

    if (netaddr_parse_config(cfg->ip, &ac, &why) != 0) {
        LOG_WARN(NET, "ip=%s: %s; using DHCP instead", cfg->ip, why);
        return false;
    }
    if (ac.dhcp) {
        if (have_gw) {
            LOG_WARN(NET, "gw=%s ignored: DHCP provides the gateway (give ip=A.B.C.D/N too)",
                     cfg->gw);
        }
        return false;
    }
    if (have_gw) {
        if (netaddr_parse_ip4(cfg->gw, &gw_host) != 0) {
            LOG_WARN(NET, "gw=%s: not an address A.B.C.D; using DHCP instead", cfg->gw);
            return false;
        }
        if (!netaddr_same_subnet(gw_host, ac.ip, ac.netmask) || gw_host == ac.ip ||
            netaddr_check_host(gw_host, ac.prefix, NULL) != 0) {
            LOG_WARN(NET, "gw=%s is not a host in %s; using DHCP instead", cfg->gw, cfg->ip);
            return false;
        }
    } else {
        LOG_INFO(NET, "no gw= given: only the local subnet %s is reachable", cfg->ip);
    }
    to_ip4(ac.ip, ip);
    to_ip4(ac.netmask, mask);
    to_ip4(gw_host, gw);
    return true;
}

int net_init(struct nic *nic, const struct net_boot_config *cfg)
{
    struct net_link link;
    ip4_addr_t ip;
    ip4_addr_t mask;
    ip4_addr_t gw;
    int rc;

    if (g_started) {
        return -EBUSY;
    }
    if (nic == NULL || cfg == NULL) {
        return -EINVAL;
    }
    ip4_addr_set_zero(&ip);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    g_dhcp = !static_config(cfg, &ip, &mask, &gw);
    if (g_dhcp) {
        ip4_addr_set_zero(&ip);
        ip4_addr_set_zero(&mask);
        ip4_addr_set_zero(&gw);
    }

    /* The receive window: what the NIC can take in one burst (drivers/nic.h), within bounds. */
    net_tcp_wnd = NET_TCP_WND_MIN;
    if (nic->rx_burst_frames != 0) {
        net_tcp_wnd = LWIP_MIN(
            LWIP_MAX((unsigned int)nic->rx_burst_frames * TCP_MSS, (unsigned int)NET_TCP_WND_MIN),
            (unsigned int)NET_TCP_WND_MAX);
    }
    if (!g_lwip_ready) {
        lwip_init();
        g_lwip_ready = true;
    }
    /* On the VNET switch's local port when the kernel created a switch (kernel/vnet_glue.c),
     * else directly on the NIC. */
    if (net_link_from_vnet(nic, &link) != 0) {
        net_link_from_nic(nic, &link);
    }
    rc = net_netif_add(&g_nif, &link, &ip, &mask, &gw);
    if (rc != 0) {
        LOG_ERROR(NET, "%s: cannot add the interface to lwIP (%d)", link.name, rc);
        return rc;
    }
    LOG_INFO(NET, "lwIP %s on %s%s: %s, TCP window %u", LWIP_VERSION_STRING, link.name,
             link.send == NULL || link.ctx == nic ? "" : " (VNET local port)",
             g_dhcp ? "asking DHCP for an address" : "static address", net_tcp_wnd);
    netif_set_default(&g_nif.lwip);
    netif_set_status_callback(&g_nif.lwip, net_status_changed);
    netif_set_up(&g_nif.lwip);
    g_started = true;

    g_poll.fn = net_poll;
    g_poll.ctx = NULL;
    g_poll.name = "net";
    mainloop_add_poll(&g_poll);

    if (g_dhcp) {
        err_t err = dhcp_start(&g_nif.lwip);

        if (err != ERR_OK) {
            LOG_ERROR(NET, "DHCP client start failed (lwIP error %d): no address", (int)err);
        } else {
            sys_timeout(DHCP_WARN_MS, dhcp_wait_check, NULL);
        }
    }
    rc = net_iperf_start();
    if (rc != 0) {
        LOG_WARN(NET, "iperf server on port %u not started (%d)", NET_IPERF_PORT, rc);
    } else {
        LOG_INFO(NET, "iperf 2 server listening on TCP port %u", NET_IPERF_PORT);
    }
    return 0;
}

int net_get_info(struct net_info *out)
{
    const struct netif *n = &g_nif.lwip;

    memset(out, 0, sizeof(*out));
    if (!g_started) {
        return -ENODEV;
    }
    out->started = true;
    out->dhcp = g_dhcp;
    out->link_up = netif_is_link_up(n);
    out->bound = netif_is_up(n) && !ip4_addr_isany_val(*netif_ip4_addr(n));
    out->ip = from_ip4(netif_ip4_addr(n));
    out->netmask = from_ip4(netif_ip4_netmask(n));
    out->gw = from_ip4(netif_ip4_gw(n));
    memcpy(out->mac, n->hwaddr, sizeof(out->mac));
    out->mtu = n->mtu;
    str_copy(out->link_name, g_nif.link.name, sizeof(out->link_name));
    out->txq_len = g_nif.txq_count;
    out->netif_stats = &g_nif.stats;
    out->lwip_stats = &lwip_stats;
    return 0;
}
