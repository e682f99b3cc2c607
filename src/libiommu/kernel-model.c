/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdint.h>

#include "fileio.h"
#include "kernel-model.h"
#include "strv.h"

#define KERNEL_CONFIG_MAX (4u * 1024u * 1024u)

int kernel_release_parse(const char *s, unsigned *ret_version) {
        unsigned long major, minor;
        char *end;

        if (isempty(s) || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        major = strtoul(s, &end, 10);
        if (errno || *end != '.' || end[1] < '0' || end[1] > '9')
                return -EINVAL;
        minor = strtoul(end + 1, &end, 10);
        if (errno || major == 0 || major > 255 || minor > 255)
                return -EINVAL;
        *ret_version = KERNEL_VERSION(major, minor);
        return 0;
}

const char *kernel_version_string(unsigned version, char buf[static 16]) {
        snprintf(buf, 16, "%u.%u", KERNEL_VERSION_MAJOR(version), KERNEL_VERSION_MINOR(version));
        return buf;
}

void kernel_config_defaults(Arch arch, unsigned version, KernelConfig *ret) {
        bool x86 = arch == ARCH_X86_64;

        /* drivers/iommu/intel/Kconfig: INTEL_IOMMU_DEFAULT_ON is "default y" in current mainline; the
         * distributions' builds this project targets (Debian, Ubuntu, RHEL) turn VT-d on as well. */
        *ret = (KernelConfig) {
                .intel_iommu = x86,
                .amd_iommu = x86,
                .intel_default_on = x86 ? 1 : 0,
                .intel_intgpu_off = -1,
                .default_passthrough = 0,
                /* drivers/iommu/Kconfig: IOMMU_DEFAULT_DMA_STRICT is the default unless ARM64 || X86... the
                 * choice defaults to lazy where the driver supports it (x86), strict elsewhere (5.15 on). */
                .default_strict = kernel_fact_holds(KERNEL_FACT_DMA_MODE_CONFIG, version) ? (x86 ? 0 : 1) : -1,
        };
}

void kernel_config_parse(const char *text, Arch arch, unsigned version, KernelConfig *ret) {
        int on = -1, intgpu = -1, off = -1, lazy = -1, strict = -1, intel = 0, amd = 0, pt = 0;
        const struct {
                const char *name;
                int *v;
        } symbols[] = {
                { "CONFIG_INTEL_IOMMU", &intel },
                { "CONFIG_AMD_IOMMU", &amd },
                { "CONFIG_INTEL_IOMMU_DEFAULT_ON", &on },
                { "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF", &intgpu },
                { "CONFIG_INTEL_IOMMU_DEFAULT_OFF", &off },
                { "CONFIG_IOMMU_DEFAULT_PASSTHROUGH", &pt },
                { "CONFIG_IOMMU_DEFAULT_DMA_LAZY", &lazy },
                { "CONFIG_IOMMU_DEFAULT_DMA_STRICT", &strict },
        };

        kernel_config_defaults(arch, version, ret);
        if (!text)
                return;
        /* Every symbol read has "IOMMU" in its name: visit only the lines that do (a distribution's
         * config is ~10000 lines, some 40 of them match; the generator reads this at every boot).
         * "CONFIG_X=y" (or =m) sets 1, "# CONFIG_X is not set" 0. A build that does not mention a
         * driver does not have it. */
        for (const char *hit = strstr(text, "IOMMU"), *last = NULL; hit; hit = strstr(hit + 5, "IOMMU")) {
                const char *p = hit, *name;
                size_t n;

                while (p > text && p[-1] != '\n')
                        p--;
                if (p == last)
                        continue;
                last = p;
                name = p[0] == '#' && p[1] == ' ' ? p + 2 : p;
                if (memcmp(name, "CONFIG_", 7) != 0)
                        continue;
                n = strcspn(name, "= \n");
                for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                        if (strlen(symbols[i].name) != n || memcmp(name, symbols[i].name, n) != 0)
                                continue;
                        if (name == p && name[n] == '=')
                                *symbols[i].v = name[n + 1] == 'y' || name[n + 1] == 'm';
                        else if (name != p && strneq(name + n, " is not set", 11))
                                *symbols[i].v = 0;
                }
        }
        ret->intel_iommu = intel;
        ret->amd_iommu = amd;
        /* Mainline: one bool. Debian's choice adds _INTGPU_OFF (on, but not for integrated graphics). */
        ret->intel_default_on = on == 1 || intgpu == 1 ? 1 : on == 0 || off == 1 ? 0 : ret->intel_default_on;
        ret->intel_intgpu_off = intgpu;
        ret->default_passthrough = pt;
        ret->default_strict = strict == 1 ? 1 : lazy == 1 ? 0 : -1;
        if (ret->default_strict < 0 && kernel_fact_holds(KERNEL_FACT_DMA_MODE_CONFIG, version) && ret->default_passthrough != 1)
                ret->default_strict = arch == ARCH_X86_64 ? 0 : 1;
}

