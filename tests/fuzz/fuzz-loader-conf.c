/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loader.conf and Type #1 entries (the same key/value reader): no crash, values stripped, the
 * default's line within the text. */
#include <stdint.h>

#include "bootspec.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stripped(const char *v) {
        size_t l;
        if (!v)
                return;
        l = strlen(v);
        if (l > 0 && (strchr(" \t\n", v[0]) || strchr(" \t\n", v[l - 1])))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *def = NULL, *timeout = NULL;
        BootSpecEntry e = { .tries_left = -1 };
        unsigned line = 0, lines = 1;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (memchr(data, 0, size)) /* refused by read_root_text_and_warn() before any parser */
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                abort();
        for (const char *p = s; *p; p++)
                lines += *p == '\n';
        if (bootspec_parse_loader_conf("fuzz", s, &def, &line, &timeout) < 0)
                abort(); /* only -ENOMEM */
        check_stripped(def);
        check_stripped(timeout);
        if (def && (line == 0 || line > lines))
                abort();
        if (bootspec_parse_type1("fuzz", s, &e) < 0)
                abort();
        check_stripped(e.options);
        check_stripped(e.title);
        if (e.options && (e.options_line == 0 || e.options_line > lines))
                abort();
        (void) bootspec_id_matches(def, "a-6.1.conf");
        free(e.title);
        free(e.version);
        free(e.machine_id);
        free(e.sort_key);
        free(e.architecture);
        free(e.linux_path);
        free(e.efi);
        free(e.options);
        return 0;
}
