/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "foreign-kargs.h"

/* lint for the newest kernel the model knows, as "iommuctl lint --arch" without --kernel. */
static int lint_for(const ForeignKargs *k, Arch arch, ForeignReport *r) {
        KernelInfo kernel;
        int ret;

        kernel_info_default(arch, &kernel);
        ret = foreign_kargs_lint(k, &kernel, _VENDOR_INVALID, r);
        kernel_info_done(&kernel);
        return ret;
}

static void parse_ok(ForeignSyntax syntax, const char *text, ForeignKargs *k) {
        assert_int_equal(foreign_kargs_parse(syntax, text, strlen(text), k), 0);
}

static void assert_karg(const ForeignKargs *k, size_t i, const char *text, unsigned line, unsigned column, bool removal) {
        assert_true(i < k->n_kargs);
        assert_string_equal(k->kargs[i].text, text);
        assert_int_equal(k->kargs[i].line, line);
        assert_int_equal(k->kargs[i].column, column);
        assert_int_equal(k->kargs[i].removal, removal);
}

/* The one finding of a report that mentions needle (in the message or the fix). */
static const ForeignFinding *find(const ForeignReport *r, const char *needle) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (strstr(r->findings[i].lint.message, needle) ||
                    (r->findings[i].lint.fix && strstr(r->findings[i].lint.fix, needle)))
                        return &r->findings[i];
        for (size_t i = 0; i < r->n_findings; i++)
                print_message("  %u:%u %s: %s\n", r->findings[i].line, r->findings[i].column,
                              foreign_finding_severity(&r->findings[i]), r->findings[i].lint.message);
        fail_msg("no finding mentions '%s'", needle);
        return NULL;
}

static void test_sniff(void **state) {
        assert_int_equal(foreign_kargs_sniff("x.toml", ""), FOREIGN_SYNTAX_TOML);
        assert_int_equal(foreign_kargs_sniff("10-iommu", "# c\n  kargs = [\"a\"]\n"), FOREIGN_SYNTAX_TOML);
        assert_int_equal(foreign_kargs_sniff("mc.yaml", "apiVersion: v1\nkind: X\n"), FOREIGN_SYNTAX_YAML);
        assert_int_equal(foreign_kargs_sniff("c.ign", "  {\"ignition\": {}}"), FOREIGN_SYNTAX_YAML);
        assert_int_equal(foreign_kargs_sniff("t", "# talos\nmachine:\n  install: {}\n"), FOREIGN_SYNTAX_YAML);
        /* What lint read before stays its own: BLS entries, GRUB defaults, command lines, profiles. */
        assert_int_equal(foreign_kargs_sniff("e.conf", "title Debian\nversion 6.1\noptions root=/dev/sda1 iommu=pt\n"),
                         FOREIGN_SYNTAX_NONE);
        assert_int_equal(foreign_kargs_sniff("grub", "GRUB_CMDLINE_LINUX=\"kargs=1\"\n"), FOREIGN_SYNTAX_NONE);
        assert_int_equal(foreign_kargs_sniff("cmdline", "intel_iommu=on iommu=pt -- kind:x\n"), FOREIGN_SYNTAX_NONE);
        assert_int_equal(foreign_kargs_sniff("p.conf", "[Profile]\nName=x\n[KernelArgs]\nAdd=iommu=pt\n"),
                         FOREIGN_SYNTAX_NONE);
}

static void test_machine_config(void **state) {
        ForeignKargs k = {};

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "apiVersion: machineconfiguration.openshift.io/v1\n"
                 "kind: MachineConfig\n"
                 "metadata:\n"
                 "  name: 05-worker-kernelarg-iommu\n"
                 "spec:\n"
                 "  kernelArguments:\n"
                 "    - amd_iommu=on\n"
                 "    - \"iommu=pt\"\n",
                 &k);
        assert_int_equal(k.n_documents, 1);
        assert_int_equal(k.documents[0].format, FOREIGN_MACHINE_CONFIG);
        assert_string_equal(k.documents[0].name, "05-worker-kernelarg-iommu");
        assert_int_equal(k.n_kargs, 2);
        assert_karg(&k, 0, "amd_iommu=on", 7, 7, false);
        assert_karg(&k, 1, "iommu=pt", 8, 7, false); /* a quoted scalar starts at its quote */
        assert_int_equal(k.n_problems, 0);
        foreign_kargs_done(&k);
}

