/* Unit tests for console/shell.c: the tokenizer (quotes, escapes, limits), command tables,
 * dispatch with its one-line errors and usage, read-only sessions, help, completion, jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/shell.h"

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

static int g_argc;
static char g_args[SHELL_ARGS_MAX][64];

static int cmd_echo(struct shell *sh, int argc, char **argv)
{
    g_argc = argc;
    for (int i = 0; i < argc; i++) {
        strncpy(g_args[i], argv[i], sizeof(g_args[i]) - 1);
    }
    shell_printf(sh, "%d\n", argc);
    return 0;
}

static int cmd_strict(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 2) {
        shell_puts(sh, "error: strict takes one argument\n");
        return -EINVAL;
    }
    return 0;
}

static int g_polls;
static int g_ended;

static bool job_poll(struct shell *sh, uint64_t now_ms)
{
    (void)sh;
    (void)now_ms;
    return ++g_polls < 3;
}

static void job_end(struct shell *sh)
{
    (void)sh;
    g_ended++;
}

static const struct shell_job g_job = {"testjob", job_poll, NULL, job_end};

static int cmd_job(struct shell *sh, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    shell_start_job(sh, &g_job);
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"echo", "[WORD...]", "print the number of words", cmd_echo, SHELL_RO, NULL},
    {"strict", "ARG", "needs exactly one argument", cmd_strict, SHELL_RO, "  more text\n"},
    {"reboot", "", "restart (admin only)", cmd_echo, 0, NULL},
    {"job", "", "start a job", cmd_job, SHELL_RO, NULL},
};

static struct shell g_sh;

static int setup(void **state)
{
    struct shell_io io = {sink, NULL, NULL};

    (void)state;
    shell_unregister_all();
    assert_int_equal(shell_register(g_cmds, sizeof(g_cmds) / sizeof(g_cmds[0])), 0);
    shell_init(&g_sh, &io, true, NULL);
    clear_out();
    return 0;
}

static int run(const char *line)
{
    char buf[512];

    strcpy(buf, line);
    clear_out();
    return shell_exec(&g_sh, buf);
}

static void test_tokenize(void **state)
{
    static const struct {
        const char *in;
        int argc;
        const char *words[5];
    } cases[] = {
        {"", 0, {NULL}},
        {"   \t ", 0, {NULL}},
        {"help", 1, {"help"}},
        {"  log   level net  debug ", 4, {"log", "level", "net", "debug"}},
        {"a \"b c\" d", 3, {"a", "b c", "d"}},
        {"a 'b \"c\"' d", 3, {"a", "b \"c\"", "d"}},
        {"x\"y z\"w", 1, {"xy zw"}},
        {"\"\" ''", 2, {"", ""}},
        {"a\\ b c", 2, {"a b", "c"}},
        {"\"q\\\"q\" '\\n'", 2, {"q\"q", "\\n"}},
        {"tab\tsep", 2, {"tab", "sep"}},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[64];
        char *argv[8];
        const char *err = "x";
        int argc;

        strcpy(line, cases[i].in);
        argc = shell_tokenize(line, argv, 8, &err);
        assert_int_equal(argc, cases[i].argc);
        assert_null(err);
        for (int k = 0; k < argc; k++) {
            assert_string_equal(argv[k], cases[i].words[k]);
        }
    }
}

static void test_tokenize_errors(void **state)
{
    char line[128];
    char *argv[4];
    const char *err;

    (void)state;
    strcpy(line, "a \"b c");
    assert_int_equal(shell_tokenize(line, argv, 4, &err), -EINVAL);
    assert_string_equal(err, "unterminated \" quote");
    strcpy(line, "a 'b");
    assert_int_equal(shell_tokenize(line, argv, 4, &err), -EINVAL);
    assert_string_equal(err, "unterminated ' quote");
    strcpy(line, "a b\\");
    assert_int_equal(shell_tokenize(line, argv, 4, &err), -EINVAL);
    strcpy(line, "1 2 3 4");
    assert_int_equal(shell_tokenize(line, argv, 4, &err), 4);
    strcpy(line, "1 2 3 4 5");
    assert_int_equal(shell_tokenize(line, argv, 4, &err), -EINVAL);
    assert_string_equal(err, "too many words");
}

static void test_dispatch(void **state)
{
    (void)state;
    assert_int_equal(run("echo a 'b c'"), 0);
    assert_int_equal(g_argc, 3);
    assert_string_equal(g_args[2], "b c");
    assert_string_equal(g_out, "3\n");
    assert_int_equal(run(""), 0);
    assert_string_equal(g_out, "");
    /* Unknown: one line of error, one of usage. */
    assert_int_equal(run("frobnicate now"), -ENOENT);
    assert_string_equal(g_out, "error: unknown command 'frobnicate'\n"
                               "usage: COMMAND [ARGS...]; 'help' lists the commands\n");
    /* Bad arguments: the command's error, then its usage. */
    assert_int_equal(run("strict"), -EINVAL);
    assert_string_equal(g_out, "error: strict takes one argument\nusage: strict ARG\n");
    assert_int_equal(run("strict x"), 0);
    assert_int_equal(run("echo \"open"), -EINVAL);
    assert_string_equal(g_out, "error: unterminated \" quote\n");
    /* Command names are exact (no prefixes, case-sensitive). */
    assert_int_equal(run("ECHO"), -ENOENT);
    assert_int_equal(run("ech"), -ENOENT);
    /* Too many words. */
    assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), -EINVAL);
    assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"), 0);
    assert_int_equal(g_argc, 16);
}

