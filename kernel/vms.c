/* Guests started at boot: the VMM brought up on the kernel's host interface, then one VM per
 * vm=NAME:MODULE[:mem=MB][:flat=ADDR] key, its image taken from the GRUB module of that name
 * (a multiboot kernel, or with flat= raw bytes loaded and entered at ADDR). petrel.conf
 * sections replace the key when the configuration issue lands. */
#include "vms.h"
#include "lib.h"
#include "log.h"
#include "params.h"
#include "vmm_host.h"
#include "../vmm/arch.h"
#include "../vmm/host.h"
#include "../vmm/vmm.h"

#define VM_DEFAULT_MEM_MB 16

static const struct boot_module *find_module(const struct bootinfo *bi, const char *name)
{
    for (size_t i = 0; i < bi->nmodules; i++) {
        if (strcmp(bi->modules[i].name, name) == 0) {
            return &bi->modules[i];
        }
    }
    return NULL;
}

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
    char *f[5];
    size_t n;
    const struct boot_module *m;
    uint64_t mb = VM_DEFAULT_MEM_MB;
    uint64_t flat = 0;
    bool is_flat = false;

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
        LOG_ERROR(VMM, "vm=%s: bad option '%s' (mem=MB with MB 2..%llu, flat=ADDR)", text, f[i],
                  (unsigned long long)(VMM_MEM_MAX >> 20));
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
    return 0;
}

static void start_one(const char *text, const struct bootinfo *bi)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm;
    int rc = parse_spec(text, bi, &cfg);

    if (rc != 0) {
        return;
    }
    rc = vmm_vm_create(&cfg, &vm);
    if (rc != 0) {
        LOG_ERROR(VMM, "vm %s: not created (%d)", cfg.name, rc);
        return;
    }
    rc = vm_console_attach(vm);
    if (rc == 0) {
        rc = vmm_vm_start(vm);
    }
    if (rc != 0) {
        LOG_ERROR(VMM, "vm %s: not started (%d)", cfg.name, rc);
    }
}

void vms_init(const struct bootinfo *bi)
{
    int rc;

    vmm_host_set(kernel_vmm_host());
    rc = vmm_init(&vmm_svm_arch);
    if (rc != 0) {
        if (g_params.nvms > 0) {
            LOG_ERROR(VMM, "the VMM is not available (%d): %zu guest(s) not started", rc,
                      g_params.nvms);
        }
        return;
    }
    for (size_t i = 0; i < g_params.nvms; i++) {
        start_one(g_params.vm[i], bi);
    }
}
