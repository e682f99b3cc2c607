/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdarg.h>

#include "fileio.h"
#include "host.h"
#include "p2p.h"
#include "recommend.h"
#include "strv.h"

static const char * const fact_names[_FACT_MAX] = {
        [FACT_GPU] = "gpu",
        [FACT_SRIOV_PF] = "sriov-pf",
        [FACT_SRIOV_VFS] = "sriov-vfs-in-use",
        [FACT_VFIO] = "vfio-bound",
        [FACT_KVM] = "kvm",
        [FACT_CONFIDENTIAL] = "confidential-computing",
        [FACT_EXTERNAL_PORTS] = "external-ports",
        [FACT_VIRTUALIZATION] = "virtual-machine",
        [FACT_IOMMU_FIRMWARE] = "iommu-firmware",
        [FACT_GPU_P2P_REDIRECTED] = "gpu-p2p-redirected",
};

const char *recommend_fact_to_string(RecommendFact f) {
        return STRING_TABLE_TO_STRING(fact_names, f);
}

void recommend_facts_done(RecommendFacts *f) {
        for (size_t i = 0; i < _FACT_MAX; i++)
                strv_free(f->evidence[i]);
        *f = (RecommendFacts) {};
}

_printf_(3, 4) static int add_evidence(RecommendFacts *f, RecommendFact fact, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(&f->evidence[fact], s);
}

/* GPUs and accelerators a node is built around. Intel's integrated graphics (VGA 0x0300) is on
 * every desktop board and says nothing; its data-center GPUs are display "other" (0x0380). */
static bool is_accelerator(const PciDevice *d) {
        unsigned base = d->class >> 16, sub = (d->class >> 8) & 0xff;

        if (d->is_gpu)
                return true;
        if (d->vendor == 0x8086)
                return (base == 0x03 && sub == 0x80) || base == 0x12;
        return d->vendor == 0x1da3 && base == 0x12; /* Habana Gaudi */
}

/* "Y", "1" or "yes" in a module parameter file. */
static bool param_is_on(const Root *root, const char *path) {
        _cleanup_free_ char *v = NULL;

        if (read_root_line(root, path, &v) < 0)
                return false;
        return streq(v, "Y") || streq(v, "1") || streq(v, "yes");
}

/* GPU paths under a PCIe switch (PIX, PXB) that ACS redirects: what the path class costs a
 * GPUDirect node (issue 25). */
static int gather_p2p(const Observation *o, RecommendFacts *f) {
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        int r;

        r = p2p_analyze(o, &t);
        for (size_t i = 0; i < t.n_paths && r >= 0; i++) {
                const P2pPath *p = &t.paths[i];
                if (!o->devices[p->a].is_gpu || p->route != P2P_ROUTE_REDIRECTED || p->class > P2P_PXB)
                        continue;
                r = add_evidence(f, FACT_GPU_P2P_REDIRECTED, "%s - %s (%s): %s, redirected at %s%s%s", o->devices[p->a].bdf,
                                 o->devices[p->b].bdf, pci_class_name(o->devices[p->b].class), p2p_class_to_string(p->class),
                                 p->redirect_ports[0], p->redirect_ports[1] ? " and " : "", p->redirect_ports[1] ?: "");
        }
        return r;
}

