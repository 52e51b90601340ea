/* ACPI tables for guests (acpi.h): RSDP, RSDT, XSDT, FADT, FACS, MADT and a DSDT assembled
 * here from a few AML opcodes. Everything they say comes from vmm/platform.h. */
#include "acpi.h"
#include "host.h"
#include "platform.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

/* ---- little-endian stores --------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

uint8_t vmm_acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s = (uint8_t)(s + p[i]);
    }
    return s;
}

/* ---- a minimal AML assembler -------------------------------------------------------------
 * Opcodes used (ACPI 6.x section 20): ZeroOp 00, OneOp 01, NameOp 08, BytePrefix 0A,
 * WordPrefix 0B, DWordPrefix 0C, StringPrefix 0D, QWordPrefix 0E, ScopeOp 10, BufferOp 11,
 * PackageOp 12, MethodOp 14, DualNamePrefix 2E, MultiNamePrefix 2F, RootChar 5C,
 * DeviceOp 5B 82. A PkgLength is reserved as 4 bytes when its object opens and shrunk to its
 * shortest encoding when it closes. */

#define AML_DEPTH 8

struct aml {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t open[AML_DEPTH];
    unsigned depth;
    bool bad;  /* out of room or malformed: the result is unusable */
    bool full; /* out of room */
};

static void aml_bytes(struct aml *a, const void *src, size_t n)
{
    if (a->bad || n > a->cap - a->len) {
        a->full = a->full || n > a->cap - a->len;
        a->bad = true;
        return;
    }
    memcpy(a->p + a->len, src, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static bool seg_char_ok(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* A NameString: optional leading '\', then 1-255 segments of up to 4 characters separated
 * by '.', each padded with '_'. */
static void aml_name(struct aml *a, const char *path)
{
    char segs[8][4];
    size_t nseg = 0;

    if (*path == '\\') {
        aml_byte(a, 0x5C);
        path++;
    }
    while (*path != '\0') {
        size_t n = 0;

        if (nseg == ARRAY_SIZE(segs)) {
            a->bad = true;
            return;
        }
        memset(segs[nseg], '_', 4);
        while (*path != '\0' && *path != '.') {
            if (n == 4 || !seg_char_ok(*path, n == 0)) {
                a->bad = true;
                return;
            }
            segs[nseg][n++] = *path++;
        }
        if (n == 0) {
            a->bad = true;
            return;
        }
        nseg++;
        if (*path == '.') {
            path++;
        }
    }
    if (nseg == 2) {
        aml_byte(a, 0x2E);
    } else if (nseg > 2) {
        aml_byte(a, 0x2F);
        aml_byte(a, (uint8_t)nseg);
    }
    if (nseg == 0) {
        aml_byte(a, 0x00); /* NullName */
    }
    aml_bytes(a, segs, nseg * 4);
}

static void aml_open(struct aml *a)
{
    static const uint8_t reserve[4] = {0};

    if (a->depth == AML_DEPTH) {
        a->bad = true;
        return;
    }
    a->open[a->depth++] = a->len;
    aml_bytes(a, reserve, sizeof(reserve));
}

static void aml_close(struct aml *a)
{
    size_t off;
    size_t body;
    size_t n;
    size_t total;

    if (a->bad || a->depth == 0) {
        a->bad = true;
        return;
    }
    off = a->open[--a->depth];
    body = a->len - off - 4;
    n = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
    total = body + n;
    if (total >= 0x10000000) {
        a->bad = true;
        return;
    }
    memmove(a->p + off + n, a->p + off + 4, body);
    if (n == 1) {
        a->p[off] = (uint8_t)total;
    } else {
        a->p[off] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
        for (size_t i = 1; i < n; i++) {
            a->p[off + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
        }
    }
    a->len -= 4 - n;
}

static void aml_int(struct aml *a, uint64_t v)
{
    uint8_t b[9];

    if (v <= 1) {
        aml_byte(a, (uint8_t)v); /* ZeroOp, OneOp */
        return;
    }
    if (v <= 0xFF) {
        b[0] = 0x0A;
        b[1] = (uint8_t)v;
        aml_bytes(a, b, 2);
    } else if (v <= 0xFFFF) {
        b[0] = 0x0B;
        put16(b + 1, (uint16_t)v);
        aml_bytes(a, b, 3);
    } else if (v <= 0xFFFFFFFFu) {
        b[0] = 0x0C;
        put32(b + 1, (uint32_t)v);
        aml_bytes(a, b, 5);
    } else {
        b[0] = 0x0E;
        put64(b + 1, v);
        aml_bytes(a, b, 9);
    }
}

static void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, 0x0D);
    aml_bytes(a, s, strlen(s) + 1);
}

/* Name(NAME, ...): the caller emits the object. */
static void aml_name_op(struct aml *a, const char *name)
{
    aml_byte(a, 0x08);
    aml_name(a, name);
}

static void aml_scope_open(struct aml *a, const char *path)
{
    aml_byte(a, 0x10);
    aml_open(a);
    aml_name(a, path);
}

static void aml_device_open(struct aml *a, const char *path)
{
    aml_byte(a, 0x5B);
    aml_byte(a, 0x82);
    aml_open(a);
    aml_name(a, path);
}

/* Package(count) { ... }: the caller emits count elements and closes. */
static void aml_package_open(struct aml *a, uint8_t count)
{
    aml_byte(a, 0x12);
    aml_open(a);
    aml_byte(a, count);
}

/* Method(NAME, nargs, NotSerialized) {} */
static void aml_empty_method(struct aml *a, const char *name, uint8_t nargs)
{
    aml_byte(a, 0x14);
    aml_open(a);
    aml_name(a, name);
    aml_byte(a, nargs & 7);
    aml_close(a);
}

static void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n)
{
    aml_byte(a, 0x11);
    aml_open(a);
    aml_int(a, n);
    aml_bytes(a, bytes, n);
    aml_close(a);
}

/* EisaId("PNP0A03"): three letters in 5 bits each, then four hex digits, stored big endian. */
static uint32_t eisa_id(const char *id)
{
    uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1F) << 10 | ((id[1] - 0x40) & 0x1F) << 5 |
                                 ((id[2] - 0x40) & 0x1F));
    uint16_t product = 0;

    for (int i = 3; i < 7; i++) {
        char c = id[i];
        unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);

        product = (uint16_t)(product << 4 | (d & 0xF));
    }
    return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xFF) << 8 |
           (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xFF) << 24;
}

