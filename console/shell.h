/* The management shell: a table of commands {name, args, help, fn}, a tokenizer with quotes,
 * dispatch with privilege checks, `help`, and foreground jobs (commands that keep running,
 * like `log follow`, until they finish or the operator types Ctrl-C).
 *
 * Parts of Petrel register their own command tables (shell_register), so a command exists
 * exactly when the part behind it is built in. The shell knows nothing of telnet: it writes
 * text through struct shell_io ("\n" ends a line). Pure: runs hosted for the unit tests. */
#ifndef PETREL_CON_SHELL_H
#define PETREL_CON_SHELL_H

#include "../kernel/types.h"

#define SHELL_ARGS_MAX      16  /* words in one command line */
#define SHELL_TABLES_MAX    8   /* registered command tables */
#define SHELL_PRINTF_MAX    512 /* longest shell_printf output; longer is cut with "..." */
#define SHELL_JOB_STATE_MAX 256 /* a job's own state lives in the shell, not on the heap */
#define SHELL_HELP_COLUMN   24  /* usages up to this wide line up their help text */

struct shell;

/* Command flags. */
#define SHELL_RO 0x1u /* harmless: allowed in a read-only (no password) session */

struct shell_cmd {
    const char *name;
    const char *args; /* usage after the name: "HOST [COUNT]"; "" when it takes none */
    const char *help; /* one line for the listing */
    /* Returns 0, or a negative errno after printing a one-line error; -EINVAL also prints the
     * usage. argv[0] is the command name. */
    int (*fn)(struct shell *sh, int argc, char **argv);
    unsigned flags;
    const char *detail; /* more lines for `help NAME`, or NULL */
};

/* A foreground job started by a command. The shell's prompt comes back when it ends. */
struct shell_job {
    const char *name;
    /* Runs on every main-loop pass; returns false when the job is done. */
    bool (*poll)(struct shell *sh, uint64_t now_ms);
    /* A byte the operator typed; returns false to end the job. NULL: Ctrl-C ends the job and
     * everything else is ignored. */
    bool (*input)(struct shell *sh, uint8_t c);
    /* Called once when the job ends, however it ends (also when the session closes). */
    void (*end)(struct shell *sh);
};

struct shell_io {
    void (*write)(void *ctx, const char *buf, size_t len);
    /* Bytes that can be written now without being dropped (jobs write only that much). */
    size_t (*room)(void *ctx);
    void *ctx;
};

struct shell {
    struct shell_io io;
    bool admin;      /* false: a read-only session (no password configured) */
    bool want_close; /* a command (exit) asked to end the session */
    const struct shell_job *job;
    void *owner; /* the session that holds this shell */
    int last_rc;
    union {
        uint64_t align;
        uint8_t bytes[SHELL_JOB_STATE_MAX];
    } job_state;
};

/* Registers a command table (kept by pointer: it must stay valid). -ENOSPC when full,
 * -EEXIST when one of its names is already taken. */
int shell_register(const struct shell_cmd *cmds, size_t n);
/* Forgets every registered table (unit tests). */
void shell_unregister_all(void);
const struct shell_cmd *shell_find(const char *name);

void shell_init(struct shell *sh, const struct shell_io *io, bool admin, void *owner);
/* Splits a line into words in place. Words are separated by spaces or tabs; "..." and '...'
 * quote (adjacent parts join: a"b c" is one word), and a backslash escapes the next character
 * outside single quotes. Returns the number of words, or -EINVAL with *err saying why
 * (unterminated quote, too many words, a trailing backslash). */
int shell_tokenize(char *line, char **argv, int max, const char **err);
/* Runs one command line: tokenizes, finds the command, checks the privilege, calls it.
 * Unknown commands and bad arguments print a one-line error and the usage. Returns the
 * command's result (0 for an empty line). */
int shell_exec(struct shell *sh, char *line);
/* Completion candidates for the line editor: the i-th command this shell may run. */
const char *shell_candidate(void *sh, size_t i);

void shell_write(struct shell *sh, const char *buf, size_t len);
void shell_puts(struct shell *sh, const char *s);
void shell_printf(struct shell *sh, const char *fmt, ...) PRINTF_FMT(2, 3);
size_t shell_room(struct shell *sh);
/* Prints "usage: NAME ARGS". */
void shell_usage(struct shell *sh, const struct shell_cmd *cmd);

/* Starts a foreground job (from inside a command). */
void shell_start_job(struct shell *sh, const struct shell_job *job);
/* Ends the running job (the session calls it on Ctrl-C, close, or when poll says done). */
void shell_end_job(struct shell *sh);
static inline void *shell_job_state(struct shell *sh)
{
    return sh->job_state.bytes;
}

#endif
