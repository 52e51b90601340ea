/* The console's settings and the command-line keys that set them (kernel/params.c lists the
 * keys; these functions check and store the values). Pure (runs hosted). */
#ifndef PETREL_CON_CONFIG_H
#define PETREL_CON_CONFIG_H

#include "../kernel/types.h"
#include "acl.h"
#include "auth.h"

#define CON_TELNET_PORT    23
#define CON_LOGSTREAM_PORT 5140
#define CON_SYSLOG_PORT    514
#define CON_IDLE_DEFAULT_S 900 /* 15 minutes without input */
#define CON_IDLE_MAX_S     86400

struct con_config {
    struct auth_secret password; /* console.password=sha256:SALT:HASH; unset: read-only */
    uint16_t port;               /* console.port=N (0: no telnet server) */
    struct acl allow;            /* console.allow=NET/N,...; empty: everyone */
    uint32_t idle_s;             /* console.idle=SECONDS (0: never) */
    uint16_t logstream_port;     /* logstream.port=N (0: no log stream) */
    bool syslog;                 /* syslog=A.B.C.D[:PORT] */
    uint32_t syslog_ip;          /* host byte order */
    uint16_t syslog_port;
};

extern struct con_config g_con_config;

void con_config_defaults(struct con_config *c);

/* Command-line keys (struct cmdline_key's fn). Each returns 0, or -EINVAL with msg set; a
 * rejected value leaves the setting as it was. */
int con_param_password(const char *value, bool has_value, char *msg, size_t msglen);
int con_param_port(const char *value, bool has_value, char *msg, size_t msglen);
int con_param_allow(const char *value, bool has_value, char *msg, size_t msglen);
int con_param_idle(const char *value, bool has_value, char *msg, size_t msglen);
int con_param_logstream_port(const char *value, bool has_value, char *msg, size_t msglen);
int con_param_syslog(const char *value, bool has_value, char *msg, size_t msglen);

/* Parses a TCP/UDP port 1..65535 (0 too when allow_zero: "off"). */
int con_parse_port(const char *s, bool allow_zero, uint16_t *out);
/* Parses "A.B.C.D" or "A.B.C.D:PORT" (default port `def`). */
int con_parse_hostport(const char *s, uint16_t def, uint32_t *ip, uint16_t *port);

/* Copies a kernel command line with the value of console.password replaced by "*****", so
 * the hash does not reach the log. Returns the length the whole text needs. */
size_t con_redact_cmdline(const char *in, char *out, size_t outlen);

#endif