void kernel_info_default(Arch arch, KernelInfo *ret) {
        *ret = (KernelInfo) {
                .arch = arch,
                .version = KERNEL_VERSION_NEWEST,
                .release_source = "assumed",
                .virtualized = -1,
        };
        kernel_config_defaults(arch, ret->version, &ret->config);
}

void kernel_info_done(KernelInfo *k) {
        free(k->release);
        free(k->config_source);
        *k = (KernelInfo) {};
}

static int read_config(const Root *root, const char *release, char **ret_text, char **ret_source) {
        static const struct { const char *prefix, *suffix; } plain[] = {
                { "/boot/config-", "" }, { "/usr/lib/modules/", "/config" }, { "/lib/modules/", "/config" },
        };
        int r;

        for (size_t i = 0; release && i < ELEMENTSOF(plain); i++) {
                _cleanup_free_ char *p = NULL;
                /* The release names a file: no path separators or dot-dot in it. */
                if (strchr(release, '/') || streq(release, "..") || streq(release, "."))
                        return -EINVAL;
                if (asprintf(&p, "%s%s%s", plain[i].prefix, release, plain[i].suffix) < 0)
                        return -ENOMEM;
                r = read_root_file(root, p, KERNEL_CONFIG_MAX, ret_text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        *ret_source = TAKE_PTR(p);
                        return 0;
                }
        }
        /* /proc/config.gz is gzip'd; without a decompressor here it only counts as "present". */
        return -ENOENT;
}

int kernel_info_load(const Root *root, Arch arch, const char *release, const char *config_file, KernelInfo *ret) {
        _cleanup_(kernel_info_done) KernelInfo k = {};
        _cleanup_free_ char *text = NULL, *osrelease = NULL;
        int r;

        kernel_info_default(arch, &k);
        if (release) {
                k.release = strdup(release);
                if (!k.release)
                        return -ENOMEM;
                k.release_source = "--kernel";
        } else if (read_root_line(root, "/proc/sys/kernel/osrelease", &osrelease) >= 0 && !isempty(strstrip(osrelease))) {
                k.release = TAKE_PTR(osrelease);
                k.release_source = "osrelease";
        }
        /* A release that does not start with MAJOR.MINOR (an odd build, a hostile image) is modelled
         * as the newest release the model knows; it is kept for messages. */
        if (k.release && kernel_release_parse(k.release, &k.version) < 0)
                k.version = KERNEL_VERSION_NEWEST;

        if (config_file) {
                r = read_full_file(config_file, KERNEL_CONFIG_MAX, &text, NULL);
                if (r < 0)
                        return r;
                k.config_source = strdup(config_file);
                if (!k.config_source)
                        return -ENOMEM;
        } else {
                r = read_config(root, k.release, &text, &k.config_source);
                if (r == -ENOMEM)
                        return r;
        }
        /* AMD-Vi goes strict inside a VM: the CPU's "hypervisor" flag (x86) tells. */
        if (arch == ARCH_X86_64) {
                _cleanup_free_ char *cpuinfo = NULL;
                if (read_root_file(root, "/proc/cpuinfo", 16u * 1024u * 1024u, &cpuinfo, NULL) >= 0)
                        k.virtualized = strstr(cpuinfo, " hypervisor") != NULL;
        }
        if (text)
                kernel_config_parse(text, arch, k.version, &k.config);
        else
                kernel_config_defaults(arch, k.version, &k.config);

        *ret = k;
        k = (KernelInfo) {};
        return 0;
}

