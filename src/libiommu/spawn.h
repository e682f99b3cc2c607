/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The one way external programs (grub-editenv, update-grub, grub-mkconfig, systemctl) are run:
 * posix_spawn() of an argument vector, no shell, then a wait that survives EINTR, like systemd's
 * safe_fork() + wait_for_terminate_and_check(). */

typedef enum SpawnFlags {
        SPAWN_STDOUT_TO_STDERR = 1 << 0, /* the program's chatter goes to stderr: our stdout is for our report */
        SPAWN_LOG_NON_ZERO     = 1 << 1, /* log a non-zero exit status (else the caller does) */
} SpawnFlags;

/* Looks for an executable name in $PATH (a name with a '/' is taken as it is). -ENOENT when none. */
int find_executable(const char *name, char **ret);

/* Runs argv[0] (a path, or a name looked up in $PATH) with argv and waits for it. Returns its exit
 * status (0..255). -ENOENT (logged) when the program is not there or cannot be started, -EPROTO
 * (logged) when a signal killed it. */
int spawn_and_wait(char * const *argv, SpawnFlags flags);
