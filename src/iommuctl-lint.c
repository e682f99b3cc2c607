/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl.h"
#include "libiommu/boot-bls.h"
#include "libiommu/boot-grub.h"
#include "libiommu/escape.h"
#include "libiommu/fileio.h"
#include "libiommu/foreign-kargs.h"
#include "libiommu/json.h"
#include "libiommu/lint.h"
#include "libiommu/log.h"
#include "libiommu/profile.h"
#include "libiommu/strv.h"

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

/* The kernel the lines are checked for: --kernel/--config, else the running one under --root. */
static const KernelInfo *lint_kernel(void) {
        static KernelInfo k;
        static bool loaded = false;

        if (!loaded) {
                if (kernel_info_load(arg.root, lint_arch(), arg.kernel_release, arg.kernel_config, &k) < 0) {
                        log_warning("Cannot read the kernel configuration %s; using mainline defaults.", strna(arg.kernel_config));
                        kernel_info_default(lint_arch(), &k);
                }
                loaded = true;
        }
        return &k;
}

/* Lints one command line for kernel k (NULL: lint_kernel()); file may be NULL. */
static int lint_line_for(LintTotals *t, const char *file, unsigned line, const char *text, const KernelInfo *k) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        LintReport report = {};
        int r;

        r = cmdline_parse(text, &c);
        if (r < 0)
                return log_oom();
        r = lint_cmdline_for_kernel(c, k ?: lint_kernel(), arg.vendor, &report);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < report.n_findings; i++) {
                const LintFinding *f = &report.findings[i];

                if (f->severity == SEVERITY_ERROR)
                        t->errors++;
                else if (f->severity == SEVERITY_WARNING)
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
                } else {
                        _cleanup_escape_buffer_ EscapeBuffer x = {};
                        if (file)
                                printf("%s:%u: %s: %s%s%s\n", escaped(&x, file), line, severity_to_string(f->severity),
                                       escaped(&x, f->message), f->fix ? "; use: " : "", escaped(&x, f->fix ?: ""));
                        else
                                printf("%s: %s%s%s\n", severity_to_string(f->severity), escaped(&x, f->message),
                                       f->fix ? "; use: " : "", escaped(&x, f->fix ?: ""));
                }
        }
        lint_report_done(&report);
        return 0;
}

static int lint_line(LintTotals *t, const char *file, unsigned line, const char *text) {
        return lint_line_for(t, file, line, text, NULL);
}

static bool is_profile_text(const char *s) {
        return strstr(s, "[KernelArgs]") || strstr(s, "[Profile]");
}

/* A problem a loader logged ("FILE:LINE: message" or "message") while linting path: counted, and in
 * JSON a finding of its own, so that "lint --json" on a broken profile does not say "findings": []. */
typedef struct LogCapture {
        LintTotals *totals;
        const char *path;
        size_t errors;
} LogCapture;

static void capture_log(int level, const char *message, void *userdata) {
        LogCapture *c = userdata;
        const char *rest = startswith(message, c->path);
        unsigned line = 0;
        int n = 0;

        if (level > LOG_LEVEL_WARNING)
                return;
        if (level <= LOG_LEVEL_ERROR)
                c->errors++;
        else
                c->totals->warnings++;
        if (!c->totals->json)
                return;
        if (rest && rest[0] == ':' && sscanf(rest, ":%u: %n", &line, &n) == 1 && n > 0)
                message = rest + n;
        else if (rest && startswith(rest, ": "))
                message = rest + 2;
        json_begin_object(c->totals->json);
        json_field_string(c->totals->json, "file", c->path);
        if (line > 0)
                json_field_int(c->totals->json, "line", line);
        json_field_string(c->totals->json, "severity", level <= LOG_LEVEL_ERROR ? "error" : "warning");
        json_field_string(c->totals->json, "token", NULL);
        json_field_string(c->totals->json, "message", message);
        json_field_string(c->totals->json, "fix", NULL);
        json_end_object(c->totals->json);
}

/* Other tools' files configure other machines (a cluster's nodes, an image), not the one lint runs
 * on: judged for --kernel/--config when given, else for the newest kernel the model knows. */
