/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic-write.h"
#include "changeset.h"
#include "diff.h"
#include "fileio.h"
#include "log.h"

#define MANIFEST_MAGIC "iommuctl-changeset 1"

static void change_item_done(ChangeItem *i) {
        free(i->path);
        free(i->full);
        free(i->old);
        free(i->new);
        free(i->backend);
        free(i->created_dir);
}

/* The topmost ancestor of path (a host path) missing under root, or NULL when its directory exists. */
static int missing_ancestor(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *p = strdup(path);
        char *top = NULL, *slash;

        if (!p)
                return -ENOMEM;
        while ((slash = strrchr(p, '/')) && slash != p) {
                *slash = '\0';
                if (root_exists(root, p))
                        break;
                free(top);
                top = strdup(p);
                if (!top)
                        return -ENOMEM;
        }
        *ret = top;
        return 0;
}

/* After removing a file commit created: removes the directories it created for it, while empty. */
static void remove_created_dirs(const char *root, const ChangeItem *c) {
        _cleanup_free_ char *p = NULL;
        char *slash;

        if (!c->created_dir || !(p = strdup(c->path)))
                return;
        while ((slash = strrchr(p, '/')) && slash != p) {
                _cleanup_free_ char *full = NULL;

                *slash = '\0';
                if (strlen(p) < strlen(c->created_dir))
                        break;
                full = root_path(root, p);
                if (!full || rmdir(full) < 0)
                        break;
        }
}

int changeset_new(const char *root, ChangeSet **ret) {
        ChangeSet *cs = calloc(1, sizeof(ChangeSet));

        if (!cs)
                return -ENOMEM;
        cs->root = strdup(root ?: "/");
        if (!cs->root) {
                free(cs);
                return -ENOMEM;
        }
        *ret = cs;
        return 0;
}

ChangeSet *changeset_free(ChangeSet *cs) {
        if (!cs)
                return NULL;
        for (size_t i = 0; i < cs->n_items; i++)
                change_item_done(&cs->items[i]);
        free(cs->items);
        free(cs->root);
        return mfree(cs);
}

const ChangeItem *changeset_find(const ChangeSet *cs, const char *path) {
        for (size_t i = 0; i < cs->n_items; i++)
                if (streq(cs->items[i].path, path))
                        return &cs->items[i];
        return NULL;
}

bool changeset_has_backend(const ChangeSet *cs, const char *backend) {
        for (size_t i = 0; i < cs->n_items; i++)
                if (streq(cs->items[i].backend, backend))
                        return true;
        return false;
}

/* Removes "." and resolves ".." lexically in an absolute path (which is right for a link
 * target: the directories named are inside the root, not themselves links we follow). */
static void path_simplify(char *p) {
        char *out = p, *in = p;

        while (*in) {
                while (*in == '/')
                        in++;
                if (!*in)
                        break;
                size_t l = strcspn(in, "/");
                if (l == 1 && in[0] == '.')
                        ;
                else if (l == 2 && in[0] == '.' && in[1] == '.') {
                        while (out > p && *--out != '/')
                                ;
                } else {
                        *out++ = '/';
                        memmove(out, in, l);
                        out += l;
                }
                in += l;
        }
        if (out == p)
                *out++ = '/';
        *out = '\0';
}

/* Follows symlinks in the last component of a host path, keeping the result inside the root
 * (an absolute link target in an image names a path of the image, not of this machine). */
static int resolve_last_symlink(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (unsigned n = 0; n < 16; n++) {
                _cleanup_free_ char *full = root_path(root, p);
                char target[PATH_MAX];
                ssize_t k;

                if (!full)
                        return -ENOMEM;
                k = readlink(full, target, sizeof(target) - 1);
                if (k < 0) {
                        if (errno == EINVAL || errno == ENOENT) {
                                path_simplify(p);
                                *ret = TAKE_PTR(p);
                                return 0;
                        }
                        return -errno;
                }
                target[k] = '\0';
                if (target[0] != '/') {
                        _cleanup_free_ char *copy = strdup(p);
                        char *q;
                        if (!copy)
                                return -ENOMEM;
                        if (asprintf(&q, "%s/%s", dirname(copy), target) < 0)
                                return -ENOMEM;
                        free(p);
                        p = q;
                } else if (free_and_strdup(&p, target) < 0)
                        return -ENOMEM;
        }
        return -ELOOP;
}

