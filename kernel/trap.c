/* The IDT, trap dispatch, and the kernel's fail-stop register dump. An exception in the
 * appliance itself is a bug: dump everything to the serial port and the log, then halt. */
#include "trap.h"
#include "cpu.h"
#include "gdt.h"
#include "irq.h"
#include "lib.h"
#include "log.h"
#include "console_out.h"

struct idt_entry {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
} __attribute__((packed));

struct idt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_table[256];
static struct idt_entry g_idt[256];

static const char *const exc_names[32] = {"#DE divide error",
                                          "#DB debug",
                                          "NMI",
                                          "#BP breakpoint",
                                          "#OF overflow",
                                          "#BR bound range",
                                          "#UD invalid opcode",
                                          "#NM device not available",
                                          "#DF double fault",
                                          "coprocessor overrun",
                                          "#TS invalid TSS",
                                          "#NP segment not present",
                                          "#SS stack fault",
                                          "#GP general protection",
                                          "#PF page fault",
                                          "reserved 15",
                                          "#MF x87 error",
                                          "#AC alignment check",
                                          "#MC machine check",
                                          "#XM SIMD error",
                                          "#VE virtualization",
                                          "#CP control protection",
                                          "reserved 22",
                                          "reserved 23",
                                          "reserved 24",
                                          "reserved 25",
                                          "reserved 26",
                                          "reserved 27",
                                          "#HV hypervisor injection",
                                          "#VC VMM communication",
                                          "#SX security",
                                          "reserved 31"};

const char *trap_name(uint64_t vector)
{
    return vector < 32 ? exc_names[vector] : "interrupt";
}

static void set_gate(int vec, uint64_t handler, uint8_t ist)
{
    struct idt_entry *e = &g_idt[vec];

    e->off_lo = (uint16_t)handler;
    e->sel = GDT_KCODE;
    e->ist = ist;
    e->type = 0x8E; /* present, DPL 0, 64-bit interrupt gate */
    e->off_mid = (uint16_t)(handler >> 16);
    e->off_hi = (uint32_t)(handler >> 32);
    e->zero = 0;
}

void trap_init(void)
{
    gdt_init();
    for (int i = 0; i < 256; i++) {
        uint8_t ist = (i == 2 || i == 8 || i == 18) ? IST_FAULT : 0;
        set_gate(i, isr_table[i], ist);
    }
    trap_load_idt();
}

void trap_load_idt(void)
{
    struct idt_ptr ptr;

    ptr.limit = sizeof(g_idt) - 1;
    ptr.base = (uint64_t)(uintptr_t)g_idt;
    __asm__ volatile("lidt %0" : : "m"(ptr));
}

/* Writes one dump line to the serial console and the log ring (the log may be what is broken,
 * so the serial copy goes first and does not depend on it). */
static void dump_line(const char *fmt, ...) PRINTF_FMT(1, 2);
static void dump_line(const char *fmt, ...)
{
    char buf[LOG_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_out_raw(buf);
    console_out_raw("\n");
    log_record_only(LOG_COMP_BOOT, LOG_LVL_ERROR, buf);
}

static bool g_in_fatal;

NORETURN void trap_fatal(const struct trapframe *tf, const char *why)
{
    const uint64_t *sp;

    cpu_cli();
    if (g_in_fatal) {
        console_out_raw("\npetrel: fault while dumping a fault; halted\n");
        cpu_halt_forever();
    }
    g_in_fatal = true;
    /* Nothing else will print now: sinks other than the serial port are not drained. */
    console_out_raw("\n");
    if (tf->vector == TRAP_PANIC) {
        dump_line("KERNEL PANIC: %s", why != NULL ? why : "(no message)");
    } else {
        dump_line("KERNEL FAULT: %s (vector %llu, error %#llx)%s%s", trap_name(tf->vector),
                  (unsigned long long)tf->vector, (unsigned long long)tf->error,
                  why != NULL ? ": " : "", why != NULL ? why : "");
    }
    dump_line("RIP=%016llx CS=%04llx RFLAGS=%016llx", (unsigned long long)tf->rip,
              (unsigned long long)tf->cs, (unsigned long long)tf->rflags);
    dump_line("RSP=%016llx SS=%04llx", (unsigned long long)tf->rsp, (unsigned long long)tf->ss);
    dump_line("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx", (unsigned long long)tf->rax,
              (unsigned long long)tf->rbx, (unsigned long long)tf->rcx,
              (unsigned long long)tf->rdx);
    dump_line("RSI=%016llx RDI=%016llx RBP=%016llx", (unsigned long long)tf->rsi,
              (unsigned long long)tf->rdi, (unsigned long long)tf->rbp);
    dump_line("R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx", (unsigned long long)tf->r8,
              (unsigned long long)tf->r9, (unsigned long long)tf->r10, (unsigned long long)tf->r11);
    dump_line("R12=%016llx R13=%016llx R14=%016llx R15=%016llx", (unsigned long long)tf->r12,
              (unsigned long long)tf->r13, (unsigned long long)tf->r14,
              (unsigned long long)tf->r15);
    dump_line("CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx", (unsigned long long)read_cr0(),
              (unsigned long long)read_cr2(), (unsigned long long)read_cr3(),
              (unsigned long long)read_cr4());
    dump_line("EFER=%016llx", (unsigned long long)rdmsr(0xC0000080));
    /* A few words of the faulting stack, when it looks like kernel memory. */
    sp = (const uint64_t *)(uintptr_t)tf->rsp;
    if (tf->rsp >= 0x1000 && tf->rsp < GiB(4) - 64 && (tf->rsp % 8) == 0) {
        for (int i = 0; i < 8; i += 4) {
            dump_line("stack+%02x: %016llx %016llx %016llx %016llx", i * 8,
                      (unsigned long long)sp[i], (unsigned long long)sp[i + 1],
                      (unsigned long long)sp[i + 2], (unsigned long long)sp[i + 3]);
        }
    }
    console_out_raw("petrel: kernel halted\n");
    cpu_halt_forever();
}

NORETURN void panic(const char *fmt, ...)
{
    char buf[LOG_TEXT_MAX];
    va_list ap;
    struct trapframe tf;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    memset(&tf, 0, sizeof(tf));
    tf.vector = TRAP_PANIC;
    __asm__ volatile("movq %%cs, %0" : "=r"(tf.cs));
    __asm__ volatile("movq %%ss, %0" : "=r"(tf.ss));
    tf.rip = (uint64_t)(uintptr_t)__builtin_return_address(0);
    tf.rsp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    __asm__ volatile("movq %%rbp, %0" : "=r"(tf.rbp));
    tf.rflags = read_rflags();
    console_out_raw("\npetrel: PANIC: ");
    console_out_raw(buf);
    console_out_raw("\n");
    trap_fatal(&tf, buf);
}

void trap_dispatch(struct trapframe *tf)
{
    if (tf->vector < 32) {
        trap_fatal(tf, NULL);
    }
    irq_dispatch((uint8_t)tf->vector);
}
