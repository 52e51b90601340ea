/* Unit tests for the Linux boot protocol loader (vmm/linux.c) with synthetic bzImages: header
 * checks, placement of kernel and initrd, boot_params (setup header, loader fields, e820,
 * command line, RSDP), the GDT and the 32-bit entry state, a reset reloading it all, and the
 * devices the loader adds: the ACPI PM registers (poweroff through PM1a_CNT, the PM timer)
 * and pvpanic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm_fake.h"
#include "../../vmm/acpi.h"
#include "../../vmm/e820.h"
#include "../../vmm/linux.h"
#include "../../vmm/platform.h"

#define SETUP_SECTS  4
#define SETUP_LEN    ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_LEN  (64 * 1024)
#define IMG_LEN      (SETUP_LEN + PAYLOAD_LEN)
#define INIT_SIZE    0x800000u /* 8 MiB */
#define PREF_ADDRESS 0x1000000u

static uint8_t g_img[IMG_LEN];
static uint8_t g_initrd[3 * 4096 + 123];

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

/* A bzImage as a 2.15 kernel builds it (the fields the loader reads), payload 0x5A.. */
static void make_bzimage(void)
{
    memset(g_img, 0, sizeof(g_img));
    g_img[LINUX_HDR_SETUP_SECTS] = SETUP_SECTS;
    put16(g_img + LINUX_HDR_BOOT_FLAG, LINUX_BOOT_FLAG);
    g_img[LINUX_HDR_JUMP] = 0xEB;
    g_img[LINUX_HDR_JUMP + 1] = 0x6A; /* header up to 0x26C */
    put32(g_img + LINUX_HDR_MAGIC, LINUX_HDRS_MAGIC);
    put16(g_img + LINUX_HDR_VERSION, 0x020F);
    g_img[LINUX_HDR_LOADFLAGS] = LINUX_LOADED_HIGH | 0x80; /* CAN_USE_HEAP: cleared */
    put32(g_img + LINUX_HDR_CODE32_START, LINUX_KERNEL_GPA);
    put32(g_img + LINUX_HDR_INITRD_MAX, 0x7FFFFFFF);
    put32(g_img + LINUX_HDR_KERNEL_ALIGN, 0x200000);
    g_img[LINUX_HDR_RELOCATABLE] = 1;
    put16(g_img + LINUX_HDR_XLOADFLAGS, LINUX_XLF_KERNEL_64);
    put32(g_img + LINUX_HDR_CMDLINE_SIZE, 2047);
    put64(g_img + LINUX_HDR_PREF_ADDRESS, PREF_ADDRESS);
    put32(g_img + LINUX_HDR_INIT_SIZE, INIT_SIZE);
    g_img[0x268] = 0x77; /* kernel_info_offset: inside the header, copied as is */
    for (size_t i = 0; i < PAYLOAD_LEN; i++) {
        g_img[SETUP_LEN + i] = (uint8_t)(0x5A + i * 7);
    }
}

static int setup(void **state)
{
    (void)state;
    fake_vmm_init();
    make_bzimage();
    for (size_t i = 0; i < sizeof(g_initrd); i++) {
        g_initrd[i] = (uint8_t)(i * 13 + 1);
    }
    return 0;
}

static struct vmm_vm *make_vm(uint64_t mem, const void *initrd, size_t initrd_len,
                              const char *cmdline, int *rc)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm = NULL;

    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, "lnx");
    cfg.mem_bytes = mem;
    cfg.image = g_img;
    cfg.image_len = sizeof(g_img);
    cfg.initrd = initrd;
    cfg.initrd_len = initrd_len;
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

static int create_rc(uint64_t mem)
{
    int rc;
    struct vmm_vm *vm = make_vm(mem, g_initrd, sizeof(g_initrd), "", &rc);

    if (vm != NULL) {
        destroy(vm);
    }
    return rc;
}

static void test_signature(void **state)
{
    (void)state;
    assert_true(vmm_linux_is_bzimage(g_img, sizeof(g_img)));
    assert_false(vmm_linux_is_bzimage(g_img, 0x205));
    assert_false(vmm_linux_is_bzimage(NULL, 0));
    g_img[LINUX_HDR_MAGIC] = 'h';
    assert_false(vmm_linux_is_bzimage(g_img, sizeof(g_img)));
}

