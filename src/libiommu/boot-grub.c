/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "boot-grub.h"
#include "fileio.h"
#include "log.h"
#include "spawn.h"
#include "strv.h"

/* In a decoded value, ESC starts a two-byte sequence: ESC 'S' stands for "$NAME" (the variable
 * being assigned) and ESC ESC for a literal ESC byte in the file, so no byte of the file can be
 * mistaken for the reference. */
#define ESC '\001'
#define SELF_REF 'S'


static const char * const grub_vars[] = { "GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT" };

typedef struct Assignment {
        const char *name;  /* one of grub_vars */
        unsigned line;
        size_t word_start, word_end;
        char *value;       /* decoded, SELF_REF for "$NAME" */
        bool single_quoted;
        bool self_ref;
} Assignment;

typedef struct AssignmentList {
        Assignment *items;
        size_t n;
} AssignmentList;

static void assignment_list_done(AssignmentList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].value);
        free(l->items);
        *l = (AssignmentList) {};
}

static bool is_name_start(char c) {
        return c == '_' || isalpha((unsigned char) c);
}
static bool is_name_char(char c) {
        return c == '_' || isalnum((unsigned char) c);
}
static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Whether the word appears on its own ("if a; then b; fi" closes what it opens). */
static bool line_has_word(const char *s, size_t n, const char *word) {
        size_t l = strlen(word);

        for (size_t i = 0; i + l <= n; i++)
                if (strneq(s + i, word, l) && (i == 0 || strchr(" \t;&|", s[i - 1])) &&
                    (i + l == n || strchr(" \t;&|\n", s[i + l])))
                        return true;
        return false;
}

static bool mentions_grub_var(const char *s, size_t n) {
        return memmem(s, n, "GRUB_CMDLINE_LINUX", strlen("GRUB_CMDLINE_LINUX")) != NULL;
}

static int value_push_raw(char **v, size_t *n, char c) {
        char *t = realloc(*v, *n + 2);
        if (!t)
                return -ENOMEM;
        t[(*n)++] = c;
        t[*n] = '\0';
        *v = t;
        return 0;
}

/* A byte of the file. */
static int value_push(char **v, size_t *n, char c) {
        if (c == ESC && value_push_raw(v, n, ESC) < 0)
                return -ENOMEM;
        return value_push_raw(v, n, c);
}

/* Reads "$NAME" or "${NAME}" at s[*p] (which is '$'). Only a reference to the variable being
 * assigned is allowed. Returns 0 and advances *p, or a static reason. */
static const char *read_var_ref(const char *s, size_t end, size_t *p, const char *self) {
        size_t q = *p + 1, ns, ne;
        bool brace = q < end && s[q] == '{';

        if (q < end && s[q] == '(')
                return "command substitution";
        if (brace)
                q++;
        ns = q;
        if (q >= end || !is_name_start(s[q]))
                return "a '$' that is not a plain variable reference";
        while (q < end && is_name_char(s[q]))
                q++;
        ne = q;
        if (brace) {
                if (q >= end || s[q] != '}')
                        return "a parameter expansion other than ${NAME}";
                q++;
        }
        if (ne - ns != strlen(self) || !strneq(s + ns, self, ne - ns))
                return "a reference to another variable";
        *p = q;
        return NULL;
}

/* A "$NAME" reference to the variable being assigned, quoted or not: kept in the value as a
 * SELF_REF marker. Returns NULL, or why the reference cannot be rewritten. */
static const char *take_self_ref(const char *s, size_t end, size_t *p, Assignment *a, char **v, size_t *n, int *error) {
        const char *why = read_var_ref(s, end, p, a->name);

        if (why)
                return why;
        a->self_ref = true;
        if (value_push_raw(v, n, ESC) < 0 || value_push_raw(v, n, SELF_REF) < 0)
                return *error = -ENOMEM, "";
        return NULL;
}

/* Decodes the word of "NAME=word" starting at s[p], up to end (the end of the logical line).
 * On success sets a->value, a->word_end, a->single_quoted, a->self_ref and returns NULL;
 * otherwise returns why the word cannot be rewritten. */
