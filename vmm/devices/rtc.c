/* MC146818 RTC and CMOS NVRAM model: clock from the host's time, periodic/alarm/update
 * interrupts on IRQ 8, memory-size bytes (rtc.h). */
#include "rtc.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

#define RTC_SEC        0x00
#define RTC_SEC_ALARM  0x01
#define RTC_MIN        0x02
#define RTC_MIN_ALARM  0x03
#define RTC_HOUR       0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_WDAY       0x06
#define RTC_DAY        0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_REG_A      0x0A
#define RTC_REG_B      0x0B
#define RTC_REG_C      0x0C
#define RTC_REG_D      0x0D
#define RTC_CENTURY    0x32

#define REG_A_UIP  0x80
#define REG_A_DV   0x70
#define REG_A_RS   0x0F
#define REG_B_SET  0x80
#define REG_B_PIE  0x40
#define REG_B_AIE  0x20
#define REG_B_UIE  0x10
#define REG_B_DM   0x04 /* 1: binary */
#define REG_B_24H  0x02
#define REG_C_IRQF 0x80
#define REG_C_PF   0x40
#define REG_C_AF   0x20
#define REG_C_UF   0x10
#define REG_D_VRT  0x80

#define RTC_CLOCK_HZ   32768ULL
#define RTC_UIP_NS     244141ULL /* 8 cycles of the 32.768 kHz clock before each update */
#define RTC_HALF_SEC   500000000ULL
#define SECS_PER_DAY   86400
#define NS_PER_SEC_I64 1000000000LL

struct vmm_rtc {
    struct vmm_vm *vm;
    struct vmm_rtc_config cfg;
    uint8_t cmos[128];
    uint8_t index;
    bool nmi_disabled;
    bool running;     /* SET clear and divider running: the clock advances */
    int64_t base_sec; /* guest clock at base_ns (a whole second) */
    uint64_t base_ns;
    int64_t done_sec; /* last second whose update (UF, AF) was processed */
    uint64_t per_cyc; /* 32 kHz cycle up to which periodic ticks were processed */
    bool irq_level;
    uint64_t periodic;
    uint64_t periodic_coalesced;
    uint64_t irqs;
    struct vmm_dev_reg reg;
};

#define RTC_LOG(r, lvl, ...) LOG_VM(RTC, lvl, vmm_vm_name((r)->vm), __VA_ARGS__)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b != 0 && (a < 0) != (b < 0)) {
        q--;
    }
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* Days since 1970-01-01 of a civil date (the usual era-of-400-years arithmetic). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    if (m <= 2) {
        y--;
    }
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void rtc_epoch_to_tm(int64_t t, struct rtc_tm *tm)
{
    int64_t days = floor_div(t, SECS_PER_DAY);
    int64_t sod = t - days * SECS_PER_DAY;
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    tm->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    tm->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->month <= 2 ? 1 : 0);
    tm->hour = (unsigned)(sod / 3600);
    tm->min = (unsigned)(sod / 60 % 60);
    tm->sec = (unsigned)(sod % 60);
    tm->wday = (unsigned)floor_mod(days + 4, 7); /* 1970-01-01 was a Thursday */
}

int64_t rtc_tm_to_epoch(const struct rtc_tm *tm)
{
    return days_from_civil(tm->year, tm->month, tm->day) * SECS_PER_DAY + tm->hour * 3600 +
           tm->min * 60 + tm->sec;
}

static bool rtc_binary(const struct vmm_rtc *r)
{
    return r->cmos[RTC_REG_B] & REG_B_DM;
}

static uint8_t rtc_enc(const struct vmm_rtc *r, unsigned v)
{
    return rtc_binary(r) ? (uint8_t)v : devio_bin_to_bcd(v);
}

static unsigned rtc_dec(const struct vmm_rtc *r, uint8_t v)
{
    return rtc_binary(r) ? v : devio_bcd_to_bin(v);
}

