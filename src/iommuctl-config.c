/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "iommuctl config": the effective settings of iommu.conf and its drop-ins, parsed by the same code
 * every verb uses, so that shell integrations (the dracut module) need no INI parser of their own. */
#include "iommuctl.h"
#include "libiommu/fileio.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

typedef struct Setting {
        const char *name;
        char *value;
} Setting;

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

int verb_config(int argc, char *argv[]) {
        _cleanup_(config_done) Config c = {};
        _cleanup_free_ char *backends = NULL;
        Setting settings[13];
        size_t n = 0;
        int ret = EXIT_OK;

        if (config_load(arg.root, &c) < 0)
                return EXIT_ERROR;
        backends = c.backends ? strv_join(c.backends, ",") : strdup("auto");
        if (!backends)
                return log_oom(), EXIT_ERROR;

#define SET(n_, v_) settings[n++] = (Setting) { .name = (n_), .value = (char *) (v_) }
        SET("IOMMU.Profile", c.profile ?: "");
        SET("IOMMU.Vendor", c.vendor >= 0 ? vendor_to_string(c.vendor) : "auto");
        SET("Apply.Entries", c.entries ?: "all");
        SET("Apply.Backends", backends);
        SET("Apply.BootloaderUpdate", yes_no(c.bootloader_update));
        SET("Apply.Reboot", yes_no(c.reboot));
        SET("Apply.RebootSentinel", c.reboot_sentinel ?: "");
        SET("Boot.Enforce", yes_no(c.enforce));
        SET("Boot.Generator", yes_no(c.generator));
        SET("Publish.NodeFeatureDiscovery", yes_no(c.publish_nfd));
        SET("Publish.NodeFeatureDiscoveryPath", c.nfd_path ?: NFD_FEATURES_FILE_DEFAULT);
        SET("Publish.Prometheus", yes_no(c.publish_prometheus));
        SET("Publish.PrometheusPath", c.prometheus_path ?: PROMETHEUS_FILE_DEFAULT);
#undef SET

        if (argc <= 1) {
                for (size_t i = 0; i < n; i++)
                        printf("%s=%s\n", settings[i].name, settings[i].value);
                return EXIT_OK;
        }
        /* "config Boot.Enforce ...": only the values, one a line, for scripts. */
        for (int a = 1; a < argc; a++) {
                const Setting *s = NULL;

                for (size_t i = 0; i < n; i++)
                        if (streq(settings[i].name, argv[a]))
                                s = &settings[i];
                if (!s) {
                        log_error("Unknown setting '%s'; 'iommuctl config' lists them (Section.Key).", argv[a]);
                        ret = EXIT_ERROR;
                        continue;
                }
                puts(s->value);
        }
        return ret;
}
