/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>

#include "escape.h"
#include "fileio.h"
#include "observe.h"
#include "p2p.h"
#include "strv.h"

#define PCI_DEVICES_DIR "/sys/bus/pci/devices"
#define IOMMU_GROUPS_DIR "/sys/kernel/iommu_groups"
#define IOMMU_CLASS_DIR "/sys/class/iommu"

int module_name_normalize(const char *name, char **ret) {
        char *s = strdup(name);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                if (*p == '-')
                        *p = '_';
        *ret = s;
        return 0;
}

bool pci_device_is_gpu(unsigned vendor, unsigned class) {
        unsigned base = class >> 16;
        /* 0x03: display (VGA 0x0300, 3D 0x0302: H100/A100 SXM), 0x12: processing accelerators. */
        return (vendor == 0x10de || vendor == 0x1002) && (base == 0x03 || base == 0x12);
}

const char *pci_class_name(unsigned class) {
        static const struct {
                unsigned class, mask;
                const char *name;
        } names[] = {
                { 0x030000, 0xffff00, "VGA controller" },
                { 0x030200, 0xffff00, "3D controller" },
                { 0x030000, 0xff0000, "display controller" },
                { 0x020000, 0xffff00, "Ethernet controller" },
                { 0x020700, 0xffff00, "InfiniBand controller" },
                { 0x020000, 0xff0000, "network controller" },
                { 0x010800, 0xffff00, "NVMe controller" },
                { 0x010000, 0xff0000, "storage controller" },
                { 0x060000, 0xffff00, "host bridge" },
                { 0x060100, 0xffff00, "ISA bridge" },
                { 0x060400, 0xffff00, "PCI bridge" },
                { 0x060000, 0xff0000, "bridge" },
                { 0x068000, 0xffff00, "bridge" },
                { 0x0c0500, 0xffff00, "SMBus" },
                { 0x0c0300, 0xffff00, "USB controller" },
                { 0x120000, 0xff0000, "processing accelerator" },
                { 0x040300, 0xffff00, "audio device" },
                { 0x00ff00, 0xffff00, "unclassified device" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if ((class & names[i].mask) == names[i].class)
                        return names[i].name;
        return "device";
}

int observation_note_unreadable(Observation *o, const char *what, int error) {
        char *s;

        if (asprintf(&s, "%s: %s%s", what,
                     error == -EBADMSG ? "unexpected contents" :
                     error == -EBADFD ? "not a regular file" : strerror(error < 0 ? -error : error),
                     error == -EACCES || error == -EPERM ? " (run as root to read it)" : "") < 0)
                return -ENOMEM;
        return strv_consume(&o->unreadable, s);
}

static int str_compare_ptr(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

struct ObservationArena {
        ObservationArena *next;
        size_t used, size;
        max_align_t data[];
};

#define ARENA_BLOCK_SIZE ((size_t) 64 * 1024)

/* n bytes from the observation's arena, aligned for a pointer; NULL when out of memory. */
static void *arena_alloc(Observation *o, size_t n) {
        ObservationArena *a = o->arena, *b;
        size_t size;

        if (n > SIZE_MAX / 2)
                return NULL;
        n = (n + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
        if (a && a->size - a->used >= n) {
                void *p = (char *) a->data + a->used;
                a->used += n;
                return p;
        }
        size = n > ARENA_BLOCK_SIZE / 4 ? n : ARENA_BLOCK_SIZE;
        b = malloc(offsetof(ObservationArena, data) + size);
        if (!b)
                return NULL;
        *b = (ObservationArena) { .size = size, .used = n };
        if (a && size != ARENA_BLOCK_SIZE) {
                /* A large one of its own, behind the block being filled. */
                b->next = a->next;
                a->next = b;
        } else {
                b->next = a;
                o->arena = b;
        }
        return b->data;
}

static char *arena_strndup(Observation *o, const char *s, size_t n) {
        char *t = arena_alloc(o, n + 1);

        if (!t)
                return NULL;
        memcpy(t, s, n);
        t[n] = '\0';
        return t;
}

/* The length of s when it is printable ASCII only (escape_text() keeps it as it is), else
 * SIZE_MAX. One pass, no strlen() besides. */
static size_t printable_length(const char *s) {
        size_t n;

        for (n = 0; s[n]; n++)
                if ((unsigned char) (s[n] - 0x20) >= 0x7f - 0x20)
                        return SIZE_MAX;
        return n;
}

/* A name from the tree, as printed (escape_text(): control bytes of a crafted tree never reach a
 * terminal), in the arena: only a name that needs escaping takes escape_text()'s allocation. */
static char *arena_escaped(Observation *o, const char *name) {
        _cleanup_free_ char *e = NULL;
        size_t n = printable_length(name);

        if (n != SIZE_MAX)
                return arena_strndup(o, name, n);
        e = escape_text(name);
        if (!e)
                return NULL;
        return arena_strndup(o, e, strlen(e));
}

static void arena_free(ObservationArena *a) {
        while (a) {
                ObservationArena *next = a->next;
                free(a);
                a = next;
        }
}

/* Reads a sysfs attribute under the root: a stripped copy, or NULL when it is absent. Other errors
 * are noted. */
static int read_attr(Observation *o, const char *path, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_root_line(o->root, path, &s);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret = NULL;
                return observation_note_unreadable(o, path, r);
        }
        char *t = strdup(strstrip(s));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* Opens the directory ROOT/path; -ENOENT when it is missing. */
static int open_root_dir(const Root *root, const char *path, int *ret_fd) {
        /* Resolved inside the root (fileio's confined resolver). */
        return root_open(root, path, O_RDONLY | O_DIRECTORY, ret_fd);
}

/* Calls f for each entry name of the directory name under dir_fd (AT_FDCWD and a path work too),
 * without dot files, in the order the file system gives them: the names straight from
 * getdents64() into the stack (not readdir(): a DIR is a 32 KiB allocation, once per group), no
 * copy. A missing directory has no entries. Stops at f's first negative return. */
static int dir_foreach_at(int dir_fd, const char *name, int (*f)(const char *entry, void *userdata), void *userdata) {
        _cleanup_close_ int fd = -1;
        union {
                struct dirent64 de;
                char buf[8192];
        } u;
        int r;

        /* O_NOFOLLOW: name is one component of a directory resolved inside the root (or "."),
         * and a symlink there must not lead out of it. */
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
        for (;;) {
                ssize_t k = getdents64(fd, u.buf, sizeof(u.buf));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                for (ssize_t off = 0; off < k;) {
                        const struct dirent64 *de = (const struct dirent64 *) (u.buf + off);

                        off += de->d_reclen;
                        if (de->d_name[0] == '.')
                                continue;
                        r = f(de->d_name, userdata);
                        if (r < 0)
                                return r;
                }
        }
}

/* The names of a listing, one after the other with their NULs, escaped (they are printed:
 * control bytes of a crafted tree never reach a terminal). */
typedef struct NameBuffer {
        char *buf;  /* inline at first (a group's devices/ usually holds one name), else malloc()ed */
        size_t size, allocated, n;
        char inline_buf[256];
} NameBuffer;

static int name_buffer_add(const char *name, void *userdata) {
        _cleanup_free_ char *escaped = NULL;
        NameBuffer *b = userdata;
        const char *s = name;
        size_t l = printable_length(name);

        if (l == SIZE_MAX) {
                escaped = escape_text(name);
                if (!escaped)
                        return -ENOMEM;
                s = escaped;
                l = strlen(s);
        }
        l++;
        if (!b->buf) {
                b->buf = b->inline_buf;
                b->allocated = sizeof(b->inline_buf);
        }
        if (b->size + l > b->allocated) {
                size_t a = b->allocated * 2 > b->size + l ? b->allocated * 2 : b->size + l + 256;
                char *t = b->buf == b->inline_buf ? malloc(a) : realloc(b->buf, a);
                if (!t)
                        return -ENOMEM;
                if (b->buf == b->inline_buf)
                        memcpy(t, b->buf, b->size);
                b->buf = t;
                b->allocated = a;
        }
        memcpy(b->buf + b->size, s, l);
        b->size += l;
        b->n++;
        return 0;
}

/* The entry names of the directory name under dir_fd, sorted, as one block of the arena: the
 * NULL-terminated array, then the names; NULL when there are none. For the devices/ of each IOMMU
 * group: usually one name, which cost two allocations and a copy as a strv. */
static int list_dir_packed_at(Observation *o, int dir_fd, const char *name, char ***ret) {
        NameBuffer b; /* not "= {}": that zeroed the inline buffer for every group */
        char **l = NULL, *p;
        int r;

        b.buf = NULL;
        b.size = b.allocated = b.n = 0;
        r = dir_foreach_at(dir_fd, name, name_buffer_add, &b);
        if (r >= 0 && b.n > 0) {
                l = arena_alloc(o, (b.n + 1) * sizeof(char *) + b.size);
                if (l)
                        memcpy((char *) (l + b.n + 1), b.buf, b.size);
        }
        if (b.buf != b.inline_buf)
                free(b.buf);
        if (r < 0)
                return r;
        if (b.n == 0) {
                *ret = NULL;
                return 0;
        }
        if (!l)
                return -ENOMEM;
        p = (char *) (l + b.n + 1);
        for (size_t i = 0; i < b.n; i++, p += strlen(p) + 1)
                l[i] = p;
        l[b.n] = NULL;
        if (b.n > 1)
                qsort(l, b.n, sizeof(char *), str_compare_ptr);
        *ret = l;
        return 0;
}

typedef struct NameList {
        char **l;
        size_t n, allocated;
} NameList;

static int name_list_add(const char *name, void *userdata) {
        NameList *nl = userdata;
        /* Names are printed: control bytes of a crafted tree are escaped. */
        return strv_consume_n(&nl->l, &nl->n, &nl->allocated, escape_text(name));
}

/* Entry names of the directory name under dir_fd (AT_FDCWD and a path work too), sorted when asked,
 * without dot files, and how many, each its own string (observe_devices() moves them into the
 * devices). A missing directory is an empty list. The list keeps its length as it grows (no
 * recount per entry): listing 16384 groups is linear, plus the sort. */
static int list_dir_at(int dir_fd, const char *name, bool sort, char ***ret, size_t *ret_n) {
        NameList nl = {};
        int r;

        r = dir_foreach_at(dir_fd, name, name_list_add, &nl);
        if (r < 0) {
                strv_free(nl.l);
                return r;
        }
        if (nl.l && sort)
                qsort(nl.l, nl.n, sizeof(char *), str_compare_ptr);
        *ret = nl.l;
        if (ret_n)
                *ret_n = nl.n;
        return 0;
}

static int list_dir(const Root *root, const char *path, char ***ret, size_t *ret_n) {
        _cleanup_close_ int fd = -1;
        int r;

        r = open_root_dir(root, path, &fd);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                if (ret_n)
                        *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;
        return list_dir_at(fd, ".", true, ret, ret_n);
}

static bool attr_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads the attribute name of the sysfs directory dir_fd into buf, cut at the first newline and
 * stripped: one read(), since sysfs hands out an attribute whole (at most a page) on the first
 * one, so there is no second read to see EOF. O_NOFOLLOW: an attribute is never a symlink, and a
 * tree's symlink must not lead the read out of it; O_NONBLOCK: a FIFO does not hang us. Returns
 * the length, -ENOENT when absent. */
static int read_attr_at(int dir_fd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        /* Cut at the first newline (or NUL), stripped of the white space strstrip() strips. */
        buf[n] = '\0';
        size_t e = (size_t) (strchrnul(buf, '\n') - buf), b = 0;
        while (b < e && attr_space(buf[b]))
                b++;
        while (e > b && attr_space(buf[e - 1]))
                e--;
        buf[e] = '\0';
        if (b > 0)
                memmove(buf, buf + b, e - b + 1);
        return (int) (e - b);
}

/* The same for an observation: absent is buf "", other errors are noted, naming
 * parent/dir/name (the path is only formatted then). Only -ENOMEM is returned. */
static int read_observed_attr(Observation *o, int dir_fd, const char *parent, const char *dir, const char *name,
                              char *buf, size_t size) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = read_attr_at(dir_fd, name, buf, size);
        if (r >= 0)
                return 0;
        buf[0] = '\0';
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (asprintf(&p, "%s/%s/%s", parent, dir, name) < 0)
                return -ENOMEM;
        return observation_note_unreadable(o, p, r);
}

/* strtoul(s, NULL, 0) for what sysfs writes ("0x10de", "64"), without its locale and base
 * machinery: it was a tenth of verify on a host with thousands of devices. Anything else goes
 * to strtoul(). */
static unsigned parse_attr_uint(const char *s) {
        unsigned v = 0;

        if (s[0] == '0' && s[1] == '\0')
                return 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
                for (const char *p = s + 2; *p; p++) {
                        unsigned d = *p >= '0' && *p <= '9' ? (unsigned) (*p - '0') :
                                     (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f' ? (unsigned) ((*p | 0x20) - 'a' + 10) : 16;
                        if (d == 16 || v > 0x0fffffffU)
                                return (unsigned) strtoul(s, NULL, 0);
                        v = v * 16 + d;
                }
                return v;
        }
        if (s[0] >= '1' && s[0] <= '9') {
                for (const char *p = s; *p; p++) {
                        if (*p < '0' || *p > '9' || v > 429496728U)
                                return (unsigned) strtoul(s, NULL, 0);
                        v = v * 10 + (unsigned) (*p - '0');
                }
                return v;
        }
        return (unsigned) strtoul(s, NULL, 0);
}

/* atoi() for a decimal number of at most nine digits, with an optional '-' (numa_node "-1",
 * a group's number): anything else goes to atoi(). */
static int parse_attr_int(const char *s) {
        const char *p = s + (s[0] == '-');
        int v = 0;
        size_t i;

        for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
                v = v * 10 + (p[i] - '0');
        if (i == 0 || i > 9 || p[i])
                return atoi(s);
        return s[0] == '-' ? -v : v;
}

static int read_device_attr_uint(Observation *o, int dir_fd, const char *bdf, const char *attr, unsigned *ret) {
        char buf[64];
        int r;

        r = read_observed_attr(o, dir_fd, PCI_DEVICES_DIR, bdf, attr, buf, sizeof(buf));
        if (r < 0)
                return r;
        *ret = buf[0] ? parse_attr_uint(buf) : 0;
        return 0;
}

/* The last component of the target of the symlink name in dir_fd, NULL when there is no link. */
static int read_device_link(Observation *o, int dir_fd, const char *name, char **ret) {
        char buf[4096];
        const char *b;
        ssize_t n;

        n = readlinkat(dir_fd, name, buf, sizeof(buf) - 1);
        if (n < 0) {
                *ret = NULL;
                return 0;
        }
        buf[n] = '\0';
        /* basename() of a link without a trailing slash is what follows its last slash. */
        if (n > 0 && buf[n - 1] != '/') {
                const char *slash = memrchr(buf, '/', n);
                b = slash ? slash + 1 : buf;
        } else
                b = basename(buf);
        /* Printed by "groups" and verify: no terminal control bytes from a crafted tree. */
        char *t = arena_escaped(o, b);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* Opens the directory the entry name of /sys/bus/pci/devices links to. The kernel's links are
 * "../../../devices/<path>", real directories all the way: those are walked from /sys/devices
 * (resolved once, inside the root) one component at a time with O_NOFOLLOW, which cannot leave
 * it. Any other link, or a component that is not a plain directory, goes through the resolver
 * (root_open(), one resolution of the whole path, clamped at the root). target: the entry's
 * link, NULL when it is none. */
static int open_device_dir(Observation *o, int sys_devices_fd, const char *name, const char *target, int *ret_fd) {
        const char *p;

        if (sys_devices_fd >= 0 && target) {
                _cleanup_close_ int fd = -1;

                p = startswith(target, "../../../devices/");
                /* One openat2() for the whole path: no symlink on the way and nothing outside
                 * /sys/devices (without symlinks, a ".." there names what it names for the
                 * resolver below too). Where it fails (a symlink, a missing directory, no
                 * openat2()), the walk decides as before. */
                if (p && *p && !o->no_openat2) {
                        fd = openat_beneath_nofollow(sys_devices_fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                        if (fd >= 0) {
                                *ret_fd = TAKE_FD(fd);
                                return 0;
                        }
                        o->no_openat2 = fd == -EOPNOTSUPP;
                }
                if (p && *p)
                        fd = fcntl(sys_devices_fd, F_DUPFD_CLOEXEC, 3);
                while (fd >= 0 && *p) {
                        size_t l = (size_t) (strchrnul(p, '/') - p);
                        char c[NAME_MAX + 1];
                        int child;

                        if (l == 0 || l > NAME_MAX || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                                break;
                        memcpy(c, p, l);
                        c[l] = '\0';
                        child = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (child < 0)
                                break;
                        close(fd);
                        fd = child;
                        p += l;
                        while (*p == '/')
                                p++;
                }
                if (fd >= 0 && !*p) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
        }
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, PCI_DEVICES_DIR "/%s", name) < 0)
                return -ENOMEM;
        return root_open(o->root, dir, O_RDONLY | O_DIRECTORY, ret_fd);
}

/* The device's config space (pcie.h): bounded to 4096 bytes, a regular file only. Unreadable
 * (not root: the kernel gives 256 bytes then, which is still parsed) is noted; a tree captured
 * without config files says nothing. */
static int observe_device_config(Observation *o, int dir_fd, const char *bdf, PciDevice *d) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -1;
        size_t size;
        int r;

        fd = openat(dir_fd, "config", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                r = -errno;
        else
                r = read_fd_full(fd, PCI_CONFIG_SPACE_SIZE, &data, &size);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && pcie_parse((const uint8_t *) data, size, &d->pcie) >= 0)
                return 0;
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, PCI_DEVICES_DIR "/%s/config", bdf) < 0)
                return -ENOMEM;
        return observation_note_unreadable(o, p, r < 0 ? r : -EBADMSG);
}

/* Where the device sits: the host bridge and the bridges above it, from the link
 * /sys/bus/pci/devices/X -> ../../../devices/pci0000:00/0000:00:10.0/.../X. */
static int observe_device_path(Observation *o, const char *target, PciDevice *d) {
        const char *bridge[P2P_SYSFS_PATH_BRIDGES_MAX], *host;
        size_t host_len, k;
        int r;

        if (!target)
                return 0;
        /* The names copied into the arena: the upstream list is one block, the array then the
         * names. */
        r = p2p_split_sysfs_path(target, &host, &host_len, bridge, ELEMENTSOF(bridge), &k);
        if (r < 0)
                return r;
        if (host && !(d->host_bridge = arena_strndup(o, host, host_len)))
                return -ENOMEM;
        if (k > 0) {
                char **chain = arena_alloc(o, (k + 1) * sizeof(char *) + k * 13);
                char *p;

                if (!chain)
                        return -ENOMEM;
                p = (char *) (chain + k + 1);
                for (size_t i = 0; i < k; i++, p += 13) {
                        chain[i] = memcpy(p, bridge[i], 12);
                        p[12] = '\0';
                }
                chain[k] = NULL;
                d->upstream = chain;
        }
        return 0;
}

/* Fills d for the device name (a string of the arena). */
static int observe_device(Observation *o, int devices_fd, int sys_devices_fd, char *name, PciDevice *d) {
        _cleanup_close_ int fd = -1;
        char group[PATH_MAX]; /* "../" per level of a deep device (behind switches), then kernel/iommu_groups/N */
        char target[PATH_MAX];
        ssize_t n, target_len;
        int r;

        *d = (PciDevice) { .group = -1, .bdf = name, .numa_node = -1, .pcie.port_type = PCIE_TYPE_NONE };
        /* Every file of the device relative to its directory: one confined resolution per device
         * (the entry is a symlink into /sys/devices, followed inside the root), not one per
         * attribute; the attributes are then single components opened with O_NOFOLLOW. The path
         * is only formatted for a message. */
        /* The entry's link, read once: where to open the device, and where it sits. */
        target_len = devices_fd >= 0 ? readlinkat(devices_fd, name, target, sizeof(target) - 1) : -1;
        if (target_len > 0)
                target[target_len] = '\0';
        r = open_device_dir(o, sys_devices_fd, name, target_len > 0 ? target : NULL, &fd);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, PCI_DEVICES_DIR "/%s", name) < 0)
                        return -ENOMEM;
                return observation_note_unreadable(o, dir, r);
        }
        r = read_device_attr_uint(o, fd, name, "vendor", &d->vendor);
        if (r >= 0)
                r = read_device_attr_uint(o, fd, name, "device", &d->device);
        if (r >= 0)
                r = read_device_attr_uint(o, fd, name, "class", &d->class);
        if (r >= 0)
                r = read_device_attr_uint(o, fd, name, "sriov_totalvfs", &d->sriov_totalvfs);
        if (r >= 0)
                r = read_device_attr_uint(o, fd, name, "sriov_numvfs", &d->sriov_numvfs);
        if (r >= 0)
                r = read_device_link(o, fd, "driver", &d->driver);
        if (r >= 0)
                r = read_device_link(o, fd, "physfn", &d->physfn);
        if (r >= 0)
                r = observe_device_config(o, fd, name, d);
        if (r >= 0)
                r = observe_device_path(o, target_len > 0 ? target : NULL, d);
        if (r >= 0) {
                char buf[32];
                r = read_observed_attr(o, fd, PCI_DEVICES_DIR, name, "numa_node", buf, sizeof(buf));
                if (r >= 0 && buf[0])
                        d->numa_node = parse_attr_int(buf);
        }
        if (r < 0)
                return r;
        n = readlinkat(fd, "iommu_group", group, sizeof(group) - 1);
        if (n > 0) {
                const char *slash;

                group[n] = '\0';
                /* basename(): what follows the last slash, when the link does not end in one. */
                if (group[n - 1] != '/') {
                        slash = memrchr(group, '/', n);
                        d->group = parse_attr_int(slash ? slash + 1 : group);
                } else
                        d->group = atoi(basename(group));
        }
        d->is_gpu = pci_device_is_gpu(d->vendor, d->class);
        return 0;
}

