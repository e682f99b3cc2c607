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
        /* Spliced: the owned token's bytes and the blank before it go, nothing else changes. */
        check("GRUB_CMDLINE_LINUX=quiet\\ iommu=off\n", NULL, "GRUB_CMDLINE_LINUX=quiet\n");
        check("export GRUB_CMDLINE_LINUX_DEFAULT=\"a \\\n  iommu=pt b\"\nX=1\n", NULL,
              "export GRUB_CMDLINE_LINUX_DEFAULT=\"a b\"\nX=1\n");
        /* Untouched lines stay byte for byte, odd spacing included. */
        check("GRUB_CMDLINE_LINUX=\"a   b\"\nGRUB_X=`date`\n", NULL, "GRUB_CMDLINE_LINUX=\"a   b\"\nGRUB_X=`date`\n");
        check("A='x'\"y\"\nGRUB_CMDLINE_LINUX=\"\"\n", NULL, "A='x'\"y\"\nGRUB_CMDLINE_LINUX=\"\"\n");
}

static void test_self_reference(void **state) {
        check("GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=off x\"\n", NULL, "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX x\"\n");
        check("GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} amd_iommu=off\"\n", NULL,
              "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT}\"\n");
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

/* The shapes issue #20 found; each checked against dash by tests/integration/test-grub-shell.sh too. */
static void test_shell_shapes(void **state) {
        static const char * const refused[] = {
                /* Block counting: "if" after "&&", two "if"s on a line, ')' inside "$(...)". */
                "true && if false; then\nGRUB_CMDLINE_LINUX=\"a\"\nfi\n",
                "if true; then if false; then :; fi; GRUB_CMDLINE_LINUX=a; fi\n",
                "if false; then X=$(echo \")\"); GRUB_CMDLINE_LINUX=a; fi\n",
                "if false; then X=$(echo x)\nGRUB_CMDLINE_LINUX=a\nfi\n",
                "f() { GRUB_CMDLINE_LINUX=a; }\n",
                "f() { :; }\nGRUB_CMDLINE_LINUX=a\nf\n",
                "GRUB_CMDLINE_LINUX=a | cat\n",
                "GRUB_CMDLINE_LINUX=a &\n",
                "GRUB_CMDLINE_LINUX=a true\n",
                "( GRUB_CMDLINE_LINUX=a )\n",
                /* Sourcing after the last assignment, however written. */
                "GRUB_CMDLINE_LINUX=a\n[ -f /etc/default/grub.local ] && . /etc/default/grub.local\n",
                "GRUB_CMDLINE_LINUX=a\ncommand . /etc/x\n",
                "GRUB_CMDLINE_LINUX=a\n\\. /etc/x\n",
                "GRUB_CMDLINE_LINUX=a\n\".\" /etc/x\n",
                "GRUB_CMDLINE_LINUX=a; . /etc/x\n",
                "GRUB_CMDLINE_LINUX=a\n$CMD /etc/x\n",
                /* Other ways to set it. */
                ": ${GRUB_CMDLINE_LINUX:=x}\n",
                "read GRUB_CMDLINE_LINUX < /etc/x\n",
                "unset GRUB_CMDLINE_LINUX\n",
                "for GRUB_CMDLINE_LINUX in a; do :; done\n",
                /* '~' is expanded by bash (and by dash when HOME is set). */
                "GRUB_CMDLINE_LINUX=~/x\n",
                "GRUB_CMDLINE_LINUX=a:~/x\n",
                /* Syntax errors for sh, found by test-parsers-shell.py. */
                "true && {\n}\nGRUB_CMDLINE_LINUX=a\n",
                "if true; then\nfi\nGRUB_CMDLINE_LINUX=a\n",
                "{; GRUB_CMDLINE_LINUX_DEFAULT=q\n}\nGRUB_CMDLINE_LINUX=a\n",
                "GRUB_CMDLINE_LINUX=a\n; X=1\n",
                "X=1 && && Y=2\nGRUB_CMDLINE_LINUX=a\n",
                /* An expanding here-document body with a command substitution. */
                "cat << EOF\n$(x\nEOF\nGRUB_CMDLINE_LINUX=a\n",
                /* What a later line adds after an earlier " -- " is init's. */
                "GRUB_CMDLINE_LINUX=\"a -- b\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX c\"\n",
                "GRUB_CMDLINE_LINUX=\"a -- $GRUB_CMDLINE_LINUX\"\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                char *s = rewrite(refused[i], "intel_iommu=on", NULL);
                if (s)
                        fail_msg("accepted: %s -> %s", refused[i], s);
        }

        /* Several assignments in one command, after "export", a continued name. */
        check("GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX=\"root=/dev/sda1 intel_iommu=off\"\n", "intel_iommu=on iommu=pt",
              "GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX=\"root=/dev/sda1 intel_iommu=on iommu=pt\"\n");
        check("export A=1 GRUB_CMDLINE_LINUX=\"root=/dev/sda1 iommu=off\"\n", "iommu=pt",
              "export A=1 GRUB_CMDLINE_LINUX=\"root=/dev/sda1 iommu=pt\"\n");
        check("GRUB_CMDLINE_\\\nLINUX=\"root=x iommu=off\"\n", "iommu=pt", "GRUB_CMDLINE_\\\nLINUX=\"root=x iommu=pt\"\n");
        check("A=1; GRUB_CMDLINE_LINUX='q'; B=2\n", "iommu=pt", "A=1; GRUB_CMDLINE_LINUX='q iommu=pt'; B=2\n");
        check("if a; then b; fi; { c; } && (d) | e\nGRUB_CMDLINE_LINUX=q\n", NULL, "if a; then b; fi; { c; } && (d) | e\nGRUB_CMDLINE_LINUX=q\n");
        /* Balanced blocks, '}' in words, "<<" in quotes, ')' in "$(...)": the assignment after them runs. */
        check("if a; then if b; then :; fi; fi\necho a} }\nX=\"a << EOF\"\nY=$(echo \")\")\nGRUB_CMDLINE_LINUX=\"iommu=off\"\n",
              "iommu=pt",
              "if a; then if b; then :; fi; fi\necho a} }\nX=\"a << EOF\"\nY=$(echo \")\")\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n");
        check("cat << 'EOF'\nGRUB_X=1 $(\nEOF\nGRUB_CMDLINE_LINUX=a\n", "iommu=pt",
              "cat << 'EOF'\nGRUB_X=1 $(\nEOF\nGRUB_CMDLINE_LINUX=a\" iommu=pt\"\n");
        /* Sourcing before the last plain assignment is overridden by it. */
        check(". /etc/x\nGRUB_CMDLINE_LINUX=a\n", "iommu=pt", ". /etc/x\nGRUB_CMDLINE_LINUX=a\" iommu=pt\"\n");
        /* Before " -- ", quoted or not; empty values. */
        check("GRUB_CMDLINE_LINUX=\"root=x -- single\"\n", "iommu=pt", "GRUB_CMDLINE_LINUX=\"root=x iommu=pt -- single\"\n");
        check("GRUB_CMDLINE_LINUX=root=x\\ --\\ single\n", "iommu=pt", "GRUB_CMDLINE_LINUX=root=x\\ \"iommu=pt \"--\\ single\n");
        check("GRUB_CMDLINE_LINUX=\n", "iommu=pt", "GRUB_CMDLINE_LINUX=\"iommu=pt\"\n");
        check("GRUB_CMDLINE_LINUX=''\n", "iommu=pt", "GRUB_CMDLINE_LINUX='iommu=pt'\n");
        check("GRUB_CMDLINE_LINUX=\"~/x\"\n", NULL, "GRUB_CMDLINE_LINUX=\"~/x\"\n");
        check("cat << 'EOF'\n$(x\nEOF\nGRUB_CMDLINE_LINUX=a\n", NULL, "cat << 'EOF'\n$(x\nEOF\nGRUB_CMDLINE_LINUX=a\n");
        /* Owned tokens after an earlier " -- " are init's: kept. */
        check("GRUB_CMDLINE_LINUX=\"a -- iommu=off\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=off\"\n", NULL,
              "GRUB_CMDLINE_LINUX=\"a -- iommu=off\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=off\"\n");
        /* A backslash that stands for itself keeps doing so. */
        check("GRUB_CMDLINE_LINUX=\"a\\ iommu=off\"\n", "iommu=pt", "GRUB_CMDLINE_LINUX=\"a\\ iommu=pt\"\n");
        assert_null(rewrite("GRUB_CMDLINE_LINUX=\"a\\ iommu=off\"\n", NULL, NULL));
        {
                /* The value comes only from a sourced file: an assignment added at the end would drop it. */
                char *s = rewrite("[ -f /etc/x ] && . /etc/x\n", "iommu=pt", NULL);
                assert_null(s);
        }
}

static void test_final_value(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        assert_int_equal(grub_defaults_final_value("t", "GRUB_CMDLINE_LINUX=a\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX b\"\n",
                                                   "GRUB_CMDLINE_LINUX", "x", &a), 0);
        assert_string_equal(a, "a b");
        assert_int_equal(grub_defaults_final_value("t", "GRUB_TIMEOUT=5 GRUB_CMDLINE_LINUX_DEFAULT=q\\ r\n",
                                                   "GRUB_CMDLINE_LINUX_DEFAULT", NULL, &b), 0);
        assert_string_equal(b, "q r");
        assert_int_equal(grub_defaults_final_value("t", ". /x\n", "GRUB_CMDLINE_LINUX", NULL, &b), -EUCLEAN);
        {
                /* Any variable, GRUB_DEFAULT for status: the same rules. */
                _cleanup_free_ char *d = NULL;
                assert_int_equal(grub_defaults_final_value("t", "GRUB_TIMEOUT=5 GRUB_DEFAULT='1>2'\nX=\"$GRUB_DEFAULT\"\n",
                                                           "GRUB_DEFAULT", NULL, &d), 0);
                assert_string_equal(d, "1>2");
                assert_int_equal(grub_defaults_final_value("t", "if x; then GRUB_DEFAULT=1; fi\n", "GRUB_DEFAULT", NULL, &d),
                                 -EINVAL);
        }
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
                cmocka_unit_test(test_shell_shapes),
                cmocka_unit_test(test_final_value),
                cmocka_unit_test(test_dropin),
        };
        log_set_max_level(LOG_LEVEL_ERROR - 1); /* the refusals are expected */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