char *kernel_info_describe(const KernelInfo *k) {
        char v[16];
        char *s;

        if (asprintf(&s, "%s%s %s%s", k->release ? "" : "release unknown, assumed ",
                     k->release ?: kernel_version_string(k->version, v),
                     k->config_source ? "with the build configuration in " : "with mainline defaults (no build configuration found)",
                     k->config_source ?: "") < 0)
                return NULL;
        return s;
}

static const char * const token_effect_names[_TOKEN_EFFECT_MAX] = {
        [TOKEN_EFFECTIVE] = "effective",
        [TOKEN_DEPRECATED] = "deprecated",
        [TOKEN_IGNORED] = "ignored",
        [TOKEN_UNKNOWN] = "unknown",
        [TOKEN_OVERRIDDEN] = "overridden",
        [TOKEN_REDUNDANT] = "redundant",
};

const char *token_effect_to_string(TokenEffect e) {
        return STRING_TABLE_TO_STRING(token_effect_names, e);
}

/* --- the model proper ------------------------------------------------------------------------ */

enum {
        FACET_DRIVER = 1 << 0,      /* the IOMMU driver on or off */
        FACET_PASSTHROUGH = 1 << 1, /* default domain identity or translated */
        FACET_STRICT = 1 << 2,      /* strict or lazy invalidation */
        FACET_INTREMAP = 1 << 3,
        FACET_OTHER = 1 << 4,       /* something the model does not follow (igfx_off, sm_on...) */
};

typedef struct State {
        bool driver_on;         /* the vendor driver: build default, intel_iommu=on/off, amd_iommu=off */
        bool no_iommu;          /* iommu=off (arch/x86/kernel/pci-dma.c: no_iommu): wins over intel_iommu=on */
        bool passthrough;
        int strict;
        int intremap;
        const char *driver_reason, *domain_reason, *strict_reason;
} State;

static void state_defaults(const KernelInfo *k, Vendor vendor, State *s) {
        const KernelConfig *c = &k->config;

        *s = (State) { .driver_on = true, .intremap = 1 };
        switch (vendor) {
        case VENDOR_ARM64:
                s->driver_reason = "the SMMU driver is on whenever the firmware describes an SMMU";
                break;
        case VENDOR_AMD:
                s->driver_on = c->amd_iommu != 0;
                s->driver_reason = s->driver_on ? "AMD-Vi is on whenever the firmware publishes an IVRS table"
                                                : "this kernel is built without CONFIG_AMD_IOMMU";
                break;
        default:
                s->driver_on = c->intel_iommu != 0 && c->intel_default_on != 0;
                s->driver_reason = c->intel_iommu == 0 ? "this kernel is built without CONFIG_INTEL_IOMMU"
                                   : c->intel_default_on == 0 ? "VT-d is off by default in this build (no CONFIG_INTEL_IOMMU_DEFAULT_ON)"
                                   : "VT-d is on by default in this build (CONFIG_INTEL_IOMMU_DEFAULT_ON)";
                break;
        }
        s->passthrough = c->default_passthrough == 1;
        s->domain_reason = s->passthrough ? "the build default (CONFIG_IOMMU_DEFAULT_PASSTHROUGH)"
                                          : "the build default (translated)";
        if (c->default_strict >= 0 && kernel_fact_holds(KERNEL_FACT_DMA_MODE_CONFIG, k->version)) {
                s->strict = c->default_strict;
                s->strict_reason = c->default_strict ? "the build default (CONFIG_IOMMU_DEFAULT_DMA_STRICT)"
                                                     : "the build default (CONFIG_IOMMU_DEFAULT_DMA_LAZY)";
        } else {
                s->strict = vendor == VENDOR_ARM64;
                s->strict_reason = vendor == VENDOR_ARM64 ? "arm64's default (strict)"
                                   : "the default before 5.15 (lazy: no CONFIG_IOMMU_DEFAULT_DMA_* choice)";
        }
}

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

