/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>

#include "fileio.h"
#include "host.h"
#include "ini-file.h"
#include "kernel-model.h"
#include "pcie.h"
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

unsigned kernel_config_build_flags(const KernelConfig *c) {
        return c->intel_intgpu_off == 1 ? PARAM_BUILD_DEBIAN_INTGPU_OFF : 0;
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
                /* Distributions differ (Debian 6.12 and 7.x build neither): unknown without a configuration. */
                .iommufd = -1,
                .vfio_device_cdev = -1,
        };
}

/* The lines kernel_config_parse() reads all hold "MM" (every symbol it reads has "IOMMU" in its name)
 * or "CD" (CONFIG_VFIO_DEVICE_CDEV): the scan stops only where one of these pairs starts, or at a
 * NUL byte (where the text ends for the C string functions the line parser uses). A Debian config
 * is 260 KB and 10000 lines, with some 40 such pairs: the generator reads it at every boot where a
 * line is not the one apply writes, and strstr() over it cost more than all else it does. */
static const char *config_next_candidate_scalar(const char *p, const char *end) {
        for (; p < end; p++)
                if (*p == '\0' || (end - p > 1 && ((p[0] == 'M' && p[1] == 'M') || (p[0] == 'C' && p[1] == 'D'))))
                        return p;
        return end;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 32 bytes at a time (two unaligned loads, a byte apart, inside [p, end)). */
__attribute__((target("avx2"))) static const char *config_next_candidate_avx2(const char *p, const char *end) {
        const __m256i m = _mm256_set1_epi8('M'), c = _mm256_set1_epi8('C'), d = _mm256_set1_epi8('D'),
                      z = _mm256_setzero_si256();

        /* 64 bytes a round while nothing is there (one test; NUL found through the bytes' minimum),
         * then 32 bytes a round to the first candidate. */
        for (; end - p > 64; p += 64) {
                __m256i a0 = _mm256_loadu_si256((const __m256i *) p), b0 = _mm256_loadu_si256((const __m256i *) (p + 1)),
                        a1 = _mm256_loadu_si256((const __m256i *) (p + 32)), b1 = _mm256_loadu_si256((const __m256i *) (p + 33));
                __m256i x = _mm256_or_si256(
                        _mm256_or_si256(
                                _mm256_or_si256(_mm256_and_si256(_mm256_cmpeq_epi8(a0, m), _mm256_cmpeq_epi8(b0, m)),
                                                _mm256_and_si256(_mm256_cmpeq_epi8(a0, c), _mm256_cmpeq_epi8(b0, d))),
                                _mm256_or_si256(_mm256_and_si256(_mm256_cmpeq_epi8(a1, m), _mm256_cmpeq_epi8(b1, m)),
                                                _mm256_and_si256(_mm256_cmpeq_epi8(a1, c), _mm256_cmpeq_epi8(b1, d)))),
                        _mm256_cmpeq_epi8(_mm256_min_epu8(a0, a1), z));

                if (!_mm256_testz_si256(x, x))
                        break;
        }
        for (; end - p > 32; p += 32) {
                __m256i a = _mm256_loadu_si256((const __m256i *) p), b = _mm256_loadu_si256((const __m256i *) (p + 1));
                __m256i x = _mm256_or_si256(
                        _mm256_or_si256(_mm256_and_si256(_mm256_cmpeq_epi8(a, m), _mm256_cmpeq_epi8(b, m)),
                                        _mm256_and_si256(_mm256_cmpeq_epi8(a, c), _mm256_cmpeq_epi8(b, d))),
                        _mm256_cmpeq_epi8(a, z));
                unsigned mask = (unsigned) _mm256_movemask_epi8(x);

                if (mask)
                        return p + __builtin_ctz(mask);
        }
        return config_next_candidate_scalar(p, end);
}

static const char *config_next_candidate(const char *p, const char *end) {
        static int avx2 = -1;

        if (avx2 < 0)
                avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        return avx2 ? config_next_candidate_avx2(p, end) : config_next_candidate_scalar(p, end);
}
#else
#define config_next_candidate config_next_candidate_scalar
#endif

void kernel_config_parse(const char *text, Arch arch, unsigned version, KernelConfig *ret) {
        kernel_config_parse_n(text, text ? strlen(text) : 0, arch, version, ret);
}

void kernel_config_parse_n(const char *text, size_t size, Arch arch, unsigned version, KernelConfig *ret) {
        int on = -1, intgpu = -1, off = -1, lazy = -1, strict = -1, intel = 0, amd = 0, pt = 0, iommufd = 0;
        bool cdev = false;
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
                { "CONFIG_IOMMUFD", &iommufd },
        };
        const char *end;

        kernel_config_defaults(arch, version, ret);
        if (!text)
                return;
        end = text + size;
        /* Only the lines with a candidate pair are looked at, once each; the scan resumes after
         * the line. "CONFIG_X=y" (or =m) sets 1, "# CONFIG_X is not set" 0. A build that does not
         * mention a driver does not have it. */
        for (const char *hit = config_next_candidate(text, end); hit < end && *hit; hit = config_next_candidate(hit, end)) {
                const char *p = hit, *name;
                size_t n;

                /* Only "MMU" and "CDEV" can be in a line read below. */
                if (*hit == 'M' ? !(end - hit > 2 && hit[2] == 'U') : !(end - hit > 3 && hit[2] == 'E' && hit[3] == 'V')) {
                        hit++;
                        continue;
                }
                while (p > text && p[-1] != '\n')
                        p--;
                /* The one symbol read without "IOMMU" in its name. */
                if (startswith(p, "CONFIG_VFIO_DEVICE_CDEV=y"))
                        cdev = true;
                name = p[0] == '#' && p[1] == ' ' ? p + 2 : p;
                if (memcmp(name, "CONFIG_", 7) == 0) {
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
                /* The rest of the line, up to a NUL where the text ends. */
                while (hit < end && *hit && *hit != '\n')
                        hit++;
        }
        ret->intel_iommu = intel;
        ret->amd_iommu = amd;
        ret->iommufd = iommufd;
        ret->vfio_device_cdev = cdev;
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
        };
        kernel_config_defaults(arch, ret->version, &ret->config);
        kernel_platform_unknown(&ret->platform);
}

