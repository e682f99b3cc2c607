/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "p2p.h"
#include "fileio.h"
#include "params.h"
#include "profile.h"

/* Publishing what verify found, in the formats fleet tooling already reads:
 * - a node-feature-discovery local feature file, which nfd-worker turns into node labels
 *   ("feature.node.kubernetes.io/iommu.mode=passthrough"), so pods select nodes by IOMMU state;
 * - a node_exporter textfile-collector file (Prometheus exposition format), so alerting sees
 *   drifted or unverified nodes.
 * Both are replaced atomically (dot file, fsync, rename), so neither reader ever sees half a file. */

typedef struct NodeState {
        const char *profile;        /* profile name */
        ProfileMode expected_mode;  /* the profile's Mode= */
        const char *observed_mode;  /* what the kernel does: a profile_mode_to_string() name; NULL: unknown */
        bool verified;              /* verify passed */
        bool vfio_available;        /* VFIO device assignment can work (groups and vfio-pci) */
        bool firmware_iommu;        /* the firmware describes an IOMMU (ACPI DMAR/IVRS, an SMMU) */
        int iommufd;                /* iommufd-based VFIO can work: 1, 0, -1 unknown (no label) */
        unsigned groups_by_type[_DOMAIN_TYPE_MAX]; /* IOMMU groups per default domain type; [DOMAIN_NONE] is ignored */
        const char *verdict;        /* verify's one-word verdict (pass, fail...); NULL: none */
        const char *p2p;            /* verify's p2p check (pass, warn); NULL: no peer paths were judged */
        unsigned p2p_paths[_P2P_CLASS_MAX][_P2P_ROUTE_MAX]; /* peer paths by class and route */
        unsigned p2p_gpu_redirected; /* GPU paths that ACS redirects to the root complex */
} NodeState;

#define NFD_LABEL_PREFIX "feature.node.kubernetes.io/"

/* The file contents. Values Kubernetes would refuse as label values are left out, with a warning
 * (a bad label would make nfd-master reject the node's whole label update). */
int publish_nfd_render(const NodeState *s, char **ret);
int publish_prometheus_render(const NodeState *s, char **ret);

/* Write ROOT/path (path NULL: the default), creating missing directories. path must be absolute.
 * Errors are logged. */
int publish_nfd(const Root *root, const char *path, const NodeState *s);
int publish_prometheus(const Root *root, const char *path, const NodeState *s);

/* Both, as [Publish] in iommu.conf asks. Returns the first error, after trying both. */
int publish_node_state(const Root *root, const Config *c, const NodeState *s);

/* Whether a verify run publishes (issue 22.2): labels and metrics are the node's state, so only the
 * boot's verdict for the configured profile goes there. A run by hand (a what-if with --profile
 * OTHER included) prints and returns, unless asked to publish, and even then only for the
 * configured profile. */
typedef enum PublishDecision {
        PUBLISH_YES,
        PUBLISH_SKIP_DISABLED,      /* [Publish] asks for nothing */
        PUBLISH_SKIP_MANUAL,        /* not the boot check (--boot-check), and no --publish */
        PUBLISH_SKIP_OTHER_PROFILE, /* verify ran for another profile than the configured one */
        _PUBLISH_DECISION_MAX,
} PublishDecision;

/* Pure. profile: the one verify judged; config->profile: the node's. */
PublishDecision publish_decide(const Config *config, const char *profile, bool boot_check, bool publish_asked);
