/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernel-model.h"
#include "test-util.h"

static KernelInfo kernel(Arch arch, unsigned major, unsigned minor) {
        KernelInfo k;

        kernel_info_default(arch, &k);
        k.version = KERNEL_VERSION(major, minor);
        kernel_config_defaults(arch, k.version, &k.config);
        return k;
}

/* Predicts line for vendor on k; the caller frees with kernel_prediction_done(). */
static KernelPrediction predict(const KernelInfo *k, Vendor vendor, const char *line) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        KernelPrediction p;

        assert_int_equal(cmdline_parse(line, &c), 0);
        assert_int_equal(kernel_predict(k, vendor, c, &p), 0);
        return p;
}

static TokenEffect effect_of_token(const KernelPrediction *p, size_t index) {
        const TokenPrediction *t = kernel_prediction_find_token(p, index);
        assert_non_null(t);
        return t->effect;
}

static void test_release_parse(void **state) {
        unsigned v;

        assert_int_equal(kernel_release_parse("5.10.0-32-amd64", &v), 0);
        assert_int_equal(v, KERNEL_VERSION(5, 10));
        assert_int_equal(kernel_release_parse("6.12.117+deb13-amd64", &v), 0);
        assert_int_equal(v, KERNEL_VERSION(6, 12));
        assert_int_equal(kernel_release_parse("7.2.13+deb14-arm64", &v), 0);
        assert_int_equal(v, KERNEL_VERSION(7, 2));
        assert_int_equal(kernel_release_parse("5.14.0-427.el9.x86_64", &v), 0);
        assert_int_equal(v, KERNEL_VERSION(5, 14));
        assert_int_equal(kernel_release_parse("linux", &v), -EINVAL);
        assert_int_equal(kernel_release_parse("6", &v), -EINVAL);
        assert_int_equal(kernel_release_parse("", &v), -EINVAL);
}

static void test_config_parse(void **state) {
        KernelConfig c;
        /* Debian 11's build (measured): the INTGPU_OFF choice, no DMA_* choice before 5.15. */
        const char *bullseye = "CONFIG_AMD_IOMMU=y\nCONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n"
                               "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\n# CONFIG_IOMMU_DEFAULT_PASSTHROUGH is not set\n";

        kernel_config_parse(bullseye, ARCH_X86_64, KERNEL_VERSION(5, 10), &c);
        assert_int_equal(c.intel_iommu, 1);
        assert_int_equal(c.intel_default_on, 1);
        assert_int_equal(c.intel_intgpu_off, 1);
        assert_int_equal(c.default_passthrough, 0);
        assert_int_equal(c.default_strict, -1);

        kernel_config_parse("CONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\nCONFIG_IOMMU_DEFAULT_DMA_STRICT=y\n",
                            ARCH_X86_64, KERNEL_VERSION(6, 1), &c);
        assert_int_equal(c.intel_default_on, 0);
        assert_int_equal(c.default_strict, 1);
        assert_int_equal(c.amd_iommu, 0);

        kernel_config_parse("CONFIG_IOMMU_DEFAULT_PASSTHROUGH=y\n", ARCH_X86_64, KERNEL_VERSION(6, 12), &c);
        assert_int_equal(c.default_passthrough, 1);
}

/* The scan before issue 24, kept here as the reference: strstr() for "IOMMU", each line once, and
 * strstr() for the CONFIG_VFIO_DEVICE_CDEV=y line. */
