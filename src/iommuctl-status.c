/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommuctl status: what the next boot will run, the gate before a reboot. */
#include "iommuctl.h"
#include "libiommu/config.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/json.h"
#include "libiommu/log.h"
#include "libiommu/status.h"
#include "libiommu/strv.h"

/* The model's entry for a UKI or a Type #1 entry whose "efi" is a UKI: the add-ons are there. */
static const BootSpecEntry *addon_entry(const Status *s, const StatusEntry *e) {
        for (size_t i = 0; i < s->spec.n_entries; i++) {
                const BootSpecEntry *b = &s->spec.entries[i];
                if ((b->type == BOOTSPEC_TYPE2 || b->uki_linux) && streq(b->path, e->path))
                        return b;
        }
        return NULL;
}

/* A UKI's add-ons: those systemd-stub appends, in its order (global, then its own), and those it
 * skips, each with the reason (bootspec_addon_skip_reason()). */
static void print_uki_addons_json(const Status *s, const StatusEntry *e, JsonWriter *w) {
        const BootSpecEntry *b = addon_entry(s, e);

        if (!b)
                return;
        json_key(w, "addons");
        json_begin_array(w);
        for (size_t i = 0; i < b->n_addon_list; i++)
                if (!b->addon_list[i].skipped)
                        json_string(w, b->addon_list[i].path);
        json_end_array(w);
        json_key(w, "addons_skipped");
        json_begin_array(w);
        for (size_t i = 0; i < b->n_addon_list; i++)
                if (b->addon_list[i].skipped) {
                        json_begin_object(w);
                        json_field_string(w, "path", b->addon_list[i].path);
                        json_field_string(w, "reason", b->addon_list[i].skipped);
                        json_end_object(w);
                }
        json_end_array(w);
}

/* ctx and wanted are NULL when no profile is selected: the entries and the next boot are listed,
 * nothing is judged (bootctl lists always). */
static void print_json(const Context *ctx, const Cmdline *wanted, const Status *s) {
        JsonWriter w = { .f = stdout };
        const StatusEntry *next = s->next != SIZE_MAX ? &s->entries[s->next] : NULL;

        json_begin_object(&w);
        json_field_int(&w, "version", 1);
        json_key(&w, "profile");
        if (ctx) {
                json_begin_object(&w);
                json_field_string(&w, "name", ctx->profile->name);
                json_field_string(&w, "kernel_args_for", vendor_to_string(ctx->args_vendor));
                json_field_setting_origin(&w, "origin", &ctx->config, arg.profile ? "--profile" : NULL, "IOMMU.Profile");
                json_key(&w, "kernel_args");
                json_begin_array(&w);
                for (size_t i = 0; i < wanted->n_tokens; i++)
                        json_string(&w, wanted->tokens[i].text);
                json_end_array(&w);
                json_end_object(&w);
        } else
                json_null(&w);
        json_field_string(&w, "boot_loader", s->loader);
        json_field_bool(&w, "ostree", s->ostree);
        json_key(&w, "default_boot");
        if (s->default_entry != SIZE_MAX) {
                json_begin_object(&w);
                json_field_string(&w, "kind", status_kind_to_string(s->entries[s->default_entry].kind));
                json_field_string(&w, "path", s->entries[s->default_entry].path);
                json_field_string(&w, "id", s->entries[s->default_entry].id);
                json_field_string(&w, "source", s->default_source);
                json_end_object(&w);
        } else
                json_null(&w);
        /* The facts the choice was made from, each with its file. */
        json_key(&w, "boot_config");
        json_begin_object(&w);
        json_field_string(&w, "esp", s->spec.esp);
        json_field_bool(&w, "secure_boot", s->spec.secure_boot);
        json_field_string(&w, "xbootldr", s->spec.xbootldr);
        json_field_string(&w, "loader_conf", s->spec.loader_conf);
        json_field_string(&w, "loader_conf_default", s->spec.default_pattern);
        json_field_int(&w, "loader_conf_default_line", s->spec.default_pattern_line);
        json_field_string(&w, "efi_loader_entry_oneshot", s->spec.efi_oneshot);
        json_field_string(&w, "efi_loader_entry_default", s->spec.efi_default);
        json_field_string(&w, "efi_loader_entry_selected", s->spec.efi_selected);
        json_field_string(&w, "grubenv", s->spec.grubenv);
        json_field_string(&w, "grubenv_saved_entry", s->spec.saved_entry);
        json_field_string(&w, "grubenv_next_entry", s->spec.next_entry);
        json_field_string(&w, "grub_cfg_default", s->spec.grub_cfg_default);
        json_field_string(&w, "grub_default", s->spec.grub_default);
        json_field_string(&w, "grub_default_path", s->spec.grub_default_path);
        json_field_int(&w, "grub_default_line", s->spec.grub_default_line);
        json_field_string(&w, "ostree_why", s->ostree_why);
        json_end_object(&w);
        json_key(&w, "next_boot");
        if (next) {
                json_begin_object(&w);
                json_field_string(&w, "kind", status_kind_to_string(next->kind));
                json_field_string(&w, "path", next->path);
                json_field_string(&w, "id", next->id);
                json_field_string(&w, "source", s->next_source);
                json_field_string(&w, "options", next->options);
                if (wanted)
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
                json_field_string(&w, "title", e->title);
                json_field_string(&w, "options", e->options);
                json_field_string(&w, "options_from", e->options_source);
                print_uki_addons_json(s, e, &w);
                if (wanted)
                        json_field_bool(&w, "carries_profile", e->carries);
                json_field_bool(&w, "next", e->next);
                json_field_bool(&w, "default", e->is_default);
                json_end_object(&w);
        }
        json_end_array(&w);
        if (ctx)
                print_generator_armed_json(ctx, &w);
        json_end_object(&w);
        json_finish(&w);
}

