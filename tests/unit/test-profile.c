/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"
#include "profile.h"
#include "strv.h"
#include "test-util.h"

static const char *root;

static int setup(void **state) {
        root = test_mkroot();
        return 0;
}

static int teardown(void **state) {
        test_rmroot((char *) root);
        return 0;
}

static char *args_for(const char *name, Vendor v) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_int_equal(profile_load(test_root(root), name, &p), 0);
        assert_int_equal(profile_kernel_args(p, v, &c), 0);
        return cmdline_to_string(c);
}

static void assert_args(const char *name, Vendor v, const char *expected) {
        _cleanup_free_ char *s = args_for(name, v);
        assert_string_equal(s, expected);
}

/* The shipped profiles say what KERNEL-TRUTH.md measured. */
static void test_shipped_profiles(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL;

        assert_args("gpu-sriov", VENDOR_INTEL, "intel_iommu=on iommu=pt");
        assert_args("gpu-sriov", VENDOR_AMD, "iommu=pt");
        assert_args("gpu-sriov", VENDOR_ARM64, "iommu.passthrough=1");
        assert_args("bare-metal", VENDOR_INTEL, "intel_iommu=off iommu=off");
        assert_args("generic", VENDOR_AMD, "intel_iommu=off amd_iommu=off");
        assert_args("strict", VENDOR_INTEL, "intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        assert_args("strict", VENDOR_ARM64, "iommu.passthrough=0 iommu.strict=1");

        assert_int_equal(profile_load(test_root(root), "strict", &p), 0);
        assert_int_equal(p->mode, MODE_STRICT);
        assert_int_equal(p->expect_domain, DOMAIN_DMA);
        assert_int_equal(p->expect_firmware, FIRMWARE_REQUIRED);
        assert_true(p->expect_groups);
        p = profile_free(p);

        assert_int_equal(profile_load(test_root(root), "bare-metal", &p), 0);
        assert_int_equal(p->mode, MODE_OFF);
        assert_false(p->expect_groups);
        assert_int_equal(p->expect_domain, DOMAIN_NONE);
        /* No command-line switch turns the SMMU off: bare-metal has nothing for arm64. */
        assert_int_equal(profile_kernel_args(p, VENDOR_ARM64, &c), -ENODATA);
}

static void test_precedence_and_include(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_strv_free_ char **keys = NULL;

        /* /etc overrides the shipped profile of the same name, and may include it. */
        test_write(root, "/etc/iommu/profiles/gpu-sriov.conf",
                   "[Profile]\nInclude=gpu-sriov\nDescription=site override\n"
                   "[KernelArgs]\nIntel=intel_iommu=on,sm_on iommu=pt vfio_iommu_type1.allow_unsafe_interrupts=0\n");
        assert_int_equal(profile_load(test_root(root), "gpu-sriov", &p), 0);
        assert_string_equal(p->description, "site override");
        assert_int_equal(p->mode, MODE_PASSTHROUGH);
        assert_int_equal(strv_length(p->files), 2);
        assert_true(endswith(p->files[0], "/etc/iommu/profiles/gpu-sriov.conf"));
        assert_true(endswith(p->files[1], "/profiles/gpu-sriov.conf"));
        assert_args("gpu-sriov", VENDOR_INTEL, "intel_iommu=on,sm_on iommu=pt vfio_iommu_type1.allow_unsafe_interrupts=0");
        assert_args("gpu-sriov", VENDOR_AMD, "iommu=pt");

        /* Keys the profile adds are owned too, so merging replaces them. */
        assert_int_equal(profile_owned_keys(p, &keys), 0);
        assert_true(strv_contains(keys, "vfio_iommu_type1.allow_unsafe_interrupts"));
        assert_true(strv_contains(keys, "iommu.strict"));

        /* /run sits between /etc and /usr/lib. */
        test_write(root, "/run/iommu/profiles/mine.conf", "[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=iommu=pt\n");
        test_write(root, "/usr/lib/iommu/profiles/mine.conf", "[Profile]\nMode=strict\n[KernelArgs]\nAMD=iommu.strict=1 iommu.passthrough=0\n");
        assert_args("mine", VENDOR_AMD, "iommu=pt");
}

static void test_owned_pci_options(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_strv_free_ char **keys = NULL;

        /* A profile writing pci= options owns those options, never the pci key: the operator's
         * other pci= options are not the profile's to replace (issue 25). */
        test_write(root, "/etc/iommu/profiles/pcilift.conf",
                   "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt pci=realloc=on,disable_acs_redir=pci:1000:c030\n");
        assert_int_equal(profile_load(test_root(root), "pcilift", &p), 0);
        assert_int_equal(profile_owned_keys(p, &keys), 0);
        assert_false(strv_contains(keys, "pci"));
        assert_true(strv_contains(keys, "pci=disable_acs_redir"));
        assert_true(strv_contains(keys, "pci=config_acs"));
        assert_true(strv_contains(keys, "pci=realloc"));
        assert_false(strv_contains(keys, "pci=noaer"));
        assert_true(strv_contains(keys, "iommu"));
}

typedef struct BrokenCase {
        const char *content;
        const char *message; /* must appear in the log, after "file:line: " when line > 0 */
        unsigned line;
} BrokenCase;

static void test_broken_profiles(void **state) {
        static const BrokenCase cases[] = {
                { "[Profile]\nMode=passthrough\n[Kernel]\nIntel=iommu=pt\n", "unknown section [Kernel]", 3 },
                { "[Profile]\nMod=passthrough\n", "unknown key 'Mod' in [Profile]; valid: Description, Include, Mode", 2 },
                { "[Profile]\nMode=fast\n", "Mode=fast is not valid; valid: passthrough, lazy, strict, translated, off", 2 },
                { "[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on iommu=strict\n",
                  "iommu.strict=1", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=amd_iommu=on iommu=pt\n", "Unknown option", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt $(reboot)\n", "contains '$'", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt\\ x\n", "contains '\\'", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt `x`\n", "contains '`'", 4 },
                { "[Profile]\nInclude=does-not-exist\n", "no such profile", 2 },
                { "[Profile]\nMode=strict\nInclude=strict\n", "Include= must come before", 3 },
                { "[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on\n", "Mode=strict promises DMA", 4 },
                /* Portable= repeats a line that failed on Intel: judged again, and named. */
                { "[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on\nPortable=intel_iommu=on\n",
                  "Portable=intel_iommu=on: on intel the kernel would end up with DMA-FQ", 5 },
                { "[Profile]\nMode=off\n[KernelArgs]\nPortable=intel_iommu=off\n", "on amd the kernel would end up with DMA-FQ", 4 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nARM64=iommu=pt\n", "does not exist on aarch64", 4 },
                { "[Profile]\nMode=passthrough\n[Expect]\nDomainType=DMA\n[KernelArgs]\nAMD=iommu=pt\n", "contradicts Mode=passthrough", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nnot an assignment\n", "syntax error", 4 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_profile_ Profile *p = NULL;
                _cleanup_free_ char *log = NULL, *where = NULL;
                int r;

                test_write(root, "/etc/iommu/profiles/broken.conf", cases[i].content);
                capture_stderr_begin();
                r = profile_load(test_root(root), "broken", &p);
                log = capture_stderr_end();
                if (r != -EINVAL || !strstr(log, cases[i].message))
                        fail_msg("case %zu: r=%d, log:\n%s\nexpected: %s", i, r, log, cases[i].message);
                assert_null(p);
                if (cases[i].line > 0) {
                        assert_true(asprintf(&where, "/etc/iommu/profiles/broken.conf:%u: ", cases[i].line) > 0);
                        if (!strstr(log, where))
                                fail_msg("case %zu: log does not name %s:\n%s", i, where, log);
                }
        }
}

/* A profile that declares only its intent: the kernel model chooses the tokens (issue 21). */
static void test_intent_only(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_cmdline_ Cmdline *c = NULL, *d = NULL;
        _cleanup_free_ char *s = NULL;

        test_write(root, "/etc/iommu/profiles/intent.conf", "[Profile]\nMode=lazy\n");
        assert_int_equal(profile_load(test_root(root), "intent", &p), 0);
        assert_int_equal(p->mode, MODE_LAZY);
        assert_int_equal(p->expect_domain, DOMAIN_DMA_FQ);
        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &c), 0);
        s = cmdline_to_string(c);
        assert_string_equal(s, "intel_iommu=on iommu.passthrough=0 iommu.strict=0");
        p = profile_free(p);
        /* Off has no arm64 spelling: nothing to write, as a profile without the line. */
        test_write(root, "/etc/iommu/profiles/intent.conf", "[Profile]\nMode=off\n");
        assert_int_equal(profile_load(test_root(root), "intent", &p), 0);
        assert_int_equal(profile_kernel_args(p, VENDOR_ARM64, &d), -ENODATA);
}

static void test_include_loop(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *log = NULL;

        test_write(root, "/etc/iommu/profiles/loop-a.conf", "[Profile]\nInclude=loop-b\n");
        test_write(root, "/etc/iommu/profiles/loop-b.conf", "[Profile]\nInclude=loop-a\n");
        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "loop-a", &p), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "loop-b.conf:2: Include=loop-a: include loop"));
}

