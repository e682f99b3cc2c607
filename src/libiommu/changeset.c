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
#include "escape.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"
#include "xattr-util.h"

/* Version 3 adds each file's extended attributes to version 2 (one "journal" file, the manifest
 * followed by the contents); both are read. Version 1 (a file per item) predates the only release
 * and is not read any more. */
#define JOURNAL_MAGIC_V2 "iommuctl-changeset 2"
#define JOURNAL_MAGIC "iommuctl-changeset 3"
/* A set of 2000 boot files of 4 MiB each would be 16 GiB: far more than any boot partition. */
#define JOURNAL_MAX (256U * 1024U * 1024U)

static void change_item_done(ChangeItem *i) {
        free(i->path);
        free(i->full);
        free(i->old);
        free(i->new);
        free(i->backend);
        free(i->created_dir);
        free(i->xattrs);
}

/* The topmost ancestor of path (a host path) missing under root, or NULL when its directory exists. */
static int missing_ancestor(const Root *root, const char *path, char **ret) {
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

/* Removes the directory path (inside the root) relative to its parent's descriptor. */
static int rmdir_in_root(const Root *root, char *path) {
        _cleanup_close_ int pfd = -1;
        char *slash = strrchr(path, '/');
        int r;

        if (!slash || !slash[1])
                return -EINVAL;
        *slash = '\0';
        r = chase_root(root, slash == path ? "/" : path, 0, NULL, &pfd);
        *slash = '/';
        if (r < 0)
                return r;
        return unlinkat(pfd, slash + 1, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* After removing a file commit created: removes the directories it created for it, while empty. */
static void remove_created_dirs(const Root *root, const ChangeItem *c) {
        _cleanup_free_ char *p = NULL;
        char *slash;

        if (!c->created_dir || !(p = strdup(c->path)))
                return;
        while ((slash = strrchr(p, '/')) && slash != p) {
                *slash = '\0';
                if (strlen(p) < strlen(c->created_dir))
                        break;
                if (rmdir_in_root(root, p) < 0)
                        break;
        }
}

typedef struct ChangeDir {
        char *path; /* inside the root, resolved */
        int fd;     /* O_RDONLY|O_DIRECTORY */
} ChangeDir;

struct ChangeDirCache {
        ChangeDir *dirs;
        size_t n;
        /* The directory of the last item added, as given and as resolved inside the root. */
        char *last_given, *last_resolved;
};

static void dir_cache_free(ChangeDirCache *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->dirs[i].path);
                if (c->dirs[i].fd >= 0)
                        close(c->dirs[i].fd);
        }
        free(c->dirs);
        free(c->last_given);
        free(c->last_resolved);
        free(c);
}

/* The directory part of an item's path ("/" for "/x") and its last component. */
static char *item_dir_path(const ChangeItem *c) {
        const char *slash = strrchr(c->path, '/');
        return slash == c->path ? strdup("/") : strndup(c->path, (size_t) (slash - c->path));
}

static const char *item_name(const ChangeItem *c) {
        return strrchr(c->path, '/') + 1;
}

/* The descriptor of the directory that holds c, opened through the root handle (symlinks in it
 * resolve inside the root) the first time and kept. With create, missing directories are made
 * inside the root; without, -ENOENT when it is missing. The descriptor pins the directory: a
 * component swapped for a symlink afterwards does not move where the item is written. */
static int item_dir_fd(const ChangeSet *cs, const ChangeItem *c, bool create, int *ret_fd) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int pfd = -1, fd = -1;
        ChangeDirCache *cache = cs->dirs;
        const char *slash = strrchr(c->path, '/');
        size_t l = slash == c->path ? 1 : (size_t) (slash - c->path);
        ChangeDir *t;
        int r;

        /* Found without a copy of the directory's path: asked once or twice per item. */
        for (size_t i = 0; i < cache->n; i++)
                if (strneq(cache->dirs[i].path, c->path, l) && cache->dirs[i].path[l] == '\0') {
                        *ret_fd = cache->dirs[i].fd;
                        return 0;
                }
        dir = item_dir_path(c);
        if (!dir)
                return -ENOMEM;
        /* openat2(RESOLVE_IN_ROOT) where the directory is there; the component walk makes the
         * missing ones inside the root. */
        r = root_open(cs->root, dir, O_RDONLY | O_DIRECTORY, &fd);
        if (r == -ENOENT && create) {
                r = chase_root(cs->root, dir, CHASE_MKDIR, NULL, &pfd);
                if (r < 0)
                        return r;
                fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        } else if (r < 0)
                return r;
        t = reallocarray(cache->dirs, cache->n + 1, sizeof(ChangeDir));
        if (!t)
                return -ENOMEM;
        cache->dirs = t;
        cache->dirs[cache->n++] = (ChangeDir) { .path = TAKE_PTR(dir), .fd = fd };
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int changeset_new(const Root *root, ChangeSet **ret) {
        ChangeSet *cs = calloc(1, sizeof(ChangeSet));

        if (!cs)
                return -ENOMEM;
        cs->root = root;
        cs->dirs = calloc(1, sizeof(ChangeDirCache));
        if (!cs->dirs) {
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
        free(cs->index);
        dir_cache_free(cs->dirs);
        return mfree(cs);
}

/* FNV-1a: the index only has to spread paths, not resist anyone (paths come from our backends). */
/* FNV-1a over the length and the last 32 bytes: the paths of one set share their directory (and
 * the entries their machine id), and differ at the end. */
static size_t path_hash(const char *s) {
        uint64_t h = 14695981039346656037ULL;
        size_t l = strlen(s);

        h = (h ^ l) * 1099511628211ULL;
        for (s += l > 32 ? l - 32 : 0; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return (size_t) h;
}

static void index_insert(size_t *index, size_t size, const char *path, size_t item) {
        for (size_t i = path_hash(path) & (size - 1);; i = (i + 1) & (size - 1))
                if (index[i] == 0) {
                        index[i] = item + 1;
                        return;
                }
}

/* Appends an item (taking its members) and indexes its path: adding N files is O(N), where a
 * linear changeset_find() per add made it O(N^2). */
static int changeset_append(ChangeSet *cs, ChangeItem *item) {
        if (GREEDY_REALLOC(cs->items, cs->n_allocated, cs->n_items + 1, 8) < 0)
                return -ENOMEM;
        if ((cs->n_items + 1) * 2 >= cs->index_size) {
                size_t m = cs->index_size ? cs->index_size * 2 : 16;
                size_t *t = calloc(m, sizeof(size_t));
                if (!t)
                        return -ENOMEM;
                for (size_t k = 0; k < cs->n_items; k++)
                        index_insert(t, m, cs->items[k].path, k);
                free(cs->index);
                cs->index = t;
                cs->index_size = m;
        }
        index_insert(cs->index, cs->index_size, item->path, cs->n_items);
        cs->items[cs->n_items++] = *item;
        *item = (ChangeItem) {};
        return 0;
}

const ChangeItem *changeset_find(const ChangeSet *cs, const char *path) {
        if (cs->index_size == 0)
                return NULL;
        for (size_t i = path_hash(path) & (cs->index_size - 1);; i = (i + 1) & (cs->index_size - 1)) {
                size_t k = cs->index[i];
                if (k == 0)
                        return NULL;
                if (streq(cs->items[k - 1].path, path))
                        return &cs->items[k - 1];
        }
}

bool changeset_has_backend(const ChangeSet *cs, const char *backend) {
        for (size_t i = 0; i < cs->n_items; i++)
                if (streq(cs->items[i].backend, backend))
                        return true;
        return false;
}

/* A path recorded in a manifest names a file inside the root: absolute, normalized, no "." or
 * ".." component, no empty one. It is checked before any use, so a manifest cannot name a file
 * outside the root (the resolver would clamp it anyway; this makes a forged one an error). */
static bool manifest_path_valid(const char *p) {
        if (p[0] != '/' || p[1] == '\0')
                return false;
        for (const char *c = p + 1;;) {
                size_t l = strcspn(c, "/");
                if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (c[l] == '\0')
                        return true;
                c += l + 1;
        }
}


static bool contents_equal(const char *a, size_t na, const char *b, size_t nb) {
        if (!a || !b)
                return !a && !b;
        return na == nb && memcmp(a, b, na) == 0;
}

/* The current contents of a boot file (read_fd_full() keeps it in a buffer of its size: a set
 * of 2000 entries holds 2000 of these), its inode for the hard-link check, and (when ret_xattrs
 * is not NULL) its extended attributes. */
static int read_current_full(int dir_fd, const char *name, char **ret, size_t *ret_size, struct stat *ret_st,
                             char **ret_xattrs, size_t *ret_xattrs_size) {
        _cleanup_close_ int fd = -1;
        int r;

        if (dir_fd < 0 || fstatat(dir_fd, name, ret_st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (dir_fd >= 0 && errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (S_ISDIR(ret_st->st_mode))
                return -EISDIR;
        if (!S_ISREG(ret_st->st_mode))
                return -EBADFD;
        fd = openat(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (ret_xattrs) {
                r = xattrs_read_fd(fd, ret_xattrs, ret_xattrs_size);
                if (r < 0)
                        return r;
        }
        return read_fd_full(fd, CHANGESET_FILE_MAX, ret, ret_size);
}

static int read_current(int dir_fd, const char *name, char **ret, size_t *ret_size, struct stat *ret_st) {
        return read_current_full(dir_fd, name, ret, ret_size, ret_st, NULL, NULL);
}

/* chase_root(CHASE_NONEXISTENT) of path, for the items of one directory: the directory is
 * resolved once, and each file in it checked with one fstatat() (a symlink takes the whole walk
 * again). Many entries of one directory cost one walk instead of one each. */
static int resolve_item_path(ChangeSet *cs, const char *path, char **ret) {
        ChangeDirCache *c = cs->dirs;
        const char *slash = strrchr(path, '/'), *name;
        _cleanup_free_ char *dir = NULL, *resolved = NULL;
        ChangeItem probe = {};
        struct stat st;
        int r, fd;

        if (!slash || slash == path || !slash[1] || streq(slash + 1, ".") || streq(slash + 1, ".."))
                return chase_root(cs->root, path, CHASE_NONEXISTENT, ret, NULL);
        name = slash + 1;
        dir = strndup(path, slash - path);
        if (!dir)
                return -ENOMEM;
        if (!c->last_given || !streq(c->last_given, dir)) {
                r = chase_root(cs->root, dir, 0, &resolved, NULL);
                if (r < 0 || streq(resolved, "/"))
                        return chase_root(cs->root, path, CHASE_NONEXISTENT, ret, NULL);
                free(c->last_given);
                free(c->last_resolved);
                c->last_given = TAKE_PTR(dir);
                c->last_resolved = TAKE_PTR(resolved);
        }
        probe.path = malloc(strlen(c->last_resolved) + 1 + strlen(name) + 1);
        if (!probe.path)
                return -ENOMEM;
        strcpy(stpcpy(stpcpy(probe.path, c->last_resolved), "/"), name);
        r = item_dir_fd(cs, &probe, false, &fd);
        if (r >= 0 && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                r = errno == ENOENT ? 0 : -errno;
        else if (r >= 0 && S_ISLNK(st.st_mode))
                r = -ELOOP;
        if (r < 0) {
                free(probe.path);
                return chase_root(cs->root, path, CHASE_NONEXISTENT, ret, NULL);
        }
        *ret = probe.path;
        return 0;
}

int changeset_add(ChangeSet *cs, const char *path, const char *new, size_t new_size, mode_t create_mode, const char *backend) {
        _cleanup_free_ char *resolved = NULL, *full = NULL, *old = NULL, *copy = NULL, *b = NULL, *created_dir = NULL,
                            *xattrs = NULL;
        ChangeItem item;
        struct stat st = {};
        size_t old_size, xattrs_size = 0;
        bool existed;
        int r, dir_fd = -1;

        /* Resolved inside the root, symlinks at any level included: an entry that is a symlink is
         * rewritten where it points inside the root, never on this machine. */
        r = resolve_item_path(cs, path, &resolved);
        if (r < 0)
                return log_error_errno(r, "Failed to resolve %s under %s: %m; nothing was changed.", path, cs->root->path);
        if (streq(resolved, "/"))
                return log_error_errno(-EISDIR, "Refusing to change %s: it is the root.", path);
        full = root_display(cs->root, resolved);
        if (!full)
                return log_oom();
        /* The journal's manifest is line and tab separated. */
        if (strpbrk(resolved, "\t\n"))
                return log_error_errno(-EINVAL, "Refusing to change %s: tab or newline in the path.", resolved);
        if (changeset_find(cs, resolved))
                return -EEXIST;
        /* Its directory, opened once and kept for the write: -ENOENT is a directory that is still
         * to be made (the file is new). */
        {
                ChangeItem probe = { .path = resolved };
                r = item_dir_fd(cs, &probe, false, &dir_fd);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Failed to open the directory of %s: %m; nothing was changed.", full);
        }
        r = read_current_full(dir_fd, strrchr(resolved, '/') + 1, &old, &old_size, &st, &xattrs, &xattrs_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m; nothing was changed.", full);
        /* In an image, a boot file with a second name may be a hard link to a file of the build
         * host: its contents would be journaled and rewritten into the image. */
        if (old && st.st_nlink > 1 && !root_is_host(cs->root))
                return log_error_errno(-EMLINK, "Refusing to rewrite %s: it has %ju hard links (a file outside the tree "
                                       "may share it); nothing was changed.", full, (uintmax_t) st.st_nlink);
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
        /* An existing file keeps its mode and owner. (Decided before the initializer below, whose
         * TAKE_PTR(old) may be evaluated first.) */
        existed = old != NULL;
        if (!existed && new) {
                r = missing_ancestor(cs->root, resolved, &created_dir);
                if (r < 0)
                        return r;
        }
        item = (ChangeItem) {
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
                .xattrs = TAKE_PTR(xattrs),
                .xattrs_size = xattrs_size,
        };
        r = changeset_append(cs, &item);
        if (r < 0) {
                change_item_done(&item);
                return r;
        }
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
                /* A PE image (a UKI add-on) as diff(1) says it, not as bytes on a terminal. */
                if ((c->old && memchr(c->old, 0, c->old_size)) || (c->new && memchr(c->new, 0, c->new_size))) {
                        fprintf(f, "Binary files %s and %s differ\n", c->old ? a : "/dev/null", c->new ? b : "/dev/null");
                        continue;
                }
                diff_unified(f, c->old ? a : "/dev/null", c->old ?: "", c->old_size,
                             c->new ? b : "/dev/null", c->new ?: "", c->new_size);
        }
}

/* Journal paths: the name of a set's directory for messages (ROOT/var/lib/iommu/changesets/ID),
 * and its descriptor, opened through the root handle (CHANGESET_DIR resolves inside the root; the
 * set's directory itself is never a symlink). */
static char *journal_dir(const Root *root, unsigned id) {
        char *rel, *p;

        if (asprintf(&rel, "%s/%08u", CHANGESET_DIR, id) < 0)
                return NULL;
        p = root_display(root, rel);
        free(rel);
        return p;
}

static int journal_dir_open(const Root *root, unsigned id, int *ret_fd) {
        _cleanup_close_ int base = -1;
        char name[16];
        int r, fd;

        r = chase_root(root, CHANGESET_DIR, 0, NULL, &base);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%08u", id);
        fd = openat(base, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static char *journal_file(const char *dir, const char *name, size_t k) {
        char *p;

        if (k == SIZE_MAX ? asprintf(&p, "%s/%s", dir, name) < 0 : asprintf(&p, "%s/%s-%zu", dir, name, k) < 0)
                return NULL;
        return p;
}

static bool journal_has(int dir_fd, const char *name) {
        struct stat st;
        return dir_fd >= 0 && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int journal_mark(int dir_fd, const char *name) {
        char stamp[64];
        int n;

        n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long) time(NULL));
        /* What counts is that the mark exists (its name, made durable by the directory fsync),
         * not the time stamp in it: no fsync of the file itself. */
        return write_file_atomic_at(dir_fd, name, stamp, n, 0600, (uid_t) -1, (gid_t) -1, WRITE_ATOMIC_NO_DATA_SYNC);
}

static int unsigned_compare(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

/* For the history: which verb wrote the set, for which profile. Written just before the journal,
 * whose directory fsync makes its name durable too (one fsync of the set's directory, not two);
 * a set interrupted before its journal is there is removed by changeset_recover(), info and all. */
static int journal_write_info(const ChangeSet *cs, int dir_fd) {
        _cleanup_free_ char *text = NULL;

        if (!cs->verb)
                return 0;
        if (asprintf(&text, "%s\n%s\n", cs->verb, cs->profile ?: "") < 0)
                return -ENOMEM;
        return write_file_atomic_at(dir_fd, "info", text, strlen(text), 0600, (uid_t) -1, (gid_t) -1,
                                    WRITE_ATOMIC_NO_DATA_SYNC | WRITE_ATOMIC_NO_DIR_SYNC);
}

/* The ids of the journaled sets, ascending. */
static int journal_list(const Root *root, unsigned **ret, size_t *ret_n, unsigned *ret_max) {
        _cleanup_free_ char *d = root_display(root, CHANGESET_DIR);
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_free_ unsigned *ids = NULL;
        unsigned max = 0;
        size_t n = 0;
        struct dirent *de;
        int r;

        if (!d)
                return -ENOMEM;
        r = root_opendir(root, CHANGESET_DIR, &dir);
        if (r < 0) {
                if (r != -ENOENT)
                        return r;
                *ret = NULL;
                *ret_n = 0;
                if (ret_max)
                        *ret_max = 0;
                return 0;
        }
        while ((de = readdir(dir))) {
                char *end;
                unsigned long v;
                unsigned *t;

                /* "%08u": eight digits, more once the ids pass 99999999 (then without a leading
                 * zero). The ids are sorted by value below, so 100000000 comes after 99999999. */
                size_t l = strlen(de->d_name);
                if (l < 8 || strspn(de->d_name, "0123456789") != l || (l > 8 && de->d_name[0] == '0'))
                        continue;
                errno = 0;
                v = strtoul(de->d_name, &end, 10);
                if (errno != 0 || v > UINT_MAX)
                        continue;
                if (v > max)
                        max = (unsigned) v;
                {
                        /* Only a real directory is a change set: a symlink named like one (to a
                         * directory outside the root, say) is never read, recovered or removed. */
                        struct stat st;
                        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
                                log_warning("Ignoring %s/%s: not a directory.", d, de->d_name);
                                continue;
                        }
                }
                t = reallocarray(ids, n + 1, sizeof(unsigned));
                if (!t)
                        return -ENOMEM;
                ids = t;
                ids[n++] = (unsigned) v;
        }
        if (n > 0)
                qsort(ids, n, sizeof(unsigned), unsigned_compare);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        if (ret_max)
                *ret_max = max;
        return 0;
}

/* How many directories above c->path writing it created (c->created_dir and those below it): the
 * journal keeps the count, from which the loader derives the directory again. */
static unsigned created_levels(const ChangeItem *c) {
        const char *rest = c->created_dir ? startswith(c->path, c->created_dir) : NULL;
        unsigned n = 0;

        for (; rest && *rest; rest++)
                n += *rest == '/';
        return n;
}

/* The inverse of created_levels(): path without its last levels components (NULL for 0); an error
 * when that would leave no directory under the root. */
static int created_dir_from_levels(const char *path, unsigned levels, char **ret) {
        _cleanup_free_ char *p = NULL;
        char *slash;

        *ret = NULL;
        if (levels == 0)
                return 0;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (unsigned k = 0; k < levels; k++) {
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return -EBADMSG;
                *slash = '\0';
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* The whole journal in one file: "iommuctl-changeset 3", one manifest line per item (number,
 * existed, has new contents, mode, uid, gid, old size, new size, extended attributes' size,
 * created directory levels, backend, path; tab-separated), an empty line, then each item's old
 * contents, new contents and extended attributes back to back. (Version 2: the same without the
 * attributes and their size.) Written atomically and
 * fsynced with its directory; the caller then fsyncs CHANGESET_DIR so that the set's directory
 * itself is durable. One write and sync per set, where version 1 made 3N+1 files with two
 * fsyncs each. */
/* Decimal digits of v (a '-' first when negative) at p; returns the end. */
static char *put_decimal(char *p, long long v) {
        char digits[24];
        unsigned long long u = v < 0 ? -(unsigned long long) v : (unsigned long long) v;
        size_t n = 0;

        do
                digits[n++] = '0' + u % 10;
        while ((u /= 10) > 0);
        if (v < 0)
                *p++ = '-';
        while (n > 0)
                *p++ = digits[--n];
        return p;
}

static char *put_field(char *p, long long v) {
        p = put_decimal(p, v);
        *p++ = '\t';
        return p;
}

static int journal_write(const ChangeSet *cs, int dir_fd, const char *dir) {
        _cleanup_free_ char *journal = NULL, *path = NULL;
        size_t size = strlen(JOURNAL_MAGIC) + 2;
        char *p;
        int r;

        /* Sized first, then filled: the journal holds every file twice, and a formatted stream
         * per item cost more than the rest of the commit. */
        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                /* Nine numbers of at most 20 digits and a sign, the mode (4 octal digits or more),
                 * tabs, the backend, the path and the contents. */
                size += 9 * 22 + 24 + strlen(c->backend) + strlen(c->path) + 2 + (c->old ? c->old_size : 0) +
                        (c->new ? c->new_size : 0) + (c->xattrs ? c->xattrs_size : 0);
        }
        journal = malloc(size);
        if (!journal)
                return -ENOMEM;
        p = stpcpy(journal, JOURNAL_MAGIC "\n");
        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                char mode[16];

                /* "%zu\t%d\t%d\t%04o\t%lld\t%lld\t%zu\t%zu\t%zu\t%u\t%s\t%s\n" */
                p = put_field(p, (long long) k);
                p = put_field(p, !!c->old);
                p = put_field(p, !!c->new);
                snprintf(mode, sizeof(mode), "%04o", (unsigned) c->mode);
                p = stpcpy(p, mode);
                *p++ = '\t';
                p = put_field(p, c->uid == (uid_t) -1 ? -1LL : (long long) c->uid);
                p = put_field(p, c->gid == (gid_t) -1 ? -1LL : (long long) c->gid);
                p = put_field(p, (long long) (c->old ? c->old_size : 0));
                p = put_field(p, (long long) (c->new ? c->new_size : 0));
                p = put_field(p, (long long) (c->xattrs ? c->xattrs_size : 0));
                p = put_field(p, created_levels(c));
                p = stpcpy(p, c->backend);
                *p++ = '\t';
                p = stpcpy(p, c->path);
                *p++ = '\n';
        }
        *p++ = '\n';
        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                if (c->old)
                        p = mempcpy(p, c->old, c->old_size);
                if (c->new)
                        p = mempcpy(p, c->new, c->new_size);
                if (c->xattrs)
                        p = mempcpy(p, c->xattrs, c->xattrs_size);
        }
        size = p - journal;

        path = journal_file(dir, "journal", SIZE_MAX);
        if (!path)
                return -ENOMEM;
        r = write_file_atomic_at(dir_fd, "journal", journal, size, 0600, (uid_t) -1, (gid_t) -1, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to write the journal file %s: %m", path);
        return 0;
}

/* Removes the journal directory name in base_fd and the files in it, never following a symlink:
 * the directory is opened O_NOFOLLOW and its entries are unlinked relative to it. */
static int remove_tree(int base_fd, const char *name) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        if (unlinkat(base_fd, name, AT_REMOVEDIR) < 0)
                return -errno;
        return fsync(base_fd) < 0 ? -errno : 0;
}

/* Puts one file into its "new" state: contents, or removal. Its directory is not fsynced here:
 * items_sync_directories() does that once per directory after all of them. */
static int item_write_new(const ChangeSet *cs, const ChangeItem *c) {
        int r, dir_fd;

        /* Relative to the item's directory descriptor (missing directories made inside the
         * root): a directory that became a symlink since the plan cannot take it outside. */
        r = item_dir_fd(cs, c, !!c->new, &dir_fd);
        if (!c->new) {
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                return unlinkat(dir_fd, item_name(c), 0) < 0 && errno != ENOENT ? -errno : 0;
        }
        if (r < 0)
                return r;
        return write_file_atomic_at_xattrs(dir_fd, item_name(c), c->new, c->new_size, c->mode, c->uid, c->gid,
                                           WRITE_ATOMIC_NO_DIR_SYNC, c->xattrs, c->xattrs_size);
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The directories (inside the root) that hold items [0, n), sorted, each once (NULL-terminated). */
static int items_directories(const ChangeSet *cs, size_t n, char ***ret) {
        _cleanup_free_ char **dirs = calloc(n + 1, sizeof(char *));
        size_t m = 0;

        if (!dirs)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                dirs[k] = item_dir_path(&cs->items[k]);
                if (!dirs[k]) {
                        for (size_t j = 0; j < k; j++)
                                free(dirs[j]);
                        return -ENOMEM;
                }
        }
        qsort(dirs, n, sizeof(char *), str_compare);
        for (size_t k = 0; k < n; k++) {
                if (m > 0 && streq(dirs[m - 1], dirs[k])) {
                        free(dirs[k]);
                        continue;
                }
                dirs[m++] = dirs[k];
        }
        dirs[m] = NULL;
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* fsyncs the directory path (inside the root). Logs, naming it. */
static int sync_dir_in_root(const Root *root, const char *path) {
        _cleanup_close_ int fd = -1;
        int r;

        r = root_open(root, path, O_RDONLY | O_DIRECTORY, &fd);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                _cleanup_free_ char *name = root_display(root, path);
                return log_error_errno(r, "Failed to fsync the directory %s: %m", strna(name));
        }
        return 0;
}

/* The descriptor (O_RDONLY|O_DIRECTORY) of a state directory (path inside the root, absolute and
 * normalized), made when missing. Where it is there (every apply but a node's first), that is one
 * openat2(). Otherwise the deepest ancestor that exists is found, the missing components are made
 * in one walk, and the directory above each one made is fsynced (that ancestor, then each made
 * directory but the last), so that their names are durable before anything is journaled in
 * them: a first apply into an image without /var makes /var/lib/iommu/changesets and fsyncs /,
 * /var, /var/lib and /var/lib/iommu; on a root with /var/lib, /var/lib and /var/lib/iommu only.
 * The last directory's own entries are the caller's to sync. Logs, naming the directory. */
static int state_dir_open(const Root *root, const char *path, int *ret_fd) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1, pfd = -1;
        size_t l;
        int r;

        r = root_open(root, path, O_RDONLY | O_DIRECTORY, &fd);
        if (r == -ENOENT) {
                p = strdup(path);
                if (!p)
                        return log_oom();
                /* The deepest existing ancestor ("/", the root, at least: the walk makes the root
                 * itself when it is missing, and the root's parent is the caller's). */
                do {
                        char *slash = strrchr(p, '/');
                        slash[slash == p] = '\0'; /* "/var" -> "/" */
                } while (!streq(p, "/") && !root_exists(root, p));
                r = chase_root(root, path, CHASE_MKDIR, NULL, &pfd);
                if (r >= 0 && (fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = -errno;
                /* p, then each component of path below it but the last. */
                for (l = strlen(p); r >= 0;) {
                        r = sync_dir_in_root(root, p); /* logs */
                        if (r < 0)
                                return r;
                        l += l > 1; /* past the '/' after p (none after the root) */
                        l += strcspn(path + l, "/");
                        if (path[l] == '\0')
                                break;
                        free(p);
                        p = strndup(path, l);
                        if (!p)
                                return log_oom();
                }
        }
        if (r < 0) {
                _cleanup_free_ char *name = root_display(root, path);
                return log_error_errno(r, "Failed to %s %s: %m", p ? "create" : "open", strna(name));
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* fsyncs each directory that holds one of items [0, n) once: the renames (and removals) in it
 * are durable after that. Logs, naming the directory. */
static int items_sync_directories(const ChangeSet *cs, size_t n) {
        _cleanup_strv_free_ char **dirs = NULL;
        size_t n_dirs = 0;
        int r;

        /* The distinct directories (a few, for thousands of items), then in path order: not a
         * copy and a sort of every item's directory. Where writing an item created directories
         * (/etc/iommu on a first apply), the directory above each of them holds a new name too. */
        for (size_t k = 0; k < n; k++) {
                const ChangeItem *c = &cs->items[k];
                const char *p = c->path, *slash = strrchr(p, '/');
                size_t l = slash == p ? 1 : (size_t) (slash - p);
                size_t top = c->created_dir ? strlen(c->created_dir) : SIZE_MAX;

                for (;;) {
                        bool seen = false;

                        for (size_t i = 0; i < n_dirs && !seen; i++)
                                seen = strlen(dirs[i]) == l && strneq(dirs[i], p, l);
                        if (!seen) {
                                r = strv_consume(&dirs, strndup(p, l));
                                if (r < 0)
                                        return log_oom();
                                n_dirs++;
                        }
                        /* Up one level while the directory just added is one this item created. */
                        if (top == SIZE_MAX || l < top || l <= 1)
                                break;
                        while (l > 1 && p[l - 1] != '/')
                                l--;
                        if (l > 1)
                                l--; /* drop the '/' (the root stays "/") */
                }
        }
        if (n_dirs > 1)
                qsort(dirs, n_dirs, sizeof(char *), str_compare);
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *name = NULL;
                ChangeItem probe = {};
                int fd;

                if (asprintf(&probe.path, "%s/x", streq(*d, "/") ? "" : *d) < 0)
                        return log_oom();
                r = item_dir_fd(cs, &probe, false, &fd);
                free(probe.path);
                if (r >= 0 && fsync(fd) < 0)
                        r = -errno;
                if (r < 0) {
                        name = root_display(cs->root, *d);
                        return log_error_errno(r, "Failed to fsync the directory %s: %m", strna(name));
                }
        }
        return 0;
}

/* A crash between creating a temporary file and renaming it leaves ".#name.XXXXXX" next to the
 * target; remove those of items [0, n) when cleaning up after it. One scan per directory (the
 * names of the directory's items sorted, each entry looked up by binary search), where a scan per
 * file made restoring N files in one directory O(N^2). */
static void remove_stale_temporaries(const ChangeSet *cs, size_t n) {
        _cleanup_strv_free_ char **dirs = NULL;

        if (items_directories(cs, n, &dirs) < 0)
                return;
        STRV_FOREACH(dir, dirs) {
                _cleanup_free_ const char **names = calloc(n, sizeof(char *));
                _cleanup_(closedirp) DIR *d = NULL;
                size_t l = strlen(*dir), m = 0;
                struct dirent *de;
                int dir_fd = -1;

                if (!names)
                        return;
                for (size_t k = 0; k < n; k++) {
                        const char *f = cs->items[k].path;
                        if (strneq(f, *dir, l) && f[l == 1 ? 0 : l] == '/' && !strchr(f + l + (l > 1), '/')) {
                                names[m++] = f + l + (l > 1);
                                if (dir_fd < 0)
                                        (void) item_dir_fd(cs, &cs->items[k], false, &dir_fd);
                        }
                }
                qsort(names, m, sizeof(char *), str_compare);
                {
                        int fd = dir_fd < 0 ? -1 : openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        d = fdopendir(fd);
                        if (!d) {
                                close(fd);
                                continue;
                        }
                }
                while ((de = readdir(d))) {
                        size_t dl = strlen(de->d_name);
                        char base[NAME_MAX + 1];
                        const char *key = base;

                        /* ".#" NAME "." and six characters of mkostemp(). */
                        if (!startswith(de->d_name, ".#") || dl < 2 + 1 + 1 + 6 || de->d_name[dl - 7] != '.')
                                continue;
                        memcpy(base, de->d_name + 2, dl - 9);
                        base[dl - 9] = '\0';
                        if (bsearch(&key, names, m, sizeof(char *), str_compare))
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                }
        }
}

/* Puts files [0, n) back into their "old" state where they are not in it, durably. With
 * only_own, a file that holds neither the set's old nor its new contents was changed by someone
 * else since (an admin, dpkg or kernel-install after a crash): it is kept as it is and named,
 * never overwritten with the journaled contents. */
static int items_restore_full(const ChangeSet *cs, size_t n, bool only_own) {
        int ret = 0;

        remove_stale_temporaries(cs, n);
        for (size_t k = n; k-- > 0;) {
                const ChangeItem *c = &cs->items[k];
                _cleanup_free_ char *cur = NULL;
                struct stat st;
                size_t cur_size;
                int r, dir_fd = -1;

                r = item_dir_fd(cs, c, !!c->old, &dir_fd);
                if (r == -ENOENT && !c->old)
                        continue; /* nothing was created */
                if (r >= 0)
                        r = read_current(dir_fd, item_name(c), &cur, &cur_size, &st);
                if (r >= 0 && contents_equal(cur, cur_size, c->old, c->old_size)) {
                        if (!c->old) /* the write failed after creating the directories */
                                remove_created_dirs(cs->root, c);
                        continue;
                }
                if (only_own && (r < 0 || !contents_equal(cur, cur_size, c->new, c->new_size))) {
                        _cleanup_free_ char *shown = escape_text(c->full);
                        log_warning("%s was changed after the interrupted change set %08u wrote it; keeping it as it is, "
                                    "not restoring the contents journaled before the set.", shown ?: c->full, cs->id);
                        continue;
                }
                if (dir_fd < 0)
                        ; /* r < 0: the directory could not be opened */
                else if (c->old)
                        r = write_file_atomic_at_xattrs(dir_fd, item_name(c), c->old, c->old_size, c->mode, c->uid, c->gid, 0,
                                                        c->xattrs, c->xattrs_size);
                else {
                        r = unlink_file_durable_at(dir_fd, item_name(c));
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

static int items_restore(const ChangeSet *cs, size_t n) {
        return items_restore_full(cs, n, false);
}

int changeset_commit(ChangeSet *cs) {
        _cleanup_free_ unsigned *ids = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int base_rd = -1, dir_fd = -1;
        unsigned max_id = 0;
        size_t n_ids;
        char name[16];
        int r;

        if (cs->n_items == 0)
                return 0;

        r = journal_list(cs->root, &ids, &n_ids, &max_id);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m; nothing was changed.", CHANGESET_DIR, cs->root->path);
        cs->id = max_id + 1;
        /* Made here on a first apply, with the directories above it durable (logs). */
        r = state_dir_open(cs->root, CHANGESET_DIR, &base_rd);
        if (r < 0)
                return log_error("Nothing was changed."), r;
        (void) fchmod(base_rd, 0700);
        dir = journal_dir(cs->root, cs->id);
        if (!dir)
                return log_oom();
        snprintf(name, sizeof(name), "%08u", cs->id);
        if (mkdirat(base_rd, name, 0700) < 0)
                return log_error_errno(-errno, "Failed to create %s: %m", dir);
        dir_fd = openat(base_rd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", dir);
        /* The journal (and info) and their directory, then the set's directory in CHANGESET_DIR:
         * all durable before the first boot file is touched. */
        r = journal_write_info(cs, dir_fd);
        if (r < 0)
                log_error_errno(r, "Failed to write %s/info: %m", dir);
        else
                r = journal_write(cs, dir_fd, dir); /* logs, naming the file */
        if (r >= 0 && fsync(base_rd) < 0) {
                r = -errno;
                log_error_errno(r, "Failed to fsync the directory of %s: %m", dir);
        }
        if (r < 0) {
                (void) remove_tree(base_rd, name);
                log_error("Nothing was changed.");
                return r;
        }

        for (size_t k = 0; k < cs->n_items; k++) {
                r = item_write_new(cs, &cs->items[k]);
                if (r < 0)
                        log_error_errno(r, "Failed to write %s: %m", cs->items[k].full);
                else if (k + 1 == cs->n_items)
                        r = items_sync_directories(cs, cs->n_items); /* logs */
                if (r < 0) {
                        if (items_restore(cs, k + 1) < 0) {
                                log_error("Some files could not be restored; the journal %s is kept: run 'iommuctl rollback' "
                                          "once the cause is fixed.", dir);
                                return r;
                        }
                        (void) journal_mark(dir_fd, "rolled-back");
                        log_error("Restored every file the change set had touched; nothing was changed.");
                        return r;
                }
        }
        r = journal_mark(dir_fd, "complete");
        if (r < 0) {
                log_error_errno(r, "Failed to mark the change set %s complete: %m", dir);
                if (items_restore(cs, cs->n_items) >= 0 && journal_mark(dir_fd, "rolled-back") >= 0)
                        log_error("Restored every file the change set had touched; nothing was changed.");
                return r;
        }
        return 0;
}

static int item_init(ChangeItem *item, const Root *root, const char *path, const char *backend, unsigned mode, long long uid,
                     long long gid) {
        *item = (ChangeItem) {
                .path = strdup(path),
                .full = root_display(root, path),
                .backend = strdup(backend),
                .mode = mode,
                .uid = uid < 0 ? (uid_t) -1 : (uid_t) uid,
                .gid = gid < 0 ? (gid_t) -1 : (gid_t) gid,
        };
        if (!item->path || !item->full || !item->backend) {
                change_item_done(item);
                return -ENOMEM;
        }
        return 0;
}

static int copy_contents(const char *data, size_t size, char **ret) {
        char *p = malloc(size + 1);

        if (!p)
                return -ENOMEM;
        memcpy(p, data, size);
        p[size] = '\0';
        *ret = p;
        return 0;
}

/* Reads a version 3 or 2 journal (see journal_write()). The journal is untrusted input (a crash,
 * a full disk or an image builder may have left anything there): every byte of the manifest and
 * every length is checked before use, and any fault is -EBADMSG naming the file and line. Each
 * item's contents are copied out in a buffer of their size and the journal is freed before
 * returning. ret->items[k].new holds the contents written by the set (NULL for a removal), .old
 * the contents before it (NULL when the file did not exist). */
static int journal_load(const Root *root, unsigned id, ChangeSet **ret) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_free_ char *dir = journal_dir(root, id), *path = NULL, *journal = NULL;
        _cleanup_close_ int dir_fd = -1;
        size_t size, nul;
        const char *p, *end, *data;
        unsigned lineno = 0;
        bool v3;
        int r;

        if (!dir)
                return -ENOMEM;
        path = journal_file(dir, "journal", SIZE_MAX);
        if (!path)
                return -ENOMEM;
        r = journal_dir_open(root, id, &dir_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to open %s: %m", dir);
        r = read_file_at(dir_fd, "journal", JOURNAL_MAX, &journal, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the journal %s: %m", path);
        v3 = size >= strlen(JOURNAL_MAGIC "\n") && memcmp(journal, JOURNAL_MAGIC "\n", strlen(JOURNAL_MAGIC "\n")) == 0;
        if (!v3 && (size < strlen(JOURNAL_MAGIC_V2 "\n") ||
                    memcmp(journal, JOURNAL_MAGIC_V2 "\n", strlen(JOURNAL_MAGIC_V2 "\n")) != 0))
                return log_error_errno(-EBADMSG, "%s:1: not an iommuctl change set journal.", path);
        end = memmem(journal, size, "\n\n", 2);
        if (!end)
                return log_error_errno(-EBADMSG, "%s: the manifest has no end (truncated journal).", path);
        /* The manifest is text: a NUL byte in it is damage, and the line walk below relies on it
         * ending at "\n\n". */
        if (data_check_nul(journal, end + 2 - journal, &nul) < 0)
                return log_error_errno(-EBADMSG, "%s: NUL byte at offset %zu in the manifest.", path, nul);
        data = end + 2;
        r = changeset_new(root, &cs);
        if (r < 0)
                return r;
        cs->id = id;
        for (p = journal; p <= end; p = strchr(p, '\n') + 1) {
                char backend[64], line[PATH_MAX + 256];
                int existed, has_new, n = 0, fields;
                unsigned mode, levels;
                long long uid, gid;
                size_t k, old_size, new_size, xattrs_size = 0, l = strcspn(p, "\n"), left = journal + size - data;
                ChangeItem item;

                lineno++;
                if (lineno == 1)
                        continue;
                if (l >= sizeof(line))
                        return log_error_errno(-EBADMSG, "%s:%u: line too long.", path, lineno);
                memcpy(line, p, l);
                line[l] = '\0';
                if (v3)
                        fields = sscanf(line, "%zu\t%d\t%d\t%o\t%lld\t%lld\t%zu\t%zu\t%zu\t%u\t%63[^\t]\t%n", &k, &existed,
                                        &has_new, &mode, &uid, &gid, &old_size, &new_size, &xattrs_size, &levels, backend, &n) == 11;
                else
                        fields = sscanf(line, "%zu\t%d\t%d\t%o\t%lld\t%lld\t%zu\t%zu\t%u\t%63[^\t]\t%n", &k, &existed,
                                        &has_new, &mode, &uid, &gid, &old_size, &new_size, &levels, backend, &n) == 10;
                if (!fields || n == 0 || k != cs->n_items || (existed != 0 && existed != 1) || (has_new != 0 && has_new != 1) ||
                    mode > 07777 || uid < -1 || gid < -1 || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1 ||
                    (!existed && old_size != 0) || (!has_new && new_size != 0) || (existed && levels > 0) ||
                    levels > PATH_MAX / 2 || old_size > CHANGESET_FILE_MAX || new_size > CHANGESET_FILE_MAX ||
                    xattrs_size > CHANGESET_FILE_MAX || left < old_size || left - old_size < new_size ||
                    left - old_size - new_size < xattrs_size)
                        return log_error_errno(-EBADMSG, "%s:%u: malformed line.", path, lineno);
                if (!manifest_path_valid(line + n))
                        return log_error_errno(-EBADMSG, "%s:%u: the path is not a normalized absolute path inside the root; "
                                               "not using this change set.", path, lineno);
                if (xattrs_size > 0 && xattrs_check(data + old_size + new_size, xattrs_size) < 0)
                        return log_error_errno(-EBADMSG, "%s:%u: malformed extended attributes.", path, lineno);
                r = item_init(&item, root, line + n, backend, mode, uid, gid);
                if (r < 0)
                        return r;
                r = created_dir_from_levels(item.path, levels, &item.created_dir);
                if (r < 0) {
                        change_item_done(&item);
                        return log_error_errno(r, "%s:%u: malformed line.", path, lineno);
                }
                if (existed)
                        r = copy_contents(data, old_size, &item.old);
                item.old_size = old_size;
                data += old_size;
                if (r >= 0 && has_new)
                        r = copy_contents(data, new_size, &item.new);
                item.new_size = new_size;
                data += new_size;
                if (r >= 0 && xattrs_size > 0)
                        r = copy_contents(data, xattrs_size, &item.xattrs);
                item.xattrs_size = xattrs_size;
                data += xattrs_size;
                if (r >= 0)
                        r = changeset_append(cs, &item);
                if (r < 0) {
                        change_item_done(&item);
                        return r;
                }
        }
        if (cs->n_items == 0)
                return log_error_errno(-EBADMSG, "%s: no files in the manifest.", path);
        if (data != journal + size)
                return log_error_errno(-EBADMSG, "%s: the contents do not add up to the journal's size.", path);
        *ret = TAKE_PTR(cs);
        return 0;
}

int changeset_recover(const Root *root) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n_ids;
        int r, n = 0;

        r = journal_list(root, &ids, &n_ids, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m", CHANGESET_DIR, root->path);
        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_changeset_ ChangeSet *cs = NULL;
                _cleanup_free_ char *dir = journal_dir(root, ids[i]);
                _cleanup_close_ int dir_fd = -1;

                if (!dir)
                        return log_oom();
                if (journal_dir_open(root, ids[i], &dir_fd) < 0)
                        continue; /* gone, or not a directory: journal_list() said so */
                if (journal_has(dir_fd, "complete") || journal_has(dir_fd, "rolled-back"))
                        continue;
                if (journal_has(dir_fd, "manifest")) {
                        log_warning("Ignoring %s: a version 1 change set, which this version does not read.", dir);
                        continue;
                }
                if (!journal_has(dir_fd, "journal")) {
                        /* Interrupted while journaling: no boot file was touched yet. */
                        _cleanup_close_ int base = -1;
                        char name[16];
                        snprintf(name, sizeof(name), "%08u", ids[i]);
                        if (chase_root(root, CHANGESET_DIR, 0, NULL, &base) >= 0) {
                                _cleanup_close_ int base_rd = openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                if (base_rd >= 0)
                                        (void) remove_tree(base_rd, name);
                        }
                        continue;
                }
                log_warning("Change set %s was interrupted; restoring the files it had started to change.", dir);
                r = journal_load(root, ids[i], &cs);
                if (r < 0)
                        return log_error_errno(r, "The journal of the interrupted change set %s cannot be read, so the files "
                                               "it had started to change cannot be told; check them, then move %s out of "
                                               "the way.", dir, dir);
                r = items_restore_full(cs, cs->n_items, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to roll back the interrupted change set %s: %m", dir);
                r = journal_mark(dir_fd, "rolled-back");
                if (r < 0)
                        return log_error_errno(r, "Failed to mark %s rolled back: %m", dir);
                n++;
        }
        return n;
}

int changeset_load_last_for_rollback(const Root *root, ChangeSet **ret) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n_ids;
        int r;

        r = journal_list(root, &ids, &n_ids, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s under %s: %m", CHANGESET_DIR, root->path);
        for (size_t i = n_ids; i-- > 0;) {
                _cleanup_changeset_ ChangeSet *journal = NULL, *cs = NULL;
                _cleanup_free_ char *dir = journal_dir(root, ids[i]);
                _cleanup_close_ int dir_fd = -1;

                if (!dir)
                        return log_oom();
                if (journal_dir_open(root, ids[i], &dir_fd) < 0)
                        continue;
                if (!journal_has(dir_fd, "journal") || journal_has(dir_fd, "rolled-back"))
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
                        ChangeItem *j = &journal->items[k], item;
                        _cleanup_free_ char *cur = NULL;
                        struct stat st;
                        size_t cur_size;
                        int dir_fd_item = -1;

                        r = item_dir_fd(cs, j, false, &dir_fd_item);
                        if (r >= 0 || r == -ENOENT)
                                r = read_current(dir_fd_item, item_name(j), &cur, &cur_size, &st);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read %s: %m", j->full);
                        if (contents_equal(cur, cur_size, j->old, j->old_size))
                                continue;
                        if (!contents_equal(cur, cur_size, j->new, j->new_size))
                                return log_error_errno(-ESTALE, "%s was changed after change set %08u wrote it; not rolling back "
                                                       "(the journal is in %s).", j->full, ids[i], dir);
                        /* What is there is the set's new contents: keep the journal's copy, not a
                         * second one. */
                        item = (ChangeItem) {
                                .path = TAKE_PTR(j->path),
                                .full = TAKE_PTR(j->full),
                                .old = TAKE_PTR(j->new),
                                .old_size = j->new_size,
                                .new = TAKE_PTR(j->old),
                                .new_size = j->old_size,
                                .mode = j->mode,
                                .uid = j->uid,
                                .gid = j->gid,
                                .backend = TAKE_PTR(j->backend),
                                .created_dir = TAKE_PTR(j->created_dir),
                                .xattrs = TAKE_PTR(j->xattrs),
                                .xattrs_size = j->xattrs_size,
                        };
                        r = changeset_append(cs, &item);
                        if (r < 0) {
                                change_item_done(&item);
                                return log_oom();
                        }
                }
                *ret = TAKE_PTR(cs);
                return 0;
        }
        return -ENOENT;
}

int changeset_rollback_apply(ChangeSet *cs) {
        int r;

        /* Restoring is idempotent (a file already back is skipped), so a rollback interrupted
         * halfway is finished by running it again; no journal of its own is needed. */
        remove_stale_temporaries(cs, cs->n_items);
        for (size_t k = 0; k < cs->n_items; k++) {
                r = item_write_new(cs, &cs->items[k]);
                if (r < 0)
                        return log_error_errno(r, "Failed to restore %s: %m; run 'iommuctl rollback' again once the cause "
                                               "is fixed.", cs->items[k].full);
        }
        r = items_sync_directories(cs, cs->n_items);
        if (r < 0)
                return log_error("Run 'iommuctl rollback' again once the cause is fixed."), r;
        /* After the directories are synced: an emptied directory the set created goes last. */
        for (size_t k = 0; k < cs->n_items; k++)
                if (!cs->items[k].new)
                        remove_created_dirs(cs->root, &cs->items[k]);
        return 0;
}

int changeset_rollback_mark(ChangeSet *cs) {
        _cleanup_free_ char *dir = journal_dir(cs->root, cs->id);
        _cleanup_close_ int dir_fd = -1;
        int r;

        if (!dir)
                return log_oom();
        r = journal_dir_open(cs->root, cs->id, &dir_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to open %s: %m", dir);
        r = journal_mark(dir_fd, "rolled-back");
        if (r < 0)
                return log_error_errno(r, "Failed to mark %s rolled back: %m", dir);
        return 0;
}

int changeset_rollback_revert(ChangeSet *cs) {
        /* The loaded set's "old" contents are what the change set wrote: put them back. */
        int r = items_restore(cs, cs->n_items);
        if (r < 0)
                return log_error_errno(r, "Failed to write back the files of change set %08u; run 'iommuctl rollback' "
                                       "again once the cause is fixed.", cs->id);
        return 0;
}

int changeset_rollback_commit(ChangeSet *cs) {
        int r = changeset_rollback_apply(cs);
        if (r < 0)
                return r;
        return changeset_rollback_mark(cs);
}

/* The directory of the lock file, through the root handle (made when missing), and the lock's
 * name in it. */
static int lock_dir_open(const Root *root, bool create, int *ret_fd) {
        _cleanup_close_ int pfd = -1;
        _cleanup_free_ char *copy = strdup(CHANGESET_LOCK);
        int r, fd;

        if (!copy)
                return create ? log_oom() : -ENOMEM;
        /* Made durably: the change sets go below it (logs). */
        if (create)
                return state_dir_open(root, dirname(copy), ret_fd);
        r = chase_root(root, dirname(copy), 0, NULL, &pfd);
        if (r < 0)
                return r;
        fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

#define LOCK_NAME (strrchr(CHANGESET_LOCK, '/') + 1)

int changeset_lock(const Root *root, int *ret_fd) {
        _cleanup_free_ char *p = root_display(root, CHANGESET_LOCK);
        _cleanup_close_ int fd = -1, dir_fd = -1;
        struct stat st;
        const char *e = getenv("IOMMUCTL_LOCK_TIMEOUT");
        long timeout_ms = (e ? strtol(e, NULL, 10) : 120) * 1000;
        int r;

        if (!p)
                return log_oom();
        r = lock_dir_open(root, true, &dir_fd);
        if (r < 0)
                return r; /* logged */
reopen:
        /* The lock is ours: a symlink or a FIFO in its place is refused, not followed or opened;
         * it is opened relative to its directory's descriptor, never by a path. */
        fd = openat(dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open %s: %m", p);
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", p);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EBADFD, "Refusing to lock %s: not a regular file.", p);
        for (long waited = 0;; waited += 100) {
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0) {
                        struct stat a, b;
                        /* The holder removed the file (changeset_unlock() under a root): lock the new one. */
                        if (fstat(fd, &a) >= 0 && (fstatat(dir_fd, LOCK_NAME, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
                                                   a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
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

void changeset_unlock(const Root *root, int fd) {
        /* An image or another root must not keep the lock file: remove it while still holding it
         * (changeset_lock() notices and locks the new file). The live host keeps it. Only the file
         * we hold is removed: relative to its directory, and only while that name is still our
         * inode (never a symlink or another file put in its place). */
        if (fd >= 0 && !root_is_host(root)) {
                _cleanup_close_ int dir_fd = -1;
                struct stat a, b;

                if (lock_dir_open(root, false, &dir_fd) >= 0 && fstat(fd, &a) >= 0 &&
                    fstatat(dir_fd, LOCK_NAME, &b, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(b.st_mode) &&
                    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        (void) unlinkat(dir_fd, LOCK_NAME, 0);
        }
        if (fd >= 0)
                close(fd);
}

static const char * const changeset_state_names[_CHANGESET_STATE_MAX] = {
        [CHANGESET_INCOMPLETE] = "incomplete",
        [CHANGESET_COMPLETE] = "complete",
        [CHANGESET_ROLLED_BACK] = "rolled-back",
};

const char *changeset_state_to_string(ChangeSetState s) {
        return STRING_TABLE_TO_STRING(changeset_state_names, s);
}

void changeset_info_free(ChangeSetInfo *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].verb);
                free(l[i].profile);
                strv_free(l[i].paths);
                strv_free(l[i].actions);
        }
        free(l);
}

static long long journal_mark_time(int dir_fd, const char *name) {
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (read_file_at(dir_fd, name, 64, &text, &size) < 0)
                return -1;
        return strtoll(text, NULL, 10);
}

int changeset_list(const Root *root, ChangeSetInfo **ret, size_t *ret_n) {
        _cleanup_free_ unsigned *ids = NULL;
        ChangeSetInfo *l = NULL;
        size_t n_ids, n = 0;
        int r;

        r = journal_list(root, &ids, &n_ids, NULL);
        if (r < 0)
                return r;
        l = calloc(n_ids ?: 1, sizeof(ChangeSetInfo));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n_ids; i++) {
                _cleanup_changeset_ ChangeSet *cs = NULL;
                _cleanup_free_ char *info = NULL;
                _cleanup_close_ int dir_fd = -1;
                ChangeSetInfo *e = &l[n];
                size_t size;

                if (journal_dir_open(root, ids[i], &dir_fd) < 0)
                        continue;
                if (!journal_has(dir_fd, "journal") && !journal_has(dir_fd, "manifest"))
                        continue; /* interrupted while journaling: nothing was touched */
                *e = (ChangeSetInfo) { .id = ids[i], .time = -1 };
                n++;
                e->state = journal_has(dir_fd, "rolled-back") ? CHANGESET_ROLLED_BACK :
                           journal_has(dir_fd, "complete") ? CHANGESET_COMPLETE : CHANGESET_INCOMPLETE;
                e->time = journal_mark_time(dir_fd, "complete");
                if (e->time < 0)
                        e->time = journal_mark_time(dir_fd, "rolled-back");
                if (read_file_at(dir_fd, "info", 4096, &info, &size) >= 0) {
                        char *nl = strchr(info, '\n');
                        if (nl) {
                                *nl = '\0';
                                e->verb = strdup(info);
                                nl[1 + strcspn(nl + 1, "\n")] = '\0';
                                e->profile = isempty(nl + 1) ? NULL : strdup(nl + 1);
                        }
                }
                r = journal_load(root, ids[i], &cs);
                if (r < 0) {
                        changeset_info_free(l, n);
                        return r;
                }
                for (size_t k = 0; k < cs->n_items; k++) {
                        const ChangeItem *c = &cs->items[k];
                        if (strv_extend(&e->paths, c->path) < 0 ||
                            strv_extend(&e->actions, !c->old ? "created" : !c->new ? "removed" : "modified") < 0) {
                                changeset_info_free(l, n);
                                return -ENOMEM;
                        }
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}
