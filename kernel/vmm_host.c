/* struct vmm_host for Petrel: heap, page allocator, identity mapping, time, and the VM
 * console sink. Guest console bytes go into the VM's ring and, line by line, into the log as
 * "vm NAME: text" (so the serial log and the system tests see them). */
#include "vmm_host.h"
#include "guest_cpu.h"
#include "heap.h"
#include "lib.h"
#include "log.h"
#include "mainloop.h"
#include "memory.h"
#include "timer.h"
#include "vnet_glue.h"
#include "../vmm/host.h"
#include "../vmm/vmm.h"
#include "../vmm/vmm_dev.h"

static void *host_zalloc(size_t size)
{
    return kzalloc(size);
}

static void host_free(void *p)
{
    if (p != NULL) {
        kfree(p);
    }
}

static void host_page_free(uint64_t phys, size_t npages)
{
    (void)page_free(phys, npages);
}

static void *host_phys_to_virt(uint64_t phys)
{
    return (void *)(uintptr_t)phys; /* Petrel runs identity-mapped */
}

static uint64_t host_virt_to_phys(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void flush_line(struct vmm_vm *vm, struct vm_console *c)
{
    if (c->line_len == 0) {
        return;
    }
    c->line[c->line_len] = '\0';
    LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(vm), "vm %s: %s", vmm_vm_name(vm), c->line);
    c->line_len = 0;
}

static void host_console_out(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
    struct vm_console *c = vmm_vm_host_ctx(vm);

    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];

        c->ring[c->seq % VM_CONSOLE_RING] = b;
        c->seq++;
        if (b == '\n') {
            flush_line(vm, c);
        } else if (b == '\r') {
            continue;
        } else {
            /* The log is text: anything else shows as '.'. */
            c->line[c->line_len++] = (b >= 0x20 && b < 0x7F) || b == '\t' ? (char)b : '.';
            if (c->line_len >= VM_CONSOLE_LINE) {
                flush_line(vm, c);
            }
        }
    }
}

static void host_vm_state_changed(struct vmm_vm *vm)
{
    struct vmm_vm_info info;
    struct vm_console *c = vmm_vm_host_ctx(vm);

    if (vmm_vm_info(vm, &info) == 0 && info.state != VMM_VM_RUNNING && c != NULL) {
        flush_line(vm, c); /* what the guest printed last, even without a newline */
    }
}

/* Busy polling is CPU 0's: a guest on the guest CPU is not made to exit for it. */
static uint64_t host_poll_deadline(void)
{
    return guest_cpu_on_cpu0() ? mainloop_poll_deadline() : UINT64_MAX;
}

static struct vmm_host g_host = {
    .zalloc = host_zalloc,
    .free = host_free,
    .page_alloc = page_alloc,
    .page_alloc_2m = page_alloc_2m,
    .page_free = host_page_free,
    .phys_to_virt = host_phys_to_virt,
    .virt_to_phys = host_virt_to_phys,
    .now_ns = now_ns,
    .arm_wakeup = timer_arm_wakeup,
    .poll_deadline = host_poll_deadline,
    .busy_poll = mainloop_busy_poll,
    .console_out = host_console_out,
    .vm_state_changed = host_vm_state_changed,
    .nic_attach = vnet_glue_nic_attach,
    .nic_send = vnet_glue_nic_send,
    .nic_detach = vnet_glue_nic_detach,
    .nic_mtu = vnet_glue_nic_mtu,
    .nic_set_offloads = vnet_glue_nic_set_offloads,
    .nic_send_off = vnet_glue_nic_send_off,
    .guest_enter = guest_cpu_enter,
    .guest_exit = guest_cpu_exit,
    .vcpu_kick = guest_cpu_kick,
    .vcpu_elsewhere = guest_cpu_elsewhere,
    .io_polling = guest_cpu_io_polling,
};

const struct vmm_host *kernel_vmm_host(void)
{
    g_host.tsc_hz = timer_tsc_hz();
    return &g_host;
}

int vm_console_attach(struct vmm_vm *vm)
{
    struct vm_console *c = kzalloc(sizeof(*c));

    if (c == NULL) {
        return -ENOMEM;
    }
    vmm_vm_set_host_ctx(vm, c);
    return 0;
}

void vm_console_detach(struct vmm_vm *vm)
{
    struct vm_console *c = vmm_vm_host_ctx(vm);

    vmm_vm_set_host_ctx(vm, NULL);
    host_free(c);
}

size_t vm_console_read(struct vmm_vm *vm, uint64_t *pos, uint8_t *buf, size_t len)
{
    struct vm_console *c = vmm_vm_host_ctx(vm);
    size_t n = 0;

    if (c == NULL) {
        return 0;
    }
    if (c->seq > VM_CONSOLE_RING && *pos < c->seq - VM_CONSOLE_RING) {
        *pos = c->seq - VM_CONSOLE_RING;
    }
    while (n < len && *pos < c->seq) {
        buf[n++] = c->ring[*pos % VM_CONSOLE_RING];
        (*pos)++;
    }
    return n;
}
