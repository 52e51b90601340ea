/* Unit tests for console/table.c: aligned columns, right alignment, long cells, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/table.h"

static char g_out[65536];
static size_t g_nout;

static void sink(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    assert_true(g_nout + len < sizeof(g_out));
    memcpy(g_out + g_nout, buf, len);
    g_nout += len;
    g_out[g_nout] = '\0';
}

static struct table g_t;

static void test_aligned(void **state)
{
    static const char *const hdr[] = {"NAME", "STATE", "MEM"};

    (void)state;
    g_nout = 0;
    table_init(&g_t, 3, hdr);
    table_align_right(&g_t, 2);
    table_row(&g_t);
    table_set(&g_t, 0, "%s", "web");
    table_set(&g_t, 1, "%s", "running");
    table_set(&g_t, 2, "%u MiB", 64);
    table_row(&g_t);
    table_set(&g_t, 0, "%s", "database-1");
    table_set(&g_t, 1, "%s", "");
    table_set(&g_t, 2, "%u MiB", 1024);
    table_set(&g_t, 7, "%s", "ignored: no such column");
    table_print(&g_t, sink, NULL);
    assert_string_equal(g_out, "NAME        STATE         MEM\n"
                               "web         running    64 MiB\n"
                               "database-1           1024 MiB\n");
}

static void test_trailing_and_long(void **state)
{
    static const char *const hdr[] = {"A", "B"};
    char longtext[100];

    (void)state;
    g_nout = 0;
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    table_init(&g_t, 2, hdr);
    table_row(&g_t);
    table_set(&g_t, 0, "%s", longtext);
    table_print(&g_t, sink, NULL);
    /* The cell is cut to TABLE_CELL_MAX - 1; no line ends in spaces. */
    assert_int_equal(strlen(g_t.cells[1][0]), TABLE_CELL_MAX - 1);
    assert_null(strstr(g_out, " \n"));
}

static void test_overflow(void **state)
{
    static const char *const hdr[] = {"N"};

    (void)state;
    g_nout = 0;
    table_init(&g_t, 1, hdr);
    for (int i = 0; i < TABLE_ROWS_MAX + 9; i++) {
        int rc = table_row(&g_t);

        assert_int_equal(rc, i < TABLE_ROWS_MAX - 1 ? 0 : -ENOSPC);
        table_set(&g_t, 0, "%d", i);
    }
    table_print(&g_t, sink, NULL);
    assert_non_null(strstr(g_out, "\n63\n(10 more rows not shown)\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned),
        cmocka_unit_test(test_trailing_and_long),
        cmocka_unit_test(test_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
