/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot-bls.h"
#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "boot.h"
#include "bootspec.h"
#include "log.h"
#include "strv.h"

static const char * const backend_names[_BOOT_BACKEND_MAX] = {
        [BOOT_BACKEND_BLS] = "bls",
        [BOOT_BACKEND_KERNEL_CMDLINE] = "kernel-cmdline",
        [BOOT_BACKEND_GRUB] = "grub",
        [BOOT_BACKEND_UKI_ADDON] = "uki-addon",
};

const char *boot_backend_to_string(BootBackend b) {
        return STRING_TABLE_TO_STRING(backend_names, b);
}

BootBackend boot_backend_from_string(const char *s) {
        return string_table_lookup(backend_names, ELEMENTSOF(backend_names), s);
}

int boot_detect_file_backends(const Root *root, bool ret[_BOOT_BACKEND_MAX]) {
        ret[BOOT_BACKEND_BLS] = boot_bls_detect(root);
        ret[BOOT_BACKEND_KERNEL_CMDLINE] = boot_kernel_cmdline_detect(root);
        ret[BOOT_BACKEND_GRUB] = boot_grub_detect(root);
        ret[BOOT_BACKEND_UKI_ADDON] = false;
        return ret[0] + ret[1] + ret[2];
}

int boot_detect_backends(const Root *root, bool ret[_BOOT_BACKEND_MAX]) {
        int n = boot_detect_file_backends(root, ret);

        ret[BOOT_BACKEND_UKI_ADDON] = boot_uki_addon_detect(root);
        return n + ret[BOOT_BACKEND_UKI_ADDON];
}

int boot_backends_from_list(char * const *names, bool ret[_BOOT_BACKEND_MAX]) {
        bool b[_BOOT_BACKEND_MAX] = {};

        STRV_FOREACH(n, names) {
                BootBackend x = boot_backend_from_string(*n);
                if (x < 0)
                        return log_error_errno(-EINVAL, "Unknown boot backend '%s'; valid: bls, kernel-cmdline, grub, uki-addon.", *n);
                b[x] = true;
        }
        memcpy(ret, b, sizeof(b));
        return 0;
}

/* The commands that carry the same tokens on an ostree or bootc system, for the refusal: rpm-ostree's
 * kargs (the owned tokens of the next deployment's line that are not the profile's deleted, the
 * profile's appended when missing), and a bootc kargs.d file with match-architectures for the
 * vendor's architecture (none for portable tokens). */
int boot_ostree_commands(const Cmdline *current, char * const *owned, const Cmdline *wanted, Vendor vendor, char **ret_rpm_ostree,
                         char **ret_bootc_toml) {
        _cleanup_strv_free_ char **args = NULL, **quoted = NULL;
        _cleanup_free_ char *rpm = NULL, *list = NULL, *toml = NULL, *a = NULL;
        const char *arch = vendor == VENDOR_INTEL || vendor == VENDOR_AMD ? "x86_64" : vendor == VENDOR_ARM64 ? "aarch64" : NULL;

        for (size_t i = 0; current && i < current->n_tokens; i++) {
                const CmdlineToken *t = &current->tokens[i];
                bool is_owned = false;

                STRV_FOREACH(k, owned)
                        if (cmdline_key_equal(*k, t->key))
                                is_owned = true;
                if (!is_owned || (wanted && cmdline_contains_token(wanted, t)))
                        continue;
                if (asprintf(&a, "--delete-if-present=%s", t->text) < 0 || strv_consume(&args, TAKE_PTR(a)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; wanted && i < wanted->n_tokens; i++) {
                if (asprintf(&a, "--append-if-missing=%s", wanted->tokens[i].text) < 0 || strv_consume(&args, TAKE_PTR(a)) < 0 ||
                    asprintf(&a, "\"%s\"", wanted->tokens[i].text) < 0 || strv_consume(&quoted, TAKE_PTR(a)) < 0)
                        return -ENOMEM;
        }
        list = args ? strv_join(args, " ") : strdup("");
        if (!list || asprintf(&rpm, "rpm-ostree kargs %s", list) < 0)
                return -ENOMEM;
        free(list);
        list = quoted ? strv_join(quoted, ", ") : strdup("");
        if (!list)
                return -ENOMEM;
        if (asprintf(&toml, "kargs = [%s]\n%s%s%s", list, arch ? "match-architectures = [\"" : "", arch ?: "",
                     arch ? "\"]\n" : "") < 0)
                return -ENOMEM;
        *ret_rpm_ostree = TAKE_PTR(rpm);
        *ret_bootc_toml = TAKE_PTR(toml);
        return 0;
}

/* ostree and bootc regenerate boot/loader.N from the deployment's kernel arguments: an entry
 * rewritten here is lost at the next deployment (or breaks its checksum). Their own tools own
 * the command line: the refusal says, command for command, how to carry the same tokens there. */
static int refuse_ostree(const BootRequest *req, const BootSpec *spec) {
        const BootSpec b = *spec; /* a shallow copy: the lines below read b. */
        _cleanup_cmdline_ Cmdline *current = NULL;
        _cleanup_free_ char *rpm = NULL, *toml = NULL;
        Vendor vendor = req->judge ? req->judge->vendor : VENDOR_PORTABLE;
        int r;

        if (!b.ostree)
                return 0;
        if (b.next_entry_index != SIZE_MAX && b.entries[b.next_entry_index].cmdline)
                (void) cmdline_parse(b.entries[b.next_entry_index].cmdline, &current);
        r = boot_ostree_commands(current, req->owned, req->wanted, vendor, &rpm, &toml);
        if (r < 0)
                return log_oom();
        log_error("The boot entries under %s are managed by ostree/bootc (%s): a change written here is replaced at "
                  "the next deployment. Nothing was changed. The same tokens, with the tools that own the command line:",
                  req->root->path, b.ostree_why);
        log_error("  on the booted system: %s", rpm);
        log_error("  in a bootc image, the file /usr/lib/bootc/kargs.d/10-iommuctl-%s.toml with:", req->profile ?: "profile");
        for (const char *l = toml; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] == '\n'))
                log_error("    %.*s", (int) strcspn(l, "\n"), l);
        log_error("  ('iommuctl export bootc' writes such files, one per architecture).");
        return -EPERM;
}

