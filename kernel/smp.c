/* Application processors (smp.h): start them, number them, send them IPIs.
 *
 * Finding them: a broadcast INIT-SIPI-SIPI to all CPUs but this one, then a bounded wait for
 * check-ins, rather than walking the ACPI MADT. Every AP that exists answers the broadcast,
 * the count is what actually came up (not what the firmware promised), and there is no table
 * to parse and trust; the price is a fixed wait (CHECKIN_WAIT_NS) even when all are in.
 *
 * The hand-over, in order:
 *   BSP: copies boot/ap_start.asm's trampoline to AP_TRAMP_BASE, fills its data block (CR0,
 *        CR3, CR4, EFER, the C entry, one stack per slot), INIT, 10 ms, SIPI, 200 us, SIPI.
 *   AP:  trampoline: long mode, LOCK XADD on the check-in counter = its slot, cpu = slot + 1,
 *        its stack, ap_main(cpu). ap_main: its GDT/TSS, the IDT, its LAPIC, its APIC id into
 *        g_apic_id, g_ap_state[cpu] = READY, then waits for g_admit.
 *   BSP: after the wait, closes the counter (a late AP then parks in the trampoline), waits
 *        (bounded) for the APs that checked in to be READY, and admits CPUs 1..n-1 where n-1
 *        is the run of READY ones: g_admit = n. Admitted APs call entry(cpu); any other AP
 *        that got this far halts. So smp_cpus() is exact and the indices have no holes.
 * No AP logs or allocates during bring-up: the log and the page allocator are the BSP's. */
#include "smp.h"
#include "cpu.h"
#include "gdt.h"
#include "lib.h"
#include "log.h"
#include "memory.h"
#include "timer.h"
#include "trap.h"
#include "../drivers/lapic.h"

#define AP_TRAMP_BASE  0x8000 /* boot/ap_start.asm says why this page */
#define AP_SLOTS       (SMP_MAX_CPUS - 1)
#define AP_STACK_PAGES 16 /* 64 KiB */
#define AP_STACK_ALIGN 4  /* pages: 16 KiB */
#define CHECKIN_CLOSED 0x80000000u

/* INIT, then 10 ms, then SIPI, 200 us, SIPI (Intel SDM 3A 8.4.4.1, AMD APM 2 15.27.8). */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
/* Check-ins: at least this long after the second SIPI (an AP needs microseconds on hardware,
 * a few milliseconds under TCG); each check-in keeps the door open CHECKIN_MORE_NS longer, so
 * a slow host that delays one AP probably delays its siblings too; never past CHECKIN_MAX_NS. */
#define CHECKIN_WAIT_NS 100000000ULL
#define CHECKIN_MORE_NS 50000000ULL
#define CHECKIN_MAX_NS  1000000000ULL
/* An AP that checked in runs kernel code from then on: its set-up takes microseconds. */
#define SETUP_WAIT_NS 1000000000ULL

#define CR4_PCIDE (1ULL << 17)
#define MSR_EFER  0xC0000080
#define EFER_LMA  (1ULL << 10)
#define EFER_SVME (1ULL << 12)

/* The trampoline's data block (ap_tramp_data in boot/ap_start.asm, TD_* offsets there). */
struct ap_tramp_data {
    uint32_t checkin; /* next free slot; CHECKIN_CLOSED once the BSP stopped waiting */
    uint32_t max_aps; /* slots with a stack */
    uint32_t cr0;
    uint32_t cr3;
    uint64_t cr4;
    uint64_t efer;
    uint64_t entry;
    uint64_t stack[AP_SLOTS]; /* tops */
};
_Static_assert(offsetof(struct ap_tramp_data, checkin) == 0, "TD_CHECKIN");
_Static_assert(offsetof(struct ap_tramp_data, max_aps) == 4, "TD_MAX_APS");
_Static_assert(offsetof(struct ap_tramp_data, cr0) == 8, "TD_CR0");
_Static_assert(offsetof(struct ap_tramp_data, cr3) == 12, "TD_CR3");
_Static_assert(offsetof(struct ap_tramp_data, cr4) == 16, "TD_CR4");
_Static_assert(offsetof(struct ap_tramp_data, efer) == 24, "TD_EFER");
_Static_assert(offsetof(struct ap_tramp_data, entry) == 32, "TD_ENTRY");
_Static_assert(offsetof(struct ap_tramp_data, stack) == 40, "TD_STACK");

extern const char ap_tramp_start[];
extern const char ap_tramp_data[];
extern const char ap_tramp_end[];

enum { AP_NONE, AP_READY, AP_FAILED };

static bool g_started;
static smp_entry_fn g_entry;
static unsigned g_ncpus = 1;
static unsigned g_admit; /* 0 until the BSP decided; then APs below it run entry */
static uint32_t g_apic_id[SMP_MAX_CPUS];
static int g_ap_state[SMP_MAX_CPUS];
static uint64_t g_ap_up_ns[SMP_MAX_CPUS]; /* when each AP reached C, for the log */
static unsigned g_ipi_errors;

