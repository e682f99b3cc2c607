/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/utsname.h>

#include "cmdline.h"
#include "params.h"

static const char * const arch_names[_ARCH_MAX] = {
        [ARCH_X86_64] = "x86_64",
        [ARCH_AARCH64] = "aarch64",
};

const char *arch_to_string(Arch a) {
        return STRING_TABLE_TO_STRING(arch_names, a);
}

Arch arch_from_string(const char *s) {
        if (!s)
                return _ARCH_INVALID;
        if (streq(s, "x86_64") || streq(s, "amd64") || streq(s, "x86-64"))
                return ARCH_X86_64;
        if (streq(s, "aarch64") || streq(s, "arm64"))
                return ARCH_AARCH64;
        return _ARCH_INVALID;
}

Arch arch_native(void) {
        struct utsname u;
        if (uname(&u) < 0)
                return _ARCH_INVALID;
        return arch_from_string(u.machine);
}

/* Options, not the key: the ACS lift of [PCI] LiftACSRedirect= (drivers/pci/pci.c:pci_setup()),
 * never the operator's other pci= options. */
#define IOMMU_OWNED_OPTIONS "pci=disable_acs_redir", "pci=config_acs"

char * const iommu_owned_keys[] = {
        "iommu", "intel_iommu", "amd_iommu", "iommu.passthrough", "iommu.strict",
        IOMMU_OWNED_OPTIONS, NULL,
};

char * const iommu_owned_option_entries[] = { IOMMU_OWNED_OPTIONS, NULL };

/* arch/x86/kernel/pci-dma.c:iommu_setup(): every item is compared by prefix, unknown items are
 * ignored silently. */
static const ParamValue iommu_x86_values[] = {
        { "off", VALUE_OK, "disables IOMMU DMA remapping; interrupt remapping may stay on" },
        { "force", VALUE_OK, "forces the GART IOMMU on (AMD GART systems)" },
        { "noforce", VALUE_OK, "does not force the GART IOMMU" },
        { "biomerge", VALUE_OK, "GART: merge and force" },
        { "panic", VALUE_OK, "panics when the GART IOMMU overflows" },
        { "nopanic", VALUE_OK, "does not panic on GART IOMMU overflow" },
        { "merge", VALUE_OK, "GART: merge scatter-gather lists" },
        { "nomerge", VALUE_OK, "GART: do not merge scatter-gather lists" },
        { "soft", VALUE_OK, "uses the software bounce buffer (swiotlb); before 5.19 it also turns hardware IOMMU detection off" },
        { "pt", VALUE_OK, "sets the default DMA domain to passthrough (identity): host DMA untranslated, devices still get IOMMU groups" },
        { "nopt", VALUE_OK, "sets the default DMA domain to translated (same as iommu.passthrough=0)" },
        { "usedac", VALUE_OK, "allows 64-bit DAC addressing" },
        { "forcesac", VALUE_IGNORED, "accepted and ignored by current kernels" },
        { "allowdac", VALUE_IGNORED, "accepted and ignored by current kernels" },
        { "nodac", VALUE_IGNORED, "accepted and ignored by current kernels" },
        { "strict", VALUE_IGNORED, "not an iommu= value on x86: silently ignored", "iommu.strict=1" },
        { "on", VALUE_IGNORED, "not an iommu= value on x86: silently ignored; the IOMMU is on whenever firmware describes it",
          "remove it (use intel_iommu=on on Intel; AMD-Vi needs nothing)" },
        { "nostrict", VALUE_IGNORED, "not an iommu= value on x86: silently ignored", "iommu.strict=0" },
        { "passthrough", VALUE_IGNORED, "not an iommu= value on x86: silently ignored", "iommu=pt" },
        {}
};

