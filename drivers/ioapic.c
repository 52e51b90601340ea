/* IOAPIC: every pin starts masked; drivers ask kernel/irq.c for a route, which lands here. */
#include "ioapic.h"
#include "lapic.h"
#include "../kernel/log.h"

#define REG_SEL    0x00
#define REG_WIN    0x10
#define IOAPICID   0x00
#define IOAPICVER  0x01
#define REDTBL(n)  (0x10 + 2 * (n))
#define RTE_MASKED (1u << 16)
#define RTE_LEVEL  (1u << 15)
#define RTE_LOW    (1u << 13)

static volatile uint32_t *g_ioapic;
static unsigned g_pins;

static uint32_t rd(uint32_t reg)
{
    g_ioapic[REG_SEL / 4] = reg;
    return g_ioapic[REG_WIN / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
    g_ioapic[REG_SEL / 4] = reg;
    g_ioapic[REG_WIN / 4] = v;
}

int drv_ioapic_init(uint64_t phys)
{
    uint32_t ver;

    if (phys == 0 || phys >= GiB(4)) {
        return -EINVAL;
    }
    g_ioapic = (volatile uint32_t *)(uintptr_t)phys;
    ver = rd(IOAPICVER);
    if (ver == 0xFFFFFFFFu) {
        g_ioapic = NULL;
        LOG_ERROR(APIC, "no IOAPIC answers at %#llx", (unsigned long long)phys);
        return -ENODEV;
    }
    g_pins = ((ver >> 16) & 0xFF) + 1;
    for (unsigned i = 0; i < g_pins; i++) {
        wr(REDTBL(i), RTE_MASKED);
        wr(REDTBL(i) + 1, 0);
    }
    LOG_INFO(APIC, "IOAPIC id %u version %#x, %u pins at %#llx", (rd(IOAPICID) >> 24) & 0xF,
             ver & 0xFF, g_pins, (unsigned long long)phys);
    return 0;
}

unsigned drv_ioapic_pins(void)
{
    return g_pins;
}

int drv_ioapic_route(unsigned pin, uint8_t vector, bool level, bool active_low)
{
    uint32_t lo = vector;

    if (g_ioapic == NULL || pin >= g_pins || vector < 32) {
        return -EINVAL;
    }
    if (level) {
        lo |= RTE_LEVEL;
    }
    if (active_low) {
        lo |= RTE_LOW;
    }
    wr(REDTBL(pin) + 1, drv_lapic_id() << 24);
    wr(REDTBL(pin), lo);
    LOG_DEBUG(APIC, "IOAPIC pin %u -> vector %u (%s, active %s)", pin, vector,
              level ? "level" : "edge", active_low ? "low" : "high");
    return 0;
}

int drv_ioapic_mask(unsigned pin, bool masked)
{
    uint32_t lo;

    if (g_ioapic == NULL || pin >= g_pins) {
        return -EINVAL;
    }
    lo = rd(REDTBL(pin));
    lo = masked ? (lo | RTE_MASKED) : (lo & ~RTE_MASKED);
    wr(REDTBL(pin), lo);
    return 0;
}
