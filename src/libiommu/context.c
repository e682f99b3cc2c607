/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "cmdline.h"
#include "context.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

int context_load(const ContextOptions *o, Context *ret) {
        _cleanup_(context_done) Context c = { .root = o->root ?: "/" };
        const char *name;
        Vendor vendor;
        int r;

        r = config_load(c.root, &c.config);
        if (r < 0)
                return r;
        config_warn_shadowed(&c.config);

        name = o->profile ?: c.config.profile;
        if (!name)
                return log_error_errno(-EINVAL, "No profile selected: pass --profile NAME or set Profile= in [IOMMU] of %s%s "
                                       "(see 'iommuctl profiles').", root_is_host(c.root) ? "" : c.root, CONFIG_FILE);
        r = profile_load(c.root, name, &c.profile);
        if (r < 0)
                return r;

        vendor = o->vendor >= 0 ? o->vendor : c.config.vendor;
        r = host_probe(c.root, o->arch, vendor, &c.host);
        if (r < 0)
                return log_error_errno(r, "Failed to probe the host under %s: %m", c.root);
        if (o->vendor < 0 && c.config.vendor >= 0)
                c.host.vendor_source = "Vendor= in iommu.conf";
        if (o->need_vendor && c.host.vendor < 0)
                return log_error_errno(-ENXIO, "Cannot tell this host's IOMMU (%s under %s): pass --vendor intel, amd, arm64 "
                                       "or portable.", c.host.vendor_source, c.root);
        c.args_vendor = host_args_vendor(&c.host);

        r = kernel_info_load(c.root, c.host.arch, o->kernel_release, o->kernel_config, &c.kernel);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Failed to read the kernel's build configuration %s: %m", o->kernel_config ?: "");

        *ret = c;
        c = (Context) {};
        return 0;
}

int context_profile_args(const Context *c, Cmdline **ret_wanted, char ***ret_owned) {
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        int r;

        r = profile_kernel_args(c->profile, c->args_vendor, &wanted);
        if (r == -ENODATA)
                return log_error_errno(r, "Profile %s has no kernel arguments for %s (%s).", c->profile->name,
                                       vendor_to_string(c->args_vendor), c->profile->path);
        if (r < 0)
                return log_error_errno(r, "Failed to get the kernel arguments of profile %s: %m", c->profile->name);
        if (ret_owned && profile_owned_keys(c->profile, &owned) < 0)
                return log_oom();
        *ret_wanted = TAKE_PTR(wanted);
        if (ret_owned)
                *ret_owned = TAKE_PTR(owned);
        return 0;
}

void context_done(Context *c) {
        config_done(&c->config);
        profile_free(c->profile);
        host_info_done(&c->host);
        kernel_info_done(&c->kernel);
        *c = (Context) {};
}
