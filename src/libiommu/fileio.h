/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Every host path goes through a root prefix ("/" for the live host, an image or a captured tree
 * otherwise). root_path("/srv/img", "/etc/kernel/cmdline") -> "/srv/img/etc/kernel/cmdline". */
char *root_path(const char *root, const char *path);
bool root_is_host(const char *root);

/* Reads a whole file (at most max bytes; larger is -EFBIG). ret_size may be NULL; the buffer is
 * always NUL-terminated. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* Reads the first line without its newline. */
int read_one_line_file(const char *path, char **ret);
/* Same, for ROOT/path. */
int read_root_file(const char *root, const char *path, size_t max, char **ret, size_t *ret_size);
int read_root_line(const char *root, const char *path, char **ret);

bool root_exists(const char *root, const char *path);

/* Strips leading and trailing whitespace in place. */
char *strstrip(char *s);
