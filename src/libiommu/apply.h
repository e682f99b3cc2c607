/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "boot.h"
#include "changeset.h"
#include "config.h"
#include "plan.h"

/* The policy of "apply" and "rollback", where cmocka can reach it: lock, recover an interrupted
 * set, plan every backend with one judgement, commit, regenerate grub.cfg, undo the commit when
 * that fails, and decide how the node gets to boot the result. The front ends parse arguments and
 * print the ApplyResult. Errors are logged where they happen, naming the file. */

#define REBOOT_STAMP "/var/lib/iommu/reboot-requested"

typedef enum ApplyReboot {
        APPLY_REBOOT_NONE,     /* the operator reboots (after status --check) */
        APPLY_REBOOT_NOW,      /* reboot the live host now */
        APPLY_REBOOT_SENTINEL, /* leave the reboot to the daemon watching [Apply] RebootSentinel= */
        _APPLY_REBOOT_MAX,
} ApplyReboot;

const char *apply_reboot_to_string(ApplyReboot r);

/* Pure: after a committed change, how the node gets to boot it. reboot_arg: 1 --reboot=yes, 0
 * --reboot=no, -1 as [Apply] says. --reboot=yes wins; otherwise RebootSentinel= (which leaves the
 * cordon, drain and reboot to kured) wins over Reboot=yes, which would reboot without a drain. */
ApplyReboot apply_reboot_decision(int reboot_arg, const Config *config);

/* Pure: whether grub.cfg is regenerated. regenerate: 1 yes, 0 no, -1 on the live host only, as
 * BootloaderUpdate= says. */
bool apply_want_regenerate(int regenerate, const Root *root, const Config *config);

typedef struct ApplyRequest {
        const Root *root;
        const Config *config;
        const char *profile;       /* name */
        char * const *owned;
        const Cmdline *wanted;
        const KernelInfo *kernel;  /* for the judgement (NULL: default model) */
        const Profile *intent;     /* set: BLS entries for other kernels get the model's tokens for theirs */
        Vendor vendor;
        const char *entries;       /* all (NULL), default, or a glob */
        bool backends[_BOOT_BACKEND_MAX];
        bool uki_addon_if_next;    /* see apply_select_backends_deferred() */
        const UkiAddonSettings *uki; /* [UKI] of the profile and --uki-addon= (NULL: defaults) */
        const char *selection;     /* contents of CONFIG_SELECTION_FILE to record; NULL: leave it */
        bool record;               /* write DRIFT_RECORD_FILE (arms the generator) */
        bool dry_run;
        int regenerate;            /* see apply_want_regenerate() */
        int reboot;                /* see apply_reboot_decision() */
        const char *verb;          /* for the history (ChangeSet.verb); NULL: "apply" */
} ApplyRequest;

typedef struct ApplyResult {
        ChangeSet *cs;             /* what was changed (or would be, with dry_run); never NULL on success */
        bool committed;
        bool selection_changed;    /* the selection file is part of cs */
        bool boot_changed;         /* cs changes something the boot reads (not only records) */
        char **dropped;            /* owned tokens dropped from rewritten lines because they change nothing */
        char *stale_cfg, *stale_newer; /* grub.cfg older than the GRUB defaults, with nothing else to change */
        bool regenerated;
        bool grub_not_regenerated; /* GRUB defaults changed and grub.cfg was left to the operator */
        unsigned ukis;             /* UKIs that embed their command line (kernel-cmdline changed) */
        ApplyReboot reboot;        /* what was done after the commit */
        bool recovered;            /* rollback: the interrupted set was rolled back instead */
        char **cannot;             /* undo: what it cannot bring back, each with the reason */
} ApplyResult;

void apply_result_done(ApplyResult *r);

/* The backends to write: names (from names_from, for messages) or, when NULL, what is found under
 * root. -ENOENT (logged) when one asked for, or any at all, is not there. */
int apply_select_backends(const Root *root, char * const *names, const char *names_from, bool ret[_BOOT_BACKEND_MAX]);
/* The same, except that where other backends are found (and none are named), whether a unified
 * kernel image boots next (the uki-addon backend) is left to apply_run(), which reads the boot
 * configuration once, under its lock: *ret_uki_addon_if_next is set for ApplyRequest. */
int apply_select_backends_deferred(const Root *root, char * const *names, const char *names_from,
                                   bool ret[_BOOT_BACKEND_MAX], bool *ret_uki_addon_if_next);
/* Refuses (logged) tokens unsafe in GRUB and shell files, and tokens the kernel would not accept. */
int apply_check_tokens(const char *profile, Vendor vendor, Arch arch, const Cmdline *wanted);
/* The selection an apply with --profile or --vendor records in CONFIG_SELECTION_FILE (*ret NULL
 * without either: apply follows the configuration and records nothing). A vendor recorded before
 * is kept when only --profile is given. */
int apply_selection_contents(const Config *config, const char *profile, bool profile_given, Vendor vendor_arg, char **ret);

/* Takes the lock and recovers an interrupted set (unless dry_run), plans, and commits. */
int apply_run(const ApplyRequest *req, ApplyResult *ret);

/* After apply_run() committed a change the boot reads: reboots, leaves the sentinel, or nothing,
 * as apply_reboot_decision() says (res->reboot). */
int apply_reboot(const ApplyRequest *req, ApplyResult *res);

/* Restores the newest complete set not rolled back yet: returns 1 when one was rolled back, 0 when
 * there was nothing to roll back (or an interrupted set was, ret->recovered). All or nothing: when
 * grub.cfg must be regenerated and that fails, the set's files are written back
 * (changeset_rollback_revert()) and the set stays the one to roll back. */
int rollback_run(const Root *root, const Config *config, bool dry_run, int regenerate, ApplyResult *ret);

/* Undo: the profile's owned tokens removed from every entry and file of every backend that carries
 * them (BLS entries, $kernelopts, /etc/kernel/cmdline, GRUB defaults and the GRUB drop-in), also
 * those written since apply by the kernel-install plugin, the generator disarmed
 * (DRIFT_RECORD_FILE) and the recorded selection removed: one journaled change set, which rollback
 * can undo in turn. Idempotent: a second run finds nothing (ret->cs->n_items == 0). ret->cannot
 * names what it cannot bring back (UKIs embed their line). */
typedef struct UndoRequest {
        const Root *root;
        const Config *config;
        const char *profile;   /* whose tokens */
        char * const *owned;   /* its owned keys */
        bool dry_run;
        int regenerate;        /* see apply_want_regenerate() */
} UndoRequest;

int undo_run(const UndoRequest *req, ApplyResult *ret);
