/* Guest image loaders: multiboot (v1) kernels, as QEMU's -kernel loads them (the a.out
 * "kludge" address fields or ELF program headers; entry in 32-bit protected mode with paging
 * off, EAX = 0x2BADB002, EBX = the multiboot information), and raw flat binaries entered at
 * their load address in the same state. The boot data (information structure, memory map,
 * command line, loader name) sits at VMM_BOOT_DATA_START, the stack below it. */
#ifndef PETREL_VMM_LOADER_H
#define PETREL_VMM_LOADER_H

#include "../kernel/types.h"

#define MB1_HEADER_MAGIC 0x1BADB002u
#define MB1_BOOT_MAGIC   0x2BADB002u
#define MB1_SEARCH_BYTES 8192u

#define MB1_HF_PAGE_ALIGN (1u << 0)
#define MB1_HF_MEMINFO    (1u << 1)
#define MB1_HF_VIDEO      (1u << 2)
#define MB1_HF_AOUT       (1u << 16)

#define MB1_IF_MEM     (1u << 0)
#define MB1_IF_CMDLINE (1u << 2)
#define MB1_IF_MODS    (1u << 3)
#define MB1_IF_MMAP    (1u << 6)
#define MB1_IF_LOADER  (1u << 9)

struct mb1_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* The multiboot information structure (the fields Petrel fills; the rest stay zero). */
struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe[6];
} __attribute__((packed));

struct mb1_mmap_entry {
    uint32_t size; /* of the rest: 20 */
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));

/* Where the boot data goes (inside [VMM_BOOT_DATA_START, VMM_BOOT_DATA_END)). */
#define VMM_BOOT_MBI_GPA     0x8000u
#define VMM_BOOT_MMAP_GPA    0x8100u
#define VMM_BOOT_LOADER_GPA  0x8400u
#define VMM_BOOT_CMDLINE_GPA 0x8800u

/* Finds a valid multiboot header in the first 8 KiB; its offset, or -ENOENT. */
int vmm_mb1_find(const uint8_t *img, size_t len, struct mb1_header *hdr);

#endif
