/* Guests started at boot and petrel.conf. The VMM is brought up on the kernel's host interface;
 * then one VM per vm=NAME:MODULE[:mem=MB][:flat=ADDR] key and one per valid [vm NAME] section
 * of petrel.conf (the GRUB module of that name, parsed by config.c), their images taken from
 * the GRUB modules they name. petrel.conf's [appliance] keys go through the command line's own
 * handlers (params_keys), so a key means the same in both places; the command line wins. */
#include "vms.h"
#include "../console/console.h"
#include "cmdline.h"
#include "heap.h"
#include "lib.h"
#include "log.h"
#include "params.h"
#include "vmm_host.h"
#include "../vmm/arch.h"
#include "../vmm/host.h"
#include "../vmm/linux.h"
#include "../vmm/vmm.h"
#include "../vmm/vmm_dev.h"

#define VM_DEFAULT_MEM_MB 16

static struct config g_conf;
static bool g_conf_loaded;
static const struct bootinfo *g_bi;

static const struct boot_module *find_module(const struct bootinfo *bi, const char *name)
{
    for (size_t i = 0; i < bi->nmodules; i++) {
        if (strcmp(bi->modules[i].name, name) == 0) {
            return &bi->modules[i];
        }
    }
    return NULL;
}

/* ---- petrel.conf ---------------------------------------------------------------------------- */

static void report(void *ctx, enum config_sev sev, unsigned line, const char *msg)
{
    char where[48];

    (void)ctx;
    if (line != 0) {
        snprintf(where, sizeof(where), "%s:%u", VMS_CONFIG_MODULE, line);
    } else {
        str_copy(where, VMS_CONFIG_MODULE, sizeof(where));
    }
    switch (sev) {
    case CONFIG_ERROR:
        LOG_ERROR(BOOT, "config: %s: %s", where, msg);
        break;
    case CONFIG_WARN:
        LOG_WARN(BOOT, "config: %s: %s", where, msg);
        break;
    case CONFIG_INFO:
        LOG_INFO(BOOT, "config: %s: %s", where, msg);
        break;
    }
}

static bool on_cmdline(void *ctx, const char *key)
{
    const struct bootinfo *bi = ctx;
    const char *cur = bi->cmdline;
    struct cmdline_item item;
    int rc;

    /* Bounded: every call moves the cursor forward over a line of BOOT_CMDLINE_MAX bytes. */
    while ((rc = cmdline_next(&cur, &item)) != 0) {
        if (rc > 0 && strcmp(item.key, key) == 0) {
            return true;
        }
    }
    return false;
}

void vms_config_load(const struct bootinfo *bi)
{
    const struct boot_module *m;
    const struct cmdline_key *keys;
    size_t nkeys;
    size_t len;
    int errors;

    if (g_conf_loaded) {
        return;
    }
    g_conf_loaded = true;
    g_bi = bi;
    config_init(&g_conf);
    m = find_module(bi, VMS_CONFIG_MODULE);
    if (m == NULL) {
        LOG_INFO(BOOT, "config: no %s module (tools/mkiso -c): guests come from vm= keys only",
                 VMS_CONFIG_MODULE);
        return;
    }
    if (m->end < m->start) {
        LOG_ERROR(BOOT, "config: %s: malformed module (ends before it starts): not read",
                  VMS_CONFIG_MODULE);
        return;
    }
    len = (size_t)(m->end - m->start);
    errors = config_parse(&g_conf, (const char *)(uintptr_t)m->start, len, report, NULL);
    keys = params_keys(&nkeys);
    errors += config_apply_appliance(&g_conf, keys, nkeys, on_cmdline, report, (void *)bi);
    if (errors == 0) {
        LOG_INFO(BOOT,
                 "config: %s: %u lines, %zu [appliance] keys, %zu [vnet] lines, %zu VMs: no "
                 "errors",
                 VMS_CONFIG_MODULE, g_conf.lines, g_conf.nappliance, g_conf.nvnet,
                 config_vms_valid(&g_conf));
    } else {
        LOG_WARN(BOOT,
                 "config: %s: %d problem%s (see above): %zu VMs kept, %u skipped; the rest of "
                 "the file applies",
                 VMS_CONFIG_MODULE, errors, errors == 1 ? "" : "s", config_vms_valid(&g_conf),
                 g_conf.vms_skipped);
    }
}

const struct config *vms_config_file(void)
{
    return g_conf_loaded ? &g_conf : NULL;
}

