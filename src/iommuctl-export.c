/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/export.h"
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

int verb_export(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_cmdline_ Cmdline *args = NULL;
        ContextOptions o = args_context_options(false);
        ExportFormat format;
        int r;

        if (argc != 2)
                return log_error("export takes one format: machineconfig, bootc, dracut or kernel-cmdline."), EXIT_ERROR;
        format = export_format_from_string(argv[1]);
        if (format < 0)
                return log_error("Unknown export format '%s'; valid: machineconfig, bootc, dracut, kernel-cmdline.",
                                 argv[1]), EXIT_ERROR;
        if (arg.role && format != EXPORT_MACHINECONFIG)
                return log_error("--role only applies to 'export machineconfig'."), EXIT_ERROR;

        r = context_load(&o, &ctx);
        if (r < 0)
                return EXIT_ERROR;
        /* Images and cluster objects boot on other machines than the one that builds them: never the
         * build host's own CPU vendor, only one asked for. */
        if ((format == EXPORT_BOOTC || format == EXPORT_MACHINECONFIG) && arg.vendor < 0 && ctx.config.vendor < 0)
                return log_error("export %s is for images and node pools, not this host: pass --vendor portable for an x86 "
                                 "image that must boot on Intel and AMD alike, or --vendor intel, amd or arm64 "
                                 "(or set Vendor= in iommu.conf under --root).", argv[1]), EXIT_ERROR;
        /* Exports are mostly made on build hosts for other machines, so say what fits a mixed fleet. */
        if (ctx.host.vendor < 0)
                return log_error("Cannot tell the IOMMU vendor (%s): pass --vendor intel, amd or arm64, or "
                                 "--vendor portable for an x86 image that must boot on Intel and AMD alike.",
                                 ctx.host.vendor_source), EXIT_ERROR;

        if (context_profile_args(&ctx, &args, NULL) < 0)
                return EXIT_ERROR;

        if (format == EXPORT_KERNEL_CMDLINE) {
                Cmdline *merged = NULL;

                r = merged_kernel_cmdline(&ctx, args, &merged);
                if (r < 0)
                        return EXIT_ERROR;
                cmdline_free(args);
                args = merged;
        }

        r = export_write(format,
                         &(const ExportInput) {
                                 .profile = ctx.profile->name,
                                 .vendor = ctx.args_vendor,
                                 .args = args,
                                 .role = arg.role,
                         },
                         stdout);
        if (r < 0)
                return EXIT_ERROR;
        if (fflush(stdout) != 0 || ferror(stdout))
                return log_error_errno(-EIO, "Failed to write the output: %m"), EXIT_ERROR;
        return EXIT_OK;
}
