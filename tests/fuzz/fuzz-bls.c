/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BLS entries: rewrite arbitrary text; properties: a second rewrite changes nothing, and every line
 * that is not an "options" line survives, byte for byte and in order. */
#include <stdint.h>

#include "boot-bls.h"
#include "fileio.h"
#include "log.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_options_line(const char *l, size_t n) {
        size_t q = 0;
        while (q < n && (l[q] == ' ' || l[q] == '\t'))
                q++;
        return n - q >= 7 && strneq(l + q, "options", 7) && (q + 7 == n || l[q + 7] == ' ' || l[q + 7] == '\t');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *a = NULL, *b = NULL, *opts = NULL;
        _cleanup_cmdline_ Cmdline *w = NULL;
        bool k1, k2;
        const char *p, *q;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        /* The reader refuses a NUL byte (read_root_text_and_warn): the parser never sees one. */
        if (memchr(data, 0, size))
                return 0;
        s = strndup((const char *) data, size);
        if (!s || cmdline_parse("intel_iommu=on iommu=pt", &w) < 0)
                abort();
        (void) bls_entry_options(s, &opts);
        if (bls_entry_rewrite(s, iommu_owned_keys, w, NULL, &a, &k1) < 0)
                return 0;
        if (bls_entry_rewrite(a, iommu_owned_keys, w, NULL, &b, &k2) < 0 || strcmp(a, b) != 0)
                abort(); /* not idempotent */

        /* Every non-options line of the input is in the output, in order. Lines end at LF or CR,
         * as systemd's read_line() has them. */
        q = a;
        for (p = s; *p;) {
                size_t n = strcspn(p, "\r\n");
                if (!is_options_line(p, n)) {
                        const char *f = NULL;
                        for (const char *c = q; *c;) {
                                size_t m = strcspn(c, "\r\n");
                                if (m == n && memcmp(c, p, n) == 0) {
                                        f = c;
                                        break;
                                }
                                c += m + (c[m] != '\0');
                        }
                        if (!f)
                                abort(); /* a line was lost */
                        q = f + n + (f[n] != '\0');
                }
                p += n + (p[n] != '\0');
        }
        return 0;
}
