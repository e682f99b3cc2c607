/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What iommuctl's readers decode from a file, for test-parsers-shell.py to compare with the
 * programs that really read it (dash, bash, bootctl, kernel-install):
 *   parsers-probe grub FILE NAME   the value NAME has after sh sources FILE (from unset);
 *                                  exit 2 when the lexer refuses the file, 3 when the value
 *                                  depends on what the file sources or runs
 *   parsers-probe bls FILE         the entry's "options" lines joined, as boot loaders join them
 *   parsers-probe tokens FILE      the kernel's tokens of the file's contents, one per line, then
 *                                  "--" and init's part if there is one */
#include <stdio.h>

#include "boot-bls.h"
#include "boot-grub.h"
#include "fileio.h"
#include "log.h"

int main(int argc, char **argv) {
        _cleanup_free_ char *text = NULL, *v = NULL;
        int r;

        if (argc < 3)
                return 1;
        log_set_max_level(LOG_LEVEL_ERROR - 1);
        r = read_full_file(argv[2], 1 << 20, &text, NULL);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[2], strerror(-r));
                return 1;
        }
        if (streq(argv[1], "grub") && argc == 4) {
                r = grub_defaults_final_value(argv[2], text, argv[3], NULL, &v);
                if (r == -EUCLEAN)
                        return 3;
                if (r < 0)
                        return 2;
                fputs(v, stdout);
                return 0;
        }
        if (streq(argv[1], "bls")) {
                r = bls_entry_options(text, &v);
                if (r < 0)
                        return 1;
                fputs(v ?: "", stdout);
                return 0;
        }
        if (streq(argv[1], "tokens")) {
                _cleanup_cmdline_ Cmdline *c = NULL;
                r = cmdline_parse(text, &c);
                if (r < 0)
                        return 1;
                for (size_t i = 0; i < c->n_tokens; i++)
                        printf("%s\n", c->tokens[i].text);
                if (c->init_args)
                        printf("--\n%s\n", c->init_args);
                return 0;
        }
        return 1;
}
