/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bootspec.h"
#include "sort-util.h"
#include "strv.h"
#include "test-util.h"

static void test_strverscmp(void **state) {
        (void) state;
        assert_true(bootspec_strverscmp("6.12", "6.1") > 0);
        assert_true(bootspec_strverscmp("6.1.0-21-amd64", "6.1.0-18-amd64") > 0);
        assert_true(bootspec_strverscmp("1.10", "1.2") > 0);
        assert_true(bootspec_strverscmp("123~rc1", "123") < 0);
        assert_true(bootspec_strverscmp("123-9", "123.1-1") < 0);
        assert_true(bootspec_strverscmp("x-6.1.conf", "X-6.12.CONF") > 0); /* 'x' > 'X' */
        assert_true(bootspec_strverscmp("007", "7") == 0);
        assert_true(bootspec_strverscmp("", "a") < 0);
        assert_int_equal(bootspec_strverscmp("a-6.1.conf", "a-6.1.conf"), 0);
        /* Compared from the last run end before the first difference: the same answers as from
         * the start, separators in the shared prefix included. */
        assert_true(bootspec_strverscmp("6.1.0-1999-amd64", "6.1.0-1000-amd64") > 0);
        assert_true(bootspec_strverscmp("6.1.0-10-amd64", "6.1.0-9-amd64") > 0);
        assert_true(bootspec_strverscmp("6.1.0-9-amd64", "6.1.0-10-amd64") < 0);
        assert_true(bootspec_strverscmp("^^.z~", "^.z~") > 0);
        assert_true(bootspec_strverscmp("^.z~", "^^.z~") < 0);
        assert_true(bootspec_strverscmp("1.2rc", "1.2") > 0);
        assert_true(bootspec_strverscmp("1.2~rc", "1.2") < 0);
        assert_true(bootspec_strverscmp("1.02", "1.2") == 0);
}

static void test_rpmvercmp(void **state) {
        (void) state;
        assert_int_equal(bootspec_rpmvercmp("4.18.0-193.1.2.el8_2", "4.18.0-193.el8"), 1);
        assert_int_equal(bootspec_rpmvercmp("4.18.0-193.el8", "4.18.0-193.1.2.el8_2"), -1);
        assert_int_equal(bootspec_rpmvercmp("1.0", "1.0"), 0);
        assert_int_equal(bootspec_rpmvercmp("1.0~rc1", "1.0"), -1);
        assert_int_equal(bootspec_rpmvercmp("1.0^git1", "1.0"), 1);
        assert_int_equal(bootspec_rpmvercmp("1.010", "1.9"), 1);
        assert_int_equal(bootspec_rpmvercmp("1.a", "1.1"), -1);
        assert_int_equal(bootspec_rpmvercmp("2_0", "2.0"), 0);
        /* blscfg: name-version-release, newest first. */
        assert_true(bootspec_blscfg_compare("m-4.18.0-193.1.2.el8_2.x86_64", "m-4.18.0-193.el8.x86_64") < 0);
        assert_true(bootspec_blscfg_compare("m-5.14.0-70.el9.x86_64", "m-5.14.0-427.13.1.el9_4.x86_64") > 0);
}

/* Differential: rpm's own comparison (rpm's Lua rpm.vercmp(), which parses epoch:version-release,
 * so the pairs hold neither ':' nor '-') against ours, in one rpm run. */
static void test_rpmvercmp_rpm(void **state) {
        static const char * const pairs[][2] = {
                { "193.1.2.el8_2", "193.el8" }, { "1.0", "1.0.0" },         { "1.0a", "1.0" },
                { "1.0~rc1", "1.0~rc2" },        { "1.0~rc1", "1.0" },        { "1.0^git1", "1.0" },
                { "1.0^git1", "1.0.1" },         { "2.0", "10" },             { "1.010", "1.9" },
                { "a", "b" },                    { "1.a", "1.1" },            { "el9_4", "el9" },
                { "5.14.0", "5.14.0.1" },        { "x86_64", "aarch64" },     { "007", "7" },
                { "1_2", "1.2" },                { "fc40", "fc9" },           { "6.9.7", "6.10" },
                { "1.0~", "1.0" },               { "1.0^", "1.0" },           { "alpha", "alpha1" },
        };
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        FILE *f, *m;

        (void) state;
        m = open_memstream(&cmd, &len);
        assert_non_null(m);
        fputs("rpm --eval \"%{lua: ", m);
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
                fprintf(m, "print(rpm.vercmp('%s', '%s') .. ' ') ", pairs[i][0], pairs[i][1]);
        fputs("}\"", m);
        assert_int_equal(fclose(m), 0);
        f = popen(cmd, "r");
        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                int want;
                /* rpm (package rpm, .ci/packages.txt): the results, space-separated. */
                assert_int_equal(fscanf(f, "%d", &want), 1);
                if (bootspec_rpmvercmp(pairs[i][0], pairs[i][1]) != want)
                        fail_msg("rpmvercmp(%s, %s): rpm says %d, we say %d", pairs[i][0], pairs[i][1], want,
                                 bootspec_rpmvercmp(pairs[i][0], pairs[i][1]));
        }
        assert_int_equal(pclose(f), 0);
}

/* The sorts of bootspec.c and boot-bls.c compare two versions equal before position p by
 * digit_run_key() at p when both have one and they differ: that must be what systemd's and
 * glibc's version orders say there, whatever follows the run. Random versions over an alphabet
 * with the characters those orders treat specially, a shared prefix, then two tails. */
