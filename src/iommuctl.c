/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>

#include "iommuctl.h"
#include "libiommu/json.h"
#include "libiommu/kernel-model.h"
#include "libiommu/log.h"
#include "libiommu/terminal.h"

Args arg = {
        .root_arg = "/",
        .vendor = _VENDOR_INVALID,
        .uki_addon = -1,
        .arch = _ARCH_INVALID,
};

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *usage;
        const char *summary;
        const char *exit_status; /* what 0, 1 and 2 mean for this verb */
        const char *example;
} Verb;

static const Verb verbs[] = {
        { "plan", verb_plan, "plan [--profile NAME] [--vendor V] [--cmdline LINE] [--check] [--json]",
          "Show the command line this host should boot with, what changes and why",
          "0 shown (--check: in sync), 1 --check: apply would change the command line, 2 error",
          "iommuctl plan --profile gpu-sriov --check" },
        { "cmdline", verb_cmdline, "cmdline [--profile NAME] [--vendor V] [--full] [--json]",
          "Print only the profile's tokens (--full: the whole merged line), for scripts",
          "0 printed, 2 error",
          "iommuctl cmdline --profile gpu-sriov --vendor intel" },
        { "lint", verb_lint, "lint [--arch A] [--cmdline LINE | FILE...]",
          "Check command lines, profiles, BLS entries or GRUB defaults for IOMMU mistakes",
          "0 no errors (warnings allowed), 1 errors found, 2 a file could not be read",
          "iommuctl lint --cmdline 'intel_iommu=on iommu=strict'" },
        { "profiles", verb_profiles, "profiles [--json] | profiles --selected|--armed [--json] | profiles --resolved [NAME]",
          "List the profiles, where each comes from, and what it promises",
          "0 listed (--selected: a profile is selected; --armed: and the generator is armed), 1 a profile fails to load\n"
          "(--selected: none is selected; --armed: not armed), 2 error",
          "iommuctl profiles --selected" },
        { "export", verb_export, "export machineconfig|bootc|butane|talos|dracut|kernel-cmdline [--profile NAME] [--vendor V] [--role ROLE] [--cmdline LINE] [--json]",
          "Print the profile's tokens for OpenShift, bootc, Butane (with should_not_exist), a Talos schematic or dracut, or a whole /etc/kernel/cmdline",
          "0 printed, 2 error",
          "iommuctl export bootc --profile gpu-sriov --vendor portable" },
        { "verify", verb_verify, "verify [--profile NAME] [--root DIR] [--json] [--no-journal] [--boot-check] [--publish] [--kernel-log FILE]",
          "Check what the running kernel really did against the profile",
          "0 every promise kept (warnings allowed), 1 a check failed (drift included), 2 could not check",
          "iommuctl verify --no-journal" },
        { "groups", verb_groups, "groups [--root DIR] [--json] | groups set-type GROUP identity|DMA|DMA-FQ|auto",
          "List IOMMU groups and their devices, or change one group's default domain type",
          "0 listed or changed, 2 error (the kernel refused, a driver is bound, no such group)",
          "iommuctl groups set-type 14 identity" },
        { "config", verb_config, "config [--json] [SECTION.KEY...]",
          "Print the effective settings of iommu.conf and its drop-ins, with the file and line of each (or only the values asked for)",
          "0 printed, 2 a bad configuration or an unknown setting",
          "iommuctl config IOMMU.Profile" },
        { "apply", verb_apply, "apply [--profile NAME] [--vendor V] [--backend bls,kernel-cmdline,grub,uki-addon] [--entries all|default|GLOB] "
          "[--uki-addon=global|per-uki] "
          "[--dry-run] [--no-bootloader-update] [--reboot=no|yes|config] [--if-armed] [--force] [--root DIR] [--json]",
          "Write the profile into the boot configuration, atomically and recorded for rollback",
          "0 written or nothing to change, 1 --if-armed: the node is not armed (nothing changed), 2 refused or failed (nothing changed)",
          "iommuctl apply --dry-run" },
        { "recommend", verb_recommend, "recommend [--root DIR] [--json]",
          "Say which profile fits this node (GPUs, SR-IOV, VFIO, KVM, SEV-SNP/TDX, external ports) and why; writes nothing",
          "0 a recommendation, 2 error",
          "iommuctl recommend" },
        { "status", verb_status, "status [--profile NAME] [--vendor V] [--root DIR] [--check] [--json]",
          "Show every boot entry and file iommuctl writes, which boots next, and whether it carries the profile",
          "0 shown (--check: the next boot carries the profile), 1 --check: it does not, 2 error or (--check) no next boot to tell",
          "iommuctl status --check && systemctl reboot" },
        { "rollback", verb_rollback, "rollback [--root DIR] [--dry-run] [--no-bootloader-update] [--json]",
          "Restore the files the last apply changed",
          "0 restored or nothing to roll back, 2 refused or failed (nothing changed)",
          "iommuctl rollback --dry-run" },
        { "undo", verb_undo, "undo [--profile NAME] [--root DIR] [--dry-run] [--no-bootloader-update] [--json]",
          "Remove the profile's tokens from every entry and file that carries them, and disarm the generator",
          "0 undone or nothing to undo, 1 some files cannot be rewritten (named: UKIs), 2 refused or failed (nothing changed)",
          "iommuctl undo --dry-run" },
        { "history", verb_history, "history [--root DIR] [--json] [--no-legend]",
          "List the change sets: time, verb, profile, state and files",
          "0 listed, 2 error",
          "iommuctl history" },
};

