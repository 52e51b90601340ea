/* The console's command tables (one file per group), registered by console_init. */
#ifndef PETREL_CON_CMDS_H
#define PETREL_CON_CMDS_H

#include "../kernel/types.h"

struct shell;

int con_cmds_sys_register(void);  /* version uptime mem cpu pci who reboot halt */
int con_cmds_net_register(void);  /* ifconfig arp netstat ping */
int con_cmds_log_register(void);  /* log */
int con_cmds_ping_register(void); /* ping */
int con_cmds_vm_register(void);   /* vms vm console */

/* Milliseconds since boot. */
uint64_t con_now_ms(void);
/* "1 d 02:03:04" or "02:03:04" for a duration in milliseconds. */
void con_fmt_duration(uint64_t ms, char *buf, size_t len);

#endif