/* Whether the comma list has an item other than the ones given (NULL-terminated). */
static bool list_has_other(const char *value, const char * const *known) {
        for (const char *p = value ?: ""; *p;) {
                size_t n = strcspn(p, ",");
                bool found = false;
                for (const char * const *k = known; *k; k++)
                        if (n == strlen(*k) && strneq(p, *k, n))
                                found = true;
                if (!found && n > 0)
                        return true;
                p += n;
                p += strspn(p, ",");
        }
        return false;
}

/* Applies one token; returns the facets it sets (0: none). */
static unsigned state_apply(State *s, const KernelInfo *k, Vendor vendor, const CmdlineToken *t) {
        bool x86 = vendor != VENDOR_ARM64;
        unsigned facets = 0;
        int b;

        if (x86 && cmdline_key_equal(t->key, "iommu")) {
                if (list_has(t->value, "off", true)) {
                        s->no_iommu = true;
                        facets |= FACET_DRIVER;
                }
                if (list_has(t->value, "pt", true)) {
                        s->passthrough = true;
                        s->domain_reason = "iommu=pt";
                        facets |= FACET_PASSTHROUGH;
                }
                if (list_has(t->value, "nopt", true)) {
                        s->passthrough = false;
                        s->domain_reason = "iommu=nopt";
                        facets |= FACET_PASSTHROUGH;
                }
        } else if (x86 && cmdline_key_equal(t->key, "intel_iommu")) {
                if (vendor != VENDOR_INTEL)
                        return 0;
                if (list_has_other(t->value, (const char * const[]) { "on", "off", "strict", NULL }))
                        facets |= FACET_OTHER;
                if (list_has(t->value, "on", false)) {
                        s->driver_on = true;
                        s->driver_reason = "intel_iommu=on";
                        facets |= FACET_DRIVER;
                }
                if (list_has(t->value, "off", false)) {
                        s->driver_on = false;
                        s->driver_reason = "intel_iommu=off";
                        facets |= FACET_DRIVER;
                }
                if (list_has(t->value, "strict", false)) {
                        s->strict = 1;
                        s->strict_reason = "intel_iommu=strict";
                        facets |= FACET_STRICT;
                }
        } else if (x86 && cmdline_key_equal(t->key, "amd_iommu")) {
                if (vendor != VENDOR_AMD)
                        return 0;
                if (list_has_other(t->value, (const char * const[]) { "off", "fullflush", "on", NULL }))
                        facets |= FACET_OTHER;
                if (list_has(t->value, "off", false)) {
                        s->driver_on = false;
                        s->driver_reason = "amd_iommu=off";
                        facets |= FACET_DRIVER;
                }
                if (list_has(t->value, "fullflush", false)) {
                        s->strict = 1;
                        s->strict_reason = "amd_iommu=fullflush";
                        facets |= FACET_STRICT;
                }
        } else if (x86 && cmdline_key_equal(t->key, "intremap")) {
                if (list_has(t->value, "off", false)) {
                        s->intremap = 0;
                        facets |= FACET_INTREMAP;
                }
                if (list_has(t->value, "on", false)) {
                        s->intremap = 1;
                        facets |= FACET_INTREMAP;
                }
        } else if (cmdline_key_equal(t->key, "iommu.passthrough")) {
                b = parse_kernel_bool(t->value);
                if (b >= 0) {
                        s->passthrough = b;
                        s->domain_reason = b ? "iommu.passthrough=1" : "iommu.passthrough=0";
                        facets |= FACET_PASSTHROUGH;
                }
        } else if (cmdline_key_equal(t->key, "iommu.strict")) {
                b = parse_kernel_bool(t->value);
                if (b >= 0 && (!x86 || kernel_fact_holds(KERNEL_FACT_X86_IOMMU_STRICT, k->version))) {
                        s->strict = b;
                        s->strict_reason = b ? "iommu.strict=1" : "iommu.strict=0";
                        facets |= FACET_STRICT;
                }
        }
        return facets;
}

