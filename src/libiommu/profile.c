/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>

#include "fileio.h"
#include "ini-file.h"
#include "intent.h"
#include "lint.h"
#include "log.h"
#include "kernel-model.h"
#include "profile.h"
#include "strv.h"

#ifndef IOMMU_PROFILES_DIR
#define IOMMU_PROFILES_DIR "/usr/lib/iommu/profiles"
#endif

#define INCLUDE_DEPTH_MAX 8

static const char * const mode_names[_MODE_MAX] = {
        [MODE_PASSTHROUGH] = "passthrough",
        [MODE_TRANSLATED] = "translated",
        [MODE_STRICT] = "strict",
        [MODE_OFF] = "off",
        [MODE_LAZY] = "lazy",
};

static const char * const firmware_names[_FIRMWARE_MAX] = {
        [FIRMWARE_REQUIRED] = "required",
        [FIRMWARE_OPTIONAL] = "optional",
};

/* [KernelArgs] keys, by Vendor. */
static const char * const vendor_keys[_VENDOR_MAX] = {
        [VENDOR_INTEL] = "Intel",
        [VENDOR_AMD] = "AMD",
        [VENDOR_ARM64] = "ARM64",
        [VENDOR_PORTABLE] = "Portable",
};

const char *profile_mode_to_string(ProfileMode m) {
        return STRING_TABLE_TO_STRING(mode_names, m);
}

ProfileMode profile_mode_from_string(const char *s) {
        return string_table_lookup(mode_names, ELEMENTSOF(mode_names), s);
}

const char *firmware_requirement_to_string(FirmwareRequirement f) {
        return STRING_TABLE_TO_STRING(firmware_names, f);
}

FirmwareRequirement firmware_requirement_from_string(const char *s) {
        return string_table_lookup(firmware_names, ELEMENTSOF(firmware_names), s);
}

DomainType profile_mode_domain(ProfileMode m) {
        switch (m) {
        case MODE_PASSTHROUGH:
                return DOMAIN_IDENTITY;
        case MODE_TRANSLATED:
        case MODE_LAZY:
                return DOMAIN_DMA_FQ;
        case MODE_STRICT:
                return DOMAIN_DMA;
        default:
                return DOMAIN_NONE;
        }
}

bool profile_mode_accepts(ProfileMode m, DomainType t) {
        if (m == MODE_TRANSLATED)
                return t == DOMAIN_DMA || t == DOMAIN_DMA_FQ;
        return t == profile_mode_domain(m);
}

bool profile_name_is_valid(const char *name) {
        if (isempty(name) || name[0] == '.' || strlen(name) > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

Profile *profile_free(Profile *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->path);
        strv_free(p->files);
        free(p->description);
        for (Vendor v = 0; v < _VENDOR_MAX; v++)
                free(p->args[v].text);
        strv_free(p->expect_modules);
        free(p->uki_addon_stub);
        free(p->uki_signing_key);
        free(p->uki_signing_certificate);
        free(p);
        return NULL;
}

/* A directory of the search path: one of the tree (rel, read through the root handle) or one of
 * this machine (IOMMUCTL_PROFILES_PATH, the shipped profiles: rel NULL, read by path). */
typedef struct SearchDir {
        char *display; /* ROOT/rel, or the host path */
        const char *rel;
} SearchDir;

static void search_dirs_free(SearchDir *l) {
        for (SearchDir *d = l; d && d->display; d++)
                free(d->display);
        free(l);
}

static int search_dirs_add(SearchDir **l, size_t *n, char *display, const char *rel) {
        SearchDir *t;

        if (!display)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                if (streq((*l)[i].display, display)) {
                        free(display);
                        return 0;
                }
        t = reallocarray(*l, *n + 2, sizeof(SearchDir));
        if (!t) {
                free(display);
                return -ENOMEM;
        }
        *l = t;
        t[(*n)++] = (SearchDir) { .display = display, .rel = rel };
        t[*n] = (SearchDir) {};
        return 0;
}

/* The directories of the tree, in the order they are searched (before IOMMUCTL_PROFILES_PATH and
 * the shipped profiles). */
static const char * const rooted[] = {
        "/etc/iommu/profiles",
        "/run/iommu/profiles",
        "/usr/local/lib/iommu/profiles",
        "/usr/lib/iommu/profiles",
};

static int search_dirs(const Root *root, SearchDir **ret) {
        SearchDir *l = NULL;
        size_t n = 0;
        const char *e;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(rooted); i++) {
                r = search_dirs_add(&l, &n, root_display(root, rooted[i]), rooted[i]);
                if (r < 0)
                        goto fail;
        }
        e = getenv("IOMMUCTL_PROFILES_PATH");
        if (!isempty(e)) {
                _cleanup_strv_free_ char **extra = NULL;
                r = strv_split(e, ":", &extra);
                if (r < 0)
                        goto fail;
                STRV_FOREACH(x, extra) {
                        r = search_dirs_add(&l, &n, strdup(*x), NULL);
                        if (r < 0)
                                goto fail;
                }
        }
        if (!root_is_host(root)) {
                r = search_dirs_add(&l, &n, strdup(IOMMU_PROFILES_DIR), NULL);
                if (r < 0)
                        goto fail;
        }
        if (!l && !(l = calloc(1, sizeof(SearchDir))))
                return -ENOMEM;
        *ret = l;
        return 0;
fail:
        search_dirs_free(l);
        return r;
}

