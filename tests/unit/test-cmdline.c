/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cmdline.h"
#include "params.h"
#include "strv.h"

static char *merge_str(const char *current, const char *wanted) {
        _cleanup_cmdline_ Cmdline *c = NULL, *w = NULL, *m = NULL;

        assert_int_equal(cmdline_parse(current, &c), 0);
        assert_int_equal(cmdline_parse(wanted, &w), 0);
        assert_int_equal(cmdline_merge(c, iommu_owned_keys, w, &m), 0);
        return cmdline_to_string(m);
}

/* Merging must be idempotent: the engine's own output never changes again. */
static void assert_merge(const char *current, const char *wanted, const char *expected) {
        _cleanup_free_ char *once = merge_str(current, wanted);
        _cleanup_free_ char *twice = merge_str(once, wanted);

        assert_string_equal(once, expected);
        assert_string_equal(twice, expected);
}

static void test_tokenize_plain(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_int_equal(cmdline_parse("  BOOT_IMAGE=/vmlinuz\troot=UUID=x  ro\n", &c), 0);
        assert_int_equal(c->n_tokens, 3);
        assert_string_equal(c->tokens[0].key, "BOOT_IMAGE");
        assert_string_equal(c->tokens[0].value, "/vmlinuz");
        /* Only the first '=' splits. */
        assert_string_equal(c->tokens[1].key, "root");
        assert_string_equal(c->tokens[1].value, "UUID=x");
        assert_string_equal(c->tokens[2].key, "ro");
        assert_null(c->tokens[2].value);
        assert_null(c->init_args);
}

static void test_tokenize_quotes(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(cmdline_parse("dyndbg=\"file x.c +p\" \"foo=bar baz\" a=\"\" b= c", &c), 0);
        assert_int_equal(c->n_tokens, 5);
        assert_string_equal(c->tokens[0].text, "dyndbg=\"file x.c +p\"");
        assert_string_equal(c->tokens[0].value, "file x.c +p");
        /* A leading quote around the whole token, as lib/cmdline.c allows. */
        assert_string_equal(c->tokens[1].key, "foo");
        assert_string_equal(c->tokens[1].value, "bar baz");
        assert_string_equal(c->tokens[2].value, "");
        assert_string_equal(c->tokens[3].value, "");
        assert_string_equal(c->tokens[4].key, "c");
        s = cmdline_to_string(c);
        assert_string_equal(s, "dyndbg=\"file x.c +p\" \"foo=bar baz\" a=\"\" b= c");
}

static void test_tokenize_unterminated_quote(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL;

        /* The kernel reads an open quote to the end of the line. */
        assert_int_equal(cmdline_parse("a=\"x y z", &c), 0);
        assert_int_equal(c->n_tokens, 1);
        assert_string_equal(c->tokens[0].value, "x y z");
}

static void test_tokenize_dashdash(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(cmdline_parse("ro quiet -- single  iommu=pt  ", &c), 0);
        assert_int_equal(c->n_tokens, 2);
        assert_string_equal(c->init_args, "single  iommu=pt");
        /* After "--", iommu=pt belongs to init, not the kernel. */
        assert_false(cmdline_has_key(c, "iommu"));
        s = cmdline_to_string(c);
        assert_string_equal(s, "ro quiet -- single  iommu=pt");

        assert_int_equal(cmdline_parse("ro --", &d), 0);
        assert_non_null(d->init_args);
        assert_string_equal(d->init_args, "");
        /* "--x" and "--=1" are ordinary parameters. */
        assert_int_equal(cmdline_parse("--x --=1", &e), 0);
        assert_int_equal(e->n_tokens, 2);
        assert_null(e->init_args);
}

static void test_key_spelling(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_true(cmdline_key_equal("intel-iommu", "intel_iommu"));
        assert_true(cmdline_key_equal("iommu.strict", "iommu.strict"));
        assert_false(cmdline_key_equal("iommu", "iommu.strict"));
        assert_int_equal(cmdline_parse("intel-iommu=on", &c), 0);
        assert_string_equal(c->tokens[0].key, "intel_iommu");
        assert_string_equal(c->tokens[0].text, "intel-iommu=on");
}

static void test_merge_acceptance(void **state) {
        /* The core issue's acceptance example. */
        assert_merge("BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=off iommu=strict -- single",
                     "intel_iommu=on iommu=pt",
                     "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single");
}

static void test_merge_keeps_others(void **state) {
        assert_merge("console=tty0 iommu=pt console=ttyS0,115200 dyndbg=\"a b\" amd-iommu=on root=/dev/sda1",
                     "iommu.passthrough=0 iommu.strict=1",
                     "console=tty0 console=ttyS0,115200 dyndbg=\"a b\" root=/dev/sda1 iommu.passthrough=0 iommu.strict=1");
}

