/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host.h"
#include "pcie.h"
#include "plan.h"
#include "strv.h"
#include "test-util.h"

static Profile *load(const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_load(test_root("/nonexistent-root"), name, &p), 0);
        return p;
}

static void test_acceptance(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_(plan_done) Plan plan = {}, again = {};
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL,
                                      "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=off iommu=strict -- single", &plan), 0);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single");
        assert_false(plan.in_sync);
        assert_int_equal(plan.n_changes, 4);
        assert_int_equal(plan.changes[0].action, PLAN_REMOVE);
        assert_string_equal(plan.changes[0].token, "intel_iommu=off");
        assert_int_equal(plan.changes[1].action, PLAN_REMOVE);
        assert_non_null(strstr(plan.changes[1].why, "iommu.strict=1"));
        assert_int_equal(plan.changes[2].action, PLAN_ADD);
        assert_string_equal(plan.changes[3].token, "iommu=pt");
        assert_true(plan.predicted.groups);
        assert_int_equal(plan.predicted.domain, DOMAIN_IDENTITY);

        /* The engine on its own output changes nothing. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, s, &again), 0);
        s2 = cmdline_to_string(again.result);
        assert_string_equal(s2, s);
        assert_true(again.in_sync);
        for (size_t i = 0; i < again.n_changes; i++)
                assert_int_equal(again.changes[i].action, PLAN_KEEP);
}

/* Issue 11's acceptance line: the profile's tokens in another order are in sync. */
static void test_any_order(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;
        const char *line = "root=/dev/sda iommu.strict=1 iommu.passthrough=0 intel_iommu=on";

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, line, &plan), 0);
        assert_true(plan.in_sync);
        assert_int_equal(plan.sync, SYNC_IN_SYNC);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, line);
        assert_null(plan.dropped);
        for (size_t i = 0; i < plan.n_changes; i++)
                assert_int_equal(plan.changes[i].action, PLAN_KEEP);
}

/* An owned token that changes nothing does not break the sync; one that changes the effect does. */
static void test_inert_extra_token(void **state) {
        _cleanup_profile_ Profile *p = load("generic");
        _cleanup_(plan_done) Plan plan = {}, drift = {};
        _cleanup_free_ char *s = NULL;
        const char *line = "ro amd_iommu=off iommu=on intel_iommu=off";

        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, line, &plan), 0);
        assert_int_equal(plan.sync, SYNC_IN_SYNC);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, line);

        /* A line that leaves the IOMMU on is drift; the rewrite drops iommu=on (ignored) and intel_iommu=on
         * (VT-d is on by default in this build), both changing nothing. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, "ro iommu=on intel_iommu=on", &drift), 0);
        assert_int_equal(drift.sync, SYNC_DRIFT);
        assert_non_null(drift.dropped);
        assert_string_equal(drift.dropped[0], "iommu=on");
        assert_string_equal(drift.dropped[1], "intel_iommu=on");
        assert_null(drift.dropped[2]);
        assert_non_null(strstr(drift.changes[0].why, "changes nothing"));
}

/* The line apply writes is in sync without a kernel model (the generator's fast path); another
 * order, an extra owned token or a missing one is left to the model. */
static void test_line_carries_profile(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        const struct { const char *line; bool carries; } cases[] = {
                { "ro quiet intel_iommu=on iommu=pt", true },
                { "intel_iommu=on ro iommu=pt quiet", true },
                { "ro iommu=pt intel_iommu=on", false },
                { "ro intel_iommu=on iommu=pt iommu=on", false },
                { "ro intel_iommu=on", false },
                { "ro", false },
        };

        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &wanted), 0);
        assert_int_equal(profile_owned_keys(p, &owned), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_cmdline_ Cmdline *cur = NULL;
                SyncState st;

                assert_int_equal(cmdline_parse(cases[i].line, &cur), 0);
                assert_int_equal(plan_line_carries_profile(cur, owned, wanted), cases[i].carries);
                /* Never a different answer than the model's. */
                assert_int_equal(plan_sync_state(NULL, VENDOR_INTEL, cur, owned, wanted, &st), 0);
                if (cases[i].carries)
                        assert_int_equal(st, SYNC_IN_SYNC);
        }
}

