/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "observe.h"

/* The kernel's IOMMU messages of this boot, shown as supporting evidence only: "Default domain
 * type" prints even without any IOMMU hardware, so no verdict rests on the log alone. Read from
 * the journal (sd-journal: this boot, kernel transport) on the live host, or from a file (a
 * captured dmesg) for other roots. Part of libiommu-host (links libsystemd). */

/* Whether a kernel message is worth showing. Pure. */
bool kernel_log_line_relevant(const char *line);

/* Reads a dmesg-style file; "[   1.23] " timestamps are stripped. Errors are logged. */
int kernel_log_read_file(Observation *o, const char *path);
/* Reads this boot's kernel messages from the journal. A journal that cannot be opened is noted in
 * o->unreadable, not returned. */
int kernel_log_read_journal(Observation *o);
