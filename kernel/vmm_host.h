/* The kernel's side of the VMM: struct vmm_host filled from kernel facilities, and each VM's
 * console output ring (what the console's `console NAME` will read). */
#ifndef PETREL_KERNEL_VMM_HOST_H
#define PETREL_KERNEL_VMM_HOST_H

#include "types.h"

struct vmm_vm;
struct vmm_host;

#define VM_CONSOLE_RING 8192
#define VM_CONSOLE_LINE 160

/* Everything a VM printed on its console, oldest bytes overwritten first. seq counts every
 * byte ever written, so a reader at an older position knows how much it missed. */
struct vm_console {
    uint8_t ring[VM_CONSOLE_RING];
    uint64_t seq; /* bytes written so far */
    char line[VM_CONSOLE_LINE + 1];
    size_t line_len; /* the partial line echoed to the log */
};

const struct vmm_host *kernel_vmm_host(void);
/* Gives the VM its console ring (kept as the VM's host context). */
int vm_console_attach(struct vmm_vm *vm);
void vm_console_detach(struct vmm_vm *vm);
/* Copies bytes from position *pos on (at most len); *pos advances. Returns the count; when
 * *pos was overwritten, it first moves to the oldest byte still held. */
size_t vm_console_read(struct vmm_vm *vm, uint64_t *pos, uint8_t *buf, size_t len);

#endif