unsigned smp_cpus(void)
{
    return __atomic_load_n(&g_ncpus, __ATOMIC_ACQUIRE);
}

unsigned smp_cpu(void)
{
    unsigned n = smp_cpus();
    uint32_t id;

    if (n < 2) {
        return 0;
    }
    id = drv_lapic_id();
    for (unsigned i = 0; i < n; i++) {
        if (g_apic_id[i] == id) {
            return i;
        }
    }
    return 0; /* not reached: only running CPUs run kernel code */
}

void smp_ipi(unsigned cpu, uint8_t vector)
{
    int rc;

    if (cpu >= smp_cpus()) {
        LOG_WARN(BOOT, "smp: IPI %#x to cpu %u, which is not running: dropped", vector, cpu);
        return;
    }
    rc = drv_lapic_send_ipi(g_apic_id[cpu], vector);
    /* A stuck APIC would fail every call: say so a few times, not on every kick. */
    if (rc != 0 && __atomic_add_fetch(&g_ipi_errors, 1, __ATOMIC_RELAXED) <= 3) {
        LOG_WARN(BOOT, "smp: IPI %#x to cpu %u (APIC id %u) failed (%d)", vector, cpu,
                 g_apic_id[cpu], rc);
    }
}

/* Where each AP's trampoline ends, on its own stack, interrupts off. */
static NORETURN void ap_main(unsigned cpu)
{
    unsigned admit;
    int rc;

    if (cpu == 0 || cpu >= SMP_MAX_CPUS) {
        cpu_halt_forever(); /* the trampoline hands out 1..AP_SLOTS only */
    }
    g_ap_up_ns[cpu] = now_ns();
    rc = gdt_init_cpu(cpu); /* first: the IDT's gates name the kernel's code selector */
    if (rc == 0) {
        trap_load_idt();
        rc = drv_lapic_init_ap();
    }
    g_apic_id[cpu] = drv_lapic_id();
    __atomic_store_n(&g_ap_state[cpu], rc == 0 ? AP_READY : AP_FAILED, __ATOMIC_RELEASE);
    while ((admit = __atomic_load_n(&g_admit, __ATOMIC_ACQUIRE)) == 0) {
        cpu_pause();
    }
    if (cpu >= admit) {
        cpu_halt_forever(); /* not counted as running: the BSP gave up on it */
    }
    g_entry(cpu);
    cpu_halt_forever(); /* entry never returns; if it does, park */
}

/* The BSP's state the APs copy, checked against what the trampoline can load. */
static int tramp_fill(struct ap_tramp_data *td, const uint64_t *stacks, unsigned slots)
{
    uint64_t cr3 = read_cr3();
    uint64_t cr4 = read_cr4();

    if (cr3 >= GiB(4) || (cr4 & CR4_PCIDE)) {
        LOG_ERROR(BOOT, "smp: CR3 %#llx / CR4 %#llx: the trampoline loads them in 32-bit mode",
                  (unsigned long long)cr3, (unsigned long long)cr4);
        return -ENOTSUP;
    }
    memset(td, 0, sizeof(*td));
    td->max_aps = slots;
    td->cr0 = (uint32_t)read_cr0();
    td->cr3 = (uint32_t)cr3;
    td->cr4 = cr4;
    /* SVME is the VMM's to set on the CPU that runs guests; LMA is the CPU's to set. */
    td->efer = rdmsr(MSR_EFER) & ~(EFER_SVME | EFER_LMA);
    td->entry = (uint64_t)(uintptr_t)ap_main;
    for (unsigned i = 0; i < slots; i++) {
        td->stack[i] = stacks[i] + AP_STACK_PAGES * PAGE_SIZE;
    }
    return 0;
}

/* INIT-SIPI-SIPI to all but this CPU. */
static int send_startup(void)
{
    int rc;

    rc = drv_lapic_send_init_all();
    if (rc != 0) {
        return rc;
    }
    timer_udelay(INIT_DELAY_US);
    rc = drv_lapic_send_sipi_all(AP_TRAMP_BASE >> 12);
    if (rc != 0) {
        return rc;
    }
    /* The second SIPI is for an AP that missed the first; one already running ignores it. */
    timer_udelay(SIPI_DELAY_US);
    return drv_lapic_send_sipi_all(AP_TRAMP_BASE >> 12);
}

/* Waits for check-ins (see CHECKIN_*); returns how many APs got a slot. The door is closed
 * afterwards: an AP that checks in later parks in the trampoline. */
static unsigned wait_checkins(struct ap_tramp_data *td, unsigned slots, bool sent)
{
    uint64_t t0 = now_ns();
    uint64_t deadline = sent ? t0 + CHECKIN_WAIT_NS : t0;
    uint32_t seen = 0;
    uint32_t n;

    for (;;) {
        uint64_t now = now_ns();

        n = __atomic_load_n(&td->checkin, __ATOMIC_ACQUIRE);
        if (n >= slots || now >= deadline) {
            break;
        }
        if (n != seen) {
            seen = n;
            deadline = MAX(deadline, MIN(now + CHECKIN_MORE_NS, t0 + CHECKIN_MAX_NS));
        }
        cpu_pause();
    }
    n = __atomic_fetch_or(&td->checkin, CHECKIN_CLOSED, __ATOMIC_ACQ_REL);
    if (n > slots) {
        LOG_WARN(BOOT, "smp: %u AP(s) beyond the %u slots parked", n - slots, slots);
    } else if (n == slots) {
        LOG_INFO(BOOT, "smp: all %u AP slots taken: any further AP parks", slots);
    }
    return MIN(n, slots);
}

