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
    nic->rx_off = NULL;
    nic->rx_ctx = ctx;
}

void nic_set_rx_off(struct nic *nic, nic_rx_off_fn fn, void *ctx)
{
    nic->rx = NULL;
    nic->rx_off = fn;
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

int nic_send_off(struct nic *nic, const void *frame, size_t len, const struct netoff *off)
{
    bool gso = off != NULL && off->gso != NETOFF_GSO_NONE;
    bool partial = off != NULL && off->csum == NETOFF_CSUM_PARTIAL;

    if (!netoff_active(off)) {
        return nic_send(nic, frame, len);
    }
    if (nic->ops->send_off == NULL || (gso && !(nic->tx_offloads & NETOFF_CAP_TSO4)) ||
        (partial && !gso && !(nic->tx_offloads & NETOFF_CAP_CSUM))) {
        nic->stats.tx_dropped++;
        return -EINVAL;
    }
    if (len < 14 || len > (gso ? NETOFF_FRAME_MAX : NIC_FRAME_MAX)) {
        nic->stats.tx_dropped++;
        return -EMSGSIZE;
    }
    return nic->ops->send_off(nic, frame, len, off);
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
    nic_deliver_off(nic, frame, len, NULL);
}

/* netoff_emit's receiver for a plain rx hook. */
static int nic_emit_plain(void *ctx, const uint8_t *frame, size_t len, const struct netoff *off)
{
    struct nic *nic = ctx;

    (void)off;
    nic->rx(nic->rx_ctx, frame, len);
    return 0;
}

void nic_deliver_off(struct nic *nic, const void *frame, size_t len, const struct netoff *off)
{
    /* Main loop only, never nested: one frame's segments or checksum-completed copy. */
    static uint8_t scratch[NIC_FRAME_MAX + 4];

    nic->stats.rx_packets++;
    nic->stats.rx_bytes += len;
    if (nic->rx_off != NULL) {
        nic->rx_off(nic->rx_ctx, frame, len, off);
        return;
    }
    if (nic->rx == NULL) {
        nic->stats.rx_dropped++;
        return;
    }
    if (!netoff_active(off)) {
        nic->rx(nic->rx_ctx, frame, len);
        return;
    }
    if (netoff_emit(frame, len, off, 0, scratch, sizeof(scratch), nic_emit_plain, nic) < 0) {
        nic->stats.rx_dropped++;
    }
}

struct nic *nic_primary(void)
{
    return g_primary;
}

void nic_set_primary(struct nic *nic)
{
    g_primary = nic;
}
