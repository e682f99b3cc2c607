/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "p2p.h"
#include "params.h"
#include "strv.h"

static const char * const class_names[_P2P_CLASS_MAX] = {
        [P2P_PIX] = "PIX",
        [P2P_PXB] = "PXB",
        [P2P_PHB] = "PHB",
        [P2P_NODE] = "NODE",
        [P2P_SYS] = "SYS",
};

static const char * const route_names[_P2P_ROUTE_MAX] = {
        [P2P_ROUTE_DIRECT] = "direct",
        [P2P_ROUTE_REDIRECTED] = "redirected",
        [P2P_ROUTE_BLOCKED] = "blocked",
        [P2P_ROUTE_TRANSLATED] = "translated",
        [P2P_ROUTE_UNKNOWN] = "unknown",
};

const char *p2p_class_to_string(P2pClass c) {
        return STRING_TABLE_TO_STRING(class_names, c);
}

const char *p2p_route_to_string(P2pRoute r) {
        return STRING_TABLE_TO_STRING(route_names, r);
}

/* "0000:00:10.0": domain, bus, device, function in hex, as sysfs names a PCI device. */
static bool is_pci_address(const char *s, size_t n) {
        static const char shape[] = "hhhh:hh:hh.h";
        if (n != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; i < n; i++)
                if (shape[i] == 'h' ? !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) : s[i] != shape[i])
                        return false;
        return true;
}

/* The next component of a '/'-separated path at *p (empty ones skipped, as strv_split() does):
 * its start and length, *p moved past it; false at the end. */
static bool next_component(const char **p, const char **ret, size_t *ret_n) {
        const char *s = *p;
        size_t n = 0;

        while (*s == '/')
                s++;
        n = (size_t) (strchrnul(s, '/') - s);
        if (n == 0)
                return false;
        *ret = s;
        *ret_n = n;
        *p = s + n;
        return true;
}

static bool is_host_bridge(const char *c, size_t n) {
        /* "pci0000:00", "pci10000:00" (VMD domains); nothing else is taken from a crafted tree,
         * since the name is printed. */
        bool colon = false;

        if (n <= 3 || !strneq(c, "pci", 3))
                return false;
        for (size_t i = 3; i < n; i++) {
                if (c[i] == ':')
                        colon = true;
                else if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f')))
                        return false;
        }
        return colon;
}

int p2p_split_sysfs_path(const char *target, const char **ret_host, size_t *ret_host_len, const char **bridge,
                         size_t max, size_t *ret_n) {
        const char *p = target, *c, *next_c, *host = NULL;
        size_t n, next_n, host_len = 0, k = 0;

        /* Walked once in place (no copy per component), the last component (the device) left
         * out. The kernel's links start with "../../../devices/": none of those is a host bridge
         * or a PCI address, so the walk starts after them. */
        if (startswith(p, "../../../devices/"))
                p += strlen("../../../devices/");
        if (next_component(&p, &c, &n))
                for (; next_component(&p, &next_c, &next_n); c = next_c, n = next_n) {
                        if (!host && is_host_bridge(c, n)) {
                                host = c;
                                host_len = n;
                                continue;
                        }
                        if (!host || !is_pci_address(c, n))
                                continue;
                        if (k >= max)
                                return -E2BIG;
                        bridge[k++] = c; /* every one is 12 bytes long (is_pci_address()) */
                }
        *ret_host = host;
        *ret_host_len = host_len;
        *ret_n = k;
        return 0;
}