static int gather_pci(const Root *root, const Observation *o, RecommendFacts *f) {
        int r = 0;

        for (size_t i = 0; i < o->n_devices && r >= 0; i++) {
                const PciDevice *d = &o->devices[i];
                _cleanup_free_ char *ext = NULL, *rem = NULL, *pext = NULL, *prem = NULL;

                if (is_accelerator(d))
                        r = add_evidence(f, FACT_GPU, "%s %04x:%04x (%s)%s%s", d->bdf, d->vendor, d->device,
                                         pci_class_name(d->class), d->driver ? ", driver " : "", d->driver ?: "");
                if (r >= 0 && d->sriov_totalvfs > 0)
                        r = add_evidence(f, FACT_SRIOV_PF, "%s %04x:%04x: sriov_totalvfs %u", d->bdf, d->vendor, d->device,
                                         d->sriov_totalvfs);
                if (r >= 0 && d->sriov_numvfs > 0)
                        r = add_evidence(f, FACT_SRIOV_VFS, "%s %04x:%04x: sriov_numvfs %u of %u", d->bdf, d->vendor,
                                         d->device, d->sriov_numvfs, d->sriov_totalvfs);
                if (r >= 0 && d->driver && streq(d->driver, "vfio-pci"))
                        r = add_evidence(f, FACT_VFIO, "%s %04x:%04x: driver vfio-pci", d->bdf, d->vendor, d->device);
                if (r < 0)
                        break;
                if (asprintf(&pext, "/sys/bus/pci/devices/%s/external_facing", d->bdf) < 0 ||
                    asprintf(&prem, "/sys/bus/pci/devices/%s/removable", d->bdf) < 0)
                        return -ENOMEM;
                if (read_root_line(root, pext, &ext) >= 0 && streq(ext, "1"))
                        r = add_evidence(f, FACT_EXTERNAL_PORTS, "%s: external_facing 1 (a port devices can be plugged into)", d->bdf);
                else if (read_root_line(root, prem, &rem) >= 0 && streq(rem, "removable"))
                        r = add_evidence(f, FACT_EXTERNAL_PORTS, "%s: removable (behind an external-facing port)", d->bdf);
        }
        return r;
}

static int gather_thunderbolt(const Root *root, RecommendFacts *f) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        r = root_opendir(root, "/sys/bus/thunderbolt/devices", &d);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* no Thunderbolt controller (or not readable): no evidence */
        while ((de = readdir(d)) && r >= 0)
                if (de->d_name[0] != '.')
                        r = strv_extend(&names, de->d_name);
        closedir(d);
        if (r < 0)
                return r;
        if (!names)
                return 0;
        (void) strv_sort(names);
        _cleanup_free_ char *joined = strv_join(names, " ");
        if (!joined)
                return -ENOMEM;
        return add_evidence(f, FACT_EXTERNAL_PORTS, "/sys/bus/thunderbolt/devices: %s (Thunderbolt/USB4 can tunnel PCIe)", joined);
}

static int gather_kvm(const Root *root, RecommendFacts *f) {
        static const char * const mods[] = { "kvm_intel", "kvm_amd", "kvm" };
        _cleanup_free_ char *cpuinfo = NULL;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(mods) && r >= 0; i++) {
                _cleanup_free_ char *p = NULL, *refcnt = NULL;

                if (asprintf(&p, "/sys/module/%s/refcnt", mods[i]) < 0)
                        return -ENOMEM;
                if (read_root_line(root, p, &refcnt) >= 0)
                        r = add_evidence(f, FACT_KVM, "module %s loaded (refcnt %s)", mods[i], refcnt);
                if (f->evidence[FACT_KVM])
                        break; /* kvm_intel/kvm_amd say it; kvm alone is only the core */
        }
        if (r >= 0 && root_exists(root, "/dev/kvm"))
                r = add_evidence(f, FACT_KVM, "/dev/kvm exists");
        if (r < 0)
                return r;

        /* Confidential computing hosts; a confidential guest (a VM) is not one. */
        (void) host_read_cpuinfo(root, &cpuinfo);
        if (param_is_on(root, "/sys/module/kvm_amd/parameters/sev_snp")) {
                f->sev_snp = true;
                r = add_evidence(f, FACT_CONFIDENTIAL, "/sys/module/kvm_amd/parameters/sev_snp: SEV-SNP enabled in KVM");
        } else if (cpuinfo && host_cpuinfo_has_flag(cpuinfo, "sev_snp") && !host_cpuinfo_has_flag(cpuinfo, "hypervisor")) {
                f->sev_snp = true;
                r = add_evidence(f, FACT_CONFIDENTIAL, "CPU flag sev_snp (AMD SEV-SNP host)");
        }
        if (r >= 0 && param_is_on(root, "/sys/module/kvm_intel/parameters/tdx"))
                r = add_evidence(f, FACT_CONFIDENTIAL, "/sys/module/kvm_intel/parameters/tdx: TDX enabled in KVM");
        else if (r >= 0 && cpuinfo && host_cpuinfo_has_flag(cpuinfo, "tdx_host_platform"))
                r = add_evidence(f, FACT_CONFIDENTIAL, "CPU flag tdx_host_platform (Intel TDX host)");
        return r;
}

