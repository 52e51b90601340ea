/* Unit tests for vnet/mactable.c: learning, moves, static entries, aging with a fake clock,
 * eviction of the least recently seen entry when full, flushes, listings and domains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../vnet/mactable.h"
#include "test_vnet_fake.h"

#define SEC 1000000000ull

static void mac_n(uint8_t *mac, uint32_t n)
{
    mac[0] = 0x02;
    mac[1] = 0x00;
    mac[2] = (uint8_t)(n >> 24);
    mac[3] = (uint8_t)(n >> 16);
    mac[4] = (uint8_t)(n >> 8);
    mac[5] = (uint8_t)n;
}

static void test_init_bad(void **state)
{
    struct vnet_mactable t;

    (void)state;
    fk_reset();
    assert_int_equal(vnet_mactable_init(&t, NULL, 8, SEC), -EINVAL);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 0, SEC), -EINVAL);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, VNET_MACTABLE_CAP_MAX + 1, SEC), -EINVAL);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 8, 0), -EINVAL);
    vnet_mactable_destroy(&t); /* harmless on a failed init */
    assert_int_equal(fk_live, 0);
}

static void test_learn_refresh_move(void **state)
{
    struct vnet_mactable t;
    uint8_t a[6];

    (void)state;
    fk_reset();
    mac_n(a, 1);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 8, 300 * SEC), 0);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 0), 0);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 7, 10), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 10), 7);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 7, 20), VNET_LEARN_REFRESH);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 9, 30), VNET_LEARN_MOVED);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 30), 9);
    assert_int_equal(t.stats.learned, 1);
    assert_int_equal(t.stats.moved, 1);
    assert_int_equal(t.count, 1);
    /* Another domain is another table. */
    assert_int_equal(vnet_mactable_lookup(&t, 1, a, 30), 0);
    assert_int_equal(vnet_mactable_learn(&t, 1, a, 3, 30), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_lookup(&t, 1, a, 30), 3);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 30), 9);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 0, 30), -EINVAL);
    vnet_mactable_destroy(&t);
    assert_int_equal(fk_live, 0);
}

static void test_aging(void **state)
{
    struct vnet_mactable t;
    uint8_t a[6];
    uint8_t b[6];
    uint8_t c[6];

    (void)state;
    fk_reset();
    mac_n(a, 1);
    mac_n(b, 2);
    mac_n(c, 3);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 8, 300 * SEC), 0);
    vnet_mactable_learn(&t, 0, a, 1, 0);
    vnet_mactable_learn(&t, 0, b, 2, 100 * SEC);
    vnet_mactable_learn(&t, 0, c, 3, 200 * SEC);
    /* Refreshing a keeps it alive past its first expiry. */
    vnet_mactable_learn(&t, 0, a, 1, 250 * SEC);
    assert_int_equal(vnet_mactable_lookup(&t, 0, b, 399 * SEC), 2);
    assert_int_equal(vnet_mactable_age(&t, 399 * SEC), 0);
    assert_int_equal(vnet_mactable_age(&t, 400 * SEC), 1); /* b: seen at 100 s */
    assert_int_equal(vnet_mactable_lookup(&t, 0, b, 400 * SEC), 0);
    /* Lookup expires lazily too. */
    assert_int_equal(vnet_mactable_lookup(&t, 0, c, 500 * SEC), 0);
    assert_int_equal(t.stats.aged, 2);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 549 * SEC), 1);
    assert_int_equal(vnet_mactable_age(&t, 550 * SEC), 1);
    assert_int_equal(t.count, 0);
    /* A shorter aging time applies to existing entries. */
    vnet_mactable_learn(&t, 0, a, 1, 600 * SEC);
    vnet_mactable_set_aging(&t, 10 * SEC);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 609 * SEC), 1);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 610 * SEC), 0);
    /* An expired entry seen again counts as new. */
    vnet_mactable_learn(&t, 0, a, 1, 700 * SEC);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 4, 800 * SEC), VNET_LEARN_NEW);
    vnet_mactable_destroy(&t);
    assert_int_equal(fk_live, 0);
}