static const char * const platform_fact_names[_PLATFORM_FACT_MAX] = {
        [PLATFORM_VTD_CACHING_MODE] = "vtd-caching-mode",
        [PLATFORM_AMD_NPCACHE] = "amd-npcache",
        [PLATFORM_SEV_SNP] = "sev-snp",
        [PLATFORM_SMMUV3] = "smmuv3",
        [PLATFORM_PASID_ATS] = "pasid-ats",
        [PLATFORM_GRACE] = "grace",
        [PLATFORM_SMMUV3_IDENTITY_FIX] = "smmuv3-identity-fix",
};

const char *platform_fact_to_string(PlatformFact f) {
        return STRING_TABLE_TO_STRING(platform_fact_names, f);
}

void kernel_platform_unknown(KernelPlatform *ret) {
        *ret = (KernelPlatform) {};
        for (PlatformFact f = 0; f < _PLATFORM_FACT_MAX; f++)
                ret->fact[f] = -1;
}

static void platform_set(KernelPlatform *p, PlatformFact f, int v, const char *evidence) {
        /* A "yes" from one source is not undone by a "no" from another (one of several IOMMU units). */
        if (p->fact[f] == 1 && v != 1)
                return;
        p->fact[f] = v;
        p->evidence[f] = evidence;
}