/* "profiles --resolved": the flattened file loads as the same profile, with no include to find. */
static void test_format_resolved(void **state) {
        static const char * const names[] = { "gpu-sriov", "bare-metal", "generic", "strict", "site-resolved" };

        test_write(root, "/etc/iommu/profiles/site-resolved.conf",
                   "[Profile]\nInclude=strict\nDescription=site\n[KernelArgs]\nAMD=iommu.passthrough=0 iommu.strict=1\n"
                   "[Expect]\nInterruptRemapping=yes\nModules=vfio_pci\n");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_profile_ Profile *p = NULL, *q = NULL;
                _cleanup_free_ char *text = NULL, *path = NULL, *again = NULL;

                assert_int_equal(profile_load(test_root(root), names[i], &p), 0);
                assert_int_equal(profile_format_resolved(p, &text), 0);
                assert_null(strstr(text, "Include="));
                assert_true(asprintf(&path, "/etc/iommu/flat-%s.conf", names[i]) > 0);
                test_write(root, path, text);
                free(path);
                assert_true(asprintf(&path, "%s/etc/iommu/flat-%s.conf", root, names[i]) > 0);
                assert_int_equal(profile_load_file(test_root(root), path, &q), 0);
                assert_int_equal(q->mode, p->mode);
                assert_string_equal(q->description ?: "", p->description ?: "");
                for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                        assert_int_equal(q->args[v].set, p->args[v].set);
                        if (p->args[v].set)
                                assert_string_equal(q->args[v].text, p->args[v].text);
                }
                assert_int_equal(q->expect_groups, p->expect_groups);
                assert_int_equal(q->expect_domain, p->expect_domain);
                assert_int_equal(q->expect_firmware, p->expect_firmware);
                assert_int_equal(q->expect_interrupt_remapping, p->expect_interrupt_remapping);
                assert_int_equal(strv_length(q->expect_modules), strv_length(p->expect_modules));
                for (size_t k = 0; k < strv_length(p->expect_modules); k++)
                        assert_string_equal(q->expect_modules[k], p->expect_modules[k]);
                /* A fixed point. */
                assert_int_equal(profile_format_resolved(q, &again), 0);
                assert_string_equal(strchr(again, '['), strchr(text, '['));
        }
}

