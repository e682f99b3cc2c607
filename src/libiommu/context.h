/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "fileio.h"
#include "host.h"
#include "kernel-model.h"
#include "profile.h"

/* What most verbs start from: the configuration, the selected profile and the host, all read
 * under one root prefix. */
typedef struct Context {
        const Root *root;
        Config config;
        Profile *profile;
        HostInfo host;
        Vendor args_vendor; /* the [KernelArgs] entry to use */
        KernelInfo kernel;  /* the kernel the command line is for (release, build configuration) */
} Context;

typedef struct ContextOptions {
        const Root *root;
        const char *profile; /* overrides Profile= in iommu.conf */
        Vendor vendor;       /* overrides Vendor= and detection; _VENDOR_INVALID: auto */
        Arch arch;           /* _ARCH_INVALID: detect */
        const char *kernel_release; /* NULL: ROOT/proc/sys/kernel/osrelease */
        const char *kernel_config;  /* NULL: searched under the root */
        const char *kernel_log;     /* a dmesg of the node (platform facts: caching mode, SNP); NULL: none */
        bool need_vendor;    /* fail when the vendor cannot be told */
} ContextOptions;

/* Errors are logged. context_load_node() then context_load_kernel(). */
int context_load(const ContextOptions *o, Context *ret);
/* The first part, all but the kernel: the configuration, the profile (the full loader, with its
 * lint), the host and args_vendor. */
int context_load_node(const ContextOptions *o, Context *ret);
/* The second: the kernel the line is for (release, build configuration, or the image's kernels)
 * and the node's platform facts, into c->kernel. */
int context_load_kernel(const ContextOptions *o, Context *c);
void context_done(Context *c);

/* The profile's kernel arguments for the context's vendor and, when ret_owned is not NULL, the
 * keys it owns. Errors are logged: a profile without arguments for the vendor names its file. */
int context_profile_args(const Context *c, Cmdline **ret_wanted, char ***ret_owned);
