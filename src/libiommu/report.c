/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <syslog.h>

#include "escape.h"
#include "json.h"
#include "report.h"
#include "strv.h"
#include "terminal.h"

static const char *tristate(int v, const char *yes, const char *no, const char *unknown) {
        return v > 0 ? yes : v == 0 ? no : unknown;
}

/* The expected side, for both outputs. */
static const char *expected_domain(const Profile *p) {
        return p->mode == MODE_TRANSLATED ? "DMA or DMA-FQ" : domain_type_to_string(p->expect_domain);
}

static const char *result_color(CheckResult r, ReportFlags flags) {
        if (!(flags & REPORT_COLOR))
                return "";
        return r == CHECK_PASS ? ANSI_GREEN : r == CHECK_WARN ? ANSI_YELLOW : ANSI_RED;
}

static const char *color_off(ReportFlags flags) {
        return flags & REPORT_COLOR ? ANSI_NORMAL : "";
}

/* A table row put together without printf: printf's format machinery was most of verify's and
 * groups' cost per row on hosts with thousands of devices. The same bytes as "%-Ns" (padded to N,
 * never cut), "%0Nx" and "%u". A row that does not fit is left to printf (overflow). */
typedef struct Row {
        char buf[1024];
        size_t n;
        bool overflow;
} Row;

/* The buffer is left as it is (not "Row row = {}"): zeroing 1 KiB per row cost more than
 * filling it. */
static void row_init(Row *r) {
        r->n = 0;
        r->overflow = false;
}

static void row_put(Row *r, const char *s, size_t width) {
        size_t l = strlen(s);

        if (r->n + (l > width ? l : width) + 1 >= sizeof(r->buf)) {
                r->overflow = true;
                return;
        }
        memcpy(r->buf + r->n, s, l);
        r->n += l;
        if (l < width) {
                memset(r->buf + r->n, ' ', width - l);
                r->n += width - l;
        }
}

static void row_char(Row *r, char c) {
        if (r->n + 2 >= sizeof(r->buf)) {
                r->overflow = true;
                return;
        }
        r->buf[r->n++] = c;
}

/* v in hex, at least digits digits, into buf (at least 9 bytes). */
static const char *hex_str(char *buf, unsigned v, unsigned digits) {
        char t[8];
        size_t k = 0, n = 0;

        do {
                t[k++] = "0123456789abcdef"[v & 0xf];
                v >>= 4;
        } while (v);
        for (; k < digits; digits--)
                buf[n++] = '0';
        while (k > 0)
                buf[n++] = t[--k];
        buf[n] = '\0';
        return buf;
}

