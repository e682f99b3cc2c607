/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "fileio.h"
#include "params.h"

/* The kernel model: what one kernel (architecture, release, build configuration) does with a
 * command line. Pure code except kernel_info_load(), which reads the release and the build
 * configuration under a root. The release-dependent rules themselves are data in params.c
 * (param_rules[], kernel_facts[]), each with the kernel source it comes from and the releases
 * it holds for; verify checks what really happened, tests/vm proves the model on real kernels. */

/* Build configuration facts that change what "no parameter" means. 1 set, 0 not set, -1 unknown. */
typedef struct KernelConfig {
        int intel_iommu;             /* CONFIG_INTEL_IOMMU */
        int amd_iommu;               /* CONFIG_AMD_IOMMU */
        int intel_default_on;        /* CONFIG_INTEL_IOMMU_DEFAULT_ON or Debian's _DEFAULT_ON_INTGPU_OFF */
        int intel_intgpu_off;        /* CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF (Debian) */
        int default_passthrough;     /* CONFIG_IOMMU_DEFAULT_PASSTHROUGH */
        int default_strict;          /* CONFIG_IOMMU_DEFAULT_DMA_STRICT 1, _DMA_LAZY 0, -1 no such choice/unknown */
        int iommufd;                 /* CONFIG_IOMMUFD (/dev/iommu); -1 unknown (no configuration read) */
        int vfio_device_cdev;        /* CONFIG_VFIO_DEVICE_CDEV (/dev/vfio/devices/vfioN); -1 unknown */
} KernelConfig;

/* What the platform decides on its own, whatever the command line says: the IOMMU hardware (real or
 * virtual) and the CPU. Each fact is 1 yes, 0 no, -1 unknown, with a static sentence saying what
 * told. Read from the node itself only (kernel_platform_probe(), or a verify observation): lint of
 * a foreign file and plan for an image know none of them. */
typedef enum PlatformFact {
        PLATFORM_VTD_CACHING_MODE, /* VT-d CM capability: a virtual IOMMU that shadows page tables; forces strict */
        PLATFORM_AMD_NPCACHE,      /* AMD-Vi NpCache capability (virtual IOMMUs): forces strict */
        PLATFORM_SEV_SNP,          /* an AMD host with SEV-SNP enabled: needs the IOMMU translating */
        PLATFORM_SMMUV3,           /* arm64 SMMUv3 */
        PLATFORM_PASID_ATS,        /* devices that bind PASIDs / use ATS (Grace-class GPUs) */
        PLATFORM_GRACE,            /* NVIDIA Grace: GPUDirect Storage asks for translation */
        PLATFORM_SMMUV3_IDENTITY_FIX, /* the kernel carries the SMMUv3 identity-domain CD table fix (6.11, or a backport) */
        _PLATFORM_FACT_MAX,
} PlatformFact;

typedef struct KernelPlatform {
        int fact[_PLATFORM_FACT_MAX];
        const char *evidence[_PLATFORM_FACT_MAX];
} KernelPlatform;

const char *platform_fact_to_string(PlatformFact f);
/* Every fact unknown. */
void kernel_platform_unknown(KernelPlatform *ret);
/* Facts a kernel log tells (dmesg lines, timestamps stripped or not): caching mode ("IOMMU batching
 * disallowed due to virtualization"), SNP ("SEV-SNP enabled"). Only sets what the lines say. Pure. */
void kernel_platform_from_log(char * const *lines, KernelPlatform *p);
/* One VT-d or AMD-Vi capability register as sysfs shows it (hex, no 0x). Pure. */
void kernel_platform_from_cap(const char *kind, const char *cap_hex, KernelPlatform *p);
#define PLATFORM_OVERRIDE_FILE "/etc/iommu/platform.conf"
/* The node under root: /sys/class/iommu/ caps, /proc/cpuinfo (sev_snp, Grace's CPU part),
 * /sys/module/kvm_amd/parameters/sev_snp, and log_file (a dmesg, read as given) when not NULL;
 * then ROOT/etc/iommu/platform.conf ([Platform] VTdCachingMode=, AMDNpCache=, SEVSNP=, SMMUv3=,
 * PASIDDevices=, Grace=, SMMUv3IdentityFix= yes|no), whose statements win (a vendor kernel with
 * the SMMUv3 identity-domain backport says so there). What cannot be read stays unknown; -ENOMEM,
 * and -EINVAL for a broken override file (logged with file:line), fail. */
