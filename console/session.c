/* A console session: login, line editing and the shell over telnet (see session.h). */
#include "session.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"
#include "../kernel/log.h"
#include "../netstack/netaddr.h"

#define PROMPT_ADMIN    "petrel> "
#define PROMPT_READONLY "petrel(ro)> "
#define PROMPT_PASSWORD "Password: "

static void tn_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct con_session *s = ctx;

    /* Telnet commands go out unescaped, and whole or not at all. */
    (void)outq_put(&s->out, buf, len);
}

void con_session_write(struct con_session *s, const char *buf, size_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint8_t enc[256];

    while (len > 0) {
        size_t outlen;
        size_t used = tn_encode(p, len, enc, sizeof(enc), &outlen);

        (void)outq_put(&s->out, enc, outlen);
        p += used;
        len -= used;
    }
}

static void le_sink(void *ctx, const char *buf, size_t len)
{
    con_session_write(ctx, buf, len);
}

static void sh_write(void *ctx, const char *buf, size_t len)
{
    con_session_write(ctx, buf, len);
}

/* Jobs may fill the queue only up to the input reserve (see CON_INPUT_RESERVE); escaping can
 * double their text, so they get half. */
static size_t sh_room(void *ctx)
{
    struct con_session *s = ctx;
    size_t room = outq_room(&s->out);

    return room > CON_INPUT_RESERVE ? (room - CON_INPUT_RESERVE) / 2 : 0;
}

static void say(struct con_session *s, const char *text)
{
    con_session_write(s, text, strlen(text));
}

static void sayf(struct con_session *s, const char *fmt, ...) PRINTF_FMT(2, 3);
static void sayf(struct con_session *s, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    con_session_write(s, buf, (size_t)MIN((size_t)MAX(n, 0), sizeof(buf) - 1));
}

const char *con_state_name(enum con_state st)
{
    switch (st) {
    case CON_LOGIN:
        return "login";
    case CON_WAIT:
        return "wait";
    case CON_SHELL:
        return "shell";
    case CON_JOB:
        return "job";
    case CON_CLOSING:
        return "closing";
    }
    return "?";
}

void con_session_close(struct con_session *s, const char *reason)
{
    if (s->state == CON_CLOSING) {
        return;
    }
    shell_end_job(&s->sh);
    s->state = CON_CLOSING;
    str_copy(s->close_reason, reason, sizeof(s->close_reason));
}

bool con_session_closing(const struct con_session *s)
{
    return s->state == CON_CLOSING;
}

static void prompt_password(struct con_session *s, uint64_t now_ms)
{
    s->state = CON_LOGIN;
    s->prompt_ms = now_ms;
    le_begin(&s->le, PROMPT_PASSWORD, false);
}

static void prompt_shell(struct con_session *s)
{
    s->state = CON_SHELL;
    le_begin(&s->le, s->admin ? PROMPT_ADMIN : PROMPT_READONLY, true);
}

static void start_shell(struct con_session *s, bool admin)
{
    struct shell_io io = {sh_write, sh_room, s};

    s->admin = admin;
    shell_init(&s->sh, &io, admin, s);
    if (s->autorun[0] == '\0') {
        prompt_shell(s);
        return;
    }
    /* A console port: its one command (in the line buffer, which the tokenizer splits in
     * place), and the session ends with it. */
    str_copy(s->le.line, s->autorun, sizeof(s->le.line));
    shell_exec(&s->sh, s->le.line);
    if (s->sh.job == NULL) {
        con_session_close(s, "its command did not start");
        return;
    }
    s->state = CON_JOB;
}

/* Waits until `until` before the next password prompt (or the close). */
static void wait_until(struct con_session *s, uint64_t until)
{
    s->state = CON_WAIT;
    s->wait_until_ms = until;
}

void con_session_open(struct con_session *s, const struct con_env *env, uint32_t ip, uint16_t port,
                      const char *autorun, uint64_t now_ms)
{
    char addr[NETADDR_STR_MAX];

    memset(s, 0, sizeof(*s));
    s->env = env;
    s->peer_ip = ip;
    s->peer_port = port;
    s->opened_ms = now_ms;
    s->last_input_ms = now_ms;
    netaddr_format(ip, addr, sizeof(addr));
    fmt_snprintf(s->peer, sizeof(s->peer), "%s:%u", addr, port);
    if (autorun != NULL) {
        str_copy(s->autorun, autorun, sizeof(s->autorun));
    }
    outq_init(&s->out, s->outbuf, sizeof(s->outbuf));
    tn_init(&s->tn, tn_send, s);
    le_init(&s->le, le_sink, s);
    le_set_completion(&s->le, shell_candidate, &s->sh);
    tn_start(&s->tn);
    sayf(s, "\n%s management console\n", env->banner);

    if (!env->cfg->password.set) {
        say(s, "No console password is set (console.password=sha256:SALT:HASH, made with "
               "tools/mkpasswd):\nthis session is read-only.\n");
        LOG_INFO(CONSOLE, "session from %s: read-only (no password set)", s->peer);
        start_shell(s, false);
        return;
    }
    {
        uint64_t wait = auth_limit_wait(env->limiter, ip, now_ms);

        if (wait > 0) {
            sayf(s, "Too many failed logins from %s: wait %llu s.\n", addr,
                 (unsigned long long)((wait + 999) / 1000));
            LOG_WARN(CONSOLE, "session from %s: delayed %llu ms (earlier failed logins)", s->peer,
                     (unsigned long long)wait);
            wait_until(s, now_ms + wait);
            return;
        }
    }
    prompt_password(s, now_ms);
}

