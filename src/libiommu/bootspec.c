/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot-bls.h"
#include "boot-grub.h"
#include "boot-kernel-cmdline.h"
#include "bootspec.h"
#include "fileio.h"
#include "log.h"
#include "sort-util.h"
#include "strv.h"

#define BOOTSPEC_FILE_MAX (4U * 1024U * 1024U)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static const char * const type_names[_BOOTSPEC_TYPE_MAX] = {
        [BOOTSPEC_TYPE1] = "type1",
        [BOOTSPEC_TYPE2] = "type2",
        [BOOTSPEC_GRUB_MENU] = "grub",
};

const char *bootspec_entry_type_to_string(BootSpecEntryType t) {
        return STRING_TABLE_TO_STRING(type_names, t);
}

static const char * const loader_names[_BOOTSPEC_LOADER_MAX] = {
        [BOOTSPEC_LOADER_NONE] = "none",
        [BOOTSPEC_LOADER_SYSTEMD_BOOT] = "systemd-boot",
        [BOOTSPEC_LOADER_GRUB_BLSCFG] = "grub-blscfg",
        [BOOTSPEC_LOADER_GRUB] = "grub",
};

const char *bootspec_loader_to_string(BootSpecLoader l) {
        return STRING_TABLE_TO_STRING(loader_names, l);
}

/* ---- version comparison ---- */

/* ASCII only, as systemd's strverscmp_improved() (ascii_isdigit(), ascii_isalpha()): the same
 * order whatever the locale, and no ctype call per character. */
static bool version_isdigit(char c) {
        return c >= '0' && c <= '9';
}

static bool version_isalpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_valid_version_char(char c) {
        return version_isdigit(c) || version_isalpha(c) || c == '~' || c == '-' || c == '^' || c == '.';
}

/* Where the comparison of two versions that share their first d characters may restart: the
 * last end of a run of digits or letters before d (0: none). Nothing is decided in a shared
 * prefix (each step of version_compare_from() compares equal characters there), and where such
 * a run ends, both strings go on with its loop from the top. */
static size_t version_restart(const char *a, size_t d) {
        size_t p;

        for (p = d > 0 ? d - 1 : 0; p > 0; p--)
                if ((version_isdigit(a[p - 1]) && !version_isdigit(a[p])) ||
                    (version_isalpha(a[p - 1]) && !version_isalpha(a[p])))
                        break;
        return p;
}

static int version_compare_from(const char *a, const char *b) {
        const char *aa, *bb;
        int r;

        for (;;) {
                while (*a && !is_valid_version_char(*a))
                        a++;
                while (*b && !is_valid_version_char(*b))
                        b++;
                if (*a == '~' || *b == '~') {
                        r = CMP(*a != '~', *b != '~');
                        if (r != 0)
                                return r;
                        a++;
                        b++;
                }
                if (*a == '\0' || *b == '\0')
                        return CMP(strcmp(a, b), 0);
                if (*a == '-' || *b == '-') {
                        r = CMP(*a != '-', *b != '-');
                        if (r != 0)
                                return r;
                        a++;
                        b++;
                }
                if (*a == '^' || *b == '^') {
                        r = CMP(*a != '^', *b != '^');
                        if (r != 0)
                                return r;
                        a++;
                        b++;
                }
                if (*a == '.' || *b == '.') {
                        r = CMP(*a != '.', *b != '.');
                        if (r != 0)
                                return r;
                        a++;
                        b++;
                }
                if (version_isdigit(*a) || version_isdigit(*b)) {
                        for (aa = a; version_isdigit(*aa); aa++)
                                ;
                        for (bb = b; version_isdigit(*bb); bb++)
                                ;
                        r = CMP(a != aa, b != bb);
                        if (r != 0)
                                return r;
                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        r = CMP(aa - a, bb - b);
                        if (r != 0)
                                return r;
                        r = strncmp(a, b, aa - a);
                        if (r != 0)
                                return CMP(r, 0);
                } else {
                        for (aa = a; version_isalpha(*aa); aa++)
                                ;
                        for (bb = b; version_isalpha(*bb); bb++)
                                ;
                        r = strncmp(a, b, MIN(aa - a, bb - b));
                        if (r != 0)
                                return CMP(r, 0);
                        r = CMP(aa - a, bb - b);
                        if (r != 0)
                                return r;
                }
                a = aa;
                b = bb;
        }
}

int bootspec_strverscmp(const char *a, const char *b) {
        size_t d = 0, p;

        if (isempty(a) || isempty(b))
                return CMP(strcmp(a ?: "", b ?: ""), 0);
        /* From the last run end before the first difference ("-1999-amd64" and "-1000-amd64" of
         * "6.1.0-1999-amd64" and "6.1.0-1000-amd64"): a distribution's versions share most of it. */
        while (a[d] && a[d] == b[d])
                d++;
        p = version_restart(a, d);
        return version_compare_from(a + p, b + p);
}

int bootspec_rpmvercmp(const char *a, const char *b) {
        const char *one = a, *two = b;

        if (streq(a, b))
                return 0;
        while (*one || *two) {
                const char *e1, *e2;
                size_t l1, l2;
                bool isnum;
                int rc;

                while (*one && !isalnum((unsigned char) *one) && *one != '~' && *one != '^')
                        one++;
                while (*two && !isalnum((unsigned char) *two) && *two != '~' && *two != '^')
                        two++;
                if (*one == '~' || *two == '~') {
                        if (*one != '~')
                                return 1;
                        if (*two != '~')
                                return -1;
                        one++;
                        two++;
                        continue;
                }
                if (*one == '^' || *two == '^') {
                        if (!*one)
                                return -1;
                        if (!*two)
                                return 1;
                        if (*one != '^')
                                return 1;
                        if (*two != '^')
                                return -1;
                        one++;
                        two++;
                        continue;
                }
                if (!(*one && *two))
                        break;
                e1 = one;
                e2 = two;
                isnum = isdigit((unsigned char) *e1);
                if (isnum) {
                        while (isdigit((unsigned char) *e1))
                                e1++;
                        while (isdigit((unsigned char) *e2))
                                e2++;
                } else {
                        while (isalpha((unsigned char) *e1))
                                e1++;
                        while (isalpha((unsigned char) *e2))
                                e2++;
                }
                if (one == e1)
                        return -1; /* rpm: arbitrary */
                if (two == e2)
                        return isnum ? 1 : -1;
                if (isnum) {
                        while (*one == '0' && one < e1)
                                one++;
                        while (*two == '0' && two < e2)
                                two++;
                        if (e1 - one > e2 - two)
                                return 1;
                        if (e2 - two > e1 - one)
                                return -1;
                }
                l1 = e1 - one;
                l2 = e2 - two;
                rc = strncmp(one, two, MIN(l1, l2));
                if (rc == 0)
                        rc = CMP(l1, l2);
                if (rc)
                        return rc < 0 ? -1 : 1;
                one = e1;
                two = e2;
        }
        if (!*one && !*two)
                return 0;
        return !*one ? -1 : 1;
}

/* ---- names ---- */

static const char *endswith_no_case(const char *s, const char *suffix) {
        size_t l = strlen(s), k = strlen(suffix);

        if (l < k || strcasecmp(s + l - k, suffix) != 0)
                return NULL;
        return s + l - k;
}

