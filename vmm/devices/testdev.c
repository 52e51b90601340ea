/* The MMIO test device (testdev.h): a byte-addressed register file, so any access size and
 * alignment is the same loop over bytes. */
#include "testdev.h"
#include "devio.h"
#include "../host.h"
#include "../../kernel/log.h"

struct vmm_testdev {
    struct vmm_vm *vm;
    uint64_t base;
    uint64_t count;
    uint8_t scratch[8];
    uint8_t buf[TESTDEV_SIZE - TESTDEV_BUF];
    struct vmm_dev_reg reg;
};

static uint8_t le_byte(uint64_t v, unsigned i)
{
    return (uint8_t)(v >> (8 * i));
}

/* The byte at offset off as a read sees it (count: COUNT's value for this access). */
static uint8_t read_byte(const struct vmm_testdev *t, uint64_t off, uint64_t count)
{
    if (off >= TESTDEV_SIZE) {
        return 0xFF;
    }
    if (off >= TESTDEV_BUF) {
        return t->buf[off - TESTDEV_BUF];
    }
    if (off < 4) {
        return le_byte(TESTDEV_ID, (unsigned)off);
    }
    if (off < 8) {
        return le_byte(TESTDEV_VERSION, (unsigned)(off - 4));
    }
    if (off < TESTDEV_COUNT) {
        return t->scratch[off - TESTDEV_SCRATCH];
    }
    if (off < TESTDEV_SINK) {
        return le_byte(count, (unsigned)(off - TESTDEV_COUNT));
    }
    return 0;
}

/* Returns true when the byte was a RESET byte. */
static bool write_byte(struct vmm_testdev *t, uint64_t off, uint8_t b)
{
    if (off >= TESTDEV_SIZE) {
        return false;
    }
    if (off >= TESTDEV_BUF) {
        t->buf[off - TESTDEV_BUF] = b;
    } else if (off >= TESTDEV_SCRATCH && off < TESTDEV_COUNT) {
        t->scratch[off - TESTDEV_SCRATCH] = b;
    } else if (off >= TESTDEV_RESET && off < TESTDEV_RESET + 8) {
        return true;
    }
    return false;
}

static int testdev_mmio(void *dev, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct vmm_testdev *t = dev;
    uint64_t off = gpa - t->base;
    uint64_t count = t->count;
    bool reset = false;

    if (gpa < t->base || off >= TESTDEV_SIZE) {
        return VMM_NOT_MINE;
    }
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        return -EINVAL;
    }
    if (write) {
        for (unsigned i = 0; i < size; i++) {
            reset |= write_byte(t, off + i, le_byte(*val, i));
        }
    } else {
        uint64_t v = 0;

        for (unsigned i = 0; i < size; i++) {
            v |= (uint64_t)read_byte(t, off + i, count) << (8 * i);
        }
        *val = v;
    }
    t->count = reset ? 0 : count + 1;
    return VMM_HANDLED;
}

uint64_t vmm_testdev_count(const struct vmm_testdev *t)
{
    return t->count;
}

static void testdev_reset(void *dev)
{
    struct vmm_testdev *t = dev;

    t->count = 0;
    memset(t->scratch, 0, sizeof(t->scratch));
    memset(t->buf, 0, sizeof(t->buf));
}

static void testdev_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_dev_testdev_create(struct vmm_vm *vm, const struct vmm_testdev_config *cfg,
                           struct vmm_testdev **out)
{
    uint64_t base = cfg != NULL && cfg->base != 0 ? cfg->base : TESTDEV_BASE;
    struct vmm_testdev *t;
    int rc;

    if (base % TESTDEV_SIZE != 0 || base > UINT64_MAX - TESTDEV_SIZE) {
        LOG_VM(VMM, LOG_LVL_ERROR, vmm_vm_name(vm), "testdev: base %#llx is not 4 KiB aligned",
               (unsigned long long)base);
        return -EINVAL;
    }
    t = vmm_host()->zalloc(sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    t->vm = vm;
    t->base = base;
    t->reg.name = "testdev";
    t->reg.dev = t;
    t->reg.mmio[0] =
        (struct vmm_dev_mmio_range){.base = base, .len = TESTDEV_SIZE, .fn = testdev_mmio};
    t->reg.nmmio = 1;
    t->reg.reset = testdev_reset;
    t->reg.destroy = testdev_destroy;
    rc = vmm_dev_register(vm, &t->reg);
    if (rc < 0) {
        LOG_VM(VMM, LOG_LVL_ERROR, vmm_vm_name(vm), "testdev: register failed: %d", rc);
        vmm_host()->free(t);
        return rc;
    }
    if (out != NULL) {
        *out = t;
    }
    return 0;
}