static int sign(int x) {
        return (x > 0) - (x < 0);
}

static void random_part(char *s, size_t n, unsigned *seed) {
        static const char alphabet[] = "0123456789001199.-~^_abzXx";

        for (size_t i = 0; i < n; i++)
                s[i] = alphabet[rand_r(seed) % (sizeof(alphabet) - 1)];
        s[n] = '\0';
}

static void test_digit_run_key(void **state) {
        unsigned seed = 24, decided = 0;
        uint64_t k;

        (void) state;
        assert_true(digit_run_key("6.1.0-1999-amd64", 6, &k));
        assert_true(k == 1999);
        assert_false(digit_run_key("6.1.0-1999-amd64", 7, &k)); /* inside the run */
        assert_false(digit_run_key("6.1.0-0999-amd64", 6, &k)); /* leading zero */
        assert_false(digit_run_key("6.1.0-x-amd64", 6, &k));
        assert_false(digit_run_key("a-12345678901234567890", 2, &k)); /* over 19 digits */
        assert_true(digit_run_key("a-1234567890123456789", 2, &k));
        assert_true(k == 1234567890123456789ULL);

        for (unsigned i = 0; i < 200000; i++) {
                char prefix[8], ta[8], tb[8], a[32], b[32];
                uint64_t ka, kb;
                size_t p;

                random_part(prefix, (size_t) rand_r(&seed) % 6, &seed);
                random_part(ta, (size_t) rand_r(&seed) % 7, &seed);
                random_part(tb, (size_t) rand_r(&seed) % 7, &seed);
                p = strlen(prefix);
                strcpy(stpcpy(a, prefix), ta);
                strcpy(stpcpy(b, prefix), tb);
                if (!digit_run_key(a, p, &ka) || !digit_run_key(b, p, &kb) || ka == kb)
                        continue;
                decided++;
                if (sign(bootspec_strverscmp(a, b)) != (ka < kb ? -1 : 1) ||
                    sign(strverscmp(a, b)) != (ka < kb ? -1 : 1))
                        fail_msg("%s vs %s at %zu: keys %llu, %llu; strverscmp_improved %d, strverscmp %d", a, b, p,
                                 (unsigned long long) ka, (unsigned long long) kb, bootspec_strverscmp(a, b),
                                 strverscmp(a, b));
        }
        assert_true(decided > 10000);
}

/* Differential: systemd's own strverscmp_improved(), through `systemd-analyze compare-versions A B`
 * (exit 11 for A > B, 12 for A < B, 0 for equal). */
