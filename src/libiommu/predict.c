/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "predict.h"

static bool list_has(const char *value, const char *item, bool prefix) {
        for (const char *p = value ?: ""; *p;) {
                size_t n = strcspn(p, ",");
                size_t l = strlen(item);
                if (prefix ? (n >= l && strneq(p, item, l)) : (n == l && strneq(p, item, n)))
                        return true;
                p += n;
                p += strspn(p, ",");
        }
        return false;
}

int kernel_predict(const Cmdline *c, Vendor vendor, KernelPrediction *ret) {
        Arch arch = vendor_arch(vendor);
        bool driver_on = true, passthrough = false, strict = arch == ARCH_AARCH64;
        const char *driver_reason = "the IOMMU driver is on by default when firmware describes the IOMMU";
        const char *domain_reason = arch == ARCH_AARCH64 ? "arm64 kernels default to translated, strict"
                                                         : "x86 kernels default to translated, lazy invalidation";

        if (vendor == VENDOR_PORTABLE)
                vendor = VENDOR_INTEL;

        /* Tokens are applied in order: for these parameters a later occurrence wins. */
        for (size_t i = 0; i < c->n_tokens; i++) {
                const CmdlineToken *t = &c->tokens[i];
                int b;

                if (arch == ARCH_X86_64 && cmdline_key_equal(t->key, "iommu")) {
                        if (list_has(t->value, "off", true)) {
                                driver_on = false;
                                driver_reason = "iommu=off disables IOMMU DMA remapping";
                        }
                        if (list_has(t->value, "pt", true)) {
                                passthrough = true;
                                domain_reason = "iommu=pt";
                        }
                        if (list_has(t->value, "nopt", true)) {
                                passthrough = false;
                                domain_reason = "iommu=nopt";
                        }
                } else if (arch == ARCH_X86_64 && vendor == VENDOR_INTEL && cmdline_key_equal(t->key, "intel_iommu")) {
                        if (list_has(t->value, "on", false)) {
                                driver_on = true;
                                driver_reason = "intel_iommu=on";
                        }
                        if (list_has(t->value, "off", false)) {
                                driver_on = false;
                                driver_reason = "intel_iommu=off";
                        }
                        if (list_has(t->value, "strict", false)) {
                                strict = true;
                                domain_reason = "intel_iommu=strict (deprecated)";
                        }
                } else if (arch == ARCH_X86_64 && vendor == VENDOR_AMD && cmdline_key_equal(t->key, "amd_iommu")) {
                        if (list_has(t->value, "off", false)) {
                                driver_on = false;
                                driver_reason = "amd_iommu=off";
                        }
                        if (list_has(t->value, "fullflush", false)) {
                                strict = true;
                                domain_reason = "amd_iommu=fullflush (deprecated)";
                        }
                } else if (cmdline_key_equal(t->key, "iommu.passthrough")) {
                        b = parse_kernel_bool(t->value);
                        if (b >= 0) {
                                passthrough = b;
                                domain_reason = b ? "iommu.passthrough=1" : "iommu.passthrough=0";
                        }
                } else if (cmdline_key_equal(t->key, "iommu.strict")) {
                        b = parse_kernel_bool(t->value);
                        if (b >= 0) {
                                strict = b;
                                if (!passthrough)
                                        domain_reason = b ? "iommu.strict=1" : "iommu.strict=0";
                        }
                }
        }

        if (!driver_on) {
                *ret = (KernelPrediction) { .groups = false, .domain = DOMAIN_NONE, .reason = driver_reason };
                return 0;
        }
        *ret = (KernelPrediction) {
                .groups = true,
                .domain = passthrough ? DOMAIN_IDENTITY : strict ? DOMAIN_DMA : DOMAIN_DMA_FQ,
                .reason = domain_reason,
        };
        return 0;
}
