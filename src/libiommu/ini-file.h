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
} IniFile;

/* Logs "path:line: message" and records -EINVAL in ini->error. */
void ini_file_error(IniFile *ini, const char *fmt, ...) _printf_(2, 3);
/* Same, naming the line of the current section header. */
void ini_file_section_error(IniFile *ini, const char *section, const char *valid);

/* Parses ini->path. -ENOENT (not logged) when it does not exist; other open errors are logged.
 * Syntax errors are logged with file:line. Returns ini->error or 0. */
int ini_file_parse(IniFile *ini, ini_handler handler, void *user);