void kernel_platform_from_log(char * const *lines, KernelPlatform *p) {
        STRV_FOREACH(l, lines) {
                /* drivers/iommu/intel/iommu.c: caching mode -> iommu_set_dma_strict() (6.x); 5.10's wording. */
                if (strstr(*l, "IOMMU batching disallowed due to virtualization") ||
                    strstr(*l, "Disable batched IOTLB flush due to virtualization"))
                        platform_set(p, PLATFORM_VTD_CACHING_MODE, 1,
                                     "the kernel log: \"DMAR: IOMMU batching disallowed due to virtualization\" (VT-d caching mode)");
                if (strstr(*l, "Using strict mode due to virtualization"))
                        platform_set(p, PLATFORM_AMD_NPCACHE, 1,
                                     "the kernel log: \"AMD-Vi: Using strict mode due to virtualization\" (NpCache)");
                /* arch/x86/kvm/svm/sev.c: "SEV-SNP enabled (ASIDs ...)"; arch/x86/virt/svm/sev.c: "SEV-SNP: RMP table". */
                if (strstr(*l, "SEV-SNP enabled") || strstr(*l, "SEV-SNP supported"))
                        platform_set(p, PLATFORM_SEV_SNP, 1, "the kernel log: \"SEV-SNP enabled\" (this host runs SNP guests)");
                if (strstr(*l, "SNP cannot be supported"))
                        platform_set(p, PLATFORM_SEV_SNP, 1,
                                     "the kernel log: \"SNP: IOMMU is disabled or configured in passthrough mode, SNP cannot be supported\"");
        }
}

void kernel_platform_from_cap(const char *kind, const char *cap_hex, KernelPlatform *p) {
        unsigned long long cap;
        char *end;

        if (!kind || isempty(cap_hex))
                return;
        errno = 0;
        cap = strtoull(cap_hex, &end, 16);
        if (errno || end == cap_hex)
                return;
        if (streq(kind, "intel-iommu"))
                /* VT-d spec 11.4.2: CM is bit 7 of the Capability Register. */
                platform_set(p, PLATFORM_VTD_CACHING_MODE, (cap >> 7) & 1,
                             (cap >> 7) & 1 ? "VT-d caching mode (CM, bit 7 of /sys/class/iommu/dmar*/intel-iommu/cap): a virtual IOMMU"
                                            : "no VT-d caching mode (CM, bit 7 of /sys/class/iommu/dmar*/intel-iommu/cap)");
        else if (streq(kind, "amd-iommu"))
                /* drivers/iommu/amd/amd_iommu_types.h: IOMMU_CAP_NPCACHE 26. */
                platform_set(p, PLATFORM_AMD_NPCACHE, (cap >> 26) & 1,
                             (cap >> 26) & 1 ? "AMD-Vi NpCache (bit 26 of /sys/class/iommu/ivhd*/amd-iommu/cap): a virtual IOMMU"
                                             : "no AMD-Vi NpCache (bit 26 of /sys/class/iommu/ivhd*/amd-iommu/cap)");
}

/* /etc/iommu/platform.conf: what the node cannot show but its owner knows (a vendor kernel that
 * carries the SMMUv3 identity-domain backport, PASID-capable devices): [Platform] Key=yes|no. */
static const char * const platform_override_keys[_PLATFORM_FACT_MAX] = {
        [PLATFORM_VTD_CACHING_MODE] = "VTdCachingMode",
        [PLATFORM_AMD_NPCACHE] = "AMDNpCache",
        [PLATFORM_SEV_SNP] = "SEVSNP",
        [PLATFORM_SMMUV3] = "SMMUv3",
        [PLATFORM_PASID_ATS] = "PASIDDevices",
        [PLATFORM_GRACE] = "Grace",
        [PLATFORM_SMMUV3_IDENTITY_FIX] = "SMMUv3IdentityFix",
};

typedef struct OverrideContext {
        IniFile ini;
        KernelPlatform *platform;
} OverrideContext;

