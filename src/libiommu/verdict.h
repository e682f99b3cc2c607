/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "kernel-model.h"
#include "observe.h"
#include "p2p.h"
#include "profile.h"

/* The judgement: a pure function of an Observation and a Profile (no I/O), so it is unit-tested
 * directly. Each check is one line for people (PASS/WARN/FAIL, the evidence, the fix) and one
 * object in the JSON; the compatibility matrix says what the node can do as it booted. */

typedef enum CheckResult {
        CHECK_PASS,
        CHECK_WARN,
        CHECK_FAIL,
        _CHECK_RESULT_MAX,
        _CHECK_RESULT_INVALID = -EINVAL,
} CheckResult;

typedef struct Check {
        const char *id;  /* stable identifier: "firmware", "domain-type", "module:vfio_pci"... (static or owned below) */
        char *id_owned;
        CheckResult result;
        char *evidence;  /* what was observed */
        char *fix;       /* for WARN and FAIL: what to do; NULL otherwise */
} Check;

typedef enum Feature {
        FEATURE_GPUDIRECT_RDMA,
        FEATURE_SRIOV_VF_ASSIGNMENT,
        FEATURE_VFIO_PASSTHROUGH,
        FEATURE_DMA_TRANSLATION_OVERHEAD,
        FEATURE_DEVICE_ISOLATION,
        FEATURE_NVIDIA_PEERMEM,
        _FEATURE_MAX,
} Feature;

typedef enum FeatureState {
        FEATURE_WORKS,
        FEATURE_DEGRADED,
        FEATURE_BROKEN,
        FEATURE_NOT_APPLICABLE, /* nothing on this node it applies to (no NVIDIA GPU for nvidia-peermem) */
        _FEATURE_STATE_MAX,
} FeatureState;

typedef struct MatrixRow {
        FeatureState state;
        char *reason;
} MatrixRow;

/* Facts derived from the observation, computed once here; the text, the JSON, node labels, metrics
 * and the journal entry all read them from the Verdict. */
typedef struct NodeFacts {
        bool firmware_iommu;     /* the firmware describes an IOMMU: ACPI DMAR/IVRS, or an SMMU registered (arm64) */
        int vfio_modules;        /* vfio_pci and vfio_iommu_type1 are loaded or loadable: 1, 0, -1 unknown */
        bool vfio_usable;        /* VFIO device assignment can work (groups, modules, interrupt remapping) */
        const char *mode;        /* what can be observed: "passthrough", "strict", "translated", "off", "mixed" */
        int strict;              /* translated domains: 1 strict, 0 lazy, -1 not applicable or unknown */
        bool strict_inferred;    /* strict comes from the model (command line, build), not from sysfs */
        char *strict_evidence;   /* how strict/lazy is known */
        const char *strict_forced; /* strict by virtualization (VT-d caching mode, AMD-Vi NpCache): the evidence; NULL otherwise */
        int iommufd_ready;       /* iommufd-based VFIO (KubeVirt 1.9...) can work: /dev/iommu and /dev/vfio/devices, or
                                  * CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV: 1, 0, -1 unknown */
        char *iommufd_evidence;
        char *kernel;            /* the kernel the model used, for people */
        const char *p2p;         /* the p2p check's result ("pass", "warn"), NULL without one (issue 25) */
        unsigned p2p_paths[_P2P_CLASS_MAX][_P2P_ROUTE_MAX]; /* peer paths by class and route */
        unsigned p2p_gpu_redirected; /* paths from a GPU that ACS redirects */
} NodeFacts;

typedef struct Verdict {
        Check *checks;
        size_t n_checks;
        MatrixRow matrix[_FEATURE_MAX];
        CheckResult result; /* the worst check */
        Vendor args_vendor; /* the [KernelArgs] entry the command line was compared with */
        NodeFacts facts;
        KernelPrediction predicted; /* the model's prediction for the running command line (empty without one) */
        P2pTopology p2p;            /* peer-to-peer paths and ACS ports, with the kernel's predicted ACS Control */
} Verdict;

const char *check_result_to_string(CheckResult r);        /* "PASS", "WARN", "FAIL" */
const char *check_result_to_json_string(CheckResult r);   /* "pass", "warn", "fail" */
const char *feature_to_string(Feature f);                 /* "gpudirect-rdma"... */
const char *feature_title(Feature f);                     /* "GPUDirect RDMA"... */
const char *feature_state_to_string(FeatureState s);      /* "works", "degraded", "broken", "n/a" */

/* args_vendor: the [KernelArgs] entry for this host (host_args_vendor()), or _VENDOR_INVALID when
 * it cannot be told. Only -ENOMEM fails. */
int verdict_compute(const Observation *o, const Profile *p, Vendor args_vendor, Verdict *ret);
/* Same, for the kernel k (release, build configuration: kernel_info_load()); NULL: the release in
 * the observation with mainline defaults. */
int verdict_compute_for(const Observation *o, const Profile *p, Vendor args_vendor, const KernelInfo *k, Verdict *ret);
void verdict_done(Verdict *v);

const Check *verdict_find_check(const Verdict *v, const char *id);
/* The ids of the failed checks, comma-separated ("" when none). */
char *verdict_failed_ids(const Verdict *v);
