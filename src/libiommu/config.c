/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <limits.h>

#include "config.h"
#include "fileio.h"
#include "ini-file.h"
#include "log.h"
#include "profile.h"
#include "strv.h"

typedef struct ConfigContext {
        Config *config;
        IniFile ini;
        bool selection; /* the file iommuctl apply writes: [IOMMU] Profile= and Vendor= only */
} ConfigContext;

static int parse_bool_setting(const char *v) {
        if (streq(v, "yes") || streq(v, "true") || streq(v, "1") || streq(v, "on"))
                return 1;
        if (streq(v, "no") || streq(v, "false") || streq(v, "0") || streq(v, "off"))
                return 0;
        return -EINVAL;
}

static int set_bool(ConfigContext *ctx, bool *b, const char *name, const char *value) {
        int r = parse_bool_setting(value);
        if (r < 0)
                ini_file_error(&ctx->ini, "%s=%s is not a boolean (yes or no)", name, value);
        else
                *b = r;
        return 1;
}

static int set_string(ConfigContext *ctx, char **s, const char *value) {
        if (free_and_strdup(s, isempty(value) ? NULL : value) < 0)
                ctx->ini.error = -ENOMEM;
        return 1;
}

bool reboot_sentinel_path_is_valid(const char *path) {
        const char *rest;

        rest = startswith(path, "/run/") ?: startswith(path, "/var/run/");
        if (!rest || isempty(rest) || strlen(path) >= PATH_MAX)
                return false;
        /* Normalized: no empty, "." or ".." component, no trailing slash. */
        for (const char *p = rest;;) {
                size_t n = strcspn(p, "/");

                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (p[n] == '\0')
                        return true;
                p += n + 1;
        }
}

static int parse_setting(void *user, const char *section, const char *name, const char *value) {
        ConfigContext *ctx = user;
        Config *c = ctx->config;

        if (ctx->selection && !streq(section, "IOMMU")) {
                ini_file_section_error(&ctx->ini, section, "[IOMMU] (this file is written by 'iommuctl apply')");
                return 1;
        }
        if (streq(section, "IOMMU")) {
                if (streq(name, "Profile")) {
                        if (!isempty(value) && !profile_name_is_valid(value)) {
                                ini_file_error(&ctx->ini, "Profile=%s is not a valid profile name (letters, digits, '.', '_', '-')", value);
                                return 1;
                        }
                        if (ctx->selection && c->profile && !streq(c->profile, value)) {
                                free(c->profile_overridden);
                                c->profile_overridden = TAKE_PTR(c->profile);
                                c->profile_overridden_from = c->profile_from;
                        }
                        c->profile_from = isempty(value) ? NULL : ctx->ini.path;
                        return set_string(ctx, &c->profile, value);
                }
                if (streq(name, "Vendor")) {
                        c->vendor_from = isempty(value) || streq(value, "auto") ? NULL : ctx->ini.path;
                        if (isempty(value) || streq(value, "auto")) {
                                c->vendor = _VENDOR_INVALID;
                                return 1;
                        }
                        c->vendor = vendor_from_string(value);
                        if (c->vendor < 0)
                                ini_file_error(&ctx->ini, "Vendor=%s is not valid; valid: auto, intel, amd, arm64, portable", value);
                        return 1;
                }
        } else if (streq(section, "Apply")) {
                if (streq(name, "Entries"))
                        return set_string(ctx, &c->entries, value);
                if (streq(name, "Backends")) {
                        c->backends = strv_free(c->backends);
                        if (!isempty(value) && !streq(value, "auto") && strv_split(value, " \t,", &c->backends) < 0)
                                ctx->ini.error = -ENOMEM;
                        return 1;
                }
                if (streq(name, "BootloaderUpdate"))
                        return set_bool(ctx, &c->bootloader_update, name, value);
                if (streq(name, "Reboot"))
                        return set_bool(ctx, &c->reboot, name, value);
                if (streq(name, "Automatic"))
                        return set_bool(ctx, &c->automatic, name, value);
                if (streq(name, "RebootSentinel")) {
                        if (!isempty(value) && !reboot_sentinel_path_is_valid(value)) {
                                ini_file_error(&ctx->ini, "RebootSentinel=%s is not a normalized absolute path under /run or "
                                               "/var/run (a sentinel the reboot does not clear would make kured reboot "
                                               "again and again)", value);
                                return 1;
                        }
                        return set_string(ctx, &c->reboot_sentinel, value);
                }
        } else if (streq(section, "Boot")) {
                if (streq(name, "Enforce"))
                        return set_bool(ctx, &c->enforce, name, value);
                if (streq(name, "Generator"))
                        return set_bool(ctx, &c->generator, name, value);
        } else if (streq(section, "Publish")) {
                if (streq(name, "NodeFeatureDiscovery"))
                        return set_bool(ctx, &c->publish_nfd, name, value);
                if (streq(name, "NodeFeatureDiscoveryPath"))
                        return set_string(ctx, &c->nfd_path, value);
                if (streq(name, "Prometheus"))
                        return set_bool(ctx, &c->publish_prometheus, name, value);
                if (streq(name, "PrometheusPath"))
                        return set_string(ctx, &c->prometheus_path, value);
        } else {
                ini_file_section_error(&ctx->ini, section, "[IOMMU], [Apply], [Boot], [Publish]");
                return 1;
        }
        ini_file_error(&ctx->ini, "unknown key '%s' in [%s] (see iommu.conf(5))", name, section);
        return 1;
}

