/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "cmdline.h"
#include "intent.h"
#include "plan.h"
#include "strv.h"
#include "verdict.h"

static const char * const result_names[_CHECK_RESULT_MAX] = {
        [CHECK_PASS] = "PASS",
        [CHECK_WARN] = "WARN",
        [CHECK_FAIL] = "FAIL",
};

static const char * const result_json_names[_CHECK_RESULT_MAX] = {
        [CHECK_PASS] = "pass",
        [CHECK_WARN] = "warn",
        [CHECK_FAIL] = "fail",
};

static const struct {
        const char *id, *title;
} features[_FEATURE_MAX] = {
        [FEATURE_GPUDIRECT_RDMA] = { "gpudirect-rdma", "GPUDirect RDMA" },
        [FEATURE_SRIOV_VF_ASSIGNMENT] = { "sriov-vf-assignment", "SR-IOV VF assignment" },
        [FEATURE_VFIO_PASSTHROUGH] = { "vfio-passthrough", "VFIO passthrough" },
        [FEATURE_DMA_TRANSLATION_OVERHEAD] = { "dma-translation-overhead", "DMA translation overhead" },
        [FEATURE_DEVICE_ISOLATION] = { "device-isolation", "Device isolation" },
        [FEATURE_NVIDIA_PEERMEM] = { "nvidia-peermem", "nvidia-peermem" },
};

static const char * const feature_state_names[_FEATURE_STATE_MAX] = {
        [FEATURE_WORKS] = "works",
        [FEATURE_DEGRADED] = "degraded",
        [FEATURE_BROKEN] = "broken",
        [FEATURE_NOT_APPLICABLE] = "n/a",
};

const char *check_result_to_string(CheckResult r) {
        return STRING_TABLE_TO_STRING(result_names, r);
}

const char *check_result_to_json_string(CheckResult r) {
        return r >= 0 && r < _CHECK_RESULT_MAX ? result_json_names[r] : NULL;
}

const char *feature_to_string(Feature f) {
        return f < _FEATURE_MAX ? features[f].id : NULL;
}

const char *feature_title(Feature f) {
        return f < _FEATURE_MAX ? features[f].title : NULL;
}

const char *feature_state_to_string(FeatureState s) {
        return STRING_TABLE_TO_STRING(feature_state_names, s);
}

/* Adds a check; evidence is formatted, fix is copied (NULL for none). */
_printf_(5, 6)
static int check_add(Verdict *v, const char *id, CheckResult result, const char *fix, const char *fmt, ...) {
        Check *t, c = { .id = id, .result = result };
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&c.evidence, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (fix && !(c.fix = strdup(fix))) {
                free(c.evidence);
                return -ENOMEM;
        }
        t = realloc(v->checks, (v->n_checks + 1) * sizeof(Check));
        if (!t) {
                free(c.evidence);
                free(c.fix);
                return -ENOMEM;
        }
        v->checks = t;
        v->checks[v->n_checks++] = c;
        if (result > v->result)
                v->result = result;
        return 0;
}

_printf_(4, 5)
static int matrix_set(Verdict *v, Feature f, FeatureState s, const char *fmt, ...) {
        va_list ap;
        int k;

        free(v->matrix[f].reason);
        va_start(ap, fmt);
        k = vasprintf(&v->matrix[f].reason, fmt, ap);
        va_end(ap);
        if (k < 0) {
                v->matrix[f].reason = NULL;
                return -ENOMEM;
        }
        v->matrix[f].state = s;
        return 0;
}

/* "identity 4, DMA 1" for the group types present. */
static char *type_counts_string(const Observation *o) {
        _cleanup_strv_free_ char **l = NULL;

        for (DomainType t = 0; t < _DOMAIN_TYPE_MAX; t++) {
                char *s;
                if (!o->type_counts[t])
                        continue;
                if (asprintf(&s, "%s %u", domain_type_to_string(t), o->type_counts[t]) < 0 || strv_consume(&l, s) < 0)
                        return NULL;
        }
        return l ? strv_join(l, ", ") : strdup("none");
}

static bool profile_wants_vfio(const Profile *p) {
        STRV_FOREACH(m, p->expect_modules)
                if (startswith(*m, "vfio"))
                        return true;
        return false;
}

#define VM_IOMMU_FIX                                                                                          \
        "This is a virtual machine: its IOMMU comes from the hypervisor, not a firmware setup. Give it a virtual " \
        "IOMMU (QEMU/KVM: -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on, or -device "        \
        "amd-iommu or virtio-iommu-pci; libvirt: <iommu model='intel'/>), or on a cloud choose an instance type " \
        "with a (virtual) IOMMU or bare metal, then reboot."
#define VM_SMMU_FIX                                                                                           \
        "This is a virtual machine: its SMMU comes from the hypervisor. Give it a virtual one (QEMU: -machine "    \
        "virt,iommu=smmuv3, or -device virtio-iommu-pci), or on a cloud choose an instance type with one or bare " \
        "metal, then reboot."

static const char *firmware_fix(Vendor vendor) {
        switch (vendor) {
        case VENDOR_INTEL:
                return "Enable VT-d (\"Intel Virtualization Technology for Directed I/O\", \"VT-d\") in the firmware setup, then reboot.";
        case VENDOR_AMD:
                return "Enable AMD-Vi (\"IOMMU\", \"SVM/IOMMU\" or \"AMD-Vi\") in the firmware setup, then reboot.";
        default:
                return "Enable the IOMMU in the firmware setup (Intel: \"VT-d\"; AMD: \"IOMMU\", \"SVM/IOMMU\"), then reboot.";
        }
}

static int check_firmware(Verdict *v, const Observation *o, const Profile *p) {
        bool required = p->expect_firmware == FIRMWARE_REQUIRED;

        if (o->arch == ARCH_AARCH64) {
                for (size_t i = 0; i < o->n_units; i++)
                        if (streq(o->units[i].kind, "arm-smmu"))
                                return check_add(v, "firmware", CHECK_PASS, NULL,
                                                 "SMMU %s described by the firmware (device tree or ACPI IORT)", o->units[i].name);
                if (!required)
                        return check_add(v, "firmware", CHECK_PASS, NULL, "no SMMU registered (not required by this profile)");
                if (o->virtualization)
                        return check_add(v, "firmware", CHECK_FAIL, VM_SMMU_FIX,
                                         "no SMMU registered under /sys/class/iommu: this virtual machine (%s: %s) has no virtual SMMU",
                                         o->virtualization, o->virtualization_evidence);
                return check_add(v, "firmware", CHECK_FAIL,
                                 "Make the firmware describe the SMMU (ACPI IORT or device tree) and enable it in the firmware setup.",
                                 "no SMMU registered under /sys/class/iommu");
        }

        if (o->acpi.dmar.present) {
                if (!o->acpi.dmar.parsed)
                        return check_add(v, "firmware", CHECK_PASS, NULL, "ACPI DMAR table present (Intel VT-d; flags not readable: %s)",
                                         o->acpi.dmar.error == -EACCES ? "run as root" : strerror(-o->acpi.dmar.error));
                uint8_t f = o->acpi.dmar_flags;
                return check_add(v, "firmware", CHECK_PASS, NULL,
                                 "ACPI DMAR table present (Intel VT-d, host address width %u bits, flags 0x%02x:%s%s%s%s)",
                                 o->acpi.dmar_host_address_width + 1u, f,
                                 f & DMAR_FLAG_INTR_REMAP ? " INTR_REMAP" : "",
                                 f & DMAR_FLAG_X2APIC_OPT_OUT ? " X2APIC_OPT_OUT" : "",
                                 f & DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN ? " DMA_CTRL_PLATFORM_OPT_IN" : "",
                                 f & 0x07 ? "" : " none");
        }
        if (o->acpi.ivrs.present) {
                if (!o->acpi.ivrs.parsed)
                        return check_add(v, "firmware", CHECK_PASS, NULL, "ACPI IVRS table present (AMD-Vi; IVinfo not readable: %s)",
                                         o->acpi.ivrs.error == -EACCES ? "run as root" : strerror(-o->acpi.ivrs.error));
                return check_add(v, "firmware", CHECK_PASS, NULL, "ACPI IVRS table present (AMD-Vi, IVinfo 0x%08x%s)",
                                 o->acpi.ivrs_ivinfo,
                                 o->acpi.ivrs_ivinfo & IVRS_IVINFO_DMA_REMAP_SUPPORT ? ": pre-boot DMA protection" : "");
        }
        if (!required)
                return check_add(v, "firmware", CHECK_PASS, NULL, "no ACPI DMAR or IVRS table (not required by this profile)");
        if (o->virtualization)
                /* A VM's owner has no firmware setup to change: the IOMMU is the hypervisor's to give. */
                return check_add(v, "firmware", CHECK_FAIL, VM_IOMMU_FIX,
                                 "no ACPI DMAR or IVRS table: this virtual machine (%s: %s) has no virtual IOMMU",
                                 o->virtualization, o->virtualization_evidence);
        return check_add(v, "firmware", CHECK_FAIL, firmware_fix(o->vendor),
                         "no ACPI DMAR or IVRS table: the firmware does not describe an IOMMU (disabled in the firmware setup, or absent)");
}

