/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "fileio.h"
#include "journal.h"
#include "kernel-log.h"
#include "log.h"
#include "strv.h"

#define KERNEL_LOG_LINES_MAX 200

bool kernel_log_line_relevant(const char *l) {
        static const char * const patterns[] = {
                "Default domain type",
                "TLB invalidation policy",
                "Unknown option",
                "deprecated",
                "IOMMU disabled",
                "IOMMU enabled",
                "IRQ remapping",
                "Interrupt remapping",
                "strict mode",
                "due to virtualization",   /* VT-d caching mode, AMD-Vi NpCache: strict whatever the line */
                "SNP cannot be supported",
        };
        bool iommu = strstr(l, "iommu") || strstr(l, "IOMMU") || strstr(l, "DMAR") || strstr(l, "AMD-Vi") || strstr(l, "smmu");

        /* kvm_amd's "SEV-SNP enabled": the platform fact that IOMMU modes conflict with (intent.h). */
        if (strstr(l, "SEV-SNP"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(patterns); i++)
                if (strstr(l, patterns[i]))
                        /* "deprecated" and "Unknown option" only count for IOMMU messages. */
                        return i < 2 || iommu;
        return false;
}

static int add_line(Observation *o, const char *line) {
        if (strv_length(o->log.lines) >= KERNEL_LOG_LINES_MAX || !kernel_log_line_relevant(line))
                return 0;
        return strv_extend(&o->log.lines, line);
}

int kernel_log_read_file(Observation *o, const char *path) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        int r;

        r = read_full_file(path, 64 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read kernel log %s: %m", path);
        r = strv_split(text, "\n", &lines);
        if (r < 0)
                return log_oom();
        STRV_FOREACH(l, lines) {
                char *s = *l;
                /* dmesg's "[    1.069300] " prefix. */
                if (s[0] == '[' && strchr(s, ']')) {
                        s = strchr(s, ']') + 1;
                        s += strspn(s, " ");
                }
                r = add_line(o, strstrip(s));
                if (r < 0)
                        return log_oom();
        }
        o->log.read = true;
        o->log.source = strdup(path);
        return o->log.source ? 0 : log_oom();
}

int kernel_log_read_journal(Observation *o) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        char match[sizeof("_BOOT_ID=") + SD_ID128_STRING_MAX];
        int r;

        /* Through journal.c, which loads libsystemd only now. */
        r = journal_boot_id_match(match, sizeof(match));
        if (r >= 0)
                r = journal_open_local(&j);
        if (r >= 0)
                r = journal_add_match(j, "_TRANSPORT=kernel");
        if (r >= 0)
                r = journal_add_match(j, match);
        if (r >= 0)
                r = journal_seek_head(j);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return observation_note_unreadable(o, "kernel log (journal)", r);

        while (journal_next(j) > 0) {
                const void *d;
                size_t l;

                if (journal_get_data(j, "MESSAGE", &d, &l) < 0 || l <= strlen("MESSAGE="))
                        continue;
                _cleanup_free_ char *m = strndup((const char *) d + strlen("MESSAGE="), l - strlen("MESSAGE="));
                if (!m)
                        return log_oom();
                r = add_line(o, m);
                if (r < 0)
                        return log_oom();
        }
        o->log.read = true;
        o->log.source = strdup("journal");
        return o->log.source ? 0 : log_oom();
}
