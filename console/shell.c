/* The management shell: command tables, tokenizer, dispatch and help (see shell.h). */
#include "shell.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"

struct table_ref {
    const struct shell_cmd *cmds;
    size_t n;
};

static struct table_ref g_tables[SHELL_TABLES_MAX];
static size_t g_ntables;

static int cmd_help(struct shell *sh, int argc, char **argv);
static int cmd_exit(struct shell *sh, int argc, char **argv);

/* The shell's own commands come first in every listing. */
static const struct shell_cmd g_builtin[] = {
    {"help", "[COMMAND]", "list the commands, or describe one", cmd_help, SHELL_RO, NULL},
    {"exit", "", "end this session (Ctrl-D on an empty line does the same)", cmd_exit, SHELL_RO,
     NULL},
};

int shell_register(const struct shell_cmd *cmds, size_t n)
{
    if (g_ntables >= SHELL_TABLES_MAX) {
        return -ENOSPC;
    }
    for (size_t i = 0; i < n; i++) {
        if (shell_find(cmds[i].name) != NULL) {
            return -EEXIST;
        }
    }
    g_tables[g_ntables].cmds = cmds;
    g_tables[g_ntables].n = n;
    g_ntables++;
    return 0;
}

void shell_unregister_all(void)
{
    g_ntables = 0;
}

/* The i-th command of all tables (builtins first), or NULL past the end. */
static const struct shell_cmd *cmd_at(size_t i)
{
    if (i < ARRAY_SIZE(g_builtin)) {
        return &g_builtin[i];
    }
    i -= ARRAY_SIZE(g_builtin);
    for (size_t t = 0; t < g_ntables; t++) {
        if (i < g_tables[t].n) {
            return &g_tables[t].cmds[i];
        }
        i -= g_tables[t].n;
    }
    return NULL;
}

const struct shell_cmd *shell_find(const char *name)
{
    for (size_t i = 0;; i++) {
        const struct shell_cmd *c = cmd_at(i);

        if (c == NULL) {
            return NULL;
        }
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
}

static bool allowed(const struct shell *sh, const struct shell_cmd *c)
{
    return sh->admin || (c->flags & SHELL_RO) != 0;
}

const char *shell_candidate(void *ctx, size_t i)
{
    const struct shell *sh = ctx;

    for (size_t k = 0;; k++) {
        const struct shell_cmd *c = cmd_at(k);

        if (c == NULL) {
            return NULL;
        }
        if (!allowed(sh, c)) {
            continue;
        }
        if (i == 0) {
            return c->name;
        }
        i--;
    }
}

void shell_init(struct shell *sh, const struct shell_io *io, bool admin, void *owner)
{
    memset(sh, 0, sizeof(*sh));
    sh->io = *io;
    sh->admin = admin;
    sh->owner = owner;
}

void shell_write(struct shell *sh, const char *buf, size_t len)
{
    if (len > 0) {
        sh->io.write(sh->io.ctx, buf, len);
    }
}

void shell_puts(struct shell *sh, const char *s)
{
    shell_write(sh, s, strlen(s));
}

void shell_printf(struct shell *sh, const char *fmt, ...)
{
    char buf[SHELL_PRINTF_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof(buf)) {
        /* Cut, and say so, keeping the line's end. */
        memcpy(buf + sizeof(buf) - 5, "...\n", 5);
        n = (int)sizeof(buf) - 1;
    }
    shell_write(sh, buf, (size_t)n);
}

size_t shell_room(struct shell *sh)
{
    return sh->io.room != NULL ? sh->io.room(sh->io.ctx) : SIZE_MAX;
}

void shell_usage(struct shell *sh, const struct shell_cmd *cmd)
{
    shell_printf(sh, "usage: %s%s%s\n", cmd->name, cmd->args[0] != '\0' ? " " : "", cmd->args);
}

void shell_start_job(struct shell *sh, const struct shell_job *job)
{
    sh->job = job;
}

void shell_end_job(struct shell *sh)
{
    const struct shell_job *job = sh->job;

    if (job == NULL) {
        return;
    }
    sh->job = NULL;
    if (job->end != NULL) {
        job->end(sh);
    }
}

int shell_tokenize(char *line, char **argv, int max, const char **err)
{
    char *r = line; /* reads */
    char *w = line; /* writes: never ahead of r, so the work is done in place */
    int argc = 0;

    *err = NULL;
    for (;;) {
        char quote = 0;

        while (*r == ' ' || *r == '\t') {
            r++;
        }
        if (*r == '\0') {
            return argc;
        }
        if (argc >= max) {
            *err = "too many words";
            return -EINVAL;
        }
        argv[argc++] = w;
        for (; *r != '\0'; r++) {
            char c = *r;

            if (quote == 0 && (c == ' ' || c == '\t')) {
                break;
            }
            if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
                continue;
            }
            if (quote != 0 && c == quote) {
                quote = 0;
                continue;
            }
            if (c == '\\' && quote != '\'') {
                r++;
                if (*r == '\0') {
                    *err = "backslash at the end of the line";
                    return -EINVAL;
                }
                c = *r;
            }
            *w++ = c;
        }
        if (quote != 0) {
            *err = quote == '"' ? "unterminated \" quote" : "unterminated ' quote";
            return -EINVAL;
        }
        if (*r != '\0') {
            r++; /* the separator; w is behind r, so terminating the word here is safe */
        }
        *w++ = '\0';
    }
}

