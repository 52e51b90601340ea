/* Aligned table output (see table.h). */
#include "table.h"
#include "shell.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"

void table_init(struct table *t, size_t ncols, const char *const *header)
{
    t->ncols = MIN(ncols, (size_t)TABLE_COLS_MAX);
    t->nrows = 1;
    t->more = 0;
    t->cur_ok = false;
    for (size_t c = 0; c < TABLE_COLS_MAX; c++) {
        t->right[c] = false;
        str_copy(t->cells[0][c], c < t->ncols ? header[c] : "", TABLE_CELL_MAX);
    }
}

void table_align_right(struct table *t, size_t col)
{
    if (col < t->ncols) {
        t->right[col] = true;
    }
}

int table_row(struct table *t)
{
    if (t->nrows >= TABLE_ROWS_MAX) {
        t->more++;
        t->cur_ok = false;
        return -ENOSPC;
    }
    for (size_t c = 0; c < TABLE_COLS_MAX; c++) {
        t->cells[t->nrows][c][0] = '\0';
    }
    t->nrows++;
    t->cur_ok = true;
    return 0;
}

void table_set(struct table *t, size_t col, const char *fmt, ...)
{
    va_list ap;

    if (!t->cur_ok || col >= t->ncols) {
        return;
    }
    va_start(ap, fmt);
    fmt_vsnprintf(t->cells[t->nrows - 1][col], TABLE_CELL_MAX, fmt, ap);
    va_end(ap);
}

void table_print(const struct table *t, void (*write)(void *ctx, const char *buf, size_t len),
                 void *ctx)
{
    size_t width[TABLE_COLS_MAX] = {0};
    static const char spaces[] = "                                        ";
    char line[TABLE_COLS_MAX * (TABLE_CELL_MAX + 2) + 2];

    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            width[c] = MAX(width[c], strlen(t->cells[r][c]));
        }
    }
    for (size_t r = 0; r < t->nrows; r++) {
        size_t n = 0;
        size_t end;

        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r][c];
            size_t len = strlen(cell);
            size_t pad = width[c] - len;

            if (c > 0) {
                memcpy(line + n, "  ", 2);
                n += 2;
            }
            if (t->right[c]) {
                memcpy(line + n, spaces, pad);
                n += pad;
            }
            memcpy(line + n, cell, len);
            n += len;
            if (!t->right[c]) {
                memcpy(line + n, spaces, pad);
                n += pad;
            }
        }
        end = n;
        while (end > 0 && line[end - 1] == ' ') {
            end--;
        }
        line[end++] = '\n';
        write(ctx, line, end);
    }
    if (t->more > 0) {
        int n = fmt_snprintf(line, sizeof(line), "(%zu more row%s not shown)\n", t->more,
                             t->more == 1 ? "" : "s");

        write(ctx, line, (size_t)MIN((size_t)n, sizeof(line) - 1));
    }
}

static void shell_sink(void *ctx, const char *buf, size_t len)
{
    shell_write(ctx, buf, len);
}

void table_print_shell(const struct table *t, struct shell *sh)
{
    table_print(t, shell_sink, sh);
}