/* The next boot is a UKI on a systemd-stub that reads no add-ons (before 254: Debian 12's 252):
 * no file written here reaches its line while its .cmdline lacks the tokens; a UKI rebuilt with
 * them does. Said, not refused: /etc/kernel/cmdline is what such a rebuild reads. */
static void warn_stub_without_addons(const BootRequest *req, const BootSpec *b) {
        _cleanup_cmdline_ Cmdline *line = NULL;
        const BootSpecEntry *e;

        if (!req->wanted || req->wanted->n_tokens == 0 || b->next_entry_index == SIZE_MAX)
                return;
        e = &b->entries[b->next_entry_index];
        if ((e->type != BOOTSPEC_TYPE2 && !e->uki_linux) || e->uki_stub_version == 0 ||
            e->uki_stub_version >= BOOTSPEC_STUB_ADDONS_SINCE)
                return;
        if (cmdline_parse(e->cmdline ?: "", &line) >= 0 && sync_judge_carries(req->judge, line, req->owned, req->wanted))
                return;
        log_warning("The next boot, %s, is a unified kernel image built on systemd-stub %u, which reads no command-line "
                    "add-ons (%u and later do): its line stays without the profile's tokens until the image is rebuilt "
                    "with them (kernel-install reads /etc/kernel/cmdline).",
                    e->uki_image ?: e->path, e->uki_stub_version, BOOTSPEC_STUB_ADDONS_SINCE);
}

int boot_plan(const BootRequest *req, ChangeSet *cs) {
        _cleanup_(bootspec_done) BootSpec spec = {};
        _cleanup_free_ char *default_options = NULL;
        int r;

        /* Read once: the ostree check and the default entry both look at it (each entry file
         * was read and parsed once per look, a third of apply's instructions). */
        r = bootspec_load(req->root, &spec);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", req->root->path);
        r = refuse_ostree(req, &spec);
        if (r < 0)
                return r;

        if (req->backends[BOOT_BACKEND_BLS]) {
                r = boot_bls_plan(req->root, &spec, req->entries, req->owned, req->wanted, req->judge, cs, &default_options);
                if (r < 0)
                        return r;
        }
        if (req->backends[BOOT_BACKEND_KERNEL_CMDLINE]) {
                r = boot_kernel_cmdline_plan(req->root, req->owned, req->wanted, req->judge, default_options, cs);
                if (r < 0)
                        return r;
        }
        if (req->backends[BOOT_BACKEND_GRUB]) {
                r = boot_grub_plan(req->root, req->owned, req->wanted, req->judge, req->profile, cs);
                if (r < 0)
                        return r;
        }
        if (req->backends[BOOT_BACKEND_UKI_ADDON] || (req->uki_addon_if_next && boot_uki_addon_next(&spec))) {
                UkiAddonSettings defaults;

                uki_addon_settings_from_profile(NULL, -1, &defaults);
                r = boot_uki_addon_plan_in(req->root, &spec, req->profile, req->owned, req->wanted, req->judge,
                                           req->uki ?: &defaults, cs);
                if (r < 0)
                        return r;
        }
        warn_stub_without_addons(req, &spec);
        return 0;
}
