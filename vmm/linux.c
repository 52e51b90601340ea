/* Linux bzImage loader (linux.h): header checks, placement, boot_params, 32-bit entry. */
#include "linux.h"
#include "../kernel/bytes.h"
#include "acpi.h"
#include "e820.h"
#include "host.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define SECTOR        512u
#define BDA_BASE_MEMK 0x413u

static void wr8(uint8_t *p, uint8_t v)
{
    *p = v;
}

bool vmm_linux_is_bzimage(const uint8_t *img, size_t len)
{
    return img != NULL && len >= LINUX_HDR_MAGIC + 4 &&
           rd32(img + LINUX_HDR_MAGIC) == LINUX_HDRS_MAGIC;
}

#define BAD(vm, ...)                                                                               \
    do {                                                                                           \
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "linux: " __VA_ARGS__);                                     \
        return -EINVAL;                                                                            \
    } while (0)

int vmm_linux_parse(const char *vm, const uint8_t *img, size_t len, struct vmm_linux_info *out)
{
    struct vmm_linux_info k;
    size_t setup_len;

    memset(out, 0, sizeof(*out));
    if (!vmm_linux_is_bzimage(img, len)) {
        BAD(vm, "no \"HdrS\" boot protocol signature at 0x202");
    }
    if (len < LINUX_HDR_MIN_END) {
        BAD(vm, "image of %zu bytes ends inside its setup header", len);
    }
    if (rd16(img + LINUX_HDR_BOOT_FLAG) != LINUX_BOOT_FLAG) {
        BAD(vm, "boot_flag is %#x, not 0xaa55", rd16(img + LINUX_HDR_BOOT_FLAG));
    }
    memset(&k, 0, sizeof(k));
    k.version = rd16(img + LINUX_HDR_VERSION);
    if (k.version < LINUX_MIN_VERSION) {
        BAD(vm, "boot protocol %u.%02u is older than 2.10", k.version >> 8, k.version & 0xFF);
    }
    k.hdr_end = LINUX_HDR_JUMP + 2 + img[LINUX_HDR_JUMP + 1];
    if (img[LINUX_HDR_JUMP] != 0xEB || k.hdr_end < LINUX_HDR_MIN_END) {
        BAD(vm, "setup header jump (%02x %02x) does not skip a 2.10 header", img[LINUX_HDR_JUMP],
            img[LINUX_HDR_JUMP + 1]);
    }
    k.setup_sects = img[LINUX_HDR_SETUP_SECTS] != 0 ? img[LINUX_HDR_SETUP_SECTS] : 4;
    setup_len = (size_t)(k.setup_sects + 1) * SECTOR;
    if (setup_len < k.hdr_end || setup_len >= len) {
        BAD(vm, "%u setup sectors do not fit the %zu-byte image", k.setup_sects, len);
    }
    k.loadflags = img[LINUX_HDR_LOADFLAGS];
    if (!(k.loadflags & LINUX_LOADED_HIGH)) {
        BAD(vm, "a zImage (loadflags LOADED_HIGH clear): only bzImages load at 1 MiB");
    }
    k.code32_start = rd32(img + LINUX_HDR_CODE32_START);
    if (k.code32_start != LINUX_KERNEL_GPA) {
        BAD(vm, "code32_start %#x is not 1 MiB", k.code32_start);
    }
    k.initrd_addr_max = rd32(img + LINUX_HDR_INITRD_MAX);
    k.kernel_alignment = rd32(img + LINUX_HDR_KERNEL_ALIGN);
    k.relocatable = img[LINUX_HDR_RELOCATABLE] != 0;
    k.xloadflags = rd16(img + LINUX_HDR_XLOADFLAGS);
    k.cmdline_size = rd32(img + LINUX_HDR_CMDLINE_SIZE);
    k.pref_address = rd64(img + LINUX_HDR_PREF_ADDRESS);
    k.init_size = rd32(img + LINUX_HDR_INIT_SIZE);
    if (k.relocatable &&
        (k.kernel_alignment == 0 || (k.kernel_alignment & (k.kernel_alignment - 1)) != 0)) {
        BAD(vm, "kernel_alignment %#x is not a power of two", k.kernel_alignment);
    }
    if (k.init_size == 0 || k.cmdline_size == 0) {
        BAD(vm, "init_size %#x or cmdline_size %u is zero", k.init_size, k.cmdline_size);
    }
    if (k.pref_address < LINUX_KERNEL_GPA || k.pref_address > 0xFFFFFFFFull) {
        BAD(vm, "pref_address %#llx is outside 1 MiB..4 GiB", (unsigned long long)k.pref_address);
    }
    k.kernel_off = setup_len;
    k.kernel_len = len - setup_len;
    *out = k;
    return 0;
}

