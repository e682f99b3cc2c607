/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot-bls.h"
#include "boot-kernel-cmdline.h"
#include "fileio.h"
#include "host.h"
#include "log.h"
#include "strv.h"

static bool root_has_match(const Root *root, const char *pattern) {
        _cleanup_strv_free_ char **found = NULL;

        return root_find_matching(root, pattern, &found) >= 0 && found[0];
}

bool kernel_install_is_used(const Root *root) {
        static const char * const confs[] = { "/etc/kernel/install.conf", "/usr/lib/kernel/install.conf" };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *text = NULL;
                if (read_root_file(root, confs[i], CHANGESET_FILE_MAX, &text, NULL) < 0)
                        continue;
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                        const char *v = startswith(strstrip(line), "layout=");
                        if (v && (streq(v, "bls") || streq(v, "uki")))
                                return true;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(boot_partition_dirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/EFI/systemd/systemd-boot*.efi", boot_partition_dirs[i]) < 0)
                        return false;
                if (root_has_match(root, p))
                        return true;
        }
        return root_exists(root, "/usr/lib/kernel/install.d") && boot_bls_detect(root);
}

bool boot_kernel_cmdline_detect(const Root *root) {
        return root_exists(root, KERNEL_CMDLINE) || kernel_install_is_used(root);
}

unsigned boot_count_ukis(const Root *root) {
        unsigned n = 0;

        for (size_t i = 0; i < ELEMENTSOF(boot_partition_dirs); i++) {
                _cleanup_free_ char *pattern = NULL;
                _cleanup_strv_free_ char **found = NULL;
                if (asprintf(&pattern, "%s/EFI/Linux/*.efi", boot_partition_dirs[i]) < 0)
                        break;
                if (root_find_matching(root, pattern, &found) >= 0)
                        n += strv_length(found);
        }
        return n;
}

/* What kernel-install would use without /etc/kernel/cmdline. */
static int seed_cmdline(const Root *root, const char *fallback, char **ret) {
        _cleanup_cmdline_ Cmdline *c = NULL, *kept = NULL;
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_root_file(root, "/usr/lib/kernel/cmdline", CHANGESET_FILE_MAX, &s, NULL);
        if (r == -ENOENT && root_is_host(root))
                r = host_read_cmdline(root, &s);
        if (r == -ENOENT && fallback) {
                s = strdup(fallback);
                r = s ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        r = cmdline_parse(s, &c);
        if (r < 0)
                return r;
        kept = calloc(1, sizeof(Cmdline));
        if (!kept)
                return -ENOMEM;
        /* Boot loaders add these per boot; kernel-install drops them too. */
        for (size_t i = 0; i < c->n_tokens; i++) {
                Cmdline one = { .tokens = &c->tokens[i], .n_tokens = 1 };
                if (streq(c->tokens[i].key, "BOOT_IMAGE") || streq(c->tokens[i].key, "initrd"))
                        continue;
                r = cmdline_append(kept, &one);
                if (r < 0)
                        return r;
        }
        *ret = cmdline_to_string(kept);
        return *ret ? 0 : -ENOMEM;
}

int boot_kernel_cmdline_plan(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *fallback,
                             ChangeSet *cs) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        _cleanup_cmdline_ Cmdline *cur = NULL;
        bool exists;
        int r;

        r = read_root_text_and_warn(root, KERNEL_CMDLINE, CHANGESET_FILE_MAX, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT) {
                if (!kernel_install_is_used(root))
                        return 0;
                r = seed_cmdline(root, fallback, &text);
                if (r == -ENOENT) {
                        log_notice("Not creating %s: no /usr/lib/kernel/cmdline, running kernel or boot entry to start it "
                                   "from (creating it with the profile's tokens alone would drop root= and the rest).",
                                   KERNEL_CMDLINE);
                        return 0;
                }
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read %s under %s: %m", KERNEL_CMDLINE, root->path);
        /* kernel-install reads the file as whitespace-separated words, newlines included. */
        r = cmdline_parse(text, &cur);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s%s: unterminated quote; nothing was changed.", root_prefix(root),
                                       KERNEL_CMDLINE);
        if (r < 0)
                return log_error_errno(r, "Failed to parse %s%s: %m; nothing was changed.", root_prefix(root),
                                       KERNEL_CMDLINE);
        exists = root_exists(root, KERNEL_CMDLINE);
        if (exists && sync_judge_carries(judge, cur, owned, wanted))
                return 0;
        /* Spliced: every byte but the owned tokens stays, newlines included (kernel-install's
         * 90-loaderentry.install squeezes blanks and newlines to single spaces on its own). */
        r = cmdline_splice(text, owned, wanted, &out);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s%s: unterminated quote; nothing was changed.", root_prefix(root),
                                       KERNEL_CMDLINE);
        if (r < 0)
                return log_error_errno(r, "%s%s: the command line would be too long for the kernel; nothing was changed.",
                                       root_prefix(root), KERNEL_CMDLINE);
        if (!exists) {
                /* A seeded line: a file of its own, ending in a newline. */
                char *t;
                if (asprintf(&t, "%s\n", out) < 0)
                        return -ENOMEM;
                free(out);
                out = t;
        }
        r = changeset_add(cs, KERNEL_CMDLINE, out, strlen(out), 0644, "kernel-cmdline");
        return r < 0 ? r : 0;
}
