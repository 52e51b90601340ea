/* MSI-X capability, vector table and pending bits of a PCI function (msix.h). */
#include "msix.h"
#include "../host.h"
#include "../../kernel/bytes.h"
#include "../../kernel/log.h"

#define CTRL_FMASK  0x40 /* message control, upper byte: function mask */
#define CTRL_ENABLE 0x80 /* message control, upper byte: MSI-X enable */
#define ENTRY_MASK  0x1u /* vector control: masked */
/* Guest mistakes are logged at most once a second. */
#define LOG_NS 1000000000ull

#define MSI_ADDR_BASE 0xFEEu /* address bits 31:20 (and 63:32 zero) */

#define MSIX_LOG(m, lvl, ...) LOG_VM(VMM, lvl, vmm_vm_name((m)->vm), __VA_ARGS__)

int vmm_msi_decode(uint64_t addr, uint32_t data, struct vmm_apic_irq *irq)
{
    uint8_t mode = (uint8_t)((data >> 8) & 7);

    if ((addr >> 20) != MSI_ADDR_BASE) {
        return -EINVAL;
    }
    if (mode != APIC_DM_FIXED && mode != APIC_DM_LOWEST) {
        return -EINVAL;
    }
    if ((data & 0xFF) < 16) {
        return -EINVAL;
    }
    irq->vector = (uint8_t)data;
    irq->mode = mode;
    irq->level = false;
    irq->logical = (addr >> 2) & 1; /* destination mode */
    irq->dest = (uint8_t)(addr >> 12);
    return 0;
}

/* Rate-limited: false when this line is to be left out (counted). */
static bool msix_may_log(struct vmm_msix *m)
{
    const struct vmm_host *host = vmm_host();
    uint64_t now = host->now_ns != NULL ? host->now_ns() : 0;

    if (m->logged && now - m->log_ns < LOG_NS) {
        m->log_quiet++;
        return false;
    }
    m->logged = true;
    m->log_ns = now;
    return true;
}

static void msix_bad_access(struct vmm_msix *m, const char *why, uint64_t off, unsigned size,
                            bool write)
{
    m->stats.bad_access++;
    if (msix_may_log(m)) {
        MSIX_LOG(m, LOG_LVL_WARN,
                 "%s: MSI-X %u-byte %s at BAR%u+0x%llx ignored: %s (%llu more not logged)", m->name,
                 size, write ? "write" : "read", m->cfg.bar, (unsigned long long)off, why,
                 (unsigned long long)m->log_quiet);
        m->log_quiet = 0;
    }
}

/* The message control's upper byte, kept in config space where the guest reads it. */
static void msix_sync_cfg(struct vmm_msix *m)
{
    uint8_t *c = vmm_pci_func_cfg(m->pci) + m->cfg.cap;

    c[3] = (uint8_t)(((m->cfg.nvec - 1) >> 8) | (m->enabled ? CTRL_ENABLE : 0) |
                     (m->fmask ? CTRL_FMASK : 0));
}

static void msix_send(struct vmm_msix *m, unsigned v)
{
    const struct vmm_msix_entry *e = &m->table[v];
    uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
    int rc = vmm_pci_func_msi(m->pci, addr, e->data);

    if (rc == 0) {
        m->stats.sent++;
        return;
    }
    m->stats.dropped++;
    if (msix_may_log(m)) {
        MSIX_LOG(m, rc == -EPERM ? LOG_LVL_DEBUG : LOG_LVL_WARN,
                 "%s: MSI-X vector %u (address 0x%llx data 0x%x) dropped: %s (%llu more not "
                 "logged)",
                 m->name, v, (unsigned long long)addr, e->data,
                 rc == -EPERM    ? "bus mastering is off"
                 : rc == -ENODEV ? "no MSI route"
                                 : "not a fixed/lowest-priority message to a LAPIC",
                 (unsigned long long)m->log_quiet);
        m->log_quiet = 0;
    }
}

static bool msix_masked(const struct vmm_msix *m, unsigned v)
{
    return m->fmask || (m->table[v].ctrl & ENTRY_MASK) != 0;
}

/* Sends what became deliverable (an unmask or the enable). */
static void msix_flush_pending(struct vmm_msix *m)
{
    if (!m->enabled || m->fmask || m->pending == 0) {
        return;
    }
    for (unsigned v = 0; v < m->cfg.nvec; v++) {
        if ((m->pending & (1u << v)) && !msix_masked(m, v)) {
            m->pending &= ~(1u << v);
            msix_send(m, v);
        }
    }
}

void vmm_msix_notify(struct vmm_msix *m, unsigned vector)
{
    if (!m->enabled || vector >= m->cfg.nvec) {
        return;
    }
    if (msix_masked(m, vector)) {
        m->pending |= 1u << vector;
        m->stats.pended++;
        return;
    }
    msix_send(m, vector);
}

bool vmm_msix_enabled(const struct vmm_msix *m)
{
    return m->enabled;
}

void vmm_msix_reset(struct vmm_msix *m)
{
    m->enabled = false;
    m->fmask = false;
    m->pending = 0;
    for (unsigned v = 0; v < VMM_MSIX_MAX; v++) {
        m->table[v] = (struct vmm_msix_entry){.ctrl = ENTRY_MASK};
    }
    msix_sync_cfg(m);
}

