/* ACPI fixed-hardware registers (acpi.h): the PM1a event block (status, enable), the PM1a
 * control block and the PM timer, at the ports vmm/platform.h names and the FADT gives.
 *
 *   PM1a_STS  +0 (16 bits, write 1 to clear)   PM1a_EN  +2 (16 bits)
 *   PM1a_CNT  +4 (16 bits): SCI_EN reads 1 (no SMI_CMD: always ACPI mode); writing SLP_EN
 *             (bit 13) with SLP_TYP (bits 10-12) = the \_S5 type ends the VM (poweroff)
 *   PM_TMR    +8 (32 bits, read only): 3.579545 MHz from the host clock
 *
 * The SCI (VMM_ACPI_SCI_IRQ, level) is high while a status bit is set and enabled. Nothing
 * sets one yet: there is no fixed power button and no timer overflow event (FADT flags say
 * so); the line is kept right for when there is. */
#include "acpi.h"
#include "host.h"
#include "platform.h"
#include "vm.h"
#include "devices/devio.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define PM_NAME       "acpi-pm"
#define PM1_SCI_EN    (1u << 0)
#define PM1_SLP_TYP_S 10
#define PM1_SLP_EN    (1u << 13)
/* Status bits the guest may see (TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK); enable bits. */
#define PM1_STS_MASK 0x8F31u
#define PM1_EN_MASK  0x0721u

struct vmm_acpi_pm {
    struct vmm_vm *vm;
    uint16_t sts;
    uint16_t en;
    uint16_t cnt;
    bool sci;
    uint64_t sleeps_refused;
};

static void pm_update_sci(struct vmm_acpi_pm *pm)
{
    bool level = (pm->sts & pm->en) != 0;

    if (level != pm->sci) {
        pm->sci = level;
        (void)vmm_dev_irq_set(pm->vm, pm, VMM_ACPI_SCI_IRQ, level);
    }
}

static uint32_t pm_timer(void)
{
    return (uint32_t)devio_ns_to_ticks(vmm_host()->now_ns(), VMM_ACPI_PM_TMR_HZ);
}

static void pm_cnt_write(struct vmm_acpi_pm *pm, uint16_t val)
{
    unsigned typ = (val >> PM1_SLP_TYP_S) & 7u;

    pm->cnt = (uint16_t)((val & ~PM1_SLP_EN) | PM1_SCI_EN);
    if (!(val & PM1_SLP_EN)) {
        return;
    }
    if (typ == VMM_ACPI_S5_TYP) {
        LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(pm->vm), "vm %s: ACPI poweroff (S5)",
               vmm_vm_name(pm->vm));
        vmm_vm_request_exit(pm->vm, 0, "ACPI poweroff");
        return;
    }
    /* The DSDT offers S5 only: another type is a guest bug; the write is dropped. */
    if (pm->sleeps_refused++ == 0) {
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(pm->vm), "ACPI sleep type %u not offered: ignored",
               typ);
    }
}

/* One byte of the 16-bit registers (status, enable, control) at offset off. */
static int pm_byte(void *dev, uint16_t port, bool write, uint8_t *val)
{
    struct vmm_acpi_pm *pm = dev;
    unsigned off = (unsigned)(port - VMM_ACPI_PM_BASE);
    unsigned shift = (off & 1u) * 8;
    uint16_t v = (uint16_t)(*val << shift);

    switch (off & ~1u) {
    case 0:
        if (write) {
            pm->sts &= (uint16_t) ~(v & PM1_STS_MASK);
            pm_update_sci(pm);
        } else {
            *val = (uint8_t)(pm->sts >> shift);
        }
        return VMM_HANDLED;
    case 2:
        if (write) {
            uint16_t keep = (uint16_t)(pm->en & ~(0xFFu << shift));

            pm->en = (uint16_t)((keep | v) & PM1_EN_MASK);
            pm_update_sci(pm);
        } else {
            *val = (uint8_t)(pm->en >> shift);
        }
        return VMM_HANDLED;
    case 4:
        if (write) {
            pm_cnt_write(pm, (uint16_t)((pm->cnt & ~(0xFFu << shift)) | v));
        } else {
            *val = (uint8_t)((pm->cnt | PM1_SCI_EN) >> shift);
        }
        return VMM_HANDLED;
    case 8:
    case 10:
        if (!write) {
            *val = (uint8_t)(pm_timer() >> (8 * (off - 8)));
        }
        return VMM_HANDLED;
    default:
        if (!write) {
            *val = 0xFF;
        }
        return VMM_HANDLED;
    }
}

static int pm_io(void *dev, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct vmm_acpi_pm *pm = dev;

    /* Whole registers in one go: the timer must not tear, and a 16-bit control write with
     * SLP_EN must act on the type written with it. */
    if (!write && size == 4 && port == VMM_ACPI_PM_TMR) {
        *val = pm_timer();
        return VMM_HANDLED;
    }
    if (write && size >= 2 && port == VMM_ACPI_PM1A_CNT) {
        pm_cnt_write(pm, (uint16_t)*val);
        return VMM_HANDLED;
    }
    return devio_split(dev, port, size, write, val, pm_byte);
}

static void pm_reset(void *dev)
{
    struct vmm_acpi_pm *pm = dev;

    pm->sts = 0;
    pm->en = 0;
    pm->cnt = PM1_SCI_EN;
    pm_update_sci(pm);
}

static void pm_destroy(void *dev)
{
    vmm_host()->free(dev);
}

int vmm_acpi_pm_create(struct vmm_vm *vm)
{
    struct vmm_acpi_pm *pm;
    struct vmm_dev_reg reg;
    int rc;

    for (size_t i = 0; i < vm->ndevs; i++) {
        if (strcmp(vm->devs[i].name, PM_NAME) == 0) {
            return -EEXIST;
        }
    }
    pm = vmm_host()->zalloc(sizeof(*pm));
    if (pm == NULL) {
        return -ENOMEM;
    }
    pm->vm = vm;
    pm->cnt = PM1_SCI_EN;
    memset(&reg, 0, sizeof(reg));
    reg.name = PM_NAME;
    reg.dev = pm;
    reg.io[0] =
        (struct vmm_dev_io_range){.base = VMM_ACPI_PM_BASE, .count = VMM_ACPI_PM_LEN, .fn = pm_io};
    reg.nio = 1;
    reg.irqs[0] = VMM_ACPI_SCI_IRQ;
    reg.nirqs = 1;
    reg.reset = pm_reset;
    reg.destroy = pm_destroy;
    rc = vmm_dev_register(vm, &reg);
    if (rc != 0) {
        vmm_host()->free(pm);
    }
    return rc;
}