static void reference_config_parse(const char *text, KernelConfig *ret) {
        int on = -1, intgpu = -1, off = -1, lazy = -1, strict = -1, intel = 0, amd = 0, pt = 0, iommufd = 0;
        const struct {
                const char *name;
                int *v;
        } symbols[] = {
                { "CONFIG_INTEL_IOMMU", &intel }, { "CONFIG_AMD_IOMMU", &amd }, { "CONFIG_INTEL_IOMMU_DEFAULT_ON", &on },
                { "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF", &intgpu }, { "CONFIG_INTEL_IOMMU_DEFAULT_OFF", &off },
                { "CONFIG_IOMMU_DEFAULT_PASSTHROUGH", &pt }, { "CONFIG_IOMMU_DEFAULT_DMA_LAZY", &lazy },
                { "CONFIG_IOMMU_DEFAULT_DMA_STRICT", &strict }, { "CONFIG_IOMMUFD", &iommufd },
        };
        const char *name = "VFIO_DEVICE_CDEV=y";
        bool cdev = false;

        for (const char *hit = strstr(text, "IOMMU"), *last = NULL; hit; hit = strstr(hit + 5, "IOMMU")) {
                const char *p = hit, *n0;
                size_t n;

                while (p > text && p[-1] != '\n')
                        p--;
                if (p == last)
                        continue;
                last = p;
                n0 = p[0] == '#' && p[1] == ' ' ? p + 2 : p;
                if (memcmp(n0, "CONFIG_", 7) != 0)
                        continue;
                n = strcspn(n0, "= \n");
                for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                        if (strlen(symbols[i].name) != n || memcmp(n0, symbols[i].name, n) != 0)
                                continue;
                        if (n0 == p && n0[n] == '=')
                                *symbols[i].v = n0[n + 1] == 'y' || n0[n + 1] == 'm';
                        else if (n0 != p && strneq(n0 + n, " is not set", 11))
                                *symbols[i].v = 0;
                }
        }
        for (const char *h = strstr(text, name); h; h = strstr(h + 1, name))
                if (h - text >= 7 && memcmp(h - 7, "CONFIG_", 7) == 0 && (h - 7 == text || h[-8] == '\n'))
                        cdev = true;
        *ret = (KernelConfig) { .intel_iommu = intel, .amd_iommu = amd, .iommufd = iommufd, .vfio_device_cdev = cdev,
                                .intel_intgpu_off = intgpu, .default_passthrough = pt };
        ret->intel_default_on = on == 1 || intgpu == 1 ? 1 : on == 0 || off == 1 ? 0 : 1;
        ret->default_strict = strict == 1 ? 1 : lazy == 1 ? 0 : pt != 1 ? 0 : -1;
}

/* The candidate scan (32 and 64 bytes a round, a scalar tail) reads what the reference reads, with
 * the lines at every offset, decoy pairs ("MM", "CD") around them, and a NUL byte anywhere. */
static void test_config_scan(void **state) {
        static const char * const lines[] = {
                "CONFIG_COMMON_CLK=y\n", "CONFIG_CDROM=m\n", "# CONFIG_MMU_NOTIFIER is not set\n", "CONFIG_MMU=y\n",
                "CONFIG_IOMMU_SUPPORT=y\n", "CONFIG_AMD_IOMMU=y\n", "CONFIG_INTEL_IOMMU=m\n",
                "# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n", "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\n",
                "CONFIG_IOMMU_DEFAULT_DMA_LAZY=y\n", "# CONFIG_IOMMU_DEFAULT_PASSTHROUGH is not set\n", "CONFIG_IOMMUFD=m\n",
                "CONFIG_VFIO_DEVICE_CDEV=y\n", "# CONFIG_VFIO_DEVICE_CDEV is not set\n", "CONFIG_X_CDEV_MMU=IOMMU\n",
                "CONFIG_IOMMU_DEFAULT_DMA_STRICT=y\n", "CONFIG_INTEL_IOMMU_DEFAULT_OFF=y\n", "xCONFIG_AMD_IOMMU=y\n",
        };
        char text[4096];
        unsigned cases = 0;

        for (size_t pad = 0; pad < 140; pad += 3)
                for (size_t first = 0; first < ELEMENTSOF(lines); first++)
                        for (int nul = -1; nul < 4; nul++) {
                                KernelConfig want, got;
                                size_t n = 0;

                                /* pad filler bytes, then the lines from first on, wrapping; maybe a NUL. */
                                memset(text, 'a', pad);
                                n = pad;
                                if (pad > 0)
                                        text[n - 1] = '\n';
                                for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                                        const char *l = lines[(first + i) % ELEMENTSOF(lines)];
                                        memcpy(text + n, l, strlen(l));
                                        n += strlen(l);
                                }
                                if (nul >= 0)
                                        text[(pad + 37 * (size_t) nul * (first + 1)) % n] = '\0';
                                text[n] = '\0';
                                reference_config_parse(text, &want);
                                kernel_config_parse_n(text, n, ARCH_X86_64, KERNEL_VERSION(6, 1), &got);
                                if (got.intel_iommu != want.intel_iommu || got.amd_iommu != want.amd_iommu ||
                                    got.iommufd != want.iommufd || got.vfio_device_cdev != want.vfio_device_cdev ||
                                    got.intel_intgpu_off != want.intel_intgpu_off ||
                                    got.default_passthrough != want.default_passthrough ||
                                    got.intel_default_on != want.intel_default_on || got.default_strict != want.default_strict)
                                        fail_msg("pad %zu, first %zu, nul %d: got intel %d amd %d fd %d cdev %d intgpu %d pt %d on %d "
                                                 "strict %d, want %d %d %d %d %d %d %d %d", pad, first, nul, got.intel_iommu,
                                                 got.amd_iommu, got.iommufd, got.vfio_device_cdev, got.intel_intgpu_off,
                                                 got.default_passthrough, got.intel_default_on, got.default_strict,
                                                 want.intel_iommu, want.amd_iommu, want.iommufd, want.vfio_device_cdev,
                                                 want.intel_intgpu_off, want.default_passthrough, want.intel_default_on,
                                                 want.default_strict);
                                cases++;
                        }
        assert_true(cases > 1000);
}

