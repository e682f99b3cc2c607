/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <libgen.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "atomic-write.h"
#include "changeset.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"
#include "test-util.h"

static char root[] = "/tmp/test-changeset.XXXXXX";

static void put(const char *path, const char *s, mode_t mode) {
        _cleanup_free_ char *p = test_root_path(root, path), *copy = strdup(p);
        assert_int_equal(mkdir_parents(dirname(copy), 0755), 0);
        assert_int_equal(write_file_atomic(p, s, strlen(s), mode, (uid_t) -1, (gid_t) -1), 0);
}

static void expect(const char *path, const char *s) {
        _cleanup_free_ char *c = NULL;
        int r = read_root_file(test_root(root), path, 1 << 20, &c, NULL);
        if (!s) {
                assert_int_equal(r, -ENOENT);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(c, s);
}

static mode_t mode_of(const char *path) {
        _cleanup_free_ char *p = test_root_path(root, path);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return st.st_mode & 07777;
}

static int setup(void **state) {
        assert_non_null(mkdtemp(root));
        put("/boot/a.conf", "old a\n", 0600);
        put("/etc/gone", "bye\n", 0644);
        put("/boot/grub2/real", "env\n", 0644);
        {
                _cleanup_free_ char *l = test_root_path(root, "/boot/grub2/grubenv");
                /* Absolute target: inside the root, not on this machine. */
                assert_int_equal(symlink("/boot/grub2/real", l), 0);
        }
        return 0;
}

static int teardown(void **state) {
        char *cmd;
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        return 0;
}

static void test_commit_and_rollback(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL, *back = NULL, *none = NULL;

        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/boot/a.conf", "old a\n", 6, 0644, "t"), 0); /* no change */
        assert_int_equal(changeset_add(cs, "/boot/a.conf", "new a\n", 6, 0644, "t"), 1);
        assert_int_equal(changeset_add(cs, "/boot/a.conf", "x", 1, 0644, "t"), -EEXIST);
        assert_int_equal(changeset_add(cs, "/etc/new/file", "created\n", 8, 0640, "t"), 1);
        assert_int_equal(changeset_add(cs, "/etc/gone", NULL, 0, 0644, "t"), 1);
        assert_int_equal(changeset_add(cs, "/boot/grub2/grubenv", "env2\n", 5, 0644, "t"), 1);
        assert_string_equal(cs->items[3].path, "/boot/grub2/real");
        assert_int_equal(changeset_commit(cs), 0);
        assert_int_equal(cs->id, 1u);

        expect("/boot/a.conf", "new a\n");
        assert_int_equal(mode_of("/boot/a.conf"), 0600);
        expect("/etc/new/file", "created\n");
        assert_int_equal(mode_of("/etc/new/file"), 0640);
        expect("/etc/gone", NULL);
        expect("/boot/grub2/real", "env2\n");
        {
                _cleanup_free_ char *l = NULL;
                struct stat st;
                assert_true(asprintf(&l, "%s/boot/grub2/grubenv", root) > 0);
                assert_int_equal(lstat(l, &st), 0);
                assert_true(S_ISLNK(st.st_mode)); /* the link itself is kept */
        }

        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), 0);
        assert_int_equal(back->n_items, 4u);
        assert_int_equal(changeset_rollback_commit(back), 0);
        expect("/boot/a.conf", "old a\n");
        assert_int_equal(mode_of("/boot/a.conf"), 0600);
        expect("/etc/new/file", NULL);
        expect("/etc/gone", "bye\n");
        expect("/boot/grub2/real", "env\n");
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &none), -ENOENT);
}

static void test_recover_interrupted(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_free_ char *marker = NULL;

        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/boot/a.conf", "half\n", 5, 0644, "t"), 1);
        assert_int_equal(changeset_commit(cs), 0);
        expect("/boot/a.conf", "half\n");
        /* As if the process had died before marking the set complete. */
        assert_true(asprintf(&marker, "%s%s/%08u/complete", root, CHANGESET_DIR, cs->id) > 0);
        assert_int_equal(unlink(marker), 0);
        assert_int_equal(changeset_recover(test_root(root)), 1);
        expect("/boot/a.conf", "old a\n");
        assert_int_equal(changeset_recover(test_root(root)), 0);
}

