/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pcie.h"

static uint8_t cfg[PCI_CONFIG_SPACE_SIZE];

static void put16(size_t off, unsigned v) {
        cfg[off] = v & 0xff;
        cfg[off + 1] = (v >> 8) & 0xff;
}

static void put32(size_t off, unsigned v) {
        put16(off, v & 0xffff);
        put16(off + 2, v >> 16);
}

/* A root port as QEMU 7.2's pcie-root-port shows it: a PM capability at 0x48 pointing on to the
 * PCI Express capability at 0x40... in a different order: 0x34 -> 0x48 (PM) -> 0x40 (Express),
 * then in the extended space AER at 0x100 and ACS at 0x148 (cap 0x005f). */
static void root_port(unsigned acs_ctrl) {
        memset(cfg, 0, sizeof(cfg));
        put16(0x00, 0x1b36);
        put16(0x02, 0x000c);
        put16(0x06, 0x0010);
        cfg[0x0b] = 0x06;
        cfg[0x0a] = 0x04;
        cfg[0x0e] = 0x01;
        cfg[0x34] = 0x48;
        cfg[0x48] = 0x01; /* PM */
        cfg[0x49] = 0x40;
        cfg[0x40] = 0x10; /* Express */
        cfg[0x41] = 0x00;
        put16(0x42, 0x0042); /* version 2, root port */
        put32(0x4c, 0x00000011 | 3); /* max 8 GT/s x1 */
        put16(0x52, 0x0011);         /* 2.5 GT/s x1 */
        put32(0x100, 0x0001 | 2 << 16 | 0x148 << 20); /* AER -> 0x148 */
        put32(0x148, 0x000d | 1 << 16);               /* ACS, last */
        put16(0x14c, 0x005f);
        put16(0x14e, acs_ctrl);
}

static void test_root_port(void **state) {
        PcieInfo p;
        char buf[32];

        root_port(0x001d);
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), 0);
        assert_true(p.read);
        assert_true(p.extended);
        assert_int_equal(p.port_type, PCIE_TYPE_ROOT_PORT);
        assert_true(p.has_acs);
        assert_int_equal(p.acs_cap, 0x005f);
        assert_int_equal(p.acs_ctrl, 0x001d);
        assert_false(p.has_ats);
        assert_int_equal(p.link_speed, 1);
        assert_int_equal(p.link_width, 1);
        assert_int_equal(p.link_speed_max, 3);
        assert_string_equal(pcie_acs_bits_to_string(p.acs_ctrl, buf), "SV RR CR UF");
        assert_string_equal(pcie_acs_bits_to_string(p.acs_cap, buf), "SV TB RR CR UF DT");
        assert_string_equal(pcie_acs_bits_to_string(0, buf), "none");
        assert_string_equal(pcie_port_type_to_string(p.port_type), "root-port");
        assert_string_equal(pcie_link_speed_to_string(p.link_speed), "2.5 GT/s");
        assert_true(pcie_type_is_downstream_facing(p.port_type));
}

/* Without root the kernel gives 256 bytes: the Express capability is there, ACS unknown. */
static void test_legacy_only(void **state) {
        PcieInfo p;

        root_port(0x001d);
        assert_int_equal(pcie_parse(cfg, PCI_CONFIG_LEGACY_SIZE, &p), 0);
        assert_true(p.read);
        assert_false(p.extended);
        assert_int_equal(p.port_type, PCIE_TYPE_ROOT_PORT);
        assert_false(p.has_acs);
}

static void test_endpoint_ats_pasid_pri(void **state) {
        PcieInfo p;

        memset(cfg, 0, sizeof(cfg));
        put16(0x00, 0x15b3);
        put16(0x06, 0x0010);
        cfg[0x34] = 0x60;
        cfg[0x60] = 0x10;
        put16(0x62, 0x0002); /* endpoint */
        put32(0x100, 0x000f | 1 << 16 | 0x120 << 20); /* ATS, enabled */
        put16(0x106, 0x8000);
        put32(0x120, 0x001b | 1 << 16 | 0x130 << 20); /* PASID, enabled */
        put16(0x126, 0x0001);
        put32(0x130, 0x0013 | 1 << 16);               /* PRI, off */
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), 0);
        assert_int_equal(p.port_type, PCIE_TYPE_ENDPOINT);
        assert_true(p.has_ats);
        assert_true(p.ats_enabled);
        assert_true(p.has_pasid);
        assert_true(p.pasid_enabled);
        assert_true(p.has_pri);
        assert_false(p.pri_enabled);
        assert_false(p.has_acs);
        assert_false(pcie_type_is_downstream_facing(p.port_type));
}

/* Hostile bytes: loops, pointers out of range, a device that is gone. */
static void test_hostile(void **state) {
        PcieInfo p;

        memset(cfg, 0xff, sizeof(cfg));
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), -EBADMSG);
        assert_int_equal(pcie_parse(cfg, 16, &p), -EBADMSG);
        assert_int_equal(pcie_parse(NULL, 0, &p), -EBADMSG);

        /* A standard list that loops on itself, and no Express capability: conventional PCI. */
        memset(cfg, 0, sizeof(cfg));
        put16(0x06, 0x0010);
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x05;
        cfg[0x41] = 0x40;
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), 0);
        assert_int_equal(p.port_type, PCIE_TYPE_NONE);
        assert_false(p.extended);
        assert_string_equal(pcie_port_type_to_string(p.port_type), "pci");

        /* An extended list that loops (0x100 -> 0x100), and one that points past the data. */
        root_port(0x001d);
        put32(0x100, 0x0001u | 2u << 16 | 0x100u << 20);
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), 0);
        assert_false(p.has_acs);
        root_port(0x001d);
        put32(0x100, 0x0001u | 2u << 16 | 0xffcu << 20);
        assert_int_equal(pcie_parse(cfg, 0x400, &p), 0);
        assert_false(p.has_acs);
        /* The ACS header is in the data but its registers are not. */
        root_port(0x001d);
        assert_int_equal(pcie_parse(cfg, 0x14c, &p), 0);
        assert_false(p.has_acs);
        /* A capability pointer into the header is the end of the list. */
        root_port(0x001d);
        cfg[0x34] = 0x20;
        assert_int_equal(pcie_parse(cfg, sizeof(cfg), &p), 0);
        assert_int_equal(p.port_type, PCIE_TYPE_NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_port),
                cmocka_unit_test(test_legacy_only),
                cmocka_unit_test(test_endpoint_ats_pasid_pri),
                cmocka_unit_test(test_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
