/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "observe.h"
#include "profile.h"
#include "strv.h"
#include "verdict.h"
#include "test-util.h"

/* Observations built by hand: the verdict is a pure function, so no tree is needed. */

static IommuGroup groups[4];
static IommuUnit unit = { .name = (char *) "dmar0", .kind = "intel-iommu" };
static ModuleState modules[] = {
        { .name = (char *) "vfio_pci", .available = 1, .loaded = true },
        { .name = (char *) "vfio_iommu_type1", .available = 1, .loaded = true },
        { .name = (char *) "nvidia_peermem", .available = -1 },
};

static Observation observation(DomainType type, unsigned n, const char *cmdline) {
        Observation o = {
                .root = NULL, /* the host: nothing here reads files */
                .sysfs = true,
                .cmdline = (char *) cmdline,
                .release = (char *) "6.1.0-26-amd64",
                .arch = ARCH_X86_64,
                .vendor = VENDOR_INTEL,
                .groups = groups,
                .n_groups = n,
                .units = &unit,
                .n_units = n > 0,
                .interrupt_remapping = 1,
                .interrupt_remapping_chip = (char *) "IR-PCI-MSI",
                .acpi.dmar = { .present = true, .parsed = true },
                .acpi.dmar_flags = DMAR_FLAG_INTR_REMAP,
                .modules = { .modules = modules, .n_modules = ELEMENTSOF(modules), .allow_unsafe_interrupts = 0 },
        };
        for (unsigned i = 0; i < n; i++)
                groups[i] = (IommuGroup) { .id = i, .type = type };
        o.type_counts[type] = n;
        return o;
}

static Profile *load(const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_load(test_root("/"), name, &p), 0);
        return p;
}

static const Check *check(const Verdict *v, const char *id) {
        const Check *c = verdict_find_check(v, id);
        assert_non_null(c);
        return c;
}

static void test_strict_promise_broken_by_iommu_strict(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        Observation o = observation(DOMAIN_DMA_FQ, 4, "ro intel_iommu=on iommu=strict");
        _cleanup_(verdict_done) Verdict v = {};
        _cleanup_free_ char *failed = NULL;

        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(v.result, CHECK_FAIL);
        assert_int_equal(check(&v, "domain-type")->result, CHECK_FAIL);
        assert_non_null(strstr(check(&v, "domain-type")->fix, "iommu.strict=1"));
        assert_non_null(strstr(check(&v, "domain-type")->fix, "'iommu=strict'"));
        assert_int_equal(check(&v, "cmdline")->result, CHECK_FAIL);
        /* The token that changed nothing gets its own warning, with the exact fix. */
        assert_int_equal(check(&v, "token:iommu=strict")->result, CHECK_WARN);
        assert_string_equal(check(&v, "token:iommu=strict")->fix, "Replace iommu=strict with iommu.strict=1 on the kernel command line.");
        assert_int_equal(check(&v, "firmware")->result, CHECK_PASS);
        failed = verdict_failed_ids(&v);
        assert_string_equal(failed, "domain-type,cmdline");
        assert_int_equal(v.matrix[FEATURE_DMA_TRANSLATION_OVERHEAD].state, FEATURE_DEGRADED);
        assert_int_equal(v.matrix[FEATURE_DEVICE_ISOLATION].state, FEATURE_WORKS);
}

static void test_strict_kept(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        Observation o = observation(DOMAIN_DMA, 4, "ro intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        _cleanup_(verdict_done) Verdict v = {};

        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(v.result, CHECK_PASS);
        assert_null(check(&v, "domain-type")->fix);
        assert_string_equal(observation_mode_string(&o), "strict");
}

static void test_passthrough(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 3, "intel_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};

        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(v.result, CHECK_PASS);
        assert_int_equal(check(&v, "module:vfio_pci")->result, CHECK_PASS);
        assert_int_equal(v.matrix[FEATURE_GPUDIRECT_RDMA].state, FEATURE_WORKS);
        assert_int_equal(v.matrix[FEATURE_VFIO_PASSTHROUGH].state, FEATURE_WORKS);
        assert_int_equal(v.matrix[FEATURE_DEVICE_ISOLATION].state, FEATURE_DEGRADED);
        assert_int_equal(v.matrix[FEATURE_SRIOV_VF_ASSIGNMENT].state, FEATURE_NOT_APPLICABLE);
        assert_int_equal(v.matrix[FEATURE_NVIDIA_PEERMEM].state, FEATURE_NOT_APPLICABLE);
}

static void test_no_firmware(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 0, "intel_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};

        o.acpi.dmar = (AcpiTable) {};
        o.interrupt_remapping = 0;
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(v.result, CHECK_FAIL);
        assert_int_equal(check(&v, "firmware")->result, CHECK_FAIL);
        assert_non_null(strstr(check(&v, "firmware")->fix, "VT-d"));
        assert_int_equal(check(&v, "groups")->result, CHECK_FAIL);
        assert_int_equal(check(&v, "interrupt-remapping")->result, CHECK_FAIL);
        assert_int_equal(v.matrix[FEATURE_VFIO_PASSTHROUGH].state, FEATURE_BROKEN);
        assert_int_equal(v.matrix[FEATURE_DEVICE_ISOLATION].state, FEATURE_BROKEN);
}

static void test_off_but_groups(void **state) {
        _cleanup_profile_ Profile *p = load("bare-metal");
        Observation o = observation(DOMAIN_DMA_FQ, 2, "intel_iommu=off iommu=off");
        _cleanup_(verdict_done) Verdict v = {};

        o.acpi.dmar_flags |= DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN;
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(check(&v, "groups")->result, CHECK_FAIL);
        assert_non_null(strstr(check(&v, "groups")->fix, "DMA_CTRL_PLATFORM_OPT_IN"));
        assert_int_equal(check(&v, "cmdline")->result, CHECK_PASS);
        assert_null(verdict_find_check(&v, "domain-type"));
}

/* Before 5.15 lazy reads DMA: observed says only "translated", strict/lazy is inferred (issue 11). */
static void test_strict_not_observable_before_5_15(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        Observation o = observation(DOMAIN_DMA, 4, "ro quiet");
        _cleanup_(verdict_done) Verdict v = {}, w = {}, x = {};

        o.release = (char *) "5.10.0-32-amd64";
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_string_equal(v.facts.mode, "translated");
        assert_true(v.facts.strict_inferred);
        assert_int_equal(v.facts.strict, 0);
        assert_int_equal(check(&v, "domain-type")->result, CHECK_FAIL);
        assert_non_null(strstr(check(&v, "domain-type")->fix, "intel_iommu=strict"));
        assert_int_equal(v.result, CHECK_FAIL);

        /* intel_iommu=strict is what 5.10 honours: inferred strict, the promise holds. */
        o.cmdline = (char *) "ro intel_iommu=on iommu.passthrough=0 intel_iommu=strict";
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &w), 0);
        assert_int_equal(w.facts.strict, 1);
        assert_int_equal(check(&w, "domain-type")->result, CHECK_PASS);

        /* From 5.15 DMA is observed strict. */
        o.release = (char *) "6.1.0-26-amd64";
        o.cmdline = (char *) "ro quiet";
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &x), 0);
        assert_string_equal(x.facts.mode, "strict");
        assert_false(x.facts.strict_inferred);
        assert_int_equal(check(&x, "domain-type")->result, CHECK_PASS);
}

