/* Unit tests for the core's interrupt lines (vmm/dev.c): a line is the wire-OR of its device
 * sources, so devices sharing a PCI INTx line do not drop each other's interrupt; edge pulses
 * on a line of their own still reach the controllers as edges; sources are the devices
 * registered on the line and nobody else. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm_fake.h"
#include "../../vmm/platform.h"

static const uint8_t g_image[] = {0xF4};

static struct vmm_vm *g_vm;

/* A line controller that records what the core tells it. */
struct rec {
    bool level[32];
    unsigned rises[32];
    unsigned calls;
};

static struct rec g_rec;

static void rec_set_line(void *p, unsigned line, bool level)
{
    struct rec *r = p;

    if (level && !r->level[line]) {
        r->rises[line]++;
    }
    r->level[line] = level;
    r->calls++;
}

static const struct vmm_intc_ops g_rec_ops = {.set_line = rec_set_line};

/* Stand-in devices: a poll hook is all a table needs besides its lines. */
struct dev {
    int unused;
};

static struct dev g_a;
static struct dev g_b;
static struct dev g_isa;

static uint64_t dev_poll(void *dev, uint64_t now)
{
    (void)dev;
    (void)now;
    return UINT64_MAX;
}

static void add_dev(const char *name, struct dev *d, uint8_t line)
{
    struct vmm_dev_reg reg;

    memset(&reg, 0, sizeof(reg));
    reg.name = name;
    reg.dev = d;
    reg.poll = dev_poll;
    reg.irqs[0] = line;
    reg.nirqs = 1;
    reg.irq_high = 0xFFFFFFFFu; /* garbage the core must not take as state */
    assert_int_equal(vmm_dev_register(g_vm, &reg), 0);
}

static int setup(void **state)
{
    struct vmm_vm_config cfg;

    (void)state;
    fake_vmm_init();
    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, "irq");
    cfg.mem_bytes = MiB(16);
    cfg.image = g_image;
    cfg.image_len = sizeof(g_image);
    cfg.kind = VMM_IMAGE_FLAT;
    cfg.flat_addr = 0x100000;
    g_vm = NULL;
    assert_int_equal(vmm_vm_create(&cfg, &g_vm), 0);
    memset(&g_rec, 0, sizeof(g_rec));
    assert_int_equal(vmm_intc_register(g_vm, &g_rec_ops, &g_rec), 0);
    add_dev("nic0", &g_a, VMM_PCI_IRQ_A);
    add_dev("nic1", &g_b, VMM_PCI_IRQ_A);
    add_dev("pit", &g_isa, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(vmm_vm_destroy(g_vm), 0);
    g_vm = NULL;
    assert_int_equal(g_fake.pages_live, 0);
    assert_int_equal(g_fake.allocs_live, 0);
    return 0;
}

static void test_shared_line_is_wire_or(void **state)
{
    const unsigned l = VMM_PCI_IRQ_A;

    (void)state;
    assert_false(g_rec.level[l]); /* registration asserts nothing, whatever the table held */
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, true), 0);
    assert_true(g_rec.level[l]);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_b, l, true), 0);
    assert_true(g_rec.level[l]);
    assert_int_equal(g_rec.rises[l], 1);
    /* A lowers: B still holds the line (last-writer-wins would have dropped B's interrupt). */
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    assert_true(g_rec.level[l]);
    assert_int_equal(g_rec.rises[l], 1);
    /* Lowering twice changes nothing. */
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    assert_true(g_rec.level[l]);
    /* Both low: the line is low. */
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_b, l, false), 0);
    assert_false(g_rec.level[l]);
    /* And it rises again for either. */
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_b, l, true), 0);
    assert_true(g_rec.level[l]);
    assert_int_equal(g_rec.rises[l], 2);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_b, l, false), 0);
    assert_false(g_rec.level[l]);
}

static void test_edge_pulses(void **state)
{
    (void)state;
    /* An ISA device pulsing a line of its own: every pulse is an edge. */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(vmm_dev_irq_set(g_vm, &g_isa, 0, true), 0);
        assert_int_equal(vmm_dev_irq_set(g_vm, &g_isa, 0, false), 0);
    }
    assert_int_equal(g_rec.rises[0], 3);
    assert_false(g_rec.level[0]);
    /* Pulses leave the other lines alone. */
    assert_false(g_rec.level[VMM_PCI_IRQ_A]);
    assert_int_equal(g_rec.rises[VMM_PCI_IRQ_A], 0);
    /* The core's own pulses (no device) too, and they do not latch. */
    assert_int_equal(vmm_irq_set(g_vm, 4, true), 0);
    assert_int_equal(vmm_irq_set(g_vm, 4, false), 0);
    assert_int_equal(g_rec.rises[4], 1);
    assert_false(g_rec.level[4]);
}

static void test_anonymous_ors_with_devices(void **state)
{
    const unsigned l = VMM_PCI_IRQ_A;

    (void)state;
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, true), 0);
    /* A caller outside the device table cannot drop a device's level. */
    assert_int_equal(vmm_irq_set(g_vm, l, false), 0);
    assert_true(g_rec.level[l]);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    assert_false(g_rec.level[l]);
    assert_int_equal(vmm_irq_set(g_vm, 99, true), -EINVAL);
}

static void test_sources_must_be_registered(void **state)
{
    struct dev stranger = {0};

    (void)state;
    g_rec.calls = 0;
    /* A device that is not in the table, or a line it did not declare. */
    assert_int_equal(vmm_dev_irq_set(g_vm, &stranger, VMM_PCI_IRQ_A, true), -ENOENT);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, VMM_PCI_IRQ_C, true), -ENOENT);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, 24, true), -EINVAL);
    assert_int_equal(g_rec.calls, 0);
    assert_false(g_rec.level[VMM_PCI_IRQ_A]);
    assert_false(g_rec.level[VMM_PCI_IRQ_C]);
}