/* The names of /sys/bus/pci/devices, each in the arena, and how many. */
typedef struct DeviceNames {
        Observation *o;
        char **names;
        size_t n, allocated;
} DeviceNames;

static int device_names_add(const char *name, void *userdata) {
        DeviceNames *dn = userdata;

        if (GREEDY_REALLOC(dn->names, dn->allocated, dn->n + 1, 64) < 0)
                return -ENOMEM;
        dn->names[dn->n] = arena_escaped(dn->o, name);
        if (!dn->names[dn->n])
                return -ENOMEM;
        dn->n++;
        return 0;
}

/* The name of a PCI device as the kernel writes it, "dddd:bb:dd.f" in lower-case hex, as a
 * number of its nine digits: two names compare as strcmp() compares them. false for any other
 * name. */
static bool bdf_key(const char *s, uint64_t *ret) {
        uint64_t k = 0;

        for (size_t i = 0; i < 12; i++) {
                char c = s[i];
                unsigned d;

                if (i == 4 || i == 7 || i == 10) {
                        if (c != (i == 10 ? '.' : ':'))
                                return false;
                        continue;
                }
                d = c >= '0' && c <= '9' ? (unsigned) (c - '0') : c >= 'a' && c <= 'f' ? (unsigned) (c - 'a' + 10) : 16;
                if (d == 16)
                        return false; /* the NUL of a shorter name too */
                k = k << 4 | d;
        }
        if (s[12])
                return false;
        *ret = k;
        return true;
}

