/* The guest register file as the VMM and its instruction emulator see it. */
#ifndef PETREL_VMM_REGS_H
#define PETREL_VMM_REGS_H

#include "../kernel/types.h"

/* General registers in x86 encoding order, so a ModRM/REX register number indexes gpr[]. */
enum vmm_gpr {
    VMM_RAX,
    VMM_RCX,
    VMM_RDX,
    VMM_RBX,
    VMM_RSP,
    VMM_RBP,
    VMM_RSI,
    VMM_RDI,
    VMM_R8,
    VMM_R9,
    VMM_R10,
    VMM_R11,
    VMM_R12,
    VMM_R13,
    VMM_R14,
    VMM_R15,
    VMM_NGPR
};

enum vmm_seg { VMM_ES, VMM_CS, VMM_SS, VMM_DS, VMM_FS, VMM_GS, VMM_NSEG };

struct vmm_segment {
    uint16_t selector;
    uint16_t attrib; /* VMCB packed form: type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1 */
    uint32_t limit;
    uint64_t base;
};

/* CPU mode of the guest for decoding and address translation. */
enum vmm_cpu_mode {
    VMM_MODE_REAL,   /* CR0.PE = 0 */
    VMM_MODE_PROT16, /* protected, CS.D = 0 */
    VMM_MODE_PROT32, /* protected, CS.D = 1 */
    VMM_MODE_LONG64, /* EFER.LMA and CS.L */
    VMM_MODE_COMPAT, /* EFER.LMA, CS.L = 0 (16 or 32 by CS.D) */
};

struct vmm_regs {
    uint64_t gpr[VMM_NGPR];
    uint64_t rip;
    uint64_t rflags;
    uint64_t cr0, cr2, cr3, cr4, efer;
    struct vmm_segment seg[VMM_NSEG];
};

#define VMM_RFLAGS_CF (1u << 0)
#define VMM_RFLAGS_PF (1u << 2)
#define VMM_RFLAGS_AF (1u << 4)
#define VMM_RFLAGS_ZF (1u << 6)
#define VMM_RFLAGS_SF (1u << 7)
#define VMM_RFLAGS_TF (1u << 8)
#define VMM_RFLAGS_IF (1u << 9)
#define VMM_RFLAGS_DF (1u << 10)
#define VMM_RFLAGS_OF (1u << 11)

#endif
