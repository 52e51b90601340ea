/* The MMIO instruction emulator (see emulate.h): Zydis decodes, this file carries out MOV,
 * MOVZX/MOVSX, the ALU group, XCHG and the STOS/MOVS string moves against the core's callbacks. */
#include <Zydis/Decoder.h>
#include <Zydis/Mnemonic.h>

#include "emulate.h"
#include "walk.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define STATUS_FLAGS                                                                               \
    (VMM_RFLAGS_CF | VMM_RFLAGS_PF | VMM_RFLAGS_AF | VMM_RFLAGS_ZF | VMM_RFLAGS_SF | VMM_RFLAGS_OF)

/* Zydis lists the general registers by width in x86 encoding order (AL CL DL BL AH CH DH BH SPL
 * BPL SIL DIL R8B..R15B, then AX.., EAX.., RAX..); gpr_of relies on it. */
_Static_assert(ZYDIS_REGISTER_R15B - ZYDIS_REGISTER_AL == 19, "zydis 8-bit register order");
_Static_assert(ZYDIS_REGISTER_R15W - ZYDIS_REGISTER_AX == 15, "zydis 16-bit register order");
_Static_assert(ZYDIS_REGISTER_R15D - ZYDIS_REGISTER_EAX == 15, "zydis 32-bit register order");
_Static_assert(ZYDIS_REGISTER_R15 - ZYDIS_REGISTER_RAX == 15, "zydis 64-bit register order");
_Static_assert(ZYDIS_REGISTER_GS - ZYDIS_REGISTER_ES == VMM_GS - VMM_ES, "zydis segment order");
_Static_assert(ZYDIS_REGISTER_DS - ZYDIS_REGISTER_ES == VMM_DS - VMM_ES, "zydis segment order");

/* One decoded instruction with all its operands (string moves keep theirs hidden). */
struct insn {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
};

/* A general register as an operand: gpr[idx], `size` bytes at bit `shift` (8 for AH..BH). */
struct gpr_ref {
    unsigned idx;
    unsigned size;
    unsigned shift;
};

/* An explicit operand of a one-memory-operand instruction. */
enum opnd_kind { OPND_REG, OPND_MEM, OPND_IMM };

struct opnd {
    enum opnd_kind kind;
    unsigned size; /* bytes */
    struct gpr_ref reg;
    uint64_t imm;
};

/* The last translation of one side of a string move: valid for its 4 KiB linear page. */
struct page_cache {
    bool valid;
    uint64_t lpage;
    uint64_t gpage;
    bool mmio;
};

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static int unsupported(struct vmm_emu *emu, const char *why)
{
    emu->why = why;
    LOG_DEBUG(EMU, "mmio emulation: %s", why);
    return -ENOTSUP;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static bool zydis_mode(const struct vmm_regs *regs, enum vmm_cpu_mode mode, ZydisMachineMode *mm,
                       ZydisStackWidth *sw)
{
    switch (mode) {
    case VMM_MODE_REAL:
        *mm = ZYDIS_MACHINE_MODE_REAL_16;
        *sw = ZYDIS_STACK_WIDTH_16;
        return true;
    case VMM_MODE_PROT16:
        *mm = ZYDIS_MACHINE_MODE_LEGACY_16;
        *sw = ZYDIS_STACK_WIDTH_16;
        return true;
    case VMM_MODE_PROT32:
        *mm = ZYDIS_MACHINE_MODE_LEGACY_32;
        *sw = ZYDIS_STACK_WIDTH_32;
        return true;
    case VMM_MODE_LONG64:
        *mm = ZYDIS_MACHINE_MODE_LONG_64;
        *sw = ZYDIS_STACK_WIDTH_64;
        return true;
    case VMM_MODE_COMPAT:
        if (regs == NULL) {
            return false;
        }
        if (regs->seg[VMM_CS].attrib & VMM_WALK_SEG_DB) {
            *mm = ZYDIS_MACHINE_MODE_LONG_COMPAT_32;
            *sw = ZYDIS_STACK_WIDTH_32;
        } else {
            *mm = ZYDIS_MACHINE_MODE_LONG_COMPAT_16;
            *sw = ZYDIS_STACK_WIDTH_16;
        }
        return true;
    }
    return false;
}

/* Decodes insn[0..n): 0, -ENODATA (truncated), -ENOTSUP (undecodable), -EINVAL (bad mode). */
static int decode(const struct vmm_regs *regs, enum vmm_cpu_mode mode, const uint8_t *bytes,
                  size_t n, struct insn *d, const char **why)
{
    ZydisDecoder dec;
    ZydisMachineMode mm;
    ZydisStackWidth sw;
    ZyanStatus st;

    if (!zydis_mode(regs, mode, &mm, &sw)) {
        *why = "bad cpu mode";
        return -EINVAL;
    }
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, mm, sw))) {
        *why = "decoder init failed";
        return -EINVAL;
    }
    st = ZydisDecoderDecodeFull(&dec, bytes, n, &d->in, d->op);
    if (st == ZYDIS_STATUS_NO_MORE_DATA) {
        *why = "instruction bytes truncated";
        return -ENODATA;
    }
    if (!ZYAN_SUCCESS(st)) {
        *why = "undecodable instruction";
        return -ENOTSUP;
    }
    return 0;
}

