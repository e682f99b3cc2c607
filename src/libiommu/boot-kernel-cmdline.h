/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "changeset.h"
#include "cmdline.h"
#include "fileio.h"
#include "plan.h"

/* /etc/kernel/cmdline: what kernel-install (and so systemd-boot entries and UKIs built later)
 * puts on the command line of kernels installed from now on. */

#define KERNEL_CMDLINE "/etc/kernel/cmdline"

/* Whether kernel-install writes this system's boot entries: install.conf says layout=bls or
 * uki, or systemd-boot is on the ESP, or BLS entries exist next to kernel-install's plugins. */
bool kernel_install_is_used(const Root *root);
bool boot_kernel_cmdline_detect(const Root *root);

/* Adds the change of /etc/kernel/cmdline. A missing file is created (when kernel-install is
 * used) from /usr/lib/kernel/cmdline, else the running kernel's command line (host only), else
 * fallback (the default entry's options), else it is left alone with a notice. */
int boot_kernel_cmdline_plan(const Root *root, char * const *owned, const Cmdline *wanted, SyncJudge *judge, const char *fallback,
                             ChangeSet *cs);

/* UKIs on the ESP embed their command line: returns how many there are. */
unsigned boot_count_ukis(const Root *root);
