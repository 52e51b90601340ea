/* lwIP's system layer for NO_SYS=1: the millisecond clock, randomness, diagnostics, asserts. */
#include "lwip/opt.h"
#include "lwip/sys.h"

#include "../../kernel/cpu.h"
#include "../../kernel/lib.h"
#include "../../kernel/log.h"
#include "../../kernel/timer.h"
#include "../../kernel/trap.h"

/* lwIP's timers and TCP's RTT estimates run on this clock. It wraps every 49.7 days; lwIP
 * compares times with unsigned differences, which is correct across the wrap. */
u32_t sys_now(void)
{
    return (u32_t)(now_ns() / 1000000u);
}

/* splitmix64's finaliser: spreads the few changing low bits of the TSC over the whole word. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t net_lwip_rand(void)
{
    static uint64_t state;

    /* A Weyl sequence keeps successive values distinct even if the TSC were stuck. */
    state += 0x9e3779b97f4a7c15ull ^ rdtsc();
    return (uint32_t)(mix64(state) >> 32);
}

/* lwIP's debug output arrives in fragments (one LWIP_DEBUGF may print half a line); collect
 * them and log one record per line. A line longer than the buffer is logged in pieces. */
static char g_diag_line[LOG_TEXT_MAX];
static size_t g_diag_len;

static void diag_flush(void)
{
    if (g_diag_len > 0) {
        g_diag_line[g_diag_len] = '\0';
        LOG_DEBUG(NET, "lwip: %s", g_diag_line);
        g_diag_len = 0;
    }
}

void net_lwip_diag(const char *fmt, ...)
{
    char text[LOG_TEXT_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    for (size_t i = 0; i < sizeof(text) && text[i] != '\0'; i++) {
        if (text[i] == '\n') {
            diag_flush();
            continue;
        }
        if (g_diag_len == sizeof(g_diag_line) - 1) {
            diag_flush();
        }
        g_diag_line[g_diag_len++] = text[i];
    }
}

void net_lwip_assert(const char *msg, const char *file, int line)
{
    diag_flush();
    panic("lwIP assertion failed: %s (%s:%d)", msg, file, line);
}
