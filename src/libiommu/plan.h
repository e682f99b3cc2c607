/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "intent.h"
#include "kernel-model.h"
#include "observe.h"
#include "profile.h"

/* The command line a profile asks for, computed from the current one. Pure code. */

typedef enum PlanAction {
        PLAN_REMOVE,
        PLAN_ADD,
        PLAN_KEEP, /* an owned token the profile asks for that is already there */
} PlanAction;

typedef struct PlanChange {
        PlanAction action;
        char *token;
        char *why;
} PlanChange;

/* Whether a command line already carries a profile: the decision plan --check, apply, the generator
 * and status share. */
typedef enum SyncState {
        SYNC_IN_SYNC,      /* the profile's tokens are there (any order), and any other owned token changes nothing */
        SYNC_SAME_EFFECT,  /* the kernel does what the profile's tokens do, but the line lacks some of them */
        SYNC_DRIFT,        /* the kernel would do something else than the profile's tokens do */
        _SYNC_STATE_MAX,
} SyncState;

const char *sync_state_to_string(SyncState s); /* "in-sync", "same-effect", "drift" */

/* True when the owned tokens of current are exactly wanted's tokens, in wanted's order: writing the
 * profile would give the same line, so it is in sync on every kernel. Needs no kernel model, which
 * lets the generator skip reading the kernel's build configuration on a node in sync. */
bool plan_line_carries_profile(const Cmdline *current, char * const *owned_keys, const Cmdline *wanted);

/* Compares current with wanted by effect, on kernel k (NULL: kernel_info_default()) for vendor
 * (VENDOR_PORTABLE: Intel and AMD both). Pure; only -ENOMEM fails. */
int plan_sync_state(const KernelInfo *k, Vendor vendor, const Cmdline *current, char * const *owned_keys,
                    const Cmdline *wanted, SyncState *ret);

/* The one judgement whether a line carries a profile, passed as an argument to every caller (plan,
 * apply and every boot backend, status, the generator, verify). kernel: the kernel the line is for
 * (NULL: kernel_info_default()); vendor: the IOMMU the line is for (VENDOR_PORTABLE: Intel and AMD
 * both). With note_dropped, dropped collects, for apply to report, the owned tokens that change
 * nothing on the lines judged not to carry the profile (and so rewritten). */
#define SYNC_JUDGE_CACHE_MAX 8
typedef struct SyncJudgeCached {
        char *key;               /* the current line, wanted and the owned keys, one per line */
        bool carries;
} SyncJudgeCached;

struct SyncJudgeEntryModel;
struct SyncJudgeRelease;

typedef struct SyncJudge {
        const KernelInfo *kernel;
        Vendor vendor;
        const Profile *intent;     /* set: an entry for another kernel gets the model's tokens for it */
        bool note_dropped;
        char **dropped;
        /* The answers for the last distinct lines: apply judges every boot entry, and they usually
         * carry the same line, so the kernel model runs once per distinct line. */
        SyncJudgeCached cache[SYNC_JUDGE_CACHE_MAX];
        size_t cache_next;
        /* sync_judge_for_entry(): one judge per distinct set of facts the kernel model reads from an
         * entry's kernel (release, build configuration), each with its own cached answers and the
         * line wanted for it; and the last releases seen, each with its model. Freed by
         * sync_judge_done(). */
        struct SyncJudgeEntryModel **entry_models;
        size_t n_entry_models;
        struct SyncJudgeRelease *releases;
        size_t releases_next;
        unsigned config_places;  /* kernel_config_places(), once releases is allocated (the first entry) */
} SyncJudge;

#define SYNC_JUDGE(k, v) ((SyncJudge) { .kernel = (k), .vendor = (v) })
void sync_judge_done(SyncJudge *j);
/* judge for an entry that boots kernel release (its BLS "version"): that release and its build
 * configuration under root (kernel_info_for_entry()), judge's vendor and the node's platform facts
 * kept, into ret_kernel and ret. 1 when set; 0 when release is NULL (use judge itself). Status and
 * apply judge each entry this way, so they agree. Hand ret's dropped tokens back with
 * sync_judge_take_dropped(). */
int sync_judge_for_release(const Root *root, const SyncJudge *judge, const char *release, KernelInfo *ret_kernel,
                           SyncJudge *ret);
/* The line wanted for an entry judged by entry (from sync_judge_for_release()), from the line
 * wanted for the node, chosen for node->kernel: where node->intent has no line of its own for the
 * vendor, the model's tokens for the node's kernel are swapped for its tokens for the entry's
 * (intel_iommu=on,strict for a 5.10 entry of a strict node running 6.12). *ret NULL: wanted as it is. */
int sync_judge_wanted_for_entry(const SyncJudge *node, const SyncJudge *entry, const Cmdline *wanted, Cmdline **ret);
/* The judge and the line wanted for an entry that boots release (sync_judge_for_release() and
 * sync_judge_wanted_for_entry() in one), computed once per distinct set of facts the kernel model
 * reads from the entry's kernel (its version and build configuration) and kept in node: 1000
 * entries on the same kernel cost one model run. *ret_judge is node itself or one node owns;
 * *ret_wanted is wanted or a line node owns. Hand the entry judge's dropped tokens to node with
 * sync_judge_merge_dropped() after judging. Only -ENOMEM fails. */
