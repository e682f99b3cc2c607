/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lint.h"
#include "log.h"
#include "plan.h"
#include "strv.h"

const char *plan_action_to_string(PlanAction a) {
        static const char * const names[] = { [PLAN_REMOVE] = "remove", [PLAN_ADD] = "add", [PLAN_KEEP] = "keep" };
        return names[a];
}

void plan_done(Plan *plan) {
        cmdline_free(plan->wanted);
        cmdline_free(plan->current);
        cmdline_free(plan->result);
        strv_free(plan->owned_keys);
        for (size_t i = 0; i < plan->n_changes; i++) {
                free(plan->changes[i].token);
                free(plan->changes[i].why);
        }
        free(plan->changes);
        *plan = (Plan) {};
}

static int add_change(Plan *plan, PlanAction action, const char *token, char *why) {
        PlanChange *n;

        if (!why)
                return -ENOMEM;
        n = realloc(plan->changes, sizeof(PlanChange) * (plan->n_changes + 1));
        if (!n) {
                free(why);
                return -ENOMEM;
        }
        plan->changes = n;
        plan->changes[plan->n_changes] = (PlanChange) { .action = action, .token = strdup(token), .why = why };
        if (!plan->changes[plan->n_changes].token) {
                free(why);
                return -ENOMEM;
        }
        plan->n_changes++;
        return 0;
}

static char *why_removed(const CmdlineToken *t, const Cmdline *wanted, Vendor vendor, const char *profile) {
        const CmdlineToken *replacement = cmdline_find_last(wanted, t->key);
        _cleanup_cmdline_ Cmdline *one = NULL;
        LintReport report = {};
        char *s = NULL;

        /* Say what was wrong with it when lint knows, else just that the profile owns the key. */
        if (cmdline_parse(t->text, &one) >= 0 && lint_cmdline(one, vendor_arch(vendor), &report) >= 0 &&
            report.n_findings > 0) {
                const LintFinding *f = &report.findings[0];
                if (asprintf(&s, "%s%s%s", f->message, f->fix ? "; use: " : "", f->fix ?: "") < 0)
                        s = NULL;
        } else if (replacement) {
                if (asprintf(&s, "replaced by %s (profile %s)", replacement->text, profile) < 0)
                        s = NULL;
        } else if (asprintf(&s, "not in profile %s for %s: it %s", profile, vendor_to_string(vendor),
                            param_describe(t->key, t->value)) < 0)
                s = NULL;
        lint_report_done(&report);
        return s;
}

static bool cmdline_contains(const Cmdline *c, const CmdlineToken *t) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_token_equal(&c->tokens[i], t))
                        return true;
        return false;
}

int plan_compute(const Profile *p, Vendor vendor, const char *current, Plan *ret) {
        _cleanup_(plan_done) Plan plan = { .vendor = vendor };
        int r;

        r = profile_kernel_args(p, vendor, &plan.wanted);
        if (r == -ENODATA)
                return log_error_errno(r, "Profile %s has no kernel arguments for %s ([KernelArgs] %s= is not set in %s).",
                                       p->name, vendor_to_string(vendor),
                                       vendor == VENDOR_INTEL ? "Intel" : vendor == VENDOR_AMD ? "AMD"
                                       : vendor == VENDOR_ARM64 ? "ARM64" : "Portable", p->path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the kernel arguments of profile %s: %m", p->name);
        r = profile_owned_keys(p, &plan.owned_keys);
        if (r < 0)
                return log_oom();

        if (current) {
                r = cmdline_parse(current, &plan.current);
                if (r < 0)
                        return log_oom();
                r = cmdline_merge(plan.current, plan.owned_keys, plan.wanted, &plan.result);
                if (r == -EBADMSG)
                        return log_error_errno(r, "The current command line has an unterminated quote in '%s': "
                                               "refusing to edit it (the kernel reads the quote to the end of the line).",
                                               cmdline_find_unterminated(plan.current)->text);
                if (r == -E2BIG)
                        return log_error_errno(r, "The resulting command line would be longer than the kernel's limit of %d bytes.",
                                               COMMAND_LINE_MAX);
                if (r < 0)
                        return log_oom();
                plan.in_sync = cmdline_in_sync(plan.current, plan.owned_keys, plan.wanted);
        } else {
                r = cmdline_parse("", &plan.result);
                if (r < 0 || cmdline_append(plan.result, plan.wanted) < 0)
                        return log_oom();
        }

        /* Removals first, in the current line's order, then additions in the profile's order. */
        if (plan.current && !plan.in_sync)
                for (size_t i = 0; i < plan.current->n_tokens; i++) {
                        const CmdlineToken *t = &plan.current->tokens[i];
                        bool owned = false;

                        STRV_FOREACH(k, plan.owned_keys)
                                if (cmdline_key_equal(*k, t->key))
                                        owned = true;
                        if (!owned || cmdline_contains(plan.wanted, t))
                                continue;
                        r = add_change(&plan, PLAN_REMOVE, t->text, why_removed(t, plan.wanted, vendor, p->name));
                        if (r < 0)
                                return log_oom();
                }
        for (size_t i = 0; i < plan.wanted->n_tokens; i++) {
                const CmdlineToken *t = &plan.wanted->tokens[i];
                bool present = plan.current && cmdline_contains(plan.current, t);

                r = add_change(&plan, present ? PLAN_KEEP : PLAN_ADD, t->text, strdup(param_describe(t->key, t->value)));
                if (r < 0)
                        return log_oom();
        }

        kernel_predict(plan.result, vendor, &plan.predicted);
        *ret = plan;
        plan = (Plan) {};
        return 0;
}
