/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"
#include "profile.h"
#include "strv.h"
#include "test-util.h"

static const char *root;

static int setup(void **state) {
        root = test_mkroot();
        return 0;
}

static int teardown(void **state) {
        test_rmroot((char *) root);
        return 0;
}

static char *args_for(const char *name, Vendor v) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_int_equal(profile_load(test_root(root), name, &p), 0);
        assert_int_equal(profile_kernel_args(p, v, &c), 0);
        return cmdline_to_string(c);
}

static void assert_args(const char *name, Vendor v, const char *expected) {
        _cleanup_free_ char *s = args_for(name, v);
        assert_string_equal(s, expected);
}

/* The shipped profiles say what KERNEL-TRUTH.md measured. */
static void test_shipped_profiles(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_args("gpu-sriov", VENDOR_INTEL, "intel_iommu=on iommu=pt");
        assert_args("gpu-sriov", VENDOR_AMD, "iommu=pt");
        assert_args("gpu-sriov", VENDOR_ARM64, "iommu.passthrough=1");
        assert_args("bare-metal", VENDOR_INTEL, "intel_iommu=off iommu=off");
        assert_args("generic", VENDOR_AMD, "intel_iommu=off amd_iommu=off");
        assert_args("strict", VENDOR_INTEL, "intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        assert_args("strict", VENDOR_ARM64, "iommu.passthrough=0 iommu.strict=1");

        assert_int_equal(profile_load(test_root(root), "strict", &p), 0);
        assert_int_equal(p->mode, MODE_STRICT);
        assert_int_equal(p->expect_domain, DOMAIN_DMA);
        assert_int_equal(p->expect_firmware, FIRMWARE_REQUIRED);
        assert_true(p->expect_groups);
        p = profile_free(p);

        assert_int_equal(profile_load(test_root(root), "bare-metal", &p), 0);
        assert_int_equal(p->mode, MODE_OFF);
        assert_false(p->expect_groups);
        assert_int_equal(p->expect_domain, DOMAIN_NONE);
        /* No command-line switch turns the SMMU off: bare-metal has nothing for arm64. */
        assert_int_equal(profile_kernel_args(p, VENDOR_ARM64, &c), -ENODATA);
}

static void test_precedence_and_include(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_strv_free_ char **keys = NULL;

        /* /etc overrides the shipped profile of the same name, and may include it. */
        test_write(root, "/etc/iommu/profiles/gpu-sriov.conf",
                   "[Profile]\nInclude=gpu-sriov\nDescription=site override\n"
                   "[KernelArgs]\nIntel=intel_iommu=on,sm_on iommu=pt vfio_iommu_type1.allow_unsafe_interrupts=0\n");
        assert_int_equal(profile_load(test_root(root), "gpu-sriov", &p), 0);
        assert_string_equal(p->description, "site override");
        assert_int_equal(p->mode, MODE_PASSTHROUGH);
        assert_int_equal(strv_length(p->files), 2);
        assert_true(endswith(p->files[0], "/etc/iommu/profiles/gpu-sriov.conf"));
        assert_true(endswith(p->files[1], "/profiles/gpu-sriov.conf"));
        assert_args("gpu-sriov", VENDOR_INTEL, "intel_iommu=on,sm_on iommu=pt vfio_iommu_type1.allow_unsafe_interrupts=0");
        assert_args("gpu-sriov", VENDOR_AMD, "iommu=pt");

        /* Keys the profile adds are owned too, so merging replaces them. */
        assert_int_equal(profile_owned_keys(p, &keys), 0);
        assert_true(strv_contains(keys, "vfio_iommu_type1.allow_unsafe_interrupts"));
        assert_true(strv_contains(keys, "iommu.strict"));

        /* /run sits between /etc and /usr/lib. */
        test_write(root, "/run/iommu/profiles/mine.conf", "[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=iommu=pt\n");
        test_write(root, "/usr/lib/iommu/profiles/mine.conf", "[Profile]\nMode=strict\n[KernelArgs]\nAMD=iommu.strict=1 iommu.passthrough=0\n");
        assert_args("mine", VENDOR_AMD, "iommu=pt");
}

static void test_owned_pci_options(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_strv_free_ char **keys = NULL;

        /* A profile writing pci= options owns those options, never the pci key: the operator's
         * other pci= options are not the profile's to replace (issue 25). */
        test_write(root, "/etc/iommu/profiles/pcilift.conf",
                   "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt pci=realloc=on,disable_acs_redir=pci:1000:c030\n");
        assert_int_equal(profile_load(test_root(root), "pcilift", &p), 0);
        assert_int_equal(profile_owned_keys(p, &keys), 0);
        assert_false(strv_contains(keys, "pci"));
        assert_true(strv_contains(keys, "pci=disable_acs_redir"));
        assert_true(strv_contains(keys, "pci=config_acs"));
        assert_true(strv_contains(keys, "pci=realloc"));
        assert_false(strv_contains(keys, "pci=noaer"));
        assert_true(strv_contains(keys, "iommu"));
}

typedef struct BrokenCase {
        const char *content;
        const char *message; /* must appear in the log, after "file:line: " when line > 0 */
        unsigned line;
} BrokenCase;

static void test_broken_profiles(void **state) {
        static const BrokenCase cases[] = {
                { "[Profile]\nMode=passthrough\n[Kernel]\nIntel=iommu=pt\n", "unknown section [Kernel]", 3 },
                { "[Profile]\nMod=passthrough\n", "unknown key 'Mod' in [Profile]; valid: Description, Include, Mode", 2 },
                { "[Profile]\nMode=fast\n", "Mode=fast is not valid; valid: passthrough, lazy, strict, translated, off", 2 },
                { "[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on iommu=strict\n",
                  "iommu.strict=1", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=amd_iommu=on iommu=pt\n", "Unknown option", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt $(reboot)\n", "contains '$'", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt\\ x\n", "contains '\\'", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt `x`\n", "contains '`'", 4 },
                { "[Profile]\nInclude=does-not-exist\n", "no such profile", 2 },
                { "[Profile]\nMode=strict\nInclude=strict\n", "Include= must come before", 3 },
                { "[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on\n", "Mode=strict promises DMA", 4 },
                { "[Profile]\nMode=off\n[KernelArgs]\nPortable=intel_iommu=off\n", "on amd the kernel would end up with DMA-FQ", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nARM64=iommu=pt\n", "does not exist on aarch64", 4 },
                { "[Profile]\nMode=passthrough\n[Expect]\nDomainType=DMA\n[KernelArgs]\nAMD=iommu=pt\n", "contradicts Mode=passthrough", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nnot an assignment\n", "syntax error", 4 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_profile_ Profile *p = NULL;
                _cleanup_free_ char *log = NULL, *where = NULL;
                int r;

                test_write(root, "/etc/iommu/profiles/broken.conf", cases[i].content);
                capture_stderr_begin();
                r = profile_load(test_root(root), "broken", &p);
                log = capture_stderr_end();
                if (r != -EINVAL || !strstr(log, cases[i].message))
                        fail_msg("case %zu: r=%d, log:\n%s\nexpected: %s", i, r, log, cases[i].message);
                assert_null(p);
                if (cases[i].line > 0) {
                        assert_true(asprintf(&where, "/etc/iommu/profiles/broken.conf:%u: ", cases[i].line) > 0);
                        if (!strstr(log, where))
                                fail_msg("case %zu: log does not name %s:\n%s", i, where, log);
                }
        }
}

/* A profile that declares only its intent: the kernel model chooses the tokens (issue 21). */
static void test_intent_only(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL, *d = NULL;
        _cleanup_free_ char *s = NULL;

        test_write(root, "/etc/iommu/profiles/intent.conf", "[Profile]\nMode=lazy\n");
        assert_int_equal(profile_load(test_root(root), "intent", &p), 0);
        assert_int_equal(p->mode, MODE_LAZY);
        assert_int_equal(p->expect_domain, DOMAIN_DMA_FQ);
        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &c), 0);
        s = cmdline_to_string(c);
        assert_string_equal(s, "intel_iommu=on iommu.passthrough=0 iommu.strict=0");
        p = profile_free(p);
        /* Off has no arm64 spelling: nothing to write, as a profile without the line. */
        test_write(root, "/etc/iommu/profiles/intent.conf", "[Profile]\nMode=off\n");
        assert_int_equal(profile_load(test_root(root), "intent", &p), 0);
        assert_int_equal(profile_kernel_args(p, VENDOR_ARM64, &d), -ENODATA);
}

static void test_include_loop(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *log = NULL;

        test_write(root, "/etc/iommu/profiles/loop-a.conf", "[Profile]\nInclude=loop-b\n");
        test_write(root, "/etc/iommu/profiles/loop-b.conf", "[Profile]\nInclude=loop-a\n");
        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "loop-a", &p), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "loop-b.conf:2: Include=loop-a: include loop"));
}

