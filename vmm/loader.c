/* Guest image loaders (loader.h). Every header field is checked against the image size and
 * every load range against guest RAM and the boot data area before anything is copied. */
#include "loader.h"
#include "../kernel/bytes.h"
#include "e820.h"
#include "linux.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define ELF_PT_LOAD 1

struct load_seg {
    uint64_t gpa;
    uint64_t file_off;
    uint64_t filesz;
    uint64_t memsz;
};

#define LOAD_SEGS_MAX 16

struct load_plan {
    struct load_seg seg[LOAD_SEGS_MAX];
    size_t nseg;
    uint64_t entry;
};

int vmm_mb1_find(const uint8_t *img, size_t len, struct mb1_header *hdr)
{
    size_t limit = MIN(len, (size_t)MB1_SEARCH_BYTES);

    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic = rd32(img + off);
        uint32_t flags = rd32(img + off + 4);
        uint32_t sum = rd32(img + off + 8);

        if (magic != MB1_HEADER_MAGIC || (uint32_t)(magic + flags + sum) != 0) {
            continue;
        }
        memset(hdr, 0, sizeof(*hdr));
        hdr->magic = magic;
        hdr->flags = flags;
        hdr->checksum = sum;
        if (flags & MB1_HF_AOUT) {
            if (off + 32 > len) {
                return -EINVAL;
            }
            hdr->header_addr = rd32(img + off + 12);
            hdr->load_addr = rd32(img + off + 16);
            hdr->load_end_addr = rd32(img + off + 20);
            hdr->bss_end_addr = rd32(img + off + 24);
            hdr->entry_addr = rd32(img + off + 28);
        }
        return (int)off;
    }
    return -ENOENT;
}

static int plan_aout(const char *vm, const struct mb1_header *h, size_t hdr_off, size_t len,
                     struct load_plan *p)
{
    uint64_t delta;
    uint64_t file_off;
    uint64_t load_end;
    uint64_t bss_end;

    if (h->header_addr < h->load_addr) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: header_addr below load_addr");
        return -EINVAL;
    }
    delta = h->header_addr - h->load_addr;
    if (delta > hdr_off) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: load_addr lies before the file's start");
        return -EINVAL;
    }
    file_off = hdr_off - delta;
    load_end = h->load_end_addr != 0 ? h->load_end_addr : h->load_addr + (len - file_off);
    if (load_end < h->load_addr || load_end - h->load_addr > len - file_off) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: load_end_addr %#x beyond the image",
               h->load_end_addr);
        return -EINVAL;
    }
    bss_end = h->bss_end_addr != 0 ? h->bss_end_addr : load_end;
    if (bss_end < load_end) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: bss_end_addr %#x below load_end_addr",
               h->bss_end_addr);
        return -EINVAL;
    }
    p->seg[0] =
        (struct load_seg){h->load_addr, file_off, load_end - h->load_addr, bss_end - h->load_addr};
    p->nseg = 1;
    p->entry = h->entry_addr;
    return 0;
}

