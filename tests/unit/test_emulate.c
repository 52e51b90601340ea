/* Unit tests for the MMIO instruction emulator (vmm/emulate.c) on instruction byte vectors.
 *
 * A fake core: guest RAM at [0, 512 KiB), a memory-backed MMIO device at [0xC0000, 0xD0000) that
 * logs every access, and linear = guest-physical except for pages a test remaps. Encodings were
 * taken from nasm (`bits 16/32/64`) when the tests were written; the ALU tests build theirs from
 * the opcode map and check the flags against the host CPU (inline asm + pushf). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmm/emulate.h"
#include "../../vmm/walk.h"
#include "log.h"

#define RAM_SIZE  0x80000u
#define MMIO_BASE 0xc0000u
#define MMIO_SIZE 0x10000u
#define MAX_LOG   64
#define MAX_MAP   8
#define STATUS    0x8d5u /* CF PF AF ZF SF OF */
/* Junk a fake device puts above the access size: the emulator must mask it. */
#define JUNK 0xdeadbeefcafef00dull

struct access {
    uint64_t gpa;
    unsigned size;
    bool write;
    uint64_t val;
};

struct fake {
    uint8_t ram[RAM_SIZE];
    uint8_t mmio[MMIO_SIZE];
    struct access log[MAX_LOG];
    size_t nlog;
    size_t ntranslate;
    int fail_mmio_read; /* error to return, 0 for none */
    int fail_mmio_write;
    int fail_translate;
    uint64_t map_l[MAX_MAP]; /* linear page -> guest-physical page */
    uint64_t map_g[MAX_MAP];
    size_t nmap;
    struct vmm_regs regs;
    struct vmm_emu emu;
};

static uint64_t lin_to_phys(struct fake *f, uint64_t la)
{
    for (size_t i = 0; i < f->nmap; i++) {
        if ((la & ~0xfffull) == f->map_l[i]) {
            return f->map_g[i] | (la & 0xfff);
        }
    }
    return la;
}

static int fk_mmio_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct fake *f = ctx;
    uint64_t v = 0;

    if (f->fail_mmio_read) {
        return f->fail_mmio_read;
    }
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(gpa >= MMIO_BASE && gpa + size <= MMIO_BASE + MMIO_SIZE);
    memcpy(&v, &f->mmio[gpa - MMIO_BASE], size);
    if (f->nlog < MAX_LOG) {
        f->log[f->nlog++] = (struct access){gpa, size, false, v};
    }
    if (size < 8) {
        v |= JUNK << (size * 8);
    }
    *val = v;
    return 0;
}

static int fk_mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
    struct fake *f = ctx;

    if (f->fail_mmio_write) {
        return f->fail_mmio_write;
    }
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(gpa >= MMIO_BASE && gpa + size <= MMIO_BASE + MMIO_SIZE);
    if (size < 8) {
        assert_int_equal(val >> (size * 8), 0);
    }
    memcpy(&f->mmio[gpa - MMIO_BASE], &val, size);
    if (f->nlog < MAX_LOG) {
        f->log[f->nlog++] = (struct access){gpa, size, true, val};
    }
    return 0;
}

static int fk_mem_read(void *ctx, uint64_t linear, void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t gpa = lin_to_phys(f, linear);

    if (gpa + len > RAM_SIZE) {
        return -EFAULT;
    }
    memcpy(buf, &f->ram[gpa], len);
    return 0;
}

static int fk_mem_write(void *ctx, uint64_t linear, const void *buf, size_t len)
{
    struct fake *f = ctx;
    uint64_t gpa = lin_to_phys(f, linear);

    if (gpa + len > RAM_SIZE) {
        return -EFAULT;
    }
    memcpy(&f->ram[gpa], buf, len);
    return 0;
}

static int fk_translate(void *ctx, uint64_t linear, bool write, uint64_t *gpa)
{
    struct fake *f = ctx;

    f->ntranslate++;
    if (f->fail_translate) {
        return f->fail_translate;
    }
    *gpa = lin_to_phys(f, linear);
    return 0;
}

static bool fk_is_mmio(void *ctx, uint64_t gpa)
{
    return gpa >= MMIO_BASE && gpa < MMIO_BASE + MMIO_SIZE;
}

static const struct vmm_emu_ops fk_ops = {
    .mmio_read = fk_mmio_read,
    .mmio_write = fk_mmio_write,
    .mem_read = fk_mem_read,
    .mem_write = fk_mem_write,
    .translate = fk_translate,
    .is_mmio = fk_is_mmio,
};

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->regs.rflags = 0x202;
    f->regs.rip = 0x1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void set_mode(struct fake *f, enum vmm_cpu_mode mode)
{
    f->regs.cr0 = mode == VMM_MODE_REAL ? 0 : VMM_WALK_CR0_PE;
    f->regs.efer = 0;
    f->regs.seg[VMM_CS].attrib = 0;
    if (mode == VMM_MODE_LONG64 || mode == VMM_MODE_COMPAT) {
        f->regs.efer = VMM_WALK_EFER_LMA | VMM_WALK_EFER_LME;
    }
    if (mode == VMM_MODE_LONG64) {
        f->regs.seg[VMM_CS].attrib = VMM_WALK_SEG_L;
    }
    if (mode == VMM_MODE_PROT32) {
        f->regs.seg[VMM_CS].attrib = VMM_WALK_SEG_DB;
    }
}

/* Emulates bytes[0..n) in mode; gpa is the faulting address the "CPU" reported. */
static int run(struct fake *f, enum vmm_cpu_mode mode, uint64_t gpa, const uint8_t *bytes, size_t n)
{
    set_mode(f, mode);
    memset(&f->emu, 0, sizeof(f->emu));
    assert_true(n <= VMM_EMU_INSN_MAX);
    memcpy(f->emu.insn, bytes, n);
    f->emu.insn_len = n;
    f->emu.mode = mode;
    f->emu.regs = &f->regs;
    f->emu.gpa = gpa;
    f->emu.ops = &fk_ops;
    f->emu.ctx = f;
    f->nlog = 0;
    f->ntranslate = 0;
    return vmm_emulate_mmio(&f->emu);
}

/* Continues a pending REP without resetting the request. */
static int rerun(struct fake *f)
{
    f->nlog = 0;
    return vmm_emulate_mmio(&f->emu);
}

#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static uint64_t mmio_get(struct fake *f, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;

    memcpy(&v, &f->mmio[gpa - MMIO_BASE], size);
    return v;
}

static void mmio_put(struct fake *f, uint64_t gpa, unsigned size, uint64_t v)
{
    memcpy(&f->mmio[gpa - MMIO_BASE], &v, size);
}

static void expect_access(struct fake *f, size_t i, uint64_t gpa, unsigned size, bool write,
                          uint64_t val)
{
    assert_true(i < f->nlog);
    assert_int_equal(f->log[i].gpa, gpa);
    assert_int_equal(f->log[i].size, size);
    assert_int_equal(f->log[i].write, write);
    assert_int_equal(f->log[i].val, val);
}

/* ---- MOV ------------------------------------------------------------------------------------ */