static int override_handler(void *user, const char *section, const char *name, const char *value) {
        OverrideContext *ctx = user;
        int b;

        if (!streq(section, "Platform")) {
                ini_file_section_error(&ctx->ini, section, "[Platform]");
                return 1;
        }
        for (PlatformFact f = 0; f < _PLATFORM_FACT_MAX; f++) {
                if (!streq(name, platform_override_keys[f]))
                        continue;
                b = streq(value, "yes") ? 1 : streq(value, "no") ? 0 : -1;
                if (b < 0)
                        ini_file_error(&ctx->ini, "%s=%s is not valid; valid: yes, no", name, value);
                else {
                        ctx->platform->fact[f] = b;
                        ctx->platform->evidence[f] = "stated in " PLATFORM_OVERRIDE_FILE;
                }
                return 1;
        }
        ini_file_error(&ctx->ini, "unknown key '%s' in [Platform]; valid: VTdCachingMode, AMDNpCache, SEVSNP, SMMUv3, "
                       "PASIDDevices, Grace, SMMUv3IdentityFix", name);
        return 1;
}

/* SMMUv3 hosts only (the scan costs a config-space read per device, and only the SMMUv3
 * passthrough rule asks): a device with PASID and ATS capabilities (a Grace-class GPU) binds
 * PASIDs through the SMMU. Unknown when no extended config space could be read (not root, a
 * captured tree without config files). */
static int platform_probe_pasid_devices(const Root *root, KernelPlatform *p) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        bool any_extended = false;

        if (root_opendir(root, "/sys/bus/pci/devices", &d) < 0)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *config = NULL;
                size_t size;
                PcieInfo info;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&path, "/sys/bus/pci/devices/%s/config", de->d_name) < 0)
                        return -ENOMEM;
                r = read_root_file(root, path, PCI_CONFIG_SPACE_SIZE, &config, &size);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || pcie_parse((const uint8_t *) config, size, &info) < 0 || !info.extended)
                        continue;
                any_extended = true;
                if (info.has_pasid && info.has_ats) {
                        platform_set(p, PLATFORM_PASID_ATS, 1,
                                     "a PCI device with PASID and ATS capabilities (config space under /sys/bus/pci/devices)");
                        return 0;
                }
        }
        if (any_extended)
                platform_set(p, PLATFORM_PASID_ATS, 0, "no PCI device has PASID and ATS capabilities (config space)");
        return 0;
}

/* The SoC's SMCCC SOC_ID (drivers/firmware/smccc/soc_id.c, 5.10 on) names the chip where the
 * CPU part cannot (Neoverse V2 is Grace, Graviton4, Axion...): JEP106 036b is NVIDIA, 0241 the
 * Grace chip (as NVIDIA's DCGM and hwloc read it). It decides over the CPU part either way. */
static int platform_probe_soc_id(const Root *root, KernelPlatform *p) {
        _cleanup_free_ char *id = NULL;
        int r;

        r = read_root_line(root, "/sys/devices/soc0/soc_id", &id);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        p->fact[PLATFORM_GRACE] = streq(strstrip(id), "jep106:036b:0241");
        p->evidence[PLATFORM_GRACE] = p->fact[PLATFORM_GRACE] ? "/sys/devices/soc0/soc_id jep106:036b:0241 (NVIDIA Grace)" :
                                                                 "/sys/devices/soc0/soc_id (not NVIDIA Grace's jep106:036b:0241)";
        return 0;
}

