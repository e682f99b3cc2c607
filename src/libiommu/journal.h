/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Sends one structured journal entry. fields are "FIELD=value" strings (report_journal_fields()).
 * The sender is a seam for tests: journal_set_sender() replaces sd_journal_sendv(). Part of
 * libiommu-host: libsystemd is dlopen()ed by the first call that needs it (dlfcn-util.h), and a
 * missing one is -EOPNOTSUPP, logged once naming libsystemd.so.0. */

typedef struct sd_journal sd_journal;

/* Loads libsystemd.so.0 (once). */
int dlopen_libsystemd(void);
/* sd_journal_open(SD_JOURNAL_LOCAL_ONLY), sd_journal_close() (NULL is fine), and the calls
 * SD_JOURNAL_FOREACH() and reading a field need, through the loaded library. */
int journal_open_local(sd_journal **ret);
void journal_close(sd_journal *j);
static inline void journal_closep(sd_journal **j) {
        journal_close(*j);
}
int journal_add_match(sd_journal *j, const char *match);
int journal_seek_head(sd_journal *j);
int journal_next(sd_journal *j);
int journal_get_data(sd_journal *j, const char *field, const void **ret, size_t *ret_size);
/* "_BOOT_ID=<this boot>" into buf. */
int journal_boot_id_match(char *buf, size_t size);

typedef int (*JournalSender)(char * const *fields, void *userdata);

int journal_send_fields(char * const *fields);
void journal_set_sender(JournalSender sender, void *userdata);

/* A sender that writes the fields, one per line, to the FILE * in userdata (tests, and
 * "--journal-fields-to FILE"). */
int journal_sender_write_file(char * const *fields, void *userdata);
