/* Log records as the network sees them: lines of the log stream (TCP 5140) and RFC 5424
 * syslog messages (UDP). Pure (runs hosted). */
#ifndef PETREL_CON_LOGFMT_H
#define PETREL_CON_LOGFMT_H

#include "../kernel/log.h"

#define LOGFMT_LINE_MAX   (LOG_TEXT_MAX + LOG_VM_MAX + 48)
#define LOGFMT_SYSLOG_MAX (LOG_TEXT_MAX + LOG_VM_MAX + 160)

/* RFC 5424 facilities Petrel uses. */
#define SYSLOG_FAC_KERN   0
#define SYSLOG_FAC_LOCAL0 16 /* the hypervisor: vmm svm npt exit io emu */
#define SYSLOG_FAC_LOCAL1 17 /* networking: net vnet drv */
#define SYSLOG_FAC_LOCAL2 18 /* the console (logins, sessions) */

/* "uptime comp level [vm] text\n" (log_format's layout). Returns the length (cut to fit).
 * Here and in syslog messages the value of a console.password= in the text (the boot log's
 * command line) is masked. */
size_t logfmt_line(const struct log_record *r, char *buf, size_t len);
/* "[N lines dropped]\n". */
size_t logfmt_dropped(uint64_t n, char *buf, size_t len);
unsigned logfmt_facility(enum log_comp comp);
/* RFC 5424 severity: error 3, warn 4, info 6, debug and trace 7. */
unsigned logfmt_severity(enum log_level level);
/* One RFC 5424 message:
 *   <PRI>1 - HOST petrel - COMP [meta sequenceId="SEQ" sysUpTime="CS"] [vm] text
 * No wall clock exists, so TIMESTAMP is the NILVALUE and the uptime goes into the meta
 * SD-ELEMENT (RFC 5424 7.3.2, hundredths of a second). Returns the length (cut to fit). */
size_t logfmt_syslog(const struct log_record *r, const char *host, char *buf, size_t len);

#endif
