/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/drift.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/observe.h"
#include "libiommu/p2p.h"
#include "libiommu/plan.h"
#include "libiommu/strv.h"

/* The current command line: --cmdline, else ROOT/proc/cmdline, else none (offline image). */
static int current_cmdline(const Root *root, char **ret) {
        int r;

        if (arg.cmdline) {
                *ret = strdup(arg.cmdline);
                return *ret ? 0 : log_oom();
        }
        r = host_read_cmdline(root, ret);
        if (r == -ENOENT) {
                /* An offline image: compare with the entry it boots next (see "iommuctl status"). */
                _cleanup_free_ char *what = NULL;
                r = status_next_boot_options(root, ret, &what);
                if (r < 0)
                        return r;
                if (r > 0)
                        log_info("No %s/proc/cmdline: comparing with the entry that boots next, %s.",
                                 root_prefix(root), what);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/proc/cmdline: %m", root_prefix(root));
        return 0;
}

/* lift: filled for a profile with [PCI] LiftACSRedirect=gpu-paths (its token is in the plan).
 * in_sync_only: only whether the line is in sync is asked for (plan --check --quiet): 1, with
 * nothing in plan, when the generator's fast path tells (drift_plan_in_sync()). */
static int load_plan(Context *ctx, Plan *plan, AcsLift *lift, bool in_sync_only) {
        _cleanup_free_ char *current = NULL;
        ContextOptions o = args_context_options(true);
        int r;

        r = in_sync_only ? context_load_node(&o, ctx) : context_load(&o, ctx);
        if (r < 0)
                return r;
        r = current_cmdline(ctx->root, &current);
        if (r < 0)
                return r;
        if (in_sync_only) {
                if (drift_plan_in_sync(&o, ctx, current) > 0)
                        return 1;
                r = context_load_kernel(&o, ctx);
                if (r < 0)
                        return r;
        }
        if (ctx->profile->lift_acs_redirect == PROFILE_ACS_LIFT_GPU_PATHS) {
                r = plan_acs_lift(ctx->root, ctx->host.arch, ctx->host.vendor, ctx->host.vendor_source, ctx->kernel.version, lift);
                if (r < 0)
                        return log_oom();
        }
        return plan_compute_lifted(ctx->profile, ctx->args_vendor, &ctx->kernel, current, lift, plan);
}

static void print_acs_lift_json(JsonWriter *w, const AcsLift *l);

static void print_json(const Context *ctx, const Plan *plan, const AcsLift *lift) {
        JsonWriter w = { .f = stdout };
        _cleanup_free_ char *cur = plan->current ? cmdline_to_string(plan->current) : NULL;
        _cleanup_free_ char *res = cmdline_to_string(plan->result);
        _cleanup_free_ char *kernel = kernel_info_describe(&ctx->kernel);

        json_begin_object(&w);
        json_field_int(&w, "version", 1);
        json_key(&w, "profile");
        json_begin_object(&w);
        json_field_string(&w, "name", ctx->profile->name);
        json_field_string(&w, "path", ctx->profile->path);
        json_field_string(&w, "description", ctx->profile->description);
        json_field_string(&w, "mode", profile_mode_to_string(ctx->profile->mode));
        json_field_setting_origin(&w, "origin", &ctx->config, arg.profile ? "--profile" : NULL, "IOMMU.Profile");
        json_end_object(&w);
        json_key(&w, "host");
        json_begin_object(&w);
        json_field_string(&w, "arch", arch_to_string(ctx->host.arch));
        json_field_string(&w, "vendor", vendor_to_string(ctx->host.vendor));
        json_field_string(&w, "vendor_source", ctx->host.vendor_source);
        if (arg.vendor >= 0 || ctx->config.vendor >= 0)
                json_field_setting_origin(&w, "vendor_origin", &ctx->config, arg.vendor >= 0 ? "--vendor" : NULL, "IOMMU.Vendor");
        else
                json_field_string(&w, "vendor_origin", NULL);
        json_field_string(&w, "kernel_args_for", vendor_to_string(plan->vendor));
        json_end_object(&w);
        json_key(&w, "kernel_args");
        json_begin_array(&w);
        for (size_t i = 0; i < plan->wanted->n_tokens; i++)
                json_string(&w, plan->wanted->tokens[i].text);
        json_end_array(&w);
        json_field_string(&w, "kernel_args_source", plan->wanted_from_profile ? "profile" : "model");
        json_field_string(&w, "kernel_args_why", plan->wanted_why);
        json_field_string(&w, "kernel_args_miss_mode", plan->wanted_misses_mode);
        json_key(&w, "conflicts");
        json_begin_array(&w);
        for (size_t i = 0; i < plan->conflicts.n; i++) {
                json_begin_object(&w);
                json_field_string(&w, "id", plan->conflicts.items[i].id);
                json_field_bool(&w, "refuse", plan->conflicts.items[i].refuse);
                json_field_string(&w, "message", plan->conflicts.items[i].message);
                json_field_string(&w, "fits", plan->conflicts.items[i].fits);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_string(&w, "current", cur);
        json_field_string(&w, "planned", res);
        json_field_bool(&w, "in_sync", plan->current && plan->in_sync);
        json_field_string(&w, "sync", plan->current ? sync_state_to_string(plan->sync) : NULL);
        json_key(&w, "drop");
        json_begin_array(&w);
        STRV_FOREACH(d, plan->dropped)
                json_string(&w, *d);
        json_end_array(&w);
        json_key(&w, "changes");
        json_begin_array(&w);
        for (size_t i = 0; i < plan->n_changes; i++) {
                json_begin_object(&w);
                json_field_string(&w, "action", plan_action_to_string(plan->changes[i].action));
                json_field_string(&w, "token", plan->changes[i].token);
                json_field_string(&w, "why", plan->changes[i].why);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_key(&w, "predicted");
        json_begin_object(&w);
        json_field_bool(&w, "groups", plan->predicted.groups);
        json_field_string(&w, "domain_type", domain_type_to_string(plan->predicted.domain));
        json_field_string(&w, "invalidation", plan->predicted.strict == 1 ? "strict" : plan->predicted.strict == 0 ? "lazy" : NULL);
        json_field_string(&w, "reason", plan->predicted.reason);
        json_field_string(&w, "kernel", kernel);
        json_end_object(&w);
        print_generator_armed_json(ctx, &w);
        if (lift)
                print_acs_lift_json(&w, lift);
        json_end_object(&w);
        json_finish(&w);
}

static void print_text(const Context *ctx, const Plan *plan) {
        _cleanup_free_ char *cur = plan->current ? cmdline_to_string(plan->current) : NULL;
        _cleanup_free_ char *res = cmdline_to_string(plan->result);
        _cleanup_free_ char *kernel = kernel_info_describe(&ctx->kernel);
        size_t width = 0, removed = 0, added = 0;
        _cleanup_escape_buffer_ EscapeBuffer x = {};
        char e[32];

        printf("Profile:  %s (%s)\n", escaped(&x, ctx->profile->name), escaped(&x, ctx->profile->path));
        if (ctx->profile->description)
                printf("          %s\n", escaped(&x, ctx->profile->description));
        print_setting_origins(ctx, 10);
        printf("Host:     %s, %s (%s)\n", vendor_to_string(ctx->host.vendor), arch_to_string(ctx->host.arch),
               escaped(&x, ctx->host.vendor_source));
        printf("Current:  %s\n", escaped(&x, cur) ?: "(none: offline root, showing the profile's tokens only)");
        printf("Planned:  %s\n", escaped(&x, res));
        printf("Kernel:   %s\n", escaped(&x, strna(kernel)));
        if (plan->wanted_why)
                printf("Tokens:   %s\n", escaped(&x, plan->wanted_why));
        for (size_t i = 0; i < plan->conflicts.n; i++)
                printf("Conflict: %s%s%s%s\n", escaped(&x, plan->conflicts.items[i].message),
                       plan->conflicts.items[i].fits ? "; profile " : "", plan->conflicts.items[i].fits ?: "",
                       plan->conflicts.items[i].fits ? " fits" : "");
        if (plan->predicted.groups)
                printf("Expect:   IOMMU groups with %s domains (%s)\n", kernel_prediction_effect_string(&plan->predicted, e),
                       plan->predicted.reason);
        else
                printf("Expect:   no IOMMU groups (%s)\n", plan->predicted.reason);

        for (size_t i = 0; i < plan->n_changes; i++)
                if (strlen(plan->changes[i].token) > width)
                        width = strlen(plan->changes[i].token);
        putchar('\n');
        for (size_t i = 0; i < plan->n_changes; i++) {
                const PlanChange *c = &plan->changes[i];
                char sign = c->action == PLAN_REMOVE ? '-' : c->action == PLAN_ADD ? '+' : '=';
                printf("  %c %-*s  %s\n", sign, (int) width, escaped(&x, c->token), escaped(&x, c->why));
                removed += c->action == PLAN_REMOVE;
                added += c->action == PLAN_ADD;
        }
        putchar('\n');
        if (!plan->current)
                printf("Status:   no current command line to compare with\n");
        else if (plan->in_sync)
                printf("Status:   in sync, nothing to change (the profile's tokens are there; order does not matter)\n");
        else if (plan->sync == SYNC_SAME_EFFECT)
                printf("Status:   same effect: the kernel already does what the profile promises, %zu to remove, %zu to add "
                       "to carry the profile's own tokens\n", removed, added);
        else
                printf("Status:   not in sync: %zu to remove, %zu to add\n", removed, added);
        if (plan->dropped) {
                _cleanup_free_ char *d = strv_join(plan->dropped, " ");
                printf("Dropped:  %s (owned tokens that change nothing on this kernel)\n", escaped(&x, strna(d)));
        }
        print_generator_armed_text(ctx);
}

static void print_acs_lift_text(const AcsLift *l) {
        _cleanup_free_ char *ports = l->ports ? strv_join(l->ports, " ") : NULL;

        if (!l->token) {
                printf("ACS:      LiftACSRedirect=gpu-paths: no token (%s)\n", strna(l->reason));
                return;
        }
        printf("ACS:      LiftACSRedirect=gpu-paths: %s\n", l->token);
        printf("          lifts redirect on the %zu ports of GPU paths: %s\n", strv_length(l->ports), strna(ports));
        STRV_FOREACH(m, l->merges)
                printf("          merges %s\n", *m);
        printf("          (in the profile's line above: apply, status, the generator and verify own it)\n");
}

static void print_acs_lift_json(JsonWriter *w, const AcsLift *l) {
        json_key(w, "acs_lift");
        json_begin_object(w);
        json_field_string(w, "token", l->token);
        json_field_string(w, "reason", l->reason);
        json_key(w, "ports");
        json_begin_array(w);
        STRV_FOREACH(p, l->ports)
                json_string(w, *p);
        json_end_array(w);
        json_key(w, "merges");
        json_begin_array(w);
        STRV_FOREACH(m, l->merges)
                json_string(w, *m);
        json_end_array(w);
        json_end_object(w);
}

int verb_plan(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(plan_done) Plan plan = {};
        int r;

        if (argc > 1)
                return log_error("plan takes no arguments."), EXIT_ERROR;
        _cleanup_(acs_lift_done) AcsLift lift = {};
        /* With --check --quiet only the exit status is printed: a line that carries exactly what
         * apply writes is in sync without the kernel model, as the generator judges it at boot.
         * Without --quiet the whole plan is printed, so it is computed. */
        r = load_plan(&ctx, &plan, &lift, arg.check && arg.quiet && !arg.json);
        if (r < 0)
                return EXIT_ERROR;
        if (r > 0)
                return EXIT_OK;
        if (plan.wanted_misses_mode)
                log_warning("Profile %s: %s.", ctx.profile->name, plan.wanted_misses_mode);
        /* What the mode would break on this node: warned once here, the text and JSON show it too. */
        for (size_t i = 0; i < plan.conflicts.n; i++)
                plan_conflict_log(ctx.profile->name, &plan.conflicts.items[i]);
        bool want_lift = ctx.profile->lift_acs_redirect == PROFILE_ACS_LIFT_GPU_PATHS;
        if (arg.json)
                print_json(&ctx, &plan, want_lift ? &lift : NULL);
        else if (!arg.quiet) {
                print_text(&ctx, &plan);
                if (want_lift)
                        print_acs_lift_text(&lift);
        }
        /* Exit 1 when apply would write something: a line in sync in another order, or with owned tokens
         * that change nothing, is left alone. (The generator acts only on SYNC_DRIFT.) */
        if (arg.check && plan.current && !plan.in_sync)
                return EXIT_NO;
        return EXIT_OK;
}

int verb_cmdline(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(acs_lift_done) AcsLift lift = {};
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;
        int r;

        if (argc > 1)
                return log_error("cmdline takes no arguments."), EXIT_ERROR;
        r = load_plan(&ctx, &plan, &lift, false);
        if (r < 0)
                return EXIT_ERROR;
        if (arg.full && arg.cmdline) {
                /* A line given to rewrite (dracut's kernel_cmdline for a UKI): spliced, so every
                 * byte outside the owned tokens stays as given. */
                r = cmdline_splice(arg.cmdline, plan.owned_keys, plan.wanted, &s);
                if (r < 0)
                        return log_error_errno(r, "Cannot merge the profile's tokens into --cmdline: %s",
                                               r == -E2BIG ? "the line would be too long for the kernel" : "unterminated quote"),
                               EXIT_ERROR;
        } else
                s = cmdline_to_string(arg.full ? plan.result : plan.wanted);
        if (!s)
                return log_oom(), EXIT_ERROR;
        if (arg.json) {
                JsonWriter w = { .f = stdout };
                _cleanup_free_ char *merged = cmdline_to_string(plan.result);

                if (!merged)
                        return log_oom(), EXIT_ERROR;
                json_begin_object(&w);
                json_field_int(&w, "version", CMDLINE_JSON_VERSION);
                json_field_string(&w, "profile", ctx.profile->name);
                json_field_string(&w, "kernel_args_for", vendor_to_string(plan.vendor));
                json_key(&w, "kernel_args");
                json_begin_array(&w);
                for (size_t i = 0; i < plan.wanted->n_tokens; i++)
                        json_string(&w, plan.wanted->tokens[i].text);
                json_end_array(&w);
                /* What the text output prints: the tokens, or with --full the whole merged line. */
                json_field_string(&w, "cmdline", s);
                json_field_string(&w, "merged", plan.current ? merged : NULL);
                json_end_object(&w);
                json_finish(&w);
                return EXIT_OK;
        }
        fputs_escaped(s, stdout);
        putchar('\n');
        return EXIT_OK;
}
