/* What the boot loader told us, copied out of the multiboot2 information structure so that
 * memory can be reused: command line, memory map, modules, ACPI RSDP. */
#ifndef PETREL_BOOTINFO_H
#define PETREL_BOOTINFO_H

#include "types.h"

#define MB2_BOOTLOADER_MAGIC 0x36D76289u
#define BOOT_MAX_MMAP        64
#define BOOT_MAX_MODULES     32
#define BOOT_CMDLINE_MAX     1024
#define BOOT_MODNAME_MAX     128

enum boot_mem_type {
    BOOT_MEM_USABLE = 1,
    BOOT_MEM_RESERVED = 2,
    BOOT_MEM_ACPI = 3,
    BOOT_MEM_NVS = 4,
    BOOT_MEM_BAD = 5,
};

struct boot_mmap_entry {
    uint64_t addr;
    uint64_t len;
    uint32_t type;
};

struct boot_module {
    uint64_t start;
    uint64_t end; /* exclusive */
    char name[BOOT_MODNAME_MAX];
};

struct bootinfo {
    char cmdline[BOOT_CMDLINE_MAX];
    char loader[64];
    struct boot_mmap_entry mmap[BOOT_MAX_MMAP];
    size_t nmmap;
    struct boot_module modules[BOOT_MAX_MODULES];
    size_t nmodules;
    uint64_t rsdp_addr; /* physical address of the copy GRUB gave us, 0 if none */
    uint8_t rsdp[36];
    size_t rsdp_len;
    uint64_t info_start; /* where the multiboot2 info itself lives, to keep it reserved */
    uint64_t info_end;
    unsigned truncated; /* entries or modules dropped because the tables were full */
};

/* Parses the multiboot2 info at `info` (its total size is its first word, checked against
 * max_len). Returns 0, or -EINVAL for a malformed structure. */
int bootinfo_parse(const void *info, size_t max_len, struct bootinfo *out);
uint64_t bootinfo_usable_bytes(const struct bootinfo *bi);

#endif
