/* The guest page-table walker (see walk.h): identity, 32-bit, PAE and 4-level paging, linear
 * addresses from segments, and instruction fetch across a page boundary. */
#include "walk.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_U  (1ull << 2)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

/* Reserved bits of a legacy-PAE PDPTE below bit 12 (1, 2, 5-8: no R/W, U/S, A, PS there). */
#define PAE_PDPTE_RSVD_LOW 0x1e6ull
/* A 4 MiB PDE: bit 21 is always reserved; bits 20:13 carry physical address bits 39:32. */
#define PSE_4M_RSVD_BIT21 (1ull << 21)

#define WALK_MAX_LEVELS 4

/* What a walk learns on its way down: the entries (to set accessed/dirty bits once it has
 * succeeded) and the rights, which are the AND of every level's (the OR for XD). */
struct walk_state {
    uint64_t entry_gpa[WALK_MAX_LEVELS];
    uint64_t entry_val[WALK_MAX_LEVELS];
    bool entry_has_a[WALK_MAX_LEVELS]; /* a PAE PDPTE has no accessed bit */
    size_t n;
    bool writable;
    bool user;
    bool xd;
    uint64_t gpa;
};

/* How a walk ended when it did not produce an address. */
enum walk_fault {
    WALK_OK,
    WALK_NOT_PRESENT,
    WALK_RESERVED,
};

static unsigned phys_bits(const struct vmm_walk_env *env)
{
    if (env->phys_bits < 32 || env->phys_bits > 52) {
        return 52;
    }
    return env->phys_bits;
}

/* Physical address bits the guest may use: [phys_bits-1 : 0]. */
static uint64_t phys_mask(const struct vmm_walk_env *env)
{
    return (1ull << phys_bits(env)) - 1;
}

static int read_entry(const struct vmm_walk_env *env, uint64_t gpa, size_t size, uint64_t *val)
{
    uint8_t raw[8] = {0};
    int rc = env->read_gpa(env->ctx, gpa, raw, size);

    if (rc < 0) {
        LOG_DEBUG(VMM, "walk: page-table entry at gpa 0x%llx unreadable (%d)",
                  (unsigned long long)gpa, rc);
        return -EIO;
    }
    *val = 0;
    for (size_t i = 0; i < size; i++) {
        *val |= (uint64_t)raw[i] << (8 * i);
    }
    return 0;
}

/* Records one entry the walk went through and folds its rights into the state. */
static void note_entry(struct walk_state *st, uint64_t gpa, uint64_t val, bool has_rights)
{
    st->entry_gpa[st->n] = gpa;
    st->entry_val[st->n] = val;
    st->entry_has_a[st->n] = has_rights;
    st->n++;
    if (has_rights) {
        if (!(val & PTE_W)) {
            st->writable = false;
        }
        if (!(val & PTE_U)) {
            st->user = false;
        }
    }
    if (val & PTE_XD) {
        st->xd = true;
    }
}

/* 32-bit paging: a page directory of 1024 4-byte entries, then a page table or a 4 MiB page. */
static int walk_32(const struct vmm_walk_env *env, uint32_t la, struct walk_state *st,
                   enum walk_fault *fault)
{
    uint64_t pde_gpa = (env->cr3 & 0xfffff000ull) + (uint64_t)(la >> 22) * 4;
    uint64_t pde;
    uint64_t pte_gpa;
    uint64_t pte;
    int rc = read_entry(env, pde_gpa, 4, &pde);

    if (rc < 0) {
        return rc;
    }
    if (!(pde & PTE_P)) {
        *fault = WALK_NOT_PRESENT;
        return 0;
    }
    if ((pde & PTE_PS) && (env->cr4 & VMM_WALK_CR4_PSE)) {
        uint64_t high = ((pde >> 13) & 0xff) << 32;

        if ((pde & PSE_4M_RSVD_BIT21) || (high & ~phys_mask(env))) {
            *fault = WALK_RESERVED;
            return 0;
        }
        note_entry(st, pde_gpa, pde, true);
        st->gpa = (pde & 0xffc00000ull) | high | (la & 0x3fffffu);
        return 0;
    }
    note_entry(st, pde_gpa, pde, true);
    pte_gpa = (pde & 0xfffff000ull) + (uint64_t)((la >> 12) & 0x3ff) * 4;
    rc = read_entry(env, pte_gpa, 4, &pte);
    if (rc < 0) {
        return rc;
    }
    if (!(pte & PTE_P)) {
        *fault = WALK_NOT_PRESENT;
        return 0;
    }
    note_entry(st, pte_gpa, pte, true);
    st->gpa = (pte & 0xfffff000ull) | (la & 0xfffu);
    return 0;
}

