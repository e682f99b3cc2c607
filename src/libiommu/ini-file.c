/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#define INI_FILE_MAX (1024U * 1024U)

#include "fileio.h"
#include "ini-file.h"
#include "log.h"

void ini_file_error(IniFile *ini, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        log_error("%s:%u: %s", ini->path, ini->line, m ?: "out of memory");
        if (ini->error == 0)
                ini->error = m ? -EINVAL : -ENOMEM;
}

void ini_file_section_error(IniFile *ini, const char *section, const char *valid) {
        unsigned line = ini->line;

        /* inih calls us once per key of the section: report the header once. */
        if (ini->section_reported == ini->section_line)
                return;
        ini->section_reported = ini->section_line;
        ini->line = ini->section_line;
        ini_file_error(ini, "unknown section [%s]; valid: %s", section, valid);
        ini->line = line;
}

static char *counting_reader(char *str, int num, void *stream) {
        IniFile *ini = stream;
        size_t n;

        if (!fgets(str, num, ini->f))
                return NULL;
        ini->line++;
        if (str[strspn(str, " \t")] == '[')
                ini->section_line = ini->line;
        n = strlen(str);
        if (n == (size_t) num - 1 && str[n - 1] != '\n' && !feof(ini->f)) {
                int c;
                ini_file_error(ini, "line longer than %d characters", num - 2);
                while ((c = fgetc(ini->f)) != EOF && c != '\n')
                        ;
                strcpy(str, "#\n");
        }
        return str;
}

int ini_file_parse(IniFile *ini, ini_handler handler, void *user) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size = 0, nul;
        int r;

        /* Read whole, as a regular file of bounded size (a FIFO or /dev/zero in place of a
         * configuration file must not hang or exhaust us), then parsed from memory. */
        r = ini->root ? read_root_file(ini->root, ini->root_file, INI_FILE_MAX, &text, &size)
                      : read_full_file(ini->path, INI_FILE_MAX, &text, &size);
        if (r == -ENOENT)
                return -ENOENT;
        if (r == -EFBIG)
                return log_error_errno(r, "Failed to read %s: larger than %u bytes.", ini->path, INI_FILE_MAX);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", ini->path);
        if (data_check_nul(text, size, &nul) < 0) {
                unsigned line = 1;
                for (size_t i = 0; i < nul; i++)
                        line += text[i] == '\n';
                return log_error_errno(-EBADMSG, "%s:%u: NUL byte (offset %zu); not a text file.", ini->path, line, nul);
        }
        if (size == 0)
                return ini->error; /* nothing to parse */
        f = fmemopen(text, size, "r");
        if (!f)
                return log_error_errno(-errno, "Failed to open %s: %m", ini->path);
        ini->f = f;
        ini->line = 0;
        r = ini_parse_stream(counting_reader, ini, handler, user);
        ini->f = NULL;
        if (r > 0) {
                /* Our handlers never return 0, so a positive value is inih's own syntax error. */
                log_error("%s:%d: syntax error: expected [Section], Key=Value, or a comment", ini->path, r);
                if (ini->error == 0)
                        ini->error = -EINVAL;
        } else if (r == -2 && ini->error == 0)
                ini->error = -ENOMEM;
        return ini->error;
}
