/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "acpi.h"
#include "fileio.h"

/* Every ACPI table starts with a 36-byte header whose first 4 bytes are the signature and the
 * next 4 the table length. */
#define ACPI_HEADER_SIZE 36

static int acpi_check_header(const uint8_t *buf, size_t n, const char *signature, size_t min) {
        uint32_t length;

        if (n < min || memcmp(buf, signature, 4) != 0)
                return -EBADMSG;
        length = (uint32_t) buf[4] | (uint32_t) buf[5] << 8 | (uint32_t) buf[6] << 16 | (uint32_t) buf[7] << 24;
        if (length < min || length > n)
                return -EBADMSG;
        return 0;
}

int acpi_parse_dmar(const uint8_t *buf, size_t n, uint8_t *ret_haw, uint8_t *ret_flags) {
        int r;

        r = acpi_check_header(buf, n, "DMAR", ACPI_HEADER_SIZE + 2);
        if (r < 0)
                return r;
        *ret_haw = buf[36];
        *ret_flags = buf[37];
        return 0;
}

int acpi_parse_ivrs(const uint8_t *buf, size_t n, uint32_t *ret_ivinfo) {
        int r;

        r = acpi_check_header(buf, n, "IVRS", ACPI_HEADER_SIZE + 4);
        if (r < 0)
                return r;
        *ret_ivinfo = (uint32_t) buf[36] | (uint32_t) buf[37] << 8 | (uint32_t) buf[38] << 16 | (uint32_t) buf[39] << 24;
        return 0;
}

static int acpi_read_table(const Root *root, const char *name, AcpiTable *t, char **ret_buf, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, ACPI_TABLES_DIR "/%s", name) < 0)
                return -ENOMEM;
        t->present = root_exists(root, path);
        if (!t->present)
                return 0;
        r = read_root_file(root, path, 1024 * 1024, ret_buf, ret_size);
        if (r == -ENOMEM)
                return r;
        t->error = r < 0 ? r : 0;
        return 0;
}

int acpi_read(const Root *root, AcpiInfo *ret) {
        _cleanup_free_ char *dmar = NULL, *ivrs = NULL;
        size_t dmar_size = 0, ivrs_size = 0;
        AcpiInfo a = {};
        int r;

        r = acpi_read_table(root, "DMAR", &a.dmar, &dmar, &dmar_size);
        if (r < 0)
                return r;
        if (dmar) {
                r = acpi_parse_dmar((const uint8_t *) dmar, dmar_size, &a.dmar_host_address_width, &a.dmar_flags);
                a.dmar.parsed = r >= 0;
                if (r < 0)
                        a.dmar.error = r;
        }
        r = acpi_read_table(root, "IVRS", &a.ivrs, &ivrs, &ivrs_size);
        if (r < 0)
                return r;
        if (ivrs) {
                r = acpi_parse_ivrs((const uint8_t *) ivrs, ivrs_size, &a.ivrs_ivinfo);
                a.ivrs.parsed = r >= 0;
                if (r < 0)
                        a.ivrs.error = r;
        }
        *ret = a;
        return 0;
}