typedef struct Effect {
        bool groups;
        DomainType domain;
        int strict;
        int intremap;
} Effect;

static void state_effect(const State *s, const KernelInfo *k, Vendor vendor, Effect *e, const char **reason,
                         const char **strict_reason) {
        int strict = s->strict;

        if (vendor == VENDOR_AMD && k->virtualized == 1 && kernel_fact_holds(KERNEL_FACT_AMD_VM_STRICT, k->version)) {
                strict = 1;
                if (strict_reason)
                        *strict_reason = "AMD-Vi inside a VM (\"Using strict mode due to virtualization\")";
        } else if (strict_reason)
                *strict_reason = s->strict_reason;
        /* The vendor drivers check no_iommu first (intel_iommu_init(), amd_iommu_detect()). */
        if (!s->driver_on || s->no_iommu) {
                *e = (Effect) { .groups = false, .domain = DOMAIN_NONE, .strict = -1, .intremap = s->intremap };
                if (reason)
                        *reason = s->no_iommu ? "iommu=off" : s->driver_reason;
                return;
        }
        *e = (Effect) {
                .groups = true,
                .domain = s->passthrough ? DOMAIN_IDENTITY
                          : strict || !kernel_fact_holds(KERNEL_FACT_DMA_FQ, k->version) ? DOMAIN_DMA : DOMAIN_DMA_FQ,
                .strict = s->passthrough ? -1 : strict,
                .intremap = s->intremap,
        };
        /* Translated: what decided DMA or DMA-FQ is the invalidation policy. */
        if (reason)
                *reason = s->passthrough ? s->domain_reason : strict_reason ? *strict_reason : s->strict_reason;
}

static bool effect_equal(const Effect *a, const Effect *b) {
        return a->groups == b->groups && a->domain == b->domain && a->strict == b->strict && a->intremap == b->intremap;
}

/* The effect of c without token skip (SIZE_MAX: all tokens), up to token end (exclusive). */
static void effect_of(const KernelInfo *k, Vendor vendor, const Cmdline *c, size_t skip, size_t end, Effect *ret) {
        State s;

        state_defaults(k, vendor, &s);
        for (size_t i = 0; i < c->n_tokens && i < end; i++)
                if (i != skip)
                        (void) state_apply(&s, k, vendor, &c->tokens[i]);
        state_effect(&s, k, vendor, ret, NULL, NULL);
}

/* Worst verdict over the token's items, and whether some item is one the model does not follow. */
static ValueVerdict token_verdict(const KernelInfo *k, const ParamInfo *info, const CmdlineToken *t, const char **ret_meaning,
                                  const char **ret_fix, bool *ret_all_bad) {
        _cleanup_strv_free_ char **items = NULL;
        ValueVerdict worst = VALUE_OK;
        bool all_bad = true;

        *ret_meaning = *ret_fix = NULL;
        if (!t->value || info->syntax == SYNTAX_ANY) {
                *ret_all_bad = false;
                return VALUE_OK;
        }
        if (info->syntax == SYNTAX_LIST ? strv_split(t->value, ",", &items) < 0 : strv_extend(&items, t->value) < 0) {
                *ret_all_bad = false;
                return VALUE_OK;
        }
        STRV_FOREACH(item, items) {
                ParamValue buf;
                const ParamValue *pv = param_lookup_value_for(info, *item, k->arch, k->version, &buf);
                ValueVerdict v = pv ? pv->verdict : info->unknown_verdict;

                if (v == VALUE_OK || v == VALUE_DEPRECATED)
                        all_bad = false;
                if (v > worst || !*ret_meaning) {
                        if (v >= worst) {
                                worst = v;
                                *ret_meaning = pv ? pv->meaning : NULL;
                                *ret_fix = pv ? pv->replacement : NULL;
                        }
                }
        }
        *ret_all_bad = all_bad;
        return worst;
}

_printf_(2, 3)
static int set_why(TokenPrediction *tp, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&tp->why, fmt, ap);
        va_end(ap);
        if (n < 0) {
                tp->why = NULL;
                return -ENOMEM;
        }
        return 0;
}

