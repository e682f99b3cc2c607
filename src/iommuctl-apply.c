/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/plan.h"
#include "libiommu/apply.h"
#include "libiommu/changeset.h"
#include "libiommu/drift.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

static const char *item_action(const ChangeItem *c, bool restore) {
        /* rollback restores; undo, like apply, modifies. */
        return !c->old ? "created" : !c->new ? "removed" : restore ? "restored" : "modified";
}

static void print_result(const ChangeSet *cs, const char *verb, const char *profile, bool dry_run) {
        if (arg.json) {
                JsonWriter w = { .f = stdout };

                json_begin_object(&w);
                json_field_int(&w, "version", 1);
                json_field_string(&w, "verb", verb);
                json_field_string(&w, "profile", profile);
                json_field_bool(&w, "dry_run", dry_run);
                json_field_bool(&w, "changed", cs->n_items > 0 && !dry_run);
                json_key(&w, "changeset");
                if (cs->id > 0)
                        json_int(&w, cs->id);
                else
                        json_null(&w);
                json_key(&w, "files");
                json_begin_array(&w);
                for (size_t i = 0; i < cs->n_items; i++) {
                        json_begin_object(&w);
                        json_field_string(&w, "path", cs->items[i].path);
                        json_field_string(&w, "action", item_action(&cs->items[i], streq(verb, "rollback")));
                        json_field_string(&w, "backend", cs->items[i].backend);
                        json_end_object(&w);
                }
                json_end_array(&w);
                json_end_object(&w);
                json_finish(&w);
                return;
        }
        if (dry_run) {
                changeset_print_diff(cs, stdout);
                return;
        }
        for (size_t i = 0; i < cs->n_items; i++) {
                _cleanup_escape_buffer_ EscapeBuffer e = {};
                const char *action = item_action(&cs->items[i], streq(verb, "rollback")), *path = cs->items[i].path;
                bool plain = true;

                /* Printable ASCII is printed as it is (escaped() would copy it unchanged). */
                for (const char *c = path; *c && plain; c++)
                        plain = (unsigned char) *c >= 0x20 && (unsigned char) *c < 0x7f;

                /* printf("%-8s %s (%s)\n") without the format parser, a line per file. */
                fputs(action, stdout);
                for (size_t k = strlen(action); k < 8; k++)
                        putchar(' ');
                putchar(' ');
                fputs(plain ? path : escaped(&e, path), stdout);
                fputs(" (", stdout);
                fputs(cs->items[i].backend, stdout);
                fputs(")\n", stdout);
        }
}

static void log_selection(const Context *ctx) {
        const char *new = ctx->profile->name, *old = ctx->config.profile;

        if (!old)
                log_info("Selected profile %s (none was selected), recorded in %s.", new, CONFIG_SELECTION_FILE);
        else if (!streq(old, new))
                log_info("Selected profile %s (was %s, from %s), recorded in %s.", new, old, ctx->config.profile_from,
                         CONFIG_SELECTION_FILE);
        else
                log_info("Selected profile %s (unchanged; vendor %s), recorded in %s.", new,
                         arg.vendor >= 0 ? vendor_to_string(arg.vendor) : "as before", CONFIG_SELECTION_FILE);
        if (ctx->config.profile_overridden && !streq(ctx->config.profile_overridden, new))
                log_notice("Profile=%s in %s no longer applies: the recorded selection wins over it "
                           "(remove %s to let the configuration decide).", ctx->config.profile_overridden,
                           ctx->config.profile_overridden_from, CONFIG_SELECTION_FILE);
        else if (old && !streq(old, new) && !endswith(ctx->config.profile_from, CONFIG_SELECTION_FILE))
                log_notice("Profile=%s in %s no longer applies: the recorded selection wins over it "
                           "(remove %s to let the configuration decide).", old, ctx->config.profile_from,
                           CONFIG_SELECTION_FILE);
}

static int regenerate_arg(void) {
        return arg.no_bootloader_update ? 0 : -1;
}