static bool contents_equal(const char *a, size_t na, const char *b, size_t nb) {
        if (!a || !b)
                return !a && !b;
        return na == nb && memcmp(a, b, na) == 0;
}

static int read_current(const char *full, char **ret, size_t *ret_size, struct stat *ret_st) {
        int r;

        if (stat(full, ret_st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (!S_ISREG(ret_st->st_mode))
                return -EISDIR;
        r = read_full_file(full, CHANGESET_FILE_MAX, ret, ret_size);
        return r;
}

int changeset_add(ChangeSet *cs, const char *path, const char *new, size_t new_size, mode_t create_mode, const char *backend) {
        _cleanup_free_ char *resolved = NULL, *full = NULL, *old = NULL, *copy = NULL, *b = NULL, *created_dir = NULL;
        ChangeItem *items;
        struct stat st = {};
        size_t old_size;
        bool existed;
        int r;

        r = resolve_last_symlink(cs->root, path, &resolved);
        if (r < 0)
                return log_error_errno(r, "Failed to resolve %s: %m", path);
        /* The journal's manifest is line and tab separated. */
        if (strpbrk(resolved, "\t\n"))
                return log_error_errno(-EINVAL, "Refusing to change %s: tab or newline in the path.", resolved);
        if (changeset_find(cs, resolved))
                return -EEXIST;
        full = root_path(cs->root, resolved);
        if (!full)
                return -ENOMEM;
        r = read_current(full, &old, &old_size, &st);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", full);
        if (contents_equal(old, old_size, new, new_size))
                return 0;

        if (new) {
                copy = malloc(new_size + 1);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, new, new_size);
                copy[new_size] = '\0';
        }
        b = strdup(backend);
        if (!b)
                return -ENOMEM;
        items = reallocarray(cs->items, cs->n_items + 1, sizeof(ChangeItem));
        if (!items)
                return -ENOMEM;
        cs->items = items;
        /* An existing file keeps its mode and owner. (Decided before the initializer below, whose
         * TAKE_PTR(old) may be evaluated first.) */
        existed = old != NULL;
        if (!existed && new) {
                r = missing_ancestor(cs->root, resolved, &created_dir);
                if (r < 0)
                        return r;
        }
        cs->items[cs->n_items++] = (ChangeItem) {
                .path = TAKE_PTR(resolved),
                .full = TAKE_PTR(full),
                .old = TAKE_PTR(old),
                .old_size = old_size,
                .new = TAKE_PTR(copy),
                .new_size = new_size,
                .mode = existed ? st.st_mode & 07777 : create_mode,
                .uid = existed ? st.st_uid : (uid_t) -1,
                .gid = existed ? st.st_gid : (gid_t) -1,
                .backend = TAKE_PTR(b),
                .created_dir = TAKE_PTR(created_dir),
        };
        return 1;
}

void changeset_print_diff(const ChangeSet *cs, FILE *f) {
        for (size_t i = 0; i < cs->n_items; i++) {
                const ChangeItem *c = &cs->items[i];
                _cleanup_free_ char *a = NULL, *b = NULL;

                if (asprintf(&a, "a%s", c->path) < 0 || asprintf(&b, "b%s", c->path) < 0) {
                        log_oom();
                        return;
                }
                diff_unified(f, c->old ? a : "/dev/null", c->old ?: "", c->old_size,
                             c->new ? b : "/dev/null", c->new ?: "", c->new_size);
        }
}

/* Journal paths. */
static char *journal_dir(const char *root, unsigned id) {
        _cleanup_free_ char *d = root_path(root, CHANGESET_DIR);
        char *p;

        if (!d || asprintf(&p, "%s/%08u", d, id) < 0)
                return NULL;
        return p;
}

static char *journal_file(const char *dir, const char *name, size_t k) {
        char *p;

        if (k == SIZE_MAX ? asprintf(&p, "%s/%s", dir, name) < 0 : asprintf(&p, "%s/%s-%zu", dir, name, k) < 0)
                return NULL;
        return p;
}

static bool journal_has(const char *dir, const char *name) {
        _cleanup_free_ char *p = journal_file(dir, name, SIZE_MAX);
        return p && access(p, F_OK) == 0;
}

static int journal_mark(const char *dir, const char *name) {
        _cleanup_free_ char *p = journal_file(dir, name, SIZE_MAX);
        char stamp[64];
        int n;

        if (!p)
                return -ENOMEM;
        n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long) time(NULL));
        return write_file_atomic(p, stamp, n, 0600, (uid_t) -1, (gid_t) -1);
}

