/* Unit tests for console/lineedit.c: keystroke sequences and the line and echo bytes they
 * give (insert, backspace, Ctrl-U/W/K/C/D, arrows, Home/End, history, Tab completion, the
 * length limit, echo off for passwords). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/lineedit.h"

static char g_out[8192];
static size_t g_nout;

static void sink(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    assert_true(g_nout + len < sizeof(g_out));
    memcpy(g_out + g_nout, buf, len);
    g_nout += len;
    g_out[g_nout] = '\0';
}

static void clear_out(void)
{
    g_nout = 0;
    g_out[0] = '\0';
}

static const char *const g_cmds[] = {"help", "halt", "history", "version", "vms", "vm"};

static const char *candidate(void *ctx, size_t i)
{
    (void)ctx;
    return i < sizeof(g_cmds) / sizeof(g_cmds[0]) ? g_cmds[i] : NULL;
}

/* Types keys; returns the last result that was not LE_NONE (LE_NONE if all were). */
static enum le_result type(struct le *le, const char *keys)
{
    enum le_result last = LE_NONE;

    for (const char *k = keys; *k != '\0'; k++) {
        enum le_result r = le_key(le, (uint8_t)*k);

        if (r != LE_NONE) {
            last = r;
        }
    }
    return last;
}

static void start(struct le *le)
{
    le_init(le, sink, NULL);
    le_set_completion(le, candidate, NULL);
    le_begin(le, "> ", true);
    clear_out();
}

static void test_type_and_enter(void **state)
{
    struct le le;

    (void)state;
    le_init(&le, sink, NULL);
    clear_out();
    le_begin(&le, "petrel> ", true);
    assert_string_equal(g_out, "petrel> ");
    clear_out();
    assert_int_equal(type(&le, "help"), LE_NONE);
    assert_string_equal(g_out, "help");
    assert_int_equal(type(&le, "\r"), LE_LINE);
    assert_string_equal(le.line, "help");
    assert_string_equal(g_out, "help\n");
    /* CR LF is one Enter (the LF right after the CR is swallowed); a LF alone is one too. */
    le_begin(&le, "> ", true);
    assert_int_equal(le_key(&le, '\n'), LE_NONE);
    assert_int_equal(le_key(&le, '\n'), LE_LINE);
    assert_string_equal(le.line, "");
    le_begin(&le, "> ", true);
    assert_int_equal(type(&le, "a\n"), LE_LINE);
    assert_string_equal(le.line, "a");
}

static void test_backspace(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    type(&le, "helo\x7fp");
    assert_string_equal(g_out, "helo\b \bp");
    assert_int_equal(type(&le, "\b\bl\x7fp\r"), LE_LINE);
    assert_string_equal(le.line, "hep");
    /* Backspace on an empty line does nothing. */
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "\x7f\x7f");
    assert_string_equal(g_out, "");
}

static void test_kill_keys(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    /* Ctrl-U: everything before the cursor. */
    type(&le, "abc def\x15xyz\r");
    assert_string_equal(le.line, "xyz");
    /* Ctrl-W: the word before the cursor and the spaces after it. */
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "log level net  \x17");
    assert_string_equal(le.buf, "log level ");
    assert_string_equal(g_out, "log level net  \b\b\b\b\b     \b\b\b\b\b");
    type(&le, "\x17\x17");
    assert_string_equal(le.buf, "");
    type(&le, "\x17");
    assert_string_equal(le.buf, "");
    /* Ctrl-K: from the cursor to the end. */
    type(&le, "abcdef\x1b[D\x1b[D\x0b\r");
    assert_string_equal(le.line, "abcd");
}

static void test_ctrl_c_and_d(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    assert_int_equal(type(&le, "reboot\x03"), LE_ABORT);
    assert_string_equal(g_out, "reboot^C\n");
    assert_int_equal(le.len, 0);
    /* Ctrl-D: on an empty line the end of the session; otherwise delete under the cursor. */
    le_begin(&le, "> ", true);
    assert_int_equal(type(&le, "ab\x01\x04\r"), LE_LINE);
    assert_string_equal(le.line, "b");
    le_begin(&le, "> ", true);
    assert_int_equal(le_key(&le, 0x04), LE_EOF);
}

static void test_cursor_movement(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    /* Left twice, insert: the tail is redrawn and the cursor goes back. */
    type(&le, "vrsion\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D");
    clear_out();
    type(&le, "e");
    assert_string_equal(g_out, "ersion\b\b\b\b\b");
    assert_int_equal(type(&le, "\r"), LE_LINE);
    assert_string_equal(le.line, "version");
    /* Right at the end and left at the start do nothing; Home/End in their spellings. */
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "\x1b[C\x1b[D");
    assert_string_equal(g_out, "");
    type(&le, "bc\x1b[Ha\x1b[Fd\x1bOH0\x1bOF1\x1b[1~2\x1b[4~3\r");
    assert_string_equal(le.line, "20abcd13");
    /* Delete key (ESC [ 3 ~) removes under the cursor. */
    le_begin(&le, "> ", true);
    type(&le, "abc\x01\x1b[3~\r");
    assert_string_equal(le.line, "bc");
    /* Ctrl-B / Ctrl-F move too; an unknown sequence is swallowed whole. */
    le_begin(&le, "> ", true);
    type(&le, "ac\x02"
              "b\x06"
              "d\x1b[15~\x1b[1;5Ce\r");
    assert_string_equal(le.line, "abcde");
}

