/* Unit tests for the log subsystem (kernel/log.c): ring, levels, specs, sinks, formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "lib.h"

static struct log_record make_rec(const char *text)
{
    struct log_record r;

    memset(&r, 0, sizeof(r));
    r.comp = LOG_COMP_TEST;
    r.level = LOG_LVL_INFO;
    str_copy(r.text, text, sizeof(r.text));
    return r;
}

static void push_text(struct log_ring *r, const char *text)
{
    struct log_record rec = make_rec(text);

    log_ring_push(r, &rec);
}

/* ---- the ring ----------------------------------------------------------------------------- */

static void test_ring_empty(void **state)
{
    struct log_record storage[4];
    struct log_ring r;
    struct log_record out;
    uint64_t seq = 1;
    uint64_t dropped = 99;

    (void)state;
    log_ring_init(&r, storage, 4);
    assert_int_equal(log_ring_first_seq(&r), 1);
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), -EAGAIN);
    assert_int_equal(seq, 1);
    assert_int_equal(dropped, 0);
    /* A reader starting from 0 (never a real sequence number) lost nothing. */
    seq = 0;
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), -EAGAIN);
    assert_int_equal(dropped, 0);
    assert_int_equal(seq, 1);
}

static void test_ring_in_order(void **state)
{
    struct log_record storage[4];
    struct log_ring r;
    struct log_record out;
    uint64_t seq = 1;
    uint64_t dropped;

    (void)state;
    log_ring_init(&r, storage, 4);
    for (int i = 1; i <= 3; i++) {
        struct log_record rec = make_rec("x");

        rec.seq = 777; /* ignored: the ring assigns it */
        assert_int_equal(log_ring_push(&r, &rec), (uint64_t)i);
    }
    assert_int_equal(log_ring_first_seq(&r), 1);
    for (uint64_t i = 1; i <= 3; i++) {
        assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
        assert_int_equal(out.seq, i);
        assert_int_equal(dropped, 0);
        assert_int_equal(seq, i + 1);
    }
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), -EAGAIN);
    /* A new record is then readable from where the reader stopped. */
    push_text(&r, "four");
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
    assert_int_equal(out.seq, 4);
    assert_string_equal(out.text, "four");
}

static void test_ring_wraps(void **state)
{
    struct log_record storage[4];
    struct log_ring r;
    struct log_record out;
    uint64_t seq = 1;
    uint64_t dropped;
    char text[32];

    (void)state;
    log_ring_init(&r, storage, 4);
    for (int i = 1; i <= 10; i++) {
        snprintf(text, sizeof(text), "line %d", i);
        push_text(&r, text);
    }
    /* 10 pushed into 4 slots: 7..10 are held. */
    assert_int_equal(log_ring_first_seq(&r), 7);
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
    assert_int_equal(dropped, 6);
    assert_int_equal(out.seq, 7);
    assert_string_equal(out.text, "line 7");
    assert_int_equal(seq, 8);
    for (int i = 8; i <= 10; i++) {
        assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
        assert_int_equal(dropped, 0);
        assert_int_equal(out.seq, (uint64_t)i);
        snprintf(text, sizeof(text), "line %d", i);
        assert_string_equal(out.text, text);
    }
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), -EAGAIN);
    assert_int_equal(seq, 11);

    /* A reader from 0 after the wrap lost 1..6. */
    seq = 0;
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
    assert_int_equal(dropped, 6);
    assert_int_equal(out.seq, 7);

    /* Exactly full: nothing lost yet. */
    log_ring_init(&r, storage, 4);
    for (int i = 0; i < 4; i++) {
        push_text(&r, "y");
    }
    assert_int_equal(log_ring_first_seq(&r), 1);
    push_text(&r, "z");
    assert_int_equal(log_ring_first_seq(&r), 2);
    seq = 1;
    assert_int_equal(log_ring_read(&r, &seq, &out, &dropped), 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(out.seq, 2);
}

/* ---- levels and specs --------------------------------------------------------------------- */

static int reset_log(void **state)
{
    (void)state;
    log_init();
    return 0;
}

