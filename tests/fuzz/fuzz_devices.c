/* libFuzzer target for the device models (vmm/devices/): every device on one fake VM, driven by
 * random sequences of port IN/OUT (sizes 1, 2, 4, also odd ones), string IO, time advances and
 * polls, interrupt acknowledges, console and keyboard input, PCI function adds, device resets
 * and, when the first byte asks for the APICs, MMIO to the LAPIC and IOAPIC pages, their MSRs
 * and LINT pulses. Besides ASan/UBSan/LSan it traps when a documented promise breaks: a handler failing
 * on a valid access, a read wider than its size, a poll deadline not in the future, a console
 * hook taking more than it was given.
 *
 * The fuzz rule compiles this file together with HOSTED_SRC, which holds the real VMM core
 * (vmm/dev.c, vmm/host.c, ...) and the devices. So this file takes private copies of the
 * devices and of the fake core (tests/unit/fake_vmm.c) under other names: the macros below
 * rename every external symbol of those files. A new exported device function needs a line
 * here (the link fails with a duplicate symbol otherwise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define vmm_host_set             fz_vmm_host_set
#define vmm_host                 fz_vmm_host
#define vmm_dev_register         fz_vmm_dev_register
#define vmm_irq_set              fz_vmm_irq_set
#define vmm_dev_irq_set          fz_vmm_dev_irq_set
#define vmm_intc_register        fz_vmm_intc_register
#define vmm_intc_take_cpu        fz_vmm_intc_take_cpu
#define vmm_guest_tsc            fz_vmm_guest_tsc
#define vmm_guest_read           fz_vmm_guest_read
#define vmm_guest_write          fz_vmm_guest_write
#define vmm_console_out          fz_vmm_console_out
#define vmm_console_register     fz_vmm_console_register
#define vmm_vm_request_exit      fz_vmm_vm_request_exit
#define vmm_vm_request_reset     fz_vmm_vm_request_reset
#define vmm_vm_fail              fz_vmm_vm_fail
#define vmm_vm_name              fz_vmm_vm_name
#define vmm_dev_pic_create       fz_vmm_dev_pic_create
#define vmm_pic_intack           fz_vmm_pic_intack
#define vmm_pic_stats            fz_vmm_pic_stats
#define vmm_dev_pit_create       fz_vmm_dev_pit_create
#define vmm_pit_stats            fz_vmm_pit_stats
#define vmm_dev_rtc_create       fz_vmm_dev_rtc_create
#define vmm_rtc_time             fz_vmm_rtc_time
#define vmm_rtc_stats            fz_vmm_rtc_stats
#define rtc_epoch_to_tm          fz_rtc_epoch_to_tm
#define rtc_tm_to_epoch          fz_rtc_tm_to_epoch
#define vmm_dev_uart_create      fz_vmm_dev_uart_create
#define vmm_uart_receive         fz_vmm_uart_receive
#define vmm_uart_stats           fz_vmm_uart_stats
#define vmm_dev_kbd_create       fz_vmm_dev_kbd_create
#define vmm_kbd_a20              fz_vmm_kbd_a20
#define vmm_kbd_type             fz_vmm_kbd_type
#define vmm_kbd_push             fz_vmm_kbd_push
#define vmm_kbd_stats            fz_vmm_kbd_stats
#define vmm_dev_debugport_create fz_vmm_dev_debugport_create
#define vmm_debugport_stats      fz_vmm_debugport_stats
#define vmm_dev_exitdev_create   fz_vmm_dev_exitdev_create
#define vmm_exitdev_code         fz_vmm_exitdev_code
#define vmm_dev_pci_host_create  fz_vmm_dev_pci_host_create
#define vmm_pci_add_func         fz_vmm_pci_add_func
#define vmm_pci_func_cfg         fz_vmm_pci_func_cfg
#define vmm_pci_func_wmask       fz_vmm_pci_func_wmask
#define vmm_pci_func_command     fz_vmm_pci_func_command
#define vmm_pci_func_bar         fz_vmm_pci_func_bar
#define vmm_pci_host_set_msi     fz_vmm_pci_host_set_msi
#define vmm_pci_host_has_msi     fz_vmm_pci_host_has_msi
#define vmm_pci_func_msi         fz_vmm_pci_func_msi
#define vmm_dev_lapic_create     fz_vmm_dev_lapic_create
#define vmm_lapic_set_eoi_hook   fz_vmm_lapic_set_eoi_hook
#define vmm_lapic_deliver        fz_vmm_lapic_deliver
#define vmm_lapic_lint           fz_vmm_lapic_lint
#define vmm_lapic_msr_read       fz_vmm_lapic_msr_read
#define vmm_lapic_msr_write      fz_vmm_lapic_msr_write
#define vmm_lapic_stats          fz_vmm_lapic_stats
#define vmm_dev_ioapic_create    fz_vmm_dev_ioapic_create
#define vmm_ioapic_eoi           fz_vmm_ioapic_eoi
#define vmm_ioapic_stats         fz_vmm_ioapic_stats

#include "../unit/fake_vmm.c"
#include "../../vmm/devices/debugport.c"
#include "../../vmm/devices/exitdev.c"
#include "../../vmm/devices/ioapic.c"
#include "../../vmm/devices/kbd.c"
#include "../../vmm/devices/lapic.c"
#include "../../vmm/devices/pci_host.c"
#include "../../vmm/devices/pic.c"
#include "../../vmm/devices/pit.c"
#include "../../vmm/devices/rtc.c"
#include "../../vmm/devices/uart.c"

#define FZ_STRING_MAX 64
#define FZ_TEXT_MAX   32

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

/* The input, read front to back; past the end it reads zeros. */
struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t take8(struct input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint32_t take(struct input *in, unsigned bytes)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint32_t)take8(in) << (8 * i);
    }
    return v;
}

