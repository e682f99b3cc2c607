/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pcie.h"

/* Offsets and IDs from the PCI and PCI Express specifications (the kernel's
 * include/uapi/linux/pci_regs.h uses the same names). */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_HEADER_TYPE 0x0e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CB_CAPABILITY_LIST 0x14
#define PCI_CAP_ID_EXP 0x10
#define PCI_EXP_FLAGS 0x02
#define PCI_EXP_LNKCAP 0x0c
#define PCI_EXP_LNKSTA 0x12
#define PCI_EXT_CAP_ID_ACS 0x000d
#define PCI_EXT_CAP_ID_ATS 0x000f
#define PCI_EXT_CAP_ID_PRI 0x0013
#define PCI_EXT_CAP_ID_PASID 0x001b
#define PCI_ATS_CTRL_ENABLE 0x8000
#define PCI_PRI_CTRL_ENABLE 0x0001
#define PCI_PASID_CTRL_ENABLE 0x0001
/* At most this many capabilities: (256 - 64) / 4 standard, (4096 - 256) / 8 extended ones, as
 * the kernel's PCI_FIND_CAP_TTL and the extended walk bound it. */
#define PCI_CAP_TTL 48
#define PCI_EXT_CAP_TTL ((PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_LEGACY_SIZE) / 8)

static uint16_t get16(const uint8_t *p, size_t off) {
        return (uint16_t) (p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off) {
        return (uint32_t) p[off] | (uint32_t) p[off + 1] << 8 | (uint32_t) p[off + 2] << 16 | (uint32_t) p[off + 3] << 24;
}

static void parse_express(const uint8_t *c, size_t size, size_t pos, PcieInfo *info) {
        if (pos + PCI_EXP_FLAGS + 2 > size)
                return;
        info->port_type = (get16(c, pos + PCI_EXP_FLAGS) >> 4) & 0xf;
        if (pos + PCI_EXP_LNKSTA + 2 > size)
                return;
        uint32_t lnkcap = get32(c, pos + PCI_EXP_LNKCAP);
        uint16_t lnksta = get16(c, pos + PCI_EXP_LNKSTA);
        info->link_speed_max = lnkcap & 0xf;
        info->link_width_max = (lnkcap >> 4) & 0x3f;
        info->link_speed = lnksta & 0xf;
        info->link_width = (lnksta >> 4) & 0x3f;
}

static void walk_standard(const uint8_t *c, size_t size, PcieInfo *info) {
        unsigned header = c[PCI_HEADER_TYPE] & 0x7f;
        size_t pos;

        if (!(get16(c, PCI_STATUS) & PCI_STATUS_CAP_LIST))
                return;
        pos = c[header == 2 ? PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST];
        for (unsigned ttl = PCI_CAP_TTL; ttl > 0 && pos >= 0x40; ttl--) {
                pos &= ~3U;
                if (pos + 2 > size || pos + 2 > PCI_CONFIG_LEGACY_SIZE)
                        return;
                uint8_t id = c[pos], next = c[pos + 1];
                if (id == 0xff)
                        return;
                if (id == PCI_CAP_ID_EXP) {
                        parse_express(c, size, pos, info);
                        return;
                }
                pos = next;
        }
}

static void walk_extended(const uint8_t *c, size_t size, PcieInfo *info) {
        size_t pos = PCI_CONFIG_LEGACY_SIZE;

        if (size < PCI_CONFIG_LEGACY_SIZE + 4)
                return;
        info->extended = true;
        for (unsigned ttl = PCI_EXT_CAP_TTL; ttl > 0; ttl--) {
                uint32_t h = get32(c, pos);
                /* 0: no extended capabilities; all ones: not readable (a conventional PCI device
                 * behind a bridge, or a VF's space as some hypervisors show it). */
                if (h == 0 || h == 0xffffffffU)
                        return;
                uint16_t id = h & 0xffff;
                if (id == PCI_EXT_CAP_ID_ACS && pos + 8 <= size) {
                        info->has_acs = true;
                        info->acs_cap = get16(c, pos + 4);
                        info->acs_ctrl = get16(c, pos + 6);
                } else if (id == PCI_EXT_CAP_ID_ATS && pos + 8 <= size) {
                        info->has_ats = true;
                        info->ats_enabled = get16(c, pos + 6) & PCI_ATS_CTRL_ENABLE;
                } else if (id == PCI_EXT_CAP_ID_PRI && pos + 6 <= size) {
                        info->has_pri = true;
                        info->pri_enabled = get16(c, pos + 4) & PCI_PRI_CTRL_ENABLE;
                } else if (id == PCI_EXT_CAP_ID_PASID && pos + 8 <= size) {
                        info->has_pasid = true;
                        info->pasid_enabled = get16(c, pos + 6) & PCI_PASID_CTRL_ENABLE;
                }
                size_t next = (h >> 20) & 0xffc;
                /* The list only goes forward in practice; a pointer back into the legacy space
                 * or out of the data ends it (the TTL bounds a loop among valid ones). */
                if (next < PCI_CONFIG_LEGACY_SIZE || next + 4 > size)
                        return;
                pos = next;
        }
}

int pcie_parse(const uint8_t *config, size_t size, PcieInfo *ret) {
        PcieInfo info = { .port_type = PCIE_TYPE_NONE };

        if (!config || size < 0x40)
                return -EBADMSG;
        if (size > PCI_CONFIG_SPACE_SIZE)
                size = PCI_CONFIG_SPACE_SIZE;
        if (get32(config, 0) == 0xffffffffU)
                return -EBADMSG;
        info.read = true;
        walk_standard(config, size, &info);
        /* Extended capabilities belong to PCI Express devices only. */
        if (info.port_type != PCIE_TYPE_NONE)
                walk_extended(config, size, &info);
        *ret = info;
        return 0;
}

const char *pcie_port_type_to_string(int type) {
        static const char * const names[] = {
                [PCIE_TYPE_ENDPOINT] = "endpoint",
                [PCIE_TYPE_LEGACY_ENDPOINT] = "legacy-endpoint",
                [PCIE_TYPE_ROOT_PORT] = "root-port",
                [PCIE_TYPE_UPSTREAM] = "upstream",
                [PCIE_TYPE_DOWNSTREAM] = "downstream",
                [PCIE_TYPE_PCIE_TO_PCI] = "pcie-to-pci",
                [PCIE_TYPE_PCI_TO_PCIE] = "pci-to-pcie",
                [PCIE_TYPE_RC_INTEGRATED] = "rc-integrated",
                [PCIE_TYPE_RC_EVENT_COLLECTOR] = "rc-event-collector",
        };
        if (type == PCIE_TYPE_NONE)
                return "pci";
        return STRING_TABLE_TO_STRING(names, type) ?: "unknown";
}

const char *pcie_link_speed_to_string(unsigned code) {
        static const char * const names[] = {
                [1] = "2.5 GT/s", [2] = "5 GT/s", [3] = "8 GT/s", [4] = "16 GT/s", [5] = "32 GT/s", [6] = "64 GT/s",
        };
        return code < ELEMENTSOF(names) ? names[code] : NULL;
}

char *pcie_acs_bits_to_string(uint16_t bits, char buf[static 32]) {
        static const char * const names[] = { "SV", "TB", "RR", "CR", "UF", "EC", "DT" };
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (bits & (1U << i))
                        n += (size_t) snprintf(buf + n, 32 - n, "%s%s", n ? " " : "", names[i]);
        if (n == 0)
                strcpy(buf, "none");
        return buf;
}
