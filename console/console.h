/* The remote management console: telnet server, management shell, log stream, syslog.
 * console_init runs once the network is up (kernel/main.c). */
#ifndef PETREL_CONSOLE_H
#define PETREL_CONSOLE_H

#include "../kernel/types.h"

/* Starts what the command line asks for (console.*, logstream.port, syslog=) and registers
 * the console's main-loop hook. Does nothing but log a line when the network stack did not
 * start. Returns 0, -ENODEV without a network, or the first start error. */
int console_init(void);

/* Gives VM `name` its own console port, like QEMU's -serial telnet:: a telnet client there
 * logs in (the console's password rules) and lands on the VM's serial console; Ctrl-]
 * ends the connection. For petrel.conf's console_port (the VM's section). Returns 0,
 * -ENODEV (no console running), -EINVAL (a name with characters other than letters, digits,
 * '-', '_', '.'), or the listener's errors. */
int console_vm_port(const char *name, uint16_t port);

#endif