/* One line per option (or more, the following lines indented), with the verbs it applies to
 * (NULL: every verb; "": iommuctl itself), so that "iommuctl --help" and "iommuctl VERB --help"
 * come from one table. */
typedef struct OptionHelp {
        const char *spec;
        const char *help;
        const char *verbs;
} OptionHelp;

#define CONTEXT_VERBS "plan cmdline export verify apply status "

static const OptionHelp options_help[] = {
        { "-h --help", "Show this help (or a verb's, after the verb)", NULL },
        { "   --version", "Show the version", "" },
        { "-R --root=DIR", "Operate on the tree under DIR instead of the host (default /)", NULL },
        { "-p --profile=NAME", "Use this profile instead of Profile= from iommu.conf", CONTEXT_VERBS "profiles undo " },
        { "   --vendor=V", "intel, amd, arm64 or portable (default: detected)", CONTEXT_VERBS "lint recommend groups " },
        { "   --arch=A", "x86_64 or aarch64 (default: detected)", CONTEXT_VERBS "lint recommend groups " },
        { "   --cmdline=LINE", "Use LINE as the current command line instead of ROOT/proc/cmdline\n"
          "(export kernel-cmdline: instead of ROOT/etc/kernel/cmdline)", "plan cmdline export lint " },
        { "   --kernel=RELEASE", "Model this kernel release instead of ROOT/proc/sys/kernel/osrelease", CONTEXT_VERBS "lint " },
        { "   --config=FILE", "The kernel's build configuration (default: ROOT/boot/config-RELEASE...)", CONTEXT_VERBS "lint " },
        { "   --json", "Print JSON for programs (schema in iommuctl(8))", NULL },
        { "   --check", "plan: exit 1 when the command line is not in sync;\n"
          "status: exit 1 when the next boot lacks the profile", "plan status " },
        { "   --full", "cmdline: print the whole merged command line", "cmdline " },
        { "   --selected", "profiles: print the profile iommu.conf selects; exit 1 if none", "profiles " },
        { "   --armed", "profiles: print it only where the generator is armed (applied on\n"
          "this node, or Automatic=yes); exit 1 otherwise", "profiles " },
        { "   --resolved", "profiles: print a profile (NAME, --profile or the selected one) as one\n"
          "file with its includes flattened", "profiles " },
        { "   --role=ROLE", "export machineconfig: the MachineConfigPool role (worker...)", "export " },
        { "   --no-journal", "verify: do not read the kernel log from or log to the journal", "verify " },
        { "   --kernel-log=FILE", "verify: read the kernel log from FILE (for --root trees);\n"
          "plan, apply, recommend: the node's facts in it (caching mode, SNP)", "verify plan apply recommend " },
        { "   --boot-check", "verify: log the verdict as this boot's check (iommu-verify.service)", "verify " },
        { "   --publish", "verify: publish labels and metrics from a run by hand too\n"
          "(the configured profile only; --boot-check always does)", "verify " },
        { "   --journal-fields-to=FILE", "verify: write the journal entry's fields to FILE", "verify " },
        { "   --backend=LIST", "apply: bls, kernel-cmdline, grub, uki-addon (default: detected)", "apply " },
        { "   --uki-addon=WHERE", "apply: the UKI command-line add-on in ESP/loader/addons/ (global)\n"
          "or in <uki>.efi.extra.d/ (per-uki) (default: [UKI] Addon= of the profile, else global)", "apply " },
        { "   --entries=SEL", "apply: BLS entries to change: all, default or a glob (default: all)", "apply " },
        { "   --dry-run", "apply, rollback, undo: print a unified diff, write nothing", "apply rollback undo " },
        { "   --no-bootloader-update", "apply, rollback, undo: do not regenerate grub.cfg", "apply rollback undo " },
        { "   --if-armed", "apply: only where the profile was applied before or\n"
          "[Apply] Automatic=yes (kernel-install plugin); 1 when not", "apply " },
        { "   --force", "apply: write a profile whose mode breaks what the node\n"
          "uses (SEV-SNP guests, PASID/ATS, GPUDirect Storage)", "apply " },
        { "   --reboot=no|yes|config", "apply: reboot into a committed change (config: as\n"
          "[Apply] Reboot= says; iommu-apply.service uses it)", "apply " },
        { "-q --quiet", "Print errors only (plan --check, verify: only the exit status)", NULL },
        { "   --no-pager", "Accepted for systemd compatibility (iommuctl never pages)", NULL },
        { "   --no-legend", "Print no column headers, summary or origin lines", NULL },
};

