/* Local APIC: enable, EOI, the periodic timer that drives the main loop's tick, and IPIs (the
 * INIT-SIPI-SIPI that starts the application processors, fixed IPIs between CPUs). */
#include "lapic.h"
#include "pit.h"
#include "../kernel/cpu.h"
#include "../kernel/log.h"
#include "../kernel/timer.h"

#define MSR_APIC_BASE    0x1B
#define APIC_BASE_ENABLE (1u << 11)
#define REG_ID           0x020
#define REG_VERSION      0x030
#define REG_TPR          0x080
#define REG_EOI          0x0B0
#define REG_SVR          0x0F0
#define REG_ICR_LO       0x300
#define REG_ICR_HI       0x310
#define REG_LVT_TIMER    0x320
#define REG_LVT_LINT0    0x350
#define REG_LVT_LINT1    0x360
#define REG_LVT_ERROR    0x370
#define REG_TIMER_INIT   0x380
#define REG_TIMER_CUR    0x390
#define REG_TIMER_DIV    0x3E0
#define LVT_MASKED       (1u << 16)
#define TIMER_DIV_16     0x3
#define CALIBRATE_US     10000
/* ICR low word: delivery mode, level, destination shorthand; delivery status (read-only). */
#define ICR_FIXED        (0u << 8)
#define ICR_INIT         (5u << 8)
#define ICR_STARTUP      (6u << 8)
#define ICR_PENDING      (1u << 12)
#define ICR_ASSERT       (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
/* An IPI is accepted within a few bus cycles; a status still pending after this is a stuck
 * APIC, not a busy one. */
#define ICR_WAIT_US 1000

static volatile uint32_t *g_lapic;
static uint64_t g_lapic_phys;
static uint8_t g_spurious; /* the BSP's, which every AP uses too */

static uint32_t rd(uint32_t reg)
{
    return g_lapic[reg / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
    g_lapic[reg / 4] = v;
}

uint64_t drv_lapic_base(void)
{
    return g_lapic_phys;
}

/* Accept every priority, nothing local (timer, LINT0/1, errors) until asked, and software
 * enable: the same on every CPU. */
static void setup_regs(void)
{
    wr(REG_TPR, 0);
    wr(REG_LVT_TIMER, LVT_MASKED);
    wr(REG_LVT_LINT0, LVT_MASKED);
    wr(REG_LVT_LINT1, LVT_MASKED);
    wr(REG_LVT_ERROR, LVT_MASKED);
    wr(REG_SVR, 0x100u | g_spurious); /* software enable */
}

int drv_lapic_init(uint8_t spurious_vector)
{
    uint32_t a;
    uint32_t b;
    uint32_t c;
    uint32_t d;
    uint64_t base;

    cpuid(1, 0, &a, &b, &c, &d);
    if (!(d & (1u << 9))) {
        LOG_ERROR(APIC, "CPU has no local APIC");
        return -ENODEV;
    }
    base = rdmsr(MSR_APIC_BASE);
    g_lapic_phys = base & 0xFFFFFF000ULL;
    if (g_lapic_phys >= GiB(4)) {
        LOG_ERROR(APIC, "LAPIC at %#llx is outside the identity map",
                  (unsigned long long)g_lapic_phys);
        return -ENODEV;
    }
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    g_lapic = (volatile uint32_t *)(uintptr_t)g_lapic_phys;
    g_spurious = spurious_vector;
    setup_regs();
    LOG_INFO(APIC, "local APIC id %u version %#x at 0x%llx", drv_lapic_id(), rd(REG_VERSION) & 0xFF,
             (unsigned long long)g_lapic_phys);
    return 0;
}

int drv_lapic_init_ap(void)
{
    uint64_t base;

    if (g_lapic == NULL) {
        return -ENODEV;
    }
    /* Every CPU sees its own APIC at the same address; one that moved its window (firmware)
     * would not be reached through g_lapic. */
    base = rdmsr(MSR_APIC_BASE);
    if ((base & 0xFFFFFF000ULL) != g_lapic_phys) {
        return -ENODEV;
    }
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    setup_regs();
    return 0;
}

uint32_t drv_lapic_id(void)
{
    return g_lapic != NULL ? rd(REG_ID) >> 24 : 0;
}

void drv_lapic_eoi(void)
{
    wr(REG_EOI, 0);
}

uint64_t drv_lapic_timer_calibrate(void)
{
    uint32_t start = 0xFFFFFFFFu;
    uint64_t tsc_ticks;
    uint32_t elapsed;

    wr(REG_TIMER_DIV, TIMER_DIV_16);
    wr(REG_LVT_TIMER, LVT_MASKED);
    wr(REG_TIMER_INIT, start);
    tsc_ticks = drv_pit_measure_tsc(CALIBRATE_US);
    elapsed = start - rd(REG_TIMER_CUR);
    wr(REG_TIMER_INIT, 0);
    if (tsc_ticks == 0 || elapsed == 0) {
        return 0;
    }
    return (uint64_t)elapsed * (1000000 / CALIBRATE_US);
}

void drv_lapic_timer_oneshot(uint8_t vector)
{
    wr(REG_TIMER_DIV, TIMER_DIV_16);
    wr(REG_LVT_TIMER, vector);
    LOG_DEBUG(APIC, "timer one-shot on vector %u", vector);
}

void drv_lapic_timer_arm(uint32_t count)
{
    wr(REG_TIMER_INIT, count != 0 ? count : 1);
}

/* Bounded wait for the previous IPI to leave this APIC. */
static int icr_wait_idle(void)
{
    for (uint32_t us = 0; us < ICR_WAIT_US; us++) {
        if (!(rd(REG_ICR_LO) & ICR_PENDING)) {
            return 0;
        }
        timer_udelay(1);
    }
    return (rd(REG_ICR_LO) & ICR_PENDING) ? -ETIMEDOUT : 0;
}

/* One ICR write, interrupts off: a handler that sent an IPI between the two halves would
 * leave its destination in ICR_HI for ours. */
static int icr_send(uint32_t apic_id, uint32_t low)
{
    uint64_t flags;
    int rc;

    if (g_lapic == NULL) {
        return -ENODEV;
    }
    flags = irq_save();
    rc = icr_wait_idle();
    if (rc == 0) {
        wr(REG_ICR_HI, apic_id << 24);
        wr(REG_ICR_LO, low); /* this write sends */
        rc = icr_wait_idle();
    }
    irq_restore(flags);
    return rc;
}

int drv_lapic_send_init_all(void)
{
    return icr_send(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
}

int drv_lapic_send_sipi_all(uint8_t page)
{
    return icr_send(0, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | page);
}

int drv_lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    if (apic_id > 0xFF || vector < 32) {
        return -EINVAL; /* xAPIC destinations are 8 bits; vectors below 32 are exceptions */
    }
    return icr_send(apic_id, ICR_ASSERT | ICR_FIXED | vector);
}