/* What on the running command line keeps the IOMMU off, for fixes. */
static const char *cmdline_disabler(const Verdict *v, const Observation *o) {
        if (!o->cmdline || v->args_vendor < 0 || v->predicted.groups)
                return NULL;
        return v->predicted.reason;
}

static int check_driver_and_groups(Verdict *v, const Observation *o, const Profile *p) {
        _cleanup_free_ char *units = NULL, *types = NULL, *fix = NULL;
        _cleanup_strv_free_ char **names = NULL;
        const char *disabler = cmdline_disabler(v, o);
        bool firmware = o->acpi.dmar.present || o->acpi.ivrs.present || o->arch == ARCH_AARCH64;
        int r;

        for (size_t i = 0; i < o->n_units; i++) {
                char *s;
                if (asprintf(&s, "%s (%s%s%s)", o->units[i].name, o->units[i].kind, o->units[i].version ? ", version " : "",
                             o->units[i].version ?: "") < 0)
                        return -ENOMEM;
                r = strv_consume(&names, s);
                if (r < 0)
                        return r;
        }
        units = names ? strv_join(names, ", ") : strdup("none");
        types = type_counts_string(o);
        if (!units || !types)
                return -ENOMEM;

        if (p->expect_groups) {
                if (v->predicted.driver_not_built)
                        r = asprintf(&fix, "This kernel cannot register the IOMMU: %s. Boot a kernel built with the driver (Debian: "
                                     "linux-image-amd64, not the cloud flavour); no command line can help.", strna(v->predicted.reason));
                else if (!firmware)
                        fix = strdup(o->virtualization ? VM_IOMMU_FIX : firmware_fix(o->vendor));
                else if (disabler)
                        r = asprintf(&fix, "The running command line turns the IOMMU off (%s): boot with the profile's tokens "
                                     "('iommuctl plan' shows them, 'iommuctl apply' writes them), then reboot.", disabler);
                else
                        fix = strdup("The firmware describes an IOMMU but no driver registered: check the kernel log for DMAR/AMD-Vi "
                                     "errors and that the kernel has CONFIG_INTEL_IOMMU/CONFIG_AMD_IOMMU.");
                if (!fix)
                        return -ENOMEM;

                r = o->n_units > 0 ? check_add(v, "iommu-driver", CHECK_PASS, NULL, "IOMMU units registered: %s", units)
                                   : check_add(v, "iommu-driver", CHECK_FAIL, fix, "no IOMMU unit registered (/sys/class/iommu is empty)");
                if (r < 0)
                        return r;
                return o->n_groups > 0 ? check_add(v, "groups", CHECK_PASS, NULL, "%zu IOMMU groups (%s)", o->n_groups, types)
                                       : check_add(v, "groups", CHECK_FAIL, fix,
                                                   "no IOMMU groups: VFIO and SR-IOV VF assignment cannot work");
        }

        fix = strdup(o->acpi.dmar.present && o->acpi.dmar.parsed && (o->acpi.dmar_flags & DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN)
                     ? "The firmware opts in to DMA protection (DMAR DMA_CTRL_PLATFORM_OPT_IN), which turns VT-d on despite "
                       "iommu=off: add intel_iommu=off ('iommuctl plan' shows the profile's tokens), then reboot."
                     : "The profile's tokens did not take effect: run 'iommuctl plan' to compare the command line, "
                       "'iommuctl apply' to write it, then reboot.");
        if (!fix)
                return -ENOMEM;
        r = o->n_units == 0 ? check_add(v, "iommu-driver", CHECK_PASS, NULL, "no IOMMU unit registered, as the profile wants")
                            : check_add(v, "iommu-driver", CHECK_FAIL, fix, "IOMMU units registered: %s; the profile wants none", units);
        if (r < 0)
                return r;
        return o->n_groups == 0 ? check_add(v, "groups", CHECK_PASS, NULL, "no IOMMU groups, as the profile wants")
                                : check_add(v, "groups", CHECK_FAIL, fix, "%zu IOMMU groups (%s); the profile wants none", o->n_groups, types);
}

static bool cmdline_has_value(const Observation *o, const char *key, const char *item) {
        _cleanup_cmdline_ Cmdline *c = NULL;

        if (!o->cmdline || cmdline_parse(o->cmdline, &c) < 0)
                return false;
        for (size_t i = 0; i < c->n_tokens; i++) {
                if (!cmdline_key_equal(c->tokens[i].key, key) || !c->tokens[i].value)
                        continue;
                _cleanup_strv_free_ char **items = NULL;
                if (strv_split(c->tokens[i].value, ",", &items) >= 0 && strv_contains(items, item))
                        return true;
        }
        return false;
}

static int check_domain_type(Verdict *v, const Observation *o, const Profile *p) {
        _cleanup_free_ char *types = type_counts_string(o), *fix = NULL;
        unsigned n = observation_default_domain_groups(o), wrong = 0;
        DomainType seen = DOMAIN_NONE;
        const char *want;

        if (!types)
                return -ENOMEM;
        if (!p->expect_groups || o->n_groups == 0)
                return 0;
        want = p->mode == MODE_TRANSLATED ? "DMA or DMA-FQ" : domain_type_to_string(p->expect_domain);
        /* Nothing readable is not "no default domain": the promise cannot be checked at all. */
        if (o->n_types_unread == o->n_groups)
                return check_add(v, "domain-type", CHECK_FAIL,
                                 "Read the types as root on the live host, or capture the tree again (iommu-capture-host).",
                                 "the default domain type of none of the %zu groups could be read (see \"Not read\"): "
                                 "Mode=%s cannot be verified", o->n_groups, profile_mode_to_string(p->mode));
        if (n == 0)
                return check_add(v, "domain-type", CHECK_WARN,
                                 "Check again with no device assigned to VFIO or a VM.",
                                 "no group has a default domain (%s): devices are assigned to VFIO or VMs", types);

        for (DomainType t = DOMAIN_IDENTITY; t <= DOMAIN_DMA_FQ; t++)
                if (o->type_counts[t] && !profile_mode_accepts(p->mode, t)) {
                        wrong += o->type_counts[t];
                        seen = t;
                }
        /* Before 5.15 lazy domains read DMA too: lazy is only known from the model. */
        if (p->mode == MODE_LAZY && v->facts.strict_inferred && o->type_counts[DOMAIN_DMA] > 0 &&
            wrong == o->type_counts[DOMAIN_DMA]) {
                if (v->facts.strict == 0)
                        return check_add(v, "domain-type", CHECK_PASS, NULL,
                                         "every default domain is DMA (%s); lazy invalidation is not observable on this kernel, "
                                         "inferred lazy: %s", types, v->facts.strict_evidence);
                return check_add(v, "domain-type", CHECK_FAIL, "Boot with the profile's tokens ('iommuctl plan', 'iommuctl apply') and reboot.",
                                 "every default domain reads DMA (%s) and the model infers strict: %s; Mode=lazy is not in effect",
                                 types, v->facts.strict_evidence);
        }
        /* Before 5.15 lazy domains read DMA too: strict is only known from the model. */
        if (wrong == 0 && p->mode == MODE_STRICT && v->facts.strict_inferred) {
                if (v->facts.strict == 1)
                        return check_add(v, "domain-type", CHECK_PASS, NULL,
                                         "every default domain is DMA (%s); strict invalidation is not observable on this kernel, "
                                         "inferred strict: %s", types, v->facts.strict_evidence);
                return check_add(v, "domain-type", CHECK_FAIL,
                                 o->arch == ARCH_X86_64
                                 ? "Before 5.15 x86 kernels are lazy unless asked, and iommu.strict= does not reach the x86 drivers: "
                                   "boot with intel_iommu=strict (Intel) or amd_iommu=fullflush (AMD) in addition to the profile's "
                                   "tokens, or a kernel from 5.15 on."
                                 : "Boot with the profile's tokens ('iommuctl plan', 'iommuctl apply') and reboot.",
                                 "every default domain reads DMA (%s), but this kernel cannot show strict versus lazy in sysfs and "
                                 "the model infers lazy: %s; Mode=strict is not in effect", types, v->facts.strict_evidence);
        }
        if (wrong == 0)
                return check_add(v, "domain-type", CHECK_PASS, NULL, "every default domain is %s (%s), as Mode=%s promises%s%s",
                                 want, types, profile_mode_to_string(p->mode), v->facts.strict_forced ? "; strict by virtualization: " : "",
                                 v->facts.strict_forced ? v->facts.strict_forced : "");
        if (p->mode == MODE_LAZY && seen == DOMAIN_DMA && v->facts.strict_forced)
                return check_add(v, "domain-type", CHECK_FAIL,
                                 "A virtual IOMMU that forces strict cannot give lazy domains: use the strict profile here, or "
                                 "ask the hypervisor for an IOMMU without caching mode / NpCache.",
                                 "%u of %u default domains are DMA (%s), not DMA-FQ: strict by virtualization: %s; Mode=lazy "
                                 "cannot be kept on this node", wrong, n, types, v->facts.strict_forced);

        switch (p->mode) {
        case MODE_STRICT:
                if (seen == DOMAIN_DMA_FQ) {
                        if (asprintf(&fix, "Strict invalidation is iommu.strict=1 (with iommu.passthrough=0)%s; boot with the "
                                     "profile's tokens ('iommuctl plan', 'iommuctl apply') and reboot.",
                                     cmdline_has_value(o, "iommu", "strict")
                                     ? ": 'iommu=strict' on the running command line is not an x86 iommu= value and the kernel "
                                       "ignores it without a word" : "") < 0)
                                return -ENOMEM;
                } else
                        fix = strdup("Translated, strict DMA is iommu.passthrough=0 iommu.strict=1: remove iommu=pt and "
                                     "iommu.passthrough=1, boot with the profile's tokens ('iommuctl plan', 'iommuctl apply') and reboot.");
                break;
        case MODE_PASSTHROUGH:
                fix = strdup("Passthrough is iommu=pt on x86 and iommu.passthrough=1 on arm64: boot with the profile's tokens "
                             "('iommuctl plan', 'iommuctl apply') and reboot.");
                break;
        default:
                fix = strdup("Translated DMA is iommu.passthrough=0 (or no iommu=pt): boot with the profile's tokens "
                             "('iommuctl plan', 'iommuctl apply') and reboot.");
                break;
        }
        if (!fix)
                return -ENOMEM;
        return check_add(v, "domain-type", CHECK_FAIL, fix, "%u of %u default domains are not %s (%s): Mode=%s is not in effect",
                         wrong, n, want, types, profile_mode_to_string(p->mode));
}

