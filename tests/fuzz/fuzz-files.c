/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The readers that take a file under a root: iommu.conf (inih), a change-set manifest, a dmesg
 * file. The input is written to a scratch root (the first byte picks which file) and read back
 * through the real code, resolver included. */
#include <stdint.h>

#include "changeset.h"
#include "config.h"
#include "fileio.h"
#include "kernel-log.h"
#include "log.h"
#include "observe.h"

#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char * const dirs[] = { "/etc", "/etc/iommu", "/var", "/var/lib", "/var/lib/iommu",
                                     "/var/lib/iommu/changesets", "/var/lib/iommu/changesets/00000001", "/boot" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        (void) fuzz_root_make(dirs, ELEMENTSOF(dirs));
        if (size == 0)
                return 0;
        switch (data[0] % 3) {
        case 0: {
                Config c = {};
                fuzz_root_put("/etc/iommu/iommu.conf", data + 1, size - 1);
                if (config_load(fuzz_root_handle, &c) >= 0)
                        config_done(&c);
                break;
        }
        case 1: {
                _cleanup_changeset_ ChangeSet *cs = NULL;
                static const uint8_t bytes[] = "old\n";
                fuzz_root_put("/var/lib/iommu/changesets/00000001/manifest", data + 1, size - 1);
                fuzz_root_put("/var/lib/iommu/changesets/00000001/old-0", bytes, 4);
                fuzz_root_put("/var/lib/iommu/changesets/00000001/new-0", bytes, 4);
                /* Loads and validates the manifest; never writes. */
                (void) changeset_load_last_for_rollback(fuzz_root_handle, &cs);
                break;
        }
        case 2: {
                Observation o = { .root = fuzz_root_handle };
                _cleanup_free_ char *p = fuzz_root_full("/boot/dmesg");
                fuzz_root_put("/boot/dmesg", data + 1, size - 1);
                (void) kernel_log_read_file(&o, p);
                observation_done(&o);
                break;
        }
        }
        return 0;
}
