/* Multiboot2 information parsing (see bootinfo.h and the Multiboot2 specification, section 3.6). */
#include "bootinfo.h"
#include "bytes.h"
#include "lib.h"

#define TAG_END      0
#define TAG_CMDLINE  1
#define TAG_LOADER   2
#define TAG_MODULE   3
#define TAG_MMAP     6
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15

static void copy_str(char *dst, size_t dstlen, const uint8_t *src, size_t srclen)
{
    size_t n = strnlen((const char *)src, srclen);

    if (n >= dstlen) {
        n = dstlen - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int parse_mmap(const uint8_t *tag, uint32_t size, struct bootinfo *out)
{
    uint32_t entry_size;

    if (size < 16) {
        return -EINVAL;
    }
    entry_size = rd32(tag + 8);
    if (entry_size < 24 || (entry_size % 8) != 0) {
        return -EINVAL;
    }
    /* 64-bit offsets: a huge entry_size must not wrap the sum and read past the tag. */
    for (uint64_t off = 16; off + entry_size <= size; off += entry_size) {
        struct boot_mmap_entry *e;

        if (out->nmmap >= BOOT_MAX_MMAP) {
            out->truncated++;
            continue;
        }
        e = &out->mmap[out->nmmap++];
        e->addr = rd64(tag + off);
        e->len = rd64(tag + off + 8);
        e->type = rd32(tag + off + 16);
    }
    return 0;
}

int bootinfo_parse(const void *info, size_t max_len, struct bootinfo *out)
{
    const uint8_t *base = info;
    uint32_t total;
    uint64_t off = 8; /* 64-bit so rounding a tag size near 4 GiB cannot wrap it */

    memset(out, 0, sizeof(*out));
    if (max_len < 16) {
        return -EINVAL;
    }
    total = rd32(base);
    if (total < 16 || total > max_len) {
        return -EINVAL;
    }
    out->info_start = (uint64_t)(uintptr_t)info;
    out->info_end = out->info_start + total;

    while (off + 8 <= total) {
        const uint8_t *tag = base + off;
        uint32_t type = rd32(tag);
        uint32_t size = rd32(tag + 4);

        if (size < 8 || size > total - off) {
            return -EINVAL;
        }
        switch (type) {
        case TAG_END:
            return 0;
        case TAG_CMDLINE:
            copy_str(out->cmdline, sizeof(out->cmdline), tag + 8, size - 8);
            break;
        case TAG_LOADER:
            copy_str(out->loader, sizeof(out->loader), tag + 8, size - 8);
            break;
        case TAG_MODULE:
            if (size < 16) {
                return -EINVAL;
            }
            if (out->nmodules >= BOOT_MAX_MODULES) {
                out->truncated++;
                break;
            }
            out->modules[out->nmodules].start = rd32(tag + 8);
            out->modules[out->nmodules].end = rd32(tag + 12);
            if (out->modules[out->nmodules].end < out->modules[out->nmodules].start) {
                return -EINVAL;
            }
            copy_str(out->modules[out->nmodules].name, BOOT_MODNAME_MAX, tag + 16, size - 16);
            out->nmodules++;
            break;
        case TAG_MMAP:
            if (parse_mmap(tag, size, out) != 0) {
                return -EINVAL;
            }
            break;
        case TAG_ACPI_OLD:
        case TAG_ACPI_NEW:
            /* Prefer the ACPI 2.0 RSDP when both are present. */
            if (out->rsdp_len == 0 || type == TAG_ACPI_NEW) {
                size_t n = size - 8 < sizeof(out->rsdp) ? size - 8 : sizeof(out->rsdp);
                memcpy(out->rsdp, tag + 8, n);
                out->rsdp_len = n;
                out->rsdp_addr = (uint64_t)(uintptr_t)(tag + 8);
            }
            break;
        default:
            break; /* other tags (framebuffer, EFI, ...) are not used */
        }
        off += ((uint64_t)size + 7) & ~7ULL;
    }
    return -EINVAL; /* no end tag */
}

uint64_t bootinfo_usable_bytes(const struct bootinfo *bi)
{
    uint64_t total = 0;

    for (size_t i = 0; i < bi->nmmap; i++) {
        if (bi->mmap[i].type == BOOT_MEM_USABLE) {
            total += bi->mmap[i].len;
        }
    }
    return total;
}