static void login_failed(struct con_session *s, uint64_t now_ms)
{
    uint64_t delay = 0;
    uint32_t recent = auth_limit_fail(s->env->limiter, s->peer_ip, now_ms, &delay);

    s->failures++;
    LOG_WARN(CONSOLE, "failed login from %s (%u in this session, %u recent from this address)",
             s->peer, s->failures, recent);
    if (delay > 0) {
        LOG_WARN(CONSOLE, "rate limiting %s: its next login attempt waits %llu ms", s->peer,
                 (unsigned long long)delay);
    }
    say(s, "Login incorrect.\n");
    if (s->failures >= CON_MAX_FAILURES) {
        say(s, "Too many failures; closing the connection.\n");
        con_session_close(s, "too many failed logins");
        return;
    }
    if (delay > 0) {
        wait_until(s, now_ms + delay);
        return;
    }
    prompt_password(s, now_ms);
}

static void login_line(struct con_session *s, enum le_result r, uint64_t now_ms)
{
    switch (r) {
    case LE_LINE:
        if (auth_check(&s->env->cfg->password, s->le.line)) {
            memset(s->le.line, 0, sizeof(s->le.line));
            auth_limit_success(s->env->limiter, s->peer_ip);
            LOG_INFO(CONSOLE, "login from %s", s->peer);
            say(s, "Logged in. Type 'help' for the commands.\n");
            start_shell(s, true);
            return;
        }
        memset(s->le.line, 0, sizeof(s->le.line));
        login_failed(s, now_ms);
        return;
    case LE_TOOLONG:
        login_failed(s, now_ms);
        return;
    case LE_EOF:
        say(s, "\n");
        con_session_close(s, "logout at the password prompt");
        return;
    case LE_ABORT:
        prompt_password(s, now_ms);
        return;
    case LE_NONE:
        return;
    }
}

static void job_ended(struct con_session *s)
{
    shell_end_job(&s->sh);
    if (s->state == CON_CLOSING) {
        return;
    }
    if (s->autorun[0] != '\0') {
        con_session_close(s, "its command ended");
        return;
    }
    prompt_shell(s);
}

static void shell_line(struct con_session *s, enum le_result r)
{
    switch (r) {
    case LE_LINE:
        shell_exec(&s->sh, s->le.line);
        if (s->sh.want_close) {
            say(s, "logout\n");
            con_session_close(s, "exit");
            return;
        }
        if (s->sh.job != NULL) {
            s->state = CON_JOB;
            return;
        }
        prompt_shell(s);
        return;
    case LE_TOOLONG:
        sayf(s, "error: line longer than %d characters; ignored\n", LE_LINE_MAX);
        prompt_shell(s);
        return;
    case LE_EOF:
        say(s, "logout\n");
        con_session_close(s, "logout (Ctrl-D)");
        return;
    case LE_ABORT:
        prompt_shell(s);
        return;
    case LE_NONE:
        return;
    }
}

static void data_byte(struct con_session *s, uint8_t c, uint64_t now_ms)
{
    const struct shell_job *job;

    switch (s->state) {
    case CON_LOGIN:
        login_line(s, le_key(&s->le, c), now_ms);
        return;
    case CON_SHELL:
        shell_line(s, le_key(&s->le, c));
        return;
    case CON_JOB:
        job = s->sh.job;
        if (job == NULL) {
            prompt_shell(s);
            return;
        }
        if (job->input != NULL ? !job->input(&s->sh, c) : c == TN_CTRL_C) {
            if (c == TN_CTRL_C) {
                say(s, "^C\n");
            }
            job_ended(s);
        }
        return;
    case CON_WAIT:
    case CON_CLOSING:
        return; /* typed ahead during a wait, or after the end: discarded */
    }
}

size_t con_session_input(struct con_session *s, const uint8_t *data, size_t len, uint64_t now_ms)
{
    size_t i;

    if (s->state == CON_CLOSING) {
        return len;
    }
    for (i = 0; i < len; i++) {
        int r;

        if (s->state == CON_CLOSING) {
            return len;
        }
        if (outq_room(&s->out) < CON_INPUT_RESERVE) {
            break;
        }
        r = tn_rx(&s->tn, data[i]);
        if (r == TN_EV_WINDOW) {
            le_set_width(&s->le, s->tn.width);
        } else if (r >= 0) {
            data_byte(s, (uint8_t)r, now_ms);
        }
    }
    if (i > 0) {
        s->last_input_ms = now_ms;
        s->rx_bytes += i;
    }
    return i;
}

void con_session_poll(struct con_session *s, uint64_t now_ms)
{
    uint64_t idle_ms = (uint64_t)s->env->cfg->idle_s * 1000;

    switch (s->state) {
    case CON_WAIT:
        if (now_ms >= s->wait_until_ms) {
            prompt_password(s, now_ms);
        }
        return;
    case CON_LOGIN:
        if (now_ms - MAX(s->prompt_ms, s->last_input_ms) > CON_LOGIN_TIMEOUT_MS) {
            say(s, "\nLogin timed out.\n");
            con_session_close(s, "login timed out");
        }
        return;
    case CON_JOB:
        if (s->sh.job != NULL && s->sh.job->poll != NULL && !s->sh.job->poll(&s->sh, now_ms)) {
            job_ended(s);
        } else if (s->sh.job == NULL) {
            job_ended(s);
        }
        break;
    case CON_SHELL:
        break;
    case CON_CLOSING:
        return;
    }
    if (idle_ms > 0 && now_ms - s->last_input_ms > idle_ms) {
        sayf(s, "\nNo input for %u s; closing the session.\n", s->env->cfg->idle_s);
        con_session_close(s, "idle timeout");
    }
}
