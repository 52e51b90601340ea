/* Shell commands about the appliance itself: version, uptime, mem, cpu, pci, who, reboot,
 * halt. */
#include "cmds.h"
#include "logstream.h"
#include "shell.h"
#include "table.h"
#include "telnetd.h"

#include "lwip/init.h"
#include "lwip/stats.h"

#include "../drivers/pci.h"
#include "../kernel/console_out.h"
#include "../kernel/cpu.h"
#include "../kernel/cpuinfo.h"
#include "../kernel/guest_cpu.h"
#include "../kernel/heap.h"
#include "../kernel/irq.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/mainloop.h"
#include "../kernel/memory.h"
#include "../kernel/smp.h"
#include "../kernel/timer.h"
#include "../kernel/version.h"

/* The table is large (cells for 64 rows): one, static, shared by the commands, which run one
 * at a time from the main loop. */
static struct table g_table;

static int no_args(struct shell *sh, int argc, char **argv)
{
    if (argc != 1) {
        shell_printf(sh, "error: %s takes no arguments\n", argv[0]);
        return -EINVAL;
    }
    return 0;
}

static int cmd_version(struct shell *sh, int argc, char **argv)
{
    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    shell_printf(sh, "Petrel %s (%s), x86-64 virtualization appliance\n", PETREL_VERSION,
                 PETREL_GIT);
    shell_printf(sh, "lwIP %s, built with gcc %s\n", LWIP_VERSION_STRING, __VERSION__);
    return 0;
}

static int cmd_uptime(struct shell *sh, int argc, char **argv)
{
    struct con_session_info s[CON_SESSIONS_MAX];
    char up[32];
    uint64_t ms = con_now_ms();

    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    con_fmt_duration(ms, up, sizeof(up));
    shell_printf(sh, "up %s (%llu.%03llu s), %zu console session(s)\n", up,
                 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
                 con_telnetd_sessions(s, CON_SESSIONS_MAX, NULL));
    return 0;
}

static int cmd_mem(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"POOL", "SIZE", "USED", "FREE", "DETAIL"};
    const struct pmm *p = kernel_pmm();
    const struct heap *h = kernel_heap();

    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    table_init(&g_table, 5, hdr);
    for (size_t c = 1; c <= 3; c++) {
        table_align_right(&g_table, c);
    }
    /* The page allocator knows what is free, not what the firmware reserved, so no size. */
    table_row(&g_table);
    table_set(&g_table, 0, "pages");
    table_set(&g_table, 1, "-");
    table_set(&g_table, 2, "-");
    table_set(&g_table, 3, "%llu KiB", (unsigned long long)(pmm_free_count(p) * PAGE_SIZE >> 10));
    table_set(&g_table, 4, "%zu free 2 MiB pages", pmm_free_2m_count(p));
    table_row(&g_table);
    table_set(&g_table, 0, "heap");
    table_set(&g_table, 1, "%zu KiB", h->total >> 10);
    table_set(&g_table, 2, "%zu KiB", h->used >> 10);
    table_set(&g_table, 3, "%zu KiB", (h->total - h->used) >> 10);
    table_set(&g_table, 4, "%zu allocations, %zu failed", h->allocs, h->failures);
    table_row(&g_table);
    table_set(&g_table, 0, "lwip heap");
    table_set(&g_table, 1, "%llu KiB", (unsigned long long)(lwip_stats.mem.avail >> 10));
    table_set(&g_table, 2, "%llu KiB", (unsigned long long)(lwip_stats.mem.used >> 10));
    table_set(&g_table, 3, "%llu KiB",
              (unsigned long long)((lwip_stats.mem.avail - lwip_stats.mem.used) >> 10));
    table_set(&g_table, 4, "%llu KiB at most, %llu failed",
              (unsigned long long)(lwip_stats.mem.max >> 10),
              (unsigned long long)lwip_stats.mem.err);
    table_print_shell(&g_table, sh);
    shell_printf(sh, "largest free heap block: %zu KiB\n", heap_largest_free(h) >> 10);
    return 0;
}