/* Where a decision's fact sits: "FILE:LINE" or "FILE"; NULL for "the first entry". */
static char *source_location(const Status *s, const char *source) {
        char *p = NULL;

        if (!source)
                return NULL;
        if (startswith(source, "loader.conf default @saved") || startswith(source, "EFI variable ")) {
                const char *name = startswith(source, "EFI variable ") ?: "LoaderEntryLastBooted";
                if (asprintf(&p, "/sys/firmware/efi/efivars/%s-%s", name, BOOTSPEC_LOADER_GUID) < 0)
                        return NULL;
        } else if (startswith(source, "loader.conf default") && s->spec.loader_conf) {
                if (asprintf(&p, "%s:%u", s->spec.loader_conf, s->spec.default_pattern_line) < 0)
                        return NULL;
        } else if (startswith(source, "GRUB_DEFAULT") && s->spec.grub_default_path) {
                if (asprintf(&p, "%s:%u", s->spec.grub_default_path, s->spec.grub_default_line) < 0)
                        return NULL;
        } else if (startswith(source, "grubenv") && s->spec.grubenv)
                p = strdup(s->spec.grubenv);
        else if (startswith(source, "grub.cfg") && s->spec.grub_cfg)
                p = strdup(s->spec.grub_cfg);
        return p;
}