int vmm_msix_init(struct vmm_msix *m, struct vmm_vm *vm, const char *name, struct vmm_pci_func *f,
                  const struct vmm_msix_config *cfg)
{
    uint32_t table_end = cfg->table_off + cfg->nvec * VMM_MSIX_ENTRY_SIZE;
    uint32_t pba_end = cfg->pba_off + 8;
    uint8_t *c;

    if (f == NULL || cfg->nvec == 0 || cfg->nvec > VMM_MSIX_MAX || cfg->bar >= 6 ||
        cfg->cap < 0x40 || (cfg->cap & 3) != 0 || cfg->cap + VMM_MSIX_CAP_LEN > VMM_PCI_CFG_SIZE ||
        (cfg->next != 0 && (cfg->next < 0x40 || (cfg->next & 3) != 0)) ||
        (cfg->table_off & 7) != 0 || (cfg->pba_off & 7) != 0 ||
        (cfg->table_off < pba_end && cfg->pba_off < table_end)) {
        return -EINVAL;
    }
    memset(m, 0, sizeof(*m));
    m->vm = vm;
    m->name = name;
    m->pci = f;
    m->cfg = *cfg;
    c = vmm_pci_func_cfg(f) + cfg->cap;
    memset(vmm_pci_func_wmask(f) + cfg->cap, 0, VMM_MSIX_CAP_LEN);
    c[0] = VMM_MSIX_CAP_ID;
    c[1] = (uint8_t)cfg->next;
    c[2] = (uint8_t)(cfg->nvec - 1);
    wr32(c + 4, cfg->table_off | cfg->bar);
    wr32(c + 8, cfg->pba_off | cfg->bar);
    vmm_msix_reset(m);
    return 0;
}

int vmm_msix_cfg_write(struct vmm_msix *m, unsigned off, unsigned size, uint32_t val)
{
    unsigned ctl = m->cfg.cap + 3; /* the byte with enable and function mask */
    uint8_t b;
    bool was_enabled = m->enabled;
    bool was_masked = m->fmask;

    if (off < m->cfg.cap || off >= m->cfg.cap + VMM_MSIX_CAP_LEN) {
        return VMM_NOT_MINE;
    }
    if (off > ctl || off + size <= ctl) {
        return VMM_HANDLED; /* read-only bytes of the capability */
    }
    b = (uint8_t)(val >> (8 * (ctl - off)));
    m->enabled = (b & CTRL_ENABLE) != 0;
    m->fmask = (b & CTRL_FMASK) != 0;
    msix_sync_cfg(m);
    if (m->enabled != was_enabled || m->fmask != was_masked) {
        MSIX_LOG(m, LOG_LVL_DEBUG, "%s: MSI-X %s%s", m->name, m->enabled ? "enabled" : "disabled",
                 m->fmask ? ", function masked" : "");
    }
    msix_flush_pending(m);
    return VMM_HANDLED;
}

static uint32_t entry_read(const struct vmm_msix_entry *e, unsigned dw)
{
    switch (dw) {
    case 0:
        return e->addr_lo;
    case 1:
        return e->addr_hi;
    case 2:
        return e->data;
    default:
        return e->ctrl;
    }
}

static void entry_write(struct vmm_msix *m, unsigned v, unsigned dw, uint32_t val)
{
    struct vmm_msix_entry *e = &m->table[v];

    switch (dw) {
    case 0:
        e->addr_lo = val & ~3u;
        return;
    case 1:
        e->addr_hi = val;
        return;
    case 2:
        e->data = val;
        return;
    default:
        e->ctrl = val & ENTRY_MASK;
        msix_flush_pending(m);
        return;
    }
}

bool vmm_msix_mmio(struct vmm_msix *m, uint64_t off, unsigned size, bool write, uint64_t *val)
{
    uint64_t table_len = (uint64_t)m->cfg.nvec * VMM_MSIX_ENTRY_SIZE;
    bool in_table = off >= m->cfg.table_off && off - m->cfg.table_off < table_len;
    bool in_pba = off >= m->cfg.pba_off && off - m->cfg.pba_off < 8;
    uint64_t v = 0;

    if (!in_table && !in_pba) {
        return false;
    }
    if (!write) {
        *val = 0;
    }
    /* Aligned dwords and qwords only, so an access never leaves its entry or the PBA. */
    if ((size != 4 && size != 8) || (off & (size - 1)) != 0) {
        msix_bad_access(m, "not an aligned dword or qword", off, size, write);
        return true;
    }
    if (in_pba) {
        if (write) {
            msix_bad_access(m, "the pending bits are read-only", off, size, write);
        } else {
            *val = size == 8 ? m->pending : (off & 4) ? 0 : m->pending;
        }
        return true;
    }
    off -= m->cfg.table_off;
    for (unsigned i = 0; i < size / 4; i++) {
        unsigned ent = (unsigned)(off / VMM_MSIX_ENTRY_SIZE);
        unsigned dw = (unsigned)((off % VMM_MSIX_ENTRY_SIZE) / 4) + i;

        if (write) {
            entry_write(m, ent, dw, (uint32_t)(*val >> (32 * i)));
        } else {
            v |= (uint64_t)entry_read(&m->table[ent], dw) << (32 * i);
        }
    }
    if (!write) {
        *val = v;
    }
    return true;
}