int profile_search_path(const Root *root, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        SearchDir *dirs = NULL;
        int r;

        r = search_dirs(root, &dirs);
        if (r < 0)
                return r;
        for (SearchDir *d = dirs; d->display; d++) {
                r = strv_extend(&l, d->display);
                if (r < 0)
                        break;
        }
        search_dirs_free(dirs);
        if (r < 0)
                return r;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The first file for name in the search path that is not already being read (so a profile in
 * /etc may include the shipped profile of the same name and override parts of it). ret gets its
 * name for messages, ret_rel (NULL for a file of this machine) its path inside the root. A
 * profile of the tree that is a symlink is followed inside the root only. */
/* profile_find() for the profile a configuration names (nothing skipped) in the directories of the
 * tree, which come first: their paths built on the stack, without the search path list and an
 * asprintf() per directory (the generator runs this at every boot). -ENOENT when none has it. */
static int profile_find_in_tree(const Root *root, const char *name, char **ret, char **ret_rel) {
        for (size_t i = 0; i < ELEMENTSOF(rooted); i++) {
                _cleanup_free_ char *f = NULL, *r = NULL;
                char rel[PATH_MAX];

                if (strlen(rooted[i]) + strlen(name) + strlen("/.conf") >= sizeof(rel))
                        return -ENAMETOOLONG;
                strcpy(stpcpy(stpcpy(stpcpy(rel, rooted[i]), "/"), name), ".conf");
                if (!root_dropin_usable(root, rel) || !root_exists(root, rel))
                        continue;
                f = root_display(root, rel);
                r = strdup(rel);
                if (!f || !r)
                        return -ENOMEM;
                *ret = TAKE_PTR(f);
                *ret_rel = TAKE_PTR(r);
                return 0;
        }
        return -ENOENT;
}

static int profile_find(const Root *root, const char *name, char * const *skip, char **ret, char **ret_rel) {
        SearchDir *dirs = NULL;
        bool skipped = false;
        int r;

        if (!skip) {
                r = profile_find_in_tree(root, name, ret, ret_rel);
                if (r != -ENOENT)
                        return r;
        }
        r = search_dirs(root, &dirs);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (SearchDir *d = dirs; d->display; d++) {
                _cleanup_free_ char *f = NULL, *rel = NULL;

                if (!skip && d->rel)
                        continue; /* profile_find_in_tree() looked there */
                if (asprintf(&f, "%s/%s.conf", d->display, name) < 0 ||
                    (d->rel && asprintf(&rel, "%s/%s.conf", d->rel, name) < 0)) {
                        r = -ENOMEM;
                        break;
                }
                if (rel ? !root_dropin_usable(root, rel) || !root_exists(root, rel) : access(f, F_OK) < 0)
                        continue;
                if (strv_contains(skip, f)) {
                        skipped = true;
                        continue;
                }
                *ret = TAKE_PTR(f);
                *ret_rel = TAKE_PTR(rel);
                r = 0;
                break;
        }
        search_dirs_free(dirs);
        if (r == -ENOENT && skipped)
                return -ELOOP;
        return r;
}

typedef struct ParseContext {
        const Root *root;
        Profile *profile;
        IniFile *ini;      /* the file being read */
        char **stack;      /* files on the include stack, for loops */
        bool setting_seen; /* Include= must come before any setting of its file */
        bool expect_groups_set, expect_domain_set, expect_firmware_set;
        ProfileLoadFlags flags;
        int error;
} ParseContext;

static int parse_file(ParseContext *ctx, const char *path, const char *rel);

#define parse_error(ctx, ...) ini_file_error((ctx)->ini, __VA_ARGS__)

static int parse_yes_no(const char *v) {
        if (streq(v, "yes") || streq(v, "true") || streq(v, "1") || streq(v, "on"))
                return 1;
        if (streq(v, "no") || streq(v, "false") || streq(v, "0") || streq(v, "off"))
                return 0;
        return -EINVAL;
}

static void handle_include(ParseContext *ctx, const char *value) {
        _cleanup_free_ char *path = NULL, *rel = NULL;
        int r;

        if (ctx->setting_seen)
                return parse_error(ctx, "Include= must come before any other setting, so that the file overrides what it includes");
        if (!profile_name_is_valid(value))
                return parse_error(ctx, "Include=%s is not a valid profile name (letters, digits, '.', '_', '-')", value);
        if (strv_length(ctx->stack) >= INCLUDE_DEPTH_MAX)
                return parse_error(ctx, "Include=%s: includes nested deeper than %d", value, INCLUDE_DEPTH_MAX);
        r = profile_find(ctx->root, value, ctx->stack, &path, &rel);
        if (r == -ELOOP) {
                _cleanup_free_ char *chain = strv_join(ctx->stack, " -> ");

                return parse_error(ctx, "Include=%s: include loop (%s -> %s)", value, strna(chain), value);
        }
        if (r == -ENOENT)
                return parse_error(ctx, "Include=%s: no such profile in the search path (see 'iommuctl profiles')", value);
        if (r < 0)
                return parse_error(ctx, "Include=%s: %s", value, strerror(-r));

        r = parse_file(ctx, path, rel);
        if (r < 0 && ctx->ini->error == 0)
                ctx->ini->error = r;
}

static void handle_kernel_args(ParseContext *ctx, Vendor vendor, const char *value) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        LintReport report = {};
        ProfileArgs *a = &ctx->profile->args[vendor];
        const char *bad_token = NULL;
        char bad = 0;
        int r;

        r = cmdline_parse(value, &c);
        if (r < 0)
                return parse_error(ctx, "%s", strerror(-r));
        if (cmdline_check_safe(c, &bad_token, &bad) < 0)
                return parse_error(ctx, "%s=: token '%s' contains '%c', which is not allowed in boot configuration "
                                   "(allowed: letters, digits and _-.,:=/+@%%~)",
                                   vendor_keys[vendor], bad_token, bad);
        /* The tokens' lint is for people (lint, apply, plan); the generator skips it at boot. */
        r = ctx->flags & PROFILE_LOAD_NO_LINT ? 0 : lint_cmdline(c, vendor_arch(vendor), &report);
        if (r < 0)
                return parse_error(ctx, "%s", strerror(-r));
        for (size_t i = 0; i < report.n_findings; i++) {
                LintFinding *f = &report.findings[i];
                if (f->severity == SEVERITY_NOTE)
                        continue;
                if (f->severity == SEVERITY_ERROR)
                        parse_error(ctx, "%s=: %s%s%s", vendor_keys[vendor], f->message, f->fix ? "; use: " : "",
                                    f->fix ?: "");
                else
                        log_warning("%s:%u: %s=: %s%s%s", ctx->ini->path, ctx->ini->line, vendor_keys[vendor],
                                    f->message, f->fix ? "; use: " : "", f->fix ?: "");
        }
        lint_report_done(&report);

        free(a->text);
        a->text = cmdline_to_string(c);
        if (!a->text) {
                ctx->ini->error = -ENOMEM;
                return;
        }
        a->set = true;
        a->file = ctx->ini->path;
        a->line = ctx->ini->line;
}

