/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The apply and rollback pipelines of libiommu/apply.c against temporary roots: plan, commit,
 * records, regenerate with undo on failure, rollback, and the reboot decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "apply.h"
#include "drift.h"
#include "strv.h"
#include "test-util.h"

#define ENTRY "/boot/loader/entries/a-6.1.conf"
#define ENTRY_TEXT "title A\nversion 6.1\nlinux /vmlinuz-6.1\noptions root=/dev/sda1 ro quiet\n"

static char *read_file_under(const char *root, const char *path) {
        char *s = NULL;
        if (read_root_file(test_root(root), path, 1 << 20, &s, NULL) < 0)
                return NULL;
        return s;
}

static void test_reboot_decision(void **state) {
        Config c = {};

        assert_int_equal(apply_reboot_decision(-1, &c), APPLY_REBOOT_NONE);
        assert_int_equal(apply_reboot_decision(1, &c), APPLY_REBOOT_NOW);
        c.reboot = true;
        assert_int_equal(apply_reboot_decision(-1, &c), APPLY_REBOOT_NOW);
        assert_int_equal(apply_reboot_decision(0, &c), APPLY_REBOOT_NONE);
        /* The sentinel leaves the drain and reboot to kured: it wins over Reboot=yes ... */
        c.reboot_sentinel = (char *) "/run/reboot-required";
        assert_int_equal(apply_reboot_decision(-1, &c), APPLY_REBOOT_SENTINEL);
        assert_int_equal(apply_reboot_decision(0, &c), APPLY_REBOOT_SENTINEL);
        /* ... but not over --reboot=yes. */
        assert_int_equal(apply_reboot_decision(1, &c), APPLY_REBOOT_NOW);
        assert_string_equal(apply_reboot_to_string(APPLY_REBOOT_SENTINEL), "sentinel");
}

static void test_want_regenerate(void **state) {
        Config c = { .bootloader_update = true };
        char *image = test_mkroot();

        assert_true(apply_want_regenerate(-1, test_root("/"), &c));
        assert_false(apply_want_regenerate(-1, test_root(image), &c));
        assert_false(apply_want_regenerate(0, test_root("/"), &c));
        assert_true(apply_want_regenerate(1, test_root(image), &c));
        c.bootloader_update = false;
        assert_false(apply_want_regenerate(-1, test_root("/"), &c));
        test_rmroot(image);
}

static void request(ApplyRequest *req, const char *root, char * const *owned, const Cmdline *wanted) {
        *req = (ApplyRequest) {
                .root = test_root(root),
                .profile = "gpu-sriov",
                .owned = owned,
                .wanted = wanted,
                .vendor = VENDOR_INTEL,
                .record = true,
                .regenerate = 0,
                .reboot = 0,
        };
}

