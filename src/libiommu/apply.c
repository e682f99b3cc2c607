/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <unistd.h>

#include "apply.h"
#include "atomic-write.h"
#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "drift.h"
#include "fileio.h"
#include "host.h"
#include "lint.h"
#include "log.h"
#include "spawn.h"
#include "status.h"
#include "strv.h"

static const char * const apply_reboot_names[_APPLY_REBOOT_MAX] = {
        [APPLY_REBOOT_NONE] = "none",
        [APPLY_REBOOT_NOW] = "now",
        [APPLY_REBOOT_SENTINEL] = "sentinel",
};

const char *apply_reboot_to_string(ApplyReboot r) {
        return STRING_TABLE_TO_STRING(apply_reboot_names, r);
}

ApplyReboot apply_reboot_decision(int reboot_arg, const Config *config) {
        if (reboot_arg > 0)
                return APPLY_REBOOT_NOW;
        if (config && config->reboot_sentinel)
                return APPLY_REBOOT_SENTINEL;
        if (reboot_arg < 0 && config && config->reboot)
                return APPLY_REBOOT_NOW;
        return APPLY_REBOOT_NONE;
}

bool apply_want_regenerate(int regenerate, const Root *root, const Config *config) {
        if (regenerate >= 0)
                return regenerate;
        return root_is_host(root) && (!config || config->bootloader_update);
}

void apply_result_done(ApplyResult *r) {
        changeset_free(r->cs);
        strv_free(r->dropped);
        strv_free(r->cannot);
        free(r->stale_cfg);
        free(r->stale_newer);
        *r = (ApplyResult) {};
}

/* Reboots the live host into the change just committed, once per command line: if the previous
 * boot already rebooted for the same tokens and they are still not on the running command line,
 * the boot loader does not read what was written, and another reboot would only loop. */
static int reboot_into(const ApplyRequest *req) {
        _cleanup_free_ char *tokens = cmdline_to_string(req->wanted), *stamp = NULL, *previous = NULL, *line = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        const char *cmd;
        int r;

        if (!tokens)
                return log_oom();
        /* IOMMUCTL_REBOOT_COMMAND replaces the reboot in tests, which run under --root. */
        cmd = getenv("IOMMUCTL_REBOOT_COMMAND");
        if (!root_is_host(req->root) && !cmd)
                return log_error_errno(-EINVAL, "--reboot applies to the running host, not to --root %s.", req->root->path);
        stamp = root_display(req->root, REBOOT_STAMP);
        if (!stamp)
                return log_oom();
        if (read_root_line(req->root, REBOOT_STAMP, &previous) >= 0 && streq(previous, tokens)) {
                _cleanup_cmdline_ Cmdline *running = NULL;
                _cleanup_(sync_judge_done) SyncJudge judge = SYNC_JUDGE(req->kernel, req->vendor);

                if (host_read_cmdline(req->root, &line) >= 0 && cmdline_parse(line, &running) >= 0 &&
                    !sync_judge_carries(&judge, running, req->owned, req->wanted))
                        return log_error_errno(-ELOOP, "Not rebooting: the previous boot already rebooted to get '%s', and "
                                               "the kernel still runs without it. The boot loader does not use the files "
                                               "written above; check which entry it boots ('iommuctl verify').", tokens);
        }
        r = write_root_file_atomic(req->root, REBOOT_STAMP, tokens, strlen(tokens));
        if (r < 0)
                return log_error_errno(r, "Failed to write %s, not rebooting: %m", stamp);

        /* Words, never a shell: IOMMUCTL_REBOOT_COMMAND is split on whitespace. */
        r = strv_split(cmd ?: "systemctl reboot", " \t", &argv);
        if (r < 0 || !argv || !argv[0])
                return log_error_errno(r < 0 ? r : -EINVAL, "Invalid reboot command '%s'.", strna(cmd));
        log_notice("Rebooting into the new kernel command line (%s).", cmd ?: "systemctl reboot");
        r = spawn_and_wait(argv, 0);
        if (r < 0)
                return r;
        if (r != 0)
                return log_error_errno(-EIO, "'%s' failed (exit status %d).", cmd ?: "systemctl reboot", r);
        return 0;
}

