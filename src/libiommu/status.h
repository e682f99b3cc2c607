/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "plan.h"

/* What the next boot will run: every entry or file iommuctl writes, whether each carries the
 * profile's effect, and which entry the boot loader picks next. The choice of entry and the
 * grub.cfg reader are pure; status_collect() reads the files under the root. The EFI variables
 * are read by the caller (libiommu-host) and passed in, so the generator's library stays without
 * libefivar. */

typedef struct NextBootHints {
        const char *oneshot;             /* systemd-boot: EFI LoaderEntryOneShot */
        const char *efi_default;         /* systemd-boot: EFI LoaderEntryDefault */
        const char *loader_conf_default; /* systemd-boot: loader.conf "default" (a glob) */
        const char *grub_next_entry;     /* GRUB: grubenv next_entry (one boot) */
        const char *grub_saved_entry;    /* GRUB: grubenv saved_entry */
        const char *grub_default;        /* GRUB: GRUB_DEFAULT (index, id, title, "saved") */
} NextBootHints;

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
        char *path;    /* host path */
        char *id;      /* entry id or menuentry title; NULL for files */
        char *options; /* the command line it gives the kernel; NULL when it has none */
        bool carries;  /* carries the profile's effect */
        bool next;     /* the entry that boots next */
} StatusEntry;

typedef struct Status {
        StatusEntry *entries;
        size_t n_entries;
        size_t next;             /* index of the entry that boots next; SIZE_MAX when none can be told */
        const char *next_source; /* what decided it (static string) */
        char *grub_cfg;          /* host path of grub.cfg; NULL when there is none */
        char *grub_cfg_older_than; /* a GRUB defaults file newer than grub.cfg (host path); NULL when fresh */
        SyncJudge *judge;        /* borrowed from status_collect()'s caller: whether a line carries the profile */
} Status;

typedef struct StatusCandidate {
        const char *id;    /* BLS entry id, UKI file name, or menuentry id */
        const char *title; /* menuentry title, or NULL */
        unsigned top;      /* menuentries: index among the top-level menu items */
} StatusCandidate;

/* Pure: which candidate (newest first) boots next. Hints are tried in the order the boot loaders
 * use them (one-shot before default); an id matches exactly, with ".conf" appended, or as the
 * loader.conf glob; GRUB_DEFAULT may be an index ("1", "1>2") or a title or id ("A>B": B).
 * Falls back to the newest (0). ret_source names the hint that decided. -ENOENT when n == 0. */
int status_pick_next(const StatusCandidate *c, size_t n, const NextBootHints *h, size_t *ret, const char **ret_source);

/* The BLS entry (ids newest first) that boots by default, picked as status_pick_next() does
 * from loader.conf "default", grubenv saved_entry and GRUB_DEFAULT under the root; one-shot
 * choices (LoaderEntryOneShot, next_entry) aside. -ENOENT when n == 0. */
int status_default_entry(const char *root, const char * const *ids, size_t n, size_t *ret);

typedef struct GrubMenuEntry {
        char *title;
        char *id;      /* $menuentry_id_option, or NULL */
        char *options; /* the arguments of its linux line after the kernel, GRUB variables dropped */
        unsigned top;  /* index among the top-level menu items (submenus count as one) */
} GrubMenuEntry;

/* Pure: the menuentries of a grub.cfg with a linux line, in file order. */
int grub_cfg_parse(const char *text, GrubMenuEntry **ret, size_t *ret_n);
void grub_menu_entries_free(GrubMenuEntry *e, size_t n);

/* Reads everything under root and judges each entry with sync_judge_carries(judge, ...). wanted may be NULL to
 * only find the entries and the next one (nothing carries anything then). */
int status_collect(const char *root, const NextBootHints *efi, const char *profile, char * const *owned, const Cmdline *wanted,
                   SyncJudge *judge, Status *ret);
void status_done(Status *s);

/* grub.cfg (host path) and, when a GRUB defaults file is newer than it, that file. 0 when there is
 * no grub.cfg (*ret_cfg NULL). */
int status_grub_cfg_stale(const char *root, char **ret_cfg, char **ret_newer);
