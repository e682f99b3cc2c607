/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The grub.cfg menu: no crash; every item's parent comes before it and is a submenu; the '>' path
 * of indexes of every bootable item resolves back to that item, as GRUB's default would. */
#include <stdio.h>
#include <stdint.h>

#include "bootspec.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        GrubMenu m = {};

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (memchr(data, 0, size))
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                abort();
        if (bootspec_parse_grub_cfg(s, &m) < 0)
                abort();
        for (size_t i = 0; i < m.n_items; i++) {
                const GrubMenuItem *it = &m.items[i];
                char path[512] = "";
                size_t chain[64], n = 0, found;

                if (it->parent != SIZE_MAX && (it->parent >= i || !m.items[it->parent].submenu))
                        abort();
                if (it->submenu || it->blscfg)
                        continue;
                for (size_t k = i; k != SIZE_MAX && n < ELEMENTSOF(chain); k = m.items[k].parent)
                        chain[n++] = k;
                for (size_t k = n; k-- > 0;)
                        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%u", k + 1 < n ? ">" : "",
                                 m.items[chain[k]].index);
                /* blscfg items take indexes too; their expansion is the loader's, not the parser's. */
                if (bootspec_grub_resolve(&m, path, &found) >= 0 && found != i) {
                        bool blscfg_sibling = false;
                        for (size_t k = 0; k < m.n_items; k++)
                                blscfg_sibling = blscfg_sibling || m.items[k].blscfg;
                        if (!blscfg_sibling)
                                abort();
                }
        }
        grub_menu_done(&m);
        return 0;
}