/* The exact fix for a token that changes nothing: "Remove X ..." or "Replace X with Y." */
static char *token_fix(const char *text, const char *replacement) {
        _cleanup_free_ char *inner = NULL;
        const char *rest;
        char *s;

        if (!replacement)
                rest = NULL;
        else if ((rest = startswith(replacement, "remove it")))
                rest = rest[0] == ':' || rest[0] == ' ' ? rest + strspn(rest, ": ") : rest;
        else {
                if (asprintf(&s, "Replace %s with %s on the kernel command line.", text, replacement) < 0)
                        return NULL;
                return s;
        }
        /* "remove it (use X)": the parenthesis is ours to write. */
        if (rest && rest[0] == '(' && endswith(rest, ")")) {
                inner = strndup(rest + 1, strlen(rest) - 2);
                if (!inner)
                        return NULL;
                rest = inner;
        }
        if (asprintf(&s, "Remove %s from the kernel command line%s%s%s", text, !isempty(rest) ? " (" : "", !isempty(rest) ? rest : "",
                     !isempty(rest) ? ")." : ".") < 0)
                return NULL;
        return s;
}

/* One WARN per owned token of the running line that changes nothing, unless the profile asks for it. */
static int check_inert_tokens(Verdict *v, const Cmdline *current, const Cmdline *wanted) {
        int r;

        for (size_t i = 0; i < v->predicted.n_tokens; i++) {
                const TokenPrediction *tp = &v->predicted.tokens[i];
                const CmdlineToken *t = &current->tokens[tp->index];
                _cleanup_free_ char *id = NULL, *fix = NULL;
                Check *c;

                if (!token_effect_is_inert(tp->effect) || (wanted && cmdline_contains_token(wanted, t)))
                        continue;
                if (asprintf(&id, "token:%s", t->text) < 0)
                        return -ENOMEM;
                fix = token_fix(t->text, tp->fix);
                if (!fix)
                        return -ENOMEM;
                r = check_add(v, id, CHECK_WARN, fix, "%s changes nothing on this kernel (%s): %s", t->text,
                              token_effect_to_string(tp->effect), tp->why);
                if (r < 0)
                        return r;
                c = &v->checks[v->n_checks - 1];
                c->id_owned = TAKE_PTR(id);
                c->id = c->id_owned;
        }
        return 0;
}

/* The tokens of c that carry an owned pci= option (the ACS lift). */
static int owned_option_tokens(const Cmdline *c, char * const *owned, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_key_has_owned_options(c->tokens[i].key, owned) &&
                    cmdline_token_ownership(&c->tokens[i], owned) != CMDLINE_NOT_OWNED &&
                    (r = strv_extend(&l, c->tokens[i].text)) < 0)
                        return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The sync state of the line and the profile's tokens, both without the owned pci= options. */
static int sync_without_owned_options(const KernelInfo *k, Vendor vendor, const Cmdline *current, char * const *owned,
                                      const Cmdline *wanted, SyncState *ret) {
        _cleanup_cmdline_ Cmdline *c = NULL, *w = NULL;
        _cleanup_strv_free_ char **options = NULL;
        int r;

        STRV_FOREACH(o, owned)
                if (strchr(*o, '=') && (r = strv_extend(&options, *o)) < 0)
                        return r;
        r = cmdline_strip_owned(current, options, &c);
        if (r >= 0)
                r = cmdline_strip_owned(wanted, options, &w);
        if (r < 0)
                return r;
        return plan_sync_state(k, vendor, c, owned, w, ret);
}

