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
 * "iommuctl.apply=0" on the kernel command line turns it off for one boot.
 * IOMMU_GENERATOR_ROOT moves the root it reads from, for tests. */

#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "fileio.h"
#include "host.h"
#include "intent.h"
#include "log.h"
#include "plan.h"
#include "profile.h"
#include "strv.h"

#ifndef SYSTEMD_SYSTEM_UNIT_DIR
#define SYSTEMD_SYSTEM_UNIT_DIR "/usr/lib/systemd/system"
#endif

#define APPLY_UNIT "iommu-apply.service"
#define APPLY_TARGET "multi-user.target"
#define APPLY_SWITCH "iommuctl.apply"

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

static int run(const char *normal_dir) {
        _cleanup_free_ char *proc_cmdline = NULL;
        _cleanup_cmdline_ Cmdline *current = NULL, *wanted = NULL;
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_profile_ Profile *profile = NULL;
        _cleanup_(config_done) Config config = {};
        _cleanup_(host_info_done) HostInfo host = {};
        _cleanup_(kernel_info_done) KernelInfo kernel = {};
        SyncState sync;
        const CmdlineToken *t;
        _cleanup_root_ Root *root = NULL;
        Vendor vendor;
        int r;

        if (env_is_true("SYSTEMD_IN_INITRD")) {
                log_debug("In the initrd, nothing to do.");
                return 0;
        }
        r = root_open_handle(getenv("IOMMU_GENERATOR_ROOT") ?: "/", &root);
        if (r < 0)
                return log_warning_errno(r, "Failed to open the root directory, not checking the IOMMU command line: %m");

        r = host_read_cmdline(root, &proc_cmdline);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s/proc/cmdline, not checking the IOMMU command line: %m",
                                         root_prefix(root));
        r = cmdline_parse(proc_cmdline, &current);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the kernel command line: %m");
        t = cmdline_find_last(current, APPLY_SWITCH);
        if (t && t->value && parse_kernel_bool(t->value) == 0) {
                log_debug("%s=%s on the kernel command line, not checking.", APPLY_SWITCH, t->value);
                return 0;
        }

        /* A missing iommu.conf or Profile= is the normal state of a host that does not use this: say
         * nothing above debug. A broken file was already logged with file:line. */
        r = config_load(root, &config);
        if (r < 0)
                return log_warning_errno(r, "Ignoring the IOMMU configuration because of the errors above; "
                                         "%s is not started on this boot.", APPLY_UNIT);
        if (!config.generator) {
                log_debug("Generator=no in [Boot], nothing to do.");
                return 0;
        }
        if (!config.profile) {
                log_debug("No Profile= in %s, nothing to do.", CONFIG_FILE);
                return 0;
        }
        /* Not linted here: "iommuctl lint" and apply did that; the boot only needs the tokens. */
        r = profile_load_full(root, config.profile, PROFILE_LOAD_NO_LINT, &profile);
        if (r < 0)
                return log_warning_errno(r, "Cannot load profile %s; %s is not started on this boot.",
                                         config.profile, APPLY_UNIT);

        /* Vendor= wins; otherwise the ACPI tables and the CPU tell. */
        r = host_probe(root, _ARCH_INVALID, config.vendor, &host);
        if (r < 0)
                return log_warning_errno(r, "Failed to probe the host: %m");
        vendor = host_args_vendor(&host);
        if (vendor < 0)
                return log_warning_errno(-ENXIO, "Cannot tell this host's IOMMU (%s); set Vendor= in %s.",
                                         host.vendor_source, CONFIG_FILE);
        r = profile_kernel_args(profile, vendor, &wanted);
        if (r == -ENODATA)
                return log_warning_errno(r, "Profile %s has no kernel arguments for %s (%s); nothing to check.",
                                         profile->name, vendor_to_string(vendor), profile->path);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the kernel arguments of profile %s: %m", profile->name);
        r = profile_owned_keys(profile, &owned);
        if (r < 0)
                return log_oom();

        /* The line apply writes: in sync on any kernel, without reading its build configuration. */
        if (plan_line_carries_profile(current, owned, wanted)) {
                log_debug("Kernel command line carries the tokens of profile %s.", profile->name);
                return 0;
        }
        /* Drift is a different predicted effect, not a different token order: another writer's order,
         * or an extra token that changes nothing, never starts the apply service. */
        r = kernel_info_load(root, host.arch, NULL, NULL, &kernel);
        if (r < 0)
                return log_warning_errno(r, "Failed to read the running kernel's release and configuration: %m");
        /* A profile that declares only its Mode gets the tokens the model chooses for this kernel
         * (intel_iommu=strict before 5.15...): what apply writes for it. */
        if (!profile->args[vendor].set) {
                _cleanup_(intent_choice_done) IntentChoice choice = {};

                r = intent_profile_args(profile, vendor, &kernel, &choice);
                if (r < 0 && r != -ENODATA)
                        return log_oom();
                if (r >= 0 && choice.tokens) {
                        cmdline_free(wanted);
                        wanted = TAKE_PTR(choice.tokens);
                        if (plan_line_carries_profile(current, owned, wanted)) {
                                log_debug("Kernel command line carries the tokens of profile %s.", profile->name);
                                return 0;
                        }
                }
        }
        r = plan_sync_state(&kernel, vendor, current, owned, wanted, &sync);
        if (r < 0)
                return log_oom();
        if (sync != SYNC_DRIFT) {
                log_debug("Kernel command line does what profile %s promises (%s).", profile->name, sync_state_to_string(sync));
                return 0;
        }

        _cleanup_free_ char *w = cmdline_to_string(wanted);
        if (booted_already(root))
                log_notice("Kernel command line lacks the IOMMU tokens of profile %s (%s) and does something else than they do; "
                           "this is a daemon-reload, which starts nothing: %s runs at the next boot "
                           "(or now with 'systemctl start %s').",
                           profile->name, strna(w), APPLY_UNIT, APPLY_UNIT);
        else
                log_notice("Kernel command line lacks the IOMMU tokens of profile %s (%s) and does something else than they do: "
                           "starting %s on this boot.",
                           profile->name, strna(w), APPLY_UNIT);
        return add_apply_wants(normal_dir);
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
