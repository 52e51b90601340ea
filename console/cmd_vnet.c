/* Shell commands for the VNET switch: `vnet ports|routes|route add|route del|links|link add|
 * link del|macs|stats` and `capture [PORT... | all]`. Registered by kernel/vnet_glue.c when the
 * switch exists, so they are absent when the appliance has no NIC. */
#include "capture.h"
#include "cmds.h"
#include "shell.h"
#include "table.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../vnet/vnet.h"

#define TEXT_MAX 256 /* a route or link as one line */
#define MACS_MAX 256 /* shown by `vnet macs` */

static struct table g_table;
static struct vnet_port_info g_ports[VNET_PORTS_MAX];
static struct vnet_route_info g_routes[VNET_ROUTES_MAX];
static struct vnet_mac_info g_macs[MACS_MAX];

static void fmt_mac(const uint8_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Joins argv[from..argc-1] with single spaces. -E2BIG when it does not fit. */
static int join(int argc, char **argv, int from, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = from; i < argc; i++) {
        size_t w = strlen(argv[i]);

        if (n + w + 2 > len) {
            return -E2BIG;
        }
        if (n > 0) {
            buf[n++] = ' ';
        }
        memcpy(buf + n, argv[i], w);
        n += w;
        buf[n] = '\0';
    }
    return 0;
}

static bool need_admin(struct shell *sh)
{
    if (!sh->admin) {
        shell_puts(sh, "error: changing the switch is not allowed in a read-only session\n");
        return false;
    }
    return true;
}

static uint64_t drops_total(const struct vnet_port_counters *c)
{
    uint64_t t = 0;

    for (int i = 0; i < VNET_DROP_COUNT; i++) {
        t += c->drops[i];
    }
    return t;
}

static int show_ports(struct shell *sh, struct vnet_switch *sw)
{
    static const char *const hdr[] = {"ID",  "NAME", "KIND", "MAC",  "NET",
                                      "MTU", "RX",   "TX",   "DROPS"};
    size_t n = vnet_port_list(sw, g_ports, ARRAY_SIZE(g_ports));
    char mac[24];

    table_init(&g_table, ARRAY_SIZE(hdr), hdr);
    table_align_right(&g_table, 0);
    for (size_t c = 4; c < ARRAY_SIZE(hdr); c++) {
        table_align_right(&g_table, c);
    }
    for (size_t i = 0; i < n; i++) {
        const struct vnet_port_info *p = &g_ports[i];

        if (p->has_mac) {
            fmt_mac(p->mac, mac, sizeof(mac));
        } else {
            str_copy(mac, p->kind == VNET_PORT_EDGE && p->promisc ? "(promisc)" : "-", sizeof(mac));
        }
        table_row(&g_table);
        table_set(&g_table, 0, "%u", p->id);
        table_set(&g_table, 1, "%s", p->name);
        table_set(&g_table, 2, "%s", vnet_port_kind_name(p->kind));
        table_set(&g_table, 3, "%s", mac);
        table_set(&g_table, 4, "%u", p->network);
        table_set(&g_table, 5, "%u", p->mtu);
        table_set(&g_table, 6, "%llu", (unsigned long long)p->c.rx_packets);
        table_set(&g_table, 7, "%llu", (unsigned long long)p->c.tx_packets);
        table_set(&g_table, 8, "%llu", (unsigned long long)drops_total(&p->c));
    }
    table_print_shell(&g_table, sh);
    /* Why frames were dropped, per port, for the ports that dropped any. */
    for (size_t i = 0; i < n; i++) {
        const struct vnet_port_info *p = &g_ports[i];
        char line[256];
        size_t len = 0;

        if (drops_total(&p->c) == 0) {
            continue;
        }
        for (int d = 0; d < VNET_DROP_COUNT && len < sizeof(line); d++) {
            if (p->c.drops[d] != 0) {
                len += (size_t)snprintf(line + len, sizeof(line) - len, " %s %llu",
                                        vnet_drop_name((enum vnet_drop)d),
                                        (unsigned long long)p->c.drops[d]);
            }
        }
        shell_printf(sh, "drops on %s:%s\n", p->name, line);
    }
    /* Offloads (docs/vnet.md): what each port takes whole, and what the switch did for it. */
    for (size_t i = 0; i < n; i++) {
        const struct vnet_port_info *p = &g_ports[i];

        if (p->offloads == 0 && p->c.gso_in == 0 && p->c.gso_split == 0 && p->c.csum_filled == 0 &&
            p->c.gro_merged == 0) {
            continue;
        }
        shell_printf(sh,
                     "offloads on %s: takes%s%s%s; gso_in %llu gso_split %llu csum_filled %llu "
                     "gro_merged %llu\n",
                     p->name, (p->offloads & NETOFF_CAP_CSUM) ? " csum" : "",
                     (p->offloads & NETOFF_CAP_TSO4) ? " tso4" : "",
                     (p->offloads & (NETOFF_CAP_CSUM | NETOFF_CAP_TSO4)) ? "" : " nothing",
                     (unsigned long long)p->c.gso_in, (unsigned long long)p->c.gso_split,
                     (unsigned long long)p->c.csum_filled, (unsigned long long)p->c.gro_merged);
    }
    return 0;
}