static void test_registry(void **state)
{
    static const struct shell_cmd dup[] = {{"echo", "", "again", cmd_echo, 0, NULL}};
    static const struct shell_cmd more[] = {{"extra", "", "x", cmd_echo, 0, NULL}};

    (void)state;
    assert_int_equal(shell_register(dup, 1), -EEXIST);
    assert_non_null(shell_find("help"));
    assert_non_null(shell_find("exit"));
    assert_null(shell_find("extra"));
    for (int i = 1; i < SHELL_TABLES_MAX; i++) {
        assert_int_equal(shell_register(more, 0), 0);
    }
    assert_int_equal(shell_register(more, 1), -ENOSPC);
}

static void test_readonly(void **state)
{
    struct shell_io io = {sink, NULL, NULL};

    (void)state;
    shell_init(&g_sh, &io, false, NULL);
    assert_int_equal(run("reboot"), -EPERM);
    assert_string_equal(g_out, "error: 'reboot' is not allowed in a read-only session (no "
                               "console password is set)\n");
    assert_int_equal(run("echo ok"), 0);
    /* help lists only what this session may run, and says how many are hidden. */
    assert_int_equal(run("help"), 0);
    assert_null(strstr(g_out, "reboot"));
    assert_non_null(strstr(g_out, "(1 more command need a console password"));
    /* Completion offers only allowed commands. */
    for (size_t i = 0; shell_candidate(&g_sh, i) != NULL; i++) {
        assert_string_not_equal(shell_candidate(&g_sh, i), "reboot");
    }
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(run("help"), 0);
    /* Aligned: every help text starts in the same column. */
    assert_string_equal(g_out, "Commands ('help COMMAND' for more):\n"
                               "  help [COMMAND]  list the commands, or describe one\n"
                               "  exit            end this session (Ctrl-D on an empty line "
                               "does the same)\n"
                               "  echo [WORD...]  print the number of words\n"
                               "  strict ARG      needs exactly one argument\n"
                               "  reboot          restart (admin only)\n"
                               "  job             start a job\n");
    assert_int_equal(run("help strict"), 0);
    assert_string_equal(g_out, "usage: strict ARG\n  needs exactly one argument\n  more text\n");
    assert_int_equal(run("help nope"), -EINVAL);
    assert_string_equal(g_out, "error: no command 'nope'\nusage: help [COMMAND]\n");
    assert_int_equal(run("help a b"), -EINVAL);
}

static void test_exit_and_job(void **state)
{
    (void)state;
    assert_false(g_sh.want_close);
    assert_int_equal(run("exit now"), -EINVAL);
    assert_false(g_sh.want_close);
    assert_int_equal(run("exit"), 0);
    assert_true(g_sh.want_close);

    g_polls = 0;
    g_ended = 0;
    assert_int_equal(run("job"), 0);
    assert_ptr_equal(g_sh.job, &g_job);
    assert_true(g_sh.job->poll(&g_sh, 0));
    shell_end_job(&g_sh);
    assert_null(g_sh.job);
    assert_int_equal(g_ended, 1);
    shell_end_job(&g_sh); /* ending twice is harmless */
    assert_int_equal(g_ended, 1);
}

static void test_printf_cut(void **state)
{
    char big[SHELL_PRINTF_MAX * 2];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    clear_out();
    shell_printf(&g_sh, "%s\n", big);
    assert_int_equal(g_nout, SHELL_PRINTF_MAX - 1);
    assert_string_equal(g_out + g_nout - 4, "...\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tokenize, setup),
        cmocka_unit_test_setup(test_tokenize_errors, setup),
        cmocka_unit_test_setup(test_dispatch, setup),
        cmocka_unit_test_setup(test_registry, setup),
        cmocka_unit_test_setup(test_readonly, setup),
        cmocka_unit_test_setup(test_help, setup),
        cmocka_unit_test_setup(test_exit_and_job, setup),
        cmocka_unit_test_setup(test_printf_cut, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
