/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "p2p.h"
#include "params.h"
#include "strv.h"

/* The topology of tests/fixtures/hosts/qemu-acs-* (tests/vm/lib.sh VM_TOPOLOGY=acs), plus a GPU:
 * root port 00:10.0 -> switch upstream 02:00.0 -> downstream 03:00.0 (NIC 04:00.0), 03:01.0
 * (GPU 05:00.0); root port 00:11.0 -> NVMe 06:00.0; and a NIC on another host bridge. */
static Observation obs;

static PciDevice *dev(size_t i, const char *bdf, unsigned vendor, unsigned device, unsigned class, const char *sysfs_path) {
        PciDevice *d = &obs.devices[i];
        *d = (PciDevice) { .bdf = strdup(bdf), .vendor = vendor, .device = device, .class = class, .group = -1, .numa_node = 0 };
        assert_non_null(d->bdf);
        d->is_gpu = pci_device_is_gpu(vendor, class);
        assert_int_equal(p2p_parse_sysfs_path(sysfs_path, &d->host_bridge, &d->upstream), 0);
        d->pcie = (PcieInfo) { .read = true, .extended = true, .port_type = PCIE_TYPE_ENDPOINT };
        return d;
}

static void port(PciDevice *d, int type, bool acs, unsigned ctrl) {
        d->pcie.port_type = type;
        d->pcie.has_acs = acs;
        d->pcie.acs_cap = acs ? 0x005f : 0;
        d->pcie.acs_ctrl = ctrl;
}

static int setup(void **state) {
        obs = (Observation) { .n_devices = 9 };
        obs.devices = calloc(obs.n_devices, sizeof(PciDevice));
        assert_non_null(obs.devices);
        /* In the order of their names, as observe_devices() keeps them. */
        port(dev(0, "0000:00:10.0", 0x1b36, 0x000c, 0x060400, "../../../devices/pci0000:00/0000:00:10.0"), PCIE_TYPE_ROOT_PORT, true, 0x001d);
        port(dev(1, "0000:00:11.0", 0x1b36, 0x000c, 0x060400, "../../../devices/pci0000:00/0000:00:11.0"), PCIE_TYPE_ROOT_PORT, true, 0x001d);
        port(dev(2, "0000:02:00.0", 0x104c, 0x8232, 0x060400, "../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0"),
             PCIE_TYPE_UPSTREAM, false, 0);
        port(dev(3, "0000:03:00.0", 0x104c, 0x8233, 0x060400, "../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0/0000:03:00.0"),
             PCIE_TYPE_DOWNSTREAM, false, 0);
        port(dev(4, "0000:03:01.0", 0x104c, 0x8233, 0x060400, "../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0/0000:03:01.0"),
             PCIE_TYPE_DOWNSTREAM, false, 0);
        dev(5, "0000:04:00.0", 0x8086, 0x10d3, 0x020000, "../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0/0000:03:00.0/0000:04:00.0");
        dev(6, "0000:05:00.0", 0x10de, 0x2330, 0x030200, "../../../devices/pci0000:00/0000:00:10.0/0000:02:00.0/0000:03:01.0/0000:05:00.0");
        dev(7, "0000:06:00.0", 0x1b36, 0x0010, 0x010802, "../../../devices/pci0000:00/0000:00:11.0/0000:06:00.0");
        dev(8, "0000:80:00.0", 0x15b3, 0x1021, 0x020700, "../../../devices/pci0000:80/0000:80:00.0")->numa_node = 1;
        return 0;
}

static int teardown(void **state) {
        observation_done(&obs);
        return 0;
}

static void test_sysfs_path(void **state) {
        _cleanup_strv_free_ char **up = NULL;
        _cleanup_free_ char *host = NULL;

        assert_int_equal(p2p_parse_sysfs_path("../../../devices/platform/4010000000.pcie/pci0000:00/0000:00:01.0/0000:01:00.0",
                                              &host, &up), 0);
        assert_string_equal(host, "pci0000:00");
        assert_int_equal(strv_length(up), 1);
        assert_string_equal(up[0], "0000:00:01.0");
        assert_int_equal(strv_length(obs.devices[6].upstream), 3);
        /* A crafted host bridge name (control bytes) is not taken. */
        host = mfree(host);
        up = strv_free(up);
        assert_int_equal(p2p_parse_sysfs_path("../../../devices/pci0000:00\033[2J/0000:00:01.0/0000:01:00.0", &host, &up), 0);
        assert_null(host);
        assert_null(up);
        assert_null(obs.devices[0].upstream);
}

static const P2pPath *find(const P2pTopology *t, size_t a, size_t b) {
        for (size_t i = 0; i < t->n_paths; i++)
                if ((t->paths[i].a == a && t->paths[i].b == b) || (t->paths[i].a == b && t->paths[i].b == a))
                        return &t->paths[i];
        return NULL;
}

