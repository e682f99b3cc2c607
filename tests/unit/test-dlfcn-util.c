/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <cmocka.h>
#include <libkmod.h>

#include "dlfcn-util.h"
#include "fileio.h"
#include "log.h"

static typeof(kmod_new) *sym_kmod_new;
static typeof(kmod_unref) *sym_kmod_unref;
static void *sym_no_such_function;

/* Runs f with stderr going to a file, and returns what it wrote. */
static char *stderr_of(int (*f)(void), int *ret) {
        char path[] = "/tmp/test-dlfcn-util.XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        char *s = NULL;

        assert_true(fd >= 0 && saved >= 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        *ret = f();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        assert_int_equal(read_full_file(path, 65536, &s, NULL), 0);
        unlink(path);
        return s;
}

static void *missing_dl;
static int open_missing(void) {
        return dlopen_many_sym_or_warn(&missing_dl, "libiommuctl-test-missing.so.7", LOG_LEVEL_WARNING, DLSYM_ARG(kmod_new));
}

static void test_missing_library(void **state) {
        _cleanup_free_ char *first = NULL, *second = NULL;
        int r;

        first = stderr_of(open_missing, &r);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(first, "libiommuctl-test-missing.so.7 is not installed"));
        assert_null(sym_kmod_new);
        /* Once: the second call fails the same way and says nothing. */
        second = stderr_of(open_missing, &r);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_string_equal(second, "");
}

static void *kmod_dl;
static int open_kmod(void) {
        return dlopen_many_sym_or_warn(&kmod_dl, "libkmod.so.2", LOG_LEVEL_WARNING, DLSYM_ARG(kmod_new), DLSYM_ARG(kmod_unref));
}

static void test_present_library(void **state) {
        _cleanup_free_ char *out = NULL;
        struct kmod_ctx *ctx;
        void *handle;
        int r;

        out = stderr_of(open_kmod, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out, "");
        assert_non_null(sym_kmod_new);
        assert_non_null(sym_kmod_unref);
        handle = kmod_dl;
        assert_int_equal(open_kmod(), 0);
        assert_ptr_equal(kmod_dl, handle); /* opened once */
        /* The pointers are the library's functions. */
        ctx = sym_kmod_new("/nonexistent", NULL);
        if (ctx)
                sym_kmod_unref(ctx);
}

static void *kmod_dl2;
static int open_kmod_missing_symbol(void) {
        return dlopen_many_sym_or_warn(&kmod_dl2, "libkmod.so.2", LOG_LEVEL_WARNING, DLSYM_ARG(no_such_function));
}

static void test_missing_symbol(void **state) {
        _cleanup_free_ char *out = NULL;
        int r;

        out = stderr_of(open_kmod_missing_symbol, &r);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(out, "libkmod.so.2 lacks no_such_function"));
        assert_int_equal(open_kmod_missing_symbol(), -EOPNOTSUPP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_missing_library),
                cmocka_unit_test(test_present_library),
                cmocka_unit_test(test_missing_symbol),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