/* ---- registers ---------------------------------------------------------------------------- */

static bool gpr_of(ZydisRegister r, struct gpr_ref *g)
{
    g->shift = 0;
    if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_R15B) {
        unsigned i = (unsigned)(r - ZYDIS_REGISTER_AL);

        g->size = 1;
        if (i >= 4 && i < 8) {
            g->idx = i - 4; /* AH CH DH BH: bits 15:8 of RAX..RBX */
            g->shift = 8;
        } else {
            g->idx = i < 4 ? i : i - 4; /* SPL.. R15B follow AH..BH in the list */
        }
        return true;
    }
    if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W) {
        g->idx = (unsigned)(r - ZYDIS_REGISTER_AX);
        g->size = 2;
        return true;
    }
    if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D) {
        g->idx = (unsigned)(r - ZYDIS_REGISTER_EAX);
        g->size = 4;
        return true;
    }
    if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
        g->idx = (unsigned)(r - ZYDIS_REGISTER_RAX);
        g->size = 8;
        return true;
    }
    return false;
}

static uint64_t reg_read(const struct vmm_regs *regs, const struct gpr_ref *g)
{
    return (regs->gpr[g->idx] >> g->shift) & size_mask(g->size);
}

/* Writes like the CPU: 8- and 16-bit writes keep the other bits, 32-bit writes zero-extend. */
static void reg_write(struct vmm_regs *regs, const struct gpr_ref *g, uint64_t val)
{
    uint64_t *r = &regs->gpr[g->idx];

    switch (g->size) {
    case 1:
        *r = (*r & ~(0xffull << g->shift)) | ((val & 0xff) << g->shift);
        break;
    case 2:
        *r = (*r & ~0xffffull) | (val & 0xffff);
        break;
    case 4:
        *r = val & 0xffffffffull;
        break;
    default:
        *r = val;
        break;
    }
}

/* A register used as an address (rSI, rDI, rCX of a string move) at address size `size`. */
static struct gpr_ref addr_reg(unsigned idx, unsigned size)
{
    struct gpr_ref g = {.idx = idx, .size = size, .shift = 0};

    return g;
}

static void advance_rip(struct vmm_emu *emu, unsigned len)
{
    unsigned code = vmm_code_size(emu->regs, emu->mode);

    emu->regs->rip = (emu->regs->rip + len) & size_mask(code);
}

/* ---- flags -------------------------------------------------------------------------------- */

enum alu_op { ALU_ADD, ALU_SUB, ALU_AND, ALU_OR, ALU_XOR };

