/* The fake VMM core for hosted device tests (fake_vmm.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vmm.h"
#include "../../kernel/log.h"

uint64_t fake_now;
uint64_t fake_poll_deadline = UINT64_MAX;
long fake_live_allocs;

static const struct vmm_host *g_fake_host;
static char g_log_lines[FAKE_LOG_LINES][LOG_TEXT_MAX];
static size_t g_log_count;

void vmm_host_set(const struct vmm_host *host)
{
    g_fake_host = host;
}

const struct vmm_host *vmm_host(void)
{
    return g_fake_host;
}

static void *fake_zalloc(size_t size)
{
    void *p = calloc(1, size);

    if (p != NULL) {
        fake_live_allocs++;
    }
    return p;
}

static void fake_free(void *p)
{
    if (p != NULL) {
        fake_live_allocs--;
    }
    free(p);
}

static uint64_t fake_now_ns(void)
{
    return fake_now;
}

static uint64_t fake_poll_deadline_ns(void)
{
    return fake_poll_deadline;
}

struct fake_nic fake_nic;

static int fake_nic_attach(struct vmm_vm *vm, const char *nic_name, const uint8_t mac[6],
                           bool (*rx)(void *dev, const void *frame, size_t len), void *dev,
                           void **backend)
{
    (void)vm;
    fake_nic.attached = true;
    snprintf(fake_nic.name, sizeof(fake_nic.name), "%s", nic_name);
    memcpy(fake_nic.mac, mac, 6);
    fake_nic.rx = rx;
    fake_nic.dev = dev;
    fake_nic.attaches++;
    *backend = &fake_nic;
    return 0;
}

static int fake_nic_send(void *backend, const void *frame, size_t len)
{
    unsigned slot = fake_nic.nsent % FAKE_NIC_FRAMES;

    if (backend != &fake_nic || len > FAKE_NIC_FRAME_MAX) {
        return -EINVAL;
    }
    memcpy(fake_nic.sent[slot], frame, len);
    fake_nic.sent_len[slot] = len;
    fake_nic.nsent++;
    return 0;
}

static void fake_nic_detach(void *backend)
{
    if (backend == &fake_nic) {
        fake_nic.attached = false;
        fake_nic.detaches++;
    }
}

static uint16_t fake_nic_mtu(void *backend)
{
    return backend == &fake_nic ? FAKE_NIC_MTU : 0;
}

static int fake_nic_set_offloads(void *backend, unsigned caps,
                                 bool (*rx_off)(void *dev, const void *frame, size_t len,
                                                const struct netoff *off))
{
    if (backend != &fake_nic) {
        return -EINVAL;
    }
    fake_nic.caps = caps;
    fake_nic.rx_off = rx_off;
    fake_nic.set_offloads_calls++;
    return 0;
}

static int fake_nic_send_off(void *backend, const void *frame, size_t len, const struct netoff *off)
{
    const char *why = NULL;

    if (backend != &fake_nic || len > sizeof(fake_nic.off_frame)) {
        return -EINVAL;
    }
    if (netoff_check(frame, len, off, VMM_NIC_FRAME_MAX, VMM_NIC_FRAME_MAX, &why) < 0) {
        fake_nic.off_refused++;
        return -EINVAL;
    }
    if (fake_nic.send_off_rc < 0) {
        return fake_nic.send_off_rc;
    }
    memcpy(fake_nic.off_frame, frame, len);
    fake_nic.off_len = len;
    fake_nic.off_null = off == NULL;
    memset(&fake_nic.off, 0, sizeof(fake_nic.off));
    if (off != NULL) {
        fake_nic.off = *off;
    }
    fake_nic.nsent_off++;
    return 0;
}

static struct vmm_host fake_host = {
    .zalloc = fake_zalloc,
    .free = fake_free,
    .now_ns = fake_now_ns,
    .poll_deadline = fake_poll_deadline_ns,
    .tsc_hz = 1000000000ULL,
    .nic_attach = fake_nic_attach,
    .nic_send = fake_nic_send,
    .nic_detach = fake_nic_detach,
    .nic_mtu = fake_nic_mtu,
};

void fake_nic_enable(bool on)
{
    fake_host.nic_attach = on ? fake_nic_attach : NULL;
    fake_host.nic_send = on ? fake_nic_send : NULL;
    fake_host.nic_detach = on ? fake_nic_detach : NULL;
    fake_host.nic_mtu = on ? fake_nic_mtu : NULL;
    if (!on) {
        fake_nic_offloads(false);
    }
}

void fake_nic_offloads(bool on)
{
    fake_host.nic_set_offloads = on ? fake_nic_set_offloads : NULL;
    fake_host.nic_send_off = on ? fake_nic_send_off : NULL;
}

bool fake_nic_deliver(const void *frame, size_t len)
{
    if (!fake_nic.attached || fake_nic.rx == NULL) {
        return false;
    }
    return fake_nic.rx(fake_nic.dev, frame, len);
}

bool fake_nic_deliver_off(const void *frame, size_t len, const struct netoff *off)
{
    if (!fake_nic.attached) {
        return false;
    }
    if (fake_nic.rx_off != NULL) {
        return fake_nic.rx_off(fake_nic.dev, frame, len, off);
    }
    return fake_nic.rx != NULL && fake_nic.rx(fake_nic.dev, frame, len);
}

static void fake_log_sink(void *ctx, const struct log_record *rec)
{
    (void)ctx;
    snprintf(g_log_lines[g_log_count % FAKE_LOG_LINES], LOG_TEXT_MAX, "%s", rec->text);
    g_log_count++;
}

void fake_host_install(uint64_t start_ns)
{
    static bool installed;

    if (!installed) {
        log_init();
        (void)log_add_sink(fake_log_sink, NULL);
        installed = true;
    }
    vmm_host_set(&fake_host);
    fake_poll_deadline = UINT64_MAX;
    memset(&fake_nic, 0, sizeof(fake_nic));
    fake_nic_enable(true);
    fake_nic_offloads(false);
    fake_now = start_ns;
    fake_log_clear();
}

bool fake_log_has(const char *needle)
{
    size_t n = g_log_count < FAKE_LOG_LINES ? g_log_count : FAKE_LOG_LINES;

    for (size_t i = 0; i < n; i++) {
        if (strstr(g_log_lines[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

void fake_log_clear(void)
{
    g_log_count = 0;
}

struct vmm_vm *fake_vm_new(const char *name)
{
    struct vmm_vm *vm = calloc(1, sizeof(*vm));

    if (vm != NULL) {
        snprintf(vm->name, sizeof(vm->name), "%s", name);
    }
    return vm;
}

void fake_vm_free(struct vmm_vm *vm)
{
    if (vm == NULL) {
        return;
    }
    for (size_t i = vm->ndevs; i-- > 0;) {
        if (vm->devs[i].destroy != NULL) {
            vm->devs[i].destroy(vm->devs[i].dev);
        }
    }
    free(vm);
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

int vmm_dev_register(struct vmm_vm *vm, const struct vmm_dev_reg *reg)
{
    if (reg == NULL || reg->name == NULL || reg->nio > VMM_DEV_MAX_IO ||
        reg->nmmio > VMM_DEV_MAX_MMIO || reg->nirqs > VMM_DEV_MAX_IRQ ||
        reg->nio + reg->nmmio == 0) {
        return -EINVAL;
    }
    if (vm->ndevs >= FAKE_MAX_DEVS) {
        return -ENOSPC;
    }
    for (size_t i = 0; i < reg->nio; i++) {
        const struct vmm_dev_io_range *r = &reg->io[i];

        if (r->count == 0 || r->fn == NULL || (uint32_t)r->base + r->count > 0x10000) {
            return -EINVAL;
        }
        for (size_t d = 0; d < vm->ndevs; d++) {
            for (size_t j = 0; j < vm->devs[d].nio; j++) {
                const struct vmm_dev_io_range *o = &vm->devs[d].io[j];

                if (ranges_overlap(r->base, r->count, o->base, o->count)) {
                    return -EEXIST;
                }
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (ranges_overlap(r->base, r->count, reg->io[j].base, reg->io[j].count)) {
                return -EINVAL;
            }
        }
    }
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (strcmp(vm->devs[d].name, reg->name) == 0) {
            return -EEXIST;
        }
    }
    for (size_t i = 0; i < reg->nirqs; i++) {
        if (reg->irqs[i] >= FAKE_LINES) {
            return -EINVAL;
        }
    }
    vm->devs[vm->ndevs++] = *reg;
    return 0;
}

int vmm_irq_set(struct vmm_vm *vm, unsigned line, bool level)
{
    if (line >= FAKE_LINES) {
        return -EINVAL;
    }
    if (level && !vm->line[line]) {
        vm->rises[line]++;
    }
    vm->line[line] = level;
    for (size_t i = 0; i < vm->nintc_lines; i++) {
        vm->intc_lines[i].ops->set_line(vm->intc_lines[i].intc, line, level);
    }
    return 0;
}

/* As the core: a line is the OR of its device sources (irq_high bits of the device table). */
int vmm_dev_irq_set(struct vmm_vm *vm, const void *dev, unsigned line, bool level)
{
    struct vmm_dev_reg *src = NULL;
    bool others = false;

    if (line >= FAKE_LINES || line >= 32) {
        return -EINVAL;
    }
    for (size_t d = 0; d < vm->ndevs; d++) {
        struct vmm_dev_reg *reg = &vm->devs[d];
        bool declared = false;

        for (size_t i = 0; i < reg->nirqs; i++) {
            declared = declared || reg->irqs[i] == line;
        }
        if (src == NULL && reg->dev == dev && declared) {
            src = reg;
        } else if ((reg->irq_high & (1u << line)) != 0) {
            others = true;
        }
    }
    if (src == NULL) {
        return -ENOENT;
    }
    src->irq_high = level ? (src->irq_high | (1u << line)) : (src->irq_high & ~(1u << line));
    return vmm_irq_set(vm, line, level || others);
}

