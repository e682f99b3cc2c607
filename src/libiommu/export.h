/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "params.h"

/* A profile's tokens in the formats fleet tooling consumes, so one profile drives every way a node
 * gets its command line: OpenShift's Machine Config Operator, bootc/ostree images, dracut and
 * kernel-install. Pure formatting: the caller picks the profile and vendor. */

typedef enum ExportFormat {
        EXPORT_MACHINECONFIG,   /* machineconfiguration.openshift.io/v1 MachineConfig (YAML) */
        EXPORT_BOOTC,           /* /usr/lib/bootc/kargs.d/ TOML */
        EXPORT_DRACUT,          /* /etc/dracut.conf.d/ kernel_cmdline+= line */
        EXPORT_KERNEL_CMDLINE,  /* the line for /etc/kernel/cmdline */
        _EXPORT_FORMAT_MAX,
        _EXPORT_FORMAT_INVALID = -EINVAL,
} ExportFormat;

const char *export_format_to_string(ExportFormat f);
ExportFormat export_format_from_string(const char *s);
/* Where the output belongs on the target system ("" for MachineConfig: it goes to the cluster). */
const char *export_format_destination(ExportFormat f);

typedef struct ExportInput {
        const char *profile; /* profile name */
        Vendor vendor;       /* the vendor whose tokens args holds */
        const Cmdline *args; /* the tokens */
        const char *role;    /* MachineConfigPool role; MachineConfig only */
} ExportInput;

/* "99-<role>-iommu-<profile>-<vendor>": the role is part of the name because MachineConfigs are
 * cluster-wide objects, so the same profile exported for two pools must not collide; "99-" sorts
 * it after the MachineConfigs OpenShift renders itself. -EINVAL when the result is not a valid
 * object name (profile names may hold capitals or '_', which Kubernetes names may not). */
int export_machineconfig_name(const char *role, const char *profile, Vendor vendor, char **ret);

/* A string as a double-quoted YAML and TOML scalar (the escapes used are valid in both). */
char *export_quote(const char *s);

/* Writes the format to f. Problems with the input (no role, names Kubernetes refuses, tokens
 * outside the safe set) are logged and returned as -EINVAL. */
int export_write(ExportFormat format, const ExportInput *in, FILE *f);
