/* The console line editor (see lineedit.h). */
#include "lineedit.h"
#include "../kernel/lib.h"

enum {
    ESC_NONE,
    ESC_START, /* after ESC */
    ESC_CSI,   /* after ESC [ */
    ESC_SS3,   /* after ESC O */
};

#define KEY_CTRL(c) ((c)&0x1f)
#define KEY_DEL     0x7f
#define KEY_ESC     0x1b

static const char spaces[] = "                                ";
static const char backs[] = "\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b";

void le_init(struct le *le, le_write_fn write, void *ctx)
{
    memset(le, 0, sizeof(*le));
    le->write = write;
    le->ctx = ctx;
    le->width = 80;
    le->echo = true;
}

void le_set_completion(struct le *le, le_candidate_fn fn, void *ctx)
{
    le->candidate = fn;
    le->candidate_ctx = ctx;
}

void le_set_width(struct le *le, unsigned width)
{
    /* NAWS may say 0 (unknown) or something absurd: keep the listing sane. */
    le->width = (uint16_t)(width >= 20 && width <= 1000 ? width : 80);
}

static void out(struct le *le, const char *s, size_t n)
{
    if (n > 0) {
        le->write(le->ctx, s, n);
    }
}

static void outs(struct le *le, const char *s)
{
    out(le, s, strlen(s));
}

/* Repeats a character from a run of them (spaces or backspaces) n times. */
static void repeat(struct le *le, const char *run, size_t runlen, size_t n)
{
    while (n > 0) {
        size_t k = MIN(n, runlen);

        out(le, run, k);
        n -= k;
    }
}

static void back(struct le *le, size_t n)
{
    repeat(le, backs, sizeof(backs) - 1, n);
}

static void blank(struct le *le, size_t n)
{
    repeat(le, spaces, sizeof(spaces) - 1, n);
}

void le_begin(struct le *le, const char *prompt, bool echo)
{
    str_copy(le->prompt, prompt, sizeof(le->prompt));
    le->len = 0;
    le->cur = 0;
    le->buf[0] = '\0';
    le->echo = echo;
    le->overflow = false;
    le->esc = ESC_NONE;
    le->hist_pos = 0;
    outs(le, le->prompt);
}

void le_redraw(struct le *le)
{
    outs(le, le->prompt);
    if (le->echo) {
        out(le, le->buf, le->len);
        back(le, le->len - le->cur);
    }
}

/* Inserts n characters at the cursor (as many as fit; the rest set the overflow flag). */
static void insert(struct le *le, const char *s, size_t n)
{
    if (le->len + n > LE_LINE_MAX) {
        if (!le->overflow && le->echo) {
            outs(le, "\a");
        }
        le->overflow = true;
        n = LE_LINE_MAX - le->len;
    }
    if (n == 0) {
        return;
    }
    memmove(le->buf + le->cur + n, le->buf + le->cur, le->len - le->cur);
    memcpy(le->buf + le->cur, s, n);
    le->len += n;
    le->buf[le->len] = '\0';
    if (le->echo) {
        out(le, le->buf + le->cur, le->len - le->cur);
        back(le, le->len - le->cur - n);
    }
    le->cur += n;
}

/* Deletes buf[from, to) and leaves the cursor at `from`; the screen follows. */
static void delete_range(struct le *le, size_t from, size_t to)
{
    size_t n = to - from;

    if (n == 0) {
        return;
    }
    if (le->echo) {
        back(le, le->cur - from);
    }
    memmove(le->buf + from, le->buf + to, le->len - to);
    le->len -= n;
    le->buf[le->len] = '\0';
    le->cur = from;
    if (le->echo) {
        out(le, le->buf + from, le->len - from);
        blank(le, n);
        back(le, le->len - from + n);
    }
}

static void move_to(struct le *le, size_t pos)
{
    if (pos < le->cur) {
        if (le->echo) {
            back(le, le->cur - pos);
        }
    } else if (pos > le->cur && le->echo) {
        out(le, le->buf + le->cur, pos - le->cur);
    }
    le->cur = pos;
}

/* Replaces the whole line (history browsing) and puts the cursor at its end. */
static void replace_line(struct le *le, const char *text)
{
    size_t old = le->len;
    size_t n = strnlen(text, LE_LINE_MAX);

    if (le->echo) {
        back(le, le->cur);
    }
    memcpy(le->buf, text, n);
    le->buf[n] = '\0';
    le->len = n;
    le->cur = n;
    if (le->echo) {
        out(le, le->buf, n);
        if (old > n) {
            blank(le, old - n);
            back(le, old - n);
        }
    }
}