/* drivers/iommu/intel/iommu.c:intel_iommu_setup(): comma list, unknown items log "Unknown option". */
static const ParamValue intel_iommu_values[] = {
        { "on", VALUE_OK, "enables the Intel VT-d DMA remapping driver (needed where the kernel defaults it off)" },
        { "off", VALUE_OK, "disables the Intel VT-d driver: no IOMMU groups on Intel hosts, wins over the firmware's DMA opt-in" },
        { "igfx_off", VALUE_OK, "leaves the integrated graphics device out of DMA remapping" },
        { "forcedac", VALUE_DEPRECATED, "forces 64-bit DMA addresses", "iommu.forcedac=1" },
        { "strict", VALUE_DEPRECATED, "strict IOTLB invalidation", "iommu.strict=1" },
        { "sp_off", VALUE_OK, "disables superpages" },
        { "sm_on", VALUE_OK, "enables scalable mode" },
        { "sm_off", VALUE_OK, "disables scalable mode" },
        { "tboot_noforce", VALUE_OK, "does not force VT-d on under tboot" },
        {}
};

/* drivers/iommu/amd/init.c:parse_amd_iommu_options(): comma list, unknown items log "Unknown option". */
static const ParamValue amd_iommu_values[] = {
        { "off", VALUE_OK, "disables the AMD-Vi driver: no IOMMU groups on AMD hosts" },
        { "fullflush", VALUE_DEPRECATED, "strict IOTLB invalidation", "iommu.strict=1" },
        { "force_enable", VALUE_OK, "enables AMD-Vi even on chipsets with known errata" },
        { "force_isolation", VALUE_OK, "forces device isolation" },
        { "pgtbl_v1", VALUE_OK, "uses v1 page tables" },
        { "pgtbl_v2", VALUE_OK, "uses v2 page tables" },
        { "irtcachedis", VALUE_OK, "disables the interrupt remapping table cache" },
        { "nohugepages", VALUE_OK, "limits page sizes to 4 KiB" },
        { "v2_pgsizes_only", VALUE_OK, "limits page sizes to 4 KiB, 2 MiB and 1 GiB" },
        { "on", VALUE_REJECTED, "is not an amd_iommu= option: the driver logs \"AMD-Vi: Unknown option - 'on'\"",
          "remove it: AMD-Vi is on whenever the firmware publishes an IVRS table" },
        {}
};

static const ParamValue amd_iommu_intr_values[] = {
        { "legacy", VALUE_OK, "legacy interrupt remapping mode" },
        { "vapic", VALUE_OK, "virtual APIC interrupt remapping mode" },
        {}
};

/* arch/x86/kernel/apic/... drivers/iommu/irq_remapping.c:setup_irqremap(). */
static const ParamValue intremap_values[] = {
        { "on", VALUE_OK, "enables interrupt remapping (the default when the hardware has it)" },
        { "off", VALUE_OK, "disables interrupt remapping" },
        { "nosid", VALUE_OK, "does not check source IDs of remapped interrupts" },
        { "no_x2apic_optout", VALUE_OK, "ignores the firmware's x2APIC opt-out" },
        { "nopost", VALUE_OK, "disables posted interrupts" },
        {}
};

static const ParamValue passthrough_values[] = {
        { "1", VALUE_OK, "sets the default DMA domain to passthrough (identity)" },
        { "0", VALUE_OK, "sets the default DMA domain to translated (DMA or DMA-FQ)" },
        {}
};

static const ParamValue strict_values[] = {
        { "1", VALUE_OK, "invalidates the IOTLB synchronously on every unmap (DMA domains, not DMA-FQ)" },
        { "0", VALUE_OK, "defers IOTLB invalidation (lazy: DMA-FQ domains)" },
        {}
};

static const ParamValue bool_values[] = {
        { "1", VALUE_OK, "enabled" },
        { "0", VALUE_OK, "disabled" },
        {}
};