static void test_evict_oldest(void **state)
{
    struct vnet_mactable t;
    uint8_t m[6];

    (void)state;
    fk_reset();
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 4, 300 * SEC), 0);
    for (uint32_t i = 1; i <= 4; i++) {
        mac_n(m, i);
        assert_int_equal(vnet_mactable_learn(&t, 0, m, i, i), VNET_LEARN_NEW);
    }
    /* Touch 1, so 2 is now the least recently seen. */
    mac_n(m, 1);
    assert_int_equal(vnet_mactable_learn(&t, 0, m, 1, 10), VNET_LEARN_REFRESH);
    mac_n(m, 5);
    assert_int_equal(vnet_mactable_learn(&t, 0, m, 5, 11), VNET_LEARN_NEW);
    assert_int_equal(t.stats.evicted, 1);
    assert_int_equal(t.count, 4);
    mac_n(m, 2);
    assert_int_equal(vnet_mactable_lookup(&t, 0, m, 11), 0);
    for (uint32_t i = 1; i <= 5; i++) {
        if (i != 2) {
            mac_n(m, i);
            assert_int_equal(vnet_mactable_lookup(&t, 0, m, 11), i);
        }
    }
    vnet_mactable_destroy(&t);
    assert_int_equal(fk_live, 0);
}

static void test_static(void **state)
{
    struct vnet_mactable t;
    uint8_t a[6];
    uint8_t b[6];
    uint8_t c[6];

    (void)state;
    fk_reset();
    mac_n(a, 1);
    mac_n(b, 2);
    mac_n(c, 3);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 2, 300 * SEC), 0);
    assert_int_equal(vnet_mactable_add_static(&t, 0, a, 1), 0);
    assert_int_equal(vnet_mactable_add_static(&t, 0, a, 2), -EEXIST);
    assert_int_equal(vnet_mactable_add_static(&t, 0, a, 0), -EINVAL);
    /* Learning does not move or age a static entry. */
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 5, 10), VNET_LEARN_STATIC);
    assert_int_equal(t.stats.conflicts, 1);
    assert_int_equal(vnet_mactable_learn(&t, 0, a, 1, 10), VNET_LEARN_STATIC);
    assert_int_equal(t.stats.conflicts, 1);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 1000000 * SEC), 1);
    assert_int_equal(vnet_mactable_age(&t, 1000000 * SEC), 0);
    /* A static entry replaces a dynamic one. */
    assert_int_equal(vnet_mactable_learn(&t, 0, b, 7, 10), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_add_static(&t, 0, b, 2), 0);
    assert_int_equal(vnet_mactable_lookup(&t, 0, b, 10), 2);
    /* Full of static entries: learning is refused, nothing is evicted. */
    assert_int_equal(vnet_mactable_learn(&t, 0, c, 3, 10), VNET_LEARN_REFUSED);
    assert_int_equal(t.stats.full, 1);
    assert_int_equal(t.stats.evicted, 0);
    assert_int_equal(vnet_mactable_add_static(&t, 0, c, 3), -ENOSPC);
    /* flush_dynamic keeps them; flush_value and del remove them. */
    assert_int_equal(vnet_mactable_flush_dynamic(&t), 0);
    assert_int_equal(vnet_mactable_flush_value(&t, 2), 1);
    assert_int_equal(vnet_mactable_del(&t, 0, a), 0);
    assert_int_equal(vnet_mactable_del(&t, 0, a), -ENOENT);
    assert_int_equal(t.count, 0);
    vnet_mactable_destroy(&t);
    assert_int_equal(fk_live, 0);
}

