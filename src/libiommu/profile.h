/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "fileio.h"
#include "params.h"

/* Profiles: INI files that say what state a node must end up in.
 *
 * Looked up by name, first match wins: ROOT/etc/iommu/profiles, ROOT/run/iommu/profiles,
 * ROOT/usr/local/lib/iommu/profiles, ROOT/usr/lib/iommu/profiles, then the directories in
 * $IOMMUCTL_PROFILES_PATH (not under ROOT) and, for a root other than "/", the profiles shipped
 * with this iommuctl, so image builders can work on trees that do not have iommuctl installed. */

typedef enum ProfileMode {
        MODE_PASSTHROUGH, /* IOMMU on, default domain identity */
        MODE_TRANSLATED,  /* IOMMU on, DMA translated (lazy or strict) */
        MODE_STRICT,      /* IOMMU on, translated with strict invalidation */
        MODE_OFF,         /* no IOMMU groups */
        MODE_LAZY,        /* IOMMU on, translated with deferred invalidation (flush queue: DMA-FQ) */
        _MODE_MAX,
        _MODE_INVALID = -EINVAL,
} ProfileMode;

typedef enum FirmwareRequirement {
        FIRMWARE_REQUIRED, /* DMAR/IVRS must be present */
        FIRMWARE_OPTIONAL,
        _FIRMWARE_MAX,
        _FIRMWARE_INVALID = -EINVAL,
} FirmwareRequirement;

/* [PCI] LiftACSRedirect= (issue 25): whether the profile asks iommuctl to lift ACS P2P redirect on
 * the ports of the GPU paths it sees (pci=disable_acs_redir= / pci=config_acs=). Never a blanket
 * setting: only the ports on GPU paths, computed from the topology (p2p.h). */
typedef enum ProfileAcsLift {
        PROFILE_ACS_KEEP,           /* "no": the kernel's default */
        PROFILE_ACS_LIFT_GPU_PATHS, /* "gpu-paths" */
        _PROFILE_ACS_LIFT_MAX,
        _PROFILE_ACS_LIFT_INVALID = -EINVAL,
} ProfileAcsLift;

const char *profile_acs_lift_to_string(ProfileAcsLift l);
ProfileAcsLift profile_acs_lift_from_string(const char *s);

/* [UKI] Addon= (issue 23): where the command-line add-on for unified kernel images goes. */
typedef enum ProfileUkiAddon {
        PROFILE_UKI_ADDON_GLOBAL,  /* "global": ESP/loader/addons/, every UKI on the partition */
        PROFILE_UKI_ADDON_PER_UKI, /* "per-uki": ESP/EFI/Linux/<uki>.efi.extra.d/, the UKI that boots next */
        _PROFILE_UKI_ADDON_MAX,
        _PROFILE_UKI_ADDON_INVALID = -EINVAL,
} ProfileUkiAddon;

const char *profile_uki_addon_to_string(ProfileUkiAddon a);
ProfileUkiAddon profile_uki_addon_from_string(const char *s);

typedef struct ProfileArgs {
        bool set;
        char *text;       /* as written, whitespace-normalized */
        const char *file; /* where it was set (points into Profile.files) */
        unsigned line;
} ProfileArgs;

typedef struct Profile {
        char *name;
        char *path;   /* the file the name resolved to */
        char **files; /* every file read, the profile and its includes, in read order */
        char *description;
        ProfileMode mode;
        ProfileArgs args[_VENDOR_MAX];
        /* [Expect]; derived from Mode when not written */
        int expect_groups;                 /* 1 yes, 0 no */
        DomainType expect_domain;          /* DOMAIN_NONE with no groups */
        FirmwareRequirement expect_firmware;
        int expect_interrupt_remapping;    /* 1 yes, 0 no, -1 don't care */
        char **expect_modules;             /* kernel modules that must be loadable (vfio-pci...) */
        ProfileAcsLift lift_acs_redirect;  /* [PCI] LiftACSRedirect= */
        /* [UKI]: the command-line add-on (boot-uki-addon.h) */
        ProfileUkiAddon uki_addon;         /* Addon= */
        char *uki_addon_stub;              /* AddonStub=: a path on the machine that builds; NULL: found at run time */
        char *uki_signing_key;             /* SigningKey= and SigningCertificate=: sbsign's --key, --cert */
        char *uki_signing_certificate;
} Profile;

