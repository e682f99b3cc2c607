/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The confined resolver and the safe reads, with openat2() and with the component walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "atomic-write.h"
#include "fileio.h"
#include "strv.h"
#include "test-util.h"

static char base[] = "/tmp/test-fileio.XXXXXX";
static char *root, *outside;

static void mk(const char *rel) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s%s", root, rel) > 0);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *dir, const char *rel, const char *s) {
        _cleanup_free_ char *p = NULL;
        FILE *f;
        assert_true(asprintf(&p, "%s%s", dir, rel) > 0);
        assert_non_null(f = fopen(p, "we"));
        assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
        fclose(f);
}

static void link_at(const char *target, const char *rel) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s%s", root, rel) > 0);
        assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state) {
        _cleanup_free_ char *abs_out = NULL, *fifo = NULL;

        assert_non_null(mkdtemp(base));
        assert_true(asprintf(&root, "%s/root", base) > 0);
        assert_true(asprintf(&outside, "%s/outside", base) > 0);
        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(outside, 0755), 0);
        put(outside, "/secret", "host secret\n");
        mk("/etc");
        mk("/boot");
        put(root, "/etc/secret", "image file\n");
        {
                _cleanup_free_ char *p = NULL;
                FILE *f;
                assert_true(asprintf(&p, "%s/etc/nul", root) > 0);
                assert_non_null(f = fopen(p, "we"));
                assert_int_equal(fwrite("a\0b", 1, 3, f), 3u);
                fclose(f);
        }
        /* Out of the root in every way a tree can try. */
        assert_true(asprintf(&abs_out, "%s/secret", outside) > 0);
        link_at(abs_out, "/boot/abs");                    /* absolute, to a host path */
        link_at("../../../../../../../../etc/secret", "/boot/rel"); /* relative, climbing past the root */
        link_at("/etc", "/boot/etcdir");                  /* absolute, to a directory of the image */
        link_at("loop2", "/boot/loop1");
        link_at("loop1", "/boot/loop2");
        link_at(outside, "/boot/outdir");                 /* a directory outside */
        assert_true(asprintf(&fifo, "%s/etc/fifo", root) > 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        return 0;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf '%s'", base) > 0);
        assert_int_equal(system(cmd), 0);
        free(root);
        free(outside);
        return 0;
}

static void check_resolution(void) {
        _cleanup_free_ char *r = NULL, *t = NULL;
        const Root *R = test_root(root);

        /* An absolute link names a path of the image: /tmp/.../outside/secret inside the root. */
        assert_int_equal(chase_root(R, "/boot/abs", CHASE_NONEXISTENT, &r, NULL), 0);
        assert_true(startswith(r, outside) != NULL);
        r = mfree(r);
        assert_int_equal(chase_root(R, "/boot/abs", 0, NULL, NULL), -ENOENT);
        /* A relative one stops climbing at the root. */
        assert_int_equal(chase_root(R, "/boot/rel", 0, &r, NULL), 0);
        assert_string_equal(r, "/etc/secret");
        r = mfree(r);
        assert_int_equal(chase_root(R, "/../../boot/etcdir/../etc/./secret", 0, &r, NULL), 0);
        assert_string_equal(r, "/etc/secret");
        r = mfree(r);
        assert_int_equal(chase_root(R, "/boot/loop1", 0, NULL, NULL), -ELOOP);
        assert_int_equal(chase_root(R, "/etc/secret/x", 0, NULL, NULL), -ENOTDIR);
        /* A resolved path longer than the walk's stack buffer (256 bytes) moves to the heap
         * intact, ".." included. */
        {
                char longp[512], *e = stpcpy(longp, "/etc");
                for (int i = 0; i < 60; i++)
                        e += sprintf(e, "/d%03d", i);
                assert_int_equal(chase_root(R, longp, CHASE_NONEXISTENT, &r, NULL), 0);
                assert_string_equal(r, longp);
                r = mfree(r);
                strcpy(e, "/x/..");
                assert_int_equal(chase_root(R, longp, CHASE_NONEXISTENT, &r, NULL), 0);
                *e = '\0';
                assert_string_equal(r, longp);
                r = mfree(r);
        }
        /* NOFOLLOW keeps the link itself. */
        assert_int_equal(chase_root(R, "/boot/abs", CHASE_NOFOLLOW, &r, NULL), 0);
        assert_string_equal(r, "/boot/abs");
        r = mfree(r);
        /* Directories made inside the root, through a link to an outside directory too; the
         * descriptor returned is the directory made inside the root. */
        {
                _cleanup_close_ int fd = -1;
                struct stat st, in;
                _cleanup_free_ char *o = NULL, *i = NULL;
                assert_int_equal(chase_root(R, "/boot/outdir/new/dir", CHASE_MKDIR, NULL, &fd), 0);
                assert_true(fd >= 0);
                assert_true(asprintf(&o, "%s/new", outside) > 0);
                assert_int_equal(stat(o, &st), -1);
                assert_true(asprintf(&i, "%s%s/new/dir", root, outside) > 0);
                assert_int_equal(stat(i, &in), 0);
                assert_int_equal(fstat(fd, &st), 0);
                assert_true(st.st_ino == in.st_ino && st.st_dev == in.st_dev);
        }
        /* The host is the same path with "/". */
        assert_int_equal(chase_root(test_root("/"), "/proc/self/../self/cmdline", 0, &t, NULL), 0);
        assert_true(startswith(t, "/proc/") != NULL);
}

