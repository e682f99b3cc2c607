/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lint.h"
#include "macro.h"

/* Kernel arguments in other tools' files: OpenShift MachineConfig (spec.kernelArguments) and
 * PerformanceProfile (spec.additionalKernelArgs), Butane (kernel_arguments.should_exist /
 * should_not_exist, and openshift.kernel_arguments in the openshift variant), Ignition JSON
 * (kernelArguments.shouldExist / shouldNotExist), Talos (machine.install.extraKernelArgs, and the
 * Image Factory schematic's customization.extraKernelArgs; in both "-TOKEN" removes TOKEN) and
 * bootc kargs.d TOML (kargs, match-architectures).
 *
 * Parsing turns a file into records (string, line, column, removal?) and knows nothing about the
 * kernel; linting hands the strings each document adds to lint_cmdline_for_kernel(), the same
 * rules (and kernel model) every other lint input goes through, and maps each finding back to where its token was written.
 * YAML (and JSON, which libyaml reads as YAML flow) is parsed by libyaml, TOML by toml++: no
 * hand-written parser. Pure code: the caller reads the file. */

typedef enum ForeignFormat {
        FOREIGN_MACHINE_CONFIG,
        FOREIGN_PERFORMANCE_PROFILE,
        FOREIGN_BUTANE,
        FOREIGN_IGNITION,
        FOREIGN_TALOS,
        FOREIGN_BOOTC_KARGS,
        FOREIGN_TALOS_SCHEMATIC, /* Image Factory schematic: customization.extraKernelArgs */
        _FOREIGN_FORMAT_MAX,
        _FOREIGN_FORMAT_INVALID = -EINVAL,
} ForeignFormat;

typedef enum ForeignSyntax {
        FOREIGN_SYNTAX_NONE, /* not one of these files */
        FOREIGN_SYNTAX_YAML, /* YAML, multi-document, or JSON */
        FOREIGN_SYNTAX_TOML,
} ForeignSyntax;

typedef struct ForeignKarg {
        char *text;            /* the string as the tool reads it: one argument, or several */
        unsigned line, column; /* 1-based, where the scalar starts in the file */
        size_t document;       /* index into ForeignKargs.documents */
        bool removal;          /* should_not_exist / shouldNotExist: the tool removes it */
} ForeignKarg;

typedef struct ForeignDocument {
        ForeignFormat format;
        char *name;            /* metadata.name where the format has one, else NULL */
        unsigned line, column; /* where the document starts */
        char **architectures;  /* bootc match-architectures; NULL: every architecture */
        unsigned arch_line, arch_column;
        /* Talos machine config: why the installed system boots a UKI, which ignores
         * machine.install.extraKernelArgs (static text); NULL: grubUseUKICmdline: false, which
         * legacy-BIOS GRUB installs honour (a note, not a warning). */
        const char *boots_uki;
} ForeignDocument;

/* Something the tool itself would refuse (a list that is not a list of strings, a syntax error). */
typedef struct ForeignProblem {
        char *message;
        unsigned line, column;
        ssize_t document; /* the document it is in; -1 for a syntax error */
} ForeignProblem;

typedef struct ForeignKargs {
        ForeignDocument *documents;
        size_t n_documents;
        ForeignKarg *kargs;
        size_t n_kargs;
        ForeignProblem *problems;
        size_t n_problems;
} ForeignKargs;

const char *foreign_format_to_string(ForeignFormat f);

/* Which parser a file needs, from its name and its text; cheap, no parsing. */
ForeignSyntax foreign_kargs_sniff(const char *path, const char *data);

/* Parse a whole file. Returns 0 with documents, kargs and problems filled (a syntax error is a
 * problem with its line and column), -ENOMSG when the text parses but holds no document of a
 * known kind, -ENOMEM, -EPROTONOSUPPORT for TOML in a build without toml++, or -EOPNOTSUPP when
 * the library cannot be loaded: libyaml (LIBYAML_SONAME) or the TOML module
 * (foreign_kargs_toml_module()); foreign_kargs_dl_error() then says why. Both are dlopen()ed on
 * first use, so a run of iommuctl that lints no such file maps neither. */
int foreign_kargs_parse(ForeignSyntax syntax, const char *data, size_t size, ForeignKargs *ret);
int foreign_kargs_parse_yaml(const char *data, size_t size, ForeignKargs *ret);
int foreign_kargs_parse_toml(const char *data, size_t size, ForeignKargs *ret);
void foreign_kargs_done(ForeignKargs *k);
const char *foreign_kargs_toml_module(void);
const char *foreign_kargs_dl_error(void);

typedef enum ForeignFindingKind {
        FOREIGN_FINDING_LINT,    /* from lint_cmdline(): severity, message, fix as lint wrote them */
        FOREIGN_FINDING_PROBLEM, /* about the file itself: what the tool would refuse (an error), nothing of ours in it */
        FOREIGN_FINDING_NOTE,    /* not linted, and why (another architecture); never counted */
} ForeignFindingKind;

typedef struct ForeignFinding {
        ForeignFindingKind kind;
        LintFinding lint;      /* token and fix may be NULL for problems and notes */
        unsigned line, column;
        ssize_t document;      /* -1 for a problem outside any document */
        bool removal;
} ForeignFinding;

typedef struct ForeignReport {
        ForeignFinding *findings;
        size_t n_findings;
} ForeignReport;

/* Lints every document for one kernel (its architecture, release and build configuration; vendor
 * may be _VENDOR_INVALID) as lint does a command line: what it adds through
 * lint_cmdline_for_kernel(), what it removes against what it adds (a removal is not on the command
 * line, so it is not linted as if it were). An empty k, as parsing a file with no document of
 * ours leaves it, gives one warning. */
int foreign_kargs_lint(const ForeignKargs *k, const KernelInfo *kernel, Vendor vendor, ForeignReport *ret);
void foreign_report_done(ForeignReport *r);
const char *foreign_finding_severity(const ForeignFinding *f);

/* Output, one view each of the same report. Text: "FILE:LINE:COLUMN: SEVERITY: [FORMAT NAME: ]
 * MESSAGE[; use: FIX]" per finding. JSON: one object per finding, the fields of the other lint
 * findings (file, line, severity, token, message, fix) plus column, format, name, removal; the
 * writer must be inside an array. Both add the errors and warnings to the counters. */
typedef struct JsonWriter JsonWriter;
void foreign_report_write_text(const ForeignReport *r, const ForeignKargs *k, const char *path, FILE *f,
                               size_t *errors, size_t *warnings);
void foreign_report_write_json(const ForeignReport *r, const ForeignKargs *k, const char *path, JsonWriter *w,
                               size_t *errors, size_t *warnings);
