/* Unit tests for the guest loaders: multiboot (v1) images with address fields and as ELF32,
 * flat binaries, the boot data (multiboot information, memory map, command line) and the
 * entry state, and refusal of malformed images. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm_fake.h"
#include "../../vmm/e820.h"
#include "../../vmm/loader.h"

static uint8_t g_img[16384];

static int setup(void **state)
{
    (void)state;
    fake_vmm_init();
    memset(g_img, 0, sizeof(g_img));
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* A multiboot header with address fields at offset off: the image loads at load_addr. */
static void aout_header(size_t off, uint32_t load_addr, uint32_t load_end, uint32_t bss_end,
                        uint32_t entry)
{
    uint32_t flags = MB1_HF_AOUT | MB1_HF_MEMINFO;

    put32(g_img + off, MB1_HEADER_MAGIC);
    put32(g_img + off + 4, flags);
    put32(g_img + off + 8, (uint32_t) - (MB1_HEADER_MAGIC + flags));
    put32(g_img + off + 12, load_addr + (uint32_t)off); /* header_addr */
    put32(g_img + off + 16, load_addr);
    put32(g_img + off + 20, load_end);
    put32(g_img + off + 24, bss_end);
    put32(g_img + off + 28, entry);
}

static struct vmm_vm *make_vm(const void *img, size_t len, enum vmm_image_kind kind,
                              uint64_t flat_addr, const char *cmdline, int *rc)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm = NULL;

    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, "ldr");
    cfg.mem_bytes = MiB(8);
    cfg.image = img;
    cfg.image_len = len;
    cfg.kind = kind;
    cfg.flat_addr = flat_addr;
    strcpy(cfg.cmdline, cmdline);
    *rc = vmm_vm_create(&cfg, &vm);
    return vm;
}

