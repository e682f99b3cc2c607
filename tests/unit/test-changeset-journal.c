/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The change set's journal formats and its path index (test-changeset.c covers commit, rollback
 * and recovery themselves). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "atomic-write.h"
#include "changeset.h"
#include "fileio.h"
#include "log.h"
#include "test-util.h"

static char root[] = "/tmp/test-changeset-journal.XXXXXX";

static void put(const char *path, const char *s) {
        _cleanup_free_ char *p = test_root_path(root, path), *copy = strdup(p);
        assert_int_equal(mkdir_parents(dirname(copy), 0755), 0);
        assert_int_equal(write_file_atomic(p, s, strlen(s), 0644, (uid_t) -1, (gid_t) -1), 0);
}

static void expect(const char *path, const char *s) {
        _cleanup_free_ char *c = NULL;
        assert_int_equal(read_root_file(test_root(root), path, 1 << 20, &c, NULL), 0);
        assert_string_equal(c, s);
}

static int setup(void **state) {
        assert_non_null(mkdtemp(root));
        return 0;
}

static int teardown(void **state) {
        char *cmd;
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        return 0;
}

static char *journal_path(unsigned id) {
        char *p;
        assert_true(asprintf(&p, "%s%s/%08u/journal", root, CHANGESET_DIR, id) > 0);
        return p;
}

static void unmark(unsigned id, const char *mark) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s%s/%08u/%s", root, CHANGESET_DIR, id, mark) > 0);
        assert_int_equal(unlink(p), 0);
}

/* Commits one change of path from "old" to "new" contents, returns the set's id. */
static unsigned commit_one(const char *path, const char *old, const char *new) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        put(path, old);
        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, path, new, strlen(new), 0644, "bls"), 1);
        assert_int_equal(changeset_commit(cs), 0);
        return cs->id;
}

/* Version 1 (manifest, old-K, new-K) predates the only release: it is not read, and never
 * touched. */
static void test_version1_journal_ignored(void **state) {
        _cleanup_changeset_ ChangeSet *back = NULL;

        put("/boot/v1.conf", "new v1\n");
        put(CHANGESET_DIR "/00000001/manifest", "iommuctl-changeset 1\n0\t1\t1\t0644\t-1\t-1\tbls\t/boot/v1.conf\n");
        put(CHANGESET_DIR "/00000001/old-0", "old v1\n");
        put(CHANGESET_DIR "/00000001/new-0", "new v1\n");
        assert_int_equal(changeset_recover(test_root(root)), 0);
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), -ENOENT);
        expect("/boot/v1.conf", "new v1\n");
        expect(CHANGESET_DIR "/00000001/old-0", "old v1\n");
}

/* Version 2, as the released version wrote it, is still rolled back. */
static void test_version2_journal(void **state) {
        _cleanup_changeset_ ChangeSet *back = NULL;

        put("/boot/v2.conf", "new v2\n");
        put(CHANGESET_DIR "/00000002/journal", "iommuctl-changeset 2\n0\t1\t1\t0644\t-1\t-1\t7\t7\t0\tbls\t/boot/v2.conf\n\n"
                                              "old v2\nnew v2\n");
        put(CHANGESET_DIR "/00000002/complete", "0\n");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->n_items, 1u);
        assert_string_equal(back->items[0].path, "/boot/v2.conf");
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/boot/v2.conf", "old v2\n");
}

/* Version 3: one journal file; many files in one directory, found by the index; a journal whose
 * contents do not add up is refused. */
static void test_version3_journal(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL, *back = NULL, *bad = NULL;
        _cleanup_free_ char *journal = NULL, *text = NULL;
        size_t size;
        char path[64], body[64];

        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        for (unsigned i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "/efi/loader/entries/e%03u.conf", i);
                snprintf(body, sizeof(body), "old %u\n", i);
                put(path, body);
                snprintf(body, sizeof(body), "new %u\n", i);
                assert_int_equal(changeset_add(cs, path, body, strlen(body), 0644, "bls"), 1);
        }
        for (unsigned i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "/efi/loader/entries/e%03u.conf", i);
                const ChangeItem *c = changeset_find(cs, path);
                assert_non_null(c);
                assert_string_equal(c->path, path);
                assert_int_equal(changeset_add(cs, path, "x", 1, 0644, "bls"), -EEXIST);
        }
        assert_null(changeset_find(cs, "/efi/loader/entries/e100.conf"));
        assert_int_equal(changeset_commit(cs), 0);
        expect("/efi/loader/entries/e042.conf", "new 42\n");

        journal = journal_path(cs->id);
        assert_int_equal(read_full_file(journal, 1 << 20, &text, &size), 0);
        assert_true(startswith(text, "iommuctl-changeset 3\n"));

        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->n_items, 100u);
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/efi/loader/entries/e000.conf", "old 0\n");
        expect("/efi/loader/entries/e099.conf", "old 99\n");

        /* One byte short: not a journal to trust. */
        assert_int_equal(write_file_atomic(journal, text, size - 1, 0600, (uid_t) -1, (gid_t) -1), 0);
        unmark(cs->id, "rolled-back");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &bad), -EBADMSG);
}

