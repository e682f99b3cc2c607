/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lint.h"

typedef struct Expect {
        const char *cmdline;
        Arch arch;
        size_t errors, warnings;
        const char *needle; /* must appear in a message or fix */
} Expect;

static void check(const Expect *e) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        LintReport r = {};
        bool found = !e->needle;

        assert_int_equal(cmdline_parse(e->cmdline, &c), 0);
        assert_int_equal(lint_cmdline(c, e->arch, &r), 0);
        for (size_t i = 0; i < r.n_findings; i++) {
                if (e->needle && (strstr(r.findings[i].message, e->needle) ||
                                  (r.findings[i].fix && strstr(r.findings[i].fix, e->needle))))
                        found = true;
        }
        if (lint_report_count(&r, SEVERITY_ERROR) != e->errors || lint_report_count(&r, SEVERITY_WARNING) != e->warnings || !found) {
                for (size_t i = 0; i < r.n_findings; i++)
                        print_message("  %s: %s (fix: %s)\n", severity_to_string(r.findings[i].severity),
                                      r.findings[i].message, strna(r.findings[i].fix));
                fail_msg("'%s' on %s: expected %zu errors, %zu warnings, mentioning '%s'", e->cmdline,
                         arch_to_string(e->arch), e->errors, e->warnings, strna(e->needle));
        }
        lint_report_done(&r);
}

static void test_clean_lines(void **state) {
        static const Expect cases[] = {
                { "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet", ARCH_X86_64, 0, 0 },
                { "intel_iommu=on iommu=pt", ARCH_X86_64, 0, 0 },
                { "iommu=pt", ARCH_X86_64, 0, 0 },
                { "intel_iommu=on iommu.passthrough=0 iommu.strict=1", ARCH_X86_64, 0, 0 },
                { "intel_iommu=off amd_iommu=off iommu=off", ARCH_X86_64, 0, 0 },
                { "iommu.passthrough=1", ARCH_AARCH64, 0, 0 },
                { "iommu.passthrough=0 iommu.strict=1", ARCH_AARCH64, 0, 0 },
                { "intel-iommu=on,sm_on iommu=pt,nomerge", ARCH_X86_64, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i]);
}

static void test_popular_mistakes(void **state) {
        static const Expect cases[] = {
                /* The core issue's acceptance: both mistakes, with their fixes. */
                { "intel_iommu=on iommu=strict amd_iommu=on", ARCH_X86_64, 2, 0, "iommu.strict=1" },
                { "intel_iommu=on iommu=strict amd_iommu=on", ARCH_X86_64, 2, 0, "Unknown option" },
                { "intel_iommu=off amd_iommu=off iommu=on", ARCH_X86_64, 1, 0, "ignored" },
                { "iommu=passthrough", ARCH_X86_64, 1, 0, "iommu=pt" },
                { "intel_iommu=pt", ARCH_X86_64, 1, 0, "Unknown option" },
                { "iommu=foo", ARCH_X86_64, 1, 0, "without a word" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i]);
}

static void test_deprecated(void **state) {
        static const Expect cases[] = {
                { "intel_iommu=strict", ARCH_X86_64, 0, 1, "iommu.strict=1" },
                { "amd_iommu=fullflush", ARCH_X86_64, 0, 1, "iommu.strict=1" },
                { "intel_iommu=on,forcedac", ARCH_X86_64, 0, 1, "iommu.forcedac=1" },
                { "iommu=forcesac", ARCH_X86_64, 0, 0 }, /* prefix-matches "force", which the kernel acts on */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i]);
}

static void test_architecture(void **state) {
        static const Expect cases[] = {
                { "iommu=pt", ARCH_AARCH64, 1, 0, "iommu.passthrough=1" },
                { "intel_iommu=on", ARCH_AARCH64, 1, 0, "does not exist on aarch64" },
                { "arm_smmu_v3.disable_bypass=0", ARCH_X86_64, 1, 0, "does not exist on x86_64" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i]);
}

