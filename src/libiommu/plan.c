/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lint.h"
#include "log.h"
#include "p2p.h"
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

/* current without its owned tokens, then wanted: what writing the profile gives. */
static int line_with_profile(const Cmdline *current, char * const *owned, const Cmdline *wanted, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        int r;

        r = cmdline_strip_owned(current, owned, &c);
        if (r < 0)
                return r;
        /* The kernel's parameters only: what follows "--" is init's. */
        c->init_args = mfree(c->init_args);
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

/* 1 when the owned options of current (pci=disable_acs_redir=...) are not wanted's, 0 when they are. */
static int owned_options_differ(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        _cleanup_strv_free_ char **have = NULL, **want = NULL;
        size_t n_have = 0, n_want = 0;
        int r;

        r = cmdline_units(current, owned_keys, true, &have);
        if (r >= 0)
                r = cmdline_units(wanted, owned_keys, true, &want);
        if (r < 0)
                return r;
        STRV_FOREACH(u, have) {
                const char *eq = strchr(*u, '=');
                if (!eq || !cmdline_key_has_owned_options(strndupa(*u, eq - *u), owned_keys))
                        continue;
                n_have++;
                if (!strv_contains(want, *u))
                        return 1;
        }
        STRV_FOREACH(u, want) {
                const char *eq = strchr(*u, '=');
                if (eq && cmdline_key_has_owned_options(strndupa(*u, eq - *u), owned_keys))
                        n_want++;
        }
        return n_have != n_want;
}

bool plan_line_carries_profile(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        size_t w = 0;

        for (size_t i = 0; i < current->n_tokens; i++) {
                const CmdlineToken *t = &current->tokens[i];
                CmdlineOwnership o = cmdline_token_ownership(t, owned_keys);
                if (o == CMDLINE_NOT_OWNED)
                        continue;
                if (o == CMDLINE_OWNED_PART) /* pci=noaer,disable_acs_redir=X: judged by options */
                        return false;
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
        /* The owned pci= options (the ACS lift) are outside the kernel model's IOMMU effect: the
         * line carries them or drifts. */
        r = owned_options_differ(current, owned_keys, wanted);
        if (r != 0) {
                if (r < 0)
                        return r;
                *ret = SYNC_DRIFT;
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

/* sync_judge_for_entry()'s caches. */
#define SYNC_JUDGE_RELEASES_MAX 8
typedef struct SyncJudgeEntryModel {
        KernelInfo kernel;  /* the first entry's kernel with these facts */
        SyncJudge judge;    /* judges with kernel */
        Cmdline *wanted;    /* the line wanted on kernel; NULL: the node's */
} SyncJudgeEntryModel;

typedef struct SyncJudgeRelease {
        char *release;
        size_t model;       /* in entry_models; SIZE_MAX: the node's own judge */
} SyncJudgeRelease;

void sync_judge_done(SyncJudge *j) {
        j->dropped = strv_free(j->dropped);
        for (size_t i = 0; i < SYNC_JUDGE_CACHE_MAX; i++)
                j->cache[i].key = mfree(j->cache[i].key);
        for (size_t i = 0; i < j->n_entry_models; i++) {
                SyncJudgeEntryModel *m = j->entry_models[i];
                sync_judge_done(&m->judge);
                kernel_info_done(&m->kernel);
                cmdline_free(m->wanted);
                free(m);
        }
        j->entry_models = mfree(j->entry_models);
        j->n_entry_models = 0;
        for (size_t i = 0; j->releases && i < SYNC_JUDGE_RELEASES_MAX; i++)
                free(j->releases[i].release);
        j->releases = mfree(j->releases);
        j->releases_next = 0;
}

static int judge_for_release(const Root *root, const SyncJudge *judge, const char *release, unsigned config_places,
                             KernelInfo *ret_kernel, SyncJudge *ret) {
        Arch arch = judge->kernel ? judge->kernel->arch : ARCH_X86_64;
        unsigned v;
        int r;

        /* No release to read (a rescue entry's "0-rescue-MACHINEID"): the node's kernel judges it;
         * the node's own release too, with the answers it has cached. */
        if (isempty(release) || kernel_release_parse(release, &v) < 0 ||
            (judge->kernel && judge->kernel->release && streq(judge->kernel->release, release)))
                return 0;
        r = kernel_info_for_entry_in(root, config_places, arch, release, ret_kernel);
        if (r < 0)
                return r;
        if (judge->kernel)
                ret_kernel->platform = judge->kernel->platform;
        *ret = *judge;
        ret->kernel = ret_kernel;
        ret->dropped = NULL;
        /* Its answers are for another kernel, and the keys are judge's to free; so are the caches
         * of sync_judge_for_entry(). */
        memset(ret->cache, 0, sizeof(ret->cache));
        ret->cache_next = 0;
        ret->entry_models = NULL;
        ret->n_entry_models = 0;
        ret->releases = NULL;
        ret->releases_next = 0;
        return 1;
}

int sync_judge_for_release(const Root *root, const SyncJudge *judge, const char *release, KernelInfo *ret_kernel,
                           SyncJudge *ret) {
        return judge_for_release(root, judge, release, ~0U, ret_kernel, ret);
}

/* Whether the kernel model gives the same answers on a and b: it reads the architecture, the
 * version, the build configuration's facts and whether one was read (the release and the file's
 * name only appear in messages); entries share the node's platform facts. */
static bool kernel_model_facts_equal(const KernelInfo *a, const KernelInfo *b) {
        return a->arch == b->arch && a->version == b->version && !a->config_source == !b->config_source &&
               memcmp(&a->config, &b->config, sizeof(KernelConfig)) == 0 && a->n_image_kernels == 0 &&
               b->n_image_kernels == 0;
}

static int entry_model_find_or_add(const Root *root, SyncJudge *node, const char *release, const Cmdline *wanted,
                                   size_t *ret_model) {
        _cleanup_(kernel_info_done) KernelInfo k = {};
        SyncJudgeEntryModel *m, **t;
        SyncJudge ej;
        int r;

        /* Nowhere (kernel_config_places(), looked up once by sync_judge_for_entry()): the model's facts are the release's version and mainline's defaults for it,
         * so a model already made for that version answers without making the kernel first. */
        if (node->config_places == 0 && node->kernel) {
                unsigned v;

                if (isempty(release) || kernel_release_parse(release, &v) < 0 ||
                    (node->kernel->release && streq(node->kernel->release, release))) {
                        *ret_model = SIZE_MAX; /* the node's own judge, as judge_for_release() says */
                        return 0;
                }
                for (size_t i = 0; i < node->n_entry_models; i++) {
                        const KernelInfo *mk = &node->entry_models[i]->kernel;
                        if (mk->arch == node->kernel->arch && mk->version == v && !mk->config_source && mk->n_image_kernels == 0) {
                                *ret_model = i;
                                return 0;
                        }
                }
        }
        r = judge_for_release(root, node, release, node->config_places, &k, &ej);
        if (r <= 0) {
                *ret_model = SIZE_MAX;
                return r;
        }
        for (size_t i = 0; i < node->n_entry_models; i++)
                if (kernel_model_facts_equal(&node->entry_models[i]->kernel, &k)) {
                        *ret_model = i;
                        return 0;
                }
        t = reallocarray(node->entry_models, node->n_entry_models + 1, sizeof(SyncJudgeEntryModel *));
        if (!t)
                return -ENOMEM;
        node->entry_models = t;
        m = calloc(1, sizeof(SyncJudgeEntryModel));
        if (!m)
                return -ENOMEM;
        m->kernel = k;
        k = (KernelInfo) {};
        m->judge = ej;
        m->judge.kernel = &m->kernel;
        r = sync_judge_wanted_for_entry(node, &m->judge, wanted, &m->wanted);
        if (r < 0) {
                kernel_info_done(&m->kernel);
                free(m);
                return r;
        }
        node->entry_models[node->n_entry_models] = m;
        *ret_model = node->n_entry_models++;
        return 0;
}

int sync_judge_for_entry(const Root *root, SyncJudge *node, const char *release, const Cmdline *wanted,
                         SyncJudge **ret_judge, const Cmdline **ret_wanted) {
        size_t model = SIZE_MAX;
        bool found = false;
        int r;

        *ret_judge = node;
        *ret_wanted = wanted;
        if (isempty(release))
                return 0;
        /* Where the entries' build configurations can be, looked up once. */
        if (!node->releases) {
                node->releases = calloc(SYNC_JUDGE_RELEASES_MAX, sizeof(SyncJudgeRelease));
                if (!node->releases)
                        return -ENOMEM;
                node->config_places = kernel_config_places(root);
        }
        /* Nowhere: the version alone finds the model (entry_model_find_or_add()). Else entries of
         * one release usually come together: the last releases seen answer without reading their
         * build configuration again. */
        if (node->config_places == 0 && node->kernel) {
                r = entry_model_find_or_add(root, node, release, wanted, &model);
                if (r < 0)
                        return r;
                found = true;
        }
        for (size_t i = 0; i < SYNC_JUDGE_RELEASES_MAX && !found; i++)
                if (node->releases[i].release && streq(node->releases[i].release, release)) {
                        model = node->releases[i].model;
                        found = true;
                }
        if (!found) {
                SyncJudgeRelease *slot;
                char *copy;

                r = entry_model_find_or_add(root, node, release, wanted, &model);
                if (r < 0)
                        return r;
                copy = strdup(release);
                if (!copy)
                        return -ENOMEM;
                slot = &node->releases[node->releases_next++ % SYNC_JUDGE_RELEASES_MAX];
                free(slot->release);
                *slot = (SyncJudgeRelease) { .release = copy, .model = model };
        }
        if (model != SIZE_MAX) {
                *ret_judge = &node->entry_models[model]->judge;
                *ret_wanted = node->entry_models[model]->wanted ?: wanted;
        }
        return 0;
}

void sync_judge_merge_dropped(SyncJudge *into, SyncJudge *from) {
        if (into == from)
                return;
        STRV_FOREACH(t, from->dropped)
                if (!strv_contains(into->dropped, *t))
                        (void) strv_extend(&into->dropped, *t);
        from->dropped = strv_free(from->dropped);
}

int sync_judge_wanted_for_entry(const SyncJudge *node, const SyncJudge *entry, const Cmdline *wanted, Cmdline **ret) {
        _cleanup_(intent_choice_done) IntentChoice for_node = { .nearest = _MODE_INVALID };
        _cleanup_(intent_choice_done) IntentChoice for_entry = { .nearest = _MODE_INVALID };
        _cleanup_free_ char *a = NULL, *b = NULL, *line = NULL;
        _cleanup_strv_free_ char **kept = NULL;
        int r;

        *ret = NULL;
        if (!node->intent || !node->kernel || !entry->kernel || entry->kernel == node->kernel)
                return 0;
        r = intent_profile_args(node->intent, node->vendor, node->kernel, &for_node);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || for_node.from_profile || !for_node.tokens)
                return 0;
        r = intent_profile_args(node->intent, node->vendor, entry->kernel, &for_entry);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !for_entry.tokens) /* refused on that kernel: verify says why; keep the node's */
                return 0;
        a = cmdline_to_string(for_node.tokens);
        b = cmdline_to_string(for_entry.tokens);
        if (!a || !b)
                return -ENOMEM;
        if (streq(a, b))
                return 0;
        /* The rest of the node's line (the ACS lift, extra tokens) stays as it is. */
        for (size_t i = 0; i < wanted->n_tokens; i++)
                if (!cmdline_contains_token(for_node.tokens, &wanted->tokens[i]) &&
                    strv_extend(&kept, wanted->tokens[i].text) < 0)
                        return -ENOMEM;
        if (strv_extend(&kept, b) < 0)
                return -ENOMEM;
        line = strv_join(kept, " ");
        if (!line)
                return -ENOMEM;
        return cmdline_parse(line, ret);
}

void sync_judge_take_dropped(SyncJudge *into, SyncJudge *from) {
        STRV_FOREACH(t, from->dropped)
                if (!strv_contains(into->dropped, *t))
                        (void) strv_extend(&into->dropped, *t);
        /* from is done with: its dropped tokens and its cached answers go. */
        sync_judge_done(from);
}

/* Owned tokens of a line about to be rewritten that change nothing, for "apply" to say which it drops. */
static void judge_note_dropped(SyncJudge *j, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted) {
        _cleanup_(kernel_prediction_done) KernelPrediction p = {};

        if (kernel_predict(j->kernel, j->vendor == VENDOR_PORTABLE ? VENDOR_INTEL : j->vendor, current, &p) < 0)
                return;
        for (size_t i = 0; i < p.n_tokens; i++) {
                const CmdlineToken *t = &current->tokens[p.tokens[i].index];
                if (token_effect_is_inert(p.tokens[i].effect) &&
                    cmdline_token_ownership(t, owned_keys) == CMDLINE_OWNED_WHOLE &&
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

void acs_lift_done(AcsLift *l) {
        free(l->token);
        strv_free(l->ports);
        strv_free(l->merges);
        free(l->reason);
        *l = (AcsLift) {};
}

int plan_acs_lift_observed(const Observation *o, unsigned kernel_version, AcsLift *ret) {
        _cleanup_(acs_lift_done) AcsLift l = {};
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        _cleanup_cmdline_ Cmdline *running = NULL;
        _cleanup_free_ PciDevice *devices = NULL;
        Observation unlifted;
        int r;

        /* The ports the running line's own lift cleared are what the token must name: judged as the
         * kernel leaves them without it (RR and CR on), or the token would vanish once booted. A
         * shallow copy: only the control bits differ, everything else is o's. */
        r = cmdline_parse(o->cmdline, &running);
        if (r < 0)
                return r;
        if (kernel_version == 0) {
                KernelInfo d;

                /* The node's own release, else the newest the model knows. */
                if (!o->release || kernel_release_parse(o->release, &kernel_version) < 0) {
                        kernel_info_default(o->arch, &d);
                        kernel_version = d.version;
                        kernel_info_done(&d);
                }
        }
        devices = o->n_devices > 0 ? malloc(o->n_devices * sizeof(PciDevice)) : NULL;
        if (o->n_devices > 0 && !devices)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_devices; i++) {
                PciDevice *d = &devices[i];

                *d = o->devices[i];
                if (d->pcie.has_acs && !(d->pcie.acs_ctrl & (PCI_ACS_RR | PCI_ACS_CR)) &&
                    p2p_port_lifted_by(o, &o->devices[i], running))
                        d->pcie.acs_ctrl |= d->pcie.acs_cap & (PCI_ACS_RR | PCI_ACS_CR);
        }
        unlifted = *o;
        unlifted.devices = devices;

        r = p2p_analyze(&unlifted, &t);
        if (r < 0)
                return r;
        r = p2p_lift_token(&unlifted, &t, kernel_version, &l.token, &l.ports, &l.merges, &l.reason);
        if (r == -ENODATA)
                l.reason = strdup(t.n_gpus == 0 ? "no GPU on this node" :
                                  t.n_unread > 0 ? "the ports' config space could not be read (run as root)" :
                                  "no GPU path is redirected by ACS: nothing to lift");
        else if (r == -ENOMEM)
                return r;
        if (!l.token && !l.reason)
                return -ENOMEM;
        *ret = l;
        l = (AcsLift) {};
        return 0;
}

int plan_acs_lift(const Root *root, Arch arch, Vendor vendor, const char *vendor_source, unsigned kernel_version, AcsLift *ret) {
        _cleanup_(observation_done) Observation o = {};
        int r;

        r = observe_tree(root, arch, vendor, vendor_source, &o);
        if (r < 0)
                return r;
        return plan_acs_lift_observed(&o, kernel_version, ret);
}

/* The lift's token joins the profile's, unless its own line writes an owned pci= option already. */
int acs_lift_add_token(Cmdline *wanted, const AcsLift *lift) {
        _cleanup_cmdline_ Cmdline *t = NULL;
        int r;

        if (!lift || !lift->token)
                return 0;
        for (size_t i = 0; i < wanted->n_tokens; i++)
                if (cmdline_token_ownership(&wanted->tokens[i], iommu_owned_keys) != CMDLINE_NOT_OWNED &&
                    cmdline_key_has_owned_options(wanted->tokens[i].key, iommu_owned_keys))
                        return 0;
        r = cmdline_parse(lift->token, &t);
        if (r < 0)
                return r;
        return cmdline_append(wanted, t);
}

int plan_wanted_add_acs_lift(const Root *root, const Profile *p, Arch arch, Vendor vendor, const char *vendor_source,
                             unsigned kernel_version, Cmdline *wanted, AcsLift *ret_lift) {
        _cleanup_(acs_lift_done) AcsLift l = {};
        int r;

        if (p->lift_acs_redirect != PROFILE_ACS_LIFT_GPU_PATHS)
                return 0;
        r = plan_acs_lift(root, arch, vendor, vendor_source, kernel_version, &l);
        if (r < 0)
                return r;
        r = acs_lift_add_token(wanted, &l);
        if (r < 0)
                return r;
        if (ret_lift) {
                *ret_lift = l;
                l = (AcsLift) {};
        }
        return 0;
}

void plan_conflict_log(const char *profile, const IntentConflict *c) {
        log_warning("Profile %s: %s%s%s%s", profile, c->message, c->fits ? "; profile " : "", c->fits ?: "",
                    c->fits ? " fits" : "");
}

int plan_conflicts_gate(const Profile *p, Vendor vendor, const KernelInfo *k, bool force) {
        _cleanup_(intent_conflicts_done) IntentConflicts c = {};
        const char *fits = NULL;
        int r;

        r = intent_conflicts(p->mode, vendor, k, &c);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < c.n; i++) {
                plan_conflict_log(p->name, &c.items[i]);
                fits = fits ?: c.items[i].fits;
        }
        if (c.n == 0)
                return 0;
        if (force) {
                log_notice("Writing profile %s anyway (--force), despite %zu conflict%s with this node.", p->name, c.n,
                           c.n == 1 ? "" : "s");
                return (int) c.n;
        }
        return log_error_errno(-EOPNOTSUPP, "Refusing to write profile %s: its Mode=%s breaks what this node uses (above).%s%s%s "
                               "Pass --force to write it anyway.", p->name, profile_mode_to_string(p->mode),
                               fits ? " Profile " : "", fits ?: "", fits ? " fits this node." : "");
}

/* The owned options of t (pci=disable_acs_redir=...) that wanted does not have, one change each. */
static int plan_remove_options(Plan *plan, const CmdlineToken *t, const char *profile) {
        _cleanup_strv_free_ char **units = NULL, **want = NULL;
        _cleanup_cmdline_ Cmdline *one = NULL;
        int r;

        r = cmdline_parse(t->text, &one);
        if (r >= 0)
                r = cmdline_units(one, plan->owned_keys, true, &units);
        if (r >= 0)
                r = cmdline_units(plan->wanted, plan->owned_keys, true, &want);
        if (r < 0)
                return r;
        STRV_FOREACH(u, units) {
                char *why;

                if (strv_contains(want, *u))
                        continue;
                if (asprintf(&why, "not in profile %s: an option iommuctl owns (the operator's other %.*s options stay)",
                             profile, (int) strcspn(*u, "="), *u) < 0)
                        return -ENOMEM;
                r = add_change(plan, PLAN_REMOVE, *u, why);
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_compute(const Profile *p, Vendor vendor, const KernelInfo *k, const char *current, Plan *ret) {
        return plan_compute_lifted(p, vendor, k, current, NULL, ret);
}

int plan_compute_lifted(const Profile *p, Vendor vendor, const KernelInfo *k, const char *current, const AcsLift *lift, Plan *ret) {
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
                        r = acs_lift_add_token(plan.wanted, lift);
                        if (r >= 0)
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

                        CmdlineOwnership o = cmdline_token_ownership(t, plan.owned_keys);

                        if (o == CMDLINE_NOT_OWNED || cmdline_contains_token(plan.wanted, t))
                                continue;
                        if (cmdline_key_has_owned_options(t->key, plan.owned_keys)) {
                                r = plan_remove_options(&plan, t, p->name);
                                if (r < 0)
                                        return log_oom();
                                continue;
                        }
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

                r = add_change(&plan, present ? PLAN_KEEP : PLAN_ADD, t->text,
                               strdup(cmdline_key_has_owned_options(t->key, plan.owned_keys)
                                      ? "lifts ACS P2P redirect on the ports it names (peer-to-peer stays below them; their IOMMU groups merge)"
                                      : param_describe(t->key, t->value)));
                if (r < 0)
                        return log_oom();
        }

        if (kernel_predict(k, pv, plan.result, &plan.predicted) < 0)
                return log_oom();
        *ret = plan;
        plan = (Plan) {};
        return 0;
}