/* Ports the devices decode, so most accesses hit something. */
static const uint16_t ports[] = {
    0x20,  0x21,  0xA0,  0xA1,  0x4D0, 0x4D1, 0x40,  0x41,  0x42,  0x43,  0x61,
    0x70,  0x71,  0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, 0x2F8,
    0x2FA, 0x2FC, 0x2FD, 0x60,  0x64,  0x92,  0x80,  0xE9,  0xCF8, 0xCF9, 0xCFA,
    0xCFC, 0xCFD, 0xCFE, 0xCFF, 0xF4,  0xF5,  0xF7,  0x1F,  0x5F,  0x3F7, 0xCFB,
};

static uint16_t pick_port(struct input *in)
{
    uint8_t sel = take8(in);

    if (sel < 0xF0) {
        return ports[sel % (sizeof(ports) / sizeof(ports[0]))];
    }
    return (uint16_t)take(in, 2);
}

static unsigned pick_size(struct input *in)
{
    static const unsigned sizes[8] = {1, 1, 1, 1, 2, 2, 4, 3};

    return sizes[take8(in) & 7];
}

static void check_poll(struct vmm_vm *vm)
{
    uint64_t next = fake_poll(vm);

    if (next <= fake_now) {
        __builtin_trap(); /* a deadline must lie ahead */
    }
}

static void do_io(struct vmm_vm *vm, struct input *in, bool write)
{
    uint16_t port = pick_port(in);
    unsigned size = pick_size(in);
    uint32_t val = write ? take(in, 4) : 0xA5A5A5A5u;
    int rc = fake_io(vm, port, size, write, &val);

    if (size == 3) {
        if (rc != -EINVAL && rc != VMM_HANDLED) {
            __builtin_trap(); /* an unclaimed port ignores the size */
        }
        return;
    }
    if (rc != VMM_HANDLED) {
        __builtin_trap();
    }
    if (!write && size < 4 && (val >> (8 * size)) != 0) {
        __builtin_trap(); /* more bits than the access has */
    }
}

static void do_string(struct vmm_vm *vm, struct input *in)
{
    uint8_t buf[FZ_STRING_MAX * 4];
    uint16_t port = pick_port(in);
    unsigned size = pick_size(in);
    bool write = take8(in) & 1;
    uint32_t count = take8(in) % (FZ_STRING_MAX + 1);

    if (size == 3) {
        size = 1;
    }
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = take8(in);
    }
    if (fake_io_string(vm, port, size, write, buf, count) < 0) {
        __builtin_trap();
    }
}

static void do_interrupts(struct vmm_vm *vm, struct vmm_pic *pic, struct input *in)
{
    uint8_t v;
    uint8_t how = take8(in);

    if (how & 1) {
        (void)vmm_pic_intack(pic);
        return;
    }
    for (unsigned i = 0; i < 4 && vm->intc_ops->pending(vm->intc, &v); i++) {
        /* Sometimes ack a different vector: the stale-ack path. */
        vm->intc_ops->ack(vm->intc, (how & 2) ? (uint8_t)(v + take8(in)) : v);
    }
    if (vm->intc_ops->nmi_pending != NULL && vm->intc_ops->nmi_pending(vm->intc)) {
        vm->intc_ops->nmi_ack(vm->intc);
    }
}

