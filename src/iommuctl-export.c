/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/export.h"
#include "libiommu/fileio.h"
#include "libiommu/log.h"

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
        /* Exports are mostly made on build hosts for other machines, so say what fits a mixed fleet. */
        if (ctx.host.vendor < 0)
                return log_error("Cannot tell the IOMMU vendor (%s): pass --vendor intel, amd or arm64, or "
                                 "--vendor portable for an x86 image that must boot on Intel and AMD alike.",
                                 ctx.host.vendor_source), EXIT_ERROR;

        r = profile_kernel_args(ctx.profile, ctx.args_vendor, &args);
        if (r == -ENODATA)
                return log_error("Profile %s has no kernel arguments for %s (%s).", ctx.profile->name,
                                 vendor_to_string(ctx.args_vendor), ctx.profile->path), EXIT_ERROR;
        if (r < 0)
                return log_error_errno(r, "Failed to get the kernel arguments of profile %s: %m", ctx.profile->name),
                       EXIT_ERROR;

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