int shell_exec(struct shell *sh, char *line)
{
    char *argv[SHELL_ARGS_MAX + 1];
    const struct shell_cmd *cmd;
    const char *err;
    int argc;
    int rc;

    argc = shell_tokenize(line, argv, SHELL_ARGS_MAX, &err);
    if (argc < 0) {
        shell_printf(sh, "error: %s\n", err);
        sh->last_rc = argc;
        return argc;
    }
    if (argc == 0) {
        return 0;
    }
    argv[argc] = NULL;
    cmd = shell_find(argv[0]);
    if (cmd == NULL) {
        shell_printf(sh,
                     "error: unknown command '%.40s'\nusage: COMMAND [ARGS...]; 'help' "
                     "lists the commands\n",
                     argv[0]);
        sh->last_rc = -ENOENT;
        return -ENOENT;
    }
    if (!allowed(sh, cmd)) {
        shell_printf(sh,
                     "error: '%s' is not allowed in a read-only session (no console "
                     "password is set)\n",
                     cmd->name);
        sh->last_rc = -EPERM;
        return -EPERM;
    }
    rc = cmd->fn(sh, argc, argv);
    if (rc == -EINVAL) {
        shell_usage(sh, cmd);
    }
    sh->last_rc = rc;
    return rc;
}

/* ---- builtins ------------------------------------------------------------------------------ */

static size_t usage_width(const struct shell_cmd *c)
{
    size_t n = strlen(c->name);

    return c->args[0] != '\0' ? n + 1 + strlen(c->args) : n;
}

static int cmd_help(struct shell *sh, int argc, char **argv)
{
    size_t width = 0;
    size_t hidden = 0;

    if (argc > 2) {
        shell_puts(sh, "error: help takes at most one command name\n");
        return -EINVAL;
    }
    if (argc == 2) {
        const struct shell_cmd *c = shell_find(argv[1]);

        if (c == NULL) {
            shell_printf(sh, "error: no command '%.40s'\n", argv[1]);
            return -EINVAL;
        }
        shell_usage(sh, c);
        shell_printf(sh, "  %s\n", c->help);
        if (c->detail != NULL) {
            shell_puts(sh, c->detail);
        }
        if (!allowed(sh, c)) {
            shell_puts(sh, "  (not allowed in this read-only session)\n");
        }
        return 0;
    }
    for (size_t i = 0; cmd_at(i) != NULL; i++) {
        if (allowed(sh, cmd_at(i)) && usage_width(cmd_at(i)) <= SHELL_HELP_COLUMN) {
            width = MAX(width, usage_width(cmd_at(i)));
        }
    }
    shell_puts(sh, "Commands ('help COMMAND' for more):\n");
    for (size_t i = 0; cmd_at(i) != NULL; i++) {
        const struct shell_cmd *c = cmd_at(i);
        const char *sep = c->args[0] != '\0' ? " " : "";

        if (!allowed(sh, c)) {
            hidden++;
            continue;
        }
        if (usage_width(c) > width) {
            /* A long usage line: the help text goes on the next line, in the column. */
            shell_printf(sh, "  %s%s%s\n  %*s  %s\n", c->name, sep, c->args, (int)width, "",
                         c->help);
            continue;
        }
        shell_printf(sh, "  %s%s%-*s  %s\n", c->name, sep,
                     (int)(width - strlen(c->name) - strlen(sep)), c->args, c->help);
    }
    if (hidden > 0) {
        shell_printf(sh,
                     "(%zu more command%s need a console password: this session is "
                     "read-only)\n",
                     hidden, hidden == 1 ? "" : "s");
    }
    return 0;
}

static int cmd_exit(struct shell *sh, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        shell_puts(sh, "error: exit takes no arguments\n");
        return -EINVAL;
    }
    sh->want_close = true;
    return 0;
}
