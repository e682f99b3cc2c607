/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bootspec.h"
#include "changeset.h"
#include "cmdline.h"
#include "fileio.h"
#include "plan.h"

/* Boot Loader Specification Type #1 entries, $BOOT/loader/entries/ *.conf, with $BOOT found the
 * way bootctl does (/boot, /efi, /boot/efi), and the GRUB environment block that RHEL 8 style
 * entries ("options $kernelopts") read their options from. */

typedef struct BlsEntry {
        char *path; /* host path */
        char *id;   /* file name without ".conf" */
        unsigned dir; /* which of boot_partition_dirs[] holds it */
        bool has_key; /* sort_entries(): key is the id's number where the ids first differ */
        uint64_t key;
} BlsEntry;

/* Pure: rewrites every "options" line of an entry. The lines are concatenated by boot loaders,
 * so owned tokens are removed from all of them and the wanted ones appended to the last (or a
 * new "options" line is added). Every other line is kept byte for byte. An entry whose options
 * name "$kernelopts" gets its wanted tokens from the GRUB environment instead: only owned tokens
 * written into the entry itself are removed, and *ret_kernelopts is set. */
int bls_entry_rewrite(const char *text, char * const *owned, const Cmdline *wanted, SyncJudge *judge, char **ret,
                      bool *ret_kernelopts);
/* Pure: the "options" lines joined by spaces (NULL when there is none). */
int bls_entry_options(const char *text, char **ret);
/* Pure: each "options" line's value and its line number (1-based), for readers that report
 * file:line (lint). The one reader of the key: apply, verify and lint all see the same lines. */
int bls_entry_options_lines(const char *text, char ***ret_values, unsigned **ret_lines, size_t *ret_n);
/* Pure: the entry's "version" (the kernel release it boots; NULL when there is none): lint and
 * status judge the entry with that kernel (kernel_info_for_entry()). */
int bls_entry_version(const char *text, char **ret);

/* Where $BOOT and the ESP can be mounted, in the order every reader searches them ("/boot",
 * "/efi", "/boot/efi"): the one list, for entries, loader.conf, UKIs and systemd-boot. */
extern const char * const boot_partition_dirs[3];

/* Every entry under every $BOOT, newest first (by version sort of the id). */
int bls_find_entries(const Root *root, BlsEntry **ret, size_t *ret_n);
/* The same, and the entries directories opened inside the root (ret_dirs[BlsEntry.dir]; NULL
 * where not listed), to read each entry relative to its directory's descriptor. */
int bls_find_entries_in(const Root *root, DIR *ret_dirs[3], BlsEntry **ret, size_t *ret_n);
void bls_entries_free(BlsEntry *e, size_t n);
bool boot_bls_detect(const Root *root);

/* Pure GRUB environment block reading: the value of key, or -ENOENT. */
int grubenv_get(const char *text, const char *key, char **ret);

/* Adds the changes of the selected entries (selector: NULL or "all", "default", or a glob over
 * the entry file names) and, for $kernelopts entries, of the GRUB environment block (rewritten by
 * grub2-editenv/grub-editenv on a scratch copy) to cs. ret_default_options, when not NULL, gets
 * the resulting options of the default entry (for seeding /etc/kernel/cmdline), or NULL. */
/* spec: the boot configuration bootspec_load() read (for the default entry), NULL to read it here. */
int boot_bls_plan(const Root *root, const BootSpec *spec, const char *selector, char * const *owned, const Cmdline *wanted,
                  SyncJudge *judge, ChangeSet *cs, char **ret_default_options);
