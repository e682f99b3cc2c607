/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdint.h>
#include <sys/stat.h>

#include "boot-bls.h"
#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "changeset.h"
#include "fileio.h"
#include "log.h"
#include "status.h"
#include "strv.h"

static const char * const boot_dirs[] = { "/boot", "/efi", "/boot/efi" };
static const char * const grubenv_paths[] = { "/boot/grub2/grubenv", "/boot/grub/grubenv" };
static const char * const grub_cfg_paths[] = { "/boot/grub2/grub.cfg", "/boot/grub/grub.cfg" };
static const char * const uki_patterns[] = { "/boot/efi/EFI/Linux/*.efi", "/efi/EFI/Linux/*.efi", "/boot/EFI/Linux/*.efi" };

static const char * const kind_names[_STATUS_KIND_MAX] = {
        [STATUS_BLS_ENTRY] = "bls",
        [STATUS_GRUB_MENUENTRY] = "grub.cfg",
        [STATUS_GRUB_DEFAULTS] = "grub",
        [STATUS_KERNEL_CMDLINE] = "kernel-cmdline",
        [STATUS_UKI] = "uki",
};

const char *status_kind_to_string(StatusKind k) {
        return STRING_TABLE_TO_STRING(kind_names, k);
}

/* ---- pure: the entry that boots next ---- */

static bool id_matches(const StatusCandidate *c, const char *want, bool glob) {
        size_t l;

        if (!c->id)
                return false;
        if (streq(c->id, want))
                return true;
        l = strlen(c->id);
        if (endswith(want, ".conf") && strlen(want) == l + 5 && strncmp(want, c->id, l) == 0)
                return true;
        if (glob) {
                _cleanup_free_ char *file = NULL;
                if (asprintf(&file, "%s.conf", c->id) < 0)
                        return false;
                return fnmatch(want, c->id, 0) == 0 || fnmatch(want, file, 0) == 0;
        }
        return false;
}

static bool parse_index(const char *s, size_t len, unsigned *ret) {
        unsigned v = 0;

        if (len == 0 || len > 6)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* GRUB_DEFAULT / saved_entry / next_entry: "2", "1>0", "Title", "id", "Submenu>Title". */
static bool grub_pick(const StatusCandidate *c, size_t n, const char *want, size_t *ret) {
        const char *gt = strchr(want, '>'), *last = strrchr(want, '>');
        unsigned top, sub;

        if (parse_index(want, gt ? (size_t) (gt - want) : strlen(want), &top)) {
                if (gt && !parse_index(gt + 1, strlen(gt + 1), &sub))
                        return false;
                for (size_t i = 0, k = 0; i < n; i++)
                        if (c[i].top == top) {
                                if (!gt || k == sub) {
                                        *ret = i;
                                        return true;
                                }
                                k++;
                        }
                return false;
        }
        want = last ? last + 1 : want;
        for (size_t i = 0; i < n; i++)
                if (id_matches(&c[i], want, false) || (c[i].title && streq(c[i].title, want))) {
                        *ret = i;
                        return true;
                }
        return false;
}

int status_pick_next(const StatusCandidate *c, size_t n, const NextBootHints *h, size_t *ret, const char **ret_source) {
        bool use_saved = !h->grub_default || streq(h->grub_default, "saved");

        if (n == 0)
                return -ENOENT;
        for (size_t i = 0; i < n; i++) {
                if (h->oneshot && id_matches(&c[i], h->oneshot, false)) {
                        *ret = i;
                        *ret_source = "EFI variable LoaderEntryOneShot";
                        return 0;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (h->efi_default && id_matches(&c[i], h->efi_default, false)) {
                        *ret = i;
                        *ret_source = "EFI variable LoaderEntryDefault";
                        return 0;
                }
        for (size_t i = 0; i < n; i++)
                if (h->loader_conf_default && id_matches(&c[i], h->loader_conf_default, true)) {
                        *ret = i;
                        *ret_source = "loader.conf default";
                        return 0;
                }
        if (h->grub_next_entry && grub_pick(c, n, h->grub_next_entry, ret)) {
                *ret_source = "grubenv next_entry";
                return 0;
        }
        if (use_saved && h->grub_saved_entry && grub_pick(c, n, h->grub_saved_entry, ret)) {
                *ret_source = "grubenv saved_entry";
                return 0;
        }
        if (!use_saved && grub_pick(c, n, h->grub_default, ret)) {
                *ret_source = "GRUB_DEFAULT";
                return 0;
        }
        *ret = 0;
        *ret_source = "the newest entry";
        return 0;
}

/* ---- pure: grub.cfg ---- */

/* The first quoted (or bare) word at *p; advances *p past it. */
static char *grub_word(const char **p) {
        const char *s = *p + strspn(*p, " \t"), *e;
        char q = *s;

        if (q == '\'' || q == '"') {
                e = strchr(s + 1, q);
                if (!e)
                        return NULL;
                *p = e + 1;
                return strndup(s + 1, e - s - 1);
        }
        e = s + strcspn(s, " \t{");
        *p = e;
        return e > s ? strndup(s, e - s) : NULL;
}

void grub_menu_entries_free(GrubMenuEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].title);
                free(e[i].id);
                free(e[i].options);
        }
        free(e);
}

