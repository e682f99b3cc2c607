/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lint.h"
#include "log.h"
#include "plan.h"
#include "strv.h"

const char *plan_action_to_string(PlanAction a) {
        static const char * const names[] = { [PLAN_REMOVE] = "remove", [PLAN_ADD] = "add", [PLAN_KEEP] = "keep" };
        return names[a];
}

static const char * const sync_state_names[_SYNC_STATE_MAX] = {
        [SYNC_IN_SYNC] = "in-sync",
        [SYNC_SAME_EFFECT] = "same-effect",
        [SYNC_DRIFT] = "drift",
};

const char *sync_state_to_string(SyncState s) {
        return STRING_TABLE_TO_STRING(sync_state_names, s);
}

static bool key_owned(char * const *owned, const char *key) {
        STRV_FOREACH(k, owned)
                if (cmdline_key_equal(*k, key))
                        return true;
        return false;
}

/* current without its owned tokens, then wanted: what writing the profile gives. */
static int line_with_profile(const Cmdline *current, char * const *owned, const Cmdline *wanted, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        _cleanup_strv_free_ char **keep = NULL;
        _cleanup_free_ char *s = NULL;
        int r;

        for (size_t i = 0; i < current->n_tokens; i++)
                if (!key_owned(owned, current->tokens[i].key) && (r = strv_extend(&keep, current->tokens[i].text)) < 0)
                        return r;
        s = keep ? strv_join(keep, " ") : strdup("");
        if (!s)
                return -ENOMEM;
        r = cmdline_parse(s, &c);
        if (r < 0)
                return r;
        r = cmdline_append(c, wanted);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* 1 same effect on every vendor the line is for, 0 not. */
static int same_effect(const KernelInfo *k, Vendor vendor, const Cmdline *a, const Cmdline *b) {
        Vendor check[2] = { vendor, _VENDOR_INVALID };

        if (vendor == VENDOR_PORTABLE) {
                check[0] = VENDOR_INTEL;
                check[1] = VENDOR_AMD;
        }
        for (size_t i = 0; i < ELEMENTSOF(check) && check[i] >= 0; i++) {
                _cleanup_(kernel_prediction_done) KernelPrediction pa = {}, pb = {};
                int r = kernel_predict_effect(k, check[i], a, &pa);
                if (r >= 0)
                        r = kernel_predict_effect(k, check[i], b, &pb);
                if (r < 0)
                        return r;
                if (!kernel_prediction_same_effect(&pa, &pb))
                        return 0;
        }
        return 1;
}

bool plan_line_carries_profile(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        size_t w = 0;

        for (size_t i = 0; i < current->n_tokens; i++) {
                const CmdlineToken *t = &current->tokens[i];
                if (!key_owned(owned_keys, t->key))
                        continue;
                if (w >= wanted->n_tokens || !streq(t->text, wanted->tokens[w].text))
                        return false;
                w++;
        }
        return w == wanted->n_tokens;
}

int plan_sync_state(const KernelInfo *k, Vendor vendor, const Cmdline *current, char * const *owned_keys,
                    const Cmdline *wanted, SyncState *ret) {
        _cleanup_cmdline_ Cmdline *target = NULL;
        bool all = true;
        int r;

        /* The owned tokens are wanted's, in any order: nothing to judge by effect. */
        if (plan_line_carries_profile(current, owned_keys, wanted) || cmdline_in_sync(current, owned_keys, wanted)) {
                *ret = SYNC_IN_SYNC;
                return 0;
        }
        r = line_with_profile(current, owned_keys, wanted, &target);
        if (r < 0)
                return r;
        r = same_effect(k, vendor, current, target);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = SYNC_DRIFT;
                return 0;
        }
        for (size_t i = 0; i < wanted->n_tokens; i++)
                if (!cmdline_contains_token(current, &wanted->tokens[i]))
                        all = false;
        *ret = all ? SYNC_IN_SYNC : SYNC_SAME_EFFECT;
        return 0;
}

void sync_judge_done(SyncJudge *j) {
        j->dropped = strv_free(j->dropped);
        for (size_t i = 0; i < SYNC_JUDGE_CACHE_MAX; i++)
                j->cache[i].key = mfree(j->cache[i].key);
}

