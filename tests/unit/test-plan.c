/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host.h"
#include "plan.h"
#include "strv.h"
#include "test-util.h"

static Profile *load(const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_load("/nonexistent-root", name, &p), 0);
        return p;
}

static void test_acceptance(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_(plan_done) Plan plan = {}, again = {};
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL,
                                      "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=off iommu=strict -- single", &plan), 0);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single");
        assert_false(plan.in_sync);
        assert_int_equal(plan.n_changes, 4);
        assert_int_equal(plan.changes[0].action, PLAN_REMOVE);
        assert_string_equal(plan.changes[0].token, "intel_iommu=off");
        assert_int_equal(plan.changes[1].action, PLAN_REMOVE);
        assert_non_null(strstr(plan.changes[1].why, "iommu.strict=1"));
        assert_int_equal(plan.changes[2].action, PLAN_ADD);
        assert_string_equal(plan.changes[3].token, "iommu=pt");
        assert_true(plan.predicted.groups);
        assert_int_equal(plan.predicted.domain, DOMAIN_IDENTITY);

        /* The engine on its own output changes nothing. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, s, &again), 0);
        s2 = cmdline_to_string(again.result);
        assert_string_equal(s2, s);
        assert_true(again.in_sync);
        for (size_t i = 0; i < again.n_changes; i++)
                assert_int_equal(again.changes[i].action, PLAN_KEEP);
}

/* Issue 11's acceptance line: the profile's tokens in another order are in sync. */
static void test_any_order(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;
        const char *line = "root=/dev/sda iommu.strict=1 iommu.passthrough=0 intel_iommu=on";

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, line, &plan), 0);
        assert_true(plan.in_sync);
        assert_int_equal(plan.sync, SYNC_IN_SYNC);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, line);
        assert_null(plan.dropped);
        for (size_t i = 0; i < plan.n_changes; i++)
                assert_int_equal(plan.changes[i].action, PLAN_KEEP);
}

/* An owned token that changes nothing does not break the sync; one that changes the effect does. */
static void test_inert_extra_token(void **state) {
        _cleanup_profile_ Profile *p = load("generic");
        _cleanup_(plan_done) Plan plan = {}, drift = {};
        _cleanup_free_ char *s = NULL;
        const char *line = "ro amd_iommu=off iommu=on intel_iommu=off";

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, line, &plan), 0);
        assert_int_equal(plan.sync, SYNC_IN_SYNC);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, line);

        /* A line that leaves the IOMMU on is drift; the rewrite drops iommu=on (ignored) and intel_iommu=on
         * (VT-d is on by default in this build), both changing nothing. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, "ro iommu=on intel_iommu=on", &drift), 0);
        assert_int_equal(drift.sync, SYNC_DRIFT);
        assert_non_null(drift.dropped);
        assert_string_equal(drift.dropped[0], "iommu=on");
        assert_string_equal(drift.dropped[1], "intel_iommu=on");
        assert_null(drift.dropped[2]);
        assert_non_null(strstr(drift.changes[0].why, "changes nothing"));
}

/* The line apply writes is in sync without a kernel model (the generator's fast path); another
 * order, an extra owned token or a missing one is left to the model. */
static void test_line_carries_profile(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        const struct { const char *line; bool carries; } cases[] = {
                { "ro quiet intel_iommu=on iommu=pt", true },
                { "intel_iommu=on ro iommu=pt quiet", true },
                { "ro iommu=pt intel_iommu=on", false },
                { "ro intel_iommu=on iommu=pt iommu=on", false },
                { "ro intel_iommu=on", false },
                { "ro", false },
        };

        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &wanted), 0);
        assert_int_equal(profile_owned_keys(p, &owned), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_cmdline_ Cmdline *cur = NULL;
                SyncState st;

                assert_int_equal(cmdline_parse(cases[i].line, &cur), 0);
                assert_int_equal(plan_line_carries_profile(cur, owned, wanted), cases[i].carries);
                /* Never a different answer than the model's. */
                assert_int_equal(plan_sync_state(NULL, VENDOR_INTEL, cur, owned, wanted, &st), 0);
                if (cases[i].carries)
                        assert_int_equal(st, SYNC_IN_SYNC);
        }
}

/* Same effect without the profile's own tokens: not drift, but plan still has something to add. */
static void test_same_effect(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_(plan_done) Plan plan = {};
        KernelInfo k;
        SyncState st;
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;

        /* VT-d is on by default in this build: iommu=pt alone does what intel_iommu=on iommu=pt does. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, "ro iommu=pt", &plan), 0);
        assert_int_equal(plan.sync, SYNC_SAME_EFFECT);
        assert_false(plan.in_sync);

        /* On a build with VT-d off by default it is drift. */
        kernel_info_default(ARCH_X86_64, &k);
        k.config.intel_default_on = 0;
        assert_int_equal(cmdline_parse("ro iommu=pt", &cur), 0);
        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &wanted), 0);
        assert_int_equal(profile_owned_keys(p, &owned), 0);
        assert_int_equal(plan_sync_state(&k, VENDOR_INTEL, cur, owned, wanted, &st), 0);
        assert_int_equal(st, SYNC_DRIFT);
}

