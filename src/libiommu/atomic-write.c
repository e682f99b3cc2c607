/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "atomic-write.h"
#include "xattr-util.h"

static int dirname_of(const char *path, char **ret) {
        _cleanup_free_ char *copy = strdup(path);
        char *d;

        if (!copy)
                return -ENOMEM;
        d = strdup(dirname(copy));
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

int fsync_parent_directory(const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = dirname_of(path, &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

static int write_all(int fd, const void *data, size_t size) {
        const uint8_t *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= k;
        }
        return 0;
}

/* ".#name.XXXXXX" in dir_fd, created O_EXCL (never following a symlink planted there): same
 * directory, so the rename is atomic, and a leftover from a crash is recognisably ours. */
static int open_temporary_at(int dir_fd, const char *name, char **ret_tmp) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

        for (unsigned tries = 0; tries < 100; tries++) {
                uint8_t rnd[6];
                char suffix[7], *tmp;
                int fd;

                if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                        for (size_t i = 0; i < sizeof(rnd); i++)
                                rnd[i] = (uint8_t) (random() ^ getpid() ^ tries);
                for (size_t i = 0; i < 6; i++)
                        suffix[i] = letters[rnd[i] % (sizeof(letters) - 1)];
                suffix[6] = '\0';
                if (asprintf(&tmp, ".#%s.%s", name, suffix) < 0)
                        return -ENOMEM;
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        *ret_tmp = tmp;
                        return fd;
                }
                free(tmp);
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid) {
        return write_file_atomic_full(path, data, size, mode, uid, gid, 0);
}

/* The host-path variants (a user's argument, a test): the directory opened once, then as below. */
static int open_parent(const char *path, int *ret_dir_fd, char **ret_name) {
        _cleanup_free_ char *dir = NULL, *copy = NULL;
        int fd, r;

        if (isempty(path) || endswith(path, "/"))
                return -EINVAL;
        r = dirname_of(path, &dir);
        if (r < 0)
                return r;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_name = strdup(basename(copy));
        if (!*ret_name) {
                close(fd);
                return -ENOMEM;
        }
        *ret_dir_fd = fd;
        return 0;
}

int write_file_atomic_full(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                           WriteAtomicFlags flags) {
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        r = open_parent(path, &dir_fd, &name);
        if (r < 0)
                return r;
        return write_file_atomic_at(dir_fd, name, data, size, mode, uid, gid, flags);
}

int write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                         WriteAtomicFlags flags) {
        return write_file_atomic_at_xattrs(dir_fd, name, data, size, mode, uid, gid, flags, NULL, 0);
}

int write_file_atomic_at_xattrs(int dir_fd, const char *name, const void *data, size_t size, mode_t mode, uid_t uid,
                                gid_t gid, WriteAtomicFlags flags, const char *xattrs, size_t xattrs_size) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (isempty(name) || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        fd = open_temporary_at(dir_fd, name, &tmp);
        if (fd < 0)
                return fd;
        r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode & 07777) < 0)
                r = -errno;
        if (r >= 0 && (uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                r = -errno;
        /* After the mode (a POSIX ACL carries the group bits as its mask) and the owner (chown
         * drops security.capability). */
        if (r >= 0)
                r = xattrs_apply_fd(fd, xattrs, xattrs_size);
        if (r >= 0 && !(flags & WRITE_ATOMIC_NO_DATA_SYNC) && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (flags & WRITE_ATOMIC_NO_DIR_SYNC)
                return 0;
        return fsync(dir_fd) < 0 ? -errno : 0;
}

int unlink_file_durable(const char *path) {
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        r = open_parent(path, &dir_fd, &name);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return unlink_file_durable_at(dir_fd, name);
}

int unlink_file_durable_at(int dir_fd, const char *name) {
        if (unlinkat(dir_fd, name, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        return fsync(dir_fd) < 0 ? -errno : 0;
}

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; ; s++) {
                bool end = *s == '\0';
                if (*s != '/' && !end)
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0) {
                        struct stat st;

                        if (errno != EEXIST)
                                return -errno;
                        if (stat(p, &st) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }
                if (end)
                        break;
                *s = '/';
        }
        return 0;
}

int mkdir_parents_of(const char *path, mode_t mode) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = dirname_of(path, &dir);
        if (r < 0)
                return r;
        return mkdir_parents(dir, mode);
}
