/* Hosted fakes for the VMM's unit tests: a struct vmm_host on malloc (physical address ==
 * pointer, page counts tracked for leak checks, 2 MiB pages switchable off) and a fake CPU
 * (struct vmm_arch_ops) whose VMRUN runs a test-supplied function that plays the guest: it
 * fills the VMCB's exit fields as the CPU would. Include once per test program. */
#ifndef PETREL_TEST_VMM_FAKE_H
#define PETREL_TEST_VMM_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/arch.h"
#include "../../vmm/host.h"
#include "../../vmm/vm.h"
#include "log.h"

struct fake_host_state {
    size_t pages_live;       /* 4 KiB pages allocated and not freed */
    size_t allocs_live;      /* heap blocks */
    bool no_2m;              /* page_alloc_2m fails (forces the 4 KiB fallback) */
    size_t fail_pages_after; /* page_alloc fails after this many more successes (0 = never) */
    uint64_t now;
    uint64_t wakeup;        /* the last arm_wakeup deadline */
    uint64_t poll_deadline; /* what poll_deadline and busy_poll say (UINT64_MAX: not polling) */
    unsigned busy_polls;    /* busy_poll calls */
    unsigned polls_left;    /* busy_poll calls until polling ends (0: it goes on) */
    char console[8192];
    size_t console_len;
    unsigned state_changes;
    unsigned guest_enters;   /* guest_enter calls */
    unsigned guest_exits;    /* guest_exit calls */
    bool in_guest;           /* between guest_enter and guest_exit */
    unsigned vmruns_outside; /* VMRUNs not between the two */
    unsigned kicks;          /* vcpu_kick calls */
    bool elsewhere;          /* what vcpu_elsewhere says */
};

static struct fake_host_state g_fake;

static void *fake_zalloc(size_t size)
{
    void *p = calloc(1, size);

    if (p != NULL) {
        g_fake.allocs_live++;
    }
    return p;
}

static void fake_free(void *p)
{
    if (p != NULL) {
        g_fake.allocs_live--;
        free(p);
    }
}

static int fake_page_alloc(size_t npages, uint64_t *phys)
{
    void *p;

    if (g_fake.fail_pages_after != 0) {
        if (g_fake.fail_pages_after == 1) {
            return -ENOMEM;
        }
        g_fake.fail_pages_after--;
    }
    p = aligned_alloc(PAGE_SIZE, npages * PAGE_SIZE);
    if (p == NULL) {
        return -ENOMEM;
    }
    memset(p, 0xA5, npages * PAGE_SIZE); /* like recycled host memory: never zero */
    g_fake.pages_live += npages;
    *phys = (uint64_t)(uintptr_t)p;
    return 0;
}

static int fake_page_alloc_2m(uint64_t *phys)
{
    void *p;

    if (g_fake.no_2m) {
        return -ENOMEM;
    }
    p = aligned_alloc(PAGE_SIZE_2M, PAGE_SIZE_2M);
    if (p == NULL) {
        return -ENOMEM;
    }
    memset(p, 0xA5, PAGE_SIZE_2M);
    g_fake.pages_live += 512;
    *phys = (uint64_t)(uintptr_t)p;
    return 0;
}

static void fake_page_free(uint64_t phys, size_t npages)
{
    g_fake.pages_live -= npages;
    free((void *)(uintptr_t)phys);
}

static void *fake_p2v(uint64_t phys)
{
    return (void *)(uintptr_t)phys;
}

