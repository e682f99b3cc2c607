/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include "macro.h"

/* The confined resolver. A root ("/" for the live host, an image or a captured tree otherwise)
 * confines: every path under it is resolved one component at a time inside it, as the kernel's
 * openat2(RESOLVE_IN_ROOT) does and systemd's chase() does, so an absolute symlink names a path of
 * the root, a relative one and ".." stop at the root, and nothing under the root can make us read
 * or write a file outside it. The host takes the same path with root "/". Image trees are
 * untrusted input: readers open regular files only (never a FIFO, a device or a directory), with
 * O_NONBLOCK, and bounded in size. */

typedef enum ChaseFlags {
        CHASE_NONEXISTENT = 1 << 0, /* a missing tail is fine: returned as written, ".." clamped */
        CHASE_NOFOLLOW = 1 << 1,    /* do not follow a symlink in the last component */
        CHASE_MKDIR = 1 << 2,       /* create missing components as directories (0755) */
} ChaseFlags;

bool root_is_host(const char *root);

/* Resolves path under root. ret_host (may be NULL) gets the path on this machine, ret_rel (may be
 * NULL) the path inside the root ("/boot/loader/entries/x.conf"); every component that exists in
 * either is a real directory or the final file, no symlink. -ENOENT when a component is missing
 * (unless CHASE_NONEXISTENT), -ENOTDIR, -ELOOP after 40 symlinks. */
int chase_root(const char *root, const char *path, ChaseFlags flags, char **ret_host, char **ret_rel);

/* The same as a string: chase_root(..., CHASE_NONEXISTENT, ...); NULL (errno set) when the path
 * does not resolve. Kept for the callers that build a path to report or to hand to the writer. */
char *root_path(const char *root, const char *path);

/* Opens ROOT/path with open_flags (O_CLOEXEC is added), resolved inside the root: openat2()
 * with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or the component walk above where openat2() is
 * missing or filtered (ENOSYS, EPERM under seccomp). O_CREAT creates the last component only. */
int root_open(const char *root, const char *path, int open_flags, int *ret_fd);
/* Opens the directory ROOT/path for reading entries. -ENOENT when it is missing. */
int root_opendir(const char *root, const char *path, DIR **ret);

/* Reads the whole of an open regular file (at most max bytes; more is -EFBIG). -EISDIR for a
 * directory, -EBADFD for a FIFO, socket or device. The buffer is NUL-terminated for convenience,
 * but it is length-delimited: ret_size gives its length and may be NULL only for callers that
 * refuse a NUL byte themselves (see data_check_nul()). */
int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size);
/* Reads a whole file named by a path on this machine (a user's argument): the same rules. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* Reads the first line without its newline. */
int read_one_line_file(const char *path, char **ret);
/* Same, for ROOT/path, resolved inside the root. */
int read_root_file(const char *root, const char *path, size_t max, char **ret, size_t *ret_size);
int read_root_line(const char *root, const char *path, char **ret);

bool root_exists(const char *root, const char *path);

/* -EBADMSG when data holds a NUL byte; *ret_offset (may be NULL) gets its offset. File data is
 * length-delimited, never a C string: a parser that works on C strings must check first. */
int data_check_nul(const char *data, size_t size, size_t *ret_offset);

/* read_root_file() for a text file that a parser reads: logs, naming the file (ROOT/path), every
 * error but -ENOENT (returned quietly: a missing file is the caller's to judge), and refuses a NUL
 * byte (-EBADMSG, with its offset) so that no byte of the file is lost to a C string. */
int read_root_text_and_warn(const char *root, const char *path, size_t max, char **ret, size_t *ret_size);

/* The name of ROOT/path for messages ("/srv/img/etc/default/grub"; "/etc/default/grub" on the host). */
char *root_display(const char *root, const char *path);

/* Strips leading and trailing whitespace in place. */
char *strstrip(char *s);