const struct config_vm *vms_config(const char *name)
{
    return config_vm_find(&g_conf, name);
}

const struct config_vm *vms_config_at(size_t i)
{
    for (size_t j = 0; j < g_conf.nvms; j++) {
        if (g_conf.vm[j].valid && i-- == 0) {
            return &g_conf.vm[j];
        }
    }
    return NULL;
}

/* A [vm] section as a VMM configuration; errors are logged with the file and line. */
static int section_to_vmm(const struct config_vm *s, const struct bootinfo *bi,
                          struct vmm_vm_config *cfg)
{
    const struct boot_module *m = find_module(bi, s->image);

    if (m == NULL || m->end <= m->start) {
        LOG_ERROR(BOOT,
                  "config: %s:%u: [vm %s] skipped: image '%s' is not a boot module "
                  "(tools/mkiso -c adds the images a config names)",
                  VMS_CONFIG_MODULE, s->image_line, s->name, s->image);
        return -ENOENT;
    }
    if (s->image_kind == CONFIG_IMAGE_FLAT && s->entry != s->load) {
        LOG_ERROR(BOOT,
                  "config: %s:%u: [vm %s] skipped: an entry point other than the load address "
                  "is not supported yet (entry = load)",
                  VMS_CONFIG_MODULE, s->line, s->name);
        return -ENOSYS;
    }
    memset(cfg, 0, sizeof(*cfg));
    str_copy(cfg->name, s->name, sizeof(cfg->name));
    cfg->mem_bytes = s->mem_bytes;
    cfg->image = (const void *)(uintptr_t)m->start;
    cfg->image_len = (size_t)(m->end - m->start);
    cfg->kind = s->image_kind == CONFIG_IMAGE_FLAT ? VMM_IMAGE_FLAT : VMM_IMAGE_MULTIBOOT;
    cfg->flat_addr = s->load;
    str_copy(cfg->cmdline, s->cmdline, sizeof(cfg->cmdline));
    cfg->pc_devices = true;
    if (s->initrd[0] != '\0') {
        const struct boot_module *rd = find_module(bi, s->initrd);

        if (rd == NULL || rd->end <= rd->start) {
            LOG_ERROR(BOOT, "config: %s:%u: [vm %s] skipped: initrd '%s' is not a boot module",
                      VMS_CONFIG_MODULE, s->line, s->name, s->initrd);
            return -ENOENT;
        }
        cfg->initrd = (const void *)(uintptr_t)rd->start;
        cfg->initrd_len = (size_t)(rd->end - rd->start);
    }
    /* A Linux kernel gets the platform it expects: local APIC and IOAPIC (ACPI describes them).
     * Other guests keep the 8259-only PC the test guests are written for. */
    cfg->apic = vmm_linux_is_bzimage(cfg->image, cfg->image_len);
    cfg->no_paravirt = !s->paravirt;
    /* Guest NICs: each `nic =` line becomes a model on the VM's PCI bus (vmm/nic_config.h);
     * line i is NIC "eth<i>" (the VNET port "<vm>.eth<i>"), also when an earlier one is bad. */
    for (size_t i = 0; i < s->nnics && i < VMM_NICS_MAX; i++) {
        char err[96];

        if (vmm_nic_parse(s->nic[i], (unsigned)i, &cfg->nics[cfg->nnics], err, sizeof(err)) != 0) {
            LOG_ERROR(BOOT, "config: %s:%u: [vm %s] nic '%s' skipped: %s", VMS_CONFIG_MODULE,
                      s->line, s->name, s->nic[i], err);
            continue;
        }
        cfg->nnics++;
    }
    return 0;
}

/* What a section keeps for later issues, said once when its VM is made. */
static void note_kept(const struct config_vm *s, const struct bootinfo *bi)
{
    if (s->nnics > 0) {
        LOG_INFO(BOOT,
                 "config: %s:%u: [vm %s] %zu nic line%s kept for VNET: guest NICs on PCI from "
                 "slot 3",
                 VMS_CONFIG_MODULE, s->line, s->name, s->nnics, s->nnics == 1 ? "" : "s");
    }
}

/* ---- vm= keys ------------------------------------------------------------------------------ */