static void test_level_kept_without_controllers(void **state)
{
    struct vmm_vm_config cfg;
    struct vmm_vm *vm = NULL;
    struct vmm_dev_reg reg;
    struct rec rec;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.name, "bare");
    cfg.mem_bytes = MiB(16);
    cfg.image = g_image;
    cfg.image_len = sizeof(g_image);
    cfg.kind = VMM_IMAGE_FLAT;
    cfg.flat_addr = 0x100000;
    assert_int_equal(vmm_vm_create(&cfg, &vm), 0);
    memset(&reg, 0, sizeof(reg));
    reg.name = "nic";
    reg.dev = &g_a;
    reg.poll = dev_poll;
    reg.irqs[0] = VMM_PCI_IRQ_C;
    reg.nirqs = 1;
    assert_int_equal(vmm_dev_register(vm, &reg), 0);
    /* No line controller yet: -ENODEV, but the source's level is remembered... */
    assert_int_equal(vmm_dev_irq_set(vm, &g_a, VMM_PCI_IRQ_C, true), -ENODEV);
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(vmm_intc_register(vm, &g_rec_ops, &rec), 0);
    /* ...so another caller's low does not lower it. */
    assert_int_equal(vmm_irq_set(vm, VMM_PCI_IRQ_C, false), 0);
    assert_true(rec.level[VMM_PCI_IRQ_C]);
    assert_int_equal(vmm_vm_destroy(vm), 0);
}

/* A vCPU on another CPU than the device's: line changes are posted (the controllers do not
 * change until the vCPU's CPU applies them before its next entry) and the vCPU is kicked; an
 * edge that came and went meanwhile still reaches the controller as a rise and a fall. On the
 * vCPU's own CPU a line goes straight through. Console input and state changes kick too. */
static void test_posted_lines_and_kicks(void **state)
{
    const unsigned l = VMM_PCI_IRQ_A;

    (void)state;
    g_fake.kicks = 0;
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, true), 0);
    assert_true(g_rec.level[l]); /* own CPU: at once, nobody to tell */
    assert_int_equal(g_fake.kicks, 0);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    assert_false(g_rec.level[l]);

    g_fake.elsewhere = true;
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, true), 0);
    assert_false(g_rec.level[l]); /* posted, not applied */
    assert_int_equal(g_fake.kicks, 1);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    g_fake.elsewhere = false;
    vmm_posted_apply(g_vm);
    assert_int_equal(g_rec.rises[l], 2); /* the edge arrived */
    assert_false(g_rec.level[l]);        /* and the line is low again */

    /* Posted low while a device of the vCPU's CPU holds the line: it stays high. */
    g_fake.elsewhere = true;
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, true), 0);
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_a, l, false), 0);
    g_fake.elsewhere = false;
    assert_int_equal(vmm_dev_irq_set(g_vm, &g_b, l, true), 0);
    vmm_posted_apply(g_vm);
    assert_true(g_rec.level[l]);
    vmm_posted_apply(g_vm); /* nothing left */
    assert_true(g_rec.level[l]);

    g_fake.kicks = 0;
    assert_int_equal(vmm_vm_console_write(g_vm, (const uint8_t *)"x", 1), 1);
    assert_int_equal(g_fake.kicks, 1);
    assert_int_equal(vmm_vm_console_write(g_vm, (const uint8_t *)"", 0), 0);
    assert_int_equal(g_fake.kicks, 1);
    assert_int_equal(vmm_vm_start(g_vm), 0);
    assert_int_equal(g_fake.kicks, 2);
    assert_int_equal(vmm_vm_stop(g_vm), 0);
    assert_int_equal(g_fake.kicks, 3);
}

struct msi_rec {
    unsigned calls;
    uint64_t addr[8];
    uint32_t data[8];
};

static bool rec_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct msi_rec *r = ctx;

    if (r->calls < 8) {
        r->addr[r->calls] = addr;
        r->data[r->calls] = data;
    }
    r->calls++;
    return true;
}

/* Posted MSI messages: identical ones merge (as two requests of one vector do in IRR), others
 * queue in order; applying calls the route again; beyond the table they are refused. */
static void test_posted_msi(void **state)
{
    struct msi_rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    g_fake.kicks = 0;
    assert_true(vmm_post_msi(g_vm, rec_msi, &r, 0xFEE00000u, 0x26));
    assert_true(vmm_post_msi(g_vm, rec_msi, &r, 0xFEE00000u, 0x27));
    assert_true(vmm_post_msi(g_vm, rec_msi, &r, 0xFEE00000u, 0x26));
    assert_int_equal(g_fake.kicks, 3);
    assert_int_equal(r.calls, 0);
    vmm_posted_apply(g_vm);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.data[0], 0x26);
    assert_int_equal(r.data[1], 0x27);
    vmm_posted_apply(g_vm);
    assert_int_equal(r.calls, 2);
    for (uint32_t v = 0; v < VMM_POSTED_MSI; v++) {
        assert_true(vmm_post_msi(g_vm, rec_msi, &r, 0xFEE00000u, 0x30 + v));
    }
    assert_false(vmm_post_msi(g_vm, rec_msi, &r, 0xFEE00000u, 0x20));
    assert_int_equal(g_vm->posted.dropped, 1);
    vmm_posted_apply(g_vm);
    assert_int_equal(r.calls, 2 + VMM_POSTED_MSI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_line_is_wire_or, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_pulses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_ors_with_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_must_be_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_kept_without_controllers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_posted_lines_and_kicks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_posted_msi, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
