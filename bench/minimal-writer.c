/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for apply (bench/apply-instructions.sh): replace every file named on the command
 * line durably and nothing more: a temporary file next to it, written, fsynced and renamed over
 * it, then one fsync of the directory. No journal, no parsing: the contents are the old ones
 * with a line appended.
 *
 * Usage: minimal-writer DIR FILE...   (files are names inside DIR) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        int dfd;

        if (argc < 2)
                return 2;
        dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 1;
        for (int i = 2; i < argc; i++) {
                char buf[65536], tmp[4096];
                ssize_t n;
                int fd = openat(dfd, argv[i], O_RDONLY | O_CLOEXEC);

                if (fd < 0)
                        return 1;
                n = read(fd, buf, sizeof(buf) - 64);
                close(fd);
                if (n < 0)
                        return 1;
                n += snprintf(buf + n, 64, "options iommu=pt\n");
                snprintf(tmp, sizeof(tmp), ".#%s.tmp", argv[i]);
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, buf, n) != n || fsync(fd) < 0 || close(fd) < 0)
                        return 1;
                if (renameat(dfd, tmp, dfd, argv[i]) < 0)
                        return 1;
        }
        return fsync(dfd) < 0;
}
