/* The bounded, aging MAC table (mactable.h): a chained hash over a fixed entry array, a free
 * list, and an LRU list of dynamic entries (oldest first) for eviction and aging sweeps. */
#include "mactable.h"
#include "../kernel/lib.h"

static uint32_t key_hash(uint32_t domain, const uint8_t *mac)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (int i = 0; i < 4; i++) {
        h = (h ^ ((domain >> (i * 8)) & 0xff)) * 16777619u;
    }
    for (int i = 0; i < VNET_MAC_LEN; i++) {
        h = (h ^ mac[i]) * 16777619u;
    }
    return h ^ (h >> 15);
}

/* Inline and branch-free: the frame path compares MACs for every frame, and the kernel's
 * memcmp (behind vnet_mac_equal) is a byte loop behind a call. */
static inline bool same_mac(const uint8_t *a, const uint8_t *b)
{
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
            (a[5] ^ b[5])) == 0;
}

static int32_t *bucket_of(const struct vnet_mactable *t, uint32_t domain, const uint8_t *mac)
{
    return &t->buckets[key_hash(domain, mac) & (t->nbuckets - 1)];
}

int vnet_mactable_init(struct vnet_mactable *t, const struct vnet_host *host, uint32_t cap,
                       uint64_t aging_ns)
{
    uint32_t nb = 16;

    memset(t, 0, sizeof(*t));
    if (host == NULL || cap == 0 || cap > VNET_MACTABLE_CAP_MAX || aging_ns == 0) {
        return -EINVAL;
    }
    while (nb < cap) {
        nb <<= 1;
    }
    t->host = host;
    t->e = host->zalloc(sizeof(*t->e) * cap);
    t->buckets = host->zalloc(sizeof(*t->buckets) * nb);
    if (t->e == NULL || t->buckets == NULL) {
        host->free(t->e);
        host->free(t->buckets);
        memset(t, 0, sizeof(*t));
        return -ENOMEM;
    }
    t->cap = cap;
    t->nbuckets = nb;
    t->aging_ns = aging_ns;
    for (uint32_t i = 0; i < nb; i++) {
        t->buckets[i] = -1;
    }
    for (uint32_t i = 0; i < cap; i++) {
        t->e[i].hnext = (i + 1 < cap) ? (int32_t)(i + 1) : -1;
        t->e[i].lprev = -1;
        t->e[i].lnext = -1;
    }
    t->free_head = 0;
    t->lru_head = -1;
    t->lru_tail = -1;
    return 0;
}

void vnet_mactable_destroy(struct vnet_mactable *t)
{
    if (t->host != NULL) {
        t->host->free(t->e);
        t->host->free(t->buckets);
    }
    memset(t, 0, sizeof(*t));
}

void vnet_mactable_set_aging(struct vnet_mactable *t, uint64_t aging_ns)
{
    if (aging_ns > 0) {
        t->aging_ns = aging_ns;
    }
}

static void lru_unlink(struct vnet_mactable *t, int32_t i)
{
    struct vnet_mac_entry *e = &t->e[i];

    if (e->lprev >= 0) {
        t->e[e->lprev].lnext = e->lnext;
    } else {
        t->lru_head = e->lnext;
    }
    if (e->lnext >= 0) {
        t->e[e->lnext].lprev = e->lprev;
    } else {
        t->lru_tail = e->lprev;
    }
    e->lprev = -1;
    e->lnext = -1;
}

static void lru_append(struct vnet_mactable *t, int32_t i)
{
    struct vnet_mac_entry *e = &t->e[i];

    e->lprev = t->lru_tail;
    e->lnext = -1;
    if (t->lru_tail >= 0) {
        t->e[t->lru_tail].lnext = i;
    } else {
        t->lru_head = i;
    }
    t->lru_tail = i;
}

static int32_t find(const struct vnet_mactable *t, uint32_t domain, const uint8_t *mac)
{
    int32_t i = *bucket_of(t, domain, mac);
    uint32_t steps = 0;

    while (i >= 0 && steps++ < t->cap) {
        struct vnet_mac_entry *e = &t->e[i];

        if (e->domain == domain && same_mac(e->mac, mac)) {
            return i;
        }
        i = e->hnext;
    }
    return -1;
}

