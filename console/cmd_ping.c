/* The `ping` command: ICMP echo requests from the appliance through an lwIP raw PCB, run as a
 * foreground job (one request a second, COUNT of them, each answer waited for at most
 * PING_TIMEOUT_MS; Ctrl-C stops early). */
#include "cmds.h"
#include "shell.h"

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"

#include "../kernel/lib.h"
#include "../kernel/timer.h"
#include "../netstack/net.h"
#include "../netstack/netaddr.h"

#define PING_DATA        56
#define PING_COUNT       4
#define PING_COUNT_MAX   100
#define PING_INTERVAL_MS 1000
#define PING_TIMEOUT_MS  2000
#define PING_WINDOW      4 /* send times kept; replies later than that are too late anyway */

struct ping_state {
    struct raw_pcb *pcb;
    struct shell *sh;
    ip_addr_t dst;
    char dst_text[NETADDR_STR_MAX];
    uint16_t id;
    uint16_t sent; /* requests sent; the next one has seq sent + 1 */
    uint16_t count;
    uint16_t received;
    uint64_t next_ms; /* the next request */
    uint64_t sent_ns[PING_WINDOW];
    uint64_t rtt_min_us;
    uint64_t rtt_max_us;
    uint64_t rtt_sum_us;
};

_Static_assert(sizeof(struct ping_state) <= SHELL_JOB_STATE_MAX, "ping state too big");

static struct ping_state *state(struct shell *sh)
{
    return shell_job_state(sh);
}

static u8_t on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    struct ping_state *st = arg;
    struct icmp_echo_hdr echo;
    struct ip_hdr iph;
    u16_t hl;
    uint16_t seq;
    uint64_t rtt_us;

    (void)pcb;
    /* A raw PCB sees the whole IP packet; only our echo replies are ours to take. */
    if (p->tot_len < sizeof(iph) || pbuf_copy_partial(p, &iph, sizeof(iph), 0) != sizeof(iph)) {
        return 0;
    }
    hl = IPH_HL_BYTES(&iph);
    if (hl < sizeof(iph) || p->tot_len < hl + sizeof(echo) ||
        pbuf_copy_partial(p, &echo, sizeof(echo), hl) != sizeof(echo)) {
        return 0;
    }
    if (echo.type != ICMP_ER || lwip_ntohs(echo.id) != st->id || !ip_addr_cmp(addr, &st->dst)) {
        return 0;
    }
    seq = lwip_ntohs(echo.seqno);
    if (seq == 0 || seq > st->sent || st->sent - seq >= PING_WINDOW) {
        pbuf_free(p);
        return 1; /* ours, but too old to time */
    }
    rtt_us = (now_ns() - st->sent_ns[seq % PING_WINDOW]) / 1000;
    st->received++;
    st->rtt_sum_us += rtt_us;
    st->rtt_min_us = st->received == 1 ? rtt_us : MIN(st->rtt_min_us, rtt_us);
    st->rtt_max_us = MAX(st->rtt_max_us, rtt_us);
    shell_printf(st->sh, "%u bytes from %s: icmp_seq=%u ttl=%u time=%llu.%03llu ms\n",
                 (unsigned)(p->tot_len - hl), st->dst_text, seq, IPH_TTL(&iph),
                 (unsigned long long)(rtt_us / 1000), (unsigned long long)(rtt_us % 1000));
    pbuf_free(p);
    return 1;
}

static bool send_one(struct ping_state *st)
{
    struct pbuf *p = pbuf_alloc(PBUF_IP, sizeof(struct icmp_echo_hdr) + PING_DATA, PBUF_RAM);
    struct icmp_echo_hdr *h;
    uint8_t *data;
    uint16_t seq = (uint16_t)(st->sent + 1);
    err_t err;

    if (p == NULL) {
        shell_puts(st->sh, "ping: out of memory for a request\n");
        return false;
    }
    h = p->payload;
    h->type = ICMP_ECHO;
    h->code = 0;
    h->chksum = 0;
    h->id = lwip_htons(st->id);
    h->seqno = lwip_htons(seq);
    data = (uint8_t *)(h + 1);
    for (int i = 0; i < PING_DATA; i++) {
        data[i] = (uint8_t)i;
    }
    h->chksum = inet_chksum(h, (u16_t)p->len);
    st->sent_ns[seq % PING_WINDOW] = now_ns();
    err = raw_sendto(st->pcb, p, &st->dst);
    pbuf_free(p);
    st->sent = seq;
    if (err != ERR_OK) {
        shell_printf(st->sh, "ping: icmp_seq=%u not sent (lwIP error %d)\n", seq, (int)err);
    }
    return true;
}