static void test_apply_and_rollback(void **state) {
        char *root = test_mkroot();
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_free_ char *profile = NULL, *entry = NULL, *selection = NULL;
        Config config = {};
        ApplyRequest req;

        test_write(root, ENTRY, ENTRY_TEXT);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        request(&req, root, (char **) iommu_owned_keys, wanted);
        req.config = &config;
        assert_int_equal(apply_select_backends(test_root(root), NULL, NULL, req.backends), 0);
        assert_true(req.backends[BOOT_BACKEND_BLS]);
        assert_false(req.backends[BOOT_BACKEND_GRUB]);
        assert_int_equal(apply_select_backends(test_root(root), STRV_MAKE("grub"), "--backend", req.backends), -ENOENT);
        assert_int_equal(apply_select_backends(test_root(root), NULL, NULL, req.backends), 0);

        /* Not armed before apply. */
        assert_int_equal(drift_record_read(test_root(root), &profile), -ENOENT);

        /* A dry run plans the entry and the record and writes nothing. */
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                req.dry_run = true;
                assert_int_equal(apply_run(&req, &res), 0);
                assert_int_equal(res.cs->n_items, 2);
                assert_true(res.boot_changed);
                assert_false(res.committed);
                entry = read_file_under(root, ENTRY);
                assert_string_equal(entry, ENTRY_TEXT);
                entry = mfree(entry);
                req.dry_run = false;
        }
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(apply_run(&req, &res), 0);
                assert_true(res.committed && res.boot_changed);
                assert_true(res.cs->id > 0);
                assert_int_equal(apply_reboot(&req, &res), 0);
                assert_int_equal(res.reboot, APPLY_REBOOT_NONE);
                entry = read_file_under(root, ENTRY);
                assert_non_null(strstr(entry, "options root=/dev/sda1 ro quiet intel_iommu=on iommu=pt\n"));
                entry = mfree(entry);
                assert_int_equal(drift_record_read(test_root(root), &profile), 0);
                assert_string_equal(profile, "gpu-sriov");
                profile = mfree(profile);
        }
        /* Idempotent: the second run changes nothing, commits nothing. */
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(apply_run(&req, &res), 0);
                assert_int_equal(res.cs->n_items, 0);
                assert_false(res.committed);
        }
        /* A selection alone is committed but changes nothing the boot reads: no reboot. */
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(apply_selection_contents(&config, "gpu-sriov", true, _VENDOR_INVALID, &selection), 0);
                req.selection = selection;
                req.reboot = 1; /* would fail under a root without IOMMUCTL_REBOOT_COMMAND */
                assert_int_equal(apply_run(&req, &res), 0);
                assert_true(res.committed && res.selection_changed);
                assert_false(res.boot_changed);
                assert_int_equal(apply_reboot(&req, &res), 0);
                assert_int_equal(res.reboot, APPLY_REBOOT_NONE);
                req.selection = NULL;
                req.reboot = 0;
        }
        /* Rollback: the selection set, then the profile's (entry and record), then nothing. */
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(rollback_run(test_root(root), &config, false, 0, &res), 1);
                assert_int_equal(res.cs->n_items, 1);
                assert_false(root_exists(test_root(root), CONFIG_SELECTION_FILE));
        }
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(rollback_run(test_root(root), &config, false, 0, &res), 1);
                entry = read_file_under(root, ENTRY);
                assert_string_equal(entry, ENTRY_TEXT);
                entry = mfree(entry);
                assert_int_equal(drift_record_read(test_root(root), &profile), -ENOENT);
        }
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(rollback_run(test_root(root), &config, false, 0, &res), 0);
                assert_int_equal(res.cs->n_items, 0);
        }
        test_rmroot(root);
}

/* grub.cfg cannot be regenerated: the committed set is undone, every file as it was. */
static void test_undo_on_failed_regenerate(void **state) {
        char *root = test_mkroot(), *bin = test_mkroot();
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_free_ char *grub = NULL, *tool = test_root_path(bin, "/update-grub"), *path = NULL, *old_path = NULL;
        _cleanup_(apply_result_done) ApplyResult res = {};
        const char *defaults = "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n";
        Config config = { .bootloader_update = true };
        ApplyRequest req;

        test_write(root, "/etc/default/grub", defaults);
        test_write(root, "/etc/debian_version", "12.5\n");
        test_write(bin, "/update-grub", "#!/bin/sh\necho 'update-grub: cannot find a GRUB drive' >&2\nexit 1\n");
        assert_int_equal(chmod(tool, 0755), 0);
        old_path = strdup(getenv("PATH") ?: "/usr/bin:/bin");
        assert_true(asprintf(&path, "%s:%s", bin, old_path) > 0);
        setenv("PATH", path, 1);

        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        request(&req, root, (char **) iommu_owned_keys, wanted);
        req.config = &config;
        req.regenerate = 1;
        assert_int_equal(apply_select_backends(test_root(root), NULL, NULL, req.backends), 0);
        assert_true(req.backends[BOOT_BACKEND_GRUB]);
        assert_int_equal(apply_run(&req, &res), -EPROTO);
        setenv("PATH", old_path, 1);

        grub = read_file_under(root, "/etc/default/grub");
        assert_string_equal(grub, defaults);
        assert_false(root_exists(test_root(root), "/etc/default/grub.d/60-iommu.cfg"));
        assert_false(root_exists(test_root(root), DRIFT_RECORD_FILE));
        /* It was committed (change set 1), then undone: nothing left to roll back. */
        assert_true(root_exists(test_root(root), CHANGESET_DIR "/00000001"));
        {
                _cleanup_(apply_result_done) ApplyResult again = {};
                assert_int_equal(rollback_run(test_root(root), &config, true, 0, &again), 0);
        }
        test_rmroot(root);
        test_rmroot(bin);
}