/* [Apply] RebootSentinel=: tells a reboot daemon (kured watches /var/run/reboot-required) that the
 * committed change needs a reboot, and leaves the cordon, drain and reboot to it. A sentinel that is
 * already there (another package's, or ours from an earlier change) is left as it is: the reboot
 * it asks for boots the files just written too. */
static int leave_reboot_sentinel(const Root *root, const char *sentinel) {
        static const char text[] = "*** System restart required ***\n";
        _cleanup_free_ char *path = root_display(root, sentinel);
        int r;

        if (!path)
                return log_oom();
        if (root_exists(root, sentinel)) {
                log_info("%s is already there: the reboot it asks for boots the new command line.", sentinel);
                return 0;
        }
        r = write_root_file_atomic(root, sentinel, text, strlen(text));
        if (r < 0)
                return log_error_errno(r, "Failed to create the reboot sentinel %s: %m", path);
        log_notice("Created %s: the reboot daemon watching it (kured) reboots into the new command line.", sentinel);
        return 0;
}

/* Restores the set just committed (grub.cfg could not follow it): the files only, no
 * regeneration, since grub.cfg was never generated from them. */
static int undo_commit(const Root *root, unsigned id) {
        _cleanup_changeset_ ChangeSet *cs = NULL;
        int r;

        r = changeset_load_last_for_rollback(root, &cs);
        if (r < 0)
                return r;
        if (cs->id != id)
                return log_error_errno(-ESTALE, "Change set %08u is not the one just committed (%08u); not restoring it.",
                                       cs->id, id);
        return changeset_rollback_commit(cs);
}

static int regenerate_grub_cfg(const Root *root) {
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        int r;

        r = boot_grub_find_regenerate(root, &grub);
        if (r < 0)
                return r;
        return boot_grub_regenerate(&grub);
}

/* Takes the lock and rolls back a set a crash interrupted, unless only planning. Returns how many
 * sets were rolled back. */
static int pipeline_begin(const Root *root, bool dry_run, ChangeSetLock *lock) {
        int r;

        if (dry_run)
                return 0;
        lock->root = root;
        r = changeset_lock(root, &lock->fd);
        if (r < 0)
                return r;
        return changeset_recover(root);
}

/* Commits res->cs (recording verb and profile for the history) and regenerates grub.cfg when the
 * GRUB defaults changed and regenerate says so; when that fails, the set is undone, so a run
 * changes its files and grub.cfg, or nothing. */
static int commit_and_regenerate(const Root *root, bool regenerate, const char *verb, const char *profile,
                                 ApplyResult *res) {
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        int r;

        if (regenerate && changeset_has_backend(res->cs, "grub")) {
                r = boot_grub_find_regenerate(root, &grub);
                if (r < 0)
                        return r;
        }
        if (res->cs->n_items > 0) {
                res->cs->verb = verb;
                res->cs->profile = profile;
                r = changeset_commit(res->cs);
                if (r < 0)
                        return r;
                res->committed = true;
        }
        if (grub.tool) {
                r = boot_grub_regenerate(&grub);
                if (r < 0) {
                        log_error("Restoring the files changed above, since grub.cfg could not be regenerated.");
                        (void) undo_commit(root, res->cs->id);
                        return r;
                }
                res->regenerated = true;
        } else if (changeset_has_backend(res->cs, "grub"))
                res->grub_not_regenerated = true;
        return 0;
}

