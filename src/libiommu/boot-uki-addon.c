/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot-uki-addon.h"
#include "bootspec.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"

#define STRLEN(x) (sizeof(x) - 1)

static char *path_join(const char *a, const char *b) {
        char *p;
        size_t l = strlen(a);

        while (l > 0 && a[l - 1] == '/')
                l--;
        return asprintf(&p, "%.*s/%s", (int) l, a, b + (b[0] == '/')) < 0 ? NULL : p;
}

#define EFI_SECURE_BOOT_VARIABLE "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

void uki_addon_settings_from_profile(const Profile *p, ProfileUkiAddon placement, UkiAddonSettings *ret) {
        *ret = (UkiAddonSettings) {
                .placement = placement >= 0 ? placement : p ? p->uki_addon : PROFILE_UKI_ADDON_GLOBAL,
                .stub = p ? p->uki_addon_stub : NULL,
                .signing_key = p ? p->uki_signing_key : NULL,
                .signing_certificate = p ? p->uki_signing_certificate : NULL,
        };
}

bool boot_uki_addon_entry(const BootSpec *b, const BootSpecEntry *e) {
        /* A Type #1 entry whose efi is a UKI, when its options do not make the line: it has none
         * (the stub boots the UKI's .cmdline; an options line would replace it whole), or systemd-
         * stub's use_load_options() (systemd 257) ignores them: Secure Boot on and the UKI has a
         * .cmdline. */
        if (e->uki_stub_version > 0 && e->uki_stub_version < BOOTSPEC_STUB_ADDONS_SINCE)
                return false; /* its stub reads no add-ons: only a rebuilt UKI changes its line */
        return e->type == BOOTSPEC_TYPE2 ||
               (e->type == BOOTSPEC_TYPE1 && e->uki_linux && e->uki_image &&
                (!e->options || (b->secure_boot && !isempty(e->uki_cmdline))));
}

bool boot_uki_addon_next(const BootSpec *b) {
        return b->next_entry_index != SIZE_MAX && boot_uki_addon_entry(b, &b->entries[b->next_entry_index]);
}

bool boot_uki_addon_detect(const Root *root) {
        _cleanup_(bootspec_done) BootSpec b = {};

        if (bootspec_load(root, &b) < 0)
                return false;
        return boot_uki_addon_next(&b);
}

int uki_addon_file_name(const char *profile, char **ret) {
        if (!profile_name_is_valid(profile))
                return -EINVAL;
        return asprintf(ret, UKI_ADDON_PREFIX "%s" UKI_ADDON_SUFFIX, profile) < 0 ? -ENOMEM : 0;
}

bool uki_addon_is_ours(const char *name) {
        size_t l = strlen(name);

        return startswith(name, UKI_ADDON_PREFIX) && l > STRLEN(UKI_ADDON_PREFIX) + STRLEN(UKI_ADDON_SUFFIX) &&
               strcasecmp(name + l - STRLEN(UKI_ADDON_SUFFIX), UKI_ADDON_SUFFIX) == 0;
}

int uki_partition(const char *uki_path, char **ret) {
        const char *slash = strrchr(uki_path, '/');
        size_t l;

        /* ".../EFI/Linux/x.efi": the directory names are matched case-insensitively (FAT). */
        if (!slash || slash[1] == '\0')
                return -EINVAL;
        l = slash - uki_path;
        if (l < STRLEN("/EFI/Linux") || strncasecmp(uki_path + l - STRLEN("/EFI/Linux"), "/EFI/Linux", STRLEN("/EFI/Linux")) != 0)
                return -EINVAL;
        l -= STRLEN("/EFI/Linux");
        *ret = l == 0 ? strdup("/") : strndup(uki_path, l);
        return *ret ? 0 : -ENOMEM;
}

/* The add-on of profile for the UKI image on partition part (both inside the root). */
static int addon_path_in(const char *part, const char *image, ProfileUkiAddon placement, const char *profile, char **ret) {
        _cleanup_free_ char *name = NULL, *dir = NULL;
        int r;

        r = uki_addon_file_name(profile, &name);
        if (r < 0)
                return r;
        if (placement == PROFILE_UKI_ADDON_PER_UKI)
                r = asprintf(&dir, "%s.extra.d", image) < 0 ? -ENOMEM : 0;
        else if (placement == PROFILE_UKI_ADDON_GLOBAL)
                r = (dir = path_join(part, BOOTSPEC_GLOBAL_ADDONS_DIR)) ? 0 : -ENOMEM;
        else
                r = -EINVAL;
        if (r < 0)
                return r;
        *ret = path_join(dir, name);
        return *ret ? 0 : -ENOMEM;
}

