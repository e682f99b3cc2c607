/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libkmod.h>

#include "dlfcn-util.h"
#include "fileio.h"
#include "log.h"
#include "modules.h"
#include "strv.h"

const char * const modules_always[] = { "vfio_pci", "vfio_iommu_type1", "nvidia_peermem", NULL };

/* libkmod is loaded when there is a module directory to look into, not at start-up. */
static void *kmod_dl;
static typeof(kmod_new) *sym_kmod_new;
static typeof(kmod_unref) *sym_kmod_unref;
static typeof(kmod_set_log_priority) *sym_kmod_set_log_priority;
static typeof(kmod_module_new_from_lookup) *sym_kmod_module_new_from_lookup;
static typeof(kmod_module_get_module) *sym_kmod_module_get_module;
static typeof(kmod_module_get_path) *sym_kmod_module_get_path;
static typeof(kmod_module_unref) *sym_kmod_module_unref;
static typeof(kmod_module_unref_list) *sym_kmod_module_unref_list;

static int dlopen_libkmod(void) {
        return dlopen_many_sym_or_warn(&kmod_dl, "libkmod.so.2", LOG_LEVEL_WARNING,
                                       DLSYM_ARG(kmod_new),
                                       DLSYM_ARG(kmod_unref),
                                       DLSYM_ARG(kmod_set_log_priority),
                                       DLSYM_ARG(kmod_module_new_from_lookup),
                                       DLSYM_ARG(kmod_module_get_module),
                                       DLSYM_ARG(kmod_module_get_path),
                                       DLSYM_ARG(kmod_module_unref),
                                       DLSYM_ARG(kmod_module_unref_list));
}

static inline void kmod_unrefp(struct kmod_ctx **c) {
        if (*c)
                sym_kmod_unref(*c);
}

static inline void kmod_module_unref_listp(struct kmod_list **l) {
        if (*l)
                sym_kmod_module_unref_list(*l);
}

bool proc_modules_has(const char *text, const char *name) {
        size_t l = strlen(name);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strneq(p, name, l) && (p[l] == ' ' || p[l] == '\t'))
                        return true;
        return false;
}

/* 1 available (ret_builtin says how), 0 not, -1 could not look. */
static int module_lookup(struct kmod_ctx *ctx, const char *name, bool *ret_builtin) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;
        struct kmod_module *m;
        int r;

        r = sym_kmod_module_new_from_lookup(ctx, name, &list);
        if (r < 0)
                return -1;
        if (!list)
                return 0;
        m = sym_kmod_module_get_module(list);
        /* Built-in modules have no file: modules.builtin lists them. */
        *ret_builtin = !sym_kmod_module_get_path(m);
        sym_kmod_module_unref(m);
        return 1;
}

static int find_module_dir(Observation *o, char **ret) {
        static const char * const bases[] = { "/lib/modules", "/usr/lib/modules" };

        *ret = NULL;
        if (!o->release)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", bases[i], o->release) < 0)
                        return -ENOMEM;
                if (root_exists(o->root, p)) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return 0;
}

int modules_observe(Observation *o, char * const *names) {
        _cleanup_close_ int moddir_fd = -1; /* declared first: closed after ctx is unref'd */
        _cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_strv_free_ char **all = NULL;
        _cleanup_free_ char *proc = NULL, *unsafe = NULL;
        int r;

        STRV_FOREACH(n, names) {
                char *norm;
                r = module_name_normalize(*n, &norm);
                if (r < 0)
                        return r;
                if (strv_contains(all, norm))
                        free(norm);
                else if ((r = strv_consume(&all, norm)) < 0)
                        return r;
        }
        for (size_t i = 0; modules_always[i]; i++)
                if (!strv_contains(all, modules_always[i]) && (r = strv_extend(&all, modules_always[i])) < 0)
                        return r;

        r = read_root_file(o->root, "/proc/modules", 4 * 1024 * 1024, &proc, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT && (r = observation_note_unreadable(o, "/proc/modules", r)) < 0)
                return r;

        r = find_module_dir(o, &o->modules.directory);
        if (r < 0)
                return r;
        /* Without libkmod (logged, naming it) availability stays unknown, as without a directory. */
        if (o->modules.directory && dlopen_libkmod() >= 0) {
                /* libkmod takes a directory name: hand it the directory opened through the root
                 * handle, as /proc/self/fd/N, never a path built from the root. */
                char full[64];
                if (root_open(o->root, o->modules.directory, O_PATH | O_DIRECTORY, &moddir_fd) >= 0) {
                        snprintf(full, sizeof(full), "/proc/self/fd/%d", moddir_fd);
                        ctx = sym_kmod_new(full, NULL);
                }
                /* libkmod logs to stderr by default; the verdict says what matters. */
                if (ctx)
                        sym_kmod_set_log_priority(ctx, 0);
        }

        o->modules.modules = calloc(strv_length(all), sizeof(ModuleState));
        if (!o->modules.modules)
                return -ENOMEM;
        STRV_FOREACH(n, all) {
                ModuleState *m = &o->modules.modules[o->modules.n_modules++];
                _cleanup_free_ char *sysdir = NULL;

                *m = (ModuleState) { .available = -1 };
                m->name = strdup(*n);
                if (!m->name || asprintf(&sysdir, "/sys/module/%s", *n) < 0)
                        return -ENOMEM;
                /* /sys/module/<name> also exists for built-in modules with parameters. */
                m->loaded = (proc && proc_modules_has(proc, *n)) || root_exists(o->root, sysdir);
                if (ctx)
                        m->available = module_lookup(ctx, *n, &m->builtin);
                if (m->available > 0 && m->builtin)
                        m->loaded = true;
        }

        r = read_root_line(o->root, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", &unsafe);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                o->modules.allow_unsafe_interrupts = unsafe[0] == 'Y' || unsafe[0] == 'y' || unsafe[0] == '1';
        else if (r != -ENOENT && (r = observation_note_unreadable(o, "vfio_iommu_type1 allow_unsafe_interrupts", r)) < 0)
                return r;
        return 0;
}