/* Same effect without the profile's own tokens: not drift, but plan still has something to add. */
static void test_same_effect(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_(plan_done) Plan plan = {};
        KernelInfo k;
        SyncState st;
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;

        /* VT-d is on by default in this build: iommu=pt alone does what intel_iommu=on iommu=pt does. */
        assert_int_equal(plan_compute(p, VENDOR_INTEL, NULL, "ro iommu=pt", &plan), 0);
        assert_int_equal(plan.sync, SYNC_SAME_EFFECT);
        assert_false(plan.in_sync);

        /* On a build with VT-d off by default it is drift. */
        kernel_info_default(ARCH_X86_64, &k);
        k.config.intel_default_on = 0;
        assert_int_equal(cmdline_parse("ro iommu=pt", &cur), 0);
        assert_int_equal(profile_kernel_args(p, VENDOR_INTEL, &wanted), 0);
        assert_int_equal(profile_owned_keys(p, &owned), 0);
        assert_int_equal(plan_sync_state(&k, VENDOR_INTEL, cur, owned, wanted, &st), 0);
        assert_int_equal(st, SYNC_DRIFT);
}

/* The judgement is an argument: the same line is carried on AMD (amd_iommu=on is the default
 * there, so it changes nothing), and the merge of a line judged not to carry drops it. */
static void test_judge(void **state) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL, *m1 = NULL, *empty = NULL;
        _cleanup_free_ char *s1 = NULL;
        _cleanup_(sync_judge_done) SyncJudge amd = SYNC_JUDGE(NULL, VENDOR_AMD);
        KernelInfo k;

        assert_int_equal(cmdline_parse("ro iommu=pt amd_iommu=on", &cur), 0);
        assert_int_equal(cmdline_parse("iommu=pt", &wanted), 0);
        assert_int_equal(cmdline_parse("", &empty), 0);
        assert_int_equal(cmdline_merge(cur, iommu_owned_keys, wanted, &m1), 0);
        s1 = cmdline_to_string(m1);
        assert_string_equal(s1, "ro iommu=pt");

        amd.note_dropped = true;
        assert_true(sync_judge_carries(&amd, cur, iommu_owned_keys, wanted));
        assert_null(amd.dropped);
        /* Clearing the owned tokens: a line with any of them does not carry "nothing". */
        assert_false(sync_judge_carries(&amd, cur, iommu_owned_keys, empty));

        /* A line that does what intel_iommu=on iommu=pt does (VT-d on by default) but lacks one of
         * the tokens is not carried: same effect is not enough, every wanted token must be there. */
        kernel_info_default(ARCH_X86_64, &k);
        k.config.intel_default_on = 1;
        cmdline_free(wanted);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        {
                _cleanup_(sync_judge_done) SyncJudge intel = SYNC_JUDGE(&k, VENDOR_INTEL);
                assert_false(sync_judge_carries(&intel, cur, iommu_owned_keys, wanted));
        }
}

/* Issue 24: the entries of a node are judged once per distinct kernel model (its version and
 * build configuration), not once per entry. */
