/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "params.h"

/* A model of what the kernel does with a command line, for profile checks and explanations. It
 * assumes the defaults of Debian's, Ubuntu's and RHEL's kernels (CONFIG_INTEL_IOMMU_DEFAULT_ON=y,
 * CONFIG_IOMMU_DEFAULT_DMA_LAZY on x86, strict on arm64) on bare metal; verify checks what really
 * happened. */

typedef struct KernelPrediction {
        bool groups;             /* an IOMMU driver registers and creates groups */
        DomainType domain;       /* DOMAIN_NONE when there are no groups */
        const char *reason;      /* static string: the token or default that decided it */
} KernelPrediction;

/* For VENDOR_PORTABLE the prediction is made for Intel; call it for VENDOR_AMD too to cover
 * images that boot on both. */
int kernel_predict(const Cmdline *c, Vendor vendor, KernelPrediction *ret);