static void print_text(const Root *root, const Context *ctx, const Cmdline *wanted, const Status *s) {
        _cleanup_free_ char *tokens = wanted ? cmdline_to_string(wanted) : NULL;
        const StatusEntry *next = s->next != SIZE_MAX ? &s->entries[s->next] : NULL;
        _cleanup_escape_buffer_ EscapeBuffer x = {};

        if (ctx)
                printf("Profile:   %s (%s): %s\n", escaped(&x, ctx->profile->name), vendor_to_string(ctx->args_vendor),
                       escaped(&x, strna(tokens)));
        else
                printf("Profile:   none selected (pass --profile NAME or set Profile= in iommu.conf to judge the entries)\n");
        if (ctx)
                print_setting_origins(ctx, 11);
        printf("Loader:    %s%s%s\n", s->loader, s->ostree ? ", managed by ostree/bootc: " : "",
               s->ostree ? escaped(&x, s->ostree_why) : "");
        if (next && ctx)
                printf("Next boot: %s %s (%s): %s\n", status_kind_to_string(next->kind), escaped(&x, next->id ?: next->path),
                       escaped(&x, s->next_source), next->carries ? "carries the profile" : "does NOT carry the profile");
        else if (next)
                printf("Next boot: %s %s (%s)\n", status_kind_to_string(next->kind), escaped(&x, next->id ?: next->path),
                       escaped(&x, s->next_source));
        else
                printf("Next boot: cannot be told: no boot entry, grub.cfg or file that iommuctl writes under %s\n",
                       escaped(&x, root->path));
        /* What the next boot's line leaves out: add-ons systemd-stub will not append. */
        if (next) {
                const BootSpecEntry *b = addon_entry(s, next);
                for (size_t i = 0; b && i < b->n_addon_list; i++)
                        if (b->addon_list[i].skipped)
                                printf("Add-on:    %s skipped by systemd-stub: %s\n", escaped(&x, b->addon_list[i].path),
                                       escaped(&x, b->addon_list[i].skipped));
        }
        if (s->default_entry != SIZE_MAX) {
                const StatusEntry *d = &s->entries[s->default_entry];
                _cleanup_free_ char *where = source_location(s, s->default_source);
                printf("Default:   %s %s (%s%s%s)\n", status_kind_to_string(d->kind), escaped(&x, d->id ?: d->path),
                       escaped(&x, s->default_source), where ? ", " : "", where ? escaped(&x, where) : "");
        }
        if (ctx)
                print_generator_armed_text(ctx);
        if (s->grub_cfg_older_than)
                printf("grub.cfg:  %s was not generated from %s as it is now: regenerate it (update-grub or "
                       "grub2-mkconfig) before booting\n",
                       escaped(&x, s->grub_cfg), escaped(&x, s->grub_cfg_older_than));
        if (s->n_entries > 0 && !arg.no_legend)
                printf("\n  %-4s %-7s %-14s %s\n", "NEXT", "PROFILE", "KIND", "ENTRY OR FILE");
        for (size_t i = 0; i < s->n_entries; i++) {
                const StatusEntry *e = &s->entries[i];
                _cleanup_escape_buffer_ EscapeBuffer y = {};
                printf("  %-4s %-7s %-14s %s%s%s%s\n", e->next ? "*" : "", !wanted ? "-" : e->carries ? "yes" : "no",
                       status_kind_to_string(e->kind), escaped(&y, e->path), e->id && e->kind == STATUS_GRUB_MENUENTRY ? " '" : "",
                       e->id && e->kind == STATUS_GRUB_MENUENTRY ? escaped(&y, e->id) : "",
                       e->id && e->kind == STATUS_GRUB_MENUENTRY ? "'" : "");
        }
}

int status_next_boot_options(const Root *root, char **ret_options, char **ret_what) {
        _cleanup_(status_done) Status s = {};
        const StatusEntry *e;
        int r;

        *ret_options = *ret_what = NULL;
        r = status_collect(root, NULL, NULL, NULL, &s);
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

/* No profile selected (neither --profile nor Profile=): list what boots, judge nothing. */
static int status_without_profile(void) {
        _cleanup_(status_done) Status s = {};
        const Root *root = arg.root;

        if (arg.check)
                return log_error_errno(-EINVAL, "No profile selected: status --check needs one to judge the next boot "
                                       "(pass --profile NAME or set Profile= in iommu.conf)."), EXIT_ERROR;
        if (status_collect(root, NULL, NULL, NULL, &s) < 0)
                return EXIT_ERROR;
        if (arg.json)
                print_json(NULL, NULL, &s);
        else
                print_text(root, NULL, NULL, &s);
        return EXIT_OK;
}

static bool profile_selected(void) {
        _cleanup_(config_done) Config c = {};

        if (arg.profile)
                return true;
        /* A broken configuration is context_load()'s to report. */
        return config_load(arg.root, &c) < 0 || c.profile;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(context_done) Context ctx = {};
        _cleanup_(status_done) Status s = {};
        _cleanup_cmdline_ Cmdline *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        ContextOptions o = args_context_options(true);
        _cleanup_(sync_judge_done) SyncJudge judge = {};

        if (argc > 1)
                return log_error("status takes no arguments."), EXIT_ERROR;
        if (!profile_selected())
                return status_without_profile();
        if (context_load(&o, &ctx) < 0)
                return EXIT_ERROR;
        if (context_profile_args(&ctx, &wanted, &owned) < 0)
                return EXIT_ERROR;

        judge = SYNC_JUDGE(&ctx.kernel, ctx.args_vendor);
        judge.intent = ctx.profile;
        if (status_collect(ctx.root, owned, wanted, &judge, &s) < 0)
                return EXIT_ERROR;

        if (arg.json)
                print_json(&ctx, wanted, &s);
        else
                print_text(ctx.root, &ctx, wanted, &s);
        if (s.next == SIZE_MAX) {
                if (!arg.check)
                        return EXIT_OK; /* printed above */
                return log_error_errno(-ENOENT, "Cannot tell which entry boots next under %s, so not whether it carries "
                                       "profile %s.", ctx.root->path, ctx.profile->name), EXIT_ERROR;
        }
        if (arg.check && !s.entries[s.next].carries)
                return EXIT_NO;
        return EXIT_OK;
}
