/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GRUB defaults (the sh-assignment subset): rewrite arbitrary text, appending and not; a second
 * rewrite of the result changes nothing. */
#include <stdint.h>

#include "boot-grub.h"
#include "log.h"
#include "params.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        _cleanup_cmdline_ Cmdline *w = NULL;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (memchr(data, 0, size))
                return 0; /* refused by the reader */
        s = strndup((const char *) data, size);
        if (!s || cmdline_parse("intel_iommu=on iommu=pt", &w) < 0)
                abort();
        /* What lint reads, by the same lexer: a value per assignment, each with its line. */
        {
                _cleanup_strv_free_ char **values = NULL;
                _cleanup_free_ unsigned *lines = NULL;
                size_t n = 0;

                if (grub_defaults_values("fuzz", s, &values, &lines, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (!values[i] || lines[i] < 1)
                                        abort();
        }
        for (int append = 0; append < 2; append++) {
                GrubRewriteResult a = {}, b = {};
                if (grub_defaults_rewrite("fuzz", s, iommu_owned_keys, append ? w : NULL, NULL, &a) >= 0) {
                        if (grub_defaults_rewrite("fuzz", a.text, iommu_owned_keys, append ? w : NULL, NULL, &b) < 0 ||
                            strcmp(a.text, b.text) != 0)
                                abort(); /* the result must be accepted again, unchanged */
                }
                grub_rewrite_result_done(&a);
                grub_rewrite_result_done(&b);
        }
        return 0;
}
