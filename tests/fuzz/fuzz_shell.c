/* libFuzzer target: the shell's command parser (console/shell.c): shell_tokenize on any line,
 * then shell_exec with a small command table, as an admin and a read-only session. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../console/shell.h"
#include "lib.h"

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static size_t g_out;
static char *g_line;
static size_t g_len;

static void sink(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        g_out += (unsigned char)buf[i] != 0; /* reads every byte: ASan checks the bounds */
    }
}

/* Every word lies inside the line buffer and is terminated there. */
static int cmd_check(struct shell *sh, int argc, char **argv)
{
    if (argc < 1 || argc > SHELL_ARGS_MAX || argv[argc] != NULL) {
        abort();
    }
    for (int i = 0; i < argc; i++) {
        if (argv[i] < g_line || argv[i] + strlen(argv[i]) >= g_line + g_len + 1) {
            abort();
        }
    }
    shell_printf(sh, "%d %s\n", argc, argv[argc - 1]);
    return argc > 3 ? -EINVAL : 0;
}

static const struct shell_cmd g_cmds[] = {
    {"a", "[X...]", "checks its words", cmd_check, SHELL_RO, NULL},
    {"log", "level COMP LEVEL", "checks its words", cmd_check, SHELL_RO, "  detail\n"},
    {"reboot", "", "admin only", cmd_check, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    struct shell_io io = {sink, NULL, NULL};
    struct shell sh;
    char *argv[SHELL_ARGS_MAX + 1];
    const char *err;
    int argc;

    if (!once) {
        shell_unregister_all();
        shell_register(g_cmds, ARRAY_SIZE(g_cmds));
        once = true;
    }
    g_line = malloc(size + 1);
    if (g_line == NULL) {
        return 0;
    }
    memcpy(g_line, data, size);
    g_line[size] = '\0';
    g_len = strlen(g_line);
    argc = shell_tokenize(g_line, argv, SHELL_ARGS_MAX, &err);
    if (argc < 0 ? (argc != -EINVAL || err == NULL) : (argc > SHELL_ARGS_MAX || err != NULL)) {
        abort();
    }
    for (int admin = 0; admin < 2; admin++) {
        memcpy(g_line, data, size);
        g_line[size] = '\0';
        shell_init(&sh, &io, admin != 0, NULL);
        shell_exec(&sh, g_line);
        for (size_t i = 0; shell_candidate(&sh, i) != NULL; i++) {
            if (i > 16) {
                abort();
            }
        }
    }
    free(g_line);
    return 0;
}
