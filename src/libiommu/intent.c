/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "intent.h"
#include "strv.h"

#define VMASK(v) (1u << (v))
#define VMASK_X86_ALL (VMASK(VENDOR_INTEL) | VMASK(VENDOR_AMD) | VMASK(VENDOR_PORTABLE))

typedef enum BuildCondition {
        BUILD_ANY,
        BUILD_VTD_ON_PROVEN, /* a build configuration was read and turns VT-d on by default */
        BUILD_VTD_ON_UNPROVEN,
} BuildCondition;

/* The tokens that give each mode, by vendor and release: the first matching row wins. Each row
 * names where the kernel reads the tokens; tests/vm/kernel-truth.sh boots them. */
typedef struct TokenRule {
        ProfileMode mode;
        unsigned vendor_mask;
        unsigned since, until; /* KERNEL_VERSION(); 0: open */
        BuildCondition build;
        const char *tokens;
        const char *why;
} TokenRule;

static const TokenRule token_rules[] = {
        /* arch/x86/kernel/pci-dma.c: iommu=pt; drivers/iommu/intel/iommu.c: intel_iommu=on for builds
         * without CONFIG_INTEL_IOMMU_DEFAULT_ON (RHEL 8, older Ubuntu); AMD-Vi needs nothing. */
        { MODE_PASSTHROUGH, VMASK(VENDOR_INTEL) | VMASK(VENDOR_PORTABLE), 0, 0, BUILD_ANY, "intel_iommu=on iommu=pt",
          "iommu=pt makes the default domain identity; intel_iommu=on because VT-d is on by default only in some builds" },
        { MODE_PASSTHROUGH, VMASK(VENDOR_AMD), 0, 0, BUILD_ANY, "iommu=pt",
          "iommu=pt makes the default domain identity; AMD-Vi is on whenever the firmware publishes an IVRS table" },
        { MODE_PASSTHROUGH, VMASK(VENDOR_ARM64), 0, 0, BUILD_ANY, "iommu.passthrough=1",
          "iommu.passthrough=1 (drivers/iommu/iommu.c); arm64 has no iommu=" },

        /* drivers/iommu/iommu.c: iommu.strict= reaches the x86 drivers from 5.15; before, x86 is lazy
         * unless intel_iommu=strict / amd_iommu=fullflush (measured on 5.10). */
        { MODE_LAZY, VMASK(VENDOR_INTEL) | VMASK(VENDOR_PORTABLE), KERNEL_VERSION(5, 15), 0, BUILD_ANY,
          "intel_iommu=on iommu.passthrough=0 iommu.strict=0",
          "translated (iommu.passthrough=0) with deferred invalidation (iommu.strict=0: DMA-FQ), whatever the build's default" },
        { MODE_LAZY, VMASK(VENDOR_INTEL) | VMASK(VENDOR_PORTABLE), 0, KERNEL_VERSION(5, 15), BUILD_ANY,
          "intel_iommu=on iommu.passthrough=0",
          "translated; before 5.15 x86 is lazy unless asked (iommu.strict= does not reach the x86 drivers, so it is not written)" },
        { MODE_LAZY, VMASK(VENDOR_AMD), KERNEL_VERSION(5, 15), 0, BUILD_ANY, "iommu.passthrough=0 iommu.strict=0",
          "translated (iommu.passthrough=0) with deferred invalidation (iommu.strict=0: DMA-FQ), whatever the build's default" },
        { MODE_LAZY, VMASK(VENDOR_AMD), 0, KERNEL_VERSION(5, 15), BUILD_ANY, "iommu.passthrough=0",
          "translated; before 5.15 x86 is lazy unless asked (iommu.strict= does not reach the x86 drivers, so it is not written)" },
        { MODE_LAZY, VMASK(VENDOR_ARM64), 0, 0, BUILD_ANY, "iommu.passthrough=0 iommu.strict=0",
          "translated with deferred invalidation; arm64's default is strict" },

        { MODE_STRICT, VMASK(VENDOR_INTEL) | VMASK(VENDOR_PORTABLE), KERNEL_VERSION(5, 15), 0, BUILD_ANY,
          "intel_iommu=on iommu.passthrough=0 iommu.strict=1",
          "translated (iommu.passthrough=0) with synchronous invalidation (iommu.strict=1: DMA); iommu=strict is no x86 value" },
        { MODE_STRICT, VMASK(VENDOR_INTEL), 0, KERNEL_VERSION(5, 15), BUILD_VTD_ON_PROVEN,
          "intel_iommu=strict iommu.passthrough=0",
          "before 5.15 iommu.strict= does not reach VT-d: intel_iommu=strict is the only way (drivers/iommu/intel/iommu.c); "
          "this build turns VT-d on by default" },
        { MODE_STRICT, VMASK(VENDOR_INTEL), 0, KERNEL_VERSION(5, 15), BUILD_ANY,
          "intel_iommu=on,strict iommu.passthrough=0",
          "before 5.15 iommu.strict= does not reach VT-d: intel_iommu=strict is the only way (drivers/iommu/intel/iommu.c); "
          "on because VT-d is on by default only in some builds" },
        { MODE_STRICT, VMASK(VENDOR_PORTABLE), 0, KERNEL_VERSION(5, 15), BUILD_ANY,
          "intel_iommu=on,strict amd_iommu=fullflush iommu.passthrough=0",
          "before 5.15 iommu.strict= does not reach the x86 drivers: intel_iommu=strict and amd_iommu=fullflush" },
        { MODE_STRICT, VMASK(VENDOR_AMD), KERNEL_VERSION(5, 15), 0, BUILD_ANY, "iommu.passthrough=0 iommu.strict=1",
          "translated (iommu.passthrough=0) with synchronous invalidation (iommu.strict=1: DMA)" },
        { MODE_STRICT, VMASK(VENDOR_AMD), 0, KERNEL_VERSION(5, 15), BUILD_ANY, "amd_iommu=fullflush iommu.passthrough=0",
          "before 5.15 iommu.strict= does not reach AMD-Vi: amd_iommu=fullflush is the only way (drivers/iommu/amd/init.c)" },
        { MODE_STRICT, VMASK(VENDOR_ARM64), 0, 0, BUILD_ANY, "iommu.passthrough=0 iommu.strict=1",
          "translated with synchronous invalidation (arm64's usual default, written so that no build changes it)" },

        { MODE_TRANSLATED, VMASK(VENDOR_INTEL) | VMASK(VENDOR_PORTABLE), 0, 0, BUILD_ANY, "intel_iommu=on iommu.passthrough=0",
          "translated (iommu.passthrough=0), invalidation as the build decides" },
        { MODE_TRANSLATED, VMASK(VENDOR_AMD) | VMASK(VENDOR_ARM64), 0, 0, BUILD_ANY, "iommu.passthrough=0",
          "translated (iommu.passthrough=0), invalidation as the build decides" },

        /* arch/x86/kernel/pci-dma.c: iommu=off; intel_iommu=off also wins over the firmware's DMA
         * protection opt-in (DMAR DMA_CTRL_PLATFORM_OPT_IN), which can force VT-d on despite iommu=off. */
        { MODE_OFF, VMASK(VENDOR_INTEL), 0, 0, BUILD_ANY, "intel_iommu=off iommu=off",
          "no IOMMU driver registers: no groups; intel_iommu=off also wins over the firmware's DMA-protection opt-in" },
        { MODE_OFF, VMASK(VENDOR_AMD), 0, 0, BUILD_ANY, "amd_iommu=off iommu=off",
          "no IOMMU driver registers: no groups, and on AMD no interrupt remapping" },
        { MODE_OFF, VMASK(VENDOR_PORTABLE), 0, 0, BUILD_ANY, "intel_iommu=off amd_iommu=off iommu=off",
          "no IOMMU driver registers on Intel or AMD: no groups" },
};

