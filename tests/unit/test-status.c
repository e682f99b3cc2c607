/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status.h"
#include "test-util.h"

static size_t next_of(const char *root, const char **src, Status *s) {
        assert_int_equal(status_collect(test_root(root), NULL, NULL, NULL, s), 0);
        *src = s->next_source;
        return s->next;
}

static void test_next_systemd_boot(void **state) {
        char *root = test_mkroot();
        Status s = {};
        const char *src = NULL;

        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        test_write(root, "/efi/loader/entries/mid-6.1.0-21-amd64.conf", "options a21\n");
        test_write(root, "/efi/loader/entries/mid-6.1.0-18-amd64.conf", "options a18\n");
        test_write(root, "/efi/loader/entries/mid-0-rescue.conf", "options rescue\n");
        /* Newest first by version; the newest without any hint. */
        assert_int_equal(next_of(root, &src, &s), 0);
        assert_string_equal(s.entries[0].id, "mid-6.1.0-21-amd64");
        assert_string_equal(src, "the first entry");
        status_done(&s);
        test_write(root, "/efi/loader/loader.conf", "default mid-6.1.0-1*\n");
        assert_int_equal(next_of(root, &src, &s), 1);
        assert_string_equal(s.entries[1].options, "a18");
        assert_string_equal(src, "loader.conf default");
        status_done(&s);
        /* The glob is matched against the id with ".conf". */
        test_write(root, "/efi/loader/loader.conf", "default mid-0-rescue\n");
        assert_int_equal(next_of(root, &src, &s), 0);
        status_done(&s);
        /* Nothing to boot: none. */
        test_rmroot(root);
        root = test_mkroot();
        assert_int_equal(next_of(root, &src, &s), SIZE_MAX);
        status_done(&s);
        test_rmroot(root);
}

static void test_next_grub_blscfg(void **state) {
        char *root = test_mkroot();
        Status s = {};
        const char *src = NULL;

        test_write(root, "/boot/loader/entries/mid-6.1.0-21.el9.conf", "title 21\noptions a21\n");
        test_write(root, "/boot/loader/entries/mid-6.1.0-18.el9.conf", "title 18\noptions a18\n");
        test_write(root, "/boot/grub2/grubenv", "# GRUB Environment Block\nsaved_entry=mid-6.1.0-18.el9\n");
        /* GRUB_DEFAULT=saved (RHEL): saved_entry. */
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=\"ro\"\n");
        assert_int_equal(next_of(root, &src, &s), 1);
        assert_string_equal(src, "grubenv saved_entry");
        assert_string_equal(s.loader, "grub-blscfg");
        /* The GRUB defaults are listed after the entries. */
        assert_int_equal(s.n_entries, 3);
        assert_int_equal(s.entries[2].kind, STATUS_GRUB_DEFAULTS);
        assert_string_equal(s.entries[2].options, "ro");
        status_done(&s);
        /* The drop-ins are sourced after it: a plain assignment replaces, "$GRUB_CMDLINE_LINUX x" appends. */
        test_write(root, "/etc/default/grub.d/40-replace.cfg", "GRUB_CMDLINE_LINUX=\"quiet\"\n");
        test_write(root, "/etc/default/grub.d/60-iommu.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=pt\"\n"
                                                             "GRUB_CMDLINE_LINUX_DEFAULT='splash'\n");
        assert_int_equal(next_of(root, &src, &s), 1);
        assert_string_equal(s.entries[2].options, "quiet iommu=pt splash");
        status_done(&s);
        test_write(root, "/etc/default/grub.d/40-replace.cfg", "");
        test_write(root, "/etc/default/grub.d/60-iommu.cfg", "");
        /* GRUB_DEFAULT=0 ignores the leftover saved_entry. */
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=0\n");
        assert_int_equal(next_of(root, &src, &s), 0);
        assert_string_equal(src, "GRUB_DEFAULT");
        status_done(&s);
        /* ... also when set in a drop-in. */
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=0\n");
        test_write(root, "/etc/default/grub.d/50-x.cfg", "GRUB_DEFAULT=saved\n");
        assert_int_equal(next_of(root, &src, &s), 1);
        status_done(&s);
        /* next_entry boots once. */
        test_write(root, "/boot/grub2/grubenv", "# GRUB Environment Block\nnext_entry=mid-6.1.0-21.el9\nsaved_entry=mid-6.1.0-18.el9\n");
        assert_int_equal(next_of(root, &src, &s), 0);
        assert_string_equal(src, "grubenv next_entry");
        assert_int_equal(s.default_entry, 1);
        status_done(&s);
        test_rmroot(root);
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

