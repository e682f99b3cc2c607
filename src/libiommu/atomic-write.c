/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
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

/* Removes the temporary file unless it was renamed (path set to NULL). */
static void unlink_tempp(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid) {
        return write_file_atomic_full(path, data, size, mode, uid, gid, 0);
}

int write_file_atomic_full(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                           WriteAtomicFlags flags) {
        return write_file_atomic_xattrs(path, data, size, mode, uid, gid, flags, NULL, 0);
}

int write_file_atomic_xattrs(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                             WriteAtomicFlags flags, const char *xattrs, size_t xattrs_size) {
        _cleanup_(unlink_tempp) char *tmp = NULL;
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -1;
        const char *base;
        int r;

        if (isempty(path) || endswith(path, "/"))
                return -EINVAL;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        base = basename(copy);
        /* ".#name.XXXXXX" next to the target: same file system, so the rename is atomic, and a
         * leftover from a crash is recognisably ours. */
        {
                _cleanup_free_ char *dir = NULL;
                r = dirname_of(path, &dir);
                if (r < 0)
                        return r;
                if (asprintf(&tmp, "%s/.#%s.XXXXXX", dir, base) < 0) {
                        tmp = NULL;
                        return -ENOMEM;
                }
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                tmp = mfree(tmp);
                return r;
        }
        r = write_all(fd, data, size);
        if (r < 0)
                return r;
        if (fchmod(fd, mode & 07777) < 0)
                return -errno;
        if ((uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                return -errno;
        /* After the mode (a POSIX ACL carries the group bits as its mask) and the owner (chown
         * drops security.capability). */
        r = xattrs_apply_fd(fd, xattrs, xattrs_size);
        if (r < 0)
                return r;
        if (!(flags & WRITE_ATOMIC_NO_DATA_SYNC) && fsync(fd) < 0)
                return -errno;
        if (close(TAKE_FD(fd)) < 0)
                return -errno;
        if (rename(tmp, path) < 0)
                return -errno;
        tmp = mfree(tmp);
        if (flags & WRITE_ATOMIC_NO_DIR_SYNC)
                return 0;
        return fsync_parent_directory(path);
}

int unlink_file_durable(const char *path) {
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;
                return -errno;
        }
        return fsync_parent_directory(path);
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