/* The measured table of /work KERNEL-TRUTH: no parameter. */
static void test_defaults_by_release(void **state) {
        KernelInfo k510 = kernel(ARCH_X86_64, 5, 10), k61 = kernel(ARCH_X86_64, 6, 1), a61 = kernel(ARCH_AARCH64, 6, 1);
        KernelPrediction p;

        p = predict(&k510, VENDOR_INTEL, "ro");
        assert_true(p.groups);
        assert_int_equal(p.domain, DOMAIN_DMA);   /* lazy, but reads DMA */
        assert_int_equal(p.strict, 0);
        assert_false(p.strict_observable);
        kernel_prediction_done(&p);

        p = predict(&k61, VENDOR_INTEL, "ro");
        assert_int_equal(p.domain, DOMAIN_DMA_FQ);
        assert_true(p.strict_observable);
        kernel_prediction_done(&p);

        p = predict(&a61, VENDOR_ARM64, "ro");
        assert_int_equal(p.domain, DOMAIN_DMA);
        assert_int_equal(p.strict, 1);
        kernel_prediction_done(&p);

        /* AMD-Vi goes strict when the IOMMU reports NpCache (6.1 on, measured under QEMU: cap 1f03000f),
         * not because the CPU says "hypervisor". */
        kernel_platform_from_cap("amd-iommu", "1f03000f", &k61.platform);
        assert_int_equal(k61.platform.fact[PLATFORM_AMD_NPCACHE], 1);
        p = predict(&k61, VENDOR_AMD, "ro");
        assert_int_equal(p.domain, DOMAIN_DMA);
        assert_int_equal(p.strict, 1);
        assert_non_null(strstr(p.strict_reason, "NpCache"));
        kernel_prediction_done(&p);
        /* Even with iommu.strict=0: the IOMMU decides. */
        p = predict(&k61, VENDOR_AMD, "iommu.strict=0");
        assert_int_equal(p.domain, DOMAIN_DMA);
        kernel_prediction_done(&p);
        k61.platform.fact[PLATFORM_AMD_NPCACHE] = 0;
        p = predict(&k61, VENDOR_AMD, "ro");
        assert_int_equal(p.domain, DOMAIN_DMA_FQ);
        kernel_prediction_done(&p);

        /* VT-d with caching mode (QEMU caching-mode=on): strict on every release, iommu.strict=0 or not. */
        kernel_platform_from_cap("intel-iommu", "d2008c22260286", &k61.platform);
        assert_int_equal(k61.platform.fact[PLATFORM_VTD_CACHING_MODE], 1);
        p = predict(&k61, VENDOR_INTEL, "iommu.strict=0");
        assert_int_equal(p.domain, DOMAIN_DMA);
        assert_int_equal(p.strict, 1);
        assert_non_null(strstr(p.strict_reason, "caching mode"));
        kernel_prediction_done(&p);
        p = predict(&k61, VENDOR_INTEL, "intel_iommu=on iommu=pt");
        assert_int_equal(p.domain, DOMAIN_IDENTITY);
        kernel_prediction_done(&p);
        kernel_platform_unknown(&k61.platform);
        kernel_platform_from_cap("intel-iommu", "d2008c22260206", &k61.platform);
        assert_int_equal(k61.platform.fact[PLATFORM_VTD_CACHING_MODE], 0);
        {
                char *lines[] = { (char *) "[    0.5] DMAR: IOMMU batching disallowed due to virtualization", NULL };
                kernel_platform_unknown(&k61.platform);
                kernel_platform_from_log(lines, &k61.platform);
                assert_int_equal(k61.platform.fact[PLATFORM_VTD_CACHING_MODE], 1);
                kernel_platform_unknown(&k61.platform);
        }

        /* A build with VT-d off by default needs intel_iommu=on. */
        k61.config.intel_default_on = 0;
        p = predict(&k61, VENDOR_INTEL, "iommu=pt");
        assert_false(p.groups);
        kernel_prediction_done(&p);
        p = predict(&k61, VENDOR_INTEL, "intel_iommu=on iommu=pt");
        assert_int_equal(p.domain, DOMAIN_IDENTITY);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        kernel_prediction_done(&p);
}

