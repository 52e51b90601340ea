/* Unit tests for console/session.c: a whole telnet session without a network — login right
 * and wrong, the three-failure close, the rate limit across connections, read-only sessions,
 * commands, Ctrl-D, jobs and Ctrl-C, idle and login timeouts, and input backpressure when the
 * client does not read. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/session.h"
#include "log.h"

#define SECRET "sha256:salt1234:434fbfcc01c1839e14156dbc57ffd668b1850f85808721dc98784f6a81478c54"
#define PEER   0x0a000202u

static struct con_config g_cfg;
static struct auth_limiter g_lim;
static struct con_env g_env = {&g_cfg, &g_lim, "Petrel test"};
static struct con_session *g_s;
static char g_text[65536];

/* Drains the session's output; returns it as text with the telnet encoding undone (IAC
 * negotiation removed, CR LF -> LF, CR NUL -> CR). */
static const char *drain(struct con_session *s)
{
    size_t n = 0;
    uint8_t raw[65536];
    size_t nraw = 0;

    while (outq_len(&s->out) > 0) {
        const uint8_t *p;
        size_t k = outq_peek(&s->out, &p);

        assert_true(nraw + k <= sizeof(raw));
        memcpy(raw + nraw, p, k);
        nraw += k;
        outq_consume(&s->out, k);
    }
    for (size_t i = 0; i < nraw; i++) {
        if (raw[i] == TN_IAC && i + 1 < nraw && raw[i + 1] >= TN_WILL && raw[i + 1] <= TN_DONT) {
            i += 2;
            continue;
        }
        if (raw[i] == TN_IAC && i + 1 < nraw && raw[i + 1] == TN_IAC) {
            i++;
        } else if (raw[i] == '\r' && i + 1 < nraw && (raw[i + 1] == '\n' || raw[i + 1] == 0)) {
            if (raw[i + 1] == 0) {
                g_text[n++] = '\r';
            }
            i++;
            if (raw[i] == 0) {
                continue;
            }
        }
        g_text[n++] = (char)raw[i];
    }
    g_text[n] = '\0';
    return g_text;
}

static size_t send_str(struct con_session *s, const char *str, uint64_t now)
{
    return con_session_input(s, (const uint8_t *)str, strlen(str), now);
}

static int g_job_polls;
static bool g_job_done;

static bool job_poll(struct shell *sh, uint64_t now_ms)
{
    (void)now_ms;
    g_job_polls++;
    if (shell_room(sh) > 10) {
        shell_puts(sh, "tick\n");
    }
    return !g_job_done;
}

static const struct shell_job g_job = {"follow", job_poll, NULL, NULL};

static int cmd_follow(struct shell *sh, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    shell_start_job(sh, &g_job);
    return 0;
}

static int cmd_flood(struct shell *sh, int argc, char **argv)
{
    char line[101];

    (void)argc;
    (void)argv;
    memset(line, 'f', 99);
    line[99] = '\n';
    line[100] = '\0';
    for (int i = 0; i < 30; i++) {
        shell_puts(sh, line);
    }
    return 0;
}

static int cmd_version(struct shell *sh, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    shell_puts(sh, "Petrel 0.0-test\n");
    return 0;
}

static const struct shell_cmd g_cmds[] = {
    {"version", "", "show the version", cmd_version, SHELL_RO, NULL},
    {"follow", "", "a job", cmd_follow, SHELL_RO, NULL},
    {"flood", "", "3000 bytes of output", cmd_flood, SHELL_RO, NULL},
    {"reboot", "", "admin only", cmd_version, 0, NULL},
};

static int setup(void **state)
{
    (void)state;
    log_init();
    shell_unregister_all();
    assert_int_equal(shell_register(g_cmds, sizeof(g_cmds) / sizeof(g_cmds[0])), 0);
    con_config_defaults(&g_cfg);
    assert_int_equal(auth_parse(SECRET, &g_cfg.password, NULL), 0);
    auth_limiter_init(&g_lim);
    g_s = calloc(1, sizeof(*g_s));
    assert_non_null(g_s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_s);
    return 0;
}

