/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "params.h"

/* What plan needs to know about the host (or image) under a root prefix. */
typedef struct HostInfo {
        Arch arch;
        const char *arch_source;   /* "--arch", "proc/cpuinfo" or "uname" */
        Vendor vendor;             /* _VENDOR_INVALID when it cannot be told */
        const char *vendor_source; /* what decided it, for people */
        bool has_dmar, has_ivrs;   /* ACPI tables present (readable or not) */
        char *cpu_vendor_id;       /* /proc/cpuinfo vendor_id, if any */
} HostInfo;

/* arch_override/vendor_override: _ARCH_INVALID/_VENDOR_INVALID for "detect". Never fails for a
 * missing vendor: callers that need one check host->vendor and say what to pass. */
int host_probe(const char *root, Arch arch_override, Vendor vendor_override, HostInfo *ret);
void host_info_done(HostInfo *h);

/* The [KernelArgs] entry a profile is read with on this host: "portable" on arm64 means ARM64. */
Vendor host_args_vendor(const HostInfo *h);

/* ROOT/proc/cmdline with its newline removed; -ENOENT for offline roots. */
int host_read_cmdline(const char *root, char **ret);
