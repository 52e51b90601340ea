/* The log subsystem: per-component levels, a ring of recent lines, and sinks.
 *
 * Every component logs through LOG_ERROR/WARN/INFO/DEBUG/TRACE(COMP, fmt, ...). A line is kept
 * when its level is at or below the component's current level; the default level of every
 * component is info, raised at build time (make DEBUG_PIT=1, DEBUG_ALL=1: see Makefile) and
 * changed at run time by the command line (log=pit:debug,vnet:info) or the console.
 * Kept lines go into the ring (readers follow it by sequence number and can tell what they
 * missed) and to every registered sink (the serial port now, network streams later). */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include "types.h"

#define LOG_COMPONENTS(X)                                                                          \
    X(BOOT, boot)                                                                                  \
    X(MM, mm)                                                                                      \
    X(IRQ, irq)                                                                                    \
    X(TIMER, timer)                                                                                \
    X(PCI, pci)                                                                                    \
    X(NET, net)                                                                                    \
    X(DRV, drv)                                                                                    \
    X(VMM, vmm)                                                                                    \
    X(SVM, svm)                                                                                    \
    X(NPT, npt)                                                                                    \
    X(EXIT, exit)                                                                                  \
    X(IO, io)                                                                                      \
    X(PIC, pic)                                                                                    \
    X(PIT, pit)                                                                                    \
    X(RTC, rtc)                                                                                    \
    X(UART, uart)                                                                                  \
    X(KBD, kbd)                                                                                    \
    X(APIC, apic)                                                                                  \
    X(EMU, emu)                                                                                    \
    X(VNET, vnet)                                                                                  \
    X(CONSOLE, console)                                                                            \
    X(TEST, test)

enum log_comp {
#define LOG_COMP_ENUM(up, low) LOG_COMP_##up,
    LOG_COMPONENTS(LOG_COMP_ENUM)
#undef LOG_COMP_ENUM
        LOG_COMP_COUNT
};

enum log_level {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN = 1,
    LOG_LVL_INFO = 2,
    LOG_LVL_DEBUG = 3,
    LOG_LVL_TRACE = 4,
    LOG_LVL_COUNT
};

#define LOG_TEXT_MAX 200
#define LOG_VM_MAX   16

struct log_record {
    uint64_t seq;
    uint64_t time_ns;
    uint8_t comp;
    uint8_t level;
    char vm[LOG_VM_MAX];
    char text[LOG_TEXT_MAX];
};

/* A ring of the last `cap` records. Sequence numbers start at 1 and never repeat. */
struct log_ring {
    struct log_record *recs;
    size_t cap;
    uint64_t next_seq;
};

void log_ring_init(struct log_ring *r, struct log_record *storage, size_t cap);
/* Appends a record (seq is assigned) and returns its sequence number. */
uint64_t log_ring_push(struct log_ring *r, const struct log_record *rec);
/* Oldest sequence number still held (== next_seq when empty). */
uint64_t log_ring_first_seq(const struct log_ring *r);
/* Reads the record `*seq`. If it was overwritten, *dropped gets how many were lost and *seq
 * moves to the oldest held. Returns 0 on success (and *seq advances), -EAGAIN when there is no
 * such record yet. */
int log_ring_read(const struct log_ring *r, uint64_t *seq, struct log_record *out,
                  uint64_t *dropped);

typedef void (*log_sink_fn)(void *ctx, const struct log_record *rec);
typedef uint64_t (*log_clock_fn)(void);

/* Global log state. log_init is safe to call before anything else exists. */
void log_init(void);
void log_set_clock(log_clock_fn fn);
int log_add_sink(log_sink_fn fn, void *ctx);
bool log_enabled(enum log_comp comp, enum log_level level);
void log_set_level(enum log_comp comp, enum log_level level);
enum log_level log_get_level(enum log_comp comp);
void log_write(enum log_comp comp, enum log_level level, const char *vm, const char *fmt, ...)
    PRINTF_FMT(4, 5);
void log_vwrite(enum log_comp comp, enum log_level level, const char *vm, const char *fmt,
                va_list ap);
struct log_ring *log_global_ring(void);
/* Records a line in the ring without handing it to the sinks (the fault dump prints on the
 * serial port itself and must not depend on the sinks). */
void log_record_only(enum log_comp comp, enum log_level level, const char *text);

const char *log_comp_name(enum log_comp comp);
const char *log_level_name(enum log_level level);
int log_comp_parse(const char *name, enum log_comp *out);
int log_level_parse(const char *name, enum log_level *out);
/* Applies a spec like "pit:debug,vnet:info" or "all:debug". Stops at the first bad item and
 * returns -EINVAL; err (if given) names it. Items before it stay applied. */
int log_apply_spec(const char *spec, char *err, size_t errlen);
/* Formats a record as "   12.345678 comp  level [vm] text" (no newline). */
int log_format(const struct log_record *rec, char *buf, size_t len);

#define LOG_AT(c, lvl, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(LOG_COMP_##c, lvl)) {                                                      \
            log_write(LOG_COMP_##c, lvl, NULL, __VA_ARGS__);                                       \
        }                                                                                          \
    } while (0)

#define LOG_ERROR(c, ...) LOG_AT(c, LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_WARN(c, ...)  LOG_AT(c, LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(c, ...)  LOG_AT(c, LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(c, ...) LOG_AT(c, LOG_LVL_DEBUG, __VA_ARGS__)
#define LOG_TRACE(c, ...) LOG_AT(c, LOG_LVL_TRACE, __VA_ARGS__)

/* The same for lines about one VM, which the log stream shows in its [vm] column. */
#define LOG_VM(c, lvl, vm, ...)                                                                    \
    do {                                                                                           \
        if (log_enabled(LOG_COMP_##c, lvl)) {                                                      \
            log_write(LOG_COMP_##c, lvl, vm, __VA_ARGS__);                                         \
        }                                                                                          \
    } while (0)

#endif