/* The ids of the journaled sets, ascending. */
static int journal_list(const char *root, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ char *d = root_path(root, CHANGESET_DIR);
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_free_ unsigned *ids = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d)
                return -ENOMEM;
        dir = opendir(d);
        if (!dir) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((de = readdir(dir))) {
                char *end;
                unsigned long v;
                unsigned *t;

                if (strlen(de->d_name) != 8 || strspn(de->d_name, "0123456789") != 8)
                        continue;
                v = strtoul(de->d_name, &end, 10);
                t = reallocarray(ids, n + 1, sizeof(unsigned));
                if (!t)
                        return -ENOMEM;
                ids = t;
                ids[n++] = (unsigned) v;
        }
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
                        unsigned t = ids[j];
                        ids[j] = ids[j - 1];
                        ids[j - 1] = t;
                }
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

static int journal_write(const ChangeSet *cs, const char *dir) {
        _cleanup_free_ char *manifest = NULL, *mpath = NULL;
        size_t msize = 0;
        FILE *m;
        int r;

        m = open_memstream(&manifest, &msize);
        if (!m)
                return -ENOMEM;
        fprintf(m, "%s\n", MANIFEST_MAGIC);
        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                fprintf(m, "%zu\t%d\t%d\t%04o\t%lld\t%lld\t%s\t%s\n", k, !!c->old, !!c->new, (unsigned) c->mode,
                        c->uid == (uid_t) -1 ? -1LL : (long long) c->uid,
                        c->gid == (gid_t) -1 ? -1LL : (long long) c->gid, c->backend, c->path);
        }
        if (fclose(m) != 0)
                return -ENOMEM;

        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                if (c->old) {
                        _cleanup_free_ char *p = journal_file(dir, "old", k);
                        if (!p)
                                return -ENOMEM;
                        r = write_file_atomic(p, c->old, c->old_size, 0600, (uid_t) -1, (gid_t) -1);
                        if (r < 0)
                                return log_error_errno(r, "Failed to write the journal file %s: %m", p);
                }
                if (c->new) {
                        _cleanup_free_ char *p = journal_file(dir, "new", k);
                        if (!p)
                                return -ENOMEM;
                        r = write_file_atomic(p, c->new, c->new_size, 0600, (uid_t) -1, (gid_t) -1);
                        if (r < 0)
                                return log_error_errno(r, "Failed to write the journal file %s: %m", p);
                }
                if (c->created_dir) {
                        _cleanup_free_ char *p = journal_file(dir, "dir", k);
                        if (!p)
                                return -ENOMEM;
                        r = write_file_atomic(p, c->created_dir, strlen(c->created_dir), 0600, (uid_t) -1, (gid_t) -1);
                        if (r < 0)
                                return log_error_errno(r, "Failed to write the journal file %s: %m", p);
                }
        }
        /* The manifest last: a journal directory without one never got to touch a boot file. */
        mpath = journal_file(dir, "manifest", SIZE_MAX);
        if (!mpath)
                return -ENOMEM;
        r = write_file_atomic(mpath, manifest, msize, 0600, (uid_t) -1, (gid_t) -1);
        if (r < 0)
                return log_error_errno(r, "Failed to write the journal file %s: %m", mpath);
        return 0;
}

static int remove_tree(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                (void) unlink(p);
        }
        if (rmdir(dir) < 0)
                return -errno;
        return fsync_parent_directory(dir);
}

/* Puts one file into its "new" state: contents, or removal. */
static int item_write_new(const ChangeItem *c) {
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!c->new)
                return unlink_file_durable(c->full);
        copy = strdup(c->full);
        if (!copy)
                return -ENOMEM;
        r = mkdir_parents(dirname(copy), 0755);
        if (r < 0)
                return r;
        return write_file_atomic(c->full, c->new, c->new_size, c->mode, c->uid, c->gid);
}

/* A crash between creating a temporary file and renaming it leaves ".#name.XXXXXX" next to the
 * target; remove those when cleaning up after it. */
static void remove_stale_temporaries(const char *full) {
        _cleanup_free_ char *copy = strdup(full), *copy2 = strdup(full), *prefix = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        const char *dir;
        struct dirent *de;

        if (!copy || !copy2)
                return;
        dir = dirname(copy);
        if (asprintf(&prefix, ".#%s.", basename(copy2)) < 0)
                return;
        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (startswith(de->d_name, prefix) && strlen(de->d_name) == strlen(prefix) + 6) {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s/%s", dir, de->d_name) >= 0)
                                (void) unlink(p);
                }
}