static void test_multi_document(void **state) {
        ForeignKargs k = {};

        /* A pool next to its config, the way the MCO docs show them; the pool is not ours. */
        parse_ok(FOREIGN_SYNTAX_YAML,
                 "apiVersion: machineconfiguration.openshift.io/v1\n"
                 "kind: MachineConfigPool\n"
                 "metadata: {name: gpu}\n"
                 "spec: {kernelArguments: [not-this]}\n"
                 "---\n"
                 "apiVersion: machineconfiguration.openshift.io/v1\n"
                 "kind: MachineConfig\n"
                 "spec:\n"
                 "  kernelArguments: [intel_iommu=on, iommu=strict]\n"
                 "---\n"
                 "apiVersion: performance.openshift.io/v2\n"
                 "kind: PerformanceProfile\n"
                 "spec:\n"
                 "  additionalKernelArgs:\n"
                 "  - iommu=pt\n"
                 "---\n"
                 "apiVersion: v1\n"
                 "kind: List\n"
                 "items:\n"
                 "- apiVersion: machineconfiguration.openshift.io/v1\n"
                 "  kind: MachineConfig\n"
                 "  metadata: {name: from-list}\n"
                 "  spec: {kernelArguments: [amd_iommu=off]}\n",
                 &k);
        assert_int_equal(k.n_documents, 3);
        assert_int_equal(k.documents[0].format, FOREIGN_MACHINE_CONFIG);
        assert_int_equal(k.documents[1].format, FOREIGN_PERFORMANCE_PROFILE);
        assert_int_equal(k.documents[2].format, FOREIGN_MACHINE_CONFIG);
        assert_string_equal(k.documents[2].name, "from-list");
        assert_int_equal(k.n_kargs, 4);
        assert_karg(&k, 0, "intel_iommu=on", 9, 21, false);
        assert_karg(&k, 1, "iommu=strict", 9, 37, false);
        assert_karg(&k, 2, "iommu=pt", 15, 5, false);
        assert_int_equal(k.kargs[2].document, 1);
        assert_karg(&k, 3, "amd_iommu=off", 23, 28, false);
        foreign_kargs_done(&k);
}

static void test_butane_ignition_talos(void **state) {
        ForeignKargs k = {};

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "variant: fcos\n"
                 "version: 1.4.0\n"
                 "kernel_arguments:\n"
                 "  should_exist:\n"
                 "    - intel_iommu=on\n"
                 "  should_not_exist:\n"
                 "    - amd_iommu=on\n",
                 &k);
        assert_int_equal(k.documents[0].format, FOREIGN_BUTANE);
        assert_karg(&k, 0, "intel_iommu=on", 5, 7, false);
        assert_karg(&k, 1, "amd_iommu=on", 7, 7, true);
        foreign_kargs_done(&k);

        /* Butane without --pretty writes one line; JSON's \/ escape and tabs are read too. */
        parse_ok(FOREIGN_SYNTAX_YAML,
                 "{\"ignition\":{\"version\":\"3.3.0\"},\"kernelArguments\":{\"shouldExist\":[\"iommu=pt\",\"a\\/b\"],"
                 "\"shouldNotExist\":[\"iommu=strict\"]}}",
                 &k);
        assert_int_equal(k.documents[0].format, FOREIGN_IGNITION);
        assert_karg(&k, 0, "iommu=pt", 1, 67, false);
        assert_karg(&k, 1, "a/b", 1, 78, false);
        assert_karg(&k, 2, "iommu=strict", 1, 104, true);
        foreign_kargs_done(&k);

        parse_ok(FOREIGN_SYNTAX_YAML, "{\n\t\"ignition\": {\"version\": \"3.4.0\"},\n\t\"kernelArguments\": {\n\t\t\"shouldExist\": [\"iommu=pt\"]\n\t}\n}\n", &k);
        assert_karg(&k, 0, "iommu=pt", 4, 19, false);
        foreign_kargs_done(&k);

        /* Talos: the machine config plus other documents of a multi-document config. */
        parse_ok(FOREIGN_SYNTAX_YAML,
                 "version: v1alpha1\n"
                 "machine:\n"
                 "  type: worker\n"
                 "  install:\n"
                 "    disk: /dev/sda\n"
                 "    extraKernelArgs:\n"
                 "      - console=ttyS1\n"
                 "      - intel_iommu=on\n"
                 "---\n"
                 "apiVersion: v1alpha1\n"
                 "kind: HostnameConfig\n"
                 "hostname: gpu-01\n",
                 &k);
        assert_int_equal(k.n_documents, 1);
        assert_int_equal(k.documents[0].format, FOREIGN_TALOS);
        assert_karg(&k, 1, "intel_iommu=on", 8, 9, false);
        foreign_kargs_done(&k);
}

