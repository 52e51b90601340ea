/* Unit tests for console/outq.c: the bounded output queue, whole-write drops, the marker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/outq.h"

static size_t drain(struct outq *q, char *out, size_t max)
{
    size_t n = 0;

    while (outq_len(q) > 0 && n < max) {
        const uint8_t *p;
        size_t k = outq_peek(q, &p);

        k = k < max - n ? k : max - n;
        memcpy(out + n, p, k);
        outq_consume(q, k);
        n += k;
    }
    out[n] = '\0';
    return n;
}

static void test_fifo_wrap(void **state)
{
    uint8_t buf[16];
    struct outq q;
    char out[64];

    (void)state;
    outq_init(&q, buf, sizeof(buf));
    assert_int_equal(outq_room(&q), 16);
    assert_int_equal(outq_put(&q, "0123456789", 10), 0);
    outq_consume(&q, 8);
    assert_int_equal(outq_put(&q, "abcdefghij", 10), 0); /* wraps around the end */
    assert_int_equal(outq_len(&q), 12);
    assert_int_equal(drain(&q, out, sizeof(out) - 1), 12);
    assert_string_equal(out, "89abcdefghij");
    /* Filling exactly is allowed. */
    assert_int_equal(outq_put(&q, "0123456789abcdef", 16), 0);
    assert_int_equal(outq_room(&q), 0);
}

static void test_drop_and_marker(void **state)
{
    uint8_t buf[200];
    struct outq q;
    char out[256];

    (void)state;
    outq_init(&q, buf, sizeof(buf));
    assert_int_equal(outq_put(&q, out, 150), 0);
    /* Does not fit: dropped whole and counted. */
    assert_int_equal(outq_put(&q, "0123456789012345678901234567890123456789012345678901", 52),
                     -ENOSPC);
    assert_int_equal(q.dropped_bytes, 52);
    assert_int_equal(q.drop_events, 1);
    assert_int_equal(outq_len(&q), 150);
    /* While a drop is unreported the marker's room is held back. */
    assert_int_equal(outq_room(&q), 0);
    outq_consume(&q, 150);
    assert_int_equal(outq_put(&q, "next\n", 5), 0);
    drain(&q, out, sizeof(out) - 1);
    assert_string_equal(out, "\r\n[console: 52 bytes of output dropped]\r\nnext\n");
    /* The marker also goes out on its own once there is room. */
    assert_int_equal(outq_put(&q, out, 200), 0);
    assert_int_equal(outq_put(&q, "x", 1), -ENOSPC);
    outq_flush_marker(&q);
    assert_int_equal(outq_len(&q), 200); /* no room yet */
    outq_consume(&q, 200);
    outq_flush_marker(&q);
    drain(&q, out, sizeof(out) - 1);
    assert_string_equal(out, "\r\n[console: 1 bytes of output dropped]\r\n");
    outq_flush_marker(&q);
    assert_int_equal(outq_len(&q), 0);
    assert_int_equal(q.dropped_bytes, 53);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_wrap),
        cmocka_unit_test(test_drop_and_marker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