/* Splits spec at ':' into at most max fields (spec is modified). */
static size_t split(char *spec, char **fields, size_t max)
{
    size_t n = 0;
    char *p = spec;

    while (n < max) {
        char *colon = strchr(p, ':');

        fields[n++] = p;
        if (colon == NULL) {
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    return n;
}

static int parse_spec(const char *text, const struct bootinfo *bi, struct vmm_vm_config *cfg)
{
    char spec[PARAM_VM_SPEC_MAX];
    char *f[7];
    size_t n;
    const struct boot_module *m;
    uint64_t mb = VM_DEFAULT_MEM_MB;
    uint64_t flat = 0;
    bool is_flat = false;
    bool apic = false;
    const char *initrd = NULL;

    str_copy(spec, text, sizeof(spec));
    n = split(spec, f, ARRAY_SIZE(f));
    if (n < 2 || f[0][0] == '\0' || f[1][0] == '\0') {
        LOG_ERROR(VMM, "vm=%s: expected NAME:MODULE[:mem=MB]", text);
        return -EINVAL;
    }
    for (size_t i = 2; i < n; i++) {
        if (strncmp(f[i], "mem=", 4) == 0 && str_to_u64(f[i] + 4, &mb) == 0 &&
            mb >= (VMM_MEM_MIN >> 20) && mb <= (VMM_MEM_MAX >> 20)) {
            continue;
        }
        if (strncmp(f[i], "flat=", 5) == 0 && str_to_u64(f[i] + 5, &flat) == 0) {
            is_flat = true;
            continue;
        }
        if (strcmp(f[i], "apic") == 0) {
            apic = true;
            continue;
        }
        if (strncmp(f[i], "initrd=", 7) == 0 && f[i][7] != '\0') {
            initrd = f[i] + 7;
            continue;
        }
        LOG_ERROR(VMM,
                  "vm=%s: bad option '%s' (mem=MB with MB 2..%llu, flat=ADDR, apic, "
                  "initrd=MODULE)",
                  text, f[i], (unsigned long long)(VMM_MEM_MAX >> 20));
        return -EINVAL;
    }
    m = find_module(bi, f[1]);
    if (m == NULL) {
        LOG_ERROR(VMM, "vm=%s: no boot module named '%s' (tools/mkiso -m FILE)", text, f[1]);
        return -ENOENT;
    }
    memset(cfg, 0, sizeof(*cfg));
    if (str_copy(cfg->name, f[0], sizeof(cfg->name)) >= sizeof(cfg->name)) {
        LOG_ERROR(VMM, "vm=%s: name longer than %d characters", text, VMM_NAME_MAX - 1);
        return -EINVAL;
    }
    cfg->mem_bytes = MiB(mb);
    cfg->image = (const void *)(uintptr_t)m->start;
    cfg->image_len = (size_t)(m->end - m->start);
    cfg->kind = is_flat ? VMM_IMAGE_FLAT : VMM_IMAGE_AUTO;
    cfg->flat_addr = flat;
    cfg->pc_devices = true;
    cfg->apic = apic || vmm_linux_is_bzimage(cfg->image, cfg->image_len);
    if (initrd != NULL) {
        const struct boot_module *rd = find_module(bi, initrd);

        if (rd == NULL || rd->end <= rd->start) {
            LOG_ERROR(VMM, "vm=%s: no boot module named '%s' for the initrd", text, initrd);
            return -ENOENT;
        }
        cfg->initrd = (const void *)(uintptr_t)rd->start;
        cfg->initrd_len = (size_t)(rd->end - rd->start);
    }
    return 0;
}

/* The vm= key naming VM `name` (the text up to the first ':'), or NULL. */
static const char *spec_of(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < g_params.nvms; i++) {
        if (strncmp(g_params.vm[i], name, n) == 0 && g_params.vm[i][n] == ':') {
            return g_params.vm[i];
        }
    }
    return NULL;
}

/* ---- creating and starting ------------------------------------------------------------------ */

/* Creates the VM with a console ring (console, when given, is an existing ring to keep). */
static int create(const struct vmm_vm_config *cfg, void *console, struct vmm_vm **out)
{
    struct vmm_vm *vm;
    int rc = vmm_vm_create(cfg, &vm);

    if (rc != 0) {
        LOG_ERROR(VMM, "vm %s: not created (%d)", cfg->name, rc);
        return rc;
    }
    if (console != NULL) {
        vmm_vm_set_host_ctx(vm, console);
    } else {
        rc = vm_console_attach(vm);
        if (rc != 0) {
            LOG_ERROR(VMM, "vm %s: no console ring (%d)", cfg->name, rc);
            vmm_vm_destroy(vm);
            return rc;
        }
    }
    *out = vm;
    return 0;
}

static int start(struct vmm_vm *vm)
{
    int rc = vmm_vm_start(vm);

    if (rc != 0) {
        LOG_ERROR(VMM, "vm %s: not started (%d)", vmm_vm_name(vm), rc);
    }
    return rc;
}

static void start_spec(const char *text, const struct bootinfo *bi)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm;

    if (parse_spec(text, bi, &cfg) == 0 && create(&cfg, NULL, &vm) == 0) {
        (void)start(vm);
    }
}

