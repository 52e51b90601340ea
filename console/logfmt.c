/* Log stream lines and RFC 5424 syslog messages (see logfmt.h). */
#include "logfmt.h"
#include "config.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"

static size_t fitted(int n, size_t len)
{
    if (n < 0 || len == 0) {
        return 0;
    }
    return (size_t)n < len ? (size_t)n : len - 1;
}

/* The boot log shows the kernel command line, which may hold the console password's hash:
 * it never leaves the appliance in a log stream or syslog message. Returns r, or a copy in
 * *tmp with the value masked. */
static bool contains(const char *s, const char *what)
{
    size_t n = strlen(what);

    for (; *s != '\0'; s++) {
        if (strncmp(s, what, n) == 0) {
            return true;
        }
    }
    return false;
}

static const struct log_record *redacted(const struct log_record *r, struct log_record *tmp)
{
    if (!contains(r->text, "console.password=")) {
        return r;
    }
    *tmp = *r;
    con_redact_cmdline(r->text, tmp->text, sizeof(tmp->text));
    return tmp;
}

size_t logfmt_line(const struct log_record *r, char *buf, size_t len)
{
    struct log_record tmp;
    size_t n;

    if (len < 2) {
        return 0;
    }
    r = redacted(r, &tmp);
    n = fitted(log_format(r, buf, len - 1), len - 1);
    buf[n++] = '\n';
    buf[n] = '\0';
    return n;
}

size_t logfmt_dropped(uint64_t n, char *buf, size_t len)
{
    return fitted(fmt_snprintf(buf, len, "[%llu lines dropped]\n", (unsigned long long)n), len);
}

unsigned logfmt_facility(enum log_comp comp)
{
    switch (comp) {
    case LOG_COMP_VMM:
    case LOG_COMP_SVM:
    case LOG_COMP_NPT:
    case LOG_COMP_EXIT:
    case LOG_COMP_IO:
    case LOG_COMP_EMU:
        return SYSLOG_FAC_LOCAL0;
    case LOG_COMP_NET:
    case LOG_COMP_VNET:
    case LOG_COMP_DRV:
        return SYSLOG_FAC_LOCAL1;
    case LOG_COMP_CONSOLE:
        return SYSLOG_FAC_LOCAL2;
    default:
        return SYSLOG_FAC_KERN;
    }
}

unsigned logfmt_severity(enum log_level level)
{
    switch (level) {
    case LOG_LVL_ERROR:
        return 3;
    case LOG_LVL_WARN:
        return 4;
    case LOG_LVL_INFO:
        return 6;
    default:
        return 7;
    }
}

size_t logfmt_syslog(const struct log_record *r, const char *host, char *buf, size_t len)
{
    struct log_record tmp;
    unsigned pri =
        logfmt_facility((enum log_comp)r->comp) * 8 + logfmt_severity((enum log_level)r->level);
    /* sequenceId is 1..2147483647 and wraps to 1 (RFC 5424 7.3.1). */
    unsigned long long seq = (r->seq - 1) % 2147483647ULL + 1;
    unsigned long long cs = r->time_ns / 10000000ULL;
    int n;

    r = redacted(r, &tmp);
    if (r->vm[0] != '\0') {
        n = fmt_snprintf(buf, len,
                         "<%u>1 - %s petrel - %s [meta sequenceId=\"%llu\" sysUpTime=\"%llu\"] "
                         "[%s] %s",
                         pri, host, log_comp_name((enum log_comp)r->comp), seq, cs, r->vm, r->text);
    } else {
        n = fmt_snprintf(buf, len,
                         "<%u>1 - %s petrel - %s [meta sequenceId=\"%llu\" sysUpTime=\"%llu\"] %s",
                         pri, host, log_comp_name((enum log_comp)r->comp), seq, cs, r->text);
    }
    return fitted(n, len);
}
