/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "boot-grub.h"
#include "bootspec.h"
#include "fileio.h"
#include "log.h"
#include "spawn.h"
#include "strv.h"

/* In a decoded value, ESC starts a two-byte sequence: ESC 'S' stands for "$NAME" (the variable
 * being assigned) and ESC ESC for a literal ESC byte in the file, so no byte of the file can be
 * mistaken for the reference. */
#define ESC '\001'
#define SELF_REF 'S'

/* What apply rewrites; grub_defaults_final_value() follows any one variable the same way. */
static const char * const grub_vars[] = { "GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", NULL };

typedef struct Assignment {
        const char *name;  /* one of grub_vars */
        unsigned line;
        size_t word_start, word_end;
        char *value;       /* decoded, SELF_REF for "$NAME" */
        size_t n_value;
        size_t *src_start, *src_end; /* per byte of value: the bytes of the file it came from */
        char *quote;       /* per byte of value: 0 unquoted, '\'' or '"' */
        bool self_ref;
} Assignment;

typedef struct AssignmentList {
        Assignment *items;
        size_t n;
        size_t override_at;      /* offset of the last ". file", source, eval... (SIZE_MAX: none) */
        unsigned override_line;
        bool unclosed;           /* ends inside a block or here-document */
} AssignmentList;

static void assignment_done(Assignment *a) {
        free(a->value);
        free(a->src_start);
        free(a->src_end);
        free(a->quote);
}

static void assignment_list_done(AssignmentList *l) {
        for (size_t i = 0; i < l->n; i++)
                assignment_done(&l->items[i]);
        free(l->items);
        *l = (AssignmentList) {};
}

static bool is_name_start(char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_name_char(char c) {
        return is_name_start(c) || (c >= '0' && c <= '9');
}
static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}
static bool is_op_char(char c) {
        return c && strchr(";&|()<>", c);
}

static const char *tracked_var(const char * const *vars, const char *name, size_t n) {
        for (size_t k = 0; vars[k]; k++)
                if (strlen(vars[k]) == n && strneq(name, vars[k], n))
                        return vars[k];
        return NULL;
}

static bool mentions_grub_var(const char * const *vars, const char *s, size_t n) {
        for (size_t k = 0; vars[k]; k++)
                if (memmem(s, n, vars[k], strlen(vars[k])))
                        return true;
        return false;
}

/* A mention that is not a plain read ("$NAME", "${NAME}", "${NAME:-...}"): a bare name (read,
 * unset, declare...), or an expansion that assigns ("${NAME=...}", "${NAME:=...}") or arithmetic. */
static bool mentions_grub_var_not_read(const char * const *vars, const char *s, size_t n) {
        for (size_t k = 0; vars[k]; k++) {
                size_t vl = strlen(vars[k]);

                for (size_t i = 0; i + vl <= n; i++) {
                        size_t e = i + vl;
                        /* The whole name: GRUB_CMDLINE_LINUX is not GRUB_CMDLINE_LINUX_DEFAULT. */
                        if (!strneq(s + i, vars[k], vl) || (e < n && is_name_char(s[e])) || (i > 0 && is_name_char(s[i - 1])))
                                continue;
                        if (i >= 2 && strneq(s + i - 2, "${", 2)) {
                                if (e < n && (s[e] == '=' || (s[e] == ':' && e + 1 < n && s[e + 1] == '=')))
                                        return true;
                                continue;
                        }
                        if (i >= 1 && s[i - 1] == '$')
                                continue;
                        return true;
                }
        }
        return memmem(s, n, "$((", 3) && mentions_grub_var(vars, s, n);
}

typedef enum TokenType { TOKEN_WORD, TOKEN_OP, TOKEN_NEWLINE, TOKEN_EOF } TokenType;

typedef struct Token {
        TokenType type;
        size_t start, end;
        unsigned line;
} Token;

typedef struct Lexer {
        const char *path, *s;
        const char * const *vars; /* the variables followed, NULL-terminated */
        size_t len, p;
        unsigned line;
        /* Here-documents whose bodies start after the next newline. */
        char delims[8][128];
        bool strip_tabs[8];
        bool expand[8];
        size_t n_heredocs;
        bool heredoc_open;
} Lexer;

static int lex_fail_at(Lexer *lx, unsigned line, const char *why) {
        return log_error_errno(-EINVAL, "%s:%u: %s; cannot rewrite it safely, nothing was changed.", lx->path, line, why);
}

static int lex_fail(Lexer *lx, const char *why) {
        return lex_fail_at(lx, lx->line, why);
}

static int skip_dquote(Lexer *lx);
static int skip_paren(Lexer *lx);

/* At a '\'': to after the closing one. */
static int skip_squote(Lexer *lx) {
        unsigned line = lx->line;

        for (lx->p++; lx->p < lx->len && lx->s[lx->p] != '\''; lx->p++)
                lx->line += lx->s[lx->p] == '\n';
        if (lx->p >= lx->len)
                return lex_fail_at(lx, line, "unterminated quote");
        lx->p++;
        return 0;
}

static int skip_backquote(Lexer *lx) {
        for (lx->p++; lx->p < lx->len && lx->s[lx->p] != '`'; lx->p++) {
                if (lx->s[lx->p] == '\\' && lx->p + 1 < lx->len)
                        lx->p++;
                lx->line += lx->s[lx->p] == '\n';
        }
        if (lx->p >= lx->len)
                return lex_fail(lx, "unterminated command substitution");
        lx->p++;
        return 0;
}

/* At '$': "$(...)", "$((...))", "${...}" or a plain '$'. */
static int skip_dollar(Lexer *lx) {
        char c = lx->p + 1 < lx->len ? lx->s[lx->p + 1] : '\0';

        if (c == '(') {
                lx->p++;
                return skip_paren(lx);
        }
        if (c == '{') {
                unsigned depth = 0;
                for (lx->p += 1; lx->p < lx->len; ) {
                        char d = lx->s[lx->p];
                        int r = 0;
                        if (d == '{')
                                depth++, lx->p++;
                        else if (d == '}') {
                                lx->p++;
                                if (--depth == 0)
                                        return 0;
                        } else if (d == '\'')
                                r = skip_squote(lx);
                        else if (d == '"')
                                r = skip_dquote(lx);
                        else if (d == '`')
                                r = skip_backquote(lx);
                        else if (d == '$')
                                r = skip_dollar(lx);
                        else {
                                if (d == '\\' && lx->p + 1 < lx->len)
                                        lx->p++;
                                lx->line += lx->s[lx->p] == '\n';
                                lx->p++;
                        }
                        if (r < 0)
                                return r;
                }
                return lex_fail(lx, "unterminated ${...}");
        }
        lx->p++;
        return 0;
}

