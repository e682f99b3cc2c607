/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "journal.h"
#include "strv.h"

static int send_sd_journal(char * const *fields, void *userdata) {
        size_t n = strv_length(fields);
        _cleanup_free_ struct iovec *iov = calloc(n ?: 1, sizeof(struct iovec));

        if (!iov)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        return sd_journal_sendv(iov, (int) n);
}

static JournalSender sender = send_sd_journal;
static void *sender_userdata = NULL;

void journal_set_sender(JournalSender s, void *userdata) {
        sender = s ?: send_sd_journal;
        sender_userdata = userdata;
}

int journal_send_fields(char * const *fields) {
        return sender(fields, sender_userdata);
}

int journal_sender_write_file(char * const *fields, void *userdata) {
        FILE *f = userdata;

        STRV_FOREACH(s, fields)
                if (fprintf(f, "%s\n", *s) < 0)
                        return -EIO;
        return fflush(f) == 0 ? 0 : -errno;
}
