/* The MMIO instruction emulator: decodes (Zydis) and carries out the one guest instruction that
 * hit an MMIO range, so the VMM core can route its access to a device.
 *
 * Pure and OS-independent (hosted unit tests and a libFuzzer target drive it). The core, on a
 * nested page fault in a registered MMIO range: fetches the instruction bytes with
 * vmm_fetch_insn (walk.h), fills a struct vmm_emu and calls vmm_emulate_mmio. The emulator
 * reaches devices and guest memory only through the callbacks in struct vmm_emu_ops.
 *
 * Supported (what Linux and the test guests use against MMIO), legacy encoding only:
 *   MOV     r/m <-> reg, imm -> r/m, the moffs forms A0-A3 (any mode)
 *   MOVZX, MOVSX, MOVSXD   loads from MMIO, zero- or sign-extended
 *   AND OR XOR ADD SUB     on MMIO (read-modify-write) or with MMIO as the source
 *   CMP TEST               read only; only RFLAGS change
 *   XCHG    r/m <-> reg
 *   STOS, MOVS             with REP (F3, and F2 which string moves treat as REP), DF, 16/32/64-bit
 *                          address size, a segment override on the MOVS source
 * Operand sizes 8/16/32/64; AH/CH/DH/BH; a 32-bit register write zero-extends to 64 bits (as the
 * hardware does in every mode); a LOCK prefix is accepted where the CPU accepts it (Zydis refuses
 * it elsewhere, where the CPU raises #UD). Flags: CF OF SF ZF AF PF as the CPU computes them for
 * ADD/SUB/CMP; for AND/OR/XOR/TEST CF = OF = 0 and AF = 0 (architecturally undefined; 0 is what
 * QEMU and current CPUs give). Other RFLAGS bits never change. Anything else is -ENOTSUP.
 *
 * Which address is the MMIO one:
 *   - one memory operand (all but STOS/MOVS): emu->gpa, the faulting guest-physical address
 *     (EXITINFO2), when its page offset equals the operand's linear address's (the access starts
 *     in the faulting page). Otherwise (an access straddling two pages) the operand's linear
 *     address goes through ops->translate and must land in MMIO (ops->is_mmio), else -ENOTSUP.
 *   - STOS/MOVS: every element's addresses go through ops->translate (cached per 4 KiB page within
 *     one call) and ops->is_mmio decides per side: MMIO sides use mmio_read/mmio_write, RAM sides
 *     mem_read/mem_write on the linear address. So MOVS from RAM to MMIO, MMIO to RAM and MMIO to
 *     MMIO all work, and a REP that runs from an MMIO page into RAM too.
 *
 * REP: one call does the whole count, but at most emu->max_rep elements (VMM_EMU_REP_DEFAULT
 * when 0). When it stops early, RIP is unchanged, rCX/rSI/rDI count what is left and
 * emu->rep_pending is set: the core may call again at once or resume the guest, which re-executes
 * the instruction and faults again (a pending interrupt gets in between, as on hardware).
 *
 * Results: 0 and regs updated (GPRs, RFLAGS, RIP advanced by the instruction length, wrapping
 * at the code size). -ENOTSUP: outside the supported set or undecodable (emu->why says which;
 * vmm_emulate_describe prints mnemonic and bytes for the fail-stop message). -ENODATA: the bytes
 * end inside the instruction (fetch more, or inject the fetch fault). -EINVAL: a bad struct
 * vmm_emu. A callback's negative result is returned unchanged; for a non-REP instruction regs are
 * then untouched; inside a REP the registers reflect the elements already done (what the CPU
 * shows when an element faults). A core that wants to inject #PF for a RAM-side fault records the
 * fault code in its ctx in the callback. Not emulated: segment limit checks (the CPU checked the
 * faulting access), TF single-step traps, alignment checks. Assumes a little-endian host. */
#ifndef PETREL_VMM_EMULATE_H
#define PETREL_VMM_EMULATE_H

#include "../kernel/types.h"
#include "regs.h"

#define VMM_EMU_INSN_MAX    15
#define VMM_EMU_REP_DEFAULT 4096u

/* Callbacks into the core. Results are 0 or a negative errno (a positive result counts as 0). */
struct vmm_emu_ops {
    /* An access to a device: size is 1, 2, 4 or 8. Reads may leave junk above size bytes. */
    int (*mmio_read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
    int (*mmio_write)(void *ctx, uint64_t gpa, unsigned size, uint64_t val);
    /* Guest RAM by linear address (the core walks and checks): the RAM side of STOS/MOVS. */
    int (*mem_read)(void *ctx, uint64_t linear, void *buf, size_t len);
    int (*mem_write)(void *ctx, uint64_t linear, const void *buf, size_t len);
    /* Linear to guest-physical for a read or write access (vmm_walk with the guest's CPL). */
    int (*translate)(void *ctx, uint64_t linear, bool write, uint64_t *gpa);
    /* True when gpa is in a registered MMIO range (not RAM). */
    bool (*is_mmio)(void *ctx, uint64_t gpa);
};

struct vmm_emu {
    /* Filled by the caller. */
    uint8_t insn[VMM_EMU_INSN_MAX]; /* instruction bytes at RIP (vmm_fetch_insn) */
    size_t insn_len;                /* how many of them are valid: 1..15 */
    enum vmm_cpu_mode mode;
    struct vmm_regs *regs; /* read and updated in place */
    uint64_t gpa;          /* the faulting guest-physical address */
    uint32_t max_rep;      /* string elements per call; 0 = VMM_EMU_REP_DEFAULT */
    const struct vmm_emu_ops *ops;
    void *ctx; /* passed to every callback */

    /* Set by vmm_emulate_mmio. */
    unsigned len;      /* decoded instruction length (0 when it did not decode) */
    uint32_t elements; /* STOS/MOVS elements done in this call */
    bool rep_pending;  /* a REP stopped at max_rep: RIP unchanged, rCX counts the rest */
    const char *why;   /* on an error: a short static reason for the log, else NULL */
};

/* Emulates the instruction in emu->insn; see the top of this file. */
int vmm_emulate_mmio(struct vmm_emu *emu);

/* Prints "mnemonic [bytes]" (plus the reason when emu->why is set) for a log or fail-stop
 * message, e.g. "inc [ff 00] (unsupported instruction)". Never fails: undecodable bytes print
 * as "(bad)". Returns the length the full text would have (snprintf-like). */
int vmm_emulate_describe(const struct vmm_emu *emu, char *buf, size_t len);

/* The length of the instruction in insn[0..n) decoded in mode (COMPAT looks at regs' CS.D; regs
 * may be NULL in the other modes), for exits whose next RIP the CPU does not give (no NRIPS under
 * QEMU): 0 and *len, -ENODATA when the bytes end inside it, -ENOTSUP when it is undecodable. */
int vmm_insn_length(const struct vmm_regs *regs, enum vmm_cpu_mode mode, const uint8_t *insn,
                    size_t n, unsigned *len);

#endif
