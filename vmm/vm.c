/* VM lifecycle: the VMM's global state, creating a VM (memory, nested page tables, vCPU,
 * devices, image), start/pause/resume/stop/destroy, and the ways a VM ends: the guest asks
 * (exit code), a fail stop (reason and dump), or the operator. Ending releases the VM's
 * memory and devices; the VM itself stays listed with its state, reason and counters. */
#include "arch.h"
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

static struct vmm_global g_vmm;
static const struct vmm_arch_ops *g_arch;

const struct vmm_arch_ops *vmm_arch(void)
{
    return g_arch;
}

struct vmm_global *vmm_global(void)
{
    return &g_vmm;
}

bool vmm_ready(void)
{
    return g_vmm.ready;
}

int vmm_cpu_init(void)
{
    if (g_arch == NULL || g_arch->cpu_init == NULL) {
        return -ENODEV;
    }
    return g_arch->cpu_init();
}

int vmm_init(const struct vmm_arch_ops *arch)
{
    const struct vmm_host *h = vmm_host();
    struct vmm_arch_info info;
    int rc;

    if (g_vmm.ready) {
        return 0;
    }
    if (h == NULL || arch == NULL || arch->init == NULL || arch->enter == NULL ||
        arch->cpuid == NULL || arch->vcpu_gone == NULL) {
        return -EINVAL;
    }
    memset(&info, 0, sizeof(info));
    rc = arch->init(&info);
    if (rc != 0) {
        return rc;
    }
    g_arch = arch;
    g_vmm.nasids = info.nasids;
    if (h->page_alloc(SVM_IOPM_PAGES, &g_vmm.iopm_pa) != 0 ||
        h->page_alloc(SVM_MSRPM_PAGES, &g_vmm.msrpm_pa) != 0) {
        LOG_ERROR(SVM, "no memory for the IO and MSR permission maps");
        return -ENOMEM;
    }
    /* Every port exits: a guest never reaches a host device. */
    memset(h->phys_to_virt(g_vmm.iopm_pa), 0xFF, SVM_IOPM_PAGES * PAGE_SIZE);
    g_vmm.msrpm = h->phys_to_virt(g_vmm.msrpm_pa);
    vmm_msrpm_init(g_vmm.msrpm);
    g_vmm.ready = true;
    LOG_INFO(SVM,
             "VMM ready: SVM revision %u, %u ASIDs, nested paging, NRIPS %s, decode "
             "assists %s",
             info.svm_rev, info.nasids, info.nrips ? "yes" : "no (next RIP computed)",
             info.decode_assists ? "yes" : "no");
    return 0;
}

const char *vmm_vm_name(const struct vmm_vm *vm)
{
    return vm->name;
}

const char *vmm_vm_state_name(enum vmm_vm_state s)
{
    switch (s) {
    case VMM_VM_CREATED:
        return "created";
    case VMM_VM_RUNNING:
        return "running";
    case VMM_VM_PAUSED:
        return "paused";
    case VMM_VM_EXITED:
        return "exited";
    case VMM_VM_FAILED:
        return "failed";
    case VMM_VM_STOPPED:
        return "stopped";
    }
    return "?";
}

static bool terminal(enum vmm_vm_state s)
{
    return s == VMM_VM_EXITED || s == VMM_VM_FAILED || s == VMM_VM_STOPPED;
}

/* One line of counters: total, time split, and every exit reason seen. */
static void log_counters(const struct vmm_vm *vm)
{
    char line[LOG_TEXT_MAX];
    size_t pos;
    const struct vmm_vm_stats *st = &vm->stats;

    pos = (size_t)snprintf(
        line, sizeof(line), "vm %s: %llu exits, %llu us in guest, %llu us in vmm:", vm->name,
        (unsigned long long)st->exits_total, (unsigned long long)(st->guest_ns / 1000),
        (unsigned long long)(st->vmm_ns / 1000));
    for (size_t i = 0; i < VMM_EXIT_SLOTS && pos < sizeof(line); i++) {
        if (st->exits[i] != 0) {
            const char *name = vmm_exit_slot_name(i);

            pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " %s %llu",
                                    name != NULL ? name : "?", (unsigned long long)st->exits[i]);
        }
    }
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "%s", line);
}

