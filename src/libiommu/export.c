/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "export.h"
#include "json.h"
#include "kubernetes.h"
#include "log.h"
#include "strv.h"

static const char * const export_format_names[_EXPORT_FORMAT_MAX] = {
        [EXPORT_MACHINECONFIG] = "machineconfig",
        [EXPORT_BOOTC] = "bootc",
        [EXPORT_DRACUT] = "dracut",
        [EXPORT_KERNEL_CMDLINE] = "kernel-cmdline",
        [EXPORT_BUTANE] = "butane",
        [EXPORT_TALOS] = "talos",
};

static const char * const export_format_destinations[_EXPORT_FORMAT_MAX] = {
        [EXPORT_MACHINECONFIG] = "",
        [EXPORT_BOOTC] = "/usr/lib/bootc/kargs.d/",
        [EXPORT_DRACUT] = "/etc/dracut.conf.d/50-iommu.conf",
        [EXPORT_KERNEL_CMDLINE] = "/etc/kernel/cmdline",
        [EXPORT_BUTANE] = "",
        [EXPORT_TALOS] = "",
};

/* bootc compares match-architectures with Rust's std::env::consts::ARCH, which are the kernel's names. */
static const char * const bootc_destinations[_ARCH_MAX] = {
        [ARCH_X86_64] = "/usr/lib/bootc/kargs.d/50-iommuctl-x86_64.toml",
        [ARCH_AARCH64] = "/usr/lib/bootc/kargs.d/50-iommuctl-aarch64.toml",
};

const char *export_bootc_destination(Arch arch) {
        return arch >= 0 && arch < _ARCH_MAX ? bootc_destinations[arch] : NULL;
}

const char *export_format_to_string(ExportFormat f) {
        return STRING_TABLE_TO_STRING(export_format_names, f);
}

ExportFormat export_format_from_string(const char *s) {
        return string_table_lookup(export_format_names, ELEMENTSOF(export_format_names), s);
}

const char *export_format_destination(ExportFormat f) {
        return f >= 0 && f < _EXPORT_FORMAT_MAX ? export_format_destinations[f] : NULL;
}

int export_machineconfig_name(const char *role, const char *profile, Vendor vendor, char **ret) {
        char *name;

        if (isempty(role) || isempty(profile) || !vendor_to_string(vendor))
                return -EINVAL;
        if (asprintf(&name, "99-%s-iommu-%s-%s", role, profile, vendor_to_string(vendor)) < 0)
                return -ENOMEM;
        if (!k8s_object_name_is_valid(name)) {
                free(name);
                return -EINVAL;
        }
        *ret = name;
        return 0;
}

/* Whether the table says some item of t's value is a spelling the kernel ignores or refuses while
 * something else was meant (the entry names the replacement): iommu=strict, amd_iommu=on. */
static bool token_is_wrong_spelling(const CmdlineToken *t, const ParamInfo *info, Arch arch) {
        _cleanup_strv_free_ char **items = NULL;

        if (info->syntax == SYNTAX_ANY || isempty(t->value))
                return false;
        if (info->syntax == SYNTAX_LIST ? strv_split(t->value, ",", &items) < 0 : strv_extend(&items, t->value) < 0)
                return false;
        STRV_FOREACH(i, items) {
                ParamValue buf;
                const ParamValue *v = param_lookup_value_for(info, *i, arch, 0, &buf);

                if (v && (v->verdict == VALUE_IGNORED || v->verdict == VALUE_REJECTED) && v->replacement)
                        return true;
        }
        return false;
}

/* Whether appending t after wanted changes groups, domain type or strictness for one vendor. */
static int token_changes_effect(const Cmdline *wanted, const CmdlineToken *t, Vendor vendor) {
        _cleanup_cmdline_ Cmdline *with = NULL;
        KernelPrediction a = {}, b = {};
        Cmdline one = { .tokens = (CmdlineToken *) t, .n_tokens = 1 };
        int r;

        r = cmdline_parse("", &with);
        if (r >= 0)
                r = cmdline_append(with, wanted);
        if (r >= 0)
                r = cmdline_append(with, &one);
        if (r >= 0)
                r = kernel_predict_effect(NULL, vendor, wanted, &a);
        if (r >= 0)
                r = kernel_predict_effect(NULL, vendor, with, &b);
        if (r >= 0)
                r = !kernel_prediction_same_effect(&a, &b);
        kernel_prediction_done(&a);
        kernel_prediction_done(&b);
        return r;
}