static const char * const acs_lift_names[_PROFILE_ACS_LIFT_MAX] = {
        [PROFILE_ACS_KEEP] = "no",
        [PROFILE_ACS_LIFT_GPU_PATHS] = "gpu-paths",
};

const char *profile_acs_lift_to_string(ProfileAcsLift l) {
        return STRING_TABLE_TO_STRING(acs_lift_names, l);
}

ProfileAcsLift profile_acs_lift_from_string(const char *s) {
        return string_table_lookup(acs_lift_names, ELEMENTSOF(acs_lift_names), s);
}

/* [PCI] (issue 25): kept apart from the IOMMU keys above. */
static void handle_pci(ParseContext *ctx, const char *name, const char *value) {
        if (!streq(name, "LiftACSRedirect")) {
                parse_error(ctx, "unknown key '%s' in [PCI]; valid: LiftACSRedirect", name);
                return;
        }
        ProfileAcsLift l = profile_acs_lift_from_string(value);
        if (l < 0)
                parse_error(ctx, "LiftACSRedirect=%s is not valid; valid: no, gpu-paths", value);
        else
                ctx->profile->lift_acs_redirect = l;
}

static const char * const uki_addon_names[_PROFILE_UKI_ADDON_MAX] = {
        [PROFILE_UKI_ADDON_GLOBAL] = "global",
        [PROFILE_UKI_ADDON_PER_UKI] = "per-uki",
};

const char *profile_uki_addon_to_string(ProfileUkiAddon a) {
        return STRING_TABLE_TO_STRING(uki_addon_names, a);
}

ProfileUkiAddon profile_uki_addon_from_string(const char *s) {
        return string_table_lookup(uki_addon_names, ELEMENTSOF(uki_addon_names), s);
}

/* [UKI] (issue 23): the command-line add-on for unified kernel images. Paths are on the machine
 * that builds the add-on (an image builder signs with its own key), so they are taken as written,
 * and must be absolute. */