int sync_judge_for_entry(const Root *root, SyncJudge *node, const char *release, const Cmdline *wanted,
                         SyncJudge **ret_judge, const Cmdline **ret_wanted);
/* Moves from's dropped tokens to into (each once); from keeps its cached answers. */
void sync_judge_merge_dropped(SyncJudge *into, SyncJudge *from);
/* Moves from's dropped tokens to into (each once) and releases the rest of from (sync_judge_done()). */
void sync_judge_take_dropped(SyncJudge *into, SyncJudge *from);

/* True when current carries wanted: its owned tokens and wanted's are the same set (in any order),
 * or the line does on judge's kernel and vendor what writing wanted would do, with every token of
 * wanted on it (an extra owned token that changes nothing is fine). An empty wanted (clearing a
 * fragment) is carried only by a line without owned tokens. judge NULL: the default kernel model,
 * portable. */
bool sync_judge_carries(SyncJudge *judge, const Cmdline *current, char * const *owned_keys, const Cmdline *wanted);

typedef struct Plan {
        Vendor vendor;     /* the [KernelArgs] entry used */
        Cmdline *wanted;   /* the profile's tokens: its own line, or the model's choice for its Mode on k */
        bool wanted_from_profile; /* the profile's own [KernelArgs] line */
        char *wanted_why;  /* why these tokens */
        char *wanted_misses_mode; /* the profile's own line does not give its Mode on k: why (IntentChoice.misses_mode) */
        IntentConflicts conflicts; /* what the mode would break on this node (k's platform facts) */
        Cmdline *current;  /* NULL when there is no current command line (offline image) */
        Cmdline *result;   /* current merged with wanted; wanted alone without a current line */
        char **owned_keys;
        bool in_sync;              /* sync == SYNC_IN_SYNC */
        SyncState sync;
        PlanChange *changes;
        size_t n_changes;
        KernelPrediction predicted;         /* for the result */
        KernelPrediction predicted_current; /* for the current line (empty without one) */
        char **dropped;            /* owned tokens of the current line the result drops because they change nothing */
} Plan;

/* k: the kernel the line is for (NULL: kernel_info_default()). current may be NULL. -ENODATA (logged) when the profile has nothing for the vendor, -E2BIG
 * (logged) when the result would be too long for the kernel, -EOPNOTSUPP (logged, with the reason and
 * the nearest mode) when the kernel or the platform cannot keep the profile's Mode. */
int plan_compute(const Profile *p, Vendor vendor, const KernelInfo *k, const char *current, Plan *ret);
void plan_done(Plan *plan);
const char *plan_action_to_string(PlanAction a);

/* [PCI] LiftACSRedirect=gpu-paths (issue 25): the token that lifts ACS redirect on the GPU paths of
 * the node, computed here once for plan, apply, status, the generator and verify. */
typedef struct AcsLift {
        char *token;   /* "pci=disable_acs_redir=..." or "pci=config_acs=...@..."; NULL: none, see reason */
        char **ports;  /* the ports it names */
        char **merges; /* per port, the IOMMU groups that become one */
        char *reason;  /* why there is no token */
} AcsLift;
void acs_lift_done(AcsLift *l);

/* From an observation of the node, for kernel_version (the token's spelling changes at 6.11; 0: the
 * release the observation read, else the newest the model knows). The
 * ports the running line's own lift already cleared count as redirected, so the token stays the
 * same once it is booted. No token is not an error (reason says why); only -ENOMEM fails. */
int plan_acs_lift_observed(const Observation *o, unsigned kernel_version, AcsLift *ret);
/* Appends lift's token (if any) to wanted, unless wanted writes an owned pci= option already (the
 * profile's own line wins). */
int acs_lift_add_token(Cmdline *wanted, const AcsLift *lift);
/* plan_acs_lift_observed(), observing the node under root. */
int plan_acs_lift(const Root *root, Arch arch, Vendor vendor, const char *vendor_source, unsigned kernel_version, AcsLift *ret);
/* For a profile with LiftACSRedirect=gpu-paths: computes the lift under root (ret_lift may be NULL)
 * and appends its token to wanted, unless the profile's own line already writes an owned pci=
 * option. Does nothing for other profiles. Only -ENOMEM fails. */
int plan_wanted_add_acs_lift(const Root *root, const Profile *p, Arch arch, Vendor vendor, const char *vendor_source,
                             unsigned kernel_version, Cmdline *wanted, AcsLift *ret_lift);
/* plan_compute() with the lift's token (NULL: none) added to the profile's tokens. */
int plan_compute_lifted(const Profile *p, Vendor vendor, const KernelInfo *k, const char *current, const AcsLift *lift, Plan *ret);

/* One conflict of a profile's mode with this node (intent_conflicts()), logged as plan and apply
 * print it: what breaks, the evidence, and the profile that fits. */
void plan_conflict_log(const char *profile, const IntentConflict *c);
/* apply's gate: logs every conflict of the profile's mode on kernel k's platform (the node's facts)
 * with plan_conflict_log(); one would break something the node uses (SEV-SNP guests, PASID/ATS
 * binds, GPUDirect Storage) or the mode cannot work at all: -EOPNOTSUPP (logged, with the profile
 * that fits) unless force, which writes it anyway. Returns the number of conflicts. */
int plan_conflicts_gate(const Profile *p, Vendor vendor, const KernelInfo *k, bool force);