/* At the '(' of "$(": to after the matching ')', past quotes and nested substitutions. */
static int skip_paren(Lexer *lx) {
        size_t open = lx->p;
        unsigned depth = 0;

        while (lx->p < lx->len) {
                char d = lx->s[lx->p];
                int r = 0;
                if (d == '(')
                        depth++, lx->p++;
                else if (d == ')') {
                        lx->p++;
                        if (--depth == 0) {
                                /* A case pattern's ')' would end it early for a counter; the
                                 * shell parses it properly. Refuse instead of guessing. */
                                const char *c = memmem(lx->s + open, lx->p - open, "case", 4);
                                if (c)
                                        return lex_fail(lx, "'case' inside $(...)");
                                return 0;
                        }
                } else if (d == '\'')
                        r = skip_squote(lx);
                else if (d == '"')
                        r = skip_dquote(lx);
                else if (d == '`')
                        r = skip_backquote(lx);
                else if (d == '$' && lx->p + 1 < lx->len && strchr("({", lx->s[lx->p + 1]))
                        r = skip_dollar(lx);
                else {
                        if (d == '\\' && lx->p + 1 < lx->len)
                                lx->p++;
                        lx->line += lx->s[lx->p] == '\n';
                        lx->p++;
                }
                if (r < 0)
                        return r;
        }
        return lex_fail(lx, "unterminated $(...)");
}

static int skip_dquote(Lexer *lx) {
        unsigned line = lx->line;

        for (lx->p++; lx->p < lx->len && lx->s[lx->p] != '"';) {
                char d = lx->s[lx->p];
                int r = 0;
                if (d == '\\' && lx->p + 1 < lx->len) {
                        lx->p++;
                        lx->line += lx->s[lx->p] == '\n';
                        lx->p++;
                } else if (d == '`')
                        r = skip_backquote(lx);
                else if (d == '$')
                        r = skip_dollar(lx);
                else {
                        lx->line += d == '\n';
                        lx->p++;
                }
                if (r < 0)
                        return r;
        }
        if (lx->p >= lx->len)
                return lex_fail_at(lx, line, "unterminated quote");
        lx->p++;
        return 0;
}

/* The bodies of pending here-documents, after the newline that ends their command: data. One
 * that names the variables is refused, since what reads it may run it. */
static int read_heredocs(Lexer *lx) {
        for (size_t h = 0; h < lx->n_heredocs; h++) {
                const char *delim = lx->delims[h];
                size_t dl = strlen(delim);

                lx->heredoc_open = true;
                while (lx->p < lx->len) {
                        size_t e = lx->p + strcspn(lx->s + lx->p, "\n");
                        const char *b = lx->s + lx->p;

                        if (lx->strip_tabs[h])
                                while (b < lx->s + e && *b == '\t')
                                        b++;
                        if ((size_t) (lx->s + e - b) == dl && strneq(b, delim, dl)) {
                                lx->p = e < lx->len ? e + 1 : e;
                                lx->line++;
                                lx->heredoc_open = false;
                                break;
                        }
                        if (mentions_grub_var(lx->vars, lx->s + lx->p, e - lx->p))
                                return lex_fail(lx, "GRUB_CMDLINE_LINUX inside a here-document");
                        /* An unquoted delimiter makes the body expand: what a "$(" or '`' there
                         * does to the parse is the shell's business, not a guess of ours. */
                        if (lx->expand[h] && (memmem(lx->s + lx->p, e - lx->p, "$(", 2) || memchr(lx->s + lx->p, '`', e - lx->p)))
                                return lex_fail(lx, "command substitution inside a here-document");
                        lx->p = e < lx->len ? e + 1 : e;
                        lx->line++;
                }
                if (lx->heredoc_open)
                        break;
        }
        lx->n_heredocs = 0;
        return 0;
}

static int next_token(Lexer *lx, Token *ret) {
        static const char * const ops[] = { "<<-", ";;", "&&", "||", "<<", ">>", "<&", ">&", "<>", ">|" };
        const char *s = lx->s;
        int r;

        for (;;) {
                while (lx->p < lx->len && is_blank(s[lx->p]))
                        lx->p++;
                if (lx->p + 1 < lx->len && s[lx->p] == '\\' && s[lx->p + 1] == '\n') {
                        lx->p += 2;
                        lx->line++;
                        continue;
                }
                if (lx->p < lx->len && s[lx->p] == '#')
                        while (lx->p < lx->len && s[lx->p] != '\n')
                                lx->p++;
                break;
        }
        *ret = (Token) { .start = lx->p, .line = lx->line };
        if (lx->p >= lx->len) {
                ret->type = TOKEN_EOF;
                ret->end = lx->p;
                return 0;
        }
        if (s[lx->p] == '\n') {
                lx->p++;
                ret->type = TOKEN_NEWLINE;
                ret->end = lx->p;
                lx->line++;
                return read_heredocs(lx);
        }
        if (is_op_char(s[lx->p])) {
                size_t n = 1;
                for (size_t k = 0; k < ELEMENTSOF(ops); k++)
                        if (strneq(s + lx->p, ops[k], strlen(ops[k]))) {
                                n = strlen(ops[k]);
                                break;
                        }
                lx->p += n;
                ret->type = TOKEN_OP;
                ret->end = lx->p;
                return 0;
        }
        while (lx->p < lx->len && !is_blank(s[lx->p]) && s[lx->p] != '\n' && !is_op_char(s[lx->p])) {
                char c = s[lx->p];
                if (c == '\\') {
                        if (lx->p + 1 >= lx->len)
                                return lex_fail(lx, "ends in a backslash with no newline after it");
                        lx->line += s[lx->p + 1] == '\n';
                        lx->p += 2;
                        continue;
                }
                r = c == '\'' ? skip_squote(lx) : c == '"' ? skip_dquote(lx) : c == '`' ? skip_backquote(lx) :
                    c == '$' ? skip_dollar(lx) : (lx->p++, 0);
                if (r < 0)
                        return r;
        }
        ret->type = TOKEN_WORD;
        ret->end = lx->p;
        return 0;
}