/* Damage anywhere in a journal is -EBADMSG (never a crash, never a wrong file): a NUL byte in a
 * manifest line or appended to the contents, and every truncation and every single-byte change
 * of a whole journal. (tests/fuzz/fuzz-journal.c goes further.) */
static void test_journal_damage(void **state) {
        _cleanup_free_ char *journal = NULL, *text = NULL;
        unsigned id;
        size_t size;

        id = commit_one("/boot/loader/entries/d.conf", "options a\n", "options a b\n");
        journal = journal_path(id);
        assert_int_equal(read_full_file(journal, 1 << 20, &text, &size), 0);

        for (size_t cut = 0; cut <= size; cut++) {
                for (int how = 0; how < 3; how++) {
                        _cleanup_changeset_ ChangeSet *back = NULL;
                        _cleanup_free_ char *bad = malloc(size + 3);
                        size_t n = size;
                        int r;

                        memcpy(bad, text, size);
                        if (how == 0 && cut < size)
                                n = cut; /* truncated */
                        else if (how == 1 && cut < size)
                                bad[cut] = '\0'; /* a NUL byte in place of one */
                        else if (how == 2) {
                                memmove(bad + cut + 3, bad + cut, size - cut); /* "x\0y" inserted */
                                memcpy(bad + cut, "x\0y", 3);
                                n = size + 3;
                        } else
                                continue;
                        assert_int_equal(write_file_atomic(journal, bad, n, 0600, (uid_t) -1, (gid_t) -1), 0);
                        r = changeset_load_last_for_rollback(test_root(root), &back);
                        if (how == 1 && cut > (size_t) (strstr(text, "\n\n") - text) + 1) {
                                /* a NUL in place of a byte of the contents: a well-formed journal
                                 * of other contents, refused when they are not what the file holds */
                                assert_true(r == 0 || r == -ESTALE);
                                continue;
                        }
                        if (r != -EBADMSG)
                                fail_msg("damage %d at offset %zu of %zu: %d", how, cut, size, r);
                }
        }
        /* The set itself is intact again and still rolls back. */
        assert_int_equal(write_file_atomic(journal, text, size, 0600, (uid_t) -1, (gid_t) -1), 0);
        {
                _cleanup_changeset_ ChangeSet *back = NULL;
                assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
                assert_int_equal(changeset_rollback_commit(back), 0);
        }
        expect("/boot/loader/entries/d.conf", "options a\n");
}

/* An incomplete set whose journal cannot be read stops apply with an error, not a crash. */
static void test_recover_damaged_journal(void **state) {
        _cleanup_free_ char *journal = NULL;
        unsigned id;

        id = commit_one("/boot/loader/entries/r.conf", "options a\n", "options a c\n");
        unmark(id, "complete");
        journal = journal_path(id);
        assert_int_equal(write_file_atomic(journal, "iommuctl-changeset 3\n0\t1\x00", 24, 0600, (uid_t) -1, (gid_t) -1), 0);
        assert_int_equal(changeset_recover(test_root(root)), -EBADMSG);
        expect("/boot/loader/entries/r.conf", "options a c\n");
        /* Moved out of the way as the message says, the tree is usable again. */
        {
                _cleanup_free_ char *cmd = NULL;
                assert_true(asprintf(&cmd, "rm -rf '%s%s/%08u'", root, CHANGESET_DIR, id) > 0);
                assert_int_equal(system(cmd), 0);
        }
        assert_int_equal(changeset_recover(test_root(root)), 0);
}

/* Crash recovery restores only what the interrupted set wrote: a file edited since (by an admin,
 * dpkg or kernel-install) is kept as it is. */
static void test_recover_keeps_later_edits(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        unsigned id;

        put("/boot/loader/entries/k1.conf", "options one\n");
        put("/boot/loader/entries/k2.conf", "options two\n");
        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/boot/loader/entries/k1.conf", "options one x\n", 14, 0644, "bls"), 1);
        assert_int_equal(changeset_add(cs, "/boot/loader/entries/k2.conf", "options two x\n", 14, 0644, "bls"), 1);
        assert_int_equal(changeset_commit(cs), 0);
        id = cs->id;
        unmark(id, "complete"); /* as if the run had died before its mark */
        put("/boot/loader/entries/k2.conf", "options edited after the crash\n");
        assert_int_equal(changeset_recover(test_root(root)), 1);
        expect("/boot/loader/entries/k1.conf", "options one\n");
        expect("/boot/loader/entries/k2.conf", "options edited after the crash\n");
}

