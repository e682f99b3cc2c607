/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <libgen.h>

#include "fileio.h"
#include "observe.h"
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

static int read_attr_uint(Observation *o, const char *path, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_attr(o, path, &s);
        if (r < 0)
                return r;
        *ret = s ? (unsigned) strtoul(s, NULL, 0) : 0;
        return 0;
}

/* The last component of a symlink's target under the root, NULL when there is no link. */
static int read_link_basename(const char *root, const char *path, char **ret) {
        _cleanup_free_ char *p = NULL;
        char buf[4096];
        ssize_t n;

        /* The link itself, its directories resolved inside the root. */
        if (chase_root(root, path, CHASE_NOFOLLOW, &p, NULL) < 0) {
                *ret = NULL;
                return 0;
        }
        n = readlink(p, buf, sizeof(buf) - 1);
        if (n < 0) {
                *ret = NULL;
                return 0;
        }
        buf[n] = '\0';
        /* Printed by "groups" and verify: no terminal control bytes from a crafted tree. */
        char *t = name_escape_control(basename(buf));
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* Entry names of ROOT/path, sorted, without dot files. A missing directory is an empty list. */
static int list_dir(const char *root, const char *path, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        int r;

        r = root_opendir(root, path, &d);
        if (r < 0) {
                if (r == -ENOENT || r == -ENOTDIR) {
                        *ret = NULL;
                        return 0;
                }
                return r;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        /* Names are printed: control bytes of a crafted tree are escaped. */
                        r = strv_consume(&l, name_escape_control(de->d_name));
                        if (r < 0)
                                return r;
                }
        if (l) {
                r = strv_sort(l);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_device_attr_uint(Observation *o, const char *dir, const char *attr, unsigned *ret) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, attr) < 0)
                return -ENOMEM;
        return read_attr_uint(o, p, ret);
}

static int read_device_link(Observation *o, const char *dir, const char *attr, char **ret) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, attr) < 0)
                return -ENOMEM;
        return read_link_basename(o->root, p, ret);
}

static int observe_devices(Observation *o) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = list_dir(o->root, PCI_DEVICES_DIR, &names);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return observation_note_unreadable(o, PCI_DEVICES_DIR, r);
        if (!names)
                return 0;

        o->devices = calloc(strv_length(names), sizeof(PciDevice));
        if (!o->devices)
                return -ENOMEM;
        STRV_FOREACH(n, names) {
                PciDevice *d = &o->devices[o->n_devices++];
                _cleanup_free_ char *dir = NULL, *group = NULL;

                *d = (PciDevice) { .group = -1 };
                d->bdf = strdup(*n);
                if (!d->bdf || asprintf(&dir, PCI_DEVICES_DIR "/%s", *n) < 0)
                        return -ENOMEM;
                r = read_device_attr_uint(o, dir, "vendor", &d->vendor);
                if (r >= 0)
                        r = read_device_attr_uint(o, dir, "device", &d->device);
                if (r >= 0)
                        r = read_device_attr_uint(o, dir, "class", &d->class);
                if (r >= 0)
                        r = read_device_attr_uint(o, dir, "sriov_totalvfs", &d->sriov_totalvfs);
                if (r >= 0)
                        r = read_device_attr_uint(o, dir, "sriov_numvfs", &d->sriov_numvfs);
                if (r >= 0)
                        r = read_device_link(o, dir, "driver", &d->driver);
                if (r >= 0)
                        r = read_device_link(o, dir, "physfn", &d->physfn);
                if (r >= 0)
                        r = read_device_link(o, dir, "iommu_group", &group);
                if (r < 0)
                        return r;
                if (group)
                        d->group = atoi(group);
                d->is_gpu = pci_device_is_gpu(d->vendor, d->class);
        }
        return 0;
}

