/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/export.h"
#include "libiommu/json.h"
#include "libiommu/fileio.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

/* Where "export kernel-cmdline" takes the rest of the line from, in this order: the whole file
 * replaces /etc/kernel/cmdline, so the profile's tokens alone would drop root= and everything else
 * (apply refuses exactly that). */
static const char * const kernel_cmdline_sources[] = { "/etc/kernel/cmdline", "/usr/lib/kernel/cmdline", "/proc/cmdline" };

/* The root's current command line for kernel-install, merged with the profile's tokens. Errors are
 * logged. */
static int merged_kernel_cmdline(const Context *ctx, const Cmdline *wanted, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *cur = NULL, *kept = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_free_ char *text = NULL;
        const char *source = "--cmdline";
        int r = -ENOENT;

        if (arg.cmdline) {
                text = strdup(arg.cmdline);
                r = text ? 0 : -ENOMEM;
        }
        for (size_t i = 0; !text && i < ELEMENTSOF(kernel_cmdline_sources); i++) {
                source = kernel_cmdline_sources[i];
                r = read_root_file(ctx->root, source, 64 * 1024, &text, NULL);
                if (r >= 0)
                        break;
                if (r != -ENOENT)
                        return log_error_errno(r, "Failed to read %s under %s: %m", source, ctx->root->path);
        }
        if (r == -ENOENT)
                return log_error_errno(r, "export kernel-cmdline prints a whole /etc/kernel/cmdline, but %s has none of "
                                       "/etc/kernel/cmdline, /usr/lib/kernel/cmdline or /proc/cmdline to take root= and the "
                                       "other tokens from: pass --cmdline LINE with them (or use 'iommuctl cmdline' for the "
                                       "profile's tokens alone).", ctx->root->path);
        if (r < 0)
                return log_oom();
        r = cmdline_parse(text, &cur);
        if (r < 0)
                return log_oom();
        kept = calloc(1, sizeof(Cmdline));
        if (!kept)
                return log_oom();
        /* Boot loaders add these per boot; kernel-install must not get them from the running line. */
        for (size_t i = 0; i < cur->n_tokens; i++) {
                Cmdline one = { .tokens = &cur->tokens[i], .n_tokens = 1 };
                if (streq(cur->tokens[i].key, "BOOT_IMAGE") || streq(cur->tokens[i].key, "initrd"))
                        continue;
                if (cmdline_append(kept, &one) < 0)
                        return log_oom();
        }
        if (cur->init_args)
                return log_error_errno(-EINVAL, "%s carries arguments for init after \"--\" (%s), which export does not "
                                       "write into /etc/kernel/cmdline: pass --cmdline LINE without them.", source,
                                       cur->init_args);
        if (profile_owned_keys(ctx->profile, &owned) < 0)
                return log_oom();
        r = cmdline_merge(kept, owned, wanted, ret);
        if (r < 0)
                return log_error_errno(r, "The merged command line would be too long for the kernel.");
        log_info("The non-IOMMU tokens are those of %s%s, merged with profile %s.",
                 streq(source, "--cmdline") ? "" : root_prefix(ctx->root), source, ctx->profile->name);
        if (!cmdline_has_key(*ret, "root"))
                log_warning("The line has no root=: fine with discoverable partitions (systemd-gpt-auto-generator), "
                            "otherwise pass --cmdline with the root file system.");
        return 0;
}

/* Every token of every profile found (this one included), for every vendor: the candidates
 * export_conflicting_tokens() judges against the profile. A profile that does not load is left
 * out with a warning: it is not the one being exported. */
static int all_profiles_tokens(const Context *ctx, Cmdline **ret) {
        _cleanup_cmdline_ Cmdline *all = NULL;
        ProfileListEntry *list = NULL;
        size_t n = 0;
        int r;

        r = cmdline_parse("", &all);
        if (r < 0)
                return log_oom();
        r = profile_list(ctx->root, &list, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list the profiles: %m");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_profile_ Profile *p = NULL;

                if (profile_load_full(ctx->root, list[i].name, PROFILE_LOAD_NO_LINT, &p) < 0) {
                        log_warning("Profile %s does not load; its tokens are not checked for conflicts.", list[i].name);
                        continue;
                }
                for (Vendor v = 0; r >= 0 && v < _VENDOR_MAX; v++) {
                        _cleanup_cmdline_ Cmdline *args = NULL;

                        if (profile_kernel_args(p, v, &args) < 0)
                                continue; /* none for this vendor */
                        r = cmdline_append(all, args);
                }
        }
        profile_list_free(list, n);
        if (r < 0)
                return log_oom();
        *ret = TAKE_PTR(all);
        return 0;
}

static const char *destination(ExportFormat format, const ExportInput *in) {
        if (format == EXPORT_BOOTC && !in->aarch64_args)
                return export_bootc_destination(vendor_arch(in->vendor));
        return isempty(export_format_destination(format)) ? NULL : export_format_destination(format);
}

/* {"version": 1, "format", "profile", "kernel_args_for", "kernel_args", "kernel_args_removed",
 * "destination", "content"}: destination is the kargs.d directory when content is several files;
 * content is exactly what the text output prints. */
