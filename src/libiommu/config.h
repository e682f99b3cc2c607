/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "params.h"

/* /etc/iommu/iommu.conf and /etc/iommu/iommu.conf.d/ *.conf (drop-ins read in lexical order,
 * later settings win), all under the root prefix. */

typedef struct Config {
        char *profile;          /* [IOMMU] Profile= */
        Vendor vendor;          /* [IOMMU] Vendor=; _VENDOR_INVALID for auto */
        char *entries;          /* [Apply] Entries= all|default|GLOB */
        char **backends;        /* [Apply] Backends=; NULL for auto */
        bool bootloader_update; /* [Apply] BootloaderUpdate= */
        bool reboot;            /* [Apply] Reboot= */
        char *reboot_sentinel;  /* [Apply] RebootSentinel=; NULL for none */
        bool enforce;           /* [Boot] Enforce= (initrd check stops the boot) */
        bool generator;         /* [Boot] Generator= */
        bool publish_nfd;       /* [Publish] NodeFeatureDiscovery= */
        char *nfd_path;
        bool publish_prometheus;/* [Publish] Prometheus= */
        char *prometheus_path;
        char **files;           /* files read */
} Config;

#define CONFIG_FILE "/etc/iommu/iommu.conf"
#define CONFIG_DROPIN_DIR "/etc/iommu/iommu.conf.d"
#define NFD_FEATURES_FILE_DEFAULT "/etc/kubernetes/node-feature-discovery/features.d/iommu"
#define PROMETHEUS_FILE_DEFAULT "/var/lib/prometheus/node-exporter/iommu.prom"

/* [Apply] RebootSentinel= must name a file on the tmpfs a reboot clears: a sentinel that survived
 * the reboot would make kured reboot the node again and again. */
bool reboot_sentinel_path_is_valid(const char *path);

/* A missing iommu.conf is not an error: the defaults apply. Errors in a file are logged with
 * file:line and returned as -EINVAL. */
int config_load(const char *root, Config *ret);
void config_done(Config *c);
