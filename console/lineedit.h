/* The console's line editor: one line of input with echo, editing keys, history and command
 * completion, for a terminal that sends keystrokes one at a time (telnet in character mode).
 *
 * Keys: printable ASCII inserts at the cursor; Backspace/DEL deletes before it; Ctrl-D deletes
 * under it (or ends the session on an empty line); Ctrl-U kills to the start of the line, Ctrl-K
 * to its end, Ctrl-W the word before the cursor; Ctrl-C abandons the line; Left/Right (ESC [ D,
 * ESC [ C, or Ctrl-B/Ctrl-F), Home/End (Ctrl-A/Ctrl-E) move; Up/Down (or Ctrl-P/Ctrl-N) walk the
 * history; Tab completes the first word from the candidates a callback lists; Ctrl-L redraws.
 * Output ("\b" moves left, "\n" is a new line, "\a" the bell) goes through the write callback.
 * Pure: runs hosted for the unit tests. */
#ifndef PETREL_CON_LINEEDIT_H
#define PETREL_CON_LINEEDIT_H

#include "../kernel/types.h"

#define LE_LINE_MAX     255 /* characters in one line */
#define LE_HISTORY      16  /* lines remembered per session */
#define LE_PROMPT_MAX   32
#define LE_COMPLETE_MAX 128 /* candidates looked at by one Tab */

enum le_result {
    LE_NONE,    /* keep going */
    LE_LINE,    /* Enter: the line is in le.line */
    LE_EOF,     /* Ctrl-D on an empty line */
    LE_ABORT,   /* Ctrl-C: the line was abandoned */
    LE_TOOLONG, /* Enter after more than LE_LINE_MAX characters were typed: line discarded */
};

typedef void (*le_write_fn)(void *ctx, const char *buf, size_t len);
/* The i-th completion candidate (a command name), or NULL after the last one. */
typedef const char *(*le_candidate_fn)(void *ctx, size_t i);

struct le {
    char buf[LE_LINE_MAX + 1];
    size_t len;
    size_t cur;
    bool echo;
    bool overflow; /* characters were refused because the line was full */
    bool last_cr;  /* the previous key was CR: a LF right after it is the same Enter */
    uint8_t esc;   /* escape sequence parser state */
    uint8_t esc_param;
    uint16_t width; /* terminal columns, for the completion listing */
    char prompt[LE_PROMPT_MAX];
    char line[LE_LINE_MAX + 1]; /* the finished line after LE_LINE */
    char hist[LE_HISTORY][LE_LINE_MAX + 1];
    size_t hist_count;           /* lines held */
    size_t hist_next;            /* slot the next line goes to */
    size_t hist_pos;             /* 0: the line being typed; k: the k-th most recent history line */
    char saved[LE_LINE_MAX + 1]; /* the line being typed while the history is browsed */
    le_write_fn write;
    void *ctx;
    le_candidate_fn candidate;
    void *candidate_ctx;
};

void le_init(struct le *le, le_write_fn write, void *ctx);
void le_set_completion(struct le *le, le_candidate_fn fn, void *ctx);
void le_set_width(struct le *le, unsigned width);
/* Starts a new line: prints the prompt. With echo off (passwords) typed characters are not
 * shown and the line does not go into the history. */
void le_begin(struct le *le, const char *prompt, bool echo);
/* Handles one input byte. */
enum le_result le_key(struct le *le, uint8_t c);
/* Prints the prompt and the line again, the cursor where it was (after other output). */
void le_redraw(struct le *le);
/* The i-th most recent history line (0 = newest) or NULL. */
const char *le_history(const struct le *le, size_t i);

#endif