/* amd_iommu=on changes nothing ("Unknown option"): the kernel kept the promise, a WARN names the token (issue 11). */
static void test_amd_on_warns(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 2, "amd_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};
        char *lines[] = { (char *) "AMD-Vi: Unknown option - 'on'", NULL };

        o.vendor = VENDOR_AMD;
        o.acpi.dmar = (AcpiTable) {};
        o.acpi.ivrs = (AcpiTable) { .present = true, .parsed = true };
        o.log = (KernelLog) { .read = true, .lines = lines };
        assert_int_equal(verdict_compute(&o, p, VENDOR_AMD, &v), 0);
        assert_int_equal(check(&v, "domain-type")->result, CHECK_PASS);
        assert_int_equal(check(&v, "cmdline")->result, CHECK_PASS);
        assert_int_equal(check(&v, "token:amd_iommu=on")->result, CHECK_WARN);
        assert_string_equal(check(&v, "token:amd_iommu=on")->fix,
                            "Remove amd_iommu=on from the kernel command line (AMD-Vi is on whenever the firmware publishes an IVRS table).");
        assert_int_equal(check(&v, "kernel-log")->result, CHECK_WARN);
        assert_int_equal(v.result, CHECK_WARN);
}

static void test_no_interrupt_remapping(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 2, "intel_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};

        o.interrupt_remapping = 0;
        o.modules.allow_unsafe_interrupts = 1;
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(check(&v, "interrupt-remapping")->result, CHECK_WARN);
        assert_int_equal(check(&v, "unsafe-interrupts")->result, CHECK_WARN);
        assert_int_equal(v.result, CHECK_WARN);
        assert_int_equal(v.matrix[FEATURE_VFIO_PASSTHROUGH].state, FEATURE_DEGRADED);
}

static void test_log_alone_proves_nothing(void **state) {
        /* "Default domain type: Passthrough" prints without any IOMMU: no groups is still a failure. */
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 0, "intel_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};
        char *lines[] = { (char *) "iommu: Default domain type: Passthrough (set via kernel command line)", NULL };

        o.log = (KernelLog) { .read = true, .lines = lines };
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(v.result, CHECK_FAIL);
        assert_int_equal(check(&v, "kernel-log")->result, CHECK_PASS);
        assert_string_equal(observation_mode_string(&o), "off");
}

static void test_mixed(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        Observation o = observation(DOMAIN_IDENTITY, 3, "intel_iommu=on iommu=pt");
        _cleanup_(verdict_done) Verdict v = {};

        groups[2].type = DOMAIN_DMA;
        o.type_counts[DOMAIN_IDENTITY] = 2;
        o.type_counts[DOMAIN_DMA] = 1;
        assert_int_equal(observation_mode(&o), -EUCLEAN);
        assert_int_equal(verdict_compute(&o, p, VENDOR_INTEL, &v), 0);
        assert_int_equal(check(&v, "domain-type")->result, CHECK_FAIL);
        assert_non_null(strstr(check(&v, "domain-type")->evidence, "1 of 3"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strict_promise_broken_by_iommu_strict),
                cmocka_unit_test(test_strict_kept),
                cmocka_unit_test(test_passthrough),
                cmocka_unit_test(test_no_firmware),
                cmocka_unit_test(test_off_but_groups),
                cmocka_unit_test(test_amd_on_warns),
                cmocka_unit_test(test_strict_not_observable_before_5_15),
                cmocka_unit_test(test_no_interrupt_remapping),
                cmocka_unit_test(test_log_alone_proves_nothing),
                cmocka_unit_test(test_mixed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
