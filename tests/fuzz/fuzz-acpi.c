/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ACPI DMAR and IVRS tables as read from /sys/firmware/acpi/tables. */
#include <stdint.h>

#include "acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *copy = malloc(size ?: 1); /* exactly size bytes: ASan sees overreads */
        uint8_t haw, flags;
        uint32_t ivinfo;

        if (!copy)
                abort();
        memcpy(copy, data, size);
        (void) acpi_parse_dmar(copy, size, &haw, &flags);
        (void) acpi_parse_ivrs(copy, size, &ivinfo);
        return 0;
}
