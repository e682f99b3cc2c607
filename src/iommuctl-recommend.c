/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "iommuctl recommend": the profile this node's hardware and use call for, with the evidence for
 * each reason (as tuned-adm recommend, with reasons). Reads only; writes nothing. */
#include "iommuctl.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/intent.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/recommend.h"
#include "libiommu/strv.h"

static void print_json(const Recommendation *rec, const RecommendFacts *f, const Profile *p, const IntentConflicts *c,
                       int iommufd, const char *iommufd_evidence) {
        JsonWriter w = { .f = stdout };

        json_begin_object(&w);
        json_field_int(&w, "version", 1);
        json_field_string(&w, "profile", rec->profile);
        json_field_string(&w, "description", p ? p->description : NULL);
        json_field_string(&w, "mode", p ? profile_mode_to_string(p->mode) : NULL);
        json_key(&w, "reasons");
        json_begin_array(&w);
        for (size_t i = 0; i < rec->n_reasons; i++) {
                const RecommendReason *r = &rec->reasons[i];

                json_begin_object(&w);
                json_field_string(&w, "fact", recommend_fact_to_string(r->fact) ?: "none");
                json_field_string(&w, "points_to", r->profile);
                json_field_bool(&w, "decides", r->profile && streq(r->profile, rec->profile));
                json_field_string(&w, "why", r->why);
                json_key(&w, "evidence");
                json_begin_array(&w);
                if (r->fact >= 0)
                        STRV_FOREACH(e, f->evidence[r->fact])
                                json_string(&w, *e);
                json_end_array(&w);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_key(&w, "facts");
        json_begin_object(&w);
        for (RecommendFact i = 0; i < _FACT_MAX; i++)
                json_field_bool(&w, recommend_fact_to_string(i), f->evidence[i] && f->evidence[i][0]);
        json_end_object(&w);
        json_key(&w, "conflicts");
        json_begin_array(&w);
        for (size_t i = 0; i < c->n; i++) {
                json_begin_object(&w);
                json_field_string(&w, "id", c->items[i].id);
                json_field_string(&w, "message", c->items[i].message);
                json_field_string(&w, "fits", c->items[i].fits);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_tristate(&w, "iommufd_ready", iommufd);
        json_field_string(&w, "iommufd_evidence", iommufd_evidence);
        json_end_object(&w);
        json_finish(&w);
}

static void print_text(const Recommendation *rec, const RecommendFacts *f, const Profile *p, const IntentConflicts *c,
                       int iommufd, const char *iommufd_evidence) {
        _cleanup_escape_buffer_ EscapeBuffer x = {};

        printf("Recommended profile: %s%s%s%s\n", escaped(&x, rec->profile), p && p->description ? " (" : "",
               p && p->description ? escaped(&x, p->description) : "", p && p->description ? ")" : "");
        for (size_t i = 0; i < rec->n_reasons; i++) {
                const RecommendReason *r = &rec->reasons[i];
                bool decides = r->profile && streq(r->profile, rec->profile);

                printf("\n%c %s%s%s%s\n  %s\n", decides ? '+' : r->profile ? '-' : ' ',
                       recommend_fact_to_string(r->fact) ?: "nothing found", r->profile && !decides ? " (points to " : "",
                       r->profile && !decides ? escaped(&x, r->profile) : "", r->profile && !decides ? ", outweighed)" : "",
                       escaped(&x, r->why));
                if (r->fact >= 0)
                        STRV_FOREACH(e, f->evidence[r->fact])
                                printf("    %s\n", escaped(&x, *e));
        }
        for (size_t i = 0; i < c->n; i++)
                printf("\n! conflict: %s%s%s\n", c->items[i].message, c->items[i].fits ? "; profile fits: " : "",
                       c->items[i].fits ?: "");
        printf("\niommufd:  %s (%s)\n", iommufd > 0 ? "ready" : iommufd == 0 ? "not available" : "unknown", strna(iommufd_evidence));
        if (!arg.no_legend)
                printf("\nNothing was written. To use it: iommuctl plan --profile %s, then iommuctl apply --profile %s.\n",
                       escaped(&x, rec->profile), escaped(&x, rec->profile));
}

int verb_recommend(int argc, char *argv[]) {
        _cleanup_(observation_done) Observation o = {};
        _cleanup_(recommend_facts_done) RecommendFacts f = {};
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_(host_info_done) HostInfo h = {};
        _cleanup_(kernel_info_done) KernelInfo k = {};
        _cleanup_(intent_conflicts_done) IntentConflicts conflicts = {};
        _cleanup_free_ char *iommufd_evidence = NULL;
        Recommendation rec;
        int r, iommufd = -1;

        if (argc > 1)
                return log_error("recommend takes no arguments."), EXIT_ERROR;
        r = host_probe(arg.root, arg.arch, arg.vendor, &h);
        if (r >= 0)
                r = host_probe_virtualization(arg.root, &h);
        if (r < 0)
                return log_error_errno(r, "Failed to probe the host under %s: %m", arg.root->path), EXIT_ERROR;
        r = observe_tree(arg.root, h.arch, h.vendor, h.vendor_source, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to read the kernel's state under %s: %m", arg.root->path), EXIT_ERROR;
        if (!o.sysfs)
                return log_error_errno(-ENOMEDIUM, "Cannot recommend: %s has no /sys/bus/pci or /sys/kernel, so no hardware "
                                       "to look at (pass the root of a running system or of a captured tree).", arg.root->path),
                       EXIT_ERROR;
        r = recommend_gather(arg.root, &o, &h, &f);
        if (r >= 0)
                r = recommend_decide(&f, &rec);
        if (r < 0)
                return log_oom(), EXIT_ERROR;
        /* The description, from the profile as this root has it; a missing one is worth an error. */
        if (profile_load(arg.root, rec.profile, &p) < 0)
                return EXIT_ERROR;

        /* What the chosen mode would break here, and whether iommufd-based VFIO can work (issue 21). */
        r = kernel_info_load(arg.root, h.arch, arg.kernel_release, arg.kernel_config, &k);
        if (r >= 0)
                r = kernel_platform_probe(arg.root, h.arch, arg.kernel_log, &k.platform);
        if (r >= 0)
                r = intent_conflicts(p->mode, host_args_vendor(&h) >= 0 ? host_args_vendor(&h) : VENDOR_INTEL, &k, &conflicts);
        if (r >= 0)
                r = iommufd_readiness(o.dev_iommu, o.dev_vfio_devices, &k, &iommufd, &iommufd_evidence);
        if (r == -ENOMEM)
                return log_oom(), EXIT_ERROR;
        if (r < 0)
                return EXIT_ERROR;

        if (arg.json)
                print_json(&rec, &f, p, &conflicts, iommufd, iommufd_evidence);
        else
                print_text(&rec, &f, p, &conflicts, iommufd, iommufd_evidence);
        return EXIT_OK;
}