static bool token_is(const Lexer *lx, const Token *t, const char *text) {
        return t->end - t->start == strlen(text) && strneq(lx->s + t->start, text, t->end - t->start);
}

/* The word with quotes removed, when it has no expansion (NULL otherwise): what the shell looks
 * up as a command name ("\.", "'.'" and "." are all the dot builtin). */
static char *word_literal(const char *s, size_t start, size_t end) {
        _cleanup_free_ char *v = malloc(end - start + 1);
        size_t n = 0;
        char q = 0;

        if (!v)
                return NULL;
        for (size_t p = start; p < end; p++) {
                char c = s[p];
                if (q == '\'') {
                        if (c == '\'')
                                q = 0;
                        else
                                v[n++] = c;
                } else if (c == '\\' && p + 1 < end) {
                        p++;
                        if (s[p] != '\n')
                                v[n++] = s[p];
                } else if (c == '$' || c == '`' || (!q && strchr("*?[~", c)))
                        return NULL;
                else if (c == '"' || (c == '\'' && !q))
                        q = q == '"' ? 0 : c;
                else
                        v[n++] = c;
        }
        v[n] = '\0';
        return TAKE_PTR(v);
}

/* "NAME=": the name (line continuations inside it dropped) and the offset after '='. */
static bool word_assignment(const char *s, size_t start, size_t end, char *name, size_t name_size, size_t *ret_value) {
        size_t n = 0;

        for (size_t p = start; p < end; p++) {
                if (s[p] == '\\' && p + 1 < end && s[p + 1] == '\n') {
                        p++;
                        continue;
                }
                if (s[p] == '=' && n > 0) {
                        name[n] = '\0';
                        *ret_value = p + 1;
                        return true;
                }
                if (!(n == 0 ? is_name_start(s[p]) : is_name_char(s[p])) || n + 1 >= name_size)
                        return false;
                name[n++] = s[p];
        }
        return false;
}

static int value_push(Assignment *a, char c, size_t from, size_t to, char quote) {
        size_t n = a->n_value;
        char *v = realloc(a->value, n + 2), *q;
        size_t *x, *y;

        if (!v)
                return -ENOMEM;
        a->value = v;
        x = reallocarray(a->src_start, n + 1, sizeof(size_t));
        if (!x)
                return -ENOMEM;
        a->src_start = x;
        y = reallocarray(a->src_end, n + 1, sizeof(size_t));
        if (!y)
                return -ENOMEM;
        a->src_end = y;
        q = realloc(a->quote, n + 1);
        if (!q)
                return -ENOMEM;
        a->quote = q;
        v[n] = c;
        v[n + 1] = '\0';
        x[n] = from;
        y[n] = to;
        q[n] = quote;
        a->n_value++;
        return 0;
}

/* A byte of the file, ESC doubled. */
static int value_push_byte(Assignment *a, char c, size_t from, size_t to, char quote) {
        if (c == ESC && value_push(a, ESC, from, to, quote) < 0)
                return -ENOMEM;
        return value_push(a, c, from, to, quote);
}

/* Reads "$NAME" or "${NAME}" at s[*p] (which is '$'). Only a reference to the variable being
 * assigned is allowed: advances *p and returns NULL, or a static reason. */
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

static const char *take_self_ref(const char *s, size_t end, size_t *p, Assignment *a, char quote, int *error) {
        size_t from = *p;
        const char *why = read_var_ref(s, end, p, a->name);

        if (why)
                return why;
        a->self_ref = true;
        if (value_push(a, ESC, from, *p, quote) < 0 || value_push(a, SELF_REF, from, *p, quote) < 0)
                return *error = -ENOMEM, "";
        return NULL;
}

/* Decodes the word s[p, end) of "NAME=word" as sh assigns it, each byte with where it came from.
 * Returns NULL, or why the word cannot be rewritten. */
static const char *decode_word(const char *s, size_t p, size_t end, Assignment *a, int *error) {
        a->value = strdup("");
        if (!a->value)
                return *error = -ENOMEM, "";
        while (p < end) {
                char c = s[p];
                const char *why;

                if (c == '\'') {
                        size_t q = p + 1;
                        while (q < end && s[q] != '\'') {
                                if (value_push_byte(a, s[q], q, q + 1, '\'') < 0)
                                        return *error = -ENOMEM, "";
                                q++;
                        }
                        p = q + 1;
                } else if (c == '"') {
                        p++;
                        while (p < end && s[p] != '"') {
                                if (s[p] == '\\' && p + 1 < end && strchr("$`\"\\\n", s[p + 1])) {
                                        if (s[p + 1] != '\n' && value_push_byte(a, s[p + 1], p, p + 2, '"') < 0)
                                                return *error = -ENOMEM, "";
                                        p += 2;
                                } else if (s[p] == '`')
                                        return "command substitution";
                                else if (s[p] == '$') {
                                        why = take_self_ref(s, end, &p, a, '"', error);
                                        if (why)
                                                return why;
                                } else {
                                        if (value_push_byte(a, s[p], p, p + 1, '"') < 0)
                                                return *error = -ENOMEM, "";
                                        p++;
                                }
                        }
                        p++;
                } else if (c == '\\') {
                        if (p + 1 >= end)
                                return "a backslash at the end of the file, with no newline after it";
                        /* Quoted by the backslash: counted as quoted for what is inserted next to it. */
                        if (s[p + 1] != '\n' && value_push_byte(a, s[p + 1], p, p + 2, '\\') < 0)
                                return *error = -ENOMEM, "";
                        p += 2;
                } else if (c == '`')
                        return "command substitution";
                else if (c == '$') {
                        why = take_self_ref(s, end, &p, a, 0, error);
                        if (why)
                                return why;
                } else if (c == '~')
                        return "a '~' the shell may expand (quote it)";
                else if (strchr(";&|<>(){}*?[", c))
                        return "shell syntax other than a plain assignment";
                else {
                        if (value_push_byte(a, c, p, p + 1, 0) < 0)
                                return *error = -ENOMEM, "";
                        p++;
                }
        }
        a->word_end = end;
        return NULL;
}