static void summary(struct ping_state *st)
{
    unsigned loss = st->sent > 0 ? (unsigned)(100 * (st->sent - st->received) / st->sent) : 0;

    shell_printf(st->sh, "--- %s ping statistics ---\n", st->dst_text);
    shell_printf(st->sh, "%u packets transmitted, %u received, %u%% packet loss\n", st->sent,
                 st->received, loss);
    if (st->received > 0) {
        uint64_t avg = st->rtt_sum_us / st->received;

        shell_printf(st->sh, "rtt min/avg/max = %llu.%03llu/%llu.%03llu/%llu.%03llu ms\n",
                     (unsigned long long)(st->rtt_min_us / 1000),
                     (unsigned long long)(st->rtt_min_us % 1000), (unsigned long long)(avg / 1000),
                     (unsigned long long)(avg % 1000), (unsigned long long)(st->rtt_max_us / 1000),
                     (unsigned long long)(st->rtt_max_us % 1000));
    }
}

static bool job_poll(struct shell *sh, uint64_t now)
{
    struct ping_state *st = state(sh);

    if (st->sent < st->count) {
        if (now >= st->next_ms) {
            if (!send_one(st)) {
                return false;
            }
            st->next_ms = now + PING_INTERVAL_MS;
        }
        return true;
    }
    /* All sent: wait for the last answer, at most PING_TIMEOUT_MS after the last request. */
    return st->received < st->sent && now < st->next_ms - PING_INTERVAL_MS + PING_TIMEOUT_MS;
}

static void job_end(struct shell *sh)
{
    struct ping_state *st = state(sh);

    if (st->pcb != NULL) {
        raw_remove(st->pcb);
        st->pcb = NULL;
    }
    summary(st);
}

static const struct shell_job g_ping_job = {"ping", job_poll, NULL, job_end};

static int cmd_ping(struct shell *sh, int argc, char **argv)
{
    struct ping_state *st = state(sh);
    struct net_info ni;
    uint32_t ip;
    uint64_t count = PING_COUNT;

    if (argc < 2 || argc > 3) {
        shell_puts(sh, "error: ping needs an address and takes an optional count\n");
        return -EINVAL;
    }
    if (netaddr_parse_ip4(argv[1], &ip) != 0) {
        shell_printf(sh, "error: '%.40s' is not an IPv4 address A.B.C.D (there is no DNS)\n",
                     argv[1]);
        return -EINVAL;
    }
    if (argc == 3 && (str_to_u64(argv[2], &count) != 0 || count < 1 || count > PING_COUNT_MAX)) {
        shell_printf(sh, "error: count must be 1..%d\n", PING_COUNT_MAX);
        return -EINVAL;
    }
    if (net_get_info(&ni) != 0 || !ni.bound) {
        shell_puts(sh, "error: the appliance has no address yet\n");
        return -ENODEV;
    }
    memset(st, 0, sizeof(*st));
    st->pcb = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
    if (st->pcb == NULL) {
        shell_puts(sh, "error: no raw PCB free (too many pings at once)\n");
        return -ENOMEM;
    }
    st->sh = sh;
    ip_addr_set_ip4_u32_val(st->dst, lwip_htonl(ip));
    netaddr_format(ip, st->dst_text, sizeof(st->dst_text));
    st->id = (uint16_t)LWIP_RAND();
    st->count = (uint16_t)count;
    st->next_ms = 0;
    raw_recv(st->pcb, on_recv, st);
    shell_printf(sh, "PING %s: %d data bytes (Ctrl-C stops)\n", st->dst_text, PING_DATA);
    shell_start_job(sh, &g_ping_job);
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"ping", "ADDRESS [COUNT]", "send ICMP echo requests from the appliance", cmd_ping, 0,
     "  one request a second, COUNT of them (default 4, at most 100); Ctrl-C stops early\n"},
};

int con_cmds_ping_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