static int check_cmdline(Verdict *v, const Observation *o, const Profile *p, const KernelInfo *k, Vendor vendor) {
        _cleanup_cmdline_ Cmdline *current = NULL, *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL, **have = NULL, **missing = NULL;
        _cleanup_free_ char *wanted_s = NULL, *have_s = NULL, *missing_s = NULL;
        char e1[32];
        SyncState sync;
        int r;

        if (!o->cmdline)
                return check_add(v, "cmdline", CHECK_WARN, "Run as a user who can read /proc/cmdline.",
                                 "could not read /proc/cmdline");
        r = cmdline_parse(o->cmdline, &current);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return check_add(v, "cmdline", CHECK_WARN, NULL, "could not parse /proc/cmdline");
        if (vendor < 0)
                return check_add(v, "cmdline", CHECK_WARN, "Set Vendor= in /etc/iommu/iommu.conf or pass --vendor.",
                                 "cannot tell this host's IOMMU vendor, so not which [KernelArgs] entry applies");
        {
                _cleanup_(intent_choice_done) IntentChoice choice = {};

                /* The profile's own line, else the tokens the model chooses for its Mode on this kernel. */
                r = intent_profile_args(p, vendor, k, &choice);
                if (r >= 0 && !choice.tokens)
                        return check_add(v, "cmdline", CHECK_FAIL,
                                         choice.nearest >= 0 ? "Choose a profile whose Mode this node can keep (the nearest one is "
                                                               "named in the evidence)." : NULL,
                                         "Mode=%s cannot be kept on this node: %s%s%s", profile_mode_to_string(p->mode), choice.refusal,
                                         choice.nearest >= 0 ? "; the nearest mode it can give is " : "",
                                         choice.nearest >= 0 ? profile_mode_to_string(choice.nearest) : "");
                if (r >= 0)
                        wanted = TAKE_PTR(choice.tokens);
        }
        if (r == -ENODATA) {
                r = check_inert_tokens(v, current, NULL);
                if (r < 0)
                        return r;
                return check_add(v, "cmdline", CHECK_WARN, "Add a line for this vendor to the profile's [KernelArgs].",
                                 "profile %s has no [KernelArgs] entry for %s", p->name, vendor_to_string(vendor));
        }
        if (r < 0)
                return r;
        r = profile_owned_keys(p, &owned);
        if (r < 0)
                return r;
        /* [PCI] LiftACSRedirect=gpu-paths: the token plan and apply write, from this node's tree. */
        if (p->lift_acs_redirect == PROFILE_ACS_LIFT_GPU_PATHS) {
                _cleanup_(acs_lift_done) AcsLift lift = {};

                r = plan_acs_lift_observed(o, k ? k->version : 0, &lift);
                if (r >= 0)
                        r = acs_lift_add_token(wanted, &lift);
                if (r < 0)
                        return r;
        }
        r = plan_sync_state(k, vendor, current, owned, wanted, &sync);
        if (r < 0)
                return r;
        /* Only the owned pci= options (the ACS lift) differ: bandwidth and group sizes, not the
         * IOMMU mode. A WARN that says which. */
        if (sync == SYNC_DRIFT) {
                _cleanup_strv_free_ char **lift_have = NULL, **lift_want = NULL;
                SyncState without;

                r = sync_without_owned_options(k, vendor, current, owned, wanted, &without);
                if (r < 0)
                        return r;
                if (without != SYNC_DRIFT) {
                        _cleanup_free_ char *h = NULL, *w = NULL;

                        r = owned_option_tokens(current, owned, &lift_have);
                        if (r >= 0)
                                r = owned_option_tokens(wanted, owned, &lift_want);
                        if (r < 0)
                                return r;
                        h = lift_have ? strv_join(lift_have, " ") : strdup("no ACS lift");
                        w = lift_want ? strv_join(lift_want, " ") : strdup("none (the profile has no [PCI] LiftACSRedirect=gpu-paths)");
                        if (!h || !w)
                                return -ENOMEM;
                        return check_add(v, "cmdline", CHECK_WARN,
                                         lift_want ? "Run 'iommuctl apply' to write the profile's ACS lift to the boot entries, then reboot."
                                                   : "Run 'iommuctl apply' to remove the lift (the profile keeps ACS redirect), then reboot.",
                                         "the running command line does what the profile's IOMMU tokens do, but its ACS lift "
                                         "differs: it has %s, the profile asks for %s (peer-to-peer bandwidth and the IOMMU "
                                         "groups below those ports depend on it)", h, w);
                }
        }
        r = check_inert_tokens(v, current, wanted);
        if (r < 0)
                return r;

        for (size_t i = 0; i < current->n_tokens; i++)
                if (cmdline_token_ownership(&current->tokens[i], owned) != CMDLINE_NOT_OWNED &&
                    (r = strv_extend(&have, current->tokens[i].text)) < 0)
                        return r;
        for (size_t i = 0; i < wanted->n_tokens; i++)
                if (!cmdline_contains_token(current, &wanted->tokens[i]) && (r = strv_extend(&missing, wanted->tokens[i].text)) < 0)
                        return r;
        wanted_s = cmdline_to_string(wanted);
        have_s = have ? strv_join(have, " ") : strdup("(none)");
        missing_s = missing ? strv_join(missing, " ") : strdup("");
        if (!wanted_s || !have_s || !missing_s)
                return -ENOMEM;

        if (sync == SYNC_IN_SYNC)
                return check_add(v, "cmdline", CHECK_PASS, NULL,
                                 "the running command line carries the profile's tokens for %s (%s; in any order), "
                                 "the model predicts %s", vendor_to_string(vendor), wanted_s,
                                 kernel_prediction_effect_string(&v->predicted, e1));
        if (sync == SYNC_SAME_EFFECT)
                return check_add(v, "cmdline", CHECK_PASS, NULL,
                                 "the running command line '%s' does what the profile's tokens for %s do (%s), without %s",
                                 have_s, vendor_to_string(vendor), kernel_prediction_effect_string(&v->predicted, e1), missing_s);
        return check_add(v, "cmdline", CHECK_FAIL,
                         "Run 'iommuctl plan' to see the change, 'iommuctl apply' to write it to the boot entries, then reboot.",
                         "the running command line has '%s', which the model predicts gives %s (%s), where the profile's "
                         "tokens for %s ('%s') give something else", have_s, kernel_prediction_effect_string(&v->predicted, e1),
                         strna(v->predicted.reason), vendor_to_string(vendor), wanted_s);
}

/* The command line without the "initrd=" tokens systemd-boot adds in front of an entry's options. */
static int cmdline_without_initrd(const char *s, char **ret) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = cmdline_parse(s, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_tokens; i++)
                if (!streq(c->tokens[i].key, "initrd") && (r = strv_extend(&l, c->tokens[i].text)) < 0)
                        return r;
        *ret = l ? strv_join(l, " ") : strdup("");
        return *ret ? 0 : -ENOMEM;
}

static int check_boot_entry(Verdict *v, const Observation *o) {
        _cleanup_free_ char *running = NULL, *entry = NULL, *skipped = NULL;
        int r;

        /* The model's line leaves out the add-ons systemd-stub does not append (unsigned under
         * Secure Boot, another kernel's .uname): said, so that a missing token is explained. */
        if (o->efi.entry_addons_skipped) {
                _cleanup_free_ char *l = strv_join(o->efi.entry_addons_skipped, ", ");
                if (!l || asprintf(&skipped, "; systemd-stub skips %s", l) < 0)
                        return -ENOMEM;
        }

        if (!o->efi.loader_entry || !o->efi.entry_options || !o->cmdline)
                return 0;
        r = cmdline_without_initrd(o->cmdline, &running);
        if (r >= 0)
                r = cmdline_without_initrd(o->efi.entry_options, &entry);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return check_add(v, "boot-entry", CHECK_WARN, NULL, "could not parse the options of boot entry %s", o->efi.loader_entry);
        if (streq(running, entry))
                return check_add(v, "boot-entry", CHECK_PASS, NULL, "booted entry %s; its options are the running command line%s",
                                 o->efi.loader_entry, skipped ?: "");
        return check_add(v, "boot-entry", CHECK_WARN,
                         "The entry changed since boot, or its options were edited in the boot menu: reboot to run what the entry says.",
                         "booted entry %s has options '%s' but the kernel runs with '%s'%s", o->efi.loader_entry, entry, running,
                         skipped ?: "");
}

static int check_interrupt_remapping(Verdict *v, const Observation *o, const Profile *p) {
        int want = p->expect_interrupt_remapping;
        bool vfio = profile_wants_vfio(p);

        if (o->arch != ARCH_X86_64)
                return 0;
        if (o->interrupt_remapping < 0)
                return want == 1 || vfio ? check_add(v, "interrupt-remapping", CHECK_WARN, "Run as root.",
                                                     "could not read /proc/interrupts")
                                         : 0;
        if (o->interrupt_remapping > 0)
                return want == 0 ? check_add(v, "interrupt-remapping", CHECK_FAIL, "Boot with intremap=off, or set InterruptRemapping=any.",
                                             "interrupt remapping is on (%s interrupt chips); the profile wants it off",
                                             o->interrupt_remapping_chip)
                                 : check_add(v, "interrupt-remapping", CHECK_PASS, NULL, "interrupt remapping is on (%s interrupt chips)",
                                             o->interrupt_remapping_chip);
        if (want == 1 || (vfio && o->modules.allow_unsafe_interrupts != 1))
                return check_add(v, "interrupt-remapping", CHECK_FAIL,
                                 o->virtualization ?
                                 "Give this virtual machine a virtual IOMMU with interrupt remapping (QEMU: -machine "
                                 "q35,kernel-irqchip=split -device intel-iommu,intremap=on), and no intremap=off on the command "
                                 "line. VFIO refuses to assign devices without it." :
                                 "Enable interrupt remapping: VT-d/AMD-Vi with x2APIC in the firmware setup, and no intremap=off "
                                 "on the command line. VFIO refuses to assign devices without it.",
                                 "no remapped (IR-) interrupt chips in /proc/interrupts");
        if (vfio)
                return check_add(v, "interrupt-remapping", CHECK_WARN,
                                 "Enable interrupt remapping in the firmware setup and drop allow_unsafe_interrupts.",
                                 "no remapped (IR-) interrupt chips; VFIO works only because allow_unsafe_interrupts=1");
        return check_add(v, "interrupt-remapping", CHECK_PASS, NULL, "interrupt remapping is off (not required by this profile)");
}

