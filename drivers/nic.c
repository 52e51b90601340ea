/* The common NIC layer: driver table, NIC selection from the command line, frame delivery. */
#include "nic.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

extern const struct nic_driver drv_rtl8139_driver;
extern const struct nic_driver drv_ne2k_driver;
extern const struct nic_driver drv_virtio_net_driver;

/* Probe order: PCI cards first (rtl8139, ne2k-pci); ne2k also probes the ISA card; virtio-net
 * last, so a machine that has it next to another card keeps binding what it bound before. */
static const struct nic_driver *const g_drivers[] = {
    &drv_rtl8139_driver,
    &drv_ne2k_driver,
    &drv_virtio_net_driver,
};

static struct nic *g_primary;

int nic_probe(const char *sel, struct nic **out)
{
    for (size_t i = 0; i < ARRAY_SIZE(g_drivers); i++) {
        int rc = g_drivers[i]->probe(sel, out);

        if (rc == 0) {
            LOG_INFO(DRV, "%s: MAC %02x:%02x:%02x:%02x:%02x:%02x", (*out)->model, (*out)->mac[0],
                     (*out)->mac[1], (*out)->mac[2], (*out)->mac[3], (*out)->mac[4],
                     (*out)->mac[5]);
            return 0;
        }
        if (rc != -ENODEV) {
            LOG_WARN(DRV, "%s: probe failed (%d)", g_drivers[i]->name, rc);
        }
    }
    return -ENODEV;
}

void nic_set_rx(struct nic *nic, nic_rx_fn fn, void *ctx)
{
    nic->rx = fn;
    nic->rx_ctx = ctx;
}

int nic_check_len(size_t len, bool receiving)
{
    if (len > NIC_FRAME_MAX) {
        return -EMSGSIZE;
    }
    /* A frame must hold at least an Ethernet header; received runts (< 60 bytes) are errors. */
    if (len < 14 || (receiving && len < NIC_FRAME_MIN)) {
        return -EINVAL;
    }
    return 0;
}

int nic_send(struct nic *nic, const void *frame, size_t len)
{
    int rc = nic_check_len(len, false);

    if (rc != 0) {
        nic->stats.tx_dropped++;
        return rc;
    }
    return nic->ops->send(nic, frame, len);
}

int nic_set_promisc(struct nic *nic, bool on)
{
    int rc = nic->ops->set_promisc(nic, on);

    if (rc == 0) {
        nic->promisc = on;
        LOG_INFO(DRV, "%s: promiscuous mode %s", nic->name, on ? "on" : "off");
    }
    return rc;
}

int nic_set_allmulti(struct nic *nic, bool on)
{
    int rc = nic->ops->set_allmulti(nic, on);

    if (rc == 0) {
        nic->allmulti = on;
        LOG_INFO(DRV, "%s: all-multicast %s", nic->name, on ? "on" : "off");
    }
    return rc;
}

void nic_deliver(struct nic *nic, const void *frame, size_t len)
{
    nic->stats.rx_packets++;
    nic->stats.rx_bytes += len;
    if (nic->rx == NULL) {
        nic->stats.rx_dropped++;
        return;
    }
    nic->rx(nic->rx_ctx, frame, len);
}

struct nic *nic_primary(void)
{
    return g_primary;
}

void nic_set_primary(struct nic *nic)
{
    g_primary = nic;
}
