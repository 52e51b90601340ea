/* Unit tests for the guest ACPI tables (vmm/acpi.c): the tables are parsed back the way a
 * guest does: RSDP checksums and pointers, RSDT/XSDT entries, every table's checksum and
 * length, the FADT's blocks and pointers, the MADT's entries, and the DSDT's AML (package
 * lengths walked, the objects Linux looks for found with their values). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "types.h"
#include "../../vmm/acpi.h"
#include "../../vmm/platform.h"

#define BASE VMM_ACPI_TABLES_BASE
#define LEN  (VMM_ACPI_TABLES_END - VMM_ACPI_TABLES_BASE)

static uint8_t g_buf[LEN];
static struct vmm_acpi_layout g_lay;

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

/* The bytes at guest-physical gpa, checked to lie inside what was built. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
    assert_true(gpa >= BASE);
    assert_true(gpa + len <= g_lay.end);
    return g_buf + (gpa - BASE);
}

/* A table at gpa with this signature: length sane, checksum zero. Returns its bytes. */
static const uint8_t *table(uint64_t gpa, const char *sig, uint32_t *len)
{
    const uint8_t *t = at(gpa, ACPI_HDR_LEN);

    assert_memory_equal(t, sig, 4);
    *len = get32(t + 4);
    assert_true(*len >= ACPI_HDR_LEN);
    t = at(gpa, *len);
    assert_int_equal(vmm_acpi_sum(t, *len), 0);
    assert_memory_equal(t + 10, ACPI_OEM_ID, 6);
    return t;
}

static int setup(void **state)
{
    (void)state;
    memset(g_buf, 0xCC, sizeof(g_buf));
    assert_int_equal(vmm_acpi_build(g_buf, sizeof(g_buf), BASE, &g_lay), 0);
    return 0;
}

static void test_rsdp(void **state)
{
    const uint8_t *r = at(g_lay.rsdp, ACPI_RSDP_LEN);

    (void)state;
    assert_int_equal(g_lay.rsdp, VMM_ACPI_RSDP_GPA);
    assert_int_equal(g_lay.rsdp % 16, 0);
    assert_memory_equal(r, "RSD PTR ", 8);
    assert_int_equal(vmm_acpi_sum(r, 20), 0);
    assert_int_equal(vmm_acpi_sum(r, ACPI_RSDP_LEN), 0);
    assert_int_equal(r[15], 2);
    assert_int_equal(get32(r + 16), g_lay.rsdt);
    assert_int_equal(get32(r + 20), ACPI_RSDP_LEN);
    assert_int_equal(get64(r + 24), g_lay.xsdt);
}

static void test_rsdt_xsdt(void **state)
{
    uint32_t len;
    const uint8_t *t = table(g_lay.rsdt, "RSDT", &len);

    (void)state;
    assert_int_equal(len, ACPI_HDR_LEN + 8);
    assert_int_equal(get32(t + 36), g_lay.fadt);
    assert_int_equal(get32(t + 40), g_lay.madt);
    t = table(g_lay.xsdt, "XSDT", &len);
    assert_int_equal(len, ACPI_HDR_LEN + 16);
    assert_int_equal(get64(t + 36), g_lay.fadt);
    assert_int_equal(get64(t + 44), g_lay.madt);
}

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bits)
{
    assert_int_equal(g[0], 1); /* system IO */
    assert_int_equal(g[1], bits);
    assert_int_equal(get64(g + 4), port);
}