/* Talos: "-TOKEN" removes TOKEN (machine config and schematic alike); the machine config's
 * extraKernelArgs are ignored under a UKI, which lint says with the fix; the schematic is read. */
static void test_talos_schematic_and_uki(void **state) {
        _cleanup_(foreign_kargs_done) ForeignKargs k = {}, s = {};
        _cleanup_(foreign_report_done) ForeignReport r = {}, rs = {};
        const ForeignFinding *f;

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "version: v1alpha1\n"
                 "machine:\n"
                 "  install:\n"
                 "    image: factory.talos.dev/installer-secureboot/376567988ad3:v1.11.0\n"
                 "    extraKernelArgs:\n"
                 "      - iommu=pt\n"
                 "      - -amd_iommu=on\n",
                 &k);
        assert_int_equal(k.documents[0].format, FOREIGN_TALOS);
        assert_non_null(strstr(k.documents[0].boots_uki, "SecureBoot"));
        assert_karg(&k, 0, "iommu=pt", 6, 9, false);
        assert_karg(&k, 1, "amd_iommu=on", 7, 9, true);
        assert_int_equal(lint_for(&k, ARCH_X86_64, &r), 0);
        f = find(&r, "ignored when Talos boots a UKI");
        assert_int_equal(f->lint.severity, SEVERITY_WARNING);
        assert_int_equal(f->line, 6);
        assert_non_null(strstr(f->lint.fix, "customization.extraKernelArgs"));
        /* The removal of amd_iommu=on is the fix, not a finding. */
        for (size_t i = 0; i < r.n_findings; i++)
                assert_false(r.findings[i].lint.token && strstr(r.findings[i].lint.token, "amd_iommu"));

        /* GRUB building its own line: only UEFI installs ignore the list, a note. */
        {
                _cleanup_(foreign_kargs_done) ForeignKargs g = {};
                _cleanup_(foreign_report_done) ForeignReport rg = {};

                parse_ok(FOREIGN_SYNTAX_YAML,
                         "machine:\n  install:\n    grubUseUKICmdline: false\n    extraKernelArgs: [iommu=pt]\n", &g);
                assert_null(g.documents[0].boots_uki);
                assert_int_equal(lint_for(&g, ARCH_X86_64, &rg), 0);
                f = find(&rg, "only legacy-BIOS GRUB installs use it");
                assert_int_equal(f->lint.severity, SEVERITY_NOTE);
        }

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "customization:\n"
                 "  extraKernelArgs:\n"
                 "    - \"amd_iommu=on\"\n"
                 "    - \"-iommu=pt\"\n"
                 "    - \"iommu=pt\"\n"
                 "    - \"-\"\n"
                 "  systemExtensions:\n"
                 "    officialExtensions: [siderolabs/amd-ucode]\n",
                 &s);
        assert_int_equal(s.n_documents, 1);
        assert_int_equal(s.documents[0].format, FOREIGN_TALOS_SCHEMATIC);
        assert_karg(&s, 0, "amd_iommu=on", 3, 7, false);
        assert_karg(&s, 1, "iommu=pt", 4, 7, true);
        assert_karg(&s, 3, "-", 6, 7, false); /* a lone "-" is an argument, not a removal */
        assert_int_equal(lint_for(&s, ARCH_X86_64, &rs), 0);
        f = find(&rs, "amd_iommu=on is not an amd_iommu= option");
        assert_int_equal(f->line, 3);
        f = find(&rs, "iommu=pt is removed and also added (line 5)");
        assert_int_equal(f->line, 4);
        for (size_t i = 0; i < rs.n_findings; i++)
                assert_null(strstr(rs.findings[i].lint.message, "boots a UKI"));
}

