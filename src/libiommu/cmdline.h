/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* The kernel command-line engine: pure code, no I/O.
 *
 * Tokenizing follows the kernel's own lib/cmdline.c:next_arg() and kernel/params.c:parse_args():
 * tokens are separated by whitespace, double quotes may enclose whitespace, a bare "--" ends the
 * kernel's parameters and everything after it belongs to init. Parameter names treat '-' and '_'
 * alike (kernel/params.c:parameq()). */

/* COMMAND_LINE_SIZE is 2048 on x86 and arm64, including the terminating NUL. */
#define COMMAND_LINE_MAX 2047

typedef struct CmdlineToken {
        char *text;  /* the token exactly as written, quotes included */
        char *key;   /* parameter name, quotes removed, '-' read as '_' */
        char *value; /* value with its quotes removed; NULL when there is no '=' */
        size_t start, end; /* where text stands in the string cmdline_parse() read */
} CmdlineToken;

typedef struct Cmdline {
        CmdlineToken *tokens;
        size_t n_tokens;
        char *init_args; /* what follows a bare "--", verbatim; NULL when there is no "--" */
        size_t init_start; /* where that "--" starts in the string cmdline_parse() read */
} Cmdline;

int cmdline_parse(const char *s, Cmdline **ret);
Cmdline *cmdline_free(Cmdline *c);
static inline void cmdline_freep(Cmdline **c) {
        cmdline_free(*c);
}
#define _cleanup_cmdline_ _cleanup_(cmdline_freep)

/* Tokens joined by single spaces, then " -- " and the init arguments if there were any. */
char *cmdline_to_string(const Cmdline *c);

/* Writes the normalized form of a parameter name ('-' becomes '_'). */
int cmdline_normalize_key(const char *key, char **ret);
bool cmdline_key_equal(const char *a, const char *b);
bool cmdline_token_equal(const CmdlineToken *a, const CmdlineToken *b);

/* The last occurrence wins for the parameters this project deals with. */
const CmdlineToken *cmdline_find_last(const Cmdline *c, const char *key);
bool cmdline_has_key(const Cmdline *c, const char *key);

/* Appends a copy of every token of src (init arguments are not touched). */
int cmdline_append(Cmdline *c, const Cmdline *src);

bool cmdline_contains_token(const Cmdline *c, const CmdlineToken *t);

/* Ownership. An owned_keys entry "KEY" owns every KEY= token whole. An entry "KEY=OPTION" owns only
 * the comma-separated items OPTION and OPTION=... inside KEY= tokens: pci= is one parameter with
 * many options (drivers/pci/pci.c:pci_setup() splits its value at ','), of which iommuctl owns
 * disable_acs_redir= and config_acs= and never the operator's others (pci=noaer,realloc=on). A key
 * with option owners is never owned whole. */
typedef enum CmdlineOwnership {
        CMDLINE_NOT_OWNED,
        CMDLINE_OWNED_PART,  /* some options of the token are owned: rewritten without them */
        CMDLINE_OWNED_WHOLE, /* the token goes (its key is owned, or all its options are) */
} CmdlineOwnership;
CmdlineOwnership cmdline_token_ownership(const CmdlineToken *t, char * const *owned_keys);
/* Whether owned_keys has "KEY=OPTION" entries for key. */
bool cmdline_key_has_owned_options(const char *key, char * const *owned_keys);
/* The token text without its owned options ("pci=noaer" of "pci=noaer,disable_acs_redir=X"), for a
 * CMDLINE_OWNED_PART token; a token quoted whole stays quoted whole. */
int cmdline_token_strip_owned(const CmdlineToken *t, char * const *owned_keys, char **ret);
/* What a line says, in units ownership is decided by: a token ("key=value", key normalized) for
 * keys owned whole or not at all, one "key=OPTION..." per option for keys with option owners.
 * only_owned: just the owned units. Sorted is not promised; duplicates are kept once. */
int cmdline_units(const Cmdline *c, char * const *owned_keys, bool only_owned, char ***ret);
/* c without its owned units: tokens owned whole dropped, tokens owned in part rewritten without
 * their owned options, every other token byte for byte and in order (init arguments kept). */
int cmdline_strip_owned(const Cmdline *c, char * const *owned_keys, Cmdline **ret);

/* Whether the owned tokens of current and the tokens of wanted are the same set (same key, same
 * value; '-' and '_' alike; in any order). Not whether a line carries a profile: that judgement
 * (which also accepts owned tokens that change nothing) is sync_judge_carries() in plan.h. */
bool cmdline_in_sync(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted);

/* The first token with an unbalanced double quote (the kernel reads it to the end of the line). */
const CmdlineToken *cmdline_find_unterminated(const Cmdline *c);

/* Removes every token whose key is owned, then appends wanted's tokens before any "--". Every
 * other token is kept byte for byte and in order. A line already in sync is returned unchanged,
 * so merging is idempotent and never reorders a line that needs nothing. -E2BIG when the result
 * is longer than the kernel accepts, -EBADMSG when a line has an unterminated quote. */
int cmdline_merge(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted, Cmdline **ret);

/* The byte edits that make line carry wanted: the owned tokens' byte ranges cut out (with the
 * blanks that separated them), wanted's tokens inserted in one piece before any "--" or else after
 * the last byte that is not ASCII whitespace. Every other byte stays as written, 0xA0 included,
 * even where the kernel splits there. Tokens are judged by cmdline_parse(). segment_starts (sorted,
 * may be NULL) are offsets where a joined line begins (BLS "options" lines joined by one space):
 * a token cut at such a start takes the blanks after it, not the joining space. */
typedef struct CmdlineSplice {
        size_t *cut_start, *cut_end; /* ascending, not overlapping */
        size_t n_cuts;
        size_t insert_at;
        char *insert; /* NULL when nothing is inserted */
} CmdlineSplice;
void cmdline_splice_done(CmdlineSplice *s);
/* 0 with *ret all empty when line is in sync already. -EBADMSG for an unterminated quote. */
int cmdline_splice_plan(const char *line, const size_t *segment_starts, size_t n_segments, char * const *owned_keys,
                        const Cmdline *wanted, CmdlineSplice *ret);
/* Applies the edits that fall in [from, to) of the planned line to that part of it. */
int cmdline_splice_apply(const char *line, size_t from, size_t to, const CmdlineSplice *sp, char **ret);
/* Both for one string: line as it should be (a copy of it when in sync). -E2BIG when the result is
 * longer than the kernel accepts. */
int cmdline_splice(const char *line, char * const *owned_keys, const Cmdline *wanted, char **ret);

/* Profile tokens end up in GRUB and shell files: refuse anything but a conservative set of
 * characters. Returns 0, or -EINVAL and the offending character in *ret_bad. */
int cmdline_token_check_safe(const char *text, char *ret_bad);
/* Same for every token of a parsed line (also refuses "--" and init arguments). */
int cmdline_check_safe(const Cmdline *c, const char **ret_token, char *ret_bad);
