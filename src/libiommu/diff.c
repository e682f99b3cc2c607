/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "diff.h"
#include "escape.h"

#define CONTEXT 3
/* Boot files have tens of lines; above this the LCS table would be too large, and the diff
 * shows the whole file replaced instead. */
#define LINES_MAX 2000

typedef struct Line {
        const char *s;
        size_t len; /* without the newline */
        bool newline;
} Line;

static size_t split_lines(const char *s, size_t n, Line **ret) {
        Line *l = NULL;
        size_t count = 0;

        for (size_t i = 0; i < n;) {
                const char *e = memchr(s + i, '\n', n - i);
                size_t len = e ? (size_t) (e - (s + i)) : n - i;
                Line *t = reallocarray(l, count + 1, sizeof(Line));
                if (!t) {
                        free(l);
                        *ret = NULL;
                        return SIZE_MAX;
                }
                l = t;
                l[count++] = (Line) { s + i, len, e != NULL };
                i += len + (e != NULL);
        }
        *ret = l;
        return count;
}

static bool line_eq(const Line *a, const Line *b) {
        return a->len == b->len && a->newline == b->newline && memcmp(a->s, b->s, a->len) == 0;
}

static void print_line(FILE *f, char sign, const Line *l) {
        fputc(sign, f);
        fwrite_escaped(l->s, l->len, f);
        fputc('\n', f);
        if (!l->newline)
                fputs("\\ No newline at end of file\n", f);
}

/* An edit script: op[i] is ' ', '-' or '+', with the line it refers to. */
typedef struct Op {
        char op;
        const Line *line;
        size_t ia, ib; /* positions in a and b before this op */
} Op;

void diff_unified(FILE *f, const char *label_a, const char *a, size_t na, const char *label_b, const char *b, size_t nb) {
        _cleanup_free_ Line *la = NULL, *lb = NULL;
        _cleanup_free_ uint32_t *lcs = NULL;
        _cleanup_free_ Op *ops = NULL;
        size_t n = split_lines(a, na, &la), m = split_lines(b, nb, &lb), n_ops = 0, i = 0, j = 0;
        bool table;

        if (n == SIZE_MAX || m == SIZE_MAX)
                return;
        if (na == nb && memcmp(a, b, na) == 0)
                return;
        ops = calloc(n + m + 1, sizeof(Op));
        if (!ops)
                return;
        table = n <= LINES_MAX && m <= LINES_MAX;
        if (table) {
                /* lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..]. */
                lcs = calloc((n + 1) * (m + 1), sizeof(uint32_t));
                if (!lcs)
                        return;
                for (size_t x = n; x-- > 0;)
                        for (size_t y = m; y-- > 0;)
                                lcs[x * (m + 1) + y] = line_eq(&la[x], &lb[y]) ? lcs[(x + 1) * (m + 1) + y + 1] + 1
                                        : lcs[(x + 1) * (m + 1) + y] > lcs[x * (m + 1) + y + 1] ? lcs[(x + 1) * (m + 1) + y]
                                        : lcs[x * (m + 1) + y + 1];
        }
        while (i < n || j < m) {
                if (table && i < n && j < m && line_eq(&la[i], &lb[j])) {
                        ops[n_ops++] = (Op) { ' ', &la[i], i, j };
                        i++, j++;
                } else if (i < n && (j >= m || !table || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) {
                        ops[n_ops++] = (Op) { '-', &la[i], i, j };
                        i++;
                } else {
                        ops[n_ops++] = (Op) { '+', &lb[j], i, j };
                        j++;
                }
        }

        fputs("--- ", f);
        fputs_escaped(label_a, f);
        fputs("\n+++ ", f);
        fputs_escaped(label_b, f);
        fputc('\n', f);
        for (size_t k = 0; k < n_ops;) {
                size_t start, end, last_change, ca = 0, cb = 0;

                if (ops[k].op == ' ') {
                        k++;
                        continue;
                }
                /* A hunk: up to CONTEXT lines before, changes joined while fewer than 2*CONTEXT
                 * equal lines separate them, CONTEXT lines after. */
                start = k >= CONTEXT ? k - CONTEXT : 0;
                while (start < k && ops[start].op != ' ')
                        start++;
                last_change = k;
                for (end = k; end < n_ops; end++) {
                        if (ops[end].op != ' ')
                                last_change = end;
                        else if (end - last_change > 2 * CONTEXT)
                                break;
                }
                end = last_change + CONTEXT + 1 < n_ops ? last_change + CONTEXT + 1 : n_ops;
                for (size_t x = start; x < end; x++) {
                        ca += ops[x].op != '+';
                        cb += ops[x].op != '-';
                }
                fprintf(f, "@@ -%zu,%zu +%zu,%zu @@\n", ca ? ops[start].ia + 1 : ops[start].ia, ca,
                        cb ? ops[start].ib + 1 : ops[start].ib, cb);
                for (size_t x = start; x < end; x++)
                        print_line(f, ops[x].op, ops[x].line);
                k = end;
        }
}
