/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "diff.h"

static char *run(const char *a, const char *b) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        diff_unified(f, "a/x", a, strlen(a), "b/x", b, strlen(b));
        fclose(f);
        return out;
}

static void test_diff(void **state) {
        _cleanup_free_ char *same = run("a\nb\n", "a\nb\n");
        assert_string_equal(same, "");

        _cleanup_free_ char *one = run("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n");
        assert_string_equal(one, "--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");

        _cleanup_free_ char *created = run("", "new\n");
        assert_string_equal(created, "--- a/x\n+++ b/x\n@@ -0,0 +1,1 @@\n+new\n");

        _cleanup_free_ char *nonl = run("a", "b");
        assert_string_equal(nonl, "--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n");

        /* Two changes far apart: two hunks. */
        _cleanup_free_ char *two = run("a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n");
        assert_string_equal(two, "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
