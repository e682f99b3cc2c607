/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libgen.h>
#include "fileio.h"
#include "kubernetes.h"
#include "log.h"
#include "publish.h"
#include "atomic-write.h"

/* Both files are for other programs; a size cap only guards against a runaway renderer. NFD
 * ignores feature files over 64 KiB. */
#define NFD_FILE_MAX (64 * 1024)

static const char *strempty_(const char *s) {
        return s ?: "";
}

static const char *bool_label(bool b) {
        return b ? "true" : "false";
}

/* One "prefix/name=value" line, or a warning when Kubernetes would refuse the value. */
static void nfd_label(FILE *f, const char *name, const char *value) {
        if (isempty(value))
                return;
        if (!k8s_label_value_is_valid(value)) {
                log_warning("Not publishing node label %s%s=%s: not a valid Kubernetes label value "
                            "(letters, digits, '-', '_', '.', at most 63, alphanumeric at both ends).",
                            NFD_LABEL_PREFIX, name, value);
                return;
        }
        fprintf(f, NFD_LABEL_PREFIX "%s=%s\n", name, value);
}

int publish_nfd_render(const NodeState *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("# IOMMU state of this node, written by \"iommuctl verify\"; do not edit.\n"
              "# iommu.mode is what the kernel does, iommu.expected-mode what the profile asks for.\n", f);
        nfd_label(f, "iommu.profile", s->profile);
        nfd_label(f, "iommu.mode", s->observed_mode);
        nfd_label(f, "iommu.expected-mode", profile_mode_to_string(s->expected_mode));
        nfd_label(f, "iommu.verified", bool_label(s->verified));
        nfd_label(f, "iommu.verdict", s->verdict);
        nfd_label(f, "iommu.vfio", bool_label(s->vfio_available));
        nfd_label(f, "iommu.firmware", bool_label(s->firmware_iommu));
        if (s->iommufd >= 0)
                nfd_label(f, "iommu.iommufd", bool_label(s->iommufd));
        if (s->p2p) {
                nfd_label(f, "iommu.p2p", s->p2p);
                nfd_label(f, "iommu.p2p-gpu-redirected", bool_label(s->p2p_gpu_redirected > 0));
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (size > NFD_FILE_MAX)
                return -E2BIG;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static void prom_label_value(FILE *f, const char *v) {
        fputc('"', f);
        for (const char *p = v; *p; p++)
                switch (*p) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                default:
                        fputc(*p, f);
                }
        fputc('"', f);
}

static void prom_header(FILE *f, const char *name, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void prom_bool(FILE *f, const char *name, const char *help, bool value) {
        prom_header(f, name, help);
        fprintf(f, "%s %d\n", name, value);
}

/* A state set: one series per known mode, 1 for the current one. An unknown observed mode gets
 * its own series, so it is visible rather than silently all-zero. */
static void prom_mode_set(FILE *f, const char *name, const char *help, const char *current) {
        bool known = false;

        prom_header(f, name, help);
        for (ProfileMode m = 0; m < _MODE_MAX; m++) {
                bool is = current && streq(current, profile_mode_to_string(m));
                fprintf(f, "%s{mode=\"%s\"} %d\n", name, profile_mode_to_string(m), is);
                known = known || is;
        }
        if (current && !known) {
                fprintf(f, "%s{mode=", name);
                prom_label_value(f, current);
                fputs("} 1\n", f);
        }
}

int publish_prometheus_render(const NodeState *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        prom_header(f, "iommu_node_info", "IOMMU profile and verdict of the last iommuctl verify (always 1).");
        fputs("iommu_node_info{profile=", f);
        prom_label_value(f, strempty_(s->profile));
        fputs(",verdict=", f);
        prom_label_value(f, strempty_(s->verdict));
        fputs("} 1\n", f);

        prom_bool(f, "iommu_verified", "Whether the last iommuctl verify passed (1) or failed (0).", s->verified);
        prom_mode_set(f, "iommu_mode_expected", "IOMMU mode the profile asks for (1 for that mode).",
                      profile_mode_to_string(s->expected_mode));
        prom_mode_set(f, "iommu_mode_observed", "IOMMU mode the kernel was found in (1 for that mode).",
                      s->observed_mode);
        prom_bool(f, "iommu_firmware_present", "Whether the firmware describes an IOMMU (ACPI DMAR or IVRS, or an SMMU).",
                  s->firmware_iommu);
        prom_bool(f, "iommu_vfio_available", "Whether VFIO device assignment can work on this node.", s->vfio_available);

        prom_header(f, "iommu_groups", "IOMMU groups by default domain type (/sys/kernel/iommu_groups/*/type).");
        for (DomainType t = 0; t < _DOMAIN_TYPE_MAX; t++)
                if (t != DOMAIN_NONE)
                        fprintf(f, "iommu_groups{type=\"%s\"} %u\n", domain_type_to_string(t), s->groups_by_type[t]);

        if (s->p2p) {
                prom_header(f, "iommu_p2p_paths", "GPU/NIC/NVMe peer-to-peer paths by class (PIX, PXB, PHB, NODE, SYS) and route.");
                for (P2pClass c = 0; c < _P2P_CLASS_MAX; c++)
                        for (P2pRoute r = 0; r < _P2P_ROUTE_MAX; r++)
                                if (s->p2p_paths[c][r])
                                        fprintf(f, "iommu_p2p_paths{class=\"%s\",route=\"%s\"} %u\n", p2p_class_to_string(c),
                                                p2p_route_to_string(r), s->p2p_paths[c][r]);
                prom_header(f, "iommu_p2p_gpu_redirected", "GPU peer paths that ACS redirects to the root complex.");
                fprintf(f, "iommu_p2p_gpu_redirected %u\n", s->p2p_gpu_redirected);
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int publish_file(const Root *root, const char *path, const char *what, const char *setting,
                        int (*render)(const NodeState *s, char **ret), const NodeState *s) {
        _cleanup_free_ char *text = NULL, *p = NULL, *name = NULL, *rel = NULL;
        _cleanup_close_ int dir_fd = -1;
        int r;

        if (!path || path[0] != '/')
                return log_error_errno(-EINVAL, "[Publish] %s=%s: the %s file needs an absolute path.",
                                       setting, strna(path), what);
        r = render(s, &text);
        if (r < 0)
                return log_error_errno(r, "Failed to format the %s file: %m", what);
        /* The path comes from the tree's own iommu.conf: it is resolved inside the root like every
         * other path, and written relative to its directory's descriptor, so it cannot name a file
         * of the machine that runs verify --root. */
        r = root_open_parent(root, path, CHASE_MKDIR, &dir_fd, &name, &rel);
        if (r < 0)
                return log_error_errno(r, "Failed to resolve %s under %s: %m", path, root->path);
        p = root_display(root, rel);
        if (!p)
                return log_oom();
        r = write_file_atomic_at(dir_fd, name, text, strlen(text), 0644, (uid_t) -1, (gid_t) -1, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p);
        log_debug("Wrote %s.", p);
        return 0;
}

int publish_nfd(const Root *root, const char *path, const NodeState *s) {
        return publish_file(root, path ?: NFD_FEATURES_FILE_DEFAULT, "node-feature-discovery", "NodeFeatureDiscoveryPath",
                            publish_nfd_render, s);
}

int publish_prometheus(const Root *root, const char *path, const NodeState *s) {
        return publish_file(root, path ?: PROMETHEUS_FILE_DEFAULT, "Prometheus textfile", "PrometheusPath",
                            publish_prometheus_render, s);
}

int publish_node_state(const Root *root, const Config *c, const NodeState *s) {
        int r = 0, k;

        if (c->publish_nfd) {
                k = publish_nfd(root, c->nfd_path, s);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (c->publish_prometheus) {
                k = publish_prometheus(root, c->prometheus_path, s);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

PublishDecision publish_decide(const Config *config, const char *profile, bool boot_check, bool publish_asked) {
        if (!config->publish_nfd && !config->publish_prometheus)
                return PUBLISH_SKIP_DISABLED;
        if (!boot_check && !publish_asked)
                return PUBLISH_SKIP_MANUAL;
        if (!config->profile || !profile || !streq(config->profile, profile))
                return PUBLISH_SKIP_OTHER_PROFILE;
        return PUBLISH_YES;
}
