/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "kernel-model.h"
#include "profile.h"

/* Intent, not tokens: a profile says which mode the node must end up in (Mode=), and the kernel
 * model chooses the tokens that give it on the target kernel (release, build configuration,
 * platform facts), or refuses with the reason and the nearest mode it can give. A profile's own
 * [KernelArgs] line for the vendor still wins; lint judges it against the model. Pure code. */

typedef struct IntentChoice {
        Cmdline *tokens;        /* NULL when refused */
        bool from_profile;      /* the profile's own [KernelArgs] line, not the model's choice */
        char *misses_mode;      /* the profile's own line does not give its Mode on this kernel: what it gives and what
                                 * the model would write; NULL otherwise */
        char *why;              /* why these tokens on this kernel, for people */
        char *refusal;          /* why the mode cannot be kept on this kernel and platform; NULL when it can */
        ProfileMode nearest;    /* with a refusal: the nearest mode that can be kept (_MODE_INVALID: none) */
} IntentChoice;

void intent_choice_done(IntentChoice *c);

/* The tokens that give mode for vendor on kernel k (NULL: the newest release the model knows, with
 * mainline defaults). VENDOR_PORTABLE: tokens that give the mode on Intel and AMD alike. A mode the
 * kernel cannot keep is no error: ret->refusal says why (tokens NULL). Only -ENOMEM fails. */
int intent_choose(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentChoice *ret);

/* The profile's own line for vendor when it has one, else intent_choose() for its Mode.
 * -ENODATA when the profile has no line and its mode has no tokens for the vendor (off on arm64). */
int intent_profile_args(const Profile *p, Vendor vendor, const KernelInfo *k, IntentChoice *ret);

/* Something the node uses that the mode would break: with the evidence and the profile that fits. */
typedef struct IntentConflict {
        const char *id;        /* "sev-snp", "smmuv3-pasid", "grace-gds", "no-driver" (static) */
        bool refuse;           /* the mode cannot work at all (not only something else breaks) */
        char *message;         /* what breaks, and the evidence */
        const char *fits;      /* a shipped profile that fits (static), NULL when none */
} IntentConflict;

typedef struct IntentConflicts {
        IntentConflict *items;
        size_t n;
} IntentConflicts;

void intent_conflicts_done(IntentConflicts *c);
/* The conflicts of mode on kernel k's platform (k->platform: unknown facts raise none). Only
 * -ENOMEM fails. */
int intent_conflicts(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentConflicts *ret);
/* Whether intent_conflicts() can refuse mode for vendor on some kernel or platform (a build without
 * the vendor's driver): false lets a caller skip reading the build configuration for it. */
bool intent_conflicts_may_refuse(ProfileMode mode, Vendor vendor);

/* Whether iommufd-based VFIO (KubeVirt 1.9's passthrough) can work: the device nodes where the tree
 * has /dev (dev_iommu, dev_vfio_devices: 1, 0, -1 not looked up), else the build's CONFIG_IOMMUFD and
 * CONFIG_VFIO_DEVICE_CDEV (Debian 6.12 and 7.x have neither). *ret_ready 1, 0, -1 unknown, with
 * the evidence for people. Only -ENOMEM fails. */
int iommufd_readiness(int dev_iommu, int dev_vfio_devices, const KernelInfo *k, int *ret_ready, char **ret_evidence);