int kernel_platform_probe(const Root *root, Arch arch, const char *log_file, KernelPlatform *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *cpuinfo = NULL, *snp = NULL;
        KernelPlatform p;
        struct dirent *de;
        int r;

        kernel_platform_unknown(&p);
        if (root_opendir(root, "/sys/class/iommu", &d) >= 0)
                while ((de = readdir(d))) {
                        static const char * const kinds[] = { "intel-iommu", "amd-iommu" };
                        if (de->d_name[0] == '.' || strchr(de->d_name, '/'))
                                continue;
                        if (startswith(de->d_name, "smmu3."))
                                platform_set(&p, PLATFORM_SMMUV3, 1, "an SMMUv3 in /sys/class/iommu");
                        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                                _cleanup_free_ char *path = NULL, *cap = NULL;
                                if (asprintf(&path, "/sys/class/iommu/%s/%s/cap", de->d_name, kinds[i]) < 0)
                                        return -ENOMEM;
                                r = read_root_line(root, path, &cap);
                                if (r == -ENOMEM)
                                        return r;
                                if (r >= 0)
                                        kernel_platform_from_cap(kinds[i], strstrip(cap), &p);
                        }
                }
        if (arch == ARCH_AARCH64 && p.fact[PLATFORM_SMMUV3] == 1) {
                r = platform_probe_pasid_devices(root, &p);
                if (r < 0)
                        return r;
        }
        if (arch == ARCH_X86_64) {
                r = host_read_cpuinfo(root, &cpuinfo);
                if (r == -ENOMEM)
                        return r;
                /* The CPU can do SNP; whether this host runs it is the kernel's (kvm_amd's sev_snp, the log). */
                if (cpuinfo && !strstr(cpuinfo, " sev_snp"))
                        platform_set(&p, PLATFORM_SEV_SNP, 0, "no sev_snp flag in /proc/cpuinfo");
                r = read_root_line(root, "/sys/module/kvm_amd/parameters/sev_snp", &snp);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && cpuinfo && strstr(cpuinfo, " sev_snp"))
                        platform_set(&p, PLATFORM_SEV_SNP, parse_kernel_bool(strstrip(snp)) == 1,
                                     "kvm_amd's sev_snp parameter (/sys/module/kvm_amd/parameters/sev_snp) and the CPU's sev_snp flag");
        } else if (arch == ARCH_AARCH64) {
                r = host_read_cpuinfo(root, &cpuinfo);
                if (r == -ENOMEM)
                        return r;
                /* Grace is Arm Neoverse V2 (implementer 0x41, part 0xd4f) in NVIDIA's systems; DMI tells the rest. */
                if (cpuinfo)
                        platform_set(&p, PLATFORM_GRACE, strstr(cpuinfo, "CPU part\t: 0xd4f") != NULL,
                                     "/proc/cpuinfo's CPU part (0xd4f: Neoverse V2, Grace or another V2 such as Graviton4)");
                r = platform_probe_soc_id(root, &p);
                if (r < 0)
                        return r;
        }
        if (log_file) {
                _cleanup_free_ char *text = NULL;
                _cleanup_strv_free_ char **lines = NULL;

                r = read_full_file(log_file, 64u * 1024u * 1024u, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        if (strv_split(text, "\n", &lines) < 0)
                                return -ENOMEM;
                        kernel_platform_from_log(lines, &p);
                }
        }
        /* The owner's statements win over what was read. */
        {
                _cleanup_free_ char *path = root_display(root, PLATFORM_OVERRIDE_FILE);
                OverrideContext ctx = { .platform = &p };

                if (!path)
                        return -ENOMEM;
                ctx.ini.path = path;
                ctx.ini.root = root;
                ctx.ini.root_file = PLATFORM_OVERRIDE_FILE;
                r = ini_file_parse(&ctx.ini, override_handler, &ctx);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        *ret = p;
        return 0;
}

void kernel_info_done(KernelInfo *k) {
        free(k->release);
        free(k->config_source);
        for (size_t i = 0; i < k->n_image_kernels; i++)
                kernel_info_done(&k->image_kernels[i]);
        free(k->image_kernels);
        *k = (KernelInfo) {};
}

static int kernel_info_compare(const void *a, const void *b) {
        const KernelInfo *x = a, *y = b;
        return x->version < y->version ? -1 : x->version > y->version ? 1 : strcmp(x->release, y->release);
}