static void test_long_line(void **state) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *log = NULL;
        char content[600] = "[Profile]\nMode=passthrough\nDescription=";

        memset(content + strlen(content), 'x', 300);
        strcat(content, "\n[KernelArgs]\nAMD=iommu=pt\n");
        test_write(root, "/etc/iommu/profiles/long.conf", content);
        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "long", &p), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "long.conf:3: line longer than"));
}

static void test_bad_names(void **state) {
        _cleanup_profile_ Profile *p = NULL;

        capture_stderr_begin();
        assert_int_equal(profile_load(test_root(root), "../etc/passwd", &p), -EINVAL);
        assert_int_equal(profile_load(test_root(root), "nope", &p), -ENOENT);
        free(capture_stderr_end());
        assert_false(profile_name_is_valid(""));
        assert_false(profile_name_is_valid(".hidden"));
        assert_true(profile_name_is_valid("gpu-sriov_v2.1"));
}

static void test_config(void **state) {
        _cleanup_free_ char *log = NULL;
        Config c;

        /* No iommu.conf at all: defaults. */
        assert_int_equal(config_load(test_root(root), &c), 0);
        assert_null(c.profile);
        assert_true(c.bootloader_update);
        config_done(&c);

        test_write(root, "/etc/iommu/iommu.conf", "[IOMMU]\nProfile=strict\nVendor=amd\n");
        test_write(root, "/etc/iommu/iommu.conf.d/50-site.conf", "[IOMMU]\nProfile=gpu-sriov\n[Boot]\nEnforce=yes\n");
        assert_int_equal(config_load(test_root(root), &c), 0);
        assert_string_equal(c.profile, "gpu-sriov");
        assert_int_equal(c.vendor, VENDOR_AMD);
        assert_true(c.enforce);
        config_done(&c);

        test_write(root, "/etc/iommu/iommu.conf.d/60-bad.conf", "[IOMMU]\n\nProfle=x\n");
        capture_stderr_begin();
        assert_int_equal(config_load(test_root(root), &c), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "60-bad.conf:3: unknown key 'Profle' in [IOMMU]"));
}