int verb_apply(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL, **names = NULL;
        _cleanup_free_ char *selection = NULL;
        _cleanup_(apply_result_done) ApplyResult res = {};
        ContextOptions o = args_context_options(true);
        UkiAddonSettings uki;
        ApplyRequest req;
        int r;

        if (argc > 1)
                return log_error("apply takes no arguments."), EXIT_ERROR;

        /* Everything is validated and computed before the first write. */
        r = context_load(&o, &ctx);
        if (r < 0)
                return EXIT_ERROR;
        if (context_profile_args(&ctx, &wanted, &owned) < 0)
                return EXIT_ERROR;
        if (apply_check_tokens(ctx.profile->name, ctx.args_vendor, ctx.host.arch, wanted) < 0)
                return EXIT_ERROR;
        /* What the mode would break on this node, as plan says it; --if-armed (a new kernel of a
         * node where the profile was applied) already had that choice made. */
        if (plan_conflicts_gate(ctx.profile, ctx.args_vendor, &ctx.kernel, arg.force || arg.if_armed) < 0)
                return EXIT_ERROR;
        if (arg.backends && strv_split(arg.backends, ",", &names) < 0)
                return log_oom(), EXIT_ERROR;
        /* --if-armed (the kernel-install plugin): only where the profile was applied before (or
         * Automatic=yes), and without arming a node itself. */
        if (arg.if_armed) {
                DriftArmed armed;

                r = drift_armed_under(ctx.root, &ctx.config, &armed, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s: %m", DRIFT_RECORD_FILE), EXIT_ERROR;
                if (!drift_is_armed(armed)) {
                        _cleanup_free_ char *why = NULL;
                        if (drift_armed_describe(armed, ctx.profile->name, NULL, &why) < 0)
                                return log_oom(), EXIT_ERROR;
                        log_info("Not applying (--if-armed): %s.", why);
                        return EXIT_NO;
                }
        }
        if (apply_selection_contents(&ctx.config, ctx.profile->name, arg.profile != NULL, arg.vendor, &selection) < 0)
                return log_oom(), EXIT_ERROR;

        uki_addon_settings_from_profile(ctx.profile, arg.uki_addon, &uki);
        req = (ApplyRequest) {
                .root = ctx.root,
                .config = &ctx.config,
                .uki = &uki,
                .profile = ctx.profile->name,
                .intent = ctx.profile,
                .owned = owned,
                .wanted = wanted,
                .kernel = &ctx.kernel,
                .vendor = ctx.args_vendor,
                .entries = arg.entries ?: ctx.config.entries,
                .selection = selection,
                .record = !arg.if_armed,
                .verb = arg.if_armed ? "apply --if-armed" : "apply",
                .dry_run = arg.dry_run,
                .regenerate = regenerate_arg(),
                .reboot = arg.reboot,
        };
        if (apply_select_backends_deferred(ctx.root, names ?: ctx.config.backends, names ? "--backend" : "Backends= in [Apply]",
                                           req.backends, &req.uki_addon_if_next) < 0)
                return EXIT_ERROR;

        r = apply_run(&req, &res);
        if (r < 0)
                return EXIT_ERROR;
        if (res.dropped) {
                _cleanup_free_ char *d = strv_join(res.dropped, " ");
                log_notice("Dropping %s from the lines rewritten: %s nothing on this kernel.", strna(d),
                           strv_length(res.dropped) == 1 ? "it changes" : "they change");
        }

        if (!res.boot_changed && !res.selection_changed) {
                if (res.regenerated && res.cs->n_items == 0)
                        return EXIT_OK; /* only grub.cfg was stale, and is regenerated */
                if (arg.json)
                        print_result(res.cs, "apply", ctx.profile->name, arg.dry_run);
                else
                        log_info("Nothing to change: the boot configuration under %s already carries profile %s.", ctx.root->path,
                                 ctx.profile->name);
                if (res.stale_newer)
                        log_notice("But %s was not generated from %s as it is now: %s.", res.stale_cfg, res.stale_newer,
                                   arg.dry_run ? "apply would regenerate it"
                                               : "run update-grub or grub2-mkconfig in the system before booting it");
                if (res.committed)
                        log_info("Recorded in %s that profile %s is applied on this node: iommu-generator keeps the boot in "
                                 "line with it from now on (change set %08u).", DRIFT_RECORD_FILE, ctx.profile->name, res.cs->id);
                return EXIT_OK;
        }
        if (arg.dry_run) {
                print_result(res.cs, "apply", ctx.profile->name, true);
                return EXIT_OK;
        }
        print_result(res.cs, "apply", ctx.profile->name, false);
        if (res.selection_changed)
                log_selection(&ctx);
        if (res.grub_not_regenerated)
                log_notice("grub.cfg was not regenerated (%s): run update-grub or grub2-mkconfig in the system before booting it.",
                           root_is_host(ctx.root) ? "--no-bootloader-update" : "offline root");
        if (res.ukis > 0)
                log_notice("Unified kernel images on the ESP embed their command line: rebuild them (kernel-install add) "
                           "to carry the new one.");
        log_info("Recorded as change set %08u; 'iommuctl rollback' restores the previous files.", res.cs->id);

        return apply_reboot(&req, &res) < 0 ? EXIT_ERROR : EXIT_OK;
}

int verb_rollback(int argc, char *argv[]) {
        _cleanup_(config_done) Config config = {};
        _cleanup_(apply_result_done) ApplyResult res = {};
        int r;

        if (argc > 1)
                return log_error("rollback takes no arguments."), EXIT_ERROR;
        if (config_load(arg.root, &config) < 0)
                return EXIT_ERROR;
        r = rollback_run(arg.root, &config, arg.dry_run, regenerate_arg(), &res);
        if (r < 0)
                return EXIT_ERROR;
        if (res.recovered)
                return EXIT_OK;
        if (r == 0) {
                log_info("Nothing to roll back: no change set recorded under %s%s.", root_prefix(arg.root), CHANGESET_DIR);
                /* Programs get their answer too: nothing changed, no files. */
                if (arg.json)
                        print_result(&(const ChangeSet) {}, "rollback", NULL, arg.dry_run);
                return EXIT_OK;
        }
        print_result(res.cs, "rollback", NULL, arg.dry_run);
        if (!arg.dry_run)
                log_info("Change set %08u rolled back.", res.cs->id);
        return EXIT_OK;
}

void print_generator_armed_text(const Context *ctx) {
        _cleanup_free_ char *recorded = NULL, *why = NULL;
        DriftArmed a;

        if (drift_armed_under(ctx->root, &ctx->config, &a, &recorded) < 0 ||
            drift_armed_describe(a, ctx->config.profile, recorded, &why) < 0) {
                printf("Generator: cannot tell whether it is armed (%s unreadable)\n", DRIFT_RECORD_FILE);
                return;
        }
        if (!ctx->config.generator)
                printf("Generator: off (Generator=no in [Boot])\n");
        else
                printf("Generator: %s\n", why);
}

void print_generator_armed_json(const Context *ctx, JsonWriter *w) {
        _cleanup_free_ char *recorded = NULL;
        DriftArmed a;

        json_key(w, "generator");
        if (drift_armed_under(ctx->root, &ctx->config, &a, &recorded) < 0) {
                json_null(w);
                return;
        }
        json_begin_object(w);
        json_field_bool(w, "enabled", ctx->config.generator);
        json_field_bool(w, "armed", ctx->config.generator && drift_is_armed(a));
        json_field_string(w, "armed_by", drift_armed_to_string(a));
        json_field_string(w, "applied_profile", recorded);
        json_end_object(w);
}

/* The profile whose tokens undo removes: --profile, else the one applied on this node, else the
 * configured one. */
static int undo_profile(const Config *config, char **ret) {
        _cleanup_free_ char *recorded = NULL;
        int r;

        if (arg.profile)
                return (*ret = strdup(arg.profile)) ? 0 : -ENOMEM;
        r = drift_record_read(arg.root, &recorded);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read %s: %m", DRIFT_RECORD_FILE);
        if (recorded) {
                *ret = TAKE_PTR(recorded);
                return 0;
        }
        if (config->profile)
                return (*ret = strdup(config->profile)) ? 0 : -ENOMEM;
        *ret = NULL;
        return 0;
}

/* Undo removes the profile's tokens; what an apply removed to make room for them (a conflicting
 * iommu=off) stays removed. Says so, naming the change sets, when there are any. */
static void note_replaced(const Root *root) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ char *s = NULL;
        ChangeSetInfo *l = NULL;
        size_t n = 0;

        if (changeset_list(root, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char id[16];
                if (l[i].state != CHANGESET_COMPLETE || !l[i].verb || !startswith(l[i].verb, "apply") ||
                    !strv_contains(l[i].actions, "modified"))
                        continue;
                (void) snprintf(id, sizeof(id), "%08u", l[i].id);
                (void) strv_extend(&ids, id);
        }
        changeset_info_free(l, n);
        if (!ids || !(s = strv_join(ids, ", ")))
                return;
        log_notice("Tokens an apply removed to make room for the profile's (in change set%s %s) are not brought back by "
                   "undo; 'iommuctl history' lists the sets, 'iommuctl rollback' restores the files of the last one.",
                   strv_length(ids) == 1 ? "" : "s", s);
}

int verb_undo(int argc, char *argv[]) {
        _cleanup_(config_done) Config config = {};
        _cleanup_(apply_result_done) ApplyResult res = {};
        _cleanup_profile_ Profile *profile = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_free_ char *name = NULL;
        UndoRequest req;
        int r;

        if (argc > 1)
                return log_error("undo takes no arguments."), EXIT_ERROR;
        if (config_load(arg.root, &config) < 0)
                return EXIT_ERROR;
        r = undo_profile(&config, &name);
        if (r < 0)
                return log_oom(), EXIT_ERROR;
        if (!name) {
                log_info("Nothing to undo: no profile was applied under %s or is configured; pass --profile to name one.",
                         arg.root->path);
                if (arg.json)
                        print_result(&(ChangeSet) { .root = arg.root }, "undo", NULL, arg.dry_run);
                return EXIT_OK;
        }
        if (profile_load_full(arg.root, name, PROFILE_LOAD_NO_LINT, &profile) < 0)
                return EXIT_ERROR;
        if (profile_owned_keys(profile, &owned) < 0)
                return log_oom(), EXIT_ERROR;

        req = (UndoRequest) {
                .root = arg.root,
                .config = &config,
                .profile = profile->name,
                .owned = owned,
                .dry_run = arg.dry_run,
                .regenerate = regenerate_arg(),
        };
        r = undo_run(&req, &res);
        if (r < 0)
                return EXIT_ERROR;
        STRV_FOREACH(c, res.cannot)
                log_warning("Cannot undo %s.", *c);
        if (res.cs->n_items == 0) {
                if (arg.json)
                        print_result(res.cs, "undo", profile->name, arg.dry_run);
                else
                        log_info("Nothing to undo: no entry or file under %s carries a token of profile %s, and the "
                                 "generator is not armed.", arg.root->path, profile->name);
                return res.cannot ? EXIT_NO : EXIT_OK;
        }
        print_result(res.cs, "undo", profile->name, arg.dry_run);
        if (arg.dry_run)
                return EXIT_OK;
        if (res.grub_not_regenerated)
                log_notice("grub.cfg was not regenerated (%s): run update-grub or grub2-mkconfig in the system before booting it.",
                           root_is_host(arg.root) ? "--no-bootloader-update" : "offline root");
        log_info("Removed the tokens of profile %s as change set %08u; 'iommuctl rollback' restores them. Reboot to run "
                 "without them, and remove Profile= from the configuration.", profile->name, res.cs->id);
        note_replaced(arg.root);
        return res.cannot ? EXIT_NO : EXIT_OK;
}
