/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The change-set journal reader (changeset.c, versions 2 and 3), through its public entry point: the input
 * is written as ROOT/var/lib/iommu/changesets/00000001/journal of a scratch root, with the set
 * marked complete, and loaded for rollback. Loading reads the journal and the files it names and
 * never writes. A journal that loads must describe files under the root, with their sizes and
 * well-formed extended attributes. */
#include <stdint.h>

#include "changeset.h"
#include "fileio.h"
#include "log.h"
#include "xattr-util.h"

#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sum; /* keeps the reads of every byte */

static void make_root(void) {
        static const char * const dirs[] = { "/var", "/var/lib", "/var/lib/iommu", "/var/lib/iommu/changesets",
                                             "/var/lib/iommu/changesets/00000001", "/boot", "/boot/loader",
                                             "/boot/loader/entries" };

        if (!fuzz_root_make(dirs, ELEMENTSOF(dirs)))
                return;
        /* A boot file the corpus journals name, holding the "new" contents of the seeds. */
        fuzz_root_put("/boot/loader/entries/a.conf", "options root=/dev/sda1 intel_iommu=on\n", 39);
        fuzz_root_put("/var/lib/iommu/changesets/00000001/complete", "1\n", 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        size_t rootlen = strlen(fuzz_root);

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        make_root();
        fuzz_root_put("/var/lib/iommu/changesets/00000001/journal", data, size);
        if (changeset_load_last_for_rollback(fuzz_root_handle, &cs) < 0)
                return 0;
        if (cs->id != 1)
                abort();
        for (size_t k = 0; k < cs->n_items; k++) {
                const ChangeItem *c = &cs->items[k];
                if (!c->path || c->path[0] != '/' || !c->full || strncmp(c->full, fuzz_root, rootlen) != 0 ||
                    c->old_size > CHANGESET_FILE_MAX || c->new_size > CHANGESET_FILE_MAX ||
                    (!c->old && c->old_size) || (!c->new && c->new_size))
                        abort();
                if (c->xattrs && xattrs_check(c->xattrs, c->xattrs_size) < 0)
                        abort();
                /* Touch every byte, so ASan sees a size that overstates its buffer. */
                for (size_t i = 0; c->old && i < c->old_size; i++)
                        sum += (unsigned char) c->old[i];
                for (size_t i = 0; c->new && i < c->new_size; i++)
                        sum += (unsigned char) c->new[i];
        }
        return 0;
}