/* The small reader's tests get a root of their own: the tests above leave profiles in /etc. */
static const char *group_root;

static int setup_own_root(void **state) {
        group_root = root;
        root = test_mkroot();
        return 0;
}

static int teardown_own_root(void **state) {
        test_rmroot((char *) root);
        root = group_root;
        return 0;
}

static void assert_strv_equal(char **a, char **b) {
        assert_int_equal(strv_length(a), strv_length(b));
        for (size_t i = 0; i < strv_length(a); i++)
                assert_string_equal(a[i], b[i]);
}

static void assert_str_or_null_equal(const char *a, const char *b) {
        if (!a || !b)
                assert_true(!a && !b);
        else
                assert_string_equal(a, b);
}

/* Field by field, owned keys included. At boot (a from profile_load_boot() or the small reader)
 * Description and [Expect] Modules are left out: NULL in a whatever b has. */
static void assert_profiles_equal_as(const Profile *a, const Profile *b, bool boot) {
        _cleanup_strv_free_ char **ka = NULL, **kb = NULL;

        assert_string_equal(a->name, b->name);
        assert_string_equal(a->path, b->path);
        assert_strv_equal(a->files, b->files);
        if (boot) {
                assert_null(a->description);
                assert_null(a->expect_modules);
        } else {
                assert_str_or_null_equal(a->description, b->description);
                assert_strv_equal(a->expect_modules, b->expect_modules);
        }
        assert_int_equal(a->mode, b->mode);
        for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                assert_int_equal(a->args[v].set, b->args[v].set);
                assert_str_or_null_equal(a->args[v].text, b->args[v].text);
                assert_str_or_null_equal(a->args[v].file, b->args[v].file);
                assert_int_equal(a->args[v].line, b->args[v].line);
        }
        assert_int_equal(a->expect_groups, b->expect_groups);
        assert_int_equal(a->expect_domain, b->expect_domain);
        assert_int_equal(a->expect_firmware, b->expect_firmware);
        assert_int_equal(a->expect_interrupt_remapping, b->expect_interrupt_remapping);
        assert_int_equal(a->lift_acs_redirect, b->lift_acs_redirect);
        assert_int_equal(a->uki_addon, b->uki_addon);
        assert_str_or_null_equal(a->uki_addon_stub, b->uki_addon_stub);
        assert_str_or_null_equal(a->uki_signing_key, b->uki_signing_key);
        assert_str_or_null_equal(a->uki_signing_certificate, b->uki_signing_certificate);
        assert_int_equal(profile_owned_keys(a, &ka), 0);
        assert_int_equal(profile_owned_keys(b, &kb), 0);
        assert_strv_equal(ka, kb);
}

/* profile_owned_keys() splits the stored text; the same keys as parsing it: every token's key is
 * owned, or (a key owned by options) every option it writes. */
static void assert_owned_keys_cover_tokens(const Profile *p) {
        _cleanup_strv_free_ char **keys = NULL;

        assert_int_equal(profile_owned_keys(p, &keys), 0);
        for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                _cleanup_cmdline_ Cmdline *c = NULL;

                if (!p->args[v].set)
                        continue;
                assert_int_equal(cmdline_parse(p->args[v].text, &c), 0);
                for (size_t i = 0; i < c->n_tokens; i++) {
                        const CmdlineToken *t = &c->tokens[i];
                        if (cmdline_key_has_owned_options(t->key, keys)) {
                                if (t->value && *t->value)
                                        assert_int_not_equal(cmdline_token_ownership(t, keys), CMDLINE_NOT_OWNED);
                        } else
                                assert_int_equal(cmdline_token_ownership(t, keys), CMDLINE_OWNED_WHOLE);
                }
        }
}

/* expect_read: 1 the small reader must read the profile, 0 it must decline it, -1 either. In
 * every case profile_load_boot() gives what profile_load_full(PROFILE_LOAD_NO_LINT) gives: the
 * same return value, the same Profile, the same messages; and the small reader logs nothing. */
