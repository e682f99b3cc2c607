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
              "options\t  ro quiet iommu=pt  \nx-foo bar\ngrub_class kernel", false);
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
                cmocka_unit_test(test_kernelopts),
                cmocka_unit_test(test_grubenv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
