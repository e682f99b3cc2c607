/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cmdline.h"
#include "params.h"
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

/* A token's strings are one allocation: text, then key and value inside a copy of the parameter. */
static void token_done(CmdlineToken *t) {
        free(t->text);
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

static bool key_dash(char c) {
        return c == '-' || c == '_';
}

bool cmdline_key_equal(const char *a, const char *b) {
        /* Equal bytes first: '-' and '_' are compared alike only where the two differ. */
        for (;; a++, b++) {
                if (*a == *b) {
                        if (!*a)
                                return true;
                } else if (!key_dash(*a) || !key_dash(*b))
                        return false;
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
        /* Grown by doubling, the room implied by n_tokens (4, then the next power of two): every
         * token array grows here, and one that shrank still has at least that room. */
        if (c->n_tokens == 0 || (c->n_tokens >= 4 && (c->n_tokens & (c->n_tokens - 1)) == 0)) {
                CmdlineToken *n = reallocarray(c->tokens, c->n_tokens < 4 ? 4 : c->n_tokens * 2, sizeof(CmdlineToken));
                if (!n)
                        return -ENOMEM;
                c->tokens = n;
        }
        c->tokens[c->n_tokens++] = *t;
        *t = (CmdlineToken) {};
        return 0;
}

/* One step of lib/cmdline.c:next_arg(), on copies: the input is not modified. Returns the
 * position after the token and its trailing whitespace. */
static const char *next_arg(const char *args, CmdlineToken *ret) {
        _cleanup_free_ char *text = NULL;
        char *param;
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

        text = malloc((a - args) + k + 1 + k + 1);
        if (!text)
                return NULL;
        memcpy(text, args, (a - args) + k);
        text[(a - args) + k] = '\0';
        param = text + (a - args) + k + 1;
        memcpy(param, a, k);
        param[k] = '\0';
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

        /* The key is what is left of param, normalized in place. */
        for (char *p = param; *p; p++)
                if (*p == '-')
                        *p = '_';
        *ret = (CmdlineToken) { .key = param, .value = val };
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
        size_t lt = strlen(src->text) + 1, lk = strlen(src->key) + 1, lv = src->value ? strlen(src->value) + 1 : 0;
        char *b = malloc(lt + lk + lv);

        if (!b)
                return -ENOMEM;
        *ret = (CmdlineToken) {
                .text = memcpy(b, src->text, lt),
                .key = memcpy(b + lt, src->key, lk),
                .value = src->value ? memcpy(b + lt + lk, src->value, lv) : NULL,
                .start = src->start,
                .end = src->end,
        };
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
        /* The first byte first: most tokens of a line start unlike every owned key. */
        STRV_FOREACH(k, owned_keys)
                if (((*k)[0] == key[0] || (key_dash((*k)[0]) && key_dash(key[0]))) && cmdline_key_equal(key, *k))
                        return true;
        return false;
}

/* "KEY=OPTION" owner entries: whether entry names key, and the option it owns. */
/* OPTION of an owned_keys entry "KEY=OPTION" whose KEY is key ('-' and '_' alike), else NULL. */
static const char *owner_option(const char *entry, const char *key) {
        for (const char *a = entry, *b = key;; a++, b++) {
                if (*a == '=') /* the end of KEY */
                        return *b == '\0' ? a + 1 : NULL;
                if (*a == *b) {
                        if (!*a)
                                return NULL;
                } else if (!key_dash(*a) || !key_dash(*b))
                        return NULL;
        }
}

bool cmdline_key_has_owned_options(const char *key, char * const *owned_keys) {
        /* Only KEY=OPTION entries can answer yes: for the static list, just those. */
        if (owned_keys == iommu_owned_keys)
                owned_keys = iommu_owned_option_entries;
        STRV_FOREACH(o, owned_keys)
                if (owner_option(*o, key))
                        return true;
        return false;
}

/* item: one comma-separated option of a key=value ("disable_acs_redir=0000:00:01.0", "noaer").
 * The kernel compares option names exactly (pci_setup()'s strncmp()), so this does too. */
static bool option_is_owned(const char *key, const char *item, size_t n_item, char * const *owned_keys) {
        size_t name = strcspn(item, "=,");

        if (name > n_item)
                name = n_item;
        STRV_FOREACH(o, owned_keys) {
                const char *opt = owner_option(*o, key);
                if (opt && strlen(opt) == name && strneq(opt, item, name))
                        return true;
        }
        return false;
}

CmdlineOwnership cmdline_token_ownership(const CmdlineToken *t, char * const *owned_keys) {
        size_t total = 0, owned = 0;

        if (!cmdline_key_has_owned_options(t->key, owned_keys))
                return key_is_owned(t->key, owned_keys) ? CMDLINE_OWNED_WHOLE : CMDLINE_NOT_OWNED;
        if (!t->value)
                return CMDLINE_NOT_OWNED;
        for (const char *p = t->value; *p; ) {
                size_t n = strcspn(p, ",");
                if (n > 0) {
                        total++;
                        owned += option_is_owned(t->key, p, n, owned_keys);
                }
                p += n + (p[n] == ',');
        }
        return owned == 0 ? CMDLINE_NOT_OWNED : owned == total ? CMDLINE_OWNED_WHOLE : CMDLINE_OWNED_PART;
}

int cmdline_token_strip_owned(const CmdlineToken *t, char * const *owned_keys, char **ret) {
        _cleanup_free_ char *rest = NULL;
        size_t n_rest = 0;
        bool quoted = t->text[0] == '"';
        const char *key_start = t->text + quoted, *eq = strchr(key_start, '=');

        if (!t->value || !eq)
                return -EINVAL;
        rest = malloc(strlen(t->value) + 1);
        if (!rest)
                return -ENOMEM;
        for (const char *p = t->value; *p; ) {
                size_t n = strcspn(p, ",");
                if (n > 0 && !option_is_owned(t->key, p, n, owned_keys)) {
                        if (n_rest > 0)
                                rest[n_rest++] = ',';
                        memcpy(rest + n_rest, p, n);
                        n_rest += n;
                }
                p += n + (p[n] == ',');
        }
        rest[n_rest] = '\0';
        if (asprintf(ret, "%s%.*s=%s%s", quoted ? "\"" : "", (int) (eq - key_start), key_start, rest, quoted ? "\"" : "") < 0)
                return -ENOMEM;
        return 0;
}

static int units_add(char ***l, const char *key, const char *value, size_t n_value) {
        char *u;

        if (value) {
                if (asprintf(&u, "%s=%.*s", key, (int) n_value, value) < 0)
                        return -ENOMEM;
        } else if (!(u = strdup(key)))
                return -ENOMEM;
        if (strv_contains(*l, u)) {
                free(u);
                return 0;
        }
        return strv_consume(l, u);
}

int cmdline_units(const Cmdline *c, char * const *owned_keys, bool only_owned, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < c->n_tokens; i++) {
                const CmdlineToken *t = &c->tokens[i];

                if (!t->value || !cmdline_key_has_owned_options(t->key, owned_keys)) {
                        if (only_owned && !key_is_owned(t->key, owned_keys))
                                continue;
                        r = units_add(&l, t->key, t->value, t->value ? strlen(t->value) : 0);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (const char *p = t->value; *p; ) {
                        size_t n = strcspn(p, ",");
                        if (n > 0 && (!only_owned || option_is_owned(t->key, p, n, owned_keys))) {
                                r = units_add(&l, t->key, p, n);
                                if (r < 0)
                                        return r;
                        }
                        p += n + (p[n] == ',');
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int cmdline_strip_owned(const Cmdline *c, char * const *owned_keys, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *m = NULL;
        int r;

        m = calloc(1, sizeof(Cmdline));
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_tokens; i++) {
                CmdlineOwnership o = cmdline_token_ownership(&c->tokens[i], owned_keys);
                CmdlineToken t;

                if (o == CMDLINE_OWNED_WHOLE)
                        continue;
                if (o == CMDLINE_OWNED_PART) {
                        _cleanup_free_ char *text = NULL;
                        _cleanup_cmdline_ Cmdline *one = NULL;

                        r = cmdline_token_strip_owned(&c->tokens[i], owned_keys, &text);
                        if (r < 0)
                                return r;
                        r = cmdline_parse(text, &one);
                        if (r < 0)
                                return r;
                        if (one->n_tokens != 1)
                                return -EINVAL;
                        r = cmdline_append(m, one);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = token_copy(&c->tokens[i], &t);
                if (r < 0)
                        return r;
                r = push_token(m, &t);
                if (r < 0) {
                        token_done(&t);
                        return r;
                }
        }
        if (c->init_args) {
                m->init_args = strdup(c->init_args);
                if (!m->init_args)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

bool cmdline_contains_token(const Cmdline *c, const CmdlineToken *t) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_token_equal(&c->tokens[i], t))
                        return true;
        return false;
}

/* Whether a key has option owners in owned_keys and appears on c or wanted: then the line is
 * compared by units (options), not tokens. */
static bool lines_have_owned_options(const Cmdline *a, const Cmdline *b, char * const *owned_keys) {
        const Cmdline *l[2] = { a, b };

        for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; i < l[k]->n_tokens; i++)
                        if (cmdline_key_has_owned_options(l[k]->tokens[i].key, owned_keys))
                                return true;
        return false;
}

bool cmdline_in_sync(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        /* As sets: order never matters. */
        if (lines_have_owned_options(current, wanted, owned_keys)) {
                /* pci=noaer,disable_acs_redir=X carries pci=disable_acs_redir=X: by options. */
                _cleanup_strv_free_ char **have = NULL, **owned = NULL, **want = NULL;

                if (cmdline_units(current, owned_keys, false, &have) < 0 ||
                    cmdline_units(current, owned_keys, true, &owned) < 0 ||
                    cmdline_units(wanted, owned_keys, false, &want) < 0)
                        return false; /* out of memory: rewriting is the safe answer */
                STRV_FOREACH(u, want)
                        if (!strv_contains(have, *u))
                                return false;
                STRV_FOREACH(u, owned)
                        if (!strv_contains(want, *u))
                                return false;
                return true;
        }
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

        sync = cmdline_in_sync(current, owned_keys, wanted);
        /* Owned tokens out (owned options out of the operator's pci= tokens), wanted's in. */
        r = cmdline_strip_owned(current, sync ? NULL : owned_keys, &m);
        if (r < 0)
                return r;
        if (!sync) {
                r = cmdline_append(m, wanted);
                if (r < 0)
                        return r;
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
        _cleanup_strv_free_ char **kept = NULL;
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
                CmdlineOwnership o = cmdline_token_ownership(&cur->tokens[i], owned_keys);

                if (o == CMDLINE_NOT_OWNED)
                        continue;
                if (o == CMDLINE_OWNED_PART) {
                        /* The operator's options of the token move, as written, in front of the
                         * inserted tokens: every backend carries one insertion and cuts. */
                        _cleanup_free_ char *rest = NULL;

                        r = cmdline_token_strip_owned(&cur->tokens[i], owned_keys, &rest);
                        if (r < 0)
                                return r;
                        if (cmdline_token_check_safe(rest, NULL) < 0)
                                return -EINVAL;
                        r = strv_consume(&kept, TAKE_PTR(rest));
                        if (r < 0)
                                return r;
                }
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

        if (wanted->n_tokens > 0 || kept) {
                _cleanup_free_ char *w = cmdline_to_string(wanted);

                if (!w)
                        return -ENOMEM;
                if (kept) {
                        _cleanup_free_ char *k = strv_join(kept, " ");
                        if (!k || asprintf(&tokens, "%s%s%s", k, isempty(w) ? "" : " ", w) < 0)
                                return -ENOMEM;
                } else
                        tokens = TAKE_PTR(w);
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
