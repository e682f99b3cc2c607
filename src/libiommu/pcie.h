/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* PCI configuration space, parsed from the bytes of /sys/bus/pci/devices/X/config: pure, no I/O
 * (observe.c reads the file). Only what the peer-to-peer path needs: the PCI Express capability
 * (port type, link) and the extended capabilities ACS, ATS, PRI and PASID. The extended space
 * (offsets 0x100-0xfff) is only there when the file is longer than 256 bytes, which it is for
 * root only; a shorter file leaves those members "unknown", never "absent". */

#define PCI_CONFIG_SPACE_SIZE 4096U
#define PCI_CONFIG_LEGACY_SIZE 256U

/* Device/Port Type of the PCI Express Capabilities register (PCIe 6.0, 7.5.3.2). */
typedef enum PciePortType {
        PCIE_TYPE_ENDPOINT = 0x0,
        PCIE_TYPE_LEGACY_ENDPOINT = 0x1,
        PCIE_TYPE_ROOT_PORT = 0x4,
        PCIE_TYPE_UPSTREAM = 0x5,
        PCIE_TYPE_DOWNSTREAM = 0x6,
        PCIE_TYPE_PCIE_TO_PCI = 0x7,
        PCIE_TYPE_PCI_TO_PCIE = 0x8,
        PCIE_TYPE_RC_INTEGRATED = 0x9,
        PCIE_TYPE_RC_EVENT_COLLECTOR = 0xa,
        PCIE_TYPE_NONE = -1, /* conventional PCI: no PCI Express capability */
} PciePortType;

/* ACS Capability and Control bits (PCIe 6.0, 7.7.11), as the kernel names them (PCI_ACS_*). */
enum {
        PCI_ACS_SV = 0x0001, /* Source Validation */
        PCI_ACS_TB = 0x0002, /* Translation Blocking */
        PCI_ACS_RR = 0x0004, /* P2P Request Redirect */
        PCI_ACS_CR = 0x0008, /* P2P Completion Redirect */
        PCI_ACS_UF = 0x0010, /* Upstream Forwarding */
        PCI_ACS_EC = 0x0020, /* P2P Egress Control */
        PCI_ACS_DT = 0x0040, /* Direct Translated P2P */
        PCI_ACS_BITS = 0x007f,
};

typedef struct PcieInfo {
        bool read;             /* config space bytes were there (at least the 64-byte header) */
        bool extended;         /* the extended space was there: has_acs/has_ats/... are known */
        int port_type;         /* PciePortType; PCIE_TYPE_NONE without a PCI Express capability */
        bool has_acs;
        uint16_t acs_cap;
        uint16_t acs_ctrl;
        bool has_ats;
        bool ats_enabled;
        bool has_pri;
        bool pri_enabled;
        bool has_pasid;
        bool pasid_enabled;
        unsigned link_speed;     /* Current Link Speed code: 1 2.5 GT/s ... 6 64 GT/s; 0 unknown */
        unsigned link_width;     /* Negotiated Link Width (lanes); 0 unknown */
        unsigned link_speed_max; /* Max Link Speed code */
        unsigned link_width_max;
} PcieInfo;

/* Parses size bytes of config space (the first 64 at least, up to 4096). Capability lists are
 * walked with bounds: a pointer outside the data, misaligned, or a loop ends the walk. -EBADMSG
 * when the header is short or reads all ones (a device that is gone). */
int pcie_parse(const uint8_t *config, size_t size, PcieInfo *ret);

/* "root-port", "upstream", "downstream", "endpoint"...; "pci" for PCIE_TYPE_NONE. */
const char *pcie_port_type_to_string(int type);
/* "2.5 GT/s" ... "64 GT/s", NULL for an unknown code. */
const char *pcie_link_speed_to_string(unsigned code);
/* The names of the ACS bits set in bits, as lspci writes them ("SV RR CR UF"), "none" for 0. */
char *pcie_acs_bits_to_string(uint16_t bits, char buf[static 32]);
/* A port that routes between devices below it and so can redirect peer-to-peer: a root port or a
 * switch downstream port. */
static inline bool pcie_type_is_downstream_facing(int type) {
        return type == PCIE_TYPE_ROOT_PORT || type == PCIE_TYPE_DOWNSTREAM;
}
