/* The kernel's GDT: flat 64-bit code/data and one TSS, whose IST1 stack runs the double-fault,
 * NMI and machine-check handlers so they work even when the kernel stack is gone. */
#include "gdt.h"
#include "lib.h"

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

static uint64_t g_gdt[5];
static struct tss g_tss;
static uint8_t g_ist1_stack[16384] __attribute__((aligned(16)));

void gdt_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&g_tss;
    uint64_t limit = sizeof(g_tss) - 1;
    struct gdt_ptr ptr;

    memset(&g_tss, 0, sizeof(g_tss));
    g_tss.ist[0] = (uint64_t)(uintptr_t)(g_ist1_stack + sizeof(g_ist1_stack));
    g_tss.iomap_base = sizeof(g_tss);

    g_gdt[0] = 0;
    g_gdt[1] = 0x00AF9A000000FFFFULL; /* GDT_KCODE: 64-bit code */
    g_gdt[2] = 0x00CF92000000FFFFULL; /* GDT_KDATA */
    /* 16-byte available 64-bit TSS descriptor (type 9). */
    g_gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40) |
               (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    g_gdt[4] = base >> 32;

    ptr.limit = sizeof(g_gdt) - 1;
    ptr.base = (uint64_t)(uintptr_t)g_gdt;
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
}
