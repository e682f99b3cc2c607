/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <yaml.h>

#include "cmdline.h"
#include "escape.h"
#include "foreign-kargs.h"
#include "foreign-kargs-toml.h"
#include "json.h"
#include "strv.h"

static const char * const foreign_format_names[_FOREIGN_FORMAT_MAX] = {
        [FOREIGN_MACHINE_CONFIG] = "MachineConfig",
        [FOREIGN_PERFORMANCE_PROFILE] = "PerformanceProfile",
        [FOREIGN_BUTANE] = "Butane",
        [FOREIGN_IGNITION] = "Ignition",
        [FOREIGN_TALOS] = "Talos",
        [FOREIGN_BOOTC_KARGS] = "bootc-kargs",
        [FOREIGN_TALOS_SCHEMATIC] = "Talos-schematic",
};

/* foreign-kargs-toml.cc names the format by its number. */
_Static_assert(FOREIGN_BOOTC_KARGS == 5, "foreign-kargs-toml.cc: FORMAT_BOOTC_KARGS");

const char *foreign_format_to_string(ForeignFormat f) {
        return STRING_TABLE_TO_STRING(foreign_format_names, f);
}

/* Whether some line starts (at column 0) with prefix. */
static bool has_line_starting(const char *data, const char *prefix) {
        for (const char *p = data; p; p = strchr(p, '\n')) {
                if (*p == '\n')
                        p++;
                if (startswith(p, prefix))
                        return true;
        }
        return false;
}

static bool has_toml_kargs(const char *data) {
        for (const char *p = data; p; p = strchr(p, '\n')) {
                if (*p == '\n')
                        p++;
                p += strspn(p, " \t");
                if (startswith(p, "kargs")) {
                        const char *q = p + strlen("kargs");
                        q += strspn(q, " \t");
                        if (*q == '=')
                                return true;
                }
        }
        return false;
}

ForeignSyntax foreign_kargs_sniff(const char *path, const char *data) {
        static const char * const yaml_keys[] = { "kernelArguments", "additionalKernelArgs", "kernel_arguments",
                                                  "extraKernelArgs" };
        static const char * const yaml_lines[] = { "apiVersion:", "kind:", "variant:", "machine:", "---" };
        const char *p;

        if ((path && endswith(path, ".toml")) || has_toml_kargs(data))
                return FOREIGN_SYNTAX_TOML;
        p = data + strspn(data, " \t\r\n");
        if (*p == '{')
                return FOREIGN_SYNTAX_YAML;
        for (size_t i = 0; i < ELEMENTSOF(yaml_keys); i++)
                if (strstr(data, yaml_keys[i]))
                        return FOREIGN_SYNTAX_YAML;
        for (size_t i = 0; i < ELEMENTSOF(yaml_lines); i++)
                if (has_line_starting(data, yaml_lines[i]))
                        return FOREIGN_SYNTAX_YAML;
        return FOREIGN_SYNTAX_NONE;
}

void foreign_kargs_done(ForeignKargs *k) {
        for (size_t i = 0; i < k->n_documents; i++) {
                free(k->documents[i].name);
                strv_free(k->documents[i].architectures);
        }
        for (size_t i = 0; i < k->n_kargs; i++)
                free(k->kargs[i].text);
        for (size_t i = 0; i < k->n_problems; i++)
                free(k->problems[i].message);
        free(k->documents);
        free(k->kargs);
        free(k->problems);
        *k = (ForeignKargs) {};
}

/* The record builders, shared by the YAML walker and the TOML reader (foreign-kargs-toml.h). */

static int foreign_kargs_add_document(ForeignKargs *k, int format, unsigned line, unsigned column) {
        ForeignDocument *n = realloc(k->documents, sizeof(ForeignDocument) * (k->n_documents + 1));

        if (!n)
                return -ENOMEM;
        k->documents = n;
        k->documents[k->n_documents++] = (ForeignDocument) { .format = (ForeignFormat) format, .line = line, .column = column };
        return 0;
}

