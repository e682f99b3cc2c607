/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/stat.h>
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

/* The root handle: opened once per process from --root ("/" on the host) and passed to every
 * reader and writer. Everything under it is opened relative to fd; path is for messages only and
 * is never opened, stat()ed or globbed again (a root path may hold "[", "*" or "?"). fd is -1 when
 * the root does not exist: nothing is under it, and only a writer that creates directories
 * (CHASE_MKDIR) makes it, "mkdir -p" style (the root itself is the caller's, not the tree's). */
typedef struct Root {
        int fd;     /* O_PATH|O_DIRECTORY */
        char *path; /* as given ("/" on the host), for messages only */
        bool walk;  /* IOMMUCTL_NO_OPENAT2=1 when the handle was opened: the component walk only */
} Root;

/* path NULL or "" means "/". -ENOTDIR when it is not a directory. */
int root_open_handle(const char *path, Root **ret);
Root *root_free(Root *root);
static inline void root_freep(Root **root) {
        root_free(*root);
}
#define _cleanup_root_ _cleanup_(root_freep)

bool root_is_host(const Root *root);
/* "" on the host, the root's path otherwise: for messages that print ROOT and a path after it. */
const char *root_prefix(const Root *root);

/* Resolves path under root. ret_rel (may be NULL) gets the path inside the root
 * ("/boot/loader/entries/x.conf"), ret_fd (may be NULL) an O_PATH descriptor of the result (-1 when
 * CHASE_NONEXISTENT stopped at a missing component); every component that exists is a real
 * directory or the final file, no symlink. -ENOENT when a component is missing (unless
 * CHASE_NONEXISTENT), -ENOTDIR, -ELOOP after 40 symlinks. */
int chase_root(const Root *root, const char *path, ChaseFlags flags, char **ret_rel, int *ret_fd);

/* Opens ROOT/path with open_flags (O_CLOEXEC is added), resolved inside the root: openat2()
 * with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or the component walk above where openat2() is
 * missing or filtered (ENOSYS, EPERM under seccomp). O_CREAT creates the last component only. */
int root_open(const Root *root, const char *path, int open_flags, int *ret_fd);
/* Opens path below the directory dir_fd in one openat2() call, with no symlink on the way and
 * nothing above dir_fd (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS); O_CLOEXEC is
 * added. Returns the fd, -EOPNOTSUPP where openat2() is missing, filtered or disabled
 * (IOMMUCTL_NO_OPENAT2=1): the caller then walks the components itself. */
int openat_beneath_nofollow(int dir_fd, const char *path, int open_flags);
/* Opens the directory ROOT/path for reading entries. -ENOENT when it is missing. */
int root_opendir(const Root *root, const char *path, DIR **ret);

/* For a writer: resolves path inside the root (following symlinks, also in the last component,
 * to where they point inside the root), and opens the directory that holds the result
 * (O_RDONLY|O_DIRECTORY: fsync()able), creating missing directories with CHASE_MKDIR. ret_name
 * gets the last component, to use with openat()/renameat()/unlinkat() on ret_dir_fd; ret_rel
 * (may be NULL) the resolved path inside the root. */
int root_open_parent(const Root *root, const char *path, ChaseFlags flags, int *ret_dir_fd, char **ret_name,
                     char **ret_rel);

/* Writes ROOT/path atomically (mode 0644, missing directories made inside the root), relative to
 * the directory's descriptor: write_file_atomic_at() in root_open_parent()'s directory. */
int write_root_file_atomic(const Root *root, const char *path, const void *data, size_t size);

/* The names in an open directory that end in suffix (NULL: all), hidden ones (".name") skipped,
 * sorted bytewise like the shell's glob, NULL-terminated. */
int dir_list_sorted(int dir_fd, const char *suffix, char ***ret);
/* The same for ROOT/path; -ENOENT when it is missing. */
int root_list_dir(const Root *root, const char *path, const char *suffix, char ***ret);
/* The paths inside the root that match pattern, an absolute path whose components may hold the
 * shell's wildcards (as "/boot/efi/EFI/" "*" "/grub.cfg"), as the shell would expand it under the root:
 * each directory listed through the root handle, "*" not matching a leading dot, sorted bytewise.
 * Only the names inside the root are matched, never the root's own path. An empty list when
 * nothing matches. */
int root_find_matching(const Root *root, const char *pattern, char ***ret);

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
int read_root_file(const Root *root, const char *path, size_t max, char **ret, size_t *ret_size);
int read_root_line(const Root *root, const char *path, char **ret);
/* read_root_file() that stops reading once the text holds stop (the rest of the file is not
 * read; the last read may go past stop): for /proc/cpuinfo, whose first CPU block says what
 * every CPU says, and which is 274 KB on a 224-thread host. */
int read_root_file_until(const Root *root, const char *path, size_t max, const char *stop, char **ret, size_t *ret_size);
/* Reads the regular file name in the directory dir_fd, never following a symlink there (-ELOOP). */
int read_file_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_size);

bool root_exists(const Root *root, const char *path);
/* fstat() of ROOT/path, resolved inside the root (symlinks followed there). */
int root_stat(const Root *root, const char *path, struct stat *ret);

/* For a file found by listing a configuration directory of the tree (iommu.conf.d/, profiles/):
 * whether it may be read. A symlink is followed inside the root only: one whose target climbs
 * out of the root ("../../..") or does not resolve inside it (an absolute link to a file of the
 * machine that builds the image, say) is ignored with a warning naming it and its target, and
 * never read. */
bool root_dropin_usable(const Root *root, const char *path);

/* -EBADMSG when data holds a NUL byte; *ret_offset (may be NULL) gets its offset. File data is
 * length-delimited, never a C string: a parser that works on C strings must check first. */
int data_check_nul(const char *data, size_t size, size_t *ret_offset);

/* read_root_file() for a text file that a parser reads: logs, naming the file (ROOT/path), every
 * error but -ENOENT (returned quietly: a missing file is the caller's to judge), and refuses a NUL
 * byte (-EBADMSG, with its offset) so that no byte of the file is lost to a C string. */
int read_root_text_and_warn(const Root *root, const char *path, size_t max, char **ret, size_t *ret_size);
/* The same for the file name in dir_fd, the directory ROOT/dir (opened inside the root, as a
 * listing opens it): relative to that descriptor, so that the files of one directory are not each
 * resolved from the root again. A symlink there is followed inside the root, as above. */
int read_root_text_at_and_warn(const Root *root, int dir_fd, const char *dir, const char *name, size_t max, char **ret,
                               size_t *ret_size);

/* The name of ROOT/path for messages ("/srv/img/etc/default/grub"; "/etc/default/grub" on the host). */
char *root_display(const Root *root, const char *path);

/* Strips leading and trailing whitespace in place. */
char *strstrip(char *s);
