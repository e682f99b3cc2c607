/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bootspec.h"
#include "changeset.h"
#include "cmdline.h"
#include "fileio.h"
#include "plan.h"
#include "profile.h"

/* The command-line add-on for unified kernel images (systemd-stub 254 and later): a small PE file
 * with only a .cmdline section, which the stub appends to the UKI's own .cmdline, global ones
 * (ESP/loader/addons/ *.addon.efi) first, then the UKI's (ESP/EFI/Linux/<uki>.efi.extra.d/), each
 * directory sorted by name. Under Secure Boot the stub loads an add-on only when it is signed by a
 * key the firmware (or shim) trusts, which is the one way to change a signed UKI's command line.
 *
 * iommuctl owns one add-on per profile, named iommuctl-<profile>.addon.efi, and removes its other
 * add-ons (another profile's, or the other placement's) so that one profile's tokens are on the
 * line. The add-on is built with ukify when it is on $PATH, otherwise with objcopy and systemd's
 * add-on stub, both found at run time; signed with sbsign when [UKI] names a key and certificate. */

#define UKI_ADDON_PREFIX "iommuctl-"
#define UKI_ADDON_SUFFIX ".addon.efi"
#define UKI_ADDON_STUB_DIR "/usr/lib/systemd/boot/efi"
/* A path on this machine overriding [UKI] AddonStub= and the search (tests, image builders). */
#define UKI_ADDON_STUB_ENV "IOMMUCTL_UKI_ADDON_STUB"

typedef struct UkiAddonSettings {
        ProfileUkiAddon placement;
        const char *stub;                /* NULL: $IOMMUCTL_UKI_ADDON_STUB, else found in UKI_ADDON_STUB_DIR */
        const char *signing_key;         /* both or neither */
        const char *signing_certificate;
} UkiAddonSettings;

/* The profile's [UKI] settings; placement overridden when placement >= 0 (apply --uki-addon=). */
void uki_addon_settings_from_profile(const Profile *p, ProfileUkiAddon placement, UkiAddonSettings *ret);

/* Whether the next boot (the boot configuration model's) is a Type #2 unified kernel image. */
bool boot_uki_addon_detect(const Root *root);
/* The same from the boot configuration model already read, and a Type #1 entry whose "efi" is a
 * UKI when its options do not make the line: it has none, or systemd-stub ignores them (Secure Boot
 * on, the UKI has a .cmdline). Only an add-on changes that line. Pure. */
bool boot_uki_addon_next(const BootSpec *b);
/* Whether systemd-stub ignores entry e's options and only an add-on reaches its line. Pure. */
bool boot_uki_addon_entry(const BootSpec *b, const BootSpecEntry *e);

/* ---- pure parts ---- */

/* "iommuctl-gpu-sriov.addon.efi". */
int uki_addon_file_name(const char *profile, char **ret);
/* Whether a file name is one of ours (any profile). */
bool uki_addon_is_ours(const char *name);
/* Where the add-on of profile goes for the UKI at uki_path (inside the root, ".../EFI/Linux/x.efi"):
 * global: the UKI's partition's loader/addons/; per-uki: uki_path.extra.d/. -EINVAL when
 * uki_path is not under EFI/Linux/. */
int uki_addon_path(const char *uki_path, ProfileUkiAddon placement, const char *profile, char **ret);
/* The same for a boot entry: a Type #2 UKI, or a Type #1 entry whose "efi" is a UKI (the partition
 * the entry is on, the image's NAME.efi.extra.d/). */
int uki_addon_path_for_entry(const BootSpecEntry *e, ProfileUkiAddon placement, const char *profile, char **ret);
/* The partition (inside the root) a UKI at ".../EFI/Linux/x.efi" lives on: "/efi" for
 * "/efi/EFI/Linux/x.efi". -EINVAL otherwise. */
int uki_partition(const char *uki_path, char **ret);
/* The virtual address where a section appended to the PE image stub starts: ImageBase +
 * SizeOfImage rounded up to SectionAlignment (what objcopy's --change-section-vma needs).
 * -EBADMSG for something that is not a PE32/PE32+ image. */
int uki_addon_stub_next_vma(const uint8_t *data, size_t size, uint64_t *ret);
/* 1 when the PE image carries an Authenticode signature (a Certificate Table, as sbsign writes),
 * 0 when not, -EBADMSG for something that is not a PE image. */
int uki_addon_pe_signed(const uint8_t *data, size_t size);
/* The add-on stub's file name for this machine's architecture: addonx64.efi.stub, addonaa64.efi.stub. */
const char *uki_addon_stub_name(void);

/* Finds the add-on stub: settings->stub, $IOMMUCTL_UKI_ADDON_STUB, UKI_ADDON_STUB_DIR/addon<arch>.efi.stub.
 * -ENOENT (not logged) when there is none. */
int uki_addon_find_stub(const UkiAddonSettings *s, char **ret);

/* Builds the add-on PE for cmdline (signed when the settings name a key). Errors are logged. */
int uki_addon_build(const char *cmdline, const UkiAddonSettings *s, char **ret, size_t *ret_size);

/* ROOT/sys/firmware/efi/efivars/SecureBoot-<global GUID>: 1 on, 0 off or unknown. */
int uki_secure_boot_enabled(const Root *root);

/* A Type #2 entry's line as systemd-stub makes it without iommuctl's add-ons (what undo cannot
 * change). -ENOMEM only. */
int uki_line_without_ours(const Root *root, const BootSpecEntry *e, char **ret);

/* Plans the add-on for the UKI that boots next: written when the tokens are not on its line
 * already (judge), every other add-on of ours removed. wanted without tokens (undo) removes ours.
 * Errors are logged. */
int boot_uki_addon_plan(const Root *root, const char *profile, char * const *owned, const Cmdline *wanted, SyncJudge *judge,
                        const UkiAddonSettings *s, ChangeSet *cs);
/* The same with the boot configuration model already read (spec). */
int boot_uki_addon_plan_in(const Root *root, const BootSpec *spec, const char *profile, char * const *owned,
                           const Cmdline *wanted, SyncJudge *judge, const UkiAddonSettings *s, ChangeSet *cs);
