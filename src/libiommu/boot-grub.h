/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "changeset.h"
#include "cmdline.h"
#include "fileio.h"
#include "plan.h"

/* GRUB defaults: /etc/default/grub and, on Debian-family systems, /etc/default/grub.d/ *.cfg.
 * These are shell fragments grub-mkconfig sources (with dash on Debian, bash elsewhere). The file is
 * tokenized the way sh does and followed command by command; only assignments of
 * GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT that surely run are rewritten (quotes,
 * backslashes, continuations read the way sh does, several per line, after export, a reference to
 * the variable being assigned kept). Anything that may set them otherwise (an assignment inside
 * if/case/loops, after && or ||, in a pipeline, subshell or function, read, unset, ${V:=...}),
 * sourcing or eval after the last assignment, and what sh would not parse are refused with
 * file:line. Rewrites splice: only the owned tokens' bytes go, the profile's tokens go in before
 * any " -- ", every other byte of the file stays. tests/integration/test-parsers-shell.py checks
 * all of it against dash and bash. */

#define GRUB_DEFAULTS "/etc/default/grub"
#define GRUB_DROPIN_DIR "/etc/default/grub.d"
#define GRUB_DROPIN "/etc/default/grub.d/60-iommu.cfg"

typedef struct GrubRewriteResult {
        char *text;            /* the new contents (equal to the input when nothing changes) */
        bool sets_linux;       /* assigns GRUB_CMDLINE_LINUX without referring to its old value */
        unsigned sets_linux_line;
        bool linux_dashdash;   /* leaves GRUB_CMDLINE_LINUX holding a " -- " (from a value without one) */
        unsigned linux_dashdash_line;
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

/* Pure: the value name has after the plain assignments of text run in order from prev (NULL:
 * unset), "$name" in a value standing for the value before it, and the line of the last one, by
 * the same lexer; -ENOENT when the text assigns none. Errors are logged with path:line. */
int grub_defaults_value(const char *path, const char *text, const char *name, const char *prev, char **ret,
                        unsigned *ret_line);

/* Pure: the value the variable name (GRUB_CMDLINE_LINUX, GRUB_DEFAULT, any other) has once text has
 * been sourced by sh, starting from initial (NULL: unset), by the same lexer apply uses (an
 * assignment to it that may not run, or anything else that may change it, is refused). -EUCLEAN when
 * the file sources or runs something that may set it (not known from the file alone); errors of
 * the lexer are logged with path:line. */
int grub_defaults_final_value(const char *path, const char *text, const char *name, const char *initial, char **ret);

/* The drop-in written on Debian-family systems. */
int grub_dropin_contents(const char *profile, const Cmdline *wanted, char **ret);

typedef struct GrubPlan {
        bool needed;       /* the GRUB defaults are there */
        char *tool;        /* update-grub, grub-mkconfig or grub2-mkconfig, resolved in $PATH */
        char *output;      /* grub.cfg path for *-mkconfig; NULL for update-grub */
} GrubPlan;

/* Adds the changes of the GRUB defaults to cs. */
int boot_grub_plan(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *profile,
                   ChangeSet *cs);
/* Finds the tool that regenerates grub.cfg; -ENOENT (logged) when none is installed. */
int boot_grub_find_regenerate(const Root *root, GrubPlan *ret);
/* Runs it, stdout and stderr to our stderr. */
int boot_grub_regenerate(const GrubPlan *p);
void grub_plan_done(GrubPlan *p);

bool boot_grub_detect(const Root *root);
/* Debian family: grub-mkconfig sources /etc/default/grub.d. */
bool boot_grub_is_debian(const Root *root);