static void release(struct vmm_vm *vm)
{
    vmm_devs_destroy(vm);
    if (vm->vcpu != NULL) {
        vmm_vcpu_destroy(vm->vcpu);
        vm->vcpu = NULL;
    }
    npt_destroy(&vm->npt);
    gmem_free(&vm->mem);
    vm->released = true;
}

void vmm_vm_finish_exit(struct vmm_vm *vm)
{
    if (terminal(vm->state) && vm->busy == 0 && !vm->released) {
        release(vm);
    }
}

void vmm_vm_end(struct vmm_vm *vm, enum vmm_vm_state state, int code, const char *reason)
{
    const struct vmm_host *h = vmm_host();

    if (terminal(vm->state)) {
        return; /* the first reason is the one that counts */
    }
    vm->state = state;
    vm->exit_code = code;
    vmm_vm_kick(vm);
    str_copy(vm->reason, reason, sizeof(vm->reason));
    switch (state) {
    case VMM_VM_EXITED:
        LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: exited with code %d", vm->name, code);
        break;
    case VMM_VM_FAILED:
        break; /* vmm_vm_fail logged it, before the dump */
    default:
        LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: stopped: %s", vm->name, reason);
        break;
    }
    log_counters(vm);
    if (h->vm_state_changed != NULL) {
        h->vm_state_changed(vm);
    }
    vmm_vm_finish_exit(vm);
}

