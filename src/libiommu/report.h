/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "observe.h"
#include "profile.h"
#include "verdict.h"

/* Output of "verify" and "groups": aligned text for people, the versioned JSON object documented
 * in doc/verify-json.md for programs, and the journal fields. Never parse the text. */

#define VERIFY_JSON_VERSION 2
#define GROUPS_JSON_VERSION 1

/* The MESSAGE_ID of the entry "verify" logs; catalog/iommu.catalog explains it. */
#define IOMMU_VERIFY_MESSAGE_ID "19f1259f607d4e529f18abf3eea27e53"
/* The MESSAGE_ID of a verify run by hand (without --boot-check): not the boot check. */
#define IOMMU_VERIFY_MANUAL_MESSAGE_ID "4da899a00a904e5ebe79e1ac6e7887b5"

typedef enum ReportFlags {
        REPORT_NO_LEGEND = 1 << 0, /* no column headers (--no-legend) */
        REPORT_COLOR = 1 << 1,     /* PASS, WARN and FAIL in colour (a terminal, see terminal.h) */
} ReportFlags;

void report_verify_text(FILE *f, const Observation *o, const Profile *p, const Verdict *v, ReportFlags flags);
void report_verify_json(FILE *f, const Observation *o, const Profile *p, const Verdict *v);

void report_groups_text(FILE *f, const Observation *o, ReportFlags flags);
void report_groups_json(FILE *f, const Observation *o);

/* The journal entry as "FIELD=value" strings (MESSAGE_ID, PRIORITY, MESSAGE, IOMMU_*). */
int report_journal_fields(const Observation *o, const Profile *p, const Verdict *v, char ***ret);
/* The syslog priority for a verdict: 6 pass, 4 warn, 3 fail. */
int report_priority(CheckResult r);