int kernel_info_load_image(const Root *root, KernelInfo *k) {
        static const char * const dirs[] = { "/usr/lib/modules", "/lib/modules" };
        KernelInfo *l = NULL;
        size_t n = 0;
        int r = 0;

        if (!streq(k->release_source, "assumed") || k->image_kernels)
                return 0;
        for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
                _cleanup_(closedirp) DIR *dir = NULL;
                struct dirent *de;

                if (root_opendir(root, dirs[d], &dir) < 0)
                        continue;
                while ((de = readdir(dir))) {
                        KernelInfo ki, *t;
                        unsigned v;
                        bool seen = false;

                        if (de->d_name[0] == '.' || kernel_release_parse(de->d_name, &v) < 0)
                                continue;
                        for (size_t i = 0; i < n; i++)
                                seen = seen || streq(l[i].release, de->d_name);
                        if (seen)
                                continue;
                        r = kernel_info_load(root, k->arch, de->d_name, NULL, &ki);
                        if (r < 0)
                                goto finish;
                        if (!ki.config_source) {
                                kernel_info_done(&ki);
                                continue;
                        }
                        t = realloc(l, (n + 1) * sizeof(KernelInfo));
                        if (!t) {
                                kernel_info_done(&ki);
                                r = -ENOMEM;
                                goto finish;
                        }
                        l = t;
                        l[n++] = ki;
                }
        }
        if (n == 0)
                return 0;
        qsort(l, n, sizeof(KernelInfo), kernel_info_compare);
        {
                KernelPlatform platform = k->platform;
                KernelInfo newest = l[n - 1];

                /* One kernel: that is the target. Several: k describes the newest, and owns them all. */
                free(k->release);
                free(k->config_source);
                *k = (KernelInfo) {
                        .arch = newest.arch,
                        .version = newest.version,
                        .release = strdup(newest.release),
                        .release_source = n == 1 ? "image" : "image (newest of several)",
                        .config_source = strdup(newest.config_source),
                        .config = newest.config,
                        .platform = platform,
                };
                if (!k->release || !k->config_source) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (n > 1) {
                        k->image_kernels = TAKE_PTR(l);
                        k->n_image_kernels = n;
                        n = 0;
                }
        }
finish:
        for (size_t i = 0; i < n; i++)
                kernel_info_done(&l[i]);
        free(l);
        return r;
}

static int read_config(const Root *root, const char *release, char **ret_text, size_t *ret_size, char **ret_source) {
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
                r = read_root_file(root, p, KERNEL_CONFIG_MAX, ret_text, ret_size);
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
        size_t size = 0;
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
                r = read_full_file(config_file, KERNEL_CONFIG_MAX, &text, &size);
                if (r < 0)
                        return r;
                k.config_source = strdup(config_file);
                if (!k.config_source)
                        return -ENOMEM;
        } else {
                r = read_config(root, k.release, &text, &size, &k.config_source);
                if (r == -ENOMEM)
                        return r;
        }
        /* No platform facts here: AMD-Vi's strictness in a VM is the IOMMU's NpCache, not the CPU's
         * "hypervisor" flag, and the caller knows whether the machine is the one the line is for
         * (kernel_platform_probe()). */
        if (text)
                kernel_config_parse_n(text, size, arch, k.version, &k.config);
        else
                kernel_config_defaults(arch, k.version, &k.config);

        *ret = k;
        k = (KernelInfo) {};
        return 0;
}

int kernel_info_for_entry(const Root *root, Arch arch, const char *version, KernelInfo *ret) {
        /* A version that names no file (a path, dot-dot) is read as a release only: no configuration. */
        return kernel_info_load(root, arch, version, NULL, ret);
}

unsigned kernel_config_places(const Root *root) {
        static const char * const dirs[] = { "/boot", "/usr/lib/modules", "/lib/modules" };
        unsigned m = 0;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (root_exists(root, dirs[i]))
                        m |= 1U << i;
        return m;
}

