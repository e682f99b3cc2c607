/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "write-file.h"

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;
        /* Walk down from the top, creating what is missing. */
        for (char *s = strchr(p + 1, '/'); s && s <= slash; s = strchr(s + 1, '/')) {
                struct stat st;

                *s = '\0';
                if (mkdir(p, mode) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                        if (stat(p, &st) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }
                *s = '/';
        }
        return 0;
}

/* A temporary file that is removed unless it was renamed into place (then the name is cleared). */
static void unlink_and_freep(char **p) {
        if (*p) {
                (void) unlink(*p);
                free(*p);
        }
}

static int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -1;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, WriteFileFlags flags) {
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *base, *p = data;
        int r;

        if (isempty(path) || endswith(path, "/"))
                return -EINVAL;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;

        if (flags & WRITE_FILE_MKDIR_PARENTS) {
                r = mkdir_parents(path, 0755);
                if (r < 0)
                        return r;
        }

        if (asprintf(&tmp, "%.*s.%s.XXXXXX", (int) (base - path), path, base) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                tmp = mfree(tmp); /* nothing was created */
                return -errno;
        }
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= k;
        }
        if (fchmod(fd, mode) < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        if (close(TAKE_FD(fd)) < 0)
                return -errno;
        if (rename(tmp, path) < 0)
                return -errno;
        tmp = mfree(tmp);

        /* The new name is in place; only its durability across a crash depends on this. */
        return fsync_directory_of(path);
}
