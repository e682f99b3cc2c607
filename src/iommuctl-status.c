/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommuctl status: what the next boot will run, the gate before a reboot. */
#include "iommuctl.h"
#include "libiommu/efi.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/status.h"
#include "libiommu/strv.h"

static int read_loader_variable(const char *root, const char *name, char **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t n;
        int r;

        *ret = NULL;
        r = efi_read_variable(root, EFI_LOADER_VARIABLE_GUID, name, &data, &n);
        if (r == -ENOENT || r == -EOPNOTSUPP || r == -ENODATA)
                return 0;
        if (r < 0)
                return log_debug_errno(r, "Cannot read the EFI variable %s: %m", name), 0;
        *ret = efi_utf16le_to_ascii(data, n);
        return *ret ? 0 : log_oom();
}

static void print_json(const Context *ctx, const Cmdline *wanted, const Status *s) {
        JsonWriter w = { .f = stdout };
        const StatusEntry *next = s->next != SIZE_MAX ? &s->entries[s->next] : NULL;

        json_begin_object(&w);
        json_field_int(&w, "version", 1);
        json_key(&w, "profile");
        json_begin_object(&w);
        json_field_string(&w, "name", ctx->profile->name);
        json_field_string(&w, "kernel_args_for", vendor_to_string(ctx->args_vendor));
        json_key(&w, "kernel_args");
        json_begin_array(&w);
        for (size_t i = 0; i < wanted->n_tokens; i++)
                json_string(&w, wanted->tokens[i].text);
        json_end_array(&w);
        json_end_object(&w);
        json_key(&w, "next_boot");
        if (next) {
                json_begin_object(&w);
                json_field_string(&w, "kind", status_kind_to_string(next->kind));
                json_field_string(&w, "path", next->path);
                json_field_string(&w, "id", next->id);
                json_field_string(&w, "source", s->next_source);
                json_field_string(&w, "options", next->options);
                json_field_bool(&w, "carries_profile", next->carries);
                json_end_object(&w);
        } else
                json_null(&w);
        json_key(&w, "grub_cfg");
        if (s->grub_cfg) {
                json_begin_object(&w);
                json_field_string(&w, "path", s->grub_cfg);
                json_field_bool(&w, "stale", !!s->grub_cfg_older_than);
                json_field_string(&w, "older_than", s->grub_cfg_older_than);
                json_end_object(&w);
        } else
                json_null(&w);
        json_key(&w, "entries");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_entries; i++) {
                const StatusEntry *e = &s->entries[i];
                json_begin_object(&w);
                json_field_string(&w, "kind", status_kind_to_string(e->kind));
                json_field_string(&w, "path", e->path);
                json_field_string(&w, "id", e->id);
                json_field_string(&w, "options", e->options);
                json_field_bool(&w, "carries_profile", e->carries);
                json_field_bool(&w, "next", e->next);
                json_end_object(&w);
        }
        json_end_array(&w);
        print_generator_armed_json(ctx, &w);
        json_end_object(&w);
        json_finish(&w);
}

static void print_text(const Context *ctx, const Cmdline *wanted, const Status *s) {
        _cleanup_free_ char *tokens = cmdline_to_string(wanted);
        const StatusEntry *next = s->next != SIZE_MAX ? &s->entries[s->next] : NULL;

        printf("Profile:   %s (%s): %s\n", ctx->profile->name, vendor_to_string(ctx->args_vendor), strna(tokens));
        if (next)
                printf("Next boot: %s %s (%s): %s\n", status_kind_to_string(next->kind), next->id ?: next->path,
                       s->next_source, next->carries ? "carries the profile" : "does NOT carry the profile");
        else
                printf("Next boot: cannot be told: no boot entry, grub.cfg or file that iommuctl writes under %s\n", ctx->root);
        print_generator_armed_text(ctx);
        if (s->grub_cfg_older_than)
                printf("grub.cfg:  %s is older than %s: regenerate it (update-grub or grub2-mkconfig) before booting\n",
                       s->grub_cfg, s->grub_cfg_older_than);
        if (s->n_entries > 0)
                printf("\n  %-4s %-7s %-14s %s\n", "NEXT", "PROFILE", "KIND", "ENTRY OR FILE");
        for (size_t i = 0; i < s->n_entries; i++) {
                const StatusEntry *e = &s->entries[i];
                printf("  %-4s %-7s %-14s %s%s%s%s\n", e->next ? "*" : "", e->carries ? "yes" : "no",
                       status_kind_to_string(e->kind), e->path, e->id && e->kind == STATUS_GRUB_MENUENTRY ? " '" : "",
                       e->id && e->kind == STATUS_GRUB_MENUENTRY ? e->id : "",
                       e->id && e->kind == STATUS_GRUB_MENUENTRY ? "'" : "");
        }
}

static int read_efi_hints(const char *root, char **ret_oneshot, char **ret_default) {
        if (read_loader_variable(root, "LoaderEntryOneShot", ret_oneshot) < 0 ||
            read_loader_variable(root, "LoaderEntryDefault", ret_default) < 0)
                return -ENOMEM;
        return 0;
}

int status_next_boot_options(const char *root, char **ret_options, char **ret_what) {
        _cleanup_(status_done) Status s = {};
        _cleanup_free_ char *oneshot = NULL, *efi_default = NULL;
        const StatusEntry *e;
        int r;

        *ret_options = *ret_what = NULL;
        r = read_efi_hints(root, &oneshot, &efi_default);
        if (r < 0)
                return r;
        r = status_collect(root, &(NextBootHints) { .oneshot = oneshot, .efi_default = efi_default }, NULL, NULL, NULL, NULL, &s);
        if (r < 0)
                return r;
        if (s.next == SIZE_MAX || !s.entries[s.next].options)
                return 0;
        e = &s.entries[s.next];
        if (asprintf(ret_what, "%s %s (%s)", status_kind_to_string(e->kind), e->id ?: e->path, s.next_source) < 0)
                return log_oom();
        *ret_options = strdup(e->options);
        return *ret_options ? 1 : log_oom();
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(status_done) Status s = {};
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_free_ char *oneshot = NULL, *efi_default = NULL;
        ContextOptions o = args_context_options(true);
        NextBootHints efi = {};
        _cleanup_(sync_judge_done) SyncJudge judge = {};

        if (argc > 1)
                return log_error("status takes no arguments."), EXIT_ERROR;
        if (context_load(&o, &ctx) < 0)
                return EXIT_ERROR;
        if (context_profile_args(&ctx, &wanted, &owned) < 0)
                return EXIT_ERROR;

        if (read_efi_hints(ctx.root, &oneshot, &efi_default) < 0)
                return EXIT_ERROR;
        efi = (NextBootHints) { .oneshot = oneshot, .efi_default = efi_default };
        judge = SYNC_JUDGE(&ctx.kernel, ctx.args_vendor);
        if (status_collect(ctx.root, &efi, ctx.profile->name, owned, wanted, &judge, &s) < 0)
                return EXIT_ERROR;

        if (arg.json)
                print_json(&ctx, wanted, &s);
        else
                print_text(&ctx, wanted, &s);
        if (s.next == SIZE_MAX) {
                if (!arg.check)
                        return EXIT_OK; /* printed above */
                return log_error_errno(-ENOENT, "Cannot tell which entry boots next under %s, so not whether it carries "
                                       "profile %s.", ctx.root, ctx.profile->name), EXIT_ERROR;
        }
        if (arg.check && !s.entries[s.next].carries)
                return EXIT_NO;
        return EXIT_OK;
}
