/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "iommuctl.h"
#include "libiommu/efi.h"
#include "libiommu/fileio.h"
#include "libiommu/journal.h"
#include "libiommu/kernel-log.h"
#include "libiommu/log.h"
#include "libiommu/modules.h"
#include "libiommu/observe.h"
#include "libiommu/publish.h"
#include "libiommu/report.h"
#include "libiommu/strv.h"
#include "libiommu/verdict.h"
#include "libiommu/virt.h"

/* Everything verify and groups look at, gathered under the root prefix. Errors are logged. */
static int verify_observe(const Context *ctx, char * const *modules, Observation *ret) {
        _cleanup_(observation_done) Observation o = {};
        int r;

        r = observe_tree(ctx->root, ctx->host.arch, ctx->host.vendor, ctx->host.vendor_source, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to read the kernel's state under %s: %m", ctx->root->path);
        if (!o.sysfs)
                return log_error_errno(-ENOMEDIUM, "Cannot check: %s has no /sys/kernel or /sys/bus/pci, so no running kernel's "
                                       "state to read (pass the root of a running system or of a captured tree).", ctx->root->path);
        /* A virtual machine's IOMMU is the hypervisor's to give: the fixes say so. */
        o.virtualization = ctx->host.virtualization;
        o.virtualization_evidence = ctx->host.virtualization_evidence;
        r = modules_observe(&o, modules);
        if (r >= 0)
                r = efi_observe(&o);
        if (r < 0)
                return log_error_errno(r, "Failed to read the kernel's state under %s: %m", ctx->root->path);

        if (arg.kernel_log)
                r = kernel_log_read_file(&o, arg.kernel_log);
        else if (root_is_host(ctx->root) && !arg.no_journal)
                r = kernel_log_read_journal(&o);
        if (r < 0)
                return r;
        *ret = o;
        o = (Observation) {};
        return 0;
}

/* Only iommu-verify.service's run (--boot-check) is the boot check that alerts key on: a run by hand
 * logs under its own MESSAGE_ID, at warning priority at most, so that a failed manual check is not
 * taken for a failed boot. Both name what was read: the firmware's IOMMU table and the EFI state. */
static int adjust_journal_fields(const Observation *o, char **fields, char ***ret_extra) {
        _cleanup_strv_free_ char **extra = NULL;
        char *s;

        for (char **f = fields; f && *f; f++) {
                const char *prio = startswith(*f, "PRIORITY=");

                if (!arg.boot_check && startswith(*f, "MESSAGE_ID=")) {
                        free(*f);
                        if (!(*f = strdup("MESSAGE_ID=" IOMMU_VERIFY_MANUAL_MESSAGE_ID)))
                                return -ENOMEM;
                } else if (!arg.boot_check && prio && atoi(prio) < LOG_WARNING) {
                        free(*f);
                        if (asprintf(f, "PRIORITY=%d", LOG_WARNING) < 0)
                                return *f = NULL, -ENOMEM;
                }
        }
        if (asprintf(&s, "IOMMU_RUN=%s", arg.boot_check ? "boot-check" : "manual") < 0 || strv_consume(&extra, s) < 0)
                return -ENOMEM;
        if (asprintf(&s, "IOMMU_EFI=%s", !o->efi.booted ? "no" : o->efi.secure_boot > 0 ? "secure-boot" :
                     o->efi.secure_boot == 0 ? "booted" : "booted-secure-boot-unknown") < 0 || strv_consume(&extra, s) < 0)
                return -ENOMEM;
        *ret_extra = TAKE_PTR(extra);
        return 0;
}

static int send_journal_entry(const Observation *o, const Profile *p, const Verdict *v) {
        _cleanup_strv_free_ char **fields = NULL, **extra = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        if (!arg.journal_fields_to && (arg.no_journal || !root_is_host(o->root)))
                return 0;
        r = report_journal_fields(o, p, v, &fields);
        if (r >= 0)
                r = adjust_journal_fields(o, fields, &extra);
        if (r >= 0)
                r = strv_extend_strv(&fields, extra);
        if (r < 0)
                return log_oom();
        if (arg.journal_fields_to) {
                f = fopen(arg.journal_fields_to, "we");
                if (!f)
                        return log_error_errno(-errno, "Failed to open %s: %m", arg.journal_fields_to);
                journal_set_sender(journal_sender_write_file, f);
        }
        r = journal_send_fields(fields);
        journal_set_sender(NULL, NULL);
        if (r < 0)
                /* The verdict stands without its journal entry. */
                log_warning_errno(r, "Failed to log the verdict to the journal: %m");
        return 0;
}

/* Node labels and metrics, where [Publish] in iommu.conf asks for them, from the boot's verdict on
 * the configured profile only (publish_decide()). A failure to publish is logged but does not
 * change the verdict. */
static void publish(const Context *ctx, const Observation *o, const Verdict *v) {
        NodeState s = {
                .profile = ctx->profile->name,
                .expected_mode = ctx->profile->mode,
                .observed_mode = v->facts.mode,
                .verified = v->result != CHECK_FAIL,
                .vfio_available = v->facts.vfio_usable,
                .firmware_iommu = v->facts.firmware_iommu,
                .iommufd = v->facts.iommufd_ready,
                .verdict = check_result_to_json_string(v->result),
        };

        switch (publish_decide(&ctx->config, ctx->profile->name, arg.boot_check, arg.publish)) {
        case PUBLISH_YES:
                break;
        case PUBLISH_SKIP_MANUAL:
                log_info("Not publishing node labels or metrics: they carry the boot check's verdict "
                         "(iommu-verify.service, --boot-check); pass --publish to publish this run.");
                return;
        case PUBLISH_SKIP_OTHER_PROFILE:
                log_info("Not publishing node labels or metrics: this run checked profile %s, the node's profile is %s.",
                         ctx->profile->name, strna(ctx->config.profile));
                return;
        default:
                return;
        }
        memcpy(s.groups_by_type, o->type_counts, sizeof(s.groups_by_type));
        s.p2p = v->facts.p2p;
        memcpy(s.p2p_paths, v->facts.p2p_paths, sizeof(s.p2p_paths));
        s.p2p_gpu_redirected = v->facts.p2p_gpu_redirected;
        (void) publish_node_state(ctx->root, &ctx->config, &s);
}

/* In a container the kernel, its command line, groups and log are the outer host's: say so, as
 * the verdict is about that host and not about anything this container's boot files chose. */
static void warn_container(const Root *root) {
        _cleanup_free_ char *kind = NULL;

        if (container_detect(root, &kind) <= 0)
                return;
        log_warning("Running in a container (%s): the kernel checked is the outer host's, booted with the host's "
                    "command line; this container's boot configuration plays no part in the verdict.", kind);
}

int verb_verify(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(observation_done) Observation o = {};
        _cleanup_(verdict_done) Verdict v = {};
        ContextOptions opts = args_context_options(false);
        int r;

        if (argc > 1)
                return log_error_errno(-EINVAL, "verify takes no arguments; see 'iommuctl verify --help'."), EXIT_ERROR;
        r = context_load(&opts, &ctx);
        if (r < 0)
                return EXIT_ERROR;
        warn_container(ctx.root);
        r = host_probe_virtualization(ctx.root, &ctx.host);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/proc/cpuinfo: %m", root_prefix(ctx.root)),
                       EXIT_ERROR;
        r = verify_observe(&ctx, ctx.profile->expect_modules, &o);
        if (r < 0)
                return EXIT_ERROR;
        r = verdict_compute_for(&o, ctx.profile, ctx.args_vendor, &ctx.kernel, &v);
        if (r < 0)
                return log_oom(), EXIT_ERROR;

        if (arg.json)
                report_verify_json(stdout, &o, ctx.profile, &v);
        else if (!arg.quiet)
                report_verify_text(stdout, &o, ctx.profile, &v, args_report_flags());
        (void) send_journal_entry(&o, ctx.profile, &v);
        publish(&ctx, &o, &v);
        return v.result == CHECK_FAIL ? EXIT_NO : EXIT_OK;
}
