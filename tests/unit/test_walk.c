/* Unit tests for the guest page-table walker (vmm/walk.c): each paging mode on fake page
 * tables in a fake guest-physical memory, faults and their error codes, permission rules,
 * accessed/dirty bits, page-crossing instruction fetch, linear addresses and CPU modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vmm/walk.h"
#include "log.h"

#define MEM_SIZE 0x200000u /* 2 MiB of fake guest memory for tables and fetched bytes */
#define P        (1ull << 0)
#define W        (1ull << 1)
#define U        (1ull << 2)
#define A        (1ull << 5)
#define D        (1ull << 6)
#define PS       (1ull << 7)
#define XD       (1ull << 63)

struct gmem {
    uint8_t mem[MEM_SIZE];
    uint64_t next_table;
    size_t nwrites;
    struct vmm_walk_env env;
};

static int gm_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct gmem *g = ctx;

    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(buf, &g->mem[gpa], len);
    return 0;
}

static int gm_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct gmem *g = ctx;

    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(&g->mem[gpa], buf, len);
    g->nwrites++;
    return 0;
}

static uint64_t get64(struct gmem *g, uint64_t gpa)
{
    uint64_t v;

    memcpy(&v, &g->mem[gpa], 8);
    return v;
}

static void put64(struct gmem *g, uint64_t gpa, uint64_t v)
{
    memcpy(&g->mem[gpa], &v, 8);
}

static uint32_t get32(struct gmem *g, uint64_t gpa)
{
    uint32_t v;

    memcpy(&v, &g->mem[gpa], 4);
    return v;
}

static void put32(struct gmem *g, uint64_t gpa, uint32_t v)
{
    memcpy(&g->mem[gpa], &v, 4);
}

static uint64_t alloc_table(struct gmem *g)
{
    uint64_t t = g->next_table;

    assert_true(t + 4096 <= MEM_SIZE);
    g->next_table += 4096;
    memset(&g->mem[t], 0, 4096);
    return t;
}

