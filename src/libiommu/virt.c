/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "virt.h"

int container_detect(const Root *root, char **ret) {
        _cleanup_free_ char *line = NULL, *env = NULL;
        size_t n = 0;
        int r;

        r = read_root_line(root, "/run/systemd/container", &line);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && !isempty(line)) {
                *ret = TAKE_PTR(line);
                return 1;
        }
        /* NUL-separated; PID 1's environment is root's to read. */
        r = read_root_file(root, "/proc/1/environ", 1024 * 1024, &env, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
                const char *v = startswith(env + i, "container=");
                if (v && !isempty(v)) {
                        *ret = strdup(v);
                        return *ret ? 1 : -ENOMEM;
                }
        }
        return 0;
}
