/* The guest page-table walker: guest-virtual (linear) to guest-physical translation.
 *
 * Pure and OS-independent: the walker reads guest page tables only through env->read_gpa, so the
 * VMM core gives it checked guest memory and unit tests give it a fake memory.
 *
 * Paging modes, chosen from CR0.PG, CR4.PAE, CR4.PSE and EFER.LMA like the CPU does:
 *   CR0.PG = 0            identity (real mode and protected mode without paging), 32-bit linear
 *   32-bit (2-level)      4 KiB pages, 4 MiB pages when CR4.PSE (PSE-36: PDE bits 20:13 give
 *                         physical bits 39:32)
 *   PAE (3-level)         4 KiB and 2 MiB pages, the four PDPTEs read from CR3 on every walk
 *                         (AMD does not cache them at CR3 load the way Intel does)
 *   long mode (4-level)   4 KiB, 2 MiB and 1 GiB pages; 5-level paging (CR4.LA57) is -ENOTSUP
 *
 * Checks, in the CPU's priority order: present bits; reserved bits where they are cheap (physical
 * address bits at or above env->phys_bits, XD without EFER.NXE, PS in a PML4E, misaligned large
 * pages, the reserved bits of a PAE PDPTE and of a PSE-36 4 MiB PDE); then write permission
 * (supervisor writes honour CR0.WP), user/supervisor, NX (with EFER.NXE) and SMEP. Not checked:
 * SMAP (the walker does not know RFLAGS.AC or whether an access is implicit), protection keys.
 * Accessed and dirty bits are set only when env->write_gpa is given, and only after a walk
 * succeeds (one byte written per entry, so the rest of the entry is never rewritten).
 *
 * Errors: -EFAULT is a guest page fault (inject #PF with *fault_code and CR2 = the linear
 * address); -EINVAL a non-canonical address in long mode (the CPU raises #GP) or a bad argument;
 * -EIO when read_gpa or write_gpa failed (a page table outside guest RAM: fail stop);
 * -ENOTSUP for 5-level paging. */
#ifndef PETREL_VMM_WALK_H
#define PETREL_VMM_WALK_H

#include "../kernel/types.h"
#include "regs.h"

/* #PF error code bits (also the access flags below use the same positions). */
#define VMM_PF_P    (1u << 0) /* the entry was present: a protection or reserved-bit fault */
#define VMM_PF_W    (1u << 1) /* the access was a write */
#define VMM_PF_U    (1u << 2) /* the access was made at CPL 3 */
#define VMM_PF_RSVD (1u << 3) /* a reserved bit was set in an entry */
#define VMM_PF_ID   (1u << 4) /* instruction fetch (reported only with NX in effect or SMEP) */

/* Access flags for vmm_walk: the same bit positions as the error code. No flag: supervisor read. */
#define VMM_ACC_WRITE VMM_PF_W
#define VMM_ACC_USER  VMM_PF_U
#define VMM_ACC_EXEC  VMM_PF_ID

/* Control register bits the walker looks at (prefixed so they never clash with the core's). */
#define VMM_WALK_CR0_PE   (1ull << 0)
#define VMM_WALK_CR0_WP   (1ull << 16)
#define VMM_WALK_CR0_PG   (1ull << 31)
#define VMM_WALK_CR4_PSE  (1ull << 4)
#define VMM_WALK_CR4_PAE  (1ull << 5)
#define VMM_WALK_CR4_LA57 (1ull << 12)
#define VMM_WALK_CR4_SMEP (1ull << 20)
#define VMM_WALK_EFER_LME (1ull << 8)
#define VMM_WALK_EFER_LMA (1ull << 10)
#define VMM_WALK_EFER_NXE (1ull << 11)

/* Segment attribute bits in the VMCB packed form (struct vmm_segment.attrib). */
#define VMM_WALK_SEG_L  (1u << 9)
#define VMM_WALK_SEG_DB (1u << 10)

/* The longest x86 instruction. */
#define VMM_FETCH_MAX 15

struct vmm_walk_env {
    uint64_t cr0, cr3, cr4, efer;
    /* The guest's MAXPHYADDR for reserved-bit checks: 32..52; 0 means 52. */
    unsigned phys_bits;
    /* Reads guest-physical memory; returns 0 or a negative errno (any failure becomes -EIO). */
    int (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len);
    /* Optional: writes guest-physical memory, used only to set accessed/dirty bits. */
    int (*write_gpa)(void *ctx, uint64_t gpa, const void *buf, size_t len);
    void *ctx;
};

/* Fills env from the guest's control registers in regs; phys_bits is 0 (52). */
void vmm_walk_env_init(struct vmm_walk_env *env, const struct vmm_regs *regs,
                       int (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len),
                       int (*write_gpa)(void *ctx, uint64_t gpa, const void *buf, size_t len),
                       void *ctx);

/* Translates the linear address gva for an access (VMM_ACC_* flags) into *gpa. On -EFAULT,
 * *fault_code holds the #PF error code for the guest (fault_code may be NULL). */
int vmm_walk(const struct vmm_walk_env *env, uint64_t gva, unsigned access, uint64_t *gpa,
             uint64_t *fault_code);

/* The CPU mode from CR0.PE, EFER.LMA and CS.L/CS.D (the VMCB's CS attributes). */
enum vmm_cpu_mode vmm_cpu_mode_of(const struct vmm_regs *regs);

/* Address and operand size of the code in this mode: 2, 4 or 8 bytes (COMPAT looks at CS.D). */
unsigned vmm_code_size(const struct vmm_regs *regs, enum vmm_cpu_mode mode);

/* The linear address of seg:offset. offset must already be truncated to the address size.
 * In 64-bit mode only FS and GS have a base (the others are flat); elsewhere the segment's
 * hidden base is added (also in real mode, where SVM keeps base = selector * 16) and the sum
 * wraps at 4 GiB. Segment limits are not checked: for the faulting access the CPU already did. */
uint64_t vmm_linear_addr(const struct vmm_regs *regs, enum vmm_seg seg, uint64_t offset,
                         enum vmm_cpu_mode mode);

/* Fetches up to `want` (<= VMM_FETCH_MAX) instruction bytes at linear address rip_linear; the
 * bytes may cross into a second page, which takes a second walk. access is VMM_ACC_USER when
 * the guest runs at CPL 3, else 0 (VMM_ACC_EXEC is added here). *got receives how many bytes
 * were fetched, also on failure: when the second page fails, the first page's bytes are there,
 * and the caller decodes them first (a short instruction does not need the second page); only
 * when the decoder wants more does it inject the fault (*fault_code, CR2 = *fault_addr).
 * Returns 0 when all `want` bytes were fetched, else the error of the failing walk or read. */
int vmm_fetch_insn(const struct vmm_walk_env *env, uint64_t rip_linear, unsigned access,
                   uint8_t *buf, size_t want, size_t *got, uint64_t *fault_code,
                   uint64_t *fault_addr);

#endif