/* The judgement is an argument: the same line is carried on AMD (amd_iommu=on is the default
 * there, so it changes nothing), and the merge of a line judged not to carry drops it. */
static void test_judge(void **state) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL, *m1 = NULL, *empty = NULL;
        _cleanup_free_ char *s1 = NULL;
        _cleanup_(sync_judge_done) SyncJudge amd = SYNC_JUDGE(NULL, VENDOR_AMD);
        KernelInfo k;

        assert_int_equal(cmdline_parse("ro iommu=pt amd_iommu=on", &cur), 0);
        assert_int_equal(cmdline_parse("iommu=pt", &wanted), 0);
        assert_int_equal(cmdline_parse("", &empty), 0);
        assert_int_equal(cmdline_merge(cur, iommu_owned_keys, wanted, &m1), 0);
        s1 = cmdline_to_string(m1);
        assert_string_equal(s1, "ro iommu=pt");

        amd.note_dropped = true;
        assert_true(sync_judge_carries(&amd, cur, iommu_owned_keys, wanted));
        assert_null(amd.dropped);
        /* Clearing the owned tokens: a line with any of them does not carry "nothing". */
        assert_false(sync_judge_carries(&amd, cur, iommu_owned_keys, empty));

        /* A line that does what intel_iommu=on iommu=pt does (VT-d on by default) but lacks one of
         * the tokens is not carried: same effect is not enough, every wanted token must be there. */
        kernel_info_default(ARCH_X86_64, &k);
        k.config.intel_default_on = 1;
        cmdline_free(wanted);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        assert_false(sync_judge_carries(&SYNC_JUDGE(&k, VENDOR_INTEL), cur, iommu_owned_keys, wanted));
}

/* Issue 19's case: intel_iommu=on iommu=pt amd_iommu=off on Intel carries gpu-sriov's tokens. */
static void test_judge_extra_inert(void **state) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL;
        _cleanup_(sync_judge_done) SyncJudge intel = SYNC_JUDGE(NULL, VENDOR_INTEL);

        assert_int_equal(cmdline_parse("root=/dev/sda1 intel_iommu=on iommu=pt amd_iommu=off", &cur), 0);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        assert_true(sync_judge_carries(&intel, cur, iommu_owned_keys, wanted));
        intel.note_dropped = true;
        /* Without intel_iommu=on it is not carried, and amd_iommu=off is noted as changing nothing. */
        cmdline_free(cur);
        assert_int_equal(cmdline_parse("root=/dev/sda1 iommu=pt amd_iommu=off", &cur), 0);
        assert_false(sync_judge_carries(&intel, cur, iommu_owned_keys, wanted));
        assert_non_null(intel.dropped);
        assert_string_equal(intel.dropped[0], "amd_iommu=off");
}

static void test_offline(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;

        assert_int_equal(plan_compute(p, VENDOR_PORTABLE, NULL, NULL, &plan), 0);
        assert_null(plan.current);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, "intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        assert_int_equal(plan.predicted.domain, DOMAIN_DMA);
}

static void test_no_args_for_vendor(void **state) {
        _cleanup_profile_ Profile *p = load("bare-metal");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *log = NULL;

        capture_stderr_begin();
        assert_int_equal(plan_compute(p, VENDOR_ARM64, NULL, "ro", &plan), -ENODATA);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "no kernel arguments for arm64"));
}

static void test_host_probe(void **state) {
        char *root = test_mkroot();
        HostInfo h;

        /* Nothing under the root: vendor unknown unless overridden. */
        assert_int_equal(host_probe(root, ARCH_X86_64, _VENDOR_INVALID, &h), 0);
        assert_true(h.vendor < 0);
        host_info_done(&h);

        test_write(root, "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\n");
        assert_int_equal(host_probe(root, _ARCH_INVALID, _VENDOR_INVALID, &h), 0);
        assert_int_equal(h.arch, ARCH_X86_64);
        assert_int_equal(h.vendor, VENDOR_AMD);
        host_info_done(&h);

        /* The ACPI table wins over the CPU vendor. */
        test_write(root, "/sys/firmware/acpi/tables/DMAR", "DMAR");
        assert_int_equal(host_probe(root, _ARCH_INVALID, _VENDOR_INVALID, &h), 0);
        assert_int_equal(h.vendor, VENDOR_INTEL);
        assert_string_equal(h.vendor_source, "ACPI DMAR table present");
        host_info_done(&h);

        test_write(root, "/proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\n");
        assert_int_equal(host_probe(root, _ARCH_INVALID, VENDOR_PORTABLE, &h), 0);
        assert_int_equal(h.arch, ARCH_AARCH64);
        assert_int_equal(host_args_vendor(&h), VENDOR_ARM64);
        host_info_done(&h);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_acceptance),
                cmocka_unit_test(test_any_order),
                cmocka_unit_test(test_inert_extra_token),
                cmocka_unit_test(test_line_carries_profile),
                cmocka_unit_test(test_same_effect),
                cmocka_unit_test(test_judge),
                cmocka_unit_test(test_judge_extra_inert),
                cmocka_unit_test(test_offline),
                cmocka_unit_test(test_no_args_for_vendor),
                cmocka_unit_test(test_host_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
