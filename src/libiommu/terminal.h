/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Colour for people on a terminal, decided as systemd decides it (get_color_mode() in
 * terminal-util.c): SYSTEMD_COLORS, when it parses, wins (a boolean, or 16, 256, 24bit for on);
 * then NO_COLOR (https://no-color.org), set to anything, turns colour off; otherwise colour is on
 * only on a terminal that is not TERM=dumb. Pure: the caller passes the environment. */
bool colors_decide(const char *systemd_colors, const char *no_color, const char *term, bool tty);
/* The same for f, from this process's environment. */
bool colors_enabled(FILE *f);

#define ANSI_GREEN "\x1B[0;32m"
#define ANSI_YELLOW "\x1B[0;33m"
#define ANSI_RED "\x1B[0;1;31m"
#define ANSI_NORMAL "\x1B[0m"
