/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "fileio.h"
#include "params.h"

/* What plan needs to know about the host (or image) under a root prefix. */
typedef struct HostInfo {
        Arch arch;
        const char *arch_source;   /* "--arch", "proc/cpuinfo" or "uname" */
        Vendor vendor;             /* _VENDOR_INVALID when it cannot be told */
        const char *vendor_source; /* what decided it, for people */
        bool has_dmar, has_ivrs;   /* ACPI tables present (readable or not) */
        char *cpu_vendor_id;       /* /proc/cpuinfo vendor_id, if any */
        const char *virtualization;          /* "kvm", "vmware"... when a virtual machine; NULL otherwise */
        const char *virtualization_evidence; /* what said so, for people */
} HostInfo;

/* Whether the facts describe a virtual machine and which hypervisor, as systemd-detect-virt tells
 * them apart: the CPU's "hypervisor" flag (x86 guests), DMI sys_vendor/product_name (any arch),
 * /sys/hypervisor/type (Xen; dom0 excluded through xen_control_domain). NULL arguments are
 * absent facts. Returns the hypervisor's name, "vm" when only the CPU flag tells, or NULL. Pure. */
const char *host_virtualization_from_facts(bool cpu_hypervisor_flag, const char *sys_vendor, const char *product_name,
                                           const char *hypervisor_type, bool xen_control_domain,
                                           const char **ret_evidence);

/* arch_override/vendor_override: _ARCH_INVALID/_VENDOR_INVALID for "detect". Never fails for a
 * missing vendor: callers that need one check host->vendor and say what to pass. */
int host_probe(const Root *root, Arch arch_override, Vendor vendor_override, HostInfo *ret);
void host_info_done(HostInfo *h);
/* Fills h->virtualization from ROOT/proc/cpuinfo, ROOT/sys/class/dmi/id and ROOT/sys/hypervisor.
 * Separate from host_probe(), which the generator runs at every boot and which needs none of it. */
int host_probe_virtualization(const Root *root, HostInfo *h);

/* The [KernelArgs] entry a profile is read with on this host: "portable" on arm64 means ARM64. */
Vendor host_args_vendor(const HostInfo *h);

/* The first CPU block of ROOT/proc/cpuinfo (up to its first empty line), read no further: the
 * fields read from it (vendor_id, flags, CPU implementer, CPU part) are the same for every CPU. */
int host_read_cpuinfo(const Root *root, char **ret);
/* Whether the first "flags" line of /proc/cpuinfo text holds flag as a whole word. Pure. */
bool host_cpuinfo_has_flag(const char *cpuinfo, const char *flag);

/* ROOT/proc/cmdline with its newline removed; -ENOENT for offline roots. */
int host_read_cmdline(const Root *root, char **ret);