static int check_modules(Verdict *v, const Observation *o, const Profile *p) {
        int r;

        STRV_FOREACH(m, p->expect_modules) {
                _cleanup_free_ char *name = NULL, *id = NULL;
                const ModuleState *ms;
                Check *c;

                r = module_name_normalize(*m, &name);
                if (r < 0)
                        return r;
                if (asprintf(&id, "module:%s", name) < 0)
                        return -ENOMEM;
                ms = observation_find_module(o, name);
                if (!ms)
                        r = check_add(v, id, CHECK_WARN, NULL, "%s was not looked up", name);
                else if (ms->loaded)
                        r = check_add(v, id, CHECK_PASS, NULL, "%s is loaded", name);
                else if (ms->available > 0)
                        r = check_add(v, id, CHECK_PASS, NULL, "%s is available (%s) for %s, not loaded yet", name,
                                      ms->builtin ? "built in" : "module", strna(o->release));
                else if (ms->available == 0)
                        r = check_add(v, id, CHECK_FAIL,
                                      "Install the kernel's module package (Debian: linux-image-*; Ubuntu: linux-modules-extra-*; "
                                      "RHEL: kernel-modules) for the running kernel.",
                                      "%s is not available for kernel %s (%s)", name, strna(o->release), strna(o->modules.directory));
                else
                        r = check_add(v, id, CHECK_WARN, "Check that the running kernel's modules are installed.",
                                      "%s is not loaded, and there is no module directory for kernel %s under the root to look it up",
                                      name, strna(o->release));
                if (r < 0)
                        return r;
                /* The id must outlive this loop. */
                c = &v->checks[v->n_checks - 1];
                c->id_owned = TAKE_PTR(id);
                c->id = c->id_owned;
        }
        if (o->modules.allow_unsafe_interrupts == 1)
                return check_add(v, "unsafe-interrupts", CHECK_WARN,
                                 "Remove 'options vfio_iommu_type1 allow_unsafe_interrupts=1' and enable interrupt remapping instead.",
                                 "vfio_iommu_type1 allow_unsafe_interrupts=Y: assigned devices can inject interrupts into the host");
        return 0;
}

static bool log_line_is_problem(const char *l) {
        return strstr(l, "Unknown option") || strstr(l, "deprecated");
}

static int check_kernel_log(Verdict *v, const Observation *o) {
        _cleanup_strv_free_ char **bad = NULL;
        _cleanup_free_ char *joined = NULL;
        int r;

        if (!o->log.read)
                return 0;
        STRV_FOREACH(l, o->log.lines)
                if (log_line_is_problem(*l) && (r = strv_extend(&bad, *l)) < 0)
                        return r;
        if (!bad)
                return check_add(v, "kernel-log", CHECK_PASS, NULL, "%zu IOMMU lines in the kernel log, none about unknown or deprecated options",
                                 strv_length(o->log.lines));
        joined = strv_join(bad, "; ");
        if (!joined)
                return -ENOMEM;
        return check_add(v, "kernel-log", CHECK_WARN,
                         "Remove or replace the option the kernel names ('iommuctl lint --cmdline \"$(cat /proc/cmdline)\"' explains it).",
                         "%s", joined);
}

static Vendor model_vendor(const Observation *o, Vendor args_vendor);

/* What the profile's mode breaks on this node (SEV-SNP with passthrough...): one WARN each, with the
 * profile that fits. */
static int check_conflicts(Verdict *v, const Observation *o, const Profile *p, const KernelInfo *k, Vendor args_vendor) {
        _cleanup_(intent_conflicts_done) IntentConflicts c = {};
        int r;

        r = intent_conflicts(p->mode, model_vendor(o, args_vendor), k, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c.n; i++) {
                _cleanup_free_ char *id = NULL, *fix = NULL;
                Check *ck;

                if (asprintf(&id, "conflict:%s", c.items[i].id) < 0 ||
                    (c.items[i].fits && asprintf(&fix, "Use profile %s on this node ('iommuctl plan --profile %s').", c.items[i].fits,
                                                 c.items[i].fits) < 0))
                        return -ENOMEM;
                r = check_add(v, id, CHECK_WARN, fix, "%s", c.items[i].message);
                if (r < 0)
                        return r;
                ck = &v->checks[v->n_checks - 1];
                ck->id_owned = TAKE_PTR(id);
                ck->id = ck->id_owned;
        }
        return 0;
}

/* Devices in a group other than bridges: what VFIO has to assign together. */
static unsigned group_endpoints(const Observation *o, const IommuGroup *g) {
        unsigned n = 0;
        STRV_FOREACH(d, g->devices) {
                const PciDevice *pd = observation_find_device(o, *d);
                if (!pd || (pd->class >> 8) != 0x0604)
                        n++;
        }
        return n;
}

static bool device_is_sriov_pf(const PciDevice *d) {
        return d->sriov_totalvfs > 0 && !d->physfn;
}

static int check_isolation(Verdict *v, const Observation *o, const Profile *p, unsigned *ret_shared) {
        _cleanup_strv_free_ char **shared = NULL;
        _cleanup_free_ char *joined = NULL;
        unsigned checked = 0;
        int r;

        *ret_shared = 0;
        if (o->n_groups == 0)
                return 0;
        for (size_t i = 0; i < o->n_devices; i++) {
                const PciDevice *d = &o->devices[i];
                const IommuGroup *g;
                unsigned n;
                char *s;

                if (!d->is_gpu && !device_is_sriov_pf(d))
                        continue;
                checked++;
                g = observation_find_group(o, d->group);
                n = g ? group_endpoints(o, g) : 0;
                if (n <= 1)
                        continue;
                if (asprintf(&s, "%s (group %d, %u devices)", d->bdf, d->group, n) < 0)
                        return -ENOMEM;
                r = strv_consume(&shared, s);
                if (r < 0)
                        return r;
        }
        *ret_shared = strv_length(shared);
        /* Only profiles that assign devices care; the matrix uses the count either way. */
        if (checked == 0 || !p->expect_groups || !profile_wants_vfio(p))
                return 0;
        if (!shared)
                return check_add(v, "isolation", CHECK_PASS, NULL, "each of the %u GPUs and SR-IOV devices has an IOMMU group of its own",
                                 checked);
        joined = strv_join(shared, ", ");
        if (!joined)
                return -ENOMEM;
        return check_add(v, "isolation", CHECK_WARN,
                         "Devices in one group can only be assigned together: move them behind ACS-capable ports or enable ACS "
                         "in the firmware setup (pcie_acs_override= only hides the problem).",
                         "%u of %u GPUs and SR-IOV devices share their group: %s", *ret_shared, checked, joined);
}

/* "0000:00:10.0 (ACSCtl 0x001d: SV RR CR UF)" for each port that redirects one of the paths
 * (gpu_only: paths from a GPU), each once. */
static char *p2p_redirect_summary(const Observation *o, const P2pTopology *t, bool gpu_only, char ***ret_ports) {
        _cleanup_strv_free_ char **ports = NULL, **l = NULL;

        for (size_t i = 0; i < t->n_paths; i++) {
                const P2pPath *p = &t->paths[i];
                if (gpu_only && !o->devices[p->a].is_gpu)
                        continue;
                for (unsigned k = 0; k < 2; k++) {
                        const PciDevice *d;
                        char bits[32], *s;
                        if (!p->redirect_ports[k] || strv_contains(ports, p->redirect_ports[k]))
                                continue;
                        d = observation_find_device(o, p->redirect_ports[k]);
                        if (!d || strv_extend(&ports, p->redirect_ports[k]) < 0 ||
                            asprintf(&s, "%s (%s, ACSCtl 0x%04x: %s)", d->bdf, pcie_port_type_to_string(d->pcie.port_type),
                                     d->pcie.acs_ctrl, pcie_acs_bits_to_string(d->pcie.acs_ctrl, bits)) < 0 ||
                            strv_consume(&l, s) < 0)
                                return NULL;
                }
        }
        if (ret_ports)
                *ret_ports = TAKE_PTR(ports);
        /* An HGX board has 24 such ports: name four, count the rest (JSON lists them all). */
        size_t n = strv_length(l);
        if (n > 4) {
                char *more;
                if (asprintf(&more, "and %zu more", n - 4) < 0)
                        return NULL;
                free(l[4]);
                l[4] = more;
                for (size_t i = 5; i < n; i++)
                        l[i] = mfree(l[i]);
        }
        return l ? strv_join(l, ", ") : strdup("");
}