static void destroy(struct vmm_vm *vm)
{
    assert_int_equal(vmm_vm_destroy(vm), 0);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

static void test_find_header(void **state)
{
    struct mb1_header h;

    (void)state;
    assert_int_equal(vmm_mb1_find(g_img, sizeof(g_img), &h), -ENOENT);
    aout_header(64, 0x100000, 0, 0, 0x100000);
    assert_int_equal(vmm_mb1_find(g_img, sizeof(g_img), &h), 64);
    assert_int_equal(h.load_addr, 0x100000);
    /* A bad checksum is not a header. */
    put32(g_img + 72, 0);
    assert_int_equal(vmm_mb1_find(g_img, sizeof(g_img), &h), -ENOENT);
    /* Beyond 8 KiB it is not looked for. */
    memset(g_img, 0, sizeof(g_img));
    aout_header(8192, 0x100000, 0, 0, 0x100000);
    assert_int_equal(vmm_mb1_find(g_img, sizeof(g_img), &h), -ENOENT);
    /* A header cut off by the end of the image. */
    memset(g_img, 0, sizeof(g_img));
    aout_header(64, 0x100000, 0, 0, 0x100000);
    assert_int_equal(vmm_mb1_find(g_img, 80, &h), -EINVAL);
}

static void test_aout_load_and_entry(void **state)
{
    struct vmm_vm *vm;
    struct mb1_info mbi;
    struct mb1_mmap_entry mm[4];
    uint8_t back[64];
    char cmd[64];
    uint8_t bss[32];
    int rc;

    (void)state;
    aout_header(0, 0x200000, 0x200000 + 4096, 0x200000 + 8192, 0x200020);
    memset(g_img + 32, 0xC3, 64);
    vm = make_vm(g_img, 4096, VMM_IMAGE_AUTO, 0, "console=ttyS0 x=1", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(vm);
    assert_int_equal(vmm_guest_read(vm, 0x200020, back, 64), 0);
    assert_memory_equal(back, g_img + 32, 64);
    /* The bss is zero. */
    memset(bss, 1, sizeof(bss));
    assert_int_equal(vmm_guest_read(vm, 0x200000 + 8192 - 32, bss, 32), 0);
    for (size_t i = 0; i < sizeof(bss); i++) {
        assert_int_equal(bss[i], 0);
    }
    /* Entry state: 32-bit protected mode, paging off, the multiboot registers. */
    assert_int_equal(vm->vcpu->regs.rip, 0x200020);
    assert_int_equal(vm->vcpu->regs.gpr[VMM_RAX], MB1_BOOT_MAGIC);
    assert_int_equal(vm->vcpu->regs.gpr[VMM_RBX], VMM_BOOT_MBI_GPA);
    assert_int_equal(vm->vcpu->regs.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert_true(vm->vcpu->regs.seg[VMM_CS].attrib & SEG_ATTR_DB);
    assert_int_equal(vm->vcpu->regs.seg[VMM_CS].limit, 0xFFFFFFFF);
    assert_false(vm->vcpu->regs.rflags & VMM_RFLAGS_IF);
    assert_true(vm->vcpu->regs.efer & EFER_SVME);
    /* The multiboot information. */
    assert_int_equal(vmm_guest_read(vm, VMM_BOOT_MBI_GPA, &mbi, sizeof(mbi)), 0);
    assert_true(mbi.flags & MB1_IF_MEM);
    assert_true(mbi.flags & MB1_IF_MMAP);
    assert_true(mbi.flags & MB1_IF_CMDLINE);
    assert_int_equal(mbi.mem_lower, 639);
    assert_int_equal(mbi.mem_upper, (MiB(8) - MiB(1)) / 1024);
    assert_int_equal(mbi.mmap_length, 4 * sizeof(struct mb1_mmap_entry));
    assert_int_equal(vmm_guest_read(vm, mbi.mmap_addr, mm, sizeof(mm)), 0);
    assert_int_equal(mm[0].size, 20);
    assert_int_equal(mm[0].type, E820_RAM);
    assert_int_equal(mm[3].addr, 0x100000);
    assert_int_equal(mm[3].addr + mm[3].len, MiB(8));
    assert_int_equal(vmm_guest_read(vm, mbi.cmdline, cmd, sizeof(cmd)), 0);
    assert_string_equal(cmd, "ldr console=ttyS0 x=1");
    destroy(vm);
}

static void test_aout_bad(void **state)
{
    struct vmm_vm *vm;
    int rc;

    (void)state;
    /* load_end beyond the file. */
    aout_header(0, 0x200000, 0x200000 + 8192, 0, 0x200000);
    vm = make_vm(g_img, 4096, VMM_IMAGE_MULTIBOOT, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    assert_null(vm);
    /* bss_end below load_end. */
    aout_header(0, 0x200000, 0x200000 + 100, 0x200000 + 50, 0x200000);
    vm = make_vm(g_img, 4096, VMM_IMAGE_MULTIBOOT, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    /* Outside guest RAM (8 MiB). */
    aout_header(0, 0x7FF000, 0, 0x801000, 0x7FF000);
    vm = make_vm(g_img, 4096, VMM_IMAGE_MULTIBOOT, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    /* Over the boot data. */
    aout_header(0, 0x8000, 0, 0, 0x8000);
    vm = make_vm(g_img, 4096, VMM_IMAGE_MULTIBOOT, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    /* Entry outside RAM. */
    aout_header(0, 0x200000, 0, 0, 0x40000000);
    vm = make_vm(g_img, 4096, VMM_IMAGE_MULTIBOOT, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    /* No header at all. */
    memset(g_img, 0, sizeof(g_img));
    vm = make_vm(g_img, 4096, VMM_IMAGE_AUTO, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

/* An ELF32 executable with one PT_LOAD (vaddr 0xC0300000, paddr 0x300000) and a multiboot
 * header without address fields. */
static size_t build_elf(void)
{
    uint32_t flags = MB1_HF_MEMINFO;
    uint8_t *ph = g_img + 52;

    memset(g_img, 0, sizeof(g_img));
    memcpy(g_img,
           "\x7f"
           "ELF",
           4);
    g_img[4] = 1; /* 32-bit */
    g_img[5] = 1; /* little endian */
    g_img[6] = 1;
    put16(g_img + 16, 2);          /* ET_EXEC */
    put16(g_img + 18, 3);          /* EM_386 */
    put32(g_img + 24, 0xC0300010); /* e_entry (virtual) */
    put32(g_img + 28, 52);         /* e_phoff */
    put16(g_img + 42, 32);         /* e_phentsize */
    put16(g_img + 44, 1);          /* e_phnum */
    put32(ph, 1);                  /* PT_LOAD */
    put32(ph + 4, 0x1000);         /* p_offset */
    put32(ph + 8, 0xC0300000);     /* p_vaddr */
    put32(ph + 12, 0x300000);      /* p_paddr */
    put32(ph + 16, 0x100);         /* p_filesz */
    put32(ph + 20, 0x2000);        /* p_memsz */
    put32(g_img + 0x200, MB1_HEADER_MAGIC);
    put32(g_img + 0x204, flags);
    put32(g_img + 0x208, (uint32_t) - (MB1_HEADER_MAGIC + flags));
    memset(g_img + 0x1000, 0x90, 0x100);
    return 0x1100;
}

static void test_elf(void **state)
{
    struct vmm_vm *vm;
    uint8_t b[2];
    int rc;
    size_t len = build_elf();

    (void)state;
    vm = make_vm(g_img, len, VMM_IMAGE_AUTO, 0, "", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(vm->vcpu->regs.rip, 0x300010); /* entry translated to physical */
    assert_int_equal(vmm_guest_read(vm, 0x3000FF, b, 2), 0);
    assert_int_equal(b[0], 0x90);
    assert_int_equal(b[1], 0); /* memsz beyond filesz is zero */
    destroy(vm);
    /* A segment that claims more file than there is. */
    put32(g_img + 52 + 16, 0x10000);
    vm = make_vm(g_img, len, VMM_IMAGE_AUTO, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
    /* Program headers beyond the file. */
    len = build_elf();
    put16(g_img + 44, 1000);
    vm = make_vm(g_img, len, VMM_IMAGE_AUTO, 0, "", &rc);
    assert_int_equal(rc, -EINVAL);
}

static void test_flat(void **state)
{
    struct vmm_vm *vm;
    uint8_t back[3];
    int rc;

    (void)state;
    memcpy(g_img, "\xF4\xEB\xFD", 3);
    vm = make_vm(g_img, 3, VMM_IMAGE_FLAT, 0x400000, "", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(vm->vcpu->regs.rip, 0x400000);
    assert_int_equal(vm->vcpu->regs.gpr[VMM_RAX], 0);
    assert_int_equal(vmm_guest_read(vm, 0x400000, back, 3), 0);
    assert_memory_equal(back, g_img, 3);
    destroy(vm);
    vm = make_vm(g_img, 3, VMM_IMAGE_FLAT, MiB(8) - 2, "", &rc);
    assert_int_equal(rc, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_find_header, setup),
        cmocka_unit_test_setup(test_aout_load_and_entry, setup),
        cmocka_unit_test_setup(test_aout_bad, setup),
        cmocka_unit_test_setup(test_elf, setup),
        cmocka_unit_test_setup(test_flat, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
