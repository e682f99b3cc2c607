/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cmdline.h"
#include "strv.h"

/* The kernel's isspace() (lib/ctype.c) also counts 0xA0, Latin-1's no-break space. */
static bool kernel_isspace(char c) {
        unsigned char u = (unsigned char) c;
        return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xA0;
}

static const char *skip_spaces(const char *s) {
        while (kernel_isspace(*s))
                s++;
        return s;
}

static void token_done(CmdlineToken *t) {
        free(t->text);
        free(t->key);
        free(t->value);
}

Cmdline *cmdline_free(Cmdline *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_tokens; i++)
                token_done(&c->tokens[i]);
        free(c->tokens);
        free(c->init_args);
        free(c);
        return NULL;
}

int cmdline_normalize_key(const char *key, char **ret) {
        char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        for (char *p = k; *p; p++)
                if (*p == '-')
                        *p = '_';
        *ret = k;
        return 0;
}

bool cmdline_key_equal(const char *a, const char *b) {
        for (;; a++, b++) {
                char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
                if (x != y)
                        return false;
                if (!x)
                        return true;
        }
}

bool cmdline_token_equal(const CmdlineToken *a, const CmdlineToken *b) {
        if (!cmdline_key_equal(a->key, b->key))
                return false;
        if (!a->value || !b->value)
                return !a->value && !b->value;
        return streq(a->value, b->value);
}

static int push_token(Cmdline *c, CmdlineToken *t) {
        CmdlineToken *n = realloc(c->tokens, sizeof(CmdlineToken) * (c->n_tokens + 1));
        if (!n)
                return -ENOMEM;
        c->tokens = n;
        c->tokens[c->n_tokens++] = *t;
        *t = (CmdlineToken) {};
        return 0;
}

/* One step of lib/cmdline.c:next_arg(), on copies: the input is not modified. Returns the
 * position after the token and its trailing whitespace. */
static const char *next_arg(const char *args, CmdlineToken *ret) {
        _cleanup_free_ char *param = NULL, *text = NULL;
        const char *a = args;
        char *val = NULL;
        size_t k, equals = 0;
        bool in_quote = false, quoted = false;

        if (*a == '"') {
                a++;
                in_quote = quoted = true;
        }
        for (k = 0; a[k]; k++) {
                if (kernel_isspace(a[k]) && !in_quote)
                        break;
                if (equals == 0 && a[k] == '=')
                        equals = k;
                if (a[k] == '"')
                        in_quote = !in_quote;
        }

        text = strndup(args, (a - args) + k);
        param = strndup(a, k);
        if (!text || !param)
                return NULL;
        if (equals > 0) {
                param[equals] = '\0';
                val = param + equals + 1;
                /* Don't include quotes in the value. */
                if (*val == '"') {
                        val++;
                        if (param[k - 1] == '"')
                                param[k - 1] = '\0';
                }
        }
        if (quoted && k > 0 && param[k - 1] == '"')
                param[k - 1] = '\0';

        *ret = (CmdlineToken) {};
        if (val) {
                ret->value = strdup(val);
                if (!ret->value)
                        return NULL;
        }
        if (cmdline_normalize_key(param, &ret->key) < 0) {
                ret->value = mfree(ret->value);
                return NULL;
        }
        ret->text = TAKE_PTR(text);
        return skip_spaces(a + k);
}

