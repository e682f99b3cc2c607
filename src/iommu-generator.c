/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommu-generator: at boot, compare the running kernel command line with the configured profile and,
 * when the IOMMU tokens drifted, pull iommu-apply.service into this boot's transaction.
 *
 * It follows systemd.generator(7): three output directories (only the normal one is used), nothing
 * written when there is nothing to do, no daemons, nothing read under /var, messages to stderr (which
 * systemd connects to the kernel log) with "<N>" priority prefixes, and exit status 0 even when the
 * configuration is broken: a typo in iommu.conf must not fail the boot. It does nothing in the initrd
 * (SYSTEMD_IN_INITRD=1): the host's configuration and /boot are not there yet.
 *
 * "iommuctl.apply=0" on the kernel command line turns it off for one boot. It acts only on a node
 * where the profile was applied (/etc/iommu/applied names it) or where [Apply] Automatic=yes: a
 * configuration pushed to a fleet changes nothing until apply ran on each node.
 * IOMMU_GENERATOR_ROOT moves the root it reads from, for tests. */

#include <fcntl.h>
#include <sys/stat.h>

#include "drift.h"
#include "fileio.h"
#include "log.h"

#ifndef SYSTEMD_SYSTEM_UNIT_DIR
#define SYSTEMD_SYSTEM_UNIT_DIR "/usr/lib/systemd/system"
#endif

#define APPLY_UNIT "iommu-apply.service"
#define APPLY_TARGET "multi-user.target"

static bool env_is_true(const char *name) {
        const char *e = getenv(name);
        return e && parse_kernel_bool(e) > 0;
}