/* "4 paths: PIX 2 (redirected 2), PHB 2 (translated 2)". */
static char *p2p_class_summary(const P2pTopology *t) {
        _cleanup_strv_free_ char **l = NULL;

        for (P2pClass c = 0; c < _P2P_CLASS_MAX; c++) {
                unsigned n = 0, by_route[_P2P_ROUTE_MAX] = {};
                _cleanup_free_ char *routes = NULL;
                char *s;

                for (size_t i = 0; i < t->n_paths; i++)
                        if (t->paths[i].class == c) {
                                n++;
                                by_route[t->paths[i].route]++;
                        }
                if (n == 0)
                        continue;
                for (P2pRoute r = 0; r < _P2P_ROUTE_MAX; r++) {
                        char *x;
                        if (!by_route[r])
                                continue;
                        if (asprintf(&x, "%s%s%s %u", routes ?: "", routes ? ", " : "", p2p_route_to_string(r), by_route[r]) < 0)
                                return NULL;
                        free(routes);
                        routes = x;
                }
                if (asprintf(&s, "%s %u (%s)", p2p_class_to_string(c), n, routes) < 0 || strv_consume(&l, s) < 0)
                        return NULL;
        }
        return l ? strv_join(l, ", ") : strdup("none");
}

/* Ports whose ACS can redirect but does not: the devices below them share IOMMU groups. */
static char *p2p_lifted_summary(const Observation *o, const P2pTopology *t) {
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < t->n_ports; i++) {
                const PciDevice *d = &o->devices[t->ports[i].device];
                char bits[32], *s;
                if (d->pcie.acs_ctrl & (PCI_ACS_RR | PCI_ACS_CR) || !(d->pcie.acs_cap & (PCI_ACS_RR | PCI_ACS_CR)))
                        continue;
                if (asprintf(&s, "%s (ACSCtl 0x%04x: %s)", d->bdf, d->pcie.acs_ctrl, pcie_acs_bits_to_string(d->pcie.acs_ctrl, bits)) < 0 ||
                    strv_consume(&l, s) < 0)
                        return NULL;
        }
        return l ? strv_join(l, ", ") : strdup("");
}

/* The peer-to-peer path (issue 25): what ACS does to GPU/NIC/NVMe traffic, judged by the profile's
 * intent. A profile that assigns devices through VFIO needs the redirect (it is what separates the
 * groups); a node that wants peer-to-peer bandwidth does not want it on its GPU paths. */
static int check_p2p(Verdict *v, const Observation *o, const Profile *p, unsigned kernel_version) {
        const P2pTopology *t = &v->p2p;
        _cleanup_free_ char *classes = NULL, *redirect = NULL, *gpu_redirect = NULL, *lifted = NULL, *fix = NULL;
        _cleanup_strv_free_ char **gpu_ports = NULL;
        bool any_config = false, isolation = p->expect_groups && profile_wants_vfio(p);

        for (size_t i = 0; i < o->n_devices && !any_config; i++)
                any_config = o->devices[i].pcie.read;
        /* Trees without config space (captured before issue 25) and nodes without peers (an arm64
         * VM whose root port's ACS the kernel left off, with one device below it): nothing to say,
         * and no line that says nothing. */
        if (!any_config || t->n_paths == 0)
                return 0;
        classes = p2p_class_summary(t);
        redirect = p2p_redirect_summary(o, t, false, NULL);
        gpu_redirect = p2p_redirect_summary(o, t, true, &gpu_ports);
        lifted = p2p_lifted_summary(o, t);
        if (!classes || !redirect || !gpu_redirect || !lifted)
                return -ENOMEM;
        /* Unread ACS matters on a GPU's data path; a node without GPUs (a VM with virtio NICs and
         * disks) is told, not warned. */
        if (t->n_unread > 0)
                return check_add(v, "p2p", t->n_gpus > 0 ? CHECK_WARN : CHECK_PASS,
                                 t->n_gpus > 0 ? "Run verify as root: the extended config space (ACS) is readable by root only." : NULL,
                                 "%zu peer paths (%s); ACS of %u ports on them not read%s", t->n_paths, classes, t->n_unread,
                                 t->n_gpus > 0 ? "" : " (no GPU on them)");
        if (p->lift_acs_redirect == PROFILE_ACS_LIFT_GPU_PATHS) {
                /* The profile chose bandwidth on its GPU paths over isolation there. */
                if (!isempty(gpu_redirect))
                        return check_add(v, "p2p", CHECK_WARN,
                                         "The profile asks for LiftACSRedirect=gpu-paths: 'iommuctl apply' writes the token "
                                         "'iommuctl plan' shows (the cmdline check judges it), then reboot.",
                                         "%zu peer paths (%s); ACS still redirects GPU peer-to-peer at %s", t->n_paths, classes,
                                         gpu_redirect);
                return check_add(v, "p2p", CHECK_PASS, NULL,
                                 "%zu peer paths (%s); no GPU path is redirected, as LiftACSRedirect=gpu-paths asks%s%s%s",
                                 t->n_paths, classes, isempty(lifted) ? "" : " (devices below these ports share groups: ", lifted,
                                 isempty(lifted) ? "" : ")");
        }
        if (isolation) {
                if (!isempty(lifted))
                        return check_add(v, "p2p", CHECK_WARN,
                                         "Per-device VFIO isolation needs ACS redirect: remove pci=disable_acs_redir= / pci=config_acs= for "
                                         "these ports (or choose a profile without VFIO for this node).",
                                         "%zu peer paths (%s); ACS redirect is off at %s: devices below share a path to each other and "
                                         "their IOMMU groups merge%s%s", t->n_paths, classes, lifted,
                                         isempty(redirect) ? "" : "; redirect kept at ", redirect);
                return check_add(v, "p2p", CHECK_PASS, NULL,
                                 "%zu peer paths (%s)%s%s; the profile assigns devices through VFIO, which needs ACS to keep them apart",
                                 t->n_paths, classes, isempty(redirect) ? "" : "; ACS redirect at ", redirect);
        }
        if (!isempty(gpu_redirect)) {
                _cleanup_free_ char *token = NULL, *why = NULL;
                int k = p2p_lift_token(o, t, kernel_version, &token, NULL, NULL, &why);
                if (k == -ENOMEM)
                        return k;
                if (asprintf(&fix, "GPU peer-to-peer (GPUDirect RDMA/Storage, NCCL) climbs to the root complex and back: "
                             "lower bandwidth, or a hang where the root complex does not forward it (NVIDIA's NCCL "
                             "troubleshooting: check ACSCtl). %s%s%s (the devices below those ports then share IOMMU groups).",
                             token ? "Lift the redirect on these ports only: add [PCI] LiftACSRedirect=gpu-paths to the profile "
                                     "and its token " : "No one command-line token lifts it on these ports only: ",
                             token ?: strna(why), token ? " ('iommuctl plan' shows it) to [KernelArgs]" : "") < 0)
                        return -ENOMEM;
                return check_add(v, "p2p", CHECK_WARN, fix, "%zu peer paths (%s); ACS redirects GPU peer-to-peer at %s%s", t->n_paths,
                                 classes, gpu_redirect, p->mode == MODE_OFF ? " although the IOMMU is off" : "");
        }
        if (p->mode == MODE_OFF && !isempty(redirect)) {
                _cleanup_strv_free_ char **ports = NULL;
                _cleanup_free_ char *r2 = p2p_redirect_summary(o, t, false, &ports), *list = NULL;
                if (!r2 || !(list = strv_join(ports, " ")))
                        return -ENOMEM;
                if (asprintf(&fix, "The IOMMU is off, but peer-to-peer is still redirected to the root complex (on AMD the IVRS "
                             "table alone makes the kernel request ACS, whatever amd_iommu=/iommu= say). Lift it where peers "
                             "talk with pci=disable_acs_redir= (pci=config_acs= from 6.11) for these ports: %s.", list) < 0)
                        return -ENOMEM;
                return check_add(v, "p2p", CHECK_WARN, fix, "%zu peer paths (%s); the kernel kept ACS redirect at %s", t->n_paths,
                                 classes, redirect);
        }
        return check_add(v, "p2p", CHECK_PASS, NULL, "%zu peer paths (%s)%s%s", t->n_paths, classes,
                         isempty(redirect) ? "; no ACS redirect on them" : "; ACS redirect (no GPU path) at ", redirect);
}

/* 1 available, 0 not, -1 unknown. */
static int module_usable(const Observation *o, const char *name) {
        const ModuleState *m = observation_find_module(o, name);
        if (!m)
                return -1;
        if (m->loaded || m->available > 0)
                return 1;
        return m->available;
}

