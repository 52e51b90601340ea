/* Local APIC: enable, EOI, and the periodic timer that drives the main loop's tick. */
#include "lapic.h"
#include "pit.h"
#include "../kernel/cpu.h"
#include "../kernel/log.h"

#define MSR_APIC_BASE    0x1B
#define APIC_BASE_ENABLE (1u << 11)
#define REG_ID           0x020
#define REG_VERSION      0x030
#define REG_TPR          0x080
#define REG_EOI          0x0B0
#define REG_SVR          0x0F0
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

static volatile uint32_t *g_lapic;
static uint64_t g_lapic_phys;

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

    wr(REG_TPR, 0);
    wr(REG_LVT_TIMER, LVT_MASKED);
    wr(REG_LVT_LINT0, LVT_MASKED);
    wr(REG_LVT_LINT1, LVT_MASKED);
    wr(REG_LVT_ERROR, LVT_MASKED);
    wr(REG_SVR, 0x100u | spurious_vector); /* software enable */
    LOG_INFO(APIC, "local APIC id %u version %#x at 0x%llx", drv_lapic_id(), rd(REG_VERSION) & 0xFF,
             (unsigned long long)g_lapic_phys);
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