/* Sorts the device names as strcmp() does. Names in the kernel's form (all of them on a real
 * host) are sorted by their number, three passes of a radix sort on 12 bits each (a qsort() with
 * strcmp() was a tenth of verify on 4096 devices); any other name takes qsort(). */
static int sort_device_names(char **names, size_t n, uint64_t **ret_keys) {
        _cleanup_free_ uint64_t *keys = NULL;
        _cleanup_free_ char **tmp = NULL;
        uint64_t *k0, *k1;
        char **n0, **n1;

        if (n < 64)
                goto sort;
        keys = malloc(2 * n * sizeof(uint64_t));
        tmp = malloc(n * sizeof(char *));
        if (!keys || !tmp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!bdf_key(names[i], &keys[i]))
                        goto sort;
        k0 = keys, k1 = keys + n, n0 = names, n1 = tmp;
        for (unsigned shift = 0; shift < 36; shift += 12) {
                size_t count[4096] = {}, sum = 0;
                uint64_t *kt;
                char **nt;

                for (size_t i = 0; i < n; i++)
                        count[(k0[i] >> shift) & 0xfff]++;
                if (count[(k0[0] >> shift) & 0xfff] == n)
                        continue; /* these digits are the same in every name (the domain, mostly) */
                for (size_t b = 0; b < 4096; b++) {
                        size_t c = count[b];
                        count[b] = sum;
                        sum += c;
                }
                for (size_t i = 0; i < n; i++) {
                        size_t j = count[(k0[i] >> shift) & 0xfff]++;
                        k1[j] = k0[i];
                        n1[j] = n0[i];
                }
                kt = k0, k0 = k1, k1 = kt;
                nt = n0, n0 = n1, n1 = nt;
        }
        if (n0 != names)
                memcpy(names, n0, n * sizeof(char *));
        if (k0 != keys)
                memcpy(keys, k0, n * sizeof(uint64_t));
        /* The numbers, in the order of the names: observation_find_device() searches them. */
        *ret_keys = TAKE_PTR(keys);
        return 0;
sort:
        qsort(names, n, sizeof(char *), str_compare_ptr);
        return 0;
}