static int foreign_kargs_add_karg(ForeignKargs *k, const char *text, unsigned line, unsigned column, bool removal) {
        ForeignKarg *n;
        char *t;

        assert(k->n_documents > 0);
        t = strdup(text);
        if (!t)
                return -ENOMEM;
        n = realloc(k->kargs, sizeof(ForeignKarg) * (k->n_kargs + 1));
        if (!n) {
                free(t);
                return -ENOMEM;
        }
        k->kargs = n;
        k->kargs[k->n_kargs++] = (ForeignKarg) {
                .text = t, .line = line, .column = column, .document = k->n_documents - 1, .removal = removal,
        };
        return 0;
}

static int foreign_kargs_add_architecture(ForeignKargs *k, const char *arch, unsigned line, unsigned column) {
        ForeignDocument *d;

        assert(k->n_documents > 0);
        d = &k->documents[k->n_documents - 1];
        if (!d->architectures) {
                d->arch_line = line;
                d->arch_column = column;
                /* An empty list still restricts: it matches no architecture. */
                d->architectures = calloc(1, sizeof(char *));
                if (!d->architectures)
                        return -ENOMEM;
        }
        return arch ? strv_extend(&d->architectures, arch) : 0;
}

static int foreign_kargs_add_problem(ForeignKargs *k, unsigned line, unsigned column, const char *fmt, ...)
        _printf_(4, 5);
static int foreign_kargs_add_problem(ForeignKargs *k, unsigned line, unsigned column, const char *fmt, ...) {
        ForeignProblem *n;
        char *m;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        n = realloc(k->problems, sizeof(ForeignProblem) * (k->n_problems + 1));
        if (!n) {
                free(m);
                return -ENOMEM;
        }
        k->problems = n;
        k->problems[k->n_problems++] = (ForeignProblem) {
                .message = m, .line = line, .column = column, .document = (ssize_t) k->n_documents - 1,
        };
        return 0;
}

/* libyaml is dlopen()ed when a YAML or JSON file is linted: every other run of iommuctl (verify
 * on each boot, plan, apply) does not map it. Its soname is that of Debian's libyaml-0-2. */
#define LIBYAML_SONAME "libyaml-0.so.2"

static struct {
        void *handle;
        int (*parser_initialize)(yaml_parser_t *p);
        void (*parser_set_input_string)(yaml_parser_t *p, const unsigned char *input, size_t size);
        int (*parser_load)(yaml_parser_t *p, yaml_document_t *d);
        void (*parser_delete)(yaml_parser_t *p);
        yaml_node_t *(*document_get_root_node)(yaml_document_t *d);
        yaml_node_t *(*document_get_node)(yaml_document_t *d, int index);
        void (*document_delete)(yaml_document_t *d);
} libyaml;

static char *dl_error; /* what dlopen() or dlsym() said, for the caller's message */

static void set_dl_error(void) {
        const char *e = dlerror();

        free(dl_error);
        dl_error = e ? strdup(e) : NULL;
}

const char *foreign_kargs_dl_error(void) {
        return dl_error;
}

static int dlsym_many(void *handle, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, handle);
        for (;;) {
                void **fn = va_arg(ap, void **);
                const char *name;

                if (!fn)
                        break;
                name = va_arg(ap, const char *);
                *fn = dlsym(handle, name);
                if (!*fn) {
                        set_dl_error();
                        r = -EOPNOTSUPP;
                        break;
                }
        }
        va_end(ap);
        return r;
}

static int libyaml_load(void) {
        void *h;
        int r;

        if (libyaml.handle)
                return 0;
        h = dlopen(LIBYAML_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                set_dl_error();
                return -EOPNOTSUPP;
        }
        r = dlsym_many(h,
                       (void **) &libyaml.parser_initialize, "yaml_parser_initialize",
                       (void **) &libyaml.parser_set_input_string, "yaml_parser_set_input_string",
                       (void **) &libyaml.parser_load, "yaml_parser_load",
                       (void **) &libyaml.parser_delete, "yaml_parser_delete",
                       (void **) &libyaml.document_get_root_node, "yaml_document_get_root_node",
                       (void **) &libyaml.document_get_node, "yaml_document_get_node",
                       (void **) &libyaml.document_delete, "yaml_document_delete",
                       NULL);
        if (r < 0) {
                dlclose(h);
                return r;
        }
        libyaml.handle = h;
        return 0;
}