/* The levels below the top of PAE and 4-level paging (8-byte entries, 512 per table): starts at
 * `level` (4 = PML4, 3 = PDPT, 2 = PD, 1 = PT) in the table at `table`. rsvd is the mask of bits
 * that must be 0 in every entry (physical bits above MAXPHYADDR, XD without NXE). */
static int walk_levels(const struct vmm_walk_env *env, uint64_t la, int level, uint64_t table,
                       uint64_t rsvd, struct walk_state *st, enum walk_fault *fault)
{
    uint64_t addr_mask = phys_mask(env) & ~0xfffull;

    for (; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e_gpa = table + ((la >> shift) & 0x1ff) * 8;
        uint64_t e;
        int rc = read_entry(env, e_gpa, 8, &e);

        if (rc < 0) {
            return rc;
        }
        if (!(e & PTE_P)) {
            *fault = WALK_NOT_PRESENT;
            return 0;
        }
        if ((e & rsvd) || (level == 4 && (e & PTE_PS))) {
            *fault = WALK_RESERVED;
            return 0;
        }
        if ((level == 3 || level == 2) && (e & PTE_PS)) {
            uint64_t page_mask = (1ull << shift) - 1;

            /* Bits 12 (PAT) .. shift-1 of a large page's address must be 0, except PAT. */
            if (e & page_mask & ~0x1fffull) {
                *fault = WALK_RESERVED;
                return 0;
            }
            note_entry(st, e_gpa, e, true);
            st->gpa = (e & addr_mask & ~page_mask) | (la & page_mask);
            return 0;
        }
        note_entry(st, e_gpa, e, true);
        if (level == 1) {
            st->gpa = (e & addr_mask) | (la & 0xfff);
            return 0;
        }
        table = e & addr_mask;
    }
    return 0;
}

/* PAE paging: four PDPTEs at CR3 (32-byte aligned), then the PD and PT levels. */
static int walk_pae(const struct vmm_walk_env *env, uint32_t la, struct walk_state *st,
                    enum walk_fault *fault)
{
    uint64_t pdpte_gpa = (env->cr3 & 0xffffffe0ull) + (uint64_t)(la >> 30) * 8;
    /* Bits 62:MAXPHYADDR are reserved in PAE entries; bit 63 is XD, valid with NXE only. */
    uint64_t rsvd = ~phys_mask(env) & ~PTE_XD;
    uint64_t pdpte;
    int rc;

    if (!(env->efer & VMM_WALK_EFER_NXE)) {
        rsvd |= PTE_XD;
    }
    rc = read_entry(env, pdpte_gpa, 8, &pdpte);
    if (rc < 0) {
        return rc;
    }
    if (!(pdpte & PTE_P)) {
        *fault = WALK_NOT_PRESENT;
        return 0;
    }
    /* A PDPTE has no XD bit: bit 63 is reserved like the rest above MAXPHYADDR. */
    if (pdpte & (~phys_mask(env) | PAE_PDPTE_RSVD_LOW)) {
        *fault = WALK_RESERVED;
        return 0;
    }
    note_entry(st, pdpte_gpa, pdpte, false);
    return walk_levels(env, la, 2, pdpte & phys_mask(env) & ~0xfffull, rsvd, st, fault);
}

/* 4-level paging from the PML4 at CR3. */
static int walk_long(const struct vmm_walk_env *env, uint64_t la, struct walk_state *st,
                     enum walk_fault *fault)
{
    /* Bits 51:MAXPHYADDR are reserved; 62:52 are ignored (available to software). */
    uint64_t rsvd = ~phys_mask(env) & ((1ull << 52) - 1);