/* Owned tokens of a line about to be rewritten that change nothing, for "apply" to say which it drops. */
static void judge_note_dropped(SyncJudge *j, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        _cleanup_(kernel_prediction_done) KernelPrediction p = {};

        if (kernel_predict(j->kernel, j->vendor == VENDOR_PORTABLE ? VENDOR_INTEL : j->vendor, current, &p) < 0)
                return;
        for (size_t i = 0; i < p.n_tokens; i++) {
                const CmdlineToken *t = &current->tokens[p.tokens[i].index];
                if (token_effect_is_inert(p.tokens[i].effect) && key_owned(owned_keys, t->key) &&
                    !cmdline_contains_token(wanted, t) && !strv_contains(j->dropped, t->text))
                        (void) strv_extend(&j->dropped, t->text);
        }
}

/* The cached answer for current against wanted and owned_keys, or -ENOENT. *ret_key gets the key
 * to store the answer under (NULL without memory: then nothing is cached). */
static int judge_cache_lookup(SyncJudge *j, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted,
                              char **ret_key) {
        _cleanup_free_ char *line = cmdline_to_string(current), *w = cmdline_to_string(wanted);
        _cleanup_free_ char *owned = owned_keys ? strv_join(owned_keys, " ") : strdup("");
        char *key;

        *ret_key = NULL;
        if (!line || !w || !owned || asprintf(&key, "%s\n%s\n%s", line, w, owned) < 0)
                return -ENOENT;
        for (size_t i = 0; i < SYNC_JUDGE_CACHE_MAX; i++)
                if (j->cache[i].key && streq(j->cache[i].key, key)) {
                        free(key);
                        return j->cache[i].carries;
                }
        *ret_key = key;
        return -ENOENT;
}

static bool judge_cache_store(SyncJudge *j, char *key, bool carries) {
        SyncJudgeCached *c;

        if (!key)
                return carries;
        c = &j->cache[j->cache_next++ % SYNC_JUDGE_CACHE_MAX];
        free(c->key);
        *c = (SyncJudgeCached) { .key = key, .carries = carries };
        return carries;
}

static bool sync_judge_carries_uncached(SyncJudge *judge, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted);

bool sync_judge_carries(SyncJudge *judge, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        char *key;
        int r;

        if (!judge)
                return sync_judge_carries_uncached(judge, current, owned_keys, wanted);
        /* The answer, and the tokens noted as dropped, depend on these three only. */
        r = judge_cache_lookup(judge, current, owned_keys, wanted, &key);
        if (r >= 0)
                return r;
        return judge_cache_store(judge, key, sync_judge_carries_uncached(judge, current, owned_keys, wanted));
}

static bool sync_judge_carries_uncached(SyncJudge *judge, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        SyncState s;

        /* Clearing a fragment (a GRUB variable other than the one the tokens go to, or undo): its
         * owned tokens go, whatever they do on their own; only whole lines are judged by effect. */
        if (wanted->n_tokens == 0)
                return cmdline_in_sync(current, owned_keys, wanted);
        if (plan_sync_state(judge ? judge->kernel : NULL, judge ? judge->vendor : VENDOR_PORTABLE, current, owned_keys,
                            wanted, &s) >= 0 && s == SYNC_IN_SYNC)
                return true;
        if (judge && judge->note_dropped)
                judge_note_dropped(judge, current, owned_keys, wanted);
        return false;
}