static int observe_devices(Observation *o) {
        _cleanup_free_ char **names = NULL; /* the strings are the arena's */
        DeviceNames dn = { .o = o };
        _cleanup_close_ int fd = -1;
        _cleanup_close_ int sys_devices_fd = -1;
        int r;

        r = open_root_dir(o->root, PCI_DEVICES_DIR, &fd);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                r = dir_foreach_at(fd, ".", device_names_add, &dn);
        names = dn.names;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return observation_note_unreadable(o, PCI_DEVICES_DIR, r);
        if (dn.n == 0)
                return 0;
        /* In the order of their names, which observation_find_device() relies on. */
        r = sort_device_names(names, dn.n, &o->device_keys);
        if (r < 0)
                return r;

        if (root_open(o->root, "/sys/devices", O_RDONLY | O_DIRECTORY, &sys_devices_fd) < 0)
                sys_devices_fd = -1;
        o->devices = calloc(dn.n, sizeof(PciDevice));
        if (!o->devices)
                return -ENOMEM;
        for (size_t i = 0; i < dn.n; i++) {
                r = observe_device(o, fd, sys_devices_fd, names[i], &o->devices[o->n_devices++]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int group_compare(const void *a, const void *b) {
        const IommuGroup *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Puts the groups in the order of their numbers. The kernel numbers them 0, 1, 2... so each is
 * placed at its number (no sort: a qsort() was a tenth of verify on 4096 groups); numbers far
 * apart or twice the same (a crafted "01" next to "1") take qsort(). */
static int groups_order_by_number(IommuGroup *groups, size_t n, bool *ret_unique) {
        _cleanup_free_ size_t *slot = NULL;
        _cleanup_free_ IommuGroup *copy = NULL;
        unsigned max = 0;
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                max = groups[i].id > max ? groups[i].id : max;
        if (n == 0 || max >= 4 * n + 64)
                goto sort;
        slot = malloc(((size_t) max + 1) * sizeof(size_t));
        copy = malloc(n * sizeof(IommuGroup));
        if (!slot || !copy)
                return -ENOMEM;
        for (size_t i = 0; i <= max; i++)
                slot[i] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                if (slot[groups[i].id] != SIZE_MAX)
                        goto sort;
                slot[groups[i].id] = i;
        }
        for (size_t i = 0; i <= max; i++)
                if (slot[i] != SIZE_MAX)
                        copy[k++] = groups[slot[i]];
        memcpy(groups, copy, n * sizeof(IommuGroup));
        *ret_unique = true;
        return 0;
sort:
        qsort(groups, n, sizeof(IommuGroup), group_compare);
        return 0;
}

static int observe_group(Observation *o, int groups_fd, const char *name, IommuGroup *g, size_t *n_missing_type) {
        _cleanup_close_ int fd = -1;
        char type[64];
        int r;

        fd = openat(groups_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                _cleanup_free_ char *dir = NULL;
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                        return 0;
                r = -errno;
                if (asprintf(&dir, IOMMU_GROUPS_DIR "/%s", name) < 0)
                        return -ENOMEM;
                return observation_note_unreadable(o, dir, r);
        }
        r = read_observed_attr(o, fd, IOMMU_GROUPS_DIR, name, "type", type, sizeof(type));
        if (r < 0)
                return r;
        if (type[0]) {
                DomainType t = domain_type_from_string(type);
                g->type = t < 0 || t == DOMAIN_NONE ? DOMAIN_UNKNOWN : t;
                /* Not a type the kernel writes: say so, never count it silently. */
                if (t < 0) {
                        _cleanup_free_ char *p = NULL;
                        o->n_types_unread++;
                        if (asprintf(&p, IOMMU_GROUPS_DIR "/%s/type", name) < 0)
                                return -ENOMEM;
                        r = observation_note_unreadable(o, p, -EBADMSG);
                        if (r < 0)
                                return r;
                }
        } else {
                (*n_missing_type)++;
                o->n_types_unread++;
        }
        r = list_dir_packed_at(o, fd, "devices", &g->devices);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, IOMMU_GROUPS_DIR "/%s/devices", name) < 0)
                        return -ENOMEM;
                return observation_note_unreadable(o, p, r);
        }
        return 0;
}

