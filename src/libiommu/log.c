/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "log.h"

static int max_level = LOG_LEVEL_INFO;
static bool kmsg_prefix = false;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_kmsg_prefix(bool on) {
        kmsg_prefix = on;
}

int log_internal(int level, int error, const char *fmt, ...) {
        int saved = error < 0 ? -error : error;

        if (level <= max_level) {
                va_list ap;

                if (kmsg_prefix)
                        fprintf(stderr, "<%d>%s: ", level, program_invocation_short_name);
                errno = saved;
                va_start(ap, fmt);
                vfprintf(stderr, fmt, ap);
                va_end(ap);
                fputc('\n', stderr);
        }
        return -saved;
}