static void handle_uki(ParseContext *ctx, const char *name, const char *value) {
        Profile *p = ctx->profile;
        char **dest;

        if (streq(name, "Addon")) {
                ProfileUkiAddon a = profile_uki_addon_from_string(value);
                if (a < 0)
                        parse_error(ctx, "Addon=%s is not valid; valid: global, per-uki", value);
                else
                        p->uki_addon = a;
                return;
        }
        if (streq(name, "AddonStub"))
                dest = &p->uki_addon_stub;
        else if (streq(name, "SigningKey"))
                dest = &p->uki_signing_key;
        else if (streq(name, "SigningCertificate"))
                dest = &p->uki_signing_certificate;
        else {
                parse_error(ctx, "unknown key '%s' in [UKI]; valid: Addon, AddonStub, SigningKey, SigningCertificate", name);
                return;
        }
        if (value[0] != '/') {
                parse_error(ctx, "%s=%s is not an absolute path", name, value);
                return;
        }
        if (free_and_strdup(dest, value) < 0)
                ctx->ini->error = -ENOMEM;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        ParseContext *ctx = user;
        Profile *p = ctx->profile;
        int r;

        if (streq(section, "Profile")) {
                if (streq(name, "Include")) {
                        handle_include(ctx, value);
                        return 1;
                }
                ctx->setting_seen = true;
                if (streq(name, "Description")) {
                        if (free_and_strdup(&p->description, value) < 0)
                                ctx->ini->error = -ENOMEM;
                } else if (streq(name, "Mode")) {
                        ProfileMode m = profile_mode_from_string(value);
                        if (m < 0)
                                parse_error(ctx, "Mode=%s is not valid; valid: passthrough, lazy, strict, translated, off", value);
                        else
                                p->mode = m;
                } else
                        parse_error(ctx, "unknown key '%s' in [Profile]; valid: Description, Include, Mode", name);
                return 1;
        }

        ctx->setting_seen = true;
        if (streq(section, "KernelArgs")) {
                for (Vendor v = 0; v < _VENDOR_MAX; v++)
                        if (streq(name, vendor_keys[v])) {
                                handle_kernel_args(ctx, v, value);
                                return 1;
                        }
                parse_error(ctx, "unknown key '%s' in [KernelArgs]; valid: Intel, AMD, ARM64, Portable", name);
        } else if (streq(section, "Expect")) {
                if (streq(name, "Groups")) {
                        r = parse_yes_no(value);
                        if (r < 0)
                                return parse_error(ctx, "Groups=%s is not valid; valid: yes, no", value), 1;
                        p->expect_groups = r;
                        ctx->expect_groups_set = true;
                } else if (streq(name, "DomainType")) {
                        DomainType t = domain_type_from_string(value);
                        if (!(t == DOMAIN_IDENTITY || t == DOMAIN_DMA || t == DOMAIN_DMA_FQ || t == DOMAIN_NONE))
                                return parse_error(ctx, "DomainType=%s is not valid; valid: identity, DMA, DMA-FQ, none", value), 1;
                        p->expect_domain = t;
                        ctx->expect_domain_set = true;
                } else if (streq(name, "Firmware")) {
                        FirmwareRequirement f = firmware_requirement_from_string(value);
                        if (f < 0)
                                return parse_error(ctx, "Firmware=%s is not valid; valid: required, optional", value), 1;
                        p->expect_firmware = f;
                        ctx->expect_firmware_set = true;
                } else if (streq(name, "InterruptRemapping")) {
                        if (streq(value, "any"))
                                p->expect_interrupt_remapping = -1;
                        else if ((r = parse_yes_no(value)) >= 0)
                                p->expect_interrupt_remapping = r;
                        else
                                parse_error(ctx, "InterruptRemapping=%s is not valid; valid: yes, no, any", value);
                } else if (streq(name, "Modules")) {
                        strv_free(p->expect_modules);
                        if (strv_split(value, " \t", &p->expect_modules) < 0)
                                ctx->ini->error = -ENOMEM;
                } else
                        parse_error(ctx, "unknown key '%s' in [Expect]; valid: Groups, DomainType, Firmware, "
                                    "InterruptRemapping, Modules", name);
        } else if (streq(section, "PCI"))
                handle_pci(ctx, name, value);
        else if (streq(section, "UKI"))
                handle_uki(ctx, name, value);
        else
                ini_file_section_error(ctx->ini, section, "[Profile], [KernelArgs], [Expect], [PCI], [UKI]");
        return 1;
}

/* path names the file; rel, when set, is where it is inside the root (read through the handle). */
static int parse_file(ParseContext *ctx, const char *path, const char *rel) {
        IniFile ini = {}, *saved_ini = ctx->ini;
        bool saved_seen = ctx->setting_seen;
        int r;

        r = strv_extend(&ctx->profile->files, path);
        if (r < 0)
                return r;
        r = strv_extend(&ctx->stack, path);
        if (r < 0)
                return r;
        /* The path string lives as long as the profile: settings point to it. */
        ini.path = ctx->profile->files[strv_length(ctx->profile->files) - 1];
        ini.root = rel ? ctx->root : NULL;
        ini.root_file = rel;
        ctx->ini = &ini;
        ctx->setting_seen = false;

        r = ini_file_parse(&ini, handler, ctx);
        if (r == -ENOENT)
                r = log_error_errno(r, "Failed to open profile %s: %m", path);

        /* Pop the include stack. */
        free(ctx->stack[strv_length(ctx->stack) - 1]);
        ctx->stack[strv_length(ctx->stack) - 1] = NULL;
        ctx->ini = saved_ini;
        ctx->setting_seen = saved_seen;
        if (r < 0 && ctx->error == 0)
                ctx->error = r;
        return r;
}