static uint8_t rtc_enc_hour(const struct vmm_rtc *r, unsigned h)
{
    if (r->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_enc(r, h);
    }
    return (uint8_t)(rtc_enc(r, h % 12 == 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned rtc_dec_hour(const struct vmm_rtc *r, uint8_t v)
{
    if (r->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_dec(r, v);
    }
    return rtc_dec(r, v & 0x7F) % 12 + ((v & 0x80) ? 12 : 0);
}

static bool rtc_clock_on(const struct vmm_rtc *r)
{
    return !(r->cmos[RTC_REG_B] & REG_B_SET) && (r->cmos[RTC_REG_A] & REG_A_DV) <= 0x20;
}

static bool rtc_periodic_on(const struct vmm_rtc *r)
{
    return (r->cmos[RTC_REG_A] & REG_A_DV) <= 0x20 && (r->cmos[RTC_REG_A] & REG_A_RS) != 0;
}

static uint64_t rtc_period_cycles(const struct vmm_rtc *r)
{
    unsigned rs = r->cmos[RTC_REG_A] & REG_A_RS;

    return rs <= 2 ? 1ULL << (rs + 6) : 1ULL << (rs - 1);
}

/* Nanoseconds since base_ns (negative just after a divider release). */
static int64_t rtc_diff(const struct vmm_rtc *r, uint64_t now)
{
    return (int64_t)(now - r->base_ns);
}

static int64_t rtc_sec_now(const struct vmm_rtc *r, uint64_t now)
{
    return r->base_sec + floor_div(rtc_diff(r, now), NS_PER_SEC_I64);
}

/* Writes the time registers for guest time t in the current format. */
static void rtc_store_time(struct vmm_rtc *r, int64_t t)
{
    struct rtc_tm tm;
    int64_t year;

    rtc_epoch_to_tm(t, &tm);
    year = floor_mod(tm.year, 10000);
    r->cmos[RTC_SEC] = rtc_enc(r, tm.sec);
    r->cmos[RTC_MIN] = rtc_enc(r, tm.min);
    r->cmos[RTC_HOUR] = rtc_enc_hour(r, tm.hour);
    r->cmos[RTC_WDAY] = rtc_enc(r, tm.wday + 1);
    r->cmos[RTC_DAY] = rtc_enc(r, tm.day);
    r->cmos[RTC_MONTH] = rtc_enc(r, tm.month);
    r->cmos[RTC_YEAR] = rtc_enc(r, (unsigned)(year % 100));
    r->cmos[RTC_CENTURY] = rtc_enc(r, (unsigned)(year / 100));
}

/* The time the registers hold; out-of-range fields are clamped. */
static int64_t rtc_regs_time(const struct vmm_rtc *r)
{
    struct rtc_tm tm;

    tm.sec = MIN(rtc_dec(r, r->cmos[RTC_SEC]), 59u);
    tm.min = MIN(rtc_dec(r, r->cmos[RTC_MIN]), 59u);
    tm.hour = MIN(rtc_dec_hour(r, r->cmos[RTC_HOUR]), 23u);
    tm.day = MAX(MIN(rtc_dec(r, r->cmos[RTC_DAY]), 31u), 1u);
    tm.month = MAX(MIN(rtc_dec(r, r->cmos[RTC_MONTH]), 12u), 1u);
    tm.year = (int64_t)rtc_dec(r, r->cmos[RTC_CENTURY]) * 100 + rtc_dec(r, r->cmos[RTC_YEAR]);
    tm.wday = 0;
    return rtc_tm_to_epoch(&tm);
}

static void rtc_update_irq(struct vmm_rtc *r)
{
    bool irqf = (r->cmos[RTC_REG_C] & r->cmos[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF)) != 0;

    if (irqf) {
        r->cmos[RTC_REG_C] |= REG_C_IRQF;
    } else {
        r->cmos[RTC_REG_C] &= (uint8_t)~REG_C_IRQF;
    }
    if (irqf != r->irq_level) {
        r->irq_level = irqf;
        if (irqf) {
            r->irqs++;
        }
        (void)vmm_dev_irq_set(r->vm, r, r->cfg.irq, irqf);
    }
}

/* One alarm field: -1 for "don't care" (top two bits set). */
static int rtc_alarm_field(const struct vmm_rtc *r, unsigned reg)
{
    uint8_t v = r->cmos[reg];

    if ((v & 0xC0) == 0xC0) {
        return -1;
    }
    return (int)(reg == RTC_HOUR_ALARM ? rtc_dec_hour(r, v) : rtc_dec(r, v));
}

/* Did any second in (from, to] match the alarm? */
static bool rtc_alarm_hit(const struct vmm_rtc *r, int64_t from, int64_t to)
{
    int as = rtc_alarm_field(r, RTC_SEC_ALARM);
    int am = rtc_alarm_field(r, RTC_MIN_ALARM);
    int ah = rtc_alarm_field(r, RTC_HOUR_ALARM);

    if (as > 59 || am > 59 || ah > 23) {
        return false; /* can never match */
    }
    if (to - from >= SECS_PER_DAY) {
        return true; /* every time of day went by */
    }
    for (int64_t t = from + 1; t <= to; t++) {
        int64_t sod = floor_mod(t, SECS_PER_DAY);

        if ((as < 0 || as == sod % 60) && (am < 0 || am == sod / 60 % 60) &&
            (ah < 0 || ah == sod / 3600)) {
            return true;
        }
    }
    return false;
}

/* Brings the flags up to host time `now`. */
static void rtc_advance(struct vmm_rtc *r, uint64_t now)
{
    uint8_t flags = 0;
    uint64_t cyc = devio_ns_to_ticks(now, RTC_CLOCK_HZ);

    if (rtc_periodic_on(r)) {
        uint64_t p = rtc_period_cycles(r);

        if (cyc / p > r->per_cyc / p) {
            uint64_t ticks = cyc / p - r->per_cyc / p;

            flags |= REG_C_PF;
            r->periodic += ticks;
            r->periodic_coalesced += (r->cmos[RTC_REG_C] & REG_C_PF) ? ticks : ticks - 1;
        }
    }
    r->per_cyc = cyc;
    if (r->running) {
        int64_t sec = rtc_sec_now(r, now);

        if (sec > r->done_sec) {
            flags |= REG_C_UF;
            if (!(r->cmos[RTC_REG_C] & REG_C_AF) && rtc_alarm_hit(r, r->done_sec, sec)) {
                flags |= REG_C_AF;
            }
            r->done_sec = sec;
        }
    }
    r->cmos[RTC_REG_C] |= flags;
    rtc_update_irq(r);
}

/* The clock starts or stops (SET, divider). */
static void rtc_set_running(struct vmm_rtc *r, uint64_t now, bool on, bool half_second)
{
    if (r->running && !on) {
        rtc_store_time(r, rtc_sec_now(r, now));
    } else if (!r->running && on) {
        r->base_sec = rtc_regs_time(r);
        /* After a divider reset the first update comes half a second later. */
        r->base_ns = half_second ? now - RTC_HALF_SEC : now;
        r->done_sec = r->base_sec;
    }
    r->running = on;
}

static void rtc_write_reg(struct vmm_rtc *r, uint8_t idx, uint8_t val, uint64_t now)
{
    uint8_t old;

    switch (idx) {
    case RTC_SEC:
    case RTC_MIN:
    case RTC_HOUR:
    case RTC_WDAY:
    case RTC_DAY:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        if (!r->running) {
            r->cmos[idx] = val;
            break;
        }
        /* Setting the running clock: keep the sub-second phase. */
        rtc_store_time(r, rtc_sec_now(r, now));
        r->cmos[idx] = val;
        r->base_ns = now - (uint64_t)floor_mod(rtc_diff(r, now), NS_PER_SEC_I64);
        r->base_sec = rtc_regs_time(r);
        r->done_sec = r->base_sec;
        RTC_LOG(r, LOG_LVL_DEBUG, "clock set to %lld", (long long)r->base_sec);
        break;
    case RTC_REG_A:
        old = r->cmos[RTC_REG_A];
        r->cmos[RTC_REG_A] = val & (uint8_t)~REG_A_UIP;
        if ((old ^ val) & (REG_A_DV | REG_A_RS)) {
            r->per_cyc = devio_ns_to_ticks(now, RTC_CLOCK_HZ);
        }
        rtc_set_running(r, now, rtc_clock_on(r),
                        (old & 0x60) == 0x60 && (r->cmos[RTC_REG_A] & 0x60) != 0x60);
        break;
    case RTC_REG_B:
        if (val & REG_B_SET) {
            val &= (uint8_t)~REG_B_UIE; /* SET clears UIE */
        }
        r->cmos[RTC_REG_B] = val;
        rtc_set_running(r, now, rtc_clock_on(r), false);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        RTC_LOG(r, LOG_LVL_DEBUG, "write 0x%02x to read-only register 0x%02x ignored", val, idx);
        break;
    default:
        r->cmos[idx] = val;
        break;
    }
}

static uint8_t rtc_read_reg(struct vmm_rtc *r, uint8_t idx, uint64_t now)
{
    uint8_t v;
    int64_t sub;

    switch (idx) {
    case RTC_SEC:
    case RTC_MIN:
    case RTC_HOUR:
    case RTC_WDAY:
    case RTC_DAY:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        if (r->running) {
            rtc_store_time(r, rtc_sec_now(r, now));
        }
        return r->cmos[idx];
    case RTC_REG_A:
        v = r->cmos[RTC_REG_A];
        sub = floor_mod(rtc_diff(r, now), NS_PER_SEC_I64);
        if (r->running && sub >= NS_PER_SEC_I64 - (int64_t)RTC_UIP_NS) {
            v |= REG_A_UIP;
        }
        return v;
    case RTC_REG_C:
        v = r->cmos[RTC_REG_C];
        r->cmos[RTC_REG_C] = 0;
        rtc_update_irq(r);
        return v;
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return r->cmos[idx];
    }
}

static int rtc_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_rtc *r = dev;
    uint64_t now;

    if (port == 0x70) {
        if (write) {
            bool nmi_off = *val & 0x80;

            if (nmi_off != r->nmi_disabled) {
                RTC_LOG(r, LOG_LVL_DEBUG, "NMI %s", nmi_off ? "disabled" : "enabled");
            }
            r->nmi_disabled = nmi_off;
            r->index = *val & 0x7F;
        } else {
            *val = 0xFF; /* write only */
        }
        return VMM_HANDLED;
    }
    if (port != 0x71) {
        return VMM_NOT_MINE;
    }
    now = vmm_host()->now_ns();
    rtc_advance(r, now);
    if (write) {
        rtc_write_reg(r, r->index, *val, now);
        rtc_update_irq(r);
    } else {
        *val = rtc_read_reg(r, r->index, now);
    }
    return VMM_HANDLED;
}

static int rtc_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, rtc_byte);
}