static void start_section(const struct config_vm *s, const struct bootinfo *bi)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm;

    if (vmm_vm_find(s->name) != NULL) {
        LOG_ERROR(BOOT,
                  "config: %s:%u: [vm %s] skipped: the command line's vm=%s key wins over "
                  "the section",
                  VMS_CONFIG_MODULE, s->line, s->name, s->name);
        return;
    }
    if (section_to_vmm(s, bi, &cfg) != 0) {
        return;
    }
    note_kept(s, bi);
    if (create(&cfg, NULL, &vm) != 0) {
        LOG_ERROR(BOOT, "config: %s:%u: [vm %s] not created (see above)", VMS_CONFIG_MODULE,
                  s->line, s->name);
        return;
    }
    if (s->console_port != 0) {
        int rc = console_vm_port(s->name, s->console_port);

        if (rc != 0) {
            LOG_ERROR(BOOT, "config: %s:%u: [vm %s] console_port %u not opened (%d)",
                      VMS_CONFIG_MODULE, s->line, s->name, s->console_port, rc);
        } else {
            LOG_INFO(CONSOLE, "vm %s: console on TCP port %u", s->name, s->console_port);
        }
    }
    if (s->autostart) {
        (void)start(vm);
    } else {
        LOG_VM(VMM, LOG_LVL_INFO, s->name, "vm %s: created, not started (autostart = no)", s->name);
    }
}

void vms_init(const struct bootinfo *bi)
{
    size_t nconf;
    int rc;

    if (!g_conf_loaded) {
        vms_config_load(bi);
        if (g_conf.nappliance > 0) {
            LOG_WARN(BOOT, "config: [appliance] applied late: kernel/main.c must call "
                           "vms_config_load() right after params_apply()");
        }
    }
    g_bi = bi;
    nconf = config_vms_valid(&g_conf);
    vmm_host_set(kernel_vmm_host());
    rc = vmm_init(&vmm_svm_arch);
    if (rc != 0) {
        if (g_params.nvms + nconf > 0) {
            LOG_ERROR(VMM, "the VMM is not available (%d): %zu guest(s) not started", rc,
                      g_params.nvms + nconf);
        }
        return;
    }
    for (size_t i = 0; i < g_params.nvms; i++) {
        start_spec(g_params.vm[i], bi);
    }
    for (size_t i = 0; i < g_conf.nvms; i++) {
        if (g_conf.vm[i].valid) {
            start_section(&g_conf.vm[i], bi);
        }
    }
}

int vms_start(const char *name)
{
    struct vmm_vm *vm = vmm_vm_find(name);
    struct vmm_vm_info info;
    struct vmm_vm_config cfg;
    const struct config_vm *s = NULL;
    const char *spec = spec_of(name);
    void *console = NULL;
    int rc;

    if (g_bi == NULL || !vmm_ready()) {
        return -ENODEV;
    }
    if (vm != NULL) {
        vmm_vm_info(vm, &info);
        if (info.state == VMM_VM_CREATED) {
            return start(vm);
        }
        if (info.state == VMM_VM_RUNNING || info.state == VMM_VM_PAUSED) {
            return -EBUSY;
        }
    }
    if (spec == NULL) {
        s = config_vm_find(&g_conf, name);
        if (s == NULL) {
            return -ENOENT;
        }
    }
    rc = spec != NULL ? parse_spec(spec, g_bi, &cfg) : section_to_vmm(s, g_bi, &cfg);
    if (rc != 0) {
        return rc;
    }
    if (vm != NULL) {
        /* The ended VM goes; its console ring (what it printed) stays with the new one. */
        console = vmm_vm_host_ctx(vm);
        vmm_vm_set_host_ctx(vm, NULL);
        rc = vmm_vm_destroy(vm);
        if (rc != 0) {
            vmm_vm_set_host_ctx(vm, console);
            return rc;
        }
    }
    rc = create(&cfg, console, &vm);
    if (rc != 0) {
        if (console != NULL) {
            kfree(console); /* vm_console_attach's ring, now owned by nobody */
        }
        return rc;
    }
    return start(vm);
}
