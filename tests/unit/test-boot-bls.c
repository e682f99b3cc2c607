/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "boot-bls.h"

static char * const owned[] = { "iommu", "intel_iommu", "amd_iommu", "iommu.passthrough", "iommu.strict", NULL };

static void check(const char *in, const char *wanted, const char *out, bool kernelopts) {
        _cleanup_cmdline_ Cmdline *w = NULL;
        _cleanup_free_ char *s = NULL, *again = NULL;
        bool k;

        assert_int_equal(cmdline_parse(wanted, &w), 0);
        assert_int_equal(bls_entry_rewrite(in, owned, w, NULL, &s, &k), 0);
        assert_string_equal(s, out);
        assert_int_equal(k, kernelopts);
        assert_int_equal(bls_entry_rewrite(s, owned, w, NULL, &again, &k), 0);
        assert_string_equal(again, out);
}

static void test_options(void **state) {
        check("title A\noptions root=/dev/sda ro iommu=off\nlinux /vmlinuz\n", "iommu=pt",
              "title A\noptions root=/dev/sda ro iommu=pt\nlinux /vmlinuz\n", false);
        /* Key spacing, trailing blanks, a last line without newline, unknown keys. */
        check("options\t  ro   quiet  \nx-foo bar\ngrub_class kernel", "iommu=pt",
              "options\t  ro   quiet iommu=pt  \nx-foo bar\ngrub_class kernel", false);
        /* Several options lines are one command line: remove everywhere, append to the last. */
        check("options root=x amd_iommu=off\noptions quiet\n", "intel_iommu=on iommu=pt",
              "options root=x\noptions quiet intel_iommu=on iommu=pt\n", false);
        check("options root=x\noptions iommu=off\n", "iommu=pt", "options root=x\noptions iommu=pt\n", false);
        check("options iommu=off\noptions root=x\n", "iommu=pt", "options root=x iommu=pt\n", false);
        /* Already in sync across lines: untouched. */
        check("options root=x intel_iommu=on\noptions  iommu=pt\n", "intel_iommu=on iommu=pt",
              "options root=x intel_iommu=on\noptions  iommu=pt\n", false);
        /* No options line at all. */
        check("title A\nlinux /vmlinuz", "iommu=pt", "title A\nlinux /vmlinuz\noptions iommu=pt\n", false);
        /* "optionsfoo" is another key; "# options" a comment. */
        check("# options iommu=off\noptionsx iommu=off\noptions a\n", "iommu=pt",
              "# options iommu=off\noptionsx iommu=off\noptions a iommu=pt\n", false);
        /* init arguments stay last. */
        check("options ro -- single\n", "iommu=pt", "options ro iommu=pt -- single\n", false);
}

/* Rewrites splice: every byte outside the owned tokens stays, 0xA0 (kernel whitespace, and the
 * second byte of UTF-8 "à") included; the tokens go before " -- ". */
static void test_splice(void **state) {
        check("options root=/dev/sda1 ro systemd.hostname=voil\xc3\xa0 -- single\n", "intel_iommu=on iommu=pt",
              "options root=/dev/sda1 ro systemd.hostname=voil\xc3\xa0 intel_iommu=on iommu=pt -- single\n", false);
        check("options systemd.hostname=voil\xc3\xa0\n", "iommu=pt", "options systemd.hostname=voil\xc3\xa0 iommu=pt\n", false);
        check("options a=voil\xc3\xa0 iommu=off  b\n", "iommu=pt", "options a=voil\xc3\xa0  b iommu=pt\n", false);
        check("options iommu=off\t x\n", "", "options x\n", false);
        /* "--" on an earlier line: the later lines are init's too; owned tokens there are init's. */
        check("options ro -- single\noptions iommu=off\n", "iommu=pt", "options ro iommu=pt -- single\noptions iommu=off\n", false);
        check("options -- single\n", "iommu=pt", "options iommu=pt -- single\n", false);
}

/* systemd's read_line(): a bare CR ends a line, so the initrd line after it is its own. */
static void test_line_ends(void **state) {
        _cleanup_free_ char *o = NULL;

        check("options ro iommu=off\rinitrd /initrd.img\r\n", "iommu=pt", "options ro iommu=pt\rinitrd /initrd.img\r\n", false);
        check("options ro\r\ninitrd /i\n\roptions quiet\n", "iommu=pt", "options ro\r\ninitrd /i\n\roptions quiet iommu=pt\n", false);
        assert_int_equal(bls_entry_options("options a\rinitrd /x\roptions b\n", &o), 0);
        assert_string_equal(o, "a b");
        /* A quote that spans two options lines: one token, as the joined line is read. */
        check("options a=\"x\noptions y\" iommu=off\n", "iommu=pt", "options a=\"x\noptions y\" iommu=pt\n", false);
        {
                _cleanup_cmdline_ Cmdline *w = NULL;
                _cleanup_free_ char *s = NULL;
                bool k;
                /* An owned token quoted across the lines cannot be cut from one of them. */
                assert_int_equal(cmdline_parse("iommu=pt", &w), 0);
                assert_int_equal(bls_entry_rewrite("options \"iommu=off\noptions x\"\n", owned, w, NULL, &s, &k), -EBADMSG);
        }
}

static void test_kernelopts(void **state) {
        check("options $kernelopts $tuned_params\n", "iommu=pt", "options $kernelopts $tuned_params\n", true);
        check("options $kernelopts $tuned_params intel_iommu=off\n", "iommu=pt", "options $kernelopts $tuned_params\n", true);
}

static void test_grubenv(void **state) {
        _cleanup_free_ char *v = NULL, *w = NULL;
        const char *env = "# GRUB Environment Block\nsaved_entry=abc\nkernelopts=root=/dev/x ro a\\\\b\n####";

        assert_int_equal(grubenv_get(env, "kernelopts", &v), 0);
        assert_string_equal(v, "root=/dev/x ro a\\b");
        assert_int_equal(grubenv_get(env, "saved_entry", &w), 0);
        assert_string_equal(w, "abc");
        assert_int_equal(grubenv_get(env, "saved", &w), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_options),
                cmocka_unit_test(test_splice),
                cmocka_unit_test(test_line_ends),
                cmocka_unit_test(test_kernelopts),
                cmocka_unit_test(test_grubenv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
