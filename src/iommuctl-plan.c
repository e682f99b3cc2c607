/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/plan.h"
#include "libiommu/strv.h"

/* The current command line: --cmdline, else ROOT/proc/cmdline, else none (offline image). */
static int current_cmdline(const char *root, char **ret) {
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
                                 root_is_host(root) ? "" : root, what);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/proc/cmdline: %m", root_is_host(root) ? "" : root);
        return 0;
}

static int load_plan(Context *ctx, Plan *plan) {
        _cleanup_free_ char *current = NULL;
        ContextOptions o = args_context_options(true);
        int r;

        r = context_load(&o, ctx);
        if (r < 0)
                return r;
        r = current_cmdline(ctx->root, &current);
        if (r < 0)
                return r;
        return plan_compute(ctx->profile, ctx->args_vendor, &ctx->kernel, current, plan);
}

static void print_json(const Context *ctx, const Plan *plan) {
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
        json_end_object(&w);
        json_key(&w, "host");
        json_begin_object(&w);
        json_field_string(&w, "arch", arch_to_string(ctx->host.arch));
        json_field_string(&w, "vendor", vendor_to_string(ctx->host.vendor));
        json_field_string(&w, "vendor_source", ctx->host.vendor_source);
        json_field_string(&w, "kernel_args_for", vendor_to_string(plan->vendor));
        json_end_object(&w);
        json_key(&w, "kernel_args");
        json_begin_array(&w);
        for (size_t i = 0; i < plan->wanted->n_tokens; i++)
                json_string(&w, plan->wanted->tokens[i].text);
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
        json_end_object(&w);
        json_finish(&w);
}

static void print_text(const Context *ctx, const Plan *plan) {
        _cleanup_free_ char *cur = plan->current ? cmdline_to_string(plan->current) : NULL;
        _cleanup_free_ char *res = cmdline_to_string(plan->result);
        _cleanup_free_ char *kernel = kernel_info_describe(&ctx->kernel);
        size_t width = 0, removed = 0, added = 0;
        char e[32];

        printf("Profile:  %s (%s)\n", ctx->profile->name, ctx->profile->path);
        if (ctx->profile->description)
                printf("          %s\n", ctx->profile->description);
        printf("Host:     %s, %s (%s)\n", vendor_to_string(ctx->host.vendor), arch_to_string(ctx->host.arch),
               ctx->host.vendor_source);
        printf("Current:  %s\n", cur ?: "(none: offline root, showing the profile's tokens only)");
        printf("Planned:  %s\n", res);
        printf("Kernel:   %s\n", strna(kernel));
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
                printf("  %c %-*s  %s\n", sign, (int) width, c->token, c->why);
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
                printf("Dropped:  %s (owned tokens that change nothing on this kernel)\n", strna(d));
        }
        print_generator_armed_text(ctx);
}

int verb_plan(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(plan_done) Plan plan = {};
        int r;

        if (argc > 1)
                return log_error("plan takes no arguments."), EXIT_ERROR;
        r = load_plan(&ctx, &plan);
        if (r < 0)
                return EXIT_ERROR;
        if (arg.json)
                print_json(&ctx, &plan);
        else if (!arg.quiet)
                print_text(&ctx, &plan);
        /* Exit 1 when apply would write something: a line in sync in another order, or with owned tokens
         * that change nothing, is left alone. (The generator acts only on SYNC_DRIFT.) */
        if (arg.check && plan.current && !plan.in_sync)
                return EXIT_NO;
        return EXIT_OK;
}

int verb_cmdline(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;
        int r;

        if (argc > 1)
                return log_error("cmdline takes no arguments."), EXIT_ERROR;
        r = load_plan(&ctx, &plan);
        if (r < 0)
                return EXIT_ERROR;
        s = cmdline_to_string(arg.full ? plan.result : plan.wanted);
        if (!s)
                return log_oom(), EXIT_ERROR;
        puts(s);
        return EXIT_OK;
}