/* normal_dir/multi-user.target.wants/iommu-apply.service -> SYSTEMD_SYSTEM_UNIT_DIR/iommu-apply.service */
static int add_apply_wants(const char *normal_dir) {
        _cleanup_free_ char *wants = NULL, *link = NULL;

        if (asprintf(&wants, "%s/%s.wants", normal_dir, APPLY_TARGET) < 0 ||
            asprintf(&link, "%s/%s", wants, APPLY_UNIT) < 0)
                return log_oom();
        /* systemd creates the output directories; a manual run may not have. */
        if (mkdir(normal_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", normal_dir);
        if (mkdir(wants, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", wants);
        if (symlink(SYSTEMD_SYSTEM_UNIT_DIR "/" APPLY_UNIT, link) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create symlink %s: %m", link);
        return 0;
}

/* Generators run at boot and again at every daemon-reload (and daemon-reexec), which flushes their
 * output directories first, so earlier output tells nothing. What does: PID 1 exports a running
 * service's invocation ID as the symlink /run/systemd/units/invocation:UNIT, removes it when the
 * unit stops, and keeps it across a reload. When the generators run at boot no service of the
 * booted system has run yet (the initrd's stopped before the switch to the root), while after the
 * boot iommu-verify.service (RemainAfterExit=, and a profile is configured whenever this matters)
 * or systemd-logind.service (never in an initrd) is active. A reload adds the wants symlink but
 * starts nothing: iommu-apply.service then runs at the next boot. Two lstat() calls, no D-Bus. */
static bool booted_already(const Root *root) {
        static const char * const units[] = { "iommu-verify.service", "systemd-logind.service" };
        char path[128];

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                snprintf(path, sizeof(path), "/run/systemd/units/invocation:%s", units[i]);
                if (chase_root(root, path, CHASE_NOFOLLOW, NULL, NULL) >= 0)
                        return true;
        }
        return false;
}

/* The decision is the library's (drift.c); this only says it and writes the unit link. */
static int run(const char *normal_dir) {
        _cleanup_(drift_result_done) DriftResult d = {};
        _cleanup_root_ Root *root = NULL;
        bool in_initrd = env_is_true("SYSTEMD_IN_INITRD");
        int r;

        if (!in_initrd) {
                r = root_open_handle(getenv("IOMMU_GENERATOR_ROOT") ?: "/", &root);
                if (r < 0)
                        return log_warning_errno(r, "Failed to open the root directory, not checking the IOMMU command "
                                                 "line: %m");
        }
        r = drift_decide(root, in_initrd, &d);
        if (r < 0)
                return log_warning_errno(r, "Not checking the IOMMU command line because of the errors above; "
                                         "%s is not started on this boot.", APPLY_UNIT);
        switch (d.decision) {
        case DRIFT_SKIP_INITRD:
                log_debug("In the initrd, nothing to do.");
                return 0;
        case DRIFT_SKIP_SWITCH:
                log_debug("%s=%s on the kernel command line, not checking.", DRIFT_SWITCH, d.switch_value);
                return 0;
        case DRIFT_SKIP_DISABLED:
                log_debug("Generator=no in [Boot], nothing to do.");
                return 0;
        case DRIFT_SKIP_NO_PROFILE:
                log_debug("No Profile= in %s, nothing to do.", CONFIG_FILE);
                return 0;
        case DRIFT_SKIP_NOT_ARMED:
                /* The normal state of a node the fleet configuration reached before its apply. */
                if (d.recorded)
                        log_info("Profile %s is configured but this node applied %s: not enforcing it until "
                                 "'iommuctl apply' runs here.", d.profile, d.recorded);
                else
                        log_debug("Profile %s is configured but was never applied on this node: not enforcing it.", d.profile);
                return 0;
        case DRIFT_SKIP_NO_ARGS:
                return 0;
        case DRIFT_IN_SYNC:
        case DRIFT_SAME_EFFECT:
                log_debug("Kernel command line does what profile %s promises (%s).", d.profile,
                          drift_decision_to_string(d.decision));
                return 0;
        case DRIFT_START_APPLY:
                if (root && booted_already(root))
                        log_notice("Kernel command line lacks the IOMMU tokens of profile %s (%s) and does something else than "
                                   "they do; this is a daemon-reload, which starts nothing: %s runs at the next boot "
                                   "(or now with 'systemctl start %s').", d.profile, strna(d.wanted), APPLY_UNIT, APPLY_UNIT);
                else
                        log_notice("Kernel command line lacks the IOMMU tokens of profile %s (%s) and does something else than "
                                   "they do: starting %s on this boot.", d.profile, strna(d.wanted), APPLY_UNIT);
                return add_apply_wants(normal_dir);
        default:
                return -EINVAL;
        }
}

/* systemd runs generators with stderr on /dev/null (PID 1 hands its own stdio to /dev/null), so
 * messages written there are lost: seen in tests/vm/apply-loop.sh, where the drift notice reached
 * neither the console nor the journal. Like systemd's own generators (log_setup_generator()), write
 * to the kernel log then, where the journal picks the lines up. Line buffered: one record per line.
 * Only under the service manager (SYSTEMD_SCOPE is set), so a manual run with 2>/dev/null stays
 * silent. Containers have no /dev/kmsg; there the lines go to /dev/console, which the container
 * manager shows (systemd-nspawn's terminal, "docker logs"). */
static void log_open_kmsg_if_silenced(void) {
        struct stat st, null;
        int fd;

        if (!getenv("SYSTEMD_SCOPE"))
                return;
        if (fstat(STDERR_FILENO, &st) >= 0 &&
            (stat("/dev/null", &null) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != null.st_rdev))
                return;
        fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) /* containers have no /dev/kmsg: the console is what their manager shows */
                fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (fd != STDERR_FILENO) {
                (void) dup2(fd, STDERR_FILENO);
                (void) close(fd);
        }
        (void) setvbuf(stderr, NULL, _IOLBF, 0);
}

int main(int argc, char *argv[]) {
        const char *e;

        if (argc > 1 && argc != 4) {
                fprintf(stderr, "This program takes three or no arguments.\n");
                return EXIT_FAILURE;
        }
        log_open_kmsg_if_silenced();
        log_set_kmsg_prefix(!isatty(STDERR_FILENO));
        log_set_max_level(LOG_LEVEL_NOTICE);
        e = getenv("SYSTEMD_LOG_LEVEL");
        if (e && log_level_from_string(e) >= 0)
                log_set_max_level(log_level_from_string(e));

        umask(0022);
        (void) run(argc > 1 ? argv[1] : "/tmp");
        /* A generator that fails taints the boot for nothing: every problem was logged above. */
        return EXIT_SUCCESS;
}