static void test_mov_store_64(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x10;

    f->regs.gpr[VMM_RAX] = a;
    f->regs.gpr[VMM_RCX] = 0x1122334455667788ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x89, 0x08)), 0); /* mov [rax], ecx */
    expect_access(f, 0, a, 4, true, 0x55667788);
    assert_int_equal(f->nlog, 1);
    assert_int_equal(f->regs.rip, 0x1002);
    assert_int_equal(f->emu.len, 2);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0x89, 0x08)), 0); /* mov [rax], rcx */
    expect_access(f, 0, a, 8, true, 0x1122334455667788ull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x66, 0x89, 0x08)), 0); /* mov [rax], cx */
    expect_access(f, 0, a, 2, true, 0x7788);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x88, 0x08)), 0); /* mov [rax], cl */
    expect_access(f, 0, a, 1, true, 0x88);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x88, 0x28)), 0); /* mov [rax], ch */
    expect_access(f, 0, a, 1, true, 0x77);
    f->regs.gpr[VMM_RSI] = 0xab;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x40, 0x88, 0x30)), 0); /* mov [rax], sil */
    expect_access(f, 0, a, 1, true, 0xab);
    /* mov [rax+r9*4+0x10], r10d */
    f->regs.gpr[VMM_R9] = 3;
    f->regs.gpr[VMM_R10] = 0xfeedface;
    f->regs.rip = 0x1000;
    assert_int_equal(run(f, VMM_MODE_LONG64, a + 0x1c, B(0x46, 0x89, 0x54, 0x88, 0x10)), 0);
    expect_access(f, 0, a + 0x1c, 4, true, 0xfeedface);
    assert_int_equal(f->regs.rip, 0x1005);
}

static void test_mov_load_64(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x20;

    mmio_put(f, a, 8, 0x8899aabbccddeeffull);
    f->regs.gpr[VMM_RAX] = a;
    f->regs.gpr[VMM_RCX] = 0x1111111111111111ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x8b, 0x08)), 0); /* mov ecx, [rax] */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xccddeeffull);          /* zero-extended */
    expect_access(f, 0, a, 4, false, 0xccddeeff);
    f->regs.gpr[VMM_RCX] = 0x1111111111111111ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x66, 0x8b, 0x08)), 0); /* mov cx, [rax] */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x111111111111eeffull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x8a, 0x08)), 0); /* mov cl, [rax] */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x111111111111eeffull);
    f->regs.gpr[VMM_RCX] = 0x1111111111111111ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x8a, 0x28)), 0); /* mov ch, [rax] */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x111111111111ff11ull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0x8b, 0x08)), 0); /* mov rcx, [rax] */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x8899aabbccddeeffull);
    /* mov r15d, [rax] with junk from the device above 32 bits */
    f->regs.gpr[VMM_R15] = ~0ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x44, 0x8b, 0x38)), 0);
    assert_int_equal(f->regs.gpr[VMM_R15], 0xccddeeffull);
    /* mov dil, [rax] (REX: DIL, not BH) */
    f->regs.gpr[VMM_RDI] = 0x1234;
    f->regs.gpr[VMM_RBX] = 0x5678;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x40, 0x8a, 0x38)), 0);
    assert_int_equal(f->regs.gpr[VMM_RDI], 0x12ff);
    assert_int_equal(f->regs.gpr[VMM_RBX], 0x5678);
    /* mov bh, [rax] (no REX) */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x8a, 0x38)), 0);
    assert_int_equal(f->regs.gpr[VMM_RBX], 0xff78);
}

static void test_mov_imm(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x40;

    f->regs.gpr[VMM_RAX] = a;
    /* mov dword [rax], 0x12345678 */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12)), 0);
    expect_access(f, 0, a, 4, true, 0x12345678);
    /* mov qword [rax], -16: imm32 sign-extended to 64 bits */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0xc7, 0x00, 0xf0, 0xff, 0xff, 0xff)), 0);
    expect_access(f, 0, a, 8, true, 0xfffffffffffffff0ull);
    /* mov byte [rax], 0x92 */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xc6, 0x00, 0x92)), 0);
    expect_access(f, 0, a, 1, true, 0x92);
    /* mov word [rax], 0x8234 */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x66, 0xc7, 0x00, 0x34, 0x82)), 0);
    expect_access(f, 0, a, 2, true, 0x8234);
    /* mov dword [rax+0x100], 0x80000000 */
    assert_int_equal(run(f, VMM_MODE_LONG64, a + 0x100,
                         B(0xc7, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80)),
                     0);
    expect_access(f, 0, a + 0x100, 4, true, 0x80000000);
    assert_int_equal(f->emu.len, 10);
}