static bool cmdline_has_token(const Cmdline *c, const CmdlineToken *t) {
        for (size_t i = 0; i < c->n_tokens; i++)
                if (cmdline_token_equal(&c->tokens[i], t) || streq(c->tokens[i].text, t->text))
                        return true;
        return false;
}

static int judge_candidate(const Cmdline *wanted, Vendor vendor, char * const *owned, const CmdlineToken *t,
                           bool from_table, Cmdline *result) {
        const ParamInfo *info = param_lookup(t->key);
        Arch arch = vendor_arch(vendor);
        Cmdline one = { .tokens = (CmdlineToken *) t, .n_tokens = 1 };
        bool owned_key = false;
        int r;

        STRV_FOREACH(k, owned)
                if (cmdline_key_equal(*k, t->key))
                        owned_key = true;
        if (!info || !owned_key || cmdline_has_token(wanted, t) || cmdline_has_token(result, t))
                return 0;
        /* Another architecture's whole table would be noise: only the spellings a profile writes. */
        if (from_table && !(info->arch_mask & ARCH_MASK(arch)))
                return 0;
        /* x86 spellings on arm64: the kernel hands them to init. */
        if (!(info->arch_mask & ARCH_MASK(arch)) || token_is_wrong_spelling(t, info, arch))
                return cmdline_append(result, &one);
        if (vendor == VENDOR_PORTABLE) {
                r = token_changes_effect(wanted, t, VENDOR_INTEL);
                if (r == 0)
                        r = token_changes_effect(wanted, t, VENDOR_AMD);
        } else
                r = token_changes_effect(wanted, t, vendor);
        if (r <= 0)
                return r;
        return cmdline_append(result, &one);
}

