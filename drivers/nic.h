/* The common host NIC interface that the RTL8139, NE2000 and virtio-net drivers implement.
 *
 * A driver only moves frames: probe finds and resets the card, send queues one Ethernet frame
 * (without FCS), and received frames are handed to the `rx` callback from the main loop (the
 * interrupt handler only acknowledges the card and defers the work with irq_defer()).
 * The kernel binds the first NIC found unless the command line names one (nic=...). */
#ifndef PETREL_NIC_H
#define PETREL_NIC_H

#include "../kernel/types.h"
#include "../kernel/lib/netoff.h"

#define NIC_MAC_LEN   6
#define NIC_MTU       1500
#define NIC_FRAME_MIN 60   /* without FCS; shorter frames are padded on send */
#define NIC_FRAME_MAX 1514 /* without FCS and without VLAN tag */
#define NIC_NAME_MAX  16

struct nic;

struct nic_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t rx_dropped; /* frames the driver or the receiver could not take */
    uint64_t rx_errors;  /* bad frames reported by the card (CRC, alignment, runt, long) */
    uint64_t rx_crc_errors;
    uint64_t rx_fifo_overruns;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_dropped; /* frames refused: too long, no descriptor free */
    uint64_t tx_errors;
    uint64_t interrupts;
};

struct nic_ops {
    /* Queues one frame. -EMSGSIZE for len > NIC_FRAME_MAX, -EAGAIN when the TX queue is full.
     * The frame is copied: the caller's buffer is free again on return. */
    int (*send)(struct nic *nic, const void *frame, size_t len);
    int (*set_promisc)(struct nic *nic, bool on);
    /* Accept all multicast (true) or only broadcast and our MAC (false). */
    int (*set_allmulti)(struct nic *nic, bool on);
    /* Link state as the card reports it (true when it cannot tell). */
    bool (*link_up)(struct nic *nic);
    /* Optional: send with offload metadata (kernel/lib/netoff.h) the card takes as it is
     * (nic->tx_offloads covers it; off NULL = a plain frame). A GSO frame may be up to
     * NETOFF_FRAME_MAX bytes. */
    int (*send_off)(struct nic *nic, const void *frame, size_t len, const struct netoff *off);
};

/* Called from the main loop for every good received frame (without FCS). */
typedef void (*nic_rx_fn)(void *ctx, const void *frame, size_t len);
/* The same with the frame's offload metadata (NULL: none): a card that negotiated receive
 * offloads may deliver GSO super-frames, partial checksums and checked (VALID) ones. */
typedef void (*nic_rx_off_fn)(void *ctx, const void *frame, size_t len, const struct netoff *off);

struct nic {
    char name[NIC_NAME_MAX]; /* "rtl8139", "ne2k", "virtio" */
    char model[32];          /* human-readable, e.g. "RTL8139 00:04.0" */
    uint8_t pci_bus, pci_dev, pci_fn;
    bool is_pci;
    uint8_t mac[NIC_MAC_LEN];
    bool promisc;
    bool allmulti;
    const struct nic_ops *ops;
    nic_rx_fn rx;
    nic_rx_off_fn rx_off; /* set instead of rx by a receiver that takes metadata */
    void *rx_ctx;
    unsigned tx_offloads; /* NETOFF_CAP_* that ops->send_off takes (0 without send_off) */
    struct nic_stats stats;
    /* Full-size frames a peer may send in one burst without this NIC losing them (the
     * appliance's TCP receive window, netstack/net.c; 0 = the stack's default). */
    uint16_t rx_burst_frames;
    void *priv; /* the driver's own state */
};

/* A driver: tries to find and initialise its card; returns 0 and fills *out, -ENODEV if no card
 * matches `sel` (NULL = any; otherwise a driver name or a PCI address "00:04.0"). */
struct nic_driver {
    const char *name;
    int (*probe)(const char *sel, struct nic **out);
};

/* Finds the NIC to use: `sel` from the command line (nic=rtl8139|ne2k|virtio|BB:DD.F) or NULL for the
 * first one found. Returns 0 or -ENODEV. */
int nic_probe(const char *sel, struct nic **out);
void nic_set_rx(struct nic *nic, nic_rx_fn fn, void *ctx);
/* Binds a receiver that takes offload metadata (replaces nic_set_rx's). */
void nic_set_rx_off(struct nic *nic, nic_rx_off_fn fn, void *ctx);
int nic_send(struct nic *nic, const void *frame, size_t len);
/* Sends with metadata the card takes (nic->tx_offloads; off NULL = nic_send). -EINVAL for
 * metadata the card does not take, -EMSGSIZE for a frame too long for it. */
int nic_send_off(struct nic *nic, const void *frame, size_t len, const struct netoff *off);
int nic_set_promisc(struct nic *nic, bool on);
int nic_set_allmulti(struct nic *nic, bool on);
/* Delivers a received frame to the bound receiver (drivers call this from deferred work). */
void nic_deliver(struct nic *nic, const void *frame, size_t len);
/* Delivers a received frame with offload metadata: as it is to an rx_off receiver, otherwise
 * segmented or with its checksum completed first (netoff_emit) to the plain one. */
void nic_deliver_off(struct nic *nic, const void *frame, size_t len, const struct netoff *off);
/* The NIC the kernel bound at boot, or NULL. */
struct nic *nic_primary(void);
void nic_set_primary(struct nic *nic);
/* Checks a frame length for sending/receiving: 0, or -EMSGSIZE / -EINVAL (runt). */
int nic_check_len(size_t len, bool receiving);

#endif
