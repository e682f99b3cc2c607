/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The scratch root a file-reading harness writes its input into: made once per process (with the
 * directories the harness names), opened once as a root handle like iommuctl opens --root, and
 * removed at exit. Setup aborts on any failure: a harness that cannot set up must not run green. */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

static char fuzz_root[] = "/tmp/iommu-fuzz.XXXXXX";
static Root *fuzz_root_handle;

/* ROOT/rel, for the harness's own writes and for readers that take a path. */
static inline char *fuzz_root_full(const char *rel) {
        char *p;
        if (asprintf(&p, "%s%s", fuzz_root, rel) < 0)
                abort();
        return p;
}

static inline void fuzz_root_put(const char *rel, const void *d, size_t n) {
        _cleanup_free_ char *p = fuzz_root_full(rel);
        FILE *f = fopen(p, "we");

        if (!f || fwrite(d, 1, n, f) != n)
                abort();
        fclose(f);
}

static inline int fuzz_root_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static inline void fuzz_root_remove(void) {
        (void) nftw(fuzz_root, fuzz_root_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes the root and DIRS (absolute, parents first) under it, once; later calls do nothing. */
static inline bool fuzz_root_make(const char * const *dirs, size_t n_dirs) {
        if (fuzz_root_handle)
                return false;
        if (!mkdtemp(fuzz_root))
                abort();
        atexit(fuzz_root_remove);
        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *p = fuzz_root_full(dirs[i]);
                if (mkdir(p, 0755) < 0)
                        abort();
        }
        if (root_open_handle(fuzz_root, &fuzz_root_handle) < 0)
                abort();
        return true;
}