static void test_default_levels(void **state)
{
    (void)state;
    for (int c = 0; c < LOG_COMP_COUNT; c++) {
        assert_true(log_enabled((enum log_comp)c, LOG_LVL_ERROR));
        assert_true(log_enabled((enum log_comp)c, LOG_LVL_WARN));
        assert_true(log_enabled((enum log_comp)c, LOG_LVL_INFO));
        assert_false(log_enabled((enum log_comp)c, LOG_LVL_DEBUG));
        assert_false(log_enabled((enum log_comp)c, LOG_LVL_TRACE));
        assert_int_equal(log_get_level((enum log_comp)c), LOG_LVL_INFO);
    }
    assert_false(log_enabled(LOG_COMP_COUNT, LOG_LVL_ERROR));
    assert_false(log_enabled((enum log_comp) - 1, LOG_LVL_ERROR));
}

static void test_set_level(void **state)
{
    (void)state;
    log_set_level(LOG_COMP_PIT, LOG_LVL_DEBUG);
    assert_true(log_enabled(LOG_COMP_PIT, LOG_LVL_DEBUG));
    assert_false(log_enabled(LOG_COMP_PIT, LOG_LVL_TRACE));
    assert_false(log_enabled(LOG_COMP_VNET, LOG_LVL_DEBUG));
    log_set_level(LOG_COMP_VNET, LOG_LVL_ERROR);
    assert_false(log_enabled(LOG_COMP_VNET, LOG_LVL_WARN));
    assert_true(log_enabled(LOG_COMP_VNET, LOG_LVL_ERROR));
    /* Out-of-range arguments are ignored. */
    log_set_level(LOG_COMP_PIT, LOG_LVL_COUNT);
    log_set_level(LOG_COMP_COUNT, LOG_LVL_TRACE);
    assert_int_equal(log_get_level(LOG_COMP_PIT), LOG_LVL_DEBUG);
    assert_int_equal(log_get_level(LOG_COMP_COUNT), LOG_LVL_INFO);
}

