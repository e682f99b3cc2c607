/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fileio.h"

/* The boot configuration model: everything under a root that decides which command line the next
 * boot runs, read once into one structure, in the spirit of systemd's src/shared/bootspec.c.
 * Each fact keeps the file (a path inside the root) and line it came from. From it: each entry's
 * effective command line, and the default and next entry by the boot loader's own rules
 * (systemd-boot's src/boot/boot.c and bootctl; GRUB's GRUB_DEFAULT/saved_entry/next_entry with
 * ids, titles and ">" paths; GRUB's blscfg with rpm's version order on RHEL).
 *
 * Part of libiommu (the generator's library): no libefivar. EFI variables are read as files of
 * ROOT/sys/firmware/efi/efivars (efivarfs on the live host: 4 bytes of attributes, then the data).
 * Every file goes through the confined root helpers of fileio.h. */

#define BOOTSPEC_LOADER_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

typedef enum BootSpecEntryType {
        BOOTSPEC_TYPE1,     /* a Boot Loader Specification entry, loader/entries/ *.conf */
        BOOTSPEC_TYPE2,     /* a unified kernel image, EFI/Linux/ *.efi */
        BOOTSPEC_GRUB_MENU, /* a menuentry of grub.cfg */
        _BOOTSPEC_TYPE_MAX,
} BootSpecEntryType;

const char *bootspec_entry_type_to_string(BootSpecEntryType t);

typedef enum BootSpecLoader {
        BOOTSPEC_LOADER_NONE,         /* nothing to boot found */
        BOOTSPEC_LOADER_SYSTEMD_BOOT, /* systemd-boot (or any Boot Loader Specification reader) */
        BOOTSPEC_LOADER_GRUB_BLSCFG,  /* GRUB reading BLS entries with blscfg (Fedora, RHEL 8 and later) */
        BOOTSPEC_LOADER_GRUB,         /* GRUB's generated menu */
        _BOOTSPEC_LOADER_MAX,
} BootSpecLoader;

const char *bootspec_loader_to_string(BootSpecLoader l);

/* One add-on file found for a unified kernel image, and what systemd-stub does with it. */
typedef struct BootSpecAddon {
        char *path;         /* inside the root */
        char *cmdline;      /* its .cmdline, NULL when none */
        char *uname;        /* its .uname, NULL when none */
        bool is_signed;     /* carries an Authenticode signature (a Certificate Table) */
        char *skipped;      /* why the stub does not append it (NULL: appended) */
} BootSpecAddon;

typedef struct BootSpecEntry {
        BootSpecEntryType type;
        char *id;           /* systemd-boot's id: file name, boot counter removed ("a-6.1.conf");
                             * GRUB: the BLS id (no ".conf") or the menuentry title */
        char *file_id;      /* the file name without ".conf" and without the counter ("a-6.1") */
        char *path;         /* inside the root; grub.cfg for a menuentry */
        unsigned line;      /* menuentry: its line in grub.cfg */
        char *title;
        char *version;
        char *machine_id;
        char *sort_key;
        char *architecture;
        char *linux_path;
        char *efi;          /* Type #1 "efi": a UKI booted with this entry's options */
        char *options;      /* Type #1 options lines joined, as written ($vars kept) */
        unsigned options_line; /* line of the first options line (0: none) */
        int tries_left;     /* boot counting, -1 without a counter */
        int tries_done;
        char *uki_cmdline;  /* Type #2 (or the "efi" image of a Type #1): .cmdline, whole */
        char *uki_uname;
        bool uki_linux;     /* the "efi" image of a Type #1 has a .linux section: systemd-stub runs it */
        unsigned uki_stub_version; /* the UKI's systemd-stub release (its .sdmagic), 0 when unknown */
        char *uki_image;    /* then: that image, and the partition it is loaded from (inside the root) */
        char *uki_partition;
        char **addons;      /* Type #2, and a Type #1 whose "efi" is a UKI: add-ons found, inside the root,
                             * in the stub's order: global (loader/addons/ of the UKI's partition), then
                             * NAME.efi.extra.d/; skipped ones too */
        BootSpecAddon *addon_list; /* the same, with what the stub does with each */
        size_t n_addon_list;
        char *grub_id;      /* menuentry: $menuentry_id_option */
        char *grub_path;    /* menuentry: "1>0", where it sits in the menu */
        char *cmdline;      /* effective: what the kernel gets */
        const char *cmdline_source; /* static: which rule made it */
        bool has_menu_key;  /* sort_menu(): menu_key is the version's number where they first differ */
        uint64_t menu_key;
} BootSpecEntry;