static int cmd_cpu(struct shell *sh, int argc, char **argv)
{
    struct cpuinfo ci;
    struct mainloop_stats ml;
    struct irq_stats is;
    struct guest_cpu_stats gc;
    const char *brand;

    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    cpuinfo_read(&ci);
    mainloop_get_stats(&ml);
    irq_get_stats(&is);
    guest_cpu_get_stats(&gc);
    brand = ci.brand;
    while (*brand == ' ') {
        brand++;
    }
    shell_printf(sh, "cpu        %s family %#x model %#x stepping %u\n", ci.vendor, ci.family,
                 ci.model, ci.stepping);
    shell_printf(sh, "brand      %s\n", brand[0] != '\0' ? brand : "(none)");
    shell_printf(sh, "tsc        %llu.%03llu MHz\n", (unsigned long long)(timer_tsc_hz() / 1000000),
                 (unsigned long long)(timer_tsc_hz() / 1000 % 1000));
    if (ci.svm) {
        shell_printf(sh, "svm        %s, revision %u, %u ASIDs, NPT %s, NRIPS %s, VGIF %s\n",
                     ci.svm_disabled ? "disabled by firmware" : "yes", ci.svm_rev, ci.asids,
                     ci.npt ? "yes" : "no", ci.nrips ? "yes" : "no", ci.vgif ? "yes" : "no");
    } else {
        shell_puts(sh, "svm        no (guests cannot run)\n");
    }
    shell_printf(
        sh, "main loop  %llu passes, %llu halts, %llu work items, %llu timers, %llu busy polls\n",
        (unsigned long long)ml.passes, (unsigned long long)ml.halts,
        (unsigned long long)ml.work_items, (unsigned long long)ml.timers_run,
        (unsigned long long)ml.busy_polls);
    shell_printf(sh, "time       %llu ms idle (hlt), %llu ms running vCPUs, up %llu ms\n",
                 (unsigned long long)(ml.idle_ns / 1000000),
                 (unsigned long long)(ml.vcpu_ns / 1000000),
                 (unsigned long long)(now_ns() / 1000000));
    if (gc.active) {
        shell_printf(sh,
                     "guest cpu  CPU %u of %u: %llu ms running vCPUs, %llu ms idle (hlt), %llu ms "
                     "waiting for the kernel lock, %llu kicks in (%llu held, %llu of them "
                     "absorbed by an exit), %llu CPU 0 wake-ups out, "
                     "%llu TX chains taken by CPU 0\n",
                     GUEST_CPU, smp_cpus(), (unsigned long long)(gc.vcpu_ns / 1000000),
                     (unsigned long long)(gc.idle_ns / 1000000),
                     (unsigned long long)(gc.lock_ns / 1000000), (unsigned long long)gc.kicks,
                     (unsigned long long)gc.kicks_held, (unsigned long long)gc.kicks_absorbed,
                     (unsigned long long)gc.wakes, (unsigned long long)gc.io_polled);
    } else {
        shell_printf(sh, "cpus       %u, guests run on CPU 0\n", smp_cpus());
    }
    shell_printf(sh, "irqs       %llu unhandled, %llu spurious, %llu deferred-queue overflows\n",
                 (unsigned long long)is.unhandled, (unsigned long long)is.spurious,
                 (unsigned long long)is.deferred_overflows);
    shell_puts(sh, "irq counts");
    for (unsigned v = 0; v < 256; v++) {
        uint64_t count;
        const char *name;

        if (irq_vector_info((uint8_t)v, &count, &name) && count > 0) {
            shell_printf(sh, " %s %llu", name, (unsigned long long)count);
        }
    }
    shell_puts(sh, "\n");
    return 0;
}

static int cmd_pci(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"ADDR", "ID", "CLASS", "IRQ", "BARS"};

    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    table_init(&g_table, 5, hdr);
    for (size_t i = 0; i < drv_pci_count(); i++) {
        const struct pci_device *d = drv_pci_get(i);
        char bars[TABLE_CELL_MAX] = "";
        size_t n = 0;

        if (table_row(&g_table) != 0) {
            continue;
        }
        table_set(&g_table, 0, "%02x:%02x.%x", d->bus, d->dev, d->fn);
        table_set(&g_table, 1, "%04x:%04x", d->vendor, d->device);
        table_set(&g_table, 2, "%s", drv_pci_class_name(d->class_code, d->subclass));
        if (d->irq_pin != 0 && d->irq_line != 0xff) {
            table_set(&g_table, 3, "%u", d->irq_line);
        } else {
            table_set(&g_table, 3, "-");
        }
        for (int b = 0; b < PCI_NUM_BARS && n < sizeof(bars); b++) {
            const struct pci_bar *bar = &d->bars[b];

            if (bar->kind == PCI_BAR_NONE) {
                continue;
            }
            n += (size_t)snprintf(bars + n, sizeof(bars) - n, "%s%s%#llx", n > 0 ? " " : "",
                                  bar->kind == PCI_BAR_IO ? "io:" : "",
                                  (unsigned long long)bar->addr);
        }
        table_set(&g_table, 4, "%s", bars);
    }
    table_print_shell(&g_table, sh);
    return 0;
}