static uint64_t fake_v2p(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static uint64_t fake_now(void)
{
    return g_fake.now;
}

static void fake_console_out(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
    (void)vm;
    if (len > sizeof(g_fake.console) - g_fake.console_len) {
        len = sizeof(g_fake.console) - g_fake.console_len;
    }
    memcpy(g_fake.console + g_fake.console_len, buf, len);
    g_fake.console_len += len;
}

static void fake_state_changed(struct vmm_vm *vm)
{
    (void)vm;
    g_fake.state_changes++;
}

static void fake_arm_wakeup(uint64_t deadline)
{
    g_fake.wakeup = deadline;
}

static uint64_t fake_poll_deadline(void)
{
    return g_fake.poll_deadline;
}

static uint64_t fake_busy_poll(void)
{
    g_fake.busy_polls++;
    if (g_fake.polls_left > 0 && --g_fake.polls_left == 0) {
        g_fake.poll_deadline = UINT64_MAX;
    }
    return g_fake.poll_deadline;
}

static void fake_guest_enter(void)
{
    g_fake.guest_enters++;
    g_fake.in_guest = true;
}

static void fake_guest_exit(void)
{
    g_fake.guest_exits++;
    g_fake.in_guest = false;
}

static void fake_vcpu_kick(struct vmm_vm *vm)
{
    (void)vm;
    g_fake.kicks++;
}

static bool fake_vcpu_elsewhere(struct vmm_vm *vm)
{
    (void)vm;
    return g_fake.elsewhere;
}

static const struct vmm_host g_fake_host = {
    .zalloc = fake_zalloc,
    .free = fake_free,
    .page_alloc = fake_page_alloc,
    .page_alloc_2m = fake_page_alloc_2m,
    .page_free = fake_page_free,
    .phys_to_virt = fake_p2v,
    .virt_to_phys = fake_v2p,
    .now_ns = fake_now,
    .tsc_hz = 1000000000,
    .arm_wakeup = fake_arm_wakeup,
    .poll_deadline = fake_poll_deadline,
    .busy_poll = fake_busy_poll,
    .console_out = fake_console_out,
    .vm_state_changed = fake_state_changed,
    .guest_enter = fake_guest_enter,
    .guest_exit = fake_guest_exit,
    .vcpu_kick = fake_vcpu_kick,
    .vcpu_elsewhere = fake_vcpu_elsewhere,
};

/* The fake CPU. fake_guest plays one VMRUN: it sets vmcb->ctl.exit_code and friends (and may
 * change the VMCB save area and vcpu->regs.gpr as the guest would). */
static void (*fake_guest)(struct vmm_vcpu *vcpu);
static unsigned g_fake_entries;
static uint64_t g_fake_last_eventinj;

static int fake_arch_init(struct vmm_arch_info *info)
{
    info->nasids = 16;
    info->npt = true;
    info->svm_rev = 1;
    return 0;
}

static void fake_arch_enter(struct vmm_vcpu *vcpu)
{
    g_fake_entries++;
    if (!g_fake.in_guest) {
        g_fake.vmruns_outside++;
    }
    g_fake_last_eventinj = vcpu->vmcb->ctl.event_inj;
    vcpu->vmcb->ctl.exit_int_info = 0;
    if (fake_guest != NULL) {
        fake_guest(vcpu);
    } else {
        vcpu->vmcb->ctl.exit_code = SVM_EXIT_HLT;
    }
    g_fake.now += 1000;
}

/* CPUID of an imaginary host with everything switched on. */
static void fake_arch_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    (void)sub;
    out[0] = 0xFFFFFFFFu;
    out[1] = 0xFFFFFFFFu;
    out[2] = 0xFFFFFFFFu;
    out[3] = 0xFFFFFFFFu;
    if (leaf == 0) {
        out[0] = 0x10;
    } else if (leaf == 0x80000000u) {
        out[0] = 0x8000001Fu;
    }
}

static void fake_arch_vcpu_gone(struct vmm_vcpu *vcpu)
{
    (void)vcpu;
}

/* The host TSC runs at the fake host's tsc_hz (1 GHz): one tick per fake nanosecond, from an
 * arbitrary non-zero start. */
#define FAKE_TSC_BASE 0x100000000ull

static uint64_t fake_arch_rdtsc(void)
{
    return FAKE_TSC_BASE + g_fake.now;
}

static const struct vmm_arch_ops g_fake_arch = {
    .init = fake_arch_init,
    .enter = fake_arch_enter,
    .cpuid = fake_arch_cpuid,
    .vcpu_gone = fake_arch_vcpu_gone,
    .rdtsc = fake_arch_rdtsc,
};

/* Log lines are kept so tests can look for them (and printed with VMM_TEST_LOG=1). */
#define FAKE_LOG_LINES 256
static char g_log_lines[FAKE_LOG_LINES][LOG_TEXT_MAX];
static size_t g_log_count;

static void fake_log_sink(void *ctx, const struct log_record *rec)
{
    (void)ctx;
    if (getenv("VMM_TEST_LOG") != NULL) {
        fprintf(stderr, "log: [%s] %s\n", rec->vm, rec->text);
    }
    if (g_log_count < FAKE_LOG_LINES) {
        strncpy(g_log_lines[g_log_count], rec->text, LOG_TEXT_MAX - 1);
    }
    g_log_count++;
}

/* How many kept log lines contain text. */
UNUSED static size_t log_count_with(const char *text)
{
    size_t n = 0;

    for (size_t i = 0; i < g_log_count && i < FAKE_LOG_LINES; i++) {
        if (strstr(g_log_lines[i], text) != NULL) {
            n++;
        }
    }
    return n;
}

UNUSED static void fake_setup(void)
{
    static bool log_ready;

    if (!log_ready) {
        log_init();
        log_add_sink(fake_log_sink, NULL);
        log_ready = true;
    }
    g_log_count = 0;
    memset(&g_fake, 0, sizeof(g_fake));
    g_fake.poll_deadline = UINT64_MAX;
    fake_guest = NULL;
    g_fake_entries = 0;
    vmm_host_set(&g_fake_host);
}

/* vmm_init once per program (the permission maps stay allocated, like on the appliance). */
UNUSED static void fake_vmm_init(void)
{
    static bool done;

    fake_setup();
    if (!done) {
        int rc = vmm_init(&g_fake_arch);

        if (rc != 0) {
            abort();
        }
        g_fake.pages_live = 0; /* the permission maps live for the program's life */
        done = true;
    }
}

#endif
