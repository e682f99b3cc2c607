/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* One rule for text from the tree (file and directory names, iommu.conf keys and values, boot
 * file contents, /proc/cmdline, kernel log lines) printed for people, on stdout and in log
 * messages alike: valid UTF-8 is kept as it is; control characters (C0 below 0x20, DEL 0x7f, and
 * the C1 controls U+0080-U+009F) and every byte that is not part of valid UTF-8 are shown as
 * "\xNN", lower-case hex, one per byte. So a crafted name cannot move the cursor, retitle the
 * terminal or hide what follows, and the text stays valid UTF-8. A backslash is kept as it is
 * (GRUB values and paths hold them): the display is not meant to be decoded back. JSON has its
 * own rule (json.h). */

/* The length of the valid UTF-8 sequence that starts at s, of which left bytes may be read (1 to
 * 4; 1 for ASCII), or 0 when the byte at s does not start one (a stray continuation byte, an
 * overlong form, a surrogate, a value above U+10FFFF, or a sequence cut short). */
size_t utf8_sequence_length(const char *s, size_t left);
/* The code point of a sequence utf8_sequence_length() accepted. */
unsigned utf8_decode(const char *s, size_t len);
/* Whether s is valid UTF-8 throughout. */
bool utf8_is_valid(const char *s);

/* s escaped by the rule above, newly allocated (NULL on OOM). Idempotent: its output contains
 * nothing the rule escapes. */
char *escape_text(const char *s);
/* Writes s (n bytes, a NUL among them escaped too; or up to its NUL) escaped by the rule above to f. */
void fwrite_escaped(const char *s, size_t n, FILE *f);
void fputs_escaped(const char *s, FILE *f);

/* The escaped copies made for one print statement or function, freed together when it ends, so
 * a print site only wraps its arguments: printf("%s\n", escaped(&e, entry->path)). */
typedef struct EscapeBuffer {
        char **items;
        size_t n;
} EscapeBuffer;
void escape_buffer_done(EscapeBuffer *b);
#define _cleanup_escape_buffer_ _cleanup_(escape_buffer_done)
/* s escaped (escape_text()), kept in b until escape_buffer_done(); NULL for NULL (strna() and
 * "%s" of NULL keep working), "(out of memory)" when the copy cannot be made. */
const char *escaped(EscapeBuffer *b, const char *s);
