/* Shell commands for guests: vms, vm start|stop|pause|resume|info NAME, and console NAME
 * (attach to the VM's serial console; Ctrl-] detaches, as in telnet). */
#include "cmds.h"
#include "shell.h"
#include "table.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"
#include "../kernel/vmm_host.h"
#include "../vmm/vmm.h"

#define CONSOLE_DETACH 0x1d /* Ctrl-] */
#define CONSOLE_CHUNK  256
#define CONSOLE_BURST  16

static struct table g_table;

static bool terminal_state(enum vmm_vm_state s)
{
    return s == VMM_VM_EXITED || s == VMM_VM_FAILED || s == VMM_VM_STOPPED;
}

static struct vmm_vm *find(struct shell *sh, const char *name)
{
    struct vmm_vm *vm = vmm_vm_find(name);

    if (vm == NULL) {
        shell_printf(sh, "error: no VM named '%.20s' ('vms' lists them)\n", name);
    }
    return vm;
}

static void fmt_ms(uint64_t ns, char *buf, size_t len)
{
    snprintf(buf, len, "%llu.%03llu s", (unsigned long long)(ns / 1000000000),
             (unsigned long long)(ns / 1000000 % 1000));
}

static int cmd_vms(struct shell *sh, int argc, char **argv)
{
    static const char *const hdr[] = {"NAME", "STATE", "MEMORY", "EXITS", "GUEST TIME", "NOTE"};
    size_t n = 0;

    (void)argv;
    if (argc != 1) {
        shell_puts(sh, "error: vms takes no arguments\n");
        return -EINVAL;
    }
    table_init(&g_table, 6, hdr);
    table_align_right(&g_table, 2);
    table_align_right(&g_table, 3);
    table_align_right(&g_table, 4);
    for (struct vmm_vm *vm = vmm_vm_next(NULL); vm != NULL; vm = vmm_vm_next(vm)) {
        struct vmm_vm_info info;
        char t[24];

        if (vmm_vm_info(vm, &info) != 0 || table_row(&g_table) != 0) {
            continue;
        }
        n++;
        table_set(&g_table, 0, "%s", info.name);
        table_set(&g_table, 1, "%s", vmm_vm_state_name(info.state));
        table_set(&g_table, 2, "%llu MiB", (unsigned long long)(info.mem_bytes >> 20));
        table_set(&g_table, 3, "%llu", (unsigned long long)info.stats.exits_total);
        fmt_ms(info.stats.guest_ns, t, sizeof(t));
        table_set(&g_table, 4, "%s", t);
        if (info.state == VMM_VM_EXITED) {
            table_set(&g_table, 5, "exit code %d", info.exit_code);
        } else if (terminal_state(info.state)) {
            table_set(&g_table, 5, "%s", info.reason);
        } else if (info.state == VMM_VM_RUNNING && info.halted) {
            table_set(&g_table, 5, "idle (hlt)");
        }
    }
    if (n == 0) {
        shell_puts(sh, vmm_ready() ? "no VMs\n"
                                   : "no VMs (the VMM is not running: see the boot log)\n");
        return 0;
    }
    table_print_shell(&g_table, sh);
    return 0;
}

/* The devices the guest touched and how often: where port and MMIO exits go. */
static void devices(struct shell *sh, const struct vmm_vm *vm)
{
    struct vmm_dev_stat d;
    size_t n = 0;

    while (vmm_vm_device(vm, n, &d) == 0) {
        n++;
    }
    if (n == 0) {
        return;
    }
    shell_puts(sh, "accesses   ");
    for (size_t i = 0; i < n; i++) {
        if (vmm_vm_device(vm, i, &d) == 0 && d.accesses > 0) {
            shell_printf(sh, " %s %llu (%llu us)", d.name, (unsigned long long)d.accesses,
                         (unsigned long long)(d.access_ns / 1000));
        }
    }
    shell_puts(sh, "\n");
}