static bool option_applies(const OptionHelp *o, const Verb *v) {
        const char *p;
        size_t n;

        if (!v)
                return true;
        if (!o->verbs)
                return true;
        n = strlen(v->name);
        for (p = o->verbs; (p = strstr(p, v->name)); p += n)
                if ((p == o->verbs || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return true;
        return false;
}

static void print_options(const Verb *v) {
        for (size_t i = 0; i < ELEMENTSOF(options_help); i++) {
                const OptionHelp *o = &options_help[i];
                const char *h = o->help;

                if (!option_applies(o, v))
                        continue;
                /* A long option takes its own line, its help under it. */
                if (strlen(o->spec) > 20)
                        printf("  %s\n%23s", o->spec, "");
                else
                        printf("  %-20s ", o->spec);
                for (;;) {
                        size_t n = strcspn(h, "\n");
                        printf("%.*s\n", (int) n, h);
                        if (!h[n])
                                break;
                        h += n + 1;
                        printf("%23s", "");
                }
        }
}

static void help(const Verb *v) {
        if (v) {
                printf("Usage: iommuctl %s\n\n%s.\n\nOptions:\n", v->usage, v->summary);
                print_options(v);
                printf("\nExit status: %s.\n\nExample:\n  %s\n\nSee iommuctl(8) for details.\n", v->exit_status, v->example);
                return;
        }
        printf("Usage: iommuctl [OPTIONS...] VERB [ARGS...]\n\n"
               "Choose, write and verify the IOMMU part of the kernel command line.\n\nVerbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-10s %s\n", verbs[i].name, verbs[i].summary);
        printf("\nOptions:\n");
        print_options(NULL);
        printf("\nExit status: 0 success, 1 lint errors/drift/failed check, 2 error.\n"
               "'iommuctl VERB --help' shows a verb's options, exit status and an example.\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_VENDOR,
                ARG_ARCH,
                ARG_CMDLINE,
                ARG_KERNEL,
                ARG_KERNEL_CONFIG,
                ARG_JSON,
                ARG_CHECK,
                ARG_FULL,
                ARG_SELECTED,
                ARG_ARMED,
                ARG_RESOLVED,
                ARG_ROLE,
                ARG_NO_JOURNAL,
                ARG_KERNEL_LOG,
                ARG_JOURNAL_FIELDS_TO,
                ARG_BACKEND,
                ARG_ENTRIES,
                ARG_UKI_ADDON,
                ARG_DRY_RUN,
                ARG_NO_BOOTLOADER_UPDATE,
                ARG_REBOOT,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_BOOT_CHECK,
                ARG_IF_ARMED,
                ARG_FORCE,
                ARG_PUBLISH,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, 'R' },
                { "profile", required_argument, NULL, 'p' },
                { "vendor", required_argument, NULL, ARG_VENDOR },
                { "arch", required_argument, NULL, ARG_ARCH },
                { "cmdline", required_argument, NULL, ARG_CMDLINE },
                { "kernel", required_argument, NULL, ARG_KERNEL },
                { "config", required_argument, NULL, ARG_KERNEL_CONFIG },
                { "json", no_argument, NULL, ARG_JSON },
                { "check", no_argument, NULL, ARG_CHECK },
                { "full", no_argument, NULL, ARG_FULL },
                { "selected", no_argument, NULL, ARG_SELECTED },
                { "armed", no_argument, NULL, ARG_ARMED },
                { "resolved", no_argument, NULL, ARG_RESOLVED },
                { "role", required_argument, NULL, ARG_ROLE },
                { "no-journal", no_argument, NULL, ARG_NO_JOURNAL },
                { "kernel-log", required_argument, NULL, ARG_KERNEL_LOG },
                { "journal-fields-to", required_argument, NULL, ARG_JOURNAL_FIELDS_TO },
                { "quiet", no_argument, NULL, 'q' },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "entries", required_argument, NULL, ARG_ENTRIES },
                { "uki-addon", required_argument, NULL, ARG_UKI_ADDON },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "no-bootloader-update", no_argument, NULL, ARG_NO_BOOTLOADER_UPDATE },
                { "reboot", required_argument, NULL, ARG_REBOOT },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "boot-check", no_argument, NULL, ARG_BOOT_CHECK },
                { "if-armed", no_argument, NULL, ARG_IF_ARMED },
                { "force", no_argument, NULL, ARG_FORCE },
                { "publish", no_argument, NULL, ARG_PUBLISH },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hR:p:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        arg.help = true;
                        break;
                case ARG_VERSION:
                        printf("iommuctl %s\n", IOMMUCTL_VERSION);
                        return 0;
                case 'R':
                        arg.root_arg = optarg;
                        break;
                case 'p':
                        arg.profile = optarg;
                        break;
                case ARG_VENDOR:
                        arg.vendor = vendor_from_string(optarg);
                        if (arg.vendor < 0)
                                return log_error_errno(-EINVAL, "--vendor=%s: valid: intel, amd, arm64, portable", optarg);
                        break;
                case ARG_ARCH:
                        arg.arch = arch_from_string(optarg);
                        if (arg.arch < 0)
                                return log_error_errno(-EINVAL, "--arch=%s: valid: x86_64, aarch64", optarg);
                        break;
                case ARG_CMDLINE:
                        arg.cmdline = optarg;
                        break;
                case ARG_KERNEL: {
                        unsigned v;
                        if (kernel_release_parse(optarg, &v) < 0)
                                return log_error_errno(-EINVAL, "--kernel=%s: not a kernel release (e.g. 6.1.0-56-amd64 or 5.10)", optarg);
                        arg.kernel_release = optarg;
                        break;
                }
                case ARG_KERNEL_CONFIG:
                        arg.kernel_config = optarg;
                        break;
                case ARG_JSON:
                        arg.json = true;
                        break;
                case ARG_CHECK:
                        arg.check = true;
                        break;
                case ARG_FULL:
                        arg.full = true;
                        break;
                case ARG_SELECTED:
                        arg.selected = true;
                        break;
                case ARG_ARMED:
                        arg.armed = true;
                        break;
                case ARG_RESOLVED:
                        arg.resolved = true;
                        break;
                case ARG_ROLE:
                        arg.role = optarg;
                        break;
                case ARG_NO_JOURNAL:
                        arg.no_journal = true;
                        break;
                case ARG_KERNEL_LOG:
                        arg.kernel_log = optarg;
                        break;
                case ARG_JOURNAL_FIELDS_TO:
                        arg.journal_fields_to = optarg;
                        break;
                case ARG_BACKEND:
                        arg.backends = optarg;
                        break;
                case ARG_ENTRIES:
                        arg.entries = optarg;
                        break;
                case ARG_UKI_ADDON:
                        arg.uki_addon = profile_uki_addon_from_string(optarg);
                        if (arg.uki_addon < 0)
                                return log_error("--uki-addon=%s is not valid; valid: global, per-uki.", optarg), -EINVAL;
                        break;
                case ARG_DRY_RUN:
                        arg.dry_run = true;
                        break;
                case ARG_NO_BOOTLOADER_UPDATE:
                        arg.no_bootloader_update = true;
                        break;
                case ARG_IF_ARMED:
                        arg.if_armed = true;
                        break;
                case ARG_FORCE:
                        arg.force = true;
                        break;
                case ARG_PUBLISH:
                        arg.publish = true;
                        break;
                case ARG_REBOOT:
                        if (streq(optarg, "config"))
                                arg.reboot = -1;
                        else if (streq(optarg, "yes") || streq(optarg, "no"))
                                arg.reboot = streq(optarg, "yes");
                        else
                                return log_error_errno(-EINVAL, "--reboot=%s: valid: no, yes, config", optarg);
                        break;
                case 'q':
                        arg.quiet = true;
                        log_set_max_level(LOG_LEVEL_ERROR);
                        break;
                case ARG_NO_PAGER:
                        /* Nothing iommuctl prints is long enough to page. */
                        break;
                case ARG_NO_LEGEND:
                        arg.no_legend = true;
                        break;
                case ARG_BOOT_CHECK:
                        arg.boot_check = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        return 1;
}

