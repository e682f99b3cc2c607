/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "lint.h"
#include "strv.h"

const char *severity_to_string(Severity s) {
        return s == SEVERITY_ERROR ? "error" : s == SEVERITY_NOTE ? "note" : "warning";
}

void lint_report_done(LintReport *r) {
        for (size_t i = 0; i < r->n_findings; i++) {
                free(r->findings[i].token);
                free(r->findings[i].message);
                free(r->findings[i].fix);
        }
        free(r->findings);
        *r = (LintReport) {};
}

size_t lint_report_count(const LintReport *r, Severity s) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_findings; i++)
                if (r->findings[i].severity == s)
                        n++;
        return n;
}

static int add_finding(LintReport *r, Severity s, const char *token, const char *fix, const char *fmt, ...) _printf_(5, 6);
static int add_finding(LintReport *r, Severity s, const char *token, const char *fix, const char *fmt, ...) {
        LintFinding f = { .severity = s };
        LintFinding *n;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&f.message, fmt, ap);
        va_end(ap);
        f.token = strdup(token);
        f.fix = fix ? strdup(fix) : NULL;
        if (k < 0 || !f.token || (fix && !f.fix))
                goto oom;
        n = realloc(r->findings, sizeof(LintFinding) * (r->n_findings + 1));
        if (!n)
                goto oom;
        r->findings = n;
        r->findings[r->n_findings++] = f;
        return 0;
oom:
        free(f.message);
        free(f.token);
        free(f.fix);
        return -ENOMEM;
}

/* arm64 has only the generic iommu.* parameters: say what the x86 spelling meant there. */
static const char *aarch64_replacement(const CmdlineToken *t) {
        if (cmdline_key_equal(t->key, "iommu") && t->value) {
                if (streq(t->value, "pt"))
                        return "iommu.passthrough=1";
                if (streq(t->value, "nopt"))
                        return "iommu.passthrough=0";
                if (streq(t->value, "strict"))
                        return "iommu.strict=1";
        }
        return "remove it; arm64 knows only iommu.passthrough= and iommu.strict=";
}

static int lint_item(LintReport *r, const ParamInfo *info, const CmdlineToken *t, const char *item, Arch arch, unsigned version,
                     unsigned build) {
        ParamValue buf;
        const ParamValue *v = param_lookup_value_for_build(info, item, arch, version, build, &buf);

        if (!v) {
                if (info->syntax == SYNTAX_BOOL)
                        return add_finding(r, SEVERITY_ERROR, t->text, "use 1 or 0",
                                           "\"%s\" is not a boolean: the kernel fails to parse %s=", item, info->key);
                if (info->unknown_verdict == VALUE_IGNORED)
                        return add_finding(r, SEVERITY_ERROR, t->text, NULL,
                                           "\"%s\" is not a %s= value: the kernel ignores it without a word", item, info->key);
                return add_finding(r, SEVERITY_ERROR, t->text, NULL,
                                   "\"%s\" is not a %s= option: the kernel logs \"Unknown option\" and ignores it", item, info->key);
        }
        switch (v->verdict) {
        case VALUE_OK:
                return 0;
        case VALUE_DEPRECATED:
                return add_finding(r, SEVERITY_WARNING, t->text, v->replacement,
                                   "%s=%s is deprecated (%s)", info->key, item, v->meaning);
        case VALUE_IGNORED:
                /* Harmless leftovers (iommu=forcesac) warn; values someone meant something by fail. */
                return add_finding(r, v->replacement ? SEVERITY_ERROR : SEVERITY_WARNING, t->text, v->replacement,
                                   "%s=%s is ignored by the kernel: %s", info->key, item, v->meaning);
        case VALUE_REJECTED:
                return add_finding(r, SEVERITY_ERROR, t->text, v->replacement, "%s=%s %s", info->key, item, v->meaning);
        }
        return 0;
}