void plan_done(Plan *plan) {
        cmdline_free(plan->wanted);
        free(plan->wanted_why);
        free(plan->wanted_misses_mode);
        intent_conflicts_done(&plan->conflicts);
        cmdline_free(plan->current);
        cmdline_free(plan->result);
        strv_free(plan->owned_keys);
        strv_free(plan->dropped);
        for (size_t i = 0; i < plan->n_changes; i++) {
                free(plan->changes[i].token);
                free(plan->changes[i].why);
        }
        free(plan->changes);
        kernel_prediction_done(&plan->predicted);
        kernel_prediction_done(&plan->predicted_current);
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

static char *why_removed(const Plan *plan, size_t index, const char *profile) {
        const CmdlineToken *t = &plan->current->tokens[index];
        const CmdlineToken *replacement = cmdline_find_last(plan->wanted, t->key);
        const TokenPrediction *tp = kernel_prediction_find_token(&plan->predicted_current, index);
        char *s = NULL;

        /* What the kernel does with it on this line, when the model says it changes nothing. */
        if (tp && token_effect_is_inert(tp->effect)) {
                if (asprintf(&s, "changes nothing (%s): %s%s%s", token_effect_to_string(tp->effect), tp->why,
                             tp->fix ? "; use: " : "", tp->fix ?: "") < 0)
                        s = NULL;
        } else if (replacement) {
                if (asprintf(&s, "replaced by %s (profile %s)", replacement->text, profile) < 0)
                        s = NULL;
        } else if (asprintf(&s, "not in profile %s for %s: it %s", profile, vendor_to_string(plan->vendor),
                            param_describe(t->key, t->value)) < 0)
                s = NULL;
        return s;
}

int plan_compute(const Profile *p, Vendor vendor, const KernelInfo *k, const char *current, Plan *ret) {
        _cleanup_(plan_done) Plan plan = { .vendor = vendor };
        Vendor pv = vendor == VENDOR_PORTABLE ? VENDOR_INTEL : vendor;
        int r;

        {
                _cleanup_(intent_choice_done) IntentChoice choice = {};

                r = intent_profile_args(p, vendor, k, &choice);
                if (r >= 0 && !choice.tokens)
                        return log_error_errno(-EOPNOTSUPP, "Profile %s: Mode=%s cannot be kept on %s: %s.%s%s%s", p->name,
                                               profile_mode_to_string(p->mode), vendor_to_string(vendor), choice.refusal,
                                               choice.nearest >= 0 ? " The nearest mode this kernel can give is " : "",
                                               choice.nearest >= 0 ? profile_mode_to_string(choice.nearest) : "",
                                               choice.nearest >= 0 ? "." : "");
                if (r >= 0) {
                        plan.wanted = TAKE_PTR(choice.tokens);
                        plan.wanted_from_profile = choice.from_profile;
                        plan.wanted_why = TAKE_PTR(choice.why);
                        plan.wanted_misses_mode = TAKE_PTR(choice.misses_mode);
                        r = intent_conflicts(p->mode, vendor, k, &plan.conflicts);
                }
                for (size_t i = 0; r >= 0 && i < plan.conflicts.n; i++)
                        if (plan.conflicts.items[i].refuse)
                                return log_error_errno(-EOPNOTSUPP, "Profile %s: %s.", p->name, plan.conflicts.items[i].message);
        }
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
                if (cmdline_find_unterminated(plan.current))
                        return log_error_errno(-EBADMSG, "The current command line has an unterminated quote in '%s': "
                                               "refusing to edit it (the kernel reads the quote to the end of the line).",
                                               cmdline_find_unterminated(plan.current)->text);
                r = plan_sync_state(k, vendor, plan.current, plan.owned_keys, plan.wanted, &plan.sync);
                if (r < 0)
                        return log_oom();
                plan.in_sync = plan.sync == SYNC_IN_SYNC;
                if (kernel_predict(k, pv, plan.current, &plan.predicted_current) < 0)
                        return log_oom();
                /* The merge leaves an in-sync line byte for byte alone. */
                if (plan.in_sync)
                        r = cmdline_parse(current, &plan.result);
                else
                        r = cmdline_merge(plan.current, plan.owned_keys, plan.wanted, &plan.result);
                if (r == -E2BIG)
                        return log_error_errno(r, "The resulting command line would be longer than the kernel's limit of %d bytes.",
                                               COMMAND_LINE_MAX);
                if (r < 0)
                        return log_oom();
        } else {
                r = cmdline_parse("", &plan.result);
                if (r < 0 || cmdline_append(plan.result, plan.wanted) < 0)
                        return log_oom();
        }

        /* Removals first, in the current line's order, then additions in the profile's order. */
        if (plan.current && !plan.in_sync)
                for (size_t i = 0; i < plan.current->n_tokens; i++) {
                        const CmdlineToken *t = &plan.current->tokens[i];
                        const TokenPrediction *tp;

                        if (!key_owned(plan.owned_keys, t->key) || cmdline_contains_token(plan.wanted, t))
                                continue;
                        r = add_change(&plan, PLAN_REMOVE, t->text, why_removed(&plan, i, p->name));
                        if (r < 0)
                                return log_oom();
                        tp = kernel_prediction_find_token(&plan.predicted_current, i);
                        if (tp && token_effect_is_inert(tp->effect) && strv_extend(&plan.dropped, t->text) < 0)
                                return log_oom();
                }
        for (size_t i = 0; i < plan.wanted->n_tokens; i++) {
                const CmdlineToken *t = &plan.wanted->tokens[i];
                bool present = plan.current && cmdline_contains_token(plan.current, t);

                r = add_change(&plan, present ? PLAN_KEEP : PLAN_ADD, t->text, strdup(param_describe(t->key, t->value)));
                if (r < 0)
                        return log_oom();
        }

        if (kernel_predict(k, pv, plan.result, &plan.predicted) < 0)
                return log_oom();
        *ret = plan;
        plan = (Plan) {};
        return 0;
}