static void test_token_effects(void **state) {
        KernelInfo k510 = kernel(ARCH_X86_64, 5, 10), k612 = kernel(ARCH_X86_64, 6, 12);
        KernelPrediction p;

        /* iommu=strict is not an x86 iommu= value: ignored, lazy stays. */
        p = predict(&k612, VENDOR_INTEL, "intel_iommu=on iommu=strict");
        assert_int_equal(p.domain, DOMAIN_DMA_FQ);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_REDUNDANT); /* VT-d on by default in this build */
        assert_int_equal(effect_of_token(&p, 1), TOKEN_IGNORED);
        assert_string_equal(kernel_prediction_find_token(&p, 1)->fix, "iommu.strict=1");
        kernel_prediction_done(&p);

        /* amd_iommu=on: "Unknown option" on 6.x, silently ignored on 5.10; changes nothing on either. */
        p = predict(&k612, VENDOR_AMD, "amd_iommu=on iommu=pt");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_UNKNOWN);
        assert_int_equal(effect_of_token(&p, 1), TOKEN_EFFECTIVE);
        assert_int_equal(p.domain, DOMAIN_IDENTITY);
        kernel_prediction_done(&p);
        p = predict(&k510, VENDOR_AMD, "amd_iommu=on iommu=pt");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_IGNORED);
        kernel_prediction_done(&p);

        /* iommu=on beside the drivers switched off: ignored, no groups. */
        p = predict(&k612, VENDOR_INTEL, "intel_iommu=off amd_iommu=off iommu=on");
        assert_false(p.groups);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        assert_int_equal(effect_of_token(&p, 1), TOKEN_REDUNDANT); /* not for VT-d */
        assert_int_equal(effect_of_token(&p, 2), TOKEN_IGNORED);
        kernel_prediction_done(&p);

        /* A later token wins. */
        p = predict(&k612, VENDOR_INTEL, "iommu.passthrough=1 iommu.passthrough=0");
        assert_int_equal(p.domain, DOMAIN_DMA_FQ);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_OVERRIDDEN);
        assert_non_null(strstr(kernel_prediction_find_token(&p, 0)->why, "iommu.passthrough=0"));
        kernel_prediction_done(&p);

        /* Already the build default. */
        p = predict(&k612, VENDOR_INTEL, "iommu.strict=0");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_REDUNDANT);
        kernel_prediction_done(&p);

        /* Deprecated from 5.15, the only way before. */
        p = predict(&k612, VENDOR_INTEL, "intel_iommu=strict");
        assert_int_equal(p.domain, DOMAIN_DMA);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_DEPRECATED);
        kernel_prediction_done(&p);
        p = predict(&k510, VENDOR_INTEL, "intel_iommu=strict");
        assert_int_equal(p.strict, 1);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        kernel_prediction_done(&p);

        /* iommu.strict= does not reach the x86 drivers before 5.15. */
        p = predict(&k510, VENDOR_INTEL, "intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        assert_int_equal(p.strict, 0);
        assert_int_equal(effect_of_token(&p, 2), TOKEN_IGNORED);
        kernel_prediction_done(&p);

        /* Options the model does not follow are taken as effective. */
        p = predict(&k612, VENDOR_INTEL, "intel_iommu=igfx_off");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        kernel_prediction_done(&p);

        /* arm64 has no iommu=. */
        {
                KernelInfo a = kernel(ARCH_AARCH64, 6, 12);
                p = predict(&a, VENDOR_ARM64, "iommu=pt");
                assert_int_equal(effect_of_token(&p, 0), TOKEN_UNKNOWN);
                assert_int_equal(p.domain, DOMAIN_DMA);
                kernel_prediction_done(&p);
        }
}

/* Debian's intel_iommu=intgpu_off: accepted where the build has CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF,
 * unknown to mainline. */
static void test_debian_intgpu_off(void **state) {
        KernelInfo k = kernel(ARCH_X86_64, 6, 12);
        KernelPrediction p;

        p = predict(&k, VENDOR_INTEL, "intel_iommu=intgpu_off");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_UNKNOWN);
        kernel_prediction_done(&p);
        kernel_config_parse("CONFIG_INTEL_IOMMU=y\nCONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\n", ARCH_X86_64, k.version, &k.config);
        p = predict(&k, VENDOR_INTEL, "intel_iommu=intgpu_off");
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        assert_non_null(strstr(kernel_prediction_find_token(&p, 0)->why, "Debian"));
        kernel_prediction_done(&p);
}