/* YAML (and JSON) through libyaml's document loader. Only fixed paths are followed, so anchors
 * and aliases (even one that refers to its own parent) cannot make the walk loop or grow. */

typedef struct YamlWalk {
        yaml_document_t *doc;
        ForeignKargs *k;
} YamlWalk;

#define MARK_LINE(n) ((unsigned) (n)->start_mark.line + 1)
#define MARK_COLUMN(n) ((unsigned) (n)->start_mark.column + 1)

static const char *scalar(const yaml_node_t *n) {
        return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n) {
        const char *s = scalar(n);

        return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               (streq(s, "") || streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL"));
}

static yaml_node_t *map_get(const YamlWalk *w, const yaml_node_t *m, const char *key) {
        yaml_node_t *found = NULL;

        if (!m || m->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
                const char *s = scalar(libyaml.document_get_node(w->doc, p->key));
                if (s && streq(s, key))
                        found = libyaml.document_get_node(w->doc, p->value); /* the last one wins */
        }
        return found;
}

static yaml_node_t *map_get_path(const YamlWalk *w, const yaml_node_t *m, const char * const *path) {
        for (; m && *path; path++)
                m = map_get(w, m, *path);
        return (yaml_node_t *) m;
}

/* Records every string of the list at path (a dotted name for messages). A missing or null list
 * is an empty one; anything but a list of strings is what the tool itself would refuse. Where
 * dash_removes (Talos), "-TOKEN" is a removal of TOKEN (a lone "-" is the kernel's own argument). */
static int walk_list(const YamlWalk *w, const yaml_node_t *root, const char * const *path, const char *name,
                     bool removal, bool dash_removes) {
        const yaml_node_t *l = map_get_path(w, root, path);
        int r;

        if (!l || is_null(l))
                return 0;
        if (l->type != YAML_SEQUENCE_NODE)
                return foreign_kargs_add_problem(w->k, MARK_LINE(l), MARK_COLUMN(l), "%s must be a list of strings", name);
        for (yaml_node_item_t *i = l->data.sequence.items.start; i < l->data.sequence.items.top; i++) {
                const yaml_node_t *n = libyaml.document_get_node(w->doc, *i);
                const char *s = scalar(n);

                if (!s || is_null(n))
                        r = foreign_kargs_add_problem(w->k, MARK_LINE(n), MARK_COLUMN(n),
                                                      "%s must hold strings, not %s", name,
                                                      !s ? (n->type == YAML_MAPPING_NODE ? "a mapping" : "a list") : "null");
                else if (dash_removes && s[0] == '-' && s[1])
                        r = foreign_kargs_add_karg(w->k, s + 1, MARK_LINE(n), MARK_COLUMN(n), true);
                else
                        r = foreign_kargs_add_karg(w->k, s, MARK_LINE(n), MARK_COLUMN(n), removal);
                if (r < 0)
                        return r;
        }
        return 0;
}

#define PATH(...) ((const char * const[]) { __VA_ARGS__, NULL })

/* Why a Talos machine config's install boots a UKI, whose built-in command line wins over
 * machine.install.extraKernelArgs (docs.siderolabs.com, "Boot Loader": "With systemd-boot, the
 * .machine.install.extraKernelArgs field in the machine configuration is ignored"). */
static const char *talos_boots_uki(const YamlWalk *w, const yaml_node_t *m) {
        const char *image = scalar(map_get_path(w, m, PATH("machine", "install", "image")));
        const char *grub_uki = scalar(map_get_path(w, m, PATH("machine", "install", "grubUseUKICmdline")));

        if (image && strstr(image, "secureboot"))
                return "its installer image is a SecureBoot one, which always boots a UKI";
        if (grub_uki && streq(grub_uki, "true"))
                return "grubUseUKICmdline: true makes GRUB take the UKI's command line too";
        if (grub_uki && streq(grub_uki, "false"))
                return NULL; /* GRUB builds the line itself: legacy BIOS installs honour the list */
        return "systemd-boot boots a UKI on every UEFI install since Talos 1.10, and GRUB takes the UKI's command line "
               "on new installs since 1.12 (grubUseUKICmdline)";
}

static int walk_object(const YamlWalk *w, const yaml_node_t *m, ForeignFormat format) {
        const char *name = scalar(map_get_path(w, m, PATH("metadata", "name")));
        int r;

        r = foreign_kargs_add_document(w->k, format, MARK_LINE(m), MARK_COLUMN(m));
        if (r < 0)
                return r;
        if (name) {
                w->k->documents[w->k->n_documents - 1].name = strdup(name);
                if (!w->k->documents[w->k->n_documents - 1].name)
                        return -ENOMEM;
        }
        switch (format) {
        case FOREIGN_MACHINE_CONFIG:
                return walk_list(w, m, PATH("spec", "kernelArguments"), "spec.kernelArguments", false, false);
        case FOREIGN_PERFORMANCE_PROFILE:
                return walk_list(w, m, PATH("spec", "additionalKernelArgs"), "spec.additionalKernelArgs", false, false);
        case FOREIGN_BUTANE:
                r = walk_list(w, m, PATH("kernel_arguments", "should_exist"), "kernel_arguments.should_exist", false, false);
                if (r < 0)
                        return r;
                r = walk_list(w, m, PATH("kernel_arguments", "should_not_exist"), "kernel_arguments.should_not_exist", true, false);
                if (r < 0)
                        return r;
                /* The openshift variant's own list, which Butane turns into MachineConfig kernelArguments. */
                return walk_list(w, m, PATH("openshift", "kernel_arguments"), "openshift.kernel_arguments", false, false);
        case FOREIGN_IGNITION:
                r = walk_list(w, m, PATH("kernelArguments", "shouldExist"), "kernelArguments.shouldExist", false, false);
                if (r < 0)
                        return r;
                return walk_list(w, m, PATH("kernelArguments", "shouldNotExist"), "kernelArguments.shouldNotExist", true, false);
        case FOREIGN_TALOS:
                w->k->documents[w->k->n_documents - 1].boots_uki = talos_boots_uki(w, m);
                return walk_list(w, m, PATH("machine", "install", "extraKernelArgs"), "machine.install.extraKernelArgs",
                                 false, true);
        case FOREIGN_TALOS_SCHEMATIC:
                return walk_list(w, m, PATH("customization", "extraKernelArgs"), "customization.extraKernelArgs", false,
                                 true);
        default:
                return -EINVAL;
        }
}

/* kind and apiVersion say what a Kubernetes object is; a "kind: List" (as "oc get -o yaml"
 * prints) holds objects in items. Other kinds (a MachineConfigPool next to the MachineConfig)
 * are not ours and are skipped. */
static int walk_kubernetes(const YamlWalk *w, const yaml_node_t *m, bool in_list) {
        const char *kind = scalar(map_get(w, m, "kind")), *api = scalar(map_get(w, m, "apiVersion"));

        if (!kind)
                return 0;
        if (streq(kind, "MachineConfig") && api && startswith(api, "machineconfiguration.openshift.io/"))
                return walk_object(w, m, FOREIGN_MACHINE_CONFIG);
        if (streq(kind, "PerformanceProfile") && api && startswith(api, "performance.openshift.io/"))
                return walk_object(w, m, FOREIGN_PERFORMANCE_PROFILE);
        if (streq(kind, "List") && !in_list) {
                const yaml_node_t *items = map_get(w, m, "items");
                if (!items || items->type != YAML_SEQUENCE_NODE)
                        return 0;
                for (yaml_node_item_t *i = items->data.sequence.items.start; i < items->data.sequence.items.top; i++) {
                        const yaml_node_t *n = libyaml.document_get_node(w->doc, *i);
                        if (n && n->type == YAML_MAPPING_NODE) {
                                int r = walk_kubernetes(w, n, true);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

static int walk_document(const YamlWalk *w, const yaml_node_t *root) {
        const yaml_node_t *machine;

        if (!root || root->type != YAML_MAPPING_NODE)
                return 0;
        if (map_get(w, root, "kind"))
                return walk_kubernetes(w, root, false);
        /* Butane: variant and version at the top (fcos, openshift, flatcar, ...). */
        if (scalar(map_get(w, root, "variant")) && map_get(w, root, "version"))
                return walk_object(w, root, FOREIGN_BUTANE);
        /* Ignition: the ignition object with its spec version. */
        if (map_get_path(w, root, PATH("ignition", "version")))
                return walk_object(w, root, FOREIGN_IGNITION);
        /* Talos Image Factory schematic: the customization object, nothing of a machine config. */
        machine = map_get(w, root, "machine");
        if (!machine && map_get(w, root, "customization") &&
            map_get(w, root, "customization")->type == YAML_MAPPING_NODE)
                return walk_object(w, root, FOREIGN_TALOS_SCHEMATIC);
        /* Talos v1alpha1: version: v1alpha1 and the machine object. */
        if (machine && machine->type == YAML_MAPPING_NODE)
                return walk_object(w, root, FOREIGN_TALOS);
        return 0;
}

static void yaml_parser_deletep(yaml_parser_t **p) {
        if (*p)
                libyaml.parser_delete(*p);
}

int foreign_kargs_parse_yaml(const char *data, size_t size, ForeignKargs *ret) {
        yaml_parser_t parser = {};
        _cleanup_(yaml_parser_deletep) yaml_parser_t *initialized = NULL;
        _cleanup_(foreign_kargs_done) ForeignKargs k = {};
        int r;

        r = libyaml_load();
        if (r < 0)
                return r;
        if (!libyaml.parser_initialize(&parser))
                return -ENOMEM;
        initialized = &parser;
        libyaml.parser_set_input_string(&parser, (const unsigned char *) data, size);
        for (;;) {
                yaml_document_t doc;
                YamlWalk w = { .doc = &doc, .k = &k };
                yaml_node_t *root;

                if (!libyaml.parser_load(&parser, &doc)) {
                        if (parser.error == YAML_MEMORY_ERROR)
                                r = -ENOMEM;
                        else
                                r = foreign_kargs_add_problem(&k, (unsigned) parser.problem_mark.line + 1,
                                                              (unsigned) parser.problem_mark.column + 1, "%s%s%s",
                                                              strna(parser.problem), parser.context ? " " : "",
                                                              parser.context ?: "");
                        if (r >= 0) /* the syntax, not the document before it */
                                k.problems[k.n_problems - 1].document = -1;
                        break;
                }
                root = libyaml.document_get_root_node(&doc);
                if (!root) { /* the end of the stream */
                        libyaml.document_delete(&doc);
                        break;
                }
                r = walk_document(&w, root);
                libyaml.document_delete(&doc);
                if (r < 0)
                        break;
        }
        if (r < 0)
                return r;
        if (k.n_documents == 0 && k.n_problems == 0)
                return -ENOMSG;
        *ret = k;
        k = (ForeignKargs) {};
        return 0;
}

const char *foreign_kargs_toml_module(void) {
        /* Tests and uninstalled builds point at the module in the build tree. */
        return secure_getenv("IOMMUCTL_TOML_MODULE") ?: IOMMU_TOML_MODULE;
}

int foreign_kargs_parse_toml(const char *data, size_t size, ForeignKargs *ret) {
        static const ForeignTomlBuilders builders = {
                .add_document = foreign_kargs_add_document,
                .add_karg = foreign_kargs_add_karg,
                .add_architecture = foreign_kargs_add_architecture,
                .add_problem = foreign_kargs_add_problem,
        };
        static ForeignTomlRead read_toml;
        _cleanup_(foreign_kargs_done) ForeignKargs k = {};
        int r;

        if (!HAVE_TOML)
                return -EPROTONOSUPPORT;
        if (!read_toml) {
                void *h = dlopen(foreign_kargs_toml_module(), RTLD_NOW | RTLD_LOCAL);
                if (!h) {
                        set_dl_error();
                        return -EOPNOTSUPP;
                }
                r = dlsym_many(h, (void **) &read_toml, FOREIGN_TOML_ENTRY, NULL);
                if (r < 0) {
                        dlclose(h);
                        return r;
                }
        }
        r = read_toml(data, size, &k, &builders);
        if (r < 0)
                return r;
        *ret = k;
        k = (ForeignKargs) {};
        return 0;
}

int foreign_kargs_parse(ForeignSyntax syntax, const char *data, size_t size, ForeignKargs *ret) {
        switch (syntax) {
        case FOREIGN_SYNTAX_YAML:
                return foreign_kargs_parse_yaml(data, size, ret);
        case FOREIGN_SYNTAX_TOML:
                return foreign_kargs_parse_toml(data, size, ret);
        default:
                return -ENOMSG;
        }
}

/* Linting. */

void foreign_report_done(ForeignReport *r) {
        for (size_t i = 0; i < r->n_findings; i++) {
                free(r->findings[i].lint.token);
                free(r->findings[i].lint.message);
                free(r->findings[i].lint.fix);
        }
        free(r->findings);
        *r = (ForeignReport) {};
}

const char *foreign_finding_severity(const ForeignFinding *f) {
        if (f->kind == FOREIGN_FINDING_NOTE)
                return "note";
        return severity_to_string(f->lint.severity);
}

/* Takes ownership of the strings in lint (also on failure). */
static int report_add(ForeignReport *r, ForeignFindingKind kind, LintFinding *lint, unsigned line, unsigned column,
                      ssize_t document, bool removal) {
        ForeignFinding *n = realloc(r->findings, sizeof(ForeignFinding) * (r->n_findings + 1));

        if (!n) {
                free(lint->token);
                free(lint->message);
                free(lint->fix);
                return -ENOMEM;
        }
        r->findings = n;
        r->findings[r->n_findings++] = (ForeignFinding) {
                .kind = kind, .lint = *lint, .line = line, .column = column, .document = document, .removal = removal,
        };
        *lint = (LintFinding) {};
        return 0;
}

static int report_addf(ForeignReport *r, ForeignFindingKind kind, Severity s, const char *token, const char *fix,
                       unsigned line, unsigned column, ssize_t document, bool removal, const char *fmt, ...)
        _printf_(10, 11);
static int report_addf(ForeignReport *r, ForeignFindingKind kind, Severity s, const char *token, const char *fix,
                       unsigned line, unsigned column, ssize_t document, bool removal, const char *fmt, ...) {
        LintFinding f = { .severity = s };
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&f.message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        f.token = token ? strdup(token) : NULL;
        f.fix = fix ? strdup(fix) : NULL;
        if ((token && !f.token) || (fix && !f.fix)) {
                free(f.message);
                free(f.token);
                free(f.fix);
                return -ENOMEM;
        }
        return report_add(r, kind, &f, line, column, document, removal);
}

/* Whether the document applies to arch; bootc compares match-architectures with Rust's
 * std::env::consts::ARCH ("x86_64", "aarch64"). */
static bool document_matches_arch(const ForeignDocument *d, Arch arch) {
        if (!d->architectures)
                return true;
        STRV_FOREACH(a, d->architectures)
                if (arch_from_string(*a) == arch)
                        return true;
        return false;
}

/* The tokens of one document's additions (or removals), each with the record it came from. */
typedef struct DocumentTokens {
        Cmdline *cmdline;
        const ForeignKarg **origin; /* per token */
} DocumentTokens;

static void document_tokens_done(DocumentTokens *t) {
        cmdline_free(t->cmdline);
        free(t->origin);
        *t = (DocumentTokens) {};
}

static int document_tokens(const ForeignKargs *k, size_t document, bool removal, DocumentTokens *ret) {
        _cleanup_(document_tokens_done) DocumentTokens t = {};
        int r;

        r = cmdline_parse("", &t.cmdline);
        if (r < 0)
                return r;
        for (size_t i = 0; i < k->n_kargs; i++) {
                const ForeignKarg *a = &k->kargs[i];
                _cleanup_cmdline_ Cmdline *c = NULL;
                const ForeignKarg **o;

                if (a->document != document || a->removal != removal)
                        continue;
                r = cmdline_parse(a->text, &c);
                if (r >= 0)
                        r = cmdline_append(t.cmdline, c);
                if (r < 0)
                        return r;
                o = realloc(t.origin, sizeof(*o) * (t.cmdline->n_tokens ?: 1));
                if (!o)
                        return -ENOMEM;
                t.origin = o;
                for (size_t j = t.cmdline->n_tokens - c->n_tokens; j < t.cmdline->n_tokens; j++)
                        t.origin[j] = a;
        }
        *ret = t;
        t = (DocumentTokens) {};
        return 0;
}

static const ForeignKarg *origin_of(const DocumentTokens *t, const char *token) {
        if (!token)
                return NULL;
        for (size_t i = 0; i < t->cmdline->n_tokens; i++)
                if (streq(t->cmdline->tokens[i].text, token))
                        return t->origin[i];
        return NULL;
}

static int lint_document(const ForeignKargs *k, size_t index, const KernelInfo *kernel, Vendor vendor,
                         ForeignReport *ret) {
        const ForeignDocument *d = &k->documents[index];
        Arch arch = kernel->arch;
        _cleanup_(document_tokens_done) DocumentTokens add = {}, del = {};
        LintReport report = {};
        int r;

        if (!document_matches_arch(d, arch)) {
                _cleanup_free_ char *list = strv_join(d->architectures, ", ");
                if (!list)
                        return -ENOMEM;
                return report_addf(ret, FOREIGN_FINDING_NOTE, SEVERITY_WARNING, NULL, NULL, d->arch_line, d->arch_column,
                                   (ssize_t) index, false, "applies only to %s, not linted for %s (use --arch)",
                                   isempty(list) ? "no architecture" : list, arch_to_string(arch));
        }

        r = document_tokens(k, index, false, &add);
        if (r < 0)
                return r;
        r = document_tokens(k, index, true, &del);
        if (r < 0)
                return r;

        /* Talos booting a UKI never sees these: the schematic is where they take effect. */
        if (d->format == FOREIGN_TALOS && add.cmdline->n_tokens > 0) {
                r = report_addf(ret, FOREIGN_FINDING_LINT, d->boots_uki ? SEVERITY_WARNING : SEVERITY_NOTE, NULL,
                                "put them in the Image Factory schematic's customization.extraKernelArgs "
                                "('iommuctl export talos' writes one)",
                                add.origin[0]->line, add.origin[0]->column, (ssize_t) index, false,
                                "machine.install.extraKernelArgs is ignored when Talos boots a UKI: %s",
                                d->boots_uki ?: "with grubUseUKICmdline: false only legacy-BIOS GRUB installs use it, "
                                "UEFI installs boot a UKI through systemd-boot");
                if (r < 0)
                        return r;
        }

        r = lint_cmdline_for_kernel(add.cmdline, kernel, vendor, &report);
        for (size_t i = 0; r >= 0 && i < report.n_findings; i++) {
                const ForeignKarg *o = origin_of(&add, report.findings[i].token);
                r = report_add(ret, FOREIGN_FINDING_LINT, &report.findings[i], o ? o->line : d->line,
                               o ? o->column : d->column, (ssize_t) index, false);
        }
        lint_report_done(&report);
        if (r < 0)
                return r;

        /* A removal is not on the command line: removing amd_iommu=on is the fix, not a mistake.
         * What is wrong is removing what the same document adds: the tool's order decides. */
        for (size_t i = 0; i < del.cmdline->n_tokens; i++) {
                const CmdlineToken *t = &del.cmdline->tokens[i];

                for (size_t j = 0; j < add.cmdline->n_tokens; j++) {
                        if (!cmdline_token_equal(t, &add.cmdline->tokens[j]))
                                continue;
                        r = report_addf(ret, FOREIGN_FINDING_LINT, SEVERITY_ERROR, t->text, "drop one of them",
                                        del.origin[i]->line, del.origin[i]->column, (ssize_t) index, true,
                                        "%s is removed and also added (line %u) by the same %s", t->text,
                                        add.origin[j]->line, foreign_format_to_string(d->format));
                        if (r < 0)
                                return r;
                        break;
                }
        }
        return 0;
}

int foreign_kargs_lint(const ForeignKargs *k, const KernelInfo *kernel, Vendor vendor, ForeignReport *ret) {
        _cleanup_(foreign_report_done) ForeignReport report = {};
        int r;

        /* A file of other kinds only (a MachineConfigPool, a CRD): say so, but it is not wrong, so
         * that lint can run over a whole directory of manifests. */
        if (k->n_documents == 0 && k->n_problems == 0) {
                r = report_addf(&report, FOREIGN_FINDING_PROBLEM, SEVERITY_WARNING, NULL, NULL, 1, 1, -1, false,
                                "no MachineConfig, PerformanceProfile, Butane, Ignition, Talos or Image Factory schematic document: "
                                "nothing linted");
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < k->n_problems; i++) {
                r = report_addf(&report, FOREIGN_FINDING_PROBLEM, SEVERITY_ERROR, NULL, NULL, k->problems[i].line,
                                k->problems[i].column, k->problems[i].document, false, "%s", k->problems[i].message);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < k->n_documents; i++) {
                r = lint_document(k, i, kernel, vendor, &report);
                if (r < 0)
                        return r;
        }
        *ret = report;
        report = (ForeignReport) {};
        return 0;
}

static void count(const ForeignFinding *f, size_t *errors, size_t *warnings) {
        if (f->kind == FOREIGN_FINDING_NOTE || f->lint.severity == SEVERITY_NOTE)
                return;
        if (f->lint.severity == SEVERITY_ERROR)
                (*errors)++;
        else
                (*warnings)++;
}

static const ForeignDocument *finding_document(const ForeignFinding *f, const ForeignKargs *k) {
        return f->document >= 0 && (size_t) f->document < k->n_documents ? &k->documents[f->document] : NULL;
}

void foreign_report_write_text(const ForeignReport *r, const ForeignKargs *k, const char *path, FILE *f,
                               size_t *errors, size_t *warnings) {
        for (size_t i = 0; i < r->n_findings; i++) {
                const ForeignFinding *x = &r->findings[i];
                const ForeignDocument *d = finding_document(x, k);
                _cleanup_escape_buffer_ EscapeBuffer e = {};

                count(x, errors, warnings);
                fprintf(f, "%s:%u:%u: %s: ", escaped(&e, path), x->line, x->column, foreign_finding_severity(x));
                if (d)
                        fprintf(f, "%s%s%s: ", foreign_format_to_string(d->format), d->name ? " " : "", escaped(&e, d->name ?: ""));
                fprintf(f, "%s%s%s\n", escaped(&e, x->lint.message), x->lint.fix ? "; use: " : "", escaped(&e, x->lint.fix ?: ""));
        }
}

void foreign_report_write_json(const ForeignReport *r, const ForeignKargs *k, const char *path, JsonWriter *w,
                               size_t *errors, size_t *warnings) {
        for (size_t i = 0; i < r->n_findings; i++) {
                const ForeignFinding *x = &r->findings[i];
                const ForeignDocument *d = finding_document(x, k);

                count(x, errors, warnings);
                json_begin_object(w);
                json_field_string(w, "file", path);
                json_field_int(w, "line", x->line);
                json_field_int(w, "column", x->column);
                json_field_string(w, "severity", foreign_finding_severity(x));
                json_field_string(w, "token", x->lint.token);
                json_field_string(w, "message", x->lint.message);
                json_field_string(w, "fix", x->lint.fix);
                json_field_string(w, "format", d ? foreign_format_to_string(d->format) : NULL);
                json_field_string(w, "name", d ? d->name : NULL);
                json_field_bool(w, "removal", x->removal);
                json_end_object(w);
        }
}
