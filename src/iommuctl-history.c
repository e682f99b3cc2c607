/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommuctl history: every change set under the root, oldest first. */
#include <time.h>

#include "iommuctl.h"
#include "libiommu/changeset.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/strv.h"

static void format_time(long long t, char buf[static 32]) {
        struct tm tm;
        time_t tt = (time_t) t;

        if (t < 0 || !gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                strcpy(buf, "-");
}

static void print_json(const ChangeSetInfo *l, size_t n) {
        JsonWriter w = { .f = stdout };

        json_begin_object(&w);
        json_field_int(&w, "version", 1);
        json_key(&w, "changesets");
        json_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                char t[32];

                format_time(l[i].time, t);
                json_begin_object(&w);
                json_field_int(&w, "id", l[i].id);
                json_field_string(&w, "state", changeset_state_to_string(l[i].state));
                json_field_string(&w, "time", l[i].time >= 0 ? t : NULL);
                json_field_string(&w, "verb", l[i].verb);
                json_field_string(&w, "profile", l[i].profile);
                json_key(&w, "files");
                json_begin_array(&w);
                for (size_t k = 0; l[i].paths && l[i].paths[k]; k++) {
                        json_begin_object(&w);
                        json_field_string(&w, "path", l[i].paths[k]);
                        json_field_string(&w, "action", l[i].actions[k]);
                        json_end_object(&w);
                }
                json_end_array(&w);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w);
}

static void print_text(const ChangeSetInfo *l, size_t n) {
        if (!arg.no_legend)
                printf("%-8s  %-20s  %-11s  %-16s  %-12s  %s\n", "ID", "TIME", "STATE", "VERB", "PROFILE", "FILES");
        for (size_t i = 0; i < n; i++) {
                _cleanup_escape_buffer_ EscapeBuffer x = {}, y = {};
                char t[32];

                format_time(l[i].time, t);
                printf("%08u  %-20s  %-11s  %-16s  %-12s  %zu\n", l[i].id, t, changeset_state_to_string(l[i].state),
                       l[i].verb ? escaped(&x, l[i].verb) : "-", l[i].profile ? escaped(&y, l[i].profile) : "-",
                       strv_length(l[i].paths));
                for (size_t k = 0; l[i].paths && l[i].paths[k]; k++) {
                        _cleanup_escape_buffer_ EscapeBuffer p = {};
                        printf("          %-8s %s\n", l[i].actions[k], escaped(&p, l[i].paths[k]));
                }
        }
        if (!arg.no_legend)
                printf("\n%zu change set%s under %s%s.\n", n, n == 1 ? "" : "s", root_prefix(arg.root), CHANGESET_DIR);
}

int verb_history(int argc, char *argv[]) {
        ChangeSetInfo *l = NULL;
        size_t n = 0;
        int r;

        if (argc > 1)
                return log_error("history takes no arguments."), EXIT_ERROR;
        r = changeset_list(arg.root, &l, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read the change sets under %s%s: %m",
                                       root_prefix(arg.root), CHANGESET_DIR), EXIT_ERROR;
        if (arg.json)
                print_json(l, n);
        else
                print_text(l, n);
        changeset_info_free(l, n);
        return EXIT_OK;
}