/* iommu=soft before 5.19 turns hardware IOMMU detection off (measured on 5.10); from 5.19 swiotlb only. */
static void test_iommu_soft(void **state) {
        KernelInfo k510 = kernel(ARCH_X86_64, 5, 10), k612 = kernel(ARCH_X86_64, 6, 12);
        KernelPrediction p;

        p = predict(&k510, VENDOR_AMD, "iommu=soft");
        assert_false(p.groups);
        assert_int_equal(p.interrupt_remapping, 0);
        assert_int_equal(effect_of_token(&p, 0), TOKEN_EFFECTIVE);
        kernel_prediction_done(&p);
        p = predict(&k510, VENDOR_INTEL, "iommu=soft");
        assert_false(p.groups);
        assert_int_equal(p.interrupt_remapping, 1);
        kernel_prediction_done(&p);
        p = predict(&k612, VENDOR_INTEL, "iommu=soft");
        assert_true(p.groups);
        kernel_prediction_done(&p);
}

/* Debian's cloud flavour has no AMD-Vi driver: iommu=pt changes nothing because there is no driver. */
static void test_cloud_flavour(void **state) {
        KernelInfo k = kernel(ARCH_X86_64, 6, 12);
        KernelPrediction p;

        k.config_source = (char *) "/boot/config-6.12.117+deb13-cloud-amd64";
        kernel_config_parse("CONFIG_INTEL_IOMMU=y\n# CONFIG_AMD_IOMMU is not set\n", ARCH_X86_64, k.version, &k.config);
        p = predict(&k, VENDOR_AMD, "iommu=pt");
        assert_false(p.groups);
        assert_non_null(strstr(kernel_prediction_find_token(&p, 0)->why, "without CONFIG_AMD_IOMMU"));
        kernel_prediction_done(&p);
}

static void test_info_load(void **state) {
        char *root = test_mkroot();
        KernelInfo k;
        _cleanup_free_ char *d = NULL;

        /* Nothing there: say so, assume the newest release with mainline defaults. */
        assert_int_equal(kernel_info_load(test_root(root), ARCH_X86_64, NULL, NULL, &k), 0);
        assert_null(k.release);
        assert_string_equal(k.release_source, "assumed");
        assert_null(k.config_source);
        assert_int_equal(k.version, KERNEL_VERSION_NEWEST);
        kernel_info_done(&k);

        test_write(root, "/proc/sys/kernel/osrelease", "5.10.0-32-amd64\n");
        test_write(root, "/boot/config-5.10.0-32-amd64", "CONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n");
        test_write(root, "/proc/cpuinfo", "flags\t\t: fpu vme hypervisor lahf_lm\n");
        assert_int_equal(kernel_info_load(test_root(root), ARCH_X86_64, NULL, NULL, &k), 0);
        assert_string_equal(k.release, "5.10.0-32-amd64");
        assert_int_equal(k.version, KERNEL_VERSION(5, 10));
        assert_string_equal(k.config_source, "/boot/config-5.10.0-32-amd64");
        assert_int_equal(k.config.intel_default_on, 0);
        /* The CPU's hypervisor flag is no platform fact: kernel_info_load() reads none. */
        assert_int_equal(k.platform.fact[PLATFORM_AMD_NPCACHE], -1);
        d = kernel_info_describe(&k);
        assert_non_null(strstr(d, "5.10.0-32-amd64"));
        kernel_info_done(&k);

        /* An osrelease that does not parse (a hostile image) is not an error: the newest release is modelled. */
        test_write(root, "/proc/sys/kernel/osrelease", "../../etc\n");
        assert_int_equal(kernel_info_load(test_root(root), ARCH_X86_64, NULL, NULL, &k), 0);
        assert_int_equal(k.version, KERNEL_VERSION_NEWEST);
        assert_null(k.config_source);
        kernel_info_done(&k);

        /* --kernel: a release with no config under the root. */
        assert_int_equal(kernel_info_load(test_root(root), ARCH_X86_64, "7.2.13+deb14-amd64", NULL, &k), 0);
        assert_string_equal(k.release_source, "--kernel");
        assert_null(k.config_source);
        kernel_info_done(&k);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_release_parse),
                cmocka_unit_test(test_config_parse),
                cmocka_unit_test(test_config_scan),
                cmocka_unit_test(test_defaults_by_release),
                cmocka_unit_test(test_token_effects),
                cmocka_unit_test(test_debian_intgpu_off),
                cmocka_unit_test(test_iommu_soft),
                cmocka_unit_test(test_cloud_flavour),
                cmocka_unit_test(test_info_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
