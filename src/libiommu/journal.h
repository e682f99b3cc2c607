/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Sends one structured journal entry. fields are "FIELD=value" strings (report_journal_fields()).
 * The sender is a seam for tests: journal_set_sender() replaces sd_journal_sendv(). Part of
 * libiommu-host (links libsystemd). */

typedef int (*JournalSender)(char * const *fields, void *userdata);

int journal_send_fields(char * const *fields);
void journal_set_sender(JournalSender sender, void *userdata);

/* A sender that writes the fields, one per line, to the FILE * in userdata (tests, and
 * "--journal-fields-to FILE"). */
int journal_sender_write_file(char * const *fields, void *userdata);
