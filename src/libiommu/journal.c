/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "dlfcn-util.h"
#include "journal.h"
#include "log.h"
#include "strv.h"

/* libsystemd is loaded by the first entry sent or the first kernel log read from the journal. */
static void *systemd_dl;
static typeof(sd_journal_sendv) *sym_sd_journal_sendv;
static typeof(sd_journal_open) *sym_sd_journal_open;
static typeof(sd_journal_close) *sym_sd_journal_close;
static typeof(sd_journal_add_match) *sym_sd_journal_add_match;
static typeof(sd_journal_seek_head) *sym_sd_journal_seek_head;
static typeof(sd_journal_next) *sym_sd_journal_next;
static typeof(sd_journal_get_data) *sym_sd_journal_get_data;
static typeof(sd_id128_get_boot) *sym_sd_id128_get_boot;
static typeof(sd_id128_to_string) *sym_sd_id128_to_string;

int dlopen_libsystemd(void) {
        return dlopen_many_sym_or_warn(&systemd_dl, "libsystemd.so.0", LOG_LEVEL_WARNING,
                                       DLSYM_ARG(sd_journal_sendv),
                                       DLSYM_ARG(sd_journal_open),
                                       DLSYM_ARG(sd_journal_close),
                                       DLSYM_ARG(sd_journal_add_match),
                                       DLSYM_ARG(sd_journal_seek_head),
                                       DLSYM_ARG(sd_journal_next),
                                       DLSYM_ARG(sd_journal_get_data),
                                       DLSYM_ARG(sd_id128_get_boot),
                                       DLSYM_ARG(sd_id128_to_string));
}

int journal_open_local(sd_journal **ret) {
        int r = dlopen_libsystemd();
        return r < 0 ? r : sym_sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY);
}

void journal_close(sd_journal *j) {
        if (j)
                sym_sd_journal_close(j);
}

int journal_add_match(sd_journal *j, const char *match) {
        return sym_sd_journal_add_match(j, match, 0);
}

int journal_seek_head(sd_journal *j) {
        return sym_sd_journal_seek_head(j);
}

int journal_next(sd_journal *j) {
        return sym_sd_journal_next(j);
}

int journal_get_data(sd_journal *j, const char *field, const void **ret, size_t *ret_size) {
        return sym_sd_journal_get_data(j, field, ret, ret_size);
}

int journal_boot_id_match(char *buf, size_t size) {
        char id[SD_ID128_STRING_MAX];
        sd_id128_t boot;
        int r;

        r = dlopen_libsystemd();
        if (r >= 0)
                r = sym_sd_id128_get_boot(&boot);
        if (r < 0)
                return r;
        snprintf(buf, size, "_BOOT_ID=%s", sym_sd_id128_to_string(boot, id));
        return 0;
}

static int send_sd_journal(char * const *fields, void *userdata) {
        size_t n = strv_length(fields);
        _cleanup_free_ struct iovec *iov = NULL;
        int r;

        r = dlopen_libsystemd();
        if (r < 0)
                return r;
        iov = calloc(n ?: 1, sizeof(struct iovec));
        if (!iov)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        return sym_sd_journal_sendv(iov, (int) n);
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
