/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "fileio.h"
#include "macro.h"

/* The ACPI tables that describe an x86 IOMMU: DMAR (Intel VT-d) and IVRS (AMD-Vi). A missing
 * table means the IOMMU is disabled in the firmware setup or absent; a present table does not mean
 * the kernel enabled it. The tables are readable by root only: presence is known to everyone,
 * the flags only to root. */

#define ACPI_TABLES_DIR "/sys/firmware/acpi/tables"

/* DMAR byte 37 (Intel VT-d specification, "DMA Remapping Reporting Structure"). */
#define DMAR_FLAG_INTR_REMAP               0x01u
#define DMAR_FLAG_X2APIC_OPT_OUT           0x02u
#define DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN 0x04u
/* IVRS IVinfo bit 1: pre-boot DMA protection supported (AMD IOMMU specification). */
#define IVRS_IVINFO_DMA_REMAP_SUPPORT 0x02u

typedef struct AcpiTable {
        bool present;
        int error;   /* 0, or the negative errno reading it failed with (-EACCES as non-root) */
        bool parsed; /* the fields below are valid */
} AcpiTable;

typedef struct AcpiInfo {
        AcpiTable dmar;
        uint8_t dmar_host_address_width; /* byte 36: width - 1 */
        uint8_t dmar_flags;              /* byte 37 */
        AcpiTable ivrs;
        uint32_t ivrs_ivinfo; /* bytes 36..39, little endian */
} AcpiInfo;

/* Pure parsers: -EBADMSG when the buffer is not such a table. */
int acpi_parse_dmar(const uint8_t *buf, size_t n, uint8_t *ret_haw, uint8_t *ret_flags);
int acpi_parse_ivrs(const uint8_t *buf, size_t n, uint32_t *ret_ivinfo);

/* Reads ROOT/sys/firmware/acpi/tables/{DMAR,IVRS}. Unreadable or malformed tables are recorded in
 * the result, not returned as errors; only -ENOMEM is. */
int acpi_read(const Root *root, AcpiInfo *ret);