/* Puts files [0, n) back into their "old" state where they are not in it. */
static int items_restore(const ChangeSet *cs, size_t n) {
        int ret = 0;

        for (size_t k = n; k-- > 0;) {
                const ChangeItem *c = &cs->items[k];
                _cleanup_free_ char *cur = NULL;
                struct stat st;
                size_t cur_size;
                int r;

                remove_stale_temporaries(c->full);
                r = read_current(c->full, &cur, &cur_size, &st);
                if (r >= 0 && contents_equal(cur, cur_size, c->old, c->old_size)) {
                        if (!c->old) /* the write failed after creating the directories */
                                remove_created_dirs(cs->root, c);
                        continue;
                }
                if (c->old)
                        r = write_file_atomic(c->full, c->old, c->old_size, c->mode, c->uid, c->gid);
                else {
                        r = unlink_file_durable(c->full);
                        if (r >= 0)
                                remove_created_dirs(cs->root, c);
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to restore %s: %m", c->full);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int changeset_commit(ChangeSet *cs) {
        _cleanup_free_ unsigned *ids = NULL;
        _cleanup_free_ char *dir = NULL, *base = NULL;
        size_t n_ids;
        int r;

        if (cs->n_items == 0)
                return 0;

        r = journal_list(cs->root, &ids, &n_ids);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m", CHANGESET_DIR, cs->root);
        cs->id = n_ids > 0 ? ids[n_ids - 1] + 1 : 1;
        dir = journal_dir(cs->root, cs->id);
        base = root_path(cs->root, CHANGESET_DIR);
        if (!dir || !base)
                return log_oom();
        r = mkdir_parents(base, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", base);
        if (mkdir(dir, 0700) < 0)
                return log_error_errno(-errno, "Failed to create %s: %m", dir);
        r = fsync_parent_directory(dir);
        if (r < 0)
                log_error_errno(r, "Failed to fsync the directory of %s: %m", dir);
        else
                r = journal_write(cs, dir); /* logs, naming the file */
        if (r < 0) {
                (void) remove_tree(dir);
                log_error("Nothing was changed.");
                return r;
        }

        for (size_t k = 0; k < cs->n_items; k++) {
                r = item_write_new(&cs->items[k]);
                if (r < 0) {
                        log_error_errno(r, "Failed to write %s: %m", cs->items[k].full);
                        if (items_restore(cs, k + 1) < 0) {
                                log_error("Some files could not be restored; the journal %s is kept: run 'iommuctl rollback' "
                                          "once the cause is fixed.", dir);
                                return r;
                        }
                        (void) journal_mark(dir, "rolled-back");
                        log_error("Restored every file the change set had touched; nothing was changed.");
                        return r;
                }
        }
        r = journal_mark(dir, "complete");
        if (r < 0) {
                log_error_errno(r, "Failed to mark the change set %s complete: %m", dir);
                if (items_restore(cs, cs->n_items) >= 0 && journal_mark(dir, "rolled-back") >= 0)
                        log_error("Restored every file the change set had touched; nothing was changed.");
                return r;
        }
        return 0;
}

/* Reads a journaled set. ret->items[k].new holds the contents written by the set (NULL for a
 * removal), .old the contents before it (NULL when the file did not exist). */
static int journal_load(const char *root, unsigned id, ChangeSet **ret) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_free_ char *dir = journal_dir(root, id), *mpath = NULL, *manifest = NULL;
        char *line, *save = NULL;
        unsigned lineno = 0;
        int r;

        if (!dir)
                return -ENOMEM;
        mpath = journal_file(dir, "manifest", SIZE_MAX);
        if (!mpath)
                return -ENOMEM;
        r = read_full_file(mpath, 1024 * 1024, &manifest, NULL);
        if (r < 0)
                return r;
        r = changeset_new(root, &cs);
        if (r < 0)
                return r;
        cs->id = id;
        for (line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char backend[64], path[PATH_MAX];
                int existed, has_new, n = 0;
                unsigned mode;
                long long uid, gid;
                size_t k;
                ChangeItem *items, item = {};

                lineno++;
                if (lineno == 1) {
                        if (!streq(line, MANIFEST_MAGIC))
                                return log_error_errno(-EBADMSG, "%s:1: not an iommuctl change set manifest.", mpath);
                        continue;
                }
                if (sscanf(line, "%zu\t%d\t%d\t%o\t%lld\t%lld\t%63[^\t]\t%n", &k, &existed, &has_new, &mode, &uid, &gid,
                           backend, &n) != 7 || n == 0 || k != cs->n_items || strlen(line + n) >= sizeof(path))
                        return log_error_errno(-EBADMSG, "%s:%u: malformed line.", mpath, lineno);
                strcpy(path, line + n);
                item.path = strdup(path);
                item.full = root_path(root, path);
                item.backend = strdup(backend);
                item.mode = mode;
                item.uid = uid < 0 ? (uid_t) -1 : (uid_t) uid;
                item.gid = gid < 0 ? (gid_t) -1 : (gid_t) gid;
                if (!item.path || !item.full || !item.backend) {
                        change_item_done(&item);
                        return -ENOMEM;
                }
                r = 0;
                if (existed) {
                        _cleanup_free_ char *p = journal_file(dir, "old", k);
                        r = p ? read_full_file(p, CHANGESET_FILE_MAX, &item.old, &item.old_size) : -ENOMEM;
                }
                if (r >= 0 && has_new) {
                        _cleanup_free_ char *p = journal_file(dir, "new", k);
                        r = p ? read_full_file(p, CHANGESET_FILE_MAX, &item.new, &item.new_size) : -ENOMEM;
                }
                if (r >= 0 && !existed) {
                        /* Journals written before this file existed lack it. Only a directory above
                         * the path counts. */
                        _cleanup_free_ char *p = journal_file(dir, "dir", k);
                        const char *rest;
                        r = p ? read_full_file(p, PATH_MAX, &item.created_dir, NULL) : -ENOMEM;
                        if (r == -ENOENT)
                                r = 0;
                        else if (r >= 0 && (!(rest = startswith(item.path, item.created_dir)) || rest[0] != '/' ||
                                            item.created_dir[0] != '/'))
                                item.created_dir = mfree(item.created_dir);
                }
                if (r < 0) {
                        change_item_done(&item);
                        return log_error_errno(r, "Failed to read the journal of change set %s: %m", dir);
                }
                items = reallocarray(cs->items, cs->n_items + 1, sizeof(ChangeItem));
                if (!items) {
                        change_item_done(&item);
                        return -ENOMEM;
                }
                cs->items = items;
                cs->items[cs->n_items++] = item;
        }
        if (lineno == 0)
                return log_error_errno(-EBADMSG, "%s is empty.", mpath);
        *ret = TAKE_PTR(cs);
        return 0;
}

int changeset_recover(const char *root) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n_ids;
        int r, n = 0;

        r = journal_list(root, &ids, &n_ids);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m", CHANGESET_DIR, root);
        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_changeset_ ChangeSet *cs = NULL;
                _cleanup_free_ char *dir = journal_dir(root, ids[i]);

                if (!dir)
                        return log_oom();
                if (journal_has(dir, "complete") || journal_has(dir, "rolled-back"))
                        continue;
                if (!journal_has(dir, "manifest")) {
                        /* Interrupted while journaling: no boot file was touched yet. */
                        (void) remove_tree(dir);
                        continue;
                }
                log_warning("Change set %s was interrupted; restoring the files it had started to change.", dir);
                r = journal_load(root, ids[i], &cs);
                if (r < 0)
                        return r;
                r = items_restore(cs, cs->n_items);
                if (r < 0)
                        return log_error_errno(r, "Failed to roll back the interrupted change set %s: %m", dir);
                r = journal_mark(dir, "rolled-back");
                if (r < 0)
                        return log_error_errno(r, "Failed to mark %s rolled back: %m", dir);
                n++;
        }
        return n;
}