static void check_reads(void) {
        _cleanup_free_ char *c = NULL;
        size_t n;

        assert_int_equal(read_root_file(test_root(root), "/boot/rel", 1024, &c, &n), 0);
        assert_string_equal(c, "image file\n");
        c = mfree(c);
        assert_int_equal(read_root_file(test_root(root), "/boot/abs", 1024, &c, &n), -ENOENT);
        assert_int_equal(read_root_file(test_root(root), "/boot/outdir/secret", 1024, &c, &n), -ENOENT);
        assert_int_equal(read_root_file(test_root(root), "/etc/fifo", 1024, &c, &n), -EBADFD); /* no hang */
        assert_int_equal(read_root_file(test_root(root), "/etc", 1024, &c, &n), -EISDIR);
        assert_int_equal(read_root_file(test_root(root), "/etc/secret", 4, &c, &n), -EFBIG);
        assert_int_equal(read_root_text_and_warn(test_root(root), "/etc/nul", 1024, &c, &n), -EBADMSG);
        assert_int_equal(read_root_file(test_root(root), "/etc/nul", 1024, &c, &n), 0);
        assert_int_equal(n, 3u); /* length-delimited: the bytes after the NUL are there */
        {
                size_t off;
                assert_int_equal(data_check_nul(c, n, &off), -EBADMSG);
                assert_int_equal(off, 1u);
        }
        assert_true(root_exists(test_root(root), "/boot/etcdir/secret"));
        assert_false(root_exists(test_root(root), "/boot/abs"));
        {
                DIR *d = NULL;
                /* The outside directory's name, inside the root (made by check_resolution). */
                assert_false(root_exists(test_root(root), "/boot/outdir/secret"));
                assert_int_equal(root_opendir(test_root(root), "/boot/etcdir", &d), 0);
                closedir(d);
        }
        {
                int fd = -1;
                assert_int_equal(root_open(test_root(root), "/boot/rel", O_RDONLY | O_NOFOLLOW, &fd), -ELOOP);
        }
}

/* read_root_text_at_and_warn(): a listed name read relative to its directory, with the rules of
 * read_root_text_and_warn(); a symlink there is followed inside the root, never outside. */
