/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers for unit tests: temporary roots and captured log output. */

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

static inline char *test_mkroot(void) {
        char *d = strdup("/tmp/iommu-test-XXXXXX");
        if (!d || !mkdtemp(d))
                abort();
        return d;
}

static inline int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static inline void test_rmroot(char *d) {
        nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

/* ROOT/path as a string, for the test's own setup and checks (the code under test never builds
 * one: it gets a root handle from test_root()). */
static inline char *test_root_path(const char *root, const char *path) {
        char *p;
        if (asprintf(&p, "%s%s", root && strcmp(root, "/") ? root : "", path) < 0)
                abort();
        return p;
}

/* A root handle for the directory root, freed when the test program exits. */
static Root **test_roots;
static size_t n_test_roots;

static void __attribute__((destructor)) test_roots_free(void) {
        for (size_t i = 0; i < n_test_roots; i++)
                root_free(test_roots[i]);
        free(test_roots);
}

static inline const Root *test_root(const char *root) {
        Root *r, **t;
        if (root_open_handle(root, &r) < 0)
                abort();
        t = reallocarray(test_roots, n_test_roots + 1, sizeof(Root *));
        if (!t)
                abort();
        test_roots = t;
        test_roots[n_test_roots++] = r;
        return r;
}

/* Writes size bytes to ROOT/path, creating parent directories. */
static inline void test_write_bytes(const char *root, const char *path, const void *data, size_t size) {
        _cleanup_free_ char *p = test_root_path(root, path);
        FILE *f;

        /* Indexes, not pointers into p: gcc -O3 calls those dangling once _cleanup_ is inlined. */
        for (size_t i = 1; p[i]; i++)
                if (p[i] == '/') {
                        p[i] = '\0';
                        mkdir(p, 0755);
                        p[i] = '/';
                }
        f = fopen(p, "we");
        if (!f || fwrite(data, 1, size, f) != size)
                abort();
        fclose(f);
}

/* Writes ROOT/path, creating parent directories. */
static inline void test_write(const char *root, const char *path, const char *content) {
        test_write_bytes(root, path, content, strlen(content));
}

static int captured_fd = -1, saved_stderr = -1;

static inline void capture_stderr_begin(void) {
        char tmpl[] = "/tmp/iommu-stderr-XXXXXX";
        fflush(stderr);
        captured_fd = mkstemp(tmpl);
        unlink(tmpl);
        saved_stderr = dup(2);
        dup2(captured_fd, 2);
}

/* Returns what was logged since capture_stderr_begin(). */
static inline char *capture_stderr_end(void) {
        char *buf = calloc(1, 65536);
        fflush(stderr);
        dup2(saved_stderr, 2);
        close(saved_stderr);
        lseek(captured_fd, 0, SEEK_SET);
        if (read(captured_fd, buf, 65535) < 0)
                abort();
        close(captured_fd);
        return buf;
}

/* A minimal PE image with the given sections (name, data) written to ROOT/path. */
static inline void test_write_pe(const char *root, const char *path, const char * const *sec, size_t n) {
        uint8_t img[4096] = { 'M', 'Z' };
        char *p;
        size_t at = 0x400;
        FILE *f;

        img[0x3c] = 0x40;
        memcpy(img + 0x40, "PE\0\0", 4);
        img[0x40 + 6] = (uint8_t) n;
        for (size_t i = 0; i < n; i++) {
                uint8_t *h = img + 0x40 + 24 + 40 * i;
                uint32_t len = (uint32_t) strlen(sec[2 * i + 1]);
                memcpy(h, sec[2 * i], strlen(sec[2 * i]));
                memcpy(h + 8, &len, 4);
                memcpy(h + 16, &len, 4);
                memcpy(h + 20, &(uint32_t) { (uint32_t) at }, 4);
                memcpy(img + at, sec[2 * i + 1], len);
                at += 0x200;
        }
        test_write(root, path, "");
        p = test_root_path(root, path);
        f = fopen(p, "we");
        if (!f)
                abort();
        if (fwrite(img, 1, at, f) != at)
                abort();
        fclose(f);
        free(p);
}
