/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/boot-grub.h"
#include "libiommu/boot-kernel-cmdline.h"
#include "libiommu/boot.h"
#include "libiommu/atomic-write.h"
#include "libiommu/changeset.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/lint.h"
#include "libiommu/log.h"
#include "libiommu/plan.h"
#include "libiommu/spawn.h"
#include "libiommu/status.h"
#include "libiommu/strv.h"

static const char *item_action(const ChangeItem *c, bool restore) {
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
        for (size_t i = 0; i < cs->n_items; i++)
                printf("%-8s %s (%s)\n", item_action(&cs->items[i], streq(verb, "rollback")), cs->items[i].path, cs->items[i].backend);
}

/* grub.cfg is regenerated on a live host when the GRUB defaults changed, unless told not to. */
static bool want_regenerate(const ChangeSet *cs, const Config *config) {
        return changeset_has_backend(cs, "grub") && root_is_host(cs->root) && !arg.no_bootloader_update &&
               (!config || config->bootloader_update);
}

/* What each backend looks for, for the error when one asked for is not there. */
static const char * const backend_looked_for[_BOOT_BACKEND_MAX] = {
        [BOOT_BACKEND_BLS] = "loader/entries/*.conf in /boot, /efi or /boot/efi",
        [BOOT_BACKEND_KERNEL_CMDLINE] = "/etc/kernel/cmdline, or a kernel-install layout (install.conf layout=, "
                                        "systemd-boot on the ESP, BLS entries next to /usr/lib/kernel/install.d)",
        [BOOT_BACKEND_GRUB] = "/etc/default/grub",
};

static int select_backends(const Context *ctx, bool backends[_BOOT_BACKEND_MAX]) {
        _cleanup_strv_free_ char **names = NULL;
        bool found[_BOOT_BACKEND_MAX];
        int r;

        if (arg.backends) {
                r = strv_split(arg.backends, ",", &names);
                if (r < 0)
                        return log_oom();
        }
        if (names || ctx->config.backends) {
                r = boot_backends_from_list(names ?: ctx->config.backends, backends);
                if (r < 0)
                        return r;
                /* A backend asked for and not there would write nothing, which is not success. */
                (void) boot_detect_backends(ctx->root, found);
                for (BootBackend b = 0; b < _BOOT_BACKEND_MAX; b++)
                        if (backends[b] && !found[b])
                                return log_error_errno(-ENOENT, "Backend %s was asked for (%s) but there is nothing of that "
                                                       "kind under %s: looked for %s. Nothing was changed.",
                                                       boot_backend_to_string(b),
                                                       names ? "--backend" : "Backends= in [Apply]", ctx->root,
                                                       backend_looked_for[b]);
                return 0;
        }
        if (boot_detect_backends(ctx->root, backends) == 0)
                return log_error_errno(-ENOENT, "No boot configuration found under %s: no loader/entries in /boot, /efi or "
                                       "/boot/efi, no /etc/kernel/cmdline or kernel-install layout, no /etc/default/grub. "
                                       "Pass --backend to say which to write.", ctx->root);
        return 0;
}

static int validate_tokens(const Context *ctx, const Cmdline *wanted) {
        _cleanup_(lint_report_done) LintReport report = {};
        const char *bad_token = NULL;
        char bad = 0;
        int r;

        r = cmdline_check_safe(wanted, &bad_token, &bad);
        if (r < 0)
                return log_error_errno(r, "Profile %s: token '%s' contains '%c', which is unsafe in GRUB and shell files. "
                                       "Nothing was changed.", ctx->profile->name, strna(bad_token), bad ?: '?');
        r = lint_cmdline(wanted, ctx->host.arch, &report);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < report.n_findings; i++)
                if (report.findings[i].severity == SEVERITY_ERROR)
                        log_error("Profile %s (%s): %s: %s", ctx->profile->name, vendor_to_string(ctx->args_vendor),
                                  report.findings[i].token, report.findings[i].message);
        if (lint_report_count(&report, SEVERITY_ERROR) > 0)
                return log_error_errno(-EINVAL, "Refusing to write tokens the kernel would not accept. Nothing was changed.");
        return 0;
}

static int rollback_last(const char *root, bool quiet_if_none, const Config *config);

/* The selection the command line made (--profile, --vendor) is recorded in CONFIG_SELECTION_FILE,
 * in the same change set as the boot files, so the generator enforces what was applied and
 * rollback restores the previous selection. Without either option apply follows the configuration
 * and records nothing. Returns 1 when the selection changes. */