static const char *decode_word(const char *s, size_t p, size_t end, Assignment *a, int *error) {
        _cleanup_free_ char *v = NULL;
        size_t n = 0, segments = 0;
        bool only_squote = true;

        if (value_push(&v, &n, '\0') < 0) /* an empty, allocated value */
                return *error = -ENOMEM, "";
        n = 0;
        while (p < end && !is_blank(s[p]) && s[p] != '\n') {
                char c = s[p];
                const char *why;

                segments++;
                if (c == '\'') {
                        size_t q = p + 1;
                        while (q < end && s[q] != '\'')
                                if (value_push(&v, &n, s[q++]) < 0)
                                        return *error = -ENOMEM, "";
                        p = q + 1;
                        continue;
                }
                only_squote = false;
                if (c == '"') {
                        p++;
                        while (p < end && s[p] != '"') {
                                if (s[p] == '\\' && p + 1 < end && strchr("$`\"\\\n", s[p + 1])) {
                                        if (s[p + 1] != '\n' && value_push(&v, &n, s[p + 1]) < 0)
                                                return *error = -ENOMEM, "";
                                        p += 2;
                                } else if (s[p] == '`')
                                        return "command substitution";
                                else if (s[p] == '$') {
                                        why = take_self_ref(s, end, &p, a, &v, &n, error);
                                        if (why)
                                                return why;
                                } else if (value_push(&v, &n, s[p++]) < 0)
                                        return *error = -ENOMEM, "";
                        }
                        p++;
                } else if (c == '\\') {
                        if (p + 1 >= end)
                                return "a backslash at the end of the file, with no newline after it";
                        if (s[p + 1] != '\n' && value_push(&v, &n, s[p + 1]) < 0)
                                return *error = -ENOMEM, "";
                        p += 2;
                } else if (c == '`')
                        return "command substitution";
                else if (c == '$') {
                        why = take_self_ref(s, end, &p, a, &v, &n, error);
                        if (why)
                                return why;
                } else if (strchr(";&|<>(){}*?[", c))
                        return "shell syntax other than a plain assignment";
                else {
                        if (value_push(&v, &n, c) < 0)
                                return *error = -ENOMEM, "";
                        p++;
                }
        }
        /* Only blanks and a comment may follow. */
        for (size_t q = p; q < end && s[q] != '\n'; q++) {
                if (s[q] == '#')
                        break;
                if (!is_blank(s[q]))
                        return "more than one word (a command, not a plain assignment)";
        }
        a->word_end = p;
        a->single_quoted = only_squote && segments == 1;
        a->value = TAKE_PTR(v);
        return NULL;
}

/* Splits the text into logical lines as sh does (quotes and backslash-newline join physical
 * lines) and collects the assignments of grub_vars. */
