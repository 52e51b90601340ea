/* libFuzzer target: the multiboot2 information parser on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootinfo.h"

/* Recoverable UBSan checks (the Makefile does not pass -fno-sanitize-recover) must still stop
 * the run, or a finding would only be a line in the output. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static struct bootinfo g_bi;

static void check(const uint8_t *buf, size_t size, int rc)
{
    if (rc != 0 && rc != -EINVAL) {
        abort();
    }
    if (g_bi.nmmap > BOOT_MAX_MMAP || g_bi.nmodules > BOOT_MAX_MODULES ||
        g_bi.rsdp_len > sizeof(g_bi.rsdp) ||
        strnlen(g_bi.cmdline, sizeof(g_bi.cmdline)) == sizeof(g_bi.cmdline) ||
        strnlen(g_bi.loader, sizeof(g_bi.loader)) == sizeof(g_bi.loader)) {
        abort();
    }
    for (size_t i = 0; i < g_bi.nmodules; i++) {
        if (strnlen(g_bi.modules[i].name, BOOT_MODNAME_MAX) == BOOT_MODNAME_MAX ||
            g_bi.modules[i].end < g_bi.modules[i].start) {
            abort();
        }
    }
    if (rc == 0) {
        /* The info must lie inside the buffer, and so must the RSDP it points at. */
        if (g_bi.info_start != (uint64_t)(uintptr_t)buf ||
            g_bi.info_end > (uint64_t)(uintptr_t)(buf + size)) {
            abort();
        }
        if (g_bi.rsdp_len > 0 &&
            (g_bi.rsdp_addr < g_bi.info_start || g_bi.rsdp_addr + g_bi.rsdp_len > g_bi.info_end)) {
            abort();
        }
        (void)bootinfo_usable_bytes(&g_bi);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly sized heap copy, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size > 0 ? size : 1);
    uint32_t total = (uint32_t)size;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    check(buf, size, bootinfo_parse(buf, size, &g_bi));

    /* Again with total_size fixed up to the input length, so the tag walk is reached without
     * the fuzzer first having to guess the size field. */
    if (size >= 4) {
        memcpy(buf, &total, sizeof(total));
        check(buf, size, bootinfo_parse(buf, size, &g_bi));
    }
    free(buf);
    return 0;
}