typedef struct BootSpec {
        char *esp;                  /* inside the root, NULL when none */
        char *xbootldr;
        char *loader_conf;          /* read from the ESP only, as systemd-boot does */
        char *default_pattern;      /* loader.conf "default" */
        unsigned default_pattern_line;
        char *timeout;
        char *efi_oneshot;          /* LoaderEntryOneShot */
        char *efi_default;          /* LoaderEntryDefault */
        char *efi_selected;         /* LoaderEntrySelected: the entry this boot came from */
        char *efi_last_booted;      /* LoaderEntryLastBooted: loader.conf "default @saved" */
        char *grubenv;              /* path of the GRUB environment block */
        char *grubenv_text;
        char *saved_entry, *next_entry;
        char *grub_cfg;             /* where GRUB reads its menu from */
        char *grub_cfg_default;     /* grub.cfg's own `set default=` (the generated one) */
        char *grub_default;         /* GRUB_DEFAULT of the defaults and drop-ins, sourcing order */
        char *grub_cmdline_linux;   /* GRUB_CMDLINE_LINUX after sourcing them all (NULL: unset or unreadable) */
        char *grub_cmdline_linux_default;
        bool grub_defaults_refused; /* a file the lexer refused (named in its error): values unknown */
        char *grub_default_path;
        unsigned grub_default_line;
        char *kernel_cmdline;       /* /etc/kernel/cmdline, whole, whitespace folded */
        bool secure_boot;           /* the firmware enforces Secure Boot (bootspec_secure_boot_enabled()) */
        bool ostree;                /* boot/loader managed by ostree/bootc */
        char *ostree_why;
        BootSpecLoader loader;
        BootSpecEntry *entries;     /* in the boot loader's menu order */
        size_t n_entries;
        size_t default_entry;       /* SIZE_MAX when none */
        const char *default_source;
        size_t next_entry_index;    /* SIZE_MAX when none */
        const char *next_source;
} BootSpec;

/* Reads everything under root. Unreadable or malformed files are skipped with a warning naming
 * them (the loader skips them too); only -ENOMEM is returned. */
int bootspec_load(const Root *root, BootSpec *ret);
void bootspec_done(BootSpec *b);

/* Whether the firmware verifies the images it loads: systemd's secure_boot_enabled()
 * (src/boot/efi/secure-boot.c, decode_secure_boot_mode()): SecureBoot is 1 and neither SetupMode
 * nor AuditMode is 1 (user or deployed mode). EFI variables are the files of
 * ROOT/sys/firmware/efi/efivars; a missing variable reads as 0. */
bool bootspec_secure_boot_enabled(const Root *root);

/* The first systemd-stub that loads command-line add-ons (NEWS of systemd 254). */
#define BOOTSPEC_STUB_ADDONS_SINCE 254

/* systemd-stub's global add-ons (254 and later), on the partition the UKI was loaded from. */
#define BOOTSPEC_GLOBAL_ADDONS_DIR "loader/addons"

/* Appends part/loader/addons/ *.addon.efi (paths inside the root, sorted by name, as the stub
 * loads them) to *l. Nothing when the directory is missing; only -ENOMEM is returned. */
int bootspec_list_addons(const Root *root, const char *part, char ***l);

/* Where GRUB reads its menu from (inside the root): an older RHEL-like EFI install's
 * EFI/<vendor>/grub.cfg on the ESP unless it is a stub ("configfile"), else /boot/grub2/grub.cfg,
 * else /boot/grub/grub.cfg. 0 (and NULL) when there is none. status and apply use this one answer. */
int bootspec_find_grub_cfg(const Root *root, char **ret);

/* /etc/default/grub, then /etc/default/grub.d/ *.cfg in bytewise order: grub-mkconfig's sourcing order. */
int bootspec_grub_defaults_files(const Root *root, char ***ret);

/* ---- pure parts, unit-tested and fuzzed ---- */

/* systemd's strverscmp_improved(): '~' older, '-' and '^' separators, numbers numeric. */
int bootspec_strverscmp(const char *a, const char *b);
/* rpm's rpmvercmp(): 4.18.0-193.1.2.el8_2 is newer than 4.18.0-193.el8. */
int bootspec_rpmvercmp(const char *a, const char *b);
/* "a-6.5+0-3.conf" -> "a-6.5.conf", 0, 3; no counter: the name, -1, -1. suffix ".conf" or ".efi",
 * matched case-insensitively. -EINVAL when name does not end in suffix. */
int bootspec_extract_tries(const char *name, const char *suffix, char **ret_stripped, int *ret_left, int *ret_done);
/* systemd-boot's (and bootctl's) order: no tries left last, sort-key entries first by sort-key,
 * machine-id, version (newest first), then ids newest first. */
