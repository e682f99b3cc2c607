/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dlfcn.h>

#include "macro.h"

/* The optional libraries (libkmod, libsystemd's journal, libefivar) are dlopen()ed by the code
 * paths that use them, as systemd does with its optional libraries: a verb that never calls one
 * (lint, plan, cmdline, export, groups, a verify that finds no module directory) does not pay for
 * mapping and relocating it. Headers and cflags still come from pkg-config; the packages name the
 * libraries in their dependencies (packaging/debian/control, packaging/rpm/iommuctl.spec).
 *
 * Each user keeps a handle and one function pointer per symbol, declared with the library's own
 * prototype so the compiler checks every call:
 *
 *         static void *kmod_dl;
 *         static typeof(kmod_new) *sym_kmod_new;
 *         r = dlopen_many_sym_or_warn(&kmod_dl, "libkmod.so.2", LOG_LEVEL_WARNING,
 *                                     DLSYM_ARG(kmod_new), ...);
 *
 * The library is opened and its symbols resolved once; later calls return at once (0, or the
 * same error without logging again). On failure the message names the library and what is
 * missing (dlerror()), and the result is -EOPNOTSUPP. */
int dlopen_many_sym_or_warn_sentinel(void **dlp, const char *filename, int log_level, ...) __attribute__((sentinel));
#define dlopen_many_sym_or_warn(dlp, filename, log_level, ...) \
        dlopen_many_sym_or_warn_sentinel(dlp, filename, log_level, __VA_ARGS__, NULL)

#define DLSYM_ARG(name) (void **) &sym_##name, #name
