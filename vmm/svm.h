/* AMD SVM definitions: the VMCB layout (control area at 0x000, state save area at 0x400),
 * intercept bits, exit codes and event encodings (AMD APM vol. 2, ch. 15 and appendix B).
 * Pure data: no SVM instructions here, so the exit path builds hosted against a fake VMCB. */
#ifndef PETREL_VMM_SVM_H
#define PETREL_VMM_SVM_H

#include "../kernel/types.h"

/* One segment register in the VMCB's packed form. */
struct vmcb_seg {
    uint16_t selector;
    uint16_t attrib; /* type:4 s:1 dpl:2 p:1 avl:1 l:1 db:1 g:1 */
    uint32_t limit;
    uint64_t base;
} __attribute__((packed));

struct vmcb_control {
    uint32_t intercept_cr;  /* 0x000: reads in 15:0, writes in 31:16 */
    uint32_t intercept_dr;  /* 0x004 */
    uint32_t intercept_exc; /* 0x008: one bit per exception vector */
    uint32_t intercept1;    /* 0x00C: SVM_I1_* */
    uint32_t intercept2;    /* 0x010: SVM_I2_* */
    uint32_t intercept3;    /* 0x014 */
    uint8_t reserved_018[0x03C - 0x018];
    uint16_t pause_filter_threshold; /* 0x03C */
    uint16_t pause_filter_count;     /* 0x03E */
    uint64_t iopm_base_pa;           /* 0x040 */
    uint64_t msrpm_base_pa;          /* 0x048 */
    uint64_t tsc_offset;             /* 0x050 */
    uint32_t asid;                   /* 0x058 */
    uint8_t tlb_control;             /* 0x05C */
    uint8_t reserved_05d[3];
    uint64_t int_ctl;    /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, vector */
    uint64_t int_state;  /* 0x068: bit 0 interrupt shadow */
    uint64_t exit_code;  /* 0x070 */
    uint64_t exit_info1; /* 0x078 */
    uint64_t exit_info2; /* 0x080 */
    uint64_t exit_int_info; /* 0x088 */
    uint64_t np_enable;     /* 0x090: bit 0 nested paging */
    uint64_t avic_apic_bar; /* 0x098 */
    uint64_t ghcb_pa;       /* 0x0A0 */
    uint64_t event_inj;     /* 0x0A8 */
    uint64_t n_cr3;         /* 0x0B0 */
    uint64_t lbr_virt;      /* 0x0B8 */
    uint32_t clean;         /* 0x0C0 */
    uint32_t reserved_0c4;
    uint64_t next_rip;      /* 0x0C8: only with NRIPS (QEMU 7.2 TCG leaves it 0) */
    uint8_t insn_len;       /* 0x0D0: only with decode assists */
    uint8_t insn_bytes[15]; /* 0x0D1 */
    uint8_t reserved_0e0[0x400 - 0x0E0];
} __attribute__((packed));

struct vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x400..0x45F */
    struct vmcb_seg gdtr, ldtr, idtr, tr;   /* 0x460..0x49F */
    uint8_t reserved_4a0[0x4CB - 0x4A0];
    uint8_t cpl; /* 0x4CB */
    uint32_t reserved_4cc;
    uint64_t efer; /* 0x4D0 */
    uint8_t reserved_4d8[0x548 - 0x4D8];
    uint64_t cr4;    /* 0x548 */
    uint64_t cr3;    /* 0x550 */
    uint64_t cr0;    /* 0x558 */
    uint64_t dr7;    /* 0x560 */
    uint64_t dr6;    /* 0x568 */
    uint64_t rflags; /* 0x570 */
    uint64_t rip;    /* 0x578 */
    uint8_t reserved_580[0x5D8 - 0x580];
    uint64_t rsp; /* 0x5D8 */
    uint8_t reserved_5e0[0x5F8 - 0x5E0];
    uint64_t rax;            /* 0x5F8 */
    uint64_t star;           /* 0x600 */
    uint64_t lstar;          /* 0x608 */
    uint64_t cstar;          /* 0x610 */
    uint64_t sfmask;         /* 0x618 */
    uint64_t kernel_gs_base; /* 0x620 */
    uint64_t sysenter_cs;    /* 0x628 */
    uint64_t sysenter_esp;   /* 0x630 */
    uint64_t sysenter_eip;   /* 0x638 */
    uint64_t cr2;            /* 0x640 */
    uint8_t reserved_648[0x668 - 0x648];
    uint64_t g_pat;          /* 0x668 */
    uint64_t dbgctl;         /* 0x670 */
    uint64_t br_from;        /* 0x678 */
    uint64_t br_to;          /* 0x680 */
    uint64_t last_excp_from; /* 0x688 */
    uint64_t last_excp_to;   /* 0x690 */
    uint8_t reserved_698[0x1000 - 0x698];
} __attribute__((packed));

