/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "boot-bls.h"
#include "boot-grub.h"
#include "fileio.h"
#include "log.h"
#include "sort-util.h"
#include "spawn.h"
#include "status.h"
#include "strv.h"

const char * const boot_partition_dirs[3] = { "/boot", "/efi", "/boot/efi" };
#define boot_dirs boot_partition_dirs
static const char * const grubenv_paths[] = { "/boot/grub2/grubenv", "/boot/grub/grubenv" };

typedef struct OptionsLine {
        size_t start, value_start, value_end, end; /* end: after the line's end */
        unsigned line;
} OptionsLine;

/* Where the line starting at p ends, the way systemd's read_line() sees it: at LF, at CR, or at
 * NUL; "\r\n" and "\n\r" are one end. A bare CR ends a line for bootctl and systemd-boot alike. */
static size_t line_end(const char *text, size_t len, size_t p, size_t *ret_next) {
        size_t eol = p + strcspn(text + p, "\r\n"), next = eol;

        if (next < len) {
                next++;
                if (next < len && (text[next] == '\r' || text[next] == '\n') && text[next] != text[eol])
                        next++;
        }
        *ret_next = next;
        return eol;
}

/* "options" lines: the key at the start of a line (after blanks), then blanks, then the value;
 * trailing blanks are not part of the value (bootspec.c strips " \t\n\r"). */
static int find_options_lines(const char *text, OptionsLine **ret, size_t *ret_n) {
        _cleanup_free_ OptionsLine *l = NULL;
        size_t n = 0, allocated = 0, len = strlen(text);
        unsigned line = 1;

        for (size_t p = 0; p < len; line++) {
                size_t end, eol = line_end(text, len, p, &end), q = p, v;

                while (q < eol && (text[q] == ' ' || text[q] == '\t'))
                        q++;
                if (eol - q >= 7 && text[q] == 'o' && strneq(text + q, "options", 7) &&
                    (q + 7 == eol || text[q + 7] == ' ' || text[q + 7] == '\t')) {
                        v = q + 7;
                        while (v < eol && (text[v] == ' ' || text[v] == '\t'))
                                v++;
                        if (GREEDY_REALLOC(l, allocated, n + 1, 4) < 0)
                                return -ENOMEM;
                        l[n] = (OptionsLine) { p, v, eol, end, line };
                        while (l[n].value_end > v && (text[l[n].value_end - 1] == ' ' || text[l[n].value_end - 1] == '\t'))
                                l[n].value_end--;
                        /* bootspec.c skips a key without a value. */
                        if (l[n].value_end > v)
                                n++;
                }
                p = end;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int bls_entry_options_lines(const char *text, char ***ret_values, unsigned **ret_lines, size_t *ret_n) {
        _cleanup_free_ OptionsLine *l = NULL;
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        size_t n;
        int r;

        r = find_options_lines(text, &l, &n);
        if (r < 0)
                return r;
        lines = calloc(n ?: 1, sizeof(unsigned));
        if (!lines)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                lines[i] = l[i].line;
                r = strv_consume(&values, strndup(text + l[i].value_start, l[i].value_end - l[i].value_start));
                if (r < 0)
                        return r;
        }
        *ret_values = TAKE_PTR(values);
        *ret_lines = TAKE_PTR(lines);
        *ret_n = n;
        return 0;
}

int bls_entry_version(const char *text, char **ret) {
        /* The same line rules as "options": key at the start after blanks, blanks, the value. */
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n'), *eol = nl ?: p + strlen(p), *q = p + strspn(p, " \t");

                if (eol - q > 7 && strneq(q, "version", 7) && (q[7] == ' ' || q[7] == '\t')) {
                        const char *v = q + 7 + strspn(q + 7, " \t"), *e = eol;
                        while (e > v && strchr(" \t\r", e[-1]))
                                e--;
                        *ret = e > v ? strndup(v, e - v) : NULL;
                        return e > v && !*ret ? -ENOMEM : 0;
                }
                p = nl ? nl + 1 : NULL;
        }
        *ret = NULL;
        return 0;
}