/* undo converges over entries no change set wrote (kernel-install's), and a second run finds nothing. */
static void test_undo(void **state) {
        char *root = test_mkroot();
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_free_ char *entry = NULL, *other = NULL;
        Config config = {};
        ApplyRequest req;
        UndoRequest u = {
                .root = test_root(root),
                .config = &config,
                .profile = "gpu-sriov",
                .owned = (char **) iommu_owned_keys,
                .regenerate = 0,
        };

        test_write(root, ENTRY, ENTRY_TEXT);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        request(&req, root, (char **) iommu_owned_keys, wanted);
        req.config = &config;
        assert_int_equal(apply_select_backends(test_root(root), NULL, NULL, req.backends), 0);
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(apply_run(&req, &res), 0);
                assert_true(res.committed);
        }
        /* A kernel installed after apply, its entry written by kernel-install with the tokens. */
        test_write(root, "/boot/loader/entries/a-6.5.conf",
                   "title A\nversion 6.5\nlinux /vmlinuz-6.5\noptions root=/dev/sda1 ro intel_iommu=on iommu=pt quiet\n");
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                u.dry_run = true;
                assert_int_equal(undo_run(&u, &res), 0);
                assert_int_equal(res.cs->n_items, 3); /* two entries and the record */
                assert_false(res.committed);
                u.dry_run = false;
        }
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(undo_run(&u, &res), 0);
                assert_true(res.committed && res.boot_changed);
                assert_null(res.cannot);
        }
        entry = read_file_under(root, ENTRY);
        assert_string_equal(entry, ENTRY_TEXT);
        other = read_file_under(root, "/boot/loader/entries/a-6.5.conf");
        assert_non_null(strstr(other, "options root=/dev/sda1 ro quiet\n"));
        assert_false(root_exists(test_root(root), DRIFT_RECORD_FILE));
        {
                _cleanup_(apply_result_done) ApplyResult res = {};
                assert_int_equal(undo_run(&u, &res), 0);
                assert_int_equal(res.cs->n_items, 0);
                assert_false(res.committed);
        }
        /* The history: the apply, then the undo, with their verbs. */
        {
                ChangeSetInfo *l = NULL;
                size_t n = 0;
                assert_int_equal(changeset_list(test_root(root), &l, &n), 0);
                assert_int_equal(n, 2);
                assert_string_equal(l[0].verb, "apply");
                assert_string_equal(l[1].verb, "undo");
                assert_string_equal(l[1].profile, "gpu-sriov");
                assert_int_equal(l[1].state, CHANGESET_COMPLETE);
                assert_true(l[1].time > 0);
                assert_true(strv_contains(l[1].paths, "/boot/loader/entries/a-6.5.conf"));
                changeset_info_free(l, n);
        }
        test_rmroot(root);
}

static void test_check_tokens(void **state) {
        _cleanup_cmdline_ Cmdline *good = NULL, *bad = NULL;

        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &good), 0);
        assert_int_equal(apply_check_tokens("p", VENDOR_INTEL, ARCH_X86_64, good), 0);
        assert_int_equal(cmdline_parse("iommu=pt;reboot", &bad), 0);
        assert_true(apply_check_tokens("p", VENDOR_INTEL, ARCH_X86_64, bad) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reboot_decision),
                cmocka_unit_test(test_want_regenerate),
                cmocka_unit_test(test_apply_and_rollback),
                cmocka_unit_test(test_undo_on_failed_regenerate),
                cmocka_unit_test(test_undo),
                cmocka_unit_test(test_check_tokens),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
