/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "observe.h"

/* Kernel modules the verdict needs: whether each is available for the running kernel (libkmod on
 * ROOT/lib/modules/<release> or ROOT/usr/lib/modules/<release>) and loaded (ROOT/proc/modules,
 * ROOT/sys/module/<name>), and vfio_iommu_type1's allow_unsafe_interrupts. Part of libiommu-host
 * (links libkmod). */

/* Modules always looked up, besides the profile's Modules=. */
extern const char * const modules_always[];

/* Fills o->modules for names (any spelling) plus modules_always. Only -ENOMEM is fatal. */
int modules_observe(Observation *o, char * const *names);

/* Whether ROOT/proc/modules text lists name (first field). Pure. */
bool proc_modules_has(const char *text, const char *name);
