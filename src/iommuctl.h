/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "libiommu/context.h"
#include "libiommu/params.h"
#include "libiommu/report.h"

/* Exit codes, documented in iommuctl(8). */
enum {
        EXIT_OK = 0,
        EXIT_NO = 1,    /* the answer is "no": lint errors, drift, a failed verification */
        EXIT_ERROR = 2, /* could not do the job: bad input, bad configuration, I/O errors, usage */
};

/* Options of every verb, parsed once (as systemctl and bootctl do). */
typedef struct Args {
        const char *root_arg;       /* --root as given; opened once into root by main() */
        const Root *root;
        const char *profile;
        Vendor vendor;
        Arch arch;
        const char *cmdline;
        const char *kernel_release; /* --kernel: the release to model instead of ROOT/proc/sys/kernel/osrelease */
        const char *kernel_config;  /* --config: the kernel's build configuration file */
        const char *role; /* export machineconfig: MachineConfigPool role */
        bool json;
        bool check;
        bool full;
        bool help;
        bool quiet;                 /* -q: errors only; verbs whose answer is the exit code print nothing */
        bool no_legend;             /* --no-legend: no column headers or summary lines */
        bool boot_check;            /* verify: this is iommu-verify.service's run (the boot check's MESSAGE_ID) */
        bool selected;              /* profiles: print only the profile iommu.conf selects */
        bool armed;                 /* profiles: print it only where the generator is armed */
        bool resolved;              /* profiles: print a profile with its includes flattened */
        bool no_journal;               /* verify: neither read the kernel log from nor log to the journal */
        const char *kernel_log;        /* verify: read the kernel log from this file (captured trees) */
        const char *journal_fields_to; /* verify: write the journal entry's fields to this file (tests) */
        /* apply, rollback */
        const char *backends;
        const char *entries;
        int uki_addon;                 /* ProfileUkiAddon; -1: the profile's [UKI] Addon= */
        bool dry_run;
        bool no_bootloader_update;
        int reboot;                 /* apply: 1 yes, 0 no, -1 as [Apply] Reboot= says */
        bool if_armed;              /* apply: only where the generator is armed (kernel-install plugin) */
        bool force;                 /* apply: write a profile whose mode conflicts with what the node uses */
        bool publish;               /* verify: publish labels and metrics from a run by hand too */
} Args;

extern Args arg;

/* A verb returns an exit code. argv[0] is the verb. */
int verb_plan(int argc, char *argv[]);
int verb_cmdline(int argc, char *argv[]);
int verb_lint(int argc, char *argv[]);
int verb_profiles(int argc, char *argv[]);
int verb_config(int argc, char *argv[]);
int verb_export(int argc, char *argv[]);
int verb_verify(int argc, char *argv[]);
int verb_groups(int argc, char *argv[]);
int verb_apply(int argc, char *argv[]);
int verb_rollback(int argc, char *argv[]);
int verb_undo(int argc, char *argv[]);
int verb_history(int argc, char *argv[]);
int verb_recommend(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);

/* status: the command line of the entry that boots next under root, and which one it is.
 * Returns 0 (both NULL) when none can be told. */
int status_next_boot_options(const Root *root, char **ret_options, char **ret_what);

/* JSON schema versions of the verbs without a library report, documented in iommuctl(8). */
#define CONFIG_JSON_VERSION 1
#define PROFILES_JSON_VERSION 1
#define CMDLINE_JSON_VERSION 1
#define EXPORT_JSON_VERSION 1

/* "key": {"file": ..., "line": ..., "selection": ...}, or null for a default. */
struct JsonWriter;
void json_field_config_origin(struct JsonWriter *w, const char *key, const ConfigOrigin *o);
/* Where the value of key ("IOMMU.Profile") in use comes from, for people: "--profile" when the
 * option given (option: its name) overrides the configuration, "FILE:LINE", or "default". */
int setting_origin_describe(const Config *c, const char *option, const char *key, char **ret);
/* The same as a JSON object {"option": ...} / {"file": ..., "line": ..., "selection": ...} / null. */
void json_field_setting_origin(struct JsonWriter *w, const char *field, const Config *c, const char *option, const char *key);

/* plan, status: "From:     Profile= FILE:LINE, Vendor= detected". */
void print_setting_origins(const Context *ctx, int width);

/* --no-legend, and colour on a terminal (SYSTEMD_COLORS, NO_COLOR), for the library's reports. */
ReportFlags args_report_flags(void);

/* Whether iommu-generator is armed on the context's node (issue 22.1): the "Generator:" line of
 * plan and status, and their "generator" JSON object. */
void print_generator_armed_text(const Context *ctx);
void print_generator_armed_json(const Context *ctx, struct JsonWriter *w);

/* Context options from the parsed arguments. */
ContextOptions args_context_options(bool need_vendor);