static bool parity_even(uint64_t v)
{
    uint8_t b = (uint8_t)v;

    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return (b & 1) == 0;
}

/* a OP b at `size` bytes; replaces the six status flags in *rflags. */
static uint64_t alu(enum alu_op op, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags)
{
    uint64_t mask = size_mask(size);
    uint64_t sign = 1ull << (size * 8 - 1);
    uint64_t f = 0;
    uint64_t r;

    a &= mask;
    b &= mask;
    switch (op) {
    case ALU_ADD:
        r = (a + b) & mask;
        if (r < a) {
            f |= VMM_RFLAGS_CF;
        }
        if ((a ^ r) & (b ^ r) & sign) {
            f |= VMM_RFLAGS_OF;
        }
        if ((a ^ b ^ r) & 0x10) {
            f |= VMM_RFLAGS_AF;
        }
        break;
    case ALU_SUB:
        r = (a - b) & mask;
        if (a < b) {
            f |= VMM_RFLAGS_CF;
        }
        if ((a ^ b) & (a ^ r) & sign) {
            f |= VMM_RFLAGS_OF;
        }
        if ((a ^ b ^ r) & 0x10) {
            f |= VMM_RFLAGS_AF;
        }
        break;
    case ALU_AND:
        r = a & b;
        break;
    case ALU_OR:
        r = a | b;
        break;
    default:
        r = a ^ b;
        break;
    }
    if (r == 0) {
        f |= VMM_RFLAGS_ZF;
    }
    if (r & sign) {
        f |= VMM_RFLAGS_SF;
    }
    if (parity_even(r)) {
        f |= VMM_RFLAGS_PF;
    }
    *rflags = (*rflags & ~(uint64_t)STATUS_FLAGS) | f;
    return r;
}

/* ---- addresses ---------------------------------------------------------------------------- */

static enum vmm_seg seg_of(ZydisRegister r)
{
    if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) {
        return (enum vmm_seg)(r - ZYDIS_REGISTER_ES);
    }
    return VMM_DS;
}

/* The linear address of a memory operand: base + index * scale + disp at the address size,
 * plus the segment base. */
static int mem_linear(struct vmm_emu *emu, const struct insn *d, const ZydisDecodedOperand *op,
                      uint64_t *la)
{
    const ZydisDecodedOperandMem *m = &op->mem;
    uint64_t ea = (uint64_t)m->disp.value;
    struct gpr_ref g;

    if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
        ea += emu->regs->rip + d->in.length;
    } else if (m->base != ZYDIS_REGISTER_NONE) {
        if (!gpr_of(m->base, &g)) {
            return unsupported(emu, "memory operand with a non-GPR base");
        }
        ea += reg_read(emu->regs, &g);
    }
    if (m->index != ZYDIS_REGISTER_NONE) {
        if (!gpr_of(m->index, &g)) {
            return unsupported(emu, "memory operand with a non-GPR index");
        }
        ea += reg_read(emu->regs, &g) * (m->scale ? m->scale : 1);
    }
    ea &= size_mask(d->in.address_width / 8);
    *la = vmm_linear_addr(emu->regs, seg_of(m->segment), ea, emu->mode);
    return 0;
}

/* The guest-physical address of the single MMIO operand (see emulate.h). */
static int mmio_gpa(struct vmm_emu *emu, uint64_t la, bool write, uint64_t *gpa)
{
    const struct vmm_emu_ops *ops = emu->ops;
    int rc;

    if ((la & (PAGE_SIZE - 1)) == (emu->gpa & (PAGE_SIZE - 1))) {
        *gpa = emu->gpa;
        return 0;
    }
    if (ops->translate == NULL) {
        return unsupported(emu, "faulting address is not where the operand starts");
    }
    rc = ops->translate(emu->ctx, la, write, gpa);
    if (rc < 0) {
        emu->why = "translating the operand address failed";
        return rc;
    }
    if (ops->is_mmio != NULL && !ops->is_mmio(emu->ctx, *gpa)) {
        return unsupported(emu, "access straddles RAM and MMIO");
    }
    return 0;
}