int bls_entry_options(const char *text, char **ret) {
        _cleanup_free_ OptionsLine *l = NULL;
        size_t n, size = 0;
        char *s, *p;
        int r;

        r = find_options_lines(text, &l, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        /* The values joined with one space, as boot loaders join them. */
        for (size_t i = 0; i < n; i++)
                size += (i > 0) + l[i].value_end - l[i].value_start;
        s = p = malloc(size + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = mempcpy(p, text + l[i].value_start, l[i].value_end - l[i].value_start);
        }
        *p = '\0';
        *ret = s;
        return 0;
}

static bool has_token(const Cmdline *c, const char *text) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (streq(c->tokens[i].text, text))
                        return true;
        return false;
}

/* A growing string for the rewritten entry: open_memstream() zeroes a fresh buffer per entry,
 * which was a tenth of apply's instructions on many entries. */
typedef struct TextBuf {
        char *s;
        size_t n, allocated;
        bool oom;
} TextBuf;

static void text_put(TextBuf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (GREEDY_REALLOC(b->s, b->allocated, b->n + n + 1, 256) < 0) {
                b->oom = true;
                return;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
}

static void text_puts(TextBuf *b, const char *s) {
        text_put(b, s, strlen(s));
}

/* What entry_rewrite() decided for the last options lines it judged: boot_bls_plan() rewrites
 * entries that usually carry the same lines, which are then parsed, judged and planned once. */
typedef struct BlsRewriteMemo {
        char *all;                 /* the options lines joined; NULL: nothing kept */
        size_t *starts, n;         /* where each line starts in all */
        const SyncJudge *judge;
        const Cmdline *wanted;
        char * const *owned;
        bool carries, kernelopts;
        CmdlineSplice sp;
        char **lines;              /* each line's new value (cmdline_splice_apply()), once made */
} BlsRewriteMemo;

static void bls_rewrite_memo_done(BlsRewriteMemo *m) {
        for (size_t i = 0; m->lines && i < m->n; i++)
                free(m->lines[i]);
        free(m->lines);
        free(m->all);
        free(m->starts);
        cmdline_splice_done(&m->sp);
        *m = (BlsRewriteMemo) {};
}

/* Whether the entry's joined options lines all (starting at starts) carry the profile already
 * (*ret_carries), else the splice for them (*ret_sp: local's, or memo's when memo is given);
 * memo answers for lines judged before. */
static int entry_rewrite_decide(const char *all, const size_t *starts, size_t n, char * const *owned, const Cmdline *wanted,
                                SyncJudge *judge, BlsRewriteMemo *memo, CmdlineSplice *local, bool *ret_carries,
                                bool *ret_kernelopts, const CmdlineSplice **ret_sp) {
        _cleanup_cmdline_ Cmdline *joined = NULL;
        Cmdline empty = {};
        bool kernelopts, carries;
        int r;

        if (memo && memo->all && memo->judge == judge && memo->wanted == wanted && memo->owned == owned && memo->n == n &&
            streq(memo->all, all) && (n == 0 || memcmp(memo->starts, starts, n * sizeof(size_t)) == 0)) {
                *ret_carries = memo->carries;
                *ret_kernelopts = memo->kernelopts;
                *ret_sp = &memo->sp;
                return 0;
        }
        r = cmdline_parse(all, &joined);
        if (r < 0)
                return r;
        kernelopts = has_token(joined, "$kernelopts");
        carries = sync_judge_carries(judge, joined, owned, kernelopts ? &empty : wanted);
        if (!carries) {
                r = cmdline_splice_plan(all, starts, n, owned, kernelopts ? &empty : wanted, local);
                if (r < 0)
                        return r;
        }
        *ret_carries = carries;
        *ret_kernelopts = kernelopts;
        *ret_sp = local;
        if (!memo)
                return 0;
        bls_rewrite_memo_done(memo);
        memo->all = strdup(all);
        memo->starts = malloc((n ?: 1) * sizeof(size_t));
        if (!memo->all || !memo->starts) {
                bls_rewrite_memo_done(memo); /* nothing kept: local stays the caller's */
                return 0;
        }
        memcpy(memo->starts, starts, n * sizeof(size_t));
        *memo = (BlsRewriteMemo) {
                .all = memo->all,
                .starts = memo->starts,
                .n = n,
                .judge = judge,
                .wanted = wanted,
                .owned = owned,
                .carries = carries,
                .kernelopts = kernelopts,
                .sp = *local,
        };
        *local = (CmdlineSplice) {};
        *ret_sp = &memo->sp;
        return 0;
}

static int entry_rewrite(const char *text, char * const *owned, const Cmdline *wanted, SyncJudge *judge, BlsRewriteMemo *memo,
                         char **ret, bool *ret_kernelopts) {
        _cleanup_(cmdline_splice_done) CmdlineSplice local = {};
        _cleanup_free_ OptionsLine *l = NULL;
        _cleanup_free_ char *all = NULL;
        _cleanup_free_ size_t *starts = NULL;
        const CmdlineSplice *sp;
        TextBuf out = {};
        size_t n, pos = 0, seg = 0;
        bool kernelopts, carries;
        int r;

        r = find_options_lines(text, &l, &n);
        if (r < 0)
                return r;
        /* Boot loaders join the "options" lines with one space (bls_entry_options()) and the kernel
         * reads the result: tokens (quotes that span two lines included) and "--" are judged on
         * that, and the edits are carried back to the lines they fall in. */
        starts = calloc(n ?: 1, sizeof(size_t));
        if (!starts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                starts[i] = seg;
                seg += l[i].value_end - l[i].value_start + 1;
        }
        all = malloc(seg + 1);
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t len = l[i].value_end - l[i].value_start;
                memcpy(all + starts[i], text + l[i].value_start, len);
                all[starts[i] + len] = ' ';
        }
        all[n > 0 ? seg - 1 : 0] = '\0';

        r = entry_rewrite_decide(all, starts, n, owned, wanted, judge, memo, &local, &carries, &kernelopts, &sp);
        if (r < 0)
                return r;
        if (carries || (sp->n_cuts == 0 && !sp->insert)) {
                *ret = strdup(text);
                *ret_kernelopts = kernelopts;
                return *ret ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < sp->n_cuts; i++)
                for (size_t k = 1; k < n; k++)
                        if (sp->cut_start[i] < starts[k] - 1 && sp->cut_end[i] > starts[k])
                                return -EBADMSG; /* an owned token quoted across two lines */
        /* Sized for the text and what is inserted: one allocation, not a doubling per line. */
        out.allocated = strlen(text) + (sp->insert ? strlen(sp->insert) : 0) + 64;
        out.s = malloc(out.allocated);
        if (!out.s)
                return -ENOMEM;
        out.s[0] = '\0';

        /* The memo's lines: the same lines give the same new values. */
        if (memo && sp == &memo->sp && !memo->lines)
                memo->lines = calloc(n ?: 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                size_t from = starts[i], to = from + l[i].value_end - l[i].value_start;
                _cleanup_free_ char *own = NULL;
                const char *s;

                text_put(&out, text + pos, l[i].start - pos);
                pos = l[i].end;
                if (memo && sp == &memo->sp && memo->lines && memo->lines[i])
                        s = memo->lines[i];
                else {
                        r = cmdline_splice_apply(all, from, to, sp, &own);
                        if (r < 0) {
                                free(out.s);
                                return r;
                        }
                        s = own;
                        if (memo && sp == &memo->sp && memo->lines)
                                memo->lines[i] = TAKE_PTR(own);
                }
                if (strneq(s, all + from, to - from) && strlen(s) == to - from) {
                        text_put(&out, text + l[i].start, l[i].end - l[i].start);
                        continue;
                }
                if (isempty(s))
                        continue; /* the line held nothing but owned tokens */
                /* Key and separator as written, the new value, then whatever followed it. */
                text_put(&out, text + l[i].start, l[i].value_start - l[i].start);
                text_puts(&out, s);
                text_put(&out, text + l[i].value_end, l[i].end - l[i].value_end);
        }
        text_puts(&out, text + pos);
        if (n == 0 && !kernelopts) {
                _cleanup_free_ char *s = cmdline_to_string(wanted);
                if (!s) {
                        free(out.s);
                        return -ENOMEM;
                }
                if (!(isempty(text) || endswith(text, "\n")))
                        text_puts(&out, "\n");
                text_puts(&out, "options ");
                text_puts(&out, s);
                text_puts(&out, "\n");
        }
        if (!out.s)
                text_put(&out, "", 0);
        if (out.oom) {
                free(out.s);
                return -ENOMEM;
        }
        {
                size_t total = strlen(all);
                for (size_t i = 0; i < sp->n_cuts; i++)
                        total -= sp->cut_end[i] - sp->cut_start[i];
                if (total + (sp->insert ? strlen(sp->insert) : 0) > COMMAND_LINE_MAX) {
                        free(out.s);
                        return -E2BIG;
                }
        }
        *ret = out.s;
        *ret_kernelopts = kernelopts;
        return 0;
}