static void info(struct shell *sh, struct vmm_vm *vm)
{
    struct vmm_vm_info vi;
    char g[24];
    char v[24];
    size_t shown = 0;
    bool used[VMM_EXIT_SLOTS] = {false};

    vmm_vm_info(vm, &vi);
    fmt_ms(vi.stats.guest_ns, g, sizeof(g));
    fmt_ms(vi.stats.vmm_ns, v, sizeof(v));
    shell_printf(sh, "name        %s\n", vi.name);
    shell_printf(sh, "state       %s%s%s\n", vmm_vm_state_name(vi.state),
                 vi.reason[0] != '\0' ? ": " : "", vi.reason);
    if (vi.state == VMM_VM_EXITED) {
        shell_printf(sh, "exit code   %d\n", vi.exit_code);
    }
    shell_printf(sh, "memory      %llu MiB, ASID %u\n", (unsigned long long)(vi.mem_bytes >> 20),
                 vi.asid);
    shell_printf(sh, "vcpu        rip %#llx%s\n", (unsigned long long)vi.rip,
                 vi.halted ? ", halted (hlt)" : "");
    shell_printf(sh, "time        %s in the guest, %s handling exits\n", g, v);
    shell_printf(sh,
                 "counters    %llu exits, %llu irqs injected, %llu pv eois, %llu hlts, "
                 "%llu unclaimed io, %llu unknown msrs\n",
                 (unsigned long long)vi.stats.exits_total,
                 (unsigned long long)vi.stats.irqs_injected, (unsigned long long)vi.stats.pv_eois,
                 (unsigned long long)vi.stats.halts, (unsigned long long)vi.stats.io_unclaimed,
                 (unsigned long long)vi.stats.msr_unknown);
    /* The busiest exit reasons, most first. */
    while (shown < 8) {
        size_t best = VMM_EXIT_SLOTS;

        for (size_t s = 0; s < VMM_EXIT_SLOTS; s++) {
            if (!used[s] && vi.stats.exits[s] > 0 &&
                (best == VMM_EXIT_SLOTS || vi.stats.exits[s] > vi.stats.exits[best])) {
                best = s;
            }
        }
        if (best == VMM_EXIT_SLOTS) {
            break;
        }
        used[best] = true;
        if (shown == 0) {
            static const char *const hdr[] = {"EXIT", "COUNT", "US/EXIT"};

            table_init(&g_table, 3, hdr);
            table_align_right(&g_table, 1);
            table_align_right(&g_table, 2);
        }
        table_row(&g_table);
        table_set(&g_table, 0, "%s",
                  vmm_exit_slot_name(best) != NULL ? vmm_exit_slot_name(best) : "?");
        table_set(&g_table, 1, "%llu", (unsigned long long)vi.stats.exits[best]);
        table_set(&g_table, 2, "%llu.%u",
                  (unsigned long long)(vi.stats.exit_ns[best] / vi.stats.exits[best] / 1000),
                  (unsigned)(vi.stats.exit_ns[best] / vi.stats.exits[best] / 100 % 10));
        shown++;
    }
    if (shown > 0) {
        shell_puts(sh, "\n");
        table_print_shell(&g_table, sh);
    }
    devices(sh, vm);
}

static int cmd_vm(struct shell *sh, int argc, char **argv)
{
    struct vmm_vm *vm;
    const char *op;
    int rc;

    if (argc != 3) {
        shell_puts(sh, "error: expected vm start|stop|pause|resume|info NAME\n");
        return -EINVAL;
    }
    op = argv[1];
    if (strcmp(op, "info") != 0 && strcmp(op, "start") != 0 && strcmp(op, "stop") != 0 &&
        strcmp(op, "pause") != 0 && strcmp(op, "resume") != 0) {
        shell_printf(sh, "error: no VM operation '%.20s'\n", op);
        return -EINVAL;
    }
    vm = find(sh, argv[2]);
    if (vm == NULL) {
        return -ENOENT;
    }
    if (strcmp(op, "info") == 0) {
        info(sh, vm);
        return 0;
    }
    if (!sh->admin) {
        shell_puts(sh, "error: controlling VMs is not allowed in a read-only session\n");
        return -EPERM;
    }
    if (strcmp(op, "start") == 0) {
        rc = vmm_vm_start(vm);
    } else if (strcmp(op, "stop") == 0) {
        rc = vmm_vm_stop(vm);
    } else if (strcmp(op, "pause") == 0) {
        rc = vmm_vm_pause(vm);
    } else {
        rc = vmm_vm_resume(vm);
    }
    if (rc != 0) {
        struct vmm_vm_info vi;

        vmm_vm_info(vm, &vi);
        shell_printf(sh, "error: cannot %s VM %s: it is %s%s\n", op, argv[2],
                     vmm_vm_state_name(vi.state),
                     terminal_state(vi.state) ? " (a stopped VM cannot start again)" : "");
        return -EBUSY;
    }
    LOG_INFO(CONSOLE, "vm %s: %s from the console", argv[2], op);
    shell_printf(sh, "%s: %s\n", argv[2], op);
    return 0;
}