void vmm_vm_fail(struct vmm_vm *vm, const char *fmt, ...)
{
    char reason[VMM_REASON_MAX];
    va_list ap;

    if (terminal(vm->state)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: fail stop: %s", vm->name, reason);
    if (vm->vcpu != NULL) {
        vmm_dump_vcpu(vm->vcpu);
    }
    vmm_vm_end(vm, VMM_VM_FAILED, 0, reason);
}

void vmm_vm_request_exit(struct vmm_vm *vm, int code, const char *why)
{
    char reason[VMM_REASON_MAX];

    snprintf(reason, sizeof(reason), "exit code %d (%s)", code, why != NULL ? why : "guest");
    vmm_vm_end(vm, VMM_VM_EXITED, code, reason);
}

void vmm_vm_request_reset(struct vmm_vm *vm)
{
    if (!terminal(vm->state)) {
        vm->reset_requested = true;
        vmm_vm_kick(vm);
    }
}

int vmm_vm_reset_now(struct vmm_vm *vm)
{
    int rc;

    vm->reset_requested = false;
    gmem_clear(&vm->mem);
    vmm_devs_reset(vm);
    vmm_vcpu_reset_state(vm->vcpu);
    rc = vmm_load_image(vm);
    if (rc != 0) {
        vmm_vm_fail(vm, "reset: reloading the image failed (%d)", rc);
        return rc;
    }
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: reset", vm->name);
    return 0;
}

static bool name_ok(const char *name)
{
    size_t n = strnlen(name, VMM_NAME_MAX);

    if (n == 0 || n >= VMM_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

struct vmm_vm *vmm_vm_find(const char *name)
{
    for (struct vmm_vm *vm = g_vmm.vms; vm != NULL; vm = vm->next) {
        if (strcmp(vm->name, name) == 0) {
            return vm;
        }
    }
    return NULL;
}

struct vmm_vm *vmm_vm_next(const struct vmm_vm *vm)
{
    return vm == NULL ? g_vmm.vms : vm->next;
}

static int check_config(const struct vmm_vm_config *cfg)
{
    if (!name_ok(cfg->name)) {
        LOG_ERROR(VMM, "vm name '%.*s': 1 to %d characters of A-Z a-z 0-9 . _ -", VMM_NAME_MAX,
                  cfg->name, VMM_NAME_MAX - 1);
        return -EINVAL;
    }
    if (vmm_vm_find(cfg->name) != NULL) {
        LOG_ERROR(VMM, "vm %s: a VM of that name exists", cfg->name);
        return -EEXIST;
    }
    if (cfg->mem_bytes < VMM_MEM_MIN || cfg->mem_bytes > VMM_MEM_MAX) {
        LOG_ERROR(VMM, "vm %s: memory %llu MiB outside 2..%llu MiB", cfg->name,
                  (unsigned long long)(cfg->mem_bytes >> 20),
                  (unsigned long long)(VMM_MEM_MAX >> 20));
        return -EINVAL;
    }
    if (cfg->image == NULL || cfg->image_len == 0) {
        LOG_ERROR(VMM, "vm %s: no guest image", cfg->name);
        return -EINVAL;
    }
    if (strnlen(cfg->cmdline, VMM_CMDLINE_MAX) >= VMM_CMDLINE_MAX) {
        LOG_ERROR(VMM, "vm %s: command line not terminated", cfg->name);
        return -EINVAL;
    }
    return 0;
}

static void free_vm(struct vmm_vm *vm)
{
    release(vm);
    vmm_host()->free(vm);
}

static int build(struct vmm_vm *vm)
{
    int rc = gmem_init(&vm->mem, vm->cfg.mem_bytes);

    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: no memory for %llu MiB of guest RAM", vm->name,
               (unsigned long long)(vm->cfg.mem_bytes >> 20));
        return rc;
    }
    rc = npt_init(&vm->npt);
    if (rc == 0) {
        rc = npt_map_gmem(&vm->npt, &vm->mem);
    }
    if (rc != 0) {
        LOG_VM(NPT, LOG_LVL_ERROR, vm->name, "vm %s: nested page tables failed (%d)", vm->name, rc);
        return rc;
    }
    vmm_cpuid_policy_default(&vm->cpuid);
    rc = vmm_msr_install_defaults(vm);
    if (rc == 0) {
        rc = vmm_vcpu_create(vm);
    }
    if (rc == 0 && vm->cfg.pc_devices) {
        rc = vmm_machine_create(vm);
    }
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "vm %s: set-up failed (%d)", vm->name, rc);
        return rc;
    }
    return vmm_load_image(vm);
}

int vmm_vm_create(const struct vmm_vm_config *cfg, struct vmm_vm **out)
{
    const struct vmm_host *h = vmm_host();
    struct vmm_vm *vm;
    struct vmm_vm **tail;
    int rc;

    if (!g_vmm.ready) {
        return -ENODEV;
    }
    rc = check_config(cfg);
    if (rc != 0) {
        return rc;
    }
    vm = h->zalloc(sizeof(*vm));
    if (vm == NULL) {
        return -ENOMEM;
    }
    vm->cfg = *cfg;
    vm->cfg.mem_bytes = ALIGN_UP(cfg->mem_bytes, GMEM_CHUNK);
    str_copy(vm->name, cfg->name, sizeof(vm->name));
    vm->id = ++g_vmm.next_id;
    vm->asid = vmm_asid_for(vm->id);
    vm->state = VMM_VM_CREATED;
    vm->busy = 1; /* devices built now must not be torn down under their creators */
    rc = build(vm);
    vm->busy = 0;
    if (rc != 0 || vm->state != VMM_VM_CREATED) {
        free_vm(vm);
        return rc != 0 ? rc : -EIO;
    }
    for (tail = &g_vmm.vms; *tail != NULL; tail = &(*tail)->next) {
    }
    *tail = vm;
    LOG_VM(VMM, LOG_LVL_INFO, vm->name,
           "vm %s: created: %llu MiB RAM (%zu of %zu 2 MiB host pages), %zu NPT pages, ASID %u, "
           "%zu devices, entry %#llx",
           vm->name, (unsigned long long)(vm->mem.size >> 20), vm->mem.chunks_2m, vm->mem.nchunks,
           vm->npt.tables, vm->asid, vm->ndevs, (unsigned long long)vm->vcpu->regs.rip);
    if (out != NULL) {
        *out = vm;
    }
    return 0;
}

