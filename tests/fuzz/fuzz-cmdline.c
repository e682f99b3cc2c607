/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tokenize, merge (twice: the second must be a no-op), lint and predict arbitrary lines. */
#include <stdint.h>

#include "cmdline.h"
#include "lint.h"
#include "kernel-model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = strndup((const char *) data, size);
        _cleanup_cmdline_ Cmdline *c = NULL, *w = NULL, *m = NULL, *m2 = NULL;
        LintReport report = {};
        KernelPrediction k = {};
        KernelInfo old;

        if (!s || cmdline_parse(s, &c) < 0)
                return 0;
        (void) lint_cmdline(c, ARCH_X86_64, &report);
        lint_report_done(&report);
        (void) lint_cmdline(c, ARCH_AARCH64, &report);
        lint_report_done(&report);
        kernel_info_default(ARCH_X86_64, &old);
        old.version = KERNEL_VERSION(5, 10);
        (void) kernel_predict(NULL, VENDOR_INTEL, c, &k);
        kernel_prediction_done(&k);
        (void) kernel_predict(&old, VENDOR_AMD, c, &k);
        kernel_prediction_done(&k);
        (void) kernel_predict(NULL, VENDOR_ARM64, c, &k);
        kernel_prediction_done(&k);

        if (cmdline_parse("intel_iommu=on iommu=pt", &w) < 0)
                abort();
        if (cmdline_merge(c, iommu_owned_keys, w, &m) == 0) {
                _cleanup_free_ char *a = cmdline_to_string(m), *b = NULL;
                _cleanup_cmdline_ Cmdline *reparsed = NULL;

                /* Merging the printed result again must not change it. */
                if (!a || cmdline_parse(a, &reparsed) < 0 || cmdline_merge(reparsed, iommu_owned_keys, w, &m2) < 0)
                        abort();
                b = cmdline_to_string(m2);
                if (!b || strcmp(a, b) != 0)
                        abort();
        }
        return 0;
}
