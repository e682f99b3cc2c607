/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* What the kernel does with each IOMMU-related parameter: one table that lint, plan and verify
 * all read. The facts come from the kernel sources named in each entry and from booting real
 * kernels (tests/vm/). */

typedef enum Arch {
        ARCH_X86_64,
        ARCH_AARCH64,
        _ARCH_MAX,
        _ARCH_INVALID = -EINVAL,
} Arch;

#define ARCH_MASK(a) (1u << (a))
#define ARCH_MASK_X86 ARCH_MASK(ARCH_X86_64)
#define ARCH_MASK_ALL (ARCH_MASK(ARCH_X86_64) | ARCH_MASK(ARCH_AARCH64))

const char *arch_to_string(Arch a);
/* Accepts the kernel's names and Debian's (x86_64/amd64, aarch64/arm64). */
Arch arch_from_string(const char *s);
Arch arch_native(void);

typedef enum ValueVerdict {
        VALUE_OK,         /* the kernel acts on it */
        VALUE_DEPRECATED, /* still works, logs a deprecation; use the replacement */
        VALUE_IGNORED,    /* accepted without a word and without effect */
        VALUE_REJECTED,   /* the kernel logs "Unknown option" or fails to parse it */
} ValueVerdict;

typedef struct ParamValue {
        const char *value;
        ValueVerdict verdict;
        const char *meaning;     /* what the kernel does with it */
        const char *replacement; /* for deprecated, ignored and rejected values */
} ParamValue;

typedef enum ParamSyntax {
        SYNTAX_BOOL,   /* kstrtobool(): 1/0, y/n, on/off */
        SYNTAX_LIST,   /* comma-separated items, each one of values[] */
        SYNTAX_CHOICE, /* one of values[] */
        SYNTAX_ANY,    /* free-form, not checked */
} ParamSyntax;

typedef struct ParamInfo {
        const char *key; /* with '_', as the kernel documents it */
        unsigned arch_mask;
        ParamSyntax syntax;
        bool prefix_match;           /* items match by prefix (x86 "iommu=" uses strncmp) */
        const ParamValue *values;    /* terminated by an entry with value == NULL */
        ValueVerdict unknown_verdict; /* what happens to a value not in values[] */
        const char *summary;
        const char *source; /* where the kernel parses it */
} ParamInfo;

/* Keys every profile owns: merging removes them from the current line whatever the profile says. */
extern char * const iommu_owned_keys[];
/* The KEY=OPTION entries of iommu_owned_keys, alone: where cmdline_key_has_owned_options() looks
 * when it is given iommu_owned_keys (the generator asks it for every token). */
extern char * const iommu_owned_option_entries[];

const ParamInfo *param_lookup(const char *key);

/* Looks one item (one element of a comma list, or the whole value) up in the entry. NULL when the
 * kernel does not know it (then info->unknown_verdict applies). For SYNTAX_BOOL the value is
 * matched the way kstrtobool() reads it. */
const ParamValue *param_lookup_value(const ParamInfo *info, const char *item);

/* Kernel releases as MAJOR.MINOR, compared as numbers. */
#define KERNEL_VERSION(major, minor) (((unsigned) (major) << 8) | (unsigned) (minor))
#define KERNEL_VERSION_MAJOR(v) ((v) >> 8)
#define KERNEL_VERSION_MINOR(v) ((v) & 0xffu)
/* The newest release the model was checked against (tests/vm boots it): assumed when unknown. */
#define KERNEL_VERSION_NEWEST KERNEL_VERSION(7, 2)

/* A release-dependent exception to the table above: for [since, until) on arch_mask, key=value
 * (one item; value NULL: any value) has this verdict instead. */
typedef struct ParamRule {
        const char *key;
        const char *value;
        unsigned arch_mask;
        unsigned since, until;   /* KERNEL_VERSION(); 0: open */
        ValueVerdict verdict;
        const char *meaning;
        const char *replacement;
        const char *source;      /* the kernel source and how it was established */
} ParamRule;