int vmm_intc_register(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc)
{
    if (ops == NULL || (ops->set_line == NULL && ops->pending == NULL) ||
        (ops->pending == NULL) != (ops->ack == NULL)) {
        return -EINVAL;
    }
    if (ops->pending != NULL && vm->intc_ops != NULL) {
        return -EEXIST;
    }
    if (ops->set_line != NULL) {
        if (vm->nintc_lines >= VMM_INTC_MAX) {
            return -ENOSPC;
        }
        vm->intc_lines[vm->nintc_lines].ops = ops;
        vm->intc_lines[vm->nintc_lines].intc = intc;
        vm->nintc_lines++;
    }
    if (ops->pending != NULL) {
        vm->intc_ops = ops;
        vm->intc = intc;
    }
    return 0;
}

int vmm_intc_take_cpu(struct vmm_vm *vm, const struct vmm_intc_ops *ops, void *intc,
                      const struct vmm_intc_ops **prev_ops, void **prev)
{
    if (ops == NULL || ops->pending == NULL || ops->ack == NULL) {
        return -EINVAL;
    }
    *prev_ops = vm->intc_ops;
    *prev = vm->intc;
    vm->intc_ops = ops;
    vm->intc = intc;
    return 0;
}

uint64_t vmm_guest_tsc(struct vmm_vm *vm)
{
    return fake_now + vm->tsc_offset;
}