static int plan_elf(const char *vm, const uint8_t *img, size_t len, struct load_plan *p)
{
    bool is64;
    uint64_t phoff;
    uint16_t phentsize;
    uint16_t phnum;
    uint64_t entry;

    if (len < 52 || img[0] != 0x7F || img[1] != 'E' || img[2] != 'L' || img[3] != 'F') {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: no address fields and not an ELF file");
        return -EINVAL;
    }
    if ((img[4] != 1 && img[4] != 2) || img[5] != 1) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: ELF is not little-endian 32- or 64-bit");
        return -EINVAL;
    }
    is64 = img[4] == 2;
    if (is64 && len < 64) {
        return -EINVAL;
    }
    entry = is64 ? rd64(img + 24) : rd32(img + 24);
    phoff = is64 ? rd64(img + 32) : rd32(img + 28);
    phentsize = rd16(img + (is64 ? 54 : 42));
    phnum = rd16(img + (is64 ? 56 : 44));
    if (phentsize < (is64 ? 56 : 32) || phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: ELF program headers beyond the image");
        return -EINVAL;
    }
    p->nseg = 0;
    p->entry = entry;
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        uint64_t off, vaddr, paddr, filesz, memsz;

        if (rd32(ph) != ELF_PT_LOAD) {
            continue;
        }
        if (is64) {
            off = rd64(ph + 8);
            vaddr = rd64(ph + 16);
            paddr = rd64(ph + 24);
            filesz = rd64(ph + 32);
            memsz = rd64(ph + 40);
        } else {
            off = rd32(ph + 4);
            vaddr = rd32(ph + 8);
            paddr = rd32(ph + 12);
            filesz = rd32(ph + 16);
            memsz = rd32(ph + 20);
        }
        if (off > len || filesz > len - off || memsz < filesz) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: ELF segment %u beyond the image", i);
            return -EINVAL;
        }
        if (p->nseg >= LOAD_SEGS_MAX) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: more than %d ELF segments", LOAD_SEGS_MAX);
            return -EINVAL;
        }
        p->seg[p->nseg++] = (struct load_seg){paddr, off, filesz, memsz};
        /* The entry point is virtual; the CPU starts with paging off. */
        if (entry >= vaddr && entry - vaddr < memsz) {
            p->entry = entry - vaddr + paddr;
        }
    }
    if (p->nseg == 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm, "multiboot: ELF without loadable segments");
        return -EINVAL;
    }
    return 0;
}

static int check_plan(struct vmm_vm *vm, const struct load_plan *p)
{
    for (size_t i = 0; i < p->nseg; i++) {
        const struct load_seg *s = &p->seg[i];

        if (s->memsz == 0) {
            continue;
        }
        if (!gmem_range_ok(&vm->mem, s->gpa, s->memsz)) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm->name,
                   "image segment %#llx+%#llx is not inside guest RAM (%llu MiB)",
                   (unsigned long long)s->gpa, (unsigned long long)s->memsz,
                   (unsigned long long)(vm->mem.size >> 20));
            return -EINVAL;
        }
        if (s->gpa < VMM_BOOT_DATA_END && s->gpa + s->memsz > VMM_BOOT_DATA_START - PAGE_SIZE) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm->name,
                   "image segment %#llx+%#llx overlaps the boot stack and data at %#x-%#x",
                   (unsigned long long)s->gpa, (unsigned long long)s->memsz,
                   VMM_BOOT_DATA_START - (unsigned)PAGE_SIZE, VMM_BOOT_DATA_END - 1);
            return -EINVAL;
        }
    }
    if (p->entry > 0xFFFFFFFFull || !gmem_is_ram(&vm->mem, p->entry)) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "entry point %#llx is not in guest RAM below 4 GiB",
               (unsigned long long)p->entry);
        return -EINVAL;
    }
    return 0;
}

