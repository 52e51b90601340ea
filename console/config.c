/* Console settings from the command line (see config.h). */
#include "config.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../netstack/netaddr.h"

struct con_config g_con_config = {
    .port = CON_TELNET_PORT,
    .idle_s = CON_IDLE_DEFAULT_S,
    .logstream_port = CON_LOGSTREAM_PORT,
    .syslog_port = CON_SYSLOG_PORT,
};

void con_config_defaults(struct con_config *c)
{
    memset(c, 0, sizeof(*c));
    c->port = CON_TELNET_PORT;
    c->idle_s = CON_IDLE_DEFAULT_S;
    c->logstream_port = CON_LOGSTREAM_PORT;
    c->syslog_port = CON_SYSLOG_PORT;
}

static int need_value(const char *value, bool has_value, const char *what, char *msg, size_t msglen)
{
    if (!has_value || value == NULL || value[0] == '\0') {
        fmt_snprintf(msg, msglen, "expected %s", what);
        return -EINVAL;
    }
    return 0;
}

int con_parse_port(const char *s, bool allow_zero, uint16_t *out)
{
    uint64_t v;

    if (s == NULL || s[0] < '0' || s[0] > '9' || str_to_u64(s, &v) != 0 || v > 65535 ||
        (v == 0 && !allow_zero)) {
        return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

int con_parse_hostport(const char *s, uint16_t def, uint32_t *ip, uint16_t *port)
{
    char host[NETADDR_STR_MAX];
    const char *colon = strchr(s, ':');
    size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);

    if (len == 0 || len >= sizeof(host)) {
        return -EINVAL;
    }
    memcpy(host, s, len);
    host[len] = '\0';
    if (netaddr_parse_ip4(host, ip) != 0) {
        return -EINVAL;
    }
    if (colon == NULL) {
        *port = def;
        return 0;
    }
    return con_parse_port(colon + 1, false, port);
}

int con_param_password(const char *value, bool has_value, char *msg, size_t msglen)
{
    struct auth_secret s;
    const char *why = "";
    int rc = need_value(value, has_value, "console.password=sha256:SALT:HASH", msg, msglen);

    if (rc != 0) {
        return rc;
    }
    if (auth_parse(value, &s, &why) != 0) {
        fmt_snprintf(msg, msglen, "console.password: %s; the console stays read-only", why);
        return -EINVAL;
    }
    g_con_config.password = s;
    return 0;
}

static int port_key(const char *key, const char *value, bool has_value, uint16_t *dst, char *msg,
                    size_t msglen)
{
    uint16_t port;

    if (!has_value || con_parse_port(value, true, &port) != 0) {
        fmt_snprintf(msg, msglen, "expected %s=PORT (1..65535, or 0 for off)", key);
        return -EINVAL;
    }
    *dst = port;
    return 0;
}

int con_param_port(const char *value, bool has_value, char *msg, size_t msglen)
{
    return port_key("console.port", value, has_value, &g_con_config.port, msg, msglen);
}

int con_param_logstream_port(const char *value, bool has_value, char *msg, size_t msglen)
{
    return port_key("logstream.port", value, has_value, &g_con_config.logstream_port, msg, msglen);
}

int con_param_allow(const char *value, bool has_value, char *msg, size_t msglen)
{
    struct acl a;
    char err[64];
    int rc = need_value(value, has_value, "console.allow=A.B.C.D/N[,...]", msg, msglen);

    if (rc != 0) {
        return rc;
    }
    if (acl_parse(value, &a, err, sizeof(err)) != 0) {
        fmt_snprintf(msg, msglen, "console.allow: %s", err);
        return -EINVAL;
    }
    g_con_config.allow = a;
    return 0;
}

int con_param_idle(const char *value, bool has_value, char *msg, size_t msglen)
{
    uint64_t v;

    if (!has_value || value == NULL || value[0] < '0' || value[0] > '9' ||
        str_to_u64(value, &v) != 0 || v > CON_IDLE_MAX_S) {
        fmt_snprintf(msg, msglen, "expected console.idle=SECONDS (0..%u, 0: never)",
                     CON_IDLE_MAX_S);
        return -EINVAL;
    }
    g_con_config.idle_s = (uint32_t)v;
    return 0;
}

int con_param_syslog(const char *value, bool has_value, char *msg, size_t msglen)
{
    uint32_t ip;
    uint16_t port;

    if (!has_value || value == NULL ||
        con_parse_hostport(value, CON_SYSLOG_PORT, &ip, &port) != 0) {
        fmt_snprintf(msg, msglen, "expected syslog=A.B.C.D[:PORT]");
        return -EINVAL;
    }
    g_con_config.syslog = true;
    g_con_config.syslog_ip = ip;
    g_con_config.syslog_port = port;
    return 0;
}

size_t con_redact_cmdline(const char *in, char *out, size_t outlen)
{
    static const char key[] = "console.password=";
    static const char mask[] = "*****";
    size_t o = 0;
    bool word_start = true;

    for (size_t i = 0; in[i] != '\0';) {
        if (word_start && strncmp(in + i, key, sizeof(key) - 1) == 0) {
            for (size_t k = 0; k < sizeof(key) - 1; k++, o++) {
                if (o + 1 < outlen) {
                    out[o] = key[k];
                }
            }
            for (size_t k = 0; k < sizeof(mask) - 1; k++, o++) {
                if (o + 1 < outlen) {
                    out[o] = mask[k];
                }
            }
            i += sizeof(key) - 1;
            while (in[i] != '\0' && in[i] != ' ' && in[i] != '\t') {
                i++; /* the value: a password hash never holds spaces or quotes */
            }
            word_start = false;
            continue;
        }
        word_start = in[i] == ' ' || in[i] == '\t';
        if (o + 1 < outlen) {
            out[o] = in[i];
        }
        o++;
        i++;
    }
    if (outlen > 0) {
        out[o < outlen ? o : outlen - 1] = '\0';
    }
    return o;
}