static int print_json(ExportFormat format, const ExportInput *in) {
        _cleanup_free_ char *content = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        JsonWriter w = { .f = stdout };
        size_t size = 0;
        int r;

        f = open_memstream(&content, &size);
        if (!f)
                return log_oom();
        r = export_write(format, in, f);
        if (r < 0)
                return r;
        if (fflush(f) != 0 || ferror(f))
                return log_oom();
        json_begin_object(&w);
        json_field_int(&w, "version", EXPORT_JSON_VERSION);
        json_field_string(&w, "format", export_format_to_string(format));
        json_field_string(&w, "profile", in->profile);
        json_field_string(&w, "kernel_args_for", vendor_to_string(in->vendor));
        json_key(&w, "kernel_args");
        json_begin_array(&w);
        for (size_t i = 0; i < in->args->n_tokens; i++)
                json_string(&w, in->args->tokens[i].text);
        json_end_array(&w);
        json_key(&w, "kernel_args_removed");
        json_begin_array(&w);
        for (size_t i = 0; in->remove && i < in->remove->n_tokens; i++)
                json_string(&w, in->remove->tokens[i].text);
        json_end_array(&w);
        json_field_string(&w, "destination", destination(format, in));
        json_field_string(&w, "content", content);
        json_end_object(&w);
        json_finish(&w);
        if (fflush(stdout) != 0 || ferror(stdout))
                return log_error_errno(-EIO, "Failed to write the output: %m");
        return 0;
}

int verb_export(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_cmdline_ Cmdline *args = NULL, *remove = NULL, *aarch64_args = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        ContextOptions o = args_context_options(false);
        ExportFormat format;
        int r;

        if (argc != 2)
                return log_error("export takes one format: machineconfig, bootc, butane, talos, dracut or kernel-cmdline."),
                       EXIT_ERROR;
        format = export_format_from_string(argv[1]);
        if (format < 0)
                return log_error("Unknown export format '%s'; valid: machineconfig, bootc, butane, talos, dracut, "
                                 "kernel-cmdline.",
                                 argv[1]), EXIT_ERROR;
        if (arg.role && format != EXPORT_MACHINECONFIG)
                return log_error("--role only applies to 'export machineconfig'."), EXIT_ERROR;

        r = context_load(&o, &ctx);
        if (r < 0)
                return EXIT_ERROR;
        /* Images and cluster objects boot on other machines than the one that builds them: never the
         * build host's own CPU vendor, only one asked for. */
        if ((format == EXPORT_BOOTC || format == EXPORT_MACHINECONFIG || format == EXPORT_BUTANE ||
             format == EXPORT_TALOS) && arg.vendor < 0 && ctx.config.vendor < 0)
                return log_error("export %s is for images and node pools, not this host: pass --vendor portable for an x86 "
                                 "image that must boot on Intel and AMD alike, or --vendor intel, amd or arm64 "
                                 "(or set Vendor= in iommu.conf under --root).", argv[1]), EXIT_ERROR;
        /* Exports are mostly made on build hosts for other machines, so say what fits a mixed fleet. */
        if (ctx.host.vendor < 0)
                return log_error("Cannot tell the IOMMU vendor (%s): pass --vendor intel, amd or arm64, or "
                                 "--vendor portable for an x86 image that must boot on Intel and AMD alike.",
                                 ctx.host.vendor_source), EXIT_ERROR;

        if (context_profile_args(&ctx, &args, &owned) < 0)
                return EXIT_ERROR;

        if (format == EXPORT_BUTANE || format == EXPORT_TALOS) {
                _cleanup_cmdline_ Cmdline *candidates = NULL;

                if (all_profiles_tokens(&ctx, &candidates) < 0)
                        return EXIT_ERROR;
                if (export_conflicting_tokens(args, ctx.args_vendor, owned, candidates, &remove) < 0)
                        return log_oom(), EXIT_ERROR;
        }
        /* A portable image: x86 for Intel and AMD, and arm64's tokens in a file of their own. */
        if (format == EXPORT_BOOTC && ctx.args_vendor == VENDOR_PORTABLE) {
                r = profile_kernel_args(ctx.profile, VENDOR_ARM64, &aarch64_args);
                if (r == -ENODATA)
                        log_info("Profile %s has no arm64 arguments: only the x86_64 file.", ctx.profile->name);
                else if (r < 0)
                        return log_oom(), EXIT_ERROR;
        }

        if (format == EXPORT_KERNEL_CMDLINE) {
                Cmdline *merged = NULL;

                r = merged_kernel_cmdline(&ctx, args, &merged);
                if (r < 0)
                        return EXIT_ERROR;
                cmdline_free(args);
                args = merged;
        }

        const ExportInput in = {
                .profile = ctx.profile->name,
                .vendor = ctx.args_vendor,
                .args = args,
                .role = arg.role,
                .remove = remove,
                .aarch64_args = aarch64_args,
        };
        if (arg.json)
                return print_json(format, &in) < 0 ? EXIT_ERROR : EXIT_OK;
        r = export_write(format, &in, stdout);
        if (r < 0)
                return EXIT_ERROR;
        if (fflush(stdout) != 0 || ferror(stdout))
                return log_error_errno(-EIO, "Failed to write the output: %m"), EXIT_ERROR;
        return EXIT_OK;
}