static int do_mmio_read(struct vmm_emu *emu, uint64_t gpa, unsigned size, uint64_t *val)
{
    uint64_t v = 0;
    int rc = emu->ops->mmio_read(emu->ctx, gpa, size, &v);

    if (rc < 0) {
        emu->why = "mmio read failed";
        return rc;
    }
    *val = v & size_mask(size);
    return 0;
}

static int do_mmio_write(struct vmm_emu *emu, uint64_t gpa, unsigned size, uint64_t val)
{
    int rc = emu->ops->mmio_write(emu->ctx, gpa, size, val & size_mask(size));

    if (rc < 0) {
        emu->why = "mmio write failed";
        return rc;
    }
    return 0;
}

/* ---- one-memory-operand instructions ------------------------------------------------------ */

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Collects the two explicit operands; exactly one is a memory operand (*mem_at says which). */
static int get_operands(struct vmm_emu *emu, const struct insn *d, struct opnd o[2],
                        unsigned *mem_at)
{
    unsigned nmem = 0;

    if (d->in.operand_count_visible != 2) {
        return unsupported(emu, "unexpected operand count");
    }
    for (unsigned i = 0; i < 2; i++) {
        const ZydisDecodedOperand *op = &d->op[i];

        o[i].size = op->size / 8;
        switch (op->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            if (!gpr_of(op->reg.value, &o[i].reg)) {
                return unsupported(emu, "register operand is not a general register");
            }
            o[i].kind = OPND_REG;
            o[i].size = o[i].reg.size;
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
            if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM || !valid_size(o[i].size)) {
                return unsupported(emu, "unsupported memory operand");
            }
            o[i].kind = OPND_MEM;
            *mem_at = i;
            nmem++;
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            o[i].kind = OPND_IMM;
            o[i].imm = op->imm.value.u;
            break;
        default:
            return unsupported(emu, "unsupported operand type");
        }
    }
    if (nmem != 1) {
        return unsupported(emu, "no memory operand");
    }
    return 0;
}

/* Reads a source operand: the register, the immediate or the MMIO value (at size bytes). */
static int opnd_read(struct vmm_emu *emu, const struct opnd *o, uint64_t gpa, unsigned size,
                     uint64_t *val)
{
    switch (o->kind) {
    case OPND_REG:
        *val = reg_read(emu->regs, &o->reg);
        return 0;
    case OPND_IMM:
        *val = o->imm & size_mask(size);
        return 0;
    default:
        return do_mmio_read(emu, gpa, size, val);
    }
}

static uint64_t sign_extend(uint64_t v, unsigned from)
{
    unsigned shift = 64 - from * 8;

    return (uint64_t)((int64_t)(v << shift) >> shift);
}