static bool fz_deliver(void *lapic, const struct vmm_apic_irq *irq)
{
    return vmm_lapic_deliver(lapic, irq);
}

static void fz_eoi(void *ioapic, uint8_t vector)
{
    vmm_ioapic_eoi(ioapic, vector);
}

/* MMIO to the LAPIC or IOAPIC page: mostly register-aligned dwords, sometimes anything. */
static void do_apic_mmio(struct vmm_vm *vm, struct input *in)
{
    static const unsigned sizes[4] = {4, 4, 1, 2};
    uint8_t how = take8(in);
    uint64_t base = (how & 1) ? VMM_IOAPIC_BASE : VMM_LAPIC_BASE;
    uint64_t off = take(in, 2) & 0xFFF;
    unsigned size = (how & 0x10) ? 8 : sizes[(how >> 2) & 3];
    bool write = how & 2;
    uint64_t val = write ? (take(in, 4) | (uint64_t)take(in, 4) << 32) : 0xA5A5A5A5A5A5A5A5ull;

    if (!(how & 0x20)) {
        off &= (how & 1) ? 0x10 : 0x3F0; /* IOREGSEL/IOWIN, or a LAPIC register */
    }
    if (fake_mmio(vm, base + off, size, write, &val) != VMM_HANDLED) {
        __builtin_trap();
    }
    if (!write && size < 8 && (val >> (8 * size)) != 0) {
        __builtin_trap(); /* more bits than the access has */
    }
}

static void do_apic_other(struct vmm_vm *vm, struct vmm_lapic *lapic, struct input *in)
{
    uint8_t how = take8(in);
    uint32_t msr = (how & 2) ? MSR_TSC_DEADLINE : MSR_APIC_BASE;
    uint64_t val = take(in, 4) | (uint64_t)take(in, 4) << 32;
    int rc;

    switch (how % 3) {
    case 0:
        rc = (how & 4) ? vmm_lapic_msr_write(lapic, vm, msr, &val)
                       : vmm_lapic_msr_read(lapic, vm, msr, &val);
        if (rc != 0 && rc != -EPERM) {
            __builtin_trap();
        }
        break;
    case 1:
        vmm_lapic_lint(lapic, take8(in) % 3);
        break;
    default: /* the guest TSC jumps (a TSC write) */
        vm->tsc_offset += val & 0xFFFFFFFF;
        break;
    }
}

static void do_text(struct vmm_vm *vm, struct vmm_kbd *kbd, struct input *in, bool keyboard)
{
    uint8_t buf[FZ_TEXT_MAX];
    size_t n = take8(in) % (FZ_TEXT_MAX + 1);
    size_t took;

    for (size_t i = 0; i < n; i++) {
        buf[i] = take8(in);
    }
    if (keyboard) {
        took = (take8(in) & 1) ? vmm_kbd_type(kbd, buf, n) : vmm_kbd_push(kbd, buf, n);
    } else {
        took = vm->console_rx(vm->console_dev, buf, n);
    }
    if (took > n) {
        __builtin_trap();
    }
}