static void test_mov_moffs(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x88;

    mmio_put(f, a, 8, 0x0102030405060708ull);
    /* 64-bit: mov eax, [abs 0xc0088] (a1 + 8-byte offset) */
    f->regs.gpr[VMM_RAX] = ~0ull;
    assert_int_equal(
        run(f, VMM_MODE_LONG64, a, B(0xa1, 0x88, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0x05060708);
    assert_int_equal(f->emu.len, 9);
    /* 64-bit: mov [abs 0xc0088], rax (48 a3) */
    f->regs.gpr[VMM_RAX] = 0xa1a2a3a4a5a6a7a8ull;
    assert_int_equal(
        run(f, VMM_MODE_LONG64, a, B(0x48, 0xa3, 0x88, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00)),
        0);
    expect_access(f, 0, a, 8, true, 0xa1a2a3a4a5a6a7a8ull);
    /* 32-bit: mov al, [0xc0088] (a0 + 4-byte offset), DS base 0 */
    f->regs.seg[VMM_DS].base = 0;
    assert_int_equal(run(f, VMM_MODE_PROT32, a, B(0xa0, 0x88, 0x00, 0x0c, 0x00)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX] & 0xff, 0xa8);
    /* 32-bit: mov [0xc0088], eax (a3) */
    f->regs.gpr[VMM_RAX] = 0x11223344;
    assert_int_equal(run(f, VMM_MODE_PROT32, a, B(0xa3, 0x88, 0x00, 0x0c, 0x00)), 0);
    expect_access(f, 0, a, 4, true, 0x11223344);
    /* 16-bit real mode: mov ax, [0x88] with DS = 0xc000 (base 0xc0000) */
    f->regs.seg[VMM_DS].selector = 0xc000;
    f->regs.seg[VMM_DS].base = 0xc0000;
    f->regs.gpr[VMM_RAX] = 0xffff0000ffff0000ull;
    assert_int_equal(run(f, VMM_MODE_REAL, a, B(0xa1, 0x88, 0x00)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0xffff0000ffff3344ull);
    /* 16-bit: mov [0x88], al (a2) */
    assert_int_equal(run(f, VMM_MODE_PROT16, a, B(0xa2, 0x88, 0x00)), 0);
    expect_access(f, 0, a, 1, true, 0x44);
    /* 16-bit with a 32-bit operand: mov [0x88], eax (66 a3) */
    f->regs.gpr[VMM_RAX] = 0xcafebabe;
    assert_int_equal(run(f, VMM_MODE_REAL, a, B(0x66, 0xa3, 0x88, 0x00)), 0);
    expect_access(f, 0, a, 4, true, 0xcafebabe);
}

static void test_addressing_16(void **state)
{
    struct fake *f = *state;

    /* mov [bx+si+4], ax: DS-relative */
    f->regs.seg[VMM_DS].base = 0xc0000;
    f->regs.seg[VMM_SS].base = 0xc8000;
    f->regs.gpr[VMM_RBX] = 0x100;
    f->regs.gpr[VMM_RSI] = 0x20;
    f->regs.gpr[VMM_RAX] = 0xbeef;
    f->regs.rip = 0x7c00;
    assert_int_equal(run(f, VMM_MODE_REAL, 0xc0124, B(0x89, 0x40, 0x04)), 0);
    expect_access(f, 0, 0xc0124, 2, true, 0xbeef);
    assert_int_equal(f->regs.rip, 0x7c03);
    /* mov [bp+2], al: SS-relative */
    f->regs.gpr[VMM_RBP] = 0x10;
    assert_int_equal(run(f, VMM_MODE_PROT16, 0xc8012, B(0x88, 0x46, 0x02)), 0);
    expect_access(f, 0, 0xc8012, 1, true, 0xef);
    /* 16-bit effective addresses wrap: [bx+si] with bx=0xfff0 si=0x20 -> 0x0010 */
    f->regs.gpr[VMM_RBX] = 0xfff0;
    assert_int_equal(run(f, VMM_MODE_REAL, 0xc0010, B(0x89, 0x00)), 0);
    expect_access(f, 0, 0xc0010, 2, true, 0xbeef);
    /* IP wraps at 64 KiB */
    f->regs.rip = 0xfffe;
    assert_int_equal(run(f, VMM_MODE_REAL, 0xc0010, B(0x89, 0x00)), 0);
    assert_int_equal(f->regs.rip, 0);
    /* 32-bit addressing in 16-bit code (67 prefix): mov [ebx], ax */
    f->regs.gpr[VMM_RBX] = 0x12340;
    f->regs.seg[VMM_DS].base = MMIO_BASE - 0x10000;
    assert_int_equal(run(f, VMM_MODE_REAL, MMIO_BASE + 0x2340, B(0x67, 0x89, 0x03)), 0);
    expect_access(f, 0, MMIO_BASE + 0x2340, 2, true, 0xbeef);
}

static void test_addressing_32_and_segments(void **state)
{
    struct fake *f = *state;

    /* mov [ebx+ecx*2+8], edx */
    f->regs.seg[VMM_DS].base = 0;
    f->regs.gpr[VMM_RBX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 0x10;
    f->regs.gpr[VMM_RDX] = 0x600df00d;
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE + 0x28, B(0x89, 0x54, 0x4b, 0x08)), 0);
    expect_access(f, 0, MMIO_BASE + 0x28, 4, true, 0x600df00d);
    /* es: mov [eax], cx (26 66 89 08) with an ES base */
    f->regs.seg[VMM_ES].base = 0x80000;
    f->regs.gpr[VMM_RAX] = 0x40000;
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE, B(0x26, 0x66, 0x89, 0x08)), 0);
    expect_access(f, 0, MMIO_BASE, 2, true, 0x10);
    /* 32-bit linear addresses wrap at 4 GiB: DS base 0xfff00000 + 0xd0000 -> 0xc0000... */
    f->regs.seg[VMM_DS].base = 0xfff00000;
    f->regs.gpr[VMM_RAX] = 0x1c0000;
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE, B(0x89, 0x10)), 0);
    expect_access(f, 0, MMIO_BASE, 4, true, 0x600df00d);
    /* 64-bit mode ignores the DS base but not FS: mov eax, fs:[rbx] */
    f->regs.seg[VMM_DS].base = 0x123456;
    f->regs.seg[VMM_FS].base = MMIO_BASE;
    f->regs.gpr[VMM_RBX] = 0x300;
    mmio_put(f, MMIO_BASE + 0x300, 4, 0x31323334);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x300, B(0x64, 0x8b, 0x03)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0x31323334);
    f->regs.gpr[VMM_RBX] = MMIO_BASE + 0x300;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x300, B(0x3e, 0x8b, 0x03)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0x31323334);
    /* RIP-relative: mov eax, [rip+0x10] at rip 0xc0000 -> 0xc0016 */
    f->regs.rip = MMIO_BASE;
    mmio_put(f, MMIO_BASE + 0x16, 4, 0x77665544);
    assert_int_equal(
        run(f, VMM_MODE_LONG64, MMIO_BASE + 0x16, B(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0x77665544);
    assert_int_equal(f->regs.rip, MMIO_BASE + 6);
    /* 32-bit address size in 64-bit mode: mov [eax], ecx with junk in RAX's upper half */
    f->regs.gpr[VMM_RAX] = 0xffffffff00000000ull | (MMIO_BASE + 0x40);
    f->regs.gpr[VMM_RCX] = 0x5a;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x40, B(0x67, 0x89, 0x08)), 0);
    expect_access(f, 0, MMIO_BASE + 0x40, 4, true, 0x5a);
}

static void test_compat_mode(void **state)
{
    struct fake *f = *state;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 0xaabbccdd;
    /* CS.D = 1: 89 08 is mov [eax], ecx */
    set_mode(f, VMM_MODE_COMPAT);
    f->regs.seg[VMM_CS].attrib = VMM_WALK_SEG_DB;
    memset(&f->emu, 0, sizeof(f->emu));
    f->emu = (struct vmm_emu){.insn = {0x89, 0x08},
                              .insn_len = 2,
                              .mode = VMM_MODE_COMPAT,
                              .regs = &f->regs,
                              .gpa = MMIO_BASE,
                              .ops = &fk_ops,
                              .ctx = f};
    f->nlog = 0;
    f->regs.rip = 0x1000;
    assert_int_equal(vmm_emulate_mmio(&f->emu), 0);
    expect_access(f, 0, MMIO_BASE, 4, true, 0xaabbccdd);
    assert_int_equal(f->regs.rip, 0x1002);
    /* CS.D = 0: the same bytes are mov [bx+si], cx */
    f->regs.seg[VMM_CS].attrib = 0;
    f->regs.gpr[VMM_RBX] = 0x10000;
    f->regs.gpr[VMM_RSI] = 0x10;
    f->regs.seg[VMM_DS].base = MMIO_BASE;
    f->regs.rip = 0x1fffe;
    f->emu.gpa = MMIO_BASE + 0x10;
    f->nlog = 0;
    assert_int_equal(vmm_emulate_mmio(&f->emu), 0);
    assert_int_equal(f->emu.len, 2);
    expect_access(f, 0, MMIO_BASE + 0x10, 2, true, 0xccdd);
    assert_int_equal(f->regs.rip, 0); /* 16-bit code: IP wraps */
}

/* ---- MOVZX / MOVSX ---------------------------------------------------------------------------- */

static void test_movzx_movsx(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x50;

    mmio_put(f, a, 8, 0x00000000f00d8085ull);
    f->regs.gpr[VMM_RAX] = a;
    f->regs.gpr[VMM_RCX] = ~0ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x0f, 0xb6, 0x08)), 0); /* movzx ecx, byte */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x85);
    expect_access(f, 0, a, 1, false, 0x85);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x0f, 0xb7, 0x08)), 0); /* movzx ecx, word */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x8085);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0x0f, 0xbe, 0x08)), 0); /* movsx rcx,b */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xffffffffffffff85ull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0x0f, 0xbf, 0x08)), 0); /* movsx rcx,w */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xffffffffffff8085ull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x0f, 0xbf, 0x08)), 0); /* movsx ecx, word */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xffff8085ull);
    f->regs.gpr[VMM_RCX] = 0x1111111111111111ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x66, 0x0f, 0xbe, 0x08)), 0); /* movsx cx,b */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x111111111111ff85ull);
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x48, 0x63, 0x08)), 0); /* movsxd rcx, dword */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xfffffffff00d8085ull);
    /* movzx ah, ... does not exist; movzx ax, byte [bx] in 16-bit mode */
    f->regs.gpr[VMM_RBX] = 0x50;
    f->regs.seg[VMM_DS].base = MMIO_BASE;
    f->regs.gpr[VMM_RAX] = 0xffffffff;
    assert_int_equal(run(f, VMM_MODE_REAL, a, B(0x0f, 0xb6, 0x07)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0xffff0085);
    /* movsx with a register source has no memory operand */
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x0f, 0xbe, 0xc1)), -ENOTSUP);
}

