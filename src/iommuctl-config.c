/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "iommuctl config": the effective settings of iommu.conf and its drop-ins, parsed by the same code
 * every verb uses, so that shell integrations (the dracut module) need no INI parser of their own. */
#include "iommuctl.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

typedef struct Setting {
        const char *name;
        char *value;
} Setting;

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* {"IOMMU": {"Profile": "..."}, "Apply": {...}, ...}: the settings (all, or those marked wanted)
 * grouped by section, in the order of the table, whose entries are sorted by section already. */
static void print_json(const Setting *settings, size_t n, const bool *wanted) {
        JsonWriter w = { .f = stdout };
        const char *section = NULL;
        size_t section_len = 0;

        json_begin_object(&w);
        for (size_t i = 0; i < n; i++) {
                const char *dot = strchr(settings[i].name, '.');
                _cleanup_free_ char *sec = NULL;

                if (wanted && !wanted[i])
                        continue;
                if (!section || (size_t) (dot - settings[i].name) != section_len ||
                    strncmp(section, settings[i].name, section_len) != 0) {
                        if (section)
                                json_end_object(&w);
                        section = settings[i].name;
                        section_len = dot - settings[i].name;
                        sec = strndup(section, section_len);
                        json_key(&w, sec ?: "");
                        json_begin_object(&w);
                }
                json_field_string(&w, dot + 1, settings[i].value);
        }
        if (section)
                json_end_object(&w);
        json_end_object(&w);
        json_finish(&w);
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
        SET("IOMMU.Profile", c.profile); /* NULL: none selected ("" in text, null in JSON) */
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

        if (argc <= 1 && arg.json) {
                print_json(settings, n, NULL);
                return EXIT_OK;
        }
        if (argc <= 1) {
                for (size_t i = 0; i < n; i++) {
                        _cleanup_escape_buffer_ EscapeBuffer e = {};
                        printf("%s=%s\n", escaped(&e, settings[i].name), escaped(&e, settings[i].value ?: ""));
                }
                return EXIT_OK;
        }
        /* "config Boot.Enforce ...": only the values, one a line, for scripts. */
        bool wanted[ELEMENTSOF(settings)] = {};
        for (int a = 1; a < argc; a++) {
                const Setting *s = NULL;

                for (size_t i = 0; i < n; i++)
                        if (streq(settings[i].name, argv[a])) {
                                s = &settings[i];
                                wanted[i] = true;
                        }
                if (!s) {
                        log_error("Unknown setting '%s'; 'iommuctl config' lists them (Section.Key).", argv[a]);
                        ret = EXIT_ERROR;
                        continue;
                }
                if (!arg.json) {
                        fputs_escaped(s->value ?: "", stdout);
                        putchar('\n');
                }
        }
        if (arg.json && ret == EXIT_OK)
                print_json(settings, n, wanted);
        return ret;
}