static void test_parse_fields(void **state)
{
    struct vmm_linux_info k;

    (void)state;
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), 0);
    assert_int_equal(k.version, 0x020F);
    assert_int_equal(k.setup_sects, SETUP_SECTS);
    assert_int_equal(k.kernel_off, SETUP_LEN);
    assert_int_equal(k.kernel_len, PAYLOAD_LEN);
    assert_int_equal(k.hdr_end, 0x26C);
    assert_true(k.relocatable);
    assert_int_equal(k.init_size, INIT_SIZE);
    assert_int_equal(k.pref_address, PREF_ADDRESS);
    assert_int_equal(k.cmdline_size, 2047);
    /* setup_sects 0 means 4 */
    g_img[LINUX_HDR_SETUP_SECTS] = 0;
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), 0);
    assert_int_equal(k.setup_sects, 4);
}

/* Each broken field is refused on its own. */
static void test_parse_refusals(void **state)
{
    struct vmm_linux_info k;

    (void)state;
    put16(g_img + LINUX_HDR_BOOT_FLAG, 0x1234);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    put16(g_img + LINUX_HDR_VERSION, 0x0209);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    g_img[LINUX_HDR_JUMP + 1] = 0x10; /* header shorter than 2.10's */
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    g_img[LINUX_HDR_SETUP_SECTS] = 200; /* setup beyond the image */
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    g_img[LINUX_HDR_LOADFLAGS] = 0; /* zImage */
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    put32(g_img + LINUX_HDR_CODE32_START, 0x200000);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    put32(g_img + LINUX_HDR_INIT_SIZE, 0);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    put32(g_img + LINUX_HDR_KERNEL_ALIGN, 0x300000);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    put64(g_img + LINUX_HDR_PREF_ADDRESS, 0x1000);
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), -EINVAL);
    make_bzimage();
    assert_int_equal(vmm_linux_parse("t", g_img, 0x250, &k), -EINVAL);     /* truncated header */
    assert_int_equal(vmm_linux_parse("t", g_img, SETUP_LEN, &k), -EINVAL); /* no payload */
}

static void test_plan(void **state)
{
    struct vmm_linux_info k;
    struct vmm_linux_layout l;

    (void)state;
    assert_int_equal(vmm_linux_parse("t", g_img, sizeof(g_img), &k), 0);
    /* The kernel runs at pref_address (16 MiB) and needs 8 MiB there. */
    assert_int_equal(vmm_linux_plan("t", &k, MiB(32), 0, &l), 0);
    assert_int_equal(l.kernel, LINUX_KERNEL_GPA);
    assert_int_equal(l.kernel_end, LINUX_KERNEL_GPA + PAYLOAD_LEN);
    assert_int_equal(l.run_start, PREF_ADDRESS);
    assert_int_equal(l.run_end, PREF_ADDRESS + INIT_SIZE);
    assert_int_equal(l.initrd, 0);
    assert_int_equal(vmm_linux_plan("t", &k, MiB(24), 0, &l), 0);
    assert_int_equal(vmm_linux_plan("t", &k, MiB(22), 0, &l), -ENOMEM);
    /* The initrd goes to the top, page aligned, above the running kernel. */
    assert_int_equal(vmm_linux_plan("t", &k, MiB(32), 10000, &l), 0);
    assert_int_equal(l.initrd, ALIGN_DOWN(MiB(32) - 10000, 4096));
    assert_int_equal(l.initrd_end, l.initrd + 10000);
    assert_int_equal(vmm_linux_plan("t", &k, MiB(32), MiB(8), &l), 0);
    assert_int_equal(l.initrd, MiB(24));
    assert_int_equal(vmm_linux_plan("t", &k, MiB(32), MiB(8) + 1, &l), -ENOMEM);
    assert_int_equal(vmm_linux_plan("t", &k, MiB(32), MiB(64), &l), -ENOMEM);
    /* initrd_addr_max below the top of RAM: the initrd ends at or below it. */
    k.initrd_addr_max = MiB(28) - 1;
    assert_int_equal(vmm_linux_plan("t", &k, MiB(64), 4096, &l), 0);
    assert_int_equal(l.initrd_end, MiB(28));
}