static int lint_token(LintReport *r, const CmdlineToken *t, Arch arch, unsigned version, unsigned build) {
        const ParamInfo *info = param_lookup(t->key);
        _cleanup_strv_free_ char **items = NULL;
        int k;

        if (!info)
                return 0;
        if (!(info->arch_mask & ARCH_MASK(arch)))
                return add_finding(r, SEVERITY_ERROR, t->text, aarch64_replacement(t),
                                   "%s= does not exist on %s: the kernel hands unknown parameters to init", info->key,
                                   arch_to_string(arch));
        if (info->syntax == SYNTAX_ANY)
                return 0;
        if (isempty(t->value))
                return add_finding(r, SEVERITY_ERROR, t->text, NULL, "%s= needs a value", info->key);
        if (info->syntax != SYNTAX_LIST)
                return lint_item(r, info, t, t->value, arch, version, build);

        k = strv_split(t->value, ",", &items);
        if (k < 0)
                return k;
        STRV_FOREACH(i, items) {
                k = lint_item(r, info, t, *i, arch, version, build);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Whether the last occurrence of key carries item in its (comma-separated) value. */
static bool last_has_item(const Cmdline *c, const char *key, const char *item) {
        const CmdlineToken *t = cmdline_find_last(c, key);
        const char *p;

        if (!t || !t->value)
                return false;
        for (p = t->value; *p; ) {
                size_t n = strcspn(p, ",");
                if (n == strlen(item) && strneq(p, item, n))
                        return true;
                p += n;
                p += strspn(p, ",");
        }
        return false;
}

static int last_bool(const Cmdline *c, const char *key) {
        const CmdlineToken *t = cmdline_find_last(c, key);
        return t ? parse_kernel_bool(t->value) : -ENOENT;
}

static int lint_repeats(LintReport *r, const Cmdline *c) {
        for (size_t i = 0; i < c->n_tokens; i++) {
                const CmdlineToken *t = &c->tokens[i], *last;
                bool first = true;

                if (!param_lookup(t->key))
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (cmdline_key_equal(c->tokens[j].key, t->key))
                                first = false;
                last = cmdline_find_last(c, t->key);
                if (!first || last == t || cmdline_token_equal(t, last))
                        continue;
                int k = add_finding(r, SEVERITY_WARNING, t->text, NULL,
                                    "%s appears more than once with different values: the last one (%s) wins", t->key,
                                    last->text);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int lint_conflicts(LintReport *r, const Cmdline *c, Arch arch) {
        int pass = last_bool(c, "iommu.passthrough"), strict = last_bool(c, "iommu.strict"), k;
        bool pt = false, nopt = false;

        if (arch == ARCH_X86_64) {
                pt = last_has_item(c, "iommu", "pt");
                nopt = last_has_item(c, "iommu", "nopt");
                if (pt && nopt) {
                        k = add_finding(r, SEVERITY_ERROR, cmdline_find_last(c, "iommu")->text, NULL,
                                        "iommu=pt and iommu=nopt contradict each other");
                        if (k < 0)
                                return k;
                }
                if ((pt && pass == 0) || (nopt && pass == 1)) {
                        k = add_finding(r, SEVERITY_ERROR, cmdline_find_last(c, "iommu.passthrough")->text, NULL,
                                        "%s and %s ask for opposite default domains",
                                        cmdline_find_last(c, "iommu")->text, cmdline_find_last(c, "iommu.passthrough")->text);
                        if (k < 0)
                                return k;
                }
                if (last_has_item(c, "iommu", "off") && last_has_item(c, "intel_iommu", "on")) {
                        k = add_finding(r, SEVERITY_ERROR, "iommu=off", "drop one of them",
                                        "iommu=off disables the VT-d driver that intel_iommu=on asks for");
                        if (k < 0)
                                return k;
                }
        }
        if (strict == 1 && (pass == 1 || (pt && pass != 0))) {
                k = add_finding(r, SEVERITY_WARNING, cmdline_find_last(c, "iommu.strict")->text, NULL,
                                "iommu.strict=1 has no effect on passthrough (identity) domains");
                if (k < 0)
                        return k;
        }
        return 0;
}

static int lint_cmdline_version(const Cmdline *c, Arch arch, unsigned version, unsigned build, LintReport *report) {
        int k;

        for (size_t i = 0; i < c->n_tokens; i++) {
                k = lint_token(report, &c->tokens[i], arch, version, build);
                if (k < 0)
                        return k;
        }
        k = lint_repeats(report, c);
        if (k < 0)
                return k;
        return lint_conflicts(report, c, arch);
}

int lint_cmdline(const Cmdline *c, Arch arch, LintReport *report) {
        return lint_cmdline_version(c, arch, 0, 0, report);
}

/* Tokens the kernel model says change nothing on this kernel beyond what the table already says:
 * the build default, or overridden by a later token. For x86 without a vendor, only when it holds
 * for Intel and AMD alike. */
static int lint_model(const Cmdline *c, const KernelInfo *k, Vendor vendor, LintReport *report) {
        Vendor check[2] = { vendor, _VENDOR_INVALID };
        KernelPrediction p[2] = {};
        int r = 0;

        if (k->arch == ARCH_AARCH64)
                check[0] = VENDOR_ARM64;
        else if (vendor < 0 || vendor == VENDOR_PORTABLE || vendor == VENDOR_ARM64) {
                check[0] = VENDOR_INTEL;
                check[1] = VENDOR_AMD;
        }
        for (size_t v = 0; v < 2 && check[v] >= 0; v++) {
                r = kernel_predict(k, check[v], c, &p[v]);
                if (r < 0)
                        goto finish;
        }
        for (size_t i = 0; i < p[0].n_tokens; i++) {
                const TokenPrediction *a = &p[0].tokens[i], *b = check[1] >= 0 ? kernel_prediction_find_token(&p[1], a->index) : NULL;

                if (a->effect != TOKEN_REDUNDANT && a->effect != TOKEN_OVERRIDDEN)
                        continue;
                if (check[1] >= 0 && (!b || (b->effect != TOKEN_REDUNDANT && b->effect != TOKEN_OVERRIDDEN)))
                        continue;
                /* Redundant only by a default the model assumed: the profiles write such tokens because
                 * the default depends on the build. Say so; no advice to remove it. */
                if (a->depends_on_build || (b && b->depends_on_build))
                        r = add_finding(report, SEVERITY_NOTE, c->tokens[a->index].text, NULL,
                                        "%s; keep it unless this kernel's build configuration proves it redundant "
                                        "(pass --config or --kernel)", (a->depends_on_build ? a : b)->why);
                else
                        r = add_finding(report, SEVERITY_WARNING, c->tokens[a->index].text, "remove it",
                                        "%s (on %s)", a->why, k->release ?: "the kernel modelled");
                if (r < 0)
                        goto finish;
        }
finish:
        kernel_prediction_done(&p[0]);
        kernel_prediction_done(&p[1]);
        return r;
}

int lint_cmdline_for_kernel(const Cmdline *c, const KernelInfo *k, Vendor vendor, LintReport *report) {
        int r;

        r = lint_cmdline_version(c, k->arch, k->version, kernel_config_build_flags(&k->config), report);
        if (r < 0)
                return r;
        return lint_model(c, k, vendor, report);
}