static int show_routes(struct shell *sh, struct vnet_switch *sw)
{
    size_t n = vnet_route_list(sw, g_routes, ARRAY_SIZE(g_routes));
    char text[TEXT_MAX];

    if (n == 0) {
        shell_puts(sh, "no routes: the learning bridge decides ('vnet route add ...')\n");
        return 0;
    }
    shell_printf(sh, "%3s %4s %10s %12s %10s  %s\n", "POS", "ID", "PACKETS", "BYTES", "DELIVERED",
                 "ROUTE");
    for (size_t i = 0; i < n; i++) {
        const struct vnet_route_info *r = &g_routes[i];

        if (vnet_route_format(&r->route, text, sizeof(text)) < 0) {
            str_copy(text, "(too long to show)", sizeof(text));
        }
        shell_printf(
            sh, "%3zu %4u %10llu %12llu %10llu  %s%s\n", i, r->id, (unsigned long long)r->packets,
            (unsigned long long)r->bytes, (unsigned long long)r->delivered, text,
            r->route.action == VNET_ACT_PORT && !r->dst_present ? "  (destination absent)" : "");
    }
    return 0;
}

/* vnet route add [at N] TEXT */
static int route_add(struct shell *sh, struct vnet_switch *sw, int argc, char **argv)
{
    char text[TEXT_MAX];
    char err[128];
    struct vnet_route r;
    uint64_t at = 0;
    int index = -1;
    int first = 3;
    uint32_t id;
    int rc;

    if (!need_admin(sh)) {
        return -EPERM;
    }
    if (argc > 4 && strcmp(argv[3], "at") == 0) {
        if (str_to_u64(argv[4], &at) != 0 || at > VNET_ROUTES_MAX) {
            shell_printf(sh, "error: at: expected a position 0..%d, got '%.40s'\n", VNET_ROUTES_MAX,
                         argv[4]);
            return -EINVAL;
        }
        index = (int)at;
        first = 5;
    }
    if (argc <= first) {
        shell_puts(sh, "error: route add: missing the route: [at N] [src SPEC] [dst SPEC] "
                       "[from PORT] (port NAME | link NAME | drop)\n");
        return -EINVAL;
    }
    if (join(argc, argv, first, text, sizeof(text)) != 0) {
        shell_printf(sh, "error: route longer than %d characters\n", TEXT_MAX - 1);
        return -E2BIG;
    }
    err[0] = '\0';
    rc = vnet_route_parse(text, &r, err, sizeof(err));
    if (rc == 0) {
        rc = vnet_route_add(sw, &r, index, &id, err, sizeof(err));
    }
    if (rc != 0) {
        shell_printf(sh, "error: %s\n", err[0] != '\0' ? err : "route refused");
        return rc;
    }
    LOG_INFO(VNET, "route %u added from the console: %s", id, text);
    shell_printf(sh, "route %u added\n", id);
    return 0;
}

static int route_del(struct shell *sh, struct vnet_switch *sw, int argc, char **argv)
{
    uint64_t id;
    int rc;

    if (!need_admin(sh)) {
        return -EPERM;
    }
    if (argc != 4 || str_to_u64(argv[3], &id) != 0 || id > 0xffffffffULL) {
        shell_puts(sh, "error: usage: vnet route del ID (the ID column of 'vnet routes')\n");
        return -EINVAL;
    }
    rc = vnet_route_del(sw, (uint32_t)id);
    if (rc != 0) {
        shell_printf(sh, "error: no route with id %llu\n", (unsigned long long)id);
        return rc;
    }
    LOG_INFO(VNET, "route %llu deleted from the console", (unsigned long long)id);
    shell_printf(sh, "route %llu deleted\n", (unsigned long long)id);
    return 0;
}