int bls_entry_rewrite(const char *text, char * const *owned, const Cmdline *wanted, SyncJudge *judge, char **ret,
                      bool *ret_kernelopts) {
        return entry_rewrite(text, owned, wanted, judge, NULL, ret, ret_kernelopts);
}

int grubenv_get(const char *text, const char *key, char **ret) {
        size_t kl = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                _cleanup_free_ char *v = NULL;
                size_t n = 0;
                const char *e;

                if (!strneq(p, key, kl) || p[kl] != '=')
                        continue;
                e = p + kl + 1;
                v = malloc(strcspn(e, "\n") + 1);
                if (!v)
                        return -ENOMEM;
                /* grub-editenv escapes '\\' and newlines with a backslash. */
                for (; *e && *e != '\n'; e++) {
                        if (*e == '\\' && e[1] && e[1] != '\n')
                                e++;
                        v[n++] = *e;
                }
                v[n] = '\0';
                *ret = TAKE_PTR(v);
                return 0;
        }
        return -ENOENT;
}

/* strverscmp() from the start of the digit run (or the character) where a and b first differ:
 * before it they are equal and strverscmp() is in its plain state after a non-digit, so the
 * result is the same. Entry names share a long machine-id prefix, which strverscmp() walks in
 * its state machine: on 1000 entries the sort was a sixth of apply. */