/* Ids past 99999999 are listed in order: the next set after 100000000 is 100000001, and rollback
 * finds the newest. */
static void test_wide_ids(void **state) {
        _cleanup_changeset_ ChangeSet *back = NULL;
        unsigned id;

        put(CHANGESET_DIR "/99999999/rolled-back", "0\n");
        put(CHANGESET_DIR "/99999999/journal", "x");
        id = commit_one("/boot/loader/entries/w.conf", "options 1\n", "options 2\n");
        assert_int_equal(id, 100000000u);
        id = commit_one("/boot/loader/entries/w.conf", "options 2\n", "options 3\n");
        assert_int_equal(id, 100000001u);
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->id, 100000001u);
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/boot/loader/entries/w.conf", "options 2\n");
}

/* A rollback whose follow-up (grub.cfg) failed is reverted: the files carry the set again and it
 * is still the one to roll back. */
static void test_rollback_revert(void **state) {
        _cleanup_changeset_ ChangeSet *back = NULL, *again = NULL;
        unsigned id;

        id = commit_one("/etc/default/grub.d/60-iommu.cfg", "A=1\n", "A=2\n");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->id, id);
        assert_int_equal(changeset_rollback_apply(back), 0);
        expect("/etc/default/grub.d/60-iommu.cfg", "A=1\n");
        assert_int_equal(changeset_rollback_revert(back), 0);
        expect("/etc/default/grub.d/60-iommu.cfg", "A=2\n");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &again), 0);
        assert_int_equal(again->id, id);
        assert_int_equal(changeset_rollback_commit(again), 0);
        expect("/etc/default/grub.d/60-iommu.cfg", "A=1\n");
}

/* Extended attributes and POSIX ACLs (system.posix_acl_access) of a replaced file are kept by
 * apply and by rollback. */
static void test_xattrs_kept(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL, *back = NULL;
        _cleanup_free_ char *full = NULL;
        char value[16] = {};
        /* user::rw- user:65534:r-- group::r-- mask::r-- other::r-- in the kernel's format */
        static const unsigned char acl[] = {
                2, 0, 0, 0,
                1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
                2, 0, 4, 0, 0xfe, 0xff, 0, 0,
                4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
                0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
                0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
        };
        unsigned char got[64];
        ssize_t n;

        put("/boot/loader/entries/x.conf", "options a\n");
        full = test_root_path(root, "/boot/loader/entries/x.conf");
        if (setxattr(full, "user.test", "1", 1, 0) < 0) {
                /* The file system of $TMPDIR must store them, or this test proves nothing. */
                fail_msg("setxattr(user.test) on %s: %s", full, strerror(errno));
        }
        assert_int_equal(setxattr(full, "system.posix_acl_access", acl, sizeof(acl), 0), 0);
        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/boot/loader/entries/x.conf", "options a b\n", 12, 0644, "bls"), 1);
        assert_int_equal(changeset_commit(cs), 0);
        expect("/boot/loader/entries/x.conf", "options a b\n");
        assert_int_equal(getxattr(full, "user.test", value, sizeof(value)), 1);
        assert_string_equal(value, "1");
        n = getxattr(full, "system.posix_acl_access", got, sizeof(got));
        assert_int_equal(n, sizeof(acl));
        assert_memory_equal(got, acl, sizeof(acl));

        /* Changed since apply: rollback brings back the journaled ones. */
        assert_int_equal(removexattr(full, "user.test"), 0);
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/boot/loader/entries/x.conf", "options a\n");
        memset(value, 0, sizeof(value));
        assert_int_equal(getxattr(full, "user.test", value, sizeof(value)), 1);
        assert_string_equal(value, "1");
        n = getxattr(full, "system.posix_acl_access", got, sizeof(got));
        assert_int_equal(n, sizeof(acl));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_version1_journal_ignored),
                cmocka_unit_test(test_version2_journal),
                cmocka_unit_test(test_version3_journal),
                cmocka_unit_test(test_journal_damage),
                cmocka_unit_test(test_recover_damaged_journal),
                cmocka_unit_test(test_recover_keeps_later_edits),
                cmocka_unit_test(test_wide_ids),
                cmocka_unit_test(test_rollback_revert),
                cmocka_unit_test(test_xattrs_kept),
        };
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        return cmocka_run_group_tests(tests, setup, teardown);
}
