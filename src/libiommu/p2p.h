/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cmdline.h"
#include "observe.h"

/* Peer-to-peer paths between the devices that talk to each other on GPU servers (GPU and NIC for
 * GPUDirect RDMA, GPU and NVMe for GPUDirect Storage, GPU and GPU), from the PCIe tree an
 * Observation holds: where the two meet, the class of the path as NCCL and `nvidia-smi topo`
 * name it, and what happens to peer-to-peer traffic on it (ACS redirect, egress blocking, IOMMU
 * translation) with the bridge and the bits that decide it. Pure: no I/O. */

typedef enum P2pClass {
        P2P_PIX,  /* at most one PCIe switch between them (same switch, or same switch port) */
        P2P_PXB,  /* several PCIe switches, not through the host bridge */
        P2P_PHB,  /* through the PCIe host bridge (the CPU's root complex) */
        P2P_NODE, /* across host bridges within a NUMA node */
        P2P_SYS,  /* across NUMA nodes (the SMP interconnect: UPI, Infinity Fabric) */
        _P2P_CLASS_MAX,
        _P2P_CLASS_INVALID = -EINVAL,
} P2pClass;

typedef enum P2pRoute {
        P2P_ROUTE_DIRECT,     /* the switch or root complex routes it peer to peer */
        P2P_ROUTE_REDIRECTED, /* ACS P2P Request/Completion Redirect sends it up to the root complex */
        P2P_ROUTE_BLOCKED,    /* ACS P2P Egress Control on a port of the path */
        P2P_ROUTE_TRANSLATED, /* through the root complex, translated by the IOMMU (DMA domains) */
        P2P_ROUTE_UNKNOWN,    /* a port's config space (ACS) could not be read */
        _P2P_ROUTE_MAX,
        _P2P_ROUTE_INVALID = -EINVAL,
} P2pRoute;

typedef struct P2pPath {
        size_t a, b;        /* indices into Observation.devices: a is the GPU (or the first peer) */
        P2pClass class;
        P2pRoute route;
        const char *common; /* where they meet: a bridge's address, the host bridge ("pci0000:00"), NULL across host bridges */
        const char *redirect_ports[2]; /* the ports that redirect it (RR/CR set), NULL where none */
        char *evidence;     /* which bridge, which bits */
} P2pPath;

/* An ACS-capable root or downstream port, with what the kernel was predicted to make of it. */
typedef struct P2pPort {
        size_t device;      /* index into Observation.devices */
        int predicted;      /* ACS Control bits the kernel should have set; -ENODATA: left as the firmware set them */
} P2pPort;

typedef struct P2pTopology {
        P2pPath *paths;
        size_t n_paths;
        P2pPort *ports;     /* p2p_predict_ports() */
        size_t n_ports;
        unsigned n_gpus;
        unsigned n_unread;  /* devices on the paths whose config space was not read (or only 256 bytes) */
} P2pTopology;

const char *p2p_class_to_string(P2pClass c);   /* "PIX", "PXB", "PHB", "NODE", "SYS" */
const char *p2p_route_to_string(P2pRoute r);   /* "direct", "redirected", "blocked", "translated", "unknown" */

/* Splits a /sys/bus/pci/devices link target ("../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0")
 * into the host bridge ("pci0000:00") and the bridges between it and the device, root port first
 * (NULL when the device sits on the root bus). Components that are not PCI addresses (platform
 * devices above the host bridge on arm64) are skipped. */
int p2p_parse_sysfs_path(const char *target, char **ret_host_bridge, char ***ret_upstream);
/* The same without a copy: the host bridge (NULL when none) and up to max bridges (12 bytes each,
 * not NUL-terminated) as pointers into target; -E2BIG past max. */
#define P2P_SYSFS_PATH_BRIDGES_MAX (PATH_MAX / 13 + 1)
int p2p_split_sysfs_path(const char *target, const char **ret_host, size_t *ret_host_len, const char **bridge,
                         size_t max, size_t *ret_n);

