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

const ParamInfo *param_lookup(const char *key);

/* Looks one item (one element of a comma list, or the whole value) up in the entry. NULL when the
 * kernel does not know it (then info->unknown_verdict applies). For SYNTAX_BOOL the value is
 * matched the way kstrtobool() reads it. */
const ParamValue *param_lookup_value(const ParamInfo *info, const char *item);

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