int apply_run(const ApplyRequest *req, ApplyResult *ret) {
        _cleanup_(changeset_lock_release) ChangeSetLock lock = { .fd = -1 };
        _cleanup_(sync_judge_done) SyncJudge judge = SYNC_JUDGE(req->kernel, req->vendor);
        _cleanup_(apply_result_done) ApplyResult res = {};
        BootRequest br;
        size_t n_records = 0;
        bool regenerate;
        int r;

        /* Everything is planned before the first write, under the lock, after an interrupted set
         * was rolled back. */
        r = pipeline_begin(req->root, req->dry_run, &lock);
        if (r < 0)
                return r;
        if (changeset_new(req->root, &res.cs) < 0)
                return log_oom();

        /* Lines that already do what the profile does, in any order, are left byte for byte alone. */
        judge.note_dropped = true;
        judge.intent = req->intent;
        br = (BootRequest) {
                .root = req->root,
                .profile = req->profile,
                .owned = req->owned,
                .wanted = req->wanted,
                .judge = &judge,
                .entries = req->entries,
                .uki = req->uki,
        };
        memcpy(br.backends, req->backends, sizeof(br.backends));
        br.uki_addon_if_next = req->uki_addon_if_next;
        r = boot_plan(&br, res.cs);
        if (r < 0)
                return r;
        res.dropped = TAKE_PTR(judge.dropped);

        if (req->selection) {
                r = changeset_add(res.cs, CONFIG_SELECTION_FILE, req->selection, strlen(req->selection), 0644, "selection");
                if (r < 0)
                        return log_error_errno(r, "Failed to plan %s: %m", CONFIG_SELECTION_FILE);
                res.selection_changed = r > 0;
                n_records += r > 0;
        }
        if (req->record) {
                _cleanup_free_ char *text = NULL;

                if (drift_record_contents(req->profile, &text) < 0)
                        return log_oom();
                r = changeset_add(res.cs, DRIFT_RECORD_FILE, text, strlen(text), 0644, "record");
                if (r < 0)
                        return log_error_errno(r, "Failed to plan %s: %m", DRIFT_RECORD_FILE);
                n_records += r > 0;
        }
        res.boot_changed = res.cs->n_items > n_records;

        /* The GRUB defaults already carry the profile, but grub.cfg may not: an earlier apply ran
         * with --no-bootloader-update, or offline. */
        if (!res.boot_changed && req->backends[BOOT_BACKEND_GRUB] &&
            status_grub_cfg_stale(req->root, &res.stale_cfg, &res.stale_newer) < 0)
                return log_oom();

        if (req->dry_run) {
                *ret = res;
                res = (ApplyResult) {};
                return 0;
        }
        regenerate = apply_want_regenerate(req->regenerate, req->root, req->config);
        r = commit_and_regenerate(req->root, regenerate, req->verb ?: "apply", req->profile, &res);
        if (r < 0)
                return r;
        if (res.stale_newer && regenerate) {
                log_notice("%s was not generated from %s as it is now: regenerating it.", res.stale_cfg, res.stale_newer);
                r = regenerate_grub_cfg(req->root);
                if (r < 0)
                        return r;
                res.regenerated = true;
        }
        if (changeset_has_backend(res.cs, "kernel-cmdline"))
                res.ukis = boot_count_ukis(req->root);

        *ret = res;
        res = (ApplyResult) {};
        return 0;
}

int apply_reboot(const ApplyRequest *req, ApplyResult *res) {
        ApplyReboot d;
        int r;

        /* A change of the records alone changes nothing the kernel reads. */
        if (req->dry_run || !res->committed || !res->boot_changed)
                return 0;
        d = apply_reboot_decision(req->reboot, req->config);
        if (d == APPLY_REBOOT_SENTINEL && req->reboot < 0 && req->config && req->config->reboot)
                log_info("Not rebooting although Reboot=yes: RebootSentinel= leaves the reboot to the daemon watching %s.",
                         req->config->reboot_sentinel);
        if (d == APPLY_REBOOT_NOW)
                r = reboot_into(req);
        else if (d == APPLY_REBOOT_SENTINEL)
                r = leave_reboot_sentinel(req->root, req->config->reboot_sentinel);
        else
                r = 0;
        if (r < 0)
                return r;
        res->reboot = d;
        return 0;
}