static int parse_assignments(const char *path, const char *s, AssignmentList *ret, unsigned *ret_override_line,
                             bool *ret_unclosed) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        size_t len = strlen(s), p = 0;
        unsigned lineno = 1, override_line = 0;
        int depth = 0, blocks = 0;
        bool heredoc_open = false; /* a here-document not closed by the end of the file */

        while (p < len) {
                size_t start = p, q, end;
                unsigned start_line = lineno;
                int state = 0; /* 0 unquoted, 1 '...', 2 "..." */
                bool complex = false;
                const char *why = NULL;

                for (; p < len; p++) {
                        char c = s[p];
                        if (c == '\n')
                                lineno++;
                        if (state == 1) {
                                if (c == '\'')
                                        state = 0;
                                continue;
                        }
                        if (c == '\\') {
                                if (p + 1 >= len)
                                        return log_error_errno(-EINVAL, "%s:%u: ends in a backslash with no newline after it; "
                                                               "nothing was changed.", path, lineno);
                                if (s[p + 1] == '\n')
                                        lineno++;
                                p++;
                                continue;
                        }
                        if (state == 2) {
                                if (c == '"')
                                        state = 0;
                                continue;
                        }
                        if (c == '\n') {
                                p++;
                                break;
                        }
                        if (c == '\'')
                                state = 1;
                        else if (c == '"')
                                state = 2;
                        else if (c == '#' && (p == start || is_blank(s[p - 1]) || s[p - 1] == ';')) {
                                while (p + 1 < len && s[p + 1] != '\n')
                                        p++;
                        } else if (strchr(";&|", c))
                                complex = true;
                        else if (c == '(' && !(p > 0 && s[p - 1] == '$'))
                                blocks++; /* a subshell, or a function's "()" */
                        else if (c == ')')
                                blocks = blocks > 0 ? blocks - 1 : 0;
                        else if ((c == '{' || c == '}') && (p == start || is_blank(s[p - 1]) || strchr(";&|()", s[p - 1])) &&
                                 (p + 1 >= len || is_blank(s[p + 1]) || strchr(";\n", s[p + 1]))) {
                                /* "{" and "}" as words: a block or a function body. */
                                if (c == '{')
                                        blocks++;
                                else
                                        blocks = blocks > 0 ? blocks - 1 : 0;
                        }
                }
                if (state != 0)
                        return log_error_errno(-EINVAL, "%s:%u: unterminated quote; nothing was changed.", path, start_line);
                end = p;

                /* A here-document: its lines are data, not assignments; one that names the
                 * variables is refused, since what reads it may run it. */
                {
                        const char *h = memmem(s + start, end - start, "<<", 2);
                        if (h) {
                                const char *d = h + 2;
                                char delim[128];
                                size_t dl = 0;
                                bool strip_tabs = *d == '-';

                                if (strip_tabs)
                                        d++;
                                while (d < s + end && is_blank(*d))
                                        d++;
                                while (d < s + end && dl < sizeof(delim) - 1 && !is_blank(*d) && *d != '\n' && !strchr(";&|<>", *d)) {
                                        if (!strchr("'\"\\", *d))
                                                delim[dl++] = *d;
                                        d++;
                                }
                                delim[dl] = '\0';
                                heredoc_open = dl > 0;
                                while (dl > 0 && p < len) {
                                        size_t e = p;
                                        const char *b;
                                        while (e < len && s[e] != '\n')
                                                e++;
                                        b = s + p;
                                        if (strip_tabs)
                                                while (b < s + e && *b == '\t')
                                                        b++;
                                        if ((size_t) (s + e - b) == dl && strneq(b, delim, dl)) {
                                                p = e < len ? e + 1 : e;
                                                lineno++;
                                                heredoc_open = false;
                                                break;
                                        }
                                        if (mentions_grub_var(s + p, e - p))
                                                return log_error_errno(-EINVAL, "%s:%u: GRUB_CMDLINE_LINUX inside a here-document; "
                                                                       "cannot rewrite it safely. Nothing was changed.", path, lineno);
                                        p = e < len ? e + 1 : e;
                                        lineno++;
                                }
                        }
                }

                /* The first word: compound commands nest; an assignment inside one may or may
                 * not run, so it cannot be rewritten. */
                q = start;
                while (q < end && is_blank(s[q]))
                        q++;
                if (q >= end || s[q] == '#' || s[q] == '\n')
                        continue;
                {
                        static const char * const opening[] = { "if", "case", "for", "while", "until" };
                        static const char * const closing[] = { "fi", "esac", "done" };
                        size_t w = q;
                        bool opens = false, closes = false;

                        while (w < end && is_name_char(s[w]))
                                w++;
                        for (size_t k = 0; k < ELEMENTSOF(opening); k++)
                                opens = opens || (w - q == strlen(opening[k]) && strneq(s + q, opening[k], w - q));
                        for (size_t k = 0; k < ELEMENTSOF(closing); k++)
                                closes = closes || (w - q == strlen(closing[k]) && strneq(s + q, closing[k], w - q)) ||
                                         (complex && opens && line_has_word(s + q, end - q, closing[k]));
                        if (opens && !closes)
                                depth++;
                        else if (closes && !opens)
                                depth = depth > 0 ? depth - 1 : 0;
                        /* ". file", "source file" and eval can set anything after us. */
                        if (((w == q && s[q] == '.' && q + 1 < end && is_blank(s[q + 1])) ||
                             (w - q == 6 && strneq(s + q, "source", 6)) || (w - q == 4 && strneq(s + q, "eval", 4))))
                                override_line = start_line; /* the last one */
                }
                if (!mentions_grub_var(s + start, end - start))
                        continue;

                /* [export ]NAME=word */
                if (strneq(s + q, "export", 6) && is_blank(s[q + 6])) {
                        q += 6;
                        while (q < end && is_blank(s[q]))
                                q++;
                }
                {
                        Assignment a = { .line = start_line };
                        size_t ns = q;
                        int error = 0;

                        while (q < end && is_name_char(s[q]))
                                q++;
                        if (q >= end || s[q] != '=' || q == ns)
                                why = "not a plain assignment";
                        else if (depth > 0 || blocks > 0 || (q > 0 && memchr(s + start, '{', q - start)) ||
                                 (q > 0 && memchr(s + start, '(', q - start)))
                                why = "an assignment inside if/case/a loop, a function, a { } block or a subshell, which may not run";
                        else if (complex)
                                why = "an assignment joined with other commands (';', '&' or '|')";
                        else {
                                for (size_t k = 0; k < ELEMENTSOF(grub_vars); k++)
                                        if (strlen(grub_vars[k]) == q - ns && strneq(s + ns, grub_vars[k], q - ns))
                                                a.name = grub_vars[k];
                                if (!a.name) {
                                        /* Another variable reading GRUB_CMDLINE_LINUX: harmless. */
                                        continue;
                                }
                                a.word_start = q + 1;
                                why = decode_word(s, q + 1, end, &a, &error);
                                if (error < 0)
                                        return log_oom();
                        }
                        if (why)
                                return log_error_errno(-EINVAL, "%s:%u: cannot rewrite this line safely (%s); change it to a "
                                                       "plain GRUB_CMDLINE_LINUX=\"...\" assignment, or move it out of the "
                                                       "way, and run iommuctl apply again. Nothing was changed.",
                                                       path, start_line, why);
                        Assignment *t = reallocarray(l.items, l.n + 1, sizeof(Assignment));
                        if (!t) {
                                free(a.value);
                                return log_oom();
                        }
                        l.items = t;
                        l.items[l.n++] = a;
                }
        }
        /* Ends inside an open block: a line appended at the end would be inside it. */
        *ret_unclosed = depth > 0 || blocks > 0 || heredoc_open;
        *ret = l;
        l = (AssignmentList) {};
        *ret_override_line = override_line;
        return 0;
}

