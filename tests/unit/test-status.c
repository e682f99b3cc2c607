/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status.h"
#include "test-util.h"

/* Newest first, as bls_find_entries(test_root()) sorts them. */
static const StatusCandidate bls[] = {
        { .id = "mid-6.1.0-21-amd64", .top = 0 },
        { .id = "mid-6.1.0-18-amd64", .top = 1 },
        { .id = "mid-0-rescue", .top = 2 },
};

static size_t pick(const StatusCandidate *c, size_t n, NextBootHints h, const char **src) {
        size_t i = SIZE_MAX;
        assert_int_equal(status_pick_next(c, n, &h, &i, src), 0);
        return i;
}

static void test_pick_systemd_boot(void **state) {
        const char *src = NULL;

        assert_int_equal(pick(bls, 3, (NextBootHints) {}, &src), 0);
        assert_string_equal(src, "the newest entry");
        /* The one-shot entry wins over every default, with or without ".conf". */
        assert_int_equal(pick(bls, 3, (NextBootHints) { .oneshot = "mid-6.1.0-18-amd64.conf", .efi_default = "mid-0-rescue" }, &src), 1);
        assert_string_equal(src, "EFI variable LoaderEntryOneShot");
        assert_int_equal(pick(bls, 3, (NextBootHints) { .efi_default = "mid-0-rescue.conf", .loader_conf_default = "mid-6*" }, &src), 2);
        assert_string_equal(src, "EFI variable LoaderEntryDefault");
        /* loader.conf's default is a glob; the first (newest) match wins. */
        assert_int_equal(pick(bls, 3, (NextBootHints) { .loader_conf_default = "mid-6.1.0-1*" }, &src), 1);
        assert_string_equal(src, "loader.conf default");
        assert_int_equal(pick(bls, 3, (NextBootHints) { .loader_conf_default = "mid-*.conf" }, &src), 0);
        /* A hint naming an entry that is gone falls through to the next one. */
        assert_int_equal(pick(bls, 3, (NextBootHints) { .oneshot = "removed", .loader_conf_default = "mid-0-*" }, &src), 2);
        assert_string_equal(src, "loader.conf default");
        size_t i;
        assert_int_equal(status_pick_next(bls, 0, &(NextBootHints) {}, &i, &src), -ENOENT);
}

static void test_pick_grub(void **state) {
        const char *src = NULL;

        /* RHEL: saved_entry (GRUB_DEFAULT=saved or unset), next_entry for one boot. */
        assert_int_equal(pick(bls, 3, (NextBootHints) { .grub_saved_entry = "mid-6.1.0-18-amd64", .grub_default = "saved" }, &src), 1);
        assert_string_equal(src, "grubenv saved_entry");
        assert_int_equal(pick(bls, 3, (NextBootHints) { .grub_saved_entry = "mid-6.1.0-18-amd64" }, &src), 1);
        assert_int_equal(pick(bls, 3, (NextBootHints) { .grub_next_entry = "mid-0-rescue", .grub_saved_entry = "mid-6.1.0-18-amd64" }, &src), 2);
        assert_string_equal(src, "grubenv next_entry");
        /* GRUB_DEFAULT=0 ignores saved_entry. */
        assert_int_equal(pick(bls, 3, (NextBootHints) { .grub_saved_entry = "mid-6.1.0-18-amd64", .grub_default = "2" }, &src), 2);
        assert_string_equal(src, "GRUB_DEFAULT");

        /* Debian grub.cfg: a top-level entry, then a submenu with two entries. */
        const StatusCandidate menu[] = {
                { .id = "gnulinux-simple-u", .title = "Debian GNU/Linux", .top = 0 },
                { .id = "gnulinux-6.1.0-21-amd64-advanced-u", .title = "Debian GNU/Linux, with Linux 6.1.0-21-amd64", .top = 1 },
                { .id = "gnulinux-6.1.0-18-amd64-advanced-u", .title = "Debian GNU/Linux, with Linux 6.1.0-18-amd64", .top = 1 },
        };
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "0" }, &src), 0);
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "1>1" }, &src), 2);
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "1" }, &src), 1);
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-18-amd64" }, &src), 2);
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "gnulinux-6.1.0-21-amd64-advanced-u" }, &src), 1);
        assert_string_equal(src, "GRUB_DEFAULT");
        /* GRUB_DEFAULT=saved with saved_entry a title path. */
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "saved",
                                                         .grub_saved_entry = "gnulinux-advanced-u>gnulinux-6.1.0-18-amd64-advanced-u" }, &src), 2);
        assert_string_equal(src, "grubenv saved_entry");
        /* An index past the end falls back to the first entry, as GRUB does. */
        assert_int_equal(pick(menu, 3, (NextBootHints) { .grub_default = "7" }, &src), 0);
        assert_string_equal(src, "the newest entry");
}

