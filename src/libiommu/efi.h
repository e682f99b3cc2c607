/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "fileio.h"
#include "observe.h"

/* EFI state: booted in EFI mode, Secure Boot, and systemd-boot's LoaderEntrySelected with the
 * options of that BLS entry. On the live host the variables are read through libefivar; under any
 * other root from ROOT/sys/firmware/efi/efivars/<Name>-<GUID> (4 bytes of attributes, then the
 * data), as captured by iommu-capture-host. Part of libiommu-host (links libefivar). */

#define EFI_GLOBAL_VARIABLE_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define EFI_LOADER_VARIABLE_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* Reads one variable's data (without the attribute bytes). -ENOENT when it does not exist. */
int efi_read_variable(const Root *root, const char *guid, const char *name, uint8_t **ret, size_t *ret_size);

/* Fills o->efi. Only -ENOMEM is fatal. */
int efi_observe(Observation *o);

/* efi_utf16le_to_ascii() is in bootspec.h (libiommu: the generator reads the variables as files). */
#include "bootspec.h"