/* passed: the vendors whose own line already passed this check. */
static int check_args_match_mode(const Profile *p, Vendor v, unsigned passed) {
        const ProfileArgs *a = &p->args[v];
        _cleanup_cmdline_ Cmdline *c = NULL;
        Vendor check[2] = { v, _VENDOR_INVALID };
        int r;

        if (v == VENDOR_PORTABLE) {
                check[0] = VENDOR_INTEL;
                check[1] = VENDOR_AMD;
        }
        r = cmdline_parse(a->text, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(check) && check[i] >= 0; i++) {
                _cleanup_(kernel_prediction_done) KernelPrediction k = {};

                /* The same tokens already passed on this vendor (Portable= often repeats Intel=):
                 * the same prediction, no message. */
                if ((passed & (1U << check[i])) && streq(p->args[check[i]].text, a->text))
                        continue;
                /* Judged on the newest kernel the model knows, with mainline defaults. */
                r = kernel_predict(NULL, check[i], c, &k);
                if (r < 0)
                        return r;
                if (p->mode == MODE_OFF ? !k.groups : profile_mode_accepts(p->mode, k.domain))
                        continue;
                log_error("%s:%u: %s=%s: on %s the kernel would end up with %s (%s), but Mode=%s promises %s",
                          a->file, a->line, vendor_keys[v], a->text, vendor_to_string(check[i]),
                          k.groups ? domain_type_to_string(k.domain) : "no IOMMU groups", k.reason,
                          profile_mode_to_string(p->mode),
                          p->mode == MODE_OFF ? "no IOMMU groups" : domain_type_to_string(profile_mode_domain(p->mode)));
                return -EINVAL;
        }
        return 0;
}

/* [Expect] settings a profile does not write follow from its Mode. */
static void profile_derive_expect(ParseContext *ctx) {
        Profile *p = ctx->profile;

        if (!ctx->expect_groups_set)
                p->expect_groups = p->mode != MODE_OFF;
        if (!ctx->expect_domain_set)
                p->expect_domain = profile_mode_domain(p->mode);
        if (!ctx->expect_firmware_set)
                p->expect_firmware = p->mode == MODE_OFF ? FIRMWARE_OPTIONAL : FIRMWARE_REQUIRED;
}

static bool profile_expect_domain_matches(const Profile *p) {
        return p->mode == MODE_OFF ? p->expect_domain == DOMAIN_NONE : profile_mode_accepts(p->mode, p->expect_domain);
}

static int profile_finish(ParseContext *ctx) {
        Profile *p = ctx->profile;
        unsigned passed = 0;
        int r = 0;

        if (p->mode < 0)
                return log_error_errno(-EINVAL, "%s: Mode= is not set; valid: passthrough, lazy, strict, translated, off", p->path);
        profile_derive_expect(ctx);

        if (p->expect_groups != (p->mode != MODE_OFF))
                r = log_error_errno(-EINVAL, "%s: Groups=%s contradicts Mode=%s", p->path, p->expect_groups ? "yes" : "no",
                                    profile_mode_to_string(p->mode));
        else if (!profile_expect_domain_matches(p))
                r = log_error_errno(-EINVAL, "%s: DomainType=%s contradicts Mode=%s", p->path,
                                    domain_type_to_string(p->expect_domain), profile_mode_to_string(p->mode));

        for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                if (!p->args[v].set)
                        continue;
                /* Also a check for people (lint, apply, plan), skipped at boot like the lint. */
                if (ctx->flags & PROFILE_LOAD_NO_LINT)
                        continue;
                if (check_args_match_mode(p, v, passed) < 0)
                        r = -EINVAL;
                else
                        passed |= 1U << v;
        }
        /* Without [KernelArgs] lines the kernel model chooses the tokens for Mode= (intent.h). */
        return r;
}

static int profile_load_path(const Root *root, const char *name, const char *path, const char *rel, ProfileLoadFlags flags,
                             Profile **ret) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_strv_free_ char **stack = NULL;
        ParseContext ctx = { .root = root, .flags = flags };
        int r;

        p = calloc(1, sizeof(Profile));
        if (!p)
                return log_oom();
        p->mode = _MODE_INVALID;
        p->expect_interrupt_remapping = -1;
        p->name = strdup(name);
        p->path = strdup(path);
        if (!p->name || !p->path)
                return log_oom();

        ctx.profile = p;
        r = parse_file(&ctx, path, rel);
        stack = ctx.stack;
        if (r < 0)
                return r;
        if (ctx.error < 0)
                return ctx.error;
        r = profile_finish(&ctx);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int profile_load(const Root *root, const char *name, Profile **ret) {
        return profile_load_full(root, name, 0, ret);
}

int profile_load_full(const Root *root, const char *name, ProfileLoadFlags flags, Profile **ret) {
        _cleanup_free_ char *path = NULL, *rel = NULL;
        int r;

        if (!profile_name_is_valid(name))
                return log_error_errno(-EINVAL, "'%s' is not a valid profile name (letters, digits, '.', '_', '-')", name);
        r = profile_find(root, name, NULL, &path, &rel);
        if (r == -ENOENT)
                return log_error_errno(r, "No profile '%s' found (see 'iommuctl profiles' for the search path).", name);
        if (r < 0)
                return log_error_errno(r, "Failed to look up profile '%s': %m", name);
        return profile_load_path(root, name, path, rel, flags, ret);
}

