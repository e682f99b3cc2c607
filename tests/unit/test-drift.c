/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generator's decision (libiommu/drift.c): armed or not, and drift or not, on temporary roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drift.h"
#include "intent.h"
#include "test-util.h"

static void test_armed(void **state) {
        Config c = {};

        assert_int_equal(drift_armed(&c, NULL), DRIFT_ARMED_NO_PROFILE);
        assert_int_equal(drift_armed(&c, "strict"), DRIFT_ARMED_NO_PROFILE);
        c.profile = (char *) "gpu-sriov";
        assert_int_equal(drift_armed(&c, NULL), DRIFT_ARMED_NOT_APPLIED);
        assert_int_equal(drift_armed(&c, "strict"), DRIFT_ARMED_OTHER_PROFILE);
        assert_int_equal(drift_armed(&c, "gpu-sriov"), DRIFT_ARMED_APPLIED);
        c.automatic = true;
        assert_int_equal(drift_armed(&c, NULL), DRIFT_ARMED_AUTOMATIC);
        assert_true(drift_is_armed(DRIFT_ARMED_AUTOMATIC));
        assert_false(drift_is_armed(DRIFT_ARMED_OTHER_PROFILE));
}

static void test_decide_sync(void **state) {
        assert_int_equal(drift_decide_sync(DRIFT_ARMED_NOT_APPLIED, SYNC_DRIFT), DRIFT_SKIP_NOT_ARMED);
        assert_int_equal(drift_decide_sync(DRIFT_ARMED_NO_PROFILE, SYNC_DRIFT), DRIFT_SKIP_NO_PROFILE);
        assert_int_equal(drift_decide_sync(DRIFT_ARMED_APPLIED, SYNC_DRIFT), DRIFT_START_APPLY);
        assert_int_equal(drift_decide_sync(DRIFT_ARMED_APPLIED, SYNC_SAME_EFFECT), DRIFT_SAME_EFFECT);
        assert_int_equal(drift_decide_sync(DRIFT_ARMED_AUTOMATIC, SYNC_IN_SYNC), DRIFT_IN_SYNC);
}

/* An Intel node with the profile from a fleet drop-in and a line without its tokens. */
static char *drifted_root(void) {
        char *root = test_mkroot();

        test_write(root, "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n");
        test_write(root, "/etc/iommu/iommu.conf.d/50-fleet.conf", "[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n");
        return root;
}

static DriftDecision decide(const char *root, bool initrd) {
        _cleanup_(drift_result_done) DriftResult d = {};

        assert_int_equal(drift_decide(test_root(root), initrd, &d), 0);
        return d.decision;
}

static void test_decide(void **state) {
        char *root = drifted_root();
        _cleanup_free_ char *recorded = NULL, *why = NULL;

        /* The acceptance of issue 22.1: only the fleet drop-in, never applied: nothing. */
        assert_int_equal(decide(root, false), DRIFT_SKIP_NOT_ARMED);
        assert_int_equal(decide(root, true), DRIFT_SKIP_INITRD);

        /* Applied with another profile: still nothing. */
        test_write(root, DRIFT_RECORD_FILE, "strict\n");
        assert_int_equal(decide(root, false), DRIFT_SKIP_NOT_ARMED);
        {
                _cleanup_(drift_result_done) DriftResult d = {};
                assert_int_equal(drift_decide(test_root(root), false, &d), 0);
                assert_int_equal(d.armed, DRIFT_ARMED_OTHER_PROFILE);
                assert_string_equal(d.recorded, "strict");
                assert_int_equal(drift_armed_describe(d.armed, d.profile, d.recorded, &why), 0);
                assert_string_equal(why, "not armed: this node applied profile strict, not gpu-sriov (run 'iommuctl apply' to switch)");
        }

        /* Applied with this profile: the drift starts the apply unit. */
        test_write(root, DRIFT_RECORD_FILE, "gpu-sriov\n");
        assert_int_equal(drift_record_read(test_root(root), &recorded), 0);
        assert_string_equal(recorded, "gpu-sriov");
        assert_int_equal(decide(root, false), DRIFT_START_APPLY);

        /* ... not with iommuctl.apply=0, nor once the line carries the tokens. */
        test_write(root, "/proc/cmdline", "root=/dev/sda1 ro iommuctl.apply=0\n");
        assert_int_equal(decide(root, false), DRIFT_SKIP_SWITCH);
        test_write(root, "/proc/cmdline", "root=/dev/sda1 ro iommu=pt intel_iommu=on\n");
        assert_int_equal(decide(root, false), DRIFT_IN_SYNC);
        test_rmroot(root);

        /* Automatic=yes arms a node never applied. */
        root = drifted_root();
        test_write(root, "/etc/iommu/iommu.conf", "[Apply]\nAutomatic=yes\n");
        assert_int_equal(decide(root, false), DRIFT_START_APPLY);
        test_write(root, "/etc/iommu/iommu.conf", "[Boot]\nGenerator=no\n[Apply]\nAutomatic=yes\n");
        assert_int_equal(decide(root, false), DRIFT_SKIP_DISABLED);
        test_rmroot(root);
}

/* plan --check's fast path (drift_plan_in_sync()) against the full plan: 1 in sync, 0 not, -1 an
 * error (context_load() and plan_compute(), as verb_plan() runs them). */
static int full_plan(const ContextOptions *o, const char *current) {
        _cleanup_(context_done) Context c = {};
        _cleanup_(plan_done) Plan plan = {};

        if (context_load(o, &c) < 0 || plan_compute(c.profile, c.args_vendor, &c.kernel, current, &plan) < 0)
                return -1;
        return plan.in_sync;
}