static int setup(void **state)
{
    struct gmem *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    g->next_table = 0x10000;
    g->env.read_gpa = gm_read;
    g->env.ctx = g;
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* ---- table builders --------------------------------------------------------------------------- */

/* 4-level or PAE levels below `top` (4 = PML4, 2 = PD): maps va -> pa with the leaf at leaf_level
 * (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB). Missing tables get `upper` flags. Returns the leaf's gpa. */
static uint64_t map_levels(struct gmem *g, uint64_t table, int top, uint64_t va, uint64_t pa,
                           int leaf_level, uint64_t upper, uint64_t leaf)
{
    for (int level = top; level > leaf_level; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e_gpa = table + ((va >> shift) & 0x1ff) * 8;
        uint64_t e = get64(g, e_gpa);

        if (!(e & P)) {
            e = alloc_table(g) | upper;
            put64(g, e_gpa, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
    {
        unsigned shift = 12 + 9 * (unsigned)(leaf_level - 1);
        uint64_t e_gpa = table + ((va >> shift) & 0x1ff) * 8;

        put64(g, e_gpa, pa | leaf | (leaf_level > 1 ? PS : 0));
        return e_gpa;
    }
}

/* The gpa of the entry at `level` on the way to va (4-level paging). */
static uint64_t entry_long(struct gmem *g, uint64_t va, int level)
{
    uint64_t table = g->env.cr3 & 0x000ffffffffff000ull;

    for (int l = 4; l > level; l--) {
        unsigned shift = 12 + 9 * (unsigned)(l - 1);

        table = get64(g, table + ((va >> shift) & 0x1ff) * 8) & 0x000ffffffffff000ull;
    }
    return table + ((va >> (12 + 9 * (unsigned)(level - 1))) & 0x1ff) * 8;
}

static void long_mode(struct gmem *g)
{
    g->env.cr0 = VMM_WALK_CR0_PE | VMM_WALK_CR0_PG | VMM_WALK_CR0_WP;
    g->env.cr4 = VMM_WALK_CR4_PAE;
    g->env.efer = VMM_WALK_EFER_LME | VMM_WALK_EFER_LMA | VMM_WALK_EFER_NXE;
    g->env.cr3 = alloc_table(g);
}

static uint64_t map_long(struct gmem *g, uint64_t va, uint64_t pa, int leaf_level, uint64_t leaf)
{
    return map_levels(g, g->env.cr3, 4, va, pa, leaf_level, P | W | U, leaf);
}

static void pae_mode(struct gmem *g)
{
    g->env.cr0 = VMM_WALK_CR0_PE | VMM_WALK_CR0_PG;
    g->env.cr4 = VMM_WALK_CR4_PAE;
    g->env.efer = VMM_WALK_EFER_NXE;
    g->env.cr3 = alloc_table(g) + 0x20; /* 32-byte aligned, not page aligned */
}

static uint64_t map_pae(struct gmem *g, uint64_t va, uint64_t pa, int leaf_level, uint64_t leaf)
{
    uint64_t pdpte_gpa = (g->env.cr3 & 0xffffffe0ull) + (va >> 30) * 8;

    if (!(get64(g, pdpte_gpa) & P)) {
        put64(g, pdpte_gpa, alloc_table(g) | P);
    }
    return map_levels(g, get64(g, pdpte_gpa) & 0x000ffffffffff000ull, 2, va, pa, leaf_level,
                      P | W | U, leaf);
}

static void mode_32(struct gmem *g)
{
    g->env.cr0 = VMM_WALK_CR0_PE | VMM_WALK_CR0_PG;
    g->env.cr4 = VMM_WALK_CR4_PSE;
    g->env.efer = 0;
    g->env.cr3 = alloc_table(g);
}

/* 32-bit paging: a 4 KiB mapping (big = false) or a 4 MiB PDE whose value is pde_or_pa. */
static uint64_t map_32(struct gmem *g, uint32_t va, uint32_t pa, uint32_t upper, uint32_t leaf)
{
    uint64_t pde_gpa = (g->env.cr3 & 0xfffff000u) + (va >> 22) * 4;
    uint32_t pde = get32(g, pde_gpa);
    uint64_t pte_gpa;

    if (!(pde & P)) {
        pde = (uint32_t)alloc_table(g) | upper;
        put32(g, pde_gpa, pde);
    }
    pte_gpa = (pde & 0xfffff000u) + ((va >> 12) & 0x3ff) * 4;
    put32(g, pte_gpa, pa | leaf);
    return pte_gpa;
}

static int walk(struct gmem *g, uint64_t va, unsigned access, uint64_t *gpa, uint64_t *code)
{
    *gpa = 0xbad;
    *code = 0xbad;
    return vmm_walk(&g->env, va, access, gpa, code);
}

static void expect_gpa(struct gmem *g, uint64_t va, unsigned access, uint64_t want)
{
    uint64_t gpa;
    uint64_t code;
    int rc = walk(g, va, access, &gpa, &code);

    if (rc != 0 || gpa != want) {
        print_error("va %#llx access %#x: rc %d gpa %#llx, want %#llx\n", (unsigned long long)va,
                    access, rc, (unsigned long long)gpa, (unsigned long long)want);
        fail();
    }
}

static void expect_pf(struct gmem *g, uint64_t va, unsigned access, uint64_t want_code)
{
    uint64_t gpa;
    uint64_t code;
    int rc = walk(g, va, access, &gpa, &code);

    if (rc != -EFAULT || code != want_code) {
        print_error("va %#llx access %#x: rc %d code %#llx, want #PF %#llx\n",
                    (unsigned long long)va, access, rc, (unsigned long long)code,
                    (unsigned long long)want_code);
        fail();
    }
}

/* ---- paging off ------------------------------------------------------------------------------- */

static void test_paging_off(void **state)
{
    struct gmem *g = *state;

    g->env.cr0 = VMM_WALK_CR0_PE;
    expect_gpa(g, 0x1234567, 0, 0x1234567);
    expect_gpa(g, 0x100001000ull, VMM_ACC_WRITE | VMM_ACC_USER, 0x1000);
    g->env.cr0 = 0;
    expect_gpa(g, 0xffff0, VMM_ACC_EXEC, 0xffff0);
    assert_int_equal(vmm_walk(NULL, 0, 0, NULL, NULL), -EINVAL);
}

/* ---- 32-bit paging -------------------------------------------------------------------------- */

static void test_32bit_4k(void **state)
{
    struct gmem *g = *state;

    mode_32(g);
    map_32(g, 0x00401000, 0x00123000, P | W | U, P | W | U);
    expect_gpa(g, 0x00401abc, 0, 0x00123abc);
    expect_gpa(g, 0x00401abc, VMM_ACC_WRITE | VMM_ACC_USER, 0x00123abc);
    /* upper 32 bits of a linear address are ignored outside long mode */
    expect_gpa(g, 0x1200401abcull, 0, 0x00123abc);
    /* a missing PTE and a missing PDE */
    expect_pf(g, 0x00402000, 0, 0);
    expect_pf(g, 0x00402000, VMM_ACC_WRITE | VMM_ACC_USER, VMM_PF_W | VMM_PF_U);
    expect_pf(g, 0x80000000, VMM_ACC_USER, VMM_PF_U);
    /* no NX and no SMEP: an instruction fetch does not report I/D */
    expect_pf(g, 0x80000000, VMM_ACC_EXEC, 0);
    g->env.cr4 |= VMM_WALK_CR4_SMEP;
    expect_pf(g, 0x80000000, VMM_ACC_EXEC, VMM_PF_ID);
}

static void test_32bit_4m_pse(void **state)
{
    struct gmem *g = *state;
    uint64_t pde_gpa;

    mode_32(g);
    pde_gpa = (g->env.cr3 & 0xfffff000u) + (0x00c00000u >> 22) * 4;
    put32(g, pde_gpa, 0x01000000u | PS | P | W);
    expect_gpa(g, 0x00d23456, 0, 0x01123456);
    /* PSE-36: PDE bits 20:13 are physical bits 39:32 */
    put32(g, pde_gpa, 0x01000000u | (0x12u << 13) | PS | P | W);
    expect_gpa(g, 0x00d23456, 0, 0x1201123456ull);
    /* ... reserved above MAXPHYADDR (36 here) */
    g->env.phys_bits = 36;
    expect_pf(g, 0x00d23456, 0, VMM_PF_P | VMM_PF_RSVD);
    g->env.phys_bits = 0;
    /* bit 21 is always reserved in a 4 MiB PDE */
    put32(g, pde_gpa, 0x01000000u | (1u << 21) | PS | P | W);
    expect_pf(g, 0x00d23456, VMM_ACC_WRITE, VMM_PF_P | VMM_PF_RSVD | VMM_PF_W);
    /* without CR4.PSE the PS bit is ignored: the PDE points at a page table */
    put32(g, pde_gpa, 0x00030000u | PS | P | W);
    memset(&g->mem[0x30000], 0, 4096);
    put32(g, 0x30000 + 0x123 * 4, 0x00077000u | P);
    g->env.cr4 &= ~VMM_WALK_CR4_PSE;
    expect_gpa(g, 0x00d23456, 0, 0x00077456);
}

static void test_32bit_permissions(void **state)
{
    struct gmem *g = *state;

    mode_32(g);
    map_32(g, 0x1000, 0x5000, P | W | U, P);         /* supervisor, read-only */
    map_32(g, 0x2000, 0x6000, P | W | U, P | U);     /* user, read-only */
    map_32(g, 0x00800000, 0x7000, P | U, P | W | U); /* PDE read-only, PTE writable */
    map_32(g, 0x00c00000, 0x8000, P | W, P | W | U); /* PDE supervisor */
    /* user access to a supervisor page */
    expect_pf(g, 0x1000, VMM_ACC_USER, VMM_PF_P | VMM_PF_U);
    expect_gpa(g, 0x1000, 0, 0x5000);
    /* user write to a read-only user page */
    expect_pf(g, 0x2000, VMM_ACC_USER | VMM_ACC_WRITE, VMM_PF_P | VMM_PF_U | VMM_PF_W);
    expect_gpa(g, 0x2000, VMM_ACC_USER, 0x6000);
    /* supervisor write to read-only: allowed with CR0.WP = 0, a fault with WP = 1 */
    expect_gpa(g, 0x2000, VMM_ACC_WRITE, 0x6000);
    g->env.cr0 |= VMM_WALK_CR0_WP;
    expect_pf(g, 0x2000, VMM_ACC_WRITE, VMM_PF_P | VMM_PF_W);
    /* the rights of all levels combine */
    expect_pf(g, 0x00800000, VMM_ACC_USER | VMM_ACC_WRITE, VMM_PF_P | VMM_PF_U | VMM_PF_W);
    expect_pf(g, 0x00c00000, VMM_ACC_USER, VMM_PF_P | VMM_PF_U);
    expect_gpa(g, 0x00c00000, VMM_ACC_WRITE, 0x8000);
}

/* ---- PAE ------------------------------------------------------------------------------------ */

static void test_pae(void **state)
{
    struct gmem *g = *state;
    uint64_t leaf;
    uint64_t pdpte_gpa;

    pae_mode(g);
    map_pae(g, 0x00401000, 0x0000000123456000ull, 1, P | W | U);
    map_pae(g, 0xc0200000, 0x0000000fe0000000ull, 2, P | W);
    expect_gpa(g, 0x00401abc, VMM_ACC_USER, 0x123456abcull);
    expect_gpa(g, 0xc02fedcb, VMM_ACC_WRITE, 0xfe00fedcbull);
    /* a missing PDPTE (bits 31:30 = 2), PD entry and PT entry */
    expect_pf(g, 0x80000000, 0, 0);
    expect_pf(g, 0x00600000, VMM_ACC_WRITE, VMM_PF_W);
    expect_pf(g, 0x00402000, 0, 0);
    /* NX: with EFER.NXE a fetch from an XD page faults with I/D; a read does not */
    leaf = map_pae(g, 0x00403000, 0x9000, 1, P | W | XD);
    expect_gpa(g, 0x00403000, 0, 0x9000);
    expect_pf(g, 0x00403000, VMM_ACC_EXEC, VMM_PF_P | VMM_PF_ID);
    expect_gpa(g, 0x00401000, VMM_ACC_EXEC, 0x123456000ull);
    /* without NXE, XD is a reserved bit (and I/D is not reported) */
    g->env.efer = 0;
    expect_pf(g, 0x00403000, 0, VMM_PF_P | VMM_PF_RSVD);
    expect_pf(g, 0x00403000, VMM_ACC_EXEC, VMM_PF_P | VMM_PF_RSVD);
    g->env.efer = VMM_WALK_EFER_NXE;
    put64(g, leaf, 0x9000 | P | W);
    /* a 2 MiB page with a bit set in 20:13 */
    map_pae(g, 0xc0400000, 0x0000000fe0000000ull | (1ull << 13), 2, P | W);
    expect_pf(g, 0xc0400000, 0, VMM_PF_P | VMM_PF_RSVD);
    /* PAT (bit 12) of a large page is not an address bit */
    map_pae(g, 0xc0600000, 0x0000000fe0000000ull | (1ull << 12), 2, P | W);
    expect_gpa(g, 0xc0612345, 0, 0xfe0012345ull);
    /* PDPTE reserved bits (here W, bit 1) */
    pdpte_gpa = (g->env.cr3 & 0xffffffe0ull) + 3 * 8;
    put64(g, pdpte_gpa, get64(g, pdpte_gpa) | W);
    expect_pf(g, 0xc0200000, 0, VMM_PF_P | VMM_PF_RSVD);
    /* bits 62:MAXPHYADDR are reserved in PAE entries */
    put64(g, pdpte_gpa, get64(g, pdpte_gpa) & ~W);
    g->env.phys_bits = 34;
    expect_gpa(g, 0x00401000, 0, 0x123456000ull);
    expect_pf(g, 0xc0200000, 0, VMM_PF_P | VMM_PF_RSVD);
}

/* ---- 4-level -------------------------------------------------------------------------------- */

static void test_long_sizes(void **state)
{
    struct gmem *g = *state;

    long_mode(g);
    map_long(g, 0x00007fffffe01000ull, 0x0000000abcdef000ull, 1, P | W | U);
    map_long(g, 0xffff800000200000ull, 0x0000000040000000ull, 2, P | W);
    map_long(g, 0xffffffff80000000ull, 0x0000001000000000ull, 3, P | W);
    expect_gpa(g, 0x00007fffffe01123ull, VMM_ACC_USER, 0xabcdef123ull);
    expect_gpa(g, 0xffff8000002fffffull, VMM_ACC_WRITE, 0x400fffffull);
    expect_gpa(g, 0xffffffffbfffffffull, 0, 0x103fffffffull);
    /* not present at each level */
    expect_pf(g, 0x0000100000000000ull, 0, 0);                    /* PML4E */
    expect_pf(g, 0x00007fff00000000ull, VMM_ACC_USER, VMM_PF_U);  /* PDPTE */
    expect_pf(g, 0x00007fffffc00000ull, 0, 0);                    /* PDE */
    expect_pf(g, 0x00007fffffe02000ull, VMM_ACC_WRITE, VMM_PF_W); /* PTE */
    /* a non-canonical address is #GP, not #PF */
    assert_int_equal(vmm_walk(&g->env, 0x0000800000000000ull, 0, &(uint64_t){0}, NULL), -EINVAL);
    assert_int_equal(vmm_walk(&g->env, 0xfff0800000000000ull, 0, &(uint64_t){0}, NULL), -EINVAL);
    /* 5-level paging is refused */
    g->env.cr4 |= VMM_WALK_CR4_LA57;
    assert_int_equal(vmm_walk(&g->env, 0, 0, &(uint64_t){0}, NULL), -ENOTSUP);
}

static void test_long_reserved(void **state)
{
    struct gmem *g = *state;
    uint64_t leaf;
    uint64_t pml4e;

    long_mode(g);
    leaf = map_long(g, 0x400000, 0x5000, 1, P | W);
    map_long(g, 0x40000000, 0x80000000, 3, P | W);
    expect_gpa(g, 0x400000, 0, 0x5000);
    /* bits 62:52 are free for software in 4-level paging */
    put64(g, leaf, 0x5000 | P | W | (0x7ffull << 52));
    expect_gpa(g, 0x400000, 0, 0x5000);
    /* bits 51:MAXPHYADDR are reserved */
    put64(g, leaf, 0x5000 | P | W | (1ull << 45));
    g->env.phys_bits = 40;
    expect_pf(g, 0x400000, VMM_ACC_WRITE, VMM_PF_P | VMM_PF_RSVD | VMM_PF_W);
    g->env.phys_bits = 52;
    expect_gpa(g, 0x400000, 0, 0x200000005000ull);
    put64(g, leaf, 0x5000 | P | W);
    /* XD without NXE */
    g->env.efer &= ~VMM_WALK_EFER_NXE;
    put64(g, leaf, 0x5000 | P | W | XD);
    expect_pf(g, 0x400000, 0, VMM_PF_P | VMM_PF_RSVD);
    g->env.efer |= VMM_WALK_EFER_NXE;
    expect_gpa(g, 0x400000, 0, 0x5000);
    /* a 1 GiB page with address bits 29:13 set */
    map_long(g, 0x80000000, 0xc0000000 | (1ull << 20), 3, P | W);
    expect_pf(g, 0x80000000, 0, VMM_PF_P | VMM_PF_RSVD);
    expect_gpa(g, 0x40001234, 0, 0x80001234);
    /* PS in a PML4E */
    pml4e = entry_long(g, 0x400000, 4);
    put64(g, pml4e, get64(g, pml4e) | PS);
    expect_pf(g, 0x400000, 0, VMM_PF_P | VMM_PF_RSVD);
}

static void test_long_permissions(void **state)
{
    struct gmem *g = *state;
    uint64_t pdpte;

    long_mode(g);
    map_long(g, 0x400000, 0x5000, 1, P | W | U);  /* user code/data */
    map_long(g, 0x401000, 0x6000, 1, P | W | XD); /* supervisor data, no exec */
    map_long(g, 0x402000, 0x7000, 1, P | U);      /* user read-only */
    expect_gpa(g, 0x400000, VMM_ACC_USER | VMM_ACC_EXEC, 0x5000);
    expect_pf(g, 0x401000, VMM_ACC_EXEC, VMM_PF_P | VMM_PF_ID);
    expect_pf(g, 0x401000, VMM_ACC_USER, VMM_PF_P | VMM_PF_U);
    expect_pf(g, 0x402000, VMM_ACC_WRITE, VMM_PF_P | VMM_PF_W); /* CR0.WP = 1 */
    g->env.cr0 &= ~VMM_WALK_CR0_WP;
    expect_gpa(g, 0x402000, VMM_ACC_WRITE, 0x7000);
    expect_pf(g, 0x402000, VMM_ACC_WRITE | VMM_ACC_USER, VMM_PF_P | VMM_PF_W | VMM_PF_U);
    /* SMEP: the supervisor may not execute user pages */
    expect_gpa(g, 0x400000, VMM_ACC_EXEC, 0x5000);
    g->env.cr4 |= VMM_WALK_CR4_SMEP;
    expect_pf(g, 0x400000, VMM_ACC_EXEC, VMM_PF_P | VMM_PF_ID);
    expect_gpa(g, 0x400000, VMM_ACC_EXEC | VMM_ACC_USER, 0x5000);
    expect_gpa(g, 0x400000, 0, 0x5000); /* SMAP is not checked */
    /* XD in an upper level covers everything below */
    g->env.cr4 &= ~VMM_WALK_CR4_SMEP;
    pdpte = entry_long(g, 0x400000, 3);
    put64(g, pdpte, get64(g, pdpte) | XD);
    expect_pf(g, 0x400000, VMM_ACC_EXEC | VMM_ACC_USER, VMM_PF_P | VMM_PF_ID | VMM_PF_U);
}

static void test_accessed_dirty(void **state)
{
    struct gmem *g = *state;
    uint64_t leaf;
    uint64_t pml4e;
    uint64_t pdpte;

    long_mode(g);
    leaf = map_long(g, 0x400000, 0x5000, 1, P | W);
    pml4e = entry_long(g, 0x400000, 4);
    /* without write_gpa nothing is written */
    expect_gpa(g, 0x400000, VMM_ACC_WRITE, 0x5000);
    assert_int_equal(get64(g, leaf) & (A | D), 0);
    g->env.write_gpa = gm_write;
    expect_gpa(g, 0x400000, 0, 0x5000);
    assert_int_equal(get64(g, leaf) & (A | D), A);
    assert_int_equal(get64(g, pml4e) & A, A);
    assert_int_equal(g->nwrites, 4);
    expect_gpa(g, 0x400000, VMM_ACC_WRITE, 0x5000);
    assert_int_equal(get64(g, leaf) & (A | D), A | D);
    assert_int_equal(get64(g, pml4e) & D, 0); /* D only on the leaf */
    assert_int_equal(g->nwrites, 5);
    expect_gpa(g, 0x400000, VMM_ACC_WRITE, 0x5000);
    assert_int_equal(g->nwrites, 5); /* nothing left to set */
    /* a faulting walk sets nothing */
    put64(g, leaf, 0x5000 | P);
    g->nwrites = 0;
    expect_pf(g, 0x400000, VMM_ACC_WRITE, VMM_PF_P | VMM_PF_W);
    assert_int_equal(g->nwrites, 0);
    /* PAE: the PDPTE has no accessed bit (bit 5 is reserved there) */
    memset(g->mem, 0, sizeof(g->mem));
    g->next_table = 0x10000;
    pae_mode(g);
    g->env.write_gpa = gm_write;
    map_pae(g, 0x1000, 0x5000, 1, P | W);
    pdpte = g->env.cr3 & 0xffffffe0ull;
    expect_gpa(g, 0x1000, VMM_ACC_WRITE, 0x5000);
    assert_int_equal(get64(g, pdpte) & A, 0);
    expect_gpa(g, 0x1000, 0, 0x5000); /* still valid: no reserved bit was set */
    /* 32-bit: 4-byte entries, low byte only */
    memset(g->mem, 0, sizeof(g->mem));
    g->next_table = 0x10000;
    mode_32(g);
    g->env.write_gpa = gm_write;
    leaf = map_32(g, 0x1000, 0xfedcb000u, P | W, P | W);
    expect_gpa(g, 0x1000, VMM_ACC_WRITE, 0xfedcb000u);
    assert_int_equal(get32(g, leaf), 0xfedcb000u | P | W | A | D);
}

static int fail_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    return -EFAULT;
}

static void test_read_write_failures(void **state)
{
    struct gmem *g = *state;
    uint64_t leaf;

    long_mode(g);
    leaf = map_long(g, 0x400000, 0x5000, 1, P | W);
    expect_gpa(g, 0x400000, 0, 0x5000);
    assert_int_equal(leaf & 7, 0);
    /* a page table outside guest memory */
    {
        uint64_t pde = entry_long(g, 0x400000, 2);

        put64(g, pde + 8, 0x40000000ull | P | W); /* PD entry for 0x600000: table far away */
    }
    assert_int_equal(vmm_walk(&g->env, 0x600000, 0, &(uint64_t){0}, NULL), -EIO);
    g->env.cr3 = 0x7fff0000000ull;
    assert_int_equal(vmm_walk(&g->env, 0x400000, 0, &(uint64_t){0}, NULL), -EIO);
    /* failing accessed-bit writes */
    memset(g->mem, 0, sizeof(g->mem));
    g->next_table = 0x10000;
    long_mode(g);
    map_long(g, 0x400000, 0x5000, 1, P | W);
    g->env.write_gpa = fail_write;
    assert_int_equal(vmm_walk(&g->env, 0x400000, 0, &(uint64_t){0}, NULL), -EIO);
}

/* ---- instruction fetch ---------------------------------------------------------------------- */

static void test_fetch_cross_page(void **state)
{
    struct gmem *g = *state;
    uint8_t buf[VMM_FETCH_MAX];
    size_t got = 99;
    uint64_t code = 0;
    uint64_t fault = 0;
    int rc;

    long_mode(g);
    map_long(g, 0x400000, 0x20000, 1, P | W);
    map_long(g, 0x401000, 0x30000, 1, P | W | U);
    for (unsigned i = 0; i < 6; i++) {
        g->mem[0x20ffa + i] = (uint8_t)(0xa0 + i);
    }
    for (unsigned i = 0; i < 9; i++) {
        g->mem[0x30000 + i] = (uint8_t)(0xb0 + i);
    }
    rc = vmm_fetch_insn(&g->env, 0x400ffa, 0, buf, 15, &got, &code, &fault);
    assert_int_equal(rc, 0);
    assert_int_equal(got, 15);
    assert_int_equal(buf[0], 0xa0);
    assert_int_equal(buf[5], 0xa5);
    assert_int_equal(buf[6], 0xb0);
    assert_int_equal(buf[14], 0xb8);
    /* within one page: one walk */
    rc = vmm_fetch_insn(&g->env, 0x400ff0, 0, buf, 10, &got, &code, &fault);
    assert_int_equal(rc, 0);
    assert_int_equal(got, 10);
    /* the second page is missing: the first page's bytes come back with the fault */
    rc = vmm_fetch_insn(&g->env, 0x401ffc, VMM_ACC_USER, buf, 15, &got, &code, &fault);
    assert_int_equal(rc, -EFAULT);
    assert_int_equal(got, 4);
    assert_int_equal(fault, 0x402000);
    assert_int_equal(code, VMM_PF_U | VMM_PF_ID);
    /* the first page is not executable */
    map_long(g, 0x403000, 0x40000, 1, P | W | XD);
    rc = vmm_fetch_insn(&g->env, 0x403000, 0, buf, 15, &got, &code, &fault);
    assert_int_equal(rc, -EFAULT);
    assert_int_equal(got, 0);
    assert_int_equal(fault, 0x403000);
    assert_int_equal(code, VMM_PF_P | VMM_PF_ID);
    /* bad requests */
    assert_int_equal(vmm_fetch_insn(&g->env, 0x400000, 0, buf, 16, &got, NULL, NULL), -EINVAL);
    assert_int_equal(vmm_fetch_insn(&g->env, 0x400000, 0, buf, 0, &got, NULL, NULL), -EINVAL);
    assert_int_equal(vmm_fetch_insn(&g->env, 0x400000, 0, NULL, 4, &got, NULL, NULL), -EINVAL);
    assert_int_equal(vmm_fetch_insn(&g->env, 0x400000, 0, buf, 4, NULL, NULL, NULL), -EINVAL);
    /* instruction bytes outside guest memory */
    map_long(g, 0x404000, 0x7000000, 1, P | W);
    assert_int_equal(vmm_fetch_insn(&g->env, 0x404000, 0, buf, 4, &got, NULL, NULL), -EIO);
}

static void test_fetch_wraps_32(void **state)
{
    struct gmem *g = *state;
    uint8_t buf[4];
    size_t got;

    /* 32-bit paging: linear addresses wrap from 0xffffffff to 0 */
    mode_32(g);
    map_32(g, 0xfffff000u, 0x21000, P | W, P | W);
    map_32(g, 0x00000000u, 0x22000, P | W, P | W);
    g->mem[0x21ffe] = 0x0f;
    g->mem[0x21fff] = 0xa2;
    g->mem[0x22000] = 0xf4;
    g->mem[0x22001] = 0x90;
    assert_int_equal(vmm_fetch_insn(&g->env, 0xfffffffe, 0, buf, 4, &got, NULL, NULL), 0);
    assert_int_equal(got, 4);
    assert_int_equal(buf[0], 0x0f);
    assert_int_equal(buf[3], 0x90);
    /* paging off (real mode): the same identity as the walker */
    g->env.cr0 = 0;
    g->mem[0x7c00] = 0xea;
    assert_int_equal(vmm_fetch_insn(&g->env, 0x7c00, 0, buf, 1, &got, NULL, NULL), 0);
    assert_int_equal(buf[0], 0xea);
}

/* ---- linear addresses and modes ------------------------------------------------------------- */

static void test_linear_and_modes(void **state)
{
    struct vmm_regs r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.seg[VMM_DS].base = 0x10000;
    r.seg[VMM_FS].base = 0xffff800000000000ull;
    r.seg[VMM_GS].base = 0x12345678;
    assert_int_equal(vmm_linear_addr(&r, VMM_DS, 0x100, VMM_MODE_LONG64), 0x100);
    assert_int_equal(vmm_linear_addr(&r, VMM_FS, 0x100, VMM_MODE_LONG64), 0xffff800000000100ull);
    assert_int_equal(vmm_linear_addr(&r, VMM_GS, 0x100, VMM_MODE_LONG64), 0x12345778);
    assert_int_equal(vmm_linear_addr(&r, VMM_DS, 0x100, VMM_MODE_PROT32), 0x10100);
    assert_int_equal(vmm_linear_addr(&r, VMM_DS, 0xffffffff, VMM_MODE_COMPAT), 0xffff);
    assert_int_equal(vmm_linear_addr(&r, VMM_GS, 0x100, VMM_MODE_REAL), 0x12345778);
    r.seg[VMM_ES].base = 0xffff0;
    assert_int_equal(vmm_linear_addr(&r, VMM_ES, 0xffff, VMM_MODE_REAL), 0x10ffef);

    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_REAL);
    r.cr0 = VMM_WALK_CR0_PE;
    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_PROT16);
    assert_int_equal(vmm_code_size(&r, VMM_MODE_PROT16), 2);
    r.seg[VMM_CS].attrib = VMM_WALK_SEG_DB;
    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_PROT32);
    assert_int_equal(vmm_code_size(&r, VMM_MODE_PROT32), 4);
    r.rflags = 1u << 17; /* virtual-8086 */
    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_REAL);
    r.rflags = 0x2;
    r.efer = VMM_WALK_EFER_LMA | VMM_WALK_EFER_LME;
    r.cr0 |= VMM_WALK_CR0_PG;
    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_COMPAT);
    assert_int_equal(vmm_code_size(&r, VMM_MODE_COMPAT), 4);
    r.seg[VMM_CS].attrib = 0;
    assert_int_equal(vmm_code_size(&r, VMM_MODE_COMPAT), 2);
    r.seg[VMM_CS].attrib = VMM_WALK_SEG_L;
    assert_int_equal(vmm_cpu_mode_of(&r), VMM_MODE_LONG64);
    assert_int_equal(vmm_code_size(&r, VMM_MODE_LONG64), 8);
}

static void test_env_init(void **state)
{
    struct gmem *g = *state;
    struct vmm_regs r;
    struct vmm_walk_env env;

    memset(&r, 0, sizeof(r));
    r.cr0 = VMM_WALK_CR0_PE | VMM_WALK_CR0_PG;
    r.cr3 = 0x1000;
    r.cr4 = VMM_WALK_CR4_PAE;
    r.efer = VMM_WALK_EFER_LMA;
    vmm_walk_env_init(&env, &r, gm_read, NULL, g);
    assert_int_equal(env.cr0, r.cr0);
    assert_int_equal(env.cr3, 0x1000);
    assert_int_equal(env.cr4, r.cr4);
    assert_int_equal(env.efer, r.efer);
    assert_int_equal(env.phys_bits, 0);
    assert_ptr_equal(env.ctx, g);
    assert_null(env.write_gpa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_4m_pse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_reserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accessed_dirty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_write_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_cross_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_wraps_32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linear_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_init, setup, teardown),
    };

    log_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
