/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Replacing files so that a reader never sees a half-written one: the new contents go to a dot file
 * in the same directory (".NAME.XXXXXX": tools that scan a directory, such as node-feature-discovery
 * and node_exporter's textfile collector, skip dot files or names without their suffix), which is
 * written, fsync()ed and then renamed over NAME; the directory is fsync()ed last, so after a crash
 * the path holds either the old or the new contents. On failure the temporary file is removed. */

typedef enum WriteFileFlags {
        WRITE_FILE_MKDIR_PARENTS = 1 << 0, /* create missing parent directories (0755) */
} WriteFileFlags;

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, WriteFileFlags flags);

/* Creates every missing directory above path (not path itself), like "mkdir -p $(dirname path)". */
int mkdir_parents(const char *path, mode_t mode);
