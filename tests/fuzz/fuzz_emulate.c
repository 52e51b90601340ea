/* libFuzzer target for the MMIO emulator (vmm/emulate.c) and the page-table walker
 * (vmm/walk.c): random instruction bytes, register state and CPU mode through fake callbacks
 * whose answers (values, faults, MMIO or RAM) also come from the input; and random page tables
 * walked and fetched from. Besides ASan/UBSan, it traps when a documented promise breaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/emulate.h"
#include "../../vmm/walk.h"
#include "log.h"

#define RAM_SIZE 8192u
#define MEM_SIZE 16384u
#define WALKS    8

/* The input, read front to back; past the end it reads zeros. */
struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

struct fake {
    struct input *in;
    uint8_t ram[RAM_SIZE];
    uint8_t mem[MEM_SIZE];
    uint64_t xor_mask; /* translate: linear ^ mask */
    unsigned calls;
};

static uint8_t take8(struct input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)take8(in) << (8 * i);
    }
    return v;
}

static void check_size(unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        __builtin_trap();
    }
}

/* Every callback may fail when the input says so; a bounded number of calls keeps runs short. */
static int maybe_fail(struct fake *f)
{
    uint8_t b = take8(f->in);

    f->calls++;
    if (f->calls > 100000) {
        __builtin_trap(); /* the emulator must bound its work per call */
    }
    if (b == 0xee) {
        return -EIO;
    }
    if (b == 0xef) {
        return -EFAULT;
    }
    return 0;
}

static int fz_mmio_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct fake *f = ctx;
    int rc = maybe_fail(f);

    check_size(size);
    if (rc < 0) {
        return rc;
    }
    *val = take(f->in, 8); /* junk above size included */
    return 0;
}

static int fz_mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
    struct fake *f = ctx;

    check_size(size);
    if (size < 8 && (val >> (size * 8)) != 0) {
        __builtin_trap(); /* values are masked to the access size */
    }
    return maybe_fail(f);
}

static int fz_mem_read(void *ctx, uint64_t linear, void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t at = linear % RAM_SIZE;
    int rc = maybe_fail(f);

    if (len == 0 || len > 8) {
        __builtin_trap();
    }
    if (rc < 0 || at + len > RAM_SIZE) {
        return rc < 0 ? rc : -EFAULT;
    }
    memcpy(buf, &f->ram[at], len);
    return 0;
}

static int fz_mem_write(void *ctx, uint64_t linear, const void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t at = linear % RAM_SIZE;
    int rc = maybe_fail(f);

    if (len == 0 || len > 8) {
        __builtin_trap();
    }
    if (rc < 0 || at + len > RAM_SIZE) {
        return rc < 0 ? rc : -EFAULT;
    }
    memcpy(&f->ram[at], buf, len);
    return 0;
}

static int fz_translate(void *ctx, uint64_t linear, bool write, uint64_t *gpa)
{
    struct fake *f = ctx;
    int rc = maybe_fail(f);

    if (rc < 0) {
        return rc;
    }
    *gpa = linear ^ f->xor_mask;
    return 0;
}

static bool fz_is_mmio(void *ctx, uint64_t gpa)
{
    return (gpa & 0x1000) != 0;
}

static const struct vmm_emu_ops fz_ops = {
    .mmio_read = fz_mmio_read,
    .mmio_write = fz_mmio_write,
    .mem_read = fz_mem_read,
    .mem_write = fz_mem_write,
    .translate = fz_translate,
    .is_mmio = fz_is_mmio,
};

static const struct vmm_emu_ops fz_ops_min = {
    .mmio_read = fz_mmio_read,
    .mmio_write = fz_mmio_write,
};