typedef struct GroupsListing {
        Observation *o;
        int fd;             /* /sys/kernel/iommu_groups */
        size_t allocated, n_missing_type;
} GroupsListing;

/* The group name, straight from the listing (no list of names first). Names that are not a
 * number are no group: strtoul() as before, where a name with a byte escape_text() escapes never
 * parsed (its escaped form has a backslash); all digits is the kernel's form. */
static int groups_add(const char *name, void *userdata) {
        GroupsListing *gl = userdata;
        Observation *o = gl->o;
        unsigned long id = 0;
        IommuGroup *g;
        size_t i;
        int r;

        for (i = 0; name[i] >= '0' && name[i] <= '9' && i < 10; i++)
                id = id * 10 + (unsigned long) (name[i] - '0');
        if (i == 0 || name[i]) {
                char *end;

                for (const char *p = name; *p; p++)
                        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                                return 0;
                errno = 0;
                id = strtoul(name, &end, 10);
                if (errno != 0 || *end != '\0')
                        return 0;
        }
        if (GREEDY_REALLOC(o->groups, gl->allocated, o->n_groups + 1, 64) < 0)
                return -ENOMEM;
        g = &o->groups[o->n_groups++];
        *g = (IommuGroup) { .id = id, .type = DOMAIN_UNKNOWN };
        r = observe_group(o, gl->fd, name, g, &gl->n_missing_type);
        if (r < 0)
                return r;
        o->type_counts[g->type]++;
        return 0;
}