static void test_bootc_toml(void **state) {
        ForeignKargs k = {};

#if HAVE_TOML
        parse_ok(FOREIGN_SYNTAX_TOML, "# /usr/lib/bootc/kargs.d/10-iommu.toml\nkargs = [\"intel_iommu=on\", \"iommu=pt\"]\n"
                                      "match-architectures = [\"x86_64\"]\n", &k);
        assert_int_equal(k.documents[0].format, FOREIGN_BOOTC_KARGS);
        assert_karg(&k, 0, "intel_iommu=on", 2, 10, false);
        assert_karg(&k, 1, "iommu=pt", 2, 28, false);
        assert_non_null(k.documents[0].architectures);
        assert_string_equal(k.documents[0].architectures[0], "x86_64");
        assert_null(k.documents[0].architectures[1]);
        assert_int_equal(k.documents[0].arch_line, 3);
        foreign_kargs_done(&k);

        parse_ok(FOREIGN_SYNTAX_TOML, "kargs = [\n  \"a\",\n  42,\n]\n", &k);
        assert_int_equal(k.n_kargs, 1);
        assert_int_equal(k.n_problems, 1);
        assert_int_equal(k.problems[0].line, 3);
        assert_non_null(strstr(k.problems[0].message, "kargs must hold strings"));
        foreign_kargs_done(&k);

        parse_ok(FOREIGN_SYNTAX_TOML, "kargs = [\"a\"\nmatch-architectures = 1\n", &k);
        assert_int_equal(k.n_problems, 1);
        assert_true(k.problems[0].line >= 1);
        foreign_kargs_done(&k);
#else
        assert_int_equal(foreign_kargs_parse(FOREIGN_SYNTAX_TOML, "kargs = []", 10, &k), -EPROTONOSUPPORT);
#endif
}

static void test_problems(void **state) {
        ForeignKargs k = {};

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "apiVersion: machineconfiguration.openshift.io/v1\n"
                 "kind: MachineConfig\n"
                 "spec:\n"
                 "  kernelArguments: iommu=pt\n",
                 &k);
        assert_int_equal(k.n_problems, 1);
        assert_int_equal(k.problems[0].line, 4);
        assert_int_equal(k.problems[0].column, 20);
        assert_string_equal(k.problems[0].message, "spec.kernelArguments must be a list of strings");
        assert_int_equal(k.problems[0].document, 0);
        foreign_kargs_done(&k);

        /* A null list is an empty one; a nested list is refused where it is. */
        parse_ok(FOREIGN_SYNTAX_YAML, "variant: fcos\nversion: 1.5.0\nkernel_arguments:\n  should_exist:\n  should_not_exist: [[x]]\n", &k);
        assert_int_equal(k.n_kargs, 0);
        assert_int_equal(k.n_problems, 1);
        assert_int_equal(k.problems[0].line, 5);
        assert_int_equal(k.problems[0].column, 22);
        foreign_kargs_done(&k);

        /* A syntax error is a problem with libyaml's position. */
        parse_ok(FOREIGN_SYNTAX_YAML, "variant: fcos\nversion: 1.4.0\n---\nkind: MachineConfig\nspec:\n  kernelArguments: [a\n", &k);
        assert_int_equal(k.n_documents, 1);
        assert_int_equal(k.n_problems, 1);
        assert_int_equal(k.problems[0].line, 7);
        assert_int_equal(k.problems[0].document, -1);
        foreign_kargs_done(&k);

        /* Parses, but nothing of ours in it. */
        assert_int_equal(foreign_kargs_parse_yaml("apiVersion: v1\nkind: ConfigMap\n", 31, &k), -ENOMSG);
        assert_int_equal(foreign_kargs_parse_yaml("- a\n- b\n", 8, &k), -ENOMSG);

        /* An alias that refers to its own parent cannot make the walk loop. */
        parse_ok(FOREIGN_SYNTAX_YAML, "kind: MachineConfig\napiVersion: machineconfiguration.openshift.io/v1\n"
                                      "spec: &s\n  kernelArguments: [*s, iommu=pt]\n", &k);
        assert_int_equal(k.n_kargs, 1);
        assert_int_equal(k.n_problems, 1);
        foreign_kargs_done(&k);
}