    if (!(env->efer & VMM_WALK_EFER_NXE)) {
        rsvd |= PTE_XD;
    }
    return walk_levels(env, la, 4, env->cr3 & phys_mask(env) & ~0xfffull, rsvd, st, fault);
}

/* Sets the accessed bit of every entry and the dirty bit of the leaf for a write, writing only
 * the low byte of an entry whose bits change. */
static int set_accessed_dirty(const struct vmm_walk_env *env, const struct walk_state *st,
                              bool write)
{
    for (size_t i = 0; i < st->n; i++) {
        uint64_t v = st->entry_val[i];
        uint64_t want = v;
        uint8_t low;
        int rc;

        if (!st->entry_has_a[i]) {
            continue;
        }
        want |= PTE_A;
        if (write && i == st->n - 1) {
            want |= PTE_D;
        }
        if (want == v) {
            continue;
        }
        low = (uint8_t)want;
        rc = env->write_gpa(env->ctx, st->entry_gpa[i], &low, 1);
        if (rc < 0) {
            LOG_DEBUG(VMM, "walk: cannot set A/D at gpa 0x%llx (%d)",
                      (unsigned long long)st->entry_gpa[i], rc);
            return -EIO;
        }
    }
    return 0;
}

void vmm_walk_env_init(struct vmm_walk_env *env, const struct vmm_regs *regs,
                       int (*read_gpa)(void *ctx, uint64_t gpa, void *buf, size_t len),
                       int (*write_gpa)(void *ctx, uint64_t gpa, const void *buf, size_t len),
                       void *ctx)
{
    memset(env, 0, sizeof(*env));
    env->cr0 = regs->cr0;
    env->cr3 = regs->cr3;
    env->cr4 = regs->cr4;
    env->efer = regs->efer;
    env->read_gpa = read_gpa;
    env->write_gpa = write_gpa;
    env->ctx = ctx;
}

int vmm_walk(const struct vmm_walk_env *env, uint64_t gva, unsigned access, uint64_t *gpa,
             uint64_t *fault_code)
{
    struct walk_state st;
    enum walk_fault fault = WALK_OK;
    bool user_acc = (access & VMM_ACC_USER) != 0;
    bool write = (access & VMM_ACC_WRITE) != 0;
    bool exec = (access & VMM_ACC_EXEC) != 0;
    bool pae;
    bool nx_on;
    bool smep;
    uint64_t code;
    int rc;

    if (env == NULL || env->read_gpa == NULL || gpa == NULL) {
        return -EINVAL;
    }
    pae = (env->cr4 & VMM_WALK_CR4_PAE) != 0;
    nx_on = pae && (env->efer & VMM_WALK_EFER_NXE);
    smep = (env->cr4 & VMM_WALK_CR4_SMEP) != 0;
    if (!(env->cr0 & VMM_WALK_CR0_PG)) {
        *gpa = gva & 0xffffffffull;
        return 0;
    }
    memset(&st, 0, sizeof(st));
    st.writable = true;
    st.user = true;
    if (env->efer & VMM_WALK_EFER_LMA) {
        if ((uint64_t)((int64_t)(gva << 16) >> 16) != gva) {
            LOG_DEBUG(VMM, "walk: non-canonical address 0x%llx", (unsigned long long)gva);
            return -EINVAL;
        }
        if (env->cr4 & VMM_WALK_CR4_LA57) {
            LOG_WARN(VMM, "walk: 5-level paging is not supported");
            return -ENOTSUP;
        }
        rc = walk_long(env, gva, &st, &fault);
    } else if (pae) {
        rc = walk_pae(env, (uint32_t)gva, &st, &fault);
    } else {
        rc = walk_32(env, (uint32_t)gva, &st, &fault);
    }
    if (rc < 0) {
        return rc;
    }

    code = access & (VMM_PF_W | VMM_PF_U);
    if (exec && (nx_on || smep)) {
        code |= VMM_PF_ID;
    }
    if (fault == WALK_NOT_PRESENT) {
        goto page_fault;
    }
    code |= VMM_PF_P;
    if (fault == WALK_RESERVED) {
        code |= VMM_PF_RSVD;
        goto page_fault;
    }
    if (user_acc && !st.user) {
        goto page_fault;
    }
    if (write && !st.writable && (user_acc || (env->cr0 & VMM_WALK_CR0_WP))) {
        goto page_fault;
    }
    if (exec && nx_on && st.xd) {
        goto page_fault;
    }
    if (exec && !user_acc && smep && st.user) {
        goto page_fault;
    }
    if (env->write_gpa != NULL) {
        rc = set_accessed_dirty(env, &st, write);
        if (rc < 0) {
            return rc;
        }
    }
    *gpa = st.gpa;
    return 0;

page_fault:
    if (fault_code != NULL) {
        *fault_code = code;
    }
    LOG_TRACE(VMM, "walk: #PF at 0x%llx code 0x%llx", (unsigned long long)gva,
              (unsigned long long)code);
    return -EFAULT;
}

