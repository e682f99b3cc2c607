/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "dlfcn-util.h"
#include "log.h"

/* A handle that could not be opened: later calls fail the same way, without logging again. */
static char dl_failed;

int dlopen_many_sym_or_warn_sentinel(void **dlp, const char *filename, int log_level, ...) {
        void *dl;
        va_list ap;

        if (*dlp == &dl_failed)
                return -EOPNOTSUPP;
        if (*dlp)
                return 0;
        dl = dlopen(filename, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                *dlp = &dl_failed;
                log_internal(log_level, 0, "%s is not installed or cannot be loaded (%s).", filename, dlerror());
                return -EOPNOTSUPP;
        }
        va_start(ap, log_level);
        for (;;) {
                void **sym = va_arg(ap, void **);
                const char *name;

                if (!sym)
                        break;
                name = va_arg(ap, const char *);
                *sym = dlsym(dl, name);
                if (!*sym) {
                        va_end(ap);
                        log_internal(log_level, 0, "%s lacks %s (%s): too old?", filename, name, dlerror());
                        dlclose(dl);
                        *dlp = &dl_failed;
                        return -EOPNOTSUPP;
                }
        }
        va_end(ap);
        *dlp = dl;
        return 0;
}
