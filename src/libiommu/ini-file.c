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

/* inih's limits (ini.h): lines of INI_MAX_LINE bytes, section names kept to 49 bytes. */
#define PLAIN_LINE_MAX 190U
#define PLAIN_SECTION_MAX 49U

typedef enum PlainLine {
        PLAIN_NOT = -1,
        PLAIN_SKIP,    /* empty or a comment */
        PLAIN_SECTION,
        PLAIN_SETTING,
} PlainLine;

static bool plain_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* n bytes of line (no newline); ret_eq gets where '=' is for a setting. checked: the line was
 * found plain already, only its kind and '=' are wanted. */
static PlainLine plain_line(const char *line, size_t n, bool checked, size_t *ret_eq) {
        unsigned char bad = 0;
        size_t k;

        if (n >= PLAIN_LINE_MAX)
                return PLAIN_NOT;
        if (n == 0 || line[0] == '#' || line[0] == ';')
                return PLAIN_SKIP;
        if (checked) {
                if (line[0] == '[')
                        return PLAIN_SECTION;
                *ret_eq = (const char *) memchr(line, '=', n) - line;
                return PLAIN_SETTING;
        }
        /* Printable ASCII only; no early exit, so that the compiler can do it 16 bytes at a time. */
        for (size_t i = 0; i < n; i++)
                bad |= (unsigned char) ((unsigned char) line[i] - 0x20) > 0x5e;
        if (bad)
                return PLAIN_NOT;
        if (line[0] == '[') {
                if (n < 3 || n - 2 > PLAIN_SECTION_MAX || line[n - 1] != ']')
                        return PLAIN_NOT;
                for (size_t i = 1; i < n - 1; i++)
                        if (!plain_name_char(line[i]))
                                return PLAIN_NOT;
                return PLAIN_SECTION;
        }
        for (k = 0; k < n && plain_name_char(line[k]); k++)
                ;
        if (k == 0 || k == n || line[k] != '=')
                return PLAIN_NOT;
        /* inih strips blanks around the value and cuts it at a ';' after a blank. */
        if (k + 1 < n && (line[k + 1] == ' ' || line[n - 1] == ' ' || memchr(line + k + 1, ';', n - k - 1)))
                return PLAIN_NOT;
        *ret_eq = k;
        return PLAIN_SETTING;
}

int ini_file_parse_plain(IniFile *ini, char *text, size_t size, ini_handler handler, void *user) {
        char section[PLAIN_SECTION_MAX + 1] = "";
        const char *end = text + size;
        unsigned line = 0, error_line = 0;
        size_t eq;

        /* Everything is checked before the handler sees anything: a text is read one way or the other. */
        for (const char *l = text; l < end;) {
                const char *nl = memchr(l, '\n', end - l), *e = nl ?: end;

                if (plain_line(l, e - l, false, &eq) == PLAIN_NOT)
                        return 0;
                l = e + 1;
        }
        for (char *l = text; l < (char *) end;) {
                char *nl = memchr(l, '\n', (char *) end - l), *e = nl ?: (char *) end;
                PlainLine t = plain_line(l, e - l, true, &eq);

                ini->line = ++line;
                *e = '\0'; /* at end, the NUL that terminates text */
                if (t == PLAIN_SECTION) {
                        ini->section_line = line;
                        memcpy(section, l + 1, e - l - 2);
                        section[e - l - 2] = '\0';
                } else if (t == PLAIN_SETTING) {
                        l[eq] = '\0';
                        if (!handler(user, section, l, l + eq + 1) && error_line == 0)
                                error_line = line;
                }
                l = e + 1;
        }
        if (error_line > 0) {
                /* What inih returns for a handler that says 0, reported as ini_file_parse() does. */
                log_error("%s:%u: syntax error: expected [Section], Key=Value, or a comment", ini->path, error_line);
                if (ini->error == 0)
                        ini->error = -EINVAL;
        }
        return 1;
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
        if (!ini->inih_only && ini_file_parse_plain(ini, text, size, handler, user) > 0)
                return ini->error;
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