/* ---- ALU: flags against the host CPU ---------------------------------------------------------- */

enum { OP_ADD, OP_OR, OP_AND, OP_SUB, OP_XOR, OP_CMP, OP_TEST, NOPS };
enum form { FORM_MR, FORM_RM, FORM_MI, FORM_MI8 };

static const uint8_t alu_base[NOPS] = {0x00, 0x08, 0x20, 0x28, 0x30, 0x38, 0x84};
static const uint8_t alu_digit[NOPS] = {0, 1, 4, 5, 6, 7, 0};

#define HOST_ALU(name, insn, T)                                                                    \
    static uint64_t host_##name(uint64_t a, uint64_t b, uint64_t *flags)                           \
    {                                                                                              \
        T x = (T)a;                                                                                \
        T y = (T)b;                                                                                \
        uint64_t fl;                                                                               \
        __asm__ volatile("sub $128, %%rsp\n\t" insn " %[y], %[x]\n\t"                              \
                         "pushfq\n\tpopq %[fl]\n\tadd $128, %%rsp"                                 \
                         : [x] "+r"(x), [fl] "=&r"(fl)                                             \
                         : [y] "r"(y)                                                              \
                         : "cc");                                                                  \
        *flags = fl;                                                                               \
        return x;                                                                                  \
    }
#define HOST_ALU_SIZES(op)                                                                         \
    HOST_ALU(op##_1, #op, uint8_t)                                                                 \
    HOST_ALU(op##_2, #op, uint16_t)                                                                \
    HOST_ALU(op##_4, #op, uint32_t)                                                                \
    HOST_ALU(op##_8, #op, uint64_t)
HOST_ALU_SIZES(add)
HOST_ALU_SIZES(or)
HOST_ALU_SIZES(and)
HOST_ALU_SIZES(sub)
HOST_ALU_SIZES(xor)
HOST_ALU_SIZES(cmp)
HOST_ALU_SIZES(test)

typedef uint64_t (*host_fn)(uint64_t, uint64_t, uint64_t *);
#define HOST_ROW(op)                                                                               \
    {                                                                                              \
        host_##op##_1, host_##op##_2, host_##op##_4, host_##op##_8                                 \
    }
static const host_fn host_alu[NOPS][4] = {HOST_ROW(add), HOST_ROW(or),  HOST_ROW(and),
                                          HOST_ROW(sub), HOST_ROW(xor), HOST_ROW(cmp),
                                          HOST_ROW(test)};

static unsigned size_index(unsigned size)
{
    return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/* Encodes OP with [rax] and cl/cx/ecx/rcx or an immediate (64-bit mode). */
static size_t alu_encode(uint8_t *out, int op, unsigned size, enum form form, uint64_t imm)
{
    size_t n = 0;
    unsigned imm_size = 0;

    if (size == 2) {
        out[n++] = 0x66;
    }
    if (size == 8) {
        out[n++] = 0x48;
    }
    switch (form) {
    case FORM_MR:
        out[n++] = alu_base[op] + (size != 1);
        out[n++] = 0x08;
        break;
    case FORM_RM:
        out[n++] = alu_base[op] + 2 + (size != 1);
        out[n++] = 0x08;
        break;
    case FORM_MI:
        out[n++] = op == OP_TEST ? (size == 1 ? 0xf6 : 0xf7) : (size == 1 ? 0x80 : 0x81);
        out[n++] = (uint8_t)(alu_digit[op] << 3);
        imm_size = size == 1 ? 1 : size == 2 ? 2 : 4;
        break;
    case FORM_MI8:
        out[n++] = 0x83;
        out[n++] = (uint8_t)(alu_digit[op] << 3);
        imm_size = 1;
        break;
    }
    for (unsigned i = 0; i < imm_size; i++) {
        out[n++] = (uint8_t)(imm >> (8 * i));
    }
    return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t sext(uint64_t v, unsigned bytes)
{
    unsigned s = 64 - bytes * 8;

    return (uint64_t)((int64_t)(v << s) >> s);
}

static void check_alu(struct fake *f, int op, unsigned size, enum form form, uint64_t a, uint64_t b)
{
    uint8_t bytes[16];
    uint64_t m = mask_of(size);
    uint64_t addr = MMIO_BASE + 0x200;
    uint64_t host_flags;
    uint64_t want;
    uint64_t init_flags = 0x202 | (rng() & STATUS) | ((rng() & 1) ? VMM_RFLAGS_DF : 0);
    uint64_t rcx_before = rng();
    uint64_t flag_mask = STATUS;
    bool writes = op != OP_CMP && op != OP_TEST;
    size_t n;
    int rc;

    /* The immediate forms carry b as the CPU will see it: sign-extended imm8/imm32. */
    if (form == FORM_MI8) {
        b = sext(b, 1) & m;
    } else if (form == FORM_MI && size == 8) {
        b = sext(b, 4);
    }
    a &= m;
    b &= m;
    n = alu_encode(bytes, op, size, form, b);
    want = host_alu[op][size_index(size)](a, b, &host_flags) & m;
    if (op == OP_OR || op == OP_AND || op == OP_XOR || op == OP_TEST) {
        flag_mask &= ~VMM_RFLAGS_AF; /* undefined for logic instructions */
    }

    memset(&f->regs.gpr, 0, sizeof(f->regs.gpr));
    f->regs.gpr[VMM_RAX] = addr;
    f->regs.rflags = init_flags;
    f->regs.rip = 0x4000;
    if (form == FORM_RM) {
        /* OP reg, [mem]: reg = a, mem = b */
        f->regs.gpr[VMM_RCX] = (rcx_before & ~m) | a;
        memset(&f->mmio[addr - MMIO_BASE], 0x55, 16);
        mmio_put(f, addr, size, b);
    } else {
        f->regs.gpr[VMM_RCX] = (rcx_before & ~m) | b;
        memset(&f->mmio[addr - MMIO_BASE], 0x55, 16);
        mmio_put(f, addr, size, a);
    }
    rc = run(f, VMM_MODE_LONG64, addr, bytes, n);
    assert_int_equal(rc, 0);
    assert_int_equal(f->regs.rip, 0x4000 + n);
    if ((f->regs.rflags & flag_mask) != (host_flags & flag_mask)) {
        print_error("op %d size %u form %d a=%#llx b=%#llx: flags %#llx, host %#llx\n", op, size,
                    form, (unsigned long long)a, (unsigned long long)b,
                    (unsigned long long)f->regs.rflags, (unsigned long long)host_flags);
        fail();
    }
    /* The other RFLAGS bits stay as they were. */
    assert_int_equal(f->regs.rflags & ~(uint64_t)STATUS, init_flags & ~(uint64_t)STATUS);
    if (flag_mask != STATUS) {
        assert_int_equal(f->regs.rflags & VMM_RFLAGS_AF, 0);
    }
    if (form == FORM_RM) {
        uint64_t rcx_want = (rcx_before & ~m) | a;

        if (writes) {
            rcx_want = size == 4 ? want : (rcx_before & ~m) | want;
        }
        assert_int_equal(f->regs.gpr[VMM_RCX], rcx_want);
        assert_int_equal(f->nlog, 1);
        assert_false(f->log[0].write);
    } else {
        assert_int_equal(mmio_get(f, addr, size), writes ? want : a);
        assert_int_equal(f->nlog, writes ? 2u : 1u);
        assert_int_equal(mmio_get(f, addr + size, 1), 0x55); /* nothing beyond the operand */
    }
}

static const uint64_t edge_values[] = {0,
                                       1,
                                       0x7f,
                                       0x80,
                                       0xff,
                                       0x7fff,
                                       0x8000,
                                       0xffff,
                                       0x7fffffff,
                                       0x80000000,
                                       0xffffffff,
                                       0x0f,
                                       0x10,
                                       0x7fffffffffffffffull,
                                       0x8000000000000000ull,
                                       ~0ull};

static void test_alu_flags_vs_host(void **state)
{
    struct fake *f = *state;
    static const unsigned sizes[] = {1, 2, 4, 8};
    unsigned runs = 0;

    for (int op = 0; op < NOPS; op++) {
        for (unsigned si = 0; si < 4; si++) {
            for (int form = FORM_MR; form <= FORM_MI8; form++) {
                if (op == OP_TEST && (form == FORM_RM || form == FORM_MI8)) {
                    continue; /* no such encodings */
                }
                if (form == FORM_MI8 && sizes[si] == 1) {
                    continue;
                }
                for (size_t i = 0; i < ARRAY_SIZE(edge_values); i++) {
                    for (size_t j = 0; j < ARRAY_SIZE(edge_values); j += 3) {
                        check_alu(f, op, sizes[si], form, edge_values[i], edge_values[j]);
                        runs++;
                    }
                }
                for (int k = 0; k < 200; k++) {
                    check_alu(f, op, sizes[si], form, rng(), rng());
                    runs++;
                }
            }
        }
    }
    assert_true(runs > 10000);
}

static void test_alu_16_32_modes(void **state)
{
    struct fake *f = *state;

    /* 32-bit mode: add [eax], ecx (01 08); 0x66 makes it 16-bit */
    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 1;
    mmio_put(f, MMIO_BASE, 4, 0xffffffff);
    f->regs.rflags = 0x2;
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE, B(0x01, 0x08)), 0);
    assert_int_equal(mmio_get(f, MMIO_BASE, 4), 0);
    assert_int_equal(f->regs.rflags & STATUS,
                     VMM_RFLAGS_CF | VMM_RFLAGS_ZF | VMM_RFLAGS_PF | VMM_RFLAGS_AF);
    mmio_put(f, MMIO_BASE, 4, 0x12347fff);
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE, B(0x66, 0x01, 0x08)), 0);
    assert_int_equal(mmio_get(f, MMIO_BASE, 4), 0x12348000);
    assert_int_equal(f->regs.rflags & STATUS,
                     VMM_RFLAGS_OF | VMM_RFLAGS_SF | VMM_RFLAGS_AF | VMM_RFLAGS_PF);
    /* 16-bit mode: or word [bx], 0x8000 (81 0f 00 80) */
    f->regs.gpr[VMM_RBX] = 0;
    f->regs.seg[VMM_DS].base = MMIO_BASE;
    mmio_put(f, MMIO_BASE, 2, 0x0001);
    assert_int_equal(run(f, VMM_MODE_REAL, MMIO_BASE, B(0x81, 0x0f, 0x00, 0x80)), 0);
    assert_int_equal(mmio_get(f, MMIO_BASE, 2), 0x8001);
    assert_int_equal(f->regs.rflags & STATUS, VMM_RFLAGS_SF);
    /* 16-bit mode: test byte [bx], 1 (f6 07 01) sets ZF when the bit is clear */
    mmio_put(f, MMIO_BASE, 1, 0xfe);
    assert_int_equal(run(f, VMM_MODE_REAL, MMIO_BASE, B(0xf6, 0x07, 0x01)), 0);
    assert_int_equal(f->regs.rflags & VMM_RFLAGS_ZF, VMM_RFLAGS_ZF);
    assert_int_equal(f->nlog, 1);
    /* and eax, [ebx] in 32-bit mode writes EAX (zero-extended) */
    f->regs.gpr[VMM_RBX] = MMIO_BASE;
    f->regs.seg[VMM_DS].base = 0;
    f->regs.gpr[VMM_RAX] = 0xffffffff0000ffffull;
    mmio_put(f, MMIO_BASE, 4, 0x00ff00ff);
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE, B(0x23, 0x03)), 0);
    assert_int_equal(f->regs.gpr[VMM_RAX], 0xff);
}