static void remove_entry(struct vnet_mactable *t, int32_t i)
{
    struct vnet_mac_entry *e = &t->e[i];
    int32_t *link = bucket_of(t, e->domain, e->mac);
    uint32_t steps = 0;

    while (*link >= 0 && *link != i && steps++ < t->cap) {
        link = &t->e[*link].hnext;
    }
    if (*link == i) {
        *link = e->hnext;
    }
    if (!e->is_static) {
        lru_unlink(t, i);
    }
    memset(e, 0, sizeof(*e));
    e->lprev = -1;
    e->lnext = -1;
    e->hnext = t->free_head;
    t->free_head = i;
    t->count--;
}

static bool expired(const struct vnet_mactable *t, const struct vnet_mac_entry *e, uint64_t now)
{
    return !e->is_static && now >= e->seen_ns && now - e->seen_ns >= t->aging_ns;
}

/* Takes a free entry, evicting the oldest dynamic one when none is free. -1 if all static. */
static int32_t alloc_entry(struct vnet_mactable *t)
{
    int32_t i;

    if (t->free_head < 0) {
        if (t->lru_head < 0) {
            return -1;
        }
        remove_entry(t, t->lru_head);
        t->stats.evicted++;
    }
    i = t->free_head;
    t->free_head = t->e[i].hnext;
    t->count++;
    return i;
}

static int32_t insert(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac, uint32_t value,
                      bool is_static, uint64_t now)
{
    int32_t i = alloc_entry(t);
    struct vnet_mac_entry *e;
    int32_t *bucket;

    if (i < 0) {
        return -1;
    }
    e = &t->e[i];
    memcpy(e->mac, mac, VNET_MAC_LEN);
    e->used = true;
    e->is_static = is_static;
    e->domain = domain;
    e->value = value;
    e->seen_ns = now;
    bucket = bucket_of(t, domain, mac);
    e->hnext = *bucket;
    *bucket = i;
    if (!is_static) {
        lru_append(t, i);
    }
    return i;
}

/* The learning step; *where receives the entry that now holds the MAC (-1: none). */
static int learn(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac, uint32_t value,
                 uint64_t now, int32_t *where)
{
    int32_t i;

    *where = -1;
    if (value == 0 || t->e == NULL) {
        return -EINVAL;
    }
    i = find(t, domain, mac);
    if (i >= 0) {
        struct vnet_mac_entry *e = &t->e[i];

        if (e->is_static) {
            if (e->value != value) {
                t->stats.conflicts++;
            }
            *where = i;
            return VNET_LEARN_STATIC;
        }
        if (expired(t, e, now)) {
            /* A stale entry is a new station as far as counters go. */
            remove_entry(t, i);
            t->stats.aged++;
        } else {
            int result = VNET_LEARN_REFRESH;

            if (e->value != value) {
                e->value = value;
                t->stats.moved++;
                result = VNET_LEARN_MOVED;
            }
            e->seen_ns = now;
            lru_unlink(t, i);
            lru_append(t, i);
            *where = i;
            return result;
        }
    }
    i = insert(t, domain, mac, value, false, now);
    if (i < 0) {
        t->stats.full++;
        return VNET_LEARN_REFUSED;
    }
    t->stats.learned++;
    *where = i;
    return VNET_LEARN_NEW;
}

int vnet_mactable_learn(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                        uint32_t value, uint64_t now)
{
    int32_t where;

    return learn(t, domain, mac, value, now, &where);
}

/* A hint is only a guess at an entry index: it counts when that entry holds this very key, so
 * an entry removed (port deleted, aged, flushed, evicted) or reused for another MAC since the
 * hint was taken simply misses. */
static bool hint_holds(const struct vnet_mactable *t, int32_t h, uint32_t domain,
                       const uint8_t *mac)
{
    const struct vnet_mac_entry *e;

    if (h < 0 || (uint32_t)h >= t->cap) {
        return false;
    }
    e = &t->e[h];
    return e->used && e->domain == domain && same_mac(e->mac, mac);
}