static const char grub_cfg[] =
        "### BEGIN /etc/grub.d/10_linux ###\n"
        "function gfxmode {\n"
        "\tset gfxpayload=\"${1}\"\n"
        "}\n"
        "menuentry 'Debian GNU/Linux' --class debian --class gnu-linux $menuentry_id_option 'gnulinux-simple-u' {\n"
        "\tload_video\n"
        "\tif [ x$feature_platform_search_hint = xy ]; then\n"
        "\t  search --no-floppy --fs-uuid --set=root u\n"
        "\tfi\n"
        "\tlinux\t/boot/vmlinuz-6.1.0-21-amd64 root=UUID=u ro quiet intel_iommu=on iommu=pt $vt_handoff\n"
        "\tinitrd\t/boot/initrd.img-6.1.0-21-amd64\n"
        "}\n"
        "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-u' {\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-21-amd64' --class debian $menuentry_id_option 'gnulinux-6.1.0-21-amd64-advanced-u' {\n"
        "\t\tlinux\t/boot/vmlinuz-6.1.0-21-amd64 root=UUID=u ro quiet intel_iommu=on iommu=pt\n"
        "\t}\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-21-amd64 (recovery mode)' --class debian $menuentry_id_option 'gnulinux-6.1.0-21-amd64-recovery-u' {\n"
        "\t\tlinux\t/boot/vmlinuz-6.1.0-21-amd64 root=UUID=u ro single\n"
        "\t}\n"
        "}\n"
        "menuentry 'UEFI Firmware Settings' $menuentry_id_option 'uefi-firmware' {\n"
        "\tfwsetup\n"
        "}\n";

static void test_grub_cfg_parse(void **state) {
        GrubMenuEntry *e = NULL;
        size_t n = 0;

        assert_int_equal(grub_cfg_parse(grub_cfg, &e, &n), 0);
        /* Entries without a linux line (firmware setup) are left out. */
        assert_int_equal(n, 3);
        assert_string_equal(e[0].title, "Debian GNU/Linux");
        assert_string_equal(e[0].id, "gnulinux-simple-u");
        assert_string_equal(e[0].options, "root=UUID=u ro quiet intel_iommu=on iommu=pt");
        assert_int_equal(e[0].top, 0);
        assert_string_equal(e[1].id, "gnulinux-6.1.0-21-amd64-advanced-u");
        assert_int_equal(e[1].top, 1);
        assert_string_equal(e[2].options, "root=UUID=u ro single");
        assert_int_equal(e[2].top, 1);
        grub_menu_entries_free(e, n);

        assert_int_equal(grub_cfg_parse("# placeholder\n", &e, &n), 0);
        assert_int_equal(n, 0);
        grub_menu_entries_free(e, n);
        /* Unbalanced input does not crash or invent entries. */
        assert_int_equal(grub_cfg_parse("menuentry 'x' {\n\tlinux /k a=b\n", &e, &n), 0);
        assert_int_equal(n, 0);
        grub_menu_entries_free(e, n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pick_systemd_boot),
                cmocka_unit_test(test_pick_grub),
                cmocka_unit_test(test_grub_cfg_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