int rollback_run(const Root *root, const Config *config, bool dry_run, int regenerate, ApplyResult *ret) {
        _cleanup_(changeset_lock_release) ChangeSetLock lock = { .fd = -1 };
        _cleanup_(apply_result_done) ApplyResult res = {};
        _cleanup_(grub_plan_done) GrubPlan grub = {};
        int r;

        r = pipeline_begin(root, dry_run, &lock);
        if (r < 0)
                return r;
        /* An interrupted set was the last one, and is rolled back now; or there is none. */
        res.recovered = r > 0;
        r = res.recovered ? -ENOENT : changeset_load_last_for_rollback(root, &res.cs);
        if (r == -ENOENT) {
                if (changeset_new(root, &res.cs) < 0)
                        return log_oom();
                *ret = res;
                res = (ApplyResult) {};
                return 0;
        }
        if (r < 0)
                return r;
        res.boot_changed = true;
        if (!dry_run) {
                if (apply_want_regenerate(regenerate, root, config) && changeset_has_backend(res.cs, "grub")) {
                        r = boot_grub_find_regenerate(root, &grub);
                        if (r < 0)
                                return r;
                }
                r = changeset_rollback_apply(res.cs);
                if (r < 0)
                        return r;
                /* All or nothing, as for apply: a grub.cfg that could not be regenerated would still
                 * boot the profile while the defaults say otherwise, so the files go back to the
                 * set's and the set stays the one to roll back. */
                if (grub.tool) {
                        r = boot_grub_regenerate(&grub);
                        if (r < 0) {
                                log_error("Writing back the files of change set %08u, since grub.cfg could not be "
                                          "regenerated; nothing was rolled back.", res.cs->id);
                                (void) changeset_rollback_revert(res.cs);
                                return r;
                        }
                        res.regenerated = true;
                }
                r = changeset_rollback_mark(res.cs);
                if (r < 0)
                        return r;
                res.committed = true;
                /* The restored files need a reboot as much as the change did. */
                if (config && config->reboot_sentinel) {
                        r = leave_reboot_sentinel(root, config->reboot_sentinel);
                        if (r < 0)
                                return r;
                        res.reboot = APPLY_REBOOT_SENTINEL;
                }
        }
        *ret = res;
        res = (ApplyResult) {};
        return 1;
}

/* What each backend looks for, for the error when one asked for is not there. */
static const char * const backend_looked_for[_BOOT_BACKEND_MAX] = {
        [BOOT_BACKEND_BLS] = "loader/entries/*.conf in /boot, /efi or /boot/efi",
        [BOOT_BACKEND_KERNEL_CMDLINE] = ("/etc/kernel/cmdline, or a kernel-install layout (install.conf layout=, "
                                         "systemd-boot on the ESP, BLS entries next to /usr/lib/kernel/install.d)"),
        [BOOT_BACKEND_GRUB] = "/etc/default/grub",
        [BOOT_BACKEND_UKI_ADDON] = "a unified kernel image in EFI/Linux/ that boots next",
};

int apply_select_backends(const Root *root, char * const *names, const char *names_from, bool ret[_BOOT_BACKEND_MAX]) {
        bool uki_if_next;
        int r;

        r = apply_select_backends_deferred(root, names, names_from, ret, &uki_if_next);
        if (r >= 0 && uki_if_next)
                ret[BOOT_BACKEND_UKI_ADDON] = boot_uki_addon_detect(root);
        return r;
}