/* Quotes a decoded value for the shell, as the original was quoted where possible. */
static char *encode_word(const char *name, const char *v, bool single_quoted) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;
        FILE *f;

        if (single_quoted && !strchr(v, '\'') && !strchr(v, ESC)) {
                char *r;
                return asprintf(&r, "'%s'", v) < 0 ? NULL : r;
        }
        f = open_memstream(&out, &n);
        if (!f)
                return NULL;
        fputc('"', f);
        for (const char *p = v; *p; p++) {
                if (*p == ESC && p[1] == SELF_REF) {
                        /* Braced when a name character follows, or it would name another variable. */
                        p++;
                        if (is_name_char(p[1]))
                                fprintf(f, "${%s}", name);
                        else
                                fprintf(f, "$%s", name);
                } else if (*p == ESC && p[1] == ESC) {
                        p++;
                        fputc(ESC, f);
                } else {
                        if (strchr("\"\\`$", *p))
                                fputc('\\', f);
                        fputc(*p, f);
                }
        }
        fputc('"', f);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(out);
}

static int merge_value(const char *value, char * const *owned, const Cmdline *append, SyncJudge *judge, char **ret) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *merged = NULL;
        Cmdline empty = {};
        char *s;
        int r;

        r = cmdline_parse(value, &cur);
        if (r < 0)
                return r;
        r = cmdline_merge(cur, owned, append ?: &empty, &merged);
        if (r < 0)
                return r;
        if (sync_judge_carries(judge, cur, owned, append ?: &empty)) {
                /* Keep the value exactly as written (spacing included). */
                s = strdup(value);
        } else
                s = cmdline_to_string(merged);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int grub_defaults_rewrite(const char *path, const char *text, char * const *owned, const Cmdline *append, SyncJudge *judge,
                          GrubRewriteResult *ret) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        _cleanup_free_ char *out = NULL;
        size_t last_linux = SIZE_MAX;
        unsigned override_line = 0;
        bool unclosed = false;
        GrubRewriteResult res = {};
        int r;

        r = parse_assignments(path, text, &l, &override_line, &unclosed);
        if (r < 0)
                return r;
        /* What runs after the last assignment (". file", source, eval) can set it again. A new
         * assignment appended at the end comes after all of them. */
        if (override_line > 0 && l.n > 0 && override_line > l.items[l.n - 1].line)
                return log_error_errno(-EINVAL, "%s:%u: sources another file or runs eval, which can override "
                                       "GRUB_CMDLINE_LINUX after the lines iommuctl rewrites; cannot rewrite it safely. "
                                       "Nothing was changed.", path, override_line);
        out = strdup(text);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++)
                if (streq(l.items[i].name, "GRUB_CMDLINE_LINUX")) {
                        last_linux = i;
                        if (!l.items[i].self_ref) {
                                res.sets_linux = true;
                                res.sets_linux_line = l.items[i].line;
                        }
                }

        /* From the last assignment to the first, so earlier offsets stay valid. */
        for (size_t i = l.n; i-- > 0;) {
                Assignment *a = &l.items[i];
                _cleanup_free_ char *merged = NULL, *word = NULL, *t = NULL;

                r = merge_value(a->value, owned, i == last_linux ? append : NULL, judge, &merged);
                if (r == -E2BIG) {
                        r = log_error_errno(r, "%s:%u: %s would be longer than the kernel accepts; nothing was changed.",
                                            path, a->line, a->name);
                        break;
                }
                if (r == -EBADMSG) {
                        r = log_error_errno(r, "%s:%u: %s has an unterminated quote inside its value; nothing was changed.",
                                            path, a->line, a->name);
                        break;
                }
                if (r < 0) {
                        r = log_error_errno(r, "%s:%u: failed to rewrite %s: %m; nothing was changed.", path, a->line, a->name);
                        break;
                }
                if (streq(merged, a->value))
                        continue;
                word = encode_word(a->name, merged, a->single_quoted);
                if (!word || asprintf(&t, "%.*s%s%s", (int) a->word_start, out, word, out + a->word_end) < 0) {
                        r = -ENOMEM;
                        break;
                }
                free(out);
                out = TAKE_PTR(t);
        }
        if (r >= 0 && append && last_linux == SIZE_MAX && unclosed)
                return log_error_errno(-EINVAL, "%s: ends inside an unclosed block (if/case/loop, { }, a subshell or a here-document); cannot "
                                       "append GRUB_CMDLINE_LINUX safely. Nothing was changed.", path);
        if (r >= 0 && append && last_linux == SIZE_MAX) {
                _cleanup_free_ char *tokens = cmdline_to_string(append), *t = NULL;
                /* After a line that ends in a continuation, an empty line first, or the new
                 * assignment would become part of it. */
                size_t ol = strlen(out), bs = 0;
                while (ol >= 2 + bs && out[ol - 2 - bs] == '\\')
                        bs++;
                if (!tokens || asprintf(&t, "%s%sGRUB_CMDLINE_LINUX=\"%s\"\n", out,
                                        isempty(out) ? "" : !endswith(out, "\n") ? "\n" : bs % 2 == 1 ? "\n" : "", tokens) < 0)
                        r = -ENOMEM;
                else {
                        free(out);
                        out = TAKE_PTR(t);
                }
        }
        if (r < 0)
                return r;
        res.text = TAKE_PTR(out);
        *ret = res;
        return 0;
}