typedef struct Walker {
        Lexer lx;
        AssignmentList *l;
        int depth;          /* compound commands, { }, subshells, function bodies */
        unsigned in_case;   /* inside case ... esac: ')' ends patterns */
        bool for_header;    /* between "for" and "do" */
        bool case_header;   /* between "case" and "in" */
        char **functions;   /* names defined in the file: calling one runs unknown code */
        Token words[64];
        size_t n_words;
        Token prev_sep;     /* what came before the command (start: TOKEN_NEWLINE) */
        bool negated;
        bool empty;         /* a body or condition without a command yet: closing it is a syntax error */
        bool have_command;  /* a command since the last separator (';' or '&&' after none is one too) */
} Walker;

static int walk_fail(Walker *w, unsigned line, const char *why) {
        return log_error_errno(-EINVAL, "%s:%u: cannot rewrite this line safely (%s); change it to a plain "
                               "GRUB_CMDLINE_LINUX=\"...\" assignment, or move it out of the way, and run iommuctl apply "
                               "again. Nothing was changed.", w->lx.path, line, why);
}

static void walk_override(Walker *w, const Token *t) {
        w->l->override_at = t->start;
        w->l->override_line = t->line;
}

/* Builtins that run code we cannot follow, or change how later commands run. */
static const char * const overriding[] = { ".", "source", "eval", "command", "builtin", "exec", "alias", "trap", NULL };

/* One simple command, ended by next (a separator, newline or the end). */
static int walk_command(Walker *w, const Token *next) {
        const char *s = w->lx.s;
        bool conditional, export = false;
        size_t i = 0, cmd = SIZE_MAX;
        _cleanup_free_ char *name = NULL;

        if (w->n_words == 0)
                return 0;
        conditional = w->depth > 0 || w->negated ||
                      (w->prev_sep.type == TOKEN_OP && !token_is(&w->lx, &w->prev_sep, ";")) ||
                      (next->type == TOKEN_OP && (token_is(&w->lx, next, "|") || token_is(&w->lx, next, "&")));

        /* Leading assignments, then the command name. */
        for (; i < w->n_words; i++) {
                char n[256];
                size_t v;
                if (!word_assignment(s, w->words[i].start, w->words[i].end, n, sizeof n, &v))
                        break;
        }
        if (i < w->n_words) {
                cmd = i;
                name = word_literal(s, w->words[i].start, w->words[i].end);
                if (!name && mentions_grub_var(w->lx.vars, s + w->words[i].start, w->words[i].end - w->words[i].start))
                        return walk_fail(w, w->words[i].line, "a command name built from GRUB_CMDLINE_LINUX");
                if (!name || strv_contains((char **) overriding, name) ||
                    strv_contains(w->functions, name))
                        /* Can set anything: what follows decides, what came before may be overridden. */
                        walk_override(w, &w->words[i]);
                export = name && streq(name, "export");
        }
        for (size_t k = 0; k < w->n_words; k++) {
                const Token *t = &w->words[k];
                bool is_assignment = k < i || (export && k > cmd);
                char n[256];
                size_t v;
                const char *var;

                _cleanup_free_ char *joined = NULL;
                size_t jl;

                /* The shell removes line continuations before it reads names. */
                joined = strndup(s + t->start, t->end - t->start);
                if (!joined)
                        return log_oom();
                for (char *from = joined, *to = joined;; from++) {
                        if (from[0] == '\\' && from[1] == '\n') {
                                from++;
                                continue;
                        }
                        if (!(*to++ = *from))
                                break;
                }
                jl = strlen(joined);
                if (!mentions_grub_var(w->lx.vars, joined, jl))
                        continue;
                if (!is_assignment || !word_assignment(s, t->start, t->end, n, sizeof n, &v)) {
                        /* read, unset, declare, "${NAME:=...}"...: may change it. A plain
                         * "export NAME" changes nothing. */
                        if (export && k > cmd && tracked_var(w->lx.vars, joined, jl))
                                continue;
                        if (mentions_grub_var_not_read(w->lx.vars, joined, jl))
                                return walk_fail(w, t->line, "a command that may change GRUB_CMDLINE_LINUX");
                        continue;
                }
                if (mentions_grub_var_not_read(w->lx.vars, strchr(joined, '=') + 1, strlen(strchr(joined, '=') + 1)))
                        return walk_fail(w, t->line, "an expansion that may change GRUB_CMDLINE_LINUX");
                var = tracked_var(w->lx.vars, n, strlen(n));
                if (!var)
                        continue; /* another variable reading it: harmless */
                if (cmd != SIZE_MAX && !export)
                        return walk_fail(w, t->line, "an assignment in front of a command, which may not last");
                if (conditional)
                        return walk_fail(w, t->line, "an assignment inside if/case/a loop, a function, a { } block, a "
                                         "subshell, a pipeline or after && or ||, which may not run");
                {
                        Assignment a = { .name = var, .line = t->line, .word_start = v };
                        Assignment *items;
                        const char *why;
                        int error = 0;

                        why = decode_word(s, v, t->end, &a, &error);
                        if (error < 0) {
                                assignment_done(&a);
                                return log_oom();
                        }
                        if (why) {
                                assignment_done(&a);
                                return walk_fail(w, t->line, why);
                        }
                        items = reallocarray(w->l->items, w->l->n + 1, sizeof(Assignment));
                        if (!items) {
                                assignment_done(&a);
                                return log_oom();
                        }
                        w->l->items = items;
                        w->l->items[w->l->n++] = a;
                }
        }
        return 0;
}

/* Splits the text into tokens as sh does, follows compound commands, and collects the
 * assignments of grub_vars that surely run, refusing the ones that may not. */
