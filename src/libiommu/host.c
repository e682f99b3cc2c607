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

int host_read_cpuinfo(const Root *root, char **ret) {
        char *s, *e;
        int r;

        r = read_root_file_until(root, "/proc/cpuinfo", 16 * 1024 * 1024, "\n\n", &s, NULL);
        if (r < 0)
                return r;
        /* The first block, with its last newline. */
        e = strstr(s, "\n\n");
        if (e)
                e[1] = '\0';
        *ret = s;
        return 0;
}

/* Whether the "flags" line of /proc/cpuinfo holds flag as a whole word. */
bool host_cpuinfo_has_flag(const char *cpuinfo, const char *flag) {
        _cleanup_free_ char *flags = cpuinfo_field(cpuinfo, "flags");
        size_t l = strlen(flag);

        for (const char *p = flags; p && (p = strstr(p, flag)); p += l)
                if ((p == flags || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\0'))
                        return true;
        return false;
}

/* DMI strings of virtual machines, matched at the start of sys_vendor or product_name (as
 * systemd's src/basic/virt.c does). */
static const struct {
        const char *prefix;
        const char *name;
} dmi_vms[] = {
        { "KVM", "kvm" },
        { "OpenStack", "kvm" },
        { "KubeVirt", "kvm" },
        { "Amazon EC2", "amazon" },
        { "QEMU", "qemu" },
        { "VMware", "vmware" },
        { "VMW", "vmware" },
        { "innotek GmbH", "oracle" },
        { "VirtualBox", "oracle" },
        { "Oracle Corporation", "oracle" },
        { "Xen", "xen" },
        { "Bochs", "bochs" },
        { "Parallels", "parallels" },
        { "BHYVE", "bhyve" },
        { "Hyper-V", "microsoft" },
        { "Google Compute Engine", "google" },
        { "Apple Virtualization", "apple" },
        { "Firecracker", "firecracker" },
};

const char *host_virtualization_from_facts(bool cpu_hypervisor_flag, const char *sys_vendor, const char *product_name,
                                           const char *hypervisor_type, bool xen_control_domain,
                                           const char **ret_evidence) {
        const char *dmi[] = { sys_vendor, product_name };
        const char *evidence = NULL, *name = NULL;

        for (size_t d = 0; !name && d < ELEMENTSOF(dmi); d++)
                for (size_t i = 0; dmi[d] && i < ELEMENTSOF(dmi_vms); i++)
                        if (startswith(dmi[d], dmi_vms[i].prefix)) {
                                name = dmi_vms[i].name;
                                evidence = d == 0 ? "DMI sys_vendor" : "DMI product_name";
                                break;
                        }
        /* Hyper-V guests: "Microsoft Corporation" / "Virtual Machine" (Surface laptops share the vendor). */
        if (!name && sys_vendor && startswith(sys_vendor, "Microsoft Corporation") && product_name &&
            startswith(product_name, "Virtual Machine")) {
                name = "microsoft";
                evidence = "DMI sys_vendor and product_name";
        }
        /* EC2 bare-metal instances say "Amazon EC2" too, but run no hypervisor. */
        if (name && streq(name, "amazon") && !cpu_hypervisor_flag)
                name = NULL;
        if (!name && hypervisor_type && startswith(hypervisor_type, "xen") && !xen_control_domain) {
                name = "xen";
                evidence = "/sys/hypervisor/type";
        }
        if (name && cpu_hypervisor_flag)
                evidence = streq(evidence, "/sys/hypervisor/type") ? "CPU hypervisor flag, /sys/hypervisor/type" :
                           streq(evidence, "DMI sys_vendor") ? "CPU hypervisor flag, DMI sys_vendor" :
                           streq(evidence, "DMI product_name") ? "CPU hypervisor flag, DMI product_name" :
                           "CPU hypervisor flag, DMI sys_vendor and product_name";
        if (!name && cpu_hypervisor_flag) {
                name = "vm";
                evidence = "CPU hypervisor flag (no DMI naming the hypervisor)";
        }
        if (ret_evidence)
                *ret_evidence = name ? evidence : NULL;
        return name;
}

int host_probe_virtualization(const Root *root, HostInfo *h) {
        _cleanup_free_ char *cpuinfo = NULL, *vendor = NULL, *product = NULL, *type = NULL, *caps = NULL;
        int r;

        r = host_read_cpuinfo(root, &cpuinfo);
        if (r < 0 && r != -ENOENT)
                return r;
        (void) read_root_file(root, "/sys/class/dmi/id/sys_vendor", 4096, &vendor, NULL);
        (void) read_root_file(root, "/sys/class/dmi/id/product_name", 4096, &product, NULL);
        (void) read_root_file(root, "/sys/hypervisor/type", 4096, &type, NULL);
        (void) read_root_file(root, "/proc/xen/capabilities", 4096, &caps, NULL);
        h->virtualization = host_virtualization_from_facts(cpuinfo && host_cpuinfo_has_flag(cpuinfo, "hypervisor"),
                                                           vendor ? strstrip(vendor) : NULL,
                                                           product ? strstrip(product) : NULL,
                                                           type ? strstrip(type) : NULL,
                                                           caps && strstr(caps, "control_d"),
                                                           &h->virtualization_evidence);
        return 0;
}

int host_probe(const Root *root, Arch arch_override, Vendor vendor_override, HostInfo *ret) {
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

        r = host_read_cpuinfo(root, &cpuinfo);
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

int host_read_cmdline(const Root *root, char **ret) {
        char *s;
        int r;

        r = read_root_file(root, "/proc/cmdline", 64 * 1024, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = '\0';
        *ret = s;
        return 0;
}
