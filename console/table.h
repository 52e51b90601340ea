/* Aligned table output for shell commands: fill the cells, then print with every column as
 * wide as its widest cell. The first row is the header. Pure (runs hosted). */
#ifndef PETREL_CON_TABLE_H
#define PETREL_CON_TABLE_H

#include "../kernel/types.h"

#define TABLE_COLS_MAX 10
#define TABLE_ROWS_MAX 65 /* the header and 64 rows; more are counted and reported */
#define TABLE_CELL_MAX 40 /* characters of one cell, longer text is cut */

struct shell;

struct table {
    size_t ncols;
    size_t nrows; /* header included */
    size_t more;  /* rows that did not fit */
    bool cur_ok;  /* the last table_row fit: table_set writes into it */
    bool right[TABLE_COLS_MAX];
    char cells[TABLE_ROWS_MAX][TABLE_COLS_MAX][TABLE_CELL_MAX];
};

/* Starts a table with ncols columns and the header cells (ncols strings). */
void table_init(struct table *t, size_t ncols, const char *const *header);
/* Right-aligns a column (numbers). */
void table_align_right(struct table *t, size_t col);
/* Starts a row; its cells are empty until set. -ENOSPC when the table is full (the row is
 * counted and table_set on it does nothing). */
int table_row(struct table *t);
void table_set(struct table *t, size_t col, const char *fmt, ...) PRINTF_FMT(3, 4);
/* Writes the table, one line per row ("\n"), no trailing spaces; a last line says how many
 * rows did not fit. */
void table_print(const struct table *t, void (*write)(void *ctx, const char *buf, size_t len),
                 void *ctx);
void table_print_shell(const struct table *t, struct shell *sh);

#endif