const char *profile_mode_to_string(ProfileMode m);
ProfileMode profile_mode_from_string(const char *s);
const char *firmware_requirement_to_string(FirmwareRequirement f);
FirmwareRequirement firmware_requirement_from_string(const char *s);
/* The domain type a mode promises (DOMAIN_DMA_FQ stands for "DMA or DMA-FQ" for translated). */
DomainType profile_mode_domain(ProfileMode m);
/* Whether a group type satisfies a mode. */
bool profile_mode_accepts(ProfileMode m, DomainType t);

bool profile_name_is_valid(const char *name);

/* Loads a profile by name, with its includes, and validates it: unknown sections or keys, bad
 * values, include loops, missing includes, unsafe tokens and tokens that would not produce the
 * declared Mode are logged with file:line and refused (-EINVAL). -ENOENT when there is no such
 * profile (also logged). */
int profile_load(const Root *root, const char *name, Profile **ret);
typedef enum ProfileLoadFlags {
        /* Do not lint the KernelArgs tokens nor check that they give the declared Mode (the
         * generator at boot; lint, apply and plan do): unsafe tokens are still refused. */
        PROFILE_LOAD_NO_LINT = 1 << 0,
} ProfileLoadFlags;
int profile_load_full(const Root *root, const char *name, ProfileLoadFlags flags, Profile **ret);
/* What the generator reads at every boot: profile_load_full(root, name, PROFILE_LOAD_NO_LINT, ret),
 * the same Profile or the same failure, through a small reader where the file in the tree's
 * directories is plain (sections, Key=Value, comments) and through the full loader otherwise.
 * Description= and [Expect] Modules= (which every value makes valid, and which nothing at boot
 * reads) are left out: description and expect_modules are NULL. */
int profile_load_boot(const Root *root, const char *name, Profile **ret);
/* The small reader alone, for tests: 1 with *ret set (description and expect_modules NULL, as
 * above), 0 when it declines the file (the full loader must read it), -ENOMEM. Logs nothing. */
int profile_read_boot(const Root *root, const char *name, Profile **ret);
/* Loads one file directly (for "lint FILE"); includes are looked up by name as usual. */
int profile_load_file(const Root *root, const char *path, Profile **ret);
Profile *profile_free(Profile *p);
static inline void profile_freep(Profile **p) {
        profile_free(*p);
}
#define _cleanup_profile_ _cleanup_(profile_freep)

/* The profile as one INI file, every value resolved and no Include= left (the dracut module
 * installs it in the initramfs, where the included files are not). */
int profile_format_resolved(const Profile *p, char **ret);

/* The tokens for one vendor: the profile's own line, else what the kernel model chooses for its Mode
 * on the newest kernel it knows (intent.h chooses for a given kernel, which callers that have one
 * use). -ENODATA when there is neither. */
int profile_kernel_args(const Profile *p, Vendor vendor, Cmdline **ret);
/* iommu_owned_keys plus every key the profile writes for any vendor. */
int profile_owned_keys(const Profile *p, char ***ret);
/* Whether profile_owned_keys() would return iommu_owned_keys as they are (nothing to copy). */
bool profile_owned_keys_are_static(const Profile *p);

typedef struct ProfileListEntry {
        char *name;
        char *path;       /* the file that wins */
        char **shadowed;  /* lower-precedence files of the same name */
} ProfileListEntry;

/* Every profile name found, sorted, with where it comes from. */
int profile_list(const Root *root, ProfileListEntry **ret, size_t *ret_n);
void profile_list_free(ProfileListEntry *l, size_t n);

/* The search path for a root, in precedence order (for messages and "profiles"). */
int profile_search_path(const Root *root, char ***ret);