static void test_values_and_conflicts(void **state) {
        static const Expect cases[] = {
                { "iommu.strict=maybe", ARCH_X86_64, 1, 0, "not a boolean" },
                { "iommu.passthrough", ARCH_X86_64, 1, 0, "needs a value" },
                { "iommu=pt iommu.passthrough=0", ARCH_X86_64, 1, 0, "opposite" },
                { "iommu=pt,nopt", ARCH_X86_64, 1, 0, "contradict" },
                { "intel_iommu=on iommu=off", ARCH_X86_64, 1, 0, "iommu=off" },
                { "iommu.passthrough=1 iommu.strict=1", ARCH_X86_64, 0, 1, "no effect" },
                { "iommu=pt iommu=nopt", ARCH_X86_64, 0, 1, "last one" },
                { "iommu=pt iommu=pt", ARCH_X86_64, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i]);
}

/* lint --kernel: what this kernel does with the line. */
static void test_for_kernel(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL, *d = NULL;
        LintReport r = {};
        KernelInfo k;

        kernel_info_default(ARCH_X86_64, &k);
        k.version = KERNEL_VERSION(5, 10);
        kernel_config_defaults(ARCH_X86_64, k.version, &k.config);
        assert_int_equal(cmdline_parse("amd_iommu=on iommu=pt", &c), 0);
        assert_int_equal(lint_cmdline_for_kernel(c, &k, VENDOR_AMD, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_non_null(strstr(r.findings[0].message, "5.10 ignores it without a word"));
        lint_report_done(&r);

        k.version = KERNEL_VERSION(6, 12);
        kernel_config_defaults(ARCH_X86_64, k.version, &k.config);
        assert_int_equal(lint_cmdline_for_kernel(c, &k, VENDOR_AMD, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_non_null(strstr(r.findings[0].message, "Unknown option"));
        lint_report_done(&r);

        /* With no build configuration read, a default is an assumption: a note, no advice to remove. */
        assert_int_equal(cmdline_parse("iommu.strict=0", &d), 0);
        assert_int_equal(lint_cmdline_for_kernel(d, &k, _VENDOR_INVALID, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_int_equal(r.findings[0].severity, SEVERITY_NOTE);
        assert_null(r.findings[0].fix);
        assert_non_null(strstr(r.findings[0].message, "depends on the build"));
        lint_report_done(&r);
        /* Already the build default of a configuration that was read: a warning, for Intel and AMD alike. */
        k.config_source = (char *) "/boot/config-6.12.117+deb13-amd64";
        assert_int_equal(lint_cmdline_for_kernel(d, &k, _VENDOR_INVALID, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_int_equal(r.findings[0].severity, SEVERITY_WARNING);
        assert_non_null(strstr(r.findings[0].message, "CONFIG_IOMMU_DEFAULT_DMA_LAZY"));
        lint_report_done(&r);
        /* A build that defaults to strict makes it a real choice. */
        k.config.default_strict = 1;
        assert_int_equal(lint_cmdline_for_kernel(d, &k, _VENDOR_INVALID, &r), 0);
        assert_int_equal(r.n_findings, 0);
        lint_report_done(&r);
}

/* Issue 21's acceptance lines: no advice to remove a token the profiles write when only the build can
 * tell; of two tokens that each turn AMD-Vi off, at most one is advice to remove. */
static void test_no_advice_that_breaks_nodes(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL, *d = NULL;
        LintReport r = {};
        KernelInfo k;
        size_t remove = 0;

        kernel_info_default(ARCH_X86_64, &k);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &c), 0);
        assert_int_equal(lint_cmdline_for_kernel(c, &k, _VENDOR_INVALID, &r), 0);
        for (size_t i = 0; i < r.n_findings; i++) {
                assert_int_not_equal(r.findings[i].severity, SEVERITY_WARNING);
                assert_true(!r.findings[i].fix || !strstr(r.findings[i].fix, "remove"));
        }
        lint_report_done(&r);
        assert_int_equal(cmdline_parse("amd_iommu=off iommu=off", &d), 0);
        assert_int_equal(lint_cmdline_for_kernel(d, &k, VENDOR_AMD, &r), 0);
        for (size_t i = 0; i < r.n_findings; i++)
                remove += r.findings[i].fix && strstr(r.findings[i].fix, "remove");
        assert_true(remove <= 1);
        lint_report_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_for_kernel),
                cmocka_unit_test(test_no_advice_that_breaks_nodes),
                cmocka_unit_test(test_clean_lines),
                cmocka_unit_test(test_popular_mistakes),
                cmocka_unit_test(test_deprecated),
                cmocka_unit_test(test_architecture),
                cmocka_unit_test(test_values_and_conflicts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