static void test_merge_repeated_and_spellings(void **state) {
        assert_merge("iommu=pt intel-iommu=off ro iommu=nopt intel_iommu=on", "intel_iommu=on iommu=pt",
                     "ro intel_iommu=on iommu=pt");
}

static void test_merge_in_sync_untouched(void **state) {
        /* Already in sync (with the other spelling, elsewhere on the line): nothing moves. */
        assert_merge("intel-iommu=on ro iommu=pt quiet", "intel_iommu=on iommu=pt", "intel-iommu=on ro iommu=pt quiet");
        /* Same tokens in another order are in sync too (issue 11: order never matters): byte for byte alone. */
        assert_merge("iommu=pt ro intel_iommu=on", "intel_iommu=on iommu=pt", "iommu=pt ro intel_iommu=on");
        /* Without a judge (plan.h installs the kernel model's), an extra owned token breaks the sync. */
        assert_merge("iommu=pt ro intel_iommu=on iommu=on", "intel_iommu=on iommu=pt", "ro intel_iommu=on iommu=pt");
}

static void test_merge_empty_and_whitespace(void **state) {
        assert_merge("", "iommu=pt", "iommu=pt");
        assert_merge(" \t ", "iommu=pt", "iommu=pt");
        assert_merge("-- init-arg", "iommu=pt", "iommu=pt -- init-arg");
        assert_merge("ro iommu=pt", "", "ro");
}

static void test_merge_unterminated_quote(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL, *w = NULL, *m = NULL;

        /* Found by fuzz-cmdline: appending after an open quote would land inside the quote. */
        assert_int_equal(cmdline_parse("BOOT_I\"AGE=/vmlinuz ro intel_iommu=off", &c), 0);
        assert_int_equal(c->n_tokens, 1);
        assert_non_null(cmdline_find_unterminated(c));
        assert_int_equal(cmdline_parse("iommu=pt", &w), 0);
        assert_int_equal(cmdline_merge(c, iommu_owned_keys, w, &m), -EBADMSG);
        assert_null(m);
}

static void test_merge_too_long(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL, *w = NULL, *m = NULL;
        char big[2100];

        memset(big, 'a', sizeof(big) - 1);
        big[0] = 'x';
        big[1] = '=';
        big[2040] = '\0'; /* 2040 bytes + " iommu=pt" > 2047 */
        assert_int_equal(cmdline_parse(big, &c), 0);
        assert_int_equal(cmdline_parse("iommu=pt", &w), 0);
        assert_int_equal(cmdline_merge(c, iommu_owned_keys, w, &m), -E2BIG);
        assert_null(m);

        cmdline_free(c);
        big[2030] = '\0';
        assert_int_equal(cmdline_parse(big, &c), 0);
        assert_int_equal(cmdline_merge(c, iommu_owned_keys, w, &m), 0);
}

static void test_safe_tokens(void **state) {
        char bad = 0;
        const char *unsafe[] = { "a=$(reboot)", "a=`x`", "a=\"b\"", "a=b;c", "a=b\\c", "a='b'", "a=b\nc", "a=${x}",
                                 "a=b|c", "a=b&c", "a=<b", "a=b#c", "" };

        assert_int_equal(cmdline_token_check_safe("iommu.passthrough=1", &bad), 0);
        assert_int_equal(cmdline_token_check_safe("vfio-pci.ids=10de:2330,15b3:1021", &bad), 0);
        for (size_t i = 0; i < ELEMENTSOF(unsafe); i++)
                assert_int_equal(cmdline_token_check_safe(unsafe[i], &bad), -EINVAL);
        assert_int_equal(cmdline_token_check_safe("a=b;c", &bad), -EINVAL);
        assert_int_equal(bad, ';');
}

static CmdlineOwnership ownership_of(const char *token) {
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_int_equal(cmdline_parse(token, &c), 0);
        assert_int_equal(c->n_tokens, 1);
        return cmdline_token_ownership(&c->tokens[0], iommu_owned_keys);
}