static int observe_groups(Observation *o) {
        _cleanup_close_ int fd = -1;
        GroupsListing gl = { .o = o };
        int r;

        r = open_root_dir(o->root, IOMMU_GROUPS_DIR, &fd);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -ENOMEM)
                return r;
        /* In the order of the listing: the groups are ordered by number below. */
        if (r >= 0) {
                gl.fd = fd;
                r = dir_foreach_at(fd, ".", groups_add, &gl);
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* The listing failed: no groups, as when it fails before the first one. */
                o->n_groups = 0;
                memset(o->type_counts, 0, sizeof(o->type_counts));
                return observation_note_unreadable(o, IOMMU_GROUPS_DIR, r);
        }
        /* Groups without a type file at all: a tree that lost them, not a kernel's answer. */
        if (o->n_groups > 0 && gl.n_missing_type == o->n_groups &&
            (r = observation_note_unreadable(o, IOMMU_GROUPS_DIR "/*/type", -ENOENT)) < 0)
                return r;
        /* By number, which observation_find_group() relies on. */
        return groups_order_by_number(o->groups, o->n_groups, &o->groups_at_number);
}

/* An attribute of an IOMMU unit's kind directory, read relative to it as read_attr() reads
 * ROOT/path. -ELOOP (the attribute is a symlink, which read_attr() follows inside the root):
 * the caller reads it by its path. */
