/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "plan.h"

/* What the next boot will run: a read-only view on the boot configuration model (bootspec.h):
 * every entry the boot loader offers, in its menu order, and the files iommuctl writes that the
 * next entries are generated from, whether each carries the profile's effect, and which entry the
 * loader picks next and by default, by its own rules. Nothing is planned or written. */

#include "bootspec.h"

typedef enum StatusKind {
        STATUS_BLS_ENTRY,      /* a Boot Loader Specification entry */
        STATUS_GRUB_MENUENTRY, /* a menuentry of grub.cfg */
        STATUS_GRUB_DEFAULTS,  /* /etc/default/grub (+ drop-ins): what grub.cfg is generated from */
        STATUS_KERNEL_CMDLINE, /* /etc/kernel/cmdline: what kernel-install gives new kernels */
        STATUS_UKI,            /* a unified kernel image's embedded .cmdline */
        _STATUS_KIND_MAX,
} StatusKind;

const char *status_kind_to_string(StatusKind k);

typedef struct StatusEntry {
        StatusKind kind;
        char *path;    /* inside the root */
        char *id;      /* entry id or menuentry title; NULL for files */
        char *title;
        char *options; /* the command line it gives the kernel; NULL when it has none */
        const char *options_source; /* static: the rule that made options */
        bool carries;  /* carries the profile's effect */
        bool next;     /* the entry that boots next */
        bool is_default; /* the entry that boots by default */
} StatusEntry;

typedef struct Status {
        StatusEntry *entries;
        size_t n_entries;
        size_t next;             /* index of the entry that boots next; SIZE_MAX when none can be told */
        const char *next_source; /* what decided it (static string) */
        size_t default_entry;    /* SIZE_MAX when none */
        const char *default_source;
        const char *loader;      /* bootspec_loader_to_string() */
        bool ostree;             /* ostree/bootc-managed: apply refuses, status reads */
        char *ostree_why;
        BootSpec spec;           /* the model the view is made from: every fact with its file */
        char *grub_cfg;          /* grub.cfg inside the root; NULL when there is none */
        char *grub_cfg_older_than; /* a GRUB defaults file newer than grub.cfg; NULL when fresh */
        SyncJudge *judge;        /* borrowed from status_collect()'s caller: whether a line carries the profile */
} Status;

/* The Type #1 entry (ids: file names without ".conf", as bls_find_entries() gives them) that
 * boots by default by the model's selection (EFI LoaderEntryDefault, loader.conf, GRUB's
 * default and saved_entry; one-shot choices aside): what `apply --entries default` rewrites.
 * -ENOENT (logged) when the default is not one of them (a UKI, GRUB's own menu). */
int status_default_entry(const Root *root, const char * const *ids, size_t n, size_t *ret);
/* The same on a boot configuration already loaded (apply loads it once for all its steps). */
int status_default_entry_in(const BootSpec *b, const Root *root, const char * const *ids, size_t n, size_t *ret);

/* Reads the model under root and judges each entry with sync_judge_carries(judge, ...). wanted may be
 * NULL to only list the entries and the next one (nothing carries anything then). Errors are logged. */
int status_collect(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, Status *ret);
void status_done(Status *s);

/* grub.cfg (inside the root) and, when a GRUB defaults file is newer than it, that file. 0 when
 * there is no grub.cfg (*ret_cfg NULL). */
int status_grub_cfg_stale(const Root *root, char **ret_cfg, char **ret_newer);