static int show_links(struct shell *sh, struct vnet_switch *sw)
{
    size_t n = vnet_port_list(sw, g_ports, ARRAY_SIZE(g_ports));
    size_t links = 0;

    for (size_t i = 0; i < n; i++) {
        struct vnet_port *p;
        struct vnet_link_info li;
        char text[TEXT_MAX];

        if (g_ports[i].kind != VNET_PORT_LINK) {
            continue;
        }
        p = vnet_port_by_id(sw, g_ports[i].id);
        if (p == NULL || vnet_link_info(p, &li) != 0) {
            continue;
        }
        if (vnet_link_format(&li.cfg, text, sizeof(text)) < 0) {
            str_copy(text, li.cfg.name, sizeof(text));
        }
        links++;
        shell_printf(sh, "%s\n", text);
        shell_printf(
            sh,
            "  tx: %llu frames, %llu datagrams (%llu unicast, %llu replicated, "
            "%llu fragmented, %llu udp errors)\n",
            (unsigned long long)li.stats.tx_frames, (unsigned long long)li.stats.tx_datagrams,
            (unsigned long long)li.stats.tx_unicast, (unsigned long long)li.stats.tx_replicated,
            (unsigned long long)li.stats.tx_fragmented, (unsigned long long)li.stats.udp_errors);
        shell_printf(sh,
                     "  rx: %llu datagrams, %llu frames; remote MACs %u (learned %llu, "
                     "moved %llu)\n",
                     (unsigned long long)li.stats.rx_datagrams,
                     (unsigned long long)li.stats.rx_frames, li.remote_macs,
                     (unsigned long long)li.stats.remote_learned,
                     (unsigned long long)li.stats.remote_moved);
    }
    if (links == 0) {
        shell_puts(sh, "no VXLAN links ('vnet link add NAME vni N remote IP')\n");
    }
    return 0;
}

static int link_add(struct shell *sh, struct vnet_switch *sw, int argc, char **argv)
{
    struct vnet_link_config cfg;
    char text[TEXT_MAX];
    char err[128];
    int rc;

    if (!need_admin(sh)) {
        return -EPERM;
    }
    if (argc < 4) {
        shell_puts(sh, "error: link add: missing the link: NAME vni N [remote IP[,IP...]] "
                       "[network N] [dstport P] [mtu N] [outer-mtu N] [nofrag] [accept-any]\n");
        return -EINVAL;
    }
    if (join(argc, argv, 3, text, sizeof(text)) != 0) {
        shell_printf(sh, "error: link longer than %d characters\n", TEXT_MAX - 1);
        return -E2BIG;
    }
    err[0] = '\0';
    rc = vnet_link_parse(text, &cfg, err, sizeof(err));
    if (rc == 0) {
        rc = vnet_link_add(sw, &cfg, NULL, err, sizeof(err));
    }
    if (rc != 0) {
        shell_printf(sh, "error: %s\n", err[0] != '\0' ? err : "link refused");
        return rc;
    }
    LOG_INFO(VNET, "link added from the console: %s", text);
    shell_printf(sh, "link %s added\n", cfg.name);
    return 0;
}

static int link_del(struct shell *sh, struct vnet_switch *sw, int argc, char **argv)
{
    int rc;

    if (!need_admin(sh)) {
        return -EPERM;
    }
    if (argc != 4) {
        shell_puts(sh, "error: usage: vnet link del NAME\n");
        return -EINVAL;
    }
    rc = vnet_link_del(sw, argv[3]);
    if (rc == -ENOENT) {
        shell_printf(sh, "error: no link named '%.40s' ('vnet links')\n", argv[3]);
    } else if (rc == -EINVAL) {
        shell_printf(sh, "error: '%.40s' is not a link\n", argv[3]);
    } else if (rc != 0) {
        shell_printf(sh, "error: link %.40s not deleted (%d)\n", argv[3], rc);
    } else {
        LOG_INFO(VNET, "link %s deleted from the console", argv[3]);
        shell_printf(sh, "link %s deleted\n", argv[3]);
    }
    return rc;
}