static int copy_plan(struct vmm_vm *vm, const uint8_t *img, const struct load_plan *p)
{
    for (size_t i = 0; i < p->nseg; i++) {
        const struct load_seg *s = &p->seg[i];
        int rc = gmem_write(&vm->mem, s->gpa, img + s->file_off, (size_t)s->filesz);

        if (rc == 0) {
            rc = gmem_fill(&vm->mem, s->gpa + s->filesz, 0, (size_t)(s->memsz - s->filesz));
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The multiboot information, memory map, loader name and command line. */
static int write_boot_data(struct vmm_vm *vm)
{
    struct vmm_e820_entry e820[E820_MAX];
    struct mb1_mmap_entry mm[E820_MAX];
    struct mb1_info mbi;
    static const char loader[] = "Petrel";
    char cmdline[VMM_NAME_MAX + 1 + VMM_CMDLINE_MAX];
    int n = vmm_e820_build(vm->mem.size, e820, E820_MAX);
    size_t clen;
    int rc;

    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n; i++) {
        mm[i] = (struct mb1_mmap_entry){20, e820[i].addr, e820[i].len, e820[i].type};
    }
    /* Like QEMU's -kernel: the image's name, then its arguments. */
    clen = (size_t)snprintf(cmdline, sizeof(cmdline), "%s%s%s", vm->name,
                            vm->cfg.cmdline[0] != '\0' ? " " : "", vm->cfg.cmdline);
    clen = MIN(clen, sizeof(cmdline) - 1);
    memset(&mbi, 0, sizeof(mbi));
    mbi.flags = MB1_IF_MEM | MB1_IF_CMDLINE | MB1_IF_MMAP | MB1_IF_LOADER;
    mbi.mem_lower = (uint32_t)(E820_LOW_END / 1024);
    mbi.mem_upper = (uint32_t)((vm->mem.size - E820_HIGH_START) / 1024);
    mbi.cmdline = VMM_BOOT_CMDLINE_GPA;
    mbi.mmap_addr = VMM_BOOT_MMAP_GPA;
    mbi.mmap_length = (uint32_t)((size_t)n * sizeof(mm[0]));
    mbi.boot_loader_name = VMM_BOOT_LOADER_GPA;
    rc = gmem_write(&vm->mem, VMM_BOOT_MBI_GPA, &mbi, sizeof(mbi));
    if (rc == 0) {
        rc = gmem_write(&vm->mem, VMM_BOOT_MMAP_GPA, mm, (size_t)n * sizeof(mm[0]));
    }
    if (rc == 0) {
        rc = gmem_write(&vm->mem, VMM_BOOT_LOADER_GPA, loader, sizeof(loader));
    }
    if (rc == 0) {
        rc = gmem_write(&vm->mem, VMM_BOOT_CMDLINE_GPA, cmdline, clen + 1);
    }
    return rc;
}

_Static_assert(VMM_BOOT_CMDLINE_GPA + VMM_NAME_MAX + 1 + VMM_CMDLINE_MAX <= VMM_BOOT_DATA_END,
               "the command line fits the boot data area");

int vmm_load_image(struct vmm_vm *vm)
{
    const uint8_t *img = vm->cfg.image;
    size_t len = vm->cfg.image_len;
    struct load_plan plan;
    struct mb1_header hdr;
    bool multiboot = false;
    int rc;

    /* A Linux bzImage has a loader of its own (linux.c); an initrd is for it alone. */
    if (vm->cfg.kind != VMM_IMAGE_FLAT && vmm_linux_is_bzimage(img, len)) {
        return vmm_linux_load(vm);
    }
    if (vm->cfg.initrd != NULL) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "an initrd needs a Linux bzImage kernel");
        return -EINVAL;
    }
    memset(&plan, 0, sizeof(plan));
    if (vm->cfg.kind == VMM_IMAGE_FLAT) {
        plan.seg[0] = (struct load_seg){vm->cfg.flat_addr, 0, len, len};
        plan.nseg = 1;
        plan.entry = vm->cfg.flat_addr;
    } else {
        rc = vmm_mb1_find(img, len, &hdr);
        if (rc < 0) {
            LOG_VM(VMM, LOG_LVL_ERROR, vm->name,
                   "image of %zu bytes: no multiboot header in its first 8 KiB", len);
            return -EINVAL;
        }
        if (hdr.flags & MB1_HF_VIDEO) {
            LOG_VM(VMM, LOG_LVL_WARN, vm->name, "multiboot: video mode request ignored");
        }
        rc = (hdr.flags & MB1_HF_AOUT) ? plan_aout(vm->name, &hdr, (size_t)rc, len, &plan)
                                       : plan_elf(vm->name, img, len, &plan);
        if (rc != 0) {
            return rc;
        }
        multiboot = true;
    }
    rc = check_plan(vm, &plan);
    if (rc == 0) {
        rc = copy_plan(vm, img, &plan);
    }
    if (rc == 0) {
        rc = write_boot_data(vm);
    }
    if (rc != 0) {
        return rc;
    }
    vmm_vcpu_set_pm32(vm->vcpu, (uint32_t)plan.entry, multiboot ? MB1_BOOT_MAGIC : 0,
                      VMM_BOOT_MBI_GPA);
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "loaded %s image: %zu segments, entry %#llx",
           multiboot ? "multiboot" : "flat", plan.nseg, (unsigned long long)plan.entry);
    return 0;
}
