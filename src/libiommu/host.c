/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fileio.h"
#include "host.h"

#define ACPI_DMAR "/sys/firmware/acpi/tables/DMAR"
#define ACPI_IVRS "/sys/firmware/acpi/tables/IVRS"

/* Returns a copy of the value of the first "key : value" line of /proc/cpuinfo. */
static char *cpuinfo_field(const char *cpuinfo, const char *key) {
        size_t l = strlen(key);

        for (const char *p = cpuinfo; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                const char *v;
                if (!strneq(p, key, l) || (p[l] != ' ' && p[l] != '\t' && p[l] != ':'))
                        continue;
                v = strchr(p, ':');
                if (!v)
                        continue;
                v++;
                v += strspn(v, " \t");
                return strndup(v, strcspn(v, "\n"));
        }
        return NULL;
}

int host_probe(const char *root, Arch arch_override, Vendor vendor_override, HostInfo *ret) {
        _cleanup_free_ char *cpuinfo = NULL;
        HostInfo h = {
                .arch = arch_override,
                .arch_source = "--arch",
                .vendor = vendor_override,
                .vendor_source = "--vendor",
        };
        _cleanup_free_ char *implementer = NULL;
        int r;

        h.has_dmar = root_exists(root, ACPI_DMAR);
        h.has_ivrs = root_exists(root, ACPI_IVRS);

        r = read_root_file(root, "/proc/cpuinfo", 16 * 1024 * 1024, &cpuinfo, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        if (cpuinfo) {
                h.cpu_vendor_id = cpuinfo_field(cpuinfo, "vendor_id");
                implementer = cpuinfo_field(cpuinfo, "CPU implementer");
        }

        if (h.arch < 0) {
                if (h.cpu_vendor_id) {
                        h.arch = ARCH_X86_64;
                        h.arch_source = "proc/cpuinfo";
                } else if (implementer) {
                        h.arch = ARCH_AARCH64;
                        h.arch_source = "proc/cpuinfo";
                } else if (vendor_override == VENDOR_ARM64 || vendor_override == VENDOR_INTEL || vendor_override == VENDOR_AMD) {
                        h.arch = vendor_arch(vendor_override);
                        h.arch_source = "--vendor";
                } else {
                        h.arch = arch_native();
                        h.arch_source = "uname";
                }
        }

        if (h.vendor < 0) {
                if (h.arch == ARCH_AARCH64) {
                        h.vendor = VENDOR_ARM64;
                        h.vendor_source = "arm64 architecture";
                } else if (h.has_dmar) {
                        h.vendor = VENDOR_INTEL;
                        h.vendor_source = "ACPI DMAR table present";
                } else if (h.has_ivrs) {
                        h.vendor = VENDOR_AMD;
                        h.vendor_source = "ACPI IVRS table present";
                } else if (h.cpu_vendor_id && streq(h.cpu_vendor_id, "GenuineIntel")) {
                        h.vendor = VENDOR_INTEL;
                        h.vendor_source = "CPU vendor GenuineIntel (no ACPI DMAR/IVRS table)";
                } else if (h.cpu_vendor_id && (streq(h.cpu_vendor_id, "AuthenticAMD") || streq(h.cpu_vendor_id, "HygonGenuine"))) {
                        h.vendor = VENDOR_AMD;
                        h.vendor_source = "CPU vendor AuthenticAMD/HygonGenuine (no ACPI DMAR/IVRS table)";
                } else
                        h.vendor_source = "no ACPI DMAR/IVRS table and no CPU vendor under the root";
        }
        *ret = h;
        return 0;
}

void host_info_done(HostInfo *h) {
        free(h->cpu_vendor_id);
        *h = (HostInfo) {};
}

Vendor host_args_vendor(const HostInfo *h) {
        if (h->vendor == VENDOR_PORTABLE && h->arch == ARCH_AARCH64)
                return VENDOR_ARM64;
        return h->vendor;
}

int host_read_cmdline(const char *root, char **ret) {
        char *s;
        int r;

        r = read_root_file(root, "/proc/cmdline", 64 * 1024, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = '\0';
        *ret = s;
        return 0;
}
