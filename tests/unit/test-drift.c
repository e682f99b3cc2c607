/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generator's decision (libiommu/drift.c): armed or not, and drift or not, on temporary roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drift.h"
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_armed),
                cmocka_unit_test(test_decide_sync),
                cmocka_unit_test(test_decide),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