static void test_load(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(64), g_initrd, sizeof(g_initrd), "console=ttyS0 quiet", &rc);
    struct vmm_e820_entry e820[E820_MAX];
    uint8_t bp[LINUX_BP_SIZE];
    uint8_t buf[PAYLOAD_LEN];
    char cmd[128];
    uint64_t gdt[4];
    uint32_t rd_at;
    struct vmm_regs *r;
    int n;

    (void)state;
    assert_int_equal(rc, 0);
    assert_non_null(vm);
    /* The protected-mode kernel at 1 MiB. */
    assert_int_equal(gmem_read(&vm->mem, LINUX_KERNEL_GPA, buf, PAYLOAD_LEN), 0);
    assert_memory_equal(buf, g_img + SETUP_LEN, PAYLOAD_LEN);
    /* boot_params */
    assert_int_equal(gmem_read(&vm->mem, LINUX_BP_GPA, bp, sizeof(bp)), 0);
    assert_int_equal(get32(bp + LINUX_HDR_MAGIC), LINUX_HDRS_MAGIC);
    assert_int_equal(get16(bp + LINUX_HDR_VERSION), 0x020F);
    assert_int_equal(bp[0x268], 0x77);
    assert_int_equal(bp[LINUX_BP_SENTINEL], 0);
    assert_int_equal(bp[LINUX_HDR_TYPE_OF_LOADER], 0xFF);
    assert_int_equal(bp[LINUX_HDR_LOADFLAGS], LINUX_LOADED_HIGH);
    assert_int_equal(get16(bp + LINUX_HDR_VID_MODE), 0xFFFF);
    assert_int_equal(get32(bp + LINUX_HDR_SUBARCH), 0);
    assert_int_equal(get32(bp + LINUX_HDR_CMD_LINE_PTR), LINUX_CMDLINE_GPA);
    rd_at = get32(bp + LINUX_HDR_RAMDISK_IMAGE);
    assert_int_equal(rd_at, ALIGN_DOWN(MiB(64) - sizeof(g_initrd), 4096));
    assert_int_equal(get32(bp + LINUX_HDR_RAMDISK_SIZE), sizeof(g_initrd));
    assert_int_equal(get64(bp + LINUX_BP_ACPI_RSDP), VMM_ACPI_RSDP_GPA);
    n = vmm_e820_build(vm->mem.size, e820, E820_MAX);
    assert_true(n > 0);
    assert_int_equal(bp[LINUX_BP_E820_ENTRIES], n);
    for (int i = 0; i < n; i++) {
        const uint8_t *e = bp + LINUX_BP_E820_TABLE + i * 20;

        assert_int_equal(get64(e), e820[i].addr);
        assert_int_equal(get64(e + 8), e820[i].len);
        assert_int_equal(get32(e + 16), e820[i].type);
    }
    /* The initrd's bytes and the command line (with the TSC rate of the 1 GHz fake host). */
    assert_int_equal(gmem_read(&vm->mem, rd_at, buf, sizeof(g_initrd)), 0);
    assert_memory_equal(buf, g_initrd, sizeof(g_initrd));
    assert_int_equal(gmem_read(&vm->mem, LINUX_CMDLINE_GPA, cmd, sizeof(cmd)), 0);
    assert_string_equal(cmd, "console=ttyS0 quiet tsc_early_khz=1000000");
    /* The GDT and the 32-bit entry state of the protocol. */
    assert_int_equal(gmem_read(&vm->mem, LINUX_GDT_GPA, gdt, sizeof(gdt)), 0);
    assert_int_equal(gdt[2], 0x00CF9B000000FFFFull);
    assert_int_equal(gdt[3], 0x00CF93000000FFFFull);
    assert_int_equal(vm->vcpu->vmcb->save.gdtr.base, LINUX_GDT_GPA);
    assert_int_equal(vm->vcpu->vmcb->save.gdtr.limit, 31);
    r = &vm->vcpu->regs;
    assert_int_equal(r->rip, LINUX_KERNEL_GPA);
    assert_int_equal(r->gpr[VMM_RSI], LINUX_BP_GPA);
    assert_int_equal(r->gpr[VMM_RBX], 0);
    assert_int_equal(r->gpr[VMM_RBP], 0);
    assert_int_equal(r->gpr[VMM_RDI], 0);
    assert_int_equal(r->seg[VMM_CS].selector, LINUX_BOOT_CS);
    assert_int_equal(r->seg[VMM_DS].selector, LINUX_BOOT_DS);
    assert_int_equal(r->seg[VMM_ES].selector, LINUX_BOOT_DS);
    assert_int_equal(r->seg[VMM_SS].selector, LINUX_BOOT_DS);
    assert_int_equal(r->seg[VMM_CS].limit, 0xFFFFFFFF);
    assert_int_equal(r->seg[VMM_CS].base, 0);
    assert_true(r->cr0 & CR0_PE);
    assert_false(r->cr0 & CR0_PG);
    assert_false(r->rflags & VMM_RFLAGS_IF);
    /* The ACPI tables are in place. */
    assert_int_equal(gmem_read(&vm->mem, VMM_ACPI_RSDP_GPA, buf, 8), 0);
    assert_memory_equal(buf, "RSD PTR ", 8);
    destroy(vm);
}