static void origin_done(ConfigOrigin *o) {
        free(o->key);
        free(o->value);
}

static int origin_append(ConfigOrigin **list, size_t *n, ConfigOrigin o) {
        ConfigOrigin *l = reallocarray(*list, *n + 1, sizeof(ConfigOrigin));

        if (!l)
                return -ENOMEM;
        l[(*n)++] = o;
        *list = l;
        return 0;
}

/* Records where a key was set (provenance): the earlier setting of the key moves to the shadowed
 * list when this one changes its value. */
static int record_origin(ConfigContext *ctx, const char *section, const char *name, const char *value) {
        Config *c = ctx->config;
        ConfigOrigin o = { .file = ctx->ini.path, .line = ctx->ini.line, .selection = ctx->selection };
        ConfigOrigin *old = NULL;

        size_t ls = strlen(section), ln = strlen(name);

        /* "Section.Name", without printf (the generator loads the configuration at every boot). */
        o.key = malloc(ls + 1 + ln + 1);
        if (!o.key)
                return -ENOMEM;
        memcpy(o.key, section, ls);
        o.key[ls] = '.';
        memcpy(o.key + ls + 1, name, ln + 1);
        o.value = strdup(value);
        if (!o.value) {
                free(o.key);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_origins; i++)
                if (streq(c->origins[i].key, o.key))
                        old = &c->origins[i];
        if (!old) {
                if (origin_append(&c->origins, &c->n_origins, o) < 0) {
                        origin_done(&o);
                        return -ENOMEM;
                }
                return 0;
        }
        /* The same value again in a later file: that file is where it comes from now, nothing is lost. */
        if (!streq(old->value, o.value) && old->file != o.file) {
                if (origin_append(&c->shadowed, &c->n_shadowed, *old) < 0) {
                        origin_done(&o);
                        return -ENOMEM;
                }
        } else
                origin_done(old);
        *old = o;
        return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        ConfigContext *ctx = user;
        int error = ctx->ini.error;

        parse_setting(user, section, name, value);
        /* Only settings that were accepted have an origin. */
        if (ctx->ini.error == error && error == 0 && record_origin(ctx, section, name, value) < 0)
                ctx->ini.error = -ENOMEM;
        return 1;
}

const ConfigOrigin *config_origin(const Config *c, const char *key) {
        for (size_t i = 0; i < c->n_origins; i++)
                if (streq(c->origins[i].key, key))
                        return &c->origins[i];
        return NULL;
}

int config_origin_describe(const ConfigOrigin *o, char **ret) {
        if (asprintf(ret, "%s:%u%s", o->file, o->line,
                     o->selection ? " (the selection recorded by 'iommuctl apply')" : "") < 0)
                return -ENOMEM;
        return 0;
}

