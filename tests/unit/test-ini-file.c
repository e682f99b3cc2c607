/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ini-file.h"
#include "test-util.h"

/* The plain reader against inih: the same handler calls (section, name, value, line, section
 * line), the same messages and the same result, for texts it takes; and it takes the plain ones. */

typedef struct Calls {
        IniFile *ini;
        FILE *f;
        int answer; /* what the handler returns */
} Calls;

static int record(void *user, const char *section, const char *name, const char *value) {
        Calls *c = user;

        fprintf(c->f, "[%s] %s=%s @%u s%u\n", section, name, value, c->ini->line, c->ini->section_line);
        if (streq(name, "Bad"))
                ini_file_error(c->ini, "bad setting %s", value);
        return c->answer;
}

static void parse(const char *path, bool inih_only, int answer, int *ret, char **ret_calls, char **ret_log) {
        IniFile ini = { .path = path, .inih_only = inih_only };
        Calls c = { .ini = &ini, .answer = answer };
        char *calls = NULL;
        size_t n = 0;

        c.f = open_memstream(&calls, &n);
        assert_non_null(c.f);
        capture_stderr_begin();
        *ret = ini_file_parse(&ini, record, &c);
        *ret_log = capture_stderr_end();
        fclose(c.f);
        *ret_calls = calls;
}

static void test_plain_like_inih(void **state) {
        static const struct {
                const char *text;
                bool plain;
        } cases[] = {
                { "[Profile]\nMode=passthrough\n", true },
                { "# comment\n; comment \xc3\xa9\n\n[A]\nx=1\ny=\n[B-c.d_e]\nz=a b=c #x\n", true },
                { "x=before any section\n[S]\nKey.with-dots_=v\n", true },
                { "[S]\nBad=1\nGood=2\nBad=3\n", true },
                { "[S]\nk=v", true },
                { "[S]\n\n\n[T]\n", true },
                { "[S]\nk = v\n", false },
                { "[S]\nk=v \n", false },
                { "[S]\nk= v\n", false },
                { "[S]\nk=v ;c\n", false },
                { "[S]\nk=v;c\n", false },
                { "[S]\nk: v\n", false },
                { "[S]\n  continued\n", false },
                { "[S]\nk=a\n  continued\n", false },
                { " [S]\n", false },
                { "[S] \n", false },
                { "[S] x\n", false },
                { "[S]]\n", false },
                { "[]\nk=v\n", false },
                { "[S]\nk=v\r\n", false },
                { "[S]\nk=\tv\n", false },
                { "\xef\xbb\xbf[S]\nk=v\n", false },
                { "[S]\nnot a setting\n", false },
                { "[S]\n=v\n", false },
                { "[S]\nk=caf\xc3\xa9\n", false },
                { "[Sxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]\nk=v\n", false },
                { "[S]\nk=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxx\n", false },
        };
        char *dir = test_mkroot();
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/test.ini", dir) > 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int answer = 0; answer <= 1; answer++) {
                        _cleanup_free_ char *calls_plain = NULL, *calls_inih = NULL, *log_plain = NULL, *log_inih = NULL,
                                            *copy = strdup(cases[i].text);
                        IniFile probe = { .path = path };
                        int r_plain, r_inih;

                        test_write(dir, "/test.ini", cases[i].text);
                        parse(path, false, answer, &r_plain, &calls_plain, &log_plain);
                        parse(path, true, answer, &r_inih, &calls_inih, &log_inih);
                        if (r_plain != r_inih || !streq(calls_plain, calls_inih) || !streq(log_plain, log_inih))
                                fail_msg("case %zu (handler returns %d): plain reader %d:\n%s%s\ninih %d:\n%s%s", i, answer,
                                         r_plain, calls_plain, log_plain, r_inih, calls_inih, log_inih);
                        /* And the plain reader did take the plain ones (so the comparison above compared it). */
                        assert_non_null(copy);
                        {
                                _cleanup_fclose_ FILE *null = fopen("/dev/null", "we");
                                int plain;

                                assert_non_null(null);
                                plain = ini_file_parse_plain(&probe, copy, strlen(copy), record,
                                                             &(Calls) { .ini = &probe, .f = null, .answer = 1 });
                                if (plain != cases[i].plain)
                                        fail_msg("case %zu: plain reader says %d, expected %d", i, plain, cases[i].plain);
                        }
                }
        test_rmroot(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_like_inih),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
