/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "boot-uki-addon.h"
#include "changeset.h"
#include "cmdline.h"
#include "plan.h"
#include "fileio.h"

/* Which boot configuration a machine (or image) really uses, and the changes a profile needs in
 * each. Several backends may apply at once (RHEL 9: BLS entries and GRUB defaults). */

typedef enum BootBackend {
        BOOT_BACKEND_BLS,
        BOOT_BACKEND_KERNEL_CMDLINE,
        BOOT_BACKEND_GRUB,
        BOOT_BACKEND_UKI_ADDON,  /* the next boot is a unified kernel image: a command-line add-on */
        _BOOT_BACKEND_MAX,
        _BOOT_BACKEND_INVALID = -EINVAL,
} BootBackend;

const char *boot_backend_to_string(BootBackend b);
BootBackend boot_backend_from_string(const char *s);

typedef struct BootRequest {
        const Root *root;
        const char *profile;     /* name, for the files we write */
        char * const *owned;     /* keys the profile owns */
        const Cmdline *wanted;   /* the profile's tokens */
        SyncJudge *judge;        /* whether a line already carries them (NULL: default kernel, portable) */
        const char *entries;     /* all (NULL), default, or a glob over BLS entry file names */
        bool backends[_BOOT_BACKEND_MAX];
        /* uki-addon too when the boot configuration boot_plan() reads says a UKI boots next */
        bool uki_addon_if_next;
        const UkiAddonSettings *uki; /* [UKI] of the profile (NULL: defaults) */
} BootRequest;

/* Sets backends[] to what is found under root. Returns how many. */
int boot_detect_backends(const Root *root, bool ret[_BOOT_BACKEND_MAX]);
/* The same without uki-addon (left false): the backends found from their files alone, without
 * reading the boot configuration model for the boot that comes next. */
int boot_detect_file_backends(const Root *root, bool ret[_BOOT_BACKEND_MAX]);
/* Parses "bls,grub,uki-addon" (or a list of names); errors logged. */
int boot_backends_from_list(char * const *names, bool ret[_BOOT_BACKEND_MAX]);

/* ostree/bootc roots (apply refuses): the rpm-ostree kargs command and the bootc kargs.d TOML that
 * carry wanted, deleting the other owned tokens of current (the next deployment's line; may be
 * NULL). Pure; -ENOMEM only. */
int boot_ostree_commands(const Cmdline *current, char * const *owned, const Cmdline *wanted, Vendor vendor, char **ret_rpm_ostree,
                         char **ret_bootc_toml);

/* Computes every change (nothing is written). Errors are logged. */
int boot_plan(const BootRequest *req, ChangeSet *cs);