static int emulate_one(struct vmm_emu *emu, const struct insn *d)
{
    struct vmm_regs *regs = emu->regs;
    ZydisMnemonic mn = d->in.mnemonic;
    struct opnd o[2];
    unsigned mem_at = 0;
    unsigned size;
    uint64_t la;
    uint64_t gpa;
    uint64_t a;
    uint64_t b;
    uint64_t r;
    uint64_t rflags = regs->rflags;
    bool mem_written;
    int rc;

    switch (mn) {
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
    case ZYDIS_MNEMONIC_XCHG:
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_TEST:
        break;
    default:
        return unsupported(emu, "unsupported instruction");
    }
    rc = get_operands(emu, d, o, &mem_at);
    if (rc < 0) {
        return rc;
    }
    rc = mem_linear(emu, d, &d->op[mem_at], &la);
    if (rc < 0) {
        return rc;
    }
    size = o[0].size;
    if (!valid_size(size)) {
        return unsupported(emu, "unsupported operand size");
    }
    /* Which instructions write their memory operand decides the translation's access type. */
    mem_written = mem_at == 0 && mn != ZYDIS_MNEMONIC_CMP && mn != ZYDIS_MNEMONIC_TEST;
    if (mn == ZYDIS_MNEMONIC_XCHG) {
        mem_written = true;
    }
    rc = mmio_gpa(emu, la, mem_written, &gpa);
    if (rc < 0) {
        return rc;
    }

    switch (mn) {
    case ZYDIS_MNEMONIC_MOV:
        if (mem_at == 0) {
            rc = opnd_read(emu, &o[1], gpa, size, &a);
            if (rc == 0) {
                rc = do_mmio_write(emu, gpa, size, a);
            }
        } else {
            rc = do_mmio_read(emu, gpa, size, &a);
            if (rc == 0) {
                reg_write(regs, &o[0].reg, a);
            }
        }
        break;
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
        if (mem_at != 1 || o[0].kind != OPND_REG) {
            return unsupported(emu, "extending move without a memory source");
        }
        rc = do_mmio_read(emu, gpa, o[1].size, &a);
        if (rc == 0) {
            if (mn != ZYDIS_MNEMONIC_MOVZX) {
                a = sign_extend(a, o[1].size);
            }
            reg_write(regs, &o[0].reg, a & size_mask(size));
        }
        break;
    case ZYDIS_MNEMONIC_XCHG:
        rc = do_mmio_read(emu, gpa, size, &a);
        if (rc == 0) {
            const struct gpr_ref *g = &o[1 - mem_at].reg;

            rc = do_mmio_write(emu, gpa, size, reg_read(regs, g));
            if (rc == 0) {
                reg_write(regs, g, a);
            }
        }
        break;
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_TEST: {
        enum alu_op op = mn == ZYDIS_MNEMONIC_ADD                                  ? ALU_ADD
                         : (mn == ZYDIS_MNEMONIC_SUB || mn == ZYDIS_MNEMONIC_CMP)  ? ALU_SUB
                         : (mn == ZYDIS_MNEMONIC_AND || mn == ZYDIS_MNEMONIC_TEST) ? ALU_AND
                         : mn == ZYDIS_MNEMONIC_OR                                 ? ALU_OR
                                                                                   : ALU_XOR;
        bool writes = mn != ZYDIS_MNEMONIC_CMP && mn != ZYDIS_MNEMONIC_TEST;

        rc = opnd_read(emu, &o[0], gpa, size, &a);
        if (rc == 0) {
            rc = opnd_read(emu, &o[1], gpa, size, &b);
        }
        if (rc < 0) {
            break;
        }
        r = alu(op, size, a, b, &rflags);
        if (writes) {
            if (mem_at == 0) {
                rc = do_mmio_write(emu, gpa, size, r);
            } else {
                reg_write(regs, &o[0].reg, r);
            }
        }
        break;
    }
    default:
        return unsupported(emu, "unsupported instruction");
    }
    if (rc < 0) {
        return rc;
    }
    regs->rflags = rflags;
    advance_rip(emu, d->in.length);
    return 0;
}

/* ---- string moves ------------------------------------------------------------------------- */

/* Reads or writes one element of a string move on one side, routed to MMIO or RAM by the
 * side's translation (cached for the page). */
static int side_access(struct vmm_emu *emu, struct page_cache *pc, uint64_t la, unsigned size,
                       bool write, uint64_t *val)
{
    const struct vmm_emu_ops *ops = emu->ops;
    uint64_t lpage = la & ~(PAGE_SIZE - 1);
    uint64_t gpa;
    int rc;

    if (!pc->valid || pc->lpage != lpage) {
        rc = ops->translate(emu->ctx, la, write, &gpa);
        if (rc < 0) {
            emu->why = "translating a string operand failed";
            return rc;
        }
        pc->valid = true;
        pc->lpage = lpage;
        pc->gpage = gpa & ~(PAGE_SIZE - 1);
        pc->mmio = ops->is_mmio(emu->ctx, gpa);
    }
    gpa = pc->gpage | (la & (PAGE_SIZE - 1));
    if (pc->mmio) {
        if (write) {
            return do_mmio_write(emu, gpa, size, *val);
        }
        return do_mmio_read(emu, gpa, size, val);
    }
    if (write) {
        rc = ops->mem_write(emu->ctx, la, val, size);
    } else {
        *val = 0;
        rc = ops->mem_read(emu->ctx, la, val, size);
    }
    if (rc < 0) {
        emu->why = write ? "guest memory write failed" : "guest memory read failed";
        return rc;
    }
    return 0;
}