int cmdline_parse(const char *s, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        const char *base;

        c = calloc(1, sizeof(Cmdline));
        if (!c)
                return -ENOMEM;

        s = s ?: "";
        base = s;
        s = skip_spaces(s);
        while (*s) {
                CmdlineToken t = {};
                const char *next = next_arg(s, &t);

                if (!next)
                        return -ENOMEM;
                t.start = s - base;
                t.end = t.start + strlen(t.text);
                if (!t.value && (streq(t.text, "--") || streq(t.text, "\"--\""))) {
                        c->init_start = t.start;
                        size_t n = strlen(next);

                        token_done(&t);
                        while (n > 0 && kernel_isspace(next[n - 1]))
                                n--;
                        c->init_args = strndup(next, n);
                        if (!c->init_args)
                                return -ENOMEM;
                        break;
                }
                if (push_token(c, &t) < 0) {
                        token_done(&t);
                        return -ENOMEM;
                }
                s = next;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

char *cmdline_to_string(const Cmdline *c) {
        size_t n = 1;
        char *r, *p;

        for (size_t i = 0; i < c->n_tokens; i++)
                n += strlen(c->tokens[i].text) + 1;
        if (c->init_args)
                n += strlen(c->init_args) + 4;
        r = p = malloc(n);
        if (!r)
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < c->n_tokens; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = stpcpy(p, c->tokens[i].text);
        }
        if (c->init_args) {
                p = stpcpy(p, c->n_tokens > 0 ? " --" : "--");
                if (c->init_args[0]) {
                        *p++ = ' ';
                        p = stpcpy(p, c->init_args);
                }
        }
        return r;
}

const CmdlineToken *cmdline_find_last(const Cmdline *c, const char *key) {
        for (size_t i = c->n_tokens; i > 0; i--)
                if (cmdline_key_equal(c->tokens[i - 1].key, key))
                        return &c->tokens[i - 1];
        return NULL;
}

bool cmdline_has_key(const Cmdline *c, const char *key) {
        return cmdline_find_last(c, key);
}

static int token_copy(const CmdlineToken *src, CmdlineToken *ret) {
        *ret = (CmdlineToken) {
                .text = strdup(src->text),
                .key = strdup(src->key),
                .value = src->value ? strdup(src->value) : NULL,
                .start = src->start,
                .end = src->end,
        };
        if (!ret->text || !ret->key || (src->value && !ret->value)) {
                token_done(ret);
                return -ENOMEM;
        }
        return 0;
}

int cmdline_append(Cmdline *c, const Cmdline *src) {
        for (size_t i = 0; i < src->n_tokens; i++) {
                CmdlineToken t;
                int r = token_copy(&src->tokens[i], &t);
                if (r < 0)
                        return r;
                r = push_token(c, &t);
                if (r < 0) {
                        token_done(&t);
                        return r;
                }
        }
        return 0;
}

static bool key_is_owned(const char *key, char * const *owned_keys) {
        STRV_FOREACH(k, owned_keys)
                if (cmdline_key_equal(key, *k))
                        return true;
        return false;
}

bool cmdline_contains_token(const Cmdline *c, const CmdlineToken *t) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_token_equal(&c->tokens[i], t))
                        return true;
        return false;
}

bool cmdline_in_sync(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        /* As sets: order never matters. */
        for (size_t j = 0; j < wanted->n_tokens; j++)
                if (!cmdline_contains_token(current, &wanted->tokens[j]))
                        return false;
        for (size_t i = 0; i < current->n_tokens; i++)
                if (key_is_owned(current->tokens[i].key, owned_keys) && !cmdline_contains_token(wanted, &current->tokens[i]))
                        return false;
        return true;
}

const CmdlineToken *cmdline_find_unterminated(const Cmdline *c) {
        for (size_t i = 0; i < c->n_tokens; i++) {
                unsigned quotes = 0;
                for (const char *p = c->tokens[i].text; *p; p++)
                        quotes += *p == '"';
                if (quotes % 2)
                        return &c->tokens[i];
        }
        return NULL;
}