static void test_judge_for_entry(void **state) {
        char *root = test_mkroot();
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        SyncJudge *j, *j18, *j510;
        const Cmdline *w;
        KernelInfo k;

        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        kernel_info_default(ARCH_X86_64, &k);
        {
                _cleanup_(sync_judge_done) SyncJudge node = SYNC_JUDGE(&k, VENDOR_INTEL);

                /* No release to read: the node's own judge and line. */
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, NULL, wanted, &j, &w), 0);
                assert_ptr_equal(j, &node);
                assert_ptr_equal(w, wanted);
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "0-rescue-abc", wanted, &j, &w), 0);
                assert_ptr_equal(j, &node);
                /* Two releases of one version, no build configuration anywhere: one model. */
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "6.1.0-18-amd64", wanted, &j18, &w), 0);
                assert_true(j18 != &node);
                assert_int_equal(j18->kernel->version, KERNEL_VERSION(6, 1));
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "6.1.0-21-amd64", wanted, &j, &w), 0);
                assert_ptr_equal(j, j18);
                assert_int_equal(node.n_entry_models, 1);
                /* Another version: another model; a release seen before: its model again. */
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "5.10.0-32-amd64", wanted, &j510, &w), 0);
                assert_true(j510 != j18 && j510 != &node);
                assert_int_equal(node.n_entry_models, 2);
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "6.1.0-18-amd64", wanted, &j, &w), 0);
                assert_ptr_equal(j, j18);
                /* The entry judges' answers are theirs: judging through them leaves the node's cache alone. */
                assert_true(sync_judge_carries(j18, wanted, iommu_owned_keys, wanted));
                assert_null(node.cache[0].key);
        }
        /* A release with a build configuration of its own is a model of its own. */
        test_write(root, "/boot/config-6.1.0-21-amd64", "CONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n");
        {
                _cleanup_(sync_judge_done) SyncJudge node = SYNC_JUDGE(&k, VENDOR_INTEL);

                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "6.1.0-18-amd64", wanted, &j18, &w), 0);
                assert_null(j18->kernel->config_source);
                assert_int_equal(sync_judge_for_entry(test_root(root), &node, "6.1.0-21-amd64", wanted, &j, &w), 0);
                assert_true(j != j18);
                assert_non_null(j->kernel->config_source);
                assert_int_equal(j->kernel->config.intel_default_on, 0);
                assert_int_equal(node.n_entry_models, 2);
        }
        kernel_info_done(&k);
        test_rmroot(root);
}

/* Issue 19's case: intel_iommu=on iommu=pt amd_iommu=off on Intel carries gpu-sriov's tokens. */
static void test_judge_extra_inert(void **state) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *wanted = NULL;
        _cleanup_(sync_judge_done) SyncJudge intel = SYNC_JUDGE(NULL, VENDOR_INTEL);

        assert_int_equal(cmdline_parse("root=/dev/sda1 intel_iommu=on iommu=pt amd_iommu=off", &cur), 0);
        assert_int_equal(cmdline_parse("intel_iommu=on iommu=pt", &wanted), 0);
        assert_true(sync_judge_carries(&intel, cur, iommu_owned_keys, wanted));
        intel.note_dropped = true;
        /* Without intel_iommu=on it is not carried, and amd_iommu=off is noted as changing nothing. */
        cmdline_free(cur);
        assert_int_equal(cmdline_parse("root=/dev/sda1 iommu=pt amd_iommu=off", &cur), 0);
        assert_false(sync_judge_carries(&intel, cur, iommu_owned_keys, wanted));
        assert_non_null(intel.dropped);
        assert_string_equal(intel.dropped[0], "amd_iommu=off");
}

/* Issue 21: the model chooses the strict profile's tokens for the target kernel. Debian 11's 5.10
 * (VT-d on by default, CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF) needs intel_iommu=strict; 6.12
 * takes iommu.strict=1. */
