/* Unit tests for the multiboot2 information parser (kernel/bootinfo.c). Each test builds an
 * info blob, copies it into a malloc'ed buffer of exactly its length (so ASan sees any read
 * past it) and parses that. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bootinfo.h"

#define TAG_END      0
#define TAG_CMDLINE  1
#define TAG_LOADER   2
#define TAG_MODULE   3
#define TAG_MMAP     6
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15

struct blob {
    uint8_t buf[16384] __attribute__((aligned(8)));
    size_t len;
};

/* bootinfo is big (about 7 KiB): keep it out of the test's stack frame. */
static struct bootinfo g_bi;

static void put32(struct blob *b, size_t off, uint32_t v)
{
    assert_true(off + 4 <= sizeof(b->buf));
    memcpy(b->buf + off, &v, 4);
}

static void blob_begin(struct blob *b)
{
    memset(b->buf, 0, sizeof(b->buf));
    b->len = 8; /* total_size and reserved, written by blob_finish */
}

/* Appends a tag whose size field is `size` (normally 8 + payload) and pads to 8 bytes. */
static void blob_tag_sized(struct blob *b, uint32_t type, uint32_t size, const void *payload,
                           size_t plen)
{
    assert_true(b->len + 8 + plen + 8 <= sizeof(b->buf));
    put32(b, b->len, type);
    put32(b, b->len + 4, size);
    if (plen > 0) {
        memcpy(b->buf + b->len + 8, payload, plen);
    }
    b->len += (8 + plen + 7) & ~(size_t)7;
}

static void blob_tag(struct blob *b, uint32_t type, const void *payload, size_t plen)
{
    blob_tag_sized(b, type, (uint32_t)(8 + plen), payload, plen);
}

static void blob_string(struct blob *b, uint32_t type, const char *s)
{
    blob_tag(b, type, s, strlen(s) + 1);
}

static void blob_module(struct blob *b, uint32_t start, uint32_t end, const char *name)
{
    uint8_t p[256];
    size_t n = strlen(name) + 1;

    assert_true(8 + n <= sizeof(p));
    memcpy(p, &start, 4);
    memcpy(p + 4, &end, 4);
    memcpy(p + 8, name, n);
    blob_tag(b, TAG_MODULE, p, 8 + n);
}

struct mm {
    uint64_t addr;
    uint64_t len;
    uint32_t type;
};

/* A memory map tag with `entry_size`-byte entries (24 is what GRUB uses). */
static void blob_mmap(struct blob *b, uint32_t entry_size, const struct mm *e, size_t n)
{
    static uint8_t p[8 + 200 * 32];
    uint32_t version = 0;

    assert_true(entry_size >= 24 && 8 + n * entry_size <= sizeof(p));
    memset(p, 0, sizeof(p));
    memcpy(p, &entry_size, 4);
    memcpy(p + 4, &version, 4);
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + 8 + i * entry_size;

        memcpy(q, &e[i].addr, 8);
        memcpy(q + 8, &e[i].len, 8);
        memcpy(q + 16, &e[i].type, 4);
    }
    blob_tag(b, TAG_MMAP, p, 8 + n * entry_size);
}

static void blob_end(struct blob *b)
{
    blob_tag(b, TAG_END, NULL, 0);
}

/* Sets total_size to the length so far. */
static void blob_finish(struct blob *b)
{
    put32(b, 0, (uint32_t)b->len);
    put32(b, 4, 0);
}

/* Parses the first `len` bytes of the blob from an exactly sized heap copy, with max_len. */
static int parse_exact(const struct blob *b, size_t len, size_t max_len)
{
    uint8_t *copy = malloc(len);
    int rc;

    assert_non_null(copy);
    memcpy(copy, b->buf, len);
    rc = bootinfo_parse(copy, max_len, &g_bi);
    if (rc == 0) {
        /* info_start/end describe the copy; rsdp_addr points inside it. */
        assert_int_equal(g_bi.info_start, (uint64_t)(uintptr_t)copy);
        assert_true(g_bi.info_end <= (uint64_t)(uintptr_t)copy + len);
        if (g_bi.rsdp_len > 0) {
            assert_true(g_bi.rsdp_addr > g_bi.info_start && g_bi.rsdp_addr < g_bi.info_end);
            assert_memory_equal(g_bi.rsdp, copy + (g_bi.rsdp_addr - g_bi.info_start),
                                g_bi.rsdp_len);
        }
    }
    free(copy);
    return rc;
}

