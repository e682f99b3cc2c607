/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "fileio.h"
#include "spawn.h"
#include "strv.h"
#include "test-util.h"

static void test_exit_status(void **state) {
        assert_int_equal(spawn_and_wait(STRV_MAKE("true"), 0), 0);
        assert_int_equal(spawn_and_wait(STRV_MAKE("false"), 0), 1);
        /* Arguments are words, never parsed by a shell: "exit 3" is one argument to sh -c. */
        assert_int_equal(spawn_and_wait(STRV_MAKE("sh", "-c", "exit 3"), SPAWN_LOG_NON_ZERO), 3);
        assert_int_equal(spawn_and_wait(STRV_MAKE("/bin/sh", "-c", "exit 0; exit 4"), 0), 0);
}

static void test_missing_and_signal(void **state) {
        assert_int_equal(spawn_and_wait(STRV_MAKE("iommuctl-no-such-program-xyz"), 0), -ENOENT);
        assert_int_equal(spawn_and_wait(STRV_MAKE("/nonexistent/bin/true"), 0), -ENOENT);
        assert_int_equal(spawn_and_wait(STRV_MAKE("sh", "-c", "kill -KILL $$"), 0), -EPROTO);
}

/* With SPAWN_STDOUT_TO_STDERR, what the program prints lands on our stderr, not our stdout. */
static void test_stdout_to_stderr(void **state) {
        char *root = test_mkroot();
        _cleanup_free_ char *out = NULL, *err = NULL, *po = test_root_path(root, "/out"), *pe = test_root_path(root, "/err");
        int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
        int fo = open(po, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        assert_true(fo >= 0 && fe >= 0 && saved_out >= 0 && saved_err >= 0);
        fflush(stdout);
        fflush(stderr);
        dup2(fo, STDOUT_FILENO);
        dup2(fe, STDERR_FILENO);
        int r1 = spawn_and_wait(STRV_MAKE("echo", "to-stderr"), SPAWN_STDOUT_TO_STDERR);
        int r2 = spawn_and_wait(STRV_MAKE("echo", "to-stdout"), 0);
        dup2(saved_out, STDOUT_FILENO);
        dup2(saved_err, STDERR_FILENO);
        close(fo);
        close(fe);
        close(saved_out);
        close(saved_err);
        assert_int_equal(r1, 0);
        assert_int_equal(r2, 0);
        assert_int_equal(read_full_file(po, 4096, &out, NULL), 0);
        assert_int_equal(read_full_file(pe, 4096, &err, NULL), 0);
        assert_string_equal(out, "to-stdout\n");
        assert_string_equal(err, "to-stderr\n");
        test_rmroot(root);
}

static void test_find_executable(void **state) {
        _cleanup_free_ char *p = NULL;

        assert_int_equal(find_executable("sh", &p), 0);
        assert_true(p[0] == '/' && access(p, X_OK) == 0);
        assert_int_equal(find_executable("iommuctl-no-such-program-xyz", &(char *) { NULL }), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_missing_and_signal),
                cmocka_unit_test(test_stdout_to_stderr),
                cmocka_unit_test(test_find_executable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