int kernel_info_for_entry_in(const Root *root, unsigned places, Arch arch, const char *version, KernelInfo *ret) {
        _cleanup_(kernel_info_done) KernelInfo k = {};

        if (places != 0 || !version)
                return kernel_info_for_entry(root, arch, version, ret);
        /* What kernel_info_load() gives for a release whose configuration is nowhere to be found. */
        kernel_info_default(arch, &k);
        k.release = strdup(version);
        if (!k.release)
                return -ENOMEM;
        k.release_source = "--kernel";
        if (kernel_release_parse(k.release, &k.version) < 0)
                k.version = KERNEL_VERSION_NEWEST;
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
        const char *no_iommu_reason;
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
                /* Name the option the build really has: Debian's choice is _DEFAULT_ON_INTGPU_OFF. */
                s->driver_reason = c->intel_iommu == 0 ? "this kernel is built without CONFIG_INTEL_IOMMU"
                                   : !k->config_source ? "VT-d is on by default only where the build sets CONFIG_INTEL_IOMMU_DEFAULT_ON "
                                                         "(or Debian's CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF), and no build "
                                                         "configuration was read"
                                   : c->intel_default_on == 0 ? "VT-d is off by default in this build (neither CONFIG_INTEL_IOMMU_DEFAULT_ON "
                                                                "nor CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF)"
                                   : c->intel_intgpu_off == 1 ? "VT-d is on by default in this build (Debian's "
                                                                "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF: on, integrated graphics left out)"
                                   : "VT-d is on by default in this build (CONFIG_INTEL_IOMMU_DEFAULT_ON)";
                break;
        }
        s->passthrough = c->default_passthrough == 1;
        s->domain_reason = s->passthrough ? "the build default (CONFIG_IOMMU_DEFAULT_PASSTHROUGH)"
                                          : !k->config_source ? "mainline's default (translated; no build configuration read)"
                                          : "the build default (translated: no CONFIG_IOMMU_DEFAULT_PASSTHROUGH)";
        if (c->default_strict >= 0 && kernel_fact_holds(KERNEL_FACT_DMA_MODE_CONFIG, k->version)) {
                s->strict = c->default_strict;
                s->strict_reason = !k->config_source ? (c->default_strict ? "mainline's default on this architecture (strict; no build configuration read)"
                                                                          : "mainline's default on this architecture (lazy; no build configuration read)")
                                   : c->default_strict ? "the build default (CONFIG_IOMMU_DEFAULT_DMA_STRICT)"
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
                        s->no_iommu_reason = "iommu=off";
                        facets |= FACET_DRIVER;
                }
                /* Before 5.19 iommu=soft set swiotlb and no_iommu-like detection off: pci_iommu_alloc()
                 * skipped every IOMMU's detect routine (arch/x86/kernel/pci-dma.c; gone with commit
                 * 78013eaadf69 "x86: remove the IOMMU table infrastructure", 5.19). Measured: 5.10, no groups. */
                if (list_has(t->value, "soft", true) && !kernel_fact_holds(KERNEL_FACT_X86_SOFT_ONLY_SWIOTLB, k->version)) {
                        s->no_iommu = true;
                        s->no_iommu_reason = "iommu=soft (before 5.19 it turns hardware IOMMU detection off)";
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

        /* The IOMMU decides on its own (drivers/iommu/intel/iommu.c: cap_caching_mode() ->
         * iommu_set_dma_strict(); drivers/iommu/amd/init.c: NpCache -> strict): measured on 5.10, 6.12, 7.3. */
        if (vendor == VENDOR_INTEL && k->platform.fact[PLATFORM_VTD_CACHING_MODE] == 1) {
                strict = 1;
                if (strict_reason)
                        *strict_reason = "VT-d caching mode (a virtual IOMMU): the kernel forces strict "
                                         "(\"IOMMU batching disallowed due to virtualization\"), whatever the command line";
        } else if (vendor == VENDOR_AMD && k->platform.fact[PLATFORM_AMD_NPCACHE] == 1 &&
                   kernel_fact_holds(KERNEL_FACT_AMD_VM_STRICT, k->version)) {
                strict = 1;
                if (strict_reason)
                        *strict_reason = "AMD-Vi NpCache (a virtual IOMMU): the kernel forces strict "
                                         "(\"Using strict mode due to virtualization\"), whatever the command line";
        } else if (strict_reason)
                *strict_reason = s->strict_reason;
        /* The vendor drivers check no_iommu first (intel_iommu_init(), amd_iommu_detect()). On AMD the
         * driver also owns interrupt remapping: off with it (measured); VT-d keeps DMAR-IR. */
        if (!s->driver_on || s->no_iommu) {
                *e = (Effect) { .groups = false, .domain = DOMAIN_NONE, .strict = -1,
                                .intremap = vendor == VENDOR_AMD ? 0 : s->intremap };
                if (reason)
                        *reason = s->no_iommu ? s->no_iommu_reason : s->driver_reason;
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
                const ParamValue *pv = param_lookup_value_for_build(info, *item, k->arch, k->version,
                                                                    kernel_config_build_flags(&k->config), &buf);
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
        /* Without the driver nothing else on the line matters. */
        if ((facets & FACET_DRIVER) || !s.driver_on)
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
                if (effect_equal(&alone, &none)) {
                        State d;

                        state_defaults(k, vendor, &d);
                        if (!d.driver_on && !(facets & FACET_DRIVER))
                                return set_why(tp, "%s changes nothing: %s, so there are no IOMMU groups whatever the line",
                                               t->text, d.driver_reason);
                        /* A default the model assumed for want of a build configuration is no proof. */
                        tp->depends_on_build = !k->config_source;
                        if (tp->depends_on_build)
                                return set_why(tp, "%s: whether it is needed depends on the build: %s", t->text,
                                               build_default_why(k, vendor, facets));
                        return set_why(tp, "%s is already what this kernel does by default: %s", t->text, build_default_why(k, vendor, facets));
                }
                return set_why(tp, "%s changes nothing: other tokens on the line already do the same", t->text);
        }
}