int changeset_load_last_for_rollback(const char *root, ChangeSet **ret) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n_ids;
        int r;

        r = journal_list(root, &ids, &n_ids);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m", CHANGESET_DIR, root);
        for (size_t i = n_ids; i-- > 0;) {
                _cleanup_changeset_ ChangeSet *journal = NULL, *cs = NULL;
                _cleanup_free_ char *dir = journal_dir(root, ids[i]);

                if (!dir)
                        return log_oom();
                if (!journal_has(dir, "manifest") || journal_has(dir, "rolled-back"))
                        continue;
                r = journal_load(root, ids[i], &journal);
                if (r < 0)
                        return r;
                r = changeset_new(root, &cs);
                if (r < 0)
                        return log_oom();
                cs->id = ids[i];
                /* Invert it: what is there now (the set's new contents, or already the old ones
                 * after an interrupted rollback) becomes "old", the journaled old contents "new". */
                for (size_t k = 0; k < journal->n_items; k++) {
                        ChangeItem *j = &journal->items[k];
                        _cleanup_free_ char *cur = NULL;
                        struct stat st;
                        size_t cur_size;
                        ChangeItem *items;

                        r = read_current(j->full, &cur, &cur_size, &st);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read %s: %m", j->full);
                        if (contents_equal(cur, cur_size, j->old, j->old_size))
                                continue;
                        if (!contents_equal(cur, cur_size, j->new, j->new_size))
                                return log_error_errno(-ESTALE, "%s was changed after change set %08u wrote it; not rolling back "
                                                       "(the journal is in %s).", j->full, ids[i], dir);
                        items = reallocarray(cs->items, cs->n_items + 1, sizeof(ChangeItem));
                        if (!items)
                                return log_oom();
                        cs->items = items;
                        cs->items[cs->n_items++] = (ChangeItem) {
                                .path = TAKE_PTR(j->path),
                                .full = TAKE_PTR(j->full),
                                .old = TAKE_PTR(cur),
                                .old_size = cur_size,
                                .new = TAKE_PTR(j->old),
                                .new_size = j->old_size,
                                .mode = j->mode,
                                .uid = j->uid,
                                .gid = j->gid,
                                .backend = TAKE_PTR(j->backend),
                                .created_dir = TAKE_PTR(j->created_dir),
                        };
                }
                *ret = TAKE_PTR(cs);
                return 0;
        }
        return -ENOENT;
}

