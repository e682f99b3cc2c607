/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "config.h"
#include "context.h"
#include "plan.h"

/* The generator's decision, where cmocka can reach it: at boot, is this node armed, and does the
 * running command line drift from the configured profile, so that iommu-apply.service must run?
 * Reads only /proc/cmdline, /etc and the kernel's build configuration under the root: generators
 * run before /var may be mounted. */

/* The record that apply ran on this node, and with which profile. The generator acts only where it
 * names the configured profile (or [Apply] Automatic=yes), so a configuration pushed to a fleet
 * changes nothing until apply ran on each node. In /etc, not /var: generators run before /var may
 * be mounted. apply writes it and rollback/undo remove it through the change set. */
#define DRIFT_RECORD_FILE "/etc/iommu/applied"
/* "iommuctl.apply=0" on the kernel command line turns the generator off for one boot. */
#define DRIFT_SWITCH "iommuctl.apply"

/* The content of DRIFT_RECORD_FILE for profile: one line, its name. */
int drift_record_contents(const char *profile, char **ret);
/* The profile DRIFT_RECORD_FILE under root names. -ENOENT when there is none. */
int drift_record_read(const Root *root, char **ret_profile);

typedef enum DriftArmed {
        DRIFT_ARMED_NO_PROFILE,   /* no Profile= configured */
        DRIFT_ARMED_NOT_APPLIED,  /* never applied on this node: the generator does nothing */
        DRIFT_ARMED_OTHER_PROFILE,/* applied, but another profile than the one configured now */
        DRIFT_ARMED_APPLIED,      /* applied with the configured profile */
        DRIFT_ARMED_AUTOMATIC,    /* [Apply] Automatic=yes */
        _DRIFT_ARMED_MAX,
} DriftArmed;

const char *drift_armed_to_string(DriftArmed a);
static inline bool drift_is_armed(DriftArmed a) {
        return a == DRIFT_ARMED_APPLIED || a == DRIFT_ARMED_AUTOMATIC;
}
/* Pure: from the configuration and the recorded profile (NULL: none). */
DriftArmed drift_armed(const Config *config, const char *recorded);
/* The same, reading the record under root. ret_recorded (may be NULL) gets the recorded profile. */
int drift_armed_under(const Root *root, const Config *config, DriftArmed *ret, char **ret_recorded);
/* A sentence for status and plan: "armed: ..." / "not armed: ...". */
int drift_armed_describe(DriftArmed a, const char *configured, const char *recorded, char **ret);

typedef enum DriftDecision {
        DRIFT_SKIP_INITRD,       /* SYSTEMD_IN_INITRD=1 */
        DRIFT_SKIP_SWITCH,       /* iommuctl.apply=0 */
        DRIFT_SKIP_DISABLED,     /* [Boot] Generator=no */
        DRIFT_SKIP_NO_PROFILE,
        DRIFT_SKIP_NOT_ARMED,    /* never applied with this profile, not Automatic= */
        DRIFT_SKIP_NO_ARGS,      /* the profile has no tokens for the vendor */
        DRIFT_IN_SYNC,
        DRIFT_SAME_EFFECT,
        DRIFT_START_APPLY,       /* the line does something else than the profile: start apply */
        _DRIFT_DECISION_MAX,
} DriftDecision;

const char *drift_decision_to_string(DriftDecision d);

typedef struct DriftResult {
        DriftDecision decision;
        DriftArmed armed;
        char *profile;   /* the configured profile */
        char *recorded;  /* the profile the record names, or NULL */
        char *wanted;    /* its tokens, as a string (when it got that far) */
        char *switch_value;
} DriftResult;

void drift_result_done(DriftResult *r);

/* Pure: the decision for a command line that carries or lacks the profile (sync). */
DriftDecision drift_decide_sync(DriftArmed armed, SyncState sync);

/* The whole decision under root (in_initrd from SYSTEMD_IN_INITRD). Errors (a broken
 * configuration, a profile that does not load, an unknown vendor) are logged and returned: the
 * generator then does nothing. */
int drift_decide(const Root *root, bool in_initrd, DriftResult *ret);

/* The generator's fast path, shared with "plan --check": the line apply writes for profile on a
 * vendor host, known without the kernel (the profile's own tokens for vendor, else the model's for
 * its Mode on the newest kernel the model knows, plus the ACS lift's token for the release the node
 * reports), and the keys it owns. */
typedef struct DriftLine {
        Cmdline *wanted;
        char **owned;              /* a copy of the owned keys, when the profile adds to the static list */
        char * const *owned_keys;  /* owned, or iommu_owned_keys */
} DriftLine;

void drift_line_done(DriftLine *l);
/* -ENODATA when the profile has no tokens for vendor; not logged. */
int drift_line_for(const Root *root, const Profile *profile, const HostInfo *host, Vendor vendor, DriftLine *ret);
/* current's owned tokens are exactly the line's, in its order: in sync on any kernel, without the
 * kernel model (plan_line_carries_profile()). */
static inline bool drift_line_carried(const DriftLine *l, const Cmdline *current) {
        return plan_line_carries_profile(current, l->owned_keys, l->wanted);
}

/* "plan --check"'s answer on the generator's fast path, for c loaded by context_load_node() and the
 * current line: 1 when current carries exactly the line apply writes and the full plan (context_load()
 * and plan_compute()) would judge it in sync without failing, decided without the kernel model;
 * the build configuration is read only where a conflict could refuse the profile's mode on it. 0
 * when that cannot be told this way (another kernel was named, a profile whose tokens depend on
 * the kernel, a line that is not exactly the one apply writes, anything that would fail): the
 * caller runs the full plan, which gives the answer and logs what it logs. Logs nothing. */
int drift_plan_in_sync(const ContextOptions *o, const Context *c, const char *current);