void json_field_config_origin(JsonWriter *w, const char *key, const ConfigOrigin *o) {
        json_key(w, key);
        if (!o) {
                json_null(w);
                return;
        }
        json_begin_object(w);
        json_field_string(w, "file", o->file);
        json_field_int(w, "line", o->line);
        json_field_bool(w, "selection", o->selection);
        json_end_object(w);
}

int setting_origin_describe(const Config *c, const char *option, const char *key, char **ret) {
        const ConfigOrigin *o = config_origin(c, key);

        if (option) {
                return asprintf(ret, "%s on the command line", option) < 0 ? -ENOMEM : 0;
        }
        if (o)
                return config_origin_describe(o, ret);
        *ret = strdup("default");
        return *ret ? 0 : -ENOMEM;
}

void json_field_setting_origin(JsonWriter *w, const char *field, const Config *c, const char *option, const char *key) {
        if (!option) {
                json_field_config_origin(w, field, config_origin(c, key));
                return;
        }
        json_key(w, field);
        json_begin_object(w);
        json_field_string(w, "option", option);
        json_end_object(w);
}

/* "From:" names where Profile= and Vendor= come from (the option, a file and line, or detection). */
void print_setting_origins(const Context *ctx, int width) {
        _cleanup_free_ char *profile = NULL, *vendor = NULL;

        if (setting_origin_describe(&ctx->config, arg.profile ? "--profile" : NULL, "IOMMU.Profile", &profile) < 0)
                return (void) log_oom();
        if ((arg.vendor >= 0 || ctx->config.vendor >= 0) &&
            setting_origin_describe(&ctx->config, arg.vendor >= 0 ? "--vendor" : NULL, "IOMMU.Vendor", &vendor) < 0)
                return (void) log_oom();
        printf("%-*sProfile= %s, Vendor= %s\n", width, "From:", profile, vendor ?: "detected");
}

