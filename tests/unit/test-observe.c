/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "observe.h"
#include "test-util.h"

/* observe_tree()'s fast paths (issue 24) against what they replaced: device names sorted as
 * strcmp() sorts them (by number for the kernel's form, qsort() otherwise), found by name, and
 * groups found by number, also when a crafted tree names one twice. */

static void add_device(const char *root, const char *bdf, const char *group) {
        _cleanup_free_ char *p = NULL, *g = NULL;

        if (asprintf(&p, "/sys/bus/pci/devices/%s/vendor", bdf) < 0)
                abort();
        test_write(root, p, "0x8086\n");
        if (!group)
                return;
        if (asprintf(&g, "/sys/kernel/iommu_groups/%s/devices/%s", group, bdf) < 0)
                abort();
        test_write(root, g, "");
        free(g);
        if (asprintf(&g, "/sys/kernel/iommu_groups/%s/type", group) < 0)
                abort();
        test_write(root, g, "identity\n");
}

static void check_sorted_and_found(const Observation *o) {
        for (size_t i = 0; i < o->n_devices; i++) {
                if (i > 0)
                        assert_true(strcmp(o->devices[i - 1].bdf, o->devices[i].bdf) < 0);
                assert_ptr_equal(observation_find_device(o, o->devices[i].bdf), &o->devices[i]);
        }
}

/* 300 devices in the kernel's form, created out of order, over two domains and all functions. */
static void test_kernel_names(void **state) {
        _cleanup_(observation_done) Observation o = {};
        char *root = test_mkroot();
        char bdf[32], group[16];

        for (unsigned i = 0; i < 300; i++) {
                unsigned k = (i * 7919) % 300; /* a permutation of 0..299 */
                snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", k >= 150 ? 0x10000 - 1 : 0, k % 150 >> 3, (k * 3) & 0x1f, k & 7);
                snprintf(group, sizeof(group), "%u", k);
                add_device(root, bdf, group);
        }
        assert_int_equal(observe_tree(test_root(root), ARCH_X86_64, VENDOR_INTEL, "test", &o), 0);
        assert_int_equal(o.n_devices, 300);
        assert_non_null(o.device_keys);
        check_sorted_and_found(&o);
        /* Names that are no device, in the kernel's form and not. */
        assert_null(observation_find_device(&o, "0000:ff:1f.7"));
        assert_null(observation_find_device(&o, "0000:00:00.0x"));
        assert_null(observation_find_device(&o, "0000:00"));
        assert_null(observation_find_device(&o, "0000:00:00.0 "));
        assert_int_equal(o.n_groups, 300);
        for (unsigned i = 0; i < 300; i++) {
                const IommuGroup *g = observation_find_group(&o, (int) i);
                assert_non_null(g);
                assert_int_equal(g->id, i);
                assert_non_null(g->devices);
                assert_non_null(observation_find_device(&o, g->devices[0]));
                assert_int_equal(observation_find_device(&o, g->devices[0])->vendor, 0x8086);
        }
        assert_null(observation_find_group(&o, 300));
        test_rmroot(root);
}

/* One name not in the kernel's form: all of them are sorted by strcmp(), and still found. */
static void test_other_names(void **state) {
        _cleanup_(observation_done) Observation o = {};
        char *root = test_mkroot();
        char bdf[32];

        for (unsigned i = 0; i < 100; i++) {
                snprintf(bdf, sizeof(bdf), "0000:%02x:00.%u", (i * 37) % 100, i & 1);
                add_device(root, bdf, NULL);
        }
        add_device(root, "0000:00:00.A", NULL);
        add_device(root, "weird", NULL);
        assert_int_equal(observe_tree(test_root(root), ARCH_X86_64, VENDOR_INTEL, "test", &o), 0);
        assert_int_equal(o.n_devices, 102);
        assert_null(o.device_keys);
        check_sorted_and_found(&o);
        assert_string_equal(o.devices[101].bdf, "weird");
        assert_null(observation_find_device(&o, "0000:00:00.a"));
        test_rmroot(root);
}

/* "01" next to "1": both are group 1 (strtoul()), neither placed at its number; a name that is
 * not a number (a control byte in it too) is no group. */
static void test_group_numbers_twice(void **state) {
        _cleanup_(observation_done) Observation o = {};
        char *root = test_mkroot();

        add_device(root, "0000:00:01.0", "1");
        add_device(root, "0000:00:02.0", "01");
        add_device(root, "0000:00:03.0", "0");
        add_device(root, "0000:00:04.0", "\t2");
        add_device(root, "0000:00:05.0", "x");
        assert_int_equal(observe_tree(test_root(root), ARCH_X86_64, VENDOR_INTEL, "test", &o), 0);
        assert_int_equal(o.n_groups, 3);
        assert_false(o.groups_at_number);
        assert_int_equal(o.groups[0].id, 0);
        assert_int_equal(o.groups[1].id, 1);
        assert_int_equal(o.groups[2].id, 1);
        assert_int_equal(observation_find_group(&o, 1)->id, 1);
        assert_int_equal(observation_find_group(&o, 0)->id, 0);
        assert_null(observation_find_group(&o, 2));
        test_rmroot(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_names),
                cmocka_unit_test(test_other_names),
                cmocka_unit_test(test_group_numbers_twice),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