static void test_grub_cfg(void **state) {
        char *root = test_mkroot();
        Status s = {};
        const char *src = NULL;

        test_write(root, "/boot/grub/grub.cfg", grub_cfg);
        assert_int_equal(next_of(root, &src, &s), 0);
        /* Entries without a linux line (firmware setup) are left out. */
        assert_int_equal(s.n_entries, 3);
        assert_string_equal(s.entries[0].id, "Debian GNU/Linux");
        assert_string_equal(s.entries[0].options, "root=UUID=u ro quiet intel_iommu=on iommu=pt");
        assert_string_equal(s.entries[2].options, "root=UUID=u ro single");
        assert_string_equal(src, "GRUB's first entry");
        status_done(&s);
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=\"1>1\"\n");
        assert_int_equal(next_of(root, &src, &s), 2);
        status_done(&s);
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=saved\n");
        test_write(root, "/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=gnulinux-advanced-u>gnulinux-6.1.0-21-amd64-advanced-u\n");
        assert_int_equal(next_of(root, &src, &s), 1);
        status_done(&s);
        /* An index past the end falls back to the first entry, as GRUB does. */
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=7\n");
        assert_int_equal(next_of(root, &src, &s), 0);
        status_done(&s);
        /* Unbalanced input does not crash or invent entries. */
        test_write(root, "/boot/grub/grub.cfg", "menuentry 'x' {\n\tlinux /k a=b\n");
        assert_int_equal(next_of(root, &src, &s), 0);
        assert_string_equal(s.entries[0].options, "a=b");
        status_done(&s);
        test_rmroot(root);
}

/* grub.cfg is judged stale by its content, not by time stamps: a newer grub.cfg that does not carry
 * the defaults' arguments is stale (a failed regeneration that was then touched, a restored
 * backup), an older one that does is not. */
static void test_grub_cfg_stale_by_content(void **state) {
        char *root = test_mkroot();
        _cleanup_free_ char *cfg = NULL, *newer = NULL;
        static const char menu[] =
                "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {\n"
                "\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro %s quiet\n"
                "}\n"
                "menuentry 'Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)' {\n"
                "\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro single %s\n"
                "}\n";
        char text[1024];

        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
        test_write(root, "/etc/default/grub.d/60-iommu.cfg",
                   "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt\"\n");
        /* Written after the defaults, but from before the drop-in: stale. */
        snprintf(text, sizeof(text), menu, "", "");
        test_write(root, "/boot/grub/grub.cfg", text);
        assert_int_equal(status_grub_cfg_stale(test_root(root), &cfg, &newer), 0);
        assert_string_equal(cfg, "/boot/grub/grub.cfg");
        assert_non_null(newer);
        cfg = mfree(cfg);
        newer = mfree(newer);
        /* The same arguments in another order, then the defaults touched: fresh. */
        snprintf(text, sizeof(text), menu, "iommu=pt intel_iommu=on", "iommu=pt intel_iommu=on");
        test_write(root, "/boot/grub/grub.cfg", text);
        test_write(root, "/etc/default/grub.d/60-iommu.cfg",
                   "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt\"\n");
        assert_int_equal(status_grub_cfg_stale(test_root(root), &cfg, &newer), 0);
        assert_null(newer);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_next_systemd_boot),
                cmocka_unit_test(test_next_grub_blscfg),
                cmocka_unit_test(test_grub_cfg),
                cmocka_unit_test(test_grub_cfg_stale_by_content),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