int export_conflicting_tokens(const Cmdline *wanted, Vendor vendor, char * const *owned, const Cmdline *candidates,
                              Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *result = NULL;
        int r;

        r = cmdline_parse("", &result);
        if (r < 0)
                return r;
        /* Every value the table knows for the owned keys, in table order. */
        STRV_FOREACH(k, owned) {
                const ParamInfo *info = param_lookup(*k);

                if (!info || !info->values)
                        continue;
                for (const ParamValue *v = info->values; v->value; v++) {
                        _cleanup_cmdline_ Cmdline *c = NULL;
                        _cleanup_free_ char *text = NULL;

                        if (asprintf(&text, "%s=%s", info->key, v->value) < 0)
                                return -ENOMEM;
                        r = cmdline_parse(text, &c);
                        if (r >= 0 && c->n_tokens == 1)
                                r = judge_candidate(wanted, vendor, owned, &c->tokens[0], true, result);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; candidates && i < candidates->n_tokens; i++) {
                r = judge_candidate(wanted, vendor, owned, &candidates->tokens[i], false, result);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(result);
        return 0;
}

char *export_quote(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        json_write_quoted(f, s);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Writes each token quoted, separated by sep, or fails on the first that cannot be quoted. */
static int write_quoted_tokens(const Cmdline *args, const char *prefix, const char *sep, FILE *f) {
        for (size_t i = 0; i < args->n_tokens; i++) {
                _cleanup_free_ char *q = export_quote(args->tokens[i].text);
                if (!q)
                        return -ENOMEM;
                fprintf(f, "%s%s%s", i > 0 ? sep : "", prefix, q);
        }
        return 0;
}

static int write_machineconfig(const ExportInput *in, FILE *f) {
        _cleanup_free_ char *name = NULL, *qname = NULL, *qrole = NULL;
        int r;

        if (isempty(in->role))
                return log_error_errno(-EINVAL, "machineconfig needs --role ROLE: the MachineConfigPool role to "
                                       "label it with (worker, or a custom pool such as gpu-worker).");
        if (!k8s_dns_label_is_valid(in->role))
                return log_error_errno(-EINVAL, "--role=%s is not a valid role: lowercase letters, digits and '-', at "
                                       "most 63 characters.", in->role);
        r = export_machineconfig_name(in->role, in->profile, in->vendor, &name);
        if (r == -EINVAL)
                return log_error_errno(r, "99-%s-iommu-%s-%s is not a valid Kubernetes object name: the profile name "
                                       "must be lowercase letters, digits and '-'.", in->role, in->profile,
                                       vendor_to_string(in->vendor));
        if (r < 0)
                return log_oom();
        qname = export_quote(name);
        qrole = export_quote(in->role);
        if (!qname || !qrole)
                return log_oom();

        fprintf(f,
                "# Generated by iommuctl %s: profile %s, %s kernel arguments.\n"
                "# Apply with 'oc apply -f FILE'; the Machine Config Operator reboots the pool's nodes.\n"
                "apiVersion: machineconfiguration.openshift.io/v1\n"
                "kind: MachineConfig\n"
                "metadata:\n"
                "  name: %s\n"
                "  labels:\n"
                "    machineconfiguration.openshift.io/role: %s\n"
                "spec:\n"
                "  kernelArguments:\n",
                IOMMUCTL_VERSION, in->profile, vendor_to_string(in->vendor), qname, qrole);
        if (in->args->n_tokens == 0) {
                fputs("    []\n", f);
                return 0;
        }
        r = write_quoted_tokens(in->args, "    - ", "\n", f);
        if (r < 0)
                return log_oom();
        fputc('\n', f);
        return 0;
}

static int write_bootc_file(const ExportInput *in, Vendor vendor, const Cmdline *args, FILE *f) {
        Arch arch = vendor_arch(vendor);
        _cleanup_free_ char *qarch = export_quote(arch_to_string(arch));
        int r;

        if (!qarch)
                return log_oom();
        fprintf(f,
                "# %s\n"
                "# Generated by iommuctl %s: profile %s, %s kernel arguments.\n"
                "kargs = [",
                export_bootc_destination(arch), IOMMUCTL_VERSION, in->profile, vendor_to_string(vendor));
        r = write_quoted_tokens(args, "", ", ", f);
        if (r < 0)
                return log_oom();
        /* Every vendor's tokens belong to one architecture (intel_iommu= means nothing on arm64). */
        fprintf(f, "]\nmatch-architectures = [%s]\n", qarch);
        return 0;
}

static int write_bootc(const ExportInput *in, FILE *f) {
        int r;

        r = write_bootc_file(in, in->vendor, in->args, f);
        if (r < 0 || !in->aarch64_args)
                return r;
        /* A portable image may be built for arm64 too: its own file, which bootc skips on x86. */
        fputc('\n', f);
        return write_bootc_file(in, VENDOR_ARM64, in->aarch64_args, f);
}

/* "    - "TOKEN"" lines; prefix goes before each token inside the quotes (Talos' "-"). */
static int write_yaml_list(const Cmdline *args, const char *indent, const char *prefix, FILE *f) {
        for (size_t i = 0; i < args->n_tokens; i++) {
                _cleanup_free_ char *text = NULL, *q = NULL;

                if (asprintf(&text, "%s%s", prefix, args->tokens[i].text) < 0)
                        return -ENOMEM;
                q = export_quote(text);
                if (!q)
                        return -ENOMEM;
                fprintf(f, "%s- %s\n", indent, q);
        }
        return 0;
}

static int write_butane(const ExportInput *in, FILE *f) {
        bool removes = in->remove && in->remove->n_tokens > 0;

        fprintf(f,
                "# Generated by iommuctl %s: profile %s, %s kernel arguments.\n"
                "# Transpile with 'butane --strict' into an Ignition config; on first boot Ignition adds\n"
                "# should_exist and removes should_not_exist (the spellings the kernel ignores or that\n"
                "# undo the profile), and reboots once.\n"
                "variant: fcos\n"
                "version: %s\n"
                "kernel_arguments:\n"
                "  should_exist:%s\n",
                IOMMUCTL_VERSION, in->profile, vendor_to_string(in->vendor), EXPORT_BUTANE_VERSION,
                in->args->n_tokens == 0 ? " []" : "");
        if (write_yaml_list(in->args, "    ", "", f) < 0)
                return log_oom();
        if (!removes)
                return 0;
        fputs("  should_not_exist:\n", f);
        if (write_yaml_list(in->remove, "    ", "", f) < 0)
                return log_oom();
        return 0;
}

static int write_talos(const ExportInput *in, FILE *f) {
        fprintf(f,
                "# Generated by iommuctl %s: profile %s, %s kernel arguments.\n"
                "# An Image Factory schematic fragment (POST it to /schematics): Talos booting a UKI\n"
                "# (systemd-boot) ignores .machine.install.extraKernelArgs, the schematic's arguments are\n"
                "# built into the boot assets. \"-TOKEN\" removes TOKEN (Talos 1.6 and later).\n"
                "customization:\n"
                "  extraKernelArgs:%s\n",
                IOMMUCTL_VERSION, in->profile, vendor_to_string(in->vendor),
                in->args->n_tokens == 0 && (!in->remove || in->remove->n_tokens == 0) ? " []" : "");
        if (write_yaml_list(in->args, "    ", "", f) < 0)
                return log_oom();
        if (in->remove && write_yaml_list(in->remove, "    ", "-", f) < 0)
                return log_oom();
        return 0;
}

static int write_dracut(const ExportInput *in, FILE *f) {
        _cleanup_free_ char *line = cmdline_to_string(in->args);

        if (!line)
                return log_oom();
        /* Leading and trailing spaces keep the value from running into other kernel_cmdline+= lines.
         * The tokens are checked to be shell-safe, so double quotes suffice. */
        fprintf(f,
                "# %s\n"
                "# Generated by iommuctl %s: profile %s, %s kernel arguments.\n"
                "kernel_cmdline+=\" %s \"\n",
                export_format_destination(EXPORT_DRACUT), IOMMUCTL_VERSION, in->profile,
                vendor_to_string(in->vendor), line);
        return 0;
}

static int write_kernel_cmdline(const ExportInput *in, FILE *f) {
        _cleanup_free_ char *line = cmdline_to_string(in->args);

        if (!line)
                return log_oom();
        /* /etc/kernel/cmdline is read verbatim by kernel-install: no comment lines. */
        fprintf(f, "%s\n", line);
        return 0;
}

int export_write(ExportFormat format, const ExportInput *in, FILE *f) {
        static int (* const writers[_EXPORT_FORMAT_MAX])(const ExportInput *in, FILE *f) = {
                [EXPORT_MACHINECONFIG] = write_machineconfig,
                [EXPORT_BOOTC] = write_bootc,
                [EXPORT_DRACUT] = write_dracut,
                [EXPORT_KERNEL_CMDLINE] = write_kernel_cmdline,
                [EXPORT_BUTANE] = write_butane,
                [EXPORT_TALOS] = write_talos,
        };
        const char *bad_token;
        char bad;

        if (format < 0 || format >= _EXPORT_FORMAT_MAX || !in || !in->args || isempty(in->profile) ||
            !vendor_to_string(in->vendor))
                return -EINVAL;
        if (cmdline_check_safe(in->args, &bad_token, &bad) < 0 ||
            (in->remove && cmdline_check_safe(in->remove, &bad_token, &bad) < 0) ||
            (in->aarch64_args && cmdline_check_safe(in->aarch64_args, &bad_token, &bad) < 0))
                return log_error_errno(-EINVAL, "Token '%s' holds '%c', which is not safe to export.", bad_token, bad);
        for (size_t i = 0; in->remove && i < in->remove->n_tokens; i++)
                for (size_t j = 0; j < in->args->n_tokens; j++)
                        if (streq(in->remove->tokens[i].text, in->args->tokens[j].text))
                                return log_error_errno(-EINVAL, "Token '%s' would be both added and removed.",
                                                       in->args->tokens[j].text);
        /* Talos reads a leading '-' as "remove": a token that starts with one cannot be added there. */
        for (size_t i = 0; format == EXPORT_TALOS && i < in->args->n_tokens; i++)
                if (in->args->tokens[i].text[0] == '-')
                        return log_error_errno(-EINVAL, "Token '%s' starts with '-', which Talos reads as removing "
                                               "'%s': it cannot be exported to Talos.", in->args->tokens[i].text,
                                               in->args->tokens[i].text + 1);
        return writers[format](in, f);
}