void vmm_vm_kick(struct vmm_vm *vm)
{
    const struct vmm_host *h = vmm_host();

    if (vm != NULL && h != NULL && h->vcpu_kick != NULL) {
        h->vcpu_kick(vm);
    }
}

bool vmm_vm_elsewhere(struct vmm_vm *vm)
{
    const struct vmm_host *h = vmm_host();

    return vm != NULL && h != NULL && h->vcpu_elsewhere != NULL && h->vcpu_elsewhere(vm);
}

bool vmm_vm_io_polled(struct vmm_vm *vm)
{
    const struct vmm_host *h = vmm_host();

    return vmm_host_polling() ||
           (vm != NULL && h != NULL && h->io_polling != NULL && h->io_polling(vm));
}

int vmm_vm_start(struct vmm_vm *vm)
{
    if (vm->state != VMM_VM_CREATED) {
        return -EINVAL;
    }
    vm->state = VMM_VM_RUNNING;
    vmm_vm_kick(vm);
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: started", vm->name);
    if (vmm_host()->vm_state_changed != NULL) {
        vmm_host()->vm_state_changed(vm);
    }
    return 0;
}

int vmm_vm_pause(struct vmm_vm *vm)
{
    if (vm->state != VMM_VM_RUNNING) {
        return -EINVAL;
    }
    vm->state = VMM_VM_PAUSED;
    vmm_vm_kick(vm); /* out of the guest now, not at its next exit */
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: paused", vm->name);
    return 0;
}

int vmm_vm_resume(struct vmm_vm *vm)
{
    if (vm->state != VMM_VM_PAUSED) {
        return -EINVAL;
    }
    vm->state = VMM_VM_RUNNING;
    vmm_vm_kick(vm);
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: resumed", vm->name);
    return 0;
}

int vmm_vm_stop(struct vmm_vm *vm)
{
    if (terminal(vm->state)) {
        return 0;
    }
    vmm_vm_end(vm, VMM_VM_STOPPED, 0, "stopped by the operator");
    return 0;
}

int vmm_vm_destroy(struct vmm_vm *vm)
{
    if (vm->state == VMM_VM_RUNNING || vm->state == VMM_VM_PAUSED || vm->busy != 0) {
        return -EBUSY;
    }
    for (struct vmm_vm **pp = &g_vmm.vms; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == vm) {
            *pp = vm->next;
            break;
        }
    }
    vmm_sched_forget(vm);
    free_vm(vm);
    return 0;
}

int vmm_vm_info(const struct vmm_vm *vm, struct vmm_vm_info *out)
{
    memset(out, 0, sizeof(*out));
    str_copy(out->name, vm->name, sizeof(out->name));
    out->state = vm->state;
    str_copy(out->reason, vm->reason, sizeof(out->reason));
    out->exit_code = vm->exit_code;
    out->mem_bytes = vm->cfg.mem_bytes;
    out->asid = vm->asid;
    if (vm->vcpu != NULL) {
        out->halted = vm->vcpu->halted;
        out->rip = vm->vcpu->regs.rip;
    }
    out->stats = vm->stats;
    return 0;
}

int vmm_vm_device(const struct vmm_vm *vm, size_t i, struct vmm_dev_stat *out)
{
    if (i >= vm->ndevs) {
        return -ENOENT;
    }
    out->name = vm->devs[i].name;
    out->accesses = vm->devs[i].accesses;
    out->access_ns = vm->devs[i].access_ns;
    return 0;
}

void vmm_vm_set_host_ctx(struct vmm_vm *vm, void *ctx)
{
    vm->host_ctx = ctx;
}

void *vmm_vm_host_ctx(const struct vmm_vm *vm)
{
    return vm->host_ctx;
}
