/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "predict.h"
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

typedef struct Plan {
        Vendor vendor;     /* the [KernelArgs] entry used */
        Cmdline *wanted;   /* the profile's tokens */
        Cmdline *current;  /* NULL when there is no current command line (offline image) */
        Cmdline *result;   /* current merged with wanted; wanted alone without a current line */
        char **owned_keys;
        bool in_sync;
        PlanChange *changes;
        size_t n_changes;
        KernelPrediction predicted; /* for the result */
} Plan;

/* current may be NULL. -ENODATA (logged) when the profile has nothing for the vendor, -E2BIG
 * (logged) when the result would be too long for the kernel. */
int plan_compute(const Profile *p, Vendor vendor, const char *current, Plan *ret);
void plan_done(Plan *plan);
const char *plan_action_to_string(PlanAction a);