static void test_paths(void **state) {
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        _cleanup_strv_free_ char **ports = NULL;
        const P2pPath *p;

        assert_int_equal(p2p_analyze(&obs, &t), 0);
        assert_int_equal(t.n_gpus, 1);
        /* GPU x {NIC, NVMe, NIC on the other host bridge}. */
        assert_int_equal(t.n_paths, 3);

        /* GPU and NIC under one switch: PIX, its downstream ports have no ACS: direct. */
        p = find(&t, 6, 5);
        assert_non_null(p);
        assert_int_equal(p->a, 6);
        assert_int_equal(p->class, P2P_PIX);
        assert_int_equal(p->route, P2P_ROUTE_DIRECT);
        assert_string_equal(p->common, "0000:02:00.0");
        assert_non_null(strstr(p->evidence, "0000:03:00.0 (downstream) has no ACS capability"));
        assert_ptr_equal(p2p_topology_nic_peer(&t, &obs, 6), p);

        /* GPU and NVMe under two root ports: PHB, redirected at both. */
        p = find(&t, 6, 7);
        assert_int_equal(p->class, P2P_PHB);
        assert_int_equal(p->route, P2P_ROUTE_REDIRECTED);
        assert_string_equal(p->common, "pci0000:00");
        assert_string_equal(p->redirect_ports[0], "0000:00:10.0");
        assert_string_equal(p->redirect_ports[1], "0000:00:11.0");
        assert_non_null(strstr(p->evidence, "0000:00:10.0 ACSCtl 0x001d (SV RR CR UF)"));

        /* Another host bridge on another NUMA node: SYS. */
        p = find(&t, 6, 8);
        assert_int_equal(p->class, P2P_SYS);
        assert_null(p->common);

        assert_int_equal(p2p_redirect_ports(&t, &obs, &ports), 0);
        assert_int_equal(strv_length(ports), 2);
        assert_string_equal(ports[0], "0000:00:10.0");

        /* Switch downstream ports with redirect on: the switch path is redirected there. */
        p2p_topology_done(&t);
        port(&obs.devices[3], PCIE_TYPE_DOWNSTREAM, true, 0x001d);
        port(&obs.devices[4], PCIE_TYPE_DOWNSTREAM, true, 0x0011);
        assert_int_equal(p2p_analyze(&obs, &t), 0);
        p = find(&t, 6, 5);
        assert_int_equal(p->route, P2P_ROUTE_REDIRECTED);
        assert_string_equal(p->redirect_ports[0], "0000:03:00.0");
        assert_null(p->redirect_ports[1]);
        /* Egress control without redirect: blocked. */
        p2p_topology_done(&t);
        port(&obs.devices[3], PCIE_TYPE_DOWNSTREAM, true, 0x0031);
        assert_int_equal(p2p_analyze(&obs, &t), 0);
        assert_int_equal(find(&t, 6, 5)->route, P2P_ROUTE_BLOCKED);
        /* A port whose extended space was not read (not root): unknown, counted. */
        p2p_topology_done(&t);
        obs.devices[3].pcie.extended = false;
        assert_int_equal(p2p_analyze(&obs, &t), 0);
        assert_int_equal(find(&t, 6, 5)->route, P2P_ROUTE_UNKNOWN);
        assert_true(t.n_unread > 0);
        port(&obs.devices[3], PCIE_TYPE_DOWNSTREAM, false, 0);
        port(&obs.devices[4], PCIE_TYPE_DOWNSTREAM, false, 0);
        obs.devices[3].pcie.extended = true;
}

static void test_spec(void **state) {
        const PciDevice *rp = &obs.devices[0], *gpu = &obs.devices[6];

        assert_true(p2p_spec_matches(&obs, rp, "0000:00:10.0"));
        assert_true(p2p_spec_matches(&obs, rp, "00:10.0"));
        assert_false(p2p_spec_matches(&obs, rp, "0000:00:11.0"));
        assert_true(p2p_spec_matches(&obs, rp, "pci:1b36:000c"));
        assert_true(p2p_spec_matches(&obs, rp, "pci:1b36:000c:1af4:1100"));
        assert_false(p2p_spec_matches(&obs, rp, "pci:1b36:000d"));
        /* A path from the root bus: 00:10.0 / 00.0 (02:00.0) / 01.0 (03:01.0) / 00.0 (the GPU). */
        assert_true(p2p_spec_matches(&obs, gpu, "0000:00:10.0/00.0/01.0/00.0"));
        assert_false(p2p_spec_matches(&obs, gpu, "0000:00:10.0/00.0/00.0/00.0"));
        assert_false(p2p_spec_matches(&obs, gpu, "0000:00:10.0/00.0"));
        assert_false(p2p_spec_matches(&obs, rp, "garbage"));
        assert_false(p2p_spec_matches(&obs, rp, "0000:00:10.0x"));
}

static int predict(const char *line, size_t port, bool requested, unsigned version) {
        _cleanup_cmdline_ Cmdline *c = NULL;
        assert_int_equal(cmdline_parse(line, &c), 0);
        return p2p_predict_acs_ctrl(&obs, &obs.devices[port], requested, c, version);
}