static int show_macs(struct shell *sh, struct vnet_switch *sw)
{
    static const char *const hdr[] = {"NET", "MAC", "PORT", "TYPE", "AGE"};
    size_t n = vnet_mac_list(sw, g_macs, ARRAY_SIZE(g_macs));
    char mac[24];

    table_init(&g_table, ARRAY_SIZE(hdr), hdr);
    table_align_right(&g_table, 0);
    table_align_right(&g_table, 4);
    for (size_t i = 0; i < n; i++) {
        const struct vnet_mac_info *m = &g_macs[i];

        fmt_mac(m->mac, mac, sizeof(mac));
        table_row(&g_table);
        table_set(&g_table, 0, "%u", m->network);
        table_set(&g_table, 1, "%s", mac);
        table_set(&g_table, 2, "%s", m->port);
        table_set(&g_table, 3, "%s", m->is_static ? "static" : "learned");
        if (m->is_static) {
            table_set(&g_table, 4, "-");
        } else {
            table_set(&g_table, 4, "%u s", m->age_s);
        }
    }
    table_print_shell(&g_table, sh);
    return 0;
}

static void stat_row(const char *name, unsigned long long v)
{
    table_row(&g_table);
    table_set(&g_table, 0, "%s", name);
    table_set(&g_table, 1, "%llu", v);
}

static int show_stats(struct shell *sh, struct vnet_switch *sw)
{
    static const char *const hdr[] = {"COUNTER", "VALUE"};
    struct con_capture_info ci[CAPTURE_READERS];
    struct vnet_stats s;
    size_t nr = con_capture_readers(ci, ARRAY_SIZE(ci));

    vnet_stats_get(sw, &s);
    table_init(&g_table, 2, hdr);
    table_align_right(&g_table, 1);
    stat_row("ports", s.ports);
    stat_row("links", s.links);
    stat_row("routes", s.routes);
    stat_row("capture taps", s.taps);
    stat_row("MAC entries", s.macs);
    stat_row("MAC capacity", s.mac_capacity);
    stat_row("aging (s)", s.aging_s);
    stat_row("frames", s.frames);
    stat_row("dropped at ingress", s.dropped);
    stat_row("routed", s.routed);
    stat_row("bridged", s.bridged);
    stat_row("flooded", s.flooded);
    stat_row("unknown unicast", s.unknown_unicast);
    stat_row("MACs learned", s.mac_learned);
    stat_row("MACs moved", s.mac_moved);
    stat_row("MACs evicted", s.mac_evicted);
    stat_row("MACs aged", s.mac_aged);
    stat_row("MAC conflicts", s.mac_conflicts);
    stat_row("MACs refused", s.mac_refused);
    stat_row("VXLAN no link", s.vxlan_no_link);
    stat_row("captured", s.captured);
    table_print_shell(&g_table, sh);
    for (size_t i = 0; i < nr; i++) {
        shell_printf(sh, "capture reader %s: %llu packets, %llu bytes, %llu lost, %zu buffered\n",
                     ci[i].peer, (unsigned long long)ci[i].packets, (unsigned long long)ci[i].bytes,
                     (unsigned long long)ci[i].lost, ci[i].buffered);
    }
    return 0;
}

static int cmd_vnet(struct shell *sh, int argc, char **argv)
{
    struct vnet_switch *sw = vnet_default();
    const char *sub = argc > 1 ? argv[1] : "";
    const char *verb = argc > 2 ? argv[2] : "";

    if (sw == NULL) {
        shell_puts(sh, "error: the VNET switch is not running\n");
        return -ENODEV;
    }
    if (argc == 2 && strcmp(sub, "ports") == 0) {
        return show_ports(sh, sw);
    }
    if (argc == 2 && strcmp(sub, "routes") == 0) {
        return show_routes(sh, sw);
    }
    if (argc == 2 && strcmp(sub, "links") == 0) {
        return show_links(sh, sw);
    }
    if (argc == 2 && strcmp(sub, "macs") == 0) {
        return show_macs(sh, sw);
    }
    if (argc == 2 && strcmp(sub, "stats") == 0) {
        return show_stats(sh, sw);
    }
    if (strcmp(sub, "route") == 0 && strcmp(verb, "add") == 0) {
        return route_add(sh, sw, argc, argv);
    }
    if (strcmp(sub, "route") == 0 && strcmp(verb, "del") == 0) {
        return route_del(sh, sw, argc, argv);
    }
    if (strcmp(sub, "link") == 0 && strcmp(verb, "add") == 0) {
        return link_add(sh, sw, argc, argv);
    }
    if (strcmp(sub, "link") == 0 && strcmp(verb, "del") == 0) {
        return link_del(sh, sw, argc, argv);
    }
    if (argc == 1) {
        shell_puts(sh, "error: vnet needs a subcommand\n");
    } else {
        shell_printf(sh, "error: unknown subcommand '%.40s%s%.40s'\n", sub, argc > 2 ? " " : "",
                     argc > 2 ? verb : "");
    }
    return -EINVAL;
}

