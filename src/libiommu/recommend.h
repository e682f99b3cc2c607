/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "fileio.h"
#include "host.h"
#include "observe.h"

/* "iommuctl recommend": which shipped profile fits the node, from what it has (GPUs, SR-IOV, VFIO,
 * KVM, confidential computing, external DMA ports, virtualization), with the evidence for every
 * reason. Two halves: recommend_gather() reads the facts under a root (through fileio), and
 * recommend_decide() is the pure decision, unit-tested on hand-made facts. Nothing is written. */

typedef enum RecommendFact {
        FACT_GPU,               /* GPUs and accelerators: PCI class 0x03xx/0x12xx of NVIDIA, AMD, Intel, Habana */
        FACT_SRIOV_PF,          /* SR-IOV physical functions (sriov_totalvfs > 0) */
        FACT_SRIOV_VFS,         /* VFs in use (sriov_numvfs > 0) */
        FACT_VFIO,              /* devices bound to vfio-pci */
        FACT_KVM,               /* a KVM host: kvm_intel/kvm_amd loaded or /dev/kvm */
        FACT_CONFIDENTIAL,      /* a SEV-SNP or TDX host */
        FACT_EXTERNAL_PORTS,    /* Thunderbolt/USB4 or PCIe ports marked external_facing/removable */
        FACT_VIRTUALIZATION,    /* this node is itself a virtual machine */
        FACT_IOMMU_FIRMWARE,    /* the firmware (or hypervisor) describes an IOMMU */
        FACT_GPU_P2P_REDIRECTED, /* GPU peer paths inside a PCIe switch that ACS redirects to the root complex (p2p.h) */
        _FACT_MAX,
        _FACT_INVALID = -EINVAL,
} RecommendFact;

const char *recommend_fact_to_string(RecommendFact f);

typedef struct RecommendFacts {
        char **evidence[_FACT_MAX]; /* one line per piece of evidence; NULL: the fact does not hold */
        bool sev_snp;               /* FACT_CONFIDENTIAL because of SEV-SNP (needs translated DMA) */
} RecommendFacts;

void recommend_facts_done(RecommendFacts *f);

/* Reads the facts under root. o is observe_tree()'s (the PCI devices), h has the virtualization
 * (host_probe_virtualization()). Only -ENOMEM is fatal: what cannot be read is not evidence. */
int recommend_gather(const Root *root, const Observation *o, const HostInfo *h, RecommendFacts *ret);

typedef struct RecommendReason {
        RecommendFact fact;
        const char *profile; /* the profile this fact points to, NULL when it only explains */
        const char *why;     /* one sentence, static */
} RecommendReason;

typedef struct Recommendation {
        const char *profile;           /* the shipped profile chosen */
        RecommendReason reasons[_FACT_MAX + 2];
        size_t n_reasons;              /* the facts that hold, deciding ones first */
} Recommendation;

/* The decision. Pure: SEV-SNP hosts get strict (the kernel refuses SNP with the IOMMU off or in
 * passthrough); GPUs, SR-IOV, VFIO and KVM hosts get gpu-sriov; external DMA ports get strict; a
 * virtual machine without a virtual IOMMU, and a node with none of these, get bare-metal. */
int recommend_decide(const RecommendFacts *f, Recommendation *ret);