int vnet_mactable_learn_hint(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                             uint32_t value, uint64_t now, int32_t *hint)
{
    int32_t i = *hint;

    if (value != 0 && hint_holds(t, i, domain, mac)) {
        struct vnet_mac_entry *e = &t->e[i];

        /* The cases that change nothing but the timestamp; anything else (a move, a conflict,
         * an expired entry) takes the full path below for its counters. */
        if (e->is_static && e->value == value) {
            return VNET_LEARN_STATIC;
        }
        if (!e->is_static && e->value == value && !expired(t, e, now)) {
            e->seen_ns = now;
            if (t->lru_tail != i) {
                lru_unlink(t, i);
                lru_append(t, i);
            }
            return VNET_LEARN_REFRESH;
        }
    }
    return learn(t, domain, mac, value, now, hint);
}

int vnet_mactable_add_static(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                             uint32_t value)
{
    int32_t i;

    if (value == 0 || t->e == NULL) {
        return -EINVAL;
    }
    i = find(t, domain, mac);
    if (i >= 0) {
        if (t->e[i].is_static) {
            return -EEXIST;
        }
        remove_entry(t, i);
    }
    if (insert(t, domain, mac, value, true, 0) < 0) {
        return -ENOSPC;
    }
    return 0;
}

int vnet_mactable_del(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac)
{
    int32_t i = (t->e != NULL) ? find(t, domain, mac) : -1;

    if (i < 0) {
        return -ENOENT;
    }
    remove_entry(t, i);
    return 0;
}

uint32_t vnet_mactable_lookup(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                              uint64_t now)
{
    int32_t hint = -1;

    return vnet_mactable_lookup_hint(t, domain, mac, now, &hint);
}

uint32_t vnet_mactable_lookup_hint(struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                                   uint64_t now, int32_t *hint)
{
    int32_t i = *hint;

    if (!hint_holds(t, i, domain, mac)) {
        i = (t->e != NULL) ? find(t, domain, mac) : -1;
        *hint = i;
    }
    if (i < 0) {
        return 0;
    }
    if (expired(t, &t->e[i], now)) {
        remove_entry(t, i);
        t->stats.aged++;
        *hint = -1;
        return 0;
    }
    return t->e[i].value;
}

size_t vnet_mactable_age(struct vnet_mactable *t, uint64_t now)
{
    size_t n = 0;

    /* The LRU list is in last-seen order, so the expired entries are at its head. */
    while (t->lru_head >= 0 && expired(t, &t->e[t->lru_head], now) && n < t->cap) {
        remove_entry(t, t->lru_head);
        t->stats.aged++;
        n++;
    }
    return n;
}

size_t vnet_mactable_flush_value(struct vnet_mactable *t, uint32_t value)
{
    size_t n = 0;

    for (uint32_t i = 0; i < t->cap; i++) {
        if (t->e[i].used && t->e[i].value == value) {
            remove_entry(t, (int32_t)i);
            n++;
        }
    }
    return n;
}

size_t vnet_mactable_flush_dynamic(struct vnet_mactable *t)
{
    size_t n = 0;

    while (t->lru_head >= 0 && n < t->cap) {
        remove_entry(t, t->lru_head);
        n++;
    }
    return n;
}

bool vnet_mactable_get(const struct vnet_mactable *t, uint32_t index, uint64_t now,
                       struct vnet_mactable_row *out)
{
    const struct vnet_mac_entry *e;

    if (index >= t->cap) {
        return false;
    }
    e = &t->e[index];
    if (!e->used || expired(t, e, now)) {
        return false;
    }
    out->domain = e->domain;
    memcpy(out->mac, e->mac, VNET_MAC_LEN);
    out->value = e->value;
    out->is_static = e->is_static;
    out->age_ns = (e->is_static || now < e->seen_ns) ? 0 : now - e->seen_ns;
    return true;
}

int vnet_mactable_find(const struct vnet_mactable *t, uint32_t domain, const uint8_t *mac,
                       uint64_t now, struct vnet_mactable_row *out)
{
    int32_t i = (t->e != NULL) ? find(t, domain, mac) : -1;

    if (i < 0 || !vnet_mactable_get(t, (uint32_t)i, now, out)) {
        return -ENOENT;
    }
    return 0;
}

size_t vnet_mactable_list(const struct vnet_mactable *t, uint64_t now,
                          struct vnet_mactable_row *out, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < t->cap && n < max; i++) {
        if (vnet_mactable_get(t, i, now, &out[n])) {
            n++;
        }
    }
    return n;
}