static void assert_boot_equivalent(const char *name, int expect_read) {
        _cleanup_profile_ Profile *full = NULL, *fast = NULL, *boot = NULL;
        _cleanup_free_ char *log_full = NULL, *log_fast = NULL, *log_boot = NULL;
        int r_full, r_fast, r_boot;

        capture_stderr_begin();
        r_full = profile_load_full(test_root(root), name, PROFILE_LOAD_NO_LINT, &full);
        log_full = capture_stderr_end();
        capture_stderr_begin();
        r_fast = profile_read_boot(test_root(root), name, &fast);
        log_fast = capture_stderr_end();
        capture_stderr_begin();
        r_boot = profile_load_boot(test_root(root), name, &boot);
        log_boot = capture_stderr_end();

        if (expect_read >= 0 && r_fast != expect_read)
                fail_msg("%s: the small reader returned %d, expected %d (full loader: %d, log:\n%s)", name, r_fast,
                         expect_read, r_full, log_full);
        assert_string_equal(log_fast, "");
        assert_int_equal(r_boot, r_full);
        assert_string_equal(log_boot, log_full);
        if (r_fast == 1) {
                assert_int_equal(r_full, 0);
                assert_profiles_equal_as(fast, full, true);
        } else
                assert_null(fast);
        if (r_full == 0) {
                assert_profiles_equal_as(boot, full, true);
                assert_owned_keys_cover_tokens(boot);
        } else
                assert_null(boot);
}

static void test_boot_reader_shipped(void **state) {
        DIR *d = opendir(SRCDIR "/profiles");
        unsigned n = 0;
        struct dirent *de;

        /* Installed as on a node: the tree's /usr/lib has them. */
        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *src = NULL, *dst = NULL, *text = NULL;
                size_t size;

                if (!endswith(de->d_name, ".conf"))
                        continue;
                assert_true(asprintf(&src, SRCDIR "/profiles/%s", de->d_name) > 0);
                assert_true(asprintf(&dst, "/usr/lib/iommu/profiles/%s", de->d_name) > 0);
                assert_int_equal(read_full_file(src, 1 << 20, &text, &size), 0);
                test_write_bytes(root, dst, text, size);
                *strrchr(de->d_name, '.') = '\0';
                assert_boot_equivalent(de->d_name, 1);
                n++;
        }
        closedir(d);
        assert_true(n >= 5);
        /* /etc wins over /usr/lib, as in the full search. */
        test_write(root, "/etc/iommu/profiles/strict.conf", "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt\n");
        assert_boot_equivalent("strict", 1);
        test_write(root, "/run/iommu/profiles/lazy.conf", "[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=iommu=pt\n");
        assert_boot_equivalent("lazy", 1);
}

