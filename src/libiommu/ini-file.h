/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <ini.h>

#include "fileio.h"
#include "macro.h"

/* inih with line numbers: handlers read IniFile.line to name file:line in their messages, and
 * lines longer than inih's buffer (which it would split silently) are refused. */

typedef struct IniFile {
        const char *path;      /* the file's name, in messages (and to read it, without root) */
        const Root *root;      /* when set, the file read is root_file inside this root, */
        const char *root_file; /* through the handle: path only names it */
        unsigned line;
        unsigned section_line; /* where the current [Section] header is */
        unsigned section_reported; /* section_line of the last unknown section reported */
        FILE *f;
        int error; /* set by the reader and by handlers: the first error wins */
        bool inih_only; /* for tests: never the plain reader, always inih */
} IniFile;

/* Logs "path:line: message" and records -EINVAL in ini->error. */
void ini_file_error(IniFile *ini, const char *fmt, ...) _printf_(2, 3);
/* Same, naming the line of the current section header. */
void ini_file_section_error(IniFile *ini, const char *section, const char *valid);

/* Parses ini->path. -ENOENT (not logged) when it does not exist; other open errors are logged.
 * Syntax errors are logged with file:line. Returns ini->error or 0. */
int ini_file_parse(IniFile *ini, ini_handler handler, void *user);

/* A text is plain when every line is empty, a comment (';' or '#' first), "[Name]" or "Key=Value"
 * with nothing inih would strip or split (printable ASCII, no blank at either end of the line or
 * around '=', no ';' in a value, short lines). inih calls the handler for such a text exactly as
 * ini_file_parse_plain() does, with the same IniFile.line, without copying each line through a
 * FILE: ini_file_parse() reads plain texts so (the generator loads iommu.conf at every boot).
 * Returns 0 when text (size bytes, NUL-terminated, modified in place) is not plain and nothing was
 * handed to the handler, 1 when it was read. */
int ini_file_parse_plain(IniFile *ini, char *text, size_t size, ini_handler handler, void *user);