static void test_default_cmdline_and_no_initrd(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(32), NULL, 0, "", &rc);
    uint8_t bp[LINUX_BP_SIZE];
    char cmd[64];

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(gmem_read(&vm->mem, LINUX_BP_GPA, bp, sizeof(bp)), 0);
    assert_int_equal(get32(bp + LINUX_HDR_RAMDISK_IMAGE), 0);
    assert_int_equal(get32(bp + LINUX_HDR_RAMDISK_SIZE), 0);
    assert_int_equal(gmem_read(&vm->mem, LINUX_CMDLINE_GPA, cmd, sizeof(cmd)), 0);
    assert_string_equal(cmd, LINUX_DEFAULT_CMDLINE " tsc_early_khz=1000000");
    destroy(vm);
    /* A given tsc_early_khz= is left alone. */
    vm = make_vm(MiB(32), NULL, 0, "tsc_early_khz=123 console=ttyS0", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(gmem_read(&vm->mem, LINUX_CMDLINE_GPA, cmd, sizeof(cmd)), 0);
    assert_string_equal(cmd, "tsc_early_khz=123 console=ttyS0");
    destroy(vm);
}

static void test_refusals_at_create(void **state)
{
    int rc;
    struct vmm_vm *vm;

    (void)state;
    /* Too little RAM for kernel + init_size + initrd. */
    assert_int_equal(create_rc(MiB(24)), -ENOMEM);
    assert_int_equal(create_rc(MiB(26)), 0);
    /* A command line longer than the kernel takes. */
    put32(g_img + LINUX_HDR_CMDLINE_SIZE, 8);
    vm = make_vm(MiB(32), NULL, 0, "console=ttyS0", &rc);
    assert_null(vm);
    assert_int_equal(rc, -EINVAL);
    make_bzimage();
    /* A broken header fails the create, with nothing leaked. */
    put16(g_img + LINUX_HDR_VERSION, 0x0200);
    vm = make_vm(MiB(32), NULL, 0, "", &rc);
    assert_null(vm);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
}

/* An initrd with a kernel that is not a bzImage is an error, not silently dropped. */
static void test_initrd_needs_linux(void **state)
{
    int rc;
    struct vmm_vm *vm;

    (void)state;
    g_img[LINUX_HDR_MAGIC] = 0;
    vm = make_vm(MiB(32), g_initrd, sizeof(g_initrd), "", &rc);
    assert_null(vm);
    assert_int_equal(rc, -EINVAL);
}

/* A reset clears RAM and loads everything again; the PM device is not added twice. */
static void test_reset_reloads(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(32), g_initrd, sizeof(g_initrd), "x", &rc);
    size_t ndevs;
    uint8_t b[8];
    uint8_t junk[16] = {0};

    (void)state;
    assert_int_equal(rc, 0);
    ndevs = vm->ndevs;
    assert_int_equal(gmem_write(&vm->mem, VMM_ACPI_RSDP_GPA, junk, sizeof(junk)), 0);
    vm->vcpu->regs.rip = 0x1234;
    assert_int_equal(vmm_vm_reset_now(vm), 0);
    assert_int_equal(vm->ndevs, ndevs);
    assert_int_equal(vm->vcpu->regs.rip, LINUX_KERNEL_GPA);
    assert_int_equal(gmem_read(&vm->mem, VMM_ACPI_RSDP_GPA, b, sizeof(b)), 0);
    assert_memory_equal(b, "RSD PTR ", 8);
    assert_int_equal(gmem_read(&vm->mem, LINUX_KERNEL_GPA, b, sizeof(b)), 0);
    assert_memory_equal(b, g_img + SETUP_LEN, sizeof(b));
    destroy(vm);
}

static uint32_t pm_in(struct vmm_vm *vm, uint16_t port, unsigned size)
{
    uint32_t v = 0;

    assert_int_equal(vmm_io_access(vm, port, size, false, &v), 0);
    return v;
}

static void pm_out(struct vmm_vm *vm, uint16_t port, unsigned size, uint32_t v)
{
    assert_int_equal(vmm_io_access(vm, port, size, true, &v), 0);
}

