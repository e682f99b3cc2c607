/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drift.h"
#include "fileio.h"
#include "host.h"
#include "intent.h"
#include "kernel-model.h"
#include "log.h"
#include "profile.h"
#include "strv.h"

static const char * const drift_armed_names[_DRIFT_ARMED_MAX] = {
        [DRIFT_ARMED_NO_PROFILE] = "no-profile",
        [DRIFT_ARMED_NOT_APPLIED] = "not-applied",
        [DRIFT_ARMED_OTHER_PROFILE] = "other-profile",
        [DRIFT_ARMED_APPLIED] = "applied",
        [DRIFT_ARMED_AUTOMATIC] = "automatic",
};

const char *drift_armed_to_string(DriftArmed a) {
        return STRING_TABLE_TO_STRING(drift_armed_names, a);
}

static const char * const drift_decision_names[_DRIFT_DECISION_MAX] = {
        [DRIFT_SKIP_INITRD] = "initrd",
        [DRIFT_SKIP_SWITCH] = "switched-off",
        [DRIFT_SKIP_DISABLED] = "disabled",
        [DRIFT_SKIP_NO_PROFILE] = "no-profile",
        [DRIFT_SKIP_NOT_ARMED] = "not-armed",
        [DRIFT_SKIP_NO_ARGS] = "no-args",
        [DRIFT_IN_SYNC] = "in-sync",
        [DRIFT_SAME_EFFECT] = "same-effect",
        [DRIFT_START_APPLY] = "start-apply",
};

const char *drift_decision_to_string(DriftDecision d) {
        return STRING_TABLE_TO_STRING(drift_decision_names, d);
}