static const ParamInfo table[] = {
        { "iommu", ARCH_MASK_X86, SYNTAX_LIST, true, iommu_x86_values, VALUE_IGNORED,
          "x86 IOMMU and DMA options", "arch/x86/kernel/pci-dma.c" },
        { "intel_iommu", ARCH_MASK_X86, SYNTAX_LIST, false, intel_iommu_values, VALUE_REJECTED,
          "Intel VT-d driver options", "drivers/iommu/intel/iommu.c" },
        { "amd_iommu", ARCH_MASK_X86, SYNTAX_LIST, false, amd_iommu_values, VALUE_REJECTED,
          "AMD-Vi driver options", "drivers/iommu/amd/init.c" },
        { "amd_iommu_intr", ARCH_MASK_X86, SYNTAX_CHOICE, false, amd_iommu_intr_values, VALUE_REJECTED,
          "AMD-Vi interrupt remapping mode", "drivers/iommu/amd/init.c" },
        { "intremap", ARCH_MASK_X86, SYNTAX_LIST, false, intremap_values, VALUE_IGNORED,
          "interrupt remapping options", "drivers/iommu/irq_remapping.c" },
        { "iommu.passthrough", ARCH_MASK_ALL, SYNTAX_BOOL, false, passthrough_values, VALUE_REJECTED,
          "default DMA domain: passthrough or translated", "drivers/iommu/iommu.c" },
        { "iommu.strict", ARCH_MASK_ALL, SYNTAX_BOOL, false, strict_values, VALUE_REJECTED,
          "IOTLB invalidation: strict or lazy", "drivers/iommu/iommu.c" },
        { "iommu.forcedac", ARCH_MASK_ALL, SYNTAX_BOOL, false, bool_values, VALUE_REJECTED,
          "force 64-bit DMA addresses", "drivers/iommu/dma-iommu.c" },
        { "arm_smmu.disable_bypass", ARCH_MASK(ARCH_AARCH64), SYNTAX_BOOL, false, bool_values, VALUE_REJECTED,
          "SMMUv1/v2: block DMA from devices without a domain", "drivers/iommu/arm/arm-smmu/arm-smmu.c" },
        { "arm_smmu_v3.disable_bypass", ARCH_MASK(ARCH_AARCH64), SYNTAX_BOOL, false, bool_values, VALUE_REJECTED,
          "SMMUv3: block DMA from devices without a domain", "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c" },
        { "vfio_iommu_type1.allow_unsafe_interrupts", ARCH_MASK_ALL, SYNTAX_BOOL, false, bool_values, VALUE_REJECTED,
          "let VFIO assign devices without interrupt remapping (unsafe)", "drivers/vfio/vfio_iommu_type1.c" },
};

/* Release-dependent exceptions. Measured on Debian's 5.10, 6.1, 6.12 and 7.2 kernels (tests/vm/kernel-truth.sh),
 * read from the sources otherwise. */
static const ParamRule param_rules[] = {
        /* drivers/iommu/amd/init.c:parse_amd_iommu_options(): 5.10 has no "Unknown option" branch. */
        { "amd_iommu", "on", ARCH_MASK_X86, 0, KERNEL_VERSION(6, 1), VALUE_IGNORED,
          "not an amd_iommu= option, and 5.10 ignores it without a word (measured; 6.1 on log \"Unknown option\")",
          "remove it: AMD-Vi is on whenever the firmware publishes an IVRS table",
          "drivers/iommu/amd/init.c: parse_amd_iommu_options() (5.10: silent; 6.1 on: \"Unknown option\")" },
        /* Before 5.15 iommu.strict= is documented [ARM64] only: the x86 drivers keep their own flag
         * (intel_iommu_strict, amd_iommu_unmap_flush), set by intel_iommu=strict and amd_iommu=fullflush. */
        { "iommu.strict", NULL, ARCH_MASK_X86, 0, KERNEL_VERSION(5, 15), VALUE_IGNORED,
          "has no effect on x86 before 5.15: the Intel and AMD drivers use their own strict flag",
          "intel_iommu=strict on Intel, amd_iommu=fullflush on AMD (before 5.15)",
          "drivers/iommu/iommu.c, Documentation/admin-guide/kernel-parameters.txt: iommu.strict= [ARM64] until 5.15" },
        { "intel_iommu", "strict", ARCH_MASK_X86, 0, KERNEL_VERSION(5, 15), VALUE_OK,
          "strict IOTLB invalidation (the only way to ask for it on Intel before 5.15)", NULL,
          "drivers/iommu/intel/iommu.c: intel_iommu_setup(), deprecated in 5.15" },
        { "amd_iommu", "fullflush", ARCH_MASK_X86, 0, KERNEL_VERSION(5, 15), VALUE_OK,
          "strict IOTLB invalidation (the only way to ask for it on AMD before 5.15)", NULL,
          "drivers/iommu/amd/init.c: parse_amd_iommu_options(), deprecated in 5.15" },
};

