/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "params.h"

/* Checks a command line against the parameter table: values the kernel ignores or rejects,
 * deprecated spellings, parameters the architecture lacks, contradicting pairs. Pure code. */

typedef enum Severity {
        SEVERITY_WARNING,
        SEVERITY_ERROR,
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

int lint_cmdline(const Cmdline *c, Arch arch, LintReport *report);
void lint_report_done(LintReport *r);
size_t lint_report_count(const LintReport *r, Severity s);
const char *severity_to_string(Severity s);
