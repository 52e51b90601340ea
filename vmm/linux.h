/* The Linux/x86 boot protocol (Documentation/arch/x86/boot.rst in the kernel tree) for bzImage
 * guests, through its 32-bit entry: the protected-mode kernel is loaded at 1 MiB, the initrd
 * as high as initrd_addr_max and guest RAM allow, and the vCPU starts at code32_start in flat
 * 32-bit protected mode (paging off, interrupts off, CS 0x10 and DS/ES/SS 0x18 from a GDT the
 * loader writes) with ESI pointing at boot_params, whose e820 map, command line, initrd and
 * ACPI RSDP the loader fills. The ACPI tables go in too (vmm/acpi.h).
 *
 * Guest-physical layout below 1 MiB: GDT at 0x6000, stack top 0x7000, boot_params at 0x7000,
 * command line at 0x20000; the BIOS data area word at 0x413 says 639 KiB of base memory. */
#ifndef PETREL_VMM_LINUX_H
#define PETREL_VMM_LINUX_H

#include "../kernel/types.h"

struct vmm_vm;

#define LINUX_BOOT_FLAG        0xAA55u
#define LINUX_HDRS_MAGIC       0x53726448u /* "HdrS" */
#define LINUX_MIN_VERSION      0x020Au     /* 2.10: pref_address, init_size */
#define LINUX_LOADED_HIGH      0x01u
#define LINUX_KEEP_SEGMENTS    0x40u
#define LINUX_XLF_KERNEL_64    0x0001u
#define LINUX_LOADER_UNDEFINED 0xFFu
#define LINUX_VID_NORMAL       0xFFFFu

/* Setup header and boot_params offsets used (the zero page of the protocol). */
#define LINUX_BP_SIZE            4096u
#define LINUX_BP_ACPI_RSDP       0x070u
#define LINUX_BP_EXT_RAMDISK_IMG 0x0C0u
#define LINUX_BP_EXT_RAMDISK_SZ  0x0C4u
#define LINUX_BP_EXT_CMDLINE     0x0C8u
#define LINUX_BP_ALT_MEM_K       0x1E0u
#define LINUX_BP_E820_ENTRIES    0x1E8u
#define LINUX_BP_SENTINEL        0x1EFu
#define LINUX_HDR_START          0x1F1u
#define LINUX_HDR_SETUP_SECTS    0x1F1u
#define LINUX_HDR_VID_MODE       0x1FAu
#define LINUX_HDR_BOOT_FLAG      0x1FEu
#define LINUX_HDR_JUMP           0x200u
#define LINUX_HDR_MAGIC          0x202u
#define LINUX_HDR_VERSION        0x206u
#define LINUX_HDR_TYPE_OF_LOADER 0x210u
#define LINUX_HDR_LOADFLAGS      0x211u
#define LINUX_HDR_CODE32_START   0x214u
#define LINUX_HDR_RAMDISK_IMAGE  0x218u
#define LINUX_HDR_RAMDISK_SIZE   0x21Cu
#define LINUX_HDR_HEAP_END_PTR   0x224u
#define LINUX_HDR_CMD_LINE_PTR   0x228u
#define LINUX_HDR_INITRD_MAX     0x22Cu
#define LINUX_HDR_KERNEL_ALIGN   0x230u
#define LINUX_HDR_RELOCATABLE    0x234u
#define LINUX_HDR_XLOADFLAGS     0x236u
#define LINUX_HDR_CMDLINE_SIZE   0x238u
#define LINUX_HDR_SUBARCH        0x23Cu
#define LINUX_HDR_SETUP_DATA     0x250u
#define LINUX_HDR_PREF_ADDRESS   0x258u
#define LINUX_HDR_INIT_SIZE      0x260u
#define LINUX_HDR_MIN_END        0x264u /* a 2.10 header reaches at least here */
#define LINUX_BP_E820_TABLE      0x2D0u
#define LINUX_BP_E820_MAX        128u

/* Where the loader puts things (guest-physical). */
#define LINUX_GDT_GPA         0x6000u
#define LINUX_STACK_TOP       0x7000u
#define LINUX_BP_GPA          0x7000u
#define LINUX_CMDLINE_GPA     0x20000u
#define LINUX_CMDLINE_MAX     4096u
#define LINUX_KERNEL_GPA      0x100000u
#define LINUX_BOOT_CS         0x10u
#define LINUX_BOOT_DS         0x18u
#define LINUX_DEFAULT_CMDLINE "console=ttyS0"

/* What the setup header says, checked. */
struct vmm_linux_info {
    uint16_t version;
    unsigned setup_sects; /* 0 in the header means 4 */
    uint8_t loadflags;
    uint16_t xloadflags;
    bool relocatable;
    uint32_t code32_start;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint32_t cmdline_size;
    uint64_t pref_address;
    uint32_t init_size;
    size_t hdr_end;    /* end of the setup header in the file (0x202 + the jump byte) */
    size_t kernel_off; /* the protected-mode kernel in the file */
    size_t kernel_len;
};

/* Where things go in a guest of ram bytes (guest-physical). */
struct vmm_linux_layout {
    uint64_t kernel;     /* LINUX_KERNEL_GPA */
    uint64_t kernel_end; /* end of the loaded (compressed) kernel */
    uint64_t run_start;  /* where the kernel decompresses when it does not move itself */
    uint64_t run_end;    /* run_start + init_size */
    uint64_t initrd;     /* 0 when there is none */
    uint64_t initrd_end;
};

/* True when the image carries the boot protocol signature ("HdrS" at 0x202). */
bool vmm_linux_is_bzimage(const uint8_t *img, size_t len);

/* Checks the setup header; -EINVAL (with a log line naming the field) when the image is not a
 * bzImage this loader can boot. vm names the VM in log lines. */
int vmm_linux_parse(const char *vm, const uint8_t *img, size_t len, struct vmm_linux_info *out);

/* Places the kernel and initrd in ram bytes of guest RAM; -ENOMEM (logged) when they do not
 * fit without overlapping. */
int vmm_linux_plan(const char *vm, const struct vmm_linux_info *k, uint64_t ram, size_t initrd_len,
                   struct vmm_linux_layout *out);

/* Loads the VM's bzImage (cfg.image), initrd and command line, writes boot_params, the GDT
 * and the ACPI tables, and sets the vCPU at the 32-bit entry. Called by vmm_load_image. */
int vmm_linux_load(struct vmm_vm *vm);

#endif
