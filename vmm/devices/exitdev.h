/* The exit device: QEMU's `isa-debug-exit` at port 0xF4. A guest write of value V (of the
 * access's width, at any port of the device's iosize-byte range) ends the VM with exit code
 * (V << 1) | 1, as QEMU does (QEMU exits its process with that status, so a shell sees it
 * modulo 256; here the whole value is the code, computed in 32 bits). So a guest cannot
 * produce an even code, and 0 is never a clean exit: kvm-unit-tests writes 0 for "pass" and
 * reads its result as code 1. Reads return 0, as in QEMU. The VM ends through
 * vmm_vm_request_exit (not a fail stop). */
#ifndef PETREL_VMM_DEV_EXITDEV_H
#define PETREL_VMM_DEV_EXITDEV_H

#include "../vmm_dev.h"

#define EXITDEV_PORT 0xF4

struct vmm_exitdev;

struct vmm_exitdev_config {
    uint16_t port;   /* 0: 0xF4 */
    unsigned iosize; /* 1-4 bytes of ports; 0: 4 (what kvm-unit-tests passes to QEMU) */
};

/* cfg may be NULL. -EINVAL for an iosize above 4. */
int vmm_dev_exitdev_create(struct vmm_vm *vm, const struct vmm_exitdev_config *cfg,
                           struct vmm_exitdev **out);

/* The code a write of `value` produces. */
int vmm_exitdev_code(uint32_t value);

#endif
