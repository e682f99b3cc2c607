/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-install command line sources (boot-kernel-cmdline.c): the input is /etc/kernel/cmdline
 * of a scratch root, or, when the first byte is odd, /usr/lib/kernel/cmdline with no
 * /etc/kernel/cmdline on a kernel-install (layout=bls) root, which seeds it. The planned contents
 * must plan again to nothing: a second run on its own output changes nothing. Planning only adds
 * to a change set; nothing is committed. */
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>

#include "boot-kernel-cmdline.h"
#include "fileio.h"
#include "log.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fuzz-kernel-cmdline.XXXXXX";
static bool made;
static Root *root_handle; /* opened once, like iommuctl opens --root */

static char *full(const char *rel) {
        char *p;
        if (asprintf(&p, "%s%s", root, rel) < 0)
                abort();
        return p;
}

static void put(const char *rel, const void *d, size_t n) {
        _cleanup_free_ char *p = full(rel);
        FILE *f = fopen(p, "we");

        if (!f || fwrite(d, 1, n, f) != n)
                abort();
        fclose(f);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void remove_root(void) {
        (void) nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_root(void) {
        static const char * const dirs[] = { "/etc", "/etc/kernel", "/usr", "/usr/lib", "/usr/lib/kernel" };

        if (!mkdtemp(root))
                abort();
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = full(dirs[i]);
                if (mkdir(p, 0755) < 0)
                        abort();
        }
        put("/etc/kernel/install.conf", "layout=bls\n", 11);
        atexit(remove_root);
        if (root_open_handle(root, &root_handle) < 0)
                abort();
        made = true;
}

static int plan(const Cmdline *wanted, ChangeSet **ret) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        int r;

        if (changeset_new(root_handle, &cs) < 0)
                abort();
        r = boot_kernel_cmdline_plan(root_handle, iommu_owned_keys, wanted, NULL, NULL, cs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cs);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *etc = full(KERNEL_CMDLINE), *usr = full("/usr/lib/kernel/cmdline");
        _cleanup_changeset_ ChangeSet *a = NULL, *b = NULL;
        _cleanup_cmdline_ Cmdline *w = NULL;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (!made)
                make_root();
        if (size == 0)
                return 0;
        (void) unlink(etc);
        (void) unlink(usr);
        put(data[0] & 1 ? "/usr/lib/kernel/cmdline" : KERNEL_CMDLINE, data + 1, size - 1);
        if (cmdline_parse("intel_iommu=on iommu=pt", &w) < 0)
                abort();
        if (plan(w, &a) < 0 || a->n_items == 0)
                return 0;
        if (a->n_items != 1 || !a->items[0].new || a->items[0].new_size != strlen(a->items[0].new))
                abort();
        /* Its own output, as /etc/kernel/cmdline, is in sync. */
        put(KERNEL_CMDLINE, a->items[0].new, a->items[0].new_size);
        if (plan(w, &b) < 0 || b->n_items != 0)
                abort();
        return 0;
}