static int parse_blob(const struct blob *b)
{
    return parse_exact(b, b->len, b->len);
}

static void test_full_info(void **state)
{
    static struct blob b;
    static const struct mm map[] = {
        {0, 0x9fc00, BOOT_MEM_USABLE},         {0x9fc00, 0x400, BOOT_MEM_RESERVED},
        {0xf0000, 0x10000, BOOT_MEM_RESERVED}, {0x100000, MiB(511), BOOT_MEM_USABLE},
        {0x1fff0000, 0x10000, BOOT_MEM_ACPI},  {0xfffc0000, 0x40000, BOOT_MEM_RESERVED},
    };
    uint8_t rsdp[20];
    uint8_t unknown[5] = {1, 2, 3, 4, 5};

    (void)state;
    for (size_t i = 0; i < sizeof(rsdp); i++) {
        rsdp[i] = (uint8_t)(0x40 + i);
    }
    blob_begin(&b);
    blob_string(&b, TAG_CMDLINE, "ip=dhcp log=pit:debug");
    blob_string(&b, TAG_LOADER, "GRUB 2.06-13+deb12u1");
    blob_tag(&b, 21, unknown, sizeof(unknown)); /* load base address: not used */
    blob_module(&b, 0x200000, 0x201234, "petrel.conf");
    blob_module(&b, 0x300000, 0x700000, "/guests/linux bzImage");
    blob_mmap(&b, 24, map, ARRAY_SIZE(map));
    blob_tag(&b, TAG_ACPI_OLD, rsdp, sizeof(rsdp));
    blob_tag(&b, 8, unknown, 3); /* framebuffer-ish: skipped */
    blob_end(&b);
    blob_finish(&b);

    assert_int_equal(parse_blob(&b), 0);
    assert_string_equal(g_bi.cmdline, "ip=dhcp log=pit:debug");
    assert_string_equal(g_bi.loader, "GRUB 2.06-13+deb12u1");
    assert_int_equal(g_bi.nmodules, 2);
    assert_int_equal(g_bi.modules[0].start, 0x200000);
    assert_int_equal(g_bi.modules[0].end, 0x201234);
    assert_string_equal(g_bi.modules[0].name, "petrel.conf");
    assert_int_equal(g_bi.modules[1].start, 0x300000);
    assert_int_equal(g_bi.modules[1].end, 0x700000);
    assert_string_equal(g_bi.modules[1].name, "/guests/linux bzImage");
    assert_int_equal(g_bi.nmmap, ARRAY_SIZE(map));
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        assert_int_equal(g_bi.mmap[i].addr, map[i].addr);
        assert_int_equal(g_bi.mmap[i].len, map[i].len);
        assert_int_equal(g_bi.mmap[i].type, map[i].type);
    }
    assert_int_equal(g_bi.rsdp_len, sizeof(rsdp));
    assert_memory_equal(g_bi.rsdp, rsdp, sizeof(rsdp));
    assert_int_equal(g_bi.info_end - g_bi.info_start, b.len);
    assert_int_equal(g_bi.truncated, 0);
    assert_int_equal(bootinfo_usable_bytes(&g_bi), 0x9fc00 + MiB(511));

    /* A larger max_len than the structure is fine. */
    assert_int_equal(parse_exact(&b, b.len, b.len + 4096), 0);
}