static uint64_t rtc_poll(void *dev, uint64_t now)
{
    struct vmm_rtc *r = dev;
    uint64_t next = UINT64_MAX;

    rtc_advance(r, now);
    if (r->cmos[RTC_REG_C] & REG_C_IRQF) {
        return UINT64_MAX; /* nothing can raise IRQ 8 again before REG C is read */
    }
    if ((r->cmos[RTC_REG_B] & REG_B_PIE) && rtc_periodic_on(r)) {
        uint64_t p = rtc_period_cycles(r);

        next = devio_ticks_to_ns((r->per_cyc / p + 1) * p, RTC_CLOCK_HZ);
    }
    if ((r->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) && r->running) {
        uint64_t sub = (uint64_t)floor_mod(rtc_diff(r, now), NS_PER_SEC_I64);

        next = MIN(next, now + (DEVIO_NS_PER_SEC - sub));
    }
    return next;
}

static void rtc_set_word(struct vmm_rtc *r, uint8_t lo, uint64_t v)
{
    r->cmos[lo] = (uint8_t)v;
    r->cmos[lo + 1] = (uint8_t)(v >> 8);
}

static void rtc_cmos_init(struct vmm_rtc *r)
{
    uint64_t below = r->cfg.mem_below_4g;
    uint64_t v;
    unsigned sum = 0;

    r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz, 1024 Hz periodic rate */
    r->cmos[RTC_REG_B] = REG_B_24H;
    r->cmos[RTC_REG_D] = REG_D_VRT;
    r->cmos[0x14] = 0x02; /* equipment: FPU */
    rtc_set_word(r, 0x15, 640);
    v = below > MiB(1) ? MIN((below - MiB(1)) / KiB(1), 65535u) : 0;
    rtc_set_word(r, 0x17, v);
    rtc_set_word(r, 0x30, v);
    v = below > MiB(16) ? MIN((below - MiB(16)) / KiB(64), 65535u) : 0;
    rtc_set_word(r, 0x34, v);
    v = MIN(r->cfg.mem_above_4g / KiB(64), 0xFFFFFFu);
    r->cmos[0x5B] = (uint8_t)v;
    r->cmos[0x5C] = (uint8_t)(v >> 8);
    r->cmos[0x5D] = (uint8_t)(v >> 16);
    r->cmos[0x5F] = (uint8_t)(r->cfg.ncpus - 1);
    for (unsigned i = 0x10; i <= 0x2D; i++) {
        sum += r->cmos[i];
    }
    r->cmos[0x2E] = (uint8_t)(sum >> 8);
    r->cmos[0x2F] = (uint8_t)sum;
}