static int verscmp_from_difference(const char *a, const char *b, size_t i) {
        while (a[i] && a[i] == b[i])
                i++;
        while (i > 0 && a[i - 1] >= '0' && a[i - 1] <= '9')
                i--;
        return strverscmp(a + i, b + i);
}

/* userdata: how long a prefix all ids share (see sort_entries()). Two ids with different keys
 * first differ inside the run of digits the keys were read from, and strverscmp() orders two
 * runs without a leading zero by their value: the same result without walking the strings. */
static int entry_compare(const void *a, const void *b, void *userdata) {
        const BlsEntry *x = a, *y = b;

        if (x->has_key && y->has_key && x->key != y->key)
                return x->key < y->key ? 1 : -1; /* newest first */
        return verscmp_from_difference(y->id, x->id, *(const size_t *) userdata); /* newest first */
}

/* Newest first. The prefix every id shares (the machine id and more) is measured once, not walked
 * again by every comparison. */
static void sort_entries(BlsEntry *list, size_t n) {
        size_t common = n > 0 ? strlen(list[0].id) : 0;

        for (size_t i = 1; i < n && common > 0; i++) {
                size_t k = 0;
                while (k < common && list[i].id[k] == list[0].id[k])
                        k++;
                common = k;
        }
        /* Where the ids (past their shared prefix) first differ, usually the kernel's number. */
        size_t p = common;
        while (p > 0 && list[0].id[p - 1] >= '0' && list[0].id[p - 1] <= '9')
                p--;
        for (size_t i = 0; i < n; i++)
                list[i].has_key = digit_run_key(list[i].id, p, &list[i].key);
        qsort_r(list, n, sizeof(BlsEntry), entry_compare, &common);
}

void bls_entries_free(BlsEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].path);
                free(e[i].id);
        }
        free(e);
}

/* The entries directory of each of boot_dirs[], inside the root. */
static const char * const rel_dirs[ELEMENTSOF(boot_dirs)] = {
        "/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries",
};

static void bls_dirs_close(DIR *(*dirs)[ELEMENTSOF(boot_dirs)]) {
        for (size_t i = 0; i < ELEMENTSOF(boot_dirs); i++)
                if ((*dirs)[i])
                        closedir((*dirs)[i]);
}

/* An entry file: "*.conf", "*.CONF" too (FAT), not hidden. */
static bool is_entry_name(const char *name) {
        size_t l = strlen(name);
        return name[0] != '.' && l >= 5 && strcasecmp(name + l - 5, ".conf") == 0;
}

int bls_find_entries(const Root *root, BlsEntry **ret, size_t *ret_n) {
        DIR *dirs[ELEMENTSOF(boot_dirs)] = {};
        int r;

        r = bls_find_entries_in(root, dirs, ret, ret_n);
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (dirs[i])
                        closedir(dirs[i]);
        return r;
}

