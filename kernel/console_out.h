/* The serial console as a byte sink: log lines, the banner, panics. */
#ifndef PETREL_CONSOLE_OUT_H
#define PETREL_CONSOLE_OUT_H

#include "types.h"

void console_out_init(void);
/* Writes text straight to the serial port ("\n" becomes CR LF). Safe in any context. */
void console_out_raw(const char *s);

#endif
