/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test-util.h"

#include "host.h"

static void test_virtualization_from_facts(void **state) {
        const char *evidence;

        /* Bare metal: nothing says VM. */
        assert_null(host_virtualization_from_facts(false, "Supermicro", "SYS-821GE-TNHR", NULL, false, &evidence));
        assert_null(evidence);
        assert_null(host_virtualization_from_facts(false, NULL, NULL, NULL, false, &evidence));

        /* QEMU/KVM guests, by DMI and by the CPU flag. */
        assert_string_equal(host_virtualization_from_facts(true, "QEMU", "Standard PC (Q35 + ICH9, 2009)", NULL, false, &evidence),
                            "qemu");
        assert_string_equal(evidence, "CPU hypervisor flag, DMI sys_vendor");
        assert_string_equal(host_virtualization_from_facts(false, "Red Hat", "KVM", NULL, false, &evidence), "kvm");
        assert_string_equal(evidence, "DMI product_name");
        /* arm64 guests have no CPU flag: DMI alone. */
        assert_string_equal(host_virtualization_from_facts(false, "QEMU", "KVM Virtual Machine", NULL, false, &evidence), "qemu");
        assert_string_equal(evidence, "DMI sys_vendor");

        /* Firecracker: the CPU flag and no DMI at all. */
        assert_string_equal(host_virtualization_from_facts(true, NULL, NULL, NULL, false, &evidence), "vm");
        assert_non_null(strstr(evidence, "CPU hypervisor flag"));

        /* EC2: Nitro guests are VMs, .metal instances are not. */
        assert_string_equal(host_virtualization_from_facts(true, "Amazon EC2", "m7i.8xlarge", NULL, false, &evidence), "amazon");
        assert_null(host_virtualization_from_facts(false, "Amazon EC2", "m7i.metal-24xl", NULL, false, &evidence));

        /* Hyper-V guests, but not Surface hardware of the same vendor. */
        assert_string_equal(host_virtualization_from_facts(true, "Microsoft Corporation", "Virtual Machine", NULL, false, &evidence),
                            "microsoft");
        assert_null(host_virtualization_from_facts(false, "Microsoft Corporation", "Surface Laptop 5", NULL, false, &evidence));

        /* Xen: a domU is a VM, dom0 is the host. */
        assert_string_equal(host_virtualization_from_facts(false, NULL, NULL, "xen", false, &evidence), "xen");
        assert_string_equal(evidence, "/sys/hypervisor/type");
        assert_null(host_virtualization_from_facts(false, NULL, NULL, "xen", true, &evidence));

        assert_string_equal(host_virtualization_from_facts(true, "VMware, Inc.", "VMware7,1", NULL, false, NULL), "vmware");
        assert_string_equal(host_virtualization_from_facts(true, "innotek GmbH", "VirtualBox", NULL, false, NULL), "oracle");
        assert_string_equal(host_virtualization_from_facts(true, "Google", "Google Compute Engine", NULL, false, NULL), "google");
}

/* Through the root prefix: a tree with DMI files and a cpuinfo flags line. */
static void test_probe_virtualization(void **state) {
        char *root = test_mkroot();
        HostInfo h = {};

        assert_int_equal(host_probe_virtualization(test_root(root), &h), 0);
        assert_null(h.virtualization);

        test_write(root, "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme hypervisor lahf_lm\n");
        assert_int_equal(host_probe_virtualization(test_root(root), &h), 0);
        assert_string_equal(h.virtualization, "vm");

        test_write(root, "/sys/class/dmi/id/sys_vendor", "QEMU\n");
        test_write(root, "/sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
        assert_int_equal(host_probe_virtualization(test_root(root), &h), 0);
        assert_string_equal(h.virtualization, "qemu");

        /* "hypervisor" must be a whole flag, not part of one. */
        test_write(root, "/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu nothypervisor hypervisorx\n");
        test_write(root, "/sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
        test_write(root, "/sys/class/dmi/id/product_name", "PowerEdge XE9680\n");
        assert_int_equal(host_probe_virtualization(test_root(root), &h), 0);
        assert_null(h.virtualization);

        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_virtualization_from_facts),
                cmocka_unit_test(test_probe_virtualization),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