int drift_record_contents(const char *profile, char **ret) {
        char *s;

        /* One line, the profile's name, like the reboot stamp: no format to parse. */
        if (asprintf(&s, "%s\n", profile) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int drift_record_read(const Root *root, char **ret_profile) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_root_file(root, DRIFT_RECORD_FILE, 4096, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (isempty(text))
                return -ENOENT;
        *ret_profile = TAKE_PTR(text);
        return 0;
}

DriftArmed drift_armed(const Config *config, const char *recorded) {
        if (!config->profile)
                return DRIFT_ARMED_NO_PROFILE;
        if (config->automatic)
                return DRIFT_ARMED_AUTOMATIC;
        if (!recorded)
                return DRIFT_ARMED_NOT_APPLIED;
        return streq(recorded, config->profile) ? DRIFT_ARMED_APPLIED : DRIFT_ARMED_OTHER_PROFILE;
}

int drift_armed_under(const Root *root, const Config *config, DriftArmed *ret, char **ret_recorded) {
        _cleanup_free_ char *recorded = NULL;
        int r;

        r = drift_record_read(root, &recorded);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = drift_armed(config, recorded);
        if (ret_recorded)
                *ret_recorded = TAKE_PTR(recorded);
        return 0;
}

int drift_armed_describe(DriftArmed a, const char *configured, const char *recorded, char **ret) {
        int r = -1;

        switch (a) {
        case DRIFT_ARMED_NO_PROFILE:
                r = asprintf(ret, "not armed: no profile is configured");
                break;
        case DRIFT_ARMED_NOT_APPLIED:
                r = asprintf(ret, "not armed: profile %s was never applied on this node (run 'iommuctl apply', or set "
                             "Automatic=yes in [Apply])", configured);
                break;
        case DRIFT_ARMED_OTHER_PROFILE:
                r = asprintf(ret, "not armed: this node applied profile %s, not %s (run 'iommuctl apply' to switch)",
                             recorded, configured);
                break;
        case DRIFT_ARMED_APPLIED:
                r = asprintf(ret, "armed: profile %s was applied on this node (%s)", configured, DRIFT_RECORD_FILE);
                break;
        case DRIFT_ARMED_AUTOMATIC:
                r = asprintf(ret, "armed: Automatic=yes in [Apply]");
                break;
        default:
                return -EINVAL;
        }
        return r < 0 ? -ENOMEM : 0;
}

DriftDecision drift_decide_sync(DriftArmed armed, SyncState sync) {
        if (armed == DRIFT_ARMED_NO_PROFILE)
                return DRIFT_SKIP_NO_PROFILE;
        if (!drift_is_armed(armed))
                return DRIFT_SKIP_NOT_ARMED;
        /* Drift is a different predicted effect, not a different token order: another writer's
         * order, or an extra token that changes nothing, never starts the apply service. */
        return sync == SYNC_IN_SYNC ? DRIFT_IN_SYNC : sync == SYNC_SAME_EFFECT ? DRIFT_SAME_EFFECT : DRIFT_START_APPLY;
}

void drift_result_done(DriftResult *r) {
        free(r->profile);
        free(r->recorded);
        free(r->wanted);
        free(r->switch_value);
        *r = (DriftResult) {};
}

static int done(DriftResult *res, DriftDecision d, DriftResult *ret) {
        res->decision = d;
        *ret = *res;
        *res = (DriftResult) {};
        return 0;
}

/* [PCI] LiftACSRedirect=gpu-paths: the token plan and apply add, for the running kernel (kernel
 * NULL: the release the node reports; the spelling changes at 6.11). */
static int drift_add_acs_lift(const Root *root, const Profile *profile, const HostInfo *host, const KernelInfo *kernel,
                              Cmdline *wanted) {
        if (profile->lift_acs_redirect != PROFILE_ACS_LIFT_GPU_PATHS)
                return 0;
        return plan_wanted_add_acs_lift(root, profile, host->arch, host->vendor, host->vendor_source,
                                        kernel ? kernel->version : 0, wanted, NULL);
}

void drift_line_done(DriftLine *l) {
        cmdline_free(l->wanted);
        strv_free(l->owned);
        *l = (DriftLine) {};
}

int drift_line_for(const Root *root, const Profile *profile, const HostInfo *host, Vendor vendor, DriftLine *ret) {
        _cleanup_(drift_line_done) DriftLine l = {};
        int r;

        r = profile_kernel_args(profile, vendor, &l.wanted);
        if (r < 0)
                return r;
        /* Most profiles write only keys of the static list: no copy of it. */
        if (profile_owned_keys_are_static(profile))
                l.owned_keys = iommu_owned_keys;
        else {
                r = profile_owned_keys(profile, &l.owned);
                if (r < 0)
                        return r;
                l.owned_keys = l.owned;
        }
        r = drift_add_acs_lift(root, profile, host, NULL, l.wanted);
        if (r < 0)
                return r;
        *ret = l;
        l = (DriftLine) {};
        return 0;
}

int drift_plan_in_sync(const ContextOptions *o, const Context *c, const char *current) {
        _cleanup_(drift_line_done) DriftLine line = {};
        _cleanup_cmdline_ Cmdline *cur = NULL;
        const Profile *p = c->profile;
        Vendor vendor = c->args_vendor;
        KernelPlatform platform;

        /* Another kernel than the node's, a kernel log, or no line to judge: the full plan. */
        if (!current || o->kernel_release || o->kernel_config || o->kernel_log)
                return 0;
        /* Only the profile's own line is the same on every kernel: for a Mode alone the model
         * chooses the tokens for the kernel, and the ACS lift's token is spelt for it. */
        if (vendor < 0 || vendor >= _VENDOR_MAX || !p->args[vendor].set || p->lift_acs_redirect != PROFILE_ACS_KEEP)
                return 0;
        /* The full plan refuses to judge a line with an unterminated quote. */
        if (cmdline_parse(current, &cur) < 0 || cmdline_find_unterminated(cur))
                return 0;
        if (drift_line_for(c->root, p, &c->host, vendor, &line) < 0 || !drift_line_carried(&line, cur))
                return 0;

        /* In sync, unless the full plan fails on what it reads next: the node's platform facts (a
         * broken PLATFORM_OVERRIDE_FILE), or a conflict that refuses the mode on this node's kernel
         * (a build without the vendor's driver), whose build configuration is read only where a
         * conflict could refuse. */
        if (kernel_platform_probe(c->root, c->host.arch, NULL, &platform) < 0)
                return 0;
        if (intent_conflicts_may_refuse(p->mode, vendor)) {
                _cleanup_(kernel_info_done) KernelInfo k = {};
                _cleanup_(intent_conflicts_done) IntentConflicts conflicts = {};

                /* What context_load_kernel() reads without --kernel-release or --kernel-config. */
                if (kernel_info_load(c->root, c->host.arch, NULL, NULL, &k) < 0 || kernel_info_load_image(c->root, &k) < 0)
                        return 0;
                k.platform = platform;
                if (intent_conflicts(p->mode, vendor, &k, &conflicts) < 0)
                        return 0;
                for (size_t i = 0; i < conflicts.n; i++)
                        if (conflicts.items[i].refuse)
                                return 0;
        }
        return 1;
}

int drift_decide(const Root *root, bool in_initrd, DriftResult *ret) {
        _cleanup_(drift_result_done) DriftResult res = {};
        _cleanup_free_ char *proc_cmdline = NULL;
        _cleanup_cmdline_ Cmdline *current = NULL;
        _cleanup_(drift_line_done) DriftLine line = {};
        _cleanup_profile_ Profile *profile = NULL;
        _cleanup_(config_done) Config config = {};
        _cleanup_(host_info_done) HostInfo host = {};
        _cleanup_(kernel_info_done) KernelInfo kernel = {};
        const CmdlineToken *t;
        SyncState sync;
        Vendor vendor;
        int r;

        /* The host's configuration and /boot are not there yet in the initrd. */
        if (in_initrd)
                return done(&res, DRIFT_SKIP_INITRD, ret);

        r = host_read_cmdline(root, &proc_cmdline);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s/proc/cmdline, not checking the IOMMU command line: %m",
                                         root_prefix(root));
        r = cmdline_parse(proc_cmdline, &current);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the kernel command line: %m");
        t = cmdline_find_last(current, DRIFT_SWITCH);
        if (t && t->value && parse_kernel_bool(t->value) == 0) {
                res.switch_value = strdup(t->value);
                return done(&res, DRIFT_SKIP_SWITCH, ret);
        }

        /* A missing iommu.conf or Profile= is the normal state of a host that does not use this. A
         * broken file was already logged with file:line. */
        r = config_load(root, &config);
        if (r < 0)
                return r;
        if (!config.generator)
                return done(&res, DRIFT_SKIP_DISABLED, ret);
        r = drift_armed_under(root, &config, &res.armed, &res.recorded);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s: %m", DRIFT_RECORD_FILE);
        if (config.profile && !(res.profile = strdup(config.profile)))
                return log_oom();
        if (res.armed == DRIFT_ARMED_NO_PROFILE)
                return done(&res, DRIFT_SKIP_NO_PROFILE, ret);
        /* Never applied here: a configuration pushed to the fleet waits for this node's apply. */
        if (!drift_is_armed(res.armed))
                return done(&res, DRIFT_SKIP_NOT_ARMED, ret);

        /* Not linted here: "iommuctl lint" and apply did that; the boot only needs the tokens. */
        r = profile_load_boot(root, config.profile, &profile);
        if (r < 0)
                return log_warning_errno(r, "Cannot load profile %s.", config.profile);

        /* Vendor= wins; otherwise the ACPI tables and the CPU tell. */
        r = host_probe(root, _ARCH_INVALID, config.vendor, &host);
        if (r < 0)
                return log_warning_errno(r, "Failed to probe the host: %m");
        vendor = host_args_vendor(&host);
        if (vendor < 0)
                return log_warning_errno(-ENXIO, "Cannot tell this host's IOMMU (%s); set Vendor= in %s.",
                                         host.vendor_source, CONFIG_FILE);
        r = drift_line_for(root, profile, &host, vendor, &line);
        if (r == -ENODATA) {
                log_warning("Profile %s has no kernel arguments for %s (%s); nothing to check.",
                            profile->name, vendor_to_string(vendor), profile->path);
                return done(&res, DRIFT_SKIP_NO_ARGS, ret);
        }
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the kernel arguments of profile %s: %m", profile->name);
        res.wanted = cmdline_to_string(line.wanted);
        if (!res.wanted)
                return log_oom();

        /* The line apply writes: in sync on any kernel, without reading its build configuration. */
        if (drift_line_carried(&line, current))
                return done(&res, drift_decide_sync(res.armed, SYNC_IN_SYNC), ret);
        r = kernel_info_load(root, host.arch, NULL, NULL, &kernel);
        if (r < 0)
                return log_warning_errno(r, "Failed to read the running kernel's release and configuration: %m");
        /* A profile that declares only its Mode gets the tokens the model chooses for this kernel
         * (intel_iommu=strict before 5.15...): what apply writes for it. */
        if (!profile->args[vendor].set) {
                _cleanup_(intent_choice_done) IntentChoice choice = {};

                r = intent_profile_args(profile, vendor, &kernel, &choice);
                if (r < 0 && r != -ENODATA)
                        return log_oom();
                if (r >= 0 && choice.tokens) {
                        cmdline_free(line.wanted);
                        line.wanted = TAKE_PTR(choice.tokens);
                        if (drift_add_acs_lift(root, profile, &host, &kernel, line.wanted) < 0)
                                return log_oom();
                        free(res.wanted);
                        res.wanted = cmdline_to_string(line.wanted);
                        if (!res.wanted)
                                return log_oom();
                        if (drift_line_carried(&line, current))
                                return done(&res, drift_decide_sync(res.armed, SYNC_IN_SYNC), ret);
                }
        }
        r = plan_sync_state(&kernel, vendor, current, line.owned_keys, line.wanted, &sync);
        if (r < 0)
                return log_oom();
        return done(&res, drift_decide_sync(res.armed, sync), ret);
}