static void test_lock_prefix(void **state)
{
    struct fake *f = *state;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 5;
    mmio_put(f, MMIO_BASE, 4, 10);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf0, 0x01, 0x08)), 0); /* lock add */
    assert_int_equal(mmio_get(f, MMIO_BASE, 4), 15);
    assert_int_equal(f->emu.len, 3);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf0, 0x29, 0x08)), 0); /* lock sub */
    assert_int_equal(mmio_get(f, MMIO_BASE, 4), 10);
    /* lock on mov or cmp is #UD on the CPU: refused */
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf0, 0x89, 0x08)), -ENOTSUP);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf0, 0x39, 0x08)), -ENOTSUP);
    assert_int_equal(f->nlog, 0);
}

/* ---- XCHG ----------------------------------------------------------------------------------- */

static void test_xchg(void **state)
{
    struct fake *f = *state;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 0xffffffff12345678ull;
    mmio_put(f, MMIO_BASE, 8, 0x99887766aabbccddull);
    f->regs.rflags = 0x2 | VMM_RFLAGS_CF;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x87, 0x08)), 0); /* xchg [rax], ecx */
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xaabbccdd);
    assert_int_equal(mmio_get(f, MMIO_BASE, 8), 0x9988776612345678ull);
    assert_int_equal(f->regs.rflags, 0x2 | VMM_RFLAGS_CF); /* no flags change */
    expect_access(f, 0, MMIO_BASE, 4, false, 0xaabbccdd);
    expect_access(f, 1, MMIO_BASE, 4, true, 0x12345678);
    /* lock xchg cl, [rax] (f0 86 08) */
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf0, 0x86, 0x08)), 0);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0xaabbcc78);
    assert_int_equal(mmio_get(f, MMIO_BASE, 1), 0xdd);
    /* xchg [rax], rcx */
    f->regs.gpr[VMM_RCX] = 0x0102030405060708ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x48, 0x87, 0x08)), 0);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x99887766123456ddull);
    assert_int_equal(mmio_get(f, MMIO_BASE, 8), 0x0102030405060708ull);
    /* a failing write leaves the register as it was */
    f->fail_mmio_write = -EIO;
    f->regs.rip = 0x1000;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x48, 0x87, 0x08)), -EIO);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x99887766123456ddull);
    assert_int_equal(f->regs.rip, 0x1000);
    f->fail_mmio_write = 0;
}

/* ---- STOS ----------------------------------------------------------------------------------- */

