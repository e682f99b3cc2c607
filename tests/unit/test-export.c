/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "libiommu/export.h"
#include "libiommu/kubernetes.h"
#include "libiommu/log.h"

/* Renders one format into a string; returns export_write()'s result. remove and aarch64: NULL for none. */
static int render_full(ExportFormat format, const char *profile, Vendor vendor, const char *line, const char *role,
                       const char *remove, const char *aarch64, char **ret) {
        _cleanup_cmdline_ Cmdline *args = NULL, *rm = NULL, *arm = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        assert_int_equal(cmdline_parse(line, &args), 0);
        if (remove)
                assert_int_equal(cmdline_parse(remove, &rm), 0);
        if (aarch64)
                assert_int_equal(cmdline_parse(aarch64, &arm), 0);
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        r = export_write(format,
                         &(const ExportInput) { .profile = profile, .vendor = vendor, .args = args, .role = role,
                                                .remove = rm, .aarch64_args = arm }, f);
        assert_int_equal(fclose(f), 0);
        *ret = buf;
        return r;
}

static int render(ExportFormat format, const char *profile, Vendor vendor, const char *line, const char *role,
                  char **ret) {
        return render_full(format, profile, vendor, line, role, NULL, NULL, ret);
}

static void test_format_names(void **state) {
        for (ExportFormat f = 0; f < _EXPORT_FORMAT_MAX; f++) {
                assert_non_null(export_format_to_string(f));
                assert_int_equal(export_format_from_string(export_format_to_string(f)), f);
                assert_non_null(export_format_destination(f));
        }
        assert_int_equal(export_format_from_string("kernel-cmdline"), EXPORT_KERNEL_CMDLINE);
        assert_int_equal(export_format_from_string("yaml"), _EXPORT_FORMAT_INVALID);
        assert_int_equal(export_format_from_string(NULL), _EXPORT_FORMAT_INVALID);
        assert_null(export_format_to_string(_EXPORT_FORMAT_MAX));
}

