/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "boot-uki-addon.h"
#include "bootspec.h"
#include "changeset.h"
#include "cmdline.h"
#include "strv.h"
#include "test-util.h"

#define FIXTURE_STUB SRCDIR "/tests/fixtures/uki/addonx64.efi.stub"

static void test_addon_paths(void **state) {
        char *p = NULL;

        (void) state;
        assert_int_equal(uki_addon_path("/efi/EFI/Linux/debian-6.12.efi", PROFILE_UKI_ADDON_GLOBAL, "gpu-sriov", &p), 0);
        assert_string_equal(p, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi");
        p = mfree(p);
        assert_int_equal(uki_addon_path("/efi/EFI/Linux/debian-6.12.efi", PROFILE_UKI_ADDON_PER_UKI, "gpu-sriov", &p), 0);
        assert_string_equal(p, "/efi/EFI/Linux/debian-6.12.efi.extra.d/iommuctl-gpu-sriov.addon.efi");
        p = mfree(p);
        /* A UKI on XBOOTLDR: the global add-ons of the partition it was loaded from, as the stub
         * reads them (its loaded image's device). */
        assert_int_equal(uki_addon_path("/boot/EFI/Linux/x.efi", PROFILE_UKI_ADDON_GLOBAL, "strict", &p), 0);
        assert_string_equal(p, "/boot/loader/addons/iommuctl-strict.addon.efi");
        p = mfree(p);
        /* FAT: directory names in any case; a partition that is the root itself. */
        assert_int_equal(uki_addon_path("/efi/efi/linux/x.efi", PROFILE_UKI_ADDON_GLOBAL, "strict", &p), 0);
        assert_string_equal(p, "/efi/loader/addons/iommuctl-strict.addon.efi");
        p = mfree(p);
        assert_int_equal(uki_addon_path("/EFI/Linux/x.efi", PROFILE_UKI_ADDON_GLOBAL, "strict", &p), 0);
        assert_string_equal(p, "/loader/addons/iommuctl-strict.addon.efi");
        p = mfree(p);
        assert_int_equal(uki_addon_path("/efi/EFI/BOOT/x.efi", PROFILE_UKI_ADDON_GLOBAL, "strict", &p), -EINVAL);
        assert_int_equal(uki_addon_path("/efi/EFI/Linux/x.efi", PROFILE_UKI_ADDON_GLOBAL, "../x", &p), -EINVAL);
        assert_int_equal(uki_addon_path("/efi/EFI/Linux/x.efi", _PROFILE_UKI_ADDON_INVALID, "strict", &p), -EINVAL);
        assert_null(p);
}

/* A Type #1 entry whose efi is a UKI: systemd-stub ignores its options under Secure Boot when the
 * UKI has a .cmdline, so only an add-on reaches the line; it goes on the entry's partition or next
 * to the image. */
static void test_type1_efi_target(void **state) {
        BootSpecEntry e = { .type = BOOTSPEC_TYPE1, .uki_linux = true, .uki_image = (char *) "/boot/EFI/debian/uki.efi",
                            .uki_partition = (char *) "/boot", .uki_cmdline = (char *) "root=/dev/u", .options = (char *) "x" };
        BootSpec b = { .entries = &e, .n_entries = 1, .next_entry_index = 0, .secure_boot = true };
        char *p = NULL;

        (void) state;
        assert_true(boot_uki_addon_next(&b));
        assert_int_equal(uki_addon_path_for_entry(&e, PROFILE_UKI_ADDON_GLOBAL, "strict", &p), 0);
        assert_string_equal(p, "/boot/loader/addons/iommuctl-strict.addon.efi");
        p = mfree(p);
        assert_int_equal(uki_addon_path_for_entry(&e, PROFILE_UKI_ADDON_PER_UKI, "strict", &p), 0);
        assert_string_equal(p, "/boot/EFI/debian/uki.efi.extra.d/iommuctl-strict.addon.efi");
        p = mfree(p);
        /* Secure Boot off: the options replace the .cmdline, the BLS writer reaches the line. */
        b.secure_boot = false;
        assert_false(boot_uki_addon_next(&b));
        /* No options: the stub boots the .cmdline, which an options line would replace whole. */
        e.options = NULL;
        assert_true(boot_uki_addon_next(&b));
        e.options = (char *) "x";
        /* A UKI without .cmdline takes the options under Secure Boot too. */
        b.secure_boot = true;
        e.uki_cmdline = NULL;
        assert_false(boot_uki_addon_next(&b));
        /* An efi image that is no UKI: no stub, no add-ons. */
        e.uki_cmdline = (char *) "root=/dev/u";
        e.uki_linux = false;
        assert_false(boot_uki_addon_next(&b));
        e.uki_image = NULL;
        assert_int_equal(uki_addon_path_for_entry(&e, PROFILE_UKI_ADDON_GLOBAL, "strict", &p), -EINVAL);
        assert_null(p);
}

static void test_is_ours(void **state) {
        (void) state;
        assert_true(uki_addon_is_ours("iommuctl-gpu-sriov.addon.efi"));
        assert_true(uki_addon_is_ours("iommuctl-strict.ADDON.EFI"));
        assert_false(uki_addon_is_ours("iommuctl-.addon.efi"));
        assert_false(uki_addon_is_ours("vendor.addon.efi"));
        assert_false(uki_addon_is_ours("iommuctl-strict.efi"));
        assert_int_equal(profile_uki_addon_from_string("per-uki"), PROFILE_UKI_ADDON_PER_UKI);
        assert_int_equal(profile_uki_addon_from_string("global"), PROFILE_UKI_ADDON_GLOBAL);
        assert_int_equal(profile_uki_addon_from_string("both"), _PROFILE_UKI_ADDON_INVALID);
}

static void test_stub_next_vma(void **state) {
        _cleanup_free_ char *data = NULL;
        uint8_t pe32[512] = { 'M', 'Z' };
        size_t size;
        uint64_t vma;

        (void) state;
        /* Debian 13's addonx64.efi.stub: ImageBase 0x1dd510000, SizeOfImage 0x3000 (objdump -p). */
        assert_int_equal(read_full_file(FIXTURE_STUB, 65536, &data, &size), 0);
        assert_int_equal(uki_addon_stub_next_vma((const uint8_t *) data, size, &vma), 0);
        assert_true(vma == UINT64_C(0x1dd513000));

        /* PE32: ImageBase at 28, 4 bytes; SizeOfImage rounded up to SectionAlignment. */
        pe32[0x3c] = 0x40;
        memcpy(pe32 + 0x40, "PE\0\0", 4);
        pe32[0x58] = 0x0b, pe32[0x59] = 0x01;                 /* magic 0x10b */
        pe32[0x58 + 28 + 2] = 0x40;                           /* ImageBase 0x400000 */
        pe32[0x58 + 32 + 1] = 0x10;                           /* SectionAlignment 0x1000 */
        pe32[0x58 + 56] = 0x01, pe32[0x58 + 56 + 1] = 0x20;   /* SizeOfImage 0x2001 */
        assert_int_equal(uki_addon_stub_next_vma(pe32, sizeof(pe32), &vma), 0);
        assert_true(vma == UINT64_C(0x403000));
        pe32[0x58 + 32 + 1] = 0x30;                           /* not a power of two */
        assert_int_equal(uki_addon_stub_next_vma(pe32, sizeof(pe32), &vma), -EBADMSG);
        pe32[0x3c] = 0xff, pe32[0x3d] = 0xff;                 /* header past the end */
        assert_int_equal(uki_addon_stub_next_vma(pe32, sizeof(pe32), &vma), -EBADMSG);
        assert_int_equal(uki_addon_stub_next_vma((const uint8_t *) "MZ", 2, &vma), -EBADMSG);
}

static void test_pe_signed(void **state) {
        _cleanup_free_ char *data = NULL;
        uint8_t pe[1024] = { 'M', 'Z' };
        size_t size;

        (void) state;
        assert_int_equal(read_full_file(FIXTURE_STUB, 65536, &data, &size), 0);
        assert_int_equal(uki_addon_pe_signed((const uint8_t *) data, size), 0);
        assert_int_equal(uki_addon_pe_signed((const uint8_t *) "MZ", 2), -EBADMSG);
        /* PE32+ with 16 data directories; the fourth (Certificate Table) gets a size. */
        pe[0x3c] = 0x40;
        memcpy(pe + 0x40, "PE\0\0", 4);
        pe[0x58] = 0x0b, pe[0x59] = 0x02;
        pe[0x58 + 108] = 16;
        assert_int_equal(uki_addon_pe_signed(pe, sizeof(pe)), 0);
        pe[0x58 + 112 + 4 * 8 + 4] = 0x10;
        assert_int_equal(uki_addon_pe_signed(pe, sizeof(pe)), 1);
        pe[0x58 + 108] = 4; /* no room for a Certificate Table entry */
        assert_int_equal(uki_addon_pe_signed(pe, sizeof(pe)), 0);
}

/* systemd-stub's order: the UKI's .cmdline, then loader/addons/ of its own partition sorted by
 * name, then NAME.efi.extra.d/ sorted; files not named *.addon.efi are not add-ons. */
static void test_effective_order(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        _cleanup_free_ char *without = NULL;
        static const char * const uki[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u ro\n" };
        static const char * const zz[] = { ".cmdline", "site=2" }, * const first[] = { ".cmdline", "first=1" },
                                  * const ours[] = { ".cmdline", "intel_iommu=on iommu=pt" },
                                  * const b_addon[] = { ".cmdline", "b=5" }, * const a_addon[] = { ".cmdline", "a=4" },
                                  * const other[] = { ".cmdline", "ignored=6" }, * const xbl[] = { ".cmdline", "xbootldr=7" };
        const BootSpecEntry *e = NULL;

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        test_write_pe(root, "/efi/EFI/Linux/debian.efi", uki, 2);
        test_write_pe(root, "/efi/loader/addons/zz-site.addon.efi", zz, 1);
        test_write_pe(root, "/efi/loader/addons/00-first.addon.efi", first, 1);
        test_write_pe(root, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi", ours, 1);
        test_write_pe(root, "/efi/loader/addons/not-an-addon.efi", other, 1);
        test_write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/b.addon.efi", b_addon, 1);
        test_write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/a.ADDON.EFI", a_addon, 1);
        /* Another partition's global add-ons are not this UKI's. */
        test_write(root, "/boot/loader/entries/.keep", "");
        test_write_pe(root, "/boot/loader/addons/x.addon.efi", xbl, 1);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        for (size_t i = 0; i < b.n_entries; i++)
                if (b.entries[i].type == BOOTSPEC_TYPE2)
                        e = &b.entries[i];
        assert_non_null(e);
        assert_int_equal(strv_length(e->addons), 5);
        assert_string_equal(e->addons[0], "/efi/loader/addons/00-first.addon.efi");
        assert_string_equal(e->addons[1], "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi");
        assert_string_equal(e->addons[2], "/efi/loader/addons/zz-site.addon.efi");
        assert_string_equal(e->addons[3], "/efi/EFI/Linux/debian.efi.extra.d/a.ADDON.EFI");
        assert_string_equal(e->addons[4], "/efi/EFI/Linux/debian.efi.extra.d/b.addon.efi");
        assert_string_equal(e->cmdline, "root=/dev/u ro first=1 intel_iommu=on iommu=pt site=2 a=4 b=5");
        assert_string_equal(e->cmdline_source, "UKI .cmdline, then global and per-UKI add-ons");
        /* What undo cannot take away: the line without ours. */
        assert_int_equal(uki_line_without_ours(test_root(root), e, &without), 0);
        assert_string_equal(without, "root=/dev/u ro first=1 site=2 a=4 b=5");
        bootspec_done(&b);
        test_rmroot(root);
}

static const ChangeItem *find_item(const ChangeSet *cs, const char *path) {
        for (size_t i = 0; i < cs->n_items; i++)
                if (streq(cs->items[i].path, path))
                        return &cs->items[i];
        return NULL;
}

static void plan(const char *root, const char *tokens, ProfileUkiAddon placement, int expect, ChangeSet **ret) {
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        UkiAddonSettings s;
        ChangeSet *cs = NULL;

        assert_int_equal(cmdline_parse(tokens, &wanted), 0);
        assert_int_equal(strv_split("intel_iommu iommu amd_iommu", " ", &owned), 0);
        uki_addon_settings_from_profile(NULL, placement, &s);
        assert_int_equal(changeset_new(test_root(root), &cs), 0);
        assert_int_equal(boot_uki_addon_plan(test_root(root), "gpu-sriov", owned, wanted, NULL, &s, cs), expect);
        *ret = cs;
}

static void remove_file(const char *root, const char *path) {
        _cleanup_free_ char *p = test_root_path(root, path);
        assert_int_equal(unlink(p), 0);
}

/* efivarfs: attributes (NV|BS|RT), then 1. */
static void write_secure_boot(const char *root) {
        static const char path[] = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
        _cleanup_free_ char *p = NULL;
        FILE *f;

        test_write(root, path, "");
        p = test_root_path(root, path);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite("\x06\x00\x00\x00\x01", 1, 5, f), 5);
        fclose(f);
}

static void test_plan(void **state) {
        char *root = test_mkroot();
        static const char * const uki[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u ro" };
        static const char * const baked[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u iommu=pt intel_iommu=on" };
        static const char * const ours[] = { ".cmdline", "intel_iommu=on iommu=pt" };
        static const char * const stale[] = { ".cmdline", "iommu=strict" };
        _cleanup_free_ char *cmdline = NULL;
        const ChangeItem *c;
        ChangeSet *cs;

        (void) state;
        assert_int_equal(setenv(UKI_ADDON_STUB_ENV, FIXTURE_STUB, 1), 0);
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        test_write_pe(root, "/efi/EFI/Linux/debian.efi", uki, 2);
        assert_true(boot_uki_addon_detect(test_root(root)));

        /* Written with objcopy on the stub: .cmdline is the tokens, nothing more. */
        plan(root, "intel_iommu=on iommu=pt", PROFILE_UKI_ADDON_GLOBAL, 0, &cs);
        assert_int_equal(cs->n_items, 1);
        c = find_item(cs, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi");
        assert_non_null(c);
        assert_int_equal(bootspec_pe_sections_buffer((const uint8_t *) c->new, c->new_size, &cmdline, NULL, NULL), 0);
        assert_string_equal(cmdline, "intel_iommu=on iommu=pt");
        changeset_free(cs);

        /* Ours already there with the same line: nothing; another placement of ours goes. */
        test_write_pe(root, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi", ours, 1);
        test_write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/iommuctl-strict.addon.efi", stale, 1);
        plan(root, "intel_iommu=on iommu=pt", PROFILE_UKI_ADDON_GLOBAL, 0, &cs);
        assert_int_equal(cs->n_items, 1);
        c = find_item(cs, "/efi/EFI/Linux/debian.efi.extra.d/iommuctl-strict.addon.efi");
        assert_non_null(c);
        assert_null(c->new);
        changeset_free(cs);

        /* Per UKI: written there, the global one of ours and the stale one removed. */
        plan(root, "intel_iommu=on iommu=pt", PROFILE_UKI_ADDON_PER_UKI, 0, &cs);
        assert_int_equal(cs->n_items, 3);
        assert_null(find_item(cs, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi")->new);
        assert_non_null(find_item(cs, "/efi/EFI/Linux/debian.efi.extra.d/iommuctl-gpu-sriov.addon.efi")->new);
        changeset_free(cs);

        /* No tokens (undo): every add-on of ours goes. */
        plan(root, "", PROFILE_UKI_ADDON_GLOBAL, 0, &cs);
        assert_int_equal(cs->n_items, 2);
        changeset_free(cs);

        test_write_pe(root, "/efi/EFI/Linux/debian.efi", baked, 2);
        remove_file(root, "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi");
        remove_file(root, "/efi/EFI/Linux/debian.efi.extra.d/iommuctl-strict.addon.efi");
        /* A UKI built with the tokens needs no add-on. */
        plan(root, "intel_iommu=on iommu=pt", PROFILE_UKI_ADDON_GLOBAL, 0, &cs);
        assert_int_equal(cs->n_items, 0);
        changeset_free(cs);
        /* Secure Boot on and no key: refused, nothing planned. */
        test_write_pe(root, "/efi/EFI/Linux/debian.efi", uki, 2);
        write_secure_boot(root);
        assert_int_equal(uki_secure_boot_enabled(test_root(root)), 1);
        plan(root, "intel_iommu=on iommu=pt", PROFILE_UKI_ADDON_GLOBAL, -EPERM, &cs);
        assert_int_equal(cs->n_items, 0);
        changeset_free(cs);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_addon_paths),
                cmocka_unit_test(test_is_ours),
                cmocka_unit_test(test_type1_efi_target),
                cmocka_unit_test(test_stub_next_vma),
                cmocka_unit_test(test_pe_signed),
                cmocka_unit_test(test_effective_order),
                cmocka_unit_test(test_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
