/* QEMU isa-debug-exit compatible exit device (exitdev.h). */
#include "exitdev.h"
#include "../host.h"
#include "../../kernel/log.h"

struct vmm_exitdev {
    struct vmm_vm *vm;
    struct vmm_exitdev_config cfg;
    struct vmm_dev_reg reg;
};

int vmm_exitdev_code(uint32_t value)
{
    return (int)((value << 1) | 1u);
}

static int exitdev_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_exitdev *e = dev;
    uint32_t v;
    int code;

    if ((uint16_t)(port - e->cfg.port) >= e->cfg.iosize) {
        return VMM_NOT_MINE;
    }
    if (size != 1 && size != 2 && size != 4) {
        return -EINVAL;
    }
    if (!write) {
        *val = 0;
        return VMM_HANDLED;
    }
    v = size == 4 ? *val : *val & ((1u << (8 * size)) - 1);
    code = vmm_exitdev_code(v);
    LOG_VM(IO, LOG_LVL_INFO, vmm_vm_name(e->vm), "exit device: wrote 0x%x, exit code %d", v, code);
    vmm_vm_request_exit(e->vm, code, "isa-debug-exit");
    return VMM_HANDLED;
}

static void exitdev_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_dev_exitdev_create(struct vmm_vm *vm, const struct vmm_exitdev_config *cfg,
                           struct vmm_exitdev **out)
{
    struct vmm_exitdev *e;
    int rc;

    if (cfg != NULL && cfg->iosize > 4) {
        LOG_VM(IO, LOG_LVL_ERROR, vmm_vm_name(vm), "exit device: iosize %u (1-4)", cfg->iosize);
        return -EINVAL;
    }
    e = vmm_host()->zalloc(sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    e->vm = vm;
    if (cfg != NULL) {
        e->cfg = *cfg;
    }
    if (e->cfg.port == 0) {
        e->cfg.port = EXITDEV_PORT;
    }
    if (e->cfg.iosize == 0) {
        e->cfg.iosize = 4;
    }
    if (e->cfg.port > 0x10000 - e->cfg.iosize) {
        LOG_VM(IO, LOG_LVL_ERROR, vmm_vm_name(vm), "exit device: port 0x%x out of range",
               e->cfg.port);
        vmm_host()->free(e);
        return -EINVAL;
    }

    e->reg.name = "isa-debug-exit";
    e->reg.dev = e;
    e->reg.io[0] = (struct vmm_dev_io_range){
        .base = e->cfg.port, .count = (uint16_t)e->cfg.iosize, .fn = exitdev_io};
    e->reg.nio = 1;
    e->reg.destroy = exitdev_destroy;
    rc = vmm_dev_register(vm, &e->reg);
    if (rc < 0) {
        LOG_VM(IO, LOG_LVL_ERROR, vmm_vm_name(vm), "exit device: register failed: %d", rc);
        vmm_host()->free(e);
        return rc;
    }
    if (out != NULL) {
        *out = e;
    }
    return 0;
}