/* A guest reset: the RTC is battery backed, only the interrupt enables and flags clear. */
static void rtc_reset(void *dev)
{
    struct vmm_rtc *r = dev;

    r->cmos[RTC_REG_B] &= (uint8_t) ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | 0x08);
    r->cmos[RTC_REG_C] = 0;
    rtc_update_irq(r);
}

static void rtc_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int64_t vmm_rtc_time(struct vmm_rtc *r, uint64_t now)
{
    return r->running ? rtc_sec_now(r, now) : rtc_regs_time(r);
}

void vmm_rtc_stats(const struct vmm_rtc *r, struct vmm_rtc_stats *st)
{
    st->periodic = r->periodic;
    st->periodic_coalesced = r->periodic_coalesced;
    st->irqs = r->irqs;
}

int vmm_dev_rtc_create(struct vmm_vm *vm, const struct vmm_rtc_config *cfg, struct vmm_rtc **out)
{
    struct vmm_rtc *r;
    uint64_t now;
    int rc;

    if (cfg != NULL && cfg->irq >= 16) {
        LOG_VM(RTC, LOG_LVL_ERROR, vmm_vm_name(vm), "rtc: bad irq %u", cfg->irq);
        return -EINVAL;
    }
    r = vmm_host()->zalloc(sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->vm = vm;
    if (cfg != NULL) {
        r->cfg = *cfg;
    }
    if (r->cfg.start_epoch == 0) {
        r->cfg.start_epoch = RTC_DEFAULT_EPOCH;
    }
    if (r->cfg.irq == 0) {
        r->cfg.irq = 8;
    }
    if (r->cfg.ncpus == 0) {
        r->cfg.ncpus = 1;
    }
    rtc_cmos_init(r);
    now = vmm_host()->now_ns();
    r->base_sec = r->cfg.start_epoch;
    r->base_ns = now;
    r->done_sec = r->base_sec;
    r->running = true;
    r->per_cyc = devio_ns_to_ticks(now, RTC_CLOCK_HZ);
    rtc_store_time(r, r->base_sec);

    r->reg.name = "rtc";
    r->reg.dev = r;
    r->reg.io[0] = (struct vmm_dev_io_range){.base = 0x70, .count = 2, .fn = rtc_io};
    r->reg.nio = 1;
    r->reg.irqs[0] = (uint8_t)r->cfg.irq;
    r->reg.nirqs = 1;
    r->reg.poll = rtc_poll;
    r->reg.reset = rtc_reset;
    r->reg.destroy = rtc_destroy;
    rc = vmm_dev_register(vm, &r->reg);
    if (rc < 0) {
        LOG_VM(RTC, LOG_LVL_ERROR, vmm_vm_name(vm), "rtc: register failed: %d", rc);
        vmm_host()->free(r);
        return rc;
    }
    if (out != NULL) {
        *out = r;
    }
    return 0;
}
