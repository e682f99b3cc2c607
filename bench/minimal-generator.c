/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for iommu-generator (bench/generator-instructions.sh): what a generator has to read
 * and decide at boot, and nothing else. Under the root ($IOMMU_GENERATOR_ROOT, default "/"): read
 * proc/cmdline, the Profile= of etc/iommu/iommu.conf and the [KernelArgs] line of that profile
 * (usr/lib/iommu/profiles/NAME.conf) for the vendor the ACPI tables name (DMAR: Intel, IVRS: AMD);
 * in sync when every token of that line is on the command line, otherwise create the
 * multi-user.target.wants/iommu-apply.service link in the first output directory. No INI parser,
 * no error messages, no kernel model.
 *
 * With --config it also scans the running kernel's build configuration (boot/config-RELEASE,
 * RELEASE from proc/sys/kernel/osrelease) for the lines that set IOMMU options: the floor for a
 * generator that judges a line that is not the one apply writes.
 *
 * Usage: minimal-generator [--config] NORMAL EARLY LATE */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_at(int dirfd, const char *path, size_t *ret_n) {
        size_t n = 0, size = 4096;
        char *buf = malloc(size);
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t k;

        if (fd < 0 || !buf) {
                if (fd >= 0)
                        close(fd);
                free(buf);
                return NULL;
        }
        while ((k = read(fd, buf + n, size - n - 1)) > 0) {
                n += (size_t) k;
                if (n + 1 == size) {
                        char *t = realloc(buf, size *= 2);
                        if (!t)
                                break;
                        buf = t;
                }
        }
        close(fd);
        buf[n] = '\0';
        if (ret_n)
                *ret_n = n;
        return buf;
}

/* The value of the first line "key=value" (after a line "[section]" when section is set). */
static char *ini_value(char *text, const char *section, const char *key) {
        size_t kl = strlen(key);
        int in = section == NULL;

        for (char *p = text; p && *p;) {
                char *e = strchr(p, '\n');
                if (e)
                        *e = '\0';
                if (*p == '[')
                        in = section && strncmp(p + 1, section, strlen(section)) == 0;
                else if (in && strncmp(p, key, kl) == 0 && p[kl] == '=')
                        return p + kl + 1;
                p = e ? e + 1 : NULL;
        }
        return NULL;
}

static int has_token(const char *line, const char *tok, size_t l) {
        for (const char *p = line; (p = strstr(p, tok)); p += l)
                if ((p == line || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\0' || p[l] == '\n'))
                        return 1;
        return 0;
}

int main(int argc, char *argv[]) {
        const char *root = getenv("IOMMU_GENERATOR_ROOT");
        char *cmdline, *conf, *profile, *args, *name, path[512];
        int config = argc > 1 && strcmp(argv[1], "--config") == 0, rootfd, in_sync = 1;
        struct stat st;

        rootfd = open(root ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return 0;
        cmdline = read_at(rootfd, "proc/cmdline", NULL);
        conf = read_at(rootfd, "etc/iommu/iommu.conf", NULL);
        name = conf ? ini_value(conf, "IOMMU", "Profile") : NULL;
        if (!cmdline || !name || strchr(name, '/'))
                return 0;
        snprintf(path, sizeof(path), "usr/lib/iommu/profiles/%s.conf", name);
        profile = read_at(rootfd, path, NULL);
        if (!profile)
                return 0;
        args = ini_value(profile, "KernelArgs",
                         fstatat(rootfd, "sys/firmware/acpi/tables/DMAR", &st, 0) == 0 ? "Intel" :
                         fstatat(rootfd, "sys/firmware/acpi/tables/IVRS", &st, 0) == 0 ? "AMD" : "Portable");
        for (char *t = args; t && *t;) {
                size_t l = strcspn(t, " ");
                char c = t[l];
                t[l] = '\0';
                in_sync = in_sync && has_token(cmdline, t, l);
                t[l] = c;
                t += l + strspn(t + l, " ");
        }
        if (config) {
                char *release = read_at(rootfd, "proc/sys/kernel/osrelease", NULL), *kconfig;
                unsigned found = 0;
                if (release) {
                        release[strcspn(release, "\n")] = '\0';
                        snprintf(path, sizeof(path), "boot/config-%s", release);
                        kconfig = read_at(rootfd, path, NULL);
                        /* Every IOMMU option has "IOMMU" in its name: one scan for it, and a
                         * look at the start of each line it is on. */
                        for (const char *hit = kconfig ? strstr(kconfig, "IOMMU") : NULL; hit; hit = strstr(hit + 5, "IOMMU")) {
                                const char *p = hit;
                                while (p > kconfig && p[-1] != '\n')
                                        p--;
                                found += strncmp(p, "CONFIG_", 7) == 0;
                        }
                        free(kconfig);
                        free(release);
                }
                in_sync = in_sync && found > 0;
        }
        if (!in_sync && argc > 1 + config) {
                char wants[512], link[600];
                snprintf(wants, sizeof(wants), "%s/multi-user.target.wants", argv[1 + config]);
                snprintf(link, sizeof(link), "%s/iommu-apply.service", wants);
                (void) mkdir(wants, 0755);
                (void) symlink("/usr/lib/systemd/system/iommu-apply.service", link);
        }
        free(profile);
        free(conf);
        free(cmdline);
        return 0;
}