void intent_choice_done(IntentChoice *c) {
        cmdline_free(c->tokens);
        free(c->why);
        free(c->misses_mode);
        free(c->refusal);
        *c = (IntentChoice) { .nearest = _MODE_INVALID };
}

_printf_(3, 4)
static int refuse(IntentChoice *c, ProfileMode nearest, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&c->refusal, fmt, ap);
        va_end(ap);
        if (n < 0) {
                c->refusal = NULL;
                return -ENOMEM;
        }
        c->nearest = nearest;
        return 0;
}

static bool build_matches(BuildCondition b, const KernelInfo *k) {
        bool proven = k->config_source && k->config.intel_iommu == 1 && k->config.intel_default_on == 1;

        return b == BUILD_ANY || (b == BUILD_VTD_ON_PROVEN) == proven;
}

static bool mode_met(ProfileMode mode, const KernelPrediction *p) {
        switch (mode) {
        case MODE_OFF:
                return !p->groups;
        case MODE_PASSTHROUGH:
                return p->groups && p->domain == DOMAIN_IDENTITY;
        case MODE_LAZY:
                return p->groups && p->strict == 0;
        case MODE_STRICT:
                return p->groups && p->strict == 1;
        case MODE_TRANSLATED:
                return p->groups && (p->domain == DOMAIN_DMA || p->domain == DOMAIN_DMA_FQ);
        default:
                return false;
        }
}

