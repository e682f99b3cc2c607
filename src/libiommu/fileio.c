/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "atomic-write.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"

#define CHASE_MAX_LINKS 40
/* chase_walk() only: stop before the last component (a name, not "." or ".."), returning its
 * directory in ret_fd and the path with that name in ret_rel; the caller opens the name itself. */
#define CHASE_STOP_AT_LAST_ (1 << 8)

static bool path_is_host(const char *path) {
        return isempty(path) || streq(path, "/");
}

static bool openat2_disabled(void) {
        /* Lets the tests exercise the fallback walk on kernels that have openat2(). */
        const char *e = getenv("IOMMUCTL_NO_OPENAT2");
        return e && streq(e, "1");
}

int root_open_handle(const char *path, Root **ret) {
        _cleanup_free_ Root *root = NULL;

        root = calloc(1, sizeof(Root));
        if (!root)
                return -ENOMEM;
        root->path = strdup(path_is_host(path) ? "/" : path);
        if (!root->path)
                return -ENOMEM;
        /* Asked once per handle, not once per file: the generator opens a dozen. */
        root->walk = openat2_disabled();
        root->fd = open(root->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root->fd < 0 && errno != ENOENT) {
                int r = -errno;
                free(root->path);
                return r;
        }
        *ret = TAKE_PTR(root);
        return 0;
}

Root *root_free(Root *root) {
        if (!root)
                return NULL;
        if (root->fd >= 0)
                close(root->fd);
        free(root->path);
        return mfree(root);
}

bool root_is_host(const Root *root) {
        return !root || path_is_host(root->path);
}

const char *root_prefix(const Root *root) {
        return root_is_host(root) ? "" : root->path;
}

/* A descriptor of the root for one resolution (the caller closes it): -ENOENT when the root does
 * not exist, unless CHASE_MKDIR makes it. */
