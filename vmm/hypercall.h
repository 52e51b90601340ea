/* The VMMCALL hypercall ABI (docs/hypercalls.md): RAX selects the function, arguments in RBX,
 * RCX, RDX; the result comes back in RAX (0 or a negative errno). Only CPL 0 may call. */
#ifndef PETREL_VMM_HYPERCALL_H
#define PETREL_VMM_HYPERCALL_H

#define VMM_HC_PRINT 0 /* RBX = guest-physical address, RCX = length (<= VMM_HC_PRINT_MAX) */
#define VMM_HC_EXIT  1 /* RBX = exit code: the VM ends */
#define VMM_HC_NOP   2 /* nothing, at any CPL: returns 0 (the exit benchmark's bare exit) */

#define VMM_HC_PRINT_MAX 4096

#endif
