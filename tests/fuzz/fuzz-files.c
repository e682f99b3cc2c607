/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The readers that take a file under a root: iommu.conf (inih), a change-set manifest, a dmesg
 * file. The input is written to a scratch root (the first byte picks which file) and read back
 * through the real code, resolver included. */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>

#include "changeset.h"
#include "config.h"
#include "fileio.h"
#include "kernel-log.h"
#include "log.h"
#include "observe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fuzz-files.XXXXXX";
static Root *root_handle; /* opened once, like iommuctl opens --root */
static bool made;

static void put(const char *rel, const uint8_t *d, size_t n) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        if (asprintf(&p, "%s%s", root, rel) < 0 || !(f = fopen(p, "we")))
                abort();
        if (fwrite(d, 1, n, f) != n)
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

static void make_dirs(void) {
        static const char * const dirs[] = { "/etc", "/etc/iommu", "/var", "/var/lib", "/var/lib/iommu",
                                             "/var/lib/iommu/changesets", "/var/lib/iommu/changesets/00000001", "/boot" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s%s", root, dirs[i]) < 0 || mkdir(p, 0755) < 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (!made) {
                if (!mkdtemp(root))
                        abort();
                make_dirs();
                atexit(remove_root);
                if (root_open_handle(root, &root_handle) < 0)
                        abort();
                made = true;
        }
        if (size == 0)
                return 0;
        switch (data[0] % 3) {
        case 0: {
                Config c = {};
                put("/etc/iommu/iommu.conf", data + 1, size - 1);
                if (config_load(root_handle, &c) >= 0)
                        config_done(&c);
                break;
        }
        case 1: {
                _cleanup_changeset_ ChangeSet *cs = NULL;
                static const uint8_t bytes[] = "old\n";
                put("/var/lib/iommu/changesets/00000001/manifest", data + 1, size - 1);
                put("/var/lib/iommu/changesets/00000001/old-0", bytes, 4);
                put("/var/lib/iommu/changesets/00000001/new-0", bytes, 4);
                /* Loads and validates the manifest; never writes. */
                (void) changeset_load_last_for_rollback(root_handle, &cs);
                break;
        }
        case 2: {
                Observation o = { .root = root_handle };
                _cleanup_free_ char *p = NULL;
                put("/boot/dmesg", data + 1, size - 1);
                if (asprintf(&p, "%s/boot/dmesg", root) < 0)
                        abort();
                (void) kernel_log_read_file(&o, p);
                observation_done(&o);
                break;
        }
        }
        return 0;
}
