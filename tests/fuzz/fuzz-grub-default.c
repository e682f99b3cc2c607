/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GRUB_DEFAULT in a GRUB defaults file, decoded by the one GRUB lexer, then resolved in a fixed
 * Debian menu: no crash, and a resolved default is a bootable entry, never a submenu. */
#include <stdint.h>

#include "boot-grub.h"
#include "bootspec.h"
#include "fileio.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char menu_cfg[] =
        "menuentry 'Debian GNU/Linux' $menuentry_id_option 'gnulinux-simple-u' {\n linux /k a\n}\n"
        "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-u' {\n"
        " menuentry 'Debian GNU/Linux, with Linux 6.1' $menuentry_id_option 'gnulinux-6.1-advanced-u' {\n  linux /k b\n }\n"
        " submenu 'Nested' --id nested {\n  menuentry 'Deep' --id deep {\n   linux /k c\n  }\n }\n"
        "}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL, *v = NULL;
        static GrubMenu m;
        static bool parsed;
        unsigned line = 0;
        size_t k;
        int r;

        log_set_max_level(LOG_LEVEL_ERROR - 1);
        if (!parsed && bootspec_parse_grub_cfg(menu_cfg, &m) < 0)
                abort();
        parsed = true;
        if (memchr(data, 0, size))
                return 0;
        s = strndup((const char *) data, size);
        if (!s)
                abort();
        r = grub_defaults_value("fuzz", s, "GRUB_DEFAULT", "0", &v, &line);
        if (r == -ENOMEM)
                abort();
        /* The raw text as a default too: saved_entry and next_entry reach the resolver unparsed. */
        for (int pass = 0; pass < 2; pass++) {
                const char *spec = pass == 0 ? s : v;
                if (!spec)
                        continue;
                if (bootspec_grub_resolve(&m, spec, &k) >= 0 && (k >= m.n_items || m.items[k].submenu))
                        abort();
        }
        return 0;
}
