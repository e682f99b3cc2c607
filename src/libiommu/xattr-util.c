/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "macro.h"
#include "xattr-util.h"

/* Value lengths are written as 8 hex digits; the kernel's XATTR_SIZE_MAX is 64 KiB. */
#define XATTR_VALUE_MAX (64U * 1024U)
#define XATTR_LIST_MAX_BYTES (64U * 1024U)

static bool not_supported(int e) {
        return e == EOPNOTSUPP || e == ENOTSUP;
}

int xattrs_read_fd(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *names = NULL, *blob = NULL;
        size_t size = 0;
        ssize_t n;

        /* The list can grow between the two calls: retry on ERANGE. */
        for (;;) {
                n = flistxattr(fd, NULL, 0);
                if (n < 0) {
                        if (not_supported(errno))
                                break;
                        return -errno;
                }
                if (n == 0)
                        break;
                if ((size_t) n > XATTR_LIST_MAX_BYTES)
                        return -E2BIG;
                free(names);
                names = malloc(n);
                if (!names)
                        return -ENOMEM;
                n = flistxattr(fd, names, n);
                if (n >= 0)
                        break;
                if (errno != ERANGE)
                        return -errno;
        }

        for (ssize_t off = 0; names && n > 0 && off < n;) {
                const char *name = names + off;
                size_t l = strnlen(name, n - off);
                _cleanup_free_ char *value = NULL;
                ssize_t v;
                char *t;

                if (l == (size_t) (n - off))
                        break; /* no NUL: a truncated list */
                off += l + 1;
                if (l == 0)
                        continue;
                v = fgetxattr(fd, name, NULL, 0);
                if (v < 0) {
                        if (errno == ENODATA) /* removed meanwhile */
                                continue;
                        return -errno;
                }
                if ((size_t) v > XATTR_VALUE_MAX)
                        return -E2BIG;
                value = malloc(v ? v : 1);
                if (!value)
                        return -ENOMEM;
                v = fgetxattr(fd, name, value, v);
                if (v < 0) {
                        if (errno == ENODATA || errno == ERANGE) /* removed or changed meanwhile */
                                continue;
                        return -errno;
                }
                t = realloc(blob, size + l + 1 + 8 + v);
                if (!t)
                        return -ENOMEM;
                blob = t;
                memcpy(blob + size, name, l + 1);
                size += l + 1;
                for (int i = 7; i >= 0; i--) /* v <= XATTR_VALUE_MAX: 8 hex digits hold it */
                        blob[size + 7 - i] = "0123456789abcdef"[((size_t) v >> (4 * i)) & 0xf];
                size += 8;
                memcpy(blob + size, value, v);
                size += v;
        }
        *ret = TAKE_PTR(blob);
        *ret_size = size;
        return 0;
}

/* Walks a blob: calls fn for each attribute; stops at the first error. */
static int xattrs_foreach(const char *blob, size_t size, int (*fn)(const char *name, const char *value, size_t l, void *u),
                          void *userdata) {
        size_t off = 0;

        while (off < size) {
                const char *name = blob + off;
                size_t l = strnlen(name, size - off), v = 0;
                int r;

                if (l == 0 || l == size - off || size - off - l - 1 < 8)
                        return -EBADMSG;
                off += l + 1;
                for (size_t i = 0; i < 8; i++) {
                        char c = blob[off + i];
                        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                        if (d < 0)
                                return -EBADMSG;
                        v = v * 16 + (size_t) d;
                }
                off += 8;
                if (v > XATTR_VALUE_MAX || v > size - off)
                        return -EBADMSG;
                if (fn) {
                        r = fn(name, blob + off, v, userdata);
                        if (r < 0)
                                return r;
                }
                off += v;
        }
        return 0;
}

int xattrs_check(const char *blob, size_t size) {
        return xattrs_foreach(blob, size, NULL, NULL);
}

static int apply_one(const char *name, const char *value, size_t l, void *userdata) {
        int fd = *(int *) userdata;

        if (fsetxattr(fd, name, value, l, 0) < 0)
                return -errno;
        return 0;
}

int xattrs_apply_fd(int fd, const char *blob, size_t size) {
        int r;

        if (!blob || size == 0)
                return 0;
        r = xattrs_check(blob, size);
        if (r < 0)
                return r;
        r = xattrs_foreach(blob, size, apply_one, &fd);
        if (r < 0 && not_supported(-r))
                return 0;
        return r;
}

bool xattrs_equal(const char *a, size_t na, const char *b, size_t nb) {
        if (na != nb)
                return false;
        return na == 0 || memcmp(a, b, na) == 0;
}