int vmm_linux_plan(const char *vm, const struct vmm_linux_info *k, uint64_t ram, size_t initrd_len,
                   struct vmm_linux_layout *out)
{
    struct vmm_linux_layout l;
    uint64_t top;

    memset(&l, 0, sizeof(l));
    l.kernel = LINUX_KERNEL_GPA;
    l.kernel_end = l.kernel + k->kernel_len;
    /* The decompressor runs the kernel at pref_address (LOAD_PHYSICAL_ADDR), or, relocatable,
     * at the load address rounded up to kernel_alignment if that is higher; it needs
     * init_size bytes there. With KASLR it may pick another place, always avoiding the
     * initrd, the command line and boot_params. */
    l.run_start = l.kernel;
    if (k->relocatable) {
        l.run_start = ALIGN_UP(l.run_start, (uint64_t)k->kernel_alignment);
    }
    l.run_start = MAX(l.run_start, k->pref_address);
    l.run_end = l.run_start + k->init_size;
    if (l.kernel_end > ram || l.run_end > ram) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm,
               "linux: the kernel needs RAM up to %llu MiB (runs at %#llx, init_size %#x); the "
               "VM has %llu MiB",
               (unsigned long long)((MAX(l.run_end, l.kernel_end) + MiB(1) - 1) >> 20),
               (unsigned long long)l.run_start, k->init_size, (unsigned long long)(ram >> 20));
        return -ENOMEM;
    }
    if (initrd_len > 0) {
        top = MIN(ram, (uint64_t)k->initrd_addr_max + 1);
        if (initrd_len > top) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm, "linux: initrd of %zu bytes is larger than RAM",
                   initrd_len);
            return -ENOMEM;
        }
        l.initrd = ALIGN_DOWN(top - initrd_len, PAGE_SIZE);
        l.initrd_end = l.initrd + initrd_len;
        if (l.initrd < MAX(l.run_end, l.kernel_end)) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm,
                   "linux: the initrd (%zu KiB) and the kernel (up to %#llx) need more than the "
                   "VM's %llu MiB",
                   initrd_len >> 10, (unsigned long long)MAX(l.run_end, l.kernel_end),
                   (unsigned long long)(ram >> 20));
            return -ENOMEM;
        }
    }
    *out = l;
    return 0;
}

/* The boot GDT: null, null, 0x10 flat 4 GiB code (execute/read), 0x18 flat data. */
static int write_gdt(struct vmm_vm *vm)
{
    static const uint64_t gdt[4] = {0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull};

    return gmem_write(&vm->mem, LINUX_GDT_GPA, gdt, sizeof(gdt));
}

