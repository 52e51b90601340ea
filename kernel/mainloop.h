/* The appliance's main loop (ARCHITECTURE.md, "The main loop"). */
#ifndef PETREL_MAINLOOP_H
#define PETREL_MAINLOOP_H

#include "types.h"

/* A function the main loop calls on every pass (network stack timers, console, ...). */
struct poll_hook {
    void (*fn)(void *ctx);
    void *ctx;
    const char *name;
    struct poll_hook *next;
};

void mainloop_add_poll(struct poll_hook *h);
NORETURN void mainloop_run(void);

struct mainloop_stats {
    uint64_t passes;
    uint64_t halts;
    uint64_t work_items;
    uint64_t timers_run;
    uint64_t idle_ns; /* time halted, waiting for an interrupt */
    uint64_t vcpu_ns; /* time in vmm_run: guests and their exits */
};
void mainloop_get_stats(struct mainloop_stats *out);

#endif