/* The arguments after the kernel of a "linux" line, without GRUB variables ($vt_handoff). */
static char *linux_args(const char *rest) {
        _cleanup_free_ char *kernel = NULL;
        _cleanup_strv_free_ char **words = NULL;
        const char *p = rest;
        char *out;
        size_t len = 0;

        kernel = grub_word(&p);
        if (!kernel)
                return strdup("");
        if (strv_split(p, " \t", &words) < 0)
                return NULL;
        out = calloc(1, strlen(p) + 1);
        if (!out)
                return NULL;
        STRV_FOREACH(w, words) {
                if ((*w)[0] == '$')
                        continue;
                len += sprintf(out + len, "%s%s", len ? " " : "", *w);
        }
        return out;
}

/* A line that opens a block ends with '{' ("${1}" in a line does not). */
static bool opens_block(const char *s) {
        size_t l = strlen(s);

        while (l > 0 && isspace((unsigned char) s[l - 1]))
                l--;
        return l > 0 && s[l - 1] == '{' && s[0] != '#';
}

int grub_cfg_parse(const char *text, GrubMenuEntry **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(text ?: "");
        GrubMenuEntry *list = NULL, cur = {};
        size_t n = 0;
        unsigned depth = 0, top = 0, entry_depth = 0;
        bool in_entry = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *s = line + strspn(line, " \t"), *p;

                if (startswith(s, "menuentry ") || startswith(s, "submenu ")) {
                        bool sub = startswith(s, "submenu ");
                        if (depth == 0)
                                top++;
                        if (opens_block(s))
                                depth++;
                        if (sub)
                                continue;
                        p = s + strlen("menuentry");
                        cur = (GrubMenuEntry) { .title = grub_word(&p), .top = top - 1 };
                        const char *o = strstr(p, "$menuentry_id_option");
                        if (o) {
                                o += strlen("$menuentry_id_option");
                                cur.id = grub_word(&o);
                        }
                        in_entry = true;
                        entry_depth = depth;
                        continue;
                }
                if (in_entry && !cur.options &&
                    ((p = startswith(s, "linux ")) || (p = startswith(s, "linux16 ")) || (p = startswith(s, "linuxefi ")) ||
                     (p = startswith(s, "linux\t")))) {
                        cur.options = linux_args(p);
                        if (!cur.options)
                                goto oom;
                        continue;
                }
                if (opens_block(s))
                        depth++;
                if (s[0] == '}' && depth > 0) {
                        if (in_entry && depth == entry_depth) {
                                if (cur.options) {
                                        GrubMenuEntry *t = reallocarray(list, n + 1, sizeof(GrubMenuEntry));
                                        if (!t)
                                                goto oom;
                                        list = t;
                                        list[n++] = cur;
                                } else {
                                        free(cur.title);
                                        free(cur.id);
                                }
                                cur = (GrubMenuEntry) {};
                                in_entry = false;
                        }
                        depth--;
                }
        }
        free(cur.title);
        free(cur.id);
        free(cur.options);
        *ret = list;
        *ret_n = n;
        return 0;
oom:
        free(cur.title);
        free(cur.id);
        free(cur.options);
        grub_menu_entries_free(list, n);
        return -ENOMEM;
}

/* ---- reading the root ---- */

