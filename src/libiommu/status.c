/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "bootspec.h"
#include "fileio.h"
#include "kernel-model.h"
#include "log.h"
#include "status.h"
#include "strv.h"

static const char * const kind_names[_STATUS_KIND_MAX] = {
        [STATUS_BLS_ENTRY] = "bls",
        [STATUS_GRUB_MENUENTRY] = "grub.cfg",
        [STATUS_GRUB_DEFAULTS] = "grub",
        [STATUS_KERNEL_CMDLINE] = "kernel-cmdline",
        [STATUS_UKI] = "uki",
};

const char *status_kind_to_string(StatusKind k) {
        return STRING_TABLE_TO_STRING(kind_names, k);
}

static int add_entry(Status *s, StatusKind kind, const char *path, const char *id, const char *title, const char *options,
                     const char *options_source, char * const *owned, const Cmdline *wanted) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        StatusEntry *t;
        StatusEntry e = { .kind = kind, .options_source = options_source };

        if (options && wanted && cmdline_parse(options, &c) >= 0)
                e.carries = sync_judge_carries(s->judge, c, owned, wanted);
        e.path = strdup(path);
        e.id = id ? strdup(id) : NULL;
        e.title = title ? strdup(title) : NULL;
        e.options = options ? strdup(options) : NULL;
        t = reallocarray(s->entries, s->n_entries + 1, sizeof(StatusEntry));
        if (!e.path || (id && !e.id) || (title && !e.title) || (options && !e.options) || !t) {
                free(e.path);
                free(e.id);
                free(e.title);
                free(e.options);
                if (t)
                        s->entries = t;
                return -ENOMEM;
        }
        s->entries = t;
        s->entries[s->n_entries++] = e;
        return 0;
}

static int mtime_of(const Root *root, const char *path, struct timespec *ret) {
        struct stat st;
        int r;

        r = root_stat(root, path, &st);
        if (r < 0)
                return r;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        *ret = st.st_mtim;
        return 0;
}

static int token_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The arguments of a command line as a sorted list, less what grub-mkconfig adds to every Linux
 * entry itself (the kernel's root=, ro or rw, BOOT_IMAGE=). */
static int grub_arg_list(const char *line, char ***ret) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = cmdline_parse(line ?: "", &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_tokens; i++) {
                const char *t = c->tokens[i].text;
                if (startswith(t, "root=") || startswith(t, "BOOT_IMAGE=") || streq(t, "ro") || streq(t, "rw"))
                        continue;
                if (strv_extend(&l, t) < 0)
                        return -ENOMEM;
        }
        if (l)
                qsort(l, strv_length(l), sizeof(char *), token_compare);
        *ret = TAKE_PTR(l);
        return 0;
}

/* Whether grub.cfg was generated from the defaults as they are now, by content: its first Linux
 * menuentry (not a recovery one, which leaves GRUB_CMDLINE_LINUX_DEFAULT out) has exactly the
 * arguments GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT give, in any order. A time stamp
 * says nothing after a failed regeneration, a restored backup or a copied image. 1: it matches,
 * 0: it does not, -ENODATA: content cannot tell (a blscfg menu, defaults the lexer refused, no
 * Linux menuentry). */
static int grub_cfg_matches_defaults(const BootSpec *b) {
        _cleanup_strv_free_ char **have = NULL, **want = NULL;
        _cleanup_free_ char *expected = NULL;
        const BootSpecEntry *e = NULL;
        int r;

        if (b->grub_defaults_refused || b->loader == BOOTSPEC_LOADER_GRUB_BLSCFG)
                return -ENODATA;
        for (size_t i = 0; i < b->n_entries && !e; i++)
                if (b->entries[i].type == BOOTSPEC_GRUB_MENU && b->entries[i].options &&
                    !strstr((b->entries[i].title ?: ""), "recovery mode"))
                        e = &b->entries[i];
        if (!e)
                return -ENODATA;
        if (asprintf(&expected, "%s %s", (b->grub_cmdline_linux ?: ""), (b->grub_cmdline_linux_default ?: "")) < 0)
                return -ENOMEM;
        r = grub_arg_list(e->options, &have);
        if (r >= 0)
                r = grub_arg_list(expected, &want);
        if (r < 0)
                return r;
        if (strv_length(have) != strv_length(want))
                return 0;
        for (size_t i = 0; have && have[i]; i++)
                if (!streq(have[i], want[i]))
                        return 0;
        return 1;
}

