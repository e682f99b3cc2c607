/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "kernel-model.h"
#include "params.h"

/* Checks a command line against the parameter table: values the kernel ignores or rejects,
 * deprecated spellings, parameters the architecture lacks, contradicting pairs. Pure code. */

typedef enum Severity {
        SEVERITY_WARNING,
        SEVERITY_ERROR,
        SEVERITY_NOTE,    /* for people: no advice, no count (a token whose need depends on the build) */
} Severity;

typedef struct LintFinding {
        Severity severity;
        char *token;   /* the token (or tokens) concerned */
        char *message; /* what is wrong, in the kernel's terms */
        char *fix;     /* what to write instead; NULL when there is nothing to suggest */
} LintFinding;

typedef struct LintReport {
        LintFinding *findings;
        size_t n_findings;
} LintReport;

/* For the newest release the model knows. */
int lint_cmdline(const Cmdline *c, Arch arch, LintReport *report);
/* For one kernel (release, build configuration): release-dependent verdicts (amd_iommu=on silent
 * on 5.10, iommu.strict= arm64-only before 5.15) and warnings for tokens that are already this
 * build's default or overridden. vendor may be _VENDOR_INVALID (x86: Intel and AMD both). */
int lint_cmdline_for_kernel(const Cmdline *c, const KernelInfo *k, Vendor vendor, LintReport *report);
void lint_report_done(LintReport *r);
size_t lint_report_count(const LintReport *r, Severity s);
const char *severity_to_string(Severity s);