static void test_open_and_login(void **state)
{
    uint8_t raw[9];
    const uint8_t *p;

    (void)state;
    con_session_open(g_s, &g_env, PEER, 40000, NULL, 0);
    /* The negotiation comes first, then the banner and the prompt. */
    assert_true(outq_peek(&g_s->out, &p) >= sizeof(raw));
    memcpy(raw, p, sizeof(raw));
    assert_memory_equal(raw, ((uint8_t[]){255, 251, 1, 255, 251, 3, 255, 253, 31}), 9);
    assert_string_equal(drain(g_s), "\nPetrel test management console\nPassword: ");
    assert_int_equal(g_s->state, CON_LOGIN);
    /* The client's answers, then the password (not echoed), CR LF as the telnet client sends. */
    {
        static const uint8_t answers[] = {255, 253, 1,  255, 253, 3, 255, 251, 31,
                                          255, 250, 31, 0,   100, 0, 30,  255, 240};

        assert_int_equal(con_session_input(g_s, answers, sizeof(answers), 1), sizeof(answers));
    }
    assert_int_equal(g_s->le.width, 100);
    send_str(g_s, "secret\r\n", 2);
    assert_string_equal(drain(g_s), "\nLogged in. Type 'help' for the commands.\npetrel> ");
    assert_int_equal(g_s->state, CON_SHELL);
    assert_true(g_s->admin);
    send_str(g_s, "version\r\0", 3);
    assert_string_equal(drain(g_s), "version\nPetrel 0.0-test\npetrel> ");
    send_str(g_s, "reboot\r\n", 3);
    assert_string_equal(drain(g_s), "reboot\nPetrel 0.0-test\npetrel> ");
    /* Ctrl-D on an empty line logs out. */
    send_str(g_s, "\x04", 4);
    assert_string_equal(drain(g_s), "logout\n");
    assert_true(con_session_closing(g_s));
    /* Nothing more is read or answered. */
    assert_int_equal(send_str(g_s, "version\r\n", 5), 9);
    assert_string_equal(drain(g_s), "");
}

static void test_three_failures_and_rate_limit(void **state)
{
    (void)state;
    con_session_open(g_s, &g_env, PEER, 40001, NULL, 0);
    drain(g_s);
    send_str(g_s, "wrong1\r\n", 10);
    assert_string_equal(drain(g_s), "\nLogin incorrect.\nPassword: ");
    send_str(g_s, "wrong2\r\n", 20);
    assert_string_equal(drain(g_s), "\nLogin incorrect.\nPassword: ");
    send_str(g_s, "wrong3\r\n", 30);
    assert_string_equal(drain(g_s),
                        "\nLogin incorrect.\nToo many failures; closing the connection.\n");
    assert_true(con_session_closing(g_s));
    assert_string_equal(g_s->close_reason, "too many failed logins");

    /* The next connection from that address waits before its prompt; typing is discarded. */
    con_session_open(g_s, &g_env, PEER, 40002, NULL, 100);
    assert_non_null(strstr(drain(g_s), "Too many failed logins from 10.0.2.2: wait 1 s.\n"));
    assert_int_equal(g_s->state, CON_WAIT);
    send_str(g_s, "secret\r\n", 200);
    con_session_poll(g_s, 500);
    assert_string_equal(drain(g_s), "");
    con_session_poll(g_s, 30 + AUTH_DELAY_BASE_MS);
    assert_string_equal(drain(g_s), "Password: ");
    /* A fourth failure doubles the wait, after the message. */
    send_str(g_s, "wrong4\r\n", 2000);
    assert_string_equal(drain(g_s), "\nLogin incorrect.\n");
    assert_int_equal(g_s->state, CON_WAIT);
    con_session_poll(g_s, 2000 + 2 * AUTH_DELAY_BASE_MS - 1);
    assert_int_equal(g_s->state, CON_WAIT);
    con_session_poll(g_s, 2000 + 2 * AUTH_DELAY_BASE_MS);
    assert_string_equal(drain(g_s), "Password: ");
    /* The right password still works, and clears the address. */
    send_str(g_s, "secret\r\n", 5000);
    assert_int_equal(g_s->state, CON_SHELL);
    assert_int_equal(auth_limit_wait(&g_lim, PEER, 5000), 0);
    /* Another address was never delayed. */
    con_session_open(g_s, &g_env, PEER + 1, 1, NULL, 5000);
    assert_int_equal(g_s->state, CON_LOGIN);
}

