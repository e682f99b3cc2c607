/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A UKI's PE section table (.cmdline, .osrel, .uname): no crash or read outside the image on any
 * header, section count, size or offset. */
#include <stdint.h>

#include "bootspec.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *cmdline = NULL, *osrel = NULL, *uname = NULL;
        int r;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        r = bootspec_pe_sections_buffer(data, size, &cmdline, &osrel, &uname);
        if (r < 0 && r != -EBADMSG && r != -EFBIG)
                abort();
        if (r < 0 && (cmdline || osrel || uname))
                abort();
        /* Each section is a C string of at most the image's size. */
        if ((cmdline && strlen(cmdline) > size) || (osrel && strlen(osrel) > size) || (uname && strlen(uname) > size))
                abort();
        return 0;
}