int profile_load_file(const Root *root, const char *path, Profile **ret) {
        _cleanup_free_ char *copy = strdup(path);
        char *name, *dot;

        if (!copy)
                return log_oom();
        name = basename(copy);
        dot = strrchr(name, '.');
        if (dot && streq(dot, ".conf"))
                *dot = '\0';
        return profile_load_path(root, name, path, NULL, 0, ret);
}

/* The boot path's reader (issue 24): the generator reads the selected profile at every boot, and
 * inih, its line copies and the general search cost more than the rest of its decision. A profile
 * as shipped or as people write it (sections, Key=Value lines, comments, blank lines) is read here
 * in one pass over the file, each setting handed to the loader's own handler; anything else
 * (Include=, [UKI], continuation or indented lines, inline comments, spaces around '=', a value
 * the loader would refuse, a symlink, a file only $IOMMUCTL_PROFILES_PATH or the shipped
 * directory has...) is declined, and the caller loads the profile with profile_load_full(), which
 * then logs what it logs. So both give the same Profile or the same failure. */

#define PROFILE_FILE_MAX (1024U * 1024U) /* ini-file.c's limit */

/* Whether a [KernelArgs] value is what handle_kernel_args() stores unchanged and accepts: tokens
 * of the characters cmdline_token_check_safe() allows, one space apart, none of them "--". */
static bool kernel_args_plain(const char *v) {
        static const char punct[] = "_-.,:=/+@%~";
        size_t l = 0;
        bool dashes = true;

        for (const char *p = v;; p++) {
                unsigned char u = (unsigned char) *p;

                if (u == ' ' || u == '\0') {
                        if (l == 0 || (l == 2 && dashes))
                                return false;
                        if (u == '\0')
                                return true;
                        l = 0;
                        dashes = true;
                        continue;
                }
                if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')) && !strchr(punct, u))
                        return false;
                dashes = dashes && u == '-';
                l++;
        }
}

/* Whether handler() takes section/name=value without an error (so without a message). */
static bool setting_plain(const char *section, const char *name, const char *value) {
        if (streq(section, "Profile"))
                return streq(name, "Description") || (streq(name, "Mode") && profile_mode_from_string(value) >= 0);
        if (streq(section, "Expect")) {
                if (streq(name, "Groups"))
                        return parse_yes_no(value) >= 0;
                if (streq(name, "DomainType")) {
                        DomainType t = domain_type_from_string(value);
                        return t == DOMAIN_IDENTITY || t == DOMAIN_DMA || t == DOMAIN_DMA_FQ || t == DOMAIN_NONE;
                }
                if (streq(name, "Firmware"))
                        return firmware_requirement_from_string(value) >= 0;
                if (streq(name, "InterruptRemapping"))
                        return streq(value, "any") || parse_yes_no(value) >= 0;
                return streq(name, "Modules");
        }
        if (streq(section, "PCI"))
                return streq(name, "LiftACSRedirect") && profile_acs_lift_from_string(value) >= 0;
        return false;
}

static bool profile_setting_boot_skips(const char *section, const char *name) {
        return (streq(section, "Profile") && streq(name, "Description")) ||
               (streq(section, "Expect") && streq(name, "Modules"));
}

typedef struct BootContext {
        ParseContext *ctx;
        bool declined;
} BootContext;

/* ini_file_parse_plain()'s handler: a setting the loader takes without a message goes to handler()
 * ([KernelArgs] lines stored as handle_kernel_args() stores them, without the lint the boot skips);
 * anything else declines the file. */
static int boot_handler(void *user, const char *section, const char *name, const char *value) {
        BootContext *b = user;
        ParseContext *ctx = b->ctx;

        if (b->declined)
                return 1;
        if (streq(section, "KernelArgs")) {
                for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                        ProfileArgs *a = &ctx->profile->args[v];

                        if (!streq(name, vendor_keys[v]))
                                continue;
                        if (!kernel_args_plain(value))
                                break;
                        ctx->setting_seen = true;
                        if (free_and_strdup(&a->text, value) < 0) {
                                ctx->ini->error = -ENOMEM;
                                return 1;
                        }
                        a->set = true;
                        a->file = ctx->ini->path;
                        a->line = ctx->ini->line;
                        return 1;
                }
                b->declined = true;
                return 1;
        }
        if (!setting_plain(section, name, value)) {
                b->declined = true;
                return 1;
        }
        /* Valid whatever they say, and read by nothing at boot: not copied (profile_load_boot()). */
        if (profile_setting_boot_skips(section, name)) {
                ctx->setting_seen = true;
                return 1;
        }
        return handler(ctx, section, name, value);
}