static int compute_matrix(Verdict *v, const Observation *o, unsigned shared) {
        int mode = observation_mode(o);
        unsigned nvidia = 0, sriov = 0;
        int vfio, peermem = module_usable(o, "nvidia_peermem");
        const ModuleState *pm = observation_find_module(o, "nvidia_peermem");
        bool ir = o->arch == ARCH_AARCH64 || o->interrupt_remapping > 0;
        bool unsafe = o->modules.allow_unsafe_interrupts == 1;
        bool translated = mode == MODE_STRICT || mode == MODE_TRANSLATED || mode < 0;
        int r;

        /* Strict or lazy as far as it is known (inferred before 5.15, where both read DMA). */
        if (v->facts.strict_inferred)
                mode = v->facts.strict == 1 ? MODE_STRICT : MODE_TRANSLATED;

        for (size_t i = 0; i < o->n_devices; i++) {
                nvidia += o->devices[i].is_gpu && o->devices[i].vendor == 0x10de;
                sriov += device_is_sriov_pf(&o->devices[i]);
        }
        vfio = module_usable(o, "vfio_pci");
        if (vfio != 0) {
                int t = module_usable(o, "vfio_iommu_type1");
                vfio = t == 0 ? 0 : vfio < 0 || t < 0 ? -1 : 1;
        }

        /* GPUDirect RDMA: peer-to-peer DMA between GPU and NIC. The IOMMU mode decides translation;
         * the PCIe path decides whether the traffic stays in the switch (issue 25). */
        unsigned gpu_nic = 0, gpu_nic_redirected = 0;
        for (size_t i = 0; i < v->p2p.n_paths; i++) {
                const P2pPath *pp = &v->p2p.paths[i];
                if (!o->devices[pp->a].is_gpu || (o->devices[pp->b].class >> 16) != 0x02)
                        continue;
                gpu_nic++;
                gpu_nic_redirected += pp->route == P2P_ROUTE_REDIRECTED;
        }
        if (gpu_nic_redirected > 0 && verdict_find_check(v, "p2p"))
                r = matrix_set(v, FEATURE_GPUDIRECT_RDMA, FEATURE_DEGRADED,
                               "%s; but ACS redirects %u of %u GPU-NIC paths to the root complex (see the p2p check)",
                               mode == MODE_OFF ? "no IOMMU translation" : mode == MODE_PASSTHROUGH ? "identity domains" : "DMA is translated",
                               gpu_nic_redirected, gpu_nic);
        else if (mode == MODE_OFF)
                r = matrix_set(v, FEATURE_GPUDIRECT_RDMA, FEATURE_WORKS, "no IOMMU translation between GPU and NIC (IOMMU off)");
        else if (mode == MODE_PASSTHROUGH)
                r = matrix_set(v, FEATURE_GPUDIRECT_RDMA, FEATURE_WORKS, "identity domains: peer-to-peer DMA is not translated");
        else {
                _cleanup_free_ char *types = type_counts_string(o);
                if (!types)
                        return -ENOMEM;
                r = matrix_set(v, FEATURE_GPUDIRECT_RDMA, FEATURE_DEGRADED,
                               "DMA is translated (%s): peer-to-peer traffic goes through the IOMMU, with lower bandwidth or "
                               "failures on platforms without ATS/ACS support", types);
        }
        if (r < 0)
                return r;

        /* VFIO passthrough and SR-IOV VF assignment share their requirements. */
        for (Feature f = FEATURE_SRIOV_VF_ASSIGNMENT; f <= FEATURE_VFIO_PASSTHROUGH; f++) {
                if (f == FEATURE_SRIOV_VF_ASSIGNMENT && sriov == 0)
                        r = matrix_set(v, f, FEATURE_NOT_APPLICABLE, "no SR-IOV capable device (sriov_totalvfs) on this node");
                else if (o->n_groups == 0)
                        r = matrix_set(v, f, FEATURE_BROKEN, "no IOMMU groups: VFIO has nothing to assign");
                else if (vfio == 0)
                        r = matrix_set(v, f, FEATURE_BROKEN, "vfio-pci or vfio_iommu_type1 is not available for the running kernel");
                else if (!ir && !unsafe)
                        r = matrix_set(v, f, FEATURE_BROKEN, "no interrupt remapping: VFIO refuses to assign devices");
                else if (!ir)
                        r = matrix_set(v, f, FEATURE_DEGRADED, "no interrupt remapping: works only with allow_unsafe_interrupts=1");
                else if (vfio < 0)
                        r = matrix_set(v, f, FEATURE_DEGRADED, "IOMMU groups exist, but whether vfio-pci is available could not be checked");
                else if (f == FEATURE_VFIO_PASSTHROUGH && shared > 0)
                        r = matrix_set(v, f, FEATURE_DEGRADED, "%u GPUs or SR-IOV devices share their IOMMU group with other devices",
                                       shared);
                else if (f == FEATURE_SRIOV_VF_ASSIGNMENT)
                        r = matrix_set(v, f, FEATURE_WORKS, "%u SR-IOV capable devices, IOMMU groups, vfio-pci and interrupt remapping", sriov);
                else
                        r = matrix_set(v, f, FEATURE_WORKS, "IOMMU groups, vfio-pci and interrupt remapping");
                if (r < 0)
                        return r;
        }

        if (mode == MODE_OFF)
                r = matrix_set(v, FEATURE_DMA_TRANSLATION_OVERHEAD, FEATURE_WORKS, "none: the IOMMU is off");
        else if (mode == MODE_PASSTHROUGH)
                r = matrix_set(v, FEATURE_DMA_TRANSLATION_OVERHEAD, FEATURE_WORKS, "none for host DMA: identity domains");
        else if (mode == MODE_TRANSLATED)
                r = matrix_set(v, FEATURE_DMA_TRANSLATION_OVERHEAD, FEATURE_DEGRADED,
                               "lazy translation%s: every mapping is translated, IOTLB flushes are batched",
                               v->facts.strict_inferred ? " (inferred)" : " (DMA-FQ)");
        else if (mode == MODE_STRICT)
                r = matrix_set(v, FEATURE_DMA_TRANSLATION_OVERHEAD, FEATURE_DEGRADED,
                               "strict translation (DMA): every unmap flushes the IOTLB; expect lower DMA throughput "
                               "(NVMe on Grace: 2.8 M IOPS strict, 16.4 M lazy, 16.5 M passthrough)");
        else
                r = matrix_set(v, FEATURE_DMA_TRANSLATION_OVERHEAD, FEATURE_DEGRADED, "mixed domain types: some DMA is translated");
        if (r < 0)
                return r;

        if (mode == MODE_OFF)
                r = matrix_set(v, FEATURE_DEVICE_ISOLATION, FEATURE_BROKEN, "no IOMMU: every device can DMA to all of memory");
        else if (mode == MODE_PASSTHROUGH)
                r = matrix_set(v, FEATURE_DEVICE_ISOLATION, FEATURE_DEGRADED,
                               "identity domains: host-owned devices DMA untranslated; only devices assigned through VFIO are confined");
        else if (mode == MODE_STRICT)
                r = matrix_set(v, FEATURE_DEVICE_ISOLATION, FEATURE_WORKS, "every device's DMA is translated, mappings revoked at once");
        else if (mode == MODE_TRANSLATED)
                r = matrix_set(v, FEATURE_DEVICE_ISOLATION, FEATURE_WORKS,
                               "every device's DMA is translated (lazy invalidation leaves stale mappings for a short time)");
        else
                r = matrix_set(v, FEATURE_DEVICE_ISOLATION, FEATURE_DEGRADED, "mixed domain types: some devices DMA untranslated");
        if (r < 0)
                return r;

        if (pm && pm->loaded)
                r = translated ? matrix_set(v, FEATURE_NVIDIA_PEERMEM, FEATURE_DEGRADED, "loaded, but DMA is translated (mode %s)",
                                            v->facts.mode)
                               : matrix_set(v, FEATURE_NVIDIA_PEERMEM, FEATURE_WORKS, "loaded");
        else if (nvidia == 0)
                r = matrix_set(v, FEATURE_NVIDIA_PEERMEM, FEATURE_NOT_APPLICABLE, "no NVIDIA GPU on this node");
        else if (peermem > 0)
                r = matrix_set(v, FEATURE_NVIDIA_PEERMEM, FEATURE_BROKEN,
                               "%u NVIDIA GPUs, nvidia_peermem available but not loaded: modprobe nvidia-peermem", nvidia);
        else
                r = matrix_set(v, FEATURE_NVIDIA_PEERMEM, FEATURE_BROKEN,
                               "%u NVIDIA GPUs, nvidia_peermem not loaded: install the NVIDIA driver's peermem module and load it",
                               nvidia);
        return r;
}