static void test_apply_spec(void **state)
{
    char err[128];

    (void)state;
    assert_int_equal(log_apply_spec("pit:debug,vnet:info", err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(log_get_level(LOG_COMP_PIT), LOG_LVL_DEBUG);
    assert_int_equal(log_get_level(LOG_COMP_VNET), LOG_LVL_INFO);
    assert_int_equal(log_get_level(LOG_COMP_SVM), LOG_LVL_INFO);

    assert_int_equal(log_apply_spec("all:trace", err, sizeof(err)), 0);
    for (int c = 0; c < LOG_COMP_COUNT; c++) {
        assert_int_equal(log_get_level((enum log_comp)c), LOG_LVL_TRACE);
    }
    /* Case-insensitive, "warning" alias, empty items skipped, later items win. */
    assert_int_equal(log_apply_spec(",ALL:Error,,Svm:WARNING,svm:warn,", err, sizeof(err)), 0);
    assert_int_equal(log_get_level(LOG_COMP_SVM), LOG_LVL_WARN);
    assert_int_equal(log_get_level(LOG_COMP_NET), LOG_LVL_ERROR);
    assert_int_equal(log_apply_spec("", err, sizeof(err)), 0);
    assert_int_equal(log_get_level(LOG_COMP_NET), LOG_LVL_ERROR);
}

static void test_apply_spec_errors(void **state)
{
    char err[128];
    char tiny[8];

    (void)state;
    /* Items before the bad one stay applied, items after it are not. */
    assert_int_equal(log_apply_spec("pit:debug,bogus:info,vnet:error", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown component 'bogus'");
    assert_int_equal(log_get_level(LOG_COMP_PIT), LOG_LVL_DEBUG);
    assert_int_equal(log_get_level(LOG_COMP_VNET), LOG_LVL_INFO);

    assert_int_equal(log_apply_spec("net:loud", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown level 'loud'");
    assert_int_equal(log_get_level(LOG_COMP_NET), LOG_LVL_INFO);
    assert_int_equal(log_apply_spec("netdebug", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "'netdebug' is not COMPONENT:LEVEL");
    assert_int_equal(log_apply_spec("net:", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown level ''");
    assert_int_equal(log_apply_spec(":debug", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown component ''");
    assert_int_equal(log_apply_spec("net:debug:x", err, sizeof(err)), -EINVAL);
    assert_int_equal(log_apply_spec(" pit:debug", err, sizeof(err)), -EINVAL);
    assert_int_equal(log_apply_spec("pit:debugxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                                    err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "item too long");
    /* A good spec clears an earlier message. */
    assert_int_equal(log_apply_spec("pit:info", err, sizeof(err)), 0);
    assert_string_equal(err, "");

    /* No message buffer, or a tiny one (truncated, terminated). */
    assert_int_equal(log_apply_spec("x:y", NULL, 0), -EINVAL);
    assert_int_equal(log_apply_spec("x:y", err, 0), -EINVAL);
    assert_int_equal(log_apply_spec("x:y", tiny, sizeof(tiny)), -EINVAL);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_memory_equal(tiny, "unknown", 7);
}

static void test_parse_names(void **state)
{
    enum log_comp c;
    enum log_level l;

    (void)state;
    for (int i = 0; i < LOG_COMP_COUNT; i++) {
        assert_int_equal(log_comp_parse(log_comp_name((enum log_comp)i), &c), 0);
        assert_int_equal(c, i);
    }
    for (int i = 0; i < LOG_LVL_COUNT; i++) {
        assert_int_equal(log_level_parse(log_level_name((enum log_level)i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_int_equal(log_comp_parse("PIT", &c), 0);
    assert_int_equal(c, LOG_COMP_PIT);
    assert_int_equal(log_comp_parse("vNeT", &c), 0);
    assert_int_equal(c, LOG_COMP_VNET);
    assert_int_equal(log_level_parse("TRACE", &l), 0);
    assert_int_equal(l, LOG_LVL_TRACE);
    assert_int_equal(log_level_parse("Warning", &l), 0);
    assert_int_equal(l, LOG_LVL_WARN);
    assert_int_equal(log_comp_parse("pi", &c), -ENOENT);
    assert_int_equal(log_comp_parse("pitt", &c), -ENOENT);
    assert_int_equal(log_comp_parse("", &c), -ENOENT);
    assert_int_equal(log_comp_parse("all", &c), -ENOENT);
    assert_int_equal(log_level_parse("inf", &l), -ENOENT);
    assert_int_equal(log_level_parse("", &l), -ENOENT);
    assert_string_equal(log_comp_name(LOG_COMP_COUNT), "?");
    assert_string_equal(log_level_name(LOG_LVL_COUNT), "?");
}

/* ---- writing and sinks ------------------------------------------------------------------- */

struct capture {
    struct log_record recs[8];
    int n;
};

static void capture_sink(void *ctx, const struct log_record *rec)
{
    struct capture *cap = ctx;

    if (cap->n < (int)ARRAY_SIZE(cap->recs)) {
        cap->recs[cap->n] = *rec;
    }
    cap->n++;
}

/* A sink that logs itself: must not recurse into the sinks. */
static void chatty_sink(void *ctx, const struct log_record *rec)
{
    int *calls = ctx;

    (*calls)++;
    log_write(LOG_COMP_TEST, LOG_LVL_ERROR, NULL, "from the sink");
}

static uint64_t fake_clock(void)
{
    return 1500000000ULL; /* 1.5 s */
}

static void test_write_reaches_sink(void **state)
{
    struct capture cap = {0};
    struct log_ring *ring = log_global_ring();
    uint64_t next = ring->next_seq;
    char longtext[LOG_TEXT_MAX + 50];

    (void)state;
    log_set_clock(fake_clock);
    assert_int_equal(log_add_sink(capture_sink, &cap), 0);

    /* Below the component's level: neither sink nor ring. */
    log_write(LOG_COMP_PIT, LOG_LVL_DEBUG, NULL, "hidden %d", 1);
    LOG_DEBUG(PIT, "hidden too");
    assert_int_equal(cap.n, 0);
    assert_int_equal(ring->next_seq, next);

    log_write(LOG_COMP_PIT, LOG_LVL_INFO, NULL, "tick %d of %s", 42, "many");
    assert_int_equal(cap.n, 1);
    assert_string_equal(cap.recs[0].text, "tick 42 of many");
    assert_int_equal(cap.recs[0].comp, LOG_COMP_PIT);
    assert_int_equal(cap.recs[0].level, LOG_LVL_INFO);
    assert_string_equal(cap.recs[0].vm, "");
    assert_int_equal(cap.recs[0].time_ns, 1500000000ULL);
    assert_int_equal(cap.recs[0].seq, next);
    assert_int_equal(ring->next_seq, next + 1);

    log_set_level(LOG_COMP_PIT, LOG_LVL_DEBUG);
    LOG_VM(PIT, LOG_LVL_DEBUG, "guest-with-a-very-long-name", "vm line");
    assert_int_equal(cap.n, 2);
    assert_string_equal(cap.recs[1].vm, "guest-with-a-ve"); /* LOG_VM_MAX - 1 */
    assert_int_equal(cap.recs[1].level, LOG_LVL_DEBUG);

    memset(longtext, 'a', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    LOG_ERROR(MM, "%s", longtext);
    assert_int_equal(cap.n, 3);
    assert_int_equal(strlen(cap.recs[2].text), LOG_TEXT_MAX - 1);

    /* The same records are in the global ring. */
    {
        uint64_t seq = next;
        uint64_t dropped;
        struct log_record out;

        assert_int_equal(log_ring_read(ring, &seq, &out, &dropped), 0);
        assert_string_equal(out.text, "tick 42 of many");
    }
}

static void test_sinks(void **state)
{
    struct capture cap = {0};
    int calls = 0;
    uint64_t next = log_global_ring()->next_seq;

    (void)state;
    assert_int_equal(log_add_sink(chatty_sink, &calls), 0);
    assert_int_equal(log_add_sink(capture_sink, &cap), 0);
    LOG_WARN(TEST, "outer");
    /* Both sinks saw the outer line once; the inner line only went to the ring. */
    assert_int_equal(calls, 1);
    assert_int_equal(cap.n, 1);
    assert_string_equal(cap.recs[0].text, "outer");
    assert_int_equal(log_global_ring()->next_seq, next + 2);
    for (int i = 2; i < 8; i++) {
        assert_int_equal(log_add_sink(capture_sink, &cap), 0);
    }
    assert_int_equal(log_add_sink(capture_sink, &cap), -ENOSPC);
}

static void test_record_only(void **state)
{
    struct capture cap = {0};
    struct log_ring *ring = log_global_ring();
    uint64_t seq = ring->next_seq;
    uint64_t dropped;
    struct log_record out;

    (void)state;
    log_set_clock(fake_clock);
    assert_int_equal(log_add_sink(capture_sink, &cap), 0);
    /* Kept in the ring even below the component's level, never handed to the sinks. */
    log_record_only(LOG_COMP_IRQ, LOG_LVL_TRACE, "fault dump line");
    assert_int_equal(cap.n, 0);
    assert_int_equal(log_ring_read(ring, &seq, &out, &dropped), 0);
    assert_string_equal(out.text, "fault dump line");
    assert_int_equal(out.comp, LOG_COMP_IRQ);
    assert_int_equal(out.level, LOG_LVL_TRACE);
    assert_string_equal(out.vm, "");
    assert_int_equal(out.time_ns, 1500000000ULL);
}

static void test_format(void **state)
{
    struct log_record rec = make_rec("text");
    char buf[128];
    int n;

    (void)state;
    rec.time_ns = 1500000000ULL;
    rec.comp = LOG_COMP_PIT;
    rec.level = LOG_LVL_DEBUG;
    n = log_format(&rec, buf, sizeof(buf));
    assert_string_equal(buf, "    1.500000 pit     debug text");
    assert_int_equal(n, (int)strlen(buf));

    str_copy(rec.vm, "vm1", sizeof(rec.vm));
    log_format(&rec, buf, sizeof(buf));
    assert_string_equal(buf, "    1.500000 pit     debug [vm1] text");

    rec.vm[0] = '\0';
    rec.time_ns = 123456789012345ULL; /* 123456.789012 s: wider than the field */
    rec.comp = LOG_COMP_CONSOLE;
    rec.level = LOG_LVL_ERROR;
    log_format(&rec, buf, sizeof(buf));
    assert_string_equal(buf, "123456.789012 console error text");

    rec.time_ns = 999;
    rec.comp = 200;
    rec.level = 9;
    log_format(&rec, buf, sizeof(buf));
    assert_string_equal(buf, "    0.000000 ?       ?     text");

    /* Truncation: returns the full length, output terminated. */
    rec.time_ns = 0;
    rec.comp = LOG_COMP_PIT;
    rec.level = LOG_LVL_INFO;
    n = log_format(&rec, buf, 10);
    assert_int_equal(n, (int)strlen("    0.000000 pit     info  text"));
    assert_string_equal(buf, "    0.000");
}

#define T(fn) cmocka_unit_test_setup(fn, reset_log)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_empty),
        cmocka_unit_test(test_ring_in_order),
        cmocka_unit_test(test_ring_wraps),
        T(test_default_levels),
        T(test_set_level),
        T(test_apply_spec),
        T(test_apply_spec_errors),
        T(test_parse_names),
        T(test_write_reaches_sink),
        T(test_sinks),
        T(test_record_only),
        T(test_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
