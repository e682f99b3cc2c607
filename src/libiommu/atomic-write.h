/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* The only way this project writes a file it cares about (boot files, journals, the files it
 * publishes for node-feature-discovery and node_exporter): the new contents go to a temporary
 * dot file (".#NAME.XXXXXX", which directory scanners skip) in the same directory, which is fsynced, renamed over the
 * target, and then the directory is fsynced. A reader (or a crash) sees the old file or the new
 * one, never a truncated or half-written one. On failure the temporary file is removed and the
 * target is untouched.
 *
 * mode, uid and gid are applied to the new file before the rename; pass (uid_t) -1 / (gid_t) -1
 * to keep the writer's. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid);

typedef enum WriteAtomicFlags {
        /* The caller fsyncs the directory itself, once after renaming all the files it holds
         * (the change set writer: one directory fsync per directory, not per file). The new file
         * is not durable before that. */
        WRITE_ATOMIC_NO_DIR_SYNC = 1 << 0,
        /* The contents need not survive a crash, only the name (a marker file whose presence is
         * what counts): no fsync of the file itself. */
        WRITE_ATOMIC_NO_DATA_SYNC = 1 << 1,
} WriteAtomicFlags;
int write_file_atomic_full(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                           WriteAtomicFlags flags);
/* The same for name in the directory dir_fd (the confined writers: dir_fd comes from the root
 * handle's resolver). The temporary file is created O_EXCL|O_NOFOLLOW and renamed with
 * renameat() in dir_fd; dir_fd itself is fsynced (unless WRITE_ATOMIC_NO_DIR_SYNC). */
int write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                         WriteAtomicFlags flags);
/* The same, and the new file gets the extended attributes of xattrs (a blob of xattr-util.h; the
 * old file's, so that replacing a boot file keeps its ACLs, SELinux label and IMA signature)
 * before it is renamed into place. */
int write_file_atomic_at_xattrs(int dir_fd, const char *name, const void *data, size_t size, mode_t mode, uid_t uid,
                                gid_t gid, WriteAtomicFlags flags, const char *xattrs, size_t xattrs_size);

/* Removes a file and fsyncs its directory. A missing file is not an error. */
int unlink_file_durable(const char *path);
int unlink_file_durable_at(int dir_fd, const char *name);

/* fsyncs the directory that holds path. */
int fsync_parent_directory(const char *path);

/* mkdir -p, with mode for the directories it creates; -ENOTDIR when a component is a file. */
int mkdir_parents(const char *path, mode_t mode);
/* The same for the directory that holds path, like "mkdir -p $(dirname path)". */
int mkdir_parents_of(const char *path, mode_t mode);
