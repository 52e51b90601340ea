/* The guest NIC models' shared host connection, counters and hostile-guest reporting (vnic.h). */
#include "vnic.h"
#include "../host.h"
#include "../../kernel/lib/netoff.h"
#include "../../kernel/lib.h"
#include "../../kernel/log.h"

#define VNIC_MIN_FRAME 14

void vnic_port_init(struct vnic_port *p, struct vmm_vm *vm, const char *model, const char *name,
                    const uint8_t mac[6], bool (*rx)(void *dev, const void *frame, size_t len),
                    void *dev)
{
    const struct vmm_host *h = vmm_host();
    int rc;

    p->vm = vm;
    p->model = model;
    str_copy(p->name, name, sizeof(p->name));
    memcpy(p->mac, mac, 6);
    p->backend = NULL;
    if (h->nic_attach == NULL) {
        LOG_VM(VMM, LOG_LVL_INFO, vmm_vm_name(vm), "%s %s: no network backend, link down", model,
               p->name);
        return;
    }
    rc = h->nic_attach(vm, p->name, p->mac, rx, dev, &p->backend);
    if (rc < 0) {
        p->backend = NULL;
        LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(vm),
               "%s %s: attach to the network failed (%d), link down", model, p->name, rc);
    }
}

void vnic_port_detach(struct vnic_port *p)
{
    if (p->backend != NULL && vmm_host()->nic_detach != NULL) {
        vmm_host()->nic_detach(p->backend);
    }
    p->backend = NULL;
}

void vnic_send(struct vnic_port *p, const void *frame, size_t len)
{
    const struct vmm_host *h = vmm_host();

    if (p->backend == NULL || h->nic_send == NULL || len < VNIC_MIN_FRAME ||
        len > VMM_NIC_FRAME_MAX) {
        p->stats.tx_dropped++;
        return;
    }
    if (h->nic_send(p->backend, frame, len) < 0) {
        p->stats.tx_dropped++;
        return;
    }
    p->stats.tx_frames++;
    p->stats.tx_bytes += len;
}

bool vnic_offloads_supported(const struct vnic_port *p)
{
    const struct vmm_host *h = vmm_host();

    return p->backend != NULL && h->nic_send_off != NULL && h->nic_set_offloads != NULL;
}

int vnic_send_off(struct vnic_port *p, const void *frame, size_t len, const struct netoff *off)
{
    const struct vmm_host *h = vmm_host();
    size_t max =
        (off != NULL && off->gso != NETOFF_GSO_NONE) ? NETOFF_FRAME_MAX : VMM_NIC_FRAME_MAX;
    uint64_t sent = p->stats.tx_frames;
    int rc;

    if (h->nic_send_off == NULL && !netoff_active(off)) {
        /* Nothing for anyone to do: a plain frame (VALID alone is only a hint). */
        vnic_send(p, frame, len);
        return p->stats.tx_frames != sent ? 0 : -EIO;
    }
    if (p->backend == NULL || h->nic_send_off == NULL) {
        p->stats.tx_dropped++;
        return -ENOTSUP;
    }
    if (len < VNIC_MIN_FRAME || len > max) {
        p->stats.tx_dropped++;
        return -EMSGSIZE;
    }
    rc = h->nic_send_off(p->backend, frame, len, off);
    if (rc < 0) {
        p->stats.tx_dropped++;
        return rc;
    }
    p->stats.tx_frames++;
    p->stats.tx_bytes += len;
    return 0;
}

int vnic_set_offloads(struct vnic_port *p, unsigned caps,
                      bool (*rx_off)(void *dev, const void *frame, size_t len,
                                     const struct netoff *off))
{
    const struct vmm_host *h = vmm_host();

    if (p->backend == NULL || h->nic_set_offloads == NULL) {
        return -ENOTSUP;
    }
    return h->nic_set_offloads(p->backend, caps, rx_off);
}

bool vnic_rx_drop(struct vnic_port *p)
{
    p->stats.rx_dropped++;
    return false;
}

void vnic_rx_count(struct vnic_port *p, size_t len)
{
    p->stats.rx_frames++;
    p->stats.rx_bytes += len;
}

void vnic_hostile(struct vnic_port *p, const char *fmt, ...)
{
    char msg[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->stats.hostile++;
    LOG_VM(VMM, LOG_LVL_WARN, vmm_vm_name(p->vm), "%s %s: %s: NIC reset", p->model, p->name, msg);
}

unsigned vnic_mcast_hash(const uint8_t dst[6])
{
    uint32_t crc = 0xFFFFFFFFu;

    for (unsigned i = 0; i < 6; i++) {
        uint8_t b = dst[i];

        for (unsigned bit = 0; bit < 8; bit++, b >>= 1) {
            crc = ((crc >> 31) ^ (b & 1)) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
        }
    }
    return crc >> 26;
}

bool vnic_accept(const uint8_t mac[6], const uint8_t dst[6], bool promisc, bool broadcast,
                 bool multicast, const uint8_t *mar)
{
    static const uint8_t bcast[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    unsigned h;

    if (promisc) {
        return true;
    }
    if (memcmp(dst, bcast, 6) == 0) {
        return broadcast;
    }
    if (dst[0] & 1) {
        if (!multicast) {
            return false;
        }
        if (mar == NULL) {
            return true;
        }
        h = vnic_mcast_hash(dst);
        return (mar[h >> 3] >> (h & 7)) & 1;
    }
    return memcmp(dst, mac, 6) == 0;
}
