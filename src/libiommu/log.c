/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "escape.h"
#include "log.h"

static int max_level = LOG_LEVEL_INFO;
static bool kmsg_prefix = false;
static LogHook hook = NULL;
static void *hook_userdata = NULL;

void log_set_hook(LogHook h, void *userdata) {
        hook = h;
        hook_userdata = userdata;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char * const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        if (s && s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (int i = 0; s && i < (int) ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return i;
        return -EINVAL;
}

void log_set_kmsg_prefix(bool on) {
        kmsg_prefix = on;
}

int log_internal(int level, int error, const char *fmt, ...) {
        int saved = error < 0 ? -error : error;

        if (hook) {
                _cleanup_free_ char *m = NULL;
                va_list ap;

                errno = saved;
                va_start(ap, fmt);
                if (vasprintf(&m, fmt, ap) < 0)
                        m = NULL;
                va_end(ap);
                hook(level, m ?: "out of memory", hook_userdata);
        }
        if (level <= max_level) {
                _cleanup_free_ char *m = NULL;
                va_list ap;
                int k;

                errno = saved;
                va_start(ap, fmt);
                if (saved == EBADFD && strstr(fmt, "%m")) {
                        /* fileio's refusal of a FIFO, socket or device: strerror() would say "File
                         * descriptor in bad state", which explains nothing. */
                        char f[1024];
                        size_t n = 0;
                        for (const char *s = fmt; *s && n < sizeof(f) - 64; s++)
                                if (s[0] == '%' && s[1] == 'm') {
                                        n += (size_t) snprintf(f + n, sizeof(f) - n, "not a regular file (a FIFO, socket or device), refusing to read it");
                                        s++;
                                } else
                                        f[n++] = *s;
                        f[n] = '\0';
                        /* fmt with one %m replaced by text: the same arguments, checked at the call. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                        k = vasprintf(&m, f, ap);
#pragma GCC diagnostic pop
                } else
                        k = vasprintf(&m, fmt, ap);
                va_end(ap);
                if (k < 0)
                        m = NULL;
                if (kmsg_prefix)
                        fprintf(stderr, "<%d>%s: ", level, program_invocation_short_name);
                /* Messages name files and quote what they hold: shown by the one escaping rule
                 * (escape.h), so a crafted file name cannot drive the terminal. */
                fputs_escaped(m ?: "(out of memory formatting a message)", stderr);
                fputc('\n', stderr);
        }
        return -saved;
}