int kernel_platform_probe(const Root *root, Arch arch, const char *log_file, KernelPlatform *ret);

typedef struct KernelInfo {
        Arch arch;
        unsigned version;            /* KERNEL_VERSION(); the newest release the model knows when unknown */
        char *release;               /* "5.10.0-32-amd64"; NULL when not known */
        const char *release_source;  /* "osrelease", "--kernel" or "assumed" (static) */
        char *config_source;         /* the file the configuration came from; NULL: mainline defaults */
        KernelConfig config;
        KernelPlatform platform;     /* all unknown unless the caller probed the node */
        /* An image (no running kernel) that ships several kernels: each of them, oldest first
         * (kernel_info_load_image()); tokens are chosen to work on all. NULL otherwise. */
        struct KernelInfo *image_kernels;
        size_t n_image_kernels;
} KernelInfo;

/* "5.10.0-32-amd64", "6.12.117+deb13-amd64", "7.2.13+deb14-arm64", "5.14.0-427.el9.x86_64".
 * -EINVAL when it does not start with MAJOR.MINOR. */
int kernel_release_parse(const char *s, unsigned *ret_version);
/* "5.10", for messages. */
const char *kernel_version_string(unsigned version, char buf[static 16]);

/* The facts above from a .config text (unknown keys ignored). Pure. */
void kernel_config_parse(const char *text, Arch arch, unsigned version, KernelConfig *ret);
/* The same for size bytes of text (read up to a NUL byte, as the C string would be). */
void kernel_config_parse_n(const char *text, size_t size, Arch arch, unsigned version, KernelConfig *ret);
/* The ParamBuildFlag flags (params.h) this configuration proves. Pure. */
unsigned kernel_config_build_flags(const KernelConfig *c);
/* Mainline's Kconfig defaults for this release (what a build that says nothing gets). */
void kernel_config_defaults(Arch arch, unsigned version, KernelConfig *ret);

/* A kernel known only by architecture: the newest release the model knows, mainline defaults. */
void kernel_info_default(Arch arch, KernelInfo *ret);
/* The kernel under root: release from --kernel (release != NULL) or ROOT/proc/sys/kernel/osrelease
 * (one that does not parse is modelled as the newest release),
 * configuration from config_file (read as given, not under root) or the first of
 * ROOT/boot/config-RELEASE, ROOT/usr/lib/modules/RELEASE/config, ROOT/lib/modules/RELEASE/config,
 * ROOT/proc/config.gz. What is not found is recorded (release_source "assumed", config_source
 * NULL), not an error; -ENOMEM and an unreadable config_file are. */
int kernel_info_load(const Root *root, Arch arch, const char *release, const char *config_file, KernelInfo *ret);
/* The kernel a boot entry runs: release from the entry's "version" (NULL: the running kernel's),
 * configuration from ROOT/boot/config-VERSION or the module directory. No platform facts. What
 * status and lint judge an entry with. */
int kernel_info_for_entry(const Root *root, Arch arch, const char *version, KernelInfo *ret);
/* Which of the directories kernel_info_for_entry() reads a configuration from (/boot,
 * /usr/lib/modules, /lib/modules) are there under root, a bit each: a caller that looks up the
 * kernels of many entries asks once, and passes the answer to kernel_info_for_entry_in(). */
