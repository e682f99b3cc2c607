/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "iommuctl.h"
#include "libiommu/fileio.h"
#include "libiommu/log.h"
#include "libiommu/observe.h"
#include "libiommu/report.h"

/* The values /sys/kernel/iommu_groups/N/type accepts (drivers/iommu/iommu.c:iommu_group_store_type()),
 * with the kernel release that first accepted each. */
static const struct {
        const char *value;
        unsigned major, minor;
} group_types[] = {
        { "identity", 5, 11 },
        { "DMA", 5, 11 },
        { "DMA-FQ", 5, 15 },
        { "auto", 5, 11 },
};

static int observe(Observation *ret) {
        HostInfo host;
        int r;

        r = host_probe(arg.root, arg.arch, arg.vendor, &host);
        if (r < 0)
                return log_error_errno(r, "Failed to probe the host under %s: %m", arg.root->path);
        r = observe_tree(arg.root, host.arch, host.vendor, host.vendor_source, ret);
        host_info_done(&host);
        if (r < 0)
                return log_error_errno(r, "Failed to read the IOMMU groups under %s: %m", arg.root->path);
        return 0;
}

static int groups_list(void) {
        _cleanup_(observation_done) Observation o = {};

        if (observe(&o) < 0)
                return EXIT_ERROR;
        if (arg.json)
                report_groups_json(stdout, &o);
        else
                report_groups_text(stdout, &o);
        return EXIT_OK;
}

static int kernel_release_at_least(const char *release, unsigned major, unsigned minor) {
        unsigned ma, mi;

        if (!release || sscanf(release, "%u.%u", &ma, &mi) != 2)
                return -EINVAL;
        return ma > major || (ma == major && mi >= minor);
}

static int write_group_type(const Root *root, unsigned id, const char *value) {
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t n = strlen(value);
        int r;

        if (asprintf(&rel, "/sys/kernel/iommu_groups/%u/type", id) < 0)
                return -ENOMEM;
        /* Resolved inside the root, and never through a symlink in place of the file (sysfs has
         * none there): a symlinked "type" in a tree must not make us truncate what it names. */
        r = root_open(root, rel, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, &fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* Truncating matters for trees on ordinary file systems; sysfs ignores it. */
        if (ftruncate(fd, 0) < 0 && errno != EINVAL && errno != EPERM)
                return -errno;
        if (write(fd, value, n) != (ssize_t) n)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static int groups_set_type(const char *group, const char *type) {
        _cleanup_(observation_done) Observation o = {};
        const IommuGroup *g;
        const char *value = NULL;
        unsigned id, major = 0, minor = 0;
        char *end;
        int r;

        if (strcasecmp(type, "passthrough") == 0 || strcasecmp(type, "pt") == 0) {
                log_error("'%s' is not what the kernel calls it: the passthrough domain type is 'identity'. "
                          "Run 'iommuctl groups set-type %s identity'.", type, group);
                return EXIT_ERROR;
        }
        for (size_t i = 0; i < ELEMENTSOF(group_types); i++)
                if (strcasecmp(type, group_types[i].value) == 0) {
                        value = group_types[i].value;
                        major = group_types[i].major;
                        minor = group_types[i].minor;
                }
        if (!value) {
                log_error("'%s' is not a group type; valid: identity, DMA, DMA-FQ, auto.", type);
                return EXIT_ERROR;
        }
        errno = 0;
        id = strtoul(group, &end, 10);
        if (errno != 0 || *end || isempty(group)) {
                log_error("'%s' is not an IOMMU group number (see 'iommuctl groups').", group);
                return EXIT_ERROR;
        }
        if (observe(&o) < 0)
                return EXIT_ERROR;

        r = kernel_release_at_least(o.release, major, minor);
        if (r < 0) {
                log_error("Cannot tell the kernel release (%s/proc/sys/kernel/osrelease): changing a group's type needs %u.%u or later.",
                          root_prefix(arg.root), major, minor);
                return EXIT_ERROR;
        }
        if (r == 0) {
                log_error("Kernel %s cannot change a group's type to %s at run time: that needs %u.%u or later. "
                          "Set the default with the command line instead (iommu.passthrough=, iommu.strict=).",
                          o.release, value, major, minor);
                return EXIT_ERROR;
        }
        g = observation_find_group(&o, (int) id);
        if (!g) {
                log_error("There is no IOMMU group %u (%zu groups; see 'iommuctl groups').", id, o.n_groups);
                return EXIT_ERROR;
        }
        for (char **d = g->devices; d && *d; d++) {
                const PciDevice *pd = observation_find_device(&o, *d);
                if (pd && pd->driver) {
                        log_error("Group %u: %s is bound to driver %s, and the kernel changes a group's type only when no driver "
                                  "is bound in it. Unbind every device of the group first "
                                  "(echo %s > /sys/bus/pci/drivers/%s/unbind), then retry.",
                                  id, pd->bdf, pd->driver, pd->bdf, pd->driver);
                        return EXIT_ERROR;
                }
        }

        r = write_group_type(arg.root, id, value);
        if (r == -EBUSY || r == -EPERM)
                log_error("The kernel refused to change group %u to %s (%s): a driver got bound in the group, or the device "
                          "cannot change domains. Unbind the group's devices and retry.", id, value, strerror(-r));
        else if (r == -EACCES)
                log_error("Changing group %u's type needs root (CAP_SYS_ADMIN and CAP_SYS_RAWIO).", id);
        else if (r == -EINVAL)
                log_error("The kernel does not accept type %s for group %u (the IOMMU driver may not support it).", value, id);
        else if (r < 0)
                log_error_errno(r, "Failed to write the type of group %u: %m", id);
        if (r < 0)
                return EXIT_ERROR;
        printf("Group %u: %s -> %s\n", id, domain_type_to_string(g->type), value);
        return EXIT_OK;
}

int verb_groups(int argc, char *argv[]) {
        if (argc == 1)
                return groups_list();
        if (streq(argv[1], "set-type")) {
                if (argc != 4) {
                        log_error("Usage: iommuctl groups set-type GROUP identity|DMA|DMA-FQ|auto");
                        return EXIT_ERROR;
                }
                return groups_set_type(argv[2], argv[3]);
        }
        log_error("Unknown groups command '%s'; valid: set-type.", argv[1]);
        return EXIT_ERROR;
}
