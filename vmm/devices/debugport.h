/* Guest debug output ports: 0x80, the POST code port (every write is kept and counted and logged
 * at debug; Linux also writes it as an IO delay, so it stays quiet by default), and 0xE9, the
 * Bochs/QEMU debugcon (bytes are collected into lines and logged at info as
 * "vm NAME: debugcon: text"; reading it returns 0xE9, which is how guests detect it).
 *
 * A debugcon line is cut at '\n' or at DEBUGPORT_LINE_MAX bytes; '\r' is dropped and other
 * control bytes show as '.'. A partial line is logged on reset and destroy. */
#ifndef PETREL_VMM_DEV_DEBUGPORT_H
#define PETREL_VMM_DEV_DEBUGPORT_H

#include "../vmm_dev.h"

#define DEBUGPORT_LINE_MAX 120

struct vmm_debugport;

struct vmm_debugport_config {
    uint16_t post_port;     /* 0: 0x80 */
    uint16_t debugcon_port; /* 0: 0xE9 */
};

/* cfg may be NULL. */
int vmm_dev_debugport_create(struct vmm_vm *vm, const struct vmm_debugport_config *cfg,
                             struct vmm_debugport **out);

struct vmm_debugport_stats {
    uint8_t post_code;    /* last POST code written */
    uint64_t post_writes; /* POST code writes */
    uint64_t con_bytes;   /* debugcon bytes */
    uint64_t con_lines;   /* debugcon lines logged */
};
void vmm_debugport_stats(const struct vmm_debugport *d, struct vmm_debugport_stats *st);

#endif