/* What the platform or the build rules out before any token is looked at. 1 refused, 0 not. */
static int refuse_by_platform(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentChoice *c) {
        const KernelPlatform *pl = &k->platform;
        int r;

        /* Debian's cloud flavour: "# CONFIG_AMD_IOMMU is not set" (measured, every release). */
        if (mode != MODE_OFF && (vendor == VENDOR_AMD || vendor == VENDOR_PORTABLE) && k->config_source && k->config.amd_iommu == 0) {
                r = refuse(c, MODE_OFF, "%s is built without CONFIG_AMD_IOMMU (%s), as Debian's cloud flavour is: no AMD-Vi "
                           "driver, so no IOMMU groups whatever the command line; boot a flavour with the driver "
                           "(Debian: linux-image-amd64, not -cloud-amd64)", k->release ?: "this kernel", k->config_source);
                return r < 0 ? r : 1;
        }
        if (mode != MODE_OFF && (vendor == VENDOR_INTEL || vendor == VENDOR_PORTABLE) && k->config_source && k->config.intel_iommu == 0) {
                r = refuse(c, MODE_OFF, "%s is built without CONFIG_INTEL_IOMMU (%s): no VT-d driver, so no IOMMU groups "
                           "whatever the command line", k->release ?: "this kernel", k->config_source);
                return r < 0 ? r : 1;
        }
        if (mode == MODE_LAZY && vendor != VENDOR_AMD && vendor != VENDOR_ARM64 && pl->fact[PLATFORM_VTD_CACHING_MODE] == 1) {
                r = refuse(c, MODE_STRICT, "lazy invalidation cannot be kept here: %s, and the kernel then forces strict "
                           "(drivers/iommu/intel/iommu.c, \"IOMMU batching disallowed due to virtualization\"; every release)",
                           pl->evidence[PLATFORM_VTD_CACHING_MODE]);
                return r < 0 ? r : 1;
        }
        if (mode == MODE_LAZY && (vendor == VENDOR_AMD || vendor == VENDOR_PORTABLE) && pl->fact[PLATFORM_AMD_NPCACHE] == 1 &&
            kernel_fact_holds(KERNEL_FACT_AMD_VM_STRICT, k->version)) {
                r = refuse(c, MODE_STRICT, "lazy invalidation cannot be kept here: %s, and the kernel then forces strict "
                           "(drivers/iommu/amd/init.c, \"Using strict mode due to virtualization\"; 5.15 on)",
                           pl->evidence[PLATFORM_AMD_NPCACHE]);
                return r < 0 ? r : 1;
        }
        if (mode == MODE_OFF && vendor == VENDOR_ARM64) {
                r = refuse(c, MODE_PASSTHROUGH, "arm64 has no command-line switch that turns the SMMU off (no iommu=, "
                           "intel_iommu= or amd_iommu=); passthrough keeps host DMA untranslated");
                return r < 0 ? r : 1;
        }
        return 0;
}

static int intent_choose_one(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentChoice *ret);

/* Whether tokens give mode for vendor on every kernel of the list. */
static int tokens_work_on_all(ProfileMode mode, Vendor vendor, const Cmdline *tokens, const KernelInfo *ks, size_t n,
                              const KernelInfo **ret_failed) {
        for (size_t i = 0; i < n; i++)
                for (Vendor check = VENDOR_INTEL; check <= VENDOR_ARM64; check++) {
                        _cleanup_(kernel_prediction_done) KernelPrediction p = {};
                        int r;

                        if (vendor == VENDOR_PORTABLE ? check == VENDOR_ARM64 : check != vendor)
                                continue;
                        r = kernel_predict_effect(&ks[i], check, tokens, &p);
                        if (r < 0)
                                return r;
                        if (!mode_met(mode, &p)) {
                                *ret_failed = &ks[i];
                                return 0;
                        }
                }
        return 1;
}

/* An image that ships several kernels: the first kernel's choice (oldest first) that keeps the mode
 * on all of them; deprecated spellings that old kernels need still work on new ones. */