const char *le_history(const struct le *le, size_t i)
{
    if (i >= le->hist_count) {
        return NULL;
    }
    return le->hist[(le->hist_next + LE_HISTORY - 1 - i) % LE_HISTORY];
}

static void history_add(struct le *le, const char *line)
{
    const char *last = le_history(le, 0);

    if (line[0] == '\0' || (last != NULL && strcmp(last, line) == 0)) {
        return;
    }
    str_copy(le->hist[le->hist_next], line, sizeof(le->hist[0]));
    le->hist_next = (le->hist_next + 1) % LE_HISTORY;
    if (le->hist_count < LE_HISTORY) {
        le->hist_count++;
    }
}

static void history_move(struct le *le, bool older)
{
    size_t pos = le->hist_pos;

    if (!le->echo) {
        return; /* no history at a password prompt */
    }
    if (older) {
        if (pos >= le->hist_count) {
            outs(le, "\a");
            return;
        }
        if (pos == 0) {
            str_copy(le->saved, le->buf, sizeof(le->saved));
        }
        pos++;
    } else {
        if (pos == 0) {
            outs(le, "\a");
            return;
        }
        pos--;
    }
    le->hist_pos = pos;
    replace_line(le, pos == 0 ? le->saved : le_history(le, pos - 1));
}

static bool is_space(char c)
{
    return c == ' ';
}

static void kill_word(struct le *le)
{
    size_t i = le->cur;

    while (i > 0 && is_space(le->buf[i - 1])) {
        i--;
    }
    while (i > 0 && !is_space(le->buf[i - 1])) {
        i--;
    }
    delete_range(le, i, le->cur);
}

/* Tab: completes the first word (the cursor must be in it, with nothing but the word before
 * it) from the candidates. One match is completed with a space after it; several are
 * completed to their common prefix, or listed when that adds nothing. */
static void complete(struct le *le)
{
    const char *first = NULL;
    size_t matches = 0;
    size_t common = 0;
    size_t word = le->cur;

    if (!le->echo) {
        return; /* a password prompt completes nothing, and says nothing about it */
    }
    for (size_t i = 0; i < word; i++) {
        if (is_space(le->buf[i])) {
            outs(le, "\a");
            return;
        }
    }
    if (le->candidate == NULL) {
        outs(le, "\a");
        return;
    }
    for (size_t i = 0; i < LE_COMPLETE_MAX; i++) {
        const char *c = le->candidate(le->candidate_ctx, i);
        size_t k = 0;

        if (c == NULL) {
            break;
        }
        if (strncmp(c, le->buf, word) != 0) {
            continue;
        }
        if (matches == 0) {
            first = c;
            common = strlen(c);
        } else {
            while (k < common && c[k] == first[k]) {
                k++;
            }
            common = k;
        }
        matches++;
    }
    if (matches == 0) {
        outs(le, "\a");
        return;
    }
    if (common > word) {
        insert(le, first + word, common - word);
        if (matches == 1 && le->buf[le->cur] != ' ') {
            insert(le, " ", 1);
        }
        return;
    }
    if (matches == 1) {
        if (le->buf[le->cur] != ' ') {
            insert(le, " ", 1);
        }
        return;
    }
    /* Ambiguous: list them in columns, then the prompt and line again. */
    {
        size_t col = 0;
        size_t colw = 0;

        for (size_t i = 0; i < LE_COMPLETE_MAX; i++) {
            const char *c = le->candidate(le->candidate_ctx, i);

            if (c == NULL) {
                break;
            }
            if (strncmp(c, le->buf, word) == 0) {
                colw = MAX(colw, strlen(c) + 2);
            }
        }
        outs(le, "\n");
        for (size_t i = 0; i < LE_COMPLETE_MAX; i++) {
            const char *c = le->candidate(le->candidate_ctx, i);
            size_t n;

            if (c == NULL) {
                break;
            }
            if (strncmp(c, le->buf, word) != 0) {
                continue;
            }
            n = strlen(c);
            if (col > 0 && col + colw > le->width) {
                outs(le, "\n");
                col = 0;
            }
            out(le, c, n);
            blank(le, colw - n);
            col += colw;
        }
        outs(le, "\n");
        le_redraw(le);
    }
}

static enum le_result enter(struct le *le)
{
    bool overflow = le->overflow;

