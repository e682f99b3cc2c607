/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "boot-grub.h"
#include "log.h"
#include "strv.h"

static char * const owned[] = { "iommu", "intel_iommu", "amd_iommu", "iommu.passthrough", "iommu.strict", NULL };

/* Rewrites text; append may be NULL. Returns the new text or NULL on refusal. */
static char *rewrite(const char *text, const char *append, bool *ret_sets_linux) {
        _cleanup_cmdline_ Cmdline *a = NULL;
        GrubRewriteResult res = {};

        if (append)
                assert_int_equal(cmdline_parse(append, &a), 0);
        if (grub_defaults_rewrite("test", text, owned, a, NULL, &res) < 0)
                return NULL;
        if (ret_sets_linux)
                *ret_sets_linux = res.sets_linux;
        return res.text;
}

static void check(const char *in, const char *append, const char *out) {
        _cleanup_free_ char *s = rewrite(in, append, NULL);
        assert_non_null(s);
        assert_string_equal(s, out);
        /* Idempotent. */
        _cleanup_free_ char *again = rewrite(s, append, NULL);
        assert_string_equal(again, out);
}

static void test_quoting_kept(void **state) {
        check("GRUB_CMDLINE_LINUX=\"quiet iommu=soft\"\n", NULL, "GRUB_CMDLINE_LINUX=\"quiet\"\n");
        check("GRUB_CMDLINE_LINUX='quiet intel_iommu=off'  # comment\n", NULL, "GRUB_CMDLINE_LINUX='quiet'  # comment\n");
        check("GRUB_CMDLINE_LINUX=quiet\\ iommu=off\n", NULL, "GRUB_CMDLINE_LINUX=\"quiet\"\n");
        check("export GRUB_CMDLINE_LINUX_DEFAULT=\"a \\\n  iommu=pt b\"\nX=1\n", NULL,
              "export GRUB_CMDLINE_LINUX_DEFAULT=\"a b\"\nX=1\n");
        /* Untouched lines stay byte for byte, odd spacing included. */
        check("GRUB_CMDLINE_LINUX=\"a   b\"\nGRUB_X=`date`\n", NULL, "GRUB_CMDLINE_LINUX=\"a   b\"\nGRUB_X=`date`\n");
        check("A='x'\"y\"\nGRUB_CMDLINE_LINUX=\"\"\n", NULL, "A='x'\"y\"\nGRUB_CMDLINE_LINUX=\"\"\n");
}

static void test_self_reference(void **state) {
        check("GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=off x\"\n", NULL, "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX x\"\n");
        check("GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} amd_iommu=off\"\n", NULL,
              "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n");
}

static void test_append(void **state) {
        /* Elsewhere than Debian the tokens go into the last GRUB_CMDLINE_LINUX. */
        check("GRUB_CMDLINE_LINUX=\"a iommu=off\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX b\"\n", "intel_iommu=on iommu=pt",
              "GRUB_CMDLINE_LINUX=\"a\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX b intel_iommu=on iommu=pt\"\n");
        check("GRUB_TIMEOUT=5", "iommu=pt", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n");
        check("GRUB_CMDLINE_LINUX='q' # c\n", "iommu=pt", "GRUB_CMDLINE_LINUX='q iommu=pt' # c\n");
}

static void test_sets_linux(void **state) {
        bool sets = true;
        _cleanup_free_ char *a = rewrite("GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX x\"\n", NULL, &sets);
        assert_non_null(a);
        assert_false(sets);
        _cleanup_free_ char *b = rewrite("GRUB_CMDLINE_LINUX=\"x\"\n", NULL, &sets);
        assert_non_null(b);
        assert_true(sets);
}

static void test_refused(void **state) {
        static const char * const bad[] = {
                "GRUB_CMDLINE_LINUX=\"$(cat /x)\"\n",
                "GRUB_CMDLINE_LINUX=`cat /x`\n",
                "GRUB_CMDLINE_LINUX=\"$OTHER x\"\n",
                "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX x\"\n",
                "GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX:-x}\"\n",
                "GRUB_CMDLINE_LINUX=a; GRUB_TIMEOUT=1\n",
                "true && GRUB_CMDLINE_LINUX=a\n",
                "if true; then GRUB_CMDLINE_LINUX=a; fi\n",
                "if [ -d /sys/firmware ]; then\n  GRUB_CMDLINE_LINUX=a\nfi\n",
                "case $x in\n*) GRUB_CMDLINE_LINUX=a ;;\nesac\n",
                "GRUB_CMDLINE_LINUX=\"a\n",
                "GRUB_CMDLINE_LINUX=a b\n",
                "GRUB_CMDLINE_LINUX+=\" a\"\n",
                "eval GRUB_CMDLINE_LINUX=a\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *s = rewrite(bad[i], NULL, NULL);
                if (s)
                        fail_msg("accepted: %s -> %s", bad[i], s);
        }
        /* Compound commands that do not touch the command line are fine, and close properly. */
        check("if [ -d /sys/firmware/efi ]; then\n  GRUB_TIMEOUT=1\nfi\nGRUB_CMDLINE_LINUX=\"iommu=off\"\n", NULL,
              "if [ -d /sys/firmware/efi ]; then\n  GRUB_TIMEOUT=1\nfi\nGRUB_CMDLINE_LINUX=\"\"\n");
        check("FOO=\"$GRUB_CMDLINE_LINUX single\"\n", NULL, "FOO=\"$GRUB_CMDLINE_LINUX single\"\n");
        check("# GRUB_CMDLINE_LINUX=$(evil)\n", NULL, "# GRUB_CMDLINE_LINUX=$(evil)\n");
}

static void test_dropin(void **state) {
        _cleanup_cmdline_ Cmdline *w = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &w), 0);
        assert_int_equal(grub_dropin_contents("gpu-sriov", w, &s), 0);
        assert_non_null(strstr(s, "\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt\"\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quoting_kept),
                cmocka_unit_test(test_self_reference),
                cmocka_unit_test(test_append),
                cmocka_unit_test(test_sets_linux),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_dropin),
        };
        log_set_max_level(LOG_LEVEL_ERROR - 1); /* the refusals are expected */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