struct vmcb {
    struct vmcb_control ctl;
    struct vmcb_save save;
} __attribute__((packed));

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");
_Static_assert(sizeof(struct vmcb) == 4096, "a VMCB is one page");
_Static_assert(offsetof(struct vmcb, ctl.int_ctl) == 0x060, "int_ctl");
_Static_assert(offsetof(struct vmcb, ctl.event_inj) == 0x0A8, "event_inj");
_Static_assert(offsetof(struct vmcb, ctl.next_rip) == 0x0C8, "next_rip");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4CB, "cpl");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4D0, "efer");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "cr4");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "rip");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5D8, "rsp");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5F8, "rax");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "cr2");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "g_pat");

/* intercept1 (VMCB 0x00C) */
#define SVM_I1_INTR     (1u << 0)
#define SVM_I1_NMI      (1u << 1)
#define SVM_I1_SMI      (1u << 2)
#define SVM_I1_INIT     (1u << 3)
#define SVM_I1_VINTR    (1u << 4)
#define SVM_I1_RDPMC    (1u << 15)
#define SVM_I1_CPUID    (1u << 18)
#define SVM_I1_RSM      (1u << 19)
#define SVM_I1_INVD     (1u << 22)
#define SVM_I1_HLT      (1u << 24)
#define SVM_I1_IOIO     (1u << 27)
#define SVM_I1_MSR      (1u << 28)
#define SVM_I1_TASKSW   (1u << 29)
#define SVM_I1_SHUTDOWN (1u << 31)

/* intercept2 (VMCB 0x010) */
#define SVM_I2_VMRUN   (1u << 0)
#define SVM_I2_VMMCALL (1u << 1)
#define SVM_I2_VMLOAD  (1u << 2)
#define SVM_I2_VMSAVE  (1u << 3)
#define SVM_I2_STGI    (1u << 4)
#define SVM_I2_CLGI    (1u << 5)
#define SVM_I2_SKINIT  (1u << 6)
#define SVM_I2_MONITOR (1u << 10)
#define SVM_I2_MWAIT   (1u << 11)
#define SVM_I2_XSETBV  (1u << 13)

/* int_ctl (VMCB 0x060) */
#define SVM_INT_V_TPR_MASK     0xFFull
#define SVM_INT_V_IRQ          (1ull << 8)
#define SVM_INT_V_PRIO_SHIFT   16
#define SVM_INT_V_IGN_TPR      (1ull << 20)
#define SVM_INT_V_INTR_MASKING (1ull << 24)
#define SVM_INT_V_VECTOR_SHIFT 32
#define SVM_INT_STATE_SHADOW   (1ull << 0)

/* TLB control (VMCB 0x05C) */
#define SVM_TLB_NONE       0
#define SVM_TLB_FLUSH_ALL  1
#define SVM_TLB_FLUSH_ASID 3

/* EVENTINJ and EXITINTINFO: vector 7:0, type 10:8, error code valid 11, valid 31,
 * error code 63:32. QEMU leaves stale high bits after an exit: test only bit 31. */
#define SVM_EVT_VECTOR_MASK 0xFFull
#define SVM_EVT_TYPE_SHIFT  8
#define SVM_EVT_TYPE_MASK   (7ull << 8)
#define SVM_EVT_TYPE_INTR   (0ull << 8)
#define SVM_EVT_TYPE_NMI    (2ull << 8)
#define SVM_EVT_TYPE_EXC    (3ull << 8)
#define SVM_EVT_TYPE_SOFT   (4ull << 8)
#define SVM_EVT_EV          (1ull << 11)
#define SVM_EVT_VALID       (1ull << 31)
#define SVM_EVT_ERR_SHIFT   32

