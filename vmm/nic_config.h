/* Guest NIC configuration: the models a VM can have, what each needs (name, MAC, VNET network,
 * MTU), the parser for petrel.conf's
 * `nic = MODEL[,name=eth0][,mac=52:54:00:12:34:56][,net=lab][,mtu=1500][,offload=off]` value and the MTU
 * choice for a NIC's VNET port (pure: no allocation, no globals), and the settings machine.c
 * hands a NIC model. */
#ifndef PETREL_VMM_NIC_CONFIG_H
#define PETREL_VMM_NIC_CONFIG_H

#include "../kernel/types.h"

#define VMM_NICS_MAX     4
#define VMM_NIC_NAME_MAX 16
#define VMM_NIC_NET_MAX  32
/* Longest Ethernet frame a model takes from or gives to the guest (no FCS): 1500 bytes of
 * payload, the header and one VLAN tag. */
#define VMM_NIC_FRAME_MAX 1518
/* The IP MTU a `mtu=` setting may ask for: IPv4's minimum datagram every host must take, up
 * to what every model carries (VMM_NIC_FRAME_MAX). */
#define VMM_NIC_MTU_MIN 576
#define VMM_NIC_MTU_MAX 1500
/* The floor of an MTU taken from the network (virtio's spec: 68..65535). */
#define VMM_NIC_MTU_FLOOR 68

enum vmm_nic_model {
    VMM_NIC_VIRTIO = 0,
    VMM_NIC_RTL8139,
    VMM_NIC_NE2K,
};

struct vmm_nic_config {
    enum vmm_nic_model model;
    char name[VMM_NIC_NAME_MAX]; /* "eth0": the VNET port is "<vm>.<name>" */
    uint8_t mac[6];
    bool mac_set;              /* false: machine.c derives 52:54:00:50:<vm id>:<index> */
    char net[VMM_NIC_NET_MAX]; /* VNET network; "" for the host's default */
    uint16_t mtu;              /* `mtu=`: IP MTU of the NIC's port; 0 = chosen (vmm_nic_mtu) */
    bool no_offload;           /* `offload=off` (virtio only): no checksum or TSO offloads */
};

/* Parses one `nic =` value for the VM's index-th NIC (its default name is "eth<index>").
 * 0 on success; -EINVAL with a one-line reason in err (if err is not NULL) for an unknown
 * model or key, a bad MAC (also a multicast one), a name or network too long, an MTU
 * outside VMM_NIC_MTU_MIN..VMM_NIC_MTU_MAX, or `offload=` other than on/off or on a model
 * without offloads (only virtio-net has them). */
int vmm_nic_parse(const char *spec, unsigned index, struct vmm_nic_config *out, char *err,
                  size_t errlen);
const char *vmm_nic_model_name(enum vmm_nic_model model);
/* Whether the model can tell its guest an MTU: virtio-net can (VIRTIO_NET_F_MTU); RTL8139 and
 * NE2000 have no such register (their guests learn it from DHCP option 26, or not at all). */
bool vmm_nic_model_tells_mtu(enum vmm_nic_model model);
/* The IP MTU of a NIC's VNET port, which a virtio-net model also offers its guest:
 * the `mtu=` setting when there is one; otherwise, for a model that can tell its guest, the
 * MTU the NIC's network wants (network_mtu: on a network carried by a VXLAN link, the
 * underlay MTU - 50, so full-size frames cross without outer fragmentation) kept within
 * VMM_NIC_MTU_FLOOR..VMM_NIC_MTU_MAX; for the others VMM_NIC_MTU_MAX, the 1500 their guests
 * assume. */
uint16_t vmm_nic_mtu(const struct vmm_nic_config *nc, uint16_t network_mtu);
/* The default MAC of a VM's index-th NIC: 52:54:00:50:<vm id & 0xFF>:<index>. */
void vmm_nic_default_mac(unsigned vm_id, unsigned index, uint8_t mac[6]);

/* What machine.c gives a NIC model: where it sits on the VM's PCI bus and what it drives. */
struct vmm_nic_dev_config {
    const char *name; /* "eth0" (copied) */
    uint8_t mac[6];
    unsigned slot;      /* PCI device number on bus 0 */
    uint8_t irq;        /* ISA/GSI line of its INTA# (also the interrupt line register) */
    uint16_t io_base;   /* its IO BAR (size fixed per model) */
    uint64_t mmio_base; /* its memory BAR where the model has one (virtio modern) */
    bool no_offload;    /* virtio-net: offer no checksum or segmentation offloads */
};

#endif