static void test_boot_reader_odd(void **state) {
        static const struct {
                const char *content;
                int read; /* 1: the small reader takes it, 0: declines it */
        } cases[] = {
                /* Plain: taken. */
                { "# comment\n; other comment\n\n[Profile]\nDescription=x # not a comment for inih\nMode=passthrough\n"
                  "[KernelArgs]\nIntel=intel_iommu=on iommu=pt\nAMD=iommu=pt\n[Expect]\nModules=vfio_pci  vfio\n"
                  "InterruptRemapping=any\n[PCI]\nLiftACSRedirect=gpu-paths\n", 1 },
                { "[Profile]\nMode=strict\n", 1 }, /* intent only */
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt\nIntel=intel_iommu=on iommu=pt\n", 1 }, /* duplicate key: last wins */
                { "[Profile]\nMode=passthrough\nMode=lazy\n[Expect]\nGroups=yes\nGroups=on\n", 1 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel==x a=b=c pci=realloc=on,disable_acs_redir=pci:1000:c030\n", 1 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=pci=\n[Profile]\nDescription=again\n", 1 },
                { "# caf\xc3\xa9 in a comment\n[Profile]\nMode=off\n[KernelArgs]\nIntel=intel_iommu=off\n", 1 },
                { "[Profile]\nMode=off\n[Expect]\nGroups=no\nDomainType=none\nFirmware=optional\n", 1 },
                { "[Profile]\nMode=passthrough", 1 }, /* no final newline */
                /* Not plain: declined, and the full loader decides (the same Profile or failure). */
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on\n  iommu=pt\n", 0 }, /* continuation */
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt ; comment\n", 0 },
                { "[Profile]\nMode = passthrough\n", 0 },
                { "[Profile]\nMode: passthrough\n", 0 },
                { "[Profile]\nMode=passthrough \n", 0 },
                { "[Profile]\nMode=passthrough\r\n", 0 },
                { "[Profile]\n\tMode=passthrough\n", 0 },
                { " [Profile]\nMode=passthrough\n", 0 },
                { "[Profile] \nMode=passthrough\n", 0 },
                { "\xef\xbb\xbf[Profile]\nMode=passthrough\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nnot an assignment\n", 0 },
                { "Mode=passthrough\n", 0 }, /* before any section */
                { "[Profile]\nInclude=gpu-sriov\nDescription=mine\n", 0 },
                { "[Profile]\nMode=passthrough\n[UKI]\nAddon=per-uki\n", 0 },
                { "[Profile]\nMode=passthrough\n[Kernel]\nIntel=iommu=pt\n", 0 },
                { "[Profile]\nMod=passthrough\n", 0 },
                { "[Profile]\nMode=fast\n", 0 },
                { "[Profile]\nDescription=\nMode=passthrough\n", 1 }, /* empty, as inih gives it */
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt  intel_iommu=on\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt $(reboot)\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt -- init\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=\"iommu=pt\"\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=pt\nIntel=x;y\n", 0 },
                { "[Profile]\nMode=passthrough\n[Expect]\nGroups=maybe\n", 0 },
                { "[Profile]\nMode=passthrough\n[Expect]\nDomainType=DMA\n", 0 }, /* contradicts Mode */
                { "[Profile]\nMode=off\n[Expect]\nGroups=yes\n", 0 },
                { "[Profile]\nDescription=no mode\n", 0 },
                { "", 0 },
                { "[Profile]\nMode=passthrough\n[PCI]\nLiftACSRedirect=all\n", 0 },
                { "[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=iommu=strict\n", 1 }, /* lint is not the boot's */
                { "#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n[Profile]\nMode=passthrough\n", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                test_write_bytes(root, "/etc/iommu/profiles/odd.conf", cases[i].content, strlen(cases[i].content));
                assert_boot_equivalent("odd", cases[i].read);
        }
        /* A NUL byte. */
        test_write_bytes(root, "/etc/iommu/profiles/odd.conf", "[Profile]\nMode=passthrough\n\0\n", 28);
        assert_boot_equivalent("odd", 0);
}

static void test_boot_reader_files(void **state) {
        _cleanup_free_ char *link = test_root_path(root, "/etc/iommu/profiles/linked.conf");
        _cleanup_free_ char *dir = test_root_path(root, "/etc/iommu/profiles/adir.conf");

        /* A symlink in /etc: its rules (followed inside the root only) are the full loader's. */
        test_write(root, "/usr/lib/iommu/profiles/linked-target.conf", "[Profile]\nMode=passthrough\n");
        test_write(root, "/etc/iommu/profiles/other.conf", "[Profile]\nMode=passthrough\n");
        assert_int_equal(symlink("/usr/lib/iommu/profiles/linked-target.conf", link), 0);
        assert_boot_equivalent("linked", 0);
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink("../../../../../../../../etc/passwd", link), 0);
        assert_boot_equivalent("linked", 0);
        /* A directory where the file should be. */
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_boot_equivalent("adir", 0);
        /* Only in $IOMMUCTL_PROFILES_PATH (the shipped ones, set by meson): the full search. */
        if (getenv("IOMMUCTL_PROFILES_PATH"))
                assert_boot_equivalent("generic", 0);
        /* Not anywhere; not a valid name. */
        assert_boot_equivalent("no-such-profile", 0);
        assert_boot_equivalent("../etc", 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shipped_profiles),
                cmocka_unit_test(test_precedence_and_include),
                cmocka_unit_test(test_owned_pci_options),
                cmocka_unit_test(test_broken_profiles),
                cmocka_unit_test(test_intent_only),
                cmocka_unit_test(test_include_loop),
                cmocka_unit_test(test_format_resolved),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_config),
                cmocka_unit_test_setup_teardown(test_boot_reader_shipped, setup_own_root, teardown_own_root),
                cmocka_unit_test_setup_teardown(test_boot_reader_odd, setup_own_root, teardown_own_root),
                cmocka_unit_test_setup_teardown(test_boot_reader_files, setup_own_root, teardown_own_root),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
