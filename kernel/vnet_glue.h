/* The VNET switch in the appliance: the kernel's struct vnet_host, the switch itself, its edge
 * port (the host NIC), guest NIC backends for struct vmm_host, the aging timer and petrel.conf's
 * [vnet] lines. docs/vnet.md ("Integration in the appliance") tells the whole story. */
#ifndef PETREL_KERNEL_VNET_GLUE_H
#define PETREL_KERNEL_VNET_GLUE_H

#include "config.h"
#include "types.h"

struct nic;
struct netoff;
struct vmm_vm;

/* Creates the default switch and makes `nic` its edge port (NIC receive -> vnet_input(edge)).
 * Call before net_init, which then puts lwIP on the switch's local port (netstack/link_vnet.c).
 * Also registers the `vnet` and `capture` console commands and applies petrel.conf's [vnet]
 * lines (problems are logged with their line numbers). 0 or a negative errno (the appliance
 * then runs lwIP directly on the NIC, as before VNET). nic NULL (no host NIC): only checks and
 * reports the [vnet] lines, returns -ENODEV. */
int vnet_glue_init(struct nic *nic);

/* After net_init: the VXLAN UDP socket (port 4789) and the capture stream (TCP 5555). */
void vnet_glue_start(void);

/* Applies [vnet] lines: `route = TEXT`, `link = TEXT`, `aging = SECONDS`. Returns the number
 * of problems (each logged with its petrel.conf line). */
int vnet_glue_apply_config(const struct config *c);

/* struct vmm_host's guest NIC backend members (kernel/vmm_host.c installs them). */
int vnet_glue_nic_attach(struct vmm_vm *vm, const char *nic_name, const uint8_t mac[6],
                         bool (*rx)(void *dev, const void *frame, size_t len), void *dev,
                         void **backend);
int vnet_glue_nic_send(void *backend, const void *frame, size_t len);
/* nic_send with offload metadata (a guest's TSO super-frame, partial checksum); a guest's
 * VALID is refused (-EINVAL). */
int vnet_glue_nic_send_off(void *backend, const void *frame, size_t len, const struct netoff *off);
/* What the guest's driver negotiated: the port's offloads and the model's rx_off hook. */
int vnet_glue_nic_set_offloads(void *backend, unsigned caps,
                               bool (*rx_off)(void *dev, const void *frame, size_t len,
                                              const struct netoff *off));
void vnet_glue_nic_detach(void *backend);
/* The IP MTU of the NIC's port, which a virtio-net model offers its guest: the nic line's
 * `mtu=`, else the network's (1450 where a VXLAN link carries it) for models that can tell
 * their guest, else 1500 (vmm_nic_mtu). */
uint16_t vnet_glue_nic_mtu(void *backend);

#endif