/* The values measured on real kernels (tests/fixtures/hosts/qemu-acs-*, KERNEL-TRUTH). */
static void test_predict(void **state) {
        assert_int_equal(predict("intel_iommu=on iommu=pt", 0, true, KERNEL_VERSION(6, 1)), 0x001d);
        assert_int_equal(predict("intel_iommu=off", 0, false, KERNEL_VERSION(6, 1)), -ENODATA);
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0", 0, true, KERNEL_VERSION(6, 1)), 0x0011);
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0", 1, true, KERNEL_VERSION(6, 1)), 0x001d);
        assert_int_equal(predict("pci=noaer,disable_acs_redir=00:11.0;0000:00:10.0", 0, true, KERNEL_VERSION(6, 1)), 0x0011);
        /* From 6.11 the bits outside the mask come from the firmware (0 here). */
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0", 0, true, KERNEL_VERSION(6, 12)), 0x0000);
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=config_acs=00xx@0000:00:10.0", 0, true, KERNEL_VERSION(6, 12)), 0x0000);
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=config_acs=100x1@0000:00:10.0", 0, true, KERNEL_VERSION(6, 12)), 0x0011);
        /* config_acs= is not there before 6.11. */
        assert_int_equal(predict("intel_iommu=on iommu=pt pci=config_acs=00xx@0000:00:10.0", 0, true, KERNEL_VERSION(6, 1)), 0x001d);
        /* A port without ACS: nothing to predict. */
        assert_int_equal(predict("intel_iommu=on", 3, true, KERNEL_VERSION(6, 1)), -ENODATA);

        /* AMD: the IVRS table is enough. */
        obs.acpi.ivrs.present = true;
        assert_true(p2p_acs_requested(&obs, VENDOR_AMD, false));
        assert_false(p2p_acs_requested(&obs, VENDOR_INTEL, false));
        assert_true(p2p_acs_requested(&obs, VENDOR_INTEL, true));
        obs.acpi.ivrs.present = false;
        assert_false(p2p_acs_requested(&obs, VENDOR_AMD, true));
}

static void test_lift_token(void **state) {
        _cleanup_(p2p_topology_done) P2pTopology t = {};
        _cleanup_strv_free_ char **ports = NULL, **merges = NULL;
        _cleanup_free_ char *token = NULL, *reason = NULL;

        obs.devices[0].group = 3;
        obs.devices[2].group = 3;
        obs.devices[5].group = 8;
        obs.devices[6].group = 9;
        assert_int_equal(p2p_analyze(&obs, &t), 0);
        /* Both root ports redirect GPU paths and are the only ACS ports of 1b36:000c. */
        assert_int_equal(p2p_lift_token(&obs, &t, KERNEL_VERSION(6, 1), &token, &ports, &merges, &reason), 0);
        assert_string_equal(token, "pci=disable_acs_redir=pci:1b36:000c");
        assert_int_equal(strv_length(ports), 2);
        assert_string_equal(merges[0], "0000:00:10.0: groups 3 8 9");
        token = mfree(token);
        ports = strv_free(ports);
        merges = strv_free(merges);
        /* From 6.11: config_acs= keeping SV and UF. */
        assert_int_equal(p2p_lift_token(&obs, &t, KERNEL_VERSION(6, 12), &token, NULL, NULL, &reason), 0);
        assert_string_equal(token, "pci=config_acs=100x1@pci:1b36:000c");
        token = mfree(token);
        /* Two ports of different IDs would need ';': refused, with the reason. */
        obs.devices[1].device = 0x000d;
        assert_int_equal(p2p_lift_token(&obs, &t, KERNEL_VERSION(6, 1), &token, NULL, NULL, &reason), -EINVAL);
        assert_null(token);
        assert_non_null(strstr(reason, "needs ';'"));
        reason = mfree(reason);
        /* Another port of the same ID that keeps redirect: the ID is not exact either. */
        obs.devices[1].device = 0x000c;
        port(&obs.devices[3], PCIE_TYPE_DOWNSTREAM, true, 0x001d);
        obs.devices[3].vendor = 0x1b36;
        obs.devices[3].device = 0x000c;
        assert_int_equal(p2p_lift_token(&obs, &t, KERNEL_VERSION(6, 1), &token, NULL, NULL, &reason), -EINVAL);
        reason = mfree(reason);
        /* No GPU path redirected: nothing to lift. */
        p2p_topology_done(&t);
        port(&obs.devices[0], PCIE_TYPE_ROOT_PORT, true, 0x0011);
        port(&obs.devices[1], PCIE_TYPE_ROOT_PORT, true, 0x0011);
        port(&obs.devices[3], PCIE_TYPE_DOWNSTREAM, false, 0);
        assert_int_equal(p2p_analyze(&obs, &t), 0);
        assert_int_equal(p2p_lift_token(&obs, &t, KERNEL_VERSION(6, 1), &token, NULL, NULL, &reason), -ENODATA);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_sysfs_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
                cmocka_unit_test_setup_teardown(test_spec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_predict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lift_token, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
