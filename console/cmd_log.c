/* The `log` command: show the log ring, follow it live, list and change component levels. */
#include "cmds.h"
#include "logfmt.h"
#include "logstream.h"
#include "shell.h"
#include "table.h"

#include "../kernel/lib.h"
#include "../kernel/log.h"

#define LOG_JOB_BURST 64 /* lines per main-loop pass */

struct log_job {
    uint64_t seq;
    uint64_t end; /* stop before this sequence number; 0: follow forever */
    uint64_t shown;
};

_Static_assert(sizeof(struct log_job) <= SHELL_JOB_STATE_MAX, "log job state too big");

static struct table g_table;

/* Writes ring lines while the session has room; false once `end` is reached. */
static bool job_poll(struct shell *sh, uint64_t now_ms)
{
    struct log_job *j = shell_job_state(sh);
    char line[LOGFMT_LINE_MAX + 32];

    (void)now_ms;
    for (int i = 0; i < LOG_JOB_BURST; i++) {
        struct log_record rec;
        uint64_t dropped = 0;
        size_t n = 0;
        uint64_t seq = j->seq;
        int rc;

        if (j->end != 0 && j->seq >= j->end) {
            return false;
        }
        if (shell_room(sh) < sizeof(line)) {
            return true; /* the client is slow: wait, the ring keeps the lines (for a while) */
        }
        rc = con_log_read(&seq, &rec, &dropped);
        if (dropped > 0) {
            n = logfmt_dropped(dropped, line, sizeof(line));
        }
        if (rc == 0) {
            n += logfmt_line(&rec, line + n, sizeof(line) - n);
            j->shown++;
        }
        if (n > 0) {
            shell_write(sh, line, n);
        }
        j->seq = seq;
        if (rc != 0) {
            return j->end == 0; /* caught up: a follower waits, a show is done */
        }
    }
    return true;
}

static const struct shell_job g_show_job = {"log", job_poll, NULL, NULL};
static const struct shell_job g_follow_job = {"log follow", job_poll, NULL, NULL};

static void start(struct shell *sh, uint64_t from, uint64_t end, const struct shell_job *job)
{
    struct log_job *j = shell_job_state(sh);

    memset(j, 0, sizeof(*j));
    j->seq = from;
    j->end = end;
    shell_start_job(sh, job);
}

static int levels_table(struct shell *sh)
{
    static const char *const hdr[] = {"COMPONENT", "LEVEL"};

    table_init(&g_table, 2, hdr);
    for (int c = 0; c < LOG_COMP_COUNT; c++) {
        table_row(&g_table);
        table_set(&g_table, 0, "%s", log_comp_name((enum log_comp)c));
        table_set(&g_table, 1, "%s", log_level_name(log_get_level((enum log_comp)c)));
    }
    table_print_shell(&g_table, sh);
    return 0;
}

static int set_level(struct shell *sh, const char *comp_name, const char *level_name)
{
    enum log_comp comp;
    enum log_level lvl;
    bool all = str_casecmp(comp_name, "all") == 0;

    if (!sh->admin) {
        shell_puts(sh, "error: changing log levels is not allowed in a read-only session\n");
        return -EPERM;
    }
    if (!all && log_comp_parse(comp_name, &comp) != 0) {
        shell_printf(sh, "error: no log component '%.40s' ('log level' lists them)\n", comp_name);
        return -EINVAL;
    }
    if (log_level_parse(level_name, &lvl) != 0) {
        shell_printf(sh, "error: no level '%.40s' (error, warn, info, debug, trace)\n", level_name);
        return -EINVAL;
    }
    if (all) {
        for (int c = 0; c < LOG_COMP_COUNT; c++) {
            log_set_level((enum log_comp)c, lvl);
        }
    } else {
        log_set_level(comp, lvl);
    }
    LOG_INFO(CONSOLE, "log level of %s set to %s from the console", all ? "all" : comp_name,
             log_level_name(lvl));
    shell_printf(sh, "%s: %s\n", all ? "all" : log_comp_name(comp), log_level_name(lvl));
    return 0;
}

static int cmd_log(struct shell *sh, int argc, char **argv)
{
    const struct log_ring *ring = log_global_ring();
    uint64_t next = ring->next_seq;
    uint64_t first = log_ring_first_seq(ring);
    uint64_t n;

    if (argc == 1) {
        start(sh, first, next, &g_show_job);
        return 0;
    }
    if (strcmp(argv[1], "follow") == 0 && argc == 2) {
        shell_puts(sh, "(following the log; Ctrl-C stops)\n");
        start(sh, next, 0, &g_follow_job);
        return 0;
    }
    if (strcmp(argv[1], "level") == 0 && argc == 2) {
        return levels_table(sh);
    }
    if (strcmp(argv[1], "level") == 0 && argc == 4) {
        return set_level(sh, argv[2], argv[3]);
    }
    if (argc == 2 && str_to_u64(argv[1], &n) == 0 && argv[1][0] >= '0' && argv[1][0] <= '9') {
        uint64_t from = next - MIN(n, next - first);

        start(sh, from, next, &g_show_job);
        return 0;
    }
    shell_puts(sh, "error: expected 'log', 'log N', 'log follow' or 'log level [COMP LEVEL]'\n");
    return -EINVAL;
}

static const struct shell_cmd g_cmds[] = {
    {"log", "[N | follow | level [COMP LEVEL]]", "show, follow or tune the kernel log", cmd_log,
     SHELL_RO,
     "  log                  the whole ring (the last 1024 lines)\n"
     "  log N                its last N lines\n"
     "  log follow           new lines as they come, until Ctrl-C\n"
     "  log level            each component's level\n"
     "  log level COMP LEVEL set one (COMP may be 'all'; LEVEL: error warn info debug trace)\n"},
};

int con_cmds_log_register(void)
{
    return shell_register(g_cmds, ARRAY_SIZE(g_cmds));
}
