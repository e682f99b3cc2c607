/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "changeset.h"
#include "cmdline.h"
#include "plan.h"

/* GRUB defaults: /etc/default/grub and, on Debian-family systems, /etc/default/grub.d/ *.cfg.
 * These are shell fragments sourced by grub-mkconfig. Only plain assignments of
 * GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT are rewritten (single and double quotes,
 * backslash escapes and continuations read the way sh does, a reference to the variable being
 * assigned kept); any other use of those variables (command substitution, other variables, an
 * assignment inside if/case/loops or joined with ';') is refused with file:line, since no
 * rewrite of it could be known to be right. */

#define GRUB_DEFAULTS "/etc/default/grub"
#define GRUB_DROPIN_DIR "/etc/default/grub.d"
#define GRUB_DROPIN "/etc/default/grub.d/60-iommu.cfg"

typedef struct GrubRewriteResult {
        char *text;            /* the new contents (equal to the input when nothing changes) */
        bool sets_linux;       /* assigns GRUB_CMDLINE_LINUX without referring to its old value */
        unsigned sets_linux_line;
} GrubRewriteResult;

/* Pure: removes owned tokens from every GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT
 * assignment; with append, merges it into the last GRUB_CMDLINE_LINUX assignment (or adds one).
 * path is for messages. Errors are logged with path:line and returned as -EINVAL. */
int grub_defaults_rewrite(const char *path, const char *text, char * const *owned, const Cmdline *append, SyncJudge *judge,
                          GrubRewriteResult *ret);
void grub_rewrite_result_done(GrubRewriteResult *r);

/* Pure: the decoded values of the GRUB_CMDLINE_LINUX[_DEFAULT] assignments (the self-reference
 * dropped) with their line numbers, by the same lexer apply uses, so lint reads what apply
 * rewrites (continued lines included). Errors are logged with path:line. */
int grub_defaults_values(const char *path, const char *text, char ***ret_values, unsigned **ret_lines, size_t *ret_n);

/* The drop-in written on Debian-family systems. */
int grub_dropin_contents(const char *profile, const Cmdline *wanted, char **ret);

typedef struct GrubPlan {
        bool needed;       /* the GRUB defaults are there */
        char *tool;        /* update-grub, grub-mkconfig or grub2-mkconfig, resolved in $PATH */
        char *output;      /* grub.cfg path for *-mkconfig; NULL for update-grub */
} GrubPlan;

/* Adds the changes of the GRUB defaults to cs. */
int boot_grub_plan(const char *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *profile,
                   ChangeSet *cs);
/* Finds the tool that regenerates grub.cfg; -ENOENT (logged) when none is installed. */
int boot_grub_find_regenerate(const char *root, GrubPlan *ret);
/* Runs it, stdout and stderr to our stderr. */
int boot_grub_regenerate(const GrubPlan *p);
void grub_plan_done(GrubPlan *p);

bool boot_grub_detect(const char *root);
/* Debian family: grub-mkconfig sources /etc/default/grub.d. */
bool boot_grub_is_debian(const char *root);