int bls_find_entries_in(const Root *root, DIR *ret_dirs[3], BlsEntry **ret, size_t *ret_n) {
        BlsEntry *list = NULL;
        size_t n = 0, allocated = 0;
        dev_t seen_dev[ELEMENTSOF(boot_dirs)];
        ino_t seen_ino[ELEMENTSOF(boot_dirs)];
        size_t n_seen = 0;

        for (size_t i = 0; i < ELEMENTSOF(boot_dirs); i++) {
                const char *rel = rel_dirs[i];
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;
                struct stat st;
                bool dup = false;

                ret_dirs[i] = NULL;
                /* Opened inside the root: a boot, loader or entries symlink resolves in the image. */
                if (root_opendir(root, rel, &d) < 0 || fstat(dirfd(d), &st) < 0)
                        continue;
                /* /boot/efi may be /efi, or the ESP mounted at /boot. */
                for (size_t k = 0; k < n_seen; k++)
                        dup = dup || (seen_dev[k] == st.st_dev && seen_ino[k] == st.st_ino);
                if (dup)
                        continue;
                seen_dev[n_seen] = st.st_dev;
                seen_ino[n_seen++] = st.st_ino;
                while ((de = readdir(d))) {
                        char *path, *id;

                        if (!is_entry_name(de->d_name))
                                continue;
                        path = malloc(strlen(rel) + 1 + strlen(de->d_name) + 1);
                        if (!path) {
                                bls_entries_free(list, n);
                                return -ENOMEM;
                        }
                        strcpy(stpcpy(stpcpy(path, rel), "/"), de->d_name);
                        id = strndup(de->d_name, strlen(de->d_name) - strlen(".conf"));
                        /* Doubled as it fills: thousands of entries are not copied once per entry. */
                        if (!id || GREEDY_REALLOC(list, allocated, n + 1, 16) < 0) {
                                free(path);
                                free(id);
                                bls_entries_free(list, n);
                                return -ENOMEM;
                        }
                        list[n++] = (BlsEntry) { path, id, i };
                }
                ret_dirs[i] = TAKE_PTR(d);
        }
        if (n > 0)
                sort_entries(list, n);
        *ret = list;
        *ret_n = n;
        return 0;
}

/* Whether bls_find_entries() would find an entry: the first entry file answers, without listing,
 * copying and sorting them all (apply asks before it lists them). */
bool boot_bls_detect(const Root *root) {
        for (size_t i = 0; i < ELEMENTSOF(boot_dirs); i++) {
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;
                char rel[PATH_MAX];
                struct stat st;

                snprintf(rel, sizeof(rel), "%s/loader/entries", boot_dirs[i]);
                if (root_opendir(root, rel, &d) < 0 || fstat(dirfd(d), &st) < 0)
                        continue;
                while ((de = readdir(d)))
                        if (is_entry_name(de->d_name))
                                return true;
        }
        return false;
}