ReportFlags args_report_flags(void) {
        return (arg.no_legend ? REPORT_NO_LEGEND : 0) | (colors_enabled(stdout) ? REPORT_COLOR : 0);
}

ContextOptions args_context_options(bool need_vendor) {
        return (ContextOptions) {
                .root = arg.root,
                .profile = arg.profile,
                .vendor = arg.vendor,
                .arch = arg.arch,
                .kernel_release = arg.kernel_release,
                .kernel_config = arg.kernel_config,
                .kernel_log = arg.kernel_log,
                .need_vendor = need_vendor,
        };
}

int main(int argc, char *argv[]) {
        _cleanup_root_ Root *root = NULL;
        const Verb *verb = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_ERROR : EXIT_OK;

        if (optind < argc) {
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(argv[optind], verbs[i].name))
                                verb = &verbs[i];
                if (!verb) {
                        log_error("Unknown verb '%s'. See 'iommuctl --help'.", argv[optind]);
                        return EXIT_ERROR;
                }
        }
        if (arg.help) {
                help(verb);
                return EXIT_OK;
        }
        if (!verb) {
                /* As systemd's tools without a default verb: a usage error, on stderr, exit status 2. */
                fprintf(stderr, "Usage: iommuctl [OPTIONS...] VERB [ARGS...]\n"
                                "A verb is required; 'iommuctl --help' lists them.\n");
                return EXIT_ERROR;
        }
        /* The root is opened once: every verb reads and writes relative to this handle. */
        r = root_open_handle(arg.root_arg, &root);
        if (r < 0) {
                log_error_errno(r, "Failed to open the root directory %s: %m", arg.root_arg);
                return EXIT_ERROR;
        }
        arg.root = root;
        return verb->run(argc - optind, argv + optind);
}
