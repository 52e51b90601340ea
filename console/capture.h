/* The VNET capture stream (TCP port 5555, pcapng: one interface per port, named as the port)
 * and the console's `vnet` and `capture` commands (cmd_vnet.c). Each reader has its own tap and
 * byte ring; a reader that does not keep up loses packets (counted), forwarding never waits. */
#ifndef PETREL_CON_CAPTURE_H
#define PETREL_CON_CAPTURE_H

#include "../kernel/types.h"

#define CAPTURE_READERS 2
#define CAPTURE_RING    (256 * 1024) /* bytes buffered per reader */
#define CAPTURE_NAMES   16           /* ports `capture PORT...` may name (VNET_TAP_NAMES_MAX) */

/* Listens on `port` (console.allow applies). 0 or a negative errno. */
int con_capture_start(uint16_t port);
/* Pushes buffered bytes to the readers and closes finished connections (main loop). */
void con_capture_poll(void);

/* The selection every reader's tap uses (nnames 0: every port). 0, -EINVAL, -E2BIG. */
int con_capture_select(const char *const *names, size_t nnames);

struct con_capture_info {
    char peer[24];
    uint64_t packets; /* written to the stream */
    uint64_t bytes;
    uint64_t lost;   /* did not fit in the ring */
    size_t buffered; /* bytes waiting for the reader */
};
/* The readers now; the selection goes to names (up to CAPTURE_NAMES, each VNET_NAME_MAX). */
size_t con_capture_readers(struct con_capture_info *out, size_t max);
size_t con_capture_selection(char (*names)[32], size_t max);

/* Registers `vnet` and `capture` (called by kernel/vnet_glue.c when the switch exists). */
int con_cmds_vnet_register(void);

#endif
