/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parse arbitrary bytes as YAML/JSON and as TOML (libyaml, toml++ and our walk over them), lint
 * what comes out for both architectures, and write both views: every record must be inside the
 * input and every finding must have a position. */
#include <stdint.h>

#include "foreign-kargs.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ForeignKargs *k, const char *text, size_t size) {
        unsigned lines = 1;

        /* At most one line per break of any kind YAML knows (libyaml counts a bare CR, NEL, LS and PS
         * as line breaks, found by fuzzing); TOML's are among them. */
        for (size_t i = 0; i < size; i++)
                if (text[i] == '\n' || text[i] == '\r' || (unsigned char) text[i] == 0x85 ||
                    (i + 2 < size && memcmp(text + i, "\xe2\x80", 2) == 0 && (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')))
                        lines++;
        for (size_t i = 0; i < k->n_kargs; i++)
                if (k->kargs[i].line < 1 || k->kargs[i].line > lines || k->kargs[i].column < 1 ||
                    k->kargs[i].document >= k->n_documents)
                        abort();
        for (Arch a = 0; a < _ARCH_MAX; a++) {
                KernelInfo kernel;
                ForeignReport r = {};
                size_t errors = 0, warnings = 0;
                FILE *null = fopen("/dev/null", "we");
                JsonWriter w = { .f = null };

                if (!null)
                        abort();
                kernel_info_default(a, &kernel);
                if (foreign_kargs_lint(k, &kernel, _VENDOR_INVALID, &r) < 0)
                        abort();
                for (size_t i = 0; i < r.n_findings; i++)
                        if (r.findings[i].line < 1 || !r.findings[i].lint.message)
                                abort();
                foreign_report_write_text(&r, k, "fuzz", null, &errors, &warnings);
                json_begin_array(&w);
                foreign_report_write_json(&r, k, "fuzz", &w, &errors, &warnings);
                json_end_array(&w);
                foreign_report_done(&r);
                fclose(null);
                kernel_info_done(&kernel);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const ForeignSyntax syntaxes[] = { FOREIGN_SYNTAX_YAML, FOREIGN_SYNTAX_TOML };
        _cleanup_free_ char *s = strndup((const char *) data, size);

        if (!s)
                return 0;
        (void) foreign_kargs_sniff("fuzz", s);
        for (size_t i = 0; i < ELEMENTSOF(syntaxes); i++) {
                ForeignKargs k = {};
                int r = foreign_kargs_parse(syntaxes[i], (const char *) data, size, &k);

                /* Nothing of ours in it, or TOML in a build without toml++; a library that does
                 * not load (-EOPNOTSUPP) fails the run like any other error. */
                if (r == -ENOMSG || r == -EPROTONOSUPPORT)
                        continue;
                if (r < 0)
                        abort();
                check(&k, (const char *) data, size);
                foreign_kargs_done(&k);
        }
        return 0;
}