static void test_read_text_at(void **state) {
        _cleanup_free_ char *c = NULL;
        DIR *d = NULL;
        size_t n;

        assert_int_equal(root_opendir(test_root(root), "/boot", &d), 0);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/boot", "rel", 1024, &c, &n), 0);
        assert_string_equal(c, "image file\n"); /* climbed to the root, not past it */
        assert_int_equal(n, strlen("image file\n"));
        c = mfree(c);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/boot", "abs", 1024, &c, NULL), -ENOENT);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/boot", "missing", 1024, &c, NULL), -ENOENT);
        closedir(d);
        assert_int_equal(root_opendir(test_root(root), "/etc", &d), 0);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/etc", "secret", 1024, &c, NULL), 0);
        assert_string_equal(c, "image file\n");
        c = mfree(c);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/etc", "nul", 1024, &c, NULL), -EBADMSG);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/etc", "fifo", 1024, &c, NULL), -EBADFD);
        assert_int_equal(read_root_text_at_and_warn(test_root(root), dirfd(d), "/etc", "secret", 4, &c, NULL), -EFBIG);
        assert_null(c);
        closedir(d);
}

static void test_openat2(void **state) {
        unsetenv("IOMMUCTL_NO_OPENAT2");
        check_resolution();
        check_reads();
}

static void test_walk(void **state) {
        setenv("IOMMUCTL_NO_OPENAT2", "1", 1);
        check_resolution();
        check_reads();
        unsetenv("IOMMUCTL_NO_OPENAT2");
}

static void test_missing_root(void **state) {
        _cleanup_free_ char *h = NULL;
        const Root *R = test_root("/nonexistent-root-for-test");
        assert_int_equal(R->fd, -1);
        assert_int_equal(chase_root(R, "/a/../../b", CHASE_NONEXISTENT, &h, NULL), 0);
        assert_string_equal(h, "/b");
        assert_false(root_exists(R, "/b"));
        h = mfree(h);
        h = root_display(R, "/b");
        assert_string_equal(h, "/nonexistent-root-for-test/b");
}

/* Listing, matching, writing and the drop-in judgement, under a root whose path holds the
 * shell's wildcards (it must be a name, never a pattern). */
static void test_handle_ops(void **state) {
        _cleanup_free_ char *odd = NULL, *p = NULL, *name = NULL, *rel = NULL;
        _cleanup_strv_free_ char **names = NULL, **found = NULL;
        _cleanup_close_ int dfd = -1;
        const Root *R;
        struct stat st;

        assert_true(asprintf(&odd, "%s/we[i]rd*?", base) > 0);
        assert_int_equal(mkdir(odd, 0755), 0);
        R = test_root(odd);
        test_write(odd, "/etc/default/grub.d/b.cfg", "b\n");
        test_write(odd, "/etc/default/grub.d/a.cfg", "a\n");
        test_write(odd, "/etc/default/grub.d/B.cfg", "B\n");
        test_write(odd, "/etc/default/grub.d/.hidden.cfg", "h\n");
        test_write(odd, "/etc/default/grub.d/x.txt", "x\n");
        test_write(odd, "/boot/efi/EFI/fedora/grub.cfg", "cfg\n");
        test_write(odd, "/boot/efi/EFI/.dot/grub.cfg", "cfg\n");

        /* Bytewise order, hidden names skipped, like the shell's "*.cfg". */
        assert_int_equal(root_list_dir(R, "/etc/default/grub.d", ".cfg", &names), 0);
        assert_int_equal(strv_length(names), 3u);
        assert_string_equal(names[0], "B.cfg");
        assert_string_equal(names[1], "a.cfg");
        assert_string_equal(names[2], "b.cfg");
        assert_int_equal(root_list_dir(R, "/etc/missing", ".cfg", &found), -ENOENT);

        assert_int_equal(root_find_matching(R, "/boot/efi/EFI/*/grub.cfg", &found), 0);
        assert_int_equal(strv_length(found), 1u);
        assert_string_equal(found[0], "/boot/efi/EFI/fedora/grub.cfg");
        found = strv_free(found);
        assert_int_equal(root_find_matching(R, "/boot/EFI/Linux/*.efi", &found), 0);
        assert_int_equal(strv_length(found), 0u);
        found = strv_free(found);

        /* A writer gets the directory (made inside the root, even through a link that points
         * out) and the name; nothing appears outside. */
        {
                _cleanup_free_ char *lnk = NULL;
                assert_true(asprintf(&lnk, "%s/boot/out", odd) > 0);
                assert_int_equal(symlink(outside, lnk), 0);
        }
        assert_int_equal(root_open_parent(R, "/boot/out/made/x.conf", CHASE_MKDIR, &dfd, &name, &rel), 0);
        assert_string_equal(name, "x.conf");
        assert_true(startswith(rel, outside) != NULL);
        assert_int_equal(write_file_atomic_at(dfd, name, "new\n", 4, 0644, (uid_t) -1, (gid_t) -1, 0), 0);
        assert_true(asprintf(&p, "%s/made", outside) > 0);
        assert_int_equal(stat(p, &st), -1);
        p = mfree(p);
        assert_true(asprintf(&p, "%s%s/made/x.conf", odd, outside) > 0);
        assert_int_equal(stat(p, &st), 0);
        p = mfree(p);
        {
                _cleanup_free_ char *c = NULL;
                assert_int_equal(read_root_file(R, "/boot/out/made/x.conf", 64, &c, NULL), 0);
                assert_string_equal(c, "new\n");
        }
        /* No temporary is left, and write_file_atomic_at() refuses names with a slash. */
        names = strv_free(names);
        assert_int_equal(dir_list_sorted(dfd, NULL, &names), 0);
        assert_int_equal(strv_length(names), 1u);
        assert_int_equal(write_file_atomic_at(dfd, "../x", "n", 1, 0644, (uid_t) -1, (gid_t) -1, 0), -EINVAL);
        assert_int_equal(unlink_file_durable_at(dfd, name), 0);
        assert_int_equal(unlink_file_durable_at(dfd, name), 0); /* missing is fine */
        assert_false(root_exists(R, "/boot/out/made/x.conf"));
}