static void test_many_and_list(void **state)
{
    enum { N = 1000 };
    struct vnet_mactable t;
    struct vnet_mactable_row *rows = calloc(N + 10, sizeof(*rows));
    struct vnet_mactable_row row;
    uint8_t m[6];

    (void)state;
    fk_reset();
    assert_non_null(rows);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, N, 300 * SEC), 0);
    for (uint32_t i = 0; i < N; i++) {
        mac_n(m, i * 7919);
        assert_int_equal(vnet_mactable_learn(&t, i % 3, m, i + 1, SEC + i), VNET_LEARN_NEW);
    }
    assert_int_equal(t.count, N);
    assert_int_equal(t.stats.evicted, 0);
    for (uint32_t i = 0; i < N; i++) {
        mac_n(m, i * 7919);
        assert_int_equal(vnet_mactable_lookup(&t, i % 3, m, 2 * SEC), i + 1);
        assert_int_equal(vnet_mactable_lookup(&t, (i + 1) % 3, m, 2 * SEC), 0);
    }
    assert_int_equal(vnet_mactable_list(&t, 2 * SEC, rows, N + 10), N);
    assert_int_equal(vnet_mactable_list(&t, 2 * SEC, rows, 5), 5);
    mac_n(m, 7919);
    assert_int_equal(vnet_mactable_find(&t, 1, m, 3 * SEC, &row), 0);
    assert_int_equal(row.value, 2);
    assert_false(row.is_static);
    assert_int_equal(row.age_ns, 2 * SEC - 1);
    assert_int_equal(vnet_mactable_find(&t, 0, m, 3 * SEC, &row), -ENOENT);
    assert_false(vnet_mactable_get(&t, N, 0, &row));
    /* Half the values flushed. */
    for (uint32_t i = 0; i < N; i += 2) {
        assert_int_equal(vnet_mactable_flush_value(&t, i + 1), 1);
    }
    assert_int_equal(t.count, N / 2);
    assert_int_equal(vnet_mactable_age(&t, 1000 * SEC), N / 2);
    assert_int_equal(t.count, 0);
    vnet_mactable_destroy(&t);
    free(rows);
    assert_int_equal(fk_live, 0);
}

/* Hints: a valid one skips the probe with the same result; every change (delete, reuse of
 * the entry for another MAC, a move, aging, flushes) makes it miss, never answer wrong. */
static void test_hints(void **state)
{
    struct vnet_mactable t;
    uint8_t a[6];
    uint8_t b[6];
    uint8_t c[6];
    int32_t ha = -1;
    int32_t hb = -1;
    int32_t hl = -1;
    int32_t bogus = 1000;

    (void)state;
    fk_reset();
    mac_n(a, 1);
    mac_n(b, 2);
    mac_n(c, 3);
    assert_int_equal(vnet_mactable_init(&t, &fk_host, 3, 300 * SEC), 0);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 10, &ha), VNET_LEARN_NEW);
    assert_true(ha >= 0);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, b, 2, 20, &hb), VNET_LEARN_NEW);
    /* Refreshed through the hint: a becomes the most recently seen, so b is evicted first. */
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 30, &ha), VNET_LEARN_REFRESH);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 30, &hl), 1);
    assert_int_equal(hl, ha);
    assert_int_equal(vnet_mactable_learn(&t, 0, c, 3, 40), VNET_LEARN_NEW);
    mac_n(c, 4);
    assert_int_equal(vnet_mactable_learn(&t, 0, c, 4, 50), VNET_LEARN_NEW);
    assert_int_equal(t.stats.evicted, 1);
    assert_int_equal(vnet_mactable_lookup(&t, 0, b, 50), 0);
    assert_int_equal(vnet_mactable_lookup(&t, 0, a, 50), 1);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 55, &ha), VNET_LEARN_REFRESH);
    /* b's hint names an entry now holding another MAC: learning b is new (evicting mac 3, the
     * oldest), the other intact. */
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, b, 2, 60, &hb), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_lookup(&t, 0, c, 60), 4);
    assert_int_equal(t.count, 3);
    /* A move through a valid hint is still a move. */
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 9, 70, &ha), VNET_LEARN_MOVED);
    assert_int_equal(t.stats.moved, 1);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 70, &hl), 9);
    /* Another domain never matches the hint. */
    assert_int_equal(vnet_mactable_lookup_hint(&t, 1, a, 70, &hl), 0);
    assert_int_equal(hl, -1);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 70, &hl), 9);
    /* Deleted: the hint misses. */
    assert_int_equal(vnet_mactable_del(&t, 0, a), 0);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 80, &hl), 0);
    assert_int_equal(hl, -1);
    /* Aged: lookup through the hint removes it and counts it, as without. */
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 100, &ha), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 100, &hl), 1);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 100 + 300 * SEC, &hl), 0);
    assert_int_equal(hl, -1);
    assert_int_equal(t.stats.aged, 1);
    /* Aged, then learned through a hint: a new station, the stale entry counted aged. */
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 1000 * SEC, &ha), VNET_LEARN_NEW);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 1, 1300 * SEC, &ha), VNET_LEARN_NEW);
    assert_int_equal(t.stats.aged, 2);
    /* Flushed: the hint misses. */
    assert_int_equal(vnet_mactable_flush_value(&t, 1), 1);
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 1300 * SEC, &ha), 0);
    /* Static entries: no conflict for the owner, a conflict for anybody else. */
    assert_int_equal(vnet_mactable_add_static(&t, 0, a, 5), 0);
    ha = -1;
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 5, 1, &ha), VNET_LEARN_STATIC);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 5, 2, &ha), VNET_LEARN_STATIC);
    assert_int_equal(t.stats.conflicts, 0);
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, a, 6, 3, &ha), VNET_LEARN_STATIC);
    assert_int_equal(t.stats.conflicts, 1);
    /* Out-of-range hints and value 0. */
    assert_int_equal(vnet_mactable_lookup_hint(&t, 0, a, 3, &bogus), 5);
    bogus = -7;
    assert_int_equal(vnet_mactable_learn_hint(&t, 0, b, 0, 3, &bogus), -EINVAL);
    vnet_mactable_destroy(&t);
    assert_int_equal(fk_live, 0);
}