static const char *build_default_why(const KernelInfo *k, Vendor vendor, unsigned facets) {
        State s;

        state_defaults(k, vendor, &s);
        if (facets & FACET_DRIVER)
                return s.driver_reason;
        if (facets & FACET_STRICT)
                return s.strict_reason;
        return s.domain_reason;
}

static int classify_token(const KernelInfo *k, Vendor vendor, const Cmdline *c, size_t i, const Effect *full, TokenPrediction *tp) {
        const CmdlineToken *t = &c->tokens[i];
        const ParamInfo *info = param_lookup(t->key);
        const char *meaning, *fix;
        Effect without, prefix_with, prefix_without;
        bool all_bad;
        ValueVerdict v;
        unsigned facets;
        State s;

        *tp = (TokenPrediction) { .index = i };
        if (!(info->arch_mask & ARCH_MASK(k->arch))) {
                tp->effect = TOKEN_UNKNOWN;
                return set_why(tp, "%s has no %s= parameter: the kernel passes it on to init", arch_to_string(k->arch), info->key);
        }
        v = token_verdict(k, info, t, &meaning, &fix, &all_bad);
        if (fix && !(tp->fix = strdup(fix)))
                return -ENOMEM;
        if (all_bad && v == VALUE_REJECTED) {
                tp->effect = TOKEN_UNKNOWN;
                return set_why(tp, "%s%s%s", t->text, meaning && !startswith(meaning, "is ") ? ": " : " ", meaning ?: "is not a value the kernel knows (it logs \"Unknown option\")");
        }
        if (all_bad && v == VALUE_IGNORED) {
                tp->effect = TOKEN_IGNORED;
                return set_why(tp, "%s%s%s", t->text, meaning && !startswith(meaning, "is ") ? ": " : " ", meaning ?: "is ignored by the kernel without a word");
        }

        state_defaults(k, vendor, &s);
        facets = state_apply(&s, k, vendor, t);
        if (facets & ~(unsigned) (FACET_DRIVER | FACET_PASSTHROUGH | FACET_STRICT | FACET_INTREMAP) ||
            (facets == 0 && !cmdline_key_equal(t->key, "intel_iommu") && !cmdline_key_equal(t->key, "amd_iommu") &&
             !cmdline_key_equal(t->key, "iommu.strict"))) {
                /* Something the model does not follow (igfx_off, sm_on, forcedac...): trust the table. */
                tp->effect = v == VALUE_DEPRECATED ? TOKEN_DEPRECATED : TOKEN_EFFECTIVE;
                return set_why(tp, "%s%s%s", t->text, meaning && !startswith(meaning, "is ") ? ": " : " ", meaning ?: param_describe(t->key, t->value));
        }

        effect_of(k, vendor, c, i, SIZE_MAX, &without);
        if (!effect_equal(&without, full)) {
                tp->effect = v == VALUE_DEPRECATED ? TOKEN_DEPRECATED : TOKEN_EFFECTIVE;
                return set_why(tp, "%s%s%s", t->text, meaning && !startswith(meaning, "is ") ? ": " : " ", meaning ?: param_describe(t->key, t->value));
        }

        free(tp->fix);
        tp->fix = NULL;
        if (facets == 0) {
                tp->effect = TOKEN_REDUNDANT;
                return set_why(tp, "%s only acts on %s; this is %s", t->text,
                               cmdline_key_equal(t->key, "intel_iommu") ? "Intel VT-d" : "AMD-Vi", vendor_to_string(vendor));
        }
        /* Did it matter before the later tokens? Then one of them overrides it. */
        effect_of(k, vendor, c, SIZE_MAX, i + 1, &prefix_with);
        effect_of(k, vendor, c, i, i + 1, &prefix_without);
        if (!effect_equal(&prefix_with, &prefix_without)) {
                for (size_t j = c->n_tokens; j-- > i + 1;) {
                        State t2;
                        state_defaults(k, vendor, &t2);
                        if (state_apply(&t2, k, vendor, &c->tokens[j]) & facets) {
                                tp->effect = TOKEN_OVERRIDDEN;
                                return set_why(tp, "%s is overridden by the later %s", t->text, c->tokens[j].text);
                        }
                }
                tp->effect = TOKEN_OVERRIDDEN;
                return set_why(tp, "%s is overridden by a later token", t->text);
        }
        /* Same as without it, even on its own: the build default. Else an earlier token already does it. */
        {
                Cmdline one = { .tokens = (CmdlineToken *) t, .n_tokens = 1 };
                Effect alone, none;

                effect_of(k, vendor, &one, SIZE_MAX, SIZE_MAX, &alone);
                effect_of(k, vendor, &one, 0, SIZE_MAX, &none);
                tp->effect = TOKEN_REDUNDANT;
                if (effect_equal(&alone, &none))
                        return set_why(tp, "%s is already what this kernel does by default: %s", t->text, build_default_why(k, vendor, facets));
                return set_why(tp, "%s changes nothing: other tokens on the line already do the same", t->text);
        }
}