/* IOIO EXITINFO1 */
#define SVM_IO_IN         (1u << 0)
#define SVM_IO_STR        (1u << 2)
#define SVM_IO_REP        (1u << 3)
#define SVM_IO_SZ8        (1u << 4)
#define SVM_IO_SZ16       (1u << 5)
#define SVM_IO_SZ32       (1u << 6)
#define SVM_IO_A16        (1u << 7)
#define SVM_IO_A32        (1u << 8)
#define SVM_IO_A64        (1u << 9)
#define SVM_IO_SEG_SHIFT  10
#define SVM_IO_SEG_MASK   (7u << 10)
#define SVM_IO_PORT_SHIFT 16

/* #NPF EXITINFO1 (error code) */
#define SVM_NPF_P     (1ull << 0)
#define SVM_NPF_WRITE (1ull << 1)
#define SVM_NPF_USER  (1ull << 2)
#define SVM_NPF_RSV   (1ull << 3)
#define SVM_NPF_FETCH (1ull << 4)
#define SVM_NPF_GPA   (1ull << 32) /* fault on the final guest-physical access */
#define SVM_NPF_GPT   (1ull << 33) /* fault while walking the guest's page tables */

/* Exit codes (EXITCODE, VMCB 0x070). */
#define SVM_EXIT_CR0_READ    0x000
#define SVM_EXIT_CR0_WRITE   0x010
#define SVM_EXIT_EXC_BASE    0x040 /* + vector */
#define SVM_EXIT_INTR        0x060
#define SVM_EXIT_NMI         0x061
#define SVM_EXIT_SMI         0x062
#define SVM_EXIT_INIT        0x063
#define SVM_EXIT_VINTR       0x064
#define SVM_EXIT_RDTSC       0x06E
#define SVM_EXIT_RDPMC       0x06F
#define SVM_EXIT_CPUID       0x072
#define SVM_EXIT_RSM         0x073
#define SVM_EXIT_IRET        0x074
#define SVM_EXIT_INVD        0x076
#define SVM_EXIT_PAUSE       0x077
#define SVM_EXIT_HLT         0x078
#define SVM_EXIT_INVLPG      0x079
#define SVM_EXIT_INVLPGA     0x07A
#define SVM_EXIT_IOIO        0x07B
#define SVM_EXIT_MSR         0x07C
#define SVM_EXIT_TASK_SWITCH 0x07D
#define SVM_EXIT_SHUTDOWN    0x07F
#define SVM_EXIT_VMRUN       0x080
#define SVM_EXIT_VMMCALL     0x081
#define SVM_EXIT_VMLOAD      0x082
#define SVM_EXIT_VMSAVE      0x083
#define SVM_EXIT_STGI        0x084
#define SVM_EXIT_CLGI        0x085
#define SVM_EXIT_SKINIT      0x086
#define SVM_EXIT_RDTSCP      0x087
#define SVM_EXIT_WBINVD      0x089
#define SVM_EXIT_MONITOR     0x08A
#define SVM_EXIT_MWAIT       0x08B
#define SVM_EXIT_XSETBV      0x08D
#define SVM_EXIT_NPF         0x400
/* VMRUN refused the VMCB (consistency checks). QEMU reports 0x00000000FFFFFFFF rather than
 * all ones, so compare the low 32 bits. */
#define SVM_EXIT_INVALID_LO32 0xFFFFFFFFu

/* MSRs */
#define MSR_EFER        0xC0000080u
#define MSR_VM_CR       0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define EFER_SCE        (1ull << 0)
#define EFER_LME        (1ull << 8)
#define EFER_LMA        (1ull << 10)
#define EFER_NXE        (1ull << 11)
#define EFER_SVME       (1ull << 12)
#define EFER_LMSLE      (1ull << 13)
#define EFER_FFXSR      (1ull << 14)
#define VM_CR_SVMDIS    (1ull << 4)

/* Segment attribute bits (VMCB packed form). */
#define SEG_ATTR_S  (1u << 4)
#define SEG_ATTR_P  (1u << 7)
#define SEG_ATTR_L  (1u << 9)
#define SEG_ATTR_DB (1u << 10)
#define SEG_ATTR_G  (1u << 11)

#define CR0_PE  (1ull << 0)
#define CR0_ET  (1ull << 4)
#define CR0_NE  (1ull << 5)
#define CR0_PG  (1ull << 31)
#define CR4_PAE (1ull << 5)

/* Sizes of the permission maps. */
#define SVM_IOPM_PAGES  3
#define SVM_MSRPM_PAGES 2

#endif
