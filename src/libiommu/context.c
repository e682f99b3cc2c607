/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "cmdline.h"
#include "context.h"
#include "fileio.h"
#include "intent.h"
#include "log.h"
#include "macro.h"
#include "plan.h"
#include "strv.h"

int context_load_node(const ContextOptions *o, Context *ret) {
        _cleanup_(context_done) Context c = { .root = o->root };
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
                                       "(see 'iommuctl profiles').", root_prefix(c.root), CONFIG_FILE);
        r = profile_load(c.root, name, &c.profile);
        if (r < 0)
                return r;

        vendor = o->vendor >= 0 ? o->vendor : c.config.vendor;
        r = host_probe(c.root, o->arch, vendor, &c.host);
        if (r < 0)
                return log_error_errno(r, "Failed to probe the host under %s: %m", c.root->path);
        if (o->vendor < 0 && c.config.vendor >= 0)
                c.host.vendor_source = "Vendor= in iommu.conf";
        if (o->need_vendor && c.host.vendor < 0)
                return log_error_errno(-ENXIO, "Cannot tell this host's IOMMU (%s under %s): pass --vendor intel, amd, arm64 "
                                       "or portable.", c.host.vendor_source, c.root->path);
        c.args_vendor = host_args_vendor(&c.host);

        *ret = c;
        c = (Context) {};
        return 0;
}

int context_load_kernel(const ContextOptions *o, Context *c) {
        int r;

        kernel_info_done(&c->kernel);
        r = kernel_info_load(c->root, c->host.arch, o->kernel_release, o->kernel_config, &c->kernel);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Failed to read the kernel's build configuration %s: %m", o->kernel_config ?: "");
        /* An image with no running kernel: the kernels it ships, so the tokens work on each. */
        if (!o->kernel_release && !o->kernel_config) {
                r = kernel_info_load_image(c->root, &c->kernel);
                if (r < 0)
                        return log_oom();
        }
        /* The node's own facts (caching mode, NpCache, SNP...): the root is the node the line is for. */
        r = kernel_platform_probe(c->root, c->host.arch, o->kernel_log, &c->kernel.platform);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return r; /* logged with file:line */
        return 0;
}

int context_load(const ContextOptions *o, Context *ret) {
        _cleanup_(context_done) Context c = {};
        int r;

        r = context_load_node(o, &c);
        if (r < 0)
                return r;
        r = context_load_kernel(o, &c);
        if (r < 0)
                return r;
        *ret = c;
        c = (Context) {};
        return 0;
}

int context_profile_args(const Context *c, Cmdline **ret_wanted, char ***ret_owned) {
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        int r;

        {
                _cleanup_(intent_choice_done) IntentChoice choice = {};

                /* The profile's own line, else the model's tokens for its Mode on this kernel. */
                r = intent_profile_args(c->profile, c->args_vendor, &c->kernel, &choice);
                if (r >= 0 && !choice.tokens)
                        return log_error_errno(-EOPNOTSUPP, "Profile %s: Mode=%s cannot be kept on %s: %s.%s%s%s", c->profile->name,
                                               profile_mode_to_string(c->profile->mode), vendor_to_string(c->args_vendor),
                                               choice.refusal, choice.nearest >= 0 ? " The nearest mode this kernel can give is " : "",
                                               choice.nearest >= 0 ? profile_mode_to_string(choice.nearest) : "",
                                               choice.nearest >= 0 ? "." : "");
                if (r >= 0)
                        wanted = TAKE_PTR(choice.tokens);
        }
        if (r == -ENODATA)
                return log_error_errno(r, "Profile %s has no kernel arguments for %s (%s).", c->profile->name,
                                       vendor_to_string(c->args_vendor), c->profile->path);
        if (r < 0)
                return log_error_errno(r, "Failed to get the kernel arguments of profile %s: %m", c->profile->name);
        /* [PCI] LiftACSRedirect=gpu-paths: the token plan computes from the node's PCIe tree. */
        if (c->profile->lift_acs_redirect == PROFILE_ACS_LIFT_GPU_PATHS) {
                _cleanup_(acs_lift_done) AcsLift lift = {};

                r = plan_wanted_add_acs_lift(c->root, c->profile, c->host.arch, c->host.vendor, c->host.vendor_source,
                                             c->kernel.version, wanted, &lift);
                if (r < 0)
                        return log_oom();
                if (!lift.token)
                        log_warning("Profile %s asks to lift ACS redirect on GPU paths, but there is no token: %s.",
                                    c->profile->name, lift.reason);
        }
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