static int read_unit_attr(Observation *o, int kind_fd, const char *path, const char *name, char **ret) {
        _cleanup_free_ char *s = NULL, *p = NULL;
        int r;

        r = read_file_at(kind_fd, name, 1024 * 1024, &s, NULL);
        if (r == -ELOOP)
                return r;
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret = NULL;
                if (asprintf(&p, "%s/%s", path, name) < 0)
                        return -ENOMEM;
                return observation_note_unreadable(o, p, r);
        }
        s[strcspn(s, "\n")] = '\0';
        char *t = strdup(strstrip(s));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* The kind directory subdir of the unit (ROOT/path: IOMMU_CLASS_DIR/unit/subdir), when it is
 * there: version and cap. One resolution of the unit's directory (unit_fd) instead of one per
 * file; anything unusual (a symlink, no unit_fd) is read by its path as before. */
static int observe_unit_kind(Observation *o, int unit_fd, const char *path, const char *subdir, const char *kind, IommuUnit *u) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (unit_fd >= 0) {
                _cleanup_close_ int fd = openat(unit_fd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0 && errno == ENOENT)
                        return 0;
                if (fd >= 0) {
                        u->kind = kind;
                        r = read_unit_attr(o, fd, path, "version", &u->version);
                        if (r == -ELOOP) {
                                if (asprintf(&p, "%s/version", path) < 0)
                                        return -ENOMEM;
                                r = read_attr(o, p, &u->version);
                                p = mfree(p);
                        }
                        if (r < 0)
                                return r;
                        r = read_unit_attr(o, fd, path, "cap", &u->cap);
                        if (r == -ELOOP) {
                                if (asprintf(&p, "%s/cap", path) < 0)
                                        return -ENOMEM;
                                r = read_attr(o, p, &u->cap);
                        }
                        return r;
                }
        }
        if (!root_exists(o->root, path))
                return 0;
        u->kind = kind;
        if (asprintf(&p, "%s/version", path) < 0)
                return -ENOMEM;
        r = read_attr(o, p, &u->version);
        if (r < 0)
                return r;
        p = mfree(p);
        if (asprintf(&p, "%s/cap", path) < 0)
                return -ENOMEM;
        return read_attr(o, p, &u->cap);
}