static const KernelInfo *foreign_kernel(void) {
        static KernelInfo k;
        static bool loaded = false;

        if (arg.kernel_release || arg.kernel_config)
                return lint_kernel();
        if (!loaded) {
                kernel_info_default(lint_arch(), &k);
                loaded = true;
        }
        return &k;
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
        r = foreign_kargs_lint(&k, foreign_kernel(), arg.vendor, &report);
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

        size_t size = 0, nul;
        LogCapture c = { .totals = t, .path = path };

        /* A regular file of bounded size (a FIFO or a device is refused, not waited on), and text:
         * a NUL byte would hide the rest of the file from the parsers. A file that cannot be read
         * is a finding too (lint --json). */
        r = read_full_file(path, 4 * 1024 * 1024, &data, &size);
        if (r < 0 || data_check_nul(data, size, &nul) < 0) {
                log_set_hook(capture_log, &c);
                if (r < 0)
                        r = log_error_errno(r, "Failed to read %s: %m", path);
                else
                        r = log_error_errno(-EBADMSG, "%s: NUL byte at offset %zu; not a text file.", path, nul);
                log_set_hook(NULL, NULL);
                t->errors += c.errors;
                return r;
        }

        foreign = foreign_kargs_sniff(path, data);
        if (foreign != FOREIGN_SYNTAX_NONE)
                return lint_foreign(t, path, foreign, data);

        if (is_profile_text(data)) {
                _cleanup_profile_ Profile *p = NULL;

                /* The profile loader reports every problem with file:line itself; each is a finding. */
                log_set_hook(capture_log, &c);
                r = profile_load_file(arg.root, path, &p);
                log_set_hook(NULL, NULL);
                t->errors += r < 0 && c.errors == 0 ? 1 : c.errors;
                return 0;
        }

        bls = strstr(data, "\noptions") || startswith(data, "options");
        grub = strstr(data, "GRUB_CMDLINE_LINUX");
        if (bls || grub) {
                /* The readers apply uses (boot-bls.c, boot-grub.c): lint judges the lines apply
                 * rewrites, continued GRUB lines included. */
                _cleanup_strv_free_ char **values = NULL;
                _cleanup_free_ unsigned *lines = NULL;
                _cleanup_(kernel_info_done) KernelInfo entry_kernel = {};
                bool have_entry_kernel = false;
                size_t n = 0;

                log_set_hook(capture_log, &c);
                r = bls ? bls_entry_options_lines(data, &values, &lines, &n)
                        : grub_defaults_values(path, data, &values, &lines, &n);
                log_set_hook(NULL, NULL);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        t->errors += c.errors == 0 ? 1 : c.errors; /* logged with file:line, findings in JSON */
                        return 0;
                }
                /* A BLS entry boots the kernel its "version" names: judged with that release and
                 * ROOT/boot/config-VERSION, not the running kernel (--kernel/--config still win). */
                if (bls && !arg.kernel_release && !arg.kernel_config) {
                        _cleanup_free_ char *version = NULL;
                        r = bls_entry_version(data, &version);
                        if (r < 0)
                                return log_oom();
                        if (version) {
                                r = kernel_info_for_entry(arg.root, lint_arch(), version, &entry_kernel);
                                if (r == -ENOMEM)
                                        return log_oom();
                                have_entry_kernel = r >= 0;
                        }
                }
                for (size_t i = 0; i < n; i++) {
                        r = lint_line_for(t, path, lines[i], values[i], have_entry_kernel ? &entry_kernel : NULL);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        for (char *s = data, *next; s && *s; s = next) {
                char *l;

                next = strchr(s, '\n');
                if (next)
                        *next++ = '\0';
                line++;
                l = strstrip(s);
                if (isempty(l) || l[0] == '#')
                        continue;
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
                {
                        _cleanup_free_ char *kd = kernel_info_describe(lint_kernel());
                        json_field_string(&w, "kernel", kd);
                }
                json_key(&w, "findings");
                json_begin_array(&w);
        }
        if (arg.cmdline)
                r = lint_line(&t, NULL, 0, arg.cmdline);
        else if (argc > 1)
                for (int i = 1; i < argc && r >= 0; i++)
                        r = lint_file(&t, argv[i]);
        else {
                _cleanup_free_ char *s = NULL, *p = root_display(arg.root, "/proc/cmdline");
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
        } else if (r >= 0 && !arg.no_legend && log_get_max_level() >= LOG_LEVEL_INFO)
                printf("%zu error%s, %zu warning%s\n", t.errors, t.errors == 1 ? "" : "s", t.warnings,
                       t.warnings == 1 ? "" : "s");
        if (r < 0)
                return EXIT_ERROR;
        return t.errors > 0 ? EXIT_NO : EXIT_OK;
}