static void test_readonly(void **state)
{
    const char *out;

    (void)state;
    g_cfg.password.set = false;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    out = drain(g_s);
    assert_non_null(strstr(out, "this session is read-only.\npetrel(ro)> "));
    assert_int_equal(g_s->state, CON_SHELL);
    assert_false(g_s->admin);
    send_str(g_s, "reboot\n", 1);
    assert_non_null(strstr(drain(g_s), "error: 'reboot' is not allowed in a read-only session"));
    send_str(g_s, "version\n", 1);
    assert_string_equal(drain(g_s), "version\nPetrel 0.0-test\npetrel(ro)> ");
}

static void test_editing_over_telnet(void **state)
{
    (void)state;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\n", 1);
    drain(g_s);
    /* Tab completion, a typo fixed with the arrows, history recall. */
    send_str(g_s, "ver\t\r\n", 2);
    assert_string_equal(drain(g_s), "version \nPetrel 0.0-test\npetrel> ");
    send_str(g_s, "\x1b[A\r\n", 3);
    assert_string_equal(drain(g_s), "version \nPetrel 0.0-test\npetrel> ");
    send_str(g_s, "nope\r\n", 4);
    assert_non_null(strstr(drain(g_s), "error: unknown command 'nope'\nusage: "));
    /* Telnet's IP (interrupt) abandons the line like Ctrl-C. */
    send_str(g_s, "reb\xff\xf4", 5);
    assert_string_equal(drain(g_s), "reb^C\npetrel> ");
    /* A 64 KiB line: refused with a message, and the session goes on. */
    {
        static char big[65536 + 3];
        size_t off = 0;

        memset(big, 'A', 65536);
        memcpy(big + 65536, "\r\n", 3);
        while (off < 65538) {
            size_t n = con_session_input(g_s, (const uint8_t *)big + off, 65538 - off, 6);

            off += n;
            drain(g_s);
        }
        assert_non_null(strstr(g_text, "A\a\nerror: line longer than 255 characters; ignored\n"
                                       "petrel> "));
    }
    send_str(g_s, "version\r\n", 7);
    assert_string_equal(drain(g_s), "version\nPetrel 0.0-test\npetrel> ");
}

static void test_job(void **state)
{
    (void)state;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\nfollow\r\n", 1);
    drain(g_s);
    assert_int_equal(g_s->state, CON_JOB);
    g_job_done = false;
    g_job_polls = 0;
    con_session_poll(g_s, 2);
    con_session_poll(g_s, 3);
    assert_string_equal(drain(g_s), "tick\ntick\n");
    /* Typing other keys does nothing; Ctrl-C ends the job and the prompt returns. */
    send_str(g_s, "x", 4);
    assert_int_equal(g_s->state, CON_JOB);
    send_str(g_s, "\x03", 5);
    assert_string_equal(drain(g_s), "^C\npetrel> ");
    assert_int_equal(g_s->state, CON_SHELL);
    assert_null(g_s->sh.job);
    /* A job that finishes by itself. */
    send_str(g_s, "follow\r\n", 6);
    g_job_done = true;
    con_session_poll(g_s, 7);
    assert_string_equal(drain(g_s), "follow\ntick\npetrel> ");
    /* A job never writes into the input reserve: with an undrained client it stops writing,
     * and Ctrl-C still gets through. */
    g_job_done = false;
    send_str(g_s, "follow\r\n", 8);
    for (int i = 0; i < 10000; i++) {
        con_session_poll(g_s, 9);
    }
    assert_true(outq_room(&g_s->out) >= CON_INPUT_RESERVE);
    assert_int_equal(g_s->out.dropped_bytes, 0);
    assert_int_equal(send_str(g_s, "\x03", 10), 1);
    assert_int_equal(g_s->state, CON_SHELL);
}