int apply_select_backends_deferred(const Root *root, char * const *names, const char *names_from,
                                   bool ret[_BOOT_BACKEND_MAX], bool *ret_uki_addon_if_next) {
        bool found[_BOOT_BACKEND_MAX];
        int r;

        *ret_uki_addon_if_next = false;
        if (names) {
                r = boot_backends_from_list(names, ret);
                if (r < 0)
                        return r;
                /* A backend asked for and not there would write nothing, which is not success. The
                 * boot configuration model tells whether a UKI boots next: read only when asked. */
                (void) boot_detect_file_backends(root, found);
                found[BOOT_BACKEND_UKI_ADDON] = ret[BOOT_BACKEND_UKI_ADDON] && boot_uki_addon_detect(root);
                for (BootBackend b = 0; b < _BOOT_BACKEND_MAX; b++)
                        if (ret[b] && !found[b])
                                return log_error_errno(-ENOENT, "Backend %s was asked for (%s) but there is nothing of that "
                                                       "kind under %s: looked for %s. Nothing was changed.",
                                                       boot_backend_to_string(b), names_from, root->path, backend_looked_for[b]);
                return 0;
        }
        if (boot_detect_file_backends(root, ret) > 0) {
                *ret_uki_addon_if_next = true;
                return 0;
        }
        ret[BOOT_BACKEND_UKI_ADDON] = boot_uki_addon_detect(root);
        if (!ret[BOOT_BACKEND_UKI_ADDON])
                return log_error_errno(-ENOENT, "No boot configuration found under %s: no loader/entries in /boot, /efi or "
                                       "/boot/efi, no /etc/kernel/cmdline or kernel-install layout, no /etc/default/grub. "
                                       "Pass --backend to say which to write.", root->path);
        return 0;
}

int apply_check_tokens(const char *profile, Vendor vendor, Arch arch, const Cmdline *wanted) {
        _cleanup_(lint_report_done) LintReport report = {};
        const char *bad_token = NULL;
        char bad = 0;
        int r;

        r = cmdline_check_safe(wanted, &bad_token, &bad);
        if (r < 0)
                return log_error_errno(r, "Profile %s: token '%s' contains '%c', which is unsafe in GRUB and shell files. "
                                       "Nothing was changed.", profile, strna(bad_token), bad ?: '?');
        r = lint_cmdline(wanted, arch, &report);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < report.n_findings; i++)
                if (report.findings[i].severity == SEVERITY_ERROR)
                        log_error("Profile %s (%s): %s: %s", profile, vendor_to_string(vendor),
                                  report.findings[i].token, report.findings[i].message);
        if (lint_report_count(&report, SEVERITY_ERROR) > 0)
                return log_error_errno(-EINVAL, "Refusing to write tokens the kernel would not accept. Nothing was changed.");
        return 0;
}

int apply_selection_contents(const Config *config, const char *profile, bool profile_given, Vendor vendor_arg, char **ret) {
        Vendor vendor = _VENDOR_INVALID;

        if (!profile_given && vendor_arg < 0) {
                *ret = NULL;
                return 0;
        }
        if (vendor_arg >= 0)
                vendor = vendor_arg;
        else if (config->vendor_from && endswith(config->vendor_from, CONFIG_SELECTION_FILE))
                vendor = config->vendor; /* keep the vendor recorded before */
        return config_selection_contents(profile, vendor, ret);
}

/* Whether the UKI at path has owned tokens on its line without our add-ons (in its own .cmdline or
 * in someone else's add-on). */
static int uki_embeds_owned(const Root *root, const BootSpec *b, const char *path, char * const *owned, const Cmdline *none) {
        for (size_t i = 0; i < b->n_entries; i++) {
                _cleanup_free_ char *line = NULL;
                _cleanup_cmdline_ Cmdline *c = NULL;

                if (b->entries[i].type != BOOTSPEC_TYPE2 || !streq(b->entries[i].path, path))
                        continue;
                if (uki_line_without_ours(root, &b->entries[i], &line) < 0)
                        return -ENOMEM;
                if (cmdline_parse(line, &c) < 0)
                        return 1;
                return !sync_judge_carries(NULL, c, owned, none);
        }
        return 1;
}