static void fuzz_emulator(struct fake *f, struct input *in, uint8_t sel)
{
    struct vmm_regs regs;
    struct vmm_regs before;
    struct vmm_emu emu;
    unsigned code;
    char text[96];
    size_t tlen;
    unsigned len = 0;
    int rc;

    memset(&regs, 0, sizeof(regs));
    memset(&emu, 0, sizeof(emu));
    emu.mode = (enum vmm_cpu_mode)(sel % 5);
    for (unsigned i = 0; i < VMM_EMU_INSN_MAX; i++) {
        emu.insn[i] = take8(in);
    }
    emu.insn_len = take8(in) % (VMM_EMU_INSN_MAX + 1);
    for (unsigned i = 0; i < VMM_NGPR; i++) {
        /* Small values or full 64-bit ones, so REP counts are sometimes sane. */
        regs.gpr[i] = (take8(in) & 1) ? take(in, 8) : take(in, 1);
    }
    regs.rip = take(in, 8);
    regs.rflags = take(in, 4);
    for (unsigned s = 0; s < VMM_NSEG; s++) {
        regs.seg[s].base = take(in, 8);
        regs.seg[s].attrib = (uint16_t)take(in, 2);
    }
    emu.regs = &regs;
    emu.gpa = take(in, 8);
    emu.max_rep = (sel & 0x20) ? take8(in) : 0;
    emu.ops = (sel & 0x40) ? &fz_ops_min : &fz_ops;
    emu.ctx = f;
    f->xor_mask = (take8(in) & 1) ? 0x1000 : 0;
    before = regs;

    rc = vmm_emulate_mmio(&emu);

    if (rc == 0 && !emu.rep_pending) {
        code = vmm_code_size(&before, emu.mode);
        if (emu.len == 0 || emu.len > emu.insn_len) {
            __builtin_trap();
        }
        if (code < 8 && regs.rip != ((before.rip + emu.len) & ((1ull << (code * 8)) - 1))) {
            __builtin_trap();
        }
        if (code == 8 && regs.rip != before.rip + emu.len) {
            __builtin_trap();
        }
    }
    if (rc == 0 && emu.rep_pending && regs.rip != before.rip) {
        __builtin_trap();
    }
    /* Refusals and bad requests leave the guest untouched. */
    if ((rc == -ENOTSUP || rc == -ENODATA || rc == -EINVAL) &&
        memcmp(&regs, &before, sizeof(regs)) != 0) {
        __builtin_trap();
    }
    if (rc < 0 && emu.why == NULL) {
        __builtin_trap();
    }
    if (emu.len > 0 && vmm_insn_length(&regs, emu.mode, emu.insn, emu.insn_len, &len) == 0 &&
        len != emu.len) {
        __builtin_trap();
    }
    tlen = 1 + take8(in) % sizeof(text);
    vmm_emulate_describe(&emu, text, tlen);
    if (strnlen(text, tlen) >= tlen) {
        __builtin_trap();
    }
}

static int fz_read_gpa(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t at = gpa % MEM_SIZE;

    if (gpa >= (1ull << 36) || at + len > MEM_SIZE) {
        return -EFAULT;
    }
    memcpy(buf, &f->mem[at], len);
    return 0;
}

static int fz_write_gpa(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t at = gpa % MEM_SIZE;

    if (len != 1 || gpa >= (1ull << 36) || at + len > MEM_SIZE) {
        __builtin_trap(); /* the walker writes single bytes of entries it read */
    }
    memcpy(&f->mem[at], buf, len);
    return 0;
}

static void fuzz_walker(struct fake *f, struct input *in, uint8_t sel)
{
    struct vmm_walk_env env;
    uint8_t buf[VMM_FETCH_MAX + 1];
    uint64_t gpa;
    uint64_t code;
    uint64_t fault;
    uint64_t gvas[WALKS];
    uint8_t access[WALKS];
    size_t wants[WALKS];
    size_t got;
    int rc;

    memset(&env, 0, sizeof(env));
    env.cr0 = take(in, 4);
    env.cr3 = take(in, 8);
    env.cr4 = take(in, 4);
    env.efer = take(in, 2);
    env.phys_bits = take8(in) % 64;
    env.read_gpa = fz_read_gpa;
    env.write_gpa = (sel & 0x20) ? fz_write_gpa : NULL;
    env.ctx = f;
    for (int k = 0; k < WALKS; k++) {
        gvas[k] = take(in, 8);
        access[k] = take8(in);
        wants[k] = take8(in) % (VMM_FETCH_MAX + 2);
    }
    /* The rest of the input is guest memory holding the page tables. */
    for (size_t i = 0; i < MEM_SIZE && in->pos < in->size; i++) {
        f->mem[i] = take8(in);
    }
    for (int k = 0; k < WALKS; k++) {
        rc = vmm_walk(&env, gvas[k], access[k] & (VMM_ACC_WRITE | VMM_ACC_USER | VMM_ACC_EXEC),
                      &gpa, &code);
        if (rc == -EFAULT && (code & ~0x1full) != 0) {
            __builtin_trap();
        }
        got = 99;
        rc = vmm_fetch_insn(&env, gvas[k], access[k], buf, wants[k], &got, &code, &fault);
        if (got > wants[k] || (rc == 0 && got != wants[k])) {
            __builtin_trap();
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake f;
    struct input in = {data, size, 0};
    uint8_t sel;

    if (size == 0) {
        return 0;
    }
    memset(&f, 0, sizeof(f));
    f.in = &in;
    sel = take8(&in);
    if (sel & 0x80) {
        fuzz_walker(&f, &in, sel);
    } else {
        fuzz_emulator(&f, &in, sel);
    }
    return 0;
}