int grub_defaults_values(const char *path, const char *text, char ***ret_values, unsigned **ret_lines, size_t *ret_n) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        unsigned override_line = 0;
        bool unclosed = false;
        int r;

        r = parse_assignments(path, text, &l, &override_line, &unclosed);
        if (r < 0)
                return r;
        lines = calloc(l.n ?: 1, sizeof(unsigned));
        if (!lines)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_free_ char *v = malloc(strlen(l.items[i].value) + 1);
                size_t k = 0;

                if (!v)
                        return -ENOMEM;
                for (const char *p = l.items[i].value; *p; p++) {
                        if (*p == ESC && p[1] == SELF_REF) {
                                p++;
                                continue; /* "$NAME": what came before, not a token */
                        }
                        if (*p == ESC && p[1] == ESC)
                                p++;
                        v[k++] = *p;
                }
                v[k] = '\0';
                lines[i] = l.items[i].line;
                r = strv_consume(&values, TAKE_PTR(v));
                if (r < 0)
                        return r;
        }
        *ret_values = TAKE_PTR(values);
        *ret_lines = TAKE_PTR(lines);
        *ret_n = l.n;
        return 0;
}

void grub_rewrite_result_done(GrubRewriteResult *r) {
        free(r->text);
        *r = (GrubRewriteResult) {};
}