/* "profiles --resolved": the flattened file loads as the same profile, with no include to find. */
static void test_format_resolved(void **state) {
        static const char * const names[] = { "gpu-sriov", "bare-metal", "generic", "strict", "site-resolved" };

        test_write(root, "/etc/iommu/profiles/site-resolved.conf",
                   "[Profile]\nInclude=strict\nDescription=site\n[KernelArgs]\nAMD=iommu.passthrough=0 iommu.strict=1\n"
                   "[Expect]\nInterruptRemapping=yes\nModules=vfio_pci\n");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_profile_ Profile *p = NULL, *q = NULL;
                _cleanup_free_ char *text = NULL, *path = NULL, *again = NULL;

                assert_int_equal(profile_load(test_root(root), names[i], &p), 0);
                assert_int_equal(profile_format_resolved(p, &text), 0);
                assert_null(strstr(text, "Include="));
                assert_true(asprintf(&path, "/etc/iommu/flat-%s.conf", names[i]) > 0);
                test_write(root, path, text);
                free(path);
                assert_true(asprintf(&path, "%s/etc/iommu/flat-%s.conf", root, names[i]) > 0);
                assert_int_equal(profile_load_file(test_root(root), path, &q), 0);
                assert_int_equal(q->mode, p->mode);
                assert_string_equal(q->description ?: "", p->description ?: "");
                for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                        assert_int_equal(q->args[v].set, p->args[v].set);
                        if (p->args[v].set)
                                assert_string_equal(q->args[v].text, p->args[v].text);
                }
                assert_int_equal(q->expect_groups, p->expect_groups);
                assert_int_equal(q->expect_domain, p->expect_domain);
                assert_int_equal(q->expect_firmware, p->expect_firmware);
                assert_int_equal(q->expect_interrupt_remapping, p->expect_interrupt_remapping);
                assert_int_equal(strv_length(q->expect_modules), strv_length(p->expect_modules));
                for (size_t k = 0; k < strv_length(p->expect_modules); k++)
                        assert_string_equal(q->expect_modules[k], p->expect_modules[k]);
                /* A fixed point. */
                assert_int_equal(profile_format_resolved(q, &again), 0);
                assert_string_equal(strchr(again, '['), strchr(text, '['));
        }
}