size_t config_warn_shadowed(const Config *c) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_shadowed; i++) {
                const ConfigOrigin *s = &c->shadowed[i], *next = NULL;
                const char *key = strchr(s->key, '.') + 1;

                /* The setting that overrode this one: the next shadowed one of the key, or the one in effect. */
                for (size_t j = i + 1; j < c->n_shadowed && !next; j++)
                        if (streq(c->shadowed[j].key, s->key))
                                next = &c->shadowed[j];
                if (!next)
                        next = config_origin(c, s->key);
                if (!next)
                        continue;
                if (next->selection && !s->selection) {
                        /* Only the value the configuration would use disagrees with the selection. */
                        if (next != config_origin(c, s->key))
                                continue;
                        log_warning("%s:%u: %s=%s is overridden by the selection 'iommuctl apply --profile' recorded in "
                                    "%s:%u (%s=%s); 'iommuctl rollback' or removing that file lets the configuration "
                                    "decide again.", s->file, s->line, key, s->value, next->file, next->line, key,
                                    next->value);
                        n++;
                } else if (!endswith(s->file, CONFIG_FILE) && !s->selection) {
                        /* iommu.conf is there to be overridden by drop-ins; a drop-in overridden by another
                         * is what configuration management did not mean. */
                        log_warning("%s:%u: %s=%s is shadowed by %s=%s in %s:%u.", s->file, s->line, key, s->value,
                                    key, next->value, next->file, next->line);
                        n++;
                }
        }
        return n;
}

/* Profile_from and vendor_from point into c->files, so the path (ROOT/path, for messages) is added
 * there first. The file is read through the root handle. */
static int config_parse_file(Config *c, const Root *root, const char *path, bool selection) {
        ConfigContext ctx = { .config = c, .selection = selection };
        size_t n = strv_length(c->files);
        char *name;
        int r;

        name = root_display(root, path);
        if (!name)
                return -ENOMEM;
        r = strv_consume(&c->files, name);
        if (r < 0)
                return r;
        ctx.ini.path = c->files[n];
        ctx.ini.root = root;
        ctx.ini.root_file = path;
        r = ini_file_parse(&ctx.ini, handler, &ctx);
        if (r == -ENOENT) {
                c->files[n] = mfree(c->files[n]);
                return 0;
        }
        return r;
}

int config_selection_contents(const char *profile, Vendor vendor, char **ret) {
        char *s;

        assert(profile);
        if (asprintf(&s,
                     "# Written by 'iommuctl apply': the profile this node boots with. Read after iommu.conf\n"
                     "# and iommu.conf.d/, so it wins over Profile= and Vendor= there; 'iommuctl rollback'\n"
                     "# restores the previous selection, and removing this file lets iommu.conf decide.\n"
                     "# See iommu.conf(5).\n"
                     "[IOMMU]\n"
                     "Profile=%s\n"
                     "%s%s%s",
                     profile, vendor >= 0 ? "Vendor=" : "", vendor >= 0 ? vendor_to_string(vendor) : "",
                     vendor >= 0 ? "\n" : "") < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int config_load(const Root *root, Config *ret) {
        _cleanup_strv_free_ char **dropins = NULL;
        Config c = {
                .vendor = _VENDOR_INVALID,
                .bootloader_update = true,
                .generator = true,
        };
        int r;

        r = config_parse_file(&c, root, CONFIG_FILE, false);
        if (r < 0)
                goto fail;

        /* Drop-ins in bytewise order. One that is a symlink is followed inside the root only
         * (root_dropin_usable()): a link to a file of this machine is ignored, named, never read. */
        r = root_list_dir(root, CONFIG_DROPIN_DIR, ".conf", &dropins);
        if (r < 0 && r != -ENOENT && r != -ENOTDIR) {
                _cleanup_free_ char *dir = root_display(root, CONFIG_DROPIN_DIR);
                log_error_errno(r, "Failed to list %s: %m", strna(dir));
                goto fail;
        }
        STRV_FOREACH(f, dropins) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", CONFIG_DROPIN_DIR, *f) < 0) {
                        r = log_oom();
                        goto fail;
                }
                if (!root_dropin_usable(root, path))
                        continue;
                r = config_parse_file(&c, root, path, false);
                if (r < 0)
                        goto fail;
        }
        r = config_parse_file(&c, root, CONFIG_SELECTION_FILE, true);
        if (r < 0)
                goto fail;
        if (c.profile_overridden && c.profile && streq(c.profile_overridden, c.profile))
                c.profile_overridden = mfree(c.profile_overridden);
        *ret = c;
        return 0;
fail:
        config_done(&c);
        return r;
}

void config_done(Config *c) {
        free(c->profile);
        free(c->entries);
        free(c->reboot_sentinel);
        strv_free(c->backends);
        free(c->nfd_path);
        free(c->prometheus_path);
        strv_free(c->files);
        free(c->profile_overridden);
        for (size_t i = 0; i < c->n_origins; i++)
                origin_done(&c->origins[i]);
        free(c->origins);
        for (size_t i = 0; i < c->n_shadowed; i++)
                origin_done(&c->shadowed[i]);
        free(c->shadowed);
        *c = (Config) {};
}