int cmdline_merge(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *m = NULL;
        _cleanup_free_ char *s = NULL;
        bool sync;
        int r;

        /* An open quote swallows the rest of the line: anything appended would end up inside it. */
        if (cmdline_find_unterminated(current) || cmdline_find_unterminated(wanted))
                return -EBADMSG;

        m = calloc(1, sizeof(Cmdline));
        if (!m)
                return -ENOMEM;

        sync = cmdline_in_sync(current, owned_keys, wanted);
        for (size_t i = 0; i < current->n_tokens; i++) {
                CmdlineToken t;

                if (!sync && key_is_owned(current->tokens[i].key, owned_keys))
                        continue;
                r = token_copy(&current->tokens[i], &t);
                if (r < 0)
                        return r;
                r = push_token(m, &t);
                if (r < 0) {
                        token_done(&t);
                        return r;
                }
        }
        if (!sync) {
                r = cmdline_append(m, wanted);
                if (r < 0)
                        return r;
        }
        if (current->init_args) {
                m->init_args = strdup(current->init_args);
                if (!m->init_args)
                        return -ENOMEM;
        }

        s = cmdline_to_string(m);
        if (!s)
                return -ENOMEM;
        if (strlen(s) > COMMAND_LINE_MAX)
                return -E2BIG;

        *ret = TAKE_PTR(m);
        return 0;
}

void cmdline_splice_done(CmdlineSplice *sp) {
        free(sp->cut_start);
        free(sp->cut_end);
        free(sp->insert);
        *sp = (CmdlineSplice) {};
}

static bool is_ascii_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_segment_start(size_t pos, const size_t *starts, size_t n) {
        if (pos == 0)
                return true;
        for (size_t i = 0; i < n; i++)
                if (starts[i] == pos)
                        return true;
        return false;
}

static int push_cut(CmdlineSplice *sp, size_t a, size_t b) {
        size_t *x, *y;

        /* Tokens come in order: a cut can only touch the one before it. */
        if (sp->n_cuts > 0 && a <= sp->cut_end[sp->n_cuts - 1]) {
                if (b > sp->cut_end[sp->n_cuts - 1])
                        sp->cut_end[sp->n_cuts - 1] = b;
                return 0;
        }
        x = reallocarray(sp->cut_start, sp->n_cuts + 1, sizeof(size_t));
        if (!x)
                return -ENOMEM;
        sp->cut_start = x;
        y = reallocarray(sp->cut_end, sp->n_cuts + 1, sizeof(size_t));
        if (!y)
                return -ENOMEM;
        sp->cut_end = y;
        sp->cut_start[sp->n_cuts] = a;
        sp->cut_end[sp->n_cuts++] = b;
        return 0;
}

static bool in_cut(const CmdlineSplice *sp, size_t pos) {
        for (size_t i = 0; i < sp->n_cuts; i++)
                if (pos >= sp->cut_start[i] && pos < sp->cut_end[i])
                        return true;
        return false;
}