int changeset_rollback_commit(ChangeSet *cs) {
        _cleanup_free_ char *dir = journal_dir(cs->root, cs->id);
        int r;

        if (!dir)
                return log_oom();
        /* Restoring is idempotent (a file already back is skipped), so a rollback interrupted
         * halfway is finished by running it again; no journal of its own is needed. */
        for (size_t k = 0; k < cs->n_items; k++) {
                remove_stale_temporaries(cs->items[k].full);
                r = item_write_new(&cs->items[k]);
                if (r < 0)
                        return log_error_errno(r, "Failed to restore %s: %m; run 'iommuctl rollback' again once the cause "
                                               "is fixed.", cs->items[k].full);
                if (!cs->items[k].new)
                        remove_created_dirs(cs->root, &cs->items[k]);
        }
        r = journal_mark(dir, "rolled-back");
        if (r < 0)
                return log_error_errno(r, "Failed to mark %s rolled back: %m", dir);
        return 0;
}

int changeset_lock(const char *root, int *ret_fd) {
        _cleanup_free_ char *p = root_path(root, CHANGESET_LOCK), *copy = NULL;
        _cleanup_close_ int fd = -1;
        const char *e = getenv("IOMMUCTL_LOCK_TIMEOUT");
        long timeout_ms = (e ? strtol(e, NULL, 10) : 120) * 1000;
        int r;

        if (!p || !(copy = strdup(p)))
                return log_oom();
        r = mkdir_parents(dirname(copy), 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create the directory of %s: %m", p);
reopen:
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", p);
        for (long waited = 0;; waited += 100) {
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0) {
                        struct stat a, b;
                        /* The holder removed the file (changeset_unlock() under a root): lock the new one. */
                        if (fstat(fd, &a) >= 0 && (stat(p, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
                                close(TAKE_FD(fd));
                                goto reopen;
                        }
                        break;
                }
                if (errno != EWOULDBLOCK)
                        return log_error_errno(-errno, "Failed to lock %s: %m", p);
                if (waited == 0)
                        log_notice("Another iommuctl apply or rollback holds %s; waiting for it to finish.", p);
                if (waited >= timeout_ms)
                        return log_error_errno(-EBUSY, "Another iommuctl apply or rollback still holds %s after %ld s; "
                                               "giving up.", p, timeout_ms / 1000);
                (void) nanosleep(&(struct timespec) { .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void changeset_unlock(const char *root, int fd) {
        /* An image or another root must not keep the lock file: remove it while still holding it
         * (changeset_lock() notices and locks the new file). The live host keeps it. */
        if (fd >= 0 && !root_is_host(root)) {
                _cleanup_free_ char *p = root_path(root, CHANGESET_LOCK);
                if (p)
                        (void) unlink(p);
        }
        if (fd >= 0)
                close(fd);
}