int uki_addon_path(const char *uki_path, ProfileUkiAddon placement, const char *profile, char **ret) {
        _cleanup_free_ char *part = NULL;
        int r;

        if (!profile_name_is_valid(profile))
                return -EINVAL;
        r = uki_partition(uki_path, &part);
        if (r < 0)
                return r;
        return addon_path_in(part, uki_path, placement, profile, ret);
}

int uki_addon_path_for_entry(const BootSpecEntry *e, ProfileUkiAddon placement, const char *profile, char **ret) {
        if (e->type == BOOTSPEC_TYPE2)
                return uki_addon_path(e->path, placement, profile, ret);
        if (!e->uki_image || !e->uki_partition)
                return -EINVAL;
        return addon_path_in(e->uki_partition, e->uki_image, placement, profile, ret);
}

static uint64_t le(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = n; i > 0; i--)
                v = (v << 8) | p[i - 1];
        return v;
}

int uki_addon_stub_next_vma(const uint8_t *data, size_t size, uint64_t *ret) {
        uint64_t pe, opt, base, align, image_size, end;
        unsigned magic;

        /* MZ header, e_lfanew at 0x3c; "PE\0\0"; the COFF header (20 bytes); the optional header:
         * magic, then ImageBase at 24 (PE32+, 8 bytes) or 28 (PE32, 4 bytes), SectionAlignment at
         * 32 and SizeOfImage at 56 in both. */
        if (size < 0x40 || data[0] != 'M' || data[1] != 'Z')
                return -EBADMSG;
        pe = le(data + 0x3c, 4);
        if (pe > size || size - pe < 4 + 20 + 60 || memcmp(data + pe, "PE\0\0", 4) != 0)
                return -EBADMSG;
        opt = pe + 4 + 20;
        magic = le(data + opt, 2);
        if (magic == 0x20b)
                base = le(data + opt + 24, 8);
        else if (magic == 0x10b)
                base = le(data + opt + 28, 4);
        else
                return -EBADMSG;
        align = le(data + opt + 32, 4);
        image_size = le(data + opt + 56, 4);
        if (align == 0 || (align & (align - 1)) != 0)
                return -EBADMSG;
        end = (image_size + align - 1) & ~(align - 1);
        if (base > UINT64_MAX - end)
                return -EBADMSG;
        *ret = base + end;
        return 0;
}

int uki_addon_pe_signed(const uint8_t *data, size_t size) {
        _cleanup_(bootspec_pe_done) BootSpecPE pe = {};
        int r;

        r = bootspec_pe_read_buffer(data, size, &pe);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        return pe.is_signed;
}

const char *uki_addon_stub_name(void) {
#if defined(__x86_64__)
        return "addonx64.efi.stub";
#elif defined(__aarch64__)
        return "addonaa64.efi.stub";
#elif defined(__i386__)
        return "addonia32.efi.stub";
#elif defined(__riscv) && __riscv_xlen == 64
        return "addonriscv64.efi.stub";
#else
        return NULL;
#endif
}

int uki_addon_find_stub(const UkiAddonSettings *s, char **ret) {
        const char *e = getenv(UKI_ADDON_STUB_ENV), *name = uki_addon_stub_name();
        struct stat st;

        if (e && *e)
                return (*ret = strdup(e)) ? 0 : -ENOMEM;
        if (s && s->stub)
                return (*ret = strdup(s->stub)) ? 0 : -ENOMEM;
        if (!name)
                return -ENOENT;
        /* A path on this machine: the builder's systemd-boot-efi (Debian 13, systemd 254 and later),
         * not the image's. */
        if (asprintf(ret, "%s/%s", UKI_ADDON_STUB_DIR, name) < 0)
                return -ENOMEM;
        if (stat(*ret, &st) < 0 || !S_ISREG(st.st_mode)) {
                *ret = mfree(*ret);
                return -ENOENT;
        }
        return 0;
}

