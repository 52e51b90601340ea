/* POST code port 0x80 and Bochs/QEMU debugcon 0xE9 (debugport.h). */
#include "debugport.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

struct vmm_debugport {
    struct vmm_vm *vm;
    struct vmm_debugport_config cfg;
    uint8_t post_code;
    uint64_t post_writes;
    uint64_t con_bytes;
    uint64_t con_lines;
    char line[DEBUGPORT_LINE_MAX + 1];
    size_t len;
    struct vmm_dev_reg reg;
};

static void debugcon_flush(struct vmm_debugport *d)
{
    if (d->len == 0) {
        return;
    }
    d->line[d->len] = '\0';
    LOG_VM(IO, LOG_LVL_INFO, vmm_vm_name(d->vm), "vm %s: debugcon: %s", vmm_vm_name(d->vm),
           d->line);
    d->con_lines++;
    d->len = 0;
}

static void debugcon_byte(struct vmm_debugport *d, uint8_t b)
{
    d->con_bytes++;
    if (b == '\n') {
        debugcon_flush(d);
        return;
    }
    if (b == '\r') {
        return;
    }
    d->line[d->len++] = (b >= 0x20 && b < 0x7F) || b == '\t' ? (char)b : '.';
    if (d->len == DEBUGPORT_LINE_MAX) {
        debugcon_flush(d);
    }
}

static int debugport_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_debugport *d = dev;

    if (port == d->cfg.post_port) {
        if (write) {
            d->post_code = *val;
            d->post_writes++;
            LOG_VM(IO, LOG_LVL_DEBUG, vmm_vm_name(d->vm), "POST code 0x%02x", *val);
        } else {
            *val = d->post_code;
        }
        return VMM_HANDLED;
    }
    if (port == d->cfg.debugcon_port) {
        if (write) {
            debugcon_byte(d, *val);
        } else {
            *val = 0xE9; /* the debugcon signature */
        }
        return VMM_HANDLED;
    }
    return VMM_NOT_MINE;
}

static int debugport_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    return devio_split(dev, port, size, write, val, debugport_byte);
}

static int debugport_io_string(void *dev, uint16_t port, unsigned size, bool write, void *buf,
                               uint32_t count)
{
    struct vmm_debugport *d = dev;
    const uint8_t *p = buf;

    if (!write || size != 1 || port != d->cfg.debugcon_port) {
        return devio_string_each(dev, port, size, write, buf, count, debugport_io);
    }
    for (uint32_t i = 0; i < count; i++) {
        debugcon_byte(d, p[i]);
    }
    return VMM_HANDLED;
}

static void debugport_reset(void *dev)
{
    debugcon_flush(dev);
}

static void debugport_destroy(void *dev)
{
    debugcon_flush(dev);
    vmm_host()->free(dev);
}

void vmm_debugport_stats(const struct vmm_debugport *d, struct vmm_debugport_stats *st)
{
    st->post_code = d->post_code;
    st->post_writes = d->post_writes;
    st->con_bytes = d->con_bytes;
    st->con_lines = d->con_lines;
}

int vmm_dev_debugport_create(struct vmm_vm *vm, const struct vmm_debugport_config *cfg,
                             struct vmm_debugport **out)
{
    struct vmm_debugport *d = vmm_host()->zalloc(sizeof(*d));
    int rc;

    if (d == NULL) {
        return -ENOMEM;
    }
    d->vm = vm;
    if (cfg != NULL) {
        d->cfg = *cfg;
    }
    if (d->cfg.post_port == 0) {
        d->cfg.post_port = 0x80;
    }
    if (d->cfg.debugcon_port == 0) {
        d->cfg.debugcon_port = 0xE9;
    }
    if (d->cfg.post_port == d->cfg.debugcon_port) {
        LOG_VM(IO, LOG_LVL_ERROR, vmm_vm_name(vm), "debugport: POST and debugcon share port 0x%x",
               d->cfg.post_port);
        vmm_host()->free(d);
        return -EINVAL;
    }

    d->reg.name = "debugport";
    d->reg.dev = d;
    d->reg.io[0] =
        (struct vmm_dev_io_range){.base = d->cfg.post_port, .count = 1, .fn = debugport_io};
    d->reg.io[1] = (struct vmm_dev_io_range){.base = d->cfg.debugcon_port,
                                             .count = 1,
                                             .fn = debugport_io,
                                             .string_fn = debugport_io_string};
    d->reg.nio = 2;
    d->reg.reset = debugport_reset;
    d->reg.destroy = debugport_destroy;
    rc = vmm_dev_register(vm, &d->reg);
    if (rc < 0) {
        LOG_VM(IO, LOG_LVL_ERROR, vmm_vm_name(vm), "debugport: register failed: %d", rc);
        vmm_host()->free(d);
        return rc;
    }
    if (out != NULL) {
        *out = d;
    }
    return 0;
}