    memcpy(le->line, le->buf, le->len + 1);
    outs(le, "\n");
    if (le->echo && !overflow) {
        history_add(le, le->line);
    }
    le->len = 0;
    le->cur = 0;
    le->buf[0] = '\0';
    le->overflow = false;
    le->hist_pos = 0;
    if (overflow) {
        le->line[0] = '\0';
        return LE_TOOLONG;
    }
    return LE_LINE;
}

/* The final byte of an escape sequence: arrows, Home, End, Delete. */
static void escape_final(struct le *le, uint8_t c)
{
    switch (c) {
    case 'A':
        history_move(le, true);
        break;
    case 'B':
        history_move(le, false);
        break;
    case 'C':
        if (le->cur < le->len) {
            move_to(le, le->cur + 1);
        }
        break;
    case 'D':
        if (le->cur > 0) {
            move_to(le, le->cur - 1);
        }
        break;
    case 'H':
        move_to(le, 0);
        break;
    case 'F':
        move_to(le, le->len);
        break;
    case '~':
        if (le->esc_param == 1 || le->esc_param == 7) {
            move_to(le, 0);
        } else if (le->esc_param == 4 || le->esc_param == 8) {
            move_to(le, le->len);
        } else if (le->esc_param == 3 && le->cur < le->len) {
            delete_range(le, le->cur, le->cur + 1);
        }
        break;
    default:
        break; /* function keys and the like: ignored */
    }
}

/* Feeds a byte to the escape parser; returns true when it was part of a sequence. */
static bool escape(struct le *le, uint8_t c)
{
    switch (le->esc) {
    case ESC_START:
        le->esc_param = 0;
        le->esc = c == '[' ? ESC_CSI : (c == 'O' ? ESC_SS3 : ESC_NONE);
        return true; /* ESC x (Alt-x) is swallowed */
    case ESC_CSI:
        if (c >= '0' && c <= '9') {
            /* Only small parameters mean anything here; saturate the rest. */
            le->esc_param = (uint8_t)MIN(le->esc_param * 10 + (c - '0'), 99);
            return true;
        }
        if (c == ';') {
            return true;
        }
        le->esc = ESC_NONE;
        if (c >= 0x40 && c <= 0x7e) {
            escape_final(le, c);
            return true;
        }
        return false; /* a broken sequence: the byte is a key of its own */
    case ESC_SS3:
        le->esc = ESC_NONE;
        escape_final(le, c);
        return true;
    default:
        return false;
    }
}

enum le_result le_key(struct le *le, uint8_t c)
{
    bool after_cr = le->last_cr;

    le->last_cr = c == '\r';
    if (le->esc != ESC_NONE && escape(le, c)) {
        return LE_NONE;
    }
    if (c >= 0x20 && c < KEY_DEL) {
        char ch = (char)c;

        insert(le, &ch, 1);
        return LE_NONE;
    }
    switch (c) {
    case '\r':
        return enter(le);
    case '\n':
        return after_cr ? LE_NONE : enter(le);
    case KEY_ESC:
        le->esc = ESC_START;
        break;
    case KEY_DEL:
    case '\b':
        if (le->cur > 0) {
            delete_range(le, le->cur - 1, le->cur);
        }
        break;
    case KEY_CTRL('D'):
        if (le->len == 0) {
            return LE_EOF;
        }
        if (le->cur < le->len) {
            delete_range(le, le->cur, le->cur + 1);
        }
        break;
    case KEY_CTRL('C'):
        outs(le, "^C\n");
        le->len = 0;
        le->cur = 0;
        le->buf[0] = '\0';
        le->overflow = false;
        le->hist_pos = 0;
        return LE_ABORT;
    case KEY_CTRL('U'):
        delete_range(le, 0, le->cur);
        break;
    case KEY_CTRL('K'):
        if (le->echo) {
            blank(le, le->len - le->cur);
            back(le, le->len - le->cur);
        }
        le->len = le->cur;
        le->buf[le->len] = '\0';
        break;
    case KEY_CTRL('W'):
        kill_word(le);
        break;
    case KEY_CTRL('A'):
        move_to(le, 0);
        break;
    case KEY_CTRL('E'):
        move_to(le, le->len);
        break;
    case KEY_CTRL('B'):
        escape_final(le, 'D');
        break;
    case KEY_CTRL('F'):
        escape_final(le, 'C');
        break;
    case KEY_CTRL('P'):
        history_move(le, true);
        break;
    case KEY_CTRL('N'):
        history_move(le, false);
        break;
    case KEY_CTRL('L'):
        outs(le, "\n");
        le_redraw(le);
        break;
    case '\t':
        complete(le);
        break;
    default:
        break; /* other control bytes and bytes above 127 are ignored */
    }
    return LE_NONE;
}
