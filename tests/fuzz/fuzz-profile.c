/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Load arbitrary bytes as a profile file (includes resolve against the shipped profiles). */
#include <stdint.h>

#include "log.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[] = "/tmp/fuzz-profile-XXXXXX";
        _cleanup_profile_ Profile *p = NULL;
        int fd;

        log_set_max_level(-1);
        fd = mkstemp(path);
        if (fd < 0)
                abort();
        if (write(fd, data, size) != (ssize_t) size)
                abort();
        close(fd);
        static Root *nowhere;
        if (!nowhere && root_open_handle("/nonexistent-root", &nowhere) < 0)
                abort();
        (void) profile_load_file(nowhere, path, &p);
        unlink(path);
        return 0;
}