static const KernelFactInfo kernel_facts[_KERNEL_FACT_MAX] = {
        [KERNEL_FACT_DMA_FQ] = { KERNEL_VERSION(5, 15),
                "lazy domains read DMA-FQ in /sys/kernel/iommu_groups/*/type and the log names the invalidation policy; "
                "before, lazy and strict both read DMA",
                "drivers/iommu/iommu.c: IOMMU_DOMAIN_DMA_FQ (5.15); measured: 5.10 reads DMA for lazy" },
        [KERNEL_FACT_DMA_MODE_CONFIG] = { KERNEL_VERSION(5, 15),
                "CONFIG_IOMMU_DEFAULT_DMA_STRICT / CONFIG_IOMMU_DEFAULT_DMA_LAZY choose the default; before, x86 is lazy "
                "and arm64 strict unless asked",
                "drivers/iommu/Kconfig (5.15)" },
        [KERNEL_FACT_X86_IOMMU_STRICT] = { KERNEL_VERSION(5, 15),
                "iommu.strict= is honoured on x86",
                "drivers/iommu/iommu.c: iommu_set_dma_strict() (5.15)" },
        [KERNEL_FACT_AMD_VM_STRICT] = { KERNEL_VERSION(5, 15),
                "AMD-Vi uses strict invalidation when the IOMMU reports NpCache, as virtual IOMMUs do "
                "(\"Using strict mode due to virtualization\"); the CPU's hypervisor flag plays no part",
                "drivers/iommu/amd/init.c: IOMMU_CAP_NPCACHE -> amd_iommu_np_cache -> iommu_set_dma_strict() "
                "(measured on 6.1, 6.12, 7.2 and 7.3 under QEMU, also with the hypervisor flag hidden)" },
        [KERNEL_FACT_X86_SOFT_ONLY_SWIOTLB] = { KERNEL_VERSION(5, 19),
                "iommu=soft only adds the swiotlb bounce buffer; before 5.19 it also skipped every hardware IOMMU's "
                "detection (no groups; on AMD no interrupt remapping either)",
                "arch/x86/kernel/pci-dma.c: commit 78013eaadf69 \"x86: remove the IOMMU table infrastructure\" (5.19); "
                "measured: 5.10 with iommu=soft has no groups on Intel and AMD" },
};

const KernelFactInfo *kernel_fact_info(KernelFact f) {
        return f >= 0 && f < _KERNEL_FACT_MAX ? &kernel_facts[f] : NULL;
}

bool kernel_fact_holds(KernelFact f, unsigned version) {
        const KernelFactInfo *i = kernel_fact_info(f);
        return i && (version == 0 || version >= i->since);
}

const ParamInfo *param_lookup(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (cmdline_key_equal(table[i].key, key))
                        return &table[i];
        return NULL;
}

int parse_kernel_bool(const char *s) {
        if (!s)
                return -EINVAL;
        /* lib/kstrtox.c:kstrtobool() looks at the first one or two characters only. */
        switch (s[0]) {
        case 'y': case 'Y': case 't': case 'T': case '1':
                return 1;
        case 'n': case 'N': case 'f': case 'F': case '0':
                return 0;
        case 'o': case 'O':
                if (s[1] == 'n' || s[1] == 'N')
                        return 1;
                if (s[1] == 'f' || s[1] == 'F')
                        return 0;
                break;
        }
        return -EINVAL;
}

const ParamValue *param_lookup_value(const ParamInfo *info, const char *item) {
        if (info->syntax == SYNTAX_ANY)
                return NULL;
        if (info->syntax == SYNTAX_BOOL) {
                int b = parse_kernel_bool(item);
                if (b < 0)
                        return NULL;
                return &info->values[b ? 0 : 1];
        }
        for (const ParamValue *v = info->values; v->value; v++) {
                if (info->prefix_match && v->verdict == VALUE_OK) {
                        if (strneq(item, v->value, strlen(v->value)))
                                return v;
                } else if (streq(item, v->value))
                        return v;
        }
        return NULL;
}

const ParamRule *param_rule_lookup(const char *key, const char *item, Arch arch, unsigned version) {
        if (version == 0)
                version = KERNEL_VERSION_NEWEST;
        for (size_t i = 0; i < ELEMENTSOF(param_rules); i++) {
                const ParamRule *r = &param_rules[i];
                if (!cmdline_key_equal(r->key, key) || (arch >= 0 && !(r->arch_mask & ARCH_MASK(arch))))
                        continue;
                if (r->since && version < r->since)
                        continue;
                if (r->until && version >= r->until)
                        continue;
                if (r->value && (!item || !streq(r->value, item)))
                        continue;
                return r;
        }
        return NULL;
}