int vmm_guest_read(struct vmm_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    if (gpa > FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(buf, &vm->ram[gpa], len);
    return 0;
}

int vmm_guest_write(struct vmm_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    if (gpa > FAKE_RAM_SIZE || len > FAKE_RAM_SIZE - gpa) {
        return -EFAULT;
    }
    memcpy(&vm->ram[gpa], buf, len);
    return 0;
}

int vmm_guest_read16(struct vmm_vm *vm, uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];
    int rc = vmm_guest_read(vm, gpa, b, 2);

    *v = (uint16_t)(b[0] | b[1] << 8);
    return rc;
}

int vmm_guest_write16(struct vmm_vm *vm, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    return vmm_guest_write(vm, gpa, b, 2);
}

bool vmm_vm_elsewhere(struct vmm_vm *vm)
{
    return vm != NULL && vm->elsewhere;
}

bool vmm_vm_io_polled(struct vmm_vm *vm)
{
    return vmm_host_polling() || (vm != NULL && vm->io_polled);
}

void vmm_vm_kick(struct vmm_vm *vm)
{
    if (vm != NULL) {
        vm->kicks++;
    }
}

void vmm_console_out(struct vmm_vm *vm, const uint8_t *buf, size_t len)
{
    size_t room = FAKE_CONSOLE_MAX - vm->console_len;
    size_t n = len < room ? len : room;

    memcpy(&vm->console[vm->console_len], buf, n);
    vm->console_len += n;
    vm->console_calls++;
}

int vmm_console_register(struct vmm_vm *vm, size_t (*rx)(void *dev, const uint8_t *buf, size_t len),
                         void *dev)
{
    if (vm->console_rx != NULL) {
        return -EEXIST;
    }
    vm->console_rx = rx;
    vm->console_dev = dev;
    return 0;
}

void vmm_vm_request_exit(struct vmm_vm *vm, int code, const char *why)
{
    vm->exit_requested = true;
    vm->exit_code = code;
    snprintf(vm->exit_why, sizeof(vm->exit_why), "%s", why);
}

void vmm_vm_request_reset(struct vmm_vm *vm)
{
    vm->resets++;
}