static int cmd_who(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"",      "ID",        "FROM", "ACCESS",
                                      "STATE", "CONNECTED", "IDLE", "OUT DROPPED"};
    struct con_session_info s[CON_SESSIONS_MAX];
    struct con_logstream_info r[LOGSTREAM_READERS];
    size_t n;
    size_t nr;
    uint64_t now = con_now_ms();

    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    n = con_telnetd_sessions(s, CON_SESSIONS_MAX, sh);
    table_init(&g_table, 8, hdr);
    table_align_right(&g_table, 1);
    table_align_right(&g_table, 7);
    for (size_t i = 0; i < n; i++) {
        char t[24];

        table_row(&g_table);
        table_set(&g_table, 0, "%s", s[i].self ? "*" : "");
        table_set(&g_table, 1, "%u", s[i].id);
        table_set(&g_table, 2, "%s", s[i].peer);
        table_set(&g_table, 3, "%s",
                  s[i].state == CON_LOGIN || s[i].state == CON_WAIT
                      ? "-"
                      : (s[i].admin ? "admin" : "read-only"));
        table_set(&g_table, 4, "%s", s[i].job != NULL ? s[i].job : con_state_name(s[i].state));
        con_fmt_duration(now - s[i].opened_ms, t, sizeof(t));
        table_set(&g_table, 5, "%s", t);
        con_fmt_duration(now - s[i].last_input_ms, t, sizeof(t));
        table_set(&g_table, 6, "%s", t);
        table_set(&g_table, 7, "%llu", (unsigned long long)s[i].dropped_bytes);
    }
    table_print_shell(&g_table, sh);
    nr = con_logstream_readers(r, LOGSTREAM_READERS);
    for (size_t i = 0; i < nr; i++) {
        shell_printf(sh, "log stream reader %s: %llu lines sent, %llu dropped, %llu behind\n",
                     r[i].peer, (unsigned long long)r[i].lines, (unsigned long long)r[i].dropped,
                     (unsigned long long)r[i].behind);
    }
    return 0;
}

/* ---- reboot and halt: after a moment, so the answer reaches the operator ------------------ */

#define POWER_DELAY_NS (300ULL * 1000 * 1000)

static struct timer g_power_timer;

NORETURN static void do_reboot(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) no_idt = {0, 0};

    cpu_cli();
    console_out_raw("petrel: rebooting (console)\n");
    /* The keyboard controller's reset line (8042 command 0xFE) resets every PC and QEMU. */
    for (int i = 0; i < 100000 && (inb(0x64) & 0x02) != 0; i++) {
        cpu_pause();
    }
    outb(0x64, 0xfe);
    timer_udelay(100000);
    /* Still here: an exception with an empty IDT triple-faults, which resets too. */
    __asm__ volatile("lidt %0; int3" : : "m"(no_idt));
    cpu_halt_forever();
}

static void power_fire(void *arg)
{
    if (arg != NULL) {
        do_reboot();
    }
    console_out_raw("petrel: halted from the console\n");
    cpu_halt_forever();
}

static int power(struct shell *sh, int argc, char **argv, bool reboot)
{
    if (no_args(sh, argc, argv) != 0) {
        return -EINVAL;
    }
    if (g_power_timer.active) {
        shell_puts(sh, "error: a reboot or halt is already under way\n");
        return -EBUSY;
    }
    LOG_WARN(CONSOLE, "%s requested from the console", reboot ? "reboot" : "halt");
    shell_printf(sh, "%s in %llu ms\n", reboot ? "Rebooting" : "Halting",
                 (unsigned long long)(POWER_DELAY_NS / 1000000));
    timer_start(&g_power_timer, POWER_DELAY_NS, 0, power_fire, reboot ? &g_power_timer : NULL,
                "console power");
    return 0;
}

static int cmd_reboot(struct shell *sh, int argc, char **argv)
{
    return power(sh, argc, argv, true);
}

static int cmd_halt(struct shell *sh, int argc, char **argv)
{
    return power(sh, argc, argv, false);
}

static const struct shell_cmd g_cmds[] = {
    {"version", "", "Petrel's version and build", cmd_version, SHELL_RO, NULL},
    {"uptime", "", "time since boot", cmd_uptime, SHELL_RO, NULL},
    {"mem", "", "host memory: pages and heap", cmd_mem, SHELL_RO, NULL},
    {"cpu", "", "host CPU, SVM features, main loop counters", cmd_cpu, SHELL_RO, NULL},
    {"pci", "", "PCI functions found at boot", cmd_pci, SHELL_RO, NULL},
    {"who", "", "console sessions and log stream readers", cmd_who, SHELL_RO, NULL},
    {"reboot", "", "restart the appliance (all guests stop)", cmd_reboot, 0, NULL},
    {"halt", "", "stop the appliance (all guests stop)", cmd_halt, 0, NULL},
};

int con_cmds_sys_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