static int root_fd_dup(const Root *root, ChaseFlags flags) {
        int fd;

        if (!root)
                return -EINVAL;
        if (root->fd >= 0) {
                fd = fcntl(root->fd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : fd;
        }
        if (!(flags & CHASE_MKDIR))
                return -ENOENT;
        {
                int r = mkdir_parents(root->path, 0755);
                if (r < 0)
                        return r;
        }
        fd = open(root->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Appends "/name" (l bytes) to the resolved path in *rel (which starts as ""). *rel is the
 * caller's stack buffer of *cap bytes until it first grows, then *heap, malloc()ed. */
static int rel_push_name(char **rel, char **heap, size_t *n, size_t *cap, const char *name, size_t l) {
        char *t = *rel;

        /* Sized for the path at the start: grows only where a symlink lengthens it. */
        if (*n + 1 + l + 1 > *cap) {
                t = realloc(*heap, *n + 1 + l + 1 + PATH_MAX / 16);
                if (!t)
                        return -ENOMEM;
                if (!*heap)
                        memcpy(t, *rel, *n + 1);
                *heap = t;
                *cap = *n + 1 + l + 1 + PATH_MAX / 16;
        }
        t[*n] = '/';
        memcpy(t + *n + 1, name, l);
        *n += 1 + l;
        t[*n] = '\0';
        *rel = t;
        return 0;
}

static inline int rel_push(char **rel, char **heap, size_t *n, size_t *cap, const char *name, size_t l) {
        if (!rel) { /* not wanted: *n counts the depth */
                (*n)++;
                return 0;
        }
        return rel_push_name(rel, heap, n, cap, name, l);
}

static void rel_pop(char *rel, size_t *n) {
        if (!rel) {
                (*n)--;
                return;
        }
        while (*n > 0 && rel[--*n] != '/')
                ;
        rel[*n] = '\0';
}

/* The component walk. Starts at root_fd; ret_fd (may be NULL) gets an O_PATH descriptor of the
 * result, or -1 when CHASE_NONEXISTENT stopped at a missing component. */
static int chase_walk_rel(int root_fd, const char *path, ChaseFlags flags, char **rel, char **heap, size_t cap,
                          int *ret_fd);

static int chase_walk(int root_fd, const char *path, ChaseFlags flags, char **ret_rel, int *ret_fd) {
        /* The resolved path is built on the stack (no allocation for the dozen opens of the
         * generator) and copied out only for a caller that wants it. */
        _cleanup_free_ char *heap = NULL;
        char buf[256];
        char *rel = buf;
        int r;

        r = chase_walk_rel(root_fd, path, flags, ret_rel ? &rel : NULL, &heap, sizeof(buf), ret_fd);
        if (r < 0 || !ret_rel)
                return r;
        if (heap)
                *ret_rel = TAKE_PTR(heap);
        else if (!(*ret_rel = strdup(rel)))
                return -ENOMEM;
        return r;
}

/* chase_walk()'s body: *rel_p starts as the caller's buffer of cap bytes (*heap NULL); rel_p
 * NULL: no path wanted, only the depth is kept (for "..", clamped at the root). */
static int chase_walk_rel(int root_fd, const char *path, ChaseFlags flags, char **rel_p, char **heap, size_t cap,
                          int *ret_fd) {
        /* todo is owned only once a symlink rewrote the rest of the walk. */
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        unsigned links = 0;
        bool missing = false;
        const char *p;

        if (rel_p)
                (*rel_p)[0] = '\0';
        if (root_fd < 0)
                missing = true;
        else {
                fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
        }

        p = path ?: "";
        for (;;) {
                _cleanup_close_ int child = -1;
                struct stat st;
                const char *q;
                size_t l;
                bool last;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                for (l = 0; p[l] && p[l] != '/'; l++)
                        ;
                for (q = p + l; *q == '/'; q++)
                        ;
                last = *q == '\0';

                if (l == 1 && p[0] == '.') {
                        p += l;
                        continue;
                }
                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        /* Clamped at the root, like RESOLVE_IN_ROOT. We only ever descended through
                         * real directories, so the parent is the one we came from. */
                        if (n > 0) {
                                rel_pop(rel_p ? *rel_p : NULL, &n);
                                if (!missing) {
                                        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                                        if (up < 0)
                                                return -errno;
                                        close(fd);
                                        fd = up;
                                }
                        }
                        p += l;
                        continue;
                }
                if (l > NAME_MAX)
                        return -ENAMETOOLONG;
                if (last && (flags & CHASE_STOP_AT_LAST_) && !missing) {
                        int r = rel_push(rel_p, heap, &n, &cap, p, l);
                        if (r < 0)
                                return r;
                        break;
                }

                if (missing) {
                        int r = rel_push(rel_p, heap, &n, &cap, p, l);
                        if (r < 0)
                                return r;
                        p += l;
                        continue;
                }

                {
                        char name[NAME_MAX + 1];
                        memcpy(name, p, l);
                        name[l] = '\0';
                        child = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (child < 0 && errno == ENOENT && (flags & CHASE_MKDIR)) {
                                if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
                                        return -errno;
                                child = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        }
                }
                if (child < 0) {
                        int r;
                        if (errno != ENOENT || !(flags & CHASE_NONEXISTENT))
                                return -errno;
                        missing = true;
                        r = rel_push(rel_p, heap, &n, &cap, p, l);
                        if (r < 0)
                                return r;
                        p += l;
                        continue;
                }
                if (fstat(child, &st) < 0)
                        return -errno;

                if (S_ISLNK(st.st_mode) && !(last && (flags & CHASE_NOFOLLOW))) {
                        char target[PATH_MAX];
                        char *t;
                        ssize_t k;

                        if (++links > CHASE_MAX_LINKS)
                                return -ELOOP;
                        k = readlinkat(child, "", target, sizeof(target) - 1);
                        if (k < 0)
                                return -errno;
                        if (k == 0)
                                return -ENOENT;
                        target[k] = '\0';
                        if (target[0] == '/') {
                                /* Absolute: a path of the root, not of this machine. */
                                int r = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                                if (r < 0)
                                        return -errno;
                                close(fd);
                                fd = r;
                                n = 0;
                                if (rel_p)
                                        (*rel_p)[0] = '\0';
                        }
                        /* The rest of the walk is the target followed by what was left. */
                        if (asprintf(&t, "%s/%s", target, p + l) < 0)
                                return -ENOMEM;
                        free(todo);
                        todo = t;
                        p = todo;
                        continue;
                }
                if (!last && !S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                {
                        int r = rel_push(rel_p, heap, &n, &cap, p, l);
                        if (r < 0)
                                return r;
                }
                close(fd);
                fd = TAKE_FD(child);
                p += l;
        }

        if (n == 0 && rel_p)
                strcpy(*rel_p, "/"); /* cap is at least 2 */
        if (ret_fd)
                *ret_fd = missing ? -1 : TAKE_FD(fd);
        return 0;
}

int chase_root(const Root *root, const char *path, ChaseFlags flags, char **ret_rel, int *ret_fd) {
        _cleanup_close_ int root_fd = -1;

        root_fd = root_fd_dup(root, flags);
        if (root_fd == -ENOENT && (flags & CHASE_NONEXISTENT)) {
                /* No root, so nothing under it: the path as written, ".." clamped (root_fd -1:
                 * every component is missing). */
                if (ret_fd)
                        *ret_fd = -1;
                return chase_walk(-1, path, flags, ret_rel, NULL);
        }
        if (root_fd < 0)
                return root_fd;
        return chase_walk(root_fd, path, flags, ret_rel, ret_fd);
}

static bool openat2_missing;

/* Whether the last component of path is a name (not "." or ".."); ret_name/ret_len get it. */
static bool path_last_is_name(const char *path, const char **ret_name, size_t *ret_len) {
        size_t n = strlen(path), s, l;

        while (n > 0 && path[n - 1] == '/')
                n--;
        for (s = n; s > 0 && path[s - 1] != '/'; s--)
                ;
        l = n - s;
        *ret_name = path + s;
        *ret_len = l;
        return l > 0 && !(l == 1 && path[s] == '.') && !(l == 2 && path[s] == '.' && path[s + 1] == '.');
}

/* openat() of the last component, from an O_PATH walk to its directory. */
static int root_open_walk(int root_fd, const char *path, int open_flags) {
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int dfd = -1;
        ChaseFlags cf = (open_flags & O_CREAT ? CHASE_NONEXISTENT : 0) | (open_flags & O_NOFOLLOW ? CHASE_NOFOLLOW : 0);
        const char *last;
        size_t n_last;
        char *slash;
        int r, fd;

        /* One walk to the directory and an openat() of the name that follows no symlink: what a
         * reader needs (the generator opens a dozen files under valgrind, which has no
         * openat2()). A symlink in the last place to follow is resolved by the two walks below.
         * The walk stops before the path's own last name, whatever symlinks led there. */
        if (!(open_flags & O_CREAT) && path_last_is_name(path, &last, &n_last) && n_last <= NAME_MAX) {
                char name[NAME_MAX + 1];
                struct stat st;

                r = chase_walk(root_fd, path, CHASE_STOP_AT_LAST_, NULL, &dfd);
                if (r < 0)
                        return r;
                memcpy(name, last, n_last);
                name[n_last] = '\0';
                fd = openat(dfd, name, open_flags | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && (open_flags & O_NOFOLLOW || !(errno == ELOOP || errno == ENOTDIR)))
                        return -errno;
                if (fd >= 0 && (open_flags & (O_PATH | O_NOFOLLOW)) == O_PATH &&
                    (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode))) {
                        close(fd); /* O_PATH opened the link itself: follow it below */
                        fd = -1;
                }
                if (fd >= 0)
                        return fd;
                close(TAKE_FD(dfd));
        }

        r = chase_walk(root_fd, path, cf, &rel, NULL);
        if (r < 0)
                return r;
        if (streq(rel, "/")) {
                fd = openat(root_fd, ".", open_flags | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        slash = strrchr(rel, '/');
        *slash = '\0';
        /* The directory part is fully resolved, so walking it again follows no symlink. */
        r = chase_walk(root_fd, rel[0] ? rel : "/", 0, NULL, &dfd);
        if (r < 0)
                return r;
        fd = openat(dfd, slash + 1, open_flags | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == ELOOP && !(open_flags & O_NOFOLLOW))
                return -EAGAIN; /* it became a symlink while we looked */
        return fd < 0 ? -errno : fd;
}

int root_open(const Root *root, const char *path, int open_flags, int *ret_fd) {
        int root_fd, fd = -1;

        if (!root)
                return -EINVAL;
        root_fd = root->fd;
        if (root_fd < 0)
                return -ENOENT;
        if (!openat2_missing && !root->walk) {
                struct open_how how = {
                        .flags = (unsigned) (open_flags | O_CLOEXEC),
                        .mode = open_flags & O_CREAT ? 0600 : 0,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                const char *p = path;

                while (*p == '/')
                        p++;
                for (unsigned tries = 0; tries < 8; tries++) {
                        fd = (int) syscall(SYS_openat2, root_fd, *p ? p : ".", &how, sizeof(how));
                        if (fd >= 0 || errno != EAGAIN)
                                break;
                }
                if (fd >= 0) {
                        *ret_fd = fd;
                        return 0;
                }
                if (!(errno == ENOSYS || errno == EPERM || errno == E2BIG || errno == EAGAIN))
                        return -errno;
                if (errno == ENOSYS)
                        openat2_missing = true; /* an old kernel, or valgrind: no need to ask again */
        }
        fd = root_open_walk(root_fd, path, open_flags);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int openat_beneath_nofollow(int dir_fd, const char *path, int open_flags) {
        /* Asked once per process: this is called once per PCI device. */
        static int disabled = -1;
        struct open_how how = {
                .flags = (unsigned) (open_flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        if (disabled < 0)
                disabled = openat2_disabled();
        if (disabled)
                return -EOPNOTSUPP;
        fd = (int) syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
        if (fd >= 0)
                return fd;
        if (errno == ENOSYS || errno == EPERM || errno == E2BIG) {
                disabled = errno == ENOSYS; /* EPERM: a seccomp filter may still change */
                return -EOPNOTSUPP;
        }
        return -errno;
}

int root_opendir(const Root *root, const char *path, DIR **ret) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        int r;

        r = root_open(root, path, O_RDONLY | O_DIRECTORY, &fd);
        if (r < 0)
                return r;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        *ret = d;
        return 0;
}

int root_open_parent(const Root *root, const char *path, ChaseFlags flags, int *ret_dir_fd, char **ret_name,
                     char **ret_rel) {
        _cleanup_free_ char *rel = NULL, *name = NULL;
        _cleanup_close_ int root_fd = -1, pfd = -1;
        char *slash;
        int r, fd;

        root_fd = root_fd_dup(root, flags);
        if (root_fd < 0)
                return root_fd;
        /* Where the path leads now, symlinks (inside the root) followed; then the directory of
         * that, walked again: it is resolved, so the walk meets no symlink unless the tree
         * changes under us, and then it stays inside the root all the same. */
        r = chase_walk(root_fd, path, CHASE_NONEXISTENT | (flags & CHASE_NOFOLLOW), &rel, NULL);
        if (r < 0)
                return r;
        if (streq(rel, "/"))
                return -EISDIR;
        slash = strrchr(rel, '/');
        name = strdup(slash + 1);
        if (!name)
                return -ENOMEM;
        *slash = '\0';
        /* openat2(RESOLVE_IN_ROOT) where the directory is there; the walk makes missing ones. */
        r = root_open(root, rel[0] ? rel : "/", O_RDONLY | O_DIRECTORY, &fd);
        if (r == -ENOENT && (flags & CHASE_MKDIR)) {
                r = chase_walk(root_fd, rel[0] ? rel : "/", CHASE_MKDIR, NULL, &pfd);
                if (r >= 0) {
                        fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0)
                                r = -errno;
                }
        }
        *slash = '/';
        if (r < 0)
                return r;
        *ret_dir_fd = fd;
        *ret_name = TAKE_PTR(name);
        if (ret_rel)
                *ret_rel = TAKE_PTR(rel);
        return 0;
}

int write_root_file_atomic(const Root *root, const char *path, const void *data, size_t size) {
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        r = root_open_parent(root, path, CHASE_MKDIR, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        return write_file_atomic_at(dir_fd, name, data, size, 0644, (uid_t) -1, (gid_t) -1, 0);
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int dir_list_sorted(int dir_fd, const char *suffix, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int fd;

        /* A descriptor of our own: readdir() moves the offset, and closedir() closes it. */
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                char **t;

                /* Hidden names (".", "..", our ".#name.XXXXXX" temporaries) are skipped, as the
                 * shell's "*" skips them. */
                if (de->d_name[0] == '.')
                        continue;
                if (suffix && !endswith(de->d_name, suffix))
                        continue;
                t = reallocarray(names, n + 2, sizeof(char *));
                if (!t)
                        goto oom;
                names = t;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        goto oom;
                names[++n] = NULL;
        }
        if (errno != 0) {
                int r = -errno;
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof(char *), str_compare);
        else {
                names = calloc(1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
        }
        *ret = names;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return -ENOMEM;
}

int root_list_dir(const Root *root, const char *path, const char *suffix, char ***ret) {
        _cleanup_close_ int fd = -1;
        int r;

        r = root_open(root, path, O_RDONLY | O_DIRECTORY, &fd);
        if (r < 0)
                return r;
        return dir_list_sorted(fd, suffix, ret);
}

static int find_matching(const Root *root, const char *dir, const char *rest, char ***list) {
        _cleanup_free_ char *comp = NULL;
        const char *next;
        size_t l;

        while (*rest == '/')
                rest++;
        l = strcspn(rest, "/");
        comp = strndup(rest, l);
        if (!comp)
                return -ENOMEM;
        next = rest[l] ? rest + l + 1 : NULL;
        if (next && !*next)
                next = NULL;

        if (!strpbrk(comp, "*?[")) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", streq(dir, "/") ? "" : dir, comp) < 0)
                        return -ENOMEM;
                if (next)
                        return find_matching(root, p, next, list);
                return root_exists(root, p) ? strv_consume(list, TAKE_PTR(p)) : 0;
        }

        {
                _cleanup_strv_free_ char **names = NULL;
                int r = root_list_dir(root, dir, NULL, &names);
                if (r == -ENOENT || r == -ENOTDIR)
                        return 0;
                if (r < 0)
                        return r;
                STRV_FOREACH(n, names) {
                        _cleanup_free_ char *p = NULL;
                        if (fnmatch(comp, *n, FNM_PERIOD) != 0)
                                continue;
                        if (asprintf(&p, "%s/%s", streq(dir, "/") ? "" : dir, *n) < 0)
                                return -ENOMEM;
                        r = next ? find_matching(root, p, next, list) : strv_consume(list, TAKE_PTR(p));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int root_find_matching(const Root *root, const char *pattern, char ***ret) {
        _cleanup_strv_free_ char **list = NULL;
        int r;

        list = calloc(1, sizeof(char *));
        if (!list)
                return -ENOMEM;
        r = find_matching(root, "/", pattern, &list);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

/* The readers' one rule for what they read: a regular file (-EISDIR for a directory, -EBADFD for a
 * FIFO, socket or device, which could block or never end). */
static int fd_stat_regular(int fd, struct stat *ret) {
        if (fstat(fd, ret) < 0)
                return -errno;
        if (S_ISDIR(ret->st_mode))
                return -EISDIR;
        if (!S_ISREG(ret->st_mode))
                return -EBADFD;
        return 0;
}

int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated;
        struct stat st;
        int r;

        r = fd_stat_regular(fd, &st);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        /* A buffer of the file's size: a change set holds thousands of these. sysfs and procfs
         * report 4096 or 0 whatever they hold, so the size is only a start: read until EOF. */
        allocated = st.st_size > 0 ? (size_t) st.st_size + 1 : 4097;
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                /* Full: one byte tells EOF from a file that grew, without doubling the buffer of
                 * every file that is exactly the size fstat() said. */
                bool full = n + 1 == allocated;
                char c;
                ssize_t k = full ? read(fd, &c, 1) : read(fd, buf + n, allocated - n - 1);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                if (full) {
                        char *t = realloc(buf, allocated * 2);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                        allocated *= 2;
                        buf[n] = c;
                }
                n += k;
                if (n > max)
                        return -EFBIG;
        }
        buf[n] = '\0';
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

#define SAFE_READ_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;

        fd = open(path, SAFE_READ_FLAGS);
        if (fd < 0)
                return -errno;
        return read_fd_full(fd, max, ret, ret_size);
}

static void truncate_at_newline(char *buf) {
        buf[strcspn(buf, "\n")] = '\0';
}

int read_one_line_file(const char *path, char **ret) {
        char *buf;
        int r;

        r = read_full_file(path, 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        truncate_at_newline(buf);
        *ret = buf;
        return 0;
}

int read_file_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;

        fd = openat(dir_fd, name, SAFE_READ_FLAGS | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        return read_fd_full(fd, max, ret, ret_size);
}

int read_root_file(const Root *root, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        int r;

        r = root_open(root, path, SAFE_READ_FLAGS, &fd);
        if (r < 0)
                return r;
        return read_fd_full(fd, max, ret, ret_size);
}

/* memmem() for a short needle: memchr() for its first byte. glibc's memmem() runs the two-way
 * algorithm, which costs more than the search for "\n\n" in /proc/cpuinfo's first block. */
static const char *find_bytes(const char *s, size_t n, const char *needle, size_t l) {
        for (const char *p = s, *end = s + n; l > 0 && (size_t) (end - p) >= l; p++) {
                p = memchr(p, needle[0], (size_t) (end - p) - l + 1);
                if (!p)
                        return NULL;
                if (memcmp(p, needle, l) == 0)
                        return p;
        }
        return NULL;
}

int read_root_file_until(const Root *root, const char *path, size_t max, const char *stop, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = 0, allocated = 4097, l = strlen(stop);
        struct stat st;
        int r;

        r = root_open(root, path, SAFE_READ_FLAGS, &fd);
        if (r < 0)
                return r;
        r = fd_stat_regular(fd, &st);
        if (r < 0)
                return r;
        buf = malloc(allocated);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n + 1 == allocated) {
                        char *t;
                        if (allocated > max)
                                return -EFBIG;
                        t = realloc(buf, allocated * 2);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                        allocated *= 2;
                }
                k = read(fd, buf + n, allocated - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                /* Only the new bytes and the l-1 before them can complete stop. */
                size_t from = n >= l ? n - l + 1 : 0;
                n += k;
                if (n > max)
                        return -EFBIG;
                buf[n] = '\0';
                if (find_bytes(buf + from, n - from, stop, l))
                        break;
        }
        buf[n] = '\0';
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_root_line(const Root *root, const char *path, char **ret) {
        char *buf;
        int r;

        r = read_root_file(root, path, 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        truncate_at_newline(buf);
        *ret = buf;
        return 0;
}

bool root_exists(const Root *root, const char *path) {
        _cleanup_close_ int fd = -1;
        return root_open(root, path, O_PATH, &fd) >= 0;
}

/* Whether a relative symlink target, taken from the directory dir (inside the root), climbs
 * above the root with "..". */
static bool link_climbs_out(const char *dir, const char *target) {
        long depth = 0;

        for (const char *p = dir; *p;) {
                size_t l;
                while (*p == '/')
                        p++;
                l = strcspn(p, "/");
                if (l > 0 && !(l == 1 && p[0] == '.'))
                        depth += (l == 2 && p[0] == '.' && p[1] == '.') ? -1 : 1;
                p += l;
        }
        for (const char *p = target; *p;) {
                size_t l;
                while (*p == '/')
                        p++;
                l = strcspn(p, "/");
                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (--depth < 0)
                                return true;
                } else if (l > 0 && !(l == 1 && p[0] == '.'))
                        depth++;
                p += l;
        }
        return false;
}

bool root_dropin_usable(const Root *root, const char *path) {
        _cleanup_free_ char *name = NULL, *dir = NULL;
        _cleanup_close_ int fd = -1, target_fd = -1;
        char target[PATH_MAX];
        struct stat st;
        ssize_t k;
        int r;

        if (chase_root(root, path, CHASE_NOFOLLOW, NULL, &fd) < 0 || fstat(fd, &st) < 0)
                return true; /* gone or unreadable: the reader says so */
        if (!S_ISLNK(st.st_mode))
                return true;
        name = root_display(root, path);
        k = readlinkat(fd, "", target, sizeof(target) - 1);
        if (!name || k <= 0)
                return false;
        target[k] = '\0';
        dir = strdup(path);
        if (!dir)
                return false;
        *strrchr(dir, '/') = '\0';
        if (target[0] != '/' && link_climbs_out(dir, target)) {
                log_warning("Ignoring %s: it is a symlink to %s, outside %s; not read.", name, target, root->path);
                return false;
        }
        r = chase_root(root, path, 0, NULL, &target_fd);
        if (r < 0) {
                log_warning("Ignoring %s: it is a symlink to %s, which does not resolve inside %s (%s); not read.", name,
                            target, root->path, strerror(-r));
                return false;
        }
        return true;
}

int root_stat(const Root *root, const char *path, struct stat *ret) {
        _cleanup_close_ int fd = -1;
        int r;

        r = root_open(root, path, O_PATH, &fd);
        if (r < 0)
                return r;
        return fstat(fd, ret) < 0 ? -errno : 0;
}

int data_check_nul(const char *data, size_t size, size_t *ret_offset) {
        const char *z = memchr(data, '\0', size);

        if (!z)
                return 0;
        if (ret_offset)
                *ret_offset = (size_t) (z - data);
        return -EBADMSG;
}

char *root_display(const Root *root, const char *path) {
        char *s;

        if (root_is_host(root))
                return strdup(path);
        {
                /* Concatenated by hand: the generator names a few files at every boot. */
                size_t lr = strlen(root->path), lp = strlen(path);
                bool slash = !(lr > 0 && root->path[lr - 1] == '/') && path[0] != '/';

                s = malloc(lr + slash + lp + 1);
                if (!s)
                        return NULL;
                memcpy(s, root->path, lr);
                if (slash)
                        s[lr] = '/';
                memcpy(s + lr + slash, path, lp + 1);
        }
        return s;
}

/* Logs why path (inside root) could not be read as a text: r from the read, -EBADMSG for a NUL
 * byte at offset nul. Returns r. */
static int read_text_error(const Root *root, const char *path, int r, size_t max, size_t nul) {
        _cleanup_free_ char *name = root_display(root, path);

        if (!name)
                return log_oom();
        if (r == -EFBIG)
                return log_error_errno(r, "Failed to read %s: larger than %zu bytes; nothing was changed.", name, max);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s: NUL byte at offset %zu; refusing to parse it, nothing was changed.", name, nul);
        return log_error_errno(r, "Failed to read %s: %m; nothing was changed.", name);
}

int read_root_text_and_warn(const Root *root, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, nul = 0;
        int r;

        r = read_root_file(root, path, max, &text, &size);
        if (r == -ENOENT)
                return r;
        if (r >= 0 && data_check_nul(text, size, &nul) < 0)
                r = -EBADMSG;
        if (r < 0)
                return read_text_error(root, path, r, max, nul);
        *ret = TAKE_PTR(text);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_root_text_at_and_warn(const Root *root, int dir_fd, const char *dir, const char *name, size_t max, char **ret,
                               size_t *ret_size) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t size = 0, nul = 0;
        int r;

        r = read_file_at(dir_fd, name, max, &text, &size);
        if (r == -ENOENT)
                return r;
        if (r >= 0 && data_check_nul(text, size, &nul) >= 0) {
                *ret = TAKE_PTR(text);
                if (ret_size)
                        *ret_size = size;
                return 0;
        }
        /* A symlink (followed inside the root), or an error to name: by its path. */
        if (asprintf(&path, "%s/%s", streq(dir, "/") ? "" : dir, name) < 0)
                return log_oom();
        if (r == -ELOOP)
                return read_root_text_and_warn(root, path, max, ret, ret_size);
        return read_text_error(root, path, r >= 0 ? -EBADMSG : r, max, nul);
}

static bool ascii_space(char c) {
        /* The kernel's isspace() (lib/ctype.c) for the bytes we meet: ASCII only, never 0xA0. */
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *strstrip(char *s) {
        char *e;

        while (ascii_space(*s))
                s++;
        e = s + strlen(s);
        while (e > s && ascii_space(e[-1]))
                *--e = '\0';
        return s;
}