static void test_backpressure(void **state)
{
    size_t taken = 0;
    size_t n;

    (void)state;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\n", 1);
    /* The client sends many commands and never reads: the session stops taking input once
     * answering would overflow, and nothing is dropped. */
    for (int i = 0; i < 100; i++) {
        n = send_str(g_s, "flood\r\n", 2);
        taken += n;
        if (n < 7) {
            break;
        }
    }
    assert_true(taken < 100 * 7);
    assert_int_equal(g_s->out.dropped_bytes, 0);
    assert_int_equal(send_str(g_s, "flood\r\n", 3), 0);
    /* Once the client reads, input is taken again. */
    drain(g_s);
    assert_int_equal(send_str(g_s, "flood\r\n", 4), 7);
}

static void test_timeouts(void **state)
{
    (void)state;
    /* At the password prompt: CON_LOGIN_TIMEOUT_MS. */
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    drain(g_s);
    con_session_poll(g_s, CON_LOGIN_TIMEOUT_MS);
    assert_int_equal(g_s->state, CON_LOGIN);
    con_session_poll(g_s, CON_LOGIN_TIMEOUT_MS + 1);
    assert_string_equal(drain(g_s), "\nLogin timed out.\n");
    assert_true(con_session_closing(g_s));
    /* In the shell: console.idle. */
    g_cfg.idle_s = 60;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\n", 1000);
    drain(g_s);
    con_session_poll(g_s, 50000);
    send_str(g_s, "v", 50000);
    con_session_poll(g_s, 110000);
    assert_int_equal(g_s->state, CON_SHELL);
    con_session_poll(g_s, 110001);
    assert_non_null(strstr(drain(g_s), "No input for 60 s; closing the session.\n"));
    assert_string_equal(g_s->close_reason, "idle timeout");
    /* console.idle=0: never. */
    g_cfg.idle_s = 0;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\n", 1);
    con_session_poll(g_s, 1000ULL * 86400 * 365);
    assert_int_equal(g_s->state, CON_SHELL);
}

static void test_exit(void **state)
{
    (void)state;
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "secret\r\n", 1);
    drain(g_s);
    send_str(g_s, "exit\r\n", 2);
    assert_string_equal(drain(g_s), "exit\nlogout\n");
    assert_true(con_session_closing(g_s));
    /* Ctrl-D at the password prompt closes too. */
    con_session_open(g_s, &g_env, PEER, 1, NULL, 0);
    send_str(g_s, "\x04", 1);
    assert_true(con_session_closing(g_s));
}

/* A VM console port: after the login the session runs its one command, and ends with it. */
static void test_autorun(void **state)
{
    (void)state;
    con_session_open(g_s, &g_env, PEER, 1, "follow", 0);
    assert_string_equal(drain(g_s), "\nPetrel test management console\nPassword: ");
    send_str(g_s, "secret\r\n", 1);
    assert_int_equal(g_s->state, CON_JOB);
    g_job_done = false;
    con_session_poll(g_s, 2);
    assert_string_equal(drain(g_s), "\nLogged in. Type 'help' for the commands.\ntick\n");
    send_str(g_s, "\x03", 3);
    assert_true(con_session_closing(g_s));
    assert_string_equal(g_s->close_reason, "its command ended");
    /* A command that is not allowed (read-only) or starts no job: the session just ends. */
    g_cfg.password.set = false;
    con_session_open(g_s, &g_env, PEER, 1, "reboot", 0);
    assert_non_null(strstr(drain(g_s), "error: 'reboot' is not allowed"));
    assert_true(con_session_closing(g_s));
    con_session_open(g_s, &g_env, PEER, 1, "version", 0);
    assert_true(con_session_closing(g_s));
    assert_string_equal(g_s->close_reason, "its command did not start");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_and_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_failures_and_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_editing_over_telnet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autorun, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