static void test_tokens_for_kernel(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        _cleanup_profile_ Profile *lazy = load("lazy");
        KernelInfo k;
        static const struct {
                unsigned major, minor;
                const char *config;
                Vendor vendor;
                const char *want;
        } cases[] = {
                { 5, 10, "CONFIG_INTEL_IOMMU=y\nCONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\n", VENDOR_INTEL,
                  "intel_iommu=strict iommu.passthrough=0" },
                { 5, 10, NULL, VENDOR_INTEL, "intel_iommu=on,strict iommu.passthrough=0" },
                { 5, 10, NULL, VENDOR_AMD, "amd_iommu=fullflush iommu.passthrough=0" },
                { 5, 14, NULL, VENDOR_PORTABLE, "intel_iommu=on,strict amd_iommu=fullflush iommu.passthrough=0" },
                { 6, 12, "CONFIG_INTEL_IOMMU=y\nCONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\nCONFIG_IOMMU_DEFAULT_DMA_LAZY=y\n",
                  VENDOR_INTEL, "intel_iommu=on iommu.passthrough=0 iommu.strict=1" },
                { 5, 10, NULL, VENDOR_ARM64, "iommu.passthrough=0 iommu.strict=1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(plan_done) Plan plan = {};
                _cleanup_free_ char *s = NULL;

                kernel_info_default(vendor_arch(cases[i].vendor), &k);
                k.version = KERNEL_VERSION(cases[i].major, cases[i].minor);
                k.config_source = cases[i].config ? (char *) "config" : NULL;
                kernel_config_parse(cases[i].config, vendor_arch(cases[i].vendor), k.version, &k.config);
                assert_int_equal(plan_compute(p, cases[i].vendor, &k, NULL, &plan), 0);
                s = cmdline_to_string(plan.result);
                if (!streq(s, cases[i].want))
                        fail_msg("case %zu: planned '%s', wanted '%s'", i, s, cases[i].want);
                assert_false(plan.wanted_from_profile);
                assert_non_null(plan.wanted_why);
                /* The model's own prediction of its choice keeps the promise. */
                assert_int_equal(plan.predicted.strict, 1);
        }

        /* Lazy where a virtual IOMMU forces strict: refused, with the reason and the nearest mode. */
        {
                _cleanup_(plan_done) Plan plan = {};
                _cleanup_free_ char *log = NULL;

                kernel_info_default(ARCH_X86_64, &k);
                kernel_platform_from_cap("intel-iommu", "d2008c22260286", &k.platform);
                capture_stderr_begin();
                assert_int_equal(plan_compute(lazy, VENDOR_INTEL, &k, NULL, &plan), -EOPNOTSUPP);
                log = capture_stderr_end();
                assert_non_null(strstr(log, "caching mode"));
                assert_non_null(strstr(log, "nearest mode this kernel can give is strict"));
        }
        /* Debian's cloud flavour has no AMD-Vi driver: passthrough cannot be kept there. */
        {
                _cleanup_(intent_choice_done) IntentChoice c = {};

                kernel_info_default(ARCH_X86_64, &k);
                k.config_source = (char *) "/boot/config-6.12.117+deb13-cloud-amd64";
                kernel_config_parse("CONFIG_INTEL_IOMMU=y\n# CONFIG_AMD_IOMMU is not set\n", ARCH_X86_64, k.version, &k.config);
                assert_int_equal(intent_choose(MODE_PASSTHROUGH, VENDOR_AMD, &k, &c), 0);
                assert_null(c.tokens);
                assert_non_null(strstr(c.refusal, "CONFIG_AMD_IOMMU"));
                assert_int_equal(c.nearest, MODE_OFF);
        }
}

/* A host running SEV-SNP guests: passthrough breaks them; plan says so and names the profile that fits. */
static void test_conflicts(void **state) {
        _cleanup_profile_ Profile *p = load("gpu-sriov");
        _cleanup_(plan_done) Plan plan = {}, plan2 = {};
        char *lines[] = { (char *) "[    5.1] kvm_amd: SEV-SNP enabled (ASIDs 1 - 99)", NULL };
        KernelInfo k;

        kernel_info_default(ARCH_X86_64, &k);
        kernel_platform_from_log(lines, &k.platform);
        assert_int_equal(plan_compute(p, VENDOR_AMD, &k, NULL, &plan), 0);
        assert_int_equal(plan.conflicts.n, 1);
        assert_string_equal(plan.conflicts.items[0].id, "sev-snp");
        assert_non_null(strstr(plan.conflicts.items[0].message, "SNP cannot be supported"));
        assert_string_equal(plan.conflicts.items[0].fits, "lazy");
        /* Unknown platform facts raise nothing. */
        kernel_info_default(ARCH_X86_64, &k);
        assert_int_equal(plan_compute(p, VENDOR_AMD, &k, NULL, &plan2), 0);
        assert_int_equal(plan2.conflicts.n, 0);
}

/* The node's platform: caps under /sys/class/iommu, and what only its owner can state
 * (/etc/iommu/platform.conf): PASID devices on SMMUv3 before 6.11 conflict with passthrough unless
 * the kernel carries the identity-domain backport. */
static void test_platform_probe(void **state) {
        char *root = test_mkroot();
        KernelPlatform pl;
        KernelInfo k;
        IntentConflicts c = {};
        _cleanup_free_ char *log = NULL;

        test_write(root, "/sys/class/iommu/dmar0/intel-iommu/cap", "d2008c22260286\n");
        test_write(root, "/sys/class/iommu/smmu3.0x0000000009050000/.keep", "");
        test_write(root, "/etc/iommu/platform.conf", "[Platform]\nPASIDDevices=yes\n");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &pl), 0);
        assert_int_equal(pl.fact[PLATFORM_VTD_CACHING_MODE], 1);
        assert_int_equal(pl.fact[PLATFORM_SMMUV3], 1);
        assert_int_equal(pl.fact[PLATFORM_PASID_ATS], 1);
        assert_non_null(strstr(pl.evidence[PLATFORM_PASID_ATS], "platform.conf"));

        kernel_info_default(ARCH_AARCH64, &k);
        k.version = KERNEL_VERSION(6, 8);
        k.platform = pl;
        assert_int_equal(intent_conflicts(MODE_PASSTHROUGH, VENDOR_ARM64, &k, &c), 0);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.items[0].id, "smmuv3-pasid");
        intent_conflicts_done(&c);
        /* 6.11 has the fix; a vendor kernel states its backport. */
        k.version = KERNEL_VERSION(6, 11);
        assert_int_equal(intent_conflicts(MODE_PASSTHROUGH, VENDOR_ARM64, &k, &c), 0);
        assert_int_equal(c.n, 0);
        intent_conflicts_done(&c);
        test_write(root, "/etc/iommu/platform.conf", "[Platform]\nPASIDDevices=yes\nSMMUv3IdentityFix=yes\n");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        k.version = KERNEL_VERSION(6, 8);
        assert_int_equal(intent_conflicts(MODE_PASSTHROUGH, VENDOR_ARM64, &k, &c), 0);
        assert_int_equal(c.n, 0);
        intent_conflicts_done(&c);

        /* A broken statement is an error with file:line, not a guess. */
        test_write(root, "/etc/iommu/platform.conf", "[Platform]\nSEVSNP=maybe\n");
        capture_stderr_begin();
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_X86_64, NULL, &pl), -EINVAL);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "platform.conf:2: SEVSNP=maybe is not valid"));
        test_rmroot(root);
}