static void test_minimal(void **state)
{
    static struct blob b;

    (void)state;
    blob_begin(&b);
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(b.len, 16);
    memset(&g_bi, 0xAA, sizeof(g_bi));
    assert_int_equal(parse_blob(&b), 0);
    assert_string_equal(g_bi.cmdline, "");
    assert_string_equal(g_bi.loader, "");
    assert_int_equal(g_bi.nmmap, 0);
    assert_int_equal(g_bi.nmodules, 0);
    assert_int_equal(g_bi.rsdp_len, 0);
    assert_int_equal(g_bi.rsdp_addr, 0);
    assert_int_equal(g_bi.truncated, 0);
    assert_int_equal(bootinfo_usable_bytes(&g_bi), 0);
}

static void test_acpi_new_preferred(void **state)
{
    static struct blob b;
    uint8_t v1[20];
    uint8_t v2[36];

    (void)state;
    memset(v1, 0x11, sizeof(v1));
    memset(v2, 0x22, sizeof(v2));
    /* Old then new, and new then old: the 2.0 RSDP wins either way. */
    for (int order = 0; order < 2; order++) {
        blob_begin(&b);
        if (order == 0) {
            blob_tag(&b, TAG_ACPI_OLD, v1, sizeof(v1));
            blob_tag(&b, TAG_ACPI_NEW, v2, sizeof(v2));
        } else {
            blob_tag(&b, TAG_ACPI_NEW, v2, sizeof(v2));
            blob_tag(&b, TAG_ACPI_OLD, v1, sizeof(v1));
        }
        blob_end(&b);
        blob_finish(&b);
        assert_int_equal(parse_blob(&b), 0);
        assert_int_equal(g_bi.rsdp_len, 36);
        assert_memory_equal(g_bi.rsdp, v2, 36);
    }
    /* An oversized RSDP tag is cut to what the table holds. */
    {
        uint8_t big[64];

        memset(big, 0x33, sizeof(big));
        blob_begin(&b);
        blob_tag(&b, TAG_ACPI_NEW, big, sizeof(big));
        blob_end(&b);
        blob_finish(&b);
        assert_int_equal(parse_blob(&b), 0);
        assert_int_equal(g_bi.rsdp_len, sizeof(g_bi.rsdp));
    }
}

static void test_strings_without_nul(void **state)
{
    static struct blob b;
    static char longline[BOOT_CMDLINE_MAX + 100];
    uint8_t mod[8 + 4] = {0, 0, 0x10, 0, 0, 0, 0x20, 0, 'a', 'b', 'c', 'd'};

    (void)state;
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    blob_begin(&b);
    blob_tag(&b, TAG_LOADER, "GRUB", 4); /* no terminator inside the tag */
    blob_tag(&b, TAG_MODULE, mod, sizeof(mod));
    blob_string(&b, TAG_CMDLINE, longline);
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), 0);
    assert_string_equal(g_bi.loader, "GRUB");
    assert_int_equal(g_bi.nmodules, 1);
    assert_string_equal(g_bi.modules[0].name, "abcd");
    assert_int_equal(g_bi.modules[0].start, 0x100000);
    assert_int_equal(g_bi.modules[0].end, 0x200000);
    assert_int_equal(strlen(g_bi.cmdline), BOOT_CMDLINE_MAX - 1);
}

static void test_mmap_entry_sizes(void **state)
{
    static struct blob b;
    static const struct mm map[] = {
        {0x100000, MiB(1), BOOT_MEM_USABLE},
        {0x200000, MiB(2), BOOT_MEM_USABLE},
    };

    (void)state;
    /* A larger, 8-aligned entry size (a future version) is walked with its stride. */
    blob_begin(&b);
    blob_mmap(&b, 32, map, 2);
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), 0);
    assert_int_equal(g_bi.nmmap, 2);
    assert_int_equal(g_bi.mmap[1].addr, 0x200000);
    assert_int_equal(bootinfo_usable_bytes(&g_bi), MiB(3));

    /* A trailing partial entry is ignored. */
    {
        uint8_t p[8 + 24 + 10];
        uint32_t es = 24;
        uint64_t addr = 0x100000;
        uint64_t len = 0x1000;
        uint32_t type = 1;

        memset(p, 0xEE, sizeof(p));
        memcpy(p, &es, 4);
        memset(p + 4, 0, 4);
        memcpy(p + 8, &addr, 8);
        memcpy(p + 16, &len, 8);
        memcpy(p + 24, &type, 4);
        blob_begin(&b);
        blob_tag(&b, TAG_MMAP, p, sizeof(p));
        blob_end(&b);
        blob_finish(&b);
        assert_int_equal(parse_blob(&b), 0);
        assert_int_equal(g_bi.nmmap, 1);
        assert_int_equal(g_bi.mmap[0].len, 0x1000);
    }
}

