/* A bounded MAC address table with aging: (domain, MAC) -> value.
 *
 * The switch keeps one for its learning bridge (domain = VNET network, value = port id) and
 * each VXLAN link keeps one for remote learning (domain = VNI, value = the remote VTEP's IPv4
 * address). Value 0 means "none", so it is never stored.
 *
 * Entries are static (installed for a port's own MAC; never aged, evicted or moved by
 * learning) or dynamic (learned; they expire `aging_ns` after they were last seen). A full
 * table evicts its least recently seen dynamic entry to make room. Lookups are a hash probe,
 * or one compare with a valid hint (the _hint calls); every operation is bounded by the
 * capacity. Memory comes from the vnet_host given to init. */
#ifndef PETREL_VNET_MACTABLE_H
#define PETREL_VNET_MACTABLE_H

#include "frame.h"
#include "host.h"

#define VNET_MACTABLE_CAP_MAX 65536 /* = VNET_MACS_MAX */

struct vnet_mac_entry {
    uint8_t mac[VNET_MAC_LEN];
    bool used;
    bool is_static;
    uint32_t domain;
    uint32_t value;
    uint64_t seen_ns;
    int32_t hnext; /* next entry in the hash chain, or in the free list; -1 ends */
    int32_t lprev; /* LRU list of dynamic entries, oldest first; -1 ends */
    int32_t lnext;
};

struct vnet_mactable_stats {
    uint64_t learned;   /* new dynamic entries */
    uint64_t moved;     /* a known MAC seen with another value (a station moved ports) */
    uint64_t evicted;   /* dynamic entries dropped because the table was full */
    uint64_t aged;      /* dynamic entries that expired */
    uint64_t conflicts; /* learning refused because the MAC has a static entry elsewhere */
    uint64_t full;      /* learning refused: the table is full of static entries */
};

struct vnet_mactable {
    const struct vnet_host *host;
    struct vnet_mac_entry *e;
    uint32_t cap;
    uint32_t count;
    int32_t *buckets;
    uint32_t nbuckets; /* a power of two */
    int32_t free_head;
    int32_t lru_head;
    int32_t lru_tail;
    uint64_t aging_ns;
    struct vnet_mactable_stats stats;
};

enum vnet_learn_result {
    VNET_LEARN_NEW,     /* a new entry (maybe after evicting the oldest) */
    VNET_LEARN_REFRESH, /* known with the same value: timestamp renewed */
    VNET_LEARN_MOVED,   /* known with another value: value replaced */
    VNET_LEARN_STATIC,  /* a static entry holds the MAC: nothing changed */
    VNET_LEARN_REFUSED, /* no room: every entry is static */
};

/* One row of a listing. age_ns is 0 for static entries. */
struct vnet_mactable_row {
    uint32_t domain;
    uint8_t mac[VNET_MAC_LEN];
    uint32_t value;
    bool is_static;
    uint64_t age_ns;
};

/* cap 1..VNET_MACTABLE_CAP_MAX entries, aging_ns > 0. Returns 0, -EINVAL or -ENOMEM. */
int vnet_mactable_init(struct vnet_mactable *t, const struct vnet_host *host, uint32_t cap,
                       uint64_t aging_ns);
void vnet_mactable_destroy(struct vnet_mactable *t);
void vnet_mactable_set_aging(struct vnet_mactable *t, uint64_t aging_ns);

/* Learns that `mac` in `domain` was seen at `value` (nonzero) at time `now`. Returns a
 * vnet_learn_result, or -EINVAL for value 0. */
int vnet_mactable_learn(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                        uint32_t value, uint64_t now);
/* The same with a hint the caller keeps per stream (a port's last source, its last
 * destination): the index of the entry that held the MAC last time, -1 for none. A hint that
 * still names the entry for (domain, mac) skips the hash probe; any other hint (the entry was
 * removed, aged, evicted, flushed or reused since) costs only the normal probe, after which
 * *hint names the entry found (-1: none). Results and counters are exactly those of the calls
 * without a hint. */
int vnet_mactable_learn_hint(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                             uint32_t value, uint64_t now, int32_t *hint);
/* Installs a static entry. 0, -EEXIST if the MAC has a static entry already (a dynamic one is
 * replaced), -ENOSPC if every entry is static, -EINVAL for value 0. */
int vnet_mactable_add_static(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                             uint32_t value);
/* Removes the entry for (domain, mac), static or dynamic. 0 or -ENOENT. */
int vnet_mactable_del(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac);
/* The value for (domain, mac), or 0 when unknown or expired (an expired entry is removed). */
uint32_t vnet_mactable_lookup(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                              uint64_t now);
uint32_t vnet_mactable_lookup_hint(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                                   uint64_t now, int32_t *hint);
/* Removes every expired dynamic entry; returns how many. */
size_t vnet_mactable_age(struct vnet_mactable *t, uint64_t now);
/* Removes every entry (static too) with this value; returns how many. */
size_t vnet_mactable_flush_value(struct vnet_mactable *t, uint32_t value);
/* Removes every dynamic entry; returns how many. */
size_t vnet_mactable_flush_dynamic(struct vnet_mactable *t);
/* The live entry for (domain, mac): 0 and *out, or -ENOENT. */
int vnet_mactable_find(const struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                       uint64_t now, struct vnet_mactable_row *out);
/* Reads slot `index` (0..cap-1): true and *out when it holds a live entry. */
bool vnet_mactable_get(const struct vnet_mactable *t, uint32_t index, uint64_t now,
                       struct vnet_mactable_row *out);
/* Copies up to `max` live rows (in table order); returns how many were copied. */
size_t vnet_mactable_list(const struct vnet_mactable *t, uint64_t now,
                          struct vnet_mactable_row *out, size_t max);

#endif