/* ---- console NAME ------------------------------------------------------------------------- */

struct attach {
    char name[VMM_NAME_MAX];
    uint64_t pos; /* next byte of the VM's console ring */
};

_Static_assert(sizeof(struct attach) <= SHELL_JOB_STATE_MAX, "attach state too big");

static bool attach_input(struct shell *sh, uint8_t c)
{
    struct attach *a = shell_job_state(sh);
    struct vmm_vm *vm;

    if (c == CONSOLE_DETACH) {
        shell_printf(sh, "\n[detached from %s]\n", a->name);
        return false;
    }
    vm = vmm_vm_find(a->name);
    if (vm != NULL && vmm_vm_console_write(vm, &c, 1) == 0) {
        shell_puts(sh, "\a"); /* the guest's input queue is full */
    }
    return true;
}

static bool attach_poll(struct shell *sh, uint64_t now_ms)
{
    struct attach *a = shell_job_state(sh);
    struct vmm_vm *vm = vmm_vm_find(a->name);
    struct vmm_vm_info vi;

    (void)now_ms;
    if (vm == NULL) {
        shell_printf(sh, "\n[VM %s is gone]\n", a->name);
        return false;
    }
    for (int i = 0; i < CONSOLE_BURST; i++) {
        uint8_t buf[CONSOLE_CHUNK];
        uint64_t before = a->pos;
        size_t room = shell_room(sh);
        size_t n;

        if (room < 64) {
            return true; /* the client is slow; the VM's ring keeps its output (8 KiB) */
        }
        n = vm_console_read(vm, &a->pos, buf, MIN(sizeof(buf), room - 48));
        if (n > 0 && a->pos - n != before) {
            shell_printf(sh, "\n[%llu bytes of console output lost]\n",
                         (unsigned long long)(a->pos - n - before));
        }
        if (n == 0) {
            break;
        }
        shell_write(sh, (const char *)buf, n);
    }
    vmm_vm_info(vm, &vi);
    if (terminal_state(vi.state)) {
        uint8_t probe;
        uint64_t pos = a->pos;

        if (vm_console_read(vm, &pos, &probe, 1) == 0) {
            shell_printf(sh, "\n[VM %s %s%s%s]\n", a->name, vmm_vm_state_name(vi.state),
                         vi.reason[0] != '\0' ? ": " : "", vi.reason);
            return false;
        }
    }
    return true;
}

static const struct shell_job g_attach_job = {"console", attach_poll, attach_input, NULL};

static int cmd_console(struct shell *sh, int argc, char **argv)
{
    struct attach *a = shell_job_state(sh);

    if (argc != 2) {
        shell_puts(sh, "error: console needs a VM name\n");
        return -EINVAL;
    }
    if (find(sh, argv[1]) == NULL) {
        return -ENOENT;
    }
    memset(a, 0, sizeof(*a));
    str_copy(a->name, argv[1], sizeof(a->name));
    a->pos = 0; /* from the oldest output the ring holds */
    shell_printf(sh, "[attached to %s's console; Ctrl-] detaches]\n", a->name);
    shell_start_job(sh, &g_attach_job);
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"vms", "", "the VMs and their state", cmd_vms, SHELL_RO, NULL},
    {"vm", "start|stop|pause|resume|info NAME", "control a VM or show its details", cmd_vm,
     SHELL_RO,
     "  start   run a VM that was created but not started\n"
     "  stop    stop it for good (its memory is freed; it stays listed)\n"
     "  pause   stop running its vCPU; resume continues it\n"
     "  info    state, counters, the busiest exit reasons (also in a read-only session)\n"},
    {"console", "NAME", "attach to a VM's serial console (Ctrl-] detaches)", cmd_console, 0,
     "  shows what the VM printed (the last 8 KiB), then follows it; keys go to the VM\n"},
};

int con_cmds_vm_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
