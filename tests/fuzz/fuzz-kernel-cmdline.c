/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-install command line sources (boot-kernel-cmdline.c): the input is /etc/kernel/cmdline
 * of a scratch root, or, when the first byte is odd, /usr/lib/kernel/cmdline with no
 * /etc/kernel/cmdline on a kernel-install (layout=bls) root, which seeds it. The planned contents
 * must plan again to nothing: a second run on its own output changes nothing. Planning only adds
 * to a change set; nothing is committed. */
#include <stdint.h>

#include "boot-kernel-cmdline.h"
#include "fileio.h"
#include "log.h"
#include "params.h"

#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void make_root(void) {
        static const char * const dirs[] = { "/etc", "/etc/kernel", "/usr", "/usr/lib", "/usr/lib/kernel" };

        if (fuzz_root_make(dirs, ELEMENTSOF(dirs)))
                fuzz_root_put("/etc/kernel/install.conf", "layout=bls\n", 11);
}

static int plan(const Cmdline *wanted, ChangeSet **ret) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        int r;

        if (changeset_new(fuzz_root_handle, &cs) < 0)
                abort();
        r = boot_kernel_cmdline_plan(fuzz_root_handle, iommu_owned_keys, wanted, NULL, NULL, cs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cs);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *etc = NULL, *usr = NULL;
        _cleanup_changeset_ ChangeSet *a = NULL, *b = NULL;
        _cleanup_cmdline_ Cmdline *w = NULL;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        make_root();
        etc = fuzz_root_full(KERNEL_CMDLINE);
        usr = fuzz_root_full("/usr/lib/kernel/cmdline");
        if (size == 0)
                return 0;
        (void) unlink(etc);
        (void) unlink(usr);
        fuzz_root_put(data[0] & 1 ? "/usr/lib/kernel/cmdline" : KERNEL_CMDLINE, data + 1, size - 1);
        if (cmdline_parse("intel_iommu=on iommu=pt", &w) < 0)
                abort();
        if (plan(w, &a) < 0 || a->n_items == 0)
                return 0;
        if (a->n_items != 1 || !a->items[0].new || a->items[0].new_size != strlen(a->items[0].new))
                abort();
        /* Its own output, as /etc/kernel/cmdline, is in sync. */
        fuzz_root_put(KERNEL_CMDLINE, a->items[0].new, a->items[0].new_size);
        if (plan(w, &b) < 0 || b->n_items != 0)
                abort();
        return 0;
}