int intent_choose(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentChoice *ret) {
        const KernelInfo *failed = NULL;
        int r;

        if (!k || k->n_image_kernels < 2)
                return intent_choose_one(mode, vendor, k, ret);
        for (size_t i = 0; i < k->n_image_kernels; i++) {
                _cleanup_(intent_choice_done) IntentChoice c = { .nearest = _MODE_INVALID };
                KernelInfo ki = k->image_kernels[i];
                char *why;

                ki.platform = k->platform;
                r = intent_choose_one(mode, vendor, &ki, &c);
                if (r < 0)
                        return r;
                if (!c.tokens) {
                        /* One kernel of the image cannot keep the mode at all: that is the answer. */
                        *ret = c;
                        c = (IntentChoice) {};
                        return 0;
                }
                r = tokens_work_on_all(mode, vendor, c.tokens, k->image_kernels, k->n_image_kernels, &failed);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (asprintf(&why, "%s; the image ships %zu kernels (%s to %s) and this line keeps Mode=%s on each", c.why,
                             k->n_image_kernels, k->image_kernels[0].release, k->image_kernels[k->n_image_kernels - 1].release,
                             profile_mode_to_string(mode)) < 0)
                        return -ENOMEM;
                free(c.why);
                c.why = why;
                *ret = c;
                c = (IntentChoice) {};
                return 0;
        }
        *ret = (IntentChoice) { .nearest = _MODE_INVALID };
        return refuse(ret, _MODE_INVALID, "no single line keeps Mode=%s on every kernel the image ships (%s fails with each "
                      "kernel's own choice)", profile_mode_to_string(mode), failed && failed->release ? failed->release : "one");
}

static int intent_choose_one(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentChoice *ret) {
        _cleanup_(intent_choice_done) IntentChoice c = { .nearest = _MODE_INVALID };
        const TokenRule *rule = NULL;
        KernelInfo def;
        char v[16];
        int r;

        if (!k) {
                kernel_info_default(vendor_arch(vendor), &def);
                k = &def;
        }
        r = refuse_by_platform(mode, vendor, k, &c);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = c;
                c = (IntentChoice) {};
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(token_rules) && !rule; i++) {
                const TokenRule *t = &token_rules[i];
                if (t->mode == mode && (t->vendor_mask & VMASK(vendor)) && (!t->since || k->version >= t->since) &&
                    (!t->until || k->version < t->until) && build_matches(t->build, k))
                        rule = t;
        }
        if (!rule) {
                r = refuse(&c, _MODE_INVALID, "no tokens give Mode=%s on %s", profile_mode_to_string(mode),
                           vendor_to_string(vendor));
                if (r < 0)
                        return r;
                *ret = c;
                c = (IntentChoice) {};
                return 0;
        }
        r = cmdline_parse(rule->tokens, &c.tokens);
        if (r < 0)
                return r;
        /* The model checks its own choice on this kernel, for each vendor the line is for. */
        for (Vendor check = VENDOR_INTEL; check <= VENDOR_ARM64; check++) {
                _cleanup_(kernel_prediction_done) KernelPrediction p = {};
                char e[32];

                if (vendor == VENDOR_PORTABLE ? check == VENDOR_ARM64 : check != vendor)
                        continue;
                r = kernel_predict_effect(k, check, c.tokens, &p);
                if (r < 0)
                        return r;
                if (mode_met(mode, &p))
                        continue;
                c.tokens = cmdline_free(c.tokens);
                r = refuse(&c, !p.groups ? MODE_OFF : p.domain == DOMAIN_IDENTITY ? MODE_PASSTHROUGH
                                          : p.strict == 1 ? MODE_STRICT : p.strict == 0 ? MODE_LAZY : MODE_TRANSLATED,
                           "on %s the best tokens for Mode=%s (%s) would give %s (%s)", vendor_to_string(check),
                           profile_mode_to_string(mode), rule->tokens, kernel_prediction_effect_string(&p, e),
                           mode == MODE_STRICT || mode == MODE_LAZY ? strna(p.strict_reason) : strna(p.reason));
                if (r < 0)
                        return r;
                *ret = c;
                c = (IntentChoice) {};
                return 0;
        }
        if (asprintf(&c.why, "chosen by the kernel model for Mode=%s on %s %s: %s", profile_mode_to_string(mode),
                     vendor_to_string(vendor), k->release ?: kernel_version_string(k->version, v), rule->why) < 0)
                return -ENOMEM;
        *ret = c;
        c = (IntentChoice) {};
        return 0;
}