/* Random operations on two tables, one used with hints and one without: same results, same
 * counters, same contents, all along. */
static void test_hints_change_nothing(void **state)
{
    enum { CAP = 8, MACS = 12, PORTS = 4, STEPS = 20000 };
    struct vnet_mactable h;
    struct vnet_mactable p;
    int32_t src_hint[PORTS];
    int32_t dst_hint[PORTS];
    uint32_t rng = 12345;
    uint64_t now = SEC;
    uint8_t m[6];

    (void)state;
    fk_reset();
    assert_int_equal(vnet_mactable_init(&h, &fk_host, CAP, 5 * SEC), 0);
    assert_int_equal(vnet_mactable_init(&p, &fk_host, CAP, 5 * SEC), 0);
    for (int i = 0; i < PORTS; i++) {
        src_hint[i] = -1;
        dst_hint[i] = -1;
    }
    for (int step = 0; step < STEPS; step++) {
        uint32_t r;
        uint32_t port;
        uint32_t dom;

        rng = rng * 1103515245u + 12345u;
        r = rng >> 8;
        port = r % PORTS;
        dom = (r >> 4) % 2;
        mac_n(m, (r >> 8) % MACS);
        now += ((r >> 12) % 4) * SEC / 2;
        switch ((r >> 16) % 16) {
        case 0:
            assert_int_equal(vnet_mactable_del(&h, dom, m), vnet_mactable_del(&p, dom, m));
            break;
        case 1:
            assert_int_equal(vnet_mactable_flush_value(&h, port + 1),
                             vnet_mactable_flush_value(&p, port + 1));
            break;
        case 2:
            assert_int_equal(vnet_mactable_age(&h, now), vnet_mactable_age(&p, now));
            break;
        case 3:
            assert_int_equal(vnet_mactable_add_static(&h, dom, m, port + 1),
                             vnet_mactable_add_static(&p, dom, m, port + 1));
            break;
        case 4:
        case 5:
        case 6:
        case 7:
        case 8:
            assert_int_equal(vnet_mactable_lookup_hint(&h, dom, m, now, &dst_hint[port]),
                             vnet_mactable_lookup(&p, dom, m, now));
            break;
        default:
            assert_int_equal(vnet_mactable_learn_hint(&h, dom, m, port + 1, now, &src_hint[port]),
                             vnet_mactable_learn(&p, dom, m, port + 1, now));
            break;
        }
        assert_int_equal(h.count, p.count);
        assert_memory_equal(&h.stats, &p.stats, sizeof(h.stats));
        assert_int_equal(h.lru_head, p.lru_head);
        assert_int_equal(h.lru_tail, p.lru_tail);
    }
    assert_true(h.stats.aged > 0 && h.stats.moved > 0 && h.stats.evicted > 0);
    vnet_mactable_destroy(&h);
    vnet_mactable_destroy(&p);
    assert_int_equal(fk_live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_bad), cmocka_unit_test(test_learn_refresh_move),
        cmocka_unit_test(test_aging),    cmocka_unit_test(test_evict_oldest),
        cmocka_unit_test(test_static),   cmocka_unit_test(test_many_and_list),
        cmocka_unit_test(test_hints),    cmocka_unit_test(test_hints_change_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
