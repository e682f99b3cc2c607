/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An LD_PRELOAD shim that makes the Nth write(), fsync()/fdatasync() or rename()/renameat() on
 * a path under $FAULT_ROOT fail, so the tests can prove that a failure at every step leaves
 * each boot file either wholly old or wholly new.
 *
 *   FAULT_ROOT   only calls on files under this directory count
 *   FAULT_OP     write, fsync, rename, or any (all three counted together)
 *   FAULT_NTH    the call (1-based) that fails
 *   FAULT_ERRNO  EIO (default), ENOSPC or EROFS
 *   FAULT_CRASH  if set, the process dies (_exit(99)) at that call instead, as in a power cut
 *   FAULT_FIRED  if set, a file created when the fault fires (so the test can tell) */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned counter;

static int fault_errno(void) {
        const char *e = getenv("FAULT_ERRNO");
        if (e && strcmp(e, "ENOSPC") == 0)
                return ENOSPC;
        if (e && strcmp(e, "EROFS") == 0)
                return EROFS;
        return EIO;
}

static int under_root(const char *path) {
        const char *root = getenv("FAULT_ROOT");
        size_t l;

        if (!root || !path)
                return 0;
        l = strlen(root);
        return strncmp(path, root, l) == 0 && (path[l] == '/' || path[l] == '\0');
}

static int fd_under_root(int fd) {
        char link[64], target[PATH_MAX];
        ssize_t k;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        k = readlink(link, target, sizeof(target) - 1);
        if (k < 0)
                return 0;
        target[k] = '\0';
        return under_root(target);
}

/* Returns 1 when this call must fail. */
static int should_fail(const char *op, const char *what) {
        const char *want = getenv("FAULT_OP"), *nth = getenv("FAULT_NTH"), *fired = getenv("FAULT_FIRED");

        if (!want || !nth || (strcmp(want, "any") != 0 && strcmp(want, op) != 0))
                return 0;
        if (++counter != (unsigned) atoi(nth))
                return 0;
        if (fired) {
                int fd = open(fired, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0)
                        close(fd);
        }
        if (getenv("FAULT_CRASH")) {
                dprintf(STDERR_FILENO, "fault-inject: crashing at %s #%u (%s)\n", op, counter, what);
                _exit(99);
        }
        dprintf(STDERR_FILENO, "fault-inject: failing %s #%u (%s)\n", op, counter, what);
        return 1;
}

ssize_t write(int fd, const void *buf, size_t n) {
        static ssize_t (*real)(int, const void *, size_t);
        if (!real)
                real = (ssize_t (*)(int, const void *, size_t)) dlsym(RTLD_NEXT, "write");
        if (fd > 2 && fd_under_root(fd) && should_fail("write", "fd")) {
                errno = fault_errno();
                return -1;
        }
        return real(fd, buf, n);
}

static int fsync_common(const char *name, int fd) {
        int (*real)(int) = (int (*)(int)) dlsym(RTLD_NEXT, name);
        if (fd_under_root(fd) && should_fail("fsync", name)) {
                errno = fault_errno();
                return -1;
        }
        return real(fd);
}

int fsync(int fd) {
        return fsync_common("fsync", fd);
}

int fdatasync(int fd) {
        return fsync_common("fdatasync", fd);
}

int rename(const char *from, const char *to) {
        int (*real)(const char *, const char *) = (int (*)(const char *, const char *)) dlsym(RTLD_NEXT, "rename");
        if (under_root(to) && should_fail("rename", to)) {
                errno = fault_errno();
                return -1;
        }
        return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to) {
        int (*real)(int, const char *, int, const char *) =
                (int (*)(int, const char *, int, const char *)) dlsym(RTLD_NEXT, "renameat");
        if ((under_root(to) || (tofd >= 0 && fd_under_root(tofd))) && should_fail("rename", to)) {
                errno = fault_errno();
                return -1;
        }
        return real(fromfd, from, tofd, to);
}