unsigned kernel_config_places(const Root *root);
/* kernel_info_for_entry(), without a lookup where places says none of those directories is there. */
int kernel_info_for_entry_in(const Root *root, unsigned places, Arch arch, const char *version, KernelInfo *ret);
/* For k loaded from an image root with no running kernel (release_source "assumed"): every kernel
 * under ROOT/usr/lib/modules and ROOT/lib/modules with a build configuration. One: k becomes it.
 * Several: k->image_kernels, and k describes the newest. None: k is left as it is. Only -ENOMEM
 * fails. */
int kernel_info_load_image(const Root *root, KernelInfo *k);
void kernel_info_done(KernelInfo *k);
/* "6.1.0-56-amd64 (config /boot/config-6.1.0-56-amd64)" or "release unknown, assumed 6.12 with
 * mainline defaults". Never NULL unless out of memory. */
char *kernel_info_describe(const KernelInfo *k);

typedef enum TokenEffect {
        TOKEN_EFFECTIVE,    /* changes what the kernel does */
        TOKEN_DEPRECATED,   /* takes effect, but the kernel logs a deprecation */
        TOKEN_IGNORED,      /* accepted without a word, no effect */
        TOKEN_UNKNOWN,      /* the kernel logs "Unknown option" (no effect) */
        TOKEN_OVERRIDDEN,   /* a later token sets the same thing */
        TOKEN_REDUNDANT,    /* already the build default (or not for this IOMMU): changes nothing */
        _TOKEN_EFFECT_MAX,
} TokenEffect;

const char *token_effect_to_string(TokenEffect e);
/* Whether the token could be dropped without changing what the kernel does. */
static inline bool token_effect_is_inert(TokenEffect e) {
        return e >= TOKEN_IGNORED;
}

typedef struct TokenPrediction {
        size_t index;           /* into the Cmdline's tokens */
        TokenEffect effect;
        bool depends_on_build;  /* redundant only by a build default the model assumed (no configuration read):
                                 * not advice to remove it */
        char *why;              /* one sentence */
        char *fix;              /* for inert tokens: what to do instead; NULL when nothing */
} TokenPrediction;

typedef struct KernelPrediction {
        bool groups;              /* an IOMMU driver registers and creates groups */
        DomainType domain;        /* what /sys/kernel/iommu_groups/N/type reads; DOMAIN_NONE without groups */
        int strict;               /* translated domains: 1 strict, 0 lazy; -1 without translated domains */
        bool strict_observable;   /* the release tells strict from lazy in sysfs (DMA-FQ, 5.15 on) */
        int interrupt_remapping;  /* 1 on when the hardware has it, 0 off, -1 unknown */
        bool driver_not_built;    /* the build configuration lacks the vendor's IOMMU driver (Debian's cloud flavour
                                   * on AMD): no groups whatever the line */
        const char *reason;       /* static: the token or default that decided the domain */
        const char *strict_reason; /* static: what decided strict or lazy */
        TokenPrediction *tokens;  /* every IOMMU token the model knows, in line order */
        size_t n_tokens;
} KernelPrediction;

/* vendor: VENDOR_INTEL, VENDOR_AMD or VENDOR_ARM64 (VENDOR_PORTABLE is read as Intel: call it for
 * AMD too). k NULL: kernel_info_default(). Only -ENOMEM fails. */
int kernel_predict(const KernelInfo *k, Vendor vendor, const Cmdline *c, KernelPrediction *ret);
/* Same without the per-token verdicts (tokens stays empty): what sync decisions need, cheaply. */
int kernel_predict_effect(const KernelInfo *k, Vendor vendor, const Cmdline *c, KernelPrediction *ret);
void kernel_prediction_done(KernelPrediction *p);
/* Groups, domain type and (for translated domains) strictness are the same. */
bool kernel_prediction_same_effect(const KernelPrediction *a, const KernelPrediction *b);
const TokenPrediction *kernel_prediction_find_token(const KernelPrediction *p, size_t index);
/* "identity", "DMA (strict)", "DMA-FQ (lazy)", "DMA (lazy)", "no groups": for messages. */
const char *kernel_prediction_effect_string(const KernelPrediction *p, char buf[static 32]);