static int mtime_newer(const Root *root, const char *cfg, char **ret_newer) {
        _cleanup_strv_free_ char **defaults = NULL;
        struct timespec cfg_t;
        int r;

        if (mtime_of(root, cfg, &cfg_t) < 0)
                return 0;
        r = bootspec_grub_defaults_files(root, &defaults);
        if (r < 0)
                return r;
        STRV_FOREACH(d, defaults) {
                struct timespec t;
                if (mtime_of(root, *d, &t) < 0)
                        continue;
                if (t.tv_sec > cfg_t.tv_sec || (t.tv_sec == cfg_t.tv_sec && t.tv_nsec > cfg_t.tv_nsec)) {
                        *ret_newer = strdup(*d);
                        return *ret_newer ? 0 : -ENOMEM;
                }
        }
        return 0;
}

int status_grub_cfg_stale(const Root *root, char **ret_cfg, char **ret_newer) {
        _cleanup_(bootspec_done) BootSpec b = {};
        _cleanup_free_ char *cfg = NULL;
        int r;

        *ret_cfg = *ret_newer = NULL;
        r = bootspec_find_grub_cfg(root, &cfg);
        if (r <= 0)
                return r;
        r = bootspec_load(root, &b);
        if (r < 0)
                return r;
        r = grub_cfg_matches_defaults(&b);
        if (r == 0) {
                *ret_newer = strdup(GRUB_DEFAULTS " (with its drop-ins)");
                if (!*ret_newer)
                        return -ENOMEM;
        } else if (r == -ENODATA) {
                /* Content cannot tell: the time stamps are all there is. */
                r = mtime_newer(root, cfg, ret_newer);
                if (r < 0)
                        return r;
        } else if (r < 0)
                return r;
        *ret_cfg = TAKE_PTR(cfg);
        return 0;
}

static StatusKind kind_of(BootSpecEntryType t) {
        switch (t) {
        case BOOTSPEC_TYPE1:
                return STATUS_BLS_ENTRY;
        case BOOTSPEC_TYPE2:
                return STATUS_UKI;
        default:
                return STATUS_GRUB_MENUENTRY;
        }
}

int status_default_entry(const Root *root, const char * const *ids, size_t n, size_t *ret) {
        _cleanup_(bootspec_done) BootSpec b = {};
        int r;

        if (n == 0)
                return -ENOENT;
        r = bootspec_load(root, &b);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", root->path);
        return status_default_entry_in(&b, root, ids, n, ret);
}

int status_default_entry_in(const BootSpec *spec, const Root *root, const char * const *ids, size_t n, size_t *ret) {
        const BootSpec b = *spec; /* a shallow copy: the lines below read b. */
        const BootSpecEntry *e;

        if (n == 0)
                return -ENOENT;
        if (b.default_entry == SIZE_MAX)
                return log_error_errno(-ENOENT, "No boot loader entry boots by default under %s.", root->path);
        e = &b.entries[b.default_entry];
        if (e->type == BOOTSPEC_TYPE1 && e->path) {
                const char *base = strrchr(e->path, '/');
                base = base ? base + 1 : e->path;
                for (size_t i = 0; i < n; i++)
                        if (strlen(base) == strlen(ids[i]) + strlen(".conf") && strneq(base, ids[i], strlen(ids[i])) &&
                            strcasecmp(base + strlen(ids[i]), ".conf") == 0) {
                                *ret = i;
                                return 0;
                        }
        }
        return log_error_errno(-ENOENT, "The entry that boots by default under %s (%s, by %s) is not a boot loader entry "
                               "file that apply can rewrite; nothing was changed.", root->path, e->path ?: e->id,
                               strna(b.default_source));
}

/* The kernel a BLS entry or menuentry boots: its "version", else the name of its linux image
 * ("vmlinuz-6.12.57+deb13-amd64"). NULL when neither tells. */
static const char *entry_kernel_release(const BootSpecEntry *e) {
        const char *base;

        if (!isempty(e->version))
                return e->version;
        if (!e->linux_path)
                return NULL;
        base = strrchr(e->linux_path, '/');
        base = base ? base + 1 : e->linux_path;
        base = startswith(base, "vmlinuz-") ?: startswith(base, "vmlinux-") ?: startswith(base, "Image-");
        return isempty(base) ? NULL : base;
}