static int group_compare(const void *a, const void *b) {
        const IommuGroup *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int observe_groups(Observation *o) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n_missing_type = 0;
        int r;

        r = list_dir(o->root, IOMMU_GROUPS_DIR, &names);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return observation_note_unreadable(o, IOMMU_GROUPS_DIR, r);
        if (!names)
                return 0;

        o->groups = calloc(strv_length(names), sizeof(IommuGroup));
        if (!o->groups)
                return -ENOMEM;
        STRV_FOREACH(n, names) {
                _cleanup_free_ char *type = NULL, *p = NULL;
                IommuGroup *g;
                char *end;
                unsigned long id;

                errno = 0;
                id = strtoul(*n, &end, 10);
                if (errno != 0 || *end != '\0')
                        continue;
                g = &o->groups[o->n_groups++];
                *g = (IommuGroup) { .id = id, .type = DOMAIN_UNKNOWN };
                if (asprintf(&p, IOMMU_GROUPS_DIR "/%s/type", *n) < 0)
                        return -ENOMEM;
                r = read_attr(o, p, &type);
                if (r < 0)
                        return r;
                if (type) {
                        DomainType t = domain_type_from_string(type);
                        g->type = t < 0 || t == DOMAIN_NONE ? DOMAIN_UNKNOWN : t;
                        /* Not a type the kernel writes: say so, never count it silently. */
                        if (t < 0 && (r = observation_note_unreadable(o, p, -EBADMSG)) < 0)
                                return r;
                } else
                        n_missing_type++;
                free(p);
                if (asprintf(&p, IOMMU_GROUPS_DIR "/%s/devices", *n) < 0)
                        return -ENOMEM;
                r = list_dir(o->root, p, &g->devices);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = observation_note_unreadable(o, p, r);
                        if (r < 0)
                                return r;
                }
                o->type_counts[g->type]++;
        }
        /* Groups without a type file at all: a tree that lost them, not a kernel's answer. */
        if (o->n_groups > 0 && n_missing_type == o->n_groups &&
            (r = observation_note_unreadable(o, IOMMU_GROUPS_DIR "/*/type", -ENOENT)) < 0)
                return r;
        qsort(o->groups, o->n_groups, sizeof(IommuGroup), group_compare);
        return 0;
}

static int observe_units(Observation *o) {
        _cleanup_strv_free_ char **names = NULL;
        static const struct {
                const char *subdir, *kind;
        } kinds[] = {
                { "intel-iommu", "intel-iommu" },
                { "amd-iommu", "amd-iommu" },
        };
        int r;

        r = list_dir(o->root, IOMMU_CLASS_DIR, &names);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return observation_note_unreadable(o, IOMMU_CLASS_DIR, r);
        if (!names)
                return 0;
        o->units = calloc(strv_length(names), sizeof(IommuUnit));
        if (!o->units)
                return -ENOMEM;
        STRV_FOREACH(n, names) {
                IommuUnit *u = &o->units[o->n_units++];

                u->name = strdup(*n);
                if (!u->name)
                        return -ENOMEM;
                u->kind = startswith(*n, "smmu") ? "arm-smmu" : "other";
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                        _cleanup_free_ char *d = NULL, *p = NULL;

                        if (asprintf(&d, IOMMU_CLASS_DIR "/%s/%s", *n, kinds[i].subdir) < 0)
                                return -ENOMEM;
                        if (!root_exists(o->root, d))
                                continue;
                        u->kind = kinds[i].kind;
                        if (asprintf(&p, "%s/version", d) < 0)
                                return -ENOMEM;
                        r = read_attr(o, p, &u->version);
                        if (r < 0)
                                return r;
                        free(p);
                        if (asprintf(&p, "%s/cap", d) < 0)
                                return -ENOMEM;
                        r = read_attr(o, p, &u->cap);
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

int observe_tree(const char *root, Arch arch, Vendor vendor, const char *vendor_source, Observation *ret) {
        _cleanup_(observation_done) Observation o = {
                .arch = arch,
                .vendor = vendor,
                .vendor_source = vendor_source,
                .interrupt_remapping = -1,
                .modules.allow_unsafe_interrupts = -1,
                .efi.secure_boot = -1,
        };
        int r;

        o.root = strdup(root ?: "/");
        if (!o.root)
                return -ENOMEM;
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
        if (o.acpi.dmar.error && (r = observation_note_unreadable(&o, ACPI_TABLES_DIR "/DMAR", o.acpi.dmar.error)) < 0)
                return r;
        if (o.acpi.ivrs.error && (r = observation_note_unreadable(&o, ACPI_TABLES_DIR "/IVRS", o.acpi.ivrs.error)) < 0)
                return r;

        *ret = o;
        o = (Observation) {};
        return 0;
}

void observation_done(Observation *o) {
        free(o->root);
        free(o->cmdline);
        free(o->release);
        for (size_t i = 0; i < o->n_devices; i++) {
                free(o->devices[i].bdf);
                free(o->devices[i].driver);
                free(o->devices[i].physfn);
        }
        free(o->devices);
        for (size_t i = 0; i < o->n_groups; i++)
                strv_free(o->groups[i].devices);
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
        for (size_t i = 0; i < o->modules.n_modules; i++)
                free(o->modules.modules[i].name);
        free(o->modules.modules);
        free(o->modules.directory);
        free(o->log.source);
        strv_free(o->log.lines);
        strv_free(o->unreadable);
        *o = (Observation) {};
}

const PciDevice *observation_find_device(const Observation *o, const char *bdf) {
        for (size_t i = 0; i < o->n_devices; i++)
                if (streq(o->devices[i].bdf, bdf))
                        return &o->devices[i];
        return NULL;
}

const IommuGroup *observation_find_group(const Observation *o, int id) {
        for (size_t i = 0; id >= 0 && i < o->n_groups; i++)
                if (o->groups[i].id == (unsigned) id)
                        return &o->groups[i];
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