/* PASID/ATS devices probed from config space on an SMMUv3 host (no statement needed): a
 * Grace-class GPU's endpoint with both capabilities raises the smmuv3-pasid conflict on 6.8;
 * a NIC without PASID says "no" with its evidence; without an SMMUv3 nothing is scanned. */
static void put_endpoint(const char *root, const char *bdf, bool pasid) {
        uint8_t cfg[PCI_CONFIG_SPACE_SIZE] = {};
        _cleanup_free_ char *path = NULL;

        cfg[0x00] = 0xde; cfg[0x01] = 0x10; /* NVIDIA */
        cfg[0x06] = 0x10;                   /* capability list */
        cfg[0x34] = 0x60;
        cfg[0x60] = 0x10; cfg[0x62] = 0x02; /* PCI Express endpoint */
        cfg[0x100] = 0x0f; cfg[0x102] = 0x01; cfg[0x103] = pasid ? 0x12 : 0x00; /* ATS, next 0x120 */
        if (pasid) {
                cfg[0x120] = 0x1b; cfg[0x122] = 0x01;                           /* PASID */
        }
        assert_true(asprintf(&path, "/sys/bus/pci/devices/%s/config", bdf) > 0);
        test_write_bytes(root, path, cfg, sizeof(cfg));
}

static void test_platform_probe_pasid(void **state) {
        char *root = test_mkroot();
        KernelInfo k;
        IntentConflicts c = {};

        put_endpoint(root, "0009:01:00.0", false);
        /* No SMMUv3: not scanned, unknown. */
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_PASID_ATS], -1);
        test_write(root, "/sys/class/iommu/smmu3.0x0000000011000000/.keep", "");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_PASID_ATS], 0);
        assert_non_null(strstr(k.platform.evidence[PLATFORM_PASID_ATS], "config space"));

        put_endpoint(root, "0019:01:00.0", true);
        kernel_info_default(ARCH_AARCH64, &k);
        k.version = KERNEL_VERSION(6, 8);
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_PASID_ATS], 1);
        assert_non_null(strstr(k.platform.evidence[PLATFORM_PASID_ATS], "PASID and ATS"));
        assert_int_equal(intent_conflicts(MODE_PASSTHROUGH, VENDOR_ARM64, &k, &c), 0);
        assert_int_equal(c.n, 1);
        assert_string_equal(c.items[0].id, "smmuv3-pasid");
        intent_conflicts_done(&c);
        /* Grace: the CPU part alone is any Neoverse V2; the SoC ID decides. */
        test_write(root, "/proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n\n");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_GRACE], 1);
        assert_non_null(strstr(k.platform.evidence[PLATFORM_GRACE], "Graviton4"));
        test_write(root, "/sys/devices/soc0/soc_id", "jep106:0a00:0010\n"); /* not NVIDIA */
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_GRACE], 0);
        test_write(root, "/sys/devices/soc0/soc_id", "jep106:036b:0241\n");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_GRACE], 1);
        assert_non_null(strstr(k.platform.evidence[PLATFORM_GRACE], "soc_id"));
        /* The owner's statement still wins over the probe. */
        test_write(root, "/etc/iommu/platform.conf", "[Platform]\nPASIDDevices=no\n");
        assert_int_equal(kernel_platform_probe(test_root(root), ARCH_AARCH64, NULL, &k.platform), 0);
        assert_int_equal(k.platform.fact[PLATFORM_PASID_ATS], 0);
        test_rmroot(root);
}