int profile_read_boot(const Root *root, const char *name, Profile **ret) {
        _cleanup_profile_ Profile *p = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        ParseContext ctx = { .root = root, .flags = PROFILE_LOAD_NO_LINT };
        BootContext boot = { .ctx = &ctx };
        IniFile ini = {};
        char rel[PATH_MAX];
        size_t size;
        int r;

        if (!profile_name_is_valid(name))
                return 0;
        /* The directories of the tree come first in the search path: the first that has the file
         * wins. A symlink there (ELOOP) has rules of its own (root_dropin_usable()): declined. */
        for (size_t i = 0; i < ELEMENTSOF(rooted) && fd < 0; i++) {
                strcpy(stpcpy(stpcpy(stpcpy(rel, rooted[i]), "/"), name), ".conf");
                r = root_open(root, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, &fd);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return 0;
        }
        if (fd < 0)
                return 0;
        r = read_fd_full(fd, PROFILE_FILE_MAX, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || data_check_nul(text, size, NULL) < 0)
                return 0;

        p = calloc(1, sizeof(Profile));
        if (!p)
                return -ENOMEM;
        p->mode = _MODE_INVALID;
        p->expect_interrupt_remapping = -1;
        p->name = strdup(name);
        p->path = root_display(root, rel);
        if (!p->name || !p->path || strv_extend(&p->files, p->path) < 0)
                return -ENOMEM;
        ini.path = p->files[0];
        ctx.profile = p;
        ctx.ini = &ini;

        /* Plain lines only (ini_file_parse_plain() checks them all before the first setting), each
         * setting as inih would hand it to the loader. */
        r = ini_file_parse_plain(&ini, text, size, boot_handler, &boot);
        if (ini.error == -ENOMEM)
                return -ENOMEM;
        if (r == 0 || boot.declined || ini.error < 0)
                return 0;
        if (p->mode < 0)
                return 0;
        profile_derive_expect(&ctx);
        if (p->expect_groups != (p->mode != MODE_OFF) || !profile_expect_domain_matches(p))
                return 0;
        *ret = TAKE_PTR(p);
        return 1;
}

int profile_load_boot(const Root *root, const char *name, Profile **ret) {
        int r;

        r = profile_read_boot(root, name, ret);
        if (r < 0)
                return log_oom();
        if (r > 0)
                return 0;
        r = profile_load_full(root, name, PROFILE_LOAD_NO_LINT, ret);
        if (r < 0)
                return r;
        /* What the small reader leaves out, left out here too: one Profile whichever read it. */
        (*ret)->description = mfree((*ret)->description);
        (*ret)->expect_modules = strv_free((*ret)->expect_modules);
        return 0;
}

int profile_kernel_args(const Profile *p, Vendor vendor, Cmdline **ret) {
        _cleanup_(intent_choice_done) IntentChoice c = {};
        int r;

        /* The profile's own line: what intent_profile_args() returns for it without a kernel,
         * without the explanation it writes for plan. */
        if (vendor >= 0 && vendor < _VENDOR_MAX && p->args[vendor].set)
                return cmdline_parse(p->args[vendor].text, ret);

        r = intent_profile_args(p, vendor, NULL, &c);
        if (r < 0)
                return r;
        if (!c.tokens)
                return -ENODATA;
        *ret = TAKE_PTR(c.tokens);
        return 0;
}

static int profile_owned_options(const char *key, const char *value, char ***keys) {
        for (const char *p = value; *p; ) {
                size_t n = strcspn(p, ","), name = strcspn(p, "=,");
                _cleanup_free_ char *o = NULL;

                if (n > 0) {
                        if (asprintf(&o, "%s=%.*s", key, (int) name, p) < 0)
                                return -ENOMEM;
                        if (!strv_contains(*keys, o) && strv_consume(keys, TAKE_PTR(o)) < 0)
                                return -ENOMEM;
                }
                p += n + (p[n] == ',');
        }
        return 0;
}

bool profile_owned_keys_are_static(const Profile *p) {
        /* profile_owned_keys() adds nothing to iommu_owned_keys when every key the profile writes
         * is one of them and none brings options of its own (pci=...): what the generator checks
         * before it copies the list. Anything else, or a key too long for the buffer, says false. */
        for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                if (!p->args[v].set)
                        continue;
                for (const char *t = p->args[v].text; *t;) {
                        size_t len = strcspn(t, " "), kl = 1 + strcspn(t + 1, "= ");
                        bool have = false;
                        char key[64];

                        if (kl >= sizeof(key))
                                return false;
                        memcpy(key, t, kl);
                        key[kl] = '\0';
                        if (cmdline_key_has_owned_options(key, iommu_owned_keys)) {
                                if (kl < len)
                                        return false;
                        } else {
                                for (char * const *k = iommu_owned_keys; *k && !have; k++)
                                        have = cmdline_key_equal(*k, key);
                                if (!have)
                                        return false;
                        }
                        t += len + (t[len] == ' ');
                }
        }
        return true;
}

