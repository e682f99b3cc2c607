/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for verify and groups (bench/verify-instructions.sh): the same sysfs reads iommuctl
 * makes, and nothing else. For each PCI device, open its directory once, read vendor, device,
 * class, sriov_totalvfs and sriov_numvfs (one read each) and readlink driver, physfn and
 * iommu_group, relative to the directory; for each IOMMU group, read type and list devices/.
 *
 * Usage: minimal-reader ROOT   (prints the device and group counts) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long read_attr(int dirfd, const char *name) {
        char buf[64];
        ssize_t n;
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return strtoul(buf, NULL, 0);
}

static size_t link_len(int dirfd, const char *name) {
        char buf[4096];
        ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
        return n < 0 ? 0 : (size_t) n;
}

int main(int argc, char *argv[]) {
        unsigned long sum = 0, devices = 0, groups = 0;
        struct dirent *de;
        int rootfd, top;
        DIR *d;

        if (argc != 2)
                return 2;
        rootfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return 1;

        top = openat(rootfd, "sys/bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = top >= 0 ? fdopendir(top) : NULL;
        while (d && (de = readdir(d))) {
                int fd;
                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                sum += read_attr(fd, "vendor") + read_attr(fd, "device") + read_attr(fd, "class") +
                       read_attr(fd, "sriov_totalvfs") + read_attr(fd, "sriov_numvfs");
                sum += link_len(fd, "driver") + link_len(fd, "physfn") + link_len(fd, "iommu_group");
                close(fd);
                devices++;
        }
        if (d)
                closedir(d);

        top = openat(rootfd, "sys/kernel/iommu_groups", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = top >= 0 ? fdopendir(top) : NULL;
        while (d && (de = readdir(d))) {
                char type[32];
                ssize_t n;
                int fd, tfd, dfd;
                DIR *dd;
                struct dirent *e;

                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                tfd = openat(fd, "type", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (tfd >= 0) {
                        n = read(tfd, type, sizeof(type) - 1);
                        sum += n > 0 ? (unsigned long) n : 0;
                        close(tfd);
                }
                dfd = openat(fd, "devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                dd = dfd >= 0 ? fdopendir(dfd) : NULL;
                while (dd && (e = readdir(dd)))
                        if (e->d_name[0] != '.')
                                sum += strlen(e->d_name);
                if (dd)
                        closedir(dd);
                close(fd);
                groups++;
        }
        if (d)
                closedir(d);
        printf("%lu devices, %lu groups (%lu)\n", devices, groups, sum);
        return 0;
}