int uki_secure_boot_enabled(const Root *root) {
        return bootspec_secure_boot_enabled(root);
}

typedef struct Scratch {
        char *dir;
        char **files;
} Scratch;

static void scratch_done(Scratch *s) {
        STRV_FOREACH(f, s->files)
                (void) unlink(*f);
        strv_free(s->files);
        if (s->dir)
                (void) rmdir(s->dir);
        free(s->dir);
}

static int scratch_file(Scratch *s, const char *name, char **ret) {
        _cleanup_free_ char *p = path_join(s->dir, name);

        if (!p || strv_extend(&s->files, p) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static int run_tool(char * const *argv) {
        int r = spawn_and_wait(argv, SPAWN_STDOUT_TO_STDERR | SPAWN_LOG_NON_ZERO);
        return r < 0 ? r : r > 0 ? -EPROTO : 0;
}

int uki_addon_build(const char *cmdline, const UkiAddonSettings *s, char **ret, size_t *ret_size) {
        _cleanup_(scratch_done) Scratch scratch = {};
        _cleanup_free_ char *stub = NULL, *ukify = NULL, *objcopy = NULL, *sbsign = NULL, *cmdline_file = NULL, *out = NULL,
                            *signed_out = NULL, *arg_cmdline = NULL, *arg_output = NULL, *arg_stub = NULL, *arg_vma = NULL,
                            *arg_section = NULL, *stub_data = NULL;
        const char *tmp = getenv("TMPDIR");
        bool sign = s->signing_key || s->signing_certificate;
        size_t stub_size;
        uint64_t vma;
        FILE *f;
        int r;

        if (sign && !(s->signing_key && s->signing_certificate))
                return log_error_errno(-EINVAL, "[UKI] names %s but not %s: sbsign needs both. Nothing was changed.",
                                       s->signing_key ? "SigningKey=" : "SigningCertificate=",
                                       s->signing_key ? "SigningCertificate=" : "SigningKey=");
        if (sign && find_executable("sbsign", &sbsign) < 0)
                return log_error_errno(-ENOENT, "[UKI] SigningKey= is set but sbsign (sbsigntool) is not installed. "
                                       "Nothing was changed.");
        r = uki_addon_find_stub(s, &stub);
        if (r == -ENOMEM)
                return log_oom();
        (void) find_executable("ukify", &ukify);
        if (!ukify) {
                if (r < 0)
                        return log_error_errno(r, "Cannot build the UKI command-line add-on: ukify is not installed and "
                                               "systemd's add-on stub %s/%s (systemd-boot-efi, systemd 254 or later) is not "
                                               "there; set [UKI] AddonStub= or $%s. Nothing was changed.",
                                               UKI_ADDON_STUB_DIR, strna(uki_addon_stub_name()), UKI_ADDON_STUB_ENV);
                if (find_executable("objcopy", &objcopy) < 0)
                        return log_error_errno(-ENOENT, "Cannot build the UKI command-line add-on: neither ukify nor objcopy "
                                               "(binutils) is installed. Nothing was changed.");
        }

        if (asprintf(&scratch.dir, "%s/iommuctl-addon.XXXXXX", tmp ?: "/tmp") < 0)
                return log_oom();
        if (!mkdtemp(scratch.dir)) {
                scratch.dir = mfree(scratch.dir);
                return log_error_errno(-errno, "Failed to create a scratch directory: %m");
        }
        if (scratch_file(&scratch, "cmdline", &cmdline_file) < 0 || scratch_file(&scratch, "addon.efi", &out) < 0 ||
            scratch_file(&scratch, "signed.efi", &signed_out) < 0)
                return log_oom();
        f = fopen(cmdline_file, "we");
        if (!f || fputs(cmdline, f) < 0 || fclose(f) != 0)
                return log_error_errno(-errno ?: -EIO, "Failed to write %s: %m", cmdline_file);

        if (ukify) {
                if (asprintf(&arg_cmdline, "--cmdline=@%s", cmdline_file) < 0 || asprintf(&arg_output, "--output=%s", out) < 0 ||
                    (stub && asprintf(&arg_stub, "--stub=%s", stub) < 0))
                        return log_oom();
                r = run_tool(STRV_MAKE(ukify, "build", arg_cmdline, arg_output, arg_stub));
        } else {
                /* The add-on stub plus one .cmdline section after its last one, as ukify lays it out. */
                r = read_full_file(stub, CHANGESET_FILE_MAX, &stub_data, &stub_size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the add-on stub %s: %m", stub);
                r = uki_addon_stub_next_vma((const uint8_t *) stub_data, stub_size, &vma);
                if (r < 0)
                        return log_error_errno(r, "%s is not a PE image: %m", stub);
                if (asprintf(&arg_section, ".cmdline=%s", cmdline_file) < 0 ||
                    asprintf(&arg_vma, ".cmdline=0x%" PRIx64, vma) < 0)
                        return log_oom();
                r = run_tool(STRV_MAKE(objcopy, "--add-section", arg_section, "--change-section-vma", arg_vma,
                                       "--set-section-flags", ".cmdline=contents,alloc,load,readonly,data", stub, out));
        }
        if (r < 0)
                return log_error_errno(r, "Failed to build the UKI command-line add-on with %s. Nothing was changed.",
                                       ukify ?: objcopy);
        if (sign) {
                r = run_tool(STRV_MAKE(sbsign, "--key", s->signing_key, "--cert", s->signing_certificate, "--output",
                                       signed_out, out));
                if (r < 0)
                        return log_error_errno(r, "sbsign --key %s --cert %s failed. Nothing was changed.", s->signing_key,
                                               s->signing_certificate);
        }
        r = read_full_file(sign ? signed_out : out, CHANGESET_FILE_MAX, ret, ret_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the add-on built in %s: %m", scratch.dir);
        return 0;
}

static int addon_cmdline(const Root *root, const char *path, char **ret) {
        _cleanup_free_ char *c = NULL;
        int r;

        r = bootspec_read_pe(root, path, &c, NULL, NULL);
        if (r == -ENOMEM)
                return r;
        *ret = r < 0 ? NULL : TAKE_PTR(c);
        return 0;
}

static const char *basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

int uki_line_without_ours(const Root *root, const BootSpecEntry *e, char **ret) {
        _cleanup_strv_free_ char **parts = NULL;
        char *line, *o;

        (void) root;
        if (strv_extend(&parts, e->uki_cmdline ?: "") < 0)
                return -ENOMEM;
        /* The add-ons the stub appends (not those it skips: bootspec_addon_skip_reason()). */
        for (size_t i = 0; i < e->n_addon_list; i++) {
                const BootSpecAddon *a = &e->addon_list[i];
                if (a->skipped || !a->cmdline || uki_addon_is_ours(basename_of(a->path)))
                        continue;
                if (strv_extend(&parts, a->cmdline) < 0)
                        return -ENOMEM;
        }
        line = o = strv_join(parts, " ");
        if (!line)
                return -ENOMEM;
        /* Whitespace folded, as the stub and the kernel see it (a .cmdline may span lines). */
        for (char *i = line; *i; i++) {
                if (strchr(" \t\n\r", *i)) {
                        if (o > line && o[-1] != ' ')
                                *o++ = ' ';
                } else
                        *o++ = *i;
        }
        if (o > line && o[-1] == ' ')
                o--;
        *o = '\0';
        *ret = line;
        return 0;
}

/* Every add-on of ours on any UKI's line (and in each UKI partition's loader/addons/). */
static int our_addons(const Root *root, const BootSpec *b, char ***ret) {
        _cleanup_strv_free_ char **l = NULL, **global = NULL;
        int r;

        /* Also the partitions' loader/addons/ when no UKI is left to name them (undo after a kernel
         * removal). */
        if (b->esp && (r = bootspec_list_addons(root, b->esp, &global)) < 0)
                return r;
        if (b->xbootldr && (r = bootspec_list_addons(root, b->xbootldr, &global)) < 0)
                return r;
        for (size_t i = 0; i <= b->n_entries; i++)
                STRV_FOREACH(a, i < b->n_entries ? b->entries[i].addons : global)
                        if (uki_addon_is_ours(basename_of(*a)) && !strv_contains(l, *a) && strv_extend(&l, *a) < 0)
                                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int boot_uki_addon_plan(const Root *root, const char *profile, char * const *owned, const Cmdline *wanted, SyncJudge *judge,
                        const UkiAddonSettings *s, ChangeSet *cs) {
        _cleanup_(bootspec_done) BootSpec b = {};
        int r;

        r = bootspec_load(root, &b);
        if (r < 0)
                return log_error_errno(r, "Failed to read the boot configuration under %s: %m", root->path);
        return boot_uki_addon_plan_in(root, &b, profile, owned, wanted, judge, s, cs);
}

int boot_uki_addon_plan_in(const Root *root, const BootSpec *spec, const char *profile, char * const *owned,
                           const Cmdline *wanted, SyncJudge *judge, const UkiAddonSettings *s, ChangeSet *cs) {
        const BootSpec b = *spec; /* a shallow copy: the lines below read b. */
        _cleanup_strv_free_ char **ours = NULL;
        _cleanup_free_ char *target = NULL, *line = NULL, *tokens = NULL, *current = NULL, *pe = NULL;
        _cleanup_cmdline_ Cmdline *without = NULL;
        const BootSpecEntry *e = NULL;
        const char *bad_token = NULL;
        char bad = 0;
        size_t pe_size;
        int r;

        r = our_addons(root, &b, &ours);
        if (r < 0)
                return log_oom();
        if (boot_uki_addon_next(&b))
                e = &b.entries[b.next_entry_index];

        if (wanted && wanted->n_tokens > 0 && e) {
                /* The stub copies .cmdline to the kernel as it is: refuse what could smuggle in more than
                 * tokens, as for every other file we write. */
                r = cmdline_check_safe(wanted, &bad_token, &bad);
                if (r < 0)
                        return log_error_errno(r, "Profile %s: token '%s' contains '%c'. Nothing was changed.", profile,
                                               strna(bad_token), bad ?: '?');
                r = uki_addon_path_for_entry(e, s->placement, profile, &target);
                if (r < 0)
                        return log_error_errno(r, "Cannot place an add-on for %s: %m", e->path);

                /* The UKI's line without our add-ons: when it carries the profile already (its .cmdline was
                 * built with the tokens), no add-on is needed. */
                if (uki_line_without_ours(root, e, &line) < 0)
                        return log_oom();
                if (cmdline_parse(line, &without) < 0)
                        return log_error_errno(-EINVAL, "Cannot parse the command line of %s: '%s'", e->path, line);
                if (sync_judge_carries(judge, without, owned, wanted))
                        target = mfree(target);
        }

        /* Every add-on of ours that is not the one to keep goes. */
        STRV_FOREACH(a, ours) {
                if (target && streq(*a, target))
                        continue;
                r = changeset_add(cs, *a, NULL, 0, 0644, "uki-addon");
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Failed to plan the removal of %s: %m", *a);
        }
        if (!target)
                return 0;

        tokens = cmdline_to_string(wanted);
        if (!tokens)
                return log_oom();
        r = addon_cmdline(root, target, &current);
        if (r < 0)
                return log_oom();
        if (current && streq(current, tokens)) {
                _cleanup_free_ char *data = NULL;
                size_t size;

                /* Already there with the same line; re-signed only when a key is set and it is not signed. */
                if (!s->signing_key || !s->signing_certificate ||
                    read_root_file(root, target, CHANGESET_FILE_MAX, &data, &size) < 0 ||
                    uki_addon_pe_signed((const uint8_t *) data, size) != 0)
                        return 0;
        }

        if (uki_secure_boot_enabled(root) && !(s->signing_key && s->signing_certificate))
                return log_error_errno(-EPERM, "Secure Boot is on (%s under %s): systemd-stub loads only a signed add-on, and "
                                       "no key signs this one. Set [UKI] SigningKey= and SigningCertificate= (a key in db or "
                                       "shim's MOK list) in the profile. Nothing was changed.",
                                       EFI_SECURE_BOOT_VARIABLE, root->path);
        r = uki_addon_build(tokens, s, &pe, &pe_size);
        if (r < 0)
                return r;
        r = changeset_add(cs, target, pe, pe_size, 0644, "uki-addon");
        if (r < 0)
                return log_error_errno(r, "Failed to plan %s: %m", target);
        return 0;
}