static void test_long_line(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *log = NULL;
        char content[600] = "[Profile]\nMode=passthrough\nDescription=";

        memset(content + strlen(content), 'x', 300);
        strcat(content, "\n[KernelArgs]\nAMD=iommu=pt\n");
        test_write(root, "/etc/iommu/profiles/long.conf", content);
        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "long", &p), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "long.conf:3: line longer than"));
}

static void test_bad_names(void **state) {
        _cleanup_profile_ Profile *p = NULL;

        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "../etc/passwd", &p), -EINVAL);
        assert_int_equal(profile_load(test_root(root), "nope", &p), -ENOENT);
        free(capture_stderr_end());
        assert_false(profile_name_is_valid(""));
        assert_false(profile_name_is_valid(".hidden"));
        assert_true(profile_name_is_valid("gpu-sriov_v2.1"));
}

static void test_config(void **state) {
        _cleanup_free_ char *log = NULL;
        Config c;

        /* No iommu.conf at all: defaults. */
        assert_int_equal(config_load(test_root(root), &c), 0);
        assert_null(c.profile);
        assert_true(c.bootloader_update);
        config_done(&c);

        test_write(root, "/etc/iommu/iommu.conf", "[IOMMU]\nProfile=strict\nVendor=amd\n");
        test_write(root, "/etc/iommu/iommu.conf.d/50-site.conf", "[IOMMU]\nProfile=gpu-sriov\n[Boot]\nEnforce=yes\n");
        assert_int_equal(config_load(test_root(root), &c), 0);
        assert_string_equal(c.profile, "gpu-sriov");
        assert_int_equal(c.vendor, VENDOR_AMD);
        assert_true(c.enforce);
        config_done(&c);

        test_write(root, "/etc/iommu/iommu.conf.d/60-bad.conf", "[IOMMU]\n\nProfle=x\n");
        capture_stderr_begin();
        assert_int_equal(config_load(test_root(root), &c), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "60-bad.conf:3: unknown key 'Profle' in [IOMMU]"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shipped_profiles),
                cmocka_unit_test(test_precedence_and_include),
                cmocka_unit_test(test_owned_pci_options),
                cmocka_unit_test(test_broken_profiles),
                cmocka_unit_test(test_intent_only),
                cmocka_unit_test(test_include_loop),
                cmocka_unit_test(test_format_resolved),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_config),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