int intent_profile_args(const Profile *p, Vendor vendor, const KernelInfo *k, IntentChoice *ret) {
        _cleanup_(intent_choice_done) IntentChoice c = { .nearest = _MODE_INVALID };
        int r;

        if (vendor < 0 || vendor >= _VENDOR_MAX)
                return -ENODATA;
        if (p->args[vendor].set) {
                r = cmdline_parse(p->args[vendor].text, &c.tokens);
                if (r < 0)
                        return r;
                c.from_profile = true;
                if (asprintf(&c.why, "the profile's own %s line (%s:%u)", vendor_to_string(vendor), p->args[vendor].file,
                             p->args[vendor].line) < 0)
                        return -ENOMEM;
                /* Explicit lines win, linted against the model for this kernel. */
                for (Vendor check = VENDOR_INTEL; k && check <= VENDOR_ARM64 && !c.misses_mode; check++) {
                        _cleanup_(kernel_prediction_done) KernelPrediction pr = {};
                        _cleanup_(intent_choice_done) IntentChoice model = { .nearest = _MODE_INVALID };
                        _cleanup_free_ char *m = NULL;
                        char e[32];

                        if (vendor == VENDOR_PORTABLE ? check == VENDOR_ARM64 : check != vendor)
                                continue;
                        r = kernel_predict_effect(k, check, c.tokens, &pr);
                        if (r < 0)
                                return r;
                        if (mode_met(p->mode, &pr))
                                continue;
                        r = intent_choose(p->mode, vendor, k, &model);
                        if (r < 0)
                                return r;
                        if (model.tokens && !(m = cmdline_to_string(model.tokens)))
                                return -ENOMEM;
                        if (asprintf(&c.misses_mode, "the profile's own %s line (%s:%u) gives %s on %s (%s), not Mode=%s; %s%s",
                                     vendor_to_string(vendor), p->args[vendor].file, p->args[vendor].line,
                                     kernel_prediction_effect_string(&pr, e), vendor_to_string(check),
                                     p->mode == MODE_STRICT || p->mode == MODE_LAZY ? strna(pr.strict_reason) : strna(pr.reason),
                                     profile_mode_to_string(p->mode), m ? "the model would write: " : "the model refuses too: ",
                                     m ?: strna(model.refusal)) < 0)
                                return -ENOMEM;
                }
                *ret = c;
                c = (IntentChoice) {};
                return 0;
        }
        r = intent_choose(p->mode, vendor, k, &c);
        if (r < 0)
                return r;
        /* Off on arm64 and the like: nothing to write at all, as a profile without the line. */
        if (!c.tokens && c.nearest < 0)
                return -ENODATA;
        *ret = c;
        c = (IntentChoice) {};
        return 0;
}

void intent_conflicts_done(IntentConflicts *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->items[i].message);
        free(c->items);
        *c = (IntentConflicts) {};
}

_printf_(5, 6)
static int conflict_add(IntentConflicts *c, const char *id, bool refuse_mode, const char *fits, const char *fmt, ...) {
        IntentConflict *n;
        char *m;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        n = realloc(c->items, (c->n + 1) * sizeof(IntentConflict));
        if (!n) {
                free(m);
                return -ENOMEM;
        }
        c->items = n;
        c->items[c->n++] = (IntentConflict) { .id = id, .refuse = refuse_mode, .message = m, .fits = fits };
        return 0;
}

bool intent_conflicts_may_refuse(ProfileMode mode, Vendor vendor) {
        /* The refusals intent_conflicts() raises: "no-driver" only. Keep the two in step. */
        return mode != MODE_OFF && (vendor == VENDOR_AMD || vendor == VENDOR_INTEL);
}