static void test_k8s_names(void **state) {
        assert_true(k8s_dns_label_is_valid("worker"));
        assert_true(k8s_dns_label_is_valid("gpu-worker-2"));
        assert_false(k8s_dns_label_is_valid(""));
        assert_false(k8s_dns_label_is_valid("-worker"));
        assert_false(k8s_dns_label_is_valid("worker-"));
        assert_false(k8s_dns_label_is_valid("Worker"));
        assert_false(k8s_dns_label_is_valid("gpu_worker"));
        assert_false(k8s_dns_label_is_valid("a.b"));
        assert_true(k8s_dns_label_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 63 */
        assert_false(k8s_dns_label_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */

        assert_true(k8s_object_name_is_valid("99-worker-iommu-gpu-sriov-intel"));
        assert_true(k8s_object_name_is_valid("99-worker-iommu-my.profile-amd"));
        assert_false(k8s_object_name_is_valid("99-worker-iommu-My_Profile-amd"));
        assert_false(k8s_object_name_is_valid("a..b"));
        assert_false(k8s_object_name_is_valid(""));

        assert_true(k8s_label_value_is_valid(""));
        assert_true(k8s_label_value_is_valid("passthrough"));
        assert_true(k8s_label_value_is_valid("My_Profile.2-x"));
        assert_false(k8s_label_value_is_valid("-x"));
        assert_false(k8s_label_value_is_valid("x."));
        assert_false(k8s_label_value_is_valid("a b"));
        assert_false(k8s_label_value_is_valid("a/b"));
        assert_false(k8s_label_value_is_valid("a=b"));
        assert_false(k8s_label_value_is_valid(NULL));
        assert_false(k8s_label_value_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_machineconfig_name(void **state) {
        _cleanup_free_ char *name = NULL;
        char *bad = NULL;

        assert_int_equal(export_machineconfig_name("gpu-worker", "gpu-sriov", VENDOR_INTEL, &name), 0);
        assert_string_equal(name, "99-gpu-worker-iommu-gpu-sriov-intel");
        assert_int_equal(export_machineconfig_name("worker", "Strict_X", VENDOR_AMD, &bad), -EINVAL);
        assert_null(bad);
        assert_int_equal(export_machineconfig_name("", "strict", VENDOR_AMD, &bad), -EINVAL);
        assert_int_equal(export_machineconfig_name("worker", "strict", _VENDOR_INVALID, &bad), -EINVAL);
        assert_null(bad);
}

static void test_quote(void **state) {
        const struct {
                const char *in, *out;
        } cases[] = {
                { "intel_iommu=on", "\"intel_iommu=on\"" },
                { "", "\"\"" },
                { "a\"b", "\"a\\\"b\"" },
                { "a\\b", "\"a\\\\b\"" },
                { "a\nb\tc", "\"a\\nb\\tc\"" },
                { "\x01\x7f", "\"\\u0001\\u007f\"" },
                { "# not a comment: [x]", "\"# not a comment: [x]\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = export_quote(cases[i].in);
                assert_non_null(q);
                assert_string_equal(q, cases[i].out);
        }
}

static void test_machineconfig(void **state) {
        _cleanup_free_ char *out = NULL;

        assert_int_equal(render(EXPORT_MACHINECONFIG, "gpu-sriov", VENDOR_INTEL, "intel_iommu=on iommu=pt", "gpu-worker",
                                &out), 0);
        assert_non_null(strstr(out, "\napiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\n"));
        assert_non_null(strstr(out, "\n  name: \"99-gpu-worker-iommu-gpu-sriov-intel\"\n"));
        assert_non_null(strstr(out, "\n    machineconfiguration.openshift.io/role: \"gpu-worker\"\n"));
        assert_true(endswith(out, "\nspec:\n  kernelArguments:\n    - \"intel_iommu=on\"\n    - \"iommu=pt\"\n"));
}

static void test_machineconfig_errors(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        log_set_max_level(LOG_LEVEL_ERROR - 1); /* the errors below are expected */
        assert_int_equal(render(EXPORT_MACHINECONFIG, "gpu-sriov", VENDOR_AMD, "iommu=pt", NULL, &a), -EINVAL);
        assert_int_equal(render(EXPORT_MACHINECONFIG, "gpu-sriov", VENDOR_AMD, "iommu=pt", "GPU", &b), -EINVAL);
        assert_int_equal(render(EXPORT_MACHINECONFIG, "Gpu_Sriov", VENDOR_AMD, "iommu=pt", "worker", &c), -EINVAL);
        log_set_max_level(LOG_LEVEL_INFO);
        /* Nothing half-written on failure. */
        assert_string_equal(a, "");
        assert_string_equal(b, "");
        assert_string_equal(c, "");
}

static void test_bootc(void **state) {
        _cleanup_free_ char *intel = NULL, *arm = NULL, *portable = NULL, *both = NULL;

        assert_int_equal(render(EXPORT_BOOTC, "gpu-sriov", VENDOR_INTEL, "intel_iommu=on iommu=pt", NULL, &intel), 0);
        assert_true(startswith(intel, "# /usr/lib/bootc/kargs.d/50-iommuctl-x86_64.toml\n"));
        assert_true(endswith(intel, "\nkargs = [\"intel_iommu=on\", \"iommu=pt\"]\nmatch-architectures = [\"x86_64\"]\n"));
        assert_int_equal(render(EXPORT_BOOTC, "gpu-sriov", VENDOR_ARM64, "iommu.passthrough=1", NULL, &arm), 0);
        assert_true(endswith(arm, "\nkargs = [\"iommu.passthrough=1\"]\nmatch-architectures = [\"aarch64\"]\n"));
        assert_int_equal(render(EXPORT_BOOTC, "strict", VENDOR_PORTABLE, "intel_iommu=on iommu.strict=1", NULL,
                                &portable), 0);
        assert_true(endswith(portable, "match-architectures = [\"x86_64\"]\n"));

        /* Portable with arm64 tokens: one file per architecture, each headed by its path. */
        assert_int_equal(render_full(EXPORT_BOOTC, "gpu-sriov", VENDOR_PORTABLE, "intel_iommu=on iommu=pt", NULL, NULL,
                                     "iommu.passthrough=1", &both), 0);
        assert_true(startswith(both, "# /usr/lib/bootc/kargs.d/50-iommuctl-x86_64.toml\n"));
        assert_non_null(strstr(both, "kargs = [\"intel_iommu=on\", \"iommu=pt\"]\nmatch-architectures = [\"x86_64\"]\n\n"
                                     "# /usr/lib/bootc/kargs.d/50-iommuctl-aarch64.toml\n"));
        assert_true(endswith(both, "\nkargs = [\"iommu.passthrough=1\"]\nmatch-architectures = [\"aarch64\"]\n"));
        assert_string_equal(export_bootc_destination(ARCH_AARCH64), "/usr/lib/bootc/kargs.d/50-iommuctl-aarch64.toml");
        assert_null(export_bootc_destination(_ARCH_MAX));
}

static void test_butane(void **state) {
        _cleanup_free_ char *out = NULL, *none = NULL, *colon = NULL;

        assert_int_equal(render_full(EXPORT_BUTANE, "gpu-sriov", VENDOR_AMD, "iommu=pt", NULL,
                                     "amd_iommu=on iommu=strict", NULL, &out), 0);
        assert_true(startswith(out, "# Generated by iommuctl "));
        assert_true(endswith(out, "\nvariant: fcos\nversion: " EXPORT_BUTANE_VERSION "\nkernel_arguments:\n"
                                  "  should_exist:\n    - \"iommu=pt\"\n"
                                  "  should_not_exist:\n    - \"amd_iommu=on\"\n    - \"iommu=strict\"\n"));
        /* Nothing to remove: no empty should_not_exist. */
        assert_int_equal(render(EXPORT_BUTANE, "gpu-sriov", VENDOR_AMD, "iommu=pt", NULL, &none), 0);
        assert_true(endswith(none, "  should_exist:\n    - \"iommu=pt\"\n"));
        assert_null(strstr(none, "\n  should_not_exist:"));
        /* ':' is YAML syntax outside quotes: the token stays one double-quoted scalar. */
        assert_int_equal(render(EXPORT_BUTANE, "x", VENDOR_INTEL, "ip=:::::eth0:dhcp", NULL, &colon), 0);
        assert_non_null(strstr(colon, "\n    - \"ip=:::::eth0:dhcp\"\n"));
}

static void test_talos(void **state) {
        _cleanup_free_ char *out = NULL, *dash = NULL;

        assert_int_equal(render_full(EXPORT_TALOS, "gpu-sriov", VENDOR_INTEL, "intel_iommu=on iommu=pt", NULL,
                                     "intel_iommu=off amd_iommu=on", NULL, &out), 0);
        assert_true(endswith(out, "\ncustomization:\n  extraKernelArgs:\n    - \"intel_iommu=on\"\n    - \"iommu=pt\"\n"
                                  "    - \"-intel_iommu=off\"\n    - \"-amd_iommu=on\"\n"));
        /* Talos would read a leading '-' as a removal: refused before anything is written. */
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        assert_int_equal(render(EXPORT_TALOS, "x", VENDOR_INTEL, "-foo iommu=pt", NULL, &dash), -EINVAL);
        log_set_max_level(LOG_LEVEL_INFO);
        assert_string_equal(dash, "");
}

static void test_added_and_removed_refused(void **state) {
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        for (ExportFormat f = EXPORT_BUTANE; f <= EXPORT_TALOS; f++) {
                _cleanup_free_ char *out = NULL;
                assert_int_equal(render_full(f, "x", VENDOR_AMD, "iommu=pt", NULL, "amd_iommu=on iommu=pt", NULL, &out),
                                 -EINVAL);
                assert_string_equal(out, "");
        }
        log_set_max_level(LOG_LEVEL_INFO);
}

/* The removal list for one profile line; candidates: the other profiles' lines. */
static Cmdline *conflicts(const char *wanted, Vendor vendor, const char *candidates) {
        _cleanup_cmdline_ Cmdline *w = NULL, *c = NULL;
        Cmdline *ret = NULL;

        assert_int_equal(cmdline_parse(wanted, &w), 0);
        assert_int_equal(cmdline_parse(candidates, &c), 0);
        assert_int_equal(export_conflicting_tokens(w, vendor, iommu_owned_keys, c, &ret), 0);
        for (size_t i = 0; i < ret->n_tokens; i++)
                for (size_t j = 0; j < w->n_tokens; j++)
                        assert_string_not_equal(ret->tokens[i].text, w->tokens[j].text);
        for (size_t i = 0; i < ret->n_tokens; i++)
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(ret->tokens[i].text, ret->tokens[j].text);
        return ret;
}

static bool has(const Cmdline *c, const char *token) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (streq(c->tokens[i].text, token))
                        return true;
        return false;
}

static void test_conflicting_tokens(void **state) {
        /* Every shipped profile's lines, every vendor. */
        static const char others[] = "intel_iommu=off iommu=off amd_iommu=off intel_iommu=on iommu=pt iommu.passthrough=1 "
                                     "iommu.passthrough=0 iommu.strict=1 iommu.strict=0 pci=noaer";
        _cleanup_cmdline_ Cmdline *amd = conflicts("iommu=pt", VENDOR_AMD, others);
        _cleanup_cmdline_ Cmdline *intel = conflicts("intel_iommu=on iommu=pt", VENDOR_INTEL, others);
        _cleanup_cmdline_ Cmdline *arm = conflicts("iommu.passthrough=1", VENDOR_ARM64, others);
        _cleanup_cmdline_ Cmdline *strict = conflicts("iommu.passthrough=0 iommu.strict=1", VENDOR_PORTABLE, others);

        /* The acceptance: amd_iommu=on, which the AMD driver refuses, goes. */
        assert_true(has(amd, "amd_iommu=on"));
        /* The table's wrong spellings: ignored, with a replacement named. */
        assert_true(has(amd, "iommu=strict"));
        assert_true(has(amd, "iommu=on"));
        /* What undoes passthrough on AMD, by the kernel model. */
        assert_true(has(amd, "iommu.passthrough=0"));
        assert_true(has(amd, "amd_iommu=off"));
        assert_true(has(amd, "iommu=off"));
        /* Intel's switch changes nothing on AMD; strictness nothing in passthrough; not IOMMU keys not at all. */
        assert_false(has(amd, "intel_iommu=off"));
        assert_false(has(amd, "iommu.strict=1"));
        assert_false(has(amd, "pci=noaer"));
        /* Harmless leftovers the kernel ignores with nothing meant by them stay. */
        assert_false(has(amd, "iommu=forcesac"));

        assert_true(has(intel, "intel_iommu=off"));
        assert_true(has(intel, "amd_iommu=on"));
        assert_false(has(intel, "intel_iommu=on"));

        /* arm64: the x86 spellings the other profiles write go; the table's x86 values are not listed. */
        assert_true(has(arm, "iommu.passthrough=0"));
        assert_true(has(arm, "iommu=pt"));
        assert_true(has(arm, "intel_iommu=on"));
        assert_false(has(arm, "iommu=nostrict"));
        assert_false(has(arm, "iommu.passthrough=1"));

        /* Portable strict: lazy and passthrough undo it on Intel and AMD alike. */
        assert_true(has(strict, "iommu.strict=0"));
        assert_true(has(strict, "iommu=pt"));
        assert_true(has(strict, "iommu.passthrough=1"));
        assert_true(has(strict, "amd_iommu=off"));
        assert_true(has(strict, "intel_iommu=off"));
}

static void test_dracut_and_kernel_cmdline(void **state) {
        _cleanup_free_ char *dracut = NULL, *line = NULL;

        assert_int_equal(render(EXPORT_DRACUT, "gpu-sriov", VENDOR_AMD, "iommu=pt", NULL, &dracut), 0);
        assert_true(startswith(dracut, "# /etc/dracut.conf.d/50-iommu.conf\n"));
        assert_true(endswith(dracut, "\nkernel_cmdline+=\" iommu=pt \"\n"));
        assert_int_equal(render(EXPORT_KERNEL_CMDLINE, "gpu-sriov", VENDOR_INTEL, "intel_iommu=on  iommu=pt", NULL,
                                &line), 0);
        assert_string_equal(line, "intel_iommu=on iommu=pt\n");
}

static void test_unsafe_tokens_refused(void **state) {
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        for (ExportFormat f = 0; f < _EXPORT_FORMAT_MAX; f++) {
                _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
                assert_int_equal(render(f, "x", VENDOR_INTEL, "iommu=pt \"a$b\"", "worker", &a), -EINVAL);
                assert_string_equal(a, "");
                assert_int_equal(render(f, "x", VENDOR_INTEL, "iommu=pt -- init", "worker", &b), -EINVAL);
                assert_string_equal(b, "");
                /* '#' starts a YAML, TOML and shell comment: refused, also in what Butane and Talos remove. */
                assert_int_equal(render(f, "x", VENDOR_INTEL, "iommu=pt a#b", "worker", &c), -EINVAL);
                assert_string_equal(c, "");
                assert_int_equal(render_full(f, "x", VENDOR_INTEL, "iommu=pt", "worker", "x#y", NULL, &d), -EINVAL);
                assert_string_equal(d, "");
        }
        log_set_max_level(LOG_LEVEL_INFO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_names),
                cmocka_unit_test(test_k8s_names),
                cmocka_unit_test(test_machineconfig_name),
                cmocka_unit_test(test_quote),
                cmocka_unit_test(test_machineconfig),
                cmocka_unit_test(test_machineconfig_errors),
                cmocka_unit_test(test_bootc),
                cmocka_unit_test(test_butane),
                cmocka_unit_test(test_talos),
                cmocka_unit_test(test_added_and_removed_refused),
                cmocka_unit_test(test_conflicting_tokens),
                cmocka_unit_test(test_dracut_and_kernel_cmdline),
                cmocka_unit_test(test_unsafe_tokens_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
