/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <efivar.h>

#include "boot-bls.h"
#include "bootspec.h"
#include "dlfcn-util.h"
#include "efi.h"
#include "fileio.h"
#include "log.h"
#include "strv.h"

static int efi_read_variable_file(const Root *root, const char *guid, const char *name, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t n;
        uint8_t *data;
        int r;

        if (asprintf(&path, "/sys/firmware/efi/efivars/%s-%s", name, guid) < 0)
                return -ENOMEM;
        r = read_root_file(root, path, 1024 * 1024, &buf, &n);
        if (r < 0)
                return r;
        if (n < 4)
                return -EBADMSG;
        data = malloc(n - 4 + 1);
        if (!data)
                return -ENOMEM;
        memcpy(data, buf + 4, n - 4);
        *ret = data;
        *ret_size = n - 4;
        return 0;
}

/* libefivar is loaded to read the live host's variables only; a tree's are plain files. */
static void *efivar_dl;
static typeof(efi_str_to_guid) *sym_efi_str_to_guid;
static typeof(efi_variables_supported) *sym_efi_variables_supported;
static typeof(efi_get_variable) *sym_efi_get_variable;

static int dlopen_libefivar(void) {
        return dlopen_many_sym_or_warn(&efivar_dl, "libefivar.so.1", LOG_LEVEL_WARNING,
                                       DLSYM_ARG(efi_str_to_guid),
                                       DLSYM_ARG(efi_variables_supported),
                                       DLSYM_ARG(efi_get_variable));
}

static int efi_read_variable_live(const char *guid, const char *name, uint8_t **ret, size_t *ret_size) {
        efi_guid_t g;
        uint8_t *data = NULL;
        size_t size = 0;
        uint32_t attributes;
        int r;

        r = dlopen_libefivar();
        if (r < 0)
                return r;
        if (sym_efi_str_to_guid(guid, &g) < 0)
                return -EINVAL;
        if (!sym_efi_variables_supported())
                return -EOPNOTSUPP;
        if (sym_efi_get_variable(g, name, &data, &size, &attributes) < 0)
                return errno > 0 ? -errno : -EIO;
        *ret = data;
        *ret_size = size;
        return 0;
}

int efi_read_variable(const Root *root, const char *guid, const char *name, uint8_t **ret, size_t *ret_size) {
        if (root_is_host(root))
                return efi_read_variable_live(guid, name, ret, ret_size);
        return efi_read_variable_file(root, guid, name, ret, ret_size);
}

/* The entry this boot came from, found in the boot configuration model as systemd-boot names it
 * (the file name, boot counter removed, case-insensitively), with its effective command line: the
 * same entries and lines status and apply see. */
static int efi_find_entry(Observation *o) {
        _cleanup_(bootspec_done) BootSpec b = {};
        const char *id = o->efi.loader_entry;
        int r;

        r = bootspec_load(o->root, &b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b.n_entries; i++) {
                const BootSpecEntry *e = &b.entries[i];
                if (e->type == BOOTSPEC_GRUB_MENU || !e->id)
                        continue;
                if (strcasecmp(e->id, id) != 0 && !(e->file_id && strcasecmp(e->file_id, id) == 0))
                        continue;
                o->efi.entry_options = strdup(e->cmdline ?: "");
                o->efi.entry_path = strdup(e->path);
                if (!o->efi.entry_options || !o->efi.entry_path)
                        return -ENOMEM;
                for (size_t k = 0; k < e->n_addon_list; k++) {
                        char *s;
                        if (!e->addon_list[k].skipped)
                                continue;
                        if (asprintf(&s, "%s (%s)", e->addon_list[k].path, e->addon_list[k].skipped) < 0 ||
                            strv_consume(&o->efi.entry_addons_skipped, s) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        return 0;
}

int efi_observe(Observation *o) {
        _cleanup_free_ uint8_t *sb = NULL, *entry = NULL;
        size_t n;
        int r;

        o->efi.secure_boot = -1;
        o->efi.booted = root_exists(o->root, "/sys/firmware/efi");
        if (!o->efi.booted)
                return 0;

        r = efi_read_variable(o->root, EFI_GLOBAL_VARIABLE_GUID, "SecureBoot", &sb, &n);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && n >= 1)
                o->efi.secure_boot = sb[0] == 1;
        else if (r < 0 && r != -ENOENT) {
                o->efi.error = r;
                r = observation_note_unreadable(o, "EFI variable SecureBoot", r);
                if (r < 0)
                        return r;
        }

        r = efi_read_variable(o->root, EFI_LOADER_VARIABLE_GUID, "LoaderEntrySelected", &entry, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r == -ENOENT)
                        return 0;
                o->efi.error = r;
                return observation_note_unreadable(o, "EFI variable LoaderEntrySelected", r);
        }
        o->efi.loader_entry = efi_utf16le_to_ascii(entry, n);
        if (!o->efi.loader_entry)
                return -ENOMEM;
        return efi_find_entry(o);
}
