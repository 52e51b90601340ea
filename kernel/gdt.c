/* The kernel's GDTs, one per CPU: flat 64-bit code/data and a TSS of that CPU's own, whose
 * IST1 stack runs the double-fault, NMI and machine-check handlers so they work even when the
 * kernel stack is gone. Each CPU needs its own TSS (LTR marks it busy, and two CPUs taking a
 * fault on one IST stack would overwrite each other's frames), hence its own GDT to point at it. */
#include "gdt.h"
#include "lib.h"
#include "smp.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct gdt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define GDT_ENTRIES 5
#define IST1_SIZE   16384

static uint64_t g_gdt[SMP_MAX_CPUS][GDT_ENTRIES];
static struct tss g_tss[SMP_MAX_CPUS];
static uint8_t g_ist1_stack[SMP_MAX_CPUS][IST1_SIZE] __attribute__((aligned(16)));

void gdt_init(void)
{
    (void)gdt_init_cpu(0); /* cannot fail: 0 < SMP_MAX_CPUS */
}

int gdt_init_cpu(unsigned cpu)
{
    uint64_t *gdt;
    struct tss *tss;
    uint64_t base;
    uint64_t limit = sizeof(struct tss) - 1;
    struct gdt_ptr ptr;

    if (cpu >= SMP_MAX_CPUS) {
        return -EINVAL;
    }
    gdt = g_gdt[cpu];
    tss = &g_tss[cpu];
    base = (uint64_t)(uintptr_t)tss;

    memset(tss, 0, sizeof(*tss));
    tss->ist[0] = (uint64_t)(uintptr_t)(g_ist1_stack[cpu] + IST1_SIZE);
    tss->iomap_base = sizeof(*tss);

    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFULL; /* GDT_KCODE: 64-bit code */
    gdt[2] = 0x00CF92000000FFFFULL; /* GDT_KDATA */
    /* 16-byte available 64-bit TSS descriptor (type 9). */
    gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40) |
             (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[4] = base >> 32;

    ptr.limit = sizeof(g_gdt[cpu]) - 1;
    ptr.base = (uint64_t)(uintptr_t)gdt;
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n\t"
                     "1:\n\t"
                     "movw %w2, %%ax\n\t"
                     "movw %%ax, %%ds\n\t"
                     "movw %%ax, %%es\n\t"
                     "movw %%ax, %%ss\n\t"
                     "ltr %w3\n\t"
                     :
                     : "m"(ptr), "i"(GDT_KCODE), "i"(GDT_KDATA), "r"((uint16_t)GDT_TSS)
                     : "rax", "memory");
    return 0;
}
