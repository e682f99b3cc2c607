/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A boot file's extended attributes (user.*, security.selinux, security.ima, and the POSIX ACLs,
 * which the kernel keeps as system.posix_acl_*) travel with its contents: a replaced file gets
 * the old inode's attributes before it is renamed into place, and the change set journals them
 * so that rollback puts them back.
 *
 * They are kept as one length-delimited blob, the journal's format: for each attribute its name,
 * a NUL byte, the value's length as 8 hexadecimal digits, then the value's bytes. */

/* Reads every attribute of an open file into a blob (NULL and 0 when it has none, or when its
 * file system cannot store any, like vfat). */
int xattrs_read_fd(int fd, char **ret, size_t *ret_size);

/* Sets every attribute of a blob on an open file. A file system that cannot store attributes is
 * not an error when it cannot store them (-EOPNOTSUPP is ignored). -EBADMSG for a malformed blob. */
int xattrs_apply_fd(int fd, const char *blob, size_t size);

/* -EBADMSG when a blob is malformed (a journal read back from disk is untrusted). */
int xattrs_check(const char *blob, size_t size);

/* Whether two blobs hold the same attributes in the same order. */
bool xattrs_equal(const char *a, size_t na, const char *b, size_t nb);
