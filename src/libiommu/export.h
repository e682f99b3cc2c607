/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "kernel-model.h"
#include "params.h"

/* A profile's tokens in the formats fleet tooling consumes, so one profile drives every way a node
 * gets its command line: OpenShift's Machine Config Operator, bootc/ostree images, dracut and
 * kernel-install. Pure formatting: the caller picks the profile and vendor. */

typedef enum ExportFormat {
        EXPORT_MACHINECONFIG,   /* machineconfiguration.openshift.io/v1 MachineConfig (YAML) */
        EXPORT_BOOTC,           /* /usr/lib/bootc/kargs.d/ TOML */
        EXPORT_DRACUT,          /* /etc/dracut.conf.d/ kernel_cmdline+= line */
        EXPORT_KERNEL_CMDLINE,  /* the line for /etc/kernel/cmdline */
        EXPORT_BUTANE,          /* Butane fcos config: kernel_arguments.should_exist / should_not_exist (YAML) */
        EXPORT_TALOS,           /* Talos Image Factory schematic: customization.extraKernelArgs (YAML) */
        _EXPORT_FORMAT_MAX,
        _EXPORT_FORMAT_INVALID = -EINVAL,
} ExportFormat;

const char *export_format_to_string(ExportFormat f);
ExportFormat export_format_from_string(const char *s);
/* Where the output belongs on the target system ("" for MachineConfig, Butane and Talos: they go to
 * the cluster, the transpiler or the Image Factory; the kargs.d directory for bootc). */
const char *export_format_destination(ExportFormat f);
/* "/usr/lib/bootc/kargs.d/50-iommuctl-x86_64.toml": one file per architecture, each with its
 * match-architectures, is the shape that stays right when one image is built for several. */
const char *export_bootc_destination(Arch arch);

/* The Butane spec version written: the newest fcos spec every Butane release since 0.23 accepts
 * as stable (kernel_arguments exists since fcos 1.3.0). */
#define EXPORT_BUTANE_VERSION "1.6.0"

typedef struct ExportInput {
        const char *profile; /* profile name */
        Vendor vendor;       /* the vendor whose tokens args holds */
        const Cmdline *args; /* the tokens */
        const char *role;    /* MachineConfigPool role; MachineConfig only */
        /* Butane should_not_exist and Talos "-token": what the node must not keep
         * (export_conflicting_tokens()); NULL: nothing. Never a token of args. */
        const Cmdline *remove;
        /* bootc with VENDOR_PORTABLE: the arm64 tokens, written as a second file for aarch64; NULL: none. */
        const Cmdline *aarch64_args;
} ExportInput;

/* The IOMMU tokens a node that should get wanted (vendor's tokens) must not keep, derived from the
 * parameter table and the kernel model, never listed by hand: every value of an owned key
 * (owned: the keys the profile owns) the table calls ignored or rejected where it names what was
 * meant instead (amd_iommu=on, iommu=strict, iommu=on), every token of an owned key that does not
 * exist on the vendor's architecture, and every known value of an owned key and every token of
 * candidates (the other profiles' lines) that, appended after wanted, changes what the kernel does
 * (groups, domain type, strictness; for VENDOR_PORTABLE on Intel or AMD). The kernel is the newest
 * the model knows, so the result does not depend on the build host. No token of wanted is in the
 * result, and none twice. Pure; only -ENOMEM fails. */
int export_conflicting_tokens(const Cmdline *wanted, Vendor vendor, char * const *owned, const Cmdline *candidates,
                              Cmdline **ret);

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
