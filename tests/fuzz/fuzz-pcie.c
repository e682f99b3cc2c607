/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI config space as read from /sys/bus/pci/devices/X/config (issue 25). */
#include <stdint.h>

#include "pcie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ uint8_t *copy = malloc(size ?: 1); /* exactly size bytes: ASan sees overreads */
        char bits[32];
        PcieInfo p;

        if (!copy)
                abort();
        memcpy(copy, data, size);
        if (pcie_parse(copy, size, &p) >= 0) {
                (void) pcie_acs_bits_to_string(p.acs_ctrl, bits);
                (void) pcie_port_type_to_string(p.port_type);
                (void) pcie_link_speed_to_string(p.link_speed);
        }
        return 0;
}