int grub_dropin_contents(const char *profile, const Cmdline *wanted, char **ret) {
        _cleanup_free_ char *tokens = cmdline_to_string(wanted);
        char *s;

        if (!tokens)
                return -ENOMEM;
        if (asprintf(&s,
                     "# Written by \"iommuctl apply\" for the IOMMU profile %s; \"iommuctl rollback\" removes it.\n"
                     "# Do not edit: change the profile or /etc/iommu/iommu.conf and run \"iommuctl apply\".\n"
                     "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX %s\"\n", profile, tokens) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool boot_grub_detect(const char *root) {
        return root_exists(root, GRUB_DEFAULTS);
}

bool boot_grub_is_debian(const char *root) {
        return root_exists(root, "/etc/debian_version");
}

static int rewrite_file(const char *root, const char *path, char * const *owned, const Cmdline *append, SyncJudge *judge,
                        ChangeSet *cs, GrubRewriteResult *ret) {
        _cleanup_free_ char *text = NULL, *full = root_display(root, path);
        int r;

        if (!full)
                return log_oom();
        r = read_root_text_and_warn(root, path, CHANGESET_FILE_MAX, &text, NULL);
        if (r == -ENOENT && append) {
                text = strdup("");
                if (!text)
                        return log_oom();
        } else if (r == -ENOENT)
                return log_error_errno(r, "Failed to read %s: %m; nothing was changed.", full);
        else if (r < 0)
                return r;
        r = grub_defaults_rewrite(full, text, owned, append, judge, ret);
        if (r < 0)
                return r;
        r = changeset_add(cs, path, ret->text, strlen(ret->text), 0644, "grub");
        return r < 0 ? r : 0;
}

int boot_grub_plan(const char *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *profile,
                   ChangeSet *cs) {
        _cleanup_free_ char *dir = root_path(root, GRUB_DROPIN_DIR), *dropin = NULL;
        bool debian = boot_grub_is_debian(root);
        glob_t g = {};
        int r;

        if (!dir)
                return log_oom();
        {
                GrubRewriteResult res = {};
                /* Debian: the drop-in carries the tokens; elsewhere /etc/default/grub itself. */
                r = rewrite_file(root, GRUB_DEFAULTS, owned, debian ? NULL : wanted, judge, cs, &res);
                grub_rewrite_result_done(&res);
                if (r < 0)
                        return r;
        }
        if (!debian)
                return 0;

        {
                _cleanup_free_ char *pattern = NULL;
                if (asprintf(&pattern, "%s/*.cfg", dir) < 0)
                        return log_oom();
                r = glob(pattern, 0, NULL, &g);
                if (r != 0 && r != GLOB_NOMATCH) {
                        globfree(&g);
                        return log_error_errno(-EIO, "Failed to list %s.", dir);
                }
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *name = strrchr(g.gl_pathv[i], '/') + 1;
                _cleanup_free_ char *path = NULL;
                GrubRewriteResult res = {};

                if (streq(name, "60-iommu.cfg"))
                        continue;
                if (asprintf(&path, "%s/%s", GRUB_DROPIN_DIR, name) < 0) {
                        globfree(&g);
                        return log_oom();
                }
                r = rewrite_file(root, path, owned, NULL, judge, cs, &res);
                if (r >= 0 && res.sets_linux && strcmp(name, "60-iommu.cfg") > 0)
                        r = log_error_errno(-EINVAL, "%s/%s:%u: sets GRUB_CMDLINE_LINUX after %s and would discard the "
                                            "profile's tokens; make it append (GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX ...\") "
                                            "and run iommuctl apply again. Nothing was changed.", dir, name,
                                            res.sets_linux_line, GRUB_DROPIN);
                grub_rewrite_result_done(&res);
                if (r < 0) {
                        globfree(&g);
                        return r;
                }
        }
        globfree(&g);

        /* Nothing to carry (undo): the drop-in goes. */
        if (wanted->n_tokens == 0) {
                r = changeset_add(cs, GRUB_DROPIN, NULL, 0, 0644, "grub");
                return r < 0 ? r : 0;
        }
        r = grub_dropin_contents(profile, wanted, &dropin);
        if (r < 0)
                return log_oom();
        r = changeset_add(cs, GRUB_DROPIN, dropin, strlen(dropin), 0644, "grub");
        return r < 0 ? r : 0;
}

/* grub.cfg is in /boot/grub2 on Fedora/RHEL, /boot/grub elsewhere; on older EFI installs of
 * RHEL-likes the real one sits on the ESP (a new-style ESP grub.cfg is a stub that loads
 * /boot/grub2/grub.cfg and must not be overwritten). */
static int grub_cfg_path(const char *root, char **ret) {
        glob_t g = {};
        _cleanup_free_ char *pattern = root_path(root, "/boot/efi/EFI/*/grub.cfg");
        const char *p = root_exists(root, "/boot/grub2") ? "/boot/grub2/grub.cfg" : "/boot/grub/grub.cfg";

        if (!pattern)
                return -ENOMEM;
        if (!root_exists(root, "/boot/grub2/grub.cfg") && glob(pattern, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        _cleanup_free_ char *text = NULL;
                        const char *rel = g.gl_pathv[i] + (root_is_host(root) ? 0 : strlen(pattern) - strlen("/boot/efi/EFI/*/grub.cfg"));
                        if (read_root_file(root, rel, CHANGESET_FILE_MAX, &text, NULL) >= 0 && !strstr(text, "configfile")) {
                                *ret = strdup(rel);
                                globfree(&g);
                                return *ret ? 0 : -ENOMEM;
                        }
                }
        }
        globfree(&g);
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

int boot_grub_find_regenerate(const char *root, GrubPlan *ret) {
        static const char * const tools[] = { "grub2-mkconfig", "grub-mkconfig" };
        GrubPlan p = { .needed = true };
        int r;

        if (boot_grub_is_debian(root) && find_executable("update-grub", &p.tool) >= 0) {
                *ret = p;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(tools) && !p.tool; i++)
                (void) find_executable(tools[i], &p.tool);
        if (!p.tool)
                return log_error_errno(-ENOENT, "Neither update-grub, grub2-mkconfig nor grub-mkconfig is installed: grub.cfg "
                                       "cannot be regenerated. Install GRUB's tools or pass --no-bootloader-update. "
                                       "Nothing was changed.");
        r = grub_cfg_path(root, &p.output);
        if (r < 0) {
                grub_plan_done(&p);
                return log_oom();
        }
        *ret = p;
        return 0;
}

int boot_grub_regenerate(const GrubPlan *p) {
        int r;

        log_info("Regenerating grub.cfg: %s%s%s", p->tool, p->output ? " -o " : "", p->output ?: "");
        /* stdout is for our own report; the tool's chatter goes to stderr. */
        r = spawn_and_wait(p->output ? STRV_MAKE(p->tool, "-o", p->output) : STRV_MAKE(p->tool), SPAWN_STDOUT_TO_STDERR);
        if (r < 0)
                return r;
        if (r != 0)
                return log_error_errno(-EPROTO, "%s failed (exit status %d).", p->tool, r);
        return 0;
}

void grub_plan_done(GrubPlan *p) {
        free(p->tool);
        free(p->output);
        *p = (GrubPlan) {};
}