/* What undo cannot bring back by rewriting a file: UKIs embed their command line. */
static int undo_cannot(const Root *root, char * const *owned, char ***ret) {
        _cleanup_(status_done) Status s = {};
        _cleanup_cmdline_ Cmdline *none = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = cmdline_parse("", &none);
        if (r < 0)
                return r;
        r = status_collect(root, owned, none, NULL, &s);
        if (r < 0)
                return r;
        /* Against "no tokens", an entry "carries" when none of the owned keys is on it. */
        for (size_t i = 0; i < s.n_entries; i++) {
                const StatusEntry *e = &s.entries[i];
                _cleanup_free_ char *why = NULL;

                if (e->kind != STATUS_UKI || !e->options || e->carries)
                        continue;
                r = uki_embeds_owned(root, &s.spec, e->path, owned, none);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue; /* only our add-on carried them, and it goes */
                if (asprintf(&why, "%s: a unified kernel image embeds its command line; rebuild it (kernel-install add) "
                             "after the undo", e->path) < 0 || strv_consume(&l, TAKE_PTR(why)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int undo_run(const UndoRequest *req, ApplyResult *ret) {
        _cleanup_(changeset_lock_release) ChangeSetLock lock = { .fd = -1 };
        _cleanup_(apply_result_done) ApplyResult res = {};
        _cleanup_cmdline_ Cmdline *none = NULL;
        BootRequest br;
        int r;

        r = pipeline_begin(req->root, req->dry_run, &lock);
        if (r < 0)
                return r;
        if (changeset_new(req->root, &res.cs) < 0 || cmdline_parse("", &none) < 0)
                return log_oom();

        /* Every entry and file of every backend, the profile's owned tokens removed and none added:
         * also the entries kernel-install's plugin wrote after apply, which no one change set holds. */
        br = (BootRequest) {
                .root = req->root,
                .profile = req->profile,
                .owned = req->owned,
                .wanted = none,
        };
        (void) boot_detect_file_backends(req->root, br.backends);
        br.backends[BOOT_BACKEND_UKI_ADDON] = true; /* every add-on of ours goes, whatever boots next */
        /* Not created where there is none (it would be seeded from the running line). */
        br.backends[BOOT_BACKEND_KERNEL_CMDLINE] = br.backends[BOOT_BACKEND_KERNEL_CMDLINE] &&
                                                   root_exists(req->root, KERNEL_CMDLINE);
        r = boot_plan(&br, res.cs);
        if (r < 0)
                return r;
        /* Disarm the generator, and drop the selection apply --profile recorded. */
        r = changeset_add(res.cs, DRIFT_RECORD_FILE, NULL, 0, 0644, "record");
        if (r >= 0)
                r = changeset_add(res.cs, CONFIG_SELECTION_FILE, NULL, 0, 0644, "selection");
        if (r < 0)
                return r;
        res.boot_changed = false;
        for (size_t i = 0; i < res.cs->n_items; i++)
                if (!streq(res.cs->items[i].backend, "record") && !streq(res.cs->items[i].backend, "selection"))
                        res.boot_changed = true;
        r = undo_cannot(req->root, req->owned, &res.cannot);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", req->root->path);

        if (req->dry_run || res.cs->n_items == 0) {
                *ret = res;
                res = (ApplyResult) {};
                return 0;
        }
        r = commit_and_regenerate(req->root, apply_want_regenerate(req->regenerate, req->root, req->config), "undo",
                                  req->profile, &res);
        if (r < 0)
                return r;
        /* The files without the profile need a reboot as much as the change did. */
        if (res.boot_changed && req->config && req->config->reboot_sentinel) {
                r = leave_reboot_sentinel(req->root, req->config->reboot_sentinel);
                if (r < 0)
                        return r;
                res.reboot = APPLY_REBOOT_SENTINEL;
        }
        *ret = res;
        res = (ApplyResult) {};
        return 0;
}
