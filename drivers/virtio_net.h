/* Host virtio-net driver (legacy virtio-pci through I/O BAR0): registers, feature and status
 * bits, ring flags. The driver itself is drivers/virtio_net.c; the ring arithmetic and the
 * used-ring checks are in drivers/nic_ring.c. */
#ifndef PETREL_DRV_VIRTIO_NET_H
#define PETREL_DRV_VIRTIO_NET_H

#include "nic.h"

#define VIO_VENDOR     0x1af4
#define VIO_DEVICE_NET 0x1000 /* transitional virtio-net: legacy interface in BAR0 */

/* Legacy virtio-pci header in I/O BAR0 (MSI-X off, so the device config follows at 0x14). */
#define VIO_REG_HOST_FEATURES  0x00 /* 32, read: features the device offers */
#define VIO_REG_GUEST_FEATURES 0x04 /* 32, write: features the driver takes */
#define VIO_REG_QUEUE_PFN      0x08 /* 32: ring address >> 12 for the selected queue; 0 = off */
#define VIO_REG_QUEUE_NUM      0x0c /* 16, read: size of the selected queue (0 = no queue) */
#define VIO_REG_QUEUE_SEL      0x0e /* 16 */
#define VIO_REG_QUEUE_NOTIFY   0x10 /* 16, write: queue index: "look at the ring" */
#define VIO_REG_STATUS         0x12 /* 8; writing 0 resets the device */
#define VIO_REG_ISR            0x13 /* 8, read clears (and lowers INTx) */
#define VIO_REG_CONFIG         0x14 /* virtio-net config: mac[6], status (16) */
#define VIO_IO_MIN             0x20 /* BAR0 must be at least this large */

#define VIO_STATUS_ACK       0x01
#define VIO_STATUS_DRIVER    0x02
#define VIO_STATUS_DRIVER_OK 0x04
#define VIO_STATUS_FAILED    0x80

#define VIO_ISR_QUEUE  0x01
#define VIO_ISR_CONFIG 0x02

#define VIO_NET_F_CSUM       (1u << 0) /* device finishes partial checksums we send */
#define VIO_NET_F_GUEST_CSUM (1u << 1) /* device may hand us partial or checked checksums */
#define VIO_NET_F_MAC        (1u << 5)
#define VIO_NET_F_GUEST_TSO4 (1u << 7)  /* device may hand us TCP/IPv4 super-frames */
#define VIO_NET_F_HOST_TSO4  (1u << 11) /* device cuts TCP/IPv4 super-frames we send */
#define VIO_NET_F_STATUS     (1u << 16)
#define VIO_NET_S_LINK_UP    0x0001

/* The legacy net header (10 bytes, little-endian) in front of every frame. */
struct vio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;     /* GSO: Ethernet + IP + TCP header bytes */
    uint16_t gso_size;    /* GSO: payload bytes per segment */
    uint16_t csum_start;  /* NEEDS_CSUM: first byte summed */
    uint16_t csum_offset; /* NEEDS_CSUM: checksum field, from csum_start */
} __attribute__((packed));

#define VIO_NET_HDR_F_NEEDS_CSUM 0x01
#define VIO_NET_HDR_F_DATA_VALID 0x02
#define VIO_NET_HDR_GSO_NONE     0x00
#define VIO_NET_HDR_GSO_TCPV4    0x01
#define VIO_NET_HDR_GSO_ECN      0x80 /* not negotiated (GUEST_ECN / HOST_ECN) */

#define VIO_NET_CFG_MAC    0 /* offsets inside the device config */
#define VIO_NET_CFG_STATUS 6

#define VIO_DESC_F_NEXT          0x0001
#define VIO_DESC_F_WRITE         0x0002
#define VIO_AVAIL_F_NO_INTERRUPT 0x0001 /* driver -> device: do not interrupt for this queue */
#define VIO_USED_F_NO_NOTIFY     0x0001 /* device -> driver: no need to kick */

#define VIO_QUEUE_RX 0
#define VIO_QUEUE_TX 1

extern const struct nic_driver drv_virtio_net_driver;

#endif