static int parse_assignments(const char *path, const char *s, const char * const *vars, AssignmentList *ret) {
        _cleanup_(assignment_list_done) AssignmentList l = { .override_at = SIZE_MAX };
        _cleanup_strv_free_ char **functions = NULL;
        Walker w = {
                .lx = { .path = path, .s = s, .vars = vars, .len = strlen(s), .line = 1 },
                .l = &l,
                .prev_sep = { .type = TOKEN_NEWLINE },
        };
        bool redirect_target = false;
        int r;

        for (;;) {
                Token t;

                r = next_token(&w.lx, &t);
                if (r < 0)
                        return r;
                if (t.type != TOKEN_WORD && redirect_target)
                        return walk_fail(&w, t.line, "a redirection without a target");
                if (t.type == TOKEN_WORD && redirect_target) {
                        /* The word after a redirection is its target, not an argument; after
                         * "<<" it names the here-document's end. */
                        redirect_target = false;
                        continue;
                }
                if (t.type == TOKEN_WORD && w.for_header) {
                        if (w.n_words == 0 && tracked_var(w.lx.vars, s + t.start, t.end - t.start))
                                return walk_fail(&w, t.line, "a for loop over GRUB_CMDLINE_LINUX");
                        w.n_words++; /* counts the header's words only */
                        if (token_is(&w.lx, &t, "do")) {
                                w.for_header = false;
                                w.n_words = 0;
                                w.empty = true;
                        }
                        continue;
                }
                if (t.type == TOKEN_WORD && w.case_header) {
                        if (token_is(&w.lx, &t, "in"))
                                w.case_header = false;
                        continue;
                }
                if (t.type == TOKEN_WORD && w.n_words == 0) {
                        /* Reserved words count only where a command starts. */
                        if (token_is(&w.lx, &t, "if") || token_is(&w.lx, &t, "while") || token_is(&w.lx, &t, "until") ||
                            token_is(&w.lx, &t, "{")) {
                                w.depth++;
                                w.empty = true;
                                continue;
                        }
                        if (token_is(&w.lx, &t, "for")) {
                                w.depth++;
                                w.for_header = true;
                                continue;
                        }
                        if (token_is(&w.lx, &t, "case")) {
                                w.depth++;
                                w.in_case++;
                                w.case_header = true;
                                continue;
                        }
                        if (token_is(&w.lx, &t, "fi") || token_is(&w.lx, &t, "done") || token_is(&w.lx, &t, "}") ||
                            (w.in_case > 0 && token_is(&w.lx, &t, "esac"))) {
                                if (token_is(&w.lx, &t, "esac"))
                                        w.in_case--;
                                else if (w.empty)
                                        return walk_fail(&w, t.line, "a block without a command (a syntax error for sh)");
                                if (--w.depth < 0)
                                        return walk_fail(&w, t.line, "a block closed that was never opened");
                                w.empty = false;
                                w.have_command = true;
                                continue;
                        }
                        if (token_is(&w.lx, &t, "then") || token_is(&w.lx, &t, "else") || token_is(&w.lx, &t, "elif") ||
                            token_is(&w.lx, &t, "do")) {
                                if (w.empty)
                                        return walk_fail(&w, t.line, "a block without a command (a syntax error for sh)");
                                w.empty = true;
                                continue;
                        }
                        if (token_is(&w.lx, &t, "!")) {
                                w.negated = true;
                                continue;
                        }
                }
                if (t.type == TOKEN_WORD) {
                        /* A digit word right before a redirection is its file descriptor. */
                        if (t.end < w.lx.len && strchr("<>", s[t.end]) && strspn(s + t.start, "0123456789") == t.end - t.start)
                                continue;
                        if (w.n_words >= ELEMENTSOF(w.words))
                                return walk_fail(&w, t.line, "a command of too many words");
                        w.words[w.n_words++] = t;
                        continue;
                }
                if (t.type == TOKEN_OP && strchr("<>", s[t.start])) {
                        if (strneq(s + t.start, "<<", 2) && w.lx.n_heredocs < ELEMENTSOF(w.lx.delims)) {
                                /* Peek the delimiter: quotes and backslashes only say "no expansion". */
                                Lexer peek = w.lx;
                                Token d;
                                size_t n = 0;
                                r = next_token(&peek, &d);
                                if (r < 0)
                                        return r;
                                if (d.type != TOKEN_WORD)
                                        return walk_fail(&w, t.line, "a here-document without a delimiter");
                                for (size_t p = d.start; p < d.end && n < sizeof(w.lx.delims[0]) - 1; p++)
                                        if (!strchr("'\"\\", s[p]))
                                                w.lx.delims[w.lx.n_heredocs][n++] = s[p];
                                w.lx.delims[w.lx.n_heredocs][n] = '\0';
                                w.lx.expand[w.lx.n_heredocs] = n == d.end - d.start;
                                w.lx.strip_tabs[w.lx.n_heredocs++] = s[t.start + 2] == '-';
                        } else if (strneq(s + t.start, "<<", 2))
                                return walk_fail(&w, t.line, "too many here-documents on one line");
                        redirect_target = true;
                        continue;
                }
                if (t.type == TOKEN_OP && token_is(&w.lx, &t, "(") && w.in_case == 0) {
                        if (w.n_words == 1) {
                                /* NAME() body: a function; calling it runs what we cannot follow. */
                                Token c;
                                _cleanup_free_ char *fname = NULL;
                                r = next_token(&w.lx, &c);
                                if (r < 0)
                                        return r;
                                if (c.type != TOKEN_OP || !token_is(&w.lx, &c, ")"))
                                        return walk_fail(&w, t.line, "'(' after a word");
                                fname = strndup(s + w.words[0].start, w.words[0].end - w.words[0].start);
                                if (!fname || strv_consume(&functions, TAKE_PTR(fname)) < 0)
                                        return log_oom();
                                w.functions = functions;
                                w.n_words = 0;
                                continue;
                        }
                        if (w.n_words > 1)
                                return walk_fail(&w, t.line, "'(' inside a command");
                        w.depth++; /* a subshell */
                        w.empty = true;
                        continue;
                }
                if (t.type == TOKEN_OP && token_is(&w.lx, &t, "(") && w.in_case > 0)
                        continue; /* a pattern's optional '(' */
                /* A separator, ')' , a newline or the end: the command is complete. */
                if (t.type == TOKEN_OP && w.n_words == 0 && !w.have_command &&
                    (token_is(&w.lx, &t, ";") || token_is(&w.lx, &t, "&") || token_is(&w.lx, &t, "&&") ||
                     token_is(&w.lx, &t, "||") || token_is(&w.lx, &t, "|")))
                        return walk_fail(&w, t.line, "a separator without a command before it (a syntax error for sh)");
                r = walk_command(&w, &t);
                if (r < 0)
                        return r;
                if (w.n_words > 0)
                        w.empty = false;
                if (w.in_case > 0 && token_is(&w.lx, &t, ")")) {
                        /* The words were a pattern. */
                } else if (t.type == TOKEN_OP && token_is(&w.lx, &t, ")")) {
                        if (w.empty)
                                return walk_fail(&w, t.line, "a subshell without a command (a syntax error for sh)");
                        if (--w.depth < 0)
                                return walk_fail(&w, t.line, "a ')' that closes nothing");
                }
                /* After ')' comes a separator or a redirection, like after any command. */
                w.have_command = t.type == TOKEN_OP && token_is(&w.lx, &t, ")");
                w.n_words = 0;
                w.negated = false;
                w.prev_sep = t;
                if (t.type == TOKEN_EOF)
                        break;
        }
        if (w.for_header || w.case_header)
                return walk_fail(&w, w.lx.line, "ends inside a for or case header");
        l.unclosed = w.depth > 0 || w.lx.heredoc_open || w.lx.n_heredocs > 0;
        *ret = l;
        l = (AssignmentList) {};
        return 0;
}