static void test_strverscmp_systemd(void **state) {
        static const char * const pairs[][2] = {
                { "x-6.1.conf", "X-6.12.CONF" }, { "6.1.0-21-amd64", "6.1.0-18-amd64" }, { "1.10", "1.2" },
                { "123~rc1", "123" },             { "123-9", "123.1-1" },                { "123^post1", "123" },
                { "123^post1", "123.1" },         { "007", "7" },                        { "a-6.5.conf", "a-6.1.conf" },
                { "debian-13.efi", "debian-12.efi" }, { "1.0a", "1.0" },                 { "1.0", "1.0.0" },
                { "fc40", "fc9" },                { "1_2", "1.2" },                      { "", "1" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                _cleanup_free_ char *cmd = NULL;
                int status, want, got = bootspec_strverscmp(pairs[i][0], pairs[i][1]);

                assert_true(asprintf(&cmd, "systemd-analyze compare-versions '%s' '%s' > /dev/null", pairs[i][0], pairs[i][1]) > 0);
                status = system(cmd);
                assert_true(WIFEXITED(status));
                want = WEXITSTATUS(status) == 11 ? 1 : WEXITSTATUS(status) == 12 ? -1 : WEXITSTATUS(status) == 0 ? 0 : 99;
                if (got != want)
                        fail_msg("strverscmp(%s, %s): systemd says %d, we say %d", pairs[i][0], pairs[i][1], want, got);
        }
}

static void test_tries(void **state) {
        char *s;
        int l, d;

        (void) state;
        assert_int_equal(bootspec_extract_tries("a-6.5+0-3.conf", ".conf", &s, &l, &d), 0);
        assert_string_equal(s, "a-6.5.conf");
        assert_int_equal(l, 0);
        assert_int_equal(d, 3);
        free(s);
        assert_int_equal(bootspec_extract_tries("b+3.CONF", ".conf", &s, &l, &d), 0);
        assert_string_equal(s, "b.CONF");
        assert_int_equal(l, 3);
        assert_int_equal(d, -1);
        free(s);
        assert_int_equal(bootspec_extract_tries("c+x.conf", ".conf", &s, &l, &d), 0);
        assert_string_equal(s, "c+x.conf");
        assert_int_equal(l, -1);
        free(s);
        assert_int_equal(bootspec_extract_tries("u+2-1.efi", ".efi", &s, &l, &d), 0);
        assert_string_equal(s, "u.efi");
        free(s);
        assert_int_equal(bootspec_extract_tries("d.txt", ".conf", &s, &l, &d), -EINVAL);
}

static int cmp(const void *a, const void *b) {
        return bootspec_entry_compare(a, b);
}

static void test_order(void **state) {
        BootSpecEntry e[] = {
                { .id = (char *) "a-6.5.conf", .tries_left = 0, .tries_done = 3 },
                { .id = (char *) "a-6.1.conf", .tries_left = -1 },
                { .id = (char *) "X-6.12.CONF", .tries_left = -1 },
                { .id = (char *) "x-6.1.conf", .tries_left = -1 },
                { .id = (char *) "s-1.conf", .sort_key = (char *) "zz", .version = (char *) "1.2", .tries_left = -1 },
                { .id = (char *) "s-2.conf", .sort_key = (char *) "zz", .version = (char *) "1.10", .tries_left = -1 },
                { .id = (char *) "m-2.conf", .sort_key = (char *) "zz", .machine_id = (char *) "b", .tries_left = -1 },
                { .id = (char *) "b-6.2.conf", .tries_left = 3 },
        };
        /* bootctl 252 on the same names (tests/integration/test-bootspec-bootctl.sh checks it live). */
        const char *want[] = { "s-2.conf", "s-1.conf", "m-2.conf", "x-6.1.conf", "b-6.2.conf", "a-6.1.conf", "X-6.12.CONF", "a-6.5.conf" };

        (void) state;
        qsort(e, ELEMENTSOF(e), sizeof(e[0]), cmp);
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                assert_string_equal(e[i].id, want[i]);
}

static void test_loader_conf(void **state) {
        char *def = NULL, *timeout = NULL;
        unsigned line = 0;

        (void) state;
        assert_int_equal(bootspec_parse_loader_conf("l", "# c\ntimeout 3\n  default   A-6*  \ndefault b\n", &def, &line, &timeout), 0);
        assert_string_equal(def, "b");
        assert_int_equal(line, 4);
        assert_string_equal(timeout, "3");
        free(def);
        free(timeout);
        assert_true(bootspec_id_matches("A-6*", "a-6.1.conf"));
        assert_true(bootspec_id_matches("x-6.12.conf", "X-6.12.CONF"));
        assert_false(bootspec_id_matches("x-6.1", "x-6.1.conf"));
}

static void test_type1(void **state) {
        BootSpecEntry e = {};

        (void) state;
        assert_int_equal(bootspec_parse_type1("e", "title T\noptions root=/dev/a\n#options no\noptions  quiet\nefi /EFI/Linux/u.efi\n"
                                              "sort-key k\nmachine-id m\nversion 1\narchitecture x64\n", &e), 0);
        assert_string_equal(e.options, "root=/dev/a quiet");
        assert_int_equal(e.options_line, 2);
        assert_string_equal(e.efi, "/EFI/Linux/u.efi");
        assert_string_equal(e.architecture, "x64");
        free(e.title);
        free(e.options);
        free(e.efi);
        free(e.sort_key);
        free(e.machine_id);
        free(e.version);
        free(e.architecture);
}

static void test_efi_string(void **state) {
        static const uint8_t v[] = { 7, 0, 0, 0, 'a', 0, '-', 0, '1', 0, 0xe9, 0, 0, 0 };
        char *s;

        (void) state;
        assert_int_equal(bootspec_decode_efi_string(v, sizeof(v), &s), 0);
        assert_string_equal(s, "a-1?");
        free(s);
        assert_int_equal(bootspec_decode_efi_string(v, 3, &s), -EBADMSG);
}

static const char grub_cfg[] =
        "set default=\"0\"\n"
        "if [ \"${next_entry}\" ] ; then\n"
        "   set default=\"${next_entry}\"\n"
        "else\n"
        "   set default=\"${saved_entry}\"\n"
        "fi\n"
        "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-u' {\n"
        "\tlinux\t/vmlinuz-6.1.0-21-amd64 root=UUID=u ro  quiet $vt_handoff\n"
        "}\n"
        "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-u' {\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-21-amd64' $menuentry_id_option 'gnulinux-6.1.0-21-amd64-advanced-u' {\n"
        "\t\tlinux\t/vmlinuz-6.1.0-21-amd64 root=UUID=u ro a21\n"
        "\t}\n"
        "\tsubmenu 'Nested' --id nested {\n"
        "\t\tmenuentry 'Deep' --id deep {\n"
        "\t\t\tlinux /vmlinuz deep\n"
        "\t\t}\n"
        "\t}\n"
        "\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-18-amd64' $menuentry_id_option 'gnulinux-6.1.0-18-amd64-advanced-u' {\n"
        "\t\tlinux\t/vmlinuz-6.1.0-18-amd64 root=UUID=u ro a18\n"
        "\t}\n"
        "}\n"
        "menuentry 'UEFI Firmware Settings' $menuentry_id_option 'uefi-firmware' {\n"
        "\tfwsetup\n"
        "}\n";

static size_t resolve(const GrubMenu *m, const char *spec) {
        size_t i = SIZE_MAX;
        if (bootspec_grub_resolve(m, spec, &i) < 0)
                return SIZE_MAX;
        return i;
}

static void test_grub_menu(void **state) {
        GrubMenu m = {};
        size_t i;

        (void) state;
        assert_int_equal(bootspec_parse_grub_cfg(grub_cfg, &m), 0);
        /* The generated default outside the next_entry branch. */
        assert_string_equal(m.set_default, "${saved_entry}");
        assert_int_equal(m.n_items, 7);
        assert_string_equal(m.items[0].options, "root=UUID=u ro quiet $vt_handoff");
        assert_true(m.items[1].submenu);
        assert_int_equal(m.items[2].parent, 1);
        assert_int_equal(m.items[3].index, 1);
        assert_int_equal(m.items[5].index, 2);
        assert_int_equal(resolve(&m, "0"), 0);
        assert_int_equal(resolve(&m, "1>0"), 2);
        assert_int_equal(resolve(&m, "1>2"), 5);
        assert_int_equal(resolve(&m, "1>1>0"), 4);
        assert_int_equal(resolve(&m, "gnulinux-advanced-u>nested>deep"), 4);
        assert_int_equal(resolve(&m, "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-18-amd64"), 5);
        assert_int_equal(resolve(&m, "gnulinux-advanced-u>gnulinux-6.1.0-18-amd64-advanced-u"), 5);
        assert_int_equal(resolve(&m, "gnulinux-simple-u"), 0);
        assert_int_equal(resolve(&m, "Debian GNU/Linux"), 0);
        /* GRUB resolves a component at its own level only: a nested id alone is no top-level entry. */
        assert_int_equal(resolve(&m, "gnulinux-6.1.0-18-amd64-advanced-u"), SIZE_MAX);
        assert_int_equal(resolve(&m, "1"), SIZE_MAX); /* a submenu is no entry */
        assert_int_equal(resolve(&m, "7"), SIZE_MAX);
        assert_int_equal(resolve(&m, "0>1"), SIZE_MAX);
        assert_int_equal(bootspec_grub_resolve(&m, "", &i), -ENOENT);
        grub_menu_done(&m);
}

/* A whole tree: the acceptance cases of issue 19. */
static void test_load_sdboot(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        /* LoaderEntryDefault = "a-6.1.conf" */
        static const char efivar[] = { 6, 0, 0, 0, 'a', 0, '-', 0, '6', 0, '.', 0, '1', 0, '.', 0, 'c', 0, 'o', 0, 'n', 0, 'f', 0, 0, 0 };

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        test_write(root, "/efi/loader/loader.conf", "timeout 3\n");
        test_write(root, "/efi/loader/entries/a-6.5+0-3.conf", "title A65\nversion 6.5\nlinux /k\noptions root=/dev/a65\n");
        test_write(root, "/efi/loader/entries/a-6.1.conf", "title A61\nversion 6.1\nlinux /k\noptions root=/dev/a61\n");
        /* XBOOTLDR's loader.conf is not systemd-boot's. */
        test_write(root, "/boot/loader/loader.conf", "default a-6.5*\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_int_equal(b.loader, BOOTSPEC_LOADER_SYSTEMD_BOOT);
        assert_string_equal(b.esp, "/efi");
        assert_string_equal(b.xbootldr, "/boot");
        assert_null(b.default_pattern);
        assert_int_equal(b.n_entries, 2);
        assert_string_equal(b.entries[b.next_entry_index].id, "a-6.1.conf");
        assert_string_equal(b.entries[1].id, "a-6.5.conf");
        assert_string_equal(b.entries[1].cmdline, "root=/dev/a65");
        bootspec_done(&b);

        test_write(root, "/efi/loader/entries/X-6.12.CONF", "title X\noptions root=/dev/x612\noptions  two\n");
        test_write(root, "/efi/loader/entries/x-6.1.conf", "title x\noptions root=/dev/x61\n");
        test_write(root, "/efi/loader/loader.conf", "default X-6.12*\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_int_equal(b.n_entries, 4);
        assert_string_equal(b.entries[b.default_entry].id, "X-6.12.CONF");
        assert_string_equal(b.entries[b.default_entry].cmdline, "root=/dev/x612 two");
        assert_string_equal(b.default_source, "loader.conf default");
        bootspec_done(&b);

        /* LoaderEntryDefault wins over loader.conf. */
        {
                _cleanup_free_ char *p = test_root_path(root, "/sys/firmware/efi/efivars/LoaderEntryDefault-" BOOTSPEC_LOADER_GUID);
                FILE *f;
                test_write(root, "/sys/firmware/efi/efivars/LoaderEntryDefault-" BOOTSPEC_LOADER_GUID, "");
                f = fopen(p, "we");
                assert_non_null(f);
                fwrite(efivar, 1, sizeof(efivar), f);
                fclose(f);
        }
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.efi_default, "a-6.1.conf");
        assert_string_equal(b.entries[b.default_entry].id, "a-6.1.conf");
        assert_string_equal(b.entries[b.next_entry_index].id, "a-6.1.conf");
        assert_string_equal(b.next_source, "EFI variable LoaderEntryDefault");
        assert_int_equal(bootspec_find_type1_file(&b, "a-6.5+0-3"), 3);
        bootspec_done(&b);

        /* "default @saved" follows LoaderEntryLastBooted; LoaderEntryDefault still comes first. */
        {
                static const char last[] = { 6, 0, 0, 0, 'x', 0, '-', 0, '6', 0, '.', 0, '1', 0, '.', 0, 'c', 0, 'o', 0, 'n', 0, 'f', 0 };
                _cleanup_free_ char *p = test_root_path(root, "/sys/firmware/efi/efivars/LoaderEntryLastBooted-" BOOTSPEC_LOADER_GUID);
                FILE *f;
                test_write(root, "/sys/firmware/efi/efivars/LoaderEntryLastBooted-" BOOTSPEC_LOADER_GUID, "");
                f = fopen(p, "we");
                assert_non_null(f);
                fwrite(last, 1, sizeof(last), f);
                fclose(f);
        }
        test_write(root, "/efi/loader/loader.conf", "default @saved\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.entries[b.default_entry].id, "a-6.1.conf");
        bootspec_done(&b);
        {
                _cleanup_free_ char *p = test_root_path(root, "/sys/firmware/efi/efivars/LoaderEntryDefault-" BOOTSPEC_LOADER_GUID);
                assert_int_equal(unlink(p), 0);
        }
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.entries[b.default_entry].id, "x-6.1.conf");
        assert_string_equal(b.default_source, "loader.conf default @saved (LoaderEntryLastBooted)");
        bootspec_done(&b);
        test_rmroot(root);
}

static void test_load_grub(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};

        (void) state;
        test_write(root, "/boot/grub/grub.cfg", grub_cfg);
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=0\n");
        test_write(root, "/etc/default/grub.d/50-x.cfg", "GRUB_DEFAULT=saved\n");
        test_write(root, "/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=1>2\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_int_equal(b.loader, BOOTSPEC_LOADER_GRUB);
        assert_string_equal(b.grub_default, "saved");
        assert_string_equal(b.grub_default_path, "/etc/default/grub.d/50-x.cfg");
        assert_int_equal(b.n_entries, 4); /* firmware setup has no kernel */
        assert_string_equal(b.entries[b.default_entry].title, "Debian GNU/Linux, with Linux 6.1.0-18-amd64");
        assert_string_equal(b.entries[b.default_entry].grub_path, "1>2");
        assert_string_equal(b.entries[b.default_entry].cmdline, "root=UUID=u ro a18");
        bootspec_done(&b);

        /* saved_entry is followed only when the default is "saved". */
        test_write(root, "/boot/grub/grub.cfg", "set default=\"0\"\nmenuentry 'A' {\n linux /k a\n}\nmenuentry 'B' {\n linux /k b\n}\n");
        test_write(root, "/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=B\nnext_entry=\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.entries[b.next_entry_index].title, "A");
        bootspec_done(&b);
        /* next_entry boots once. */
        test_write(root, "/boot/grub/grubenv", "# GRUB Environment Block\nnext_entry=B\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.entries[b.next_entry_index].title, "B");
        assert_string_equal(b.entries[b.default_entry].title, "A");
        bootspec_done(&b);
        test_rmroot(root);
}

static void test_load_blscfg(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};

        (void) state;
        test_write(root, "/etc/default/grub", "GRUB_DEFAULT=saved\nGRUB_ENABLE_BLSCFG=true\n");
        test_write(root, "/boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/r ro\n");
        test_write(root, "/boot/loader/entries/m-4.18.0-193.el8.x86_64.conf", "title old\noptions $kernelopts old\n");
        test_write(root, "/boot/loader/entries/m-4.18.0-193.1.2.el8_2.x86_64.conf", "title new\noptions $kernelopts new\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_int_equal(b.loader, BOOTSPEC_LOADER_GRUB_BLSCFG);
        assert_int_equal(b.n_entries, 2);
        /* rpm's order, not the file names' (193.el8 sorts after 193.1.2 by name). */
        assert_string_equal(b.entries[0].title, "new");
        assert_string_equal(b.entries[b.next_entry_index].title, "new");
        assert_string_equal(b.entries[0].cmdline, "root=/dev/r ro new");
        bootspec_done(&b);
        test_write(root, "/boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/r ro\nsaved_entry=m-4.18.0-193.el8.x86_64\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_string_equal(b.entries[b.next_entry_index].title, "old");
        assert_string_equal(b.next_source, "grubenv saved_entry");
        bootspec_done(&b);
        test_rmroot(root);
}

static void test_load_ukis(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        static const char * const uki[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u ro\n intel_iommu=on\n",
                                             ".uname", "6.12.0-1-amd64\n" };
        static const char * const addon[] = { ".cmdline", "iommu=pt\n" };
        static const char * const no_osrel[] = { ".cmdline", "skipped\n" };

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        test_write_pe(root, "/efi/EFI/Linux/debian-6.12.efi", uki, 3);
        test_write_pe(root, "/efi/EFI/Linux/debian-6.12.efi.extra.d/iommu.addon.efi", addon, 1);
        test_write_pe(root, "/efi/EFI/Linux/no-osrel.efi", no_osrel, 1);
        test_write_pe(root, "/efi/EFI/Linux/img.efi", uki, 3);
        test_write(root, "/efi/loader/entries/with-options.conf", "efi /EFI/Linux/img.efi\noptions root=/dev/own\n");
        test_write(root, "/efi/loader/entries/without-options.conf", "efi /EFI/Linux/img.efi\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        /* Type #2 (sort-key debian from .osrel) first; a UKI without .osrel is skipped, as systemd-boot does. */
        assert_int_equal(b.n_entries, 4);
        for (size_t i = 0; i < b.n_entries; i++) {
                const BootSpecEntry *e = &b.entries[i];
                if (streq(e->id, "debian-6.12.efi")) {
                        /* The whole multi-line .cmdline, then the add-on's. */
                        assert_string_equal(e->cmdline, "root=/dev/u ro intel_iommu=on iommu=pt");
                        assert_string_equal(e->uki_uname, "6.12.0-1-amd64\n");
                        assert_string_equal(e->version, "13");
                } else if (streq(e->id, "with-options.conf"))
                        /* options replace the image's built-in command line */
                        assert_string_equal(e->cmdline, "root=/dev/own");
                else if (streq(e->id, "without-options.conf"))
                        assert_string_equal(e->cmdline, "root=/dev/u ro intel_iommu=on");
                else
                        assert_string_equal(e->id, "img.efi");
        }
        bootspec_done(&b);
        test_rmroot(root);
}

/* A PE32+ image with an optional header (16 data directories) and the given sections; signed:
 * the Certificate Table directory gets a size, as sbsign writes it. */
static void write_pe(const char *root, const char *path, const char * const *sec, size_t n, bool is_signed) {
        uint8_t img[0x400 + 8 * 0x200] = { 'M', 'Z' };
        const size_t opt = 0x40 + 24, opt_size = 112 + 16 * 8;
        size_t at = 0x400;

        assert_true(n <= 8);
        img[0x3c] = 0x40;
        memcpy(img + 0x40, "PE\0\0", 4);
        img[0x40 + 6] = (uint8_t) n;
        img[0x40 + 20] = (uint8_t) opt_size;
        img[opt] = 0x0b, img[opt + 1] = 0x02;
        img[opt + 108] = 16;
        if (is_signed)
                img[opt + 112 + 4 * 8 + 4] = 0x40;
        for (size_t i = 0; i < n; i++) {
                uint8_t *h = img + opt + opt_size + 40 * i;
                uint32_t len = (uint32_t) strlen(sec[2 * i + 1]);
                assert_true(len <= 0x200);
                memcpy(h, sec[2 * i], strlen(sec[2 * i]));
                memcpy(h + 8, &len, 4);
                memcpy(h + 16, &len, 4);
                memcpy(h + 20, &(uint32_t) { (uint32_t) at }, 4);
                memcpy(img + at, sec[2 * i + 1], len);
                at += 0x200;
        }
        test_write_bytes(root, path, img, at);
}

/* efivarfs: attributes (NV|BS|RT), then one byte. */
static void write_efi_u8(const char *root, const char *name, uint8_t value) {
        _cleanup_free_ char *path = NULL;
        uint8_t data[5] = { 0x06, 0, 0, 0, value };

        assert_true(asprintf(&path, "/sys/firmware/efi/efivars/%s-8be4df61-93ca-11d2-aa0d-00e098032b8c", name) > 0);
        test_write_bytes(root, path, data, sizeof(data));
}

static const BootSpecEntry *find_entry(const BootSpec *b, const char *id) {
        for (size_t i = 0; i < b->n_entries; i++)
                if (b->entries[i].id && streq(b->entries[i].id, id))
                        return &b->entries[i];
        fail_msg("no entry %s", id);
        return NULL;
}

/* systemd-stub (src/boot/efi/stub.c load_addons()): an add-on's .uname, when both have one, is
 * compared with strneq8() over the add-on's section size; a mismatch is skipped with the reason. */
static void test_addon_skip_reason(void **state) {
        BootSpecPE pe = { .cmdline = (char *) "iommu=pt", .uname = (char *) "6.12.0-1-amd64\n", .uname_size = 15 };
        char *r = NULL;

        (void) state;
        assert_int_equal(bootspec_addon_skip_reason(false, "6.12.0-1-amd64\n", &pe, &r), 0);
        assert_null(r);
        /* A prefix of the UKI's matches: strneq8() stops after the add-on's bytes. */
        pe.uname = (char *) "6.12.0", pe.uname_size = 6;
        assert_int_equal(bootspec_addon_skip_reason(false, "6.12.0-1-amd64\n", &pe, &r), 0);
        assert_null(r);
        pe.uname = (char *) "6.1.0-13-amd64\n", pe.uname_size = 15;
        assert_int_equal(bootspec_addon_skip_reason(false, "6.12.0-1-amd64\n", &pe, &r), 0);
        assert_string_equal(r, ".uname '6.1.0-13-amd64' does not match the UKI's '6.12.0-1-amd64'");
        r = mfree(r);
        /* A UKI without .uname: nothing to compare. */
        assert_int_equal(bootspec_addon_skip_reason(false, NULL, &pe, &r), 0);
        assert_null(r);
        /* Secure Boot: LoadImage refuses an unsigned image before any section is looked at. */
        assert_int_equal(bootspec_addon_skip_reason(true, NULL, &pe, &r), 0);
        assert_string_equal(r, "not signed: under Secure Boot the firmware (or shim) refuses to load it");
        r = mfree(r);
        pe.is_signed = true;
        assert_int_equal(bootspec_addon_skip_reason(true, NULL, &pe, &r), 0);
        assert_null(r);
        pe.has_linux = true;
        assert_int_equal(bootspec_addon_skip_reason(true, NULL, &pe, &r), 0);
        assert_string_equal(r, "a UKI (.linux section), not an add-on");
        r = mfree(r);
        pe = (BootSpecPE) { .uname = (char *) "x", .uname_size = 1 };
        assert_int_equal(bootspec_addon_skip_reason(false, NULL, &pe, &r), 0);
        assert_string_equal(r, "no .cmdline or .dtb section");
        r = mfree(r);
        pe.has_dtb = true; /* a devicetree add-on: loaded, nothing for the line */
        assert_int_equal(bootspec_addon_skip_reason(false, NULL, &pe, &r), 0);
        assert_null(r);
}

/* Item 2: a Type #2 UKI's add-ons whose .uname differs from the UKI's do not count. */
static void test_addon_uname(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        static const char * const uki[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u ro",
                                             ".uname", "6.12.0-1-amd64\n", ".linux", "k" };
        static const char * const same[] = { ".cmdline", "same=1", ".uname", "6.12.0-1-amd64\n" },
                                  * const prefix[] = { ".cmdline", "prefix=2", ".uname", "6.12.0" },
                                  * const other[] = { ".cmdline", "other=3", ".uname", "6.1.0-13-amd64\n" },
                                  * const none[] = { ".cmdline", "none=4" },
                                  * const kernel[] = { ".cmdline", "kernel=5", ".linux", "k" };
        const BootSpecEntry *e;

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        write_pe(root, "/efi/EFI/Linux/debian.efi", uki, 4, false);
        write_pe(root, "/efi/loader/addons/a-same.addon.efi", same, 2, false);
        write_pe(root, "/efi/loader/addons/b-prefix.addon.efi", prefix, 2, false);
        write_pe(root, "/efi/loader/addons/c-other.addon.efi", other, 2, false);
        write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/d-none.addon.efi", none, 1, false);
        write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/e-kernel.addon.efi", kernel, 2, false);
        test_write(root, "/efi/EFI/Linux/debian.efi.extra.d/f-junk.addon.efi", "not a PE image");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        e = find_entry(&b, "debian.efi");
        assert_int_equal(e->n_addon_list, 6);
        assert_int_equal(strv_length(e->addons), 6);
        assert_null(e->addon_list[0].skipped);
        assert_null(e->addon_list[1].skipped);
        assert_string_equal(e->addon_list[2].path, "/efi/loader/addons/c-other.addon.efi");
        assert_string_equal(e->addon_list[2].skipped, ".uname '6.1.0-13-amd64' does not match the UKI's '6.12.0-1-amd64'");
        assert_null(e->addon_list[3].skipped);
        assert_string_equal(e->addon_list[4].skipped, "a UKI (.linux section), not an add-on");
        assert_string_equal(e->addon_list[5].skipped, "not a PE image the firmware can load");
        assert_string_equal(e->cmdline, "root=/dev/u ro same=1 prefix=2 none=4");
        bootspec_done(&b);
        test_rmroot(root);
}

/* systemd-stub reads add-ons from 254 on; its release is in its .sdmagic. */
static void test_addon_stub_version(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        static const char * const old[] = { ".osrel", "ID=debian\nVERSION_ID=12\n", ".cmdline", "root=/dev/u ro", ".linux", "k",
                                             ".sdmagic", "#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####" };
        static const char * const new[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/v ro", ".linux", "k",
                                             ".sdmagic", "#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####" };
        static const char * const site[] = { ".cmdline", "site=2" };
        const BootSpecEntry *e;

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        write_pe(root, "/efi/EFI/Linux/old.efi", old, 4, false);
        write_pe(root, "/efi/EFI/Linux/new.efi", new, 4, false);
        write_pe(root, "/efi/loader/addons/site.addon.efi", site, 1, false);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        e = find_entry(&b, "old.efi");
        assert_int_equal(e->uki_stub_version, 252);
        assert_string_equal(e->addon_list[0].skipped, "this UKI's systemd-stub 252 reads no add-ons (254 and later do)");
        assert_string_equal(e->cmdline, "root=/dev/u ro");
        e = find_entry(&b, "new.efi");
        assert_int_equal(e->uki_stub_version, 257);
        assert_null(e->addon_list[0].skipped);
        assert_string_equal(e->cmdline, "root=/dev/v ro site=2");
        bootspec_done(&b);
        test_rmroot(root);
}

/* Item 3: under Secure Boot, LoadImage refuses an unsigned add-on; a signed one is loaded. With
 * SetupMode=1 the firmware does not enforce (systemd's secure_boot_enabled() is false). */
static void test_addon_secure_boot(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        static const char * const uki[] = { ".osrel", "ID=debian\nVERSION_ID=13\n", ".cmdline", "root=/dev/u ro", ".linux", "k" };
        static const char * const foreign[] = { ".cmdline", "foreign=1" }, * const site[] = { ".cmdline", "site=2" };
        const BootSpecEntry *e;

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        write_pe(root, "/efi/EFI/Linux/debian.efi", uki, 3, true);
        write_pe(root, "/efi/loader/addons/foreign.addon.efi", foreign, 1, false);
        write_pe(root, "/efi/EFI/Linux/debian.efi.extra.d/site.addon.efi", site, 1, true);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_false(b.secure_boot);
        e = find_entry(&b, "debian.efi");
        assert_string_equal(e->cmdline, "root=/dev/u ro foreign=1 site=2");
        assert_false(e->addon_list[0].is_signed);
        assert_true(e->addon_list[1].is_signed);
        bootspec_done(&b);

        write_efi_u8(root, "SecureBoot", 1);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_true(b.secure_boot);
        e = find_entry(&b, "debian.efi");
        assert_string_equal(e->cmdline, "root=/dev/u ro site=2");
        assert_string_equal(e->addon_list[0].skipped, "not signed: under Secure Boot the firmware (or shim) refuses to load it");
        assert_null(e->addon_list[1].skipped);
        bootspec_done(&b);

        write_efi_u8(root, "SetupMode", 1);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        assert_false(b.secure_boot);
        assert_string_equal(find_entry(&b, "debian.efi")->cmdline, "root=/dev/u ro foreign=1 site=2");
        bootspec_done(&b);
        test_rmroot(root);
}

/* Item 1: a Type #1 entry whose "efi" is a UKI. systemd-boot's image_start() passes the options as
 * LoadOptions; systemd-stub takes them unless Secure Boot is on and the UKI has a .cmdline, and
 * appends the add-ons of the entry's partition and of the image's NAME.efi.extra.d/ either way. An
 * "efi" image without .linux is no systemd-stub UKI: no add-ons. */
static void test_type1_efi_addons(void **state) {
        char *root = test_mkroot();
        BootSpec b = {};
        static const char * const uki[] = { ".cmdline", "root=/dev/u ro", ".uname", "6.12.0-1-amd64\n", ".linux", "k" };
        static const char * const plain[] = { ".cmdline", "plain=1" };
        static const char * const global[] = { ".cmdline", "site=1" }, * const own[] = { ".cmdline", "iommu=pt" },
                                  * const old[] = { ".cmdline", "old=1", ".uname", "6.1.0-13-amd64\n" };

        (void) state;
        test_write(root, "/efi/EFI/systemd/systemd-bootx64.efi", "MZ");
        write_pe(root, "/efi/EFI/debian/uki.efi", uki, 3, true);
        write_pe(root, "/efi/EFI/tools/plain.efi", plain, 1, true);
        write_pe(root, "/efi/loader/addons/site.addon.efi", global, 1, true);
        write_pe(root, "/efi/loader/addons/old.addon.efi", old, 2, true);
        write_pe(root, "/efi/EFI/debian/uki.efi.extra.d/iommu.addon.efi", own, 1, false);
        test_write(root, "/efi/loader/entries/with-options.conf", "efi /EFI/debian/uki.efi\noptions root=/dev/own\n");
        test_write(root, "/efi/loader/entries/without-options.conf", "efi EFI/debian/uki.efi\n");
        test_write(root, "/efi/loader/entries/plain.conf", "efi /EFI/tools/plain.efi\noptions x=1\n");
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        {
                const BootSpecEntry *e = find_entry(&b, "with-options.conf");
                assert_true(e->uki_linux);
                assert_int_equal(e->n_addon_list, 3);
                assert_string_equal(e->addon_list[0].path, "/efi/loader/addons/old.addon.efi");
                assert_non_null(e->addon_list[0].skipped);
                assert_string_equal(e->addon_list[2].path, "/efi/EFI/debian/uki.efi.extra.d/iommu.addon.efi");
                assert_string_equal(e->cmdline, "root=/dev/own site=1 iommu=pt");
                assert_string_equal(e->cmdline_source, "options (replace the efi image's .cmdline), then global and per-UKI add-ons");
                e = find_entry(&b, "without-options.conf");
                assert_string_equal(e->cmdline, "root=/dev/u ro site=1 iommu=pt");
                e = find_entry(&b, "plain.conf");
                assert_false(e->uki_linux);
                assert_null(e->addons);
                assert_string_equal(e->cmdline, "x=1");
        }
        bootspec_done(&b);

        /* Secure Boot: the options are ignored (the UKI has a .cmdline), the unsigned add-on is refused. */
        write_efi_u8(root, "SecureBoot", 1);
        assert_int_equal(bootspec_load(test_root(root), &b), 0);
        {
                const BootSpecEntry *e = find_entry(&b, "with-options.conf");
                assert_string_equal(e->cmdline, "root=/dev/u ro site=1");
                assert_string_equal(e->cmdline_source, "the .cmdline of the entry's efi image (Secure Boot: the stub ignores "
                                                       "the options), then global and per-UKI add-ons");
                assert_string_equal(e->addon_list[2].skipped, "not signed: under Secure Boot the firmware (or shim) refuses to load it");
                assert_string_equal(find_entry(&b, "without-options.conf")->cmdline, "root=/dev/u ro site=1");
                /* Not a UKI: the stub's rule does not apply, the options are what the loader passes. */
                assert_string_equal(find_entry(&b, "plain.conf")->cmdline, "x=1");
        }
        bootspec_done(&b);
        test_rmroot(root);
}

static void test_grub_cfg_location(void **state) {
        char *root = test_mkroot();
        char *p = NULL;

        (void) state;
        assert_int_equal(bootspec_find_grub_cfg(test_root(root), &p), 0);
        assert_null(p);
        test_write(root, "/boot/grub2/grub.cfg", "menuentry 'a' {\n linux /k a\n}\n");
        /* RHEL 9: the ESP's grub.cfg is a stub loading /boot/grub2/grub.cfg. */
        test_write(root, "/boot/efi/EFI/redhat/grub.cfg", "search --no-floppy --fs-uuid --set=dev u\nset prefix=($dev)/grub2\n"
                                                          "configfile $prefix/grub.cfg\n");
        assert_int_equal(bootspec_find_grub_cfg(test_root(root), &p), 1);
        assert_string_equal(p, "/boot/grub2/grub.cfg");
        p = mfree(p);
        /* RHEL 8 on EFI: the real one is on the ESP. */
        test_write(root, "/boot/efi/EFI/redhat/grub.cfg", "set default=\"${saved_entry}\"\nblscfg\n");
        assert_int_equal(bootspec_find_grub_cfg(test_root(root), &p), 1);
        assert_string_equal(p, "/boot/efi/EFI/redhat/grub.cfg");
        free(p);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strverscmp),
                cmocka_unit_test(test_digit_run_key),
                cmocka_unit_test(test_rpmvercmp),
                cmocka_unit_test(test_rpmvercmp_rpm),
                cmocka_unit_test(test_strverscmp_systemd),
                cmocka_unit_test(test_tries),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_loader_conf),
                cmocka_unit_test(test_type1),
                cmocka_unit_test(test_efi_string),
                cmocka_unit_test(test_grub_menu),
                cmocka_unit_test(test_load_sdboot),
                cmocka_unit_test(test_load_grub),
                cmocka_unit_test(test_load_blscfg),
                cmocka_unit_test(test_load_ukis),
                cmocka_unit_test(test_addon_skip_reason),
                cmocka_unit_test(test_addon_uname),
                cmocka_unit_test(test_addon_secure_boot),
                cmocka_unit_test(test_addon_stub_version),
                cmocka_unit_test(test_type1_efi_addons),
                cmocka_unit_test(test_grub_cfg_location),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