const ParamValue *param_lookup_value_for(const ParamInfo *info, const char *item, Arch arch, unsigned version,
                                         ParamValue *buf) {
        const ParamRule *r = param_rule_lookup(info->key, item, arch, version);

        if (r) {
                *buf = (ParamValue) { .value = item, .verdict = r->verdict, .meaning = r->meaning, .replacement = r->replacement };
                return buf;
        }
        return param_lookup_value(info, item);
}

/* Distribution and vendor builds that differ from mainline. Measured on Debian's 5.10, 6.12 and 7.x
 * (tests/vm/kernel-truth.sh); the release rules above still apply to every other build. */
static const ParamBuildRule param_build_rules[] = {
        { "intel_iommu", "intgpu_off", PARAM_BUILD_DEBIAN_INTGPU_OFF, VALUE_OK,
          "leaves the integrated GPU out of DMA remapping (Debian's patch; the kernel logs \"DMAR: Disable integrated GPU "
          "device mapping\")",
          "Debian (linux-image-*: CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y means \"on, intgpu_off\")",
          "debian/patches/debian/intel-iommu-add-option-to-exclude-integrated-gpu-only.patch; measured on 6.12" },
};

const ParamValue *param_lookup_value_for_build(const ParamInfo *info, const char *item, Arch arch, unsigned version,
                                               unsigned build_flags, ParamValue *buf) {
        for (size_t i = 0; i < ELEMENTSOF(param_build_rules); i++) {
                const ParamBuildRule *b = &param_build_rules[i];
                if ((build_flags & b->build_flag) && cmdline_key_equal(b->key, info->key) && item && streq(item, b->value)) {
                        *buf = (ParamValue) { .value = item, .verdict = b->verdict, .meaning = b->meaning };
                        return buf;
                }
        }
        return param_lookup_value_for(info, item, arch, version, buf);
}

const char *param_describe(const char *key, const char *value) {
        const ParamInfo *info = param_lookup(key);
        const ParamValue *v;

        if (!info)
                return "not an IOMMU parameter iommuctl knows";
        if (!value || info->syntax == SYNTAX_LIST) {
                /* Lists: describe the first item, which is what profiles use. */
                _cleanup_free_ char *first = value ? strndup(value, strcspn(value, ",")) : NULL;
                v = first ? param_lookup_value(info, first) : NULL;
        } else
                v = param_lookup_value(info, value);
        return v ? v->meaning : info->summary;
}

static const char * const vendor_names[_VENDOR_MAX] = {
        [VENDOR_INTEL] = "intel",
        [VENDOR_AMD] = "amd",
        [VENDOR_ARM64] = "arm64",
        [VENDOR_PORTABLE] = "portable",
};

const char *vendor_to_string(Vendor v) {
        return STRING_TABLE_TO_STRING(vendor_names, v);
}

Vendor vendor_from_string(const char *s) {
        for (Vendor v = 0; s && v < _VENDOR_MAX; v++)
                if (strcasecmp(s, vendor_names[v]) == 0)
                        return v;
        return _VENDOR_INVALID;
}

Arch vendor_arch(Vendor v) {
        return v == VENDOR_ARM64 ? ARCH_AARCH64 : ARCH_X86_64;
}

static const char * const domain_type_names[_DOMAIN_TYPE_MAX] = {
        [DOMAIN_IDENTITY] = "identity",
        [DOMAIN_DMA] = "DMA",
        [DOMAIN_DMA_FQ] = "DMA-FQ",
        [DOMAIN_UNMANAGED] = "unmanaged",
        [DOMAIN_BLOCKED] = "blocked",
        [DOMAIN_UNKNOWN] = "unknown",
        [DOMAIN_NONE] = "none",
};

const char *domain_type_to_string(DomainType t) {
        return STRING_TABLE_TO_STRING(domain_type_names, t);
}

DomainType domain_type_from_string(const char *s) {
        return string_table_lookup(domain_type_names, ELEMENTSOF(domain_type_names), s);
}