int intent_conflicts(ProfileMode mode, Vendor vendor, const KernelInfo *k, IntentConflicts *ret) {
        _cleanup_(intent_conflicts_done) IntentConflicts c = {};
        const KernelPlatform *pl;
        KernelInfo def;
        int r;

        if (!k) {
                kernel_info_default(vendor_arch(vendor), &def);
                k = &def;
        }
        pl = &k->platform;
        /* A build without the vendor's driver (Debian's cloud flavour on AMD): no mode but off, whatever
         * the profile's own line says. */
        if (intent_conflicts_may_refuse(mode, vendor) && k->config_source &&
            ((vendor == VENDOR_AMD && k->config.amd_iommu == 0) || (vendor == VENDOR_INTEL && k->config.intel_iommu == 0))) {
                r = conflict_add(&c, "no-driver", true, NULL,
                                 "%s is built without CONFIG_%s_IOMMU (%s): no IOMMU groups whatever the command line, so "
                                 "Mode=%s cannot be kept; boot a flavour with the driver (Debian: not -cloud)",
                                 k->release ?: "this kernel", vendor == VENDOR_AMD ? "AMD" : "INTEL", k->config_source,
                                 profile_mode_to_string(mode));
                if (r < 0)
                        return r;
        }
        /* drivers/iommu/amd/init.c: "SNP: IOMMU is disabled or configured in passthrough mode, SNP cannot be
         * supported" (iommu_snp_enable(), 6.4 on): the RMP needs every device's DMA translated. */
        if ((mode == MODE_PASSTHROUGH || mode == MODE_OFF) && vendor != VENDOR_INTEL && vendor != VENDOR_ARM64 &&
            pl->fact[PLATFORM_SEV_SNP] == 1) {
                r = conflict_add(&c, "sev-snp", false, "lazy",
                                 "Mode=%s breaks SEV-SNP on this host (%s): the kernel logs \"SNP: IOMMU is disabled or configured "
                                 "in passthrough mode, SNP cannot be supported\" and no SNP guest can start "
                                 "(drivers/iommu/amd/init.c); SNP needs translated DMA", profile_mode_to_string(mode),
                                 pl->evidence[PLATFORM_SEV_SNP]);
                if (r < 0)
                        return r;
        }
        /* drivers/iommu/arm/arm-smmu-v3: before 6.11 an identity domain has no context-descriptor table
         * (S1DSS), so PASID binds and ATS fail; vendor kernels backport it (state it with the override). */
        if (mode == MODE_PASSTHROUGH && vendor == VENDOR_ARM64 && pl->fact[PLATFORM_SMMUV3] == 1 &&
            pl->fact[PLATFORM_PASID_ATS] == 1 && k->version < KERNEL_VERSION(6, 11) &&
            pl->fact[PLATFORM_SMMUV3_IDENTITY_FIX] != 1) {
                r = conflict_add(&c, "smmuv3-pasid", false, "lazy",
                                 "Mode=passthrough on SMMUv3 before 6.11 leaves identity domains without a context-descriptor "
                                 "table: PASID binds and ATS fail (CUDA cannot create a context on Grace-class GPUs) unless the "
                                 "kernel carries the S1DSS backport (%s)", pl->evidence[PLATFORM_PASID_ATS]);
                if (r < 0)
                        return r;
        }
        if (mode == MODE_PASSTHROUGH && vendor == VENDOR_ARM64 && pl->fact[PLATFORM_GRACE] == 1) {
                r = conflict_add(&c, "grace-gds", false, "lazy",
                                 "NVIDIA's GPUDirect Storage guide asks for translation, not passthrough, on Grace (%s): "
                                 "lazy keeps most of the throughput", pl->evidence[PLATFORM_GRACE]);
                if (r < 0)
                        return r;
        }
        *ret = c;
        c = (IntentConflicts) {};
        return 0;
}

int iommufd_readiness(int dev_iommu, int dev_vfio_devices, const KernelInfo *k, int *ret_ready, char **ret_evidence) {
        const KernelConfig *c = &k->config;
        char *e;
        int ready;

        if (dev_iommu == 1 && dev_vfio_devices == 1)
                ready = 1;
        else if (c->iommufd == 0 || c->vfio_device_cdev == 0 || dev_iommu == 0 || dev_vfio_devices == 0)
                ready = 0;
        else
                ready = c->iommufd == 1 && c->vfio_device_cdev == 1 ? 1 : -1;
        if (asprintf(&e, "%s; %s; CONFIG_IOMMUFD %s, CONFIG_VFIO_DEVICE_CDEV %s (%s)",
                     dev_iommu < 0 ? "/dev not under the root" : dev_iommu ? "/dev/iommu present" : "no /dev/iommu",
                     dev_vfio_devices < 0 ? "/dev/vfio/devices not looked up" : dev_vfio_devices ? "/dev/vfio/devices present"
                                                                               : "no /dev/vfio/devices",
                     c->iommufd < 0 ? "unknown" : c->iommufd ? "set" : "not set",
                     c->vfio_device_cdev < 0 ? "unknown" : c->vfio_device_cdev ? "set" : "not set",
                     k->config_source ?: "no build configuration read") < 0)
                return -ENOMEM;
        *ret_ready = ready;
        *ret_evidence = e;
        return 0;
}