/* The edits of one assignment's value, carried to the bytes of the file they came from: a cut
 * byte of the value deletes its source bytes (quotes around it stay, so the word stays one
 * word), the insertion goes where the value byte next to it was, inside its quotes, or quoted
 * itself where that was unquoted. */
static int splice_assignment(const char *text, const Assignment *a, char * const *owned, const Cmdline *append,
                             SyncJudge *judge, bool *del, size_t *ret_insert_at, char **ret_insert) {
        _cleanup_(cmdline_splice_done) CmdlineSplice sp = {};
        _cleanup_cmdline_ Cmdline *cur = NULL;
        Cmdline empty = {};
        char quote;
        size_t at;
        int r;

        *ret_insert = NULL;
        r = cmdline_parse(a->value, &cur);
        if (r < 0)
                return r;
        /* The one judgement: a value that already does what the profile does stays as written. */
        if (sync_judge_carries(judge, cur, owned, append ?: &empty))
                return 0;
        r = cmdline_splice_plan(a->value, NULL, 0, owned, append ?: &empty, &sp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sp.n_cuts; i++)
                for (size_t j = sp.cut_start[i]; j < sp.cut_end[i]; j++)
                        for (size_t b = a->src_start[j]; b < a->src_end[j]; b++)
                                del[b] = true;
        /* A line continuation between cut bytes goes with them (else "a \<newline>  iommu=off"
         * would leave a dangling continuation before the closing quote). */
        for (size_t c = a->word_start; sp.n_cuts > 0 && c + 1 < a->word_end; c++) {
                size_t prev = SIZE_MAX, next = SIZE_MAX;
                bool covered = false;

                if (text[c] != '\\' || text[c + 1] != '\n')
                        continue;
                for (size_t j = 0; j < a->n_value; j++) {
                        covered = covered || (a->src_start[j] <= c && c < a->src_end[j]);
                        if (a->src_end[j] <= c)
                                prev = j;
                        else if (a->src_start[j] >= c + 2 && next == SIZE_MAX)
                                next = j;
                }
                if (covered || (prev == SIZE_MAX && next == SIZE_MAX))
                        continue;
                if ((prev == SIZE_MAX || del[a->src_start[prev]]) && (next == SIZE_MAX || del[a->src_start[next]]))
                        del[c] = del[c + 1] = true;
                c++;
        }
        *ret_insert = NULL;
        if (!sp.insert)
                return 0;
        if (a->n_value == 0) {
                bool quoted = a->word_end - a->word_start >= 2 && strchr("'\"", text[a->word_start]);
                at = quoted ? a->word_start + 1 : a->word_start;
                quote = quoted ? text[a->word_start] : 0;
        } else if (sp.insert_at < a->n_value) {
                at = a->src_start[sp.insert_at];
                quote = a->quote[sp.insert_at];
        } else {
                at = a->src_end[a->n_value - 1];
                quote = a->quote[a->n_value - 1];
        }
        /* Profile tokens are checked safe (no quote, '$', '\\'...): literal inside either quote. */
        if (quote == '\'' || quote == '"')
                *ret_insert = TAKE_PTR(sp.insert);
        else if (asprintf(ret_insert, "\"%s\"", sp.insert) < 0)
                return -ENOMEM;
        *ret_insert_at = at;
        return 0;
}

