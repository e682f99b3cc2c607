/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "atomic-write.h"
#include "fileio.h"
#include "log.h"

#define CHASE_MAX_LINKS 40

bool root_is_host(const char *root) {
        return !root || isempty(root) || streq(root, "/");
}

static int open_root_fd(const char *root) {
        int fd = open(root_is_host(root) ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* "/srv/img" + "/boot/x" -> "/srv/img/boot/x"; "/" + "/boot/x" -> "/boot/x". rel is absolute. */
static char *host_join(const char *root, const char *rel) {
        size_t lr, lp;
        char *r;

        if (root_is_host(root))
                return strdup(rel);
        lr = strlen(root);
        while (lr > 1 && root[lr - 1] == '/')
                lr--;
        if (streq(rel, "/"))
                return strndup(root, lr);
        lp = strlen(rel);
        r = malloc(lr + lp + 1);
        if (!r)
                return NULL;
        memcpy(r, root, lr);
        memcpy(r + lr, rel, lp + 1);
        return r;
}

/* Appends "/name" (l bytes) to the resolved path in *rel (which starts as ""). */
static int rel_push(char **rel, size_t *n, const char *name, size_t l) {
        char *t = realloc(*rel, *n + 1 + l + 1);

        if (!t)
                return -ENOMEM;
        t[*n] = '/';
        memcpy(t + *n + 1, name, l);
        *n += 1 + l;
        t[*n] = '\0';
        *rel = t;
        return 0;
}

static void rel_pop(char *rel, size_t *n) {
        while (*n > 0 && rel[--*n] != '/')
                ;
        rel[*n] = '\0';
}

/* The component walk. Starts at root_fd; ret_fd (may be NULL) gets an O_PATH descriptor of the
 * result, or -1 when CHASE_NONEXISTENT stopped at a missing component. */
static int chase_walk(int root_fd, const char *path, ChaseFlags flags, char **ret_rel, int *ret_fd) {
        _cleanup_free_ char *todo = strdup(path ?: ""), *rel = strdup("");
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        unsigned links = 0;
        bool missing = false;
        const char *p;

        if (!todo || !rel)
                return -ENOMEM;
        if (root_fd < 0)
                missing = true;
        else {
                fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
        }

        p = todo;
        for (;;) {
                _cleanup_close_ int child = -1;
                struct stat st;
                size_t l;
                bool last;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                l = strcspn(p, "/");
                last = p[l + strspn(p + l, "/")] == '\0';

                if (l == 1 && p[0] == '.') {
                        p += l;
                        continue;
                }
                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        /* Clamped at the root, like RESOLVE_IN_ROOT. We only ever descended through
                         * real directories, so the parent is the one we came from. */
                        if (n > 0) {
                                rel_pop(rel, &n);
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

                if (missing) {
                        int r = rel_push(&rel, &n, p, l);
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
                        r = rel_push(&rel, &n, p, l);
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
                                rel[0] = '\0';
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
                        int r = rel_push(&rel, &n, p, l);
                        if (r < 0)
                                return r;
                }
                close(fd);
                fd = TAKE_FD(child);
                p += l;
        }

        if (n == 0 && free_and_strdup(&rel, "/") < 0)
                return -ENOMEM;
        if (ret_rel)
                *ret_rel = TAKE_PTR(rel);
        if (ret_fd)
                *ret_fd = missing ? -1 : TAKE_FD(fd);
        return 0;
}

int chase_root(const char *root, const char *path, ChaseFlags flags, char **ret_host, char **ret_rel) {
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int root_fd = -1;
        int r;

        root_fd = open_root_fd(root);
        if (root_fd == -ENOENT && (flags & CHASE_MKDIR)) {
                /* The root itself is the caller's, not the tree's: made like "mkdir -p". */
                r = mkdir_parents(root, 0755);
                if (r < 0)
                        return r;
                root_fd = open_root_fd(root);
        }
        if (root_fd == -ENOENT && (flags & CHASE_NONEXISTENT)) {
                /* No root, so nothing under it: the path as written, ".." clamped (root_fd -1:
                 * every component is missing). */
                r = chase_walk(-1, path, flags, &rel, NULL);
        } else if (root_fd < 0)
                return root_fd;
        else
                r = chase_walk(root_fd, path, flags, &rel, NULL);
        if (r < 0)
                return r;
        if (ret_host) {
                char *h = host_join(root, rel);
                if (!h)
                        return -ENOMEM;
                *ret_host = h;
        }
        if (ret_rel)
                *ret_rel = TAKE_PTR(rel);
        return 0;
}

char *root_path(const char *root, const char *path) {
        char *p = NULL;
        int r = chase_root(root, path, CHASE_NONEXISTENT, &p, NULL);

        if (r < 0) {
                errno = -r;
                return NULL;
        }
        return p;
}

static bool openat2_disabled(void) {
        /* Lets the tests exercise the fallback walk on kernels that have openat2(). */
        const char *e = getenv("IOMMUCTL_NO_OPENAT2");
        return e && streq(e, "1");
}

/* openat() of the last component, from an O_PATH walk to its directory. */
static int root_open_walk(int root_fd, const char *path, int open_flags) {
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int dfd = -1;
        ChaseFlags cf = (open_flags & O_CREAT ? CHASE_NONEXISTENT : 0) | (open_flags & O_NOFOLLOW ? CHASE_NOFOLLOW : 0);
        char *slash;
        int r, fd;

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

int root_open(const char *root, const char *path, int open_flags, int *ret_fd) {
        _cleanup_close_ int root_fd = -1;
        int fd = -1;

        root_fd = open_root_fd(root);
        if (root_fd < 0)
                return root_fd;
        if (!openat2_disabled()) {
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
        }
        fd = root_open_walk(root_fd, path, open_flags);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int root_opendir(const char *root, const char *path, DIR **ret) {
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

int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated;
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
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

int read_root_file(const char *root, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        int r;

        r = root_open(root, path, SAFE_READ_FLAGS, &fd);
        if (r < 0)
                return r;
        return read_fd_full(fd, max, ret, ret_size);
}

int read_root_line(const char *root, const char *path, char **ret) {
        char *buf;
        int r;

        r = read_root_file(root, path, 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        truncate_at_newline(buf);
        *ret = buf;
        return 0;
}

bool root_exists(const char *root, const char *path) {
        _cleanup_close_ int fd = -1;
        return root_open(root, path, O_PATH, &fd) >= 0;
}

int data_check_nul(const char *data, size_t size, size_t *ret_offset) {
        const char *z = memchr(data, '\0', size);

        if (!z)
                return 0;
        if (ret_offset)
                *ret_offset = (size_t) (z - data);
        return -EBADMSG;
}

char *root_display(const char *root, const char *path) {
        char *s;

        if (root_is_host(root))
                return strdup(path);
        if (asprintf(&s, "%s%s%s", root, endswith(root, "/") || path[0] == '/' ? "" : "/", path) < 0)
                return NULL;
        return s;
}

int read_root_text_and_warn(const char *root, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL, *name = NULL;
        size_t size = 0, nul;
        int r;

        r = read_root_file(root, path, max, &text, &size);
        if (r == -ENOENT)
                return r;
        name = root_display(root, path);
        if (!name)
                return log_oom();
        if (r == -EFBIG)
                return log_error_errno(r, "Failed to read %s: larger than %zu bytes; nothing was changed.", name, max);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m; nothing was changed.", name);
        if (data_check_nul(text, size, &nul) < 0)
                return log_error_errno(-EBADMSG, "%s: NUL byte at offset %zu; refusing to parse it, nothing was changed.",
                                       name, nul);
        *ret = TAKE_PTR(text);
        if (ret_size)
                *ret_size = size;
        return 0;
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