/* rSI/rDI move by +-size at the address size (16-bit SI wraps, 32-bit ESI zero-extends). */
static void step_reg(struct vmm_regs *regs, unsigned idx, unsigned asize, int64_t step)
{
    struct gpr_ref g = addr_reg(idx, asize);

    reg_write(regs, &g, reg_read(regs, &g) + (uint64_t)step);
}

static int emulate_string(struct vmm_emu *emu, const struct insn *d, bool movs)
{
    const struct vmm_emu_ops *ops = emu->ops;
    struct vmm_regs *regs = emu->regs;
    unsigned size = d->in.operand_width / 8;
    unsigned asize = d->in.address_width / 8;
    bool rep = (d->in.attributes &
                (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
    uint32_t limit = emu->max_rep ? emu->max_rep : VMM_EMU_REP_DEFAULT;
    struct gpr_ref rcx = addr_reg(VMM_RCX, asize);
    struct gpr_ref rax = addr_reg(VMM_RAX, size);
    int64_t step = (regs->rflags & VMM_RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    enum vmm_seg src_seg = VMM_DS;
    struct page_cache src_pc = {0};
    struct page_cache dst_pc = {0};
    uint64_t count = 1;
    uint64_t n;
    int rc = 0;

    if (!valid_size(size) || !valid_size(asize)) {
        return unsupported(emu, "unsupported string operand size");
    }
    if (ops->translate == NULL || ops->is_mmio == NULL || ops->mem_read == NULL ||
        ops->mem_write == NULL) {
        emu->why = "string move needs translate, is_mmio, mem_read and mem_write";
        LOG_ERROR(EMU, "mmio emulation: %s", emu->why);
        return -EINVAL;
    }
    /* The source segment is the one memory operand based on rSI (DS unless overridden); the
     * destination is always ES:rDI. */
    for (unsigned i = 0; i < d->in.operand_count; i++) {
        const ZydisDecodedOperand *op = &d->op[i];
        struct gpr_ref g;

        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && gpr_of(op->mem.base, &g) && g.idx == VMM_RSI) {
            src_seg = seg_of(op->mem.segment);
        }
    }
    if (rep) {
        count = reg_read(regs, &rcx);
    }
    for (n = 0; n < count && n < limit; n++) {
        uint64_t dst_la =
            vmm_linear_addr(regs, VMM_ES, regs->gpr[VMM_RDI] & size_mask(asize), emu->mode);
        uint64_t val;

        if (movs) {
            uint64_t src_la =
                vmm_linear_addr(regs, src_seg, regs->gpr[VMM_RSI] & size_mask(asize), emu->mode);

            rc = side_access(emu, &src_pc, src_la, size, false, &val);
            if (rc < 0) {
                break;
            }
        } else {
            val = reg_read(regs, &rax);
        }
        rc = side_access(emu, &dst_pc, dst_la, size, true, &val);
        if (rc < 0) {
            break;
        }
        /* The element is done: the registers say so at once, so an error in a later element
         * leaves the state the CPU would show. */
        if (movs) {
            step_reg(regs, VMM_RSI, asize, step);
        }
        step_reg(regs, VMM_RDI, asize, step);
        if (rep) {
            reg_write(regs, &rcx, reg_read(regs, &rcx) - 1);
        }
    }
    emu->elements = (uint32_t)n;
    if (rc < 0) {
        return rc;
    }
    if (n < count) {
        emu->rep_pending = true;
        return 0;
    }
    advance_rip(emu, d->in.length);
    return 0;
}

/* ---- entry points ------------------------------------------------------------------------- */

int vmm_emulate_mmio(struct vmm_emu *emu)
{
    struct insn d;
    const char *why = NULL;
    int rc;

    if (emu == NULL) {
        return -EINVAL;
    }
    emu->len = 0;
    emu->elements = 0;
    emu->rep_pending = false;
    emu->why = NULL;
    if (emu->regs == NULL || emu->ops == NULL || emu->ops->mmio_read == NULL ||
        emu->ops->mmio_write == NULL || emu->insn_len > VMM_EMU_INSN_MAX) {
        emu->why = "bad emulation request";
        LOG_ERROR(EMU, "mmio emulation: %s", emu->why);
        return -EINVAL;
    }
    rc = decode(emu->regs, emu->mode, emu->insn, emu->insn_len, &d, &why);
    if (rc < 0) {
        emu->why = why;
        LOG_DEBUG(EMU, "mmio emulation: %s (%zu bytes)", why, emu->insn_len);
        return rc;
    }
    emu->len = d.in.length;
    if (d.in.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
        return unsupported(emu, "not a legacy-encoded instruction");
    }
    if (d.in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
        switch (d.in.opcode) {
        case 0xa4:
        case 0xa5:
            return emulate_string(emu, &d, true);
        case 0xaa:
        case 0xab:
            return emulate_string(emu, &d, false);
        default:
            break;
        }
    }
    return emulate_one(emu, &d);
}

int vmm_emulate_describe(const struct vmm_emu *emu, char *buf, size_t len)
{
    struct insn d;
    const char *why = NULL;
    const char *name = "(bad)";
    size_t nbytes;
    int pos;

    if (emu == NULL || buf == NULL || len == 0) {
        return 0;
    }
    nbytes = MIN(emu->insn_len, (size_t)VMM_EMU_INSN_MAX);
    if (decode(emu->regs, emu->mode, emu->insn, nbytes, &d, &why) == 0) {
        const char *s = ZydisMnemonicGetString(d.in.mnemonic);

        if (s != NULL) {
            name = s;
        }
        nbytes = d.in.length;
    }
    pos = snprintf(buf, len, "%s [", name);
    for (size_t i = 0; i < nbytes; i++) {
        pos += snprintf(buf + MIN((size_t)pos, len - 1), len - MIN((size_t)pos, len - 1),
                        i ? " %02x" : "%02x", emu->insn[i]);
    }
    pos += snprintf(buf + MIN((size_t)pos, len - 1), len - MIN((size_t)pos, len - 1), "]");
    if (emu->why != NULL) {
        pos += snprintf(buf + MIN((size_t)pos, len - 1), len - MIN((size_t)pos, len - 1), " (%s)",
                        emu->why);
    }
    return pos;
}

int vmm_insn_length(const struct vmm_regs *regs, enum vmm_cpu_mode mode, const uint8_t *insn,
                    size_t n, unsigned *len)
{
    ZydisDecoder dec;
    ZydisDecodedInstruction in;
    ZydisMachineMode mm;
    ZydisStackWidth sw;
    ZyanStatus st;

    if (insn == NULL || len == NULL || !zydis_mode(regs, mode, &mm, &sw)) {
        return -EINVAL;
    }
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, mm, sw))) {
        return -EINVAL;
    }
    st = ZydisDecoderDecodeInstruction(&dec, NULL, insn, MIN(n, (size_t)VMM_EMU_INSN_MAX), &in);
    if (st == ZYDIS_STATUS_NO_MORE_DATA) {
        return -ENODATA;
    }
    if (!ZYAN_SUCCESS(st)) {
        return -ENOTSUP;
    }
    *len = in.length;
    return 0;
}