/* ---- resource templates (ACPI 6.x section 6.4) ------------------------------------------ */

#define RES_MAX 128

struct res {
    uint8_t b[RES_MAX];
    size_t n;
    bool bad;
};

static void res_bytes(struct res *r, const uint8_t *src, size_t n)
{
    if (r->bad || n > sizeof(r->b) - r->n) {
        r->bad = true;
        return;
    }
    memcpy(r->b + r->n, src, n);
    r->n += n;
}

/* IO(Decode16, base, base, 1, len) */
static void res_io(struct res *r, uint16_t base, uint8_t len)
{
    uint8_t d[8] = {0x47, 0x01};

    put16(d + 2, base);
    put16(d + 4, base);
    d[6] = 1;
    d[7] = len;
    res_bytes(r, d, sizeof(d));
}

/* IRQNoFlags() { irq } */
static void res_irq_noflags(struct res *r, unsigned irq)
{
    uint8_t d[3] = {0x22};

    put16(d + 1, (uint16_t)(1u << irq));
    res_bytes(r, d, sizeof(d));
}

/* Interrupt(ResourceConsumer, Level, ActiveHigh, Shared) { gsi } */
static void res_ext_irq_level_high(struct res *r, uint32_t gsi)
{
    uint8_t d[9] = {0x89, 0x06, 0x00, 0x01 | 0x08, 1};

    put32(d + 5, gsi);
    res_bytes(r, d, sizeof(d));
}

/* WordBusNumber / WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode). */
static void res_word(struct res *r, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
    uint8_t d[16] = {0x88, 0x0D, 0x00, type, 0x0C, type_flags};

    put16(d + 6, 0);
    put16(d + 8, min);
    put16(d + 10, max);
    put16(d + 12, 0);
    put16(d + 14, (uint16_t)(max - min + 1));
    res_bytes(r, d, sizeof(d));
}