/* A map tag with just a header and the given entry_size field. */
static int parse_mmap_header(uint32_t entry_size, bool last)
{
    static struct blob b;
    uint8_t p[8];

    memcpy(p, &entry_size, 4);
    memset(p + 4, 0, 4);
    blob_begin(&b);
    blob_tag(&b, TAG_MMAP, p, sizeof(p));
    if (!last) {
        blob_end(&b);
    }
    blob_finish(&b);
    return parse_blob(&b);
}

static void test_bad_mmap(void **state)
{
    static struct blob b;

    (void)state;
    assert_int_equal(parse_mmap_header(20, false), -EINVAL);
    assert_int_equal(parse_mmap_header(0, false), -EINVAL);
    assert_int_equal(parse_mmap_header(28, false), -EINVAL); /* not a multiple of 8 */
    assert_int_equal(parse_mmap_header(24, false), 0);       /* empty map: fine */
    assert_int_equal(g_bi.nmmap, 0);
    /* An entry size so big that offset + size wraps 32 bits must not read past the tag
     * (the map tag is the last thing in the buffer, so ASan would see it). */
    assert_int_equal(parse_mmap_header(0xFFFFFFF8u, true), -EINVAL); /* no end tag */
    assert_int_equal(parse_mmap_header(0xFFFFFFF8u, false), 0);
    assert_int_equal(g_bi.nmmap, 0);
    assert_int_equal(parse_mmap_header(0xFFFFFFF0u, false), 0);
    assert_int_equal(g_bi.nmmap, 0);

    /* A map tag too small for its own header. */
    blob_begin(&b);
    blob_tag(&b, TAG_MMAP, "\x18\0\0\0", 4);
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), -EINVAL);
}

static void test_malformed(void **state)
{
    static struct blob b;

    (void)state;
    /* Good blob with a cmdline, used as a base for the damage below. */
    blob_begin(&b);
    blob_string(&b, TAG_CMDLINE, "abc");
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(b.len, 32);
    assert_int_equal(parse_blob(&b), 0);

    /* Buffer shorter than the fixed part or than total_size. */
    assert_int_equal(parse_exact(&b, 8, 8), -EINVAL);
    assert_int_equal(parse_exact(&b, 15, 15), -EINVAL);
    assert_int_equal(parse_exact(&b, 31, 31), -EINVAL);
    /* total_size below the minimum. */
    put32(&b, 0, 8);
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 0, 0);
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 0, 0xFFFFFFFFu);
    assert_int_equal(parse_blob(&b), -EINVAL);
    /* total_size that leaves out the end tag. */
    put32(&b, 0, 24);
    assert_int_equal(parse_exact(&b, 24, 24), -EINVAL);
    put32(&b, 0, 28); /* cuts the end tag in half */
    assert_int_equal(parse_exact(&b, 28, 28), -EINVAL);
    put32(&b, 0, 32);

    /* Tag size below 8, and 0 (would loop forever if accepted). */
    put32(&b, 12, 4);
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 12, 0);
    assert_int_equal(parse_blob(&b), -EINVAL);
    /* A tag running past total_size. */
    put32(&b, 12, 25);
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 12, 0xFFFFFFF9u);
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 12, 24); /* exactly to the end: swallows the end tag */
    assert_int_equal(parse_blob(&b), -EINVAL);
    put32(&b, 12, 12);
    assert_int_equal(parse_blob(&b), 0);

    /* Module tags too short, or ending before they start. */
    {
        uint8_t m[8] = {0, 0, 0x20, 0, 0, 0, 0x10, 0};

        blob_begin(&b);
        blob_tag(&b, TAG_MODULE, m, 4);
        blob_end(&b);
        blob_finish(&b);
        assert_int_equal(parse_blob(&b), -EINVAL);
        blob_begin(&b);
        blob_tag(&b, TAG_MODULE, m, 8);
        blob_end(&b);
        blob_finish(&b);
        assert_int_equal(parse_blob(&b), -EINVAL);
    }

    /* No end tag at all: the tags fill total_size exactly. */
    blob_begin(&b);
    blob_string(&b, TAG_CMDLINE, "1234567");
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), -EINVAL);
}

