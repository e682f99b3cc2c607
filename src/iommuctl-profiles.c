/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/drift.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

/* "profiles --selected": for units and scripts that should do nothing on a host without a profile
 * (iommu-verify.service's ExecCondition=, the kernel-install plugin). */
static int print_selected(void) {
        _cleanup_(config_done) Config c = {};
        _cleanup_free_ char *from = NULL;

        if (config_load(arg.root, &c) < 0)
                return EXIT_ERROR;
        config_warn_shadowed(&c);
        if (arg.json) {
                JsonWriter w = { .f = stdout };

                json_begin_object(&w);
                json_field_int(&w, "version", PROFILES_JSON_VERSION);
                json_field_string(&w, "selected", c.profile);
                json_field_config_origin(&w, "origin", c.profile ? config_origin(&c, "IOMMU.Profile") : NULL);
                json_end_object(&w);
                json_finish(&w);
                return c.profile ? EXIT_OK : EXIT_NO;
        }
        if (!c.profile) {
                log_info("No profile selected (Profile= in [IOMMU] of %s%s).", root_prefix(arg.root),
                         CONFIG_FILE);
                return EXIT_NO;
        }
        /* stdout carries the name alone (units and scripts read it); where it comes from goes to stderr. */
        fputs_escaped(c.profile, stdout);
        putchar('\n');
        if (setting_origin_describe(&c, NULL, "IOMMU.Profile", &from) < 0)
                return log_oom(), EXIT_ERROR;
        log_info("Profile=%s from %s", c.profile, from);
        return EXIT_OK;
}

/* "profiles --armed": like --selected, but only where the generator would act (the configured
 * profile was applied on this node, or [Apply] Automatic=yes). The dracut module bakes tokens into
 * a UKI only then: a profile that is merely configured must not reach the next boot behind the
 * operator's back. */
static int print_armed(void) {
        _cleanup_(config_done) Config c = {};
        _cleanup_free_ char *recorded = NULL, *why = NULL;
        DriftArmed a;

        if (config_load(arg.root, &c) < 0)
                return EXIT_ERROR;
        if (drift_armed_under(arg.root, &c, &a, &recorded) < 0)
                return EXIT_ERROR;
        if (drift_armed_describe(a, c.profile, recorded, &why) < 0)
                return log_oom(), EXIT_ERROR;
        if (arg.json) {
                JsonWriter w = { .f = stdout };

                json_begin_object(&w);
                json_field_int(&w, "version", PROFILES_JSON_VERSION);
                json_field_string(&w, "selected", c.profile);
                json_field_bool(&w, "armed", drift_is_armed(a));
                json_field_string(&w, "armed_by", drift_armed_to_string(a));
                json_end_object(&w);
                json_finish(&w);
        } else if (drift_is_armed(a)) {
                fputs_escaped(c.profile, stdout);
                putchar('\n');
        }
        log_info("Generator %s.", why);
        return drift_is_armed(a) ? EXIT_OK : EXIT_NO;
}

/* "profiles --resolved [NAME]": the profile as one file, includes flattened, for the initramfs
 * (dracut's 95iommu), which has the profile but not the files it includes. */
static int print_resolved(const char *name) {
        _cleanup_(config_done) Config c = {};
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!name && !arg.profile) {
                if (config_load(arg.root, &c) < 0)
                        return EXIT_ERROR;
                if (!c.profile)
                        return log_error("No profile named and none selected (Profile= in [IOMMU] of %s%s).",
                                         root_prefix(arg.root), CONFIG_FILE), EXIT_ERROR;
        }
        r = profile_load(arg.root, name ?: arg.profile ?: c.profile, &p);
        if (r < 0)
                return EXIT_ERROR;
        r = profile_format_resolved(p, &text);
        if (r < 0)
                return log_oom(), EXIT_ERROR;
        fputs(text, stdout);
        return EXIT_OK;
}

int verb_profiles(int argc, char *argv[]) {
        ProfileListEntry *l = NULL;
        size_t n = 0;
        JsonWriter w = { .f = stdout };
        int r, ret = EXIT_OK;

        if (arg.resolved && argc <= 2)
                return print_resolved(argc == 2 ? argv[1] : NULL);
        if (argc > 1)
                return log_error("profiles takes no arguments (but --resolved NAME)."), EXIT_ERROR;
        if (arg.armed)
                return print_armed();
        if (arg.selected)
                return print_selected();
        r = profile_list(arg.root, &l, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list profiles: %m"), EXIT_ERROR;

        if (arg.json) {
                json_begin_object(&w);
                json_field_int(&w, "version", PROFILES_JSON_VERSION);
                json_key(&w, "profiles");
                json_begin_array(&w);
        } else if (n == 0) {
                _cleanup_strv_free_ char **path = NULL;
                _cleanup_free_ char *joined = NULL;
                if (profile_search_path(arg.root, &path) >= 0)
                        joined = strv_join(path, " ");
                _cleanup_escape_buffer_ EscapeBuffer x = {};
                printf("No profiles found in %s\n", escaped(&x, strna(joined)));
        } else if (!arg.no_legend)
                printf("%-16s %-12s %-44s %s\n", "PROFILE", "MODE", "FILE", "DESCRIPTION");

        for (size_t i = 0; i < n; i++) {
                _cleanup_profile_ Profile *p = NULL;
                _cleanup_escape_buffer_ EscapeBuffer x = {};
                int saved = log_get_max_level();

                /* A broken profile is listed as such; the error is shown by "plan" or "lint". */
                log_set_max_level(-1);
                r = profile_load(arg.root, l[i].name, &p);
                log_set_max_level(saved);
                if (r < 0)
                        ret = EXIT_NO;

                if (arg.json) {
                        json_begin_object(&w);
                        json_field_string(&w, "name", l[i].name);
                        json_field_string(&w, "path", l[i].path);
                        json_field_bool(&w, "valid", p);
                        json_field_string(&w, "mode", p ? profile_mode_to_string(p->mode) : NULL);
                        json_field_string(&w, "description", p ? p->description : NULL);
                        json_key(&w, "overrides");
                        json_begin_array(&w);
                        STRV_FOREACH(s, l[i].shadowed)
                                json_string(&w, *s);
                        json_end_array(&w);
                        json_end_object(&w);
                        continue;
                }
                printf("%-16s %-12s %-44s %s\n", escaped(&x, l[i].name), p ? profile_mode_to_string(p->mode) : "BROKEN",
                       escaped(&x, l[i].path), p ? escaped(&x, strna(p->description)) : "fails to load; run 'iommuctl lint' on the file");
                STRV_FOREACH(s, l[i].shadowed)
                        printf("%-16s %-12s   overrides %s\n", "", "", escaped(&x, *s));
        }
        if (arg.json) {
                json_end_array(&w);
                json_end_object(&w);
                json_finish(&w);
        }
        profile_list_free(l, n);
        return ret;
}