/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite). */
static void res_dword_mem(struct res *r, uint32_t min, uint32_t max)
{
    uint8_t d[26] = {0x87, 0x17, 0x00, 0x00, 0x0C, 0x01};

    put32(d + 6, 0);
    put32(d + 10, min);
    put32(d + 14, max);
    put32(d + 18, 0);
    put32(d + 22, max - min + 1);
    res_bytes(r, d, sizeof(d));
}

static void res_end(struct res *r)
{
    static const uint8_t end[2] = {0x79, 0x00}; /* checksum 0: "treat as correct" */

    res_bytes(r, end, sizeof(end));
}

static void aml_res(struct aml *a, const char *name, struct res *r)
{
    res_end(r);
    if (r->bad) {
        a->bad = true;
        return;
    }
    aml_name_op(a, name);
    aml_buffer(a, r->b, r->n);
}

/* ---- the DSDT ----------------------------------------------------------------------------- */

static void dsdt_pci_root(struct aml *a)
{
    struct res r = {.n = 0};

    aml_device_open(a, "PCI0");
    aml_name_op(a, "_HID");
    aml_int(a, eisa_id("PNP0A03"));
    aml_name_op(a, "_UID");
    aml_int(a, 0);
    aml_name_op(a, "_BBN");
    aml_int(a, 0);
    res_word(&r, 2, 0x00, 0x0000, 0x00FF); /* buses 0-255 */
    res_io(&r, 0x0CF8, 8);                 /* the configuration ports themselves */
    res_word(&r, 1, 0x03, 0x0000, 0x0CF7); /* legacy IO below them */
    res_word(&r, 1, 0x03, VMM_PCI_IO_BASE, VMM_PCI_IO_END);
    res_dword_mem(&r, VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_END);
    aml_res(a, "_CRS", &r);

    /* _PRT: every slot's four pins to the links (the PIRQ swizzle of platform.h). */
    aml_name_op(a, "_PRT");
    aml_package_open(a, 31 * 4);
    for (unsigned slot = 1; slot < 32; slot++) {
        for (unsigned pin = 1; pin <= 4; pin++) {
            char link[5] = {'L', 'N', 'K', (char)('A' + VMM_PCI_INTX_LINK(slot, pin)), '\0'};

            aml_package_open(a, 4);
            aml_int(a, (uint64_t)slot << 16 | 0xFFFF);
            aml_int(a, pin - 1);
            aml_name(a, link);
            aml_int(a, 0);
            aml_close(a);
        }
    }
    aml_close(a);
    aml_close(a);
}

/* Interrupt link devices: each has one possible (and current) IRQ, level and active high;
 * _SRS accepts the only choice. */
static void dsdt_links(struct aml *a)
{
    for (unsigned l = 0; l < VMM_PCI_LINKS; l++) {
        char name[5] = {'L', 'N', 'K', (char)('A' + l), '\0'};
        struct res r = {.n = 0};

        res_ext_irq_level_high(&r, VMM_PCI_LINK_IRQ(l));
        aml_device_open(a, name);
        aml_name_op(a, "_HID");
        aml_int(a, eisa_id("PNP0C0F"));
        aml_name_op(a, "_UID");
        aml_int(a, l + 1);
        aml_res(a, "_PRS", &r);
        r.n = 0;
        res_ext_irq_level_high(&r, VMM_PCI_LINK_IRQ(l));
        aml_res(a, "_CRS", &r);
        aml_empty_method(a, "_SRS", 1);
        aml_close(a);
    }
}

/* The i8042 (so Linux probes it through PNP, as on a PC with firmware). */
static void dsdt_kbd(struct aml *a)
{
    struct res r = {.n = 0};

    aml_device_open(a, "KBD");
    aml_name_op(a, "_HID");
    aml_int(a, eisa_id("PNP0303"));
    res_io(&r, 0x60, 1);
    res_io(&r, 0x64, 1);
    res_irq_noflags(&r, 1);
    aml_res(a, "_CRS", &r);
    aml_close(a);
}

