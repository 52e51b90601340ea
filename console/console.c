/* Console bring-up and its main-loop hook (see console.h). */
#include "console.h"
#include "cmds.h"
#include "config.h"
#include "logstream.h"
#include "session.h"
#include "telnetd.h"

#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../kernel/mainloop.h"
#include "../kernel/timer.h"
#include "../kernel/version.h"
#include "../netstack/net.h"
#include "../netstack/netaddr.h"

static struct auth_limiter g_limiter;
static char g_banner[64];
static struct con_env g_env;
static struct poll_hook g_hook;
static bool g_telnet;
static bool g_logstream;
static bool g_syslog;

uint64_t con_now_ms(void)
{
    return now_ns() / 1000000;
}

void con_fmt_duration(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;
    unsigned long long d = s / 86400;

    if (d > 0) {
        fmt_snprintf(buf, len, "%llu d %02u:%02u:%02u", d, (unsigned)(s / 3600 % 24),
                     (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    } else {
        fmt_snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                     (unsigned)(s % 60));
    }
}

static void console_poll(void *ctx)
{
    uint64_t now = con_now_ms();

    (void)ctx;
    if (g_telnet) {
        con_telnetd_poll(now);
    }
    if (g_logstream) {
        con_logstream_poll();
    }
    if (g_syslog) {
        con_syslog_poll();
    }
}

static int register_commands(void)
{
    int rc = con_cmds_sys_register();

    if (rc == 0) {
        rc = con_cmds_net_register();
    }
    if (rc == 0) {
        rc = con_cmds_ping_register();
    }
    if (rc == 0) {
        rc = con_cmds_log_register();
    }
    if (rc == 0) {
        rc = con_cmds_vm_register();
    }
    if (rc != 0) {
        LOG_ERROR(CONSOLE, "cannot register the shell commands (%d)", rc);
    }
    return rc;
}

int console_vm_port(const char *name, uint16_t port)
{
    char line[CON_AUTORUN_MAX];
    size_t len = strlen(name);
    int rc;

    if (!g_telnet) {
        return -ENODEV;
    }
    if (len == 0 || len >= CON_AUTORUN_MAX - 9) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return -EINVAL;
        }
    }
    fmt_snprintf(line, sizeof(line), "console %s", name);
    rc = con_telnetd_listen(port, line);
    if (rc == 0) {
        LOG_INFO(CONSOLE, "vm %s: console on TCP port %u", name, port);
    }
    return rc;
}

int console_init(void)
{
    const struct con_config *cfg = &g_con_config;
    struct net_info ni;
    char acl[128];
    int first_err = 0;
    int rc;

    if (net_get_info(&ni) != 0) {
        LOG_WARN(CONSOLE, "no network: the telnet console and the log stream are not started");
        return -ENODEV;
    }
    rc = register_commands();
    if (rc != 0) {
        return rc;
    }
    auth_limiter_init(&g_limiter);
    fmt_snprintf(g_banner, sizeof(g_banner), "Petrel %s (%s)", PETREL_VERSION, PETREL_GIT);
    g_env.cfg = cfg;
    g_env.limiter = &g_limiter;
    g_env.banner = g_banner;
    acl_format(&cfg->allow, acl, sizeof(acl));

    if (cfg->port != 0) {
        rc = con_telnetd_start(&g_env, cfg->port);
        if (rc == 0) {
            g_telnet = true;
            LOG_INFO(CONSOLE, "telnet console on TCP port %u, %s, from %s, idle timeout %s",
                     cfg->port,
                     cfg->password.set ? "password set" : "read-only (no console.password)", acl,
                     cfg->idle_s > 0 ? "on" : "off");
        } else {
            first_err = rc;
        }
    } else {
        LOG_INFO(CONSOLE, "telnet console off (console.port=0)");
    }
    if (cfg->logstream_port != 0) {
        rc = con_logstream_start(cfg->logstream_port, &cfg->allow);
        if (rc == 0) {
            g_logstream = true;
            LOG_INFO(CONSOLE, "log stream on TCP port %u", cfg->logstream_port);
        } else if (first_err == 0) {
            first_err = rc;
        }
    }
    if (cfg->syslog) {
        char ip[NETADDR_STR_MAX];

        netaddr_format(cfg->syslog_ip, ip, sizeof(ip));
        rc = con_syslog_start(cfg->syslog_ip, cfg->syslog_port);
        if (rc == 0) {
            g_syslog = true;
            LOG_INFO(CONSOLE, "syslog (RFC 5424 over UDP) to %s:%u", ip, cfg->syslog_port);
        } else {
            LOG_ERROR(CONSOLE, "syslog to %s:%u not started (%d)", ip, cfg->syslog_port, rc);
            if (first_err == 0) {
                first_err = rc;
            }
        }
    }
    g_hook.fn = console_poll;
    g_hook.ctx = NULL;
    g_hook.name = "console";
    mainloop_add_poll(&g_hook);
    return first_err;
}