enum vmm_cpu_mode vmm_cpu_mode_of(const struct vmm_regs *regs)
{
    uint16_t cs = regs->seg[VMM_CS].attrib;

    /* Virtual-8086 mode (RFLAGS.VM) decodes and forms addresses like real mode. */
    if (!(regs->cr0 & VMM_WALK_CR0_PE) || (regs->rflags & (1ull << 17))) {
        return VMM_MODE_REAL;
    }
    if (regs->efer & VMM_WALK_EFER_LMA) {
        return (cs & VMM_WALK_SEG_L) ? VMM_MODE_LONG64 : VMM_MODE_COMPAT;
    }
    return (cs & VMM_WALK_SEG_DB) ? VMM_MODE_PROT32 : VMM_MODE_PROT16;
}

unsigned vmm_code_size(const struct vmm_regs *regs, enum vmm_cpu_mode mode)
{
    switch (mode) {
    case VMM_MODE_REAL:
    case VMM_MODE_PROT16:
        return 2;
    case VMM_MODE_PROT32:
        return 4;
    case VMM_MODE_LONG64:
        return 8;
    case VMM_MODE_COMPAT:
        return (regs->seg[VMM_CS].attrib & VMM_WALK_SEG_DB) ? 4 : 2;
    }
    return 4;
}

uint64_t vmm_linear_addr(const struct vmm_regs *regs, enum vmm_seg seg, uint64_t offset,
                         enum vmm_cpu_mode mode)
{
    if ((unsigned)seg >= VMM_NSEG) {
        /* Not reachable from the emulator (it maps only the six segment registers). */
        LOG_ERROR(VMM, "linear address: bad segment %u", (unsigned)seg);
        seg = VMM_DS;
    }
    if (mode == VMM_MODE_LONG64) {
        if (seg == VMM_FS || seg == VMM_GS) {
            return regs->seg[seg].base + offset;
        }
        return offset;
    }
    return (regs->seg[seg].base + offset) & 0xffffffffull;
}

int vmm_fetch_insn(const struct vmm_walk_env *env, uint64_t rip_linear, unsigned access,
                   uint8_t *buf, size_t want, size_t *got, uint64_t *fault_code,
                   uint64_t *fault_addr)
{
    uint64_t lmask = (env->efer & VMM_WALK_EFER_LMA) ? ~0ull : 0xffffffffull;
    uint64_t la = rip_linear & lmask;
    size_t first;
    uint64_t gpa;
    int rc;

    if (got == NULL) {
        return -EINVAL;
    }
    *got = 0;
    if (buf == NULL || want == 0 || want > VMM_FETCH_MAX) {
        return -EINVAL;
    }
    access = (access & VMM_ACC_USER) | VMM_ACC_EXEC;
    first = MIN(want, (size_t)(PAGE_SIZE - (la & (PAGE_SIZE - 1))));
    for (size_t done = 0; done < want;) {
        size_t n = done == 0 ? first : want - done;
        uint64_t at = (la + done) & lmask;

        rc = vmm_walk(env, at, access, &gpa, fault_code);
        if (rc < 0) {
            if (fault_addr != NULL) {
                *fault_addr = at;
            }
            return rc;
        }
        rc = env->read_gpa(env->ctx, gpa, buf + done, n);
        if (rc < 0) {
            LOG_DEBUG(VMM, "fetch: instruction bytes at gpa 0x%llx unreadable (%d)",
                      (unsigned long long)gpa, rc);
            return -EIO;
        }
        done += n;
        *got = done;
    }
    return 0;
}
