/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"

bool root_is_host(const char *root) {
        return !root || isempty(root) || streq(root, "/");
}

char *root_path(const char *root, const char *path) {
        size_t lr, lp;
        char *r;

        if (root_is_host(root))
                return strdup(path);
        /* Plain concatenation, not asprintf(): the generator calls this on every boot. */
        lr = strlen(root);
        while (lr > 1 && root[lr - 1] == '/')
                lr--;
        while (*path == '/')
                path++;
        lp = strlen(path);
        r = malloc(lr + 1 + lp + 1);
        if (!r)
                return NULL;
        memcpy(r, root, lr);
        r[lr] = '/';
        memcpy(r + lr + 1, path, lp + 1);
        return r;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /* sysfs and procfs report a size of 4096 or 0 whatever they hold, so read until EOF. */
        for (;;) {
                ssize_t k;

                if (allocated - n < 4097) {
                        size_t m = allocated ? allocated * 2 : 4097;
                        char *t = realloc(buf, m);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                        allocated = m;
                }
                k = read(fd, buf + n, allocated - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += k;
                if (n > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        buf[n] = '\0';
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_one_line_file(const char *path, char **ret) {
        char *buf;
        int r;

        r = read_full_file(path, 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        *ret = buf;
        return 0;
}

int read_root_file(const char *root, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *p = root_path(root, path);
        if (!p)
                return -ENOMEM;
        return read_full_file(p, max, ret, ret_size);
}

int read_root_line(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *p = root_path(root, path);
        if (!p)
                return -ENOMEM;
        return read_one_line_file(p, ret);
}

bool root_exists(const char *root, const char *path) {
        _cleanup_free_ char *p = root_path(root, path);
        return p && access(p, F_OK) == 0;
}

char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}
