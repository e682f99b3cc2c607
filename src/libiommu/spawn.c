/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "strv.h"

extern char **environ;

int find_executable(const char *name, char **ret) {
        const char *path = getenv("PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_strv_free_ char **dirs = NULL;

        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return -errno;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        if (strv_split(path, ":", &dirs) < 0)
                return -ENOMEM;
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", *d, name) < 0)
                        return -ENOMEM;
                if (access(p, X_OK) == 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

int spawn_and_wait(char * const *argv, SpawnFlags flags) {
        _cleanup_free_ char *path = NULL;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status, r;

        if (!argv || !argv[0])
                return -EINVAL;
        r = find_executable(argv[0], &path);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(-ENOENT, "%s is not installed (not found in $PATH).", argv[0]);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return log_error_errno(-r, "Failed to prepare running %s: %m", argv[0]);
        if (flags & SPAWN_STDOUT_TO_STDERR)
                r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn(&pid, path, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return log_error_errno(-ENOENT, "Failed to run %s: %s", path, strerror(r));

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "Failed to wait for %s: %m", path);
        if (WIFSIGNALED(status))
                return log_error_errno(-EPROTO, "%s was killed by signal %d.", path, WTERMSIG(status));
        if (!WIFEXITED(status))
                return log_error_errno(-EPROTO, "%s stopped abnormally.", path);
        if (WEXITSTATUS(status) != 0 && (flags & SPAWN_LOG_NON_ZERO))
                log_error("%s failed with exit status %d.", path, WEXITSTATUS(status));
        return WEXITSTATUS(status);
}