int p2p_parse_sysfs_path(const char *target, char **ret_host_bridge, char ***ret_upstream) {
        _cleanup_strv_free_ char **chain = NULL;
        _cleanup_free_ char *host = NULL;
        /* A link target is at most PATH_MAX: at most this many "dddd:bb:dd.f/" components. */
        const char *bridge[P2P_SYSFS_PATH_BRIDGES_MAX], *h;
        size_t h_len, k;
        int r;

        /* The bridges are copied at the end, into a list allocated once. */
        r = p2p_split_sysfs_path(target, &h, &h_len, bridge, ELEMENTSOF(bridge), &k);
        if (r < 0)
                return r;
        if (h && !(host = strndup(h, h_len)))
                return -ENOMEM;
        if (k > 0) {
                chain = calloc(k + 1, sizeof(char *));
                if (!chain)
                        return -ENOMEM;
                for (size_t i = 0; i < k; i++)
                        if (!(chain[i] = strndup(bridge[i], 12)))
                                return -ENOMEM;
        }
        *ret_host_bridge = TAKE_PTR(host);
        *ret_upstream = TAKE_PTR(chain);
        return 0;
}

bool p2p_device_is_peer(const PciDevice *d) {
        if (d->physfn)
                return false;
        return d->is_gpu || (d->class >> 16) == 0x02 || (d->class >> 8) == 0x0108;
}

static bool device_is_gpu(const PciDevice *d) {
        return d->is_gpu && !d->physfn;
}

/* Two functions of one device (bus and slot the same) are not a peer-to-peer path. */
static bool same_slot(const PciDevice *a, const PciDevice *b) {
        const char *x = strrchr(a->bdf, '.'), *y = strrchr(b->bdf, '.');
        return x && y && x - a->bdf == y - b->bdf && strneq(a->bdf, b->bdf, (size_t) (x - a->bdf));
}

static bool domain_translated(const Observation *o, const PciDevice *d) {
        const IommuGroup *g = observation_find_group(o, d->group);
        return g && (g->type == DOMAIN_DMA || g->type == DOMAIN_DMA_FQ);
}

_printf_(2, 3)
static int append(char **s, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        char *t;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (asprintf(&t, "%s%s%s", *s ?: "", *s ? "; " : "", add) < 0)
                return -ENOMEM;
        free(*s);
        *s = t;
        return 0;
}