static void test_fadt(void **state)
{
    uint32_t len;
    const uint8_t *f = table(g_lay.fadt, "FACP", &len);
    const uint8_t *facs;

    (void)state;
    assert_int_equal(len, ACPI_FADT_LEN);
    assert_int_equal(f[8], 3);
    assert_int_equal(get32(f + 36), g_lay.facs);
    assert_int_equal(get32(f + 40), g_lay.dsdt);
    assert_int_equal(get64(f + 132), g_lay.facs);
    assert_int_equal(get64(f + 140), g_lay.dsdt);
    assert_int_equal(get16(f + 46), VMM_ACPI_SCI_IRQ);
    assert_int_equal(get32(f + 48), 0); /* no SMI_CMD */
    assert_int_equal(get32(f + 56), VMM_ACPI_PM1A_EVT);
    assert_int_equal(get32(f + 64), VMM_ACPI_PM1A_CNT);
    assert_int_equal(get32(f + 76), VMM_ACPI_PM_TMR);
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);
    assert_int_equal(f[92], 0); /* no GPE block */
    check_gas_io(f + 148, VMM_ACPI_PM1A_EVT, 32);
    check_gas_io(f + 172, VMM_ACPI_PM1A_CNT, 16);
    check_gas_io(f + 208, VMM_ACPI_PM_TMR, 32);
    /* Reset register: 0xCF9 <- 6, flagged as supported; 32-bit PM timer. */
    check_gas_io(f + 116, VMM_ACPI_RESET_PORT, 8);
    assert_int_equal(f[128], VMM_ACPI_RESET_VALUE);
    assert_true(get32(f + 112) & (1u << 10));
    assert_true(get32(f + 112) & (1u << 8));
    /* The 8042 is there, VGA is not. */
    assert_int_equal(get16(f + 109) & 6, 2 | 4);
    /* FACS: 64-byte aligned, signature and length. */
    assert_int_equal(g_lay.facs % 64, 0);
    facs = at(g_lay.facs, ACPI_FACS_LEN);
    assert_memory_equal(facs, "FACS", 4);
    assert_int_equal(get32(facs + 4), ACPI_FACS_LEN);
}

static void test_madt(void **state)
{
    uint32_t len;
    const uint8_t *m = table(g_lay.madt, "APIC", &len);
    size_t off = ACPI_HDR_LEN + 8;
    unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    bool irq0 = false, sci_level = false, pci_level = false;

    (void)state;
    assert_int_equal(get32(m + 36), VMM_LAPIC_BASE);
    assert_int_equal(get32(m + 40) & 1, 1); /* PCAT_COMPAT */
    while (off < len) {
        const uint8_t *e = m + off;

        assert_true(off + 2 <= len);
        assert_true(e[1] >= 2 && off + e[1] <= len);
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], 8);
            assert_int_equal(e[3], VMM_LAPIC_ID);
            assert_int_equal(get32(e + 4) & 1, 1);
            lapics++;
            break;
        case 1:
            assert_int_equal(e[1], 12);
            assert_int_equal(e[2], VMM_IOAPIC_ID);
            assert_int_equal(get32(e + 4), VMM_IOAPIC_BASE);
            assert_int_equal(get32(e + 8), 0);
            ioapics++;
            break;
        case 2:
            assert_int_equal(e[1], 10);
            assert_int_equal(e[2], 0);
            if (e[3] == 0) {
                irq0 = get32(e + 4) == VMM_ISA_IRQ0_GSI && get16(e + 8) == 0;
            } else if (e[3] == VMM_ACPI_SCI_IRQ) {
                sci_level = get32(e + 4) == VMM_ACPI_SCI_IRQ && get16(e + 8) == 0xD;
            } else if (e[3] == VMM_PCI_IRQ_C) {
                pci_level = get32(e + 4) == VMM_PCI_IRQ_C && get16(e + 8) == 0xD;
            }
            isos++;
            break;
        case 4:
            assert_int_equal(e[1], 6);
            assert_int_equal(e[2], 0xFF);
            assert_int_equal(e[5], 1);
            nmis++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
    assert_int_equal(off, len);
    assert_int_equal(lapics, 1);
    assert_int_equal(ioapics, 1);
    assert_int_equal(isos, 4);
    assert_int_equal(nmis, 1);
    assert_true(irq0);
    assert_true(sci_level);
    assert_true(pci_level);
}

/* ---- a small AML reader for the DSDT ----------------------------------------------------- */