static void test_dropin_usable(void **state) {
        const Root *R = test_root(root);
        _cleanup_free_ char *log = NULL;

        mk("/etc/iommu");
        mk("/etc/iommu/iommu.conf.d");
        put(root, "/etc/iommu/real.conf", "[IOMMU]\n");
        put(root, "/etc/iommu/iommu.conf.d/10-plain.conf", "[IOMMU]\n");
        link_at("../real.conf", "/etc/iommu/iommu.conf.d/20-inside.conf");
        link_at("/etc/iommu/real.conf", "/etc/iommu/iommu.conf.d/30-abs-inside.conf");
        {
                _cleanup_free_ char *t = NULL;
                assert_true(asprintf(&t, "%s/secret", outside) > 0);
                link_at(t, "/etc/iommu/iommu.conf.d/40-abs-out.conf");
        }
        link_at("../../../../../../../../../etc/secret", "/etc/iommu/iommu.conf.d/50-climbs.conf");

        assert_true(root_dropin_usable(R, "/etc/iommu/iommu.conf.d/10-plain.conf"));
        assert_true(root_dropin_usable(R, "/etc/iommu/iommu.conf.d/20-inside.conf"));
        assert_true(root_dropin_usable(R, "/etc/iommu/iommu.conf.d/30-abs-inside.conf"));
        capture_stderr_begin();
        assert_false(root_dropin_usable(R, "/etc/iommu/iommu.conf.d/40-abs-out.conf"));
        assert_false(root_dropin_usable(R, "/etc/iommu/iommu.conf.d/50-climbs.conf"));
        log = capture_stderr_end();
        assert_non_null(strstr(log, "40-abs-out.conf: it is a symlink to"));
        assert_non_null(strstr(log, "50-climbs.conf: it is a symlink to ../../"));
        assert_null(strstr(log, "host secret"));
}

static void test_strstrip(void **state) {
        char s[] = " \t voil\xc3\xa0\xa0 \n";
        /* ASCII blanks only: 0xA0 is a byte of a UTF-8 character, kept. */
        assert_string_equal(strstrip(s), "voil\xc3\xa0\xa0");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_openat2),
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_missing_root),
                cmocka_unit_test(test_handle_ops),
                cmocka_unit_test(test_dropin_usable),
                cmocka_unit_test(test_strstrip),
                cmocka_unit_test(test_read_text_at),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