/* v in decimal, into buf (at least 21 bytes). */
static const char *uint_str(char *buf, unsigned long long v) {
        char t[20];
        size_t k = 0, n = 0;

        do {
                t[k++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        while (k > 0)
                buf[n++] = t[--k];
        buf[n] = '\0';
        return buf;
}

/* "vvvv:dddd" */
static const char *id_str(char *buf, unsigned vendor, unsigned device) {
        hex_str(buf, vendor, 4);
        size_t l = strlen(buf);
        buf[l] = ':';
        hex_str(buf + l + 1, device, 4);
        return buf;
}

/* "SR-IOV 0/64 VFs", into buf (at least 64 bytes). */
static const char *sriov_note(char *buf, const PciDevice *d) {
        char a[24], b[24];

        strcpy(stpcpy(stpcpy(stpcpy(stpcpy(buf, "SR-IOV "), uint_str(a, d->sriov_numvfs)), "/"), uint_str(b, d->sriov_totalvfs)), " VFs");
        return buf;
}

static void row_done(Row *r, FILE *f) {
        row_char(r, '\n');
        fwrite(r->buf, 1, r->n, f);
}

static void text_devices(FILE *f, const Observation *o, ReportFlags flags) {
        bool header = false;

        for (size_t i = 0; i < o->n_devices; i++) {
                const PciDevice *d = &o->devices[i];
                const IommuGroup *g;

                if (!d->is_gpu && d->sriov_totalvfs == 0)
                        continue;
                if (!header) {
                        fprintf(f, "\nGPUs and SR-IOV devices:\n");
                        if (!(flags & REPORT_NO_LEGEND))
                                fprintf(f, "  %-14s %-9s %-28s %-6s %-10s %s\n", "DEVICE", "ID", "KIND", "GROUP", "TYPE", "SHARED");
                        header = true;
                }
                g = observation_find_group(o, d->group);
                char id[24], kind[64], group[24], shared[24];
                Row row;

                row_init(&row);
                id_str(id, d->vendor, d->device);
                if (d->is_gpu)
                        strcpy(stpcpy(stpcpy(kind, "GPU ("), pci_class_name(d->class)), ")");
                else
                        sriov_note(kind, d);
                if (d->group >= 0)
                        uint_str(group, (unsigned) d->group);
                uint_str(shared, g ? strv_length(g->devices) : 0);
                row_put(&row, "  ", 0);
                row_put(&row, d->bdf, 14);
                row_char(&row, ' ');
                row_put(&row, id, 9);
                row_char(&row, ' ');
                row_put(&row, kind, 28);
                row_char(&row, ' ');
                row_put(&row, d->group >= 0 ? group : "-", 6);
                row_char(&row, ' ');
                row_put(&row, g ? domain_type_to_string(g->type) : "-", 10);
                row_char(&row, ' ');
                row_put(&row, shared, 0);
                if (!row.overflow)
                        row_done(&row, f);
                else
                        fprintf(f, "  %-14s %-9s %-28s %-6s %-10s %s\n", d->bdf, id, kind, d->group >= 0 ? group : "-",
                                g ? domain_type_to_string(g->type) : "-", shared);
        }
}

void report_verify_text(FILE *f, const Observation *o, const Profile *p, const Verdict *v, ReportFlags flags) {
        _cleanup_strv_free_ char **types = NULL;
        _cleanup_escape_buffer_ EscapeBuffer x = {};
        size_t width = 0;

        fprintf(f, "Profile:   %s (Mode=%s: %s domains%s)\n", escaped(&x, p->name), profile_mode_to_string(p->mode),
                p->expect_groups ? expected_domain(p) : "no", p->expect_groups ? "" : ", no groups");
        fprintf(f, "Kernel:    %s, %s, %s (%s)\n", escaped(&x, strna(o->release)), strna(arch_to_string(o->arch)),
                strna(vendor_to_string(o->vendor)), escaped(&x, strna(o->vendor_source)));
        fprintf(f, "Cmdline:   %s\n", escaped(&x, o->cmdline) ?: "(unreadable)");
        for (DomainType t = 0; t < _DOMAIN_TYPE_MAX; t++)
                if (o->type_counts[t]) {
                        char *s;
                        if (asprintf(&s, "%u %s", o->type_counts[t], domain_type_to_string(t)) >= 0)
                                (void) strv_consume(&types, s);
                }
        {
                _cleanup_free_ char *j = types ? strv_join(types, ", ") : NULL;
                fprintf(f, "Observed:  %s (%zu groups%s%s)\n", v->facts.mode, o->n_groups, j ? ": " : "", j ?: "");
        }
        if (v->facts.strict_inferred)
                fprintf(f, "Inferred:  %s invalidation, not observable on this kernel: %s\n",
                        v->facts.strict == 1 ? "strict" : v->facts.strict == 0 ? "lazy" : "unknown",
                        escaped(&x, v->facts.strict_evidence));
        fprintf(f, "Model:     %s\n", escaped(&x, strna(v->facts.kernel)));
        fprintf(f, "iommufd:   %s (%s)\n", v->facts.iommufd_ready > 0 ? "ready" : v->facts.iommufd_ready == 0 ? "not available" : "unknown",
                escaped(&x, strna(v->facts.iommufd_evidence)));
        if (o->efi.booted)
                fprintf(f, "EFI:       booted in EFI mode, Secure Boot %s%s%s\n", tristate(o->efi.secure_boot, "on", "off", "unknown"),
                        o->efi.loader_entry ? ", entry " : "", escaped(&x, o->efi.loader_entry ?: ""));
        else
                fprintf(f, "EFI:       not booted in EFI mode (legacy BIOS, or not visible under the root)\n");

        fputc('\n', f);
        for (size_t i = 0; i < v->n_checks; i++)
                width = strlen(v->checks[i].id) > width ? strlen(v->checks[i].id) : width;
        for (size_t i = 0; i < v->n_checks; i++) {
                const Check *c = &v->checks[i];
                fprintf(f, "%s%s%s  %-*s  %s\n", result_color(c->result, flags), check_result_to_string(c->result),
                        color_off(flags), (int) width, c->id, escaped(&x, c->evidence));
                if (c->fix)
                        fprintf(f, "      %-*s  fix: %s\n", (int) width, "", escaped(&x, c->fix));
        }

        text_devices(f, o, flags);

        fprintf(f, "\nCompatibility on this node:\n");
        for (Feature ft = 0; ft < _FEATURE_MAX; ft++)
                fprintf(f, "  %-26s %-9s %s\n", feature_title(ft), feature_state_to_string(v->matrix[ft].state),
                        escaped(&x, v->matrix[ft].reason));

        if (o->log.read && o->log.lines) {
                fprintf(f, "\nKernel log (%s), for reference only:\n", escaped(&x, o->log.source));
                STRV_FOREACH(l, o->log.lines)
                        fprintf(f, "  %s\n", escaped(&x, *l));
        }
        if (o->unreadable) {
                fprintf(f, "\nNot read:\n");
                STRV_FOREACH(u, o->unreadable)
                        fprintf(f, "  %s\n", escaped(&x, *u));
        }
        fprintf(f, "\nVerdict:   %s%s%s\n", result_color(v->result, flags), check_result_to_string(v->result), color_off(flags));
}

static void json_device(JsonWriter *w, const Observation *o, const PciDevice *d) {
        const IommuGroup *g = observation_find_group(o, d->group);
        char buf[16];

        json_begin_object(w);
        json_field_string(w, "address", d->bdf);
        snprintf(buf, sizeof(buf), "%04x", d->vendor);
        json_field_string(w, "vendor", buf);
        snprintf(buf, sizeof(buf), "%04x", d->device);
        json_field_string(w, "device", buf);
        snprintf(buf, sizeof(buf), "%06x", d->class);
        json_field_string(w, "class", buf);
        json_field_string(w, "class_name", pci_class_name(d->class));
        json_field_string(w, "driver", d->driver);
        json_field_bool(w, "gpu", d->is_gpu);
        json_field_int(w, "sriov_totalvfs", d->sriov_totalvfs);
        json_field_int(w, "sriov_numvfs", d->sriov_numvfs);
        json_field_string(w, "physfn", d->physfn);
        json_key(w, "group");
        if (d->group >= 0)
                json_int(w, d->group);
        else
                json_null(w);
        json_field_string(w, "group_type", g ? domain_type_to_string(g->type) : NULL);
        json_field_int(w, "group_size", g ? (long long) strv_length(g->devices) : 0);
        json_end_object(w);
}

/* Issue 25: the peer-to-peer paths and the ACS ports, with the kernel's predicted ACS Control next
 * to the observed one. Only where config space was read (older trees have none). */
static void json_p2p(JsonWriter *w, const Observation *o, const Verdict *v) {
        const P2pTopology *t = &v->p2p;
        char buf[32];

        json_key(w, "p2p");
        json_begin_object(w);
        json_key(w, "paths");
        json_begin_array(w);
        for (size_t i = 0; i < t->n_paths; i++) {
                const P2pPath *p = &t->paths[i];
                json_begin_object(w);
                json_field_string(w, "from", o->devices[p->a].bdf);
                json_field_string(w, "to", o->devices[p->b].bdf);
                json_field_string(w, "to_class", pci_class_name(o->devices[p->b].class));
                json_field_string(w, "class", p2p_class_to_string(p->class));
                json_field_string(w, "route", p2p_route_to_string(p->route));
                json_field_string(w, "common", p->common);
                json_key(w, "redirected_at");
                json_begin_array(w);
                for (unsigned k = 0; k < 2; k++)
                        if (p->redirect_ports[k])
                                json_string(w, p->redirect_ports[k]);
                json_end_array(w);
                json_field_string(w, "evidence", p->evidence);
                json_end_object(w);
        }
        json_end_array(w);
        json_key(w, "ports");
        json_begin_array(w);
        for (size_t i = 0; i < t->n_ports; i++) {
                const PciDevice *d = &o->devices[t->ports[i].device];
                json_begin_object(w);
                json_field_string(w, "address", d->bdf);
                json_field_string(w, "port_type", pcie_port_type_to_string(d->pcie.port_type));
                snprintf(buf, sizeof(buf), "0x%04x", d->pcie.acs_cap);
                json_field_string(w, "acs_cap", buf);
                snprintf(buf, sizeof(buf), "0x%04x", d->pcie.acs_ctrl);
                json_field_string(w, "acs_ctrl", buf);
                json_field_string(w, "acs_ctrl_bits", pcie_acs_bits_to_string(d->pcie.acs_ctrl, buf));
                json_key(w, "acs_ctrl_predicted");
                if (t->ports[i].predicted >= 0) {
                        snprintf(buf, sizeof(buf), "0x%04x", (unsigned) t->ports[i].predicted);
                        json_string(w, buf);
                } else
                        json_null(w);
                json_field_bool(w, "redirect", d->pcie.acs_ctrl & (PCI_ACS_RR | PCI_ACS_CR));
                json_end_object(w);
        }
        json_end_array(w);
        json_end_object(w);
}

void report_verify_json(FILE *f, const Observation *o, const Profile *p, const Verdict *v) {
        JsonWriter w = { .f = f };

        json_begin_object(&w);
        json_field_int(&w, "version", VERIFY_JSON_VERSION);
        json_field_string(&w, "verdict", check_result_to_json_string(v->result));

        json_key(&w, "profile");
        json_begin_object(&w);
        json_field_string(&w, "name", p->name);
        json_field_string(&w, "mode", profile_mode_to_string(p->mode));
        json_field_bool(&w, "groups", p->expect_groups);
        json_field_string(&w, "domain_type", p->expect_groups ? expected_domain(p) : NULL);
        json_field_string(&w, "firmware", firmware_requirement_to_string(p->expect_firmware));
        json_field_tristate(&w, "interrupt_remapping", p->expect_interrupt_remapping);
        json_key(&w, "modules");
        json_begin_array(&w);
        STRV_FOREACH(m, p->expect_modules)
                json_string(&w, *m);
        json_end_array(&w);
        json_field_string(&w, "kernel_args_for", vendor_to_string(v->args_vendor));
        json_end_object(&w);

        json_key(&w, "observed");
        json_begin_object(&w);
        json_field_string(&w, "mode", v->facts.mode);
        json_key(&w, "invalidation");
        json_begin_object(&w);
        json_field_string(&w, "value", v->facts.strict == 1 ? "strict" : v->facts.strict == 0 ? "lazy" : NULL);
        json_field_bool(&w, "inferred", v->facts.strict_inferred);
        json_field_string(&w, "evidence", v->facts.strict_evidence);
        json_end_object(&w);
        json_field_string(&w, "model", v->facts.kernel);
        json_field_string(&w, "kernel", o->release);
        json_field_string(&w, "cmdline", o->cmdline);
        json_field_string(&w, "arch", arch_to_string(o->arch));
        json_field_string(&w, "vendor", vendor_to_string(o->vendor));
        json_field_string(&w, "virtualization", o->virtualization);
        json_field_string(&w, "virtualization_evidence", o->virtualization_evidence);
        json_key(&w, "groups");
        json_begin_object(&w);
        json_field_int(&w, "total", o->n_groups);
        for (DomainType t = DOMAIN_IDENTITY; t <= DOMAIN_UNKNOWN; t++)
                json_field_int(&w, domain_type_to_string(t), o->type_counts[t]);
        json_end_object(&w);
        json_key(&w, "iommus");
        json_begin_array(&w);
        for (size_t i = 0; i < o->n_units; i++) {
                json_begin_object(&w);
                json_field_string(&w, "name", o->units[i].name);
                json_field_string(&w, "kind", o->units[i].kind);
                json_field_string(&w, "version", o->units[i].version);
                json_field_string(&w, "cap", o->units[i].cap);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_tristate(&w, "interrupt_remapping", o->interrupt_remapping);

        json_key(&w, "firmware");
        json_begin_object(&w);
        json_field_bool(&w, "present", v->facts.firmware_iommu);
        json_key(&w, "dmar");
        json_begin_object(&w);
        json_field_bool(&w, "present", o->acpi.dmar.present);
        json_field_bool(&w, "readable", o->acpi.dmar.parsed);
        if (o->acpi.dmar.parsed) {
                json_field_int(&w, "host_address_width", o->acpi.dmar_host_address_width + 1);
                json_field_int(&w, "flags", o->acpi.dmar_flags);
                json_field_bool(&w, "intr_remap", o->acpi.dmar_flags & DMAR_FLAG_INTR_REMAP);
                json_field_bool(&w, "x2apic_opt_out", o->acpi.dmar_flags & DMAR_FLAG_X2APIC_OPT_OUT);
                json_field_bool(&w, "dma_ctrl_platform_opt_in", o->acpi.dmar_flags & DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN);
        }
        json_end_object(&w);
        json_key(&w, "ivrs");
        json_begin_object(&w);
        json_field_bool(&w, "present", o->acpi.ivrs.present);
        json_field_bool(&w, "readable", o->acpi.ivrs.parsed);
        if (o->acpi.ivrs.parsed)
                json_field_int(&w, "ivinfo", o->acpi.ivrs_ivinfo);
        json_end_object(&w);
        json_key(&w, "efi");
        json_begin_object(&w);
        json_field_bool(&w, "booted", o->efi.booted);
        json_field_tristate(&w, "secure_boot", o->efi.secure_boot);
        json_field_string(&w, "loader_entry", o->efi.loader_entry);
        json_field_string(&w, "entry_options", o->efi.entry_options);
        json_end_object(&w);
        json_end_object(&w);

        json_key(&w, "modules");
        json_begin_array(&w);
        for (size_t i = 0; i < o->modules.n_modules; i++) {
                const ModuleState *m = &o->modules.modules[i];
                json_begin_object(&w);
                json_field_string(&w, "name", m->name);
                json_field_tristate(&w, "available", m->loaded ? 1 : m->available);
                json_field_bool(&w, "builtin", m->builtin);
                json_field_bool(&w, "loaded", m->loaded);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_field_tristate(&w, "vfio_available", v->facts.vfio_modules);
        json_field_bool(&w, "vfio_usable", v->facts.vfio_usable);
        json_field_tristate(&w, "iommufd_ready", v->facts.iommufd_ready);
        json_field_string(&w, "iommufd_evidence", v->facts.iommufd_evidence);
        json_field_tristate(&w, "allow_unsafe_interrupts", o->modules.allow_unsafe_interrupts);

        json_key(&w, "devices");
        json_begin_array(&w);
        for (size_t i = 0; i < o->n_devices; i++)
                if (o->devices[i].is_gpu || o->devices[i].sriov_totalvfs > 0)
                        json_device(&w, o, &o->devices[i]);
        json_end_array(&w);

        json_key(&w, "kernel_log");
        if (o->log.read) {
                json_begin_array(&w);
                STRV_FOREACH(l, o->log.lines)
                        json_string(&w, *l);
                json_end_array(&w);
        } else
                json_null(&w);
        json_end_object(&w);

        /* The kernel model's prediction for the running command line, for comparison with observed. */
        json_key(&w, "prediction");
        if (o->cmdline) {
                _cleanup_cmdline_ Cmdline *c = NULL;

                json_begin_object(&w);
                json_field_bool(&w, "groups", v->predicted.groups);
                json_field_string(&w, "domain_type", v->predicted.groups ? domain_type_to_string(v->predicted.domain) : NULL);
                json_field_string(&w, "invalidation", v->predicted.strict == 1 ? "strict" : v->predicted.strict == 0 ? "lazy" : NULL);
                json_field_bool(&w, "invalidation_observable", v->predicted.strict_observable);
                json_field_string(&w, "reason", v->predicted.reason);
                json_key(&w, "tokens");
                json_begin_array(&w);
                if (cmdline_parse(o->cmdline, &c) >= 0)
                        for (size_t i = 0; i < v->predicted.n_tokens; i++) {
                                const TokenPrediction *t = &v->predicted.tokens[i];
                                if (t->index >= c->n_tokens)
                                        continue;
                                json_begin_object(&w);
                                json_field_string(&w, "token", c->tokens[t->index].text);
                                json_field_string(&w, "effect", token_effect_to_string(t->effect));
                                json_field_string(&w, "why", t->why);
                                json_end_object(&w);
                        }
                json_end_array(&w);
                json_end_object(&w);
        } else
                json_null(&w);

        if (verdict_find_check(v, "p2p"))
                json_p2p(&w, o, v);

        json_key(&w, "checks");
        json_begin_array(&w);
        for (size_t i = 0; i < v->n_checks; i++) {
                json_begin_object(&w);
                json_field_string(&w, "id", v->checks[i].id);
                json_field_string(&w, "result", check_result_to_json_string(v->checks[i].result));
                json_field_string(&w, "evidence", v->checks[i].evidence);
                json_field_string(&w, "fix", v->checks[i].fix);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_key(&w, "matrix");
        json_begin_object(&w);
        for (Feature ft = 0; ft < _FEATURE_MAX; ft++) {
                json_key(&w, feature_to_string(ft));
                json_begin_object(&w);
                json_field_string(&w, "state", feature_state_to_string(v->matrix[ft].state));
                json_field_string(&w, "reason", v->matrix[ft].reason);
                json_end_object(&w);
        }
        json_end_object(&w);

        json_key(&w, "unreadable");
        json_begin_array(&w);
        STRV_FOREACH(u, o->unreadable)
                json_string(&w, *u);
        json_end_array(&w);
        json_end_object(&w);
        json_finish(&w);
}

/* "NIC 0000:1a:00.0 PIX redirected" for a GPU with a NIC peer (issue 25), "" otherwise. peer is
 * the GPU's best NIC path (p2p_topology_nic_peers()). */
static void gpu_peer_note(const P2pPath *p, const Observation *o, const PciDevice *d, char *buf, size_t size) {
        if (!p || !d->pcie.read)
                strcpy(buf, "GPU"); /* size is at least 4 */
        else
                snprintf(buf, size, "GPU, NIC %s %s %s", o->devices[p->a == (size_t) (d - o->devices) ? p->b : p->a].bdf,
                         p2p_class_to_string(p->class), p2p_route_to_string(p->route));
}

/* Each GPU's best NIC path, where config space was read (without it no path is printed, and
 * pairing every GPU with every peer would only cost time). Without memory for them the notes
 * only lose their peers: *ret stays NULL. */
static void gpu_nic_peers(const Observation *o, P2pTopology *t, const P2pPath ***ret) {
        *ret = NULL;
        if (!p2p_config_read(o) || p2p_analyze(o, t) < 0)
                return;
        (void) p2p_topology_nic_peers(t, o, ret);
}

void report_groups_text(FILE *f, const Observation *o, ReportFlags flags) {
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        _cleanup_free_ const P2pPath **peers = NULL;

        if (o->n_groups == 0) {
                fprintf(f, "No IOMMU groups: the IOMMU is off or absent.\n");
                return;
        }
        if (!(flags & REPORT_NO_LEGEND))
                fprintf(f, "%-6s %-10s %-14s %-9s %-8s %-14s %s\n", "GROUP", "TYPE", "DEVICE", "ID", "CLASS", "DRIVER", "NOTE");
        gpu_nic_peers(o, &t, &peers);
        for (size_t i = 0; i < o->n_groups; i++) {
                const IommuGroup *g = &o->groups[i];
                bool first = true;

                if (!g->devices)
                        fprintf(f, "%-6u %-10s (no devices)\n", g->id, domain_type_to_string(g->type));
                STRV_FOREACH(dn, g->devices) {
                        const PciDevice *d = observation_find_device(o, *dn);
                        char gid[24], id[24], class[24], note[96];
                        Row row;

                        row_init(&row);

                        /* Not initializers, which would zero the whole arrays for every row. */
                        strcpy(id, "-");
                        strcpy(class, "-");
                        note[0] = '\0';
                        uint_str(gid, g->id);
                        if (d) {
                                id_str(id, d->vendor, d->device);
                                hex_str(class, d->class, 6);
                                if (d->is_gpu)
                                        gpu_peer_note(peers ? peers[d - o->devices] : NULL, o, d, note, sizeof(note));
                                else if (d->sriov_totalvfs > 0)
                                        sriov_note(note, d);
                                else if (d->physfn)
                                        /* As snprintf() into note did: cut at its size. */
                                        strncpy(stpcpy(note, "VF of "), d->physfn, sizeof(note) - strlen("VF of ") - 1);
                        }
                        row_put(&row, first ? gid : "", 6);
                        row_char(&row, ' ');
                        row_put(&row, first ? domain_type_to_string(g->type) : "", 10);
                        row_char(&row, ' ');
                        row_put(&row, *dn, 14);
                        row_char(&row, ' ');
                        row_put(&row, id, 9);
                        row_char(&row, ' ');
                        row_put(&row, class, 8);
                        row_char(&row, ' ');
                        row_put(&row, d && d->driver ? d->driver : "-", 14);
                        row_char(&row, ' ');
                        row_put(&row, note, 0);
                        if (!row.overflow)
                                row_done(&row, f);
                        else
                                fprintf(f, "%-6s %-10s %-14s %-9s %-8s %-14s %s\n", first ? gid : "",
                                        first ? domain_type_to_string(g->type) : "", *dn, id, class, d && d->driver ? d->driver : "-", note);
                        first = false;
                }
        }
}

void report_groups_json(FILE *f, const Observation *o) {
        JsonWriter w = { .f = f };

        json_begin_object(&w);
        json_field_int(&w, "version", GROUPS_JSON_VERSION);
        json_key(&w, "groups");
        json_begin_array(&w);
        for (size_t i = 0; i < o->n_groups; i++) {
                const IommuGroup *g = &o->groups[i];
                json_begin_object(&w);
                json_field_int(&w, "group", g->id);
                json_field_string(&w, "type", domain_type_to_string(g->type));
                json_key(&w, "devices");
                json_begin_array(&w);
                STRV_FOREACH(dn, g->devices) {
                        const PciDevice *d = observation_find_device(o, *dn);
                        if (d)
                                json_device(&w, o, d);
                        else {
                                json_begin_object(&w);
                                json_field_string(&w, "address", *dn);
                                json_end_object(&w);
                        }
                }
                json_end_array(&w);
                json_end_object(&w);
        }
        json_end_array(&w);
        /* Each GPU's NIC peer and the path class between them (issue 25), where config space was
         * read. */
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        _cleanup_free_ const P2pPath **peers = NULL;
        bool any = false;
        gpu_nic_peers(o, &t, &peers);
        for (size_t i = 0; i < o->n_devices && peers; i++) {
                const PciDevice *d = &o->devices[i];
                const P2pPath *p = d->is_gpu && d->pcie.read ? peers[i] : NULL;
                if (!p)
                        continue;
                if (!any) {
                        json_key(&w, "gpu_peers");
                        json_begin_array(&w);
                        any = true;
                }
                json_begin_object(&w);
                json_field_string(&w, "gpu", d->bdf);
                json_field_string(&w, "nic", o->devices[p->a == i ? p->b : p->a].bdf);
                json_field_string(&w, "class", p2p_class_to_string(p->class));
                json_field_string(&w, "route", p2p_route_to_string(p->route));
                json_field_string(&w, "common", p->common);
                json_field_string(&w, "evidence", p->evidence);
                json_end_object(&w);
        }
        if (any)
                json_end_array(&w);
        json_end_object(&w);
        json_finish(&w);
}

int report_priority(CheckResult r) {
        return r == CHECK_FAIL ? LOG_ERR : r == CHECK_WARN ? LOG_WARNING : LOG_INFO;
}

int report_journal_fields(const Observation *o, const Profile *p, const Verdict *v, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *failed = verdict_failed_ids(v);
        const char *verdict = check_result_to_json_string(v->result);
        char *s;
        int r;

        if (!failed)
                return -ENOMEM;
#define ADD(...)                                                      \
        do {                                                          \
                if (asprintf(&s, __VA_ARGS__) < 0)                    \
                        return -ENOMEM;                               \
                if ((r = strv_consume(&l, s)) < 0)                    \
                        return r;                                     \
        } while (0)
        ADD("MESSAGE_ID=%s", IOMMU_VERIFY_MESSAGE_ID);
        ADD("PRIORITY=%d", report_priority(v->result));
        ADD("MESSAGE=IOMMU verification %s: profile %s promises %s, the kernel runs %s (%zu groups)%s%s",
            verdict, p->name, profile_mode_to_string(p->mode), v->facts.mode, o->n_groups,
            *failed ? "; failed: " : "", failed);
        ADD("IOMMU_PROFILE=%s", p->name);
        ADD("IOMMU_MODE_EXPECTED=%s", profile_mode_to_string(p->mode));
        ADD("IOMMU_MODE_OBSERVED=%s", v->facts.mode);
        if (v->facts.strict >= 0)
                ADD("IOMMU_INVALIDATION=%s%s", v->facts.strict ? "strict" : "lazy", v->facts.strict_inferred ? " (inferred)" : "");
        ADD("IOMMU_GROUPS=%zu", o->n_groups);
        for (DomainType t = DOMAIN_IDENTITY; t <= DOMAIN_BLOCKED; t++) {
                char key[32];
                snprintf(key, sizeof(key), "%s", domain_type_to_string(t));
                for (char *k = key; *k; k++)
                        *k = *k == '-' ? '_' : (char) toupper((unsigned char) *k);
                ADD("IOMMU_GROUPS_%s=%u", key, o->type_counts[t]);
        }
        ADD("IOMMU_VERDICT=%s", verdict);
        ADD("IOMMU_FAILED_CHECKS=%s", failed);
        ADD("IOMMU_FIRMWARE=%s", o->acpi.dmar.present ? "DMAR" : o->acpi.ivrs.present ? "IVRS" : "none");
        ADD("IOMMU_KERNEL=%s", strna(o->release));
        const Check *p2p = verdict_find_check(v, "p2p");
        if (p2p) {
                unsigned redirected = 0;
                for (size_t i = 0; i < v->p2p.n_paths; i++)
                        redirected += v->p2p.paths[i].route == P2P_ROUTE_REDIRECTED;
                ADD("IOMMU_P2P=%s", check_result_to_json_string(p2p->result));
                ADD("IOMMU_P2P_PATHS=%zu", v->p2p.n_paths);
                ADD("IOMMU_P2P_REDIRECTED=%u", redirected);
        }
#undef ADD
        *ret = TAKE_PTR(l);
        return 0;
}