int profile_owned_keys(const Profile *p, char ***ret) {
        _cleanup_strv_free_ char **keys = NULL;
        size_t n = 0, allocated = 0;
        int r;

        STRV_FOREACH(k, iommu_owned_keys) {
                r = strv_consume_n(&keys, &n, &allocated, strdup(*k));
                if (r < 0)
                        return r;
        }
        for (Vendor v = 0; v < _VENDOR_MAX; v++) {
                if (!p->args[v].set)
                        continue;
                /* The text is what handle_kernel_args() stored: cmdline_to_string() of tokens that
                 * passed cmdline_check_safe() (no quotes, no blanks), one space apart. So each token
                 * is key or key=value as written, without parsing it again (the generator runs this
                 * at every boot). */
                for (const char *t = p->args[v].text; *t;) {
                        /* As next_arg() splits: at the first '=' after the first character. */
                        size_t len = strcspn(t, " "), kl = 1 + strcspn(t + 1, "= ");
                        _cleanup_free_ char *key = strndup(t, kl);
                        bool have = false;

                        if (!key)
                                return -ENOMEM;
                        for (char *c = key; *c; c++)
                                if (*c == '-')
                                        *c = '_';
                        /* A key owned by options (pci=) gains the options the profile writes, never the key. */
                        if (cmdline_key_has_owned_options(key, keys)) {
                                if (kl < len) {
                                        _cleanup_free_ char *value = strndup(t + kl + 1, len - kl - 1);
                                        if (!value)
                                                return -ENOMEM;
                                        r = profile_owned_options(key, value, &keys);
                                        if (r < 0)
                                                return r;
                                        n = strv_length(keys);
                                        allocated = n + 1; /* grown by profile_owned_options() one by one */
                                }
                        } else {
                                for (size_t i = 0; i < n && !have; i++)
                                        have = cmdline_key_equal(keys[i], key);
                                if (!have && (r = strv_consume_n(&keys, &n, &allocated, TAKE_PTR(key))) < 0)
                                        return r;
                        }
                        t += len + (t[len] == ' ');
                }
        }
        *ret = TAKE_PTR(keys);
        return 0;
}

void profile_list_free(ProfileListEntry *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].name);
                free(l[i].path);
                strv_free(l[i].shadowed);
        }
        free(l);
}

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const ProfileListEntry *) a)->name, ((const ProfileListEntry *) b)->name);
}

int profile_list(const Root *root, ProfileListEntry **ret, size_t *ret_n) {
        SearchDir *dirs = NULL;
        ProfileListEntry *l = NULL;
        size_t n = 0;
        int r;

        r = search_dirs(root, &dirs);
        if (r < 0)
                return r;
        for (SearchDir *d = dirs; d->display; d++) {
                _cleanup_strv_free_ char **names = NULL;

                if (d->rel)
                        r = root_list_dir(root, d->rel, ".conf", &names);
                else {
                        _cleanup_close_ int fd = open(d->display, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        r = fd < 0 ? -errno : dir_list_sorted(fd, ".conf", &names);
                }
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0)
                        continue;
                STRV_FOREACH(de, names) {
                        _cleanup_free_ char *name = NULL, *file = NULL, *rel = NULL;
                        ProfileListEntry *e = NULL;

                        name = strndup(*de, strlen(*de) - 5);
                        if (!name || asprintf(&file, "%s/%s", d->display, *de) < 0 ||
                            (d->rel && asprintf(&rel, "%s/%s", d->rel, *de) < 0))
                                goto oom;
                        if (!profile_name_is_valid(name))
                                continue;
                        if (rel && !root_dropin_usable(root, rel))
                                continue;
                        for (size_t i = 0; i < n; i++)
                                if (streq(l[i].name, name))
                                        e = &l[i];
                        if (e) {
                                if (strv_consume(&e->shadowed, TAKE_PTR(file)) < 0)
                                        goto oom;
                                continue;
                        }
                        e = realloc(l, sizeof(ProfileListEntry) * (n + 1));
                        if (!e)
                                goto oom;
                        l = e;
                        l[n++] = (ProfileListEntry) { .name = TAKE_PTR(name), .path = TAKE_PTR(file) };
                }
        }
        search_dirs_free(dirs);
        if (n > 0)
                qsort(l, n, sizeof(ProfileListEntry), entry_compare);
        *ret = l;
        *ret_n = n;
        return 0;
oom:
        search_dirs_free(dirs);
        profile_list_free(l, n);
        return -ENOMEM;
}

int profile_format_resolved(const Profile *p, char **ret) {
        _cleanup_free_ char *out = NULL, *modules = NULL;
        size_t size = 0;
        FILE *f;

        modules = strv_join(p->expect_modules, " ");
        if (!modules)
                return -ENOMEM;
        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        /* Every value the profile ends up with, [Expect] ones derived from Mode included: loading
         * this gives the same Profile, with no Include= left to look up. */
        fprintf(f, "# The IOMMU profile %s as iommuctl resolved it, includes flattened, from:\n", p->name);
        STRV_FOREACH(file, p->files)
                fprintf(f, "#   %s\n", *file);
        fprintf(f, "[Profile]\n");
        if (p->description)
                fprintf(f, "Description=%s\n", p->description);
        fprintf(f, "Mode=%s\n", profile_mode_to_string(p->mode));
        fprintf(f, "\n[KernelArgs]\n");
        for (Vendor v = 0; v < _VENDOR_MAX; v++)
                if (p->args[v].set)
                        fprintf(f, "%s=%s\n", vendor_keys[v], p->args[v].text);
        fprintf(f, "\n[Expect]\nGroups=%s\nDomainType=%s\nFirmware=%s\nInterruptRemapping=%s\n",
                p->expect_groups ? "yes" : "no", domain_type_to_string(p->expect_domain),
                firmware_requirement_to_string(p->expect_firmware),
                p->expect_interrupt_remapping < 0 ? "any" : p->expect_interrupt_remapping ? "yes" : "no");
        if (!isempty(modules))
                fprintf(f, "Modules=%s\n", modules);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}
