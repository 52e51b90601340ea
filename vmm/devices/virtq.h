/* A virtio split virtqueue seen from the device side (virtio 1.0 section 2.4, the same layout
 * legacy 0.9.5 uses): descriptor table, available ring and used ring in guest memory, read and
 * written only through vmm_guest_read/write. Every index, descriptor chain and length coming
 * from the guest is checked: a malformed ring is an error (-EIO, -EFAULT), never an access
 * outside guest RAM, and every walk is bounded by the queue size.
 *
 * Notification suppression both ways: with VIRTIO_RING_F_EVENT_IDX the device reads the
 * driver's used_event before interrupting and publishes avail_event to say when it wants the
 * next kick; without it the flags words (NO_INTERRUPT, NO_NOTIFY) are used. */
#ifndef PETREL_VMM_DEV_VIRTQ_H
#define PETREL_VMM_DEV_VIRTQ_H

#include "../vmm_dev.h"

#define VIRTQ_SIZE_MAX 1024
/* The most segments a chain may have here (longer chains are malformed). */
#define VIRTQ_SEGS_MAX 64

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq {
    uint16_t size; /* 0: not set up */
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
    bool event_idx;
    uint16_t last_avail; /* next available entry the device takes */
    uint16_t avail_seen; /* avail->idx as last read: entries before it need no second read */
    uint16_t used_idx;   /* the device's copy of used->idx */
    uint16_t signalled;  /* used_idx at the last interrupt decision */
    uint32_t kick_word;  /* what virtq_want_kick last wrote (bit 16: written, 17: event_idx) */
};

struct virtq_seg {
    uint64_t addr;
    uint32_t len;
    bool write; /* device-writable */
};

struct virtq_chain {
    uint16_t head;
    unsigned nsegs;
    uint64_t len; /* sum of segment lengths */
    struct virtq_seg segs[VIRTQ_SEGS_MAX];
};

/* Places the rings (addresses are checked when used) and clears the indices. */
void virtq_setup(struct virtq *q, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
                 bool event_idx);
void virtq_reset(struct virtq *q);
static inline bool virtq_ready(const struct virtq *q)
{
    return q->size != 0;
}
/* Takes the next available chain: 1 with *c filled, 0 when the ring is empty, -EIO for a
 * malformed ring (avail index ahead by more than the size, head or next out of range, a loop,
 * too many segments, an indirect descriptor, a readable segment after a writable one), or
 * -EFAULT when a ring is not in guest RAM. */
int virtq_pop(struct vmm_vm *vm, struct virtq *q, struct virtq_chain *c);
/* Gives back the last n chains taken (the device could not use them): the next virtq_pop
 * takes them again, in the same order. -EINVAL, nothing changed, when fewer than n chains
 * are taken and not yet returned (used), or that would be more than a ring's worth. */
int virtq_unpop(struct virtq *q, uint16_t n);
/* Returns a chain: used element (head, len) then used->idx. */
int virtq_push(struct vmm_vm *vm, struct virtq *q, uint16_t head, uint32_t len);
/* Returns several chains at once (a frame spread over mergeable buffers): virtq_fill writes
 * the used element `i` places after used->idx without publishing it; virtq_flush then moves
 * used->idx over `count` filled elements, so the driver sees all of them or none. */
int virtq_fill(struct vmm_vm *vm, struct virtq *q, uint16_t i, uint16_t head, uint32_t len);
int virtq_flush(struct vmm_vm *vm, struct virtq *q, uint16_t count);
/* Whether the driver wants an interrupt for what was pushed since the last call; *err is set
 * to a negative code when the ring cannot be read. */
bool virtq_should_interrupt(struct vmm_vm *vm, struct virtq *q, int *err);
/* Whether the driver has made chains available that were not taken yet (reads the index
 * again; false for a queue not set up or an index not in RAM). */
bool virtq_has_avail(struct vmm_vm *vm, struct virtq *q);
/* Asks for a kick when the driver makes more buffers available (avail_event = last_avail, or
 * used->flags without NO_NOTIFY), or for none (NO_NOTIFY; with event_idx kicks are wanted
 * only when crossing last_avail again). */
int virtq_want_kick(struct vmm_vm *vm, struct virtq *q, bool want);
/* Copies between a chain's segments (from byte offset `off` of the chain) and a buffer. */
int virtq_chain_read(struct vmm_vm *vm, const struct virtq_chain *c, uint64_t off, void *buf,
                     size_t len);
int virtq_chain_write(struct vmm_vm *vm, const struct virtq_chain *c, uint64_t off, const void *buf,
                      size_t len);

#endif