static void test_tags_after_end_ignored(void **state)
{
    static struct blob b;

    (void)state;
    blob_begin(&b);
    blob_string(&b, TAG_CMDLINE, "first");
    blob_end(&b);
    blob_string(&b, TAG_CMDLINE, "after the end");
    blob_tag_sized(&b, 99, 3, NULL, 0); /* would be malformed if it were read */
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), 0);
    assert_string_equal(g_bi.cmdline, "first");
}

static void test_too_many_entries(void **state)
{
    static struct blob b;
    static struct mm map[BOOT_MAX_MMAP + 6];
    char name[16];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        map[i].addr = i * MiB(1);
        map[i].len = MiB(1);
        map[i].type = (i % 2) == 0 ? BOOT_MEM_USABLE : BOOT_MEM_RESERVED;
    }
    blob_begin(&b);
    for (int i = 0; i < BOOT_MAX_MODULES + 8; i++) {
        snprintf(name, sizeof(name), "mod%d", i);
        blob_module(&b, (uint32_t)(i * 0x1000), (uint32_t)(i * 0x1000 + 0x800), name);
    }
    blob_mmap(&b, 24, map, ARRAY_SIZE(map));
    blob_end(&b);
    blob_finish(&b);
    assert_int_equal(parse_blob(&b), 0);
    assert_int_equal(g_bi.nmodules, BOOT_MAX_MODULES);
    assert_int_equal(g_bi.nmmap, BOOT_MAX_MMAP);
    assert_int_equal(g_bi.truncated, 8 + 6);
    assert_string_equal(g_bi.modules[BOOT_MAX_MODULES - 1].name, "mod31");
    assert_int_equal(g_bi.mmap[BOOT_MAX_MMAP - 1].addr, (BOOT_MAX_MMAP - 1) * MiB(1));
    /* Only the kept usable entries count: 32 of the first 64. */
    assert_int_equal(bootinfo_usable_bytes(&g_bi), 32 * MiB(1));
}

static void test_usable_bytes(void **state)
{
    (void)state;
    memset(&g_bi, 0, sizeof(g_bi));
    g_bi.nmmap = 4;
    g_bi.mmap[0] = (struct boot_mmap_entry){0, 0x1000, BOOT_MEM_USABLE};
    g_bi.mmap[1] = (struct boot_mmap_entry){0x1000, 0x1000, BOOT_MEM_NVS};
    g_bi.mmap[2] = (struct boot_mmap_entry){0x2000, 0x1000, BOOT_MEM_BAD};
    g_bi.mmap[3] = (struct boot_mmap_entry){0x100000, GiB(4), BOOT_MEM_USABLE};
    g_bi.mmap[4] = (struct boot_mmap_entry){0, GiB(1), BOOT_MEM_USABLE}; /* past nmmap */
    assert_int_equal(bootinfo_usable_bytes(&g_bi), 0x1000 + GiB(4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_info),          cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_acpi_new_preferred), cmocka_unit_test(test_strings_without_nul),
        cmocka_unit_test(test_mmap_entry_sizes),   cmocka_unit_test(test_bad_mmap),
        cmocka_unit_test(test_malformed),          cmocka_unit_test(test_tags_after_end_ignored),
        cmocka_unit_test(test_too_many_entries),   cmocka_unit_test(test_usable_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