int bootspec_entry_compare(const BootSpecEntry *a, const BootSpecEntry *b);
/* blscfg's and grubby's: the BLS id split into name-version-release, compared with rpmvercmp,
 * newest first. */
int bootspec_blscfg_compare(const char *id_a, const char *id_b);

/* loader.conf: default (glob), timeout. path for messages. */
int bootspec_parse_loader_conf(const char *path, const char *text, char **ret_default, unsigned *ret_default_line,
                               char **ret_timeout);
/* One Type #1 entry's text into e (keys; options lines joined by a space). */
int bootspec_parse_type1(const char *path, const char *text, BootSpecEntry *e);
/* An EFI variable file (4 bytes of attributes, UTF-16LE, optional NUL) as a string; characters
 * outside printable ASCII become '?'. -EBADMSG when shorter than the attributes. */
int bootspec_decode_efi_string(const uint8_t *data, size_t size, char **ret);
/* UTF-16LE without the attribute bytes (what libefivar returns). */
char *efi_utf16le_to_ascii(const uint8_t *data, size_t size);

/* PE sections of a UKI read through pread-like callback. ret_* may be NULL; missing sections
 * leave NULL. -EBADMSG for a broken image. */
typedef int (*bootspec_pread_t)(void *userdata, void *buf, size_t n, uint64_t offset);
int bootspec_pe_sections(bootspec_pread_t r, void *userdata, char **ret_cmdline, char **ret_osrel, char **ret_uname);
/* The same for a regular file inside the root (a UKI, an add-on). */
int bootspec_read_pe(const Root *root, const char *path, char **ret_cmdline, char **ret_osrel, char **ret_uname);
/* What systemd-stub's load_addons() looks at in a PE image (an add-on or a UKI). */
typedef struct BootSpecPE {
        char *cmdline, *osrel, *uname; /* NULL when missing */
        size_t uname_size;  /* the .uname section's size: the stub compares that many bytes */
        bool has_linux;     /* a .linux section: a UKI, which the stub refuses as an add-on */
        bool has_dtb;       /* a .dtb section (a devicetree add-on) */
        bool is_signed;     /* a non-empty Certificate Table (what sbsign writes) */
        unsigned stub_version; /* .sdmagic "#### LoaderInfo: systemd-stub 257.13-1 ####": 257; 0 unknown */
} BootSpecPE;
void bootspec_pe_done(BootSpecPE *pe);
int bootspec_pe_read(bootspec_pread_t rd, void *userdata, BootSpecPE *ret);
int bootspec_pe_read_buffer(const uint8_t *data, size_t size, BootSpecPE *ret);
/* Why systemd-stub does not append the add-on pe to the line of a UKI whose .uname is uki_uname
 * (NULL: none), under Secure Boot or not: *ret is the reason, NULL when the stub appends it. Pure. */
int bootspec_addon_skip_reason(bool secure_boot, const char *uki_uname, const BootSpecPE *pe, char **ret);
/* The same over a buffer (tests, fuzzing). */
int bootspec_pe_sections_buffer(const uint8_t *data, size_t size, char **ret_cmdline, char **ret_osrel, char **ret_uname);

typedef struct GrubMenuItem {
        char *title;
        char *id;           /* $menuentry_id_option or --id */
        char *options;      /* arguments of the linux line after the kernel; NULL for a submenu */
        bool submenu;
        bool blscfg;        /* the blscfg command: BLS entries go here */
        unsigned line;
        size_t parent;      /* the enclosing submenu's index, SIZE_MAX at the top */
        unsigned index;     /* among its siblings */
} GrubMenuItem;

typedef struct GrubMenu {
        GrubMenuItem *items;
        size_t n_items;
        char *set_default;  /* the last `set default=` outside the next_entry branch */
} GrubMenu;

int bootspec_parse_grub_cfg(const char *text, GrubMenu *ret);
void grub_menu_done(GrubMenu *m);
/* GRUB's rules for a default: "2", "1>0", a title, an id, "Submenu>Title", each component at
 * its own level. The index of a bootable item, or -ENOENT. */
int bootspec_grub_resolve(const GrubMenu *m, const char *spec, size_t *ret);


/* systemd-boot's pattern match: fnmatch(), case-insensitively (efi_fnmatch). */
bool bootspec_id_matches(const char *pattern, const char *id);

/* The index of the Type #1 entry whose file (without ".conf", counter kept) is file_stem, or
 * SIZE_MAX. */
size_t bootspec_find_type1_file(const BootSpec *b, const char *file_stem);