int grub_defaults_rewrite(const char *path, const char *text, char * const *owned, const Cmdline *append, SyncJudge *judge,
                          GrubRewriteResult *ret) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        _cleanup_free_ char *out = NULL, *insert = NULL;
        _cleanup_free_ bool *del = NULL;
        size_t last_linux = SIZE_MAX, len = strlen(text), insert_at = SIZE_MAX, n = 0;
        GrubRewriteResult res = {};
        int r;

        r = parse_assignments(path, text, grub_vars, &l);
        if (r < 0)
                return r;
        /* What runs after the last assignment (". file", source, eval) can set it again. A new
         * assignment appended at the end comes after all of them. */
        if (l.override_at != SIZE_MAX && l.n > 0 && l.override_at > l.items[l.n - 1].word_start)
                return log_error_errno(-EINVAL, "%s:%u: sources another file or runs eval, which can override "
                                       "GRUB_CMDLINE_LINUX after the lines iommuctl rewrites; cannot rewrite it safely. "
                                       "Nothing was changed.", path, l.override_line);
        for (size_t i = 0; i < l.n; i++)
                if (streq(l.items[i].name, "GRUB_CMDLINE_LINUX")) {
                        last_linux = i;
                        if (!l.items[i].self_ref) {
                                res.sets_linux = true;
                                res.sets_linux_line = l.items[i].line;
                        }
                }
        if (append && last_linux == SIZE_MAX && l.override_at != SIZE_MAX)
                return log_error_errno(-EINVAL, "%s:%u: GRUB_CMDLINE_LINUX may come from what this line sources or runs; "
                                       "an assignment added at the end would overwrite it. Add GRUB_CMDLINE_LINUX=\"...\" "
                                       "after it and run iommuctl apply again. Nothing was changed.", path, l.override_line);

        del = calloc(len + 1, sizeof(bool));
        if (!del)
                return -ENOMEM;
        bool dashdash[ELEMENTSOF(grub_vars) - 1] = {};
        for (size_t i = 0; i < l.n; i++) {
                Assignment *a = &l.items[i];
                _cleanup_free_ char *ins = NULL;
                size_t at = SIZE_MAX, k = streq(a->name, grub_vars[0]) ? 0 : 1;
                bool init_only = false;

                /* A " -- " hands the rest of the composed line to init: an assignment that
                 * continues a value holding one adds only init's words. */
                {
                        _cleanup_cmdline_ Cmdline *c = NULL;
                        const char *ref = strstr(a->value, (const char[]) { ESC, SELF_REF, '\0' });
                        bool has = false;

                        if (cmdline_parse(a->value, &c) < 0)
                                return log_oom();
                        has = c->init_args;
                        if (a->self_ref && ((has && ref && (size_t) (ref - a->value) > c->init_start) ||
                                            (dashdash[k] && ref != a->value)))
                                return log_error_errno(-EINVAL, "%s:%u: %s continues a value around a ' -- ', which hands "
                                                       "what follows to init; cannot rewrite it safely. Nothing was changed.",
                                                       path, a->line, a->name);
                        init_only = a->self_ref && dashdash[k];
                        if (init_only && i == last_linux && append)
                                return log_error_errno(-EINVAL, "%s:%u: GRUB_CMDLINE_LINUX holds a ' -- ' from an earlier line, "
                                                       "so what this line adds goes to init; put the kernel parameters before "
                                                       "the ' -- '. Nothing was changed.", path, a->line);
                        dashdash[k] = a->self_ref ? dashdash[k] || has : has;
                        if (k == 0) {
                                res.linux_dashdash = dashdash[k];
                                res.linux_dashdash_line = a->line;
                        }
                }
                if (init_only)
                        continue;

                r = splice_assignment(text, a, owned, i == last_linux ? append : NULL, judge, del, &at, &ins);
                if (r == -EBADMSG)
                        return log_error_errno(r, "%s:%u: %s has an unterminated quote inside its value; nothing was changed.",
                                               path, a->line, a->name);
                if (r < 0)
                        return log_error_errno(r, "%s:%u: failed to rewrite %s: %m; nothing was changed.", path, a->line, a->name);
                if (ins) {
                        insert = TAKE_PTR(ins);
                        insert_at = at;
                }
        }
        /* A backslash that stands for itself inside "..." must not come to stand before a byte it
         * would escape once the bytes between them are gone. */
        for (size_t i = 0; i < l.n; i++) {
                const Assignment *a = &l.items[i];
                for (size_t j = 0; j < a->n_value; j++) {
                        size_t p = a->src_end[j];
                        if (a->value[j] != '\\' || a->quote[j] != '"' || p - a->src_start[j] != 1 || del[a->src_start[j]])
                                continue;
                        while (p < len && del[p])
                                p++;
                        if (insert && insert_at >= a->src_end[j] && insert_at <= p)
                                continue; /* the inserted tokens come between */
                        if (p > a->src_end[j] && p < len && strchr("$`\"\\\n", text[p]))
                                return log_error_errno(-EINVAL, "%s:%u: removing the IOMMU tokens would put a backslash of %s "
                                                       "before a '%c' it would then escape; write it as '\\\\'. Nothing was "
                                                       "changed.", path, a->line, a->name, text[p] == '\n' ? ' ' : text[p]);
                }
        }
        if (append && last_linux != SIZE_MAX) {
                /* The kernel's limit, on the value the shell will assign. */
                size_t kept = 0;
                for (size_t j = 0; j < l.items[last_linux].n_value; j++)
                        kept += !del[l.items[last_linux].src_start[j]];
                if (kept + (insert ? strlen(insert) : 0) > COMMAND_LINE_MAX)
                        return log_error_errno(-E2BIG, "%s:%u: GRUB_CMDLINE_LINUX would be longer than the kernel accepts; "
                                               "nothing was changed.", path, l.items[last_linux].line);
        }

        out = malloc(len + (insert ? strlen(insert) : 0) + 1);
        if (!out)
                return -ENOMEM;
        for (size_t p = 0; p <= len; p++) {
                if (insert && p == insert_at) {
                        memcpy(out + n, insert, strlen(insert));
                        n += strlen(insert);
                }
                if (p < len && !del[p])
                        out[n++] = text[p];
        }
        out[n] = '\0';

        if (append && last_linux == SIZE_MAX && l.unclosed)
                return log_error_errno(-EINVAL, "%s: ends inside an unclosed block (if/case/loop, { }, a subshell or a here-document); cannot "
                                       "append GRUB_CMDLINE_LINUX safely. Nothing was changed.", path);
        if (append && last_linux == SIZE_MAX) {
                _cleanup_free_ char *tokens = cmdline_to_string(append), *t = NULL;
                /* After a line that ends in a continuation, an empty line first, or the new
                 * assignment would become part of it. */
                size_t ol = strlen(out), bs = 0;
                while (ol >= 2 + bs && out[ol - 2 - bs] == '\\')
                        bs++;
                if (!tokens || asprintf(&t, "%s%sGRUB_CMDLINE_LINUX=\"%s\"\n", out,
                                        isempty(out) ? "" : !endswith(out, "\n") ? "\n" : bs % 2 == 1 ? "\n" : "", tokens) < 0)
                        return -ENOMEM;
                free(out);
                out = TAKE_PTR(t);
        }
        res.text = TAKE_PTR(out);
        *ret = res;
        return 0;
}

static char *value_undecoded(const char *value, const char *previous) {
        _cleanup_free_ char *v = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&v, &n);

        if (!f)
                return NULL;
        for (const char *p = value; *p; p++) {
                if (*p == ESC && p[1] == SELF_REF) {
                        p++;
                        if (previous)
                                fputs(previous, f);
                        continue;
                }
                if (*p == ESC && p[1] == ESC)
                        p++;
                fputc(*p, f);
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(v);
}