static int plan_selection(const Context *ctx, ChangeSet *cs) {
        _cleanup_free_ char *text = NULL;
        Vendor vendor = _VENDOR_INVALID;
        int r;

        if (!arg.profile && arg.vendor < 0)
                return 0;
        if (arg.vendor >= 0)
                vendor = arg.vendor;
        else if (ctx->config.vendor_from && endswith(ctx->config.vendor_from, CONFIG_SELECTION_FILE))
                vendor = ctx->config.vendor; /* keep the vendor recorded before */
        r = config_selection_contents(ctx->profile->name, vendor, &text);
        if (r < 0)
                return log_oom();
        r = changeset_add(cs, CONFIG_SELECTION_FILE, text, strlen(text), 0644, "selection");
        if (r < 0)
                return log_error_errno(r, "Failed to plan %s: %m", CONFIG_SELECTION_FILE);
        return r;
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

#define REBOOT_STAMP "/var/lib/iommu/reboot-requested"

/* Reboots the live host into the change just committed, once per command line: if the previous
 * boot already rebooted for the same tokens and they are still not on the running command line,
 * the boot loader does not read what was written, and another reboot would only loop. */
static int reboot_into(const Context *ctx, char * const *owned, const Cmdline *wanted) {
        _cleanup_free_ char *tokens = cmdline_to_string(wanted), *stamp = NULL, *previous = NULL, *line = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const char *cmd;
        int r;

        if (!tokens)
                return log_oom();
        /* IOMMUCTL_REBOOT_COMMAND replaces the reboot in tests, which run under --root. */
        cmd = getenv("IOMMUCTL_REBOOT_COMMAND");
        if (!root_is_host(ctx->root) && !cmd)
                return log_error_errno(-EINVAL, "--reboot applies to the running host, not to --root %s.", ctx->root);
        stamp = root_path(ctx->root, REBOOT_STAMP);
        if (!stamp)
                return log_oom();
        if (read_one_line_file(stamp, &previous) >= 0 && streq(previous, tokens)) {
                _cleanup_cmdline_ Cmdline *running = NULL;

                if (host_read_cmdline(ctx->root, &line) >= 0 && cmdline_parse(line, &running) >= 0 &&
                    !sync_judge_carries(&SYNC_JUDGE(&ctx->kernel, ctx->args_vendor), running, owned, wanted))
                        return log_error_errno(-ELOOP, "Not rebooting: the previous boot already rebooted to get '%s', and "
                                               "the kernel still runs without it. The boot loader does not use the files "
                                               "written above; check which entry it boots ('iommuctl verify').", tokens);
        }
        r = mkdir_parents_of(stamp, 0755);
        if (r >= 0)
                r = write_file_atomic(stamp, tokens, strlen(tokens), 0644, (uid_t) -1, (gid_t) -1);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s, not rebooting: %m", stamp);

        /* Words, never a shell: IOMMUCTL_REBOOT_COMMAND is split on whitespace. */
        r = strv_split(cmd ?: "systemctl reboot", " \t", &argv);
        if (r < 0 || !argv || !argv[0])
                return log_error_errno(r < 0 ? r : -EINVAL, "Invalid reboot command '%s'.", cmd);
        log_notice("Rebooting into the new kernel command line (%s).", cmd ?: "systemctl reboot");
        r = spawn_and_wait(argv, 0);
        if (r < 0)
                return r;
        if (r != 0)
                return log_error_errno(-EIO, "'%s' failed (exit status %d).", cmd ?: "systemctl reboot", r);
        return 0;
}

/* The GRUB defaults already carry the profile, but grub.cfg may not: an earlier apply ran with
 * --no-bootloader-update, or offline. Regenerate it where apply would have, else say so. */
static int regenerate_stale_grub_cfg(const Context *ctx) {
        _cleanup_free_ char *cfg = NULL, *newer = NULL;
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        bool regenerate = root_is_host(ctx->root) && !arg.no_bootloader_update && ctx->config.bootloader_update;
        int r;

        r = status_grub_cfg_stale(ctx->root, &cfg, &newer);
        if (r < 0)
                return log_oom();
        if (!newer || arg.dry_run || !regenerate) {
                if (arg.json)
                        print_result(&(ChangeSet) { .root = (char *) ctx->root }, "apply", ctx->profile->name, arg.dry_run);
                else
                        log_info("Nothing to change: the boot configuration under %s already carries profile %s.", ctx->root,
                                 ctx->profile->name);
                if (newer)
                        log_notice("But %s is older than %s, which it is generated from: %s.", cfg, newer,
                                   arg.dry_run ? "apply would regenerate it"
                                               : "run update-grub or grub2-mkconfig in the system before booting it");
                return 0;
        }
        log_notice("%s is older than %s, which it is generated from: regenerating it.", cfg, newer);
        r = boot_grub_find_regenerate(ctx->root, &grub);
        if (r < 0)
                return r;
        return boot_grub_regenerate(&grub);
}

/* [Apply] RebootSentinel=: tells a reboot daemon (kured watches /var/run/reboot-required) that the
 * committed change needs a reboot, and leaves the cordon, drain and reboot to it. A sentinel that is
 * already there (another package's, or ours from an earlier change) is left as it is: the reboot
 * it asks for boots the files just written too. */
static int leave_reboot_sentinel(const char *root, const char *sentinel) {
        static const char text[] = "*** System restart required ***\n";
        _cleanup_free_ char *path = root_path(root, sentinel);
        int r;

        if (!path)
                return log_oom();
        if (access(path, F_OK) >= 0) {
                log_info("%s is already there: the reboot it asks for boots the new command line.", sentinel);
                return 0;
        }
        r = mkdir_parents_of(path, 0755);
        if (r >= 0)
                r = write_file_atomic(path, text, strlen(text), 0644, (uid_t) -1, (gid_t) -1);
        if (r < 0)
                return log_error_errno(r, "Failed to create the reboot sentinel %s: %m", path);
        log_notice("Created %s: the reboot daemon watching it (kured) reboots into the new command line.", sentinel);
        return 0;
}

/* After a committed change: --reboot=yes reboots; otherwise RebootSentinel= leaves the reboot to the
 * daemon watching the sentinel (it wins over Reboot=yes, which would reboot without a drain);
 * otherwise --reboot=config reboots as Reboot= says. */
static int after_commit(const Context *ctx, char * const *owned, const Cmdline *wanted) {
        if (arg.reboot > 0)
                return reboot_into(ctx, owned, wanted);
        if (ctx->config.reboot_sentinel) {
                if (arg.reboot < 0 && ctx->config.reboot)
                        log_info("Not rebooting although Reboot=yes: RebootSentinel= leaves the reboot to the daemon watching %s.",
                                 ctx->config.reboot_sentinel);
                return leave_reboot_sentinel(ctx->root, ctx->config.reboot_sentinel);
        }
        if (arg.reboot < 0 && ctx->config.reboot)
                return reboot_into(ctx, owned, wanted);
        return 0;
}

int verb_apply(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_(changeset_lock_release) ChangeSetLock lock = { .fd = -1 };
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        ContextOptions o = args_context_options(true);
        _cleanup_(sync_judge_done) SyncJudge judge = {};
        BootRequest req = {};
        bool selection_changed;
        int r;

        if (argc > 1)
                return log_error("apply takes no arguments."), EXIT_ERROR;

        /* Everything is validated and computed before the first write. */
        r = context_load(&o, &ctx);
        if (r < 0)
                return EXIT_ERROR;
        if (context_profile_args(&ctx, &wanted, &owned) < 0)
                return EXIT_ERROR;
        if (validate_tokens(&ctx, wanted) < 0)
                return EXIT_ERROR;

        req = (BootRequest) {
                .root = ctx.root,
                .profile = ctx.profile->name,
                .owned = owned,
                .wanted = wanted,
                .judge = &judge,
                .entries = arg.entries ?: ctx.config.entries,
        };
        judge = SYNC_JUDGE(&ctx.kernel, ctx.args_vendor);
        judge.note_dropped = true;
        if (select_backends(&ctx, req.backends) < 0)
                return EXIT_ERROR;

        if (!arg.dry_run) {
                lock.root = ctx.root;
                if (changeset_lock(ctx.root, &lock.fd) < 0)
                        return EXIT_ERROR;
                if (changeset_recover(ctx.root) < 0)
                        return EXIT_ERROR;
        }
        if (changeset_new(ctx.root, &cs) < 0)
                return log_oom(), EXIT_ERROR;
        /* Lines that already do what the profile does, in any order, are left byte for byte alone. */
        r = boot_plan(&req, cs);
        if (r >= 0 && judge.dropped) {
                _cleanup_free_ char *d = strv_join(judge.dropped, " ");
                log_notice("Dropping %s from the lines rewritten: %s nothing on this kernel.", strna(d),
                           strv_length(judge.dropped) == 1 ? "it changes" : "they change");
        }
        if (r < 0)
                return EXIT_ERROR;
        r = plan_selection(&ctx, cs);
        if (r < 0)
                return EXIT_ERROR;
        selection_changed = r > 0;

        if (cs->n_items == 0) {
                if (req.backends[BOOT_BACKEND_GRUB])
                        return regenerate_stale_grub_cfg(&ctx) < 0 ? EXIT_ERROR : EXIT_OK;
                if (arg.json)
                        print_result(cs, "apply", ctx.profile->name, arg.dry_run);
                else
                        log_info("Nothing to change: the boot configuration under %s already carries profile %s.", ctx.root,
                                 ctx.profile->name);
                return EXIT_OK;
        }
        if (arg.dry_run) {
                print_result(cs, "apply", ctx.profile->name, true);
                return EXIT_OK;
        }
        if (want_regenerate(cs, &ctx.config) && boot_grub_find_regenerate(ctx.root, &grub) < 0)
                return EXIT_ERROR;

        if (changeset_commit(cs) < 0)
                return EXIT_ERROR;
        print_result(cs, "apply", ctx.profile->name, false);
        if (selection_changed)
                log_selection(&ctx);

        if (grub.tool) {
                r = boot_grub_regenerate(&grub);
                if (r < 0) {
                        log_error("Restoring the files changed above, since grub.cfg could not be regenerated.");
                        (void) rollback_last(ctx.root, false, NULL);
                        return EXIT_ERROR;
                }
        } else if (changeset_has_backend(cs, "grub"))
                log_notice("grub.cfg was not regenerated (%s): run update-grub or grub2-mkconfig in the system before booting it.",
                           root_is_host(ctx.root) ? "--no-bootloader-update" : "offline root");
        if (changeset_has_backend(cs, "kernel-cmdline") && boot_count_ukis(ctx.root) > 0)
                log_notice("Unified kernel images on the ESP embed their command line: rebuild them (kernel-install add) "
                           "to carry the new one.");
        log_info("Recorded as change set %08u; 'iommuctl rollback' restores the previous files.", cs->id);

        /* A change of the selection alone changes nothing the kernel reads. */
        if (selection_changed && cs->n_items == 1)
                return EXIT_OK;
        r = after_commit(&ctx, owned, wanted);
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static int rollback_last(const char *root, bool quiet_if_none, const Config *config) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        int r;

        r = changeset_load_last_for_rollback(root, &cs);
        if (r == -ENOENT) {
                if (!quiet_if_none)
                        log_info("Nothing to roll back: no change set recorded under %s%s.",
                                 root_is_host(root) ? "" : root, CHANGESET_DIR);
                return 0;
        }
        if (r < 0)
                return r;
        if (arg.dry_run) {
                print_result(cs, "rollback", NULL, true);
                return 0;
        }
        if (want_regenerate(cs, config) && boot_grub_find_regenerate(root, &grub) < 0)
                return -ENOENT;
        r = changeset_rollback_commit(cs);
        if (r < 0)
                return r;
        print_result(cs, "rollback", NULL, false);
        if (grub.tool)
                r = boot_grub_regenerate(&grub);
        log_info("Change set %08u rolled back.", cs->id);
        return r < 0 ? r : 1;
}

int verb_rollback(int argc, char *argv[]) {
        _cleanup_(config_done) Config config = {};
        _cleanup_(changeset_lock_release) ChangeSetLock lock = { .fd = -1 };
        int r;

        if (argc > 1)
                return log_error("rollback takes no arguments."), EXIT_ERROR;
        if (config_load(arg.root, &config) < 0)
                return EXIT_ERROR;
        if (!arg.dry_run) {
                lock.root = arg.root;
                if (changeset_lock(arg.root, &lock.fd) < 0)
                        return EXIT_ERROR;
                r = changeset_recover(arg.root);
                if (r < 0)
                        return EXIT_ERROR;
                if (r > 0)
                        return EXIT_OK; /* the interrupted set was the last one; it is rolled back now */
        }
        r = rollback_last(arg.root, false, &config);
        if (r < 0)
                return EXIT_ERROR;
        /* The restored files need a reboot as much as the change did. */
        if (r > 0 && !arg.dry_run && config.reboot_sentinel && leave_reboot_sentinel(arg.root, config.reboot_sentinel) < 0)
                return EXIT_ERROR;
        return EXIT_OK;
}
