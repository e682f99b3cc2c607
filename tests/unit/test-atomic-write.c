/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>

#include "libiommu/fileio.h"
#include "libiommu/atomic-write.h"

static char tmpdir[] = "/tmp/test-atomic-write.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int setup(void **state) {
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Names in dir, sorted, joined by spaces (dot files included). */
static char *list_dir(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        char *names[64], *joined = NULL;
        size_t n = 0, len = 1;
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        assert_true(n < ELEMENTSOF(names));
                        names[n] = strdup(de->d_name);
                        len += strlen(de->d_name) + 1;
                        n++;
                }
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(names[j], names[i]) < 0) {
                                char *t = names[i];
                                names[i] = names[j];
                                names[j] = t;
                        }
        joined = calloc(1, len);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(joined, " ");
                strcat(joined, names[i]);
                free(names[i]);
        }
        return joined;
}

static void test_write_replace(void **state) {
        _cleanup_free_ char *p = NULL, *dir = NULL, *text = NULL, *names = NULL;
        struct stat st;

        assert_true(asprintf(&dir, "%s/a/b", tmpdir) > 0);
        assert_true(asprintf(&p, "%s/file", dir) > 0);

        /* A missing directory is an error: callers create it with mkdir_parents_of() first. */
        assert_int_equal(write_file_atomic(p, "x", 1, 0644, -1, -1), -ENOENT);

        assert_int_equal(mkdir_parents_of(p, 0755), 0);
        assert_int_equal(write_file_atomic(p, "first\n", 6, 0640, -1, -1), 0);
        assert_int_equal(read_full_file(p, 1024, &text, NULL), 0);
        assert_string_equal(text, "first\n");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        text = mfree(text);

        assert_int_equal(write_file_atomic(p, "second, longer\n", 15, 0644, -1, -1), 0);
        assert_int_equal(read_full_file(p, 1024, &text, NULL), 0);
        assert_string_equal(text, "second, longer\n");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);

        /* No temporary file left behind. */
        names = list_dir(dir);
        assert_string_equal(names, "file");
}

static void test_write_failures_leave_nothing(void **state) {
        _cleanup_free_ char *dir = NULL, *blocker = NULL, *under = NULL, *target = NULL, *names = NULL;

        assert_true(asprintf(&dir, "%s/fail", tmpdir) > 0);
        assert_int_equal(mkdir(dir, 0755), 0);

        /* A parent that is a regular file. */
        assert_true(asprintf(&blocker, "%s/blocker", dir) > 0);
        assert_int_equal(write_file_atomic(blocker, "", 0, 0644, -1, -1), 0);
        assert_true(asprintf(&under, "%s/x/y", blocker) > 0);
        assert_int_equal(mkdir_parents_of(under, 0755), -ENOTDIR);
        assert_int_equal(mkdir_parents(under, 0755), -ENOTDIR);

        /* The target is a directory: the rename fails after the temporary file was written. */
        assert_true(asprintf(&target, "%s/target", dir) > 0);
        assert_int_equal(mkdir(target, 0755), 0);
        assert_true(write_file_atomic(target, "z", 1, 0644, -1, -1) < 0);

        names = list_dir(dir);
        assert_string_equal(names, "blocker target");

        assert_int_equal(write_file_atomic("", "z", 1, 0644, -1, -1), -EINVAL);
        assert_int_equal(write_file_atomic("/tmp/", "z", 1, 0644, -1, -1), -EINVAL);
}

static void test_relative_path(void **state) {
        _cleanup_free_ char *text = NULL;

        assert_int_equal(chdir(tmpdir), 0);
        assert_int_equal(write_file_atomic("relative", "r\n", 2, 0600, -1, -1), 0);
        assert_int_equal(read_full_file("relative", 1024, &text, NULL), 0);
        assert_string_equal(text, "r\n");
        assert_int_equal(unlink("relative"), 0);
        assert_int_equal(chdir("/"), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_replace),
                cmocka_unit_test(test_write_failures_leave_nothing),
                cmocka_unit_test(test_relative_path),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