static int add_entry(Status *s, StatusKind kind, const char *path, const char *id, const char *options,
                     char * const *owned, const Cmdline *wanted) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        StatusEntry *t;
        StatusEntry e = { .kind = kind };

        if (options && wanted && cmdline_parse(options, &c) >= 0)
                e.carries = sync_judge_carries(s->judge, c, owned, wanted);
        e.path = strdup(path);
        e.id = id ? strdup(id) : NULL;
        e.options = options ? strdup(options) : NULL;
        t = reallocarray(s->entries, s->n_entries + 1, sizeof(StatusEntry));
        if (!e.path || (id && !e.id) || (options && !e.options) || !t) {
                free(e.path);
                free(e.id);
                free(e.options);
                if (t)
                        s->entries = t;
                return -ENOMEM;
        }
        s->entries = t;
        s->entries[s->n_entries++] = e;
        return 0;
}

static int read_grubenv(const char *root, char **ret) {
        for (size_t i = 0; i < ELEMENTSOF(grubenv_paths); i++) {
                int r = read_root_file(root, grubenv_paths[i], CHANGESET_FILE_MAX, ret, NULL);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

/* $kernelopts (RHEL 8 entries) comes from the GRUB environment block. */
static int expand_kernelopts(const char *options, const char *grubenv, char **ret) {
        _cleanup_free_ char *value = NULL;
        const char *at = strstr(options, "$kernelopts");
        char *s;

        if (!at || !grubenv || grubenv_get(grubenv, "kernelopts", &value) < 0) {
                *ret = strdup(options);
                return *ret ? 0 : -ENOMEM;
        }
        if (asprintf(&s, "%.*s%s%s", (int) (at - options), options, value, at + strlen("$kernelopts")) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int read_loader_conf_default(const char *root, char **ret) {
        *ret = NULL;
        for (size_t i = 0; i < ELEMENTSOF(boot_dirs); i++) {
                _cleanup_free_ char *rel = NULL, *text = NULL;
                char *save = NULL;

                if (asprintf(&rel, "%s/loader/loader.conf", boot_dirs[i]) < 0)
                        return -ENOMEM;
                if (read_root_file(root, rel, CHANGESET_FILE_MAX, &text, NULL) < 0)
                        continue;
                for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        char *v = strstrip(line);
                        if (startswith(v, "default") && (v[7] == ' ' || v[7] == '\t')) {
                                free(*ret);
                                *ret = strdup(strstrip(v + 7));
                                if (!*ret)
                                        return -ENOMEM;
                        }
                }
                if (*ret)
                        return 0;
        }
        return 0;
}

/* GRUB_DEFAULT= of /etc/default/grub: a plain assignment, quotes removed; the last one wins. */
static int read_grub_default(const char *root, char **ret) {
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        *ret = NULL;
        if (read_root_file(root, GRUB_DEFAULTS, CHANGESET_FILE_MAX, &text, NULL) < 0)
                return 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *v = strstrip(line);
                size_t l;
                if (!(v = (char *) startswith(v, "GRUB_DEFAULT=")))
                        continue;
                l = strlen(v);
                if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
                        v[l - 1] = '\0';
                        v++;
                }
                free(*ret);
                *ret = strdup(v);
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

static int read_at(int fd, void *buf, size_t n, off_t off) {
        ssize_t k = pread(fd, buf, n, off);
        return k == (ssize_t) n ? 0 : -EBADMSG;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The .cmdline section of a PE image (a UKI). -ENODATA when it has none. */
static int uki_read_cmdline(const char *root, const char *path, char **ret) {
        _cleanup_close_ int fd = -1;
        uint8_t dos[64], pe[24], sec[40];
        uint32_t off;
        unsigned n_sections, opt_size;
        struct stat st;
        int r;

        /* Image trees are untrusted: resolved inside the root, and a FIFO in place of a UKI is not
         * waited on. */
        r = root_open(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (read_at(fd, dos, sizeof(dos), 0) < 0 || dos[0] != 'M' || dos[1] != 'Z')
                return -EBADMSG;
        off = le32(dos + 0x3c);
        if (read_at(fd, pe, sizeof(pe), off) < 0 || memcmp(pe, "PE\0\0", 4) != 0)
                return -EBADMSG;
        n_sections = pe[6] | pe[7] << 8;
        opt_size = pe[20] | pe[21] << 8;
        for (unsigned i = 0; i < n_sections && i < 96; i++) {
                uint32_t size, at;
                char *s;
                if (read_at(fd, sec, sizeof(sec), (off_t) off + 24 + opt_size + 40 * i) < 0)
                        return -EBADMSG;
                if (memcmp(sec, ".cmdline", 8) != 0)
                        continue;
                size = le32(sec + 8) ?: le32(sec + 16);
                at = le32(sec + 20);
                if (size > 64 * 1024)
                        return -EFBIG;
                s = calloc(1, size + 1);
                if (!s)
                        return -ENOMEM;
                if (read_at(fd, s, size, at) < 0) {
                        free(s);
                        return -EBADMSG;
                }
                s[strcspn(s, "\n")] = '\0';
                *ret = s;
                return 0;
        }
        return -ENODATA;
}

static char *strjoin_dropin(const char *name) {
        char *p;
        return asprintf(&p, "%s/%s", GRUB_DROPIN_DIR, name) < 0 ? NULL : p;
}

int status_grub_cfg_stale(const char *root, char **ret_cfg, char **ret_newer) {
        _cleanup_strv_free_ char **defaults = NULL;
        _cleanup_free_ char *dropins = NULL;
        struct stat cfg_st = {};
        const char *cfg = NULL;
        glob_t g = {};

        *ret_cfg = *ret_newer = NULL;
        for (size_t i = 0; i < ELEMENTSOF(grub_cfg_paths) && !cfg; i++) {
                _cleanup_free_ char *full = root_path(root, grub_cfg_paths[i]);
                if (!full)
                        return -ENOMEM;
                if (stat(full, &cfg_st) >= 0 && S_ISREG(cfg_st.st_mode))
                        cfg = grub_cfg_paths[i];
        }
        if (!cfg)
                return 0;
        *ret_cfg = strdup(cfg);
        if (!*ret_cfg)
                return -ENOMEM;
        dropins = root_path(root, GRUB_DROPIN_DIR "/*.cfg");
        if (!dropins || strv_extend(&defaults, GRUB_DEFAULTS) < 0)
                return -ENOMEM;
        if (glob(dropins, 0, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++)
                        if (strv_consume(&defaults, strjoin_dropin(strrchr(g.gl_pathv[i], '/') + 1)) < 0) {
                                globfree(&g);
                                return -ENOMEM;
                        }
        globfree(&g);
        STRV_FOREACH(d, defaults) {
                _cleanup_free_ char *full = root_path(root, *d);
                struct stat st;
                if (!full)
                        return -ENOMEM;
                if (stat(full, &st) < 0)
                        continue;
                if (st.st_mtim.tv_sec > cfg_st.st_mtim.tv_sec ||
                    (st.st_mtim.tv_sec == cfg_st.st_mtim.tv_sec && st.st_mtim.tv_nsec > cfg_st.st_mtim.tv_nsec)) {
                        *ret_newer = strdup(*d);
                        return *ret_newer ? 0 : -ENOMEM;
                }
        }
        return 0;
}

static int collect_ukis(const char *root, char * const *owned, const Cmdline *wanted, Status *s) {
        for (size_t i = 0; i < ELEMENTSOF(uki_patterns); i++) {
                _cleanup_free_ char *p = root_path(root, uki_patterns[i]);
                glob_t g = {};

                if (!p)
                        return -ENOMEM;
                if (glob(p, 0, NULL, &g) != 0)
                        continue;
                for (size_t k = g.gl_pathc; k-- > 0;) { /* newest (highest version) first */
                        _cleanup_free_ char *options = NULL, *host = NULL;
                        const char *name = strrchr(g.gl_pathv[k], '/') + 1;
                        int r;
                        /* The path inside the root: the pattern's directory and the file's name. */
                        if (asprintf(&host, "%.*s/%s", (int) (strrchr(uki_patterns[i], '/') - uki_patterns[i]), uki_patterns[i],
                                     name) < 0) {
                                globfree(&g);
                                return -ENOMEM;
                        }
                        r = uki_read_cmdline(root, host, &options);
                        if (r == -ENOMEM || add_entry(s, STATUS_UKI, host, name, options, owned, wanted) < 0) {
                                globfree(&g);
                                return -ENOMEM;
                        }
                }
                globfree(&g);
        }
        return 0;
}

int status_default_entry(const char *root, const char * const *ids, size_t n, size_t *ret) {
        _cleanup_free_ char *grubenv = NULL, *saved_entry = NULL, *loader_default = NULL, *grub_default = NULL;
        _cleanup_free_ StatusCandidate *cand = NULL;
        const char *source;
        NextBootHints h;

        if (n == 0)
                return -ENOENT;
        cand = calloc(n, sizeof(StatusCandidate));
        if (!cand)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                cand[i] = (StatusCandidate) { .id = ids[i], .top = (unsigned) i };
        (void) read_grubenv(root, &grubenv);
        (void) grubenv_get(grubenv ?: "", "saved_entry", &saved_entry);
        if (read_loader_conf_default(root, &loader_default) < 0 || read_grub_default(root, &grub_default) < 0)
                return -ENOMEM;
        /* The default, not this boot's one-shot choice: no LoaderEntryOneShot, no next_entry. */
        h = (NextBootHints) {
                .loader_conf_default = loader_default,
                .grub_saved_entry = isempty(saved_entry) ? NULL : saved_entry,
                .grub_default = grub_default,
        };
        return status_pick_next(cand, n, &h, ret, &source);
}

int status_collect(const char *root, const NextBootHints *efi, const char *profile, char * const *owned, const Cmdline *wanted,
                   SyncJudge *judge, Status *ret) {
        _cleanup_(status_done) Status s = { .next = SIZE_MAX, .judge = judge };
        _cleanup_free_ char *grubenv = NULL, *next_entry = NULL, *saved_entry = NULL, *loader_default = NULL,
                            *grub_default = NULL, *cfg_text = NULL;
        _cleanup_free_ StatusCandidate *cand = NULL;
        _cleanup_strv_free_ char **grub_ids = NULL;
        BlsEntry *bls = NULL;
        size_t n_bls = 0, n_boot, pick;
        NextBootHints h = {};
        int r;

        r = bls_find_entries(root, &bls, &n_bls);
        if (r < 0)
                return log_error_errno(r, "Failed to list the boot entries under %s: %m", root);
        (void) read_grubenv(root, &grubenv);
        for (size_t i = 0; i < n_bls; i++) {
                _cleanup_free_ char *text = NULL, *raw = NULL, *options = NULL;
                r = read_root_file(root, bls[i].path, CHANGESET_FILE_MAX, &text, NULL);
                if (r >= 0)
                        r = bls_entry_options(text, &raw);
                if (r >= 0 && raw)
                        r = expand_kernelopts(raw, grubenv, &options);
                if (r >= 0)
                        r = add_entry(&s, STATUS_BLS_ENTRY, bls[i].path, bls[i].id, options ?: "", owned, wanted);
                if (r < 0) {
                        bls_entries_free(bls, n_bls);
                        return log_error_errno(r, "Failed to read %s under %s: %m", bls[i].path, root);
                }
        }
        bls_entries_free(bls, n_bls);
        r = collect_ukis(root, owned, wanted, &s);
        if (r < 0)
                return log_oom();

        r = status_grub_cfg_stale(root, &s.grub_cfg, &s.grub_cfg_older_than);
        if (r < 0)
                return log_oom();
        /* Without BLS entries or UKIs, GRUB's own menu is what boots. */
        if (s.n_entries == 0 && s.grub_cfg && read_root_file(root, s.grub_cfg, CHANGESET_FILE_MAX, &cfg_text, NULL) >= 0) {
                GrubMenuEntry *m = NULL;
                size_t n_m = 0;
                r = grub_cfg_parse(cfg_text, &m, &n_m);
                if (r < 0)
                        return log_oom();
                for (size_t i = 0; i < n_m; i++) {
                        r = add_entry(&s, STATUS_GRUB_MENUENTRY, s.grub_cfg, m[i].title, m[i].options, owned, wanted);
                        if (r < 0)
                                break;
                }
                /* Keep what picking needs: the ids and top-level indexes, in the same order. */
                cand = r >= 0 ? calloc(n_m ?: 1, sizeof(StatusCandidate)) : NULL;
                if (!cand) {
                        grub_menu_entries_free(m, n_m);
                        return log_oom();
                }
                for (size_t i = 0; i < n_m; i++) {
                        /* The ids live in m; s.entries[i].id holds the title. */
                        char *id = m[i].id;
                        m[i].id = NULL;
                        if (id && strv_consume(&grub_ids, id) < 0) {
                                grub_menu_entries_free(m, n_m);
                                return log_oom();
                        }
                        cand[i] = (StatusCandidate) { .id = id, .title = s.entries[i].id, .top = m[i].top };
                }
                grub_menu_entries_free(m, n_m);
        }
        n_boot = s.n_entries;
        if (!cand) {
                cand = calloc(n_boot ?: 1, sizeof(StatusCandidate));
                if (!cand)
                        return log_oom();
                for (size_t i = 0; i < n_boot; i++)
                        cand[i] = (StatusCandidate) { .id = s.entries[i].id, .top = (unsigned) i };
        }

        /* The files the next entries are generated from. */
        if (root_exists(root, GRUB_DEFAULTS) && wanted) {
                _cleanup_changeset_ ChangeSet *scratch = NULL;
                StatusEntry *e;
                if (changeset_new(root, &scratch) < 0)
                        return log_oom();
                /* What apply would change there (the drop-in names the profile). */
                r = boot_grub_plan(root, owned, wanted, judge, profile, scratch);
                if (r < 0)
                        return r;
                r = add_entry(&s, STATUS_GRUB_DEFAULTS, GRUB_DEFAULTS, NULL, NULL, owned, wanted);
                if (r < 0)
                        return log_oom();
                e = &s.entries[s.n_entries - 1];
                e->carries = scratch->n_items == 0;
        }
        if (root_exists(root, KERNEL_CMDLINE)) {
                _cleanup_free_ char *line = NULL;
                r = read_root_file(root, KERNEL_CMDLINE, CHANGESET_FILE_MAX, &line, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s under %s: %m", KERNEL_CMDLINE, root);
                line[strcspn(line, "\n")] = '\0';
                r = add_entry(&s, STATUS_KERNEL_CMDLINE, KERNEL_CMDLINE, NULL, line, owned, wanted);
                if (r < 0)
                        return log_oom();
        }

        /* Which one boots next. */
        (void) grubenv_get(grubenv ?: "", "next_entry", &next_entry);
        (void) grubenv_get(grubenv ?: "", "saved_entry", &saved_entry);
        if (read_loader_conf_default(root, &loader_default) < 0 || read_grub_default(root, &grub_default) < 0)
                return log_oom();
        h = (NextBootHints) {
                .oneshot = efi ? efi->oneshot : NULL,
                .efi_default = efi ? efi->efi_default : NULL,
                .loader_conf_default = loader_default,
                .grub_next_entry = isempty(next_entry) ? NULL : next_entry,
                .grub_saved_entry = isempty(saved_entry) ? NULL : saved_entry,
                .grub_default = grub_default,
        };
        if (status_pick_next(cand, n_boot, &h, &pick, &s.next_source) >= 0)
                s.next = pick;
        else {
                /* No entry yet: the next one will be generated from these files. */
                for (size_t i = 0; i < s.n_entries && s.next == SIZE_MAX; i++)
                        if (s.entries[i].kind == STATUS_GRUB_DEFAULTS) {
                                s.next = i;
                                s.next_source = s.grub_cfg ? "GRUB defaults (grub.cfg has no menuentry with a kernel)"
                                                           : "GRUB defaults (no grub.cfg generated yet)";
                        }
                for (size_t i = 0; i < s.n_entries && s.next == SIZE_MAX; i++)
                        if (s.entries[i].kind == STATUS_KERNEL_CMDLINE) {
                                s.next = i;
                                s.next_source = "/etc/kernel/cmdline (no kernel installed yet)";
                        }
        }
        if (s.next != SIZE_MAX)
                s.entries[s.next].next = true;
        *ret = s;
        s = (Status) {};
        return 0;
}

void status_done(Status *s) {
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].path);
                free(s->entries[i].id);
                free(s->entries[i].options);
        }
        free(s->entries);
        free(s->grub_cfg);
        free(s->grub_cfg_older_than);
        *s = (Status) {};
}