int recommend_gather(const Root *root, const Observation *o, const HostInfo *h, RecommendFacts *ret) {
        _cleanup_(recommend_facts_done) RecommendFacts f = {};
        int r;

        r = gather_pci(root, o, &f);
        if (r >= 0)
                r = gather_p2p(o, &f);
        if (r >= 0)
                r = gather_thunderbolt(root, &f);
        if (r >= 0)
                r = gather_kvm(root, &f);
        if (r >= 0 && h->virtualization)
                r = add_evidence(&f, FACT_VIRTUALIZATION, "%s (%s)", h->virtualization, h->virtualization_evidence);
        if (r >= 0 && o->acpi.dmar.present)
                r = add_evidence(&f, FACT_IOMMU_FIRMWARE, "ACPI DMAR table (Intel VT-d)");
        if (r >= 0 && o->acpi.ivrs.present)
                r = add_evidence(&f, FACT_IOMMU_FIRMWARE, "ACPI IVRS table (AMD-Vi)");
        for (size_t i = 0; r >= 0 && i < o->n_units; i++)
                r = add_evidence(&f, FACT_IOMMU_FIRMWARE, "IOMMU %s (%s) registered", o->units[i].name, o->units[i].kind);
        if (r < 0)
                return r;
        *ret = f;
        f = (RecommendFacts) {};
        return 0;
}

static void add_reason(Recommendation *rec, RecommendFact fact, const char *profile, const char *why) {
        rec->reasons[rec->n_reasons++] = (RecommendReason) { .fact = fact, .profile = profile, .why = why };
}

