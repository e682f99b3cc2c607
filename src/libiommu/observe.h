/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "acpi.h"
#include "fileio.h"
#include "params.h"
#include "pcie.h"
#include "profile.h"

/* What the running kernel really did, read from /proc and /sys under a root prefix (the live host,
 * a mounted image, or a tree captured by iommu-capture-host). Observation only: no judgement here;
 * verdict.h compares it with a profile.
 *
 * observe_tree() fills everything that plain file reads give (groups, devices, IOMMU units,
 * interrupt remapping, ACPI tables, loaded modules). The parts that need libefivar, libkmod or
 * sd-journal (efi.h, modules.h, kernel-log.h) live in libiommu-host and fill their own members, so
 * tools that only need the tree do not link those libraries. */

/* Where observe_tree() keeps the strings of the devices and groups: a few large blocks, freed
 * together by observation_done(), instead of an allocation per name (issue 24). */
typedef struct ObservationArena ObservationArena;

typedef struct PciDevice {
        char *bdf;            /* 0000:01:00.0 */
        unsigned vendor;      /* 0x10de */
        unsigned device;
        unsigned class;       /* 24 bits: 0x030200 */
        char *driver;         /* bound driver, NULL when none */
        int group;            /* IOMMU group number, -1 when none */
        unsigned sriov_totalvfs;
        unsigned sriov_numvfs;
        char *physfn;         /* the PF's address, for a VF */
        bool is_gpu;          /* NVIDIA or AMD display/3D/accelerator function */
        PcieInfo pcie;        /* from its config space (pcie.h); pcie.read false when unreadable */
        int numa_node;        /* -1 when the platform does not say */
        char *host_bridge;    /* "pci0000:00": the root bus it sits under, from its sysfs path */
        char **upstream;      /* the bridges above it, root port first ("0000:00:10.0", ...), NULL for none */
} PciDevice;

typedef struct IommuGroup {
        unsigned id;
        DomainType type;      /* DOMAIN_UNKNOWN when type is missing (kernels before 5.11) */
        char **devices;       /* device names under devices/, sorted; in the arena (observe_tree()), one block each */
} IommuGroup;

typedef struct IommuUnit {
        char *name;           /* dmar0, ivhd0, smmu3.0x0000000009050000 */
        const char *kind;     /* "intel-iommu", "amd-iommu", "arm-smmu" or "other" */
        char *version;        /* intel-iommu/version */
        char *cap;            /* intel-iommu/cap or amd-iommu/cap */
} IommuUnit;

typedef struct EfiInfo {
        bool booted;              /* ROOT/sys/firmware/efi exists */
        int secure_boot;          /* 1, 0, -1 unknown */
        char *loader_entry;       /* systemd-boot's LoaderEntrySelected */
        char *entry_path;         /* the BLS entry file it names, when found under the root */
        char *entry_options;      /* that entry's options lines, joined */
        char **entry_addons_skipped; /* its UKI's add-ons systemd-stub does not append: "PATH (REASON)" */
        int error;                /* why the variables could not be read (0 when they could) */
} EfiInfo;

typedef struct ModuleState {
        char *name;      /* with '_' */
        int available;   /* 1, 0, -1 unknown (no module directory for the running kernel) */
        bool builtin;
        bool loaded;     /* in ROOT/proc/modules or ROOT/sys/module */
} ModuleState;

typedef struct ModulesInfo {
        ModuleState *modules;
        size_t n_modules;
        char *directory;             /* the module directory read, NULL when none was found */
        int allow_unsafe_interrupts; /* vfio_iommu_type1 parameter: 1, 0, -1 unknown */
} ModulesInfo;

typedef struct KernelLog {
        bool read;       /* a log was read (the lines below are all that matched) */
        char *source;    /* "journal" or the file */
        char **lines;    /* IOMMU lines of this boot worth showing, timestamps stripped */
} KernelLog;

typedef struct Observation {
        const Root *root;
        bool sysfs;        /* ROOT/sys/kernel or ROOT/sys/bus/pci exists: there is something to check */
        char *cmdline;     /* ROOT/proc/cmdline, NULL when unreadable */
        char *release;     /* ROOT/proc/sys/kernel/osrelease */
        Arch arch;
        Vendor vendor;
        const char *vendor_source;
        const char *virtualization;          /* HostInfo's: the hypervisor of a virtual machine, NULL otherwise */
        const char *virtualization_evidence; /* (static strings, set by the caller of observe_tree()) */

        PciDevice *devices;
        size_t n_devices;
        IommuGroup *groups;
        size_t n_groups;
        uint64_t *device_keys; /* devices[i]'s name as a number (observe.c bdf_key()), NULL unless all are in the kernel's form */
        bool groups_at_number;
        bool no_openat2;       /* observe_tree(): openat_beneath_nofollow() said -EOPNOTSUPP, devices are walked */ /* groups[i].id == i wherever i < n_groups holds group i (no number twice) */
        unsigned type_counts[_DOMAIN_TYPE_MAX];
        IommuUnit *units;
        size_t n_units;

        int interrupt_remapping;      /* 1: IR- interrupt chips in /proc/interrupts; 0: none; -1 unknown */
        char *interrupt_remapping_chip; /* the first IR- chip seen */

        AcpiInfo acpi;
        EfiInfo efi;
        ModulesInfo modules;
        KernelLog log;

        int dev_iommu;          /* ROOT/dev/iommu (iommufd) exists: 1, 0; -1 no /dev under the root */
        int dev_vfio_devices;   /* ROOT/dev/vfio/devices (VFIO cdev) exists: 1, 0; -1 no /dev under the root */

        char **unreadable; /* "path: reason" for what could not be read (non-root, ...) */
        /* The strings of devices[] and groups[] (bdf, driver, physfn, host_bridge, upstream,
         * devices) when observe_tree() filled them. NULL for devices filled by hand (tests):
         * observation_done() then free()s each string. */
        ObservationArena *arena;
        unsigned n_types_unread; /* groups whose type file is missing or holds no type the kernel writes */
} Observation;

/* Reads the tree under root. arch/vendor come from host_probe() (the caller has them). Only
 * -ENOMEM is fatal; whatever cannot be read is recorded in ->unreadable. */
int observe_tree(const Root *root, Arch arch, Vendor vendor, const char *vendor_source, Observation *ret);
void observation_done(Observation *o);

const PciDevice *observation_find_device(const Observation *o, const char *bdf);
const IommuGroup *observation_find_group(const Observation *o, int id);
const ModuleState *observation_find_module(const Observation *o, const char *name);

/* Groups with a default domain (identity, DMA, DMA-FQ): unmanaged and blocked groups belong to
 * VFIO or a VM and say nothing about the boot's default. */
unsigned observation_default_domain_groups(const Observation *o);
/* What the kernel ended up doing: MODE_OFF with no groups; MODE_PASSTHROUGH, MODE_STRICT or
 * MODE_TRANSLATED when every default-domain group agrees; -EUCLEAN when they are mixed. */
int observation_mode(const Observation *o);
/* "passthrough", "strict", "translated", "off" or "mixed". */
const char *observation_mode_string(const Observation *o);

/* Appends "what: reason" to ->unreadable. */
int observation_note_unreadable(Observation *o, const char *what, int error);

/* Module names compare with '-' and '_' alike; this writes the '_' form. */
int module_name_normalize(const char *name, char **ret);

/* GPUs worth reporting: NVIDIA (0x10de) or AMD (0x1002) display controllers and accelerators. */
bool pci_device_is_gpu(unsigned vendor, unsigned class);
const char *pci_class_name(unsigned class);