/* Waits (bounded) for the n APs that checked in to finish their set-up; returns how many CPUs
 * run: the BSP and the unbroken run of READY APs from cpu 1. */
static unsigned wait_setup(unsigned n)
{
    uint64_t until = now_ns() + SETUP_WAIT_NS;
    unsigned running = 1;

    for (unsigned cpu = 1; cpu <= n; cpu++) {
        while (__atomic_load_n(&g_ap_state[cpu], __ATOMIC_ACQUIRE) == AP_NONE && now_ns() < until) {
            cpu_pause();
        }
    }
    while (running <= n && __atomic_load_n(&g_ap_state[running], __ATOMIC_ACQUIRE) == AP_READY) {
        running++;
    }
    for (unsigned cpu = running; cpu <= n; cpu++) {
        int st = __atomic_load_n(&g_ap_state[cpu], __ATOMIC_ACQUIRE);

        LOG_WARN(BOOT, "smp: cpu %u %s; halted, not counted", cpu,
                 st == AP_FAILED  ? "failed its GDT or local APIC set-up"
                 : st == AP_READY ? "came up behind one that did not"
                                  : "checked in but did not finish its set-up in 1 s");
    }
    return running;
}

unsigned smp_start(smp_entry_fn entry)
{
    struct ap_tramp_data *td;
    size_t len = (size_t)(ap_tramp_end - ap_tramp_start);
    size_t data_off = (size_t)(ap_tramp_data - ap_tramp_start);
    uint64_t stacks[AP_SLOTS];
    uint64_t t0;
    unsigned slots = 0;
    unsigned in;
    unsigned running;
    int rc;

    if (g_started) {
        LOG_WARN(BOOT, "smp: smp_start called again: ignored");
        return smp_cpus();
    }
    g_started = true;
    if (entry == NULL || drv_lapic_base() == 0 || timer_tsc_hz() == 0) {
        LOG_ERROR(BOOT, "smp: 1 CPU running (no entry, local APIC or calibrated clock)");
        return 1;
    }
    if (len > PAGE_SIZE || (size_t)(ap_tramp_end - ap_tramp_data) < sizeof(*td)) {
        LOG_ERROR(BOOT, "smp: 1 CPU running (trampoline of %zu bytes does not match smp.c)", len);
        return 1;
    }
    g_apic_id[0] = drv_lapic_id();
    g_entry = entry;

    /* A stack for every slot up front: APs arrive together, nobody can hand one out later. */
    while (slots < AP_SLOTS &&
           pmm_alloc(kernel_pmm(), AP_STACK_PAGES, AP_STACK_ALIGN, &stacks[slots]) == 0) {
        slots++;
    }
    if (slots == 0) {
        LOG_ERROR(BOOT, "smp: 1 CPU running (no memory for AP stacks)");
        return 1;
    }

    memcpy((void *)(uintptr_t)AP_TRAMP_BASE, ap_tramp_start, len);
    td = (struct ap_tramp_data *)(uintptr_t)(AP_TRAMP_BASE + data_off);
    rc = tramp_fill(td, stacks, slots);
    if (rc == 0) {
        /* Everything above is in memory before the first IPI leaves. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        t0 = now_ns();
        rc = send_startup();
        if (rc != 0) {
            LOG_ERROR(BOOT, "smp: INIT-SIPI-SIPI not delivered (%d)", rc);
        }
        in = wait_checkins(td, slots, rc == 0);
    } else {
        t0 = now_ns();
        in = 0;
    }
    running = wait_setup(in);

    for (unsigned i = in; i < slots; i++) {
        (void)page_free(stacks[i], AP_STACK_PAGES); /* never handed out; logs if it fails */
    }
    for (unsigned cpu = 1; cpu < running; cpu++) {
        LOG_INFO(BOOT, "smp: cpu %u: local APIC id %u, in C %llu us after INIT", cpu,
                 g_apic_id[cpu],
                 (unsigned long long)(g_ap_up_ns[cpu] > t0 ? (g_ap_up_ns[cpu] - t0) / 1000 : 0));
    }
    if (in == 0 && rc == 0) {
        LOG_INFO(BOOT, "smp: no AP answered the INIT-SIPI-SIPI within %llu ms",
                 (unsigned long long)((now_ns() - t0) / 1000000));
    }
    __atomic_store_n(&g_ncpus, running, __ATOMIC_RELEASE);
    __atomic_store_n(&g_admit, running, __ATOMIC_RELEASE); /* the admitted APs go now */
    LOG_INFO(BOOT, "smp: %u CPU%s running (APs: %u)", running, running == 1 ? "" : "s",
             running - 1);
    return running;
}