int recommend_decide(const RecommendFacts *f, Recommendation *ret) {
        Recommendation rec = {};
        bool has[_FACT_MAX];
        bool vm_without_iommu, wants_vfio;

        for (size_t i = 0; i < _FACT_MAX; i++)
                has[i] = f->evidence[i] && f->evidence[i][0];
        vm_without_iommu = has[FACT_VIRTUALIZATION] && !has[FACT_IOMMU_FIRMWARE];
        wants_vfio = has[FACT_GPU] || has[FACT_SRIOV_PF] || has[FACT_SRIOV_VFS] || has[FACT_VFIO] || has[FACT_KVM];

        if (vm_without_iommu) {
                rec.profile = "bare-metal";
                add_reason(&rec, FACT_VIRTUALIZATION, "bare-metal",
                           "A virtual machine without a virtual IOMMU: no profile that needs IOMMU groups can be kept here; "
                           "devices passed through to it are used directly. Give it a virtual IOMMU for VFIO inside the VM.");
        } else if (has[FACT_CONFIDENTIAL] && f->sev_snp) {
                rec.profile = "strict";
                add_reason(&rec, FACT_CONFIDENTIAL, "strict",
                           "SEV-SNP needs the IOMMU on and translating: the kernel disables SNP when the IOMMU is off or in "
                           "passthrough, so gpu-sriov and bare-metal would turn confidential guests off.");
        } else if (wants_vfio)
                rec.profile = "gpu-sriov";
        else if (has[FACT_CONFIDENTIAL] || has[FACT_EXTERNAL_PORTS])
                rec.profile = "strict";
        else
                rec.profile = "bare-metal";

        if (has[FACT_GPU])
                add_reason(&rec, FACT_GPU, "gpu-sriov",
                           "GPUs: VFIO passthrough and GPU VF assignment need IOMMU groups; identity host DMA keeps "
                           "GPUDirect RDMA and peer-to-peer at full speed.");
        if (has[FACT_SRIOV_PF])
                add_reason(&rec, FACT_SRIOV_PF, "gpu-sriov", "SR-IOV physical functions: assigning their VFs needs IOMMU groups.");
        if (has[FACT_SRIOV_VFS])
                add_reason(&rec, FACT_SRIOV_VFS, "gpu-sriov", "VFs are in use: turning the IOMMU off would break their assignment.");
        if (has[FACT_VFIO])
                add_reason(&rec, FACT_VFIO, "gpu-sriov", "Devices are bound to vfio-pci: VFIO refuses to work without IOMMU groups.");
        if (has[FACT_KVM])
                add_reason(&rec, FACT_KVM, "gpu-sriov", "A KVM host: assigning devices to its VMs needs IOMMU groups.");
        if (has[FACT_CONFIDENTIAL] && !f->sev_snp)
                add_reason(&rec, FACT_CONFIDENTIAL, "strict",
                           "A TDX host: keeping the IOMMU translating keeps device DMA out of the memory of confidential guests.");
        if (has[FACT_EXTERNAL_PORTS])
                add_reason(&rec, FACT_EXTERNAL_PORTS, "strict",
                           "Ports that outside devices can be plugged into (Thunderbolt/USB4, external-facing PCIe): only a "
                           "translating IOMMU stops DMA attacks through them.");
        if (has[FACT_VIRTUALIZATION] && !vm_without_iommu)
                add_reason(&rec, FACT_VIRTUALIZATION, NULL, "A virtual machine with a virtual IOMMU: the profile applies inside it.");
        if (has[FACT_GPU_P2P_REDIRECTED])
                add_reason(&rec, FACT_GPU_P2P_REDIRECTED, NULL,
                           "GPU peer-to-peer inside a PCIe switch is redirected to the root complex by ACS, whatever the "
                           "profile (on AMD even with the IOMMU off): for GPUDirect bandwidth on these paths add [PCI] "
                           "LiftACSRedirect=gpu-paths to the profile (the devices below those ports then share IOMMU groups; "
                           "keep it off where they are assigned to different VMs).");
        if (has[FACT_IOMMU_FIRMWARE])
                add_reason(&rec, FACT_IOMMU_FIRMWARE, NULL, "The firmware describes an IOMMU, so profiles that need one can be kept.");
        else if (!has[FACT_VIRTUALIZATION] && !streq(rec.profile, "bare-metal"))
                add_reason(&rec, FACT_IOMMU_FIRMWARE, NULL,
                           "No IOMMU described by the firmware yet: enable VT-d/AMD-Vi in the firmware setup before applying.");
        bool decided = false;
        for (size_t i = 0; i < rec.n_reasons; i++)
                decided = decided || (rec.reasons[i].profile && streq(rec.reasons[i].profile, rec.profile));
        if (!decided)
                add_reason(&rec, _FACT_INVALID, "bare-metal",
                           "No GPUs, SR-IOV, VFIO, KVM, confidential computing or external DMA ports: the IOMMU buys nothing "
                           "here and costs DMA mapping overhead.");

        /* Deciding reasons (those for the chosen profile) first, in fact order otherwise. */
        for (size_t i = 1; i < rec.n_reasons; i++)
                for (size_t j = i; j > 0; j--) {
                        bool a = rec.reasons[j].profile && streq(rec.reasons[j].profile, rec.profile);
                        bool b = rec.reasons[j - 1].profile && streq(rec.reasons[j - 1].profile, rec.profile);
                        if (!a || b)
                                break;
                        RecommendReason t = rec.reasons[j];
                        rec.reasons[j] = rec.reasons[j - 1];
                        rec.reasons[j - 1] = t;
                }
        *ret = rec;
        return 0;
}