static int observe_units(Observation *o) {
        _cleanup_strv_free_ char **names = NULL;
        static const struct {
                const char *subdir, *kind;
        } kinds[] = {
                { "intel-iommu", "intel-iommu" },
                { "amd-iommu", "amd-iommu" },
        };
        size_t n_names;
        int r;

        r = list_dir(o->root, IOMMU_CLASS_DIR, &names, &n_names);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return observation_note_unreadable(o, IOMMU_CLASS_DIR, r);
        if (!names)
                return 0;
        o->units = calloc(n_names, sizeof(IommuUnit));
        if (!o->units)
                return -ENOMEM;
        STRV_FOREACH(n, names) {
                IommuUnit *u = &o->units[o->n_units++];

                u->name = strdup(*n);
                if (!u->name)
                        return -ENOMEM;
                u->kind = startswith(*n, "smmu") ? "arm-smmu" : "other";
                _cleanup_free_ char *unit = NULL;
                _cleanup_close_ int unit_fd = -1;
                if (asprintf(&unit, IOMMU_CLASS_DIR "/%s", *n) < 0)
                        return -ENOMEM;
                if (root_open(o->root, unit, O_RDONLY | O_DIRECTORY, &unit_fd) < 0)
                        unit_fd = -1;
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                        _cleanup_free_ char *d = NULL;

                        if (asprintf(&d, "%s/%s", unit, kinds[i].subdir) < 0)
                                return -ENOMEM;
                        r = observe_unit_kind(o, unit_fd, d, kinds[i].subdir, kinds[i].kind, u);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Remapped interrupts show up as interrupt chips named "IR-IO-APIC", "IR-PCI-MSI"... (x86 only). */
static int observe_interrupts(Observation *o) {
        _cleanup_free_ char *s = NULL;
        int r;

        o->interrupt_remapping = -1;
        if (o->arch != ARCH_X86_64)
                return 0;
        r = read_root_file(o->root, "/proc/interrupts", 16 * 1024 * 1024, &s, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return r == -ENOENT ? 0 : observation_note_unreadable(o, "/proc/interrupts", r);
        o->interrupt_remapping = 0;
        for (const char *p = s; (p = strstr(p, "IR-")); p += 3)
                if (p == s || p[-1] == ' ' || p[-1] == '\t') {
                        o->interrupt_remapping = 1;
                        o->interrupt_remapping_chip = strndup(p, strcspn(p, " \t\n"));
                        if (!o->interrupt_remapping_chip)
                                return -ENOMEM;
                        break;
                }
        return 0;
}

int observe_tree(const Root *root, Arch arch, Vendor vendor, const char *vendor_source, Observation *ret) {
        _cleanup_(observation_done) Observation o = {
                .arch = arch,
                .vendor = vendor,
                .vendor_source = vendor_source,
                .interrupt_remapping = -1,
                .modules.allow_unsafe_interrupts = -1,
                .efi.secure_boot = -1,
        };
        int r;

        o.root = root;
        o.sysfs = root_exists(root, "/sys/kernel") || root_exists(root, PCI_DEVICES_DIR);

        r = read_root_line(root, "/proc/cmdline", &o.cmdline);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && (r = observation_note_unreadable(&o, "/proc/cmdline", r)) < 0)
                return r;
        if (o.cmdline) {
                char *t = strdup(strstrip(o.cmdline));
                if (!t)
                        return -ENOMEM;
                free(o.cmdline);
                o.cmdline = t;
        }
        r = read_attr(&o, "/proc/sys/kernel/osrelease", &o.release);
        if (r < 0)
                return r;

        r = observe_devices(&o);
        if (r < 0)
                return r;
        r = observe_groups(&o);
        if (r < 0)
                return r;
        r = observe_units(&o);
        if (r < 0)
                return r;
        r = observe_interrupts(&o);
        if (r < 0)
                return r;
        r = acpi_read(root, &o.acpi);
        if (r < 0)
                return r;
        /* iommufd and the VFIO device cdev (issue 21): captured trees have no /dev. */
        o.dev_iommu = o.dev_vfio_devices = -1;
        if (root_exists(root, "/dev")) {
                o.dev_iommu = root_exists(root, "/dev/iommu");
                o.dev_vfio_devices = root_exists(root, "/dev/vfio/devices");
        }
        if (o.acpi.dmar.error && (r = observation_note_unreadable(&o, ACPI_TABLES_DIR "/DMAR", o.acpi.dmar.error)) < 0)
                return r;
        if (o.acpi.ivrs.error && (r = observation_note_unreadable(&o, ACPI_TABLES_DIR "/IVRS", o.acpi.ivrs.error)) < 0)
                return r;

        *ret = o;
        o = (Observation) {};
        return 0;
}

void observation_done(Observation *o) {
        free(o->cmdline);
        free(o->release);
        /* observe_tree() keeps the strings of devices and groups in the arena; devices filled by
         * hand (no arena) own theirs. */
        if (!o->arena) {
                for (size_t i = 0; i < o->n_devices; i++) {
                        free(o->devices[i].bdf);
                        free(o->devices[i].driver);
                        free(o->devices[i].physfn);
                        free(o->devices[i].host_bridge);
                        strv_free(o->devices[i].upstream);
                }
                for (size_t i = 0; i < o->n_groups; i++)
                        free(o->groups[i].devices);
        }
        arena_free(o->arena);
        free(o->device_keys);
        free(o->devices);
        free(o->groups);
        for (size_t i = 0; i < o->n_units; i++) {
                free(o->units[i].name);
                free(o->units[i].version);
                free(o->units[i].cap);
        }
        free(o->units);
        free(o->interrupt_remapping_chip);
        free(o->efi.loader_entry);
        free(o->efi.entry_path);
        free(o->efi.entry_options);
        strv_free(o->efi.entry_addons_skipped);
        for (size_t i = 0; i < o->modules.n_modules; i++)
                free(o->modules.modules[i].name);
        free(o->modules.modules);
        free(o->modules.directory);
        free(o->log.source);
        strv_free(o->log.lines);
        strv_free(o->unreadable);
        *o = (Observation) {};
}

static int device_compare_bdf(const void *key, const void *d) {
        return strcmp(key, ((const PciDevice *) d)->bdf);
}

/* Binary searches: observe_devices() keeps the devices in the order of their names, observe_groups()
 * the groups by number. verdict and report look a device up per group member, so a linear scan
 * here made verify quadratic in the number of groups. */
const PciDevice *observation_find_device(const Observation *o, const char *bdf) {
        if (o->n_devices == 0)
                return NULL;
        if (o->device_keys) {
                /* Every device name is in the kernel's form: a name that is not has no device. */
                size_t lo = 0, hi = o->n_devices;
                uint64_t k;

                if (!bdf_key(bdf, &k))
                        return NULL;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (o->device_keys[mid] == k)
                                return &o->devices[mid];
                        if (o->device_keys[mid] < k)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                return NULL;
        }
        return bsearch(bdf, o->devices, o->n_devices, sizeof(PciDevice), device_compare_bdf);
}

const IommuGroup *observation_find_group(const Observation *o, int id) {
        size_t lo = 0, hi = o->n_groups;

        if (id < 0)
                return NULL;
        /* The kernel numbers groups 0, 1, 2...: group i is mostly at i (each number once). */
        if (o->groups_at_number && (size_t) id < o->n_groups && o->groups[id].id == (unsigned) id)
                return &o->groups[id];
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (o->groups[mid].id == (unsigned) id)
                        return &o->groups[mid];
                if (o->groups[mid].id < (unsigned) id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const ModuleState *observation_find_module(const Observation *o, const char *name) {
        for (size_t i = 0; i < o->modules.n_modules; i++)
                if (streq(o->modules.modules[i].name, name))
                        return &o->modules.modules[i];
        return NULL;
}

unsigned observation_default_domain_groups(const Observation *o) {
        return o->type_counts[DOMAIN_IDENTITY] + o->type_counts[DOMAIN_DMA] + o->type_counts[DOMAIN_DMA_FQ];
}

int observation_mode(const Observation *o) {
        unsigned n = observation_default_domain_groups(o);

        if (o->n_groups == 0)
                return MODE_OFF;
        if (n == 0)
                return -EUCLEAN;
        if (o->type_counts[DOMAIN_IDENTITY] == n)
                return MODE_PASSTHROUGH;
        if (o->type_counts[DOMAIN_DMA] == n)
                return MODE_STRICT;
        if (o->type_counts[DOMAIN_DMA_FQ] == n)
                return MODE_TRANSLATED;
        return -EUCLEAN;
}

const char *observation_mode_string(const Observation *o) {
        int m = observation_mode(o);
        return m >= 0 ? profile_mode_to_string(m) : "mixed";
}