int status_collect(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, Status *ret) {
        _cleanup_(status_done) Status s = { .next = SIZE_MAX, .default_entry = SIZE_MAX, .judge = judge };
        _cleanup_(bootspec_done) BootSpec b = {};
        int r;

        r = bootspec_load(root, &b);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", root->path);
        s.loader = bootspec_loader_to_string(b.loader);
        s.ostree = b.ostree;
        s.ostree_why = TAKE_PTR(b.ostree_why);
        for (size_t i = 0; i < b.n_entries; i++) {
                const BootSpecEntry *e = &b.entries[i];
                bool grub = e->type == BOOTSPEC_GRUB_MENU;
                const Cmdline *ewanted = wanted;
                SyncJudge *ej = judge;

                /* Each entry with its own kernel (an entry for 5.10 by what 5.10 does with its line),
                 * against the tokens the model chooses for that kernel, as apply judges and writes
                 * it (one model run per distinct kernel, kept in judge); a UKI's release is not read
                 * here. */
                r = judge && e->type != BOOTSPEC_TYPE2 ?
                        sync_judge_for_entry(root, judge, entry_kernel_release(e), wanted, &ej, &ewanted) : 0;
                if (r < 0)
                        return log_oom();
                s.judge = ej;
                r = add_entry(&s, kind_of(e->type), e->path, grub ? e->title : e->file_id, e->title, e->cmdline,
                              e->cmdline_source, owned, ewanted);
                s.judge = judge;
                if (judge)
                        sync_judge_merge_dropped(judge, ej);
                if (r < 0)
                        return log_oom();
        }
        if (b.next_entry_index != SIZE_MAX) {
                s.next = b.next_entry_index;
                s.next_source = b.next_source;
        }
        if (b.default_entry != SIZE_MAX) {
                s.default_entry = b.default_entry;
                s.default_source = b.default_source;
                s.entries[s.default_entry].is_default = true;
        }

        r = status_grub_cfg_stale(root, &s.grub_cfg, &s.grub_cfg_older_than);
        if (r < 0)
                return log_oom();

        /* The files the next entries are generated from. */
        if (root_exists(root, GRUB_DEFAULTS)) {
                /* What 10_linux writes on a normal entry's linux line. */
                _cleanup_free_ char *line = NULL;
                if (!b.grub_defaults_refused &&
                    asprintf(&line, "%s %s", b.grub_cmdline_linux ?: "", b.grub_cmdline_linux_default ?: "") < 0)
                        return log_oom();
                r = add_entry(&s, STATUS_GRUB_DEFAULTS, GRUB_DEFAULTS, NULL, NULL, line ? strstrip(line) : NULL,
                              "GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT, drop-ins sourced", owned, wanted);
                if (r < 0)
                        return log_oom();
        }
        if (b.kernel_cmdline) {
                r = add_entry(&s, STATUS_KERNEL_CMDLINE, KERNEL_CMDLINE, NULL, NULL, b.kernel_cmdline, "the whole file",
                              owned, wanted);
                if (r < 0)
                        return log_oom();
        }

        if (s.next == SIZE_MAX) {
                /* No entry yet: the next one will be generated from these files. */
                for (size_t i = 0; i < s.n_entries && s.next == SIZE_MAX; i++)
                        if (s.entries[i].kind == STATUS_GRUB_DEFAULTS) {
                                s.next = i;
                                s.next_source = s.grub_cfg ? "GRUB defaults (grub.cfg has no menuentry with a kernel)"
                                                           : "GRUB defaults (no grub.cfg generated yet)";
                        }
                for (size_t i = 0; i < s.n_entries && s.next == SIZE_MAX; i++)
                        if (s.entries[i].kind == STATUS_KERNEL_CMDLINE) {
                                s.next = i;
                                s.next_source = "/etc/kernel/cmdline (no kernel installed yet)";
                        }
        }
        if (s.next != SIZE_MAX)
                s.entries[s.next].next = true;
        s.spec = b;
        b = (BootSpec) {};
        *ret = s;
        s = (Status) {};
        return 0;
}

void status_done(Status *s) {
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].path);
                free(s->entries[i].id);
                free(s->entries[i].title);
                free(s->entries[i].options);
        }
        free(s->entries);
        bootspec_done(&s->spec);
        free(s->ostree_why);
        free(s->grub_cfg);
        free(s->grub_cfg_older_than);
        *s = (Status) {};
}