static bool parse_uint_span(const char *s, size_t n, int *ret) {
        int v = 0;

        if (n == 0 || n > 6)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

int bootspec_extract_tries(const char *name, const char *suffix, char **ret_stripped, int *ret_left, int *ret_done) {
        const char *end = endswith_no_case(name, suffix), *plus = NULL, *dash;
        int left = -1, done = -1;
        char *s;

        if (!end)
                return -EINVAL;
        for (const char *p = name; p < end; p++)
                if (*p == '+')
                        plus = p;
        if (plus) {
                dash = memchr(plus, '-', end - plus);
                if (parse_uint_span(plus + 1, (dash ?: end) - plus - 1, &left) &&
                    (!dash || parse_uint_span(dash + 1, end - dash - 1, &done)))
                        done = dash ? done : -1;
                else {
                        left = done = -1;
                        plus = NULL;
                }
        }
        /* The name without the counter: what precedes it, then the suffix as written. */
        s = malloc((plus ?: end) - name + strlen(end) + 1);
        if (!s)
                return -ENOMEM;
        strcpy(mempcpy(s, name, (plus ?: end) - name), end);
        *ret_stripped = s;
        *ret_left = left;
        *ret_done = done;
        return 0;
}

bool bootspec_id_matches(const char *pattern, const char *id) {
        return pattern && id && fnmatch(pattern, id, FNM_CASEFOLD) == 0;
}

int bootspec_entry_compare(const BootSpecEntry *a, const BootSpecEntry *b) {
        int r;

        r = CMP(a->tries_left == 0, b->tries_left == 0);
        if (r != 0)
                return r;
        r = CMP(!a->sort_key, !b->sort_key);
        if (r != 0)
                return r;
        if (a->sort_key && b->sort_key) {
                r = CMP(strcmp(a->sort_key, b->sort_key), 0);
                if (r != 0)
                        return r;
                r = CMP(strcmp(a->machine_id ?: "", b->machine_id ?: ""), 0);
                if (r != 0)
                        return r;
                r = -bootspec_strverscmp(a->version, b->version);
                if (r != 0)
                        return r;
        }
        return -bootspec_strverscmp(a->id, b->id);
}

/* "name-version-release": the last two '-' split, as rpm-sort and blscfg's split_package_string do. */
static void split_nvr(const char *id, char **n, char **v, char **r) {
        const char *d2 = strrchr(id, '-'), *d1 = NULL;

        for (const char *p = id; d2 && p < d2; p++)
                if (*p == '-')
                        d1 = p;
        if (!d2 || !d1) {
                *n = strdup(id);
                *v = strdup("");
                *r = strdup("");
                return;
        }
        *n = strndup(id, d1 - id);
        *v = strndup(d1 + 1, d2 - d1 - 1);
        *r = strdup(d2 + 1);
}

int bootspec_blscfg_compare(const char *id_a, const char *id_b) {
        _cleanup_free_ char *na = NULL, *va = NULL, *ra = NULL, *nb = NULL, *vb = NULL, *rb = NULL;
        int r;

        split_nvr(id_a, &na, &va, &ra);
        split_nvr(id_b, &nb, &vb, &rb);
        if (!na || !va || !ra || !nb || !vb || !rb)
                return CMP(strcmp(id_a, id_b), 0);
        r = bootspec_rpmvercmp(na, nb);
        if (r == 0)
                r = bootspec_rpmvercmp(va, vb);
        if (r == 0)
                r = bootspec_rpmvercmp(ra, rb);
        return -r; /* newest first */
}

/* ---- key/value files ---- */

/* Calls f for each "key value" line: key, value (whitespace stripped), line number. */
typedef int (*kv_func)(void *userdata, const char *key, const char *value, unsigned line);

static int parse_kv(const char *text, kv_func f, void *userdata) {
        _cleanup_free_ char *copy = strdup(text);
        unsigned lineno = 0;

        if (!copy)
                return -ENOMEM;
        /* Each line cut out of one copy of the text, in place. */
        for (char *p = copy; p && *p;) {
                char *nl = strchr(p, '\n'), *line = p, *s, *k;
                int r;

                lineno++;
                if (nl)
                        *nl = '\0';
                p = nl ? nl + 1 : NULL;
                s = strstrip(line);
                if (*s == '#' || *s == '\0')
                        continue;
                k = s;
                s += strcspn(s, " \t");
                if (*s)
                        *s++ = '\0';
                r = f(userdata, k, strstrip(s), lineno);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct LoaderConf {
        char *def, *timeout;
        unsigned def_line;
} LoaderConf;

static int loader_conf_kv(void *userdata, const char *key, const char *value, unsigned line) {
        LoaderConf *c = userdata;

        if (streq(key, "default")) {
                c->def_line = line;
                return free_and_strdup(&c->def, value);
        }
        if (streq(key, "timeout"))
                return free_and_strdup(&c->timeout, value);
        return 0;
}

int bootspec_parse_loader_conf(const char *path, const char *text, char **ret_default, unsigned *ret_default_line,
                               char **ret_timeout) {
        LoaderConf c = {};
        int r;

        (void) path;
        r = parse_kv(text, loader_conf_kv, &c);
        if (r < 0) {
                free(c.def);
                free(c.timeout);
                return r;
        }
        *ret_default = c.def;
        *ret_default_line = c.def_line;
        *ret_timeout = c.timeout;
        return 0;
}

static int type1_kv(void *userdata, const char *key, const char *value, unsigned line) {
        BootSpecEntry *e = userdata;

        /* Each key starts with another letter: one comparison per line, not up to eight. */
        switch (key[0]) {
        case 't':
                return streq(key, "title") ? free_and_strdup(&e->title, value) : 0;
        case 'v':
                return streq(key, "version") ? free_and_strdup(&e->version, value) : 0;
        case 'm':
                return streq(key, "machine-id") ? free_and_strdup(&e->machine_id, value) : 0;
        case 's':
                return streq(key, "sort-key") ? free_and_strdup(&e->sort_key, value) : 0;
        case 'a':
                return streq(key, "architecture") ? free_and_strdup(&e->architecture, value) : 0;
        case 'l':
                return streq(key, "linux") ? free_and_strdup(&e->linux_path, value) : 0;
        case 'e':
                return streq(key, "efi") ? free_and_strdup(&e->efi, value) : 0;
        case 'o':
                break;
        default:
                return 0;
        }
        if (streq(key, "options")) {
                char *s;
                if (isempty(value))
                        return 0;
                if (isempty(e->options)) {
                        e->options_line = line;
                        return free_and_strdup(&e->options, value);
                }
                s = malloc(strlen(e->options) + 1 + strlen(value) + 1);
                if (!s)
                        return -ENOMEM;
                strcpy(stpcpy(stpcpy(s, e->options), " "), value);
                free(e->options);
                e->options = s;
        }
        return 0;
}

int bootspec_parse_type1(const char *path, const char *text, BootSpecEntry *e) {
        (void) path;
        return parse_kv(text, type1_kv, e);
}

/* ---- EFI variables ---- */

char *efi_utf16le_to_ascii(const uint8_t *data, size_t size) {
        char *s = malloc(size / 2 + 1), *p = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i + 1 < size; i += 2) {
                unsigned c = data[i] | (unsigned) data[i + 1] << 8;
                if (c == 0)
                        break;
                *p++ = c < 0x7f && c >= 0x20 ? (char) c : '?'; /* DEL is a control byte too */
        }
        *p = '\0';
        return s;
}

int bootspec_decode_efi_string(const uint8_t *data, size_t size, char **ret) {
        char *s;

        if (size < 4)
                return -EBADMSG;
        s = efi_utf16le_to_ascii(data + 4, size - 4);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int read_efi_string(const Root *root, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t n;
        int r;

        *ret = NULL;
        if (asprintf(&path, "/sys/firmware/efi/efivars/%s-%s", name, BOOTSPEC_LOADER_GUID) < 0)
                return -ENOMEM;
        r = read_root_file(root, path, 64 * 1024, &data, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        r = bootspec_decode_efi_string((const uint8_t *) data, n, ret);
        if (r == -EBADMSG) {
                log_warning("Ignoring the EFI variable %s: %zu bytes, shorter than its attributes.", path, n);
                return 0;
        }
        if (r >= 0 && isempty(*ret))
                *ret = mfree(*ret);
        return r;
}

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"

/* A one-byte variable of the global GUID (SecureBoot, SetupMode, AuditMode): its value, 0 when
 * missing or unreadable. */
static unsigned read_efi_global_u8(const Root *root, const char *name) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t n;

        if (asprintf(&path, "/sys/firmware/efi/efivars/%s-" EFI_GLOBAL_GUID, name) < 0)
                return 0;
        if (read_root_file(root, path, 64, &data, &n) < 0 || n < 5)
                return 0;
        return (uint8_t) data[4];
}

bool bootspec_secure_boot_enabled(const Root *root) {
        return read_efi_global_u8(root, "SecureBoot") == 1 && read_efi_global_u8(root, "SetupMode") != 1 &&
               read_efi_global_u8(root, "AuditMode") != 1;
}

/* ---- PE sections of a UKI ---- */

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

void bootspec_pe_done(BootSpecPE *pe) {
        pe->cmdline = mfree(pe->cmdline);
        pe->osrel = mfree(pe->osrel);
        pe->uname = mfree(pe->uname);
}

static bool section_is(const uint8_t sec[static 8], const char *name) {
        return strnlen((const char *) sec, 8) == strlen(name) && memcmp(sec, name, strlen(name)) == 0;
}

/* The Certificate Table (the fifth data directory of the optional header: file offset, size) is
 * what sbsign fills. No directory, or one that cannot be read: not signed. */
static bool pe_signed(bootspec_pread_t rd, void *userdata, uint64_t opt) {
        uint8_t magic[2], count[4], cert[8];
        uint64_t dirs;

        if (rd(userdata, magic, sizeof(magic), opt) < 0)
                return false;
        if (magic[0] == 0x0b && magic[1] == 0x02)      /* PE32+ */
                dirs = opt + 112;
        else if (magic[0] == 0x0b && magic[1] == 0x01) /* PE32 */
                dirs = opt + 96;
        else
                return false;
        if (rd(userdata, count, sizeof(count), dirs - 4) < 0 || le32(count) < 5 ||
            rd(userdata, cert, sizeof(cert), dirs + 4 * 8) < 0)
                return false;
        return le32(cert + 4) > 0;
}

int bootspec_pe_read(bootspec_pread_t rd, void *userdata, BootSpecPE *ret) {
        static const char * const names[] = { ".cmdline", ".osrel", ".uname", ".sdmagic" };
        _cleanup_(bootspec_pe_done) BootSpecPE p = {};
        _cleanup_free_ char *magic = NULL;
        char **out[4] = { &p.cmdline, &p.osrel, &p.uname, &magic };
        uint8_t dos[64], pe[24], sec[40];
        uint32_t off;
        unsigned n_sections, opt_size;
        int r;

        if (rd(userdata, dos, sizeof(dos), 0) < 0 || dos[0] != 'M' || dos[1] != 'Z')
                return -EBADMSG;
        off = le32(dos + 0x3c);
        if (rd(userdata, pe, sizeof(pe), off) < 0 || memcmp(pe, "PE\0\0", 4) != 0)
                return -EBADMSG;
        n_sections = pe[6] | pe[7] << 8;
        opt_size = pe[20] | pe[21] << 8;
        if (n_sections > 96)
                return -EBADMSG;
        p.is_signed = pe_signed(rd, userdata, (uint64_t) off + 24);
        for (unsigned i = 0; i < n_sections; i++) {
                uint32_t size, at, vsize;
                size_t k;
                char *s;

                r = rd(userdata, sec, sizeof(sec), (uint64_t) off + 24 + opt_size + 40 * (uint64_t) i);
                if (r < 0)
                        return -EBADMSG;
                p.has_linux = p.has_linux || section_is(sec, ".linux");
                p.has_dtb = p.has_dtb || section_is(sec, ".dtb");
                for (k = 0; k < ELEMENTSOF(names); k++)
                        if (section_is(sec, names[k]))
                                break;
                if (k == ELEMENTSOF(names) || *out[k])
                        continue;
                vsize = le32(sec + 8);
                size = le32(sec + 16);
                if (vsize > 0 && vsize < size)
                        size = vsize; /* the raw size is padded to the file alignment */
                at = le32(sec + 20);
                if (size > 1024 * 1024)
                        return -EFBIG;
                s = calloc(1, size + 1);
                if (!s)
                        return -ENOMEM;
                *out[k] = s; /* NUL padding ends the string */
                if (rd(userdata, s, size, at) < 0)
                        return -EBADMSG;
                if (k == 2)
                        p.uname_size = size;
        }
        /* systemd-stub's own mark, "#### LoaderInfo: systemd-stub " GIT_VERSION " ####"
         * (src/boot/efi/stub.c): its release tells which add-ons it reads. */
        if (magic) {
                const char *v = strstr(magic, "LoaderInfo: systemd-stub ");
                if (v)
                        p.stub_version = (unsigned) strtoul(v + strlen("LoaderInfo: systemd-stub "), NULL, 10);
        }
        *ret = p;
        p = (BootSpecPE) {};
        return 0;
}

int bootspec_pe_sections(bootspec_pread_t rd, void *userdata, char **ret_cmdline, char **ret_osrel, char **ret_uname) {
        _cleanup_(bootspec_pe_done) BootSpecPE p = {};
        int r;

        r = bootspec_pe_read(rd, userdata, &p);
        if (r < 0)
                return r;
        if (ret_cmdline)
                *ret_cmdline = TAKE_PTR(p.cmdline);
        if (ret_osrel)
                *ret_osrel = TAKE_PTR(p.osrel);
        if (ret_uname)
                *ret_uname = TAKE_PTR(p.uname);
        return 0;
}

typedef struct MemReader {
        const uint8_t *data;
        size_t size;
} MemReader;

static int mem_pread(void *userdata, void *buf, size_t n, uint64_t offset) {
        MemReader *m = userdata;

        if (offset > m->size || n > m->size - offset)
                return -EBADMSG;
        memcpy(buf, m->data + offset, n);
        return 0;
}

int bootspec_pe_read_buffer(const uint8_t *data, size_t size, BootSpecPE *ret) {
        MemReader m = { data, size };
        return bootspec_pe_read(mem_pread, &m, ret);
}

int bootspec_pe_sections_buffer(const uint8_t *data, size_t size, char **ret_cmdline, char **ret_osrel, char **ret_uname) {
        MemReader m = { data, size };
        return bootspec_pe_sections(mem_pread, &m, ret_cmdline, ret_osrel, ret_uname);
}

static int fd_pread(void *userdata, void *buf, size_t n, uint64_t offset) {
        ssize_t k = pread(*(int *) userdata, buf, n, (off_t) offset);
        return k == (ssize_t) n ? 0 : -EBADMSG;
}

/* A PE image inside the root, opened for fd_pread(): a regular file (-EBADFD otherwise). */
static int pe_open(const Root *root, const char *path, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = root_open(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int bootspec_read_pe(const Root *root, const char *path, char **ret_cmdline, char **ret_osrel, char **ret_uname) {
        _cleanup_close_ int fd = -1;
        int r;

        r = pe_open(root, path, &fd);
        if (r < 0)
                return r;
        return bootspec_pe_sections(fd_pread, &fd, ret_cmdline, ret_osrel, ret_uname);
}

static int read_pe_info(const Root *root, const char *path, BootSpecPE *ret) {
        _cleanup_close_ int fd = -1;
        int r;

        r = pe_open(root, path, &fd);
        if (r < 0)
                return r;
        return bootspec_pe_read(fd_pread, &fd, ret);
}

/* The first line of a section, for messages (a .uname usually ends in a newline). */
static int first_line(const char *s) {
        return (int) strcspn(s, "\r\n");
}

/* systemd-stub's load_addons() (src/boot/efi/stub.c; read in a 256/257-era copy, the same checks
 * since the add-on support came in 254), in its order, for each *.addon.efi:
 *   1. shim_load_image() (LoadImage through shim or the firmware): under Secure Boot an image without
 *      a signature is refused ("Failed to read ... ignoring"). We see whether it is signed, not
 *      whether db or shim's MOK list trusts the key: a signed one counts.
 *   2. neither .cmdline nor .dtb: ignored.
 *   3. a .linux section: "is a UKI, not an addon", ignored.
 *   4. both the UKI and the add-on have .uname and !strneq8(uki_uname, addon_uname, addon's size):
 *      ".uname mismatch between ... and UKI, ignoring". strneq8() compares the add-on's section
 *      size of bytes, stopping at a NUL, so an add-on's .uname that is a prefix of the UKI's
 *      matches too. */
int bootspec_addon_skip_reason(bool secure_boot, const char *uki_uname, const BootSpecPE *pe, char **ret) {
        char *r = NULL;

        if (secure_boot && !pe->is_signed)
                r = strdup("not signed: under Secure Boot the firmware (or shim) refuses to load it");
        else if (!pe->cmdline && !pe->has_dtb)
                r = strdup("no .cmdline or .dtb section");
        else if (pe->has_linux)
                r = strdup("a UKI (.linux section), not an add-on");
        else if (uki_uname && pe->uname && pe->uname_size > 0 && strncmp(uki_uname, pe->uname, pe->uname_size) != 0) {
                if (asprintf(&r, ".uname '%.*s' does not match the UKI's '%.*s'", first_line(pe->uname), pe->uname,
                             first_line(uki_uname), uki_uname) < 0)
                        return -ENOMEM;
        } else {
                *ret = NULL;
                return 0;
        }
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

/* os-release value of key (quotes removed), or NULL. */
static char *osrel_get(const char *text, const char *key) {
        size_t kl = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                const char *v;
                size_t l;
                if (!strneq(p, key, kl) || p[kl] != '=')
                        continue;
                v = p + kl + 1;
                l = strcspn(v, "\n");
                if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
                        v++;
                        l -= 2;
                }
                return strndup(v, l);
        }
        return NULL;
}

/* The kernel's and the stub's view of a command line: every run of whitespace (newlines of a
 * multi-line .cmdline or /etc/kernel/cmdline included) is one separator. */
static char *fold_whitespace(const char *s) {
        char *out = malloc(strlen(s ?: "") + 1), *p = out;
        bool space = false;

        if (!out)
                return NULL;
        for (; s && *s; s++) {
                /* isspace() of the C locale iommuctl runs in, without a call per character. */
                if (*s == ' ' || (*s >= '\t' && *s <= '\r')) {
                        space = p != out;
                        continue;
                }
                if (space)
                        *p++ = ' ';
                space = false;
                *p++ = *s;
        }
        *p = '\0';
        return out;
}

/* ---- grub.cfg ---- */

void grub_menu_done(GrubMenu *m) {
        for (size_t i = 0; i < m->n_items; i++) {
                free(m->items[i].title);
                free(m->items[i].id);
                free(m->items[i].options);
        }
        free(m->items);
        free(m->set_default);
        *m = (GrubMenu) {};
}

/* One shell-like word of a grub.cfg line at *p (quotes removed); advances *p. NULL at the end. */
static char *grub_word(const char **p) {
        const char *s = *p + strspn(*p, " \t");
        char *out = malloc(strlen(s) + 1);
        size_t n = 0;
        char q = 0;

        if (!out)
                return NULL;
        for (; *s; s++) {
                if (q) {
                        if (*s == q)
                                q = 0;
                        else if (q == '"' && *s == '\\' && s[1])
                                out[n++] = *++s;
                        else
                                out[n++] = *s;
                        continue;
                }
                if (*s == ' ' || *s == '\t' || *s == '{')
                        break;
                if (*s == '\'' || *s == '"')
                        q = *s;
                else if (*s == '\\' && s[1])
                        out[n++] = *++s;
                else
                        out[n++] = *s;
        }
        *p = s;
        if (n == 0 && !q && (*s == '\0' || *s == '{')) {
                free(out);
                return NULL;
        }
        out[n] = '\0';
        return out;
}

static char *linux_args(const char *rest) {
        _cleanup_free_ char *kernel = NULL;
        _cleanup_strv_free_ char **words = NULL;
        const char *p = rest;
        char *w;

        kernel = grub_word(&p);
        if (!kernel)
                return strdup("");
        while ((w = grub_word(&p)))
                if (strv_consume(&words, w) < 0)
                        return NULL;
        return words ? strv_join(words, " ") : strdup("");
}

static bool opens_block(const char *s) {
        size_t l = strlen(s);

        while (l > 0 && isspace((unsigned char) s[l - 1]))
                l--;
        return l > 0 && s[l - 1] == '{' && s[0] != '#';
}

static int menu_add(GrubMenu *m, GrubMenuItem it) {
        GrubMenuItem *t = reallocarray(m->items, m->n_items + 1, sizeof(GrubMenuItem));

        if (!t)
                return -ENOMEM;
        m->items = t;
        m->items[m->n_items++] = it;
        return 0;
}

int bootspec_parse_grub_cfg(const char *text, GrubMenu *ret) {
        _cleanup_(grub_menu_done) GrubMenu m = {};
        /* The menu nesting: for each open block, the submenu item it opened (SIZE_MAX for other blocks). */
        size_t stack[64];
        unsigned depth = 0, lineno = 0, next_entry_if = 0;
        size_t cur_entry = SIZE_MAX;
        int r;

        for (const char *p = text ?: ""; *p;) {
                const char *nl = strchr(p, '\n');
                _cleanup_free_ char *line = strndup(p, nl ? (size_t) (nl - p) : strlen(p));
                const char *s, *q;
                size_t parent = SIZE_MAX;

                lineno++;
                p = nl ? nl + 1 : p + strlen(p);
                if (!line)
                        return -ENOMEM;
                s = line + strspn(line, " \t");
                for (unsigned d = depth; d > 0; d--)
                        if (stack[d - 1] != SIZE_MAX && m.items[stack[d - 1]].submenu) {
                                parent = stack[d - 1];
                                break;
                        }
                if (startswith(s, "menuentry ") || startswith(s, "submenu ") || startswith(s, "menuentry\t") ||
                    startswith(s, "submenu\t")) {
                        bool sub = startswith(s, "submenu");
                        GrubMenuItem it = { .submenu = sub, .line = lineno, .parent = parent };
                        char *w;

                        q = s + (sub ? strlen("submenu") : strlen("menuentry"));
                        it.title = grub_word(&q);
                        if (!it.title)
                                continue;
                        while ((w = grub_word(&q))) {
                                if (streq(w, "$menuentry_id_option") || streq(w, "--id")) {
                                        free(w);
                                        free(it.id);
                                        it.id = grub_word(&q);
                                } else if (startswith(w, "--id=")) {
                                        free(it.id);
                                        it.id = strdup(w + 5);
                                        free(w);
                                } else
                                        free(w);
                        }
                        /* Index among siblings: count earlier items with the same parent. */
                        for (size_t i = 0; i < m.n_items; i++)
                                if (m.items[i].parent == parent)
                                        it.index++;
                        r = menu_add(&m, it);
                        if (r < 0) {
                                free(it.title);
                                free(it.id);
                                return r;
                        }
                        if (opens_block(s) && depth < ELEMENTSOF(stack)) {
                                stack[depth++] = m.n_items - 1;
                                if (!sub)
                                        cur_entry = m.n_items - 1;
                        }
                        continue;
                }
                if (cur_entry != SIZE_MAX && !m.items[cur_entry].options &&
                    ((q = startswith(s, "linux ")) || (q = startswith(s, "linux16 ")) || (q = startswith(s, "linuxefi ")) ||
                     (q = startswith(s, "linux\t")))) {
                        m.items[cur_entry].options = linux_args(q);
                        if (!m.items[cur_entry].options)
                                return -ENOMEM;
                        continue;
                }
                if (streq(s, "blscfg") || startswith(s, "blscfg ")) {
                        GrubMenuItem it = { .blscfg = true, .line = lineno, .parent = parent };
                        for (size_t i = 0; i < m.n_items; i++)
                                if (m.items[i].parent == parent)
                                        it.index++;
                        r = menu_add(&m, it);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (startswith(s, "if ") && strstr(s, "next_entry"))
                        next_entry_if = depth + 1;
                if (startswith(s, "else") && next_entry_if == depth + 1)
                        next_entry_if = 0;
                if (startswith(s, "fi") && next_entry_if == depth + 1)
                        next_entry_if = 0;
                if (depth == 0 && next_entry_if == 0 && (q = startswith(s, "set default="))) {
                        _cleanup_free_ char *v = NULL;
                        const char *qq = q;
                        v = grub_word(&qq);
                        free(m.set_default);
                        m.set_default = v ? TAKE_PTR(v) : strdup("");
                        if (!m.set_default)
                                return -ENOMEM;
                }
                if (opens_block(s) && depth < ELEMENTSOF(stack))
                        stack[depth++] = SIZE_MAX;
                if (s[0] == '}' && depth > 0) {
                        depth--;
                        if (stack[depth] == cur_entry)
                                cur_entry = SIZE_MAX;
                }
        }
        *ret = m;
        m = (GrubMenu) {};
        return 0;
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

int bootspec_grub_resolve(const GrubMenu *m, const char *spec, size_t *ret) {
        size_t parent = SIZE_MAX, found = SIZE_MAX;

        if (isempty(spec))
                return -ENOENT;
        for (const char *p = spec; p;) {
                const char *gt = strchr(p, '>');
                size_t n = gt ? (size_t) (gt - p) : strlen(p);
                bool num = all_digits(p, n);
                unsigned idx = 0;

                if (num) {
                        if (n > 6)
                                return -ENOENT;
                        for (size_t i = 0; i < n; i++)
                                idx = idx * 10 + (unsigned) (p[i] - '0');
                }
                found = SIZE_MAX;
                for (size_t i = 0; i < m->n_items && found == SIZE_MAX; i++) {
                        const GrubMenuItem *it = &m->items[i];
                        if (it->parent != parent || it->blscfg)
                                continue;
                        if (num ? it->index == idx
                                : ((it->title && strlen(it->title) == n && strneq(it->title, p, n)) ||
                                   (it->id && strlen(it->id) == n && strneq(it->id, p, n))))
                                found = i;
                }
                if (found == SIZE_MAX)
                        return -ENOENT;
                p = gt ? gt + 1 : NULL;
                if (p && !m->items[found].submenu)
                        return -ENOENT;
                parent = found;
        }
        if (m->items[found].submenu)
                return -ENOENT;
        *ret = found;
        return 0;
}

/* ---- loading the root ---- */

static void entry_done(BootSpecEntry *e) {
        free(e->id);
        free(e->file_id);
        free(e->path);
        free(e->title);
        free(e->version);
        free(e->machine_id);
        free(e->sort_key);
        free(e->architecture);
        free(e->linux_path);
        free(e->efi);
        free(e->options);
        free(e->uki_cmdline);
        free(e->uki_uname);
        free(e->uki_image);
        free(e->uki_partition);
        strv_free(e->addons);
        for (size_t i = 0; i < e->n_addon_list; i++) {
                free(e->addon_list[i].path);
                free(e->addon_list[i].cmdline);
                free(e->addon_list[i].uname);
                free(e->addon_list[i].skipped);
        }
        free(e->addon_list);
        free(e->grub_id);
        free(e->grub_path);
        free(e->cmdline);
}

void bootspec_done(BootSpec *b) {
        for (size_t i = 0; i < b->n_entries; i++)
                entry_done(&b->entries[i]);
        free(b->entries);
        free(b->esp);
        free(b->xbootldr);
        free(b->loader_conf);
        free(b->default_pattern);
        free(b->timeout);
        free(b->efi_oneshot);
        free(b->efi_default);
        free(b->efi_selected);
        free(b->efi_last_booted);
        free(b->grubenv);
        free(b->grubenv_text);
        free(b->saved_entry);
        free(b->next_entry);
        free(b->grub_cfg);
        free(b->grub_cfg_default);
        free(b->grub_default);
        free(b->grub_default_path);
        free(b->grub_cmdline_linux);
        free(b->grub_cmdline_linux_default);
        free(b->kernel_cmdline);
        free(b->ostree_why);
        *b = (BootSpec) {};
}

/* While loading (the only caller): the array doubles at 16, 32, 64... entries, so that thousands of
 * entries are not copied once per entry. */
static int add_entry(BootSpec *b, BootSpecEntry *e) {
        size_t n = b->n_entries;

        if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
                BootSpecEntry *t = reallocarray(b->entries, n == 0 ? 16 : n * 2, sizeof(BootSpecEntry));

                if (!t) {
                        entry_done(e);
                        return -ENOMEM;
                }
                b->entries = t;
        }
        b->entries[b->n_entries++] = *e;
        *e = (BootSpecEntry) {};
        return 0;
}

/* "a/b" ("/b" for a "/"), joined by hand: once per entry. */
static char *path_join(const char *a, const char *b) {
        size_t la = streq(a, "/") ? 0 : strlen(a), lb = strlen(b);
        char *s = malloc(la + 1 + lb + 1);

        if (!s)
                return NULL;
        memcpy(s, a, la);
        s[la] = '/';
        memcpy(s + la + 1, b, lb + 1);
        return s;
}

static bool is_dir(const Root *root, const char *path) {
        _cleanup_(closedirp) DIR *d = NULL;
        return root_opendir(root, path, &d) >= 0;
}

/* Where systemd looks for the ESP (/efi, /boot, /boot/efi) and XBOOTLDR (/boot). A tree's
 * partitions cannot be checked for their type: the ESP is the first that holds EFI/ (or
 * loader/loader.conf), XBOOTLDR /boot when it is not the ESP and holds loader/ or EFI/Linux. */
static int find_partitions(const Root *root, BootSpec *b) {
        static const char * const esp_dirs[] = { "/efi", "/boot", "/boot/efi" };

        for (size_t i = 0; i < ELEMENTSOF(esp_dirs) && !b->esp; i++) {
                _cleanup_free_ char *efi = path_join(esp_dirs[i], "EFI"), *conf = path_join(esp_dirs[i], "loader/loader.conf");
                if (!efi || !conf)
                        return -ENOMEM;
                if (is_dir(root, efi) || root_exists(root, conf))
                        if (!(b->esp = strdup(esp_dirs[i])))
                                return -ENOMEM;
        }
        if ((!b->esp || !streq(b->esp, "/boot")) && (is_dir(root, "/boot/loader") || is_dir(root, "/boot/EFI/Linux")))
                if (!(b->xbootldr = strdup("/boot")))
                        return -ENOMEM;
        return 0;
}

static int same_dir(const Root *root, const char *a, const char *b) {
        _cleanup_(closedirp) DIR *da = NULL, *db = NULL;
        struct stat sa, sb;

        if (root_opendir(root, a, &da) < 0 || root_opendir(root, b, &db) < 0)
                return false;
        if (fstat(dirfd(da), &sa) < 0 || fstat(dirfd(db), &sb) < 0)
                return false;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int entry_find_addons(const Root *root, const BootSpec *b, BootSpecEntry *e, const char *part, const char *image);

static int load_type1(const Root *root, BootSpec *b, const char *part) {
        _cleanup_free_ char *dir = path_join(part, "loader/entries");
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!dir)
                return -ENOMEM;
        if (root_opendir(root, dir, &d) < 0)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_(entry_done) BootSpecEntry e = { .type = BOOTSPEC_TYPE1 };
                _cleanup_free_ char *text = NULL;
                size_t size;

                if (de->d_name[0] == '.' || !endswith_no_case(de->d_name, ".conf"))
                        continue;
                e.path = path_join(dir, de->d_name);
                if (!e.path)
                        return -ENOMEM;
                r = bootspec_extract_tries(de->d_name, ".conf", &e.id, &e.tries_left, &e.tries_done);
                if (r < 0)
                        return r;
                e.file_id = strndup(e.id, endswith_no_case(e.id, ".conf") - e.id);
                if (!e.file_id)
                        return -ENOMEM;
                /* Relative to the directory listed: one lookup per entry. */
                r = read_root_text_at_and_warn(root, dirfd(d), dir, de->d_name, BOOTSPEC_FILE_MAX, &text, &size);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue; /* named by the warning; the loader skips it too */
                r = bootspec_parse_type1(e.path, text, &e);
                if (r < 0)
                        return r;
                if (e.efi) {
                        _cleanup_free_ char *img = path_join(part, e.efi + (e.efi[0] == '/'));
                        _cleanup_(bootspec_pe_done) BootSpecPE pe = {};
                        if (!img)
                                return -ENOMEM;
                        r = read_pe_info(root, img, &pe);
                        if (r == -ENOMEM)
                                return r;
                        e.uki_cmdline = TAKE_PTR(pe.cmdline);
                        e.uki_uname = TAKE_PTR(pe.uname);
                        e.uki_linux = r >= 0 && pe.has_linux;
                        e.uki_stub_version = pe.stub_version;
                        /* systemd-boot's image_start() loads the image from the entry's partition and
                         * starts it; when it is a UKI, systemd-stub runs and loads the add-ons of that
                         * partition and of the image's NAME.efi.extra.d/, as for a Type #2 entry. */
                        if (e.uki_linux) {
                                e.uki_image = strdup(img);
                                e.uki_partition = strdup(part);
                                if (!e.uki_image || !e.uki_partition)
                                        return -ENOMEM;
                                r = entry_find_addons(root, b, &e, part, img);
                                if (r < 0)
                                        return r;
                        }
                }
                r = add_entry(b, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The *.addon.efi files of dir (case-insensitively, as the stub matches them), sorted by name,
 * appended to *l as paths inside the root. A missing directory adds nothing. */
static int list_addon_dir(const Root *root, const char *dir, char ***l) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (root_opendir(root, dir, &d) < 0)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && endswith_no_case(de->d_name, ".addon.efi") &&
                    strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        (void) strv_sort(names);
        STRV_FOREACH(n, names)
                if (strv_consume(l, path_join(dir, *n)) < 0)
                        return -ENOMEM;
        return 0;
}

int bootspec_list_addons(const Root *root, const char *part, char ***l) {
        _cleanup_free_ char *dir = path_join(part, BOOTSPEC_GLOBAL_ADDONS_DIR);

        if (!dir)
                return -ENOMEM;
        return list_addon_dir(root, dir, l);
}

/* The add-ons systemd-stub looks at for the UKI image (inside the root) on partition part, each with
 * what the stub does with it (bootspec_addon_skip_reason()). The stub's load_all_addons(): the
 * global ones of the partition it was loaded from (its loaded image's device), loader/addons/
 * *.addon.efi, then the image's own NAME.efi.extra.d/ *.addon.efi, each directory sorted by name;
 * the .cmdline of each one it loads is appended in that order. */
static int entry_find_addons(const Root *root, const BootSpec *b, BootSpecEntry *e, const char *part, const char *image) {
        _cleanup_free_ char *extra = NULL;
        size_t n;
        int r;

        r = bootspec_list_addons(root, part, &e->addons);
        if (r < 0)
                return r;
        if (asprintf(&extra, "%s.extra.d", image) < 0)
                return -ENOMEM;
        r = list_addon_dir(root, extra, &e->addons);
        if (r < 0)
                return r;
        n = strv_length(e->addons);
        if (n == 0)
                return 0;
        e->addon_list = calloc(n, sizeof(BootSpecAddon));
        if (!e->addon_list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(bootspec_pe_done) BootSpecPE pe = {};
                BootSpecAddon *a = &e->addon_list[e->n_addon_list++];

                a->path = strdup(e->addons[i]);
                if (!a->path)
                        return -ENOMEM;
                /* Debian 12's systemd-stub (252) reads no add-ons at all. A UKI without the stub's
                 * mark (another stub, or a version we cannot read) is taken to read them. */
                if (e->uki_stub_version > 0 && e->uki_stub_version < BOOTSPEC_STUB_ADDONS_SINCE) {
                        if (asprintf(&a->skipped, "this UKI's systemd-stub %u reads no add-ons (%u and later do)",
                                     e->uki_stub_version, BOOTSPEC_STUB_ADDONS_SINCE) < 0)
                                return -ENOMEM;
                        continue;
                }
                r = read_pe_info(root, a->path, &pe);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        a->skipped = strdup("not a PE image the firmware can load");
                        if (!a->skipped)
                                return -ENOMEM;
                        continue;
                }
                r = bootspec_addon_skip_reason(b->secure_boot, e->uki_uname, &pe, &a->skipped);
                if (r < 0)
                        return r;
                a->is_signed = pe.is_signed;
                a->cmdline = TAKE_PTR(pe.cmdline);
                a->uname = TAKE_PTR(pe.uname);
        }
        return 0;
}

static int load_type2(const Root *root, BootSpec *b, const char *part) {
        _cleanup_free_ char *dir = path_join(part, "EFI/Linux");
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!dir)
                return -ENOMEM;
        if (root_opendir(root, dir, &d) < 0)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_(entry_done) BootSpecEntry e = { .type = BOOTSPEC_TYPE2 };
                _cleanup_free_ char *osrel = NULL, *image_id = NULL, *id = NULL, *pretty = NULL,
                                    *name = NULL, *image_version = NULL, *version = NULL, *version_id = NULL,
                                    *build_id = NULL;

                if (de->d_name[0] == '.' || !endswith_no_case(de->d_name, ".efi"))
                        continue;
                e.path = path_join(dir, de->d_name);
                if (!e.path)
                        return -ENOMEM;
                {
                        _cleanup_(bootspec_pe_done) BootSpecPE pe = {};
                        r = read_pe_info(root, e.path, &pe);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                log_warning_errno(r, "Ignoring %s: not a unified kernel image: %m", e.path);
                                continue;
                        }
                        e.uki_cmdline = TAKE_PTR(pe.cmdline);
                        e.uki_uname = TAKE_PTR(pe.uname);
                        osrel = TAKE_PTR(pe.osrel);
                        e.uki_stub_version = pe.stub_version;
                }
                if (!osrel)
                        continue; /* bootctl and systemd-boot skip a UKI without .osrel */
                r = bootspec_extract_tries(de->d_name, ".efi", &e.id, &e.tries_left, &e.tries_done);
                if (r < 0)
                        return r;
                e.file_id = strdup(e.id);
                pretty = osrel_get(osrel, "PRETTY_NAME");
                image_id = osrel_get(osrel, "IMAGE_ID");
                name = osrel_get(osrel, "NAME");
                id = osrel_get(osrel, "ID");
                image_version = osrel_get(osrel, "IMAGE_VERSION");
                version = osrel_get(osrel, "VERSION");
                version_id = osrel_get(osrel, "VERSION_ID");
                build_id = osrel_get(osrel, "BUILD_ID");
                /* bootspec_pick_name_version_sort_key() */
                e.title = strdup(pretty ?: image_id ?: name ?: id ?: e.id);
                if (image_id || id)
                        e.sort_key = strdup(image_id ?: id);
                if (image_version || version || version_id || build_id)
                        e.version = strdup(image_version ?: version ?: version_id ?: build_id);
                if (!e.file_id || !e.title)
                        return -ENOMEM;
                r = entry_find_addons(root, b, &e, part, e.path);
                if (r < 0)
                        return r;
                r = add_entry(b, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct MenuSort {
        size_t skip;     /* the versions are compared from here on: the restart point of the
                          * prefix all of them share */
        bool same_keys;  /* every entry has the same sort-key and machine-id */
} MenuSort;

/* bootspec_entry_compare(), with what sort_menu() found out about all entries once. */
static int entry_qsort(const void *x, const void *y, void *userdata) {
        const BootSpecEntry *a = x, *b = y;
        const MenuSort *m = userdata;
        size_t skip = m->skip;
        int r;

        if (skip == 0)
                return bootspec_entry_compare(a, b);
        r = CMP(a->tries_left == 0, b->tries_left == 0);
        if (r != 0)
                return r;
        r = CMP(!a->sort_key, !b->sort_key);
        if (r != 0)
                return r;
        if (a->sort_key && b->sort_key) {
                r = m->same_keys ? 0 : CMP(strcmp(a->sort_key, b->sort_key), 0);
                if (r != 0)
                        return r;
                r = m->same_keys ? 0 : CMP(strcmp(a->machine_id ?: "", b->machine_id ?: ""), 0);
                if (r != 0)
                        return r;
                /* Equal before the run of digits the keys were read from, so different keys decide
                 * there (strverscmp_improved() compares such runs by value). */
                if (a->has_menu_key && b->has_menu_key && a->menu_key != b->menu_key)
                        return a->menu_key < b->menu_key ? 1 : -1;
                r = -version_compare_from(a->version + skip, b->version + skip);
                if (r != 0)
                        return r;
        }
        return -bootspec_strverscmp(a->id, b->id);
}

/* systemd-boot's menu order. Every version shares a prefix (the distribution's release):
 * measured once, not walked by each of the n log n comparisons. */
static void sort_menu(BootSpecEntry *e, size_t n) {
        MenuSort m = { .same_keys = true };
        size_t common = 0;

        for (size_t i = 0; i < n; i++) {
                if (isempty(e[i].version)) {
                        common = 0;
                        break;
                }
                if (i == 0)
                        common = strlen(e[0].version);
                else {
                        size_t k = 0;
                        while (k < common && e[i].version[k] == e[0].version[k])
                                k++;
                        common = k;
                }
        }
        if (common > 0) {
                size_t p = common;

                m.skip = version_restart(e[0].version, common);
                /* The run of digits the versions first differ in (the kernel's number, usually):
                 * read once per entry, compared as a number. */
                while (p > m.skip && version_isdigit(e[0].version[p - 1]))
                        p--;
                if (m.skip > 0)
                        for (size_t i = 0; i < n; i++)
                                e[i].has_menu_key = digit_run_key(e[i].version, p, &e[i].menu_key);
        }
        /* One distribution's entries carry one sort-key and machine-id: compared once each here. */
        for (size_t i = 1; i < n && m.same_keys; i++)
                m.same_keys = !e[i].sort_key == !e[0].sort_key && (!e[i].sort_key || streq(e[i].sort_key, e[0].sort_key)) &&
                              streq(e[i].machine_id ?: "", e[0].machine_id ?: "");
        qsort_r(e, n, sizeof(BootSpecEntry), entry_qsort, &m);
}

static int blscfg_qsort(const void *a, const void *b) {
        const BootSpecEntry *x = a, *y = b;
        return bootspec_blscfg_compare(x->file_id, y->file_id);
}

static int read_grubenv(const Root *root, BootSpec *b) {
        static const char * const paths[] = { "/boot/grub2/grubenv", "/boot/grub/grubenv" };
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                r = read_root_file(root, paths[i], BOOTSPEC_FILE_MAX, &b->grubenv_text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        return (b->grubenv = strdup(paths[i])) ? 0 : -ENOMEM;
        }
        /* RHEL 8 on EFI: the block sits next to the ESP's grub.cfg. */
        if (root_opendir(root, "/boot/efi/EFI", &d) < 0)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "/boot/efi/EFI/%s/grubenv", de->d_name) < 0)
                        return -ENOMEM;
                r = read_root_file(root, p, BOOTSPEC_FILE_MAX, &b->grubenv_text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        b->grubenv = TAKE_PTR(p);
                        return 0;
                }
        }
        return 0;
}

/* Where GRUB reads its menu: an older RHEL-like EFI install keeps the real grub.cfg on the ESP
 * (EFI/<vendor>/grub.cfg); a newer one keeps a stub there that loads /boot/grub2/grub.cfg
 * ("configfile"). Debian's is /boot/grub/grub.cfg. apply regenerates the same file. */
int bootspec_find_grub_cfg(const Root *root, char **ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        *ret = NULL;
        if (root_opendir(root, "/boot/efi/EFI", &d) >= 0)
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL, *text = NULL;
                        if (de->d_name[0] == '.' || streq(de->d_name, "BOOT"))
                                continue;
                        if (asprintf(&p, "/boot/efi/EFI/%s/grub.cfg", de->d_name) < 0)
                                return -ENOMEM;
                        if (read_root_file(root, p, BOOTSPEC_FILE_MAX, &text, NULL) < 0)
                                continue;
                        if (strstr(text, "configfile"))
                                continue; /* a stub */
                        *ret = TAKE_PTR(p);
                        return 1;
                }
        if (root_exists(root, "/boot/grub2/grub.cfg"))
                *ret = strdup("/boot/grub2/grub.cfg");
        else if (root_exists(root, "/boot/grub/grub.cfg"))
                *ret = strdup("/boot/grub/grub.cfg");
        else
                return 0;
        return *ret ? 1 : -ENOMEM;
}

int bootspec_grub_defaults_files(const Root *root, char ***ret) {
        _cleanup_strv_free_ char **files = NULL, **dropins = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (strv_extend(&files, GRUB_DEFAULTS) < 0)
                return -ENOMEM;
        if (root_opendir(root, GRUB_DROPIN_DIR, &d) >= 0) {
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' && endswith(de->d_name, ".cfg") &&
                            strv_consume(&dropins, path_join(GRUB_DROPIN_DIR, de->d_name)) < 0)
                                return -ENOMEM;
                (void) strv_sort(dropins); /* the shell's glob order in the C locale */
                if (strv_extend_strv(&files, dropins) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(files);
        return 0;
}

/* GRUB_DEFAULT and the command line variables as grub-mkconfig sources them. */
static int read_grub_default(const Root *root, BootSpec *b) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        r = bootspec_grub_defaults_files(root, &files);
        if (r < 0)
                return r;
        STRV_FOREACH(f, files) {
                _cleanup_free_ char *text = NULL, *v = NULL, *disp = NULL;
                unsigned line = 0;
                struct {
                        const char *name;
                        char **value;
                } cmdline[] = {
                        { "GRUB_CMDLINE_LINUX", &b->grub_cmdline_linux },
                        { "GRUB_CMDLINE_LINUX_DEFAULT", &b->grub_cmdline_linux_default },
                };

                r = read_root_text_and_warn(root, *f, BOOTSPEC_FILE_MAX, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                disp = root_display(root, *f);
                if (!disp)
                        return -ENOMEM;
                /* What 10_linux puts on the linux lines, sh's way: "$GRUB_CMDLINE_LINUX x" appends. */
                for (size_t k = 0; k < ELEMENTSOF(cmdline); k++) {
                        _cleanup_free_ char *c = NULL;
                        r = grub_defaults_value(disp, text, cmdline[k].name, *cmdline[k].value, &c, NULL);
                        if (r == -ENOMEM)
                                return r;
                        if (r == -ENOENT)
                                continue;
                        if (r < 0) {
                                b->grub_defaults_refused = true;
                                continue;
                        }
                        free(*cmdline[k].value);
                        *cmdline[k].value = TAKE_PTR(c);
                }
                r = grub_defaults_value(disp, text, "GRUB_DEFAULT", b->grub_default, &v, &line);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                free(b->grub_default);
                b->grub_default = TAKE_PTR(v);
                b->grub_default_line = line;
                if (free_and_strdup(&b->grub_default_path, *f) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* $var and ${var} from the GRUB environment block, as blscfg expands an entry's options. */
static int grub_expand(const char *s, const char *grubenv, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0, cap = strlen(s) + 1;

        out = malloc(cap);
        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                const char *e;
                size_t vl;

                if (*p != '$' || !(isalpha((unsigned char) p[1]) || p[1] == '_' || p[1] == '{')) {
                        out[n++] = *p++;
                        continue;
                }
                if (p[1] == '{') {
                        e = strchr(p + 2, '}');
                        if (!e) {
                                out[n++] = *p++;
                                continue;
                        }
                        name = strndup(p + 2, e - p - 2);
                        p = e + 1;
                } else {
                        for (e = p + 1; isalnum((unsigned char) *e) || *e == '_'; e++)
                                ;
                        name = strndup(p + 1, e - p - 1);
                        p = e;
                }
                if (!name)
                        return -ENOMEM;
                if (grubenv_get(grubenv ?: "", name, &value) == -ENOMEM)
                        return -ENOMEM;
                vl = value ? strlen(value) : 0;
                {
                        char *t = realloc(out, cap + vl);
                        if (!t)
                                return -ENOMEM;
                        out = t;
                        cap += vl;
                }
                if (vl)
                        memcpy(out + n, value, vl);
                n += vl;
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* The .cmdline of each add-on systemd-stub appends, in its order. -ENOMEM only. */
static int append_addons(const BootSpecEntry *e, char ***parts) {
        for (size_t i = 0; i < e->n_addon_list; i++) {
                const BootSpecAddon *a = &e->addon_list[i];
                if (!a->skipped && a->cmdline && strv_extend(parts, a->cmdline) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int effective_cmdlines(const Root *root, BootSpec *b) {
        bool grub = b->loader == BOOTSPEC_LOADER_GRUB_BLSCFG || b->loader == BOOTSPEC_LOADER_GRUB;
        int r;

        for (size_t i = 0; i < b->n_entries; i++) {
                BootSpecEntry *e = &b->entries[i];
                _cleanup_free_ char *raw = NULL;
                const char *src;

                if (e->type == BOOTSPEC_TYPE2) {
                        _cleanup_strv_free_ char **parts = NULL;
                        if (strv_extend(&parts, e->uki_cmdline ?: "") < 0 || append_addons(e, &parts) < 0)
                                return -ENOMEM;
                        raw = strv_join(parts, " ");
                        src = e->addons ? "UKI .cmdline, then global and per-UKI add-ons" : "UKI .cmdline";
                } else if (e->type == BOOTSPEC_TYPE1 && e->efi && e->uki_linux) {
                        /* systemd-boot's image_start() passes the entry's options as the image's
                         * LoadOptions. systemd-stub's use_load_options() takes them unless Secure Boot
                         * is on and the UKI has a .cmdline; then run() appends the add-ons whichever
                         * line it started from (systemd 257, src/boot/efi/stub.c). */
                        _cleanup_strv_free_ char **parts = NULL;
                        bool sb_ignores = e->options && b->secure_boot && !isempty(e->uki_cmdline);
                        bool options = e->options && !sb_ignores;
                        if (strv_extend(&parts, options ? e->options : e->uki_cmdline ?: "") < 0 || append_addons(e, &parts) < 0)
                                return -ENOMEM;
                        raw = strv_join(parts, " ");
                        if (options)
                                src = e->addons ? "options (replace the efi image's .cmdline), then global and per-UKI add-ons"
                                                : "options (replace the efi image's .cmdline)";
                        else if (sb_ignores)
                                src = e->addons ? "the .cmdline of the entry's efi image (Secure Boot: the stub ignores the options), "
                                                  "then global and per-UKI add-ons"
                                                : "the .cmdline of the entry's efi image (Secure Boot: the stub ignores the options)";
                        else
                                src = e->addons ? "the .cmdline of the entry's efi image, then global and per-UKI add-ons"
                                                : "the .cmdline of the entry's efi image";
                } else if (e->type == BOOTSPEC_TYPE1 && e->efi && !e->options) {
                        raw = strdup(e->uki_cmdline ?: "");
                        src = "the .cmdline of the entry's efi image";
                } else if (e->type == BOOTSPEC_TYPE1) {
                        if (grub && e->options && strchr(e->options, '$')) {
                                r = grub_expand(e->options, b->grubenv_text, &raw);
                                if (r < 0)
                                        return r;
                                src = "options, with GRUB environment variables";
                        } else {
                                raw = strdup(e->options ?: "");
                                src = e->efi ? "options (replace the efi image's .cmdline)" : "options";
                        }
                } else {
                        /* GRUB expands variables on the linux line; the block's ones are all we know. */
                        r = grub_expand(e->options ?: "", b->grubenv_text, &raw);
                        if (r < 0)
                                return r;
                        src = "linux line of grub.cfg";
                }
                if (!raw)
                        return -ENOMEM;
                e->cmdline = fold_whitespace(raw);
                if (!e->cmdline)
                        return -ENOMEM;
                e->cmdline_source = src;
        }
        return 0;
}

/* systemd-boot (src/boot/boot.c config_default_entry_select()): LoaderEntryOneShot, then
 * LoaderEntryDefault, then loader.conf's default glob, each the first match in menu order,
 * matched case-insensitively; else the first entry. */
static void select_systemd_boot(BootSpec *b) {
        struct {
                const char *pattern, *source;
                bool oneshot;
        } rules[] = {
                { b->efi_oneshot, "EFI variable LoaderEntryOneShot", true },
                { b->efi_default, "EFI variable LoaderEntryDefault", false },
                /* "@saved": the entry booted last time, as systemd-boot records it. */
                { b->default_pattern && streq(b->default_pattern, "@saved") ? b->efi_last_booted : b->default_pattern,
                  b->default_pattern && streq(b->default_pattern, "@saved") ? "loader.conf default @saved (LoaderEntryLastBooted)"
                                                                             : "loader.conf default", false },
        };

        for (size_t k = 0; k < ELEMENTSOF(rules); k++) {
                if (!rules[k].pattern)
                        continue;
                for (size_t i = 0; i < b->n_entries; i++)
                        if (bootspec_id_matches(rules[k].pattern, b->entries[i].id)) {
                                if (b->next_entry_index == SIZE_MAX) {
                                        b->next_entry_index = i;
                                        b->next_source = rules[k].source;
                                }
                                if (!rules[k].oneshot && b->default_entry == SIZE_MAX) {
                                        b->default_entry = i;
                                        b->default_source = rules[k].source;
                                }
                                break;
                        }
        }
        if (b->n_entries == 0)
                return;
        if (b->default_entry == SIZE_MAX) {
                b->default_entry = 0;
                b->default_source = "the first entry";
        }
        if (b->next_entry_index == SIZE_MAX) {
                b->next_entry_index = b->default_entry;
                b->next_source = b->default_source;
        }
}

/* GRUB: the generated grub.cfg's own `set default=` (or GRUB_DEFAULT when there is none yet);
 * "saved" (${saved_entry}) follows grubenv's saved_entry; next_entry boots once before it. */
static void select_grub(BootSpec *b, const GrubMenu *m) {
        const char *spec = b->grub_cfg_default ?: b->grub_default ?: "0";
        const char *src = b->grub_cfg_default ? "grub.cfg default" : b->grub_default ? "GRUB_DEFAULT" : "GRUB's first entry";
        size_t k;

        if (streq(spec, "saved") || streq(spec, "${saved_entry}") || streq(spec, "$saved_entry")) {
                spec = b->saved_entry ?: "0";
                src = b->saved_entry ? "grubenv saved_entry" : "GRUB's first entry (no saved_entry)";
        }
        if (bootspec_grub_resolve(m, spec, &k) >= 0) {
                b->default_entry = k;
                b->default_source = src;
        } else if (bootspec_grub_resolve(m, "0", &k) >= 0) {
                b->default_entry = k;
                b->default_source = "GRUB's first entry (the default names no entry)";
        }
        if (b->next_entry && bootspec_grub_resolve(m, b->next_entry, &k) >= 0) {
                b->next_entry_index = k;
                b->next_source = "grubenv next_entry";
        } else {
                b->next_entry_index = b->default_entry;
                b->next_source = b->default_source;
        }
}

static int detect_ostree(const Root *root, BootSpec *b) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (root_open(root, "/boot/loader", O_PATH | O_NOFOLLOW, &fd) >= 0 && fstat(fd, &st) >= 0 && S_ISLNK(st.st_mode))
                return (b->ostree = true, b->ostree_why = strdup("/boot/loader is a symlink (ostree's loader.N)")) ? 0 : -ENOMEM;
        for (size_t i = 0; i < b->n_entries; i++)
                if (b->entries[i].type == BOOTSPEC_TYPE1 && b->entries[i].options &&
                    (startswith(b->entries[i].options, "ostree=") || strstr(b->entries[i].options, " ostree="))) {
                        b->ostree = true;
                        return asprintf(&b->ostree_why, "%s:%u has ostree= in its options", b->entries[i].path,
                                        b->entries[i].options_line) < 0 ? -ENOMEM : 0;
                }
        return 0;
}

static bool systemd_boot_installed(const Root *root, const char *esp) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *dir = NULL, *conf = NULL;
        struct dirent *de;

        if (!esp || !(dir = path_join(esp, "EFI/systemd")) || !(conf = path_join(esp, "loader/loader.conf")))
                return false;
        if (root_exists(root, conf))
                return true;
        if (root_opendir(root, dir, &d) < 0)
                return false;
        while ((de = readdir(d)))
                if (startswith(de->d_name, "systemd-boot"))
                        return true;
        return false;
}

static int build_grub_menu(BootSpec *b, GrubMenu *m, BootSpecEntry *bls, size_t n_bls) {
        _cleanup_(grub_menu_done) GrubMenu out = {};
        _cleanup_free_ size_t *map = calloc(m->n_items ?: 1, sizeof(size_t));
        BootSpecEntry *entries = NULL;
        size_t n = 0;
        bool bls_done = false;
        int r = 0;

        if (!map)
                return -ENOMEM;
        /* Expand blscfg into the BLS entries, newest first; every other item keeps its place. */
        for (size_t i = 0; i < m->n_items; i++) {
                GrubMenuItem *it = &m->items[i];
                /* Parents come before their children: map them through the new list. */
                size_t map_parent = it->parent != SIZE_MAX ? map[it->parent] : SIZE_MAX;

                map[i] = out.n_items;
                if (it->blscfg && bls_done)
                        continue; /* the entries are listed once */
                if (it->blscfg) {
                        bls_done = true;
                        for (size_t k = 0; k < n_bls; k++) {
                                GrubMenuItem ni = { .title = strdup(bls[k].title ?: bls[k].file_id), .id = strdup(bls[k].file_id),
                                                    .options = strdup(""), .line = it->line, .parent = map_parent };
                                if (!ni.title || !ni.id || !ni.options || menu_add(&out, ni) < 0) {
                                        free(ni.title);
                                        free(ni.id);
                                        free(ni.options);
                                        r = -ENOMEM;
                                        goto finish;
                                }
                                out.items[out.n_items - 1].blscfg = true;
                                out.items[out.n_items - 1].index = (unsigned) k; /* fixed below */
                        }
                        continue;
                }
                GrubMenuItem ni = { .title = strdup(it->title ?: ""), .id = it->id ? strdup(it->id) : NULL,
                                    .options = it->options ? strdup(it->options) : NULL, .submenu = it->submenu,
                                    .line = it->line, .parent = map_parent };
                if (!ni.title || (it->id && !ni.id) || (it->options && !ni.options) || menu_add(&out, ni) < 0) {
                        free(ni.title);
                        free(ni.id);
                        free(ni.options);
                        r = -ENOMEM;
                        goto finish;
                }
        }
        /* Entries in menu order; sibling indexes recomputed. */
        for (size_t i = 0; i < out.n_items; i++) {
                GrubMenuItem *it = &out.items[i];
                BootSpecEntry e = { .type = BOOTSPEC_GRUB_MENU, .tries_left = -1, .tries_done = -1 };
                size_t bls_k = it->index;

                it->index = 0;
                for (size_t k = 0; k < i; k++)
                        if (out.items[k].parent == it->parent)
                                it->index++;
                if (it->submenu)
                        continue;
                if (!it->blscfg && !it->options)
                        continue; /* no kernel (UEFI Firmware Settings): a menu item, not a boot entry */
                if (it->blscfg) {
                        e = bls[bls_k];
                        bls[bls_k] = (BootSpecEntry) {};
                        it->blscfg = false; /* resolvable now */
                } else {
                        e.id = strdup(it->title);
                        e.title = strdup(it->title);
                        e.path = strdup(b->grub_cfg ?: "");
                        e.options = strdup(it->options ?: "");
                        e.grub_id = it->id ? strdup(it->id) : NULL;
                        e.line = it->line;
                        if (!e.id || !e.title || !e.path || !e.options || (it->id && !e.grub_id)) {
                                entry_done(&e);
                                r = -ENOMEM;
                                goto finish;
                        }
                }
                /* "1>0" */
                {
                        char buf[256] = "";
                        size_t chain[16], nc = 0;
                        for (size_t k = i; k != SIZE_MAX && nc < ELEMENTSOF(chain); k = out.items[k].parent)
                                chain[nc++] = k;
                        for (size_t k = nc; k-- > 0;)
                                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u", k + 1 < nc ? ">" : "",
                                         out.items[chain[k]].index);
                        free(e.grub_path);
                        e.grub_path = strdup(buf);
                }
                BootSpecEntry *t = reallocarray(entries, n + 1, sizeof(BootSpecEntry));
                if (!t) {
                        entry_done(&e);
                        r = -ENOMEM;
                        goto finish;
                }
                entries = t;
                entries[n++] = e;
        }
finish:
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        entry_done(&entries[i]);
                free(entries);
                return r;
        }
        /* The menu item of each entry, for selection: same order as entries, submenus aside. */
        grub_menu_done(m);
        *m = out;
        out = (GrubMenu) {};
        b->entries = entries;
        b->n_entries = n;
        return 0;
}

int bootspec_load(const Root *root, BootSpec *ret) {
        _cleanup_(bootspec_done) BootSpec b = { .default_entry = SIZE_MAX, .next_entry_index = SIZE_MAX };
        _cleanup_(grub_menu_done) GrubMenu menu = {};
        _cleanup_free_ char *cfg_text = NULL;
        bool have_grub;
        int r;

        r = find_partitions(root, &b);
        if (r < 0)
                return r;
        /* Before the entries: which add-ons the firmware loads depends on it. */
        b.secure_boot = bootspec_secure_boot_enabled(root);

        /* loader.conf from the ESP only. */
        if (b.esp) {
                _cleanup_free_ char *p = path_join(b.esp, "loader/loader.conf"), *text = NULL;
                if (!p)
                        return -ENOMEM;
                r = read_root_text_and_warn(root, p, BOOTSPEC_FILE_MAX, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        r = bootspec_parse_loader_conf(p, text, &b.default_pattern, &b.default_pattern_line, &b.timeout);
                        if (r < 0)
                                return r;
                        b.loader_conf = TAKE_PTR(p);
                }
        }

        /* Type #1 and #2 from the ESP and XBOOTLDR; /boot, /efi and /boot/efi when the tree has no ESP
         * (a BIOS GRUB with BLS entries). */
        {
                const char *parts[3] = { b.esp, b.xbootldr, NULL };
                const char *seen[3];

                if (!b.esp && !b.xbootldr) {
                        parts[0] = "/boot";
                        parts[1] = "/efi";
                        parts[2] = "/boot/efi";
                }
                for (size_t i = 0, ns = 0; i < ELEMENTSOF(parts); i++) {
                        bool dup = false;
                        if (!parts[i])
                                continue;
                        for (size_t k = 0; k < ns; k++)
                                dup = dup || same_dir(root, seen[k], parts[i]) > 0;
                        if (dup)
                                continue;
                        seen[ns++] = parts[i];
                        r = load_type1(root, &b, parts[i]);
                        if (r >= 0)
                                r = load_type2(root, &b, parts[i]);
                        if (r < 0)
                                return r;
                }
        }

        /* EFI variables, as files (efivarfs on the live host). */
        r = read_efi_string(root, "LoaderEntryOneShot", &b.efi_oneshot);
        if (r >= 0)
                r = read_efi_string(root, "LoaderEntryDefault", &b.efi_default);
        if (r >= 0)
                r = read_efi_string(root, "LoaderEntrySelected", &b.efi_selected);
        if (r >= 0 && b.default_pattern && streq(b.default_pattern, "@saved"))
                r = read_efi_string(root, "LoaderEntryLastBooted", &b.efi_last_booted);
        if (r < 0)
                return r;

        /* GRUB. */
        r = read_grubenv(root, &b);
        if (r < 0)
                return r;
        if (b.grubenv_text) {
                r = grubenv_get(b.grubenv_text, "saved_entry", &b.saved_entry);
                if (r == -ENOMEM || (r = grubenv_get(b.grubenv_text, "next_entry", &b.next_entry)) == -ENOMEM)
                        return -ENOMEM;
                if (isempty(b.saved_entry))
                        b.saved_entry = mfree(b.saved_entry);
                if (isempty(b.next_entry))
                        b.next_entry = mfree(b.next_entry);
        }
        r = read_grub_default(root, &b);
        if (r < 0)
                return r;
        r = bootspec_find_grub_cfg(root, &b.grub_cfg);
        if (r < 0)
                return r;
        if (b.grub_cfg) {
                r = read_root_text_and_warn(root, b.grub_cfg, BOOTSPEC_FILE_MAX, &cfg_text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        r = bootspec_parse_grub_cfg(cfg_text, &menu);
                        if (r < 0)
                                return r;
                        if (menu.set_default && !(b.grub_cfg_default = strdup(menu.set_default)))
                                return -ENOMEM;
                }
        }

        /* /etc/kernel/cmdline, whole, as kernel-install reads it. */
        {
                _cleanup_free_ char *text = NULL;
                r = read_root_text_and_warn(root, KERNEL_CMDLINE, BOOTSPEC_FILE_MAX, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && !(b.kernel_cmdline = fold_whitespace(text)))
                        return -ENOMEM;
        }

        r = detect_ostree(root, &b);
        if (r < 0)
                return r;

        /* Which loader reads all this. */
        have_grub = b.grub_cfg || b.grubenv || root_exists(root, GRUB_DEFAULTS);
        if (systemd_boot_installed(root, b.esp) || (!have_grub && b.n_entries > 0))
                b.loader = BOOTSPEC_LOADER_SYSTEMD_BOOT;
        else if (have_grub) {
                bool blscfg = false;
                for (size_t i = 0; i < menu.n_items; i++)
                        blscfg = blscfg || menu.items[i].blscfg;
                /* No grub.cfg yet but BLS entries: grub2-mkconfig will write blscfg (RHEL). */
                if (!b.grub_cfg && b.n_entries > 0) {
                        GrubMenuItem it = { .blscfg = true, .parent = SIZE_MAX };
                        r = menu_add(&menu, it);
                        if (r < 0)
                                return r;
                        blscfg = true;
                }
                b.loader = blscfg ? BOOTSPEC_LOADER_GRUB_BLSCFG : BOOTSPEC_LOADER_GRUB;
        } else
                b.loader = BOOTSPEC_LOADER_NONE;

        if (b.loader == BOOTSPEC_LOADER_SYSTEMD_BOOT) {
                if (b.n_entries > 0)
                        sort_menu(b.entries, b.n_entries);
                select_systemd_boot(&b);
        } else if (b.loader == BOOTSPEC_LOADER_GRUB || b.loader == BOOTSPEC_LOADER_GRUB_BLSCFG) {
                /* blscfg reads Type #1 entries only, in rpm's version order. */
                BootSpecEntry *bls = b.entries;
                size_t n_bls = b.n_entries, k = 0;

                for (size_t i = 0; i < n_bls; i++) {
                        if (bls[i].type == BOOTSPEC_TYPE1)
                                bls[k++] = bls[i];
                        else
                                entry_done(&bls[i]);
                }
                n_bls = k;
                if (n_bls > 0)
                        qsort(bls, n_bls, sizeof(BootSpecEntry), blscfg_qsort);
                b.entries = NULL;
                b.n_entries = 0;
                r = build_grub_menu(&b, &menu, bls, n_bls);
                for (size_t i = 0; i < n_bls; i++)
                        entry_done(&bls[i]);
                free(bls);
                if (r < 0)
                        return r;
                /* Menu items and entries: bootspec_grub_resolve() gives an item index; map it. */
                {
                        size_t def = SIZE_MAX, next = SIZE_MAX;
                        select_grub(&b, &menu);
                        for (size_t i = 0, e = 0; i < menu.n_items; i++) {
                                if (menu.items[i].submenu || !menu.items[i].options)
                                        continue;
                                if (i == b.default_entry)
                                        def = e;
                                if (i == b.next_entry_index)
                                        next = e;
                                e++;
                        }
                        b.default_entry = def;
                        b.next_entry_index = next;
                }
        } else {
                for (size_t i = 0; i < b.n_entries; i++)
                        entry_done(&b.entries[i]);
                b.n_entries = 0;
        }

        r = effective_cmdlines(root, &b);
        if (r < 0)
                return r;
        *ret = b;
        b = (BootSpec) {};
        return 0;
}

size_t bootspec_find_type1_file(const BootSpec *b, const char *file_stem) {
        for (size_t i = 0; i < b->n_entries; i++) {
                const char *base, *e;
                if (b->entries[i].type != BOOTSPEC_TYPE1 || !b->entries[i].path)
                        continue;
                base = strrchr(b->entries[i].path, '/');
                base = base ? base + 1 : b->entries[i].path;
                e = endswith_no_case(base, ".conf");
                if (e && (size_t) (e - base) == strlen(file_stem) && strneq(base, file_stem, e - base))
                        return i;
        }
        return SIZE_MAX;
}
