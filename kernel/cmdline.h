/* Kernel command line: whitespace-separated `key=value` or bare `key` items; a value may be
 * double-quoted to hold spaces ("console.banner=hello world" style: key="a b"). */
#ifndef PETREL_CMDLINE_H
#define PETREL_CMDLINE_H

#include "types.h"

#define CMDLINE_KEY_MAX   48
#define CMDLINE_VALUE_MAX 256

struct cmdline_item {
    char key[CMDLINE_KEY_MAX];
    char value[CMDLINE_VALUE_MAX];
    bool has_value;
};

/* Reads the next item at *cursor into item and advances the cursor.
 * Returns 1 for an item, 0 at the end, or a negative error for a malformed item (the cursor
 * still moves past it so parsing can go on): -E2BIG for a key or value that is too long,
 * -EINVAL for an empty key or an unterminated quote. */
int cmdline_next(const char **cursor, struct cmdline_item *item);

/* A known key and what to do with its value. fn returns 0 or a negative error; msg (may be
 * left empty) explains a rejected value. */
struct cmdline_key {
    const char *name;
    const char *help;
    int (*fn)(const char *value, bool has_value, char *msg, size_t msglen);
};

/* Walks the whole line applying the keys in the table. Unknown keys, malformed items and
 * rejected values are reported through warn (one call each) and parsing continues.
 * Returns the number of problems reported. */
int cmdline_apply(const char *line, const struct cmdline_key *keys, size_t nkeys,
                  void (*warn)(const char *msg));

#endif