/* Like param_lookup_value(), for one release and architecture: a matching ParamRule wins (it is
 * copied into *buf, which the result then points to). version 0: the newest. */
const ParamValue *param_lookup_value_for(const ParamInfo *info, const char *item, Arch arch, unsigned version,
                                         ParamValue *buf);
const ParamRule *param_rule_lookup(const char *key, const char *item, Arch arch, unsigned version);

/* Where a distribution's or a vendor's build differs from mainline, as its build configuration
 * proves it (kernel-model.c turns a KernelConfig into these flags). */
typedef enum ParamBuildFlag {
        PARAM_BUILD_DEBIAN_INTGPU_OFF = 1 << 0, /* CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF: Debian's patch */
} ParamBuildFlag;

typedef struct ParamBuildRule {
        const char *key, *value;
        unsigned build_flag;     /* ParamBuildFlag the build must have */
        ValueVerdict verdict;
        const char *meaning;
        const char *builds;      /* which distribution or vendor builds, for people */
        const char *source;
} ParamBuildRule;

/* Like param_lookup_value_for(), for a build with these ParamBuildFlag flags: a matching build rule
 * wins over the release rules. */
const ParamValue *param_lookup_value_for_build(const ParamInfo *info, const char *item, Arch arch, unsigned version,
                                               unsigned build_flags, ParamValue *buf);

/* Behaviour that depends on the release, not on one parameter. */
typedef enum KernelFact {
        KERNEL_FACT_DMA_FQ,          /* lazy domains read DMA-FQ in sysfs, the log names the policy */
        KERNEL_FACT_DMA_MODE_CONFIG, /* CONFIG_IOMMU_DEFAULT_DMA_STRICT / _DMA_LAZY exist */
        KERNEL_FACT_X86_IOMMU_STRICT, /* iommu.strict= is honoured on x86 (before: arm64 only) */
        KERNEL_FACT_AMD_VM_STRICT,   /* AMD-Vi uses strict invalidation when the IOMMU has NpCache (a VM) */
        KERNEL_FACT_X86_SOFT_ONLY_SWIOTLB, /* iommu=soft only adds swiotlb (before: hardware IOMMU detection off) */
        _KERNEL_FACT_MAX,
} KernelFact;

typedef struct KernelFactInfo {
        unsigned since;
        const char *what;
        const char *source;
} KernelFactInfo;

const KernelFactInfo *kernel_fact_info(KernelFact f);
/* version 0: the newest. */
bool kernel_fact_holds(KernelFact f, unsigned version);

/* kstrtobool(): 1 true, 0 false, -EINVAL unparsable. */
int parse_kernel_bool(const char *s);

/* One sentence on what key=value does, for "plan". Never NULL. */
const char *param_describe(const char *key, const char *value);

/* The IOMMU families a command line is computed for. Portable: an x86 image that must boot on
 * Intel and AMD alike. */
typedef enum Vendor {
        VENDOR_INTEL,
        VENDOR_AMD,
        VENDOR_ARM64,
        VENDOR_PORTABLE,
        _VENDOR_MAX,
        _VENDOR_INVALID = -EINVAL,
} Vendor;

const char *vendor_to_string(Vendor v);
Vendor vendor_from_string(const char *s);
Arch vendor_arch(Vendor v);

/* /sys/kernel/iommu_groups/N/type (drivers/iommu/iommu.c:iommu_group_show_type()). */
typedef enum DomainType {
        DOMAIN_IDENTITY,
        DOMAIN_DMA,
        DOMAIN_DMA_FQ,
        DOMAIN_UNMANAGED,
        DOMAIN_BLOCKED,
        DOMAIN_UNKNOWN,
        DOMAIN_NONE, /* no IOMMU groups at all */
        _DOMAIN_TYPE_MAX,
        _DOMAIN_TYPE_INVALID = -EINVAL,
} DomainType;

const char *domain_type_to_string(DomainType t);
DomainType domain_type_from_string(const char *s);