void vmm_vm_fail(struct vmm_vm *vm, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(vm->fail_msg, sizeof(vm->fail_msg), fmt, ap);
    va_end(ap);
    vm->failed = true;
}

const char *vmm_vm_name(const struct vmm_vm *vm)
{
    return vm->name;
}

static const struct vmm_dev_io_range *fake_route(struct vmm_vm *vm, uint16_t port, size_t start,
                                                 size_t *dev_idx)
{
    for (size_t d = start; d < vm->ndevs; d++) {
        for (size_t j = 0; j < vm->devs[d].nio; j++) {
            const struct vmm_dev_io_range *r = &vm->devs[d].io[j];

            if (port >= r->base && port - r->base < r->count) {
                *dev_idx = d;
                return r;
            }
        }
    }
    return NULL;
}

int fake_io(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    size_t d = 0;
    const struct vmm_dev_io_range *r;

    while ((r = fake_route(vm, port, d, &d)) != NULL) {
        int rc = r->fn(vm->devs[d].dev, port, size, write, val);

        if (rc != VMM_NOT_MINE) {
            return rc;
        }
        d++;
    }
    vm->unclaimed++;
    if (!write) {
        *val = size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    }
    return VMM_HANDLED;
}

int fake_io_string(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, void *buf,
                   uint32_t count)
{
    size_t d = 0;
    const struct vmm_dev_io_range *r = fake_route(vm, port, 0, &d);
    uint8_t *p = buf;

    if (r != NULL && r->string_fn != NULL) {
        int rc = r->string_fn(vm->devs[d].dev, port, size, write, buf, count);

        if (rc != VMM_NOT_MINE) {
            return rc;
        }
        /* Not decoded (e.g. IO space off): unclaimed, as vmm_io_string does. */
        vm->unclaimed++;
        if (!write) {
            memset(buf, 0xFF, (size_t)count * size);
        }
        return VMM_HANDLED;
    }
    for (uint32_t i = 0; i < count; i++, p += size) {
        uint32_t v = 0;
        int rc;

        if (write) {
            memcpy(&v, p, size);
        }
        rc = fake_io(vm, port, size, write, &v);
        if (rc < 0) {
            return rc;
        }
        if (!write) {
            memcpy(p, &v, size);
        }
    }
    return VMM_HANDLED;
}

uint32_t fake_in(struct vmm_vm *vm, uint16_t port, unsigned size)
{
    uint32_t v = 0;

    if (fake_io(vm, port, size, false, &v) < 0) {
        vm->failed = true;
    }
    return v;
}

void fake_out(struct vmm_vm *vm, uint16_t port, unsigned size, uint32_t val)
{
    if (fake_io(vm, port, size, true, &val) < 0) {
        vm->failed = true;
    }
}

int fake_mmio(struct vmm_vm *vm, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        for (size_t j = 0; j < vm->devs[d].nmmio; j++) {
            const struct vmm_dev_mmio_range *r = &vm->devs[d].mmio[j];

            if (gpa >= r->base && gpa - r->base < r->len) {
                return r->fn(vm->devs[d].dev, gpa, size, write, val);
            }
        }
    }
    return -ENOENT;
}

uint32_t fake_read32(struct vmm_vm *vm, uint64_t gpa)
{
    uint64_t v = 0;

    if (fake_mmio(vm, gpa, 4, false, &v) < 0) {
        vm->failed = true;
    }
    return (uint32_t)v;
}

void fake_write32(struct vmm_vm *vm, uint64_t gpa, uint32_t val)
{
    uint64_t v = val;

    if (fake_mmio(vm, gpa, 4, true, &v) < 0) {
        vm->failed = true;
    }
}

uint64_t fake_poll(struct vmm_vm *vm)
{
    uint64_t next = UINT64_MAX;

    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].poll != NULL) {
            uint64_t t = vm->devs[d].poll(vm->devs[d].dev, fake_now);

            if (t < next) {
                next = t;
            }
        }
    }
    return next;
}

uint64_t fake_advance(struct vmm_vm *vm, uint64_t ns)
{
    fake_now += ns;
    return fake_poll(vm);
}

void fake_reset_devices(struct vmm_vm *vm)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (vm->devs[d].reset != NULL) {
            vm->devs[d].reset(vm->devs[d].dev);
        }
    }
}

const struct vmm_dev_reg *fake_find_dev(struct vmm_vm *vm, const char *name)
{
    for (size_t d = 0; d < vm->ndevs; d++) {
        if (strcmp(vm->devs[d].name, name) == 0) {
            return &vm->devs[d];
        }
    }
    return NULL;
}