/* pvpanic: Linux's pvpanic driver reads the port for the events it may send, then writes
 * "panicked" there from its panic notifier. */
static void dsdt_pvpanic(struct aml *a)
{
    struct res r = {.n = 0};

    aml_device_open(a, "PEVT");
    aml_name_op(a, "_HID");
    aml_string(a, "QEMU0001");
    res_io(&r, VMM_PVPANIC_PORT, 1);
    aml_res(a, "_CRS", &r);
    aml_close(a);
}

static void dsdt_body(struct aml *a)
{
    /* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. */
    aml_name_op(a, "_S5");
    aml_package_open(a, 4);
    aml_int(a, VMM_ACPI_S5_TYP);
    aml_int(a, VMM_ACPI_S5_TYP);
    aml_int(a, 0);
    aml_int(a, 0);
    aml_close(a);

    aml_scope_open(a, "\\_SB");
    aml_device_open(a, "CPU0");
    aml_name_op(a, "_HID");
    aml_string(a, "ACPI0007");
    aml_name_op(a, "_UID");
    aml_int(a, 0);
    aml_close(a);
    dsdt_links(a);
    dsdt_pci_root(a);
    dsdt_kbd(a);
    dsdt_pvpanic(a);
    aml_close(a);
}

/* ---- the tables --------------------------------------------------------------------------- */

struct tables {
    uint8_t *buf;
    size_t len;
    uint64_t base;
    size_t pos;
};

/* Space for one table: aligned, zeroed; NULL when it does not fit. */
static uint8_t *take(struct tables *t, size_t size, size_t align, uint64_t *gpa)
{
    size_t start = (size_t)ALIGN_UP(t->pos, align);

    if (start > t->len || size > t->len - start) {
        return NULL;
    }
    memset(t->buf + start, 0, size);
    t->pos = start + size;
    *gpa = t->base + start;
    return t->buf + start;
}

static void header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(p, sig, 4);
    put32(p + 4, len);
    p[8] = rev;
    memcpy(p + 10, ACPI_OEM_ID, 6);
    memcpy(p + 16, ACPI_OEM_TABLE, 8);
    put32(p + 24, 1);
    memcpy(p + 28, ACPI_CREATOR_ID, 4);
    put32(p + 32, 1);
    p[9] = 0;
    p[9] = (uint8_t)-vmm_acpi_sum(p, len);
}

/* A Generic Address Structure in system IO space. */
static void gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
    p[0] = 1;
    p[1] = bits;
    p[2] = 0;
    p[3] = access;
    put64(p + 4, port);
}

static int build_fadt(uint8_t *f, uint64_t facs, uint64_t dsdt)
{
    /* WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (no fixed buttons), FIX_RTC, TMR_VAL_EXT,
     * RESET_REG_SUP. */
    const uint32_t flags =
        (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 10);

    put32(f + 36, (uint32_t)facs);
    put32(f + 40, (uint32_t)dsdt);
    put16(f + 46, VMM_ACPI_SCI_IRQ);
    /* SMI_CMD 0: always in ACPI mode, nothing to enable. */
    put32(f + 56, VMM_ACPI_PM1A_EVT);
    put32(f + 64, VMM_ACPI_PM1A_CNT);
    put32(f + 76, VMM_ACPI_PM_TMR);
    f[88] = 4;           /* PM1_EVT_LEN */
    f[89] = 2;           /* PM1_CNT_LEN */
    f[91] = 4;           /* PM_TMR_LEN */
    put16(f + 96, 101);  /* P_LVL2_LAT > 100: no C2 */
    put16(f + 98, 1001); /* P_LVL3_LAT > 1000: no C3 */
    f[108] = 0x32;       /* CENTURY: the RTC's CMOS index */
    /* IAPC_BOOT_ARCH: legacy devices, an 8042, no VGA (0xA0000 is a hole). */
    put16(f + 109, (1u << 0) | (1u << 1) | (1u << 2));
    put32(f + 112, flags);
    gas_io(f + 116, VMM_ACPI_RESET_PORT, 8, 1);
    f[128] = VMM_ACPI_RESET_VALUE;
    put64(f + 132, facs);
    put64(f + 140, dsdt);
    gas_io(f + 148, VMM_ACPI_PM1A_EVT, 32, 0);
    gas_io(f + 172, VMM_ACPI_PM1A_CNT, 16, 0);
    gas_io(f + 208, VMM_ACPI_PM_TMR, 32, 0);
    header(f, "FACP", ACPI_FADT_LEN, 3);
    return 0;
}