static int predict(const KernelInfo *k, Vendor vendor, const Cmdline *c, bool tokens, KernelPrediction *ret) {
        _cleanup_(kernel_prediction_done) KernelPrediction p = {};
        KernelInfo def;
        Effect e;
        State s;
        int r;

        if (!k) {
                kernel_info_default(vendor_arch(vendor), &def);
                k = &def;
        }
        if (vendor == VENDOR_PORTABLE)
                vendor = VENDOR_INTEL;

        state_defaults(k, vendor, &s);
        for (size_t i = 0; i < c->n_tokens; i++)
                (void) state_apply(&s, k, vendor, &c->tokens[i]);
        state_effect(&s, k, vendor, &e, &p.reason, &p.strict_reason);
        p.groups = e.groups;
        p.domain = e.domain;
        p.strict = e.strict;
        p.strict_observable = kernel_fact_holds(KERNEL_FACT_DMA_FQ, k->version);
        p.interrupt_remapping = e.intremap;

        for (size_t i = 0; tokens && i < c->n_tokens; i++) {
                TokenPrediction *n;

                if (!param_lookup(c->tokens[i].key) || !c->tokens[i].value)
                        continue;
                n = realloc(p.tokens, (p.n_tokens + 1) * sizeof(TokenPrediction));
                if (!n)
                        return -ENOMEM;
                p.tokens = n;
                r = classify_token(k, vendor, c, i, &e, &p.tokens[p.n_tokens]);
                p.n_tokens++;
                if (r < 0)
                        return r;
        }
        *ret = p;
        p = (KernelPrediction) {};
        return 0;
}

int kernel_predict(const KernelInfo *k, Vendor vendor, const Cmdline *c, KernelPrediction *ret) {
        return predict(k, vendor, c, true, ret);
}

int kernel_predict_effect(const KernelInfo *k, Vendor vendor, const Cmdline *c, KernelPrediction *ret) {
        return predict(k, vendor, c, false, ret);
}

void kernel_prediction_done(KernelPrediction *p) {
        for (size_t i = 0; i < p->n_tokens; i++) {
                free(p->tokens[i].why);
                free(p->tokens[i].fix);
        }
        free(p->tokens);
        *p = (KernelPrediction) {};
}

bool kernel_prediction_same_effect(const KernelPrediction *a, const KernelPrediction *b) {
        return a->groups == b->groups && a->domain == b->domain && a->strict == b->strict &&
               a->interrupt_remapping == b->interrupt_remapping;
}

const TokenPrediction *kernel_prediction_find_token(const KernelPrediction *p, size_t index) {
        for (size_t i = 0; i < p->n_tokens; i++)
                if (p->tokens[i].index == index)
                        return &p->tokens[i];
        return NULL;
}

const char *kernel_prediction_effect_string(const KernelPrediction *p, char buf[static 32]) {
        if (!p->groups)
                return "no groups";
        if (p->strict < 0)
                return domain_type_to_string(p->domain);
        snprintf(buf, 32, "%s (%s)", domain_type_to_string(p->domain), p->strict ? "strict" : "lazy");
        return buf;
}
