/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An EFI variable as efivarfs shows it (4 bytes of attributes, UTF-16LE): no crash; the string
 * is printable ASCII and at most half the data long. */
#include <stdint.h>

#include "bootspec.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        int r;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        r = bootspec_decode_efi_string(data, size, &s);
        if (r == -EBADMSG) {
                if (size >= 4)
                        abort();
                return 0;
        }
        if (r < 0)
                abort();
        if (strlen(s) > (size - 4) / 2)
                abort();
        for (const char *p = s; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                        abort();
        (void) bootspec_id_matches(s, "a-6.1.conf");
        return 0;
}