static size_t madt_len(void)
{
    /* LAPIC, IOAPIC, IRQ0 override, the level-triggered overrides, LAPIC NMI. */
    return ACPI_HDR_LEN + 8 + 8 + 12 + 10 + 3 * 10 + 6;
}

static void madt_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    e[0] = 2;
    e[1] = 10;
    e[2] = 0; /* ISA */
    e[3] = irq;
    put32(e + 4, gsi);
    put16(e + 8, flags);
}

static void build_madt(uint8_t *m)
{
    static const uint8_t level_irqs[] = {VMM_ACPI_SCI_IRQ, VMM_PCI_IRQ_A, VMM_PCI_IRQ_C};
    uint8_t *e = m + ACPI_HDR_LEN + 8;

    _Static_assert(VMM_ACPI_SCI_IRQ != VMM_PCI_IRQ_A && VMM_ACPI_SCI_IRQ != VMM_PCI_IRQ_C &&
                       VMM_PCI_IRQ_A != VMM_PCI_IRQ_C,
                   "one override per level-triggered line");
    put32(m + ACPI_HDR_LEN, VMM_LAPIC_BASE);
    put32(m + ACPI_HDR_LEN + 4, 1); /* PCAT_COMPAT: there is an 8259 pair too */
    /* Processor local APIC: UID 0, APIC ID, enabled. */
    e[0] = 0;
    e[1] = 8;
    e[2] = 0;
    e[3] = VMM_LAPIC_ID;
    put32(e + 4, 1);
    e += 8;
    /* IOAPIC */
    e[0] = 1;
    e[1] = 12;
    e[2] = VMM_IOAPIC_ID;
    put32(e + 4, VMM_IOAPIC_BASE);
    put32(e + 8, VMM_IOAPIC_GSI_BASE);
    e += 12;
    /* IRQ 0 -> GSI 2, bus-conforming polarity and trigger (edge, high). */
    madt_iso(e, 0, VMM_ISA_IRQ0_GSI, 0);
    e += 10;
    /* Level, active high (flags: polarity 01 high, trigger 11 level). */
    for (size_t i = 0; i < ARRAY_SIZE(level_irqs); i++) {
        madt_iso(e, level_irqs[i], level_irqs[i], 0x000D);
        e += 10;
    }
    /* LINT1 of every processor is NMI. */
    e[0] = 4;
    e[1] = 6;
    e[2] = 0xFF;
    put16(e + 3, 0);
    e[5] = 1;
    header(m, "APIC", (uint32_t)madt_len(), 3);
}

static int build_dsdt(struct tables *t, struct vmm_acpi_layout *out)
{
    size_t start = (size_t)ALIGN_UP(t->pos, 16);
    struct aml a;
    uint8_t *d;

    if (start > t->len || t->len - start < ACPI_HDR_LEN) {
        return -ENOSPC;
    }
    d = t->buf + start;
    memset(&a, 0, sizeof(a));
    a.p = d + ACPI_HDR_LEN;
    a.cap = t->len - start - ACPI_HDR_LEN;
    dsdt_body(&a);
    if (a.bad || a.depth != 0) {
        return a.full ? -ENOSPC : -EINVAL;
    }
    out->dsdt = t->base + start;
    out->dsdt_len = (uint32_t)(ACPI_HDR_LEN + a.len);
    memset(d, 0, ACPI_HDR_LEN);
    header(d, "DSDT", out->dsdt_len, 2);
    t->pos = start + out->dsdt_len;
    return 0;
}

