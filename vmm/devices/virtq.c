/* Device side of a virtio split virtqueue, every guest value checked (virtq.h). */
#include "virtq.h"
#include "../../kernel/lib.h"

#define VQ_DESC_SIZE            16
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY     1

/* Ring indexes and flags: one access each, the guest may be running on another CPU. */
static int vq_rd16(struct vmm_vm *vm, uint64_t gpa, uint16_t *v)
{
    return vmm_guest_read16(vm, gpa, v);
}

static int vq_wr16(struct vmm_vm *vm, uint64_t gpa, uint16_t v)
{
    return vmm_guest_write16(vm, gpa, v);
}

static uint32_t vq_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void virtq_setup(struct virtq *q, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
                 bool event_idx)
{
    memset(q, 0, sizeof(*q));
    q->size = size;
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->event_idx = event_idx;
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

/* True when [addr, addr + len) does not wrap the 64-bit space. */
static bool vq_range_sane(uint64_t addr, uint64_t len)
{
    return addr + len >= addr;
}

int virtq_pop(struct vmm_vm *vm, struct virtq *q, struct virtq_chain *c)
{
    uint16_t avail_idx;
    uint16_t head;
    uint16_t idx;
    bool seen_write = false;
    int rc;

    if (q->size == 0) {
        return 0;
    }
    /* The driver only ever adds entries, so the index needs reading again only once the
     * device has taken every entry the last read announced (one guest read less per chain
     * while a burst is taken). */
    if (q->avail_seen == q->last_avail) {
        rc = vq_rd16(vm, q->avail + 2, &avail_idx);
        if (rc < 0) {
            return rc;
        }
        if (avail_idx == q->last_avail) {
            return 0;
        }
        if ((uint16_t)(avail_idx - q->last_avail) > q->size) {
            return -EIO;
        }
        q->avail_seen = avail_idx;
    }
    rc = vq_rd16(vm, q->avail + 4 + 2ull * (q->last_avail % q->size), &head);
    if (rc < 0) {
        return rc;
    }
    if (head >= q->size) {
        return -EIO;
    }
    c->head = head;
    c->nsegs = 0;
    c->len = 0;
    idx = head;
    /* A chain visits each descriptor at most once: more steps than the size is a loop. */
    for (unsigned steps = 0;; steps++) {
        uint8_t d[VQ_DESC_SIZE];
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        struct virtq_seg *s;

        if (steps >= q->size || c->nsegs >= VIRTQ_SEGS_MAX) {
            return -EIO;
        }
        rc = vmm_guest_read(vm, q->desc + (uint64_t)idx * VQ_DESC_SIZE, d, sizeof(d));
        if (rc < 0) {
            return rc;
        }
        addr = (uint64_t)vq_le32(d) | (uint64_t)vq_le32(d + 4) << 32;
        len = vq_le32(d + 8);
        flags = (uint16_t)(d[12] | d[13] << 8);
        if ((flags & VIRTQ_DESC_F_INDIRECT) || !vq_range_sane(addr, len)) {
            return -EIO;
        }
        if (flags & VIRTQ_DESC_F_WRITE) {
            seen_write = true;
        } else if (seen_write) {
            return -EIO;
        }
        s = &c->segs[c->nsegs++];
        s->addr = addr;
        s->len = len;
        s->write = (flags & VIRTQ_DESC_F_WRITE) != 0;
        c->len += len;
        if (!(flags & VIRTQ_DESC_F_NEXT)) {
            break;
        }
        idx = (uint16_t)(d[14] | d[15] << 8);
        if (idx >= q->size) {
            return -EIO;
        }
    }
    q->last_avail++;
    return 1;
}

int virtq_unpop(struct virtq *q, uint16_t n)
{
    /* Only chains taken and not yet returned (last_avail - used_idx: this device returns
     * every chain it takes) can be given back, and entries from last_avail up to avail_seen
     * are known available: at most a ring's worth of them after the rewind. */
    if (q->size == 0 || n > (uint16_t)(q->last_avail - q->used_idx) ||
        (uint32_t)(uint16_t)(q->avail_seen - q->last_avail) + n > q->size) {
        return -EINVAL;
    }
    q->last_avail = (uint16_t)(q->last_avail - n);
    return 0;
}

int virtq_fill(struct vmm_vm *vm, struct virtq *q, uint16_t i, uint16_t head, uint32_t len)
{
    uint8_t e[8] = {
        (uint8_t)head,        (uint8_t)(head >> 8), 0, 0, (uint8_t)len, (uint8_t)(len >> 8),
        (uint8_t)(len >> 16), (uint8_t)(len >> 24),
    };

    if (q->size == 0 || i >= q->size) {
        return -EIO;
    }
    return vmm_guest_write(vm, q->used + 4 + 8ull * ((uint16_t)(q->used_idx + i) % q->size), e,
                           sizeof(e));
}

int virtq_flush(struct vmm_vm *vm, struct virtq *q, uint16_t count)
{
    if (q->size == 0 || count > q->size) {
        return -EIO;
    }
    q->used_idx = (uint16_t)(q->used_idx + count);
    return vq_wr16(vm, q->used + 2, q->used_idx);
}

int virtq_push(struct vmm_vm *vm, struct virtq *q, uint16_t head, uint32_t len)
{
    int rc = virtq_fill(vm, q, 0, head, len);

    if (rc < 0) {
        return rc;
    }
    return virtq_flush(vm, q, 1);
}

bool virtq_should_interrupt(struct vmm_vm *vm, struct virtq *q, int *err)
{
    uint16_t old = q->signalled;
    uint16_t now = q->used_idx;
    uint16_t v;
    int rc;

    *err = 0;
    if (q->size == 0 || old == now) {
        return false;
    }
    q->signalled = now;
    /* The guest may run on another CPU meanwhile: it writes used_event (or the flags) and then
     * reads the used index; we wrote the index and now read used_event. Without a full fence
     * between the two on both sides, each could see the other's old value and the interrupt
     * be lost (x86 lets a load pass an earlier store). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx) {
        rc = vq_rd16(vm, q->avail + 4 + 2ull * q->size, &v); /* used_event */
        if (rc < 0) {
            *err = rc;
            return false;
        }
        /* Interrupt when the driver's used_event lies in (old, now]: vring_need_event. */
        return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
    }
    rc = vq_rd16(vm, q->avail, &v);
    if (rc < 0) {
        *err = rc;
        return false;
    }
    return !(v & VQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_has_avail(struct vmm_vm *vm, struct virtq *q)
{
    uint16_t idx;

    if (q->size == 0 || vq_rd16(vm, q->avail + 2, &idx) < 0) {
        return false;
    }
    return idx != q->last_avail;
}

int virtq_want_kick(struct vmm_vm *vm, struct virtq *q, bool want)
{
    uint32_t word;

    if (q->size == 0) {
        return 0;
    }
    /* Written only when it changes: the device asks at every poll. */
    word = 0x10000u | (q->event_idx ? 0x20000u : 0) |
           (q->event_idx ? (want ? q->last_avail : (uint16_t)(q->last_avail - 1))
                         : (want ? 0u : VQ_USED_F_NO_NOTIFY));
    if (word == q->kick_word) {
        return 0;
    }
    q->kick_word = word;
    if (q->event_idx) {
        /* The driver kicks when its avail index passes avail_event. */
        return vq_wr16(vm, q->used + 4 + 8ull * q->size,
                       want ? q->last_avail : (uint16_t)(q->last_avail - 1));
    }
    return vq_wr16(vm, q->used, want ? 0 : VQ_USED_F_NO_NOTIFY);
}

static int vq_chain_copy(struct vmm_vm *vm, const struct virtq_chain *c, uint64_t off, void *buf,
                         size_t len, bool write)
{
    uint8_t *p = buf;

    for (unsigned i = 0; i < c->nsegs && len > 0; i++) {
        const struct virtq_seg *s = &c->segs[i];
        uint64_t n;
        int rc;

        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        n = s->len - off;
        if (n > len) {
            n = len;
        }
        rc = write ? vmm_guest_write(vm, s->addr + off, p, (size_t)n)
                   : vmm_guest_read(vm, s->addr + off, p, (size_t)n);
        if (rc < 0) {
            return rc;
        }
        p += n;
        len -= (size_t)n;
        off = 0;
    }
    return len == 0 ? 0 : -EIO;
}

int virtq_chain_read(struct vmm_vm *vm, const struct virtq_chain *c, uint64_t off, void *buf,
                     size_t len)
{
    return vq_chain_copy(vm, c, off, buf, len, false);
}

int virtq_chain_write(struct vmm_vm *vm, const struct virtq_chain *c, uint64_t off, const void *buf,
                      size_t len)
{
    return vq_chain_copy(vm, c, off, (void *)buf, len, true);
}