static void test_stale(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL, *back = NULL;

        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/boot/a.conf", "mine\n", 5, 0644, "t"), 1);
        assert_int_equal(changeset_commit(cs), 0);
        put("/boot/a.conf", "admin edit\n", 0600);
        assert_int_equal(changeset_load_last_for_rollback(test_root(root), &back), -ESTALE);
        expect("/boot/a.conf", "admin edit\n");
}

static char *make_outside(void) {
        char *d = strdup("/tmp/test-changeset-out.XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void write_host(const char *dir, const char *name, const char *s) {
        _cleanup_free_ char *p = NULL;
        FILE *f;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        assert_non_null(f = fopen(p, "we"));
        fputs(s, f);
        fclose(f);
}

static char *read_host(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;
        char *c = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return read_full_file(p, 1 << 20, &c, NULL) < 0 ? NULL : c;
}

/* The item's directory is opened when it is added and kept: the directory swapped for a symlink
 * to an outside one before the commit does not move the write there. */
static void test_dir_fd_kept(void **state) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_free_ char *out = make_outside(), *sw = test_root_path(root, "/sw"), *real = NULL, *c = NULL;

        put("/sw/x.conf", "old x\n", 0644);
        write_host(out, "x.conf", "outside\n");
        assert_true(asprintf(&real, "%s.real", sw) > 0);
        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(changeset_add(cs, "/sw/x.conf", "new x\n", 6, 0644, "bls"), 1);
        assert_int_equal(rename(sw, real), 0);
        assert_int_equal(symlink(out, sw), 0);
        assert_int_equal(changeset_commit(cs), 0);
        c = read_host(out, "x.conf");
        assert_string_equal(c, "outside\n");
        c = mfree(c);
        c = read_host(real, "x.conf");
        assert_string_equal(c, "new x\n");
        {
                _cleanup_strv_free_ char **names = NULL;
                _cleanup_close_ int fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_int_equal(dir_list_sorted(fd, NULL, &names), 0);
                assert_int_equal(strv_length(names), 1u); /* no temporary went there either */
        }
        assert_int_equal(unlink(sw), 0);
        assert_int_equal(rename(real, sw), 0);
        test_rmroot(TAKE_PTR(out));
}

/* The lock is never followed or removed through a symlink, nor removed once it is not ours. */
static void test_lock(void **state) {
        _cleanup_free_ char *out = make_outside(), *lock = test_root_path(root, CHANGESET_LOCK), *victim = NULL, *old = NULL;
        const Root *R = test_root(root);
        struct stat st;
        int fd = -1;

        put("/var/lib/iommu/.keep", "", 0644);
        (void) unlink(lock);
        assert_true(asprintf(&victim, "%s/victim", out) > 0);
        assert_int_equal(symlink(victim, lock), 0);
        assert_true(changeset_lock(R, &fd) < 0);
        assert_int_equal(stat(victim, &st), -1);
        assert_int_equal(unlink(lock), 0);

        assert_int_equal(changeset_lock(R, &fd), 0);
        /* Another file put in its place while we hold it: unlock leaves it. */
        assert_true(asprintf(&old, "%s.old", lock) > 0);
        assert_int_equal(rename(lock, old), 0);
        put(CHANGESET_LOCK, "someone else's\n", 0644);
        changeset_unlock(R, fd);
        assert_int_equal(stat(lock, &st), 0);
        assert_int_equal(unlink(old), 0);
        /* Our own lock file is removed under a root. */
        assert_int_equal(unlink(lock), 0);
        assert_int_equal(changeset_lock(R, &fd), 0);
        changeset_unlock(R, fd);
        assert_int_equal(lstat(lock, &st), -1);
        test_rmroot(TAKE_PTR(out));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_commit_and_rollback),
                cmocka_unit_test(test_recover_interrupted),
                cmocka_unit_test(test_stale),
                cmocka_unit_test(test_dir_fd_kept),
                cmocka_unit_test(test_lock),
        };
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        return cmocka_run_group_tests(tests, setup, teardown);
}
