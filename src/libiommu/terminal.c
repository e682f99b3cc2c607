/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "terminal.h"

/* 1 on, 0 off, -1 when the value means nothing (then the other rules decide). */
static int parse_systemd_colors(const char *s) {
        static const char * const on[] = { "1", "yes", "y", "true", "t", "on", "16", "256", "24bit" };
        static const char * const off[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(on); i++)
                if (streq(s, on[i]))
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(off); i++)
                if (streq(s, off[i]))
                        return 0;
        return -1;
}

bool colors_decide(const char *systemd_colors, const char *no_color, const char *term, bool tty) {
        if (systemd_colors) {
                int r = parse_systemd_colors(systemd_colors);
                if (r >= 0)
                        return r;
        }
        if (no_color)
                return false;
        if (!tty || !term || streq(term, "dumb"))
                return false;
        return true;
}

bool colors_enabled(FILE *f) {
        return colors_decide(getenv("SYSTEMD_COLORS"), getenv("NO_COLOR"), getenv("TERM"), isatty(fileno(f)) > 0);
}