static int build_boot_params(struct vmm_vm *vm, const struct vmm_linux_info *k,
                             const struct vmm_linux_layout *l, uint64_t rsdp, uint8_t *bp)
{
    struct vmm_e820_entry e820[E820_MAX];
    const uint8_t *img = vm->cfg.image;
    int n = vmm_e820_build(vm->mem.size, e820, E820_MAX);
    uint8_t loadflags;

    if (n < 0) {
        return n;
    }
    memset(bp, 0, LINUX_BP_SIZE);
    /* The setup header as the image has it, then the fields a boot loader owns. */
    memcpy(bp + LINUX_HDR_START, img + LINUX_HDR_START, k->hdr_end - LINUX_HDR_START);
    wr8(bp + LINUX_BP_SENTINEL, 0);
    wr16(bp + LINUX_HDR_VID_MODE, LINUX_VID_NORMAL);
    wr8(bp + LINUX_HDR_TYPE_OF_LOADER, LINUX_LOADER_UNDEFINED);
    /* LOADED_HIGH stays; the real-mode heap and KEEP_SEGMENTS do not apply to a 32-bit entry. */
    loadflags = (uint8_t)(k->loadflags & ~(LINUX_KEEP_SEGMENTS | 0x80u));
    wr8(bp + LINUX_HDR_LOADFLAGS, loadflags);
    wr16(bp + LINUX_HDR_HEAP_END_PTR, 0);
    wr32(bp + LINUX_HDR_CMD_LINE_PTR, LINUX_CMDLINE_GPA);
    wr32(bp + LINUX_BP_EXT_CMDLINE, 0);
    wr32(bp + LINUX_HDR_RAMDISK_IMAGE, (uint32_t)l->initrd);
    wr32(bp + LINUX_HDR_RAMDISK_SIZE, (uint32_t)(l->initrd_end - l->initrd));
    wr32(bp + LINUX_BP_EXT_RAMDISK_IMG, 0);
    wr32(bp + LINUX_BP_EXT_RAMDISK_SZ, 0);
    wr32(bp + LINUX_HDR_SUBARCH, 0); /* a PC */
    wr64(bp + LINUX_HDR_SETUP_DATA, 0);
    wr64(bp + LINUX_BP_ACPI_RSDP, rsdp);
    wr32(bp + LINUX_BP_ALT_MEM_K, (uint32_t)((vm->mem.size - MiB(1)) >> 10));
    wr8(bp + LINUX_BP_E820_ENTRIES, (uint8_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + LINUX_BP_E820_TABLE + (size_t)i * 20;

        wr64(e, e820[i].addr);
        wr64(e + 8, e820[i].len);
        wr32(e + 16, e820[i].type);
    }
    return 0;
}

static void set_entry_state(struct vmm_vcpu *vcpu)
{
    struct vmm_regs *r = &vcpu->regs;

    /* Flat segments, paging and interrupts off; then the protocol's selectors and GDT. */
    vmm_vcpu_set_pm32(vcpu, LINUX_KERNEL_GPA, 0, 0);
    r->gpr[VMM_RSI] = LINUX_BP_GPA;
    r->gpr[VMM_RSP] = LINUX_STACK_TOP;
    for (int i = 0; i < VMM_NSEG; i++) {
        r->seg[i].selector = i == VMM_CS ? LINUX_BOOT_CS : LINUX_BOOT_DS;
    }
    vcpu->vmcb->save.gdtr = (struct vmcb_seg){0, 0, 4 * 8 - 1, LINUX_GDT_GPA};
}

/* True when the command line has a word starting with key (e.g. "tsc_early_khz="). */
static bool has_param(const char *line, const char *key)
{
    size_t n = strlen(key);

    for (const char *p = line; *p != '\0'; p++) {
        if ((p == line || p[-1] == ' ') && strncmp(p, key, n) == 0) {
            return true;
        }
    }
    return false;
}

/* The guest's command line: the configured one (or the default), plus tsc_early_khz= with the
 * TSC rate the guest sees (the host's) unless it is given. Linux calibrates its TSC against
 * the PIT or the PM timer with tight bounds on how long one port read may take; where exits
 * are slow (SVM emulated by QEMU TCG) every attempt fails and Linux marks the TSC unstable. */
static size_t guest_cmdline(const struct vmm_vm *vm, char *out, size_t outlen)
{
    const char *base = vm->cfg.cmdline[0] != '\0' ? vm->cfg.cmdline : LINUX_DEFAULT_CMDLINE;
    uint64_t khz = vmm_host()->tsc_hz / 1000;
    int n;

    if (khz == 0 || khz > 0xFFFFFFFFu || has_param(base, "tsc_early_khz=")) {
        n = snprintf(out, outlen, "%s", base);
    } else {
        n = snprintf(out, outlen, "%s tsc_early_khz=%llu", base, (unsigned long long)khz);
    }
    return n < 0 ? 0 : MIN((size_t)n, outlen - 1);
}

int vmm_linux_load(struct vmm_vm *vm)
{
    const uint8_t *img = vm->cfg.image;
    char cmdline[VMM_CMDLINE_MAX + 32];
    size_t clen = guest_cmdline(vm, cmdline, sizeof(cmdline));
    struct vmm_linux_info k;
    struct vmm_linux_layout l;
    uint8_t *bp;
    uint64_t rsdp = 0;
    const uint16_t base_kib = (uint16_t)(E820_LOW_END >> 10);
    int rc = vmm_linux_parse(vm->name, img, vm->cfg.image_len, &k);

    if (rc != 0) {
        return rc;
    }
    if (clen + 1 > MIN((size_t)k.cmdline_size + 1, (size_t)LINUX_CMDLINE_MAX)) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name,
               "linux: command line of %zu bytes; the kernel takes %u", clen, k.cmdline_size);
        return -EINVAL;
    }
    if ((vm->cfg.initrd == NULL) != (vm->cfg.initrd_len == 0)) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "linux: initrd pointer and length disagree");
        return -EINVAL;
    }
    rc = vmm_linux_plan(vm->name, &k, vm->mem.size, vm->cfg.initrd_len, &l);
    if (rc != 0) {
        return rc;
    }
    bp = vmm_host()->zalloc(LINUX_BP_SIZE);
    if (bp == NULL) {
        return -ENOMEM;
    }
    rc = gmem_write(&vm->mem, l.kernel, img + k.kernel_off, k.kernel_len);
    if (rc == 0 && l.initrd != 0) {
        rc = gmem_write(&vm->mem, l.initrd, vm->cfg.initrd, vm->cfg.initrd_len);
    }
    if (rc == 0) {
        rc = gmem_write(&vm->mem, LINUX_CMDLINE_GPA, cmdline, clen + 1);
    }
    if (rc == 0) {
        rc = gmem_write(&vm->mem, BDA_BASE_MEMK, &base_kib, sizeof(base_kib));
    }
    if (rc == 0) {
        rc = write_gdt(vm);
    }
    if (rc == 0) {
        rc = vmm_acpi_install(vm, &rsdp);
    }
    if (rc == 0) {
        rc = build_boot_params(vm, &k, &l, rsdp, bp);
    }
    if (rc == 0) {
        rc = gmem_write(&vm->mem, LINUX_BP_GPA, bp, LINUX_BP_SIZE);
    }
    vmm_host()->free(bp);
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "linux: loading failed (%d)", rc);
        return rc;
    }
    set_entry_state(vm->vcpu);
    LOG_VM(VMM, LOG_LVL_INFO, vm->name,
           "vm %s: linux boot protocol %u.%02u, kernel %zu KiB at %#llx (runs at %#llx, "
           "init_size %u KiB%s), initrd %zu KiB at %#llx",
           vm->name, k.version >> 8, k.version & 0xFF, k.kernel_len >> 10,
           (unsigned long long)l.kernel, (unsigned long long)l.run_start, k.init_size >> 10,
           k.relocatable ? ", relocatable" : "", vm->cfg.initrd_len >> 10,
           (unsigned long long)l.initrd);
    LOG_VM(VMM, LOG_LVL_INFO, vm->name, "vm %s: linux command line: %s", vm->name, cmdline);
    return 0;
}