static int cmd_capture(struct shell *sh, int argc, char **argv)
{
    struct con_capture_info ci[CAPTURE_READERS];
    char names[CAPTURE_NAMES][32];
    size_t nr;
    size_t ns;
    int rc;

    if (argc > 1) {
        bool all = argc == 2 && strcmp(argv[1], "all") == 0;

        if (!need_admin(sh)) {
            return -EPERM;
        }
        if (argc - 1 > CAPTURE_NAMES) {
            shell_printf(sh, "error: at most %d ports\n", CAPTURE_NAMES);
            return -E2BIG;
        }
        rc = con_capture_select((const char *const *)(argv + 1), all ? 0 : (size_t)(argc - 1));
        if (rc == -EINVAL) {
            shell_puts(sh, "error: a port name is 1-31 characters of A-Z a-z 0-9 . _ : -\n");
            return rc;
        }
        if (rc != 0) {
            shell_printf(sh, "error: selection not changed (%d)\n", rc);
            return rc;
        }
    }
    ns = con_capture_selection(names, ARRAY_SIZE(names));
    shell_puts(sh, "capturing: ");
    if (ns == 0) {
        shell_puts(sh, "every port");
    }
    for (size_t i = 0; i < ns; i++) {
        shell_printf(sh, "%s%s", i > 0 ? " " : "", names[i]);
    }
    shell_puts(sh, "\n");
    nr = con_capture_readers(ci, ARRAY_SIZE(ci));
    if (nr == 0) {
        shell_puts(sh, "no readers (nc APPLIANCE 5555 | wireshark -k -i -)\n");
    }
    for (size_t i = 0; i < nr; i++) {
        shell_printf(sh, "reader %s: %llu packets, %llu bytes, %llu lost, %zu buffered\n",
                     ci[i].peer, (unsigned long long)ci[i].packets, (unsigned long long)ci[i].bytes,
                     (unsigned long long)ci[i].lost, ci[i].buffered);
    }
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"vnet", "ports|routes|links|macs|stats | route add|del ... | link add|del ...",
     "the VNET switch: ports, routes, VXLAN links, MAC table, counters", cmd_vnet, SHELL_RO,
     "  vnet ports                  ports, their MACs, networks and counters (drops by reason,\n"
     "                              offloads taken and done)\n"
     "  vnet routes                 the route table in order, with counters\n"
     "  vnet route add [at N] ROUTE [src SPEC] [dst SPEC] [from PORT] (port NAME|link NAME|drop)\n"
     "                              SPEC: any | none | MAC | exact MAC | not MAC\n"
     "  vnet route del ID           (ID from 'vnet routes')\n"
     "  vnet links                  VXLAN links and their counters\n"
     "  vnet link add NAME vni N [remote IP[,IP...]] [network N] [dstport P] [mtu N]\n"
     "                              [outer-mtu N] [nofrag] [accept-any]\n"
     "  vnet link del NAME\n"
     "  vnet macs                   the learning bridge's MAC table\n"
     "  vnet stats                  switch counters and capture readers\n"},
    {"capture", "[PORT... | all]", "choose the ports the capture stream (TCP 5555) shows",
     cmd_capture, SHELL_RO,
     "  capture              the selection and the readers (lost = did not keep up)\n"
     "  capture PORT...      only these ports (names need not exist yet)\n"
     "  capture all          every port again\n"
     "  Read the stream with: nc APPLIANCE 5555 | wireshark -k -i -  (tools/capture)\n"},
};

int con_cmds_vnet_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