int vmm_acpi_build(uint8_t *buf, size_t len, uint64_t base, struct vmm_acpi_layout *out)
{
    struct tables t = {buf, len, base, 0};
    uint8_t *rsdp, *facs, *rsdt, *xsdt, *fadt, *madt;
    int rc;

    memset(out, 0, sizeof(*out));
    if (base % 16 != 0 || base + len > 0x100000000ull || base + len < base) {
        return -EINVAL;
    }
    memset(buf, 0, len); /* the gaps between tables too: the same input, the same bytes */
    rsdp = take(&t, ACPI_RSDP_LEN, 16, &out->rsdp);
    facs = take(&t, ACPI_FACS_LEN, 64, &out->facs);
    rsdt = take(&t, ACPI_HDR_LEN + 2 * 4, 16, &out->rsdt);
    xsdt = take(&t, ACPI_HDR_LEN + 2 * 8, 16, &out->xsdt);
    fadt = take(&t, ACPI_FADT_LEN, 16, &out->fadt);
    madt = take(&t, madt_len(), 16, &out->madt);
    if (rsdp == NULL || facs == NULL || rsdt == NULL || xsdt == NULL || fadt == NULL ||
        madt == NULL) {
        return -ENOSPC;
    }
    rc = build_dsdt(&t, out);
    if (rc != 0) {
        return rc;
    }
    out->end = t.base + t.pos;

    memcpy(facs, "FACS", 4);
    put32(facs + 4, ACPI_FACS_LEN);
    facs[32] = 1; /* version (ACPI 2.0 layout); no checksum in the FACS */

    build_fadt(fadt, out->facs, out->dsdt);
    build_madt(madt);

    put32(rsdt + ACPI_HDR_LEN, (uint32_t)out->fadt);
    put32(rsdt + ACPI_HDR_LEN + 4, (uint32_t)out->madt);
    header(rsdt, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
    put64(xsdt + ACPI_HDR_LEN, out->fadt);
    put64(xsdt + ACPI_HDR_LEN + 8, out->madt);
    header(xsdt, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);

    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, ACPI_OEM_ID, 6);
    rsdp[15] = 2; /* ACPI 2.0+: RSDT and XSDT */
    put32(rsdp + 16, (uint32_t)out->rsdt);
    put32(rsdp + 20, ACPI_RSDP_LEN);
    put64(rsdp + 24, out->xsdt);
    rsdp[8] = (uint8_t)-vmm_acpi_sum(rsdp, 20);
    rsdp[32] = (uint8_t)-vmm_acpi_sum(rsdp, ACPI_RSDP_LEN);
    return 0;
}

int vmm_acpi_install(struct vmm_vm *vm, uint64_t *rsdp)
{
    const size_t len = VMM_ACPI_TABLES_END - VMM_ACPI_TABLES_BASE;
    struct vmm_acpi_layout lay;
    uint8_t *buf = vmm_host()->zalloc(len);
    int rc;

    if (buf == NULL) {
        return -ENOMEM;
    }
    rc = vmm_acpi_build(buf, len, VMM_ACPI_TABLES_BASE, &lay);
    if (rc == 0) {
        rc = gmem_write(&vm->mem, VMM_ACPI_TABLES_BASE, buf, (size_t)(lay.end - lay.rsdp));
    }
    vmm_host()->free(buf);
    if (rc != 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "ACPI tables not written (%d)", rc);
        return rc;
    }
    rc = vmm_acpi_pm_create(vm);
    if (rc == 0 || rc == -EEXIST) {
        rc = vmm_pvpanic_create(vm);
    }
    if (rc != 0 && rc != -EEXIST) {
        LOG_VM(VMM, LOG_LVL_ERROR, vm->name, "ACPI PM registers or pvpanic not added (%d)", rc);
        return rc;
    }
    *rsdp = lay.rsdp;
    LOG_VM(VMM, LOG_LVL_DEBUG, vm->name, "ACPI tables at %#llx-%#llx (DSDT %u bytes)",
           (unsigned long long)lay.rsdp, (unsigned long long)lay.end, lay.dsdt_len);
    return 0;
}