static int path_compute(const Observation *o, size_t ia, size_t ib, P2pPath *ret, unsigned *n_unread) {
        const PciDevice *a = &o->devices[ia], *b = &o->devices[ib];
        P2pPath p = { .a = ia, .b = ib, .route = P2P_ROUTE_DIRECT };
        size_t na = strv_length(a->upstream), nb = strv_length(b->upstream), k = 0;
        bool redirected = false, blocked = false, unknown = false;
        char bits[32];
        int r;

        if (!a->host_bridge || !b->host_bridge || !streq(a->host_bridge, b->host_bridge)) {
                p.class = a->numa_node == b->numa_node ? P2P_NODE : P2P_SYS;
                p.route = domain_translated(o, a) || domain_translated(o, b) ? P2P_ROUTE_TRANSLATED : P2P_ROUTE_DIRECT;
                r = asprintf(&p.evidence, "different host bridges (%s, %s), NUMA nodes %d and %d", strna(a->host_bridge),
                             strna(b->host_bridge), a->numa_node, b->numa_node);
                if (r < 0)
                        return -ENOMEM;
                *ret = p;
                return 0;
        }
        while (k < na && k < nb && streq(a->upstream[k], b->upstream[k]))
                k++;
        p.common = k > 0 ? a->upstream[k - 1] : a->host_bridge;
        /* Below the common bridge each side crosses na-k (nb-k) more bridges: one is the
         * common switch's downstream port, more are further switches. */
        p.class = k == 0 ? P2P_PHB : na - k <= 1 && nb - k <= 1 ? P2P_PIX : P2P_PXB;

        /* Traffic turns at the common bridge: the ports just below it decide (a request enters
         * the switch or root complex there, and ACS at that port redirects it upstream). */
        for (unsigned side = 0; side < 2; side++) {
                const PciDevice *dev = side == 0 ? a : b;
                size_t n = side == 0 ? na : nb;
                const PciDevice *port;

                if (n <= k)
                        continue; /* on the common bus itself (a root complex integrated endpoint) */
                port = observation_find_device(o, dev->upstream[k]);
                if (!port || !port->pcie.read || !port->pcie.extended) {
                        unknown = true;
                        (*n_unread)++;
                        if (append(&p.evidence, "%s: config space not read (ACS unknown)", dev->upstream[k]) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (!port->pcie.has_acs) {
                        if (append(&p.evidence, "%s (%s) has no ACS capability", port->bdf,
                                   pcie_port_type_to_string(port->pcie.port_type)) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (port->pcie.acs_ctrl & (PCI_ACS_RR | PCI_ACS_CR)) {
                        redirected = true;
                        if (p.redirect_ports[0])
                                p.redirect_ports[1] = port->bdf;
                        else
                                p.redirect_ports[0] = port->bdf;
                } else if (port->pcie.acs_ctrl & PCI_ACS_EC)
                        blocked = true;
                if (append(&p.evidence, "%s ACSCtl 0x%04x (%s)", port->bdf, port->pcie.acs_ctrl,
                           pcie_acs_bits_to_string(port->pcie.acs_ctrl, bits)) < 0)
                        return -ENOMEM;
        }
        if (redirected)
                p.route = P2P_ROUTE_REDIRECTED;
        else if (blocked)
                p.route = P2P_ROUTE_BLOCKED;
        else if (unknown)
                p.route = P2P_ROUTE_UNKNOWN;
        else if (p.class == P2P_PHB && (domain_translated(o, a) || domain_translated(o, b)))
                p.route = P2P_ROUTE_TRANSLATED;
        if (redirected && a->pcie.ats_enabled && b->pcie.ats_enabled &&
            append(&p.evidence, "ATS on both ends: translated requests can go direct where ACS DT is set") < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int topology_add(P2pTopology *t, const Observation *o, size_t a, size_t b) {
        P2pPath *n;
        int r;

        n = realloc(t->paths, (t->n_paths + 1) * sizeof(P2pPath));
        if (!n)
                return -ENOMEM;
        t->paths = n;
        r = path_compute(o, a, b, &t->paths[t->n_paths], &t->n_unread);
        if (r < 0)
                return r;
        t->n_paths++;
        return 0;
}

int p2p_analyze(const Observation *o, P2pTopology *ret) {
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        int r;

        for (size_t i = 0; i < o->n_devices; i++)
                t.n_gpus += device_is_gpu(&o->devices[i]);
        for (size_t i = 0; i < o->n_devices; i++) {
                const PciDevice *a = &o->devices[i];

                if (!p2p_device_is_peer(a) || (t.n_gpus > 0 && !device_is_gpu(a)))
                        continue;
                for (size_t j = 0; j < o->n_devices; j++) {
                        const PciDevice *b = &o->devices[j];

                        if (j == i || !p2p_device_is_peer(b) || same_slot(a, b))
                                continue;
                        /* GPU pairs once; without GPUs, peers on one host bridge once. */
                        if (device_is_gpu(b) ? j < i : t.n_gpus == 0 && j < i)
                                continue;
                        if (t.n_gpus == 0 && (!a->host_bridge || !b->host_bridge || !streq(a->host_bridge, b->host_bridge)))
                                continue;
                        r = topology_add(&t, o, i, j);
                        if (r < 0)
                                return r;
                }
        }
        *ret = t;
        t = (P2pTopology) {};
        return 0;
}

void p2p_topology_done(P2pTopology *t) {
        for (size_t i = 0; i < t->n_paths; i++)
                free(t->paths[i].evidence);
        free(t->paths);
        free(t->ports);
        *t = (P2pTopology) {};
}

const P2pPath *p2p_topology_nic_peer(const P2pTopology *t, const Observation *o, size_t gpu) {
        const P2pPath *best = NULL;

        for (size_t i = 0; i < t->n_paths; i++) {
                const P2pPath *p = &t->paths[i];
                size_t other = p->a == gpu ? p->b : p->b == gpu ? p->a : SIZE_MAX;

                if (other == SIZE_MAX || (o->devices[other].class >> 16) != 0x02)
                        continue;
                if (!best || p->class < best->class)
                        best = p;
        }
        return best;
}

int p2p_topology_nic_peers(const P2pTopology *t, const Observation *o, const P2pPath ***ret) {
        const P2pPath **best;

        best = calloc(o->n_devices ?: 1, sizeof(P2pPath *));
        if (!best)
                return -ENOMEM;
        /* p2p_topology_nic_peer() for each end of each path, in the same order (ties: the first). */
        for (size_t i = 0; i < t->n_paths; i++) {
                const P2pPath *p = &t->paths[i];
                size_t ends[2][2] = { { p->a, p->b }, { p->b, p->a } };

                for (unsigned k = 0; k < 2; k++) {
                        size_t gpu = ends[k][0], other = ends[k][1];
                        if ((o->devices[other].class >> 16) != 0x02)
                                continue;
                        if (!best[gpu] || p->class < best[gpu]->class)
                                best[gpu] = p;
                }
        }
        *ret = best;
        return 0;
}

bool p2p_config_read(const Observation *o) {
        for (size_t i = 0; i < o->n_devices; i++)
                if (o->devices[i].pcie.read)
                        return true;
        return false;
}

static bool parse_hex(const char **s, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!((**s >= '0' && **s <= '9') || ((**s | 0x20) >= 'a' && (**s | 0x20) <= 'f')))
                return false;
        v = strtoul(*s, &end, 16);
        if (v > max)
                return false;
        *s = end;
        *ret = (unsigned) v;
        return true;
}

/* "dd.f" at *s. */
static bool parse_devfn(const char **s, unsigned *ret_dev, unsigned *ret_fn) {
        return parse_hex(s, 0x1f, ret_dev) && *(*s)++ == '.' && parse_hex(s, 7, ret_fn);
}

static bool address_is(const char *bdf, unsigned domain, unsigned bus, unsigned dev, unsigned fn) {
        char want[16];
        snprintf(want, sizeof(want), "%04x:%02x:%02x.%x", domain, bus, dev, fn);
        return streq(bdf, want);
}

bool p2p_spec_matches(const Observation *o, const PciDevice *d, const char *spec) {
        const char *s = spec, *p;
        unsigned a, b, c, dev, fn, domain = 0, bus;

        if ((p = startswith(s, "pci:"))) {
                unsigned v, id, sv = 0, sd = 0;
                if (!parse_hex(&p, 0xffff, &v) || *p++ != ':' || !parse_hex(&p, 0xffff, &id))
                        return false;
                if (*p == ':' && (p++, !parse_hex(&p, 0xffff, &sv) || *p++ != ':' || !parse_hex(&p, 0xffff, &sd)))
                        return false;
                if (*p)
                        return false;
                /* The subsystem IDs are not in the Observation: a spec that names them is
                 * matched on vendor and device only. */
                return d->vendor == v && d->device == id;
        }
        /* [domain:]bus:dev.fn, then /dev.fn per bridge below. */
        if (!parse_hex(&s, 0xffff, &a) || *s++ != ':' || !parse_hex(&s, 0xff, &b))
                return false;
        if (*s == ':') {
                s++;
                domain = a;
                bus = b;
                if (!parse_devfn(&s, &dev, &fn))
                        return false;
        } else if (*s == '.') {
                s++;
                bus = a;
                dev = b;
                if (!parse_hex(&s, 7, &fn))
                        return false;
        } else
                return false;
        (void) c;
        if (!*s)
                return address_is(d->bdf, domain, bus, dev, fn);
        /* A path: the first element is on the root bus, each "/dd.f" the device below the previous
         * one; it names the last element. Compared with the device's bridges and itself. */
        size_t n = strv_length(d->upstream), i = 0;
        const char *first = n > 0 ? d->upstream[0] : d->bdf;
        if (!address_is(first, domain, bus, dev, fn))
                return false;
        while (*s == '/') {
                s++;
                if (!parse_devfn(&s, &dev, &fn))
                        return false;
                i++;
                const char *node = i < n ? d->upstream[i] : i == n ? d->bdf : NULL;
                char tail[8];
                if (!node)
                        return false;
                snprintf(tail, sizeof(tail), "%02x.%x", dev, fn);
                if (!endswith(node, tail))
                        return false;
        }
        (void) o;
        return !*s && i == n;
}

/* Calls f for each ';'-separated spec of list (a copy; at most 64 KiB). */
static bool spec_list_matches(const Observation *o, const PciDevice *d, const char *list, bool flags, uint16_t *ret_set,
                              uint16_t *ret_clear) {
        _cleanup_strv_free_ char **specs = NULL;

        if (strv_split(list, ";", &specs) < 0)
                return false;
        STRV_FOREACH(s, specs) {
                const char *spec = *s, *at = strchr(*s, '@');
                uint16_t set = 0, clear = 0;

                if (flags) {
                        /* "<flags>@<spec>": flags read from the right, bit 0 first: '1' set, '0'
                         * clear, 'x' keep (drivers/pci/pci.c:__pci_config_acs()). */
                        if (!at || at == spec || at - spec > 7)
                                continue;
                        for (const char *f = at - 1, *e = spec; f >= e; f--) {
                                unsigned bit = (unsigned) (at - 1 - f);
                                if (*f == '1')
                                        set |= (uint16_t) (1U << bit);
                                else if (*f == '0')
                                        clear |= (uint16_t) (1U << bit);
                                else if (*f != 'x' && *f != 'X')
                                        goto next;
                        }
                        spec = at + 1;
                }
                if (p2p_spec_matches(o, d, spec)) {
                        if (ret_set)
                                *ret_set = set;
                        if (ret_clear)
                                *ret_clear = clear;
                        return true;
                }
        next:;
        }
        return false;
}

/* The value of option name in the pci= tokens of c ("pci=noaer,disable_acs_redir=..."): the
 * last one wins, as the kernel's pci_setup() overwrites it. */
static const char *pci_option(const Cmdline *c, const char *name, char **buf) {
        const char *found = NULL;

        for (size_t i = 0; c && i < c->n_tokens; i++) {
                _cleanup_strv_free_ char **opts = NULL;
                if (!streq(c->tokens[i].key, "pci") || !c->tokens[i].value)
                        continue;
                if (strv_split(c->tokens[i].value, ",", &opts) < 0)
                        return NULL;
                STRV_FOREACH(opt, opts) {
                        const char *v = startswith(*opt, name);
                        if (v && *v == '=') {
                                free(*buf);
                                *buf = strdup(v + 1);
                                found = *buf;
                        }
                }
        }
        return found;
}

int p2p_predict_acs_ctrl(const Observation *o, const PciDevice *port, bool requested, const Cmdline *c, unsigned kernel_version) {
        _cleanup_free_ char *redir = NULL, *config = NULL;
        const char *list;
        /* The firmware's value is not known: the prediction starts from a port the firmware left
         * alone (0, as QEMU's and most firmware's are). */
        uint16_t cap = port->pcie.acs_cap, ctrl = 0;
        bool changed = false;

        if (!port->pcie.has_acs)
                return -ENODATA;
        if (requested) {
                /* pci_std_enable_acs(): SV, RR, CR, UF where the port has them (TB only for
                 * untrusted/external ports or with ATS off, which we do not see). */
                ctrl = cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
                changed = true;
        }
        /* From 6.11 (commit 47c8846a49ba "PCI: Extend ACS configurability", with its fix
         * 9cf8a952d57b in the stable releases) both options go through __pci_config_acs(), which
         * starts from the firmware's value for every bit outside its mask: the bits
         * pci_std_enable_acs() set (SV, UF) are lost too. Measured on Debian's 6.12.117:
         * config_acs=00xx@port reads 0x0000 where 6.1's disable_acs_redir= reads 0x0011. */
        bool new_acs = kernel_version >= KERNEL_VERSION(6, 11);
        if (kernel_version >= KERNEL_VERSION(5, 1) && (list = pci_option(c, "disable_acs_redir", &redir)) &&
            spec_list_matches(o, port, list, false, NULL, NULL)) {
                ctrl = new_acs ? 0 : ctrl & (uint16_t) ~(PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
                changed = true;
        }
        uint16_t set, clear;
        if (new_acs && (list = pci_option(c, "config_acs", &config)) && spec_list_matches(o, port, list, true, &set, &clear)) {
                ctrl = set;
                changed = true;
        }
        return changed ? ctrl : -ENODATA;
}

bool p2p_port_lifted_by(const Observation *o, const PciDevice *port, const Cmdline *c) {
        _cleanup_free_ char *redir = NULL, *config = NULL;
        const char *list;
        uint16_t set, clear;

        if ((list = pci_option(c, "disable_acs_redir", &redir)) && spec_list_matches(o, port, list, false, NULL, NULL))
                return true;
        return (list = pci_option(c, "config_acs", &config)) && spec_list_matches(o, port, list, true, &set, &clear);
}

int p2p_redirect_ports(const P2pTopology *t, const Observation *o, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < t->n_paths; i++) {
                const P2pPath *p = &t->paths[i];
                if (!device_is_gpu(&o->devices[p->a]))
                        continue;
                for (unsigned k = 0; k < 2; k++)
                        if (p->redirect_ports[k] && !strv_contains(l, p->redirect_ports[k]) &&
                            (r = strv_extend(&l, p->redirect_ports[k])) < 0)
                                return r;
        }
        if (l && (r = strv_sort(l)) < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

bool p2p_acs_requested(const Observation *o, Vendor vendor, bool driver_registers) {
        /* drivers/iommu/amd/init.c: amd_iommu_detect() calls pci_request_acs() once it finds
         * the IVRS table, before amd_iommu=off or iommu=off are looked at (measured on 6.1:
         * ACSCtl 0x001d with both). Intel (intel_iommu_init()) and the SMMU drivers only ask
         * when they run. */
        if (vendor == VENDOR_AMD)
                return o->acpi.ivrs.present;
        return driver_registers;
}

int p2p_predict_ports(P2pTopology *t, const Observation *o, bool requested, const Cmdline *c, unsigned kernel_version) {
        size_t n = 0;

        for (size_t i = 0; i < o->n_devices; i++)
                n += o->devices[i].pcie.has_acs && pcie_type_is_downstream_facing(o->devices[i].pcie.port_type);
        free(t->ports);
        t->n_ports = 0;
        t->ports = n > 0 ? calloc(n, sizeof(P2pPort)) : NULL;
        if (n > 0 && !t->ports)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_devices; i++) {
                const PciDevice *d = &o->devices[i];
                if (!d->pcie.has_acs || !pcie_type_is_downstream_facing(d->pcie.port_type))
                        continue;
                t->ports[t->n_ports++] = (P2pPort) {
                        .device = i,
                        .predicted = p2p_predict_acs_ctrl(o, d, requested, c, kernel_version),
                };
        }
        return 0;
}

static bool device_below(const PciDevice *d, const char *port) {
        return strv_contains(d->upstream, port);
}

int p2p_lift_token(const Observation *o, const P2pTopology *t, unsigned kernel_version, char **ret_token,
                   char ***ret_ports, char ***ret_merges, char **ret_reason) {
        _cleanup_strv_free_ char **ports = NULL, **merges = NULL;
        _cleanup_free_ char *spec = NULL, *token = NULL;
        const PciDevice *first;
        int r;

        *ret_reason = NULL;
        r = p2p_redirect_ports(t, o, &ports);
        if (r < 0)
                return r;
        if (!ports)
                return -ENODATA;
        first = observation_find_device(o, ports[0]);
        if (!first)
                return -ENODATA;
        if (!ports[1])
                spec = strdup(first->bdf);
        else {
                /* pci:VENDOR:DEVICE names every device with those IDs: usable only when the
                 * ports to lift are all of them (no other port of that ID keeps redirect). */
                bool exact = true;
                for (size_t i = 0; i < o->n_devices && exact; i++) {
                        const PciDevice *d = &o->devices[i];
                        bool same = d->vendor == first->vendor && d->device == first->device;
                        /* A device of the same ID without redirect to lift (a switch's upstream
                         * port, which has no ACS) is not changed by the option. */
                        if (same && !strv_contains(ports, d->bdf) && d->pcie.has_acs && (d->pcie.acs_ctrl & (PCI_ACS_RR | PCI_ACS_CR)))
                                exact = false;
                        if (!same && strv_contains(ports, d->bdf))
                                exact = false;
                }
                if (!exact) {
                        _cleanup_free_ char *list = strv_join(ports, ", ");
                        if (!list || asprintf(ret_reason, "the ports %s share no PCI ID that names them alone, and a list "
                                              "of them needs ';', which GRUB reads as a command separator and iommuctl "
                                              "does not write into boot configuration", list) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
                if (asprintf(&spec, "pci:%04x:%04x", first->vendor, first->device) < 0)
                        spec = NULL;
        }
        if (!spec)
                return -ENOMEM;
        if (kernel_version >= KERNEL_VERSION(6, 11)) {
                /* Read right to left, bit 0 first: SV 1, TB x (firmware), RR 0, CR 0, UF 1; a
                 * bit the port lacks is left to the firmware. */
                uint16_t cap = first->pcie.acs_cap;
                char bits[6] = {
                        cap & PCI_ACS_UF ? '1' : 'x', '0', '0', 'x', cap & PCI_ACS_SV ? '1' : 'x', '\0',
                };
                r = asprintf(&token, "pci=config_acs=%s@%s", bits, spec);
        } else
                r = asprintf(&token, "pci=disable_acs_redir=%s", spec);
        if (r < 0)
                return -ENOMEM;
        if (cmdline_token_check_safe(token, &(char) { 0 }) < 0) {
                if (asprintf(ret_reason, "%s has characters boot configuration does not carry safely", token) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        STRV_FOREACH(port, ports) {
                const PciDevice *pd = observation_find_device(o, *port);
                _cleanup_free_ char *line = NULL;
                int groups[64];
                size_t n = 0;

                if (!pd)
                        continue;
                for (size_t i = 0; i < o->n_devices; i++) {
                        const PciDevice *d = &o->devices[i];
                        bool seen = false;
                        if ((d != pd && !device_below(d, *port)) || d->group < 0)
                                continue;
                        for (size_t k = 0; k < n; k++)
                                seen = seen || groups[k] == d->group;
                        if (!seen && n < ELEMENTSOF(groups))
                                groups[n++] = d->group;
                }
                if (n < 2)
                        continue;
                if (asprintf(&line, "%s: groups", *port) < 0)
                        return -ENOMEM;
                for (size_t k = 0; k < n; k++) {
                        char *x;
                        if (asprintf(&x, "%s %d", line, groups[k]) < 0)
                                return -ENOMEM;
                        free(line);
                        line = x;
                }
                r = strv_consume(&merges, TAKE_PTR(line));
                if (r < 0)
                        return r;
        }
        *ret_token = TAKE_PTR(token);
        if (ret_ports)
                *ret_ports = TAKE_PTR(ports);
        if (ret_merges)
                *ret_merges = TAKE_PTR(merges);
        return 0;
}