/* quiet: for a look at saved_entry, where an unreadable block only means no saved default. */
static int read_grubenv(const Root *root, bool quiet, char **ret_path, char **ret_text, size_t *ret_size) {
        for (size_t i = 0; i < ELEMENTSOF(grubenv_paths); i++) {
                int r = quiet ? read_root_file(root, grubenv_paths[i], CHANGESET_FILE_MAX, ret_text, ret_size)
                              : read_root_text_and_warn(root, grubenv_paths[i], CHANGESET_FILE_MAX, ret_text, ret_size);
                if (r >= 0 && quiet && data_check_nul(*ret_text, *ret_size, NULL) < 0) {
                        *ret_text = mfree(*ret_text);
                        r = -EBADMSG;
                }
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                *ret_path = strdup(grubenv_paths[i]);
                return *ret_path ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/* The default entry, the one iommuctl status says boots by default. */
static int default_entry(const Root *root, const BootSpec *spec, const BlsEntry *e, size_t n, size_t *ret) {
        _cleanup_free_ const char **ids = calloc(n ?: 1, sizeof(char *));

        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                ids[i] = e[i].id;
        return spec ? status_default_entry_in(spec, root, ids, n, ret) : status_default_entry(root, ids, n, ret);
}

/* grub-editenv writes the block in place; run it on a scratch copy and let the change set
 * replace the real one atomically. */
static int grubenv_set_with_tool(const char *text, size_t size, const char *key, const char *value, char **ret, size_t *ret_size) {
        static const char * const tools[] = { "grub2-editenv", "grub-editenv" };
        _cleanup_free_ char *tool = NULL, *tmpdir = NULL, *copy = NULL, *assignment = NULL;
        const char *t = getenv("TMPDIR");
        FILE *f;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(tools) && !tool; i++)
                (void) find_executable(tools[i], &tool);
        if (!tool)
                return log_error_errno(-ENOENT, "Boot entries use $kernelopts from the GRUB environment block, and neither "
                                       "grub2-editenv nor grub-editenv is installed to update it. Nothing was changed.");
        if (asprintf(&tmpdir, "%s/iommuctl-grubenv.XXXXXX", t ?: "/tmp") < 0)
                return -ENOMEM;
        if (!mkdtemp(tmpdir))
                return log_error_errno(-errno, "Failed to create a scratch directory: %m");
        if (asprintf(&copy, "%s/grubenv", tmpdir) < 0 || asprintf(&assignment, "%s=%s", key, value) < 0)
                return -ENOMEM;
        f = fopen(copy, "we");
        if (!f || fwrite(text, 1, size, f) != size || fclose(f) != 0) {
                r = -errno ?: -EIO;
                (void) rmdir(tmpdir);
                return log_error_errno(r, "Failed to write %s: %m", copy);
        }
        r = spawn_and_wait(STRV_MAKE(tool, copy, "set", assignment), SPAWN_STDOUT_TO_STDERR);
        r = r != 0 ? -EPROTO : read_full_file(copy, CHANGESET_FILE_MAX, ret, ret_size);
        (void) unlink(copy);
        (void) rmdir(tmpdir);
        if (r == -EPROTO)
                return log_error_errno(r, "%s %s set kernelopts=... failed. Nothing was changed.", tool, copy);
        return r;
}

static int plan_kernelopts(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, ChangeSet *cs) {
        _cleanup_free_ char *path = NULL, *text = NULL, *value = NULL, *new_value = NULL, *new_text = NULL;
        _cleanup_cmdline_ Cmdline *cur = NULL;
        size_t size, new_size;
        int r;

        r = read_grubenv(root, false, &path, &text, &size);
        if (r == -ENOENT)
                return log_error_errno(r, "Boot entries use $kernelopts, but there is no GRUB environment block "
                                       "(/boot/grub2/grubenv) under %s. Nothing was changed.", root->path);
        if (r < 0)
                return r;
        r = grubenv_get(text, "kernelopts", &value);
        if (r == -ENOENT)
                return log_error_errno(r, "Boot entries use $kernelopts, but %s%s does not set kernelopts. Nothing was changed.",
                                       root_prefix(root), path);
        if (r < 0)
                return r;
        r = cmdline_parse(value, &cur);
        if (r < 0)
                return r;
        if (sync_judge_carries(judge, cur, owned, wanted))
                return 0;
        r = cmdline_splice(value, owned, wanted, &new_value);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s: kernelopts has an unterminated quote; nothing was changed.", path);
        if (r < 0)
                return log_error_errno(r, "%s: kernelopts would be too long for the kernel.", path);
        r = grubenv_set_with_tool(text, size, "kernelopts", new_value, &new_text, &new_size);
        if (r < 0)
                return r;
        r = changeset_add(cs, path, new_text, new_size, 0644, "grubenv");
        return r < 0 ? r : 0;
}

/* The Type #1 entries whose "efi" is a UKI and that have no options: systemd-stub boots the UKI's
 * .cmdline, which an options line would replace whole, root= with it. The uki-addon backend reaches
 * that line (boot_uki_addon_entry()); the entry file is left as it is. Collected once (usually
 * none): looking each listed entry up in the spec made a run over N entries O(N^2). */
static int bare_uki_entries(const BootSpec *spec, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, allocated = 0;
        int r;

        for (size_t i = 0; spec && i < spec->n_entries; i++)
                if (spec->entries[i].type == BOOTSPEC_TYPE1 && spec->entries[i].uki_linux && !spec->entries[i].options &&
                    spec->entries[i].path && (r = strv_consume_n(&l, &n, &allocated, strdup(spec->entries[i].path))) < 0)
                        return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int boot_bls_plan(const Root *root, const BootSpec *spec, const char *selector, char * const *owned, const Cmdline *wanted,
                  SyncJudge *judge, ChangeSet *cs, char **ret_default_options) {
        BlsEntry *e = NULL;
        size_t n = 0, def = 0, matched = 0;
        bool need_kernelopts = false;
        _cleanup_free_ char *default_options = NULL;
        _cleanup_(bls_rewrite_memo_done) BlsRewriteMemo memo = {};
        _cleanup_(bls_dirs_close) DIR *dirs[ELEMENTSOF(boot_dirs)] = {};
        _cleanup_strv_free_ char **bare_uki = NULL;
        int r;

        r = bare_uki_entries(spec, &bare_uki);
        if (r < 0)
                return log_oom();
        r = bls_find_entries_in(root, dirs, &e, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list the boot loader entries: %m");
        if (n > 0)
                r = default_entry(root, spec, e, n, &def);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *text = NULL, *full = NULL, *new = NULL, *file = NULL;
                bool kernelopts, selected;

                if (!selector || streq(selector, "all"))
                        selected = true;
                else if (streq(selector, "default"))
                        selected = i == def;
                else {
                        if (asprintf(&file, "%s.conf", e[i].id) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        selected = fnmatch(selector, file, 0) == 0 || fnmatch(selector, e[i].id, 0) == 0;
                }
                if (!selected)
                        continue;
                matched++;
                if (strv_contains(bare_uki, e[i].path))
                        continue;
                /* Relative to the entries directory listed: one lookup per entry, not one per
                 * component of its path. */
                r = read_root_text_at_and_warn(root, dirfd(dirs[e[i].dir]), rel_dirs[e[i].dir],
                                               e[i].path + strlen(rel_dirs[e[i].dir]) + 1, CHANGESET_FILE_MAX, &text, NULL);
                if (r < 0) {
                        if (r == -ENOENT) {
                                full = root_display(root, e[i].path);
                                log_error_errno(r, "Failed to read %s: %m; nothing was changed.", strna(full));
                        }
                        break;
                }
                {
                        /* Judged with the kernel the entry boots, as status judges it, and given the
                         * tokens that keep the profile's mode on that kernel (one model run per
                         * distinct kernel, kept in judge). */
                        _cleanup_free_ char *version = NULL;
                        const Cmdline *ewanted = wanted;
                        SyncJudge *j = judge;

                        r = judge ? bls_entry_version(text, &version) : 0;
                        if (r >= 0 && judge)
                                r = sync_judge_for_entry(root, judge, version, wanted, &j, &ewanted);
                        if (r < 0)
                                break;
                        r = entry_rewrite(text, owned, ewanted, j, &memo, &new, &kernelopts);
                        if (judge)
                                sync_judge_merge_dropped(judge, j);
                }
                if (r < 0 && !(full = root_display(root, e[i].path)))
                        r = -ENOMEM;
                if (r == -E2BIG)
                        log_error_errno(r, "%s: the options would be too long for the kernel; nothing was changed.", full);
                else if (r == -EBADMSG)
                        log_error_errno(r, "%s: the options line has an unterminated quote; nothing was changed.", full);
                else if (r < 0)
                        log_error_errno(r, "Failed to rewrite %s: %m; nothing was changed.", full);
                if (r < 0)
                        break;
                need_kernelopts = need_kernelopts || kernelopts;
                if (i == def && !kernelopts)
                        r = bls_entry_options(new, &default_options);
                if (r >= 0) {
                        r = changeset_add(cs, e[i].path, new, strlen(new), 0644, "bls");
                        if (r == -EEXIST) {
                                full = root_display(root, e[i].path);
                                log_error_errno(r, "%s resolves to the same file as another boot loader entry; refusing to "
                                                "write it twice, nothing was changed.", strna(full));
                        }
                }
        }
        bls_entries_free(e, n);
        if (r < 0)
                return r;
        if (selector && !streq(selector, "all") && matched == 0)
                return log_error_errno(-ENOENT, "No boot loader entry matches '%s' under %s.", selector, root->path);
        if (need_kernelopts) {
                r = plan_kernelopts(root, owned, wanted, judge, cs);
                if (r < 0)
                        return r;
        }
        if (ret_default_options)
                *ret_default_options = TAKE_PTR(default_options);
        return 0;
}
