/* kmain: bring the appliance up in order, print the banner, and enter the main loop. */
#include "bootinfo.h"
#include "cmdline.h"
#include "console_out.h"
#include "cpu.h"
#include "cpuinfo.h"
#include "guest_cpu.h"
#include "heap.h"
#include "irq.h"
#include "lib.h"
#include "log.h"
#include "mainloop.h"
#include "memory.h"
#include "params.h"
#include "smp.h"
#include "timer.h"
#include "trap.h"
#include "version.h"
#include "vms.h"
#include "vnet_glue.h"
#include "../drivers/ioapic.h"
#include "../drivers/nic.h"
#include "../netstack/net.h"
#include "../console/console.h"
#include "../console/config.h"
#include "../drivers/lapic.h"
#include "../drivers/pci.h"
#include "../drivers/pic.h"

static struct bootinfo g_bootinfo;

static void print_banner_cpu(void)
{
    struct cpuinfo ci;
    const char *brand;

    cpuinfo_read(&ci);
    brand = ci.brand;
    while (*brand == ' ') {
        brand++;
    }
    LOG_INFO(BOOT, "cpu: %s family %#x model %#x stepping %u: %s", ci.vendor, ci.family, ci.model,
             ci.stepping, brand[0] != '\0' ? brand : "(no brand string)");
    if (!ci.svm) {
        LOG_WARN(BOOT, "cpu: SVM not supported: guests cannot run (boot QEMU with -cpu ...,+svm)");
        return;
    }
    LOG_INFO(BOOT,
             "cpu: SVM %s (revision %u, %u ASIDs), NPT %s, NRIPS %s, decode assists %s, "
             "VGIF %s",
             ci.svm_disabled ? "disabled by firmware (VM_CR.SVMDIS)" : "yes", ci.svm_rev, ci.asids,
             ci.npt ? "yes" : "no", ci.nrips ? "yes" : "no", ci.decode_assists ? "yes" : "no",
             ci.vgif ? "yes" : "no");
}

static void print_pci(void)
{
    size_t n = drv_pci_enumerate();

    LOG_INFO(PCI, "%zu PCI functions", n);
    for (size_t i = 0; i < n; i++) {
        char line[LOG_TEXT_MAX];

        drv_pci_describe(drv_pci_get(i), line, sizeof(line));
        LOG_INFO(PCI, "%s", line);
    }
}

/* Binds the host NIC (the first found, or the one nic= names) and starts the network stack. */
static void init_network(void)
{
    struct net_boot_config cfg = {g_params.ip, g_params.gw};
    struct nic *nic = NULL;
    int rc;

    rc = nic_probe(g_params.nic[0] != '\0' ? g_params.nic : NULL, &nic);
    if (rc != 0) {
        if (g_params.nic[0] != '\0') {
            LOG_WARN(NET, "no NIC matches nic=%s; the appliance has no network", g_params.nic);
        } else {
            LOG_WARN(NET, "no supported NIC found (rtl8139, ne2k, virtio); the appliance has no "
                          "network");
        }
        (void)vnet_glue_init(NULL); /* reports petrel.conf's [vnet] lines as not applied */
        return;
    }
    nic_set_primary(nic);
    (void)vnet_glue_init(nic); /* the switch, its edge on the NIC; lwIP then joins as "local" */
    rc = net_init(nic, &cfg);
    if (rc != 0) {
        LOG_ERROR(NET, "network stack start failed (%d)", rc);
        return;
    }
    vnet_glue_start(); /* VXLAN UDP socket, capture stream */
}