static void test_rep_stos(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x1000;

    /* rep stosb, 64-bit, 100 bytes */
    f->regs.gpr[VMM_RDI] = a;
    f->regs.gpr[VMM_RCX] = 100;
    f->regs.gpr[VMM_RAX] = 0x1234567890abcdefull;
    f->regs.rip = 0x2000;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xf3, 0xaa)), 0);
    assert_int_equal(f->emu.elements, 100);
    assert_false(f->emu.rep_pending);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0);
    assert_int_equal(f->regs.gpr[VMM_RDI], a + 100);
    assert_int_equal(f->regs.rip, 0x2002);
    for (unsigned i = 0; i < 100; i++) {
        assert_int_equal(f->mmio[a - MMIO_BASE + i], 0xef);
    }
    assert_int_equal(f->mmio[a - MMIO_BASE + 100], 0);
    assert_true(f->ntranslate <= 2);
    /* rep stosq with DF = 1 goes down */
    f->regs.rflags = 0x2 | VMM_RFLAGS_DF;
    f->regs.gpr[VMM_RDI] = a + 0x100;
    f->regs.gpr[VMM_RCX] = 3;
    assert_int_equal(run(f, VMM_MODE_LONG64, a + 0x100, B(0xf3, 0x48, 0xab)), 0);
    expect_access(f, 0, a + 0x100, 8, true, 0x1234567890abcdefull);
    expect_access(f, 1, a + 0xf8, 8, true, 0x1234567890abcdefull);
    expect_access(f, 2, a + 0xf0, 8, true, 0x1234567890abcdefull);
    assert_int_equal(f->regs.gpr[VMM_RDI], a + 0xe8);
    f->regs.rflags = 0x2;
    /* stosd without REP: one element, RCX untouched */
    f->regs.gpr[VMM_RCX] = 77;
    f->regs.gpr[VMM_RDI] = a;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xab)), 0);
    assert_int_equal(f->nlog, 1);
    expect_access(f, 0, a, 4, true, 0x90abcdef);
    assert_int_equal(f->regs.gpr[VMM_RCX], 77);
    assert_int_equal(f->regs.gpr[VMM_RDI], a + 4);
    /* rep with RCX = 0 does nothing but move RIP */
    f->regs.gpr[VMM_RCX] = 0;
    f->regs.rip = 0x2000;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xf3, 0xab)), 0);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(f->regs.rip, 0x2002);
    /* 32-bit mode, ES base, rep stosw */
    f->regs.seg[VMM_ES].base = MMIO_BASE;
    f->regs.gpr[VMM_RDI] = 0x10;
    f->regs.gpr[VMM_RCX] = 2;
    f->regs.gpr[VMM_RAX] = 0xa5a5;
    assert_int_equal(run(f, VMM_MODE_PROT32, MMIO_BASE + 0x10, B(0xf3, 0x66, 0xab)), 0);
    expect_access(f, 0, MMIO_BASE + 0x10, 2, true, 0xa5a5);
    expect_access(f, 1, MMIO_BASE + 0x12, 2, true, 0xa5a5);
    assert_int_equal(f->regs.gpr[VMM_RDI], 0x14);
    /* 16-bit address size: DI wraps at 64 KiB and the upper bits of RDI/RCX stay */
    f->regs.seg[VMM_ES].base = MMIO_BASE;
    f->regs.gpr[VMM_RDI] = 0xabcd0000fffeull;
    f->regs.gpr[VMM_RCX] = 0x5555000000000002ull;
    assert_int_equal(run(f, VMM_MODE_REAL, MMIO_BASE + 0xfffe, B(0xf3, 0xaa)), 0);
    expect_access(f, 0, MMIO_BASE + 0xfffe, 1, true, 0xa5);
    expect_access(f, 1, MMIO_BASE + 0xffff, 1, true, 0xa5);
    assert_int_equal(f->regs.gpr[VMM_RDI], 0xabcd00000000ull);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x5555000000000000ull);
    /* 32-bit address size in 64-bit mode (67): ECX/EDI, zero-extended */
    f->regs.gpr[VMM_RDI] = 0xffffffff00000000ull | a;
    f->regs.gpr[VMM_RCX] = 0xffffffff00000001ull;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0x67, 0xf3, 0xaa)), 0);
    assert_int_equal(f->regs.gpr[VMM_RDI], a + 1);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0);
    /* F2 (repne) on a string move repeats like REP */
    f->regs.gpr[VMM_RDI] = a;
    f->regs.gpr[VMM_RCX] = 4;
    assert_int_equal(run(f, VMM_MODE_LONG64, a, B(0xf2, 0xaa)), 0);
    assert_int_equal(f->emu.elements, 4);
}

static void test_rep_bounded(void **state)
{
    struct fake *f = *state;
    uint64_t a = MMIO_BASE + 0x2000;
    int calls = 0;
    int rc;

    f->regs.gpr[VMM_RDI] = a;
    f->regs.gpr[VMM_RCX] = 25;
    f->regs.gpr[VMM_RAX] = 0x42;
    f->regs.rip = 0x3000;
    rc = run(f, VMM_MODE_LONG64, a, B(0xf3, 0xaa));
    f->emu.max_rep = 10;
    /* the first run used the default bound: redo with 10 */
    f->regs.gpr[VMM_RDI] = a;
    f->regs.gpr[VMM_RCX] = 25;
    f->regs.rip = 0x3000;
    assert_int_equal(rc, 0);
    do {
        rc = rerun(f);
        assert_int_equal(rc, 0);
        calls++;
        if (f->emu.rep_pending) {
            assert_int_equal(f->emu.elements, 10);
            assert_int_equal(f->regs.rip, 0x3000);
        }
    } while (f->emu.rep_pending && calls < 10);
    assert_int_equal(calls, 3);
    assert_int_equal(f->emu.elements, 5);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0);
    assert_int_equal(f->regs.gpr[VMM_RDI], a + 25);
    assert_int_equal(f->regs.rip, 0x3002);
    /* the default bound */
    f->regs.gpr[VMM_RDI] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = MMIO_SIZE;
    f->regs.rip = 0x3000;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf3, 0xaa)), 0);
    assert_true(f->emu.rep_pending);
    assert_int_equal(f->emu.elements, VMM_EMU_REP_DEFAULT);
    assert_int_equal(f->regs.gpr[VMM_RCX], MMIO_SIZE - VMM_EMU_REP_DEFAULT);
}

/* ---- MOVS ----------------------------------------------------------------------------------- */

static void test_movs_ram_to_mmio(void **state)
{
    struct fake *f = *state;

    for (unsigned i = 0; i < 64; i++) {
        f->ram[0x5000 + i] = (uint8_t)(i + 1);
    }
    /* rep movsd: RAM 0x5000 -> MMIO, 16 dwords */
    f->regs.gpr[VMM_RSI] = 0x5000;
    f->regs.gpr[VMM_RDI] = MMIO_BASE + 0x400;
    f->regs.gpr[VMM_RCX] = 16;
    f->regs.rip = 0x1000;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x400, B(0xf3, 0xa5)), 0);
    assert_int_equal(f->emu.elements, 16);
    assert_memory_equal(&f->mmio[0x400], &f->ram[0x5000], 64);
    assert_int_equal(f->regs.gpr[VMM_RSI], 0x5040);
    assert_int_equal(f->regs.gpr[VMM_RDI], MMIO_BASE + 0x440);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0);
    assert_int_equal(f->regs.rip, 0x1002);
    assert_int_equal(f->nlog, 16); /* only the MMIO side reaches the device */
    for (size_t i = 0; i < 16; i++) {
        assert_true(f->log[i].write);
        assert_int_equal(f->log[i].size, 4);
    }
}

