/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "fileio.h"
#include "params.h"

/* /etc/iommu/iommu.conf and /etc/iommu/iommu.conf.d/ *.conf (drop-ins read in lexical order,
 * later settings win), all under the root prefix. */

/* Where a setting was made, as systemd-analyze cat-config shows it: for config, plan, status and
 * profiles --selected. */
typedef struct ConfigOrigin {
        char *key;          /* "IOMMU.Profile" */
        char *value;        /* as written */
        const char *file;   /* points into Config.files */
        unsigned line;
        bool selection;     /* in the selection 'iommuctl apply --profile' recorded */
} ConfigOrigin;

typedef struct Config {
        char *profile;          /* [IOMMU] Profile= */
        Vendor vendor;          /* [IOMMU] Vendor=; _VENDOR_INVALID for auto */
        char *entries;          /* [Apply] Entries= all|default|GLOB */
        char **backends;        /* [Apply] Backends=; NULL for auto */
        bool bootloader_update; /* [Apply] BootloaderUpdate= */
        bool reboot;            /* [Apply] Reboot= */
        bool automatic;         /* [Apply] Automatic=: the generator acts without an apply on this node first */
        char *reboot_sentinel;  /* [Apply] RebootSentinel=; NULL for none */
        bool enforce;           /* [Boot] Enforce= (initrd check stops the boot) */
        bool generator;         /* [Boot] Generator= */
        bool publish_nfd;       /* [Publish] NodeFeatureDiscovery= */
        char *nfd_path;
        bool publish_prometheus;/* [Publish] Prometheus= */
        char *prometheus_path;
        char **files;           /* files read */
        /* Where Profile= and Vendor= came from (a path in files, or NULL for the default). */
        const char *profile_from;
        const char *vendor_from;
        /* The Profile= the files other than the selection set, when the selection overrides it. */
        char *profile_overridden;
        const char *profile_overridden_from;
        ConfigOrigin *origins;  /* the setting in effect, for each key a file sets */
        size_t n_origins;
        ConfigOrigin *shadowed; /* settings a later file overrides with another value */
        size_t n_shadowed;
} Config;

#define CONFIG_FILE "/etc/iommu/iommu.conf"
#define CONFIG_DROPIN_DIR "/etc/iommu/iommu.conf.d"
/* The selection "iommuctl apply" records: [IOMMU] Profile= and Vendor= only, read after every
 * drop-in (so it wins over them), written through the change set (so rollback restores it). */
#define CONFIG_SELECTION_FILE "/etc/iommu/selection"
#define NFD_FEATURES_FILE_DEFAULT "/etc/kubernetes/node-feature-discovery/features.d/iommu"
#define PROMETHEUS_FILE_DEFAULT "/var/lib/prometheus/node-exporter/iommu.prom"

/* [Apply] RebootSentinel= must name a file on the tmpfs a reboot clears: a sentinel that survived
 * the reboot would make kured reboot the node again and again. */
bool reboot_sentinel_path_is_valid(const char *path);

/* A missing iommu.conf is not an error: the defaults apply. Errors in a file are logged with
 * file:line and returned as -EINVAL. */
int config_load(const Root *root, Config *ret);
/* Pure: the contents of the selection file for profile (vendor: _VENDOR_INVALID to leave Vendor=
 * out, so the vendor is detected at boot). */
int config_selection_contents(const char *profile, Vendor vendor, char **ret);
void config_done(Config *c);

/* The file and line that set key ("IOMMU.Profile"), or NULL when the default applies. */
const ConfigOrigin *config_origin(const Config *c, const char *key);
/* "FILE:LINE", followed by " (the selection recorded by 'iommuctl apply')" for the selection. */
int config_origin_describe(const ConfigOrigin *o, char **ret);
/* Warns once for each shadowed setting, naming both places; the selection recorded by apply winning
 * over a Profile= or Vendor= of the configuration gets its own warning (see iommu.conf(5),
 * "Precedence"). Returns the number of warnings. */
size_t config_warn_shadowed(const Config *c);