/* The vendor the model predicts for: the host's IOMMU, else the [KernelArgs] entry's. */
static Vendor model_vendor(const Observation *o, Vendor args_vendor) {
        if (o->arch == ARCH_AARCH64)
                return VENDOR_ARM64;
        if (o->vendor == VENDOR_INTEL || o->vendor == VENDOR_AMD)
                return o->vendor;
        return args_vendor == VENDOR_AMD ? VENDOR_AMD : VENDOR_INTEL;
}

static int compute_facts(Verdict *v, const Observation *o, const KernelInfo *k) {
        const ModuleState *a = observation_find_module(o, "vfio_pci"), *b = observation_find_module(o, "vfio_iommu_type1");
        int mode = observation_mode(o);
        NodeFacts *f = &v->facts;
        char ver[16];
        int r;

        f->firmware_iommu = o->acpi.dmar.present || o->acpi.ivrs.present || (o->arch == ARCH_AARCH64 && o->n_units > 0);
        f->vfio_modules = !a || !b ? -1
                          : (a->loaded || a->available > 0) && (b->loaded || b->available > 0) ? 1
                          : a->available == 0 || b->available == 0 ? 0 : -1;
        f->kernel = kernel_info_describe(k);
        if (!f->kernel)
                return -ENOMEM;
        f->mode = mode >= 0 ? profile_mode_to_string(mode) : "mixed";
        f->strict = -1;
        if (mode == MODE_STRICT && !kernel_fact_holds(KERNEL_FACT_DMA_FQ, k->version)) {
                /* DMA reads the same for strict and lazy before 5.15: only "translated" is observed. */
                f->mode = profile_mode_to_string(MODE_TRANSLATED);
                f->strict_inferred = true;
                f->strict = o->cmdline ? v->predicted.strict : -1;
                if (asprintf(&f->strict_evidence, "%s before 5.15 (kernel %s) reads DMA for lazy and strict alike; %s%s from %s (%s)",
                             "/sys/kernel/iommu_groups/*/type", kernel_version_string(k->version, ver),
                             "inferred ", f->strict == 1 ? "strict" : f->strict == 0 ? "lazy" : "unknown",
                             o->cmdline ? strna(v->predicted.strict_reason) : "nothing (no command line)", f->kernel) < 0)
                        return -ENOMEM;
        } else if (mode == MODE_STRICT || mode == MODE_TRANSLATED) {
                f->strict = mode == MODE_STRICT;
                if (asprintf(&f->strict_evidence, "observed: every default domain is %s", mode == MODE_STRICT ? "DMA" : "DMA-FQ") < 0)
                        return -ENOMEM;
        }
        /* iommufd and the VFIO device cdev (intent.h), computed once for text, JSON and labels. */
        r = iommufd_readiness(o->dev_iommu, o->dev_vfio_devices, k, &f->iommufd_ready, &f->iommufd_evidence);
        if (r < 0)
                return r;
        /* Strict because the IOMMU is virtual, whatever the line: verify says why. */
        if (mode == MODE_STRICT || f->strict_inferred) {
                const KernelPlatform *pl = &k->platform;
                PlatformFact why = o->vendor == VENDOR_AMD ? PLATFORM_AMD_NPCACHE : PLATFORM_VTD_CACHING_MODE;

                if (o->arch == ARCH_X86_64 && pl->fact[why] == 1 &&
                    (why == PLATFORM_VTD_CACHING_MODE || kernel_fact_holds(KERNEL_FACT_AMD_VM_STRICT, k->version)))
                        f->strict_forced = pl->evidence[why];
        }
        return 0;
}

/* What the observed IOMMUs and the kernel log say about the platform, where k does not say it already. */
static void platform_from_observation(const Observation *o, KernelPlatform *p) {
        KernelPlatform seen;

        kernel_platform_unknown(&seen);
        for (size_t i = 0; i < o->n_units; i++)
                kernel_platform_from_cap(o->units[i].kind, o->units[i].cap, &seen);
        if (o->log.read)
                kernel_platform_from_log(o->log.lines, &seen);
        for (PlatformFact f = 0; f < _PLATFORM_FACT_MAX; f++)
                if (p->fact[f] < 0 || seen.fact[f] == 1) {
                        p->fact[f] = seen.fact[f];
                        p->evidence[f] = seen.evidence[f];
                }
}

int verdict_compute_for(const Observation *o, const Profile *p, Vendor args_vendor, const KernelInfo *k, Verdict *ret) {
        _cleanup_(verdict_done) Verdict v = { .result = CHECK_PASS, .args_vendor = args_vendor };
        _cleanup_cmdline_ Cmdline *running = NULL;
        KernelInfo def, node;
        unsigned shared = 0;
        int r;

        if (!k) {
                kernel_info_default(o->arch, &def);
                if (o->release && kernel_release_parse(o->release, &def.version) >= 0)
                        kernel_config_defaults(o->arch, def.version, &def.config);
                k = &def;
        }
        /* The observation is the node: its IOMMUs' capabilities decide what no token can (caching mode).
         * A shallow copy: the strings stay k's. */
        node = *k;
        platform_from_observation(o, &node.platform);
        k = &node;
        if (o->cmdline && cmdline_parse(o->cmdline, &running) >= 0) {
                r = kernel_predict(k, model_vendor(o, args_vendor), running, &v.predicted);
                if (r < 0)
                        return r;
        }
        r = compute_facts(&v, o, k);
        /* Without config space no path gets a route and check_p2p() says nothing: no pairing. */
        if (r >= 0 && p2p_config_read(o))
                r = p2p_analyze(o, &v.p2p);
        if (r >= 0)
                r = p2p_predict_ports(&v.p2p, o,
                                      p2p_acs_requested(o, model_vendor(o, args_vendor),
                                                        running ? v.predicted.groups : o->n_groups > 0),
                                      running, k->version);
        if (r >= 0)
                r = check_firmware(&v, o, p);
        if (r >= 0)
                r = check_driver_and_groups(&v, o, p);
        if (r >= 0)
                r = check_domain_type(&v, o, p);
        if (r >= 0)
                r = check_cmdline(&v, o, p, k, args_vendor);
        if (r >= 0)
                r = check_boot_entry(&v, o);
        if (r >= 0)
                r = check_interrupt_remapping(&v, o, p);
        if (r >= 0)
                r = check_modules(&v, o, p);
        if (r >= 0)
                r = check_isolation(&v, o, p, &shared);
        if (r >= 0)
                r = check_p2p(&v, o, p, k->version);
        if (r >= 0)
                r = check_kernel_log(&v, o);
        if (r >= 0)
                r = check_conflicts(&v, o, p, k, args_vendor);
        if (r >= 0)
                r = compute_matrix(&v, o, shared);
        if (r < 0)
                return r;
        v.facts.vfio_usable = v.matrix[FEATURE_VFIO_PASSTHROUGH].state == FEATURE_WORKS;
        const Check *p2p = verdict_find_check(&v, "p2p");
        if (p2p) {
                v.facts.p2p = check_result_to_json_string(p2p->result);
                for (size_t i = 0; i < v.p2p.n_paths; i++) {
                        const P2pPath *pp = &v.p2p.paths[i];
                        v.facts.p2p_paths[pp->class][pp->route]++;
                        v.facts.p2p_gpu_redirected += o->devices[pp->a].is_gpu && pp->route == P2P_ROUTE_REDIRECTED;
                }
        }
        *ret = v;
        v = (Verdict) {};
        return 0;
}

int verdict_compute(const Observation *o, const Profile *p, Vendor args_vendor, Verdict *ret) {
        return verdict_compute_for(o, p, args_vendor, NULL, ret);
}

void verdict_done(Verdict *v) {
        for (size_t i = 0; i < v->n_checks; i++) {
                free(v->checks[i].id_owned);
                free(v->checks[i].evidence);
                free(v->checks[i].fix);
        }
        free(v->checks);
        for (Feature f = 0; f < _FEATURE_MAX; f++)
                free(v->matrix[f].reason);
        free(v->facts.strict_evidence);
        free(v->facts.iommufd_evidence);
        free(v->facts.kernel);
        kernel_prediction_done(&v->predicted);
        p2p_topology_done(&v->p2p);
        *v = (Verdict) {};
}

const Check *verdict_find_check(const Verdict *v, const char *id) {
        for (size_t i = 0; i < v->n_checks; i++)
                if (streq(v->checks[i].id, id))
                        return &v->checks[i];
        return NULL;
}

char *verdict_failed_ids(const Verdict *v) {
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < v->n_checks; i++)
                if (v->checks[i].result == CHECK_FAIL && strv_extend(&l, v->checks[i].id) < 0)
                        return NULL;
        return l ? strv_join(l, ",") : strdup("");
}