/* Tokens that each change nothing may still matter together (amd_iommu=off iommu=off: either one
 * alone turns AMD-Vi off). Going through the line in order, a token stays inert only if dropping it
 * along with every inert token before it keeps the line's effect; otherwise it is the one to keep. */
static int settle_inert(const KernelInfo *k, Vendor vendor, const Cmdline *c, const Effect *full, KernelPrediction *p) {
        _cleanup_free_ bool *drop = calloc(c->n_tokens ?: 1, sizeof(bool));

        if (!drop)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_tokens; i++) {
                TokenPrediction *tp = &p->tokens[i];
                const char *other = NULL;
                Effect e;
                State s;

                if (!token_effect_is_inert(tp->effect))
                        continue;
                drop[tp->index] = true;
                if (tp->effect != TOKEN_REDUNDANT && tp->effect != TOKEN_OVERRIDDEN)
                        continue;
                state_defaults(k, vendor, &s);
                for (size_t j = 0; j < c->n_tokens; j++)
                        if (!drop[j])
                                (void) state_apply(&s, k, vendor, &c->tokens[j]);
                state_effect(&s, k, vendor, &e, NULL, NULL);
                if (effect_equal(&e, full))
                        continue;
                drop[tp->index] = false;
                for (size_t j = 0; j < i; j++)
                        if (p->tokens[j].effect == TOKEN_REDUNDANT || p->tokens[j].effect == TOKEN_OVERRIDDEN)
                                other = c->tokens[p->tokens[j].index].text;
                free(tp->why);
                tp->why = NULL;
                tp->effect = TOKEN_EFFECTIVE;
                tp->depends_on_build = false;
                if (set_why(tp, "%s does what %s does; keep one of them (this one: without both the kernel would do something else)",
                            c->tokens[tp->index].text, other ?: "another token") < 0)
                        return -ENOMEM;
        }
        return 0;
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
        p.driver_not_built = k->config_source &&
                             (vendor == VENDOR_AMD ? k->config.amd_iommu == 0 : vendor == VENDOR_INTEL ? k->config.intel_iommu == 0 : false);

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
        if (tokens) {
                r = settle_inert(k, vendor, c, &e, &p);
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
