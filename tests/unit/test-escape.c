/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "escape.h"
#include "json.h"

static void test_utf8(void **state) {
        assert_int_equal(utf8_sequence_length("a", 1), 1);
        assert_int_equal(utf8_sequence_length("\xc3\xa0", 2), 2);
        assert_int_equal(utf8_sequence_length("\xc3\xa0", 1), 0);         /* cut short by the length */
        assert_int_equal(utf8_sequence_length("\xe2\x82\xac", 3), 3);     /* € */
        assert_int_equal(utf8_sequence_length("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
        assert_int_equal(utf8_sequence_length("\xa0", 1), 0);             /* a lone continuation byte */
        assert_int_equal(utf8_sequence_length("\xc0\xaf", 2), 0);         /* overlong '/' */
        assert_int_equal(utf8_sequence_length("\xe0\x80\xaf", 3), 0);     /* overlong, three bytes */
        assert_int_equal(utf8_sequence_length("\xed\xa0\x80", 3), 0);     /* a surrogate */
        assert_int_equal(utf8_sequence_length("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
        assert_int_equal(utf8_sequence_length("\xff", 1), 0);
        assert_true(utf8_is_valid("voil\xc3\xa0 \xe2\x82\xac"));
        assert_false(utf8_is_valid("voil\xc3"));
        assert_false(utf8_is_valid("voil\xe0 x"));
}

static void test_escape_text(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "" },
                { "/boot/loader/entries/a.conf", "/boot/loader/entries/a.conf" },
                { "voil\xc3\xa0 \xe2\x82\xac", "voil\xc3\xa0 \xe2\x82\xac" },            /* valid UTF-8 kept */
                { "a\x1b]0;t\x07" "b", "a\\x1b]0;t\\x07b" },                         /* C0 */
                { "a\nb\tc\rd", "a\\x0ab\\x09c\\x0dd" },                                 /* newline and tab too */
                { "x\x7fy", "x\\x7fy" },                                                 /* DEL */
                { "\xc2\x9b" "31m", "\\xc2\\x9b31m" },                                   /* C1 CSI: both bytes */
                { "\xc2\xa0", "\xc2\xa0" },                                              /* U+00A0 is not a control */
                { "voil\xe0", "voil\\xe0" },                                             /* Latin-1, not UTF-8 */
                { "\x9b" "2J", "\\x9b2J" },                                              /* a lone 8-bit CSI */
                { "\xc3", "\\xc3" },                                                     /* cut short at the end */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },                                   /* a surrogate */
                { "back\\slash \\x41", "back\\slash \\x41" },                            /* kept as it is */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = escape_text(cases[i].in), *again = NULL;

                assert_non_null(e);
                assert_string_equal(e, cases[i].out);
                /* Idempotent, and always valid UTF-8 without controls. */
                again = escape_text(e);
                assert_string_equal(again, e);
                assert_true(utf8_is_valid(e));
        }
}

static void test_fwrite_escaped(void **state) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        assert_non_null(f);
        /* A length, not a NUL, ends it: a NUL inside is escaped, a sequence cut by the length too. */
        fwrite_escaped("a\0b\xc3\xa0\xc3\xa0", 5, f);
        fputs_escaped("|\x1b", f);
        fclose(f);
        assert_string_equal(out, "a\\x00b\xc3\xa0|\\x1b");
}

static void test_escape_buffer(void **state) {
        _cleanup_escape_buffer_ EscapeBuffer b = {};
        const char *x = escaped(&b, "a\x1b"), *y = escaped(&b, "b");

        assert_string_equal(x, "a\\x1b");
        assert_string_equal(y, "b");
        assert_null(escaped(&b, NULL));
        assert_int_equal(b.n, 2);
}

static char *json_of(const char *s) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        json_write_quoted(f, s);
        fclose(f);
        return out;
}

static void test_json_rule(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "voil\xc3\xa0", "\"voil\xc3\xa0\"" },
                { "q\"b\\n\n\t\r", "\"q\\\"b\\\\n\\n\\t\\r\"" },
                { "\x1b[2J\x7f", "\"\\u001b[2J\\u007f\"" },
                { "\xc2\x9b", "\"\\u009b\"" },
                /* Not UTF-8: the four characters \xNN (a JSON "\\xNN"), the document stays UTF-8. */
                { "voil\xe0 \xff\xc3", "\"voil\\\\xe0 \\\\xff\\\\xc3\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *j = json_of(cases[i].in);
                assert_string_equal(j, cases[i].out);
                assert_true(utf8_is_valid(j));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_escape_text),
                cmocka_unit_test(test_fwrite_escaped),
                cmocka_unit_test(test_escape_buffer),
                cmocka_unit_test(test_json_rule),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
