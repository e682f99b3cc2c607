/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "acpi.h"
#include "observe.h"

/* The first 48 bytes of QEMU 7.2's DMAR (intel-iommu,intremap=on), as captured. */
static const uint8_t qemu_dmar[] = {
        'D', 'M', 'A', 'R', 0x78, 0, 0, 0, 0x01, 0x0c, 'B', 'O', 'C', 'H', 'S', ' ',
        'B', 'X', 'P', 'C', ' ', ' ', ' ', ' ', 0x01, 0, 0, 0, 'B', 'X', 'P', 'C',
        0x01, 0, 0, 0, 0x26, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_dmar(void **state) {
        uint8_t buf[0x78] = {}, haw = 0, flags = 0;

        memcpy(buf, qemu_dmar, sizeof(qemu_dmar));
        assert_int_equal(acpi_parse_dmar(buf, sizeof(buf), &haw, &flags), 0);
        assert_int_equal(haw, 0x26);
        assert_int_equal(flags, DMAR_FLAG_INTR_REMAP);
        /* Shorter than its length field says: not a table. */
        assert_int_equal(acpi_parse_dmar(buf, sizeof(qemu_dmar), &haw, &flags), -EBADMSG);
        buf[0] = 'X';
        assert_int_equal(acpi_parse_dmar(buf, sizeof(buf), &haw, &flags), -EBADMSG);
}

static void test_ivrs(void **state) {
        uint8_t buf[48] = { 'I', 'V', 'R', 'S', 48 };
        uint32_t ivinfo = 0;

        buf[36] = 0x02;
        buf[37] = 0x28;
        assert_int_equal(acpi_parse_ivrs(buf, sizeof(buf), &ivinfo), 0);
        assert_int_equal(ivinfo, 0x2802);
        assert_true(ivinfo & IVRS_IVINFO_DMA_REMAP_SUPPORT);
        assert_int_equal(acpi_parse_ivrs(buf, 39, &ivinfo), -EBADMSG);
}

static void test_gpu(void **state) {
        assert_true(pci_device_is_gpu(0x10de, 0x030200));  /* H100 SXM */
        assert_true(pci_device_is_gpu(0x1002, 0x120000));  /* Instinct */
        assert_false(pci_device_is_gpu(0x10de, 0x068000)); /* NVSwitch */
        assert_false(pci_device_is_gpu(0x10de, 0x040300)); /* HDMI audio */
        assert_false(pci_device_is_gpu(0x8086, 0x030000));
        assert_string_equal(pci_class_name(0x030200), "3D controller");
        assert_string_equal(pci_class_name(0x020700), "InfiniBand controller");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dmar),
                cmocka_unit_test(test_ivrs),
                cmocka_unit_test(test_gpu),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