static void test_movs_mmio_to_ram(void **state)
{
    struct fake *f = *state;

    for (unsigned i = 0; i < 32; i++) {
        f->mmio[0x600 + i] = (uint8_t)(0xa0 + i);
    }
    /* rep movsq backwards (DF = 1): MMIO -> RAM, 4 qwords ending at the given addresses */
    f->regs.rflags = 0x2 | VMM_RFLAGS_DF;
    f->regs.gpr[VMM_RSI] = MMIO_BASE + 0x618;
    f->regs.gpr[VMM_RDI] = 0x7018;
    f->regs.gpr[VMM_RCX] = 4;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x618, B(0xf3, 0x48, 0xa5)), 0);
    assert_memory_equal(&f->ram[0x7000], &f->mmio[0x600], 32);
    assert_int_equal(f->regs.gpr[VMM_RSI], MMIO_BASE + 0x5f8);
    assert_int_equal(f->regs.gpr[VMM_RDI], 0x6ff8);
    expect_access(f, 0, MMIO_BASE + 0x618, 8, false, mmio_get(f, MMIO_BASE + 0x618, 8));
    f->regs.rflags = 0x2;
    /* movsb without REP, FS override on the source in 64-bit mode */
    f->regs.seg[VMM_FS].base = MMIO_BASE;
    f->regs.gpr[VMM_RSI] = 0x600;
    f->regs.gpr[VMM_RDI] = 0x7100;
    f->regs.gpr[VMM_RCX] = 9;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x600, B(0x64, 0xa4)), 0);
    assert_int_equal(f->ram[0x7100], 0xa0);
    assert_int_equal(f->regs.gpr[VMM_RCX], 9);
    assert_int_equal(f->regs.gpr[VMM_RSI], 0x601);
    /* 16-bit real mode: rep movsw from DS:SI (MMIO) to ES:DI (RAM) */
    f->regs.seg[VMM_DS].base = MMIO_BASE;
    f->regs.seg[VMM_ES].base = 0x7000;
    f->regs.gpr[VMM_RSI] = 0x600;
    f->regs.gpr[VMM_RDI] = 0x200;
    f->regs.gpr[VMM_RCX] = 3;
    assert_int_equal(run(f, VMM_MODE_REAL, MMIO_BASE + 0x600, B(0xf3, 0xa5)), 0);
    assert_memory_equal(&f->ram[0x7200], &f->mmio[0x600], 6);
    assert_int_equal(f->regs.gpr[VMM_RSI], 0x606);
    assert_int_equal(f->regs.gpr[VMM_RDI], 0x206);
}

static void test_movs_mmio_to_mmio_and_remap(void **state)
{
    struct fake *f = *state;

    /* MMIO -> MMIO */
    mmio_put(f, MMIO_BASE + 0x800, 4, 0xfeedbeef);
    f->regs.gpr[VMM_RSI] = MMIO_BASE + 0x800;
    f->regs.gpr[VMM_RDI] = MMIO_BASE + 0x900;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x800, B(0xa5)), 0);
    assert_int_equal(mmio_get(f, MMIO_BASE + 0x900, 4), 0xfeedbeef);
    assert_int_equal(f->nlog, 2);
    /* A REP that runs from an MMIO page into a RAM page: linear 0x200ff8.. maps to MMIO page
     * 0xc3000 and linear 0x201000 to RAM page 0x6000. */
    f->map_l[0] = 0x200000;
    f->map_g[0] = MMIO_BASE + 0x3000;
    f->map_l[1] = 0x201000;
    f->map_g[1] = 0x6000;
    f->nmap = 2;
    f->regs.gpr[VMM_RDI] = 0x200ffc;
    f->regs.gpr[VMM_RCX] = 4;
    f->regs.gpr[VMM_RAX] = 0x01020304;
    f->ntranslate = 0;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x3ffc, B(0xf3, 0xab)), 0);
    assert_int_equal(f->nlog, 1); /* the first dword is MMIO, the other three RAM */
    expect_access(f, 0, MMIO_BASE + 0x3ffc, 4, true, 0x01020304);
    assert_int_equal(f->ram[0x6000], 0x04);
    assert_int_equal(f->ram[0x6008], 0x04);
    assert_int_equal(f->ntranslate, 2); /* one per page */
    f->nmap = 0;
}

static void test_string_errors(void **state)
{
    struct fake *f = *state;

    /* an MMIO read failure in the 3rd element: two done, RIP stays, the error comes back */
    f->regs.gpr[VMM_RSI] = MMIO_BASE;
    f->regs.gpr[VMM_RDI] = 0x1000;
    f->regs.gpr[VMM_RCX] = 5;
    f->regs.rip = 0x1000;
    set_mode(f, VMM_MODE_LONG64);
    memset(&f->emu, 0, sizeof(f->emu));
    f->emu = (struct vmm_emu){.insn = {0xf3, 0xa4},
                              .insn_len = 2,
                              .mode = VMM_MODE_LONG64,
                              .regs = &f->regs,
                              .gpa = MMIO_BASE,
                              .max_rep = 2,
                              .ops = &fk_ops,
                              .ctx = f};
    assert_int_equal(vmm_emulate_mmio(&f->emu), 0);
    assert_true(f->emu.rep_pending);
    f->fail_mmio_read = -EIO;
    assert_int_equal(vmm_emulate_mmio(&f->emu), -EIO);
    f->fail_mmio_read = 0;
    assert_int_equal(f->regs.gpr[VMM_RCX], 3);
    assert_int_equal(f->regs.gpr[VMM_RSI], MMIO_BASE + 2);
    assert_int_equal(f->regs.rip, 0x1000);
    assert_non_null(f->emu.why);
    /* a RAM-side fault (outside the fake RAM) propagates */
    f->regs.gpr[VMM_RSI] = MMIO_BASE;
    f->regs.gpr[VMM_RDI] = RAM_SIZE + 0x100000;
    f->regs.gpr[VMM_RCX] = 1;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xf3, 0xa4)), -EFAULT);
    assert_int_equal(f->regs.gpr[VMM_RCX], 1);
    /* translate fails (a guest #PF the core recorded) */
    f->fail_translate = -EFAULT;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xa4)), -EFAULT);
    f->fail_translate = 0;
    /* string moves need the translation callbacks */
    {
        struct vmm_emu_ops ops = fk_ops;

        ops.translate = NULL;
        f->regs.gpr[VMM_RDI] = MMIO_BASE;
        assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xaa)), 0);
        f->emu.ops = &ops;
        assert_int_equal(vmm_emulate_mmio(&f->emu), -EINVAL);
    }
}

/* ---- page-crossing operands ------------------------------------------------------------------- */

static void test_straddle(void **state)
{
    struct fake *f = *state;

    /* The CPU reported the page start (the second half of a straddling access): the operand
     * address is translated instead, and it lands in MMIO here. */
    f->regs.gpr[VMM_RAX] = MMIO_BASE + 0xffe;
    f->regs.gpr[VMM_RCX] = 0x11223344;
    f->ntranslate = 0;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x1000, B(0x89, 0x08)), 0);
    expect_access(f, 0, MMIO_BASE + 0xffe, 4, true, 0x11223344);
    assert_int_equal(f->ntranslate, 1);
    /* ... and in RAM here: half RAM, half MMIO is refused */
    f->regs.gpr[VMM_RAX] = MMIO_BASE - 2;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x89, 0x08)), -ENOTSUP);
    assert_int_equal(f->nlog, 0);
    assert_non_null(f->emu.why);
    /* the normal case needs no translation */
    f->ntranslate = 0;
    f->regs.gpr[VMM_RAX] = MMIO_BASE + 0x10;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE + 0x10, B(0x89, 0x08)), 0);
    assert_int_equal(f->ntranslate, 0);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void expect_unsupported(struct fake *f, enum vmm_cpu_mode mode, const uint8_t *b, size_t n,
                               const char *mnemonic)
{
    char text[128];

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.rip = 0x1000;
    assert_int_equal(run(f, mode, MMIO_BASE, b, n), -ENOTSUP);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(f->regs.rip, 0x1000);
    assert_non_null(f->emu.why);
    vmm_emulate_describe(&f->emu, text, sizeof(text));
    if (strncmp(text, mnemonic, strlen(mnemonic)) != 0) {
        print_error("describe: '%s', want '%s...'\n", text, mnemonic);
        fail();
    }
}