int cmdline_splice_plan(const char *line, const size_t *segment_starts, size_t n_segments, char * const *owned_keys,
                        const Cmdline *wanted, CmdlineSplice *ret) {
        _cleanup_(cmdline_splice_done) CmdlineSplice sp = {};
        _cleanup_cmdline_ Cmdline *cur = NULL;
        _cleanup_free_ char *tokens = NULL;
        size_t len = strlen(line), at;
        int r;

        r = cmdline_parse(line, &cur);
        if (r < 0)
                return r;
        /* An open quote swallows the rest of the line: anything added would end up inside it. */
        if (cmdline_find_unterminated(cur) || cmdline_find_unterminated(wanted))
                return -EBADMSG;
        if (cmdline_in_sync(cur, owned_keys, wanted)) {
                *ret = (CmdlineSplice) {};
                return 0;
        }

        for (size_t i = 0; i < cur->n_tokens; i++) {
                size_t a = cur->tokens[i].start, b = cur->tokens[i].end, l = a;

                if (!key_is_owned(cur->tokens[i].key, owned_keys))
                        continue;
                /* With the blanks before it; the first of a line takes the blanks after it instead,
                 * so the line keeps its indentation. Only ASCII blanks: a 0xA0 may be half of a
                 * UTF-8 character the kernel splits but people and boot loaders read whole. */
                while (l > 0 && is_ascii_blank(line[l - 1]) && !is_segment_start(l, segment_starts, n_segments))
                        l--;
                if (!is_segment_start(a, segment_starts, n_segments) && !is_segment_start(l, segment_starts, n_segments))
                        a = l;
                else
                        while (b < len && is_ascii_blank(line[b]) && !is_segment_start(b + 1, segment_starts, n_segments))
                                b++;
                r = push_cut(&sp, a, b);
                if (r < 0)
                        return r;
        }

        if (wanted->n_tokens > 0) {
                tokens = cmdline_to_string(wanted);
                if (!tokens)
                        return -ENOMEM;
                if (cur->init_args) {
                        /* Before "--": what follows it is init's. */
                        at = cur->init_start;
                        if (asprintf(&sp.insert, "%s ", tokens) < 0)
                                return -ENOMEM;
                } else {
                        size_t k;

                        at = len;
                        while (at > 0 && strchr(" \t\n\r\v\f", line[at - 1]))
                                at--;
                        /* A separator unless what stays before it already ends in one. */
                        for (k = at; k > 0 && in_cut(&sp, k - 1); k--)
                                ;
                        if (asprintf(&sp.insert, "%s%s", k > 0 && !strchr(" \t\n\r\v\f", line[k - 1]) ? " " : "", tokens) < 0)
                                return -ENOMEM;
                }
                sp.insert_at = at;
        }
        *ret = sp;
        sp = (CmdlineSplice) {};
        return 0;
}

int cmdline_splice_apply(const char *line, size_t from, size_t to, const CmdlineSplice *sp, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        out = malloc(to - from + (sp->insert ? strlen(sp->insert) : 0) + 1);
        if (!out)
                return -ENOMEM;
        for (size_t p = from; p <= to; p++) {
                if (sp->insert && p == sp->insert_at) {
                        memcpy(out + n, sp->insert, strlen(sp->insert));
                        n += strlen(sp->insert);
                }
                if (p < to && !in_cut(sp, p))
                        out[n++] = line[p];
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

int cmdline_splice(const char *line, char * const *owned_keys, const Cmdline *wanted, char **ret) {
        _cleanup_(cmdline_splice_done) CmdlineSplice sp = {};
        _cleanup_free_ char *out = NULL;
        int r;

        r = cmdline_splice_plan(line, NULL, 0, owned_keys, wanted, &sp);
        if (r < 0)
                return r;
        r = cmdline_splice_apply(line, 0, strlen(line), &sp, &out);
        if (r < 0)
                return r;
        if (strlen(out) > COMMAND_LINE_MAX)
                return -E2BIG;
        *ret = TAKE_PTR(out);
        return 0;
}

int cmdline_token_check_safe(const char *text, char *ret_bad) {
        /* Letters, digits and the punctuation kernel parameters use. Everything else (quotes, '$',
         * '`', '\\', ';', '&', '|', '<', '>', '#', parentheses, braces, whitespace, control and
         * non-ASCII bytes) could mean something to GRUB's or a shell's parser. */
        static const char allowed_punct[] = "_-.,:=/+@%~";

        if (isempty(text)) {
                if (ret_bad)
                        *ret_bad = '\0';
                return -EINVAL;
        }
        for (const char *p = text; *p; p++) {
                unsigned char u = (unsigned char) *p;
                if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9'))
                        continue;
                if (strchr(allowed_punct, u))
                        continue;
                if (ret_bad)
                        *ret_bad = *p;
                return -EINVAL;
        }
        return 0;
}

int cmdline_check_safe(const Cmdline *c, const char **ret_token, char *ret_bad) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_token_check_safe(c->tokens[i].text, ret_bad) < 0) {
                        if (ret_token)
                                *ret_token = c->tokens[i].text;
                        return -EINVAL;
                }
        if (c->init_args) {
                if (ret_token)
                        *ret_token = "--";
                if (ret_bad)
                        *ret_bad = '-';
                return -EINVAL;
        }
        return 0;
}