/* The peers worth a path: GPUs, network controllers, NVMe controllers (physical functions). */
bool p2p_device_is_peer(const PciDevice *d);

/* Every GPU against every NIC, NVMe controller and other GPU; without GPUs, the NIC and NVMe peers
 * under one host bridge with each other. Only -ENOMEM fails. */
int p2p_analyze(const Observation *o, P2pTopology *ret);
void p2p_topology_done(P2pTopology *t);
/* The best path from device index gpu to a NIC (lowest class; ties: the first), NULL for none. */
const P2pPath *p2p_topology_nic_peer(const P2pTopology *t, const Observation *o, size_t gpu);
/* The same for every device at once, in one pass over the paths: *ret has o->n_devices entries
 * (NULL where there is no NIC peer). */
int p2p_topology_nic_peers(const P2pTopology *t, const Observation *o, const P2pPath ***ret);
/* Whether any device's config space was read. Without it no path has a route (ACS unknown
 * everywhere): verify and groups print no path then, and skip p2p_analyze(), which pairs every
 * GPU with every peer. */
bool p2p_config_read(const Observation *o);

/* What the kernel does to a port's ACS Control, from the command line: requested is whether an
 * IOMMU driver asks for ACS (pci_request_acs(): Intel VT-d and SMMU when their driver runs, AMD-Vi
 * whenever the firmware has an IVRS table, even with amd_iommu=off); then pci=disable_acs_redir=
 * (from 5.1) and pci=config_acs= (from 6.11) for the devices they name. Returns the predicted
 * control bits, or -ENODATA when the kernel leaves them as the firmware set them. */
int p2p_predict_acs_ctrl(const Observation *o, const PciDevice *port, bool requested, const Cmdline *c, unsigned kernel_version);
/* Fills t->ports: every ACS-capable root and downstream port with p2p_predict_acs_ctrl(). */
int p2p_predict_ports(P2pTopology *t, const Observation *o, bool requested, const Cmdline *c, unsigned kernel_version);
/* Whether an IOMMU driver asks the PCI core for ACS on this node (see p2p_predict_acs_ctrl()):
 * AMD-Vi whenever the IVRS table is there, the others when their driver registers. */
bool p2p_acs_requested(const Observation *o, Vendor vendor, bool driver_registers);

/* Whether the kernel spec (one entry of a ';'-list: "[dddd:]bb:dd.f[/dd.f...]" or
 * "pci:vvvv:dddd[:svvv:sddd]") names the device, as drivers/pci/pci.c:pci_dev_str_match() does. */
bool p2p_spec_matches(const Observation *o, const PciDevice *d, const char *spec);

/* Whether pci=disable_acs_redir= or pci=config_acs= on c names the port (whatever the release). */
bool p2p_port_lifted_by(const Observation *o, const PciDevice *port, const Cmdline *c);

/* The ports whose redirect bits stand in the way of the GPU paths of t (each once, sorted): what
 * "pci=disable_acs_redir=" must name to lift redirect there and nowhere else. */
int p2p_redirect_ports(const P2pTopology *t, const Observation *o, char ***ret);

/* The narrowest command-line token that lifts ACS redirect on the GPU paths of t (the ports of
 * p2p_redirect_ports()): "pci=disable_acs_redir=SPEC" before 6.11, "pci=config_acs=100x1@SPEC"
 * from 6.11 (there disable_acs_redir= would also reset Source Validation and Upstream Forwarding to
 * the firmware's value; the bits keep SV and UF on and turn RR and CR off). SPEC is the one port's
 * address, or "pci:VENDOR:DEVICE" where that names exactly the ports to lift; several ports that no
 * ID names alone would need ';', which boot configuration does not carry safely (GRUB reads it as a
 * command separator): -EINVAL with *ret_reason. -ENODATA when no GPU path is redirected.
 * ret_merges (may be NULL) gets one line per lifted port: the groups of the port and every device
 * below it, which become one. */
int p2p_lift_token(const Observation *o, const P2pTopology *t, unsigned kernel_version, char **ret_token,
                   char ***ret_ports, char ***ret_merges, char **ret_reason);