static void test_history(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    type(&le, "one\r");
    le_begin(&le, "> ", true);
    type(&le, "two\r");
    le_begin(&le, "> ", true);
    type(&le, "two\r"); /* a repeat is kept once */
    le_begin(&le, "> ", true);
    type(&le, "\r"); /* empty lines are not kept */
    assert_string_equal(le_history(&le, 0), "two");
    assert_string_equal(le_history(&le, 1), "one");
    assert_null(le_history(&le, 2));

    le_begin(&le, "> ", true);
    type(&le, "thr");
    clear_out();
    type(&le, "\x1b[A");
    assert_string_equal(le.buf, "two");
    assert_string_equal(g_out, "\b\b\btwo");
    type(&le, "\x1b[A");
    assert_string_equal(le.buf, "one");
    clear_out();
    type(&le, "\x1b[A"); /* oldest: bell */
    assert_string_equal(g_out, "\a");
    type(&le, "\x1b[B\x1b[B");
    assert_string_equal(le.buf, "thr"); /* back to what was being typed */
    clear_out();
    type(&le, "\x1b[B");
    assert_string_equal(g_out, "\a");
    /* Up, edit, Enter: the edited line runs and joins the history. */
    type(&le, "\x10!\r");
    assert_string_equal(le.line, "two!");
    assert_string_equal(le_history(&le, 0), "two!");

    /* The history keeps only the last LE_HISTORY lines. */
    for (int i = 0; i < LE_HISTORY + 5; i++) {
        char cmd[8] = {'c', (char)('a' + i), '\r', 0};

        le_begin(&le, "> ", true);
        type(&le, cmd);
    }
    assert_string_equal(le_history(&le, 0), "cu");
    assert_string_equal(le_history(&le, LE_HISTORY - 1), "cf");
    assert_null(le_history(&le, LE_HISTORY));
    /* A shorter history line blanks the rest of a longer one. */
    le_begin(&le, "> ", true);
    type(&le, "abcdef");
    clear_out();
    type(&le, "\x1b[A");
    assert_string_equal(g_out, "\b\b\b\b\b\bcu    \b\b\b\b");
}

static void test_completion(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    /* One match: completed with a space. */
    type(&le, "ver\t");
    assert_string_equal(le.buf, "version ");
    assert_string_equal(g_out, "version ");
    /* Several with a longer common prefix: completed to it. */
    le_begin(&le, "> ", true);
    type(&le, "h\t");
    assert_string_equal(le.buf, "h");
    le_begin(&le, "> ", true);
    type(&le, "hi\t");
    assert_string_equal(le.buf, "history ");
    le_begin(&le, "> ", true);
    type(&le, "v\t");
    assert_string_equal(le.buf, "v"); /* version, vms, vm: nothing common to add: listed */
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "vm\t");
    assert_string_equal(le.buf, "vm");
    assert_string_equal(g_out, "vm\nvms  vm   \n> vm");
    /* No match, or past the first word: the bell. */
    clear_out();
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "x\t");
    assert_string_equal(g_out, "x\a");
    le_begin(&le, "> ", true);
    clear_out();
    type(&le, "log \t");
    assert_string_equal(g_out, "log \a");
}

static void test_too_long(void **state)
{
    struct le le;
    enum le_result r = LE_NONE;
    size_t bells = 0;

    (void)state;
    start(&le);
    for (int i = 0; i < 70000; i++) {
        r = le_key(&le, 'A' + (uint8_t)(i % 26));
        assert_int_equal(r, LE_NONE);
        if (i == LE_LINE_MAX + 10) {
            for (size_t k = 0; k < g_nout; k++) {
                bells += g_out[k] == '\a';
            }
            clear_out();
        }
    }
    assert_int_equal(bells, 1); /* one bell, not one per refused key */
    assert_int_equal(g_nout, 0);
    assert_int_equal(le.len, LE_LINE_MAX);
    assert_int_equal(le_key(&le, '\r'), LE_TOOLONG);
    assert_string_equal(le.line, "");
    assert_null(le_history(&le, 0));
    /* The next line is normal again. */
    le_begin(&le, "> ", true);
    assert_int_equal(type(&le, "ok\r"), LE_LINE);
    assert_string_equal(le.line, "ok");
}

static void test_password_no_echo(void **state)
{
    struct le le;

    (void)state;
    le_init(&le, sink, NULL);
    le_set_completion(&le, candidate, NULL);
    clear_out();
    le_begin(&le, "Password: ", false);
    assert_int_equal(type(&le, "s3cr\x7fret\x1b[D\t\x1b[A\r"), LE_LINE);
    assert_string_equal(le.line, "s3cret");
    assert_string_equal(g_out, "Password: \n");
    assert_null(le_history(&le, 0));
}

/* Bytes that are not keys (controls, 8-bit, broken escapes) never corrupt the state. */
static void test_garbage(void **state)
{
    struct le le;

    (void)state;
    start(&le);
    for (int i = 0; i < 256; i++) {
        if (i == '\r' || i == '\n' || i == 3 || i == 4 || i == 0x1b) {
            continue;
        }
        le_key(&le, (uint8_t)i);
        assert_true(le.cur <= le.len);
        assert_true(le.len <= LE_LINE_MAX);
        assert_int_equal(le.buf[le.len], '\0');
    }
    type(&le, "\x1b[99999999999A\x1b\x1b\x1bO");
    assert_true(le.cur <= le.len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_and_enter),   cmocka_unit_test(test_backspace),
        cmocka_unit_test(test_kill_keys),        cmocka_unit_test(test_ctrl_c_and_d),
        cmocka_unit_test(test_cursor_movement),  cmocka_unit_test(test_history),
        cmocka_unit_test(test_completion),       cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_password_no_echo), cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