static void test_offline(void **state) {
        _cleanup_profile_ Profile *p = load("strict");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *s = NULL;

        assert_int_equal(plan_compute(p, VENDOR_PORTABLE, NULL, NULL, &plan), 0);
        assert_null(plan.current);
        s = cmdline_to_string(plan.result);
        assert_string_equal(s, "intel_iommu=on iommu.passthrough=0 iommu.strict=1");
        assert_int_equal(plan.predicted.domain, DOMAIN_DMA);
}

static void test_no_args_for_vendor(void **state) {
        _cleanup_profile_ Profile *p = load("bare-metal");
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *log = NULL;

        /* Mode=off has no arm64 spelling: refused with the reason and the nearest mode. */
        capture_stderr_begin();
        assert_int_equal(plan_compute(p, VENDOR_ARM64, NULL, "ro", &plan), -EOPNOTSUPP);
        log = capture_stderr_end();
        assert_non_null(strstr(log, "arm64 has no command-line switch that turns the SMMU off"));
        assert_non_null(strstr(log, "nearest mode this kernel can give is passthrough"));
}

static void test_host_probe(void **state) {
        char *root = test_mkroot();
        HostInfo h;

        /* Nothing under the root: vendor unknown unless overridden. */
        assert_int_equal(host_probe(test_root(root), ARCH_X86_64, _VENDOR_INVALID, &h), 0);
        assert_true(h.vendor < 0);
        host_info_done(&h);

        test_write(root, "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\n");
        assert_int_equal(host_probe(test_root(root), _ARCH_INVALID, _VENDOR_INVALID, &h), 0);
        assert_int_equal(h.arch, ARCH_X86_64);
        assert_int_equal(h.vendor, VENDOR_AMD);
        host_info_done(&h);

        /* The ACPI table wins over the CPU vendor. */
        test_write(root, "/sys/firmware/acpi/tables/DMAR", "DMAR");
        assert_int_equal(host_probe(test_root(root), _ARCH_INVALID, _VENDOR_INVALID, &h), 0);
        assert_int_equal(h.vendor, VENDOR_INTEL);
        assert_string_equal(h.vendor_source, "ACPI DMAR table present");
        host_info_done(&h);

        test_write(root, "/proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\n");
        assert_int_equal(host_probe(test_root(root), _ARCH_INVALID, VENDOR_PORTABLE, &h), 0);
        assert_int_equal(h.arch, ARCH_AARCH64);
        assert_int_equal(host_args_vendor(&h), VENDOR_ARM64);
        host_info_done(&h);
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_acceptance),
                cmocka_unit_test(test_any_order),
                cmocka_unit_test(test_inert_extra_token),
                cmocka_unit_test(test_line_carries_profile),
                cmocka_unit_test(test_same_effect),
                cmocka_unit_test(test_judge),
                cmocka_unit_test(test_judge_extra_inert),
                cmocka_unit_test(test_offline),
                cmocka_unit_test(test_no_args_for_vendor),
                cmocka_unit_test(test_tokens_for_kernel),
                cmocka_unit_test(test_conflicts),
                cmocka_unit_test(test_judge_for_entry),
                cmocka_unit_test(test_platform_probe),
                cmocka_unit_test(test_platform_probe_pasid),
                cmocka_unit_test(test_host_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