static int fast_plan(const ContextOptions *o, const char *current) {
        _cleanup_(context_done) Context c = {};

        if (context_load_node(o, &c) < 0)
                return -1;
        return drift_plan_in_sync(o, &c, current);
}

static void test_plan_in_sync(void **state) {
        char *root = test_mkroot();
        ContextOptions o = { .root = test_root(root), .vendor = _VENDOR_INVALID, .arch = ARCH_X86_64, .need_vendor = true };
        const char *line = "root=/dev/sda1 ro intel_iommu=on iommu=pt", *reordered = "root=/dev/sda1 ro iommu=pt intel_iommu=on";

        test_write(root, "/etc/iommu/iommu.conf", "[IOMMU]\nProfile=gpu-sriov\nVendor=intel\n");
        /* The line apply writes: in sync, on the fast path and the full one. */
        assert_int_equal(fast_plan(&o, line), 1);
        assert_int_equal(full_plan(&o, line), 1);
        /* Another order: in sync too, but only the kernel model tells. */
        assert_int_equal(fast_plan(&o, reordered), 0);
        assert_int_equal(full_plan(&o, reordered), 1);
        assert_int_equal(fast_plan(&o, "root=/dev/sda1 ro intel_iommu=on"), 0);
        assert_int_equal(full_plan(&o, "root=/dev/sda1 ro intel_iommu=on"), 0);
        assert_int_equal(fast_plan(&o, NULL), 0);
        /* Another kernel named: the full plan. */
        o.kernel_release = "5.10.0-30-amd64";
        assert_int_equal(fast_plan(&o, line), 0);
        o.kernel_release = NULL;

        /* The running kernel is built without the Intel driver: the full plan refuses the mode. */
        test_write(root, "/proc/sys/kernel/osrelease", "6.1.0-57-amd64\n");
        test_write(root, "/boot/config-6.1.0-57-amd64", "CONFIG_AMD_IOMMU=y\n# CONFIG_INTEL_IOMMU is not set\n");
        assert_int_equal(full_plan(&o, line), -1);
        assert_int_equal(fast_plan(&o, line), 0);
        /* ... not Portable's line, for both vendors (and the fast path does not read the file). */
        o.vendor = VENDOR_PORTABLE;
        assert_int_equal(full_plan(&o, line), 1);
        assert_int_equal(fast_plan(&o, line), 1);
        o.vendor = _VENDOR_INVALID;
        test_write(root, "/boot/config-6.1.0-57-amd64", "CONFIG_AMD_IOMMU=y\nCONFIG_INTEL_IOMMU=y\n");
        assert_int_equal(fast_plan(&o, line), 1);
        assert_int_equal(full_plan(&o, line), 1);

        /* A profile with only its Mode: the tokens are the model's for the running kernel. */
        test_write(root, "/etc/iommu/profiles/strict-only.conf", "[Profile]\nMode=strict\n");
        o.profile = "strict-only";
        test_write(root, "/proc/sys/kernel/osrelease", "5.10.0-30-amd64\n");
        assert_int_equal(fast_plan(&o, "ro intel_iommu=on iommu.passthrough=0 iommu.strict=1"), 0);
        assert_int_equal(full_plan(&o, "ro intel_iommu=on iommu.passthrough=0 iommu.strict=1"), 0);
        assert_int_equal(full_plan(&o, "ro intel_iommu=on,strict iommu.passthrough=0"), 1);
        assert_int_equal(fast_plan(&o, "ro intel_iommu=on,strict iommu.passthrough=0"), 0);
        o.profile = NULL;

        /* What the full plan fails on after the profile: an unterminated quote, the platform file. */
        assert_int_equal(fast_plan(&o, "ro intel_iommu=on iommu=pt x=\"y"), 0);
        assert_int_equal(full_plan(&o, "ro intel_iommu=on iommu=pt x=\"y"), -1);
        test_write(root, PLATFORM_OVERRIDE_FILE, "[Platform]\nSEVSNP=maybe\n");
        assert_int_equal(fast_plan(&o, line), 0);
        assert_int_equal(full_plan(&o, line), -1);
        test_rmroot(root);
}

/* drift_plan_in_sync() reads the build configuration only where intent_conflicts_may_refuse():
 * elsewhere no configuration, release or platform makes intent_conflicts() refuse. */
static void test_conflicts_may_refuse(void **state) {
        KernelInfo k;

        kernel_info_default(ARCH_X86_64, &k);
        k.config_source = (char *) "/boot/config-test";
        k.config.intel_iommu = k.config.amd_iommu = 0;
        k.version = KERNEL_VERSION(5, 4);
        for (PlatformFact f = 0; f < _PLATFORM_FACT_MAX; f++) {
                k.platform.fact[f] = 1;
                k.platform.evidence[f] = "test";
        }
        for (ProfileMode m = 0; m < _MODE_MAX; m++)
                for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                        _cleanup_(intent_conflicts_done) IntentConflicts c = {};
                        bool refused = false;

                        assert_int_equal(intent_conflicts(m, v, &k, &c), 0);
                        for (size_t i = 0; i < c.n; i++)
                                refused = refused || c.items[i].refuse;
                        if (!intent_conflicts_may_refuse(m, v))
                                assert_false(refused);
                        else
                                assert_true(refused); /* the driver missing: no mode but off */
                }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_armed),
                cmocka_unit_test(test_decide_sync),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_plan_in_sync),
                cmocka_unit_test(test_conflicts_may_refuse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