static void do_pci_add(struct vmm_pci_host *host, struct input *in)
{
    struct vmm_pci_func_config fc;
    unsigned dev = take8(in) % 34; /* a few out of range */
    unsigned fn = take8(in) % 9;

    memset(&fc, 0, sizeof(fc));
    fc.vendor = (uint16_t)take(in, 2);
    fc.device = (uint16_t)take(in, 2);
    fc.class_code = take(in, 3);
    fc.command = (uint16_t)take(in, 2);
    fc.irq_pin = take8(in) % 6;
    fc.cap_ptr = take8(in);
    for (unsigned i = 0; i < 6; i++) {
        uint8_t t = take8(in);

        fc.bars[i].type = (enum vmm_pci_bar_type)(t % 5);
        fc.bars[i].size = 1ULL << (take8(in) % 64);
        fc.bars[i].prefetch = t & 0x80;
        fc.bars[i].addr = (uint64_t)take(in, 4) << (t & 0x40 ? 32 : 0);
    }
    (void)vmm_pci_add_func(host, dev, fn, &fc, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct vmm_vm *vm;
    struct vmm_pic *pic;
    struct vmm_kbd *kbd;
    struct vmm_pci_host *host;
    struct vmm_lapic *lapic = NULL;
    struct vmm_ioapic *ioapic = NULL;
    struct vmm_ioapic_config iocfg = {
        .base = VMM_IOAPIC_BASE,
        .id = VMM_IOAPIC_ID,
        .irq0_pin = VMM_ISA_IRQ0_GSI,
        .deliver = fz_deliver,
    };
    uint8_t flags = take8(&in);
    struct vmm_pic_config piccfg = {.power_on_state = flags & 1};
    struct vmm_rtc_config rtccfg = {
        .start_epoch = (int64_t)(int32_t)take(&in, 4),
        .mem_below_4g = (uint64_t)take(&in, 4) << 8,
        .mem_above_4g = (uint64_t)take(&in, 4) << 16,
        .ncpus = take8(&in),
    };
    struct vmm_uart_config com1 = {.name = "com1", .base = 0x3F8, .irq = 4, .console = true};
    struct vmm_uart_config com2 = {.name = "com2", .base = 0x2F8, .irq = 3};
    struct vmm_exitdev_config exitcfg = {.iosize = 1 + (flags >> 1) % 4};

    fake_host_install(1000000000ULL + take(&in, 4));
    for (int c = 0; c < LOG_COMP_COUNT; c++) {
        log_set_level((enum log_comp)c, (flags & 0x80) ? LOG_LVL_TRACE : LOG_LVL_INFO);
    }
    vm = fake_vm_new("fuzz");
    if (vm == NULL || vmm_dev_pic_create(vm, &piccfg, &pic) != 0 ||
        vmm_dev_pit_create(vm, NULL, NULL) != 0 || vmm_dev_rtc_create(vm, &rtccfg, NULL) != 0 ||
        vmm_dev_uart_create(vm, &com1, NULL) != 0 || vmm_dev_uart_create(vm, &com2, NULL) != 0 ||
        vmm_dev_kbd_create(vm, NULL, &kbd) != 0 || vmm_dev_debugport_create(vm, NULL, NULL) != 0 ||
        vmm_dev_pci_host_create(vm, &host) != 0 ||
        vmm_dev_exitdev_create(vm, &exitcfg, NULL) != 0) {
        __builtin_trap();
    }
    if (flags & 0x40) {
        if (vmm_dev_lapic_create(vm, NULL, &lapic) != 0) {
            __builtin_trap();
        }
        iocfg.ctx = lapic;
        if (vmm_dev_ioapic_create(vm, &iocfg, &ioapic) != 0) {
            __builtin_trap();
        }
        vmm_lapic_set_eoi_hook(lapic, fz_eoi, ioapic);
    }

    while (in.pos < in.size) {
        switch (take8(&in) % 14) {
        case 0:
        case 1:
        case 2:
            do_io(vm, &in, true);
            break;
        case 3:
        case 4:
            do_io(vm, &in, false);
            break;
        case 5: /* time goes by: up to ~2 s per step, finer most of the time */
            fake_now += (uint64_t)take(&in, 2) << (take8(&in) % 16);
            check_poll(vm);
            break;
        case 6: /* sleep to the next deadline, as the core does in HLT */
        {
            uint64_t next = fake_poll(vm);

            if (next != UINT64_MAX && next - fake_now < 4000000000ULL) {
                fake_now = next;
            }
            check_poll(vm);
            break;
        }
        case 7:
            do_interrupts(vm, pic, &in);
            break;
        case 8:
            do_text(vm, kbd, &in, take8(&in) & 1);
            break;
        case 9:
            do_string(vm, &in);
            break;
        case 10:
            if (vm->resets > 0 || (take8(&in) & 7) == 0) {
                fake_reset_devices(vm);
                vm->resets = 0;
            }
            break;
        case 12:
            if (lapic != NULL) {
                do_apic_mmio(vm, &in);
            }
            break;
        case 13:
            if (lapic != NULL) {
                do_apic_other(vm, lapic, &in);
            }
            break;
        default:
            do_pci_add(host, &in);
            break;
        }
    }
    fake_vm_free(vm);
    if (fake_live_allocs != 0) {
        __builtin_trap();
    }
    return 0;
}