static size_t pkglen(const uint8_t *p, size_t *nbytes)
{
    unsigned follow = p[0] >> 6;
    size_t v;

    *nbytes = 1 + follow;
    if (follow == 0) {
        return p[0] & 0x3F;
    }
    v = p[0] & 0x0F;
    for (unsigned i = 0; i < follow; i++) {
        v |= (size_t)p[1 + i] << (4 + 8 * i);
    }
    return v;
}

/* The offset of the first occurrence of needle in the DSDT body, or SIZE_MAX. */
static size_t find(const uint8_t *d, size_t len, const void *needle, size_t n)
{
    for (size_t i = ACPI_HDR_LEN; i + n <= len; i++) {
        if (memcmp(d + i, needle, n) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Every object with a PkgLength inside [start, end) ends inside its parent: checked for the
 * Scope, Device and Method objects by walking them (their PkgLengths nest exactly). */
static void walk_scope(const uint8_t *d, size_t start, size_t end, unsigned depth)
{
    assert_true(depth < 8);
    for (size_t i = start; i + 1 < end; i++) {
        size_t nb;
        size_t len;

        if (d[i] == 0x5B && d[i + 1] == 0x82) { /* DeviceOp */
            len = pkglen(d + i + 2, &nb);
            assert_true(i + 2 + len <= end);
            walk_scope(d, i + 2 + nb, i + 2 + len, depth + 1);
            i += 1 + len;
        }
    }
}

static void test_dsdt(void **state)
{
    uint32_t len;
    const uint8_t *d = table(g_lay.dsdt, "DSDT", &len);
    static const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12};
    static const uint8_t sb[] = {0x10};
    static const uint8_t pci_hid[] = {'_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03};
    static const uint8_t kbd_hid[] = {'_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x03, 0x03};
    static const uint8_t link_hid[] = {'_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0C, 0x0F};
    static const uint8_t prt[] = {0x08, '_', 'P', 'R', 'T', 0x12};
    static const uint8_t pvpanic_io[] = {0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01};
    size_t off;
    size_t nb;
    size_t plen;

    (void)state;
    assert_int_equal(len, g_lay.dsdt_len);
    assert_int_equal(d[8], 2);
    /* Name(_S5_, Package(4) {5, 5, 0, 0}) first. */
    off = ACPI_HDR_LEN;
    assert_memory_equal(d + off, s5, sizeof(s5));
    plen = pkglen(d + off + 6, &nb);
    assert_int_equal(nb, 1);
    assert_int_equal(d[off + 7], 4);
    assert_int_equal(d[off + 8], 0x0A);
    assert_int_equal(d[off + 9], VMM_ACPI_S5_TYP);
    assert_int_equal(d[off + 10], 0x0A);
    assert_int_equal(d[off + 11], VMM_ACPI_S5_TYP);
    assert_int_equal(d[off + 12], 0);
    assert_int_equal(d[off + 13], 0);
    off += 6 + plen;
    /* Then Scope(\_SB_) covering exactly the rest of the table. */
    assert_memory_equal(d + off, sb, sizeof(sb));
    plen = pkglen(d + off + 1, &nb);
    assert_int_equal(off + 1 + plen, len);
    assert_memory_equal(d + off + 1 + nb, "\\_SB_", 5);
    walk_scope(d, off + 1 + nb + 5, len, 0);
    /* The devices Linux binds: the PCI root, four interrupt links, the keyboard, a CPU,
     * pvpanic. */
    assert_int_not_equal(find(d, len, pci_hid, sizeof(pci_hid)), SIZE_MAX);
    assert_int_not_equal(find(d, len, kbd_hid, sizeof(kbd_hid)), SIZE_MAX);
    assert_int_not_equal(find(d, len, link_hid, sizeof(link_hid)), SIZE_MAX);
    assert_int_not_equal(find(d, len, "LNKD", 4), SIZE_MAX);
    assert_int_not_equal(find(d, len, "ACPI0007", 9), SIZE_MAX);
    /* pvpanic: _HID "QEMU0001" and IO(Decode16, 0x505, 0x505, 1, 1). */
    assert_int_not_equal(find(d, len, "QEMU0001", 9), SIZE_MAX);
    assert_int_not_equal(find(d, len, pvpanic_io, sizeof(pvpanic_io)), SIZE_MAX);
    /* The PCI root has a _HID and no _ADR (one or the other, says the spec). */
    assert_int_equal(find(d, len, "_ADR", 4), SIZE_MAX);
    /* _PRT: 31 slots x 4 pins; its first entry is slot 1 INTA -> link B (the swizzle). */
    off = find(d, len, prt, sizeof(prt));
    assert_int_not_equal(off, SIZE_MAX);
    plen = pkglen(d + off + 6, &nb);
    assert_true(off + 6 + plen <= len);
    assert_int_equal(d[off + 6 + nb], 124);
    off += 6 + nb + 1;
    assert_int_equal(d[off], 0x12);
    assert_int_equal(d[off + 2], 4);
    assert_int_equal(d[off + 3], 0x0C);
    assert_int_equal(get32(d + off + 4), 0x0001FFFF);
    assert_int_equal(d[off + 8], 0); /* pin 0 */
    assert_memory_equal(d + off + 9, "LNKB", 4);
    assert_int_equal(VMM_PCI_INTX_LINK(1, 1), 1);
}

static void test_pkglen_long_forms(void **state)
{
    uint32_t len;
    const uint8_t *d = table(g_lay.dsdt, "DSDT", &len);
    size_t off = find(d, len, "PCI0", 4);
    size_t nb;

    (void)state;
    /* Device(PCI0): 5B 82 PkgLength "PCI0"; its _PRT makes it longer than 4 KiB? No: it is
     * over 63 bytes, so the two-byte form is used and decodes to inside the table. */
    assert_int_not_equal(off, SIZE_MAX);
    assert_true(off >= 4);
    /* Find the DeviceOp before the name. */
    for (size_t i = off - 1; i >= off - 4; i--) {
        if (d[i - 1] == 0x5B && d[i] == 0x82) {
            size_t plen = pkglen(d + i + 1, &nb);

            assert_int_equal(nb, off - i - 1);
            assert_true(nb >= 2);
            assert_true(i + 1 + plen <= len);
            return;
        }
    }
    fail_msg("no DeviceOp before PCI0");
}

static void test_layout_and_errors(void **state)
{
    struct vmm_acpi_layout l;
    static uint8_t small[256];

    (void)state;
    assert_int_equal(g_lay.facs % 64, 0);
    assert_true(g_lay.rsdt % 16 == 0 && g_lay.xsdt % 16 == 0 && g_lay.fadt % 16 == 0);
    assert_true(g_lay.madt % 16 == 0 && g_lay.dsdt % 16 == 0);
    assert_true(g_lay.end <= VMM_ACPI_TABLES_END);
    assert_true(g_lay.end - BASE < 8192); /* small: fits two pages */
    /* The same input builds the same bytes. */
    {
        static uint8_t again[LEN];

        assert_int_equal(vmm_acpi_build(again, sizeof(again), BASE, &l), 0);
        assert_memory_equal(again, g_buf, (size_t)(g_lay.end - BASE));
    }
    assert_int_equal(vmm_acpi_build(small, sizeof(small), BASE, &l), -ENOSPC);
    assert_int_equal(vmm_acpi_build(g_buf, sizeof(g_buf), BASE + 8, &l), -EINVAL);
    assert_int_equal(vmm_acpi_build(g_buf, sizeof(g_buf), 0xFFFFF000ull, &l), -EINVAL);
    /* Room for everything but the DSDT. */
    assert_int_equal(vmm_acpi_build(g_buf, (size_t)(g_lay.dsdt - BASE) + 40, BASE, &l), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_rsdp, setup),
        cmocka_unit_test_setup(test_rsdt_xsdt, setup),
        cmocka_unit_test_setup(test_fadt, setup),
        cmocka_unit_test_setup(test_madt, setup),
        cmocka_unit_test_setup(test_dsdt, setup),
        cmocka_unit_test_setup(test_pkglen_long_forms, setup),
        cmocka_unit_test_setup(test_layout_and_errors, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
