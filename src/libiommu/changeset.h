/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "fileio.h"
#include "macro.h"

/* The one writer of boot files. Backends compute new contents and add them here; nothing else
 * opens a boot file for writing.
 *
 * Committing a change set first journals the previous (and the new) contents of every file in one
 * file, ROOT/var/lib/iommu/changesets/<id>/journal, made durable before any boot file is touched
 * (the journal, the set's directory and CHANGESET_DIR fsynced; where the run made CHANGESET_DIR or
 * the directories above it, each one above a made one too), then replaces each file atomically
 * (temporary file fsynced and renamed over it; each directory fsynced once, after its files),
 * then marks the set complete: N + 4 + (directories) fsyncs for N files. When a replacement
 * fails, the files already replaced are restored and the set is marked rolled back, so a run
 * changes all of its files or none. A set found without its "complete" mark (a crash halfway) is
 * rolled back by the next apply or rollback. "rollback" restores the newest complete set that was
 * not rolled back yet. */

#define CHANGESET_DIR "/var/lib/iommu/changesets"
#define CHANGESET_LOCK "/var/lib/iommu/lock"
/* Boot files are small; refuse to journal anything larger. */
#define CHANGESET_FILE_MAX (4U * 1024U * 1024U)

typedef struct ChangeItem {
        char *path;      /* the path inside the root, resolved, e.g. /boot/loader/entries/x.conf */
        char *full;      /* the same as ROOT/path, for messages only (never opened) */
        char *old;       /* NULL when the file did not exist */
        size_t old_size;
        char *new;       /* NULL to remove the file */
        size_t new_size;
        char *xattrs;    /* the extended attributes and ACLs of the file before the set (xattr-util.h
                          * blob; NULL when none): the new file gets them, and rollback too */
        size_t xattrs_size;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        char *backend;   /* who asked for the change, for messages */
        char *created_dir; /* the topmost directory writing a new file creates (host path), so
                            * undoing it leaves no empty directory behind; NULL when none */
} ChangeItem;

typedef struct ChangeDirCache ChangeDirCache;

typedef struct ChangeSet {
        const Root *root;   /* borrowed: the caller's, for the life of the set */
        /* The items' parent directories, each opened once through the root handle (when the set
         * first reads or writes an item there) and kept: every read, write, rename, removal and
         * fsync of an item happens relative to its directory's descriptor. */
        ChangeDirCache *dirs;
        ChangeItem *items;
        size_t n_items;
        size_t n_allocated;
        size_t *index;      /* hash of the items' paths (open addressing): item number + 1, 0 free */
        size_t index_size;  /* a power of two, more than twice n_items; 0 before the first item */
        unsigned id;     /* set by commit */
        const char *verb;    /* for the history: what writes it (apply, undo); borrowed, may be NULL */
        const char *profile; /* for the history: the profile; borrowed, may be NULL */
} ChangeSet;

int changeset_new(const Root *root, ChangeSet **ret);
ChangeSet *changeset_free(ChangeSet *cs);
static inline void changeset_freep(ChangeSet **cs) {
        changeset_free(*cs);
}
#define _cleanup_changeset_ _cleanup_(changeset_freep)

/* Reads the current contents of path (under the root, following a symlink in the last component
 * to the file it names, inside the root) and adds the change if the contents differ. A new file
 * gets create_mode and the writer's owner; an existing one keeps its mode and owner. Returns 1
 * when a change was added, 0 when the file already has these contents, -EEXIST when another
 * backend already changes the same file. new == NULL removes the file. */
int changeset_add(ChangeSet *cs, const char *path, const char *new, size_t new_size, mode_t create_mode, const char *backend);
/* The current contents of path as the change set sees them (the pending new contents when the
 * set already changes it). -ENOENT when there is no such file. */
const ChangeItem *changeset_find(const ChangeSet *cs, const char *path);
bool changeset_has_backend(const ChangeSet *cs, const char *backend);

/* Journals and applies every change. Errors are logged, naming the file. */
int changeset_commit(ChangeSet *cs);

/* Prints a unified diff of every change. */
void changeset_print_diff(const ChangeSet *cs, FILE *f);

/* Takes ROOT/var/lib/iommu/lock (flock). Waits up to $IOMMUCTL_LOCK_TIMEOUT seconds (default 120)
 * for another run, saying so once, then fails with -EBUSY (logged). */
int changeset_lock(const Root *root, int *ret_fd);
/* Releases it; under a root other than "/" the lock file is removed, so an image is not left
 * with it. */
void changeset_unlock(const Root *root, int fd);
typedef struct ChangeSetLock {
        const Root *root;
        int fd;
} ChangeSetLock;
static inline void changeset_lock_release(ChangeSetLock *l) {
        changeset_unlock(l->root, l->fd);
}

/* Rolls back every set left incomplete by a crash (logged as a warning). Returns how many. */
int changeset_recover(const Root *root);

/* Loads the newest complete set that was not rolled back, as a change set whose new contents
 * are the journaled old contents. -ENOENT when there is none. Files changed since the set was
 * applied are refused (-ESTALE, logged with the file name). */
int changeset_load_last_for_rollback(const Root *root, ChangeSet **ret);
/* Applies a set loaded by changeset_load_last_for_rollback() and marks it rolled back. */
int changeset_rollback_commit(ChangeSet *cs);

/* The history: every journaled set, oldest first, for "iommuctl history". */
typedef enum ChangeSetState {
        CHANGESET_INCOMPLETE,  /* interrupted (the next apply or rollback restores it) */
        CHANGESET_COMPLETE,
        CHANGESET_ROLLED_BACK, /* restored by rollback, or by itself after a failure */
        _CHANGESET_STATE_MAX,
} ChangeSetState;

const char *changeset_state_to_string(ChangeSetState s);

typedef struct ChangeSetInfo {
        unsigned id;
        ChangeSetState state;
        long long time;        /* seconds since the epoch it completed (else rolled back); -1 unknown */
        char *verb;            /* what wrote it (ChangeSet.verb); NULL when not recorded */
        char *profile;
        char **paths;          /* host paths of its files */
        char **actions;        /* per path: created, modified, removed */
} ChangeSetInfo;

int changeset_list(const Root *root, ChangeSetInfo **ret, size_t *ret_n);
void changeset_info_free(ChangeSetInfo *l, size_t n);
/* The same in two steps, for a rollback that must also regenerate grub.cfg: the files first
 * (changeset_rollback_apply()), the mark once everything else succeeded
 * (changeset_rollback_mark()), or, when it did not, the set's files written back
 * (changeset_rollback_revert()), so that the set stays the one to roll back and nothing
 * boots half rolled back. */
int changeset_rollback_apply(ChangeSet *cs);
int changeset_rollback_mark(ChangeSet *cs);
int changeset_rollback_revert(ChangeSet *cs);
