/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "fileio.h"

/* Whether the tree under root is a container's, as systemd's detect_container() tells: the
 * container manager's /run/systemd/container, else container= in PID 1's environment
 * (/proc/1/environ). A container sees the outer host's kernel: its command line, IOMMU groups
 * and kernel log are the host's, not anything the container's boot configuration chose.
 * Returns 1 with the container's kind in ret ("docker", "systemd-nspawn", "lxc"...), 0 when none
 * is told (also when PID 1's environment cannot be read), negative on allocation errors. */
int container_detect(const Root *root, char **ret);