int grub_defaults_values(const char *path, const char *text, char ***ret_values, unsigned **ret_lines, size_t *ret_n) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        int r;

        r = parse_assignments(path, text, grub_vars, &l);
        if (r < 0)
                return r;
        lines = calloc(l.n ?: 1, sizeof(unsigned));
        if (!lines)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
                lines[i] = l.items[i].line;
                /* "$NAME": what came before, not a token. */
                r = strv_consume(&values, value_undecoded(l.items[i].value, NULL));
                if (r < 0)
                        return r;
        }
        *ret_values = TAKE_PTR(values);
        *ret_lines = TAKE_PTR(lines);
        *ret_n = l.n;
        return 0;
}

/* NAME's value after the file's assignments to it, in order, starting from initial ("$NAME" in a
 * value is what came before); *ret_line is the last assignment's line, 0 when there is none. */
static int fold_assignments(const char *path, const char *text, const char *name, const char *initial, char **ret,
                            unsigned *ret_line) {
        _cleanup_(assignment_list_done) AssignmentList l = {};
        _cleanup_free_ char *cur = NULL;
        unsigned line = 0;
        int r;

        r = parse_assignments(path, text, (const char * const[]) { name, NULL }, &l);
        if (r < 0)
                return r;
        if (l.override_at != SIZE_MAX)
                return -EUCLEAN; /* sources or runs something: not known from this file alone */
        cur = strdup(initial ?: "");
        if (!cur)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
                char *v;
                if (!streq(l.items[i].name, name))
                        continue;
                v = value_undecoded(l.items[i].value, cur);
                if (!v)
                        return -ENOMEM;
                free(cur);
                cur = v;
                line = l.items[i].line;
        }
        *ret = TAKE_PTR(cur);
        *ret_line = line;
        return 0;
}

int grub_defaults_value(const char *path, const char *text, const char *name, const char *prev, char **ret,
                        unsigned *ret_line) {
        _cleanup_free_ char *cur = NULL;
        unsigned line;
        int r;

        r = fold_assignments(path, text, name, prev, &cur, &line);
        if (r < 0)
                return r;
        if (line == 0)
                return -ENOENT;
        *ret = TAKE_PTR(cur);
        if (ret_line)
                *ret_line = line;
        return 0;
}

int grub_defaults_final_value(const char *path, const char *text, const char *name, const char *initial, char **ret) {
        unsigned line;

        return fold_assignments(path, text, name, initial, ret, &line);
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

bool boot_grub_detect(const Root *root) {
        return root_exists(root, GRUB_DEFAULTS);
}

bool boot_grub_is_debian(const Root *root) {
        return root_exists(root, "/etc/debian_version");
}

static int rewrite_file(const Root *root, const char *path, char * const *owned, const Cmdline *append, SyncJudge *judge,
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

int boot_grub_plan(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *profile,
                   ChangeSet *cs) {
        _cleanup_free_ char *dir = root_display(root, GRUB_DROPIN_DIR), *dropin = NULL, *dashdash_at = NULL;
        _cleanup_strv_free_ char **names = NULL;
        bool dashdash = false;
        bool debian = boot_grub_is_debian(root);
        int r;

        if (!dir)
                return log_oom();
        {
                GrubRewriteResult res = {};
                /* Debian: the drop-in carries the tokens; elsewhere /etc/default/grub itself. */
                r = rewrite_file(root, GRUB_DEFAULTS, owned, debian ? NULL : wanted, judge, cs, &res);
                if (r >= 0 && res.linux_dashdash) {
                        _cleanup_free_ char *full = root_display(root, GRUB_DEFAULTS);
                        dashdash = true;
                        if (!full || asprintf(&dashdash_at, "%s:%u", full, res.linux_dashdash_line) < 0)
                                r = log_oom();
                }
                grub_rewrite_result_done(&res);
                if (r < 0)
                        return r;
        }
        if (!debian)
                return 0;

        /* The drop-ins as the "*.cfg" loop in grub-mkconfig sees them: listed
         * through the root handle, sorted bytewise (never a glob on a path built from the root). */
        r = root_list_dir(root, GRUB_DROPIN_DIR, ".cfg", &names);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to list %s: %m", dir);
        STRV_FOREACH(n, names) {
                const char *name = *n;
                _cleanup_free_ char *path = NULL;
                GrubRewriteResult res = {};

                if (streq(name, "60-iommu.cfg"))
                        continue;
                if (asprintf(&path, "%s/%s", GRUB_DROPIN_DIR, name) < 0)
                        return log_oom();
                r = rewrite_file(root, path, owned, NULL, judge, cs, &res);
                if (r >= 0 && strcmp(name, "60-iommu.cfg") < 0) {
                        /* The drop-in appends to what the files before it leave. */
                        if (res.sets_linux)
                                dashdash = false;
                        if (res.linux_dashdash) {
                                dashdash = true;
                                free(dashdash_at);
                                if (asprintf(&dashdash_at, "%s/%s:%u", dir, name, res.linux_dashdash_line) < 0)
                                        r = log_oom();
                        }
                }
                if (r >= 0 && res.sets_linux && strcmp(name, "60-iommu.cfg") > 0)
                        r = log_error_errno(-EINVAL, "%s/%s:%u: sets GRUB_CMDLINE_LINUX after %s and would discard the "
                                            "profile's tokens; make it append (GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX ...\") "
                                            "and run iommuctl apply again. Nothing was changed.", dir, name,
                                            res.sets_linux_line, GRUB_DROPIN);
                grub_rewrite_result_done(&res);
                if (r < 0)
                        return r;
        }
        if (dashdash)
                return log_error_errno(-EINVAL, "%s: GRUB_CMDLINE_LINUX holds a ' -- ', after which the kernel hands everything "
                                       "to init, and %s would append the profile's tokens after it. Move the ' -- ' and what "
                                       "follows into GRUB_CMDLINE_LINUX_DEFAULT and run iommuctl apply again. Nothing was "
                                       "changed.", dashdash_at, GRUB_DROPIN);

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
static int grub_cfg_path(const Root *root, char **ret) {
        int r;

        /* The one answer status reads the menu from (bootspec.c). */
        r = bootspec_find_grub_cfg(root, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        *ret = strdup(root_exists(root, "/boot/grub2") ? "/boot/grub2/grub.cfg" : "/boot/grub/grub.cfg");
        return *ret ? 0 : -ENOMEM;
}

int boot_grub_find_regenerate(const Root *root, GrubPlan *ret) {
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