static void test_lint(void **state) {
        ForeignKargs k = {};
        ForeignReport r = {};
        const ForeignFinding *f;

        parse_ok(FOREIGN_SYNTAX_YAML,
                 "apiVersion: machineconfiguration.openshift.io/v1\n"
                 "kind: MachineConfig\n"
                 "spec:\n"
                 "  kernelArguments:\n"
                 "    - intel_iommu=on\n"
                 "    - \"iommu=strict  amd_iommu=on\"\n"
                 "---\n"
                 "variant: fcos\n"
                 "version: 1.4.0\n"
                 "kernel_arguments:\n"
                 "  should_exist: [iommu=pt]\n"
                 "  should_not_exist: [amd_iommu=on, iommu=pt]\n",
                 &k);
        assert_int_equal(lint_for(&k, ARCH_X86_64, &r), 0);

        /* Each token of a string goes through the lint rules and keeps the string's position. */
        f = find(&r, "iommu.strict=1");
        assert_int_equal(f->lint.severity, SEVERITY_ERROR);
        assert_int_equal(f->line, 6);
        assert_int_equal(f->column, 7);
        assert_int_equal(f->document, 0);
        f = find(&r, "AMD-Vi is on whenever");
        assert_int_equal(f->line, 6);
        assert_false(f->removal);

        /* Removing amd_iommu=on is no finding; removing what the same document adds is. */
        f = find(&r, "removed and also added (line 11)");
        assert_int_equal(f->line, 12);
        assert_int_equal(f->column, 36);
        assert_true(f->removal);
        /* The kernel model's verdicts flow in with their positions too. A foreign file configures
         * machines whose build is not known: intel_iommu=on depends on the build, a note and no advice
         * to remove it (issue 21). */
        f = find(&r, "depends on the build");
        assert_int_equal(f->lint.severity, SEVERITY_NOTE);
        assert_null(f->lint.fix);
        assert_int_equal(f->line, 5);
        assert_int_equal(f->column, 7);
        assert_int_equal(r.n_findings, 4);
        foreign_report_done(&r);

        /* The same document on arm64: the x86 spellings are what is wrong there. */
        assert_int_equal(lint_for(&k, ARCH_AARCH64, &r), 0);
        f = find(&r, "intel_iommu= does not exist on aarch64");
        assert_int_equal(f->line, 5);
        foreign_report_done(&r);
        foreign_kargs_done(&k);

        /* Nothing of ours in a file (parsing said -ENOMSG): one warning, no error. */
        assert_int_equal(lint_for(&k, ARCH_X86_64, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_int_equal(r.findings[0].lint.severity, SEVERITY_WARNING);
        assert_int_equal(r.findings[0].document, -1);
        assert_non_null(strstr(r.findings[0].lint.message, "nothing linted"));
        foreign_report_done(&r);

#if HAVE_TOML
        /* bootc: another architecture's file is said, not linted. */
        parse_ok(FOREIGN_SYNTAX_TOML, "kargs = [\"iommu=strict\"]\nmatch-architectures = [\"aarch64\"]\n", &k);
        assert_int_equal(lint_for(&k, ARCH_X86_64, &r), 0);
        assert_int_equal(r.n_findings, 1);
        assert_int_equal(r.findings[0].kind, FOREIGN_FINDING_NOTE);
        assert_string_equal(foreign_finding_severity(&r.findings[0]), "note");
        assert_non_null(strstr(r.findings[0].lint.message, "applies only to aarch64"));
        assert_int_equal(r.findings[0].line, 2);
        foreign_report_done(&r);
        assert_int_equal(lint_for(&k, ARCH_AARCH64, &r), 0);
        f = find(&r, "iommu.strict=1");
        assert_int_equal(f->line, 1);
        assert_int_equal(f->column, 10);
        foreign_report_done(&r);
        foreign_kargs_done(&k);
#endif
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sniff),
                cmocka_unit_test(test_machine_config),
                cmocka_unit_test(test_multi_document),
                cmocka_unit_test(test_butane_ignition_talos),
                cmocka_unit_test(test_talos_schematic_and_uki),
                cmocka_unit_test(test_bootc_toml),
                cmocka_unit_test(test_problems),
                cmocka_unit_test(test_lint),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