static void test_pm_registers(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(32), NULL, 0, "", &rc);
    uint32_t t0;
    uint32_t t1;

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(vmm_vm_start(vm), 0);
    /* SCI_EN reads set: always in ACPI mode. */
    assert_int_equal(pm_in(vm, VMM_ACPI_PM1A_CNT, 2) & 1, 1);
    /* The PM timer counts 3.579545 MHz of host time, read whole or by byte. */
    g_fake.now = 1000000000ull;
    t0 = pm_in(vm, VMM_ACPI_PM_TMR, 4);
    assert_int_equal(t0, VMM_ACPI_PM_TMR_HZ);
    g_fake.now += 1000000; /* 1 ms */
    t1 = pm_in(vm, VMM_ACPI_PM_TMR, 4);
    assert_int_equal(t1 - t0, 3579);
    assert_int_equal(pm_in(vm, VMM_ACPI_PM_TMR, 1), t1 & 0xFF);
    /* Enable bits stick (masked), status is write-one-to-clear and starts clear. */
    pm_out(vm, VMM_ACPI_PM1A_EVT + 2, 2, 0xFFFF);
    assert_int_equal(pm_in(vm, VMM_ACPI_PM1A_EVT + 2, 2), 0x0721);
    assert_int_equal(pm_in(vm, VMM_ACPI_PM1A_EVT, 2), 0);
    /* A sleep type other than S5 is ignored; S5 with SLP_EN ends the VM with code 0. */
    pm_out(vm, VMM_ACPI_PM1A_CNT, 2, (3u << 10) | (1u << 13));
    assert_int_equal(vm->state, VMM_VM_RUNNING);
    pm_out(vm, VMM_ACPI_PM1A_CNT, 2, VMM_ACPI_S5_TYP << 10);
    assert_int_equal(vm->state, VMM_VM_RUNNING);
    pm_out(vm, VMM_ACPI_PM1A_CNT, 2, (VMM_ACPI_S5_TYP << 10) | (1u << 13));
    assert_int_equal(vm->state, VMM_VM_EXITED);
    assert_int_equal(vm->exit_code, 0);
    assert_true(log_count_with("ACPI poweroff") > 0);
    destroy(vm);
}

/* The same poweroff written a byte at a time (low byte, then the high one with SLP_EN). */
static void test_pm_poweroff_bytewise(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(32), NULL, 0, "", &rc);
    uint16_t v = (uint16_t)((VMM_ACPI_S5_TYP << 10) | (1u << 13) | 1u);

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(vmm_vm_start(vm), 0);
    pm_out(vm, VMM_ACPI_PM1A_CNT, 1, v & 0xFF);
    assert_int_equal(vm->state, VMM_VM_RUNNING);
    pm_out(vm, VMM_ACPI_PM1A_CNT + 1, 1, v >> 8);
    assert_int_equal(vm->state, VMM_VM_EXITED);
    destroy(vm);
}

/* pvpanic: reads say which events it takes; "crash kernel loaded" is only logged, "panicked"
 * fails the VM stop (with the dump). */
static void test_pvpanic(void **state)
{
    int rc;
    struct vmm_vm *vm = make_vm(MiB(32), NULL, 0, "", &rc);

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(vmm_vm_start(vm), 0);
    assert_int_equal(pm_in(vm, VMM_PVPANIC_PORT, 1), 3);
    pm_out(vm, VMM_PVPANIC_PORT, 1, 2);
    assert_int_equal(vm->state, VMM_VM_RUNNING);
    assert_true(log_count_with("crash kernel runs") > 0);
    pm_out(vm, VMM_PVPANIC_PORT, 1, 1);
    assert_int_equal(vm->state, VMM_VM_FAILED);
    assert_string_equal(vm->reason, "guest kernel panic (pvpanic)");
    destroy(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_signature, setup),
        cmocka_unit_test_setup(test_parse_fields, setup),
        cmocka_unit_test_setup(test_parse_refusals, setup),
        cmocka_unit_test_setup(test_plan, setup),
        cmocka_unit_test_setup(test_load, setup),
        cmocka_unit_test_setup(test_default_cmdline_and_no_initrd, setup),
        cmocka_unit_test_setup(test_refusals_at_create, setup),
        cmocka_unit_test_setup(test_initrd_needs_linux, setup),
        cmocka_unit_test_setup(test_reset_reloads, setup),
        cmocka_unit_test_setup(test_pm_registers, setup),
        cmocka_unit_test_setup(test_pm_poweroff_bytewise, setup),
        cmocka_unit_test_setup(test_pvpanic, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