static void run_test_fault(void)
{
    volatile uint64_t *p;
    volatile int zero = 0;
    volatile int one = 1;
    volatile int r;

    switch (g_params.test_fault) {
    case TEST_FAULT_NONE:
        return;
    case TEST_FAULT_UD:
        LOG_WARN(TEST, "test.fault=ud: executing ud2");
        __asm__ volatile("ud2");
        break;
    case TEST_FAULT_PF:
        LOG_WARN(TEST, "test.fault=pf: reading unmapped address 0x100000000000");
        p = (volatile uint64_t *)0x100000000000ULL;
        (void)*p;
        break;
    case TEST_FAULT_GP:
        LOG_WARN(TEST, "test.fault=gp: reading non-canonical address 0x8000000000000000");
        p = (volatile uint64_t *)0x8000000000000000ULL;
        (void)*p;
        break;
    case TEST_FAULT_DE:
        LOG_WARN(TEST, "test.fault=de: dividing by zero");
        r = one / zero; /* volatile operands: the compiler must emit idiv */
        (void)r;
        break;
    case TEST_FAULT_PANIC:
        LOG_WARN(TEST, "test.fault=panic: calling panic()");
        panic("test.fault=panic requested on the command line");
    }
    panic("test fault %d did not fault", (int)g_params.test_fault);
}

static void init_interrupts(void)
{
    int rc;

    irq_init();
    drv_pic_disable(VEC_PIC_BASE);
    rc = drv_lapic_init(VEC_SPURIOUS);
    if (rc != 0) {
        panic("local APIC setup failed (%d)", rc);
    }
    /* The IOAPIC address should come from the ACPI MADT; QEMU and PC chipsets put it here. */
    rc = drv_ioapic_init(IOAPIC_DEFAULT_BASE);
    if (rc != 0) {
        LOG_WARN(IRQ, "no IOAPIC (%d): device interrupts unavailable", rc);
    }
}

void kmain(uint32_t magic, uint64_t info_phys);

void kmain(uint32_t magic, uint64_t info_phys)
{
    int rc;
    int problems;

    log_init();
    console_out_init();
    console_out_raw("\n");
    LOG_INFO(BOOT, "Petrel %s (%s), x86-64 virtualization appliance", PETREL_VERSION, PETREL_GIT);

    if (magic != MB2_BOOTLOADER_MAGIC) {
        panic("not booted by a multiboot2 loader (magic %#x)", magic);
    }
    /* The info size is its first word; bound it so a corrupt value cannot run off memory. */
    rc = bootinfo_parse((const void *)(uintptr_t)info_phys, MiB(1), &g_bootinfo);
    if (rc != 0) {
        panic("malformed multiboot2 information at %#llx", (unsigned long long)info_phys);
    }
    trap_init();

    LOG_INFO(BOOT, "loader: %s", g_bootinfo.loader[0] != '\0' ? g_bootinfo.loader : "unknown");
    {
        /* The command line may carry the console password hash: never log it as given. */
        char shown[BOOT_CMDLINE_MAX];

        con_redact_cmdline(g_bootinfo.cmdline, shown, sizeof(shown));
        LOG_INFO(BOOT, "cmdline: %s", shown);
    }
    problems = params_apply(g_bootinfo.cmdline);
    if (problems > 0) {
        LOG_WARN(BOOT, "cmdline: %d problem(s), see above", problems);
    }
    vms_config_load(&g_bootinfo); /* petrel.conf's [appliance] keys, before what they set up */

    rc = memory_init(&g_bootinfo);
    if (rc != 0) {
        panic("memory setup failed (%d)", rc);
    }
    print_banner_cpu();
    init_interrupts();
    rc = timer_init();
    if (rc != 0) {
        panic("timer setup failed (%d)", rc);
    }
    log_set_clock(now_ns);
    print_pci();

    for (size_t i = 0; i < g_bootinfo.nmodules; i++) {
        const struct boot_module *m = &g_bootinfo.modules[i];
        LOG_INFO(BOOT, "module %zu: %s at %#llx, %llu bytes", i, m->name,
                 (unsigned long long)m->start, (unsigned long long)(m->end - m->start));
    }

    init_network();
    console_init(); /* logs and does nothing more when the network did not come up */
    vms_init(&g_bootinfo);
    run_test_fault();
    /* A second CPU runs the guests (ARCHITECTURE.md, "CPUs"): started once the VMM is up,
     * and settled before any vCPU runs, so none starts on CPU 0 and then moves. */
    guest_cpu_setup();
    (void)smp_start(guest_cpu_entry);
    guest_cpu_wait_ready();
    cpu_sti();
    LOG_INFO(BOOT, "ready");
    console_out_raw("petrel: ready\n");
    mainloop_run();
}