static void test_pci_option_ownership(void **state) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        _cleanup_free_ char *rest = NULL;

        /* pci= is owned by option (issue 25): the ACS lift is iommuctl's, pci=noaer the operator's. */
        assert_int_equal(ownership_of("pci=noaer"), CMDLINE_NOT_OWNED);
        assert_int_equal(ownership_of("pci"), CMDLINE_NOT_OWNED);
        assert_int_equal(ownership_of("pci=disable_acs_redir=pci:1000:c030"), CMDLINE_OWNED_WHOLE);
        assert_int_equal(ownership_of("pci=config_acs=100x1@0000:00:02.0"), CMDLINE_OWNED_WHOLE);
        assert_int_equal(ownership_of("pci=noaer,disable_acs_redir=0000:18:00.0"), CMDLINE_OWNED_PART);
        /* Option names compare exactly, as pci_setup()'s strncmp() does. */
        assert_int_equal(ownership_of("pci=disable_acs_redirx=1"), CMDLINE_NOT_OWNED);
        assert_int_equal(ownership_of("iommu=pt"), CMDLINE_OWNED_WHOLE);
        assert_int_equal(ownership_of("quiet"), CMDLINE_NOT_OWNED);

        assert_int_equal(cmdline_parse("\"pci=realloc=on,config_acs=100x1@pci:1000:c030,noaer\"", &c), 0);
        assert_int_equal(cmdline_token_strip_owned(&c->tokens[0], iommu_owned_keys, &rest), 0);
        assert_string_equal(rest, "\"pci=realloc=on,noaer\"");
        /* A profile's pci= token in [KernelArgs] makes it own that option, never the key. */
        assert_false(cmdline_key_has_owned_options("iommu", iommu_owned_keys));
        assert_true(cmdline_key_has_owned_options("pci", iommu_owned_keys));
}

static void test_pci_option_merge(void **state) {
        /* Written as a token of its own; the operator's pci= options stay. */
        assert_merge("ro pci=noaer iommu=pt", "iommu=pt pci=disable_acs_redir=pci:1000:c030",
                     "ro pci=noaer iommu=pt pci=disable_acs_redir=pci:1000:c030");
        /* The old lift comes out of the operator's token, the rest of it stays. */
        assert_merge("ro pci=noaer,disable_acs_redir=0000:18:00.0,realloc iommu=pt", "iommu=pt pci=disable_acs_redir=pci:1000:c030",
                     "ro pci=noaer,realloc iommu=pt pci=disable_acs_redir=pci:1000:c030");
        /* Already there inside the operator's token: in sync, left alone. */
        assert_merge("ro pci=noaer,disable_acs_redir=pci:1000:c030 iommu=pt", "iommu=pt pci=disable_acs_redir=pci:1000:c030",
                     "ro pci=noaer,disable_acs_redir=pci:1000:c030 iommu=pt");
        /* A profile without the lift (a profile switch, undo): only the owned option goes. */
        assert_merge("ro pci=noaer pci=config_acs=100x1@pci:1000:c030 iommu=pt", "iommu=pt", "ro pci=noaer iommu=pt");
        assert_merge("ro pci=noaer,config_acs=100x1@pci:1000:c030 iommu=pt", "", "ro pci=noaer");
}

static void test_pci_option_splice(void **state) {
        _cleanup_cmdline_ Cmdline *w = NULL, *none = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(cmdline_parse("iommu=pt pci=disable_acs_redir=pci:1000:c030", &w), 0);
        assert_int_equal(cmdline_parse("", &none), 0);
        /* Byte for byte outside the owned parts; the operator's options of a mixed token move in
         * front of the inserted tokens. */
        assert_int_equal(cmdline_splice("quiet  pci=noaer,disable_acs_redir=0000:18:00.0 iommu=pt\n", iommu_owned_keys, w, &a), 0);
        assert_string_equal(a, "quiet pci=noaer iommu=pt pci=disable_acs_redir=pci:1000:c030\n");
        assert_int_equal(cmdline_splice("quiet pci=noaer,disable_acs_redir=pci:1000:c030 iommu=pt", iommu_owned_keys, w, &b), 0);
        assert_string_equal(b, "quiet pci=noaer,disable_acs_redir=pci:1000:c030 iommu=pt");
        assert_int_equal(cmdline_splice("quiet pci=disable_acs_redir=pci:1000:c030,noaer iommu=pt", iommu_owned_keys, none, &c), 0);
        assert_string_equal(c, "quiet pci=noaer");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tokenize_plain),
                cmocka_unit_test(test_tokenize_quotes),
                cmocka_unit_test(test_tokenize_unterminated_quote),
                cmocka_unit_test(test_tokenize_dashdash),
                cmocka_unit_test(test_key_spelling),
                cmocka_unit_test(test_merge_acceptance),
                cmocka_unit_test(test_merge_keeps_others),
                cmocka_unit_test(test_merge_repeated_and_spellings),
                cmocka_unit_test(test_merge_in_sync_untouched),
                cmocka_unit_test(test_merge_empty_and_whitespace),
                cmocka_unit_test(test_merge_unterminated_quote),
                cmocka_unit_test(test_merge_too_long),
                cmocka_unit_test(test_safe_tokens),
                cmocka_unit_test(test_pci_option_ownership),
                cmocka_unit_test(test_pci_option_merge),
                cmocka_unit_test(test_pci_option_splice),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