static void test_unsupported(void **state)
{
    struct fake *f = *state;

    expect_unsupported(f, VMM_MODE_LONG64, B(0xff, 0x00), "inc [ff 00]");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x11, 0x08), "adc");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x19, 0x08), "sbb");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xf7, 0x18), "neg");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xff, 0x30), "push");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x0f, 0xa3, 0x08), "bt");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xf0, 0x0f, 0xab, 0x08), "bts");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x66, 0x0f, 0x6f, 0x00), "movdqa");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xc5, 0xfe, 0x6f, 0x00), "vmovdqu");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xf2, 0x0f, 0x10, 0x00), "movsd"); /* SSE movsd */
    expect_unsupported(f, VMM_MODE_LONG64, B(0x8d, 0x00), "lea");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x89, 0xc8), "mov"); /* mov eax, ecx */
    expect_unsupported(f, VMM_MODE_LONG64, B(0xac), "lodsb");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xa6), "cmpsb");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x8e, 0x00), "mov"); /* mov es, [rax] */
    expect_unsupported(f, VMM_MODE_LONG64, B(0x8c, 0x00), "mov"); /* mov [rax], es */
    expect_unsupported(f, VMM_MODE_LONG64, B(0x0f, 0xc1, 0x08), "xadd");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x0f, 0xb1, 0x08), "cmpxchg");
    expect_unsupported(f, VMM_MODE_LONG64, B(0xf0, 0x89, 0x08), "(bad)"); /* lock mov */
    expect_unsupported(f, VMM_MODE_LONG64, B(0x0f, 0x0b), "ud2");
    expect_unsupported(f, VMM_MODE_LONG64, B(0x06), "(bad)"); /* push es: invalid in 64-bit */
}

static void test_truncated(void **state)
{
    struct fake *f = *state;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.rip = 0x1000;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x89)), -ENODATA);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xc7, 0x00, 0x78, 0x56)), -ENODATA);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x66)), -ENODATA);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, (const uint8_t[]){0}, 0), -ENODATA);
    assert_int_equal(f->nlog, 0);
    assert_int_equal(f->regs.rip, 0x1000);
    assert_int_equal(f->emu.len, 0);
    /* 15 prefixes and no opcode: too long, not truncated */
    {
        uint8_t p[15];

        memset(p, 0x66, sizeof(p));
        assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, p, sizeof(p)), -ENOTSUP);
    }
    /* more bytes than an instruction can have, or no callbacks: a caller bug */
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x89, 0x08)), 0);
    f->emu.insn_len = 16;
    assert_int_equal(vmm_emulate_mmio(&f->emu), -EINVAL);
    f->emu.insn_len = 2;
    f->emu.ops = NULL;
    assert_int_equal(vmm_emulate_mmio(&f->emu), -EINVAL);
    assert_int_equal(vmm_emulate_mmio(NULL), -EINVAL);
    f->emu.ops = &fk_ops;
    f->emu.mode = (enum vmm_cpu_mode)42;
    assert_int_equal(vmm_emulate_mmio(&f->emu), -EINVAL);
}

static void test_callback_errors(void **state)
{
    struct fake *f = *state;
    uint64_t flags;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    f->regs.gpr[VMM_RCX] = 7;
    f->regs.rip = 0x1000;
    f->regs.rflags = 0x2;
    flags = f->regs.rflags;
    f->fail_mmio_read = -ETIMEDOUT;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x8b, 0x08)), -ETIMEDOUT);
    assert_int_equal(f->regs.gpr[VMM_RCX], 7);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x01, 0x08)), -ETIMEDOUT);
    f->fail_mmio_read = 0;
    f->fail_mmio_write = -EIO;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x01, 0x08)), -EIO);
    f->fail_mmio_write = 0;
    assert_int_equal(f->regs.rip, 0x1000);
    assert_int_equal(f->regs.rflags, flags);
    /* a positive callback result counts as success: xchg still updates the register */
    f->fail_mmio_write = 1;
    mmio_put(f, MMIO_BASE, 4, 0x4242);
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x87, 0x08)), 0);
    assert_int_equal(f->regs.gpr[VMM_RCX], 0x4242);
    assert_int_equal(f->regs.rip, 0x1002);
    f->fail_mmio_write = 0;
}

/* ---- describe / length ------------------------------------------------------------------------ */

static void test_describe(void **state)
{
    struct fake *f = *state;
    char text[64];
    int n;

    f->regs.gpr[VMM_RAX] = MMIO_BASE;
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0x89, 0x08, 0x90, 0x90)), 0);
    n = vmm_emulate_describe(&f->emu, text, sizeof(text));
    assert_string_equal(text, "mov [89 08]");
    assert_int_equal(n, (int)strlen(text));
    assert_int_equal(run(f, VMM_MODE_LONG64, MMIO_BASE, B(0xff, 0x00)), -ENOTSUP);
    vmm_emulate_describe(&f->emu, text, sizeof(text));
    assert_string_equal(text, "inc [ff 00] (unsupported instruction)");
    /* a small buffer truncates but stays terminated; the return value is the full length */
    n = vmm_emulate_describe(&f->emu, text, 8);
    assert_string_equal(text, "inc [ff");
    assert_int_equal(n, (int)strlen("inc [ff 00] (unsupported instruction)"));
    assert_int_equal(vmm_emulate_describe(&f->emu, text, 0), 0);
}

static void test_insn_length(void **state)
{
    struct fake *f = *state;
    unsigned len = 0;

    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_LONG64, B(0x0f, 0xa2), &len), 0); /* cpuid */
    assert_int_equal(len, 2);
    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_REAL, B(0xf4), &len), 0); /* hlt */
    assert_int_equal(len, 1);
    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_PROT32, B(0x0f, 0x30, 0xf4), &len), 0);
    assert_int_equal(len, 2);
    /* mov eax, imm: 5 bytes with CS.D = 1, 3 with CS.D = 0 */
    set_mode(f, VMM_MODE_COMPAT);
    f->regs.seg[VMM_CS].attrib = VMM_WALK_SEG_DB;
    assert_int_equal(vmm_insn_length(&f->regs, VMM_MODE_COMPAT, B(0xb8, 1, 2, 3, 4), &len), 0);
    assert_int_equal(len, 5);
    f->regs.seg[VMM_CS].attrib = 0;
    assert_int_equal(vmm_insn_length(&f->regs, VMM_MODE_COMPAT, B(0xb8, 1, 2, 3, 4), &len), 0);
    assert_int_equal(len, 3);
    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_COMPAT, B(0xf4), &len), -EINVAL);
    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_LONG64, B(0x0f), &len), -ENODATA);
    assert_int_equal(vmm_insn_length(NULL, VMM_MODE_LONG64, B(0x06), &len), -ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mov_store_64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mov_load_64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mov_imm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mov_moffs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addressing_16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addressing_32_and_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compat_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movzx_movsx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alu_flags_vs_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alu_16_32_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xchg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_stos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movs_ram_to_mmio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movs_mmio_to_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movs_mmio_to_mmio_and_remap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_straddle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insn_length, setup, teardown),
    };

    log_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
