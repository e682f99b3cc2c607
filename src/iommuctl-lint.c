/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/fileio.h"
#include "libiommu/foreign-kargs.h"
#include "libiommu/json.h"
#include "libiommu/lint.h"
#include "libiommu/log.h"
#include "libiommu/profile.h"

typedef struct LintTotals {
        size_t errors, warnings;
        JsonWriter *json; /* inside the "findings" array when set */
} LintTotals;

static Arch lint_arch(void) {
        if (arg.arch >= 0)
                return arg.arch;
        if (arg.vendor >= 0 && arg.vendor != VENDOR_PORTABLE)
                return vendor_arch(arg.vendor);
        return arch_native();
}

/* Lints one command line; file may be NULL. */
static int lint_line(LintTotals *t, const char *file, unsigned line, const char *text) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        LintReport report = {};
        int r;

        r = cmdline_parse(text, &c);
        if (r < 0)
                return log_oom();
        r = lint_cmdline(c, lint_arch(), &report);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < report.n_findings; i++) {
                const LintFinding *f = &report.findings[i];

                if (f->severity == SEVERITY_ERROR)
                        t->errors++;
                else
                        t->warnings++;
                if (t->json) {
                        json_begin_object(t->json);
                        json_field_string(t->json, "file", file);
                        if (file)
                                json_field_int(t->json, "line", line);
                        json_field_string(t->json, "severity", severity_to_string(f->severity));
                        json_field_string(t->json, "token", f->token);
                        json_field_string(t->json, "message", f->message);
                        json_field_string(t->json, "fix", f->fix);
                        json_end_object(t->json);
                } else if (file)
                        printf("%s:%u: %s: %s%s%s\n", file, line, severity_to_string(f->severity), f->message,
                               f->fix ? "; use: " : "", f->fix ?: "");
                else
                        printf("%s: %s%s%s\n", severity_to_string(f->severity), f->message, f->fix ? "; use: " : "",
                               f->fix ?: "");
        }
        lint_report_done(&report);
        return 0;
}

/* The value of a GRUB_CMDLINE_LINUX[_DEFAULT]= line, with simple shell quoting removed. Lines
 * that need a shell to evaluate are linted as written. */
static char *grub_value(const char *s) {
        const char *v = strchr(s, '=') + 1;
        char *r = malloc(strlen(v) + 1), *p = r;
        char quote = 0;

        if (!r)
                return NULL;
        for (; *v; v++) {
                if (!quote && (*v == '"' || *v == '\'')) {
                        quote = *v;
                        continue;
                }
                if (quote && *v == quote) {
                        quote = 0;
                        continue;
                }
                if (!quote && *v == '#')
                        break;
                *p++ = *v;
        }
        *p = '\0';
        return r;
}

static bool is_profile_text(const char *s) {
        return strstr(s, "[KernelArgs]") || strstr(s, "[Profile]");
}

/* MachineConfig, PerformanceProfile, Butane, Ignition, Talos, bootc kargs.d: see foreign-kargs.h. */
static int lint_foreign(LintTotals *t, const char *path, ForeignSyntax syntax, const char *data) {
        ForeignKargs k = {};
        ForeignReport report = {};
        int r;

        r = foreign_kargs_parse(syntax, data, strlen(data), &k);
        if (r == -EPROTONOSUPPORT)
                return log_error_errno(r, "%s: this iommuctl is built without TOML support (toml++)", path);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "%s: cannot load the %s parser: %s", path,
                                       syntax == FOREIGN_SYNTAX_TOML ? "TOML" : "YAML", strna(foreign_kargs_dl_error()));
        if (r < 0 && r != -ENOMSG) /* -ENOMSG: nothing of ours in it, which lint says */
                return log_error_errno(r, "Failed to parse %s: %m", path);
        r = foreign_kargs_lint(&k, lint_arch(), &report);
        if (r >= 0) {
                if (t->json)
                        foreign_report_write_json(&report, &k, path, t->json, &t->errors, &t->warnings);
                else
                        foreign_report_write_text(&report, &k, path, stdout, &t->errors, &t->warnings);
        }
        foreign_report_done(&report);
        foreign_kargs_done(&k);
        return r < 0 ? log_oom() : 0;
}

static int lint_file(LintTotals *t, const char *path) {
        _cleanup_free_ char *data = NULL;
        ForeignSyntax foreign;
        bool bls, grub;
        unsigned line = 0;
        int r;

        r = read_full_file(path, 4 * 1024 * 1024, &data, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);

        foreign = foreign_kargs_sniff(path, data);
        if (foreign != FOREIGN_SYNTAX_NONE)
                return lint_foreign(t, path, foreign, data);

        if (is_profile_text(data)) {
                _cleanup_profile_ Profile *p = NULL;
                /* The profile loader reports every problem with file:line itself. */
                if (profile_load_file(arg.root, path, &p) < 0)
                        t->errors++;
                return 0;
        }

        bls = strstr(data, "\noptions") || startswith(data, "options");
        grub = strstr(data, "GRUB_CMDLINE_LINUX");
        for (char *s = data, *next; s && *s; s = next) {
                char *l;

                next = strchr(s, '\n');
                if (next)
                        *next++ = '\0';
                line++;
                l = strstrip(s);
                if (isempty(l) || l[0] == '#')
                        continue;
                if (bls) {
                        const char *o = startswith(l, "options");
                        if (o && (*o == ' ' || *o == '\t'))
                                r = lint_line(t, path, line, o);
                        else
                                continue;
                } else if (grub) {
                        _cleanup_free_ char *v = NULL;
                        if (!startswith(l, "GRUB_CMDLINE_LINUX") || !strchr(l, '='))
                                continue;
                        v = grub_value(l);
                        if (!v)
                                return log_oom();
                        r = lint_line(t, path, line, v);
                } else
                        r = lint_line(t, path, line, l);
                if (r < 0)
                        return r;
        }
        return 0;
}

int verb_lint(int argc, char *argv[]) {
        JsonWriter w = { .f = stdout };
        LintTotals t = { .json = arg.json ? &w : NULL };
        int r = 0;

        if (arg.json) {
                json_begin_object(&w);
                json_field_int(&w, "version", 1);
                json_field_string(&w, "arch", arch_to_string(lint_arch()));
                json_key(&w, "findings");
                json_begin_array(&w);
        }
        if (arg.cmdline)
                r = lint_line(&t, NULL, 0, arg.cmdline);
        else if (argc > 1)
                for (int i = 1; i < argc && r >= 0; i++)
                        r = lint_file(&t, argv[i]);
        else {
                _cleanup_free_ char *s = NULL, *p = root_path(arg.root, "/proc/cmdline");
                r = host_read_cmdline(arg.root, &s);
                if (r < 0)
                        log_error_errno(r, "Failed to read %s: %m", strna(p));
                else
                        r = lint_line(&t, p, 1, s);
        }
        if (arg.json) {
                json_end_array(&w);
                json_field_int(&w, "errors", t.errors);
                json_field_int(&w, "warnings", t.warnings);
                json_end_object(&w);
                json_finish(&w);
        } else if (r >= 0 && log_get_max_level() >= LOG_LEVEL_INFO)
                printf("%zu error%s, %zu warning%s\n", t.errors, t.errors == 1 ? "" : "s", t.warnings,
                       t.warnings == 1 ? "" : "s");
        if (r < 0)
                return EXIT_ERROR;
        return t.errors > 0 ? EXIT_NO : EXIT_OK;
}
