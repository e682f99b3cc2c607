/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bootc kargs.d files through toml++ (Debian's libtomlplusplus-dev). Debian 12 packages no C
 * TOML library; toml++ is a maintained TOML 1.0 parser that keeps the line and column of every
 * value, which is what a finding needs. This file is the only C++ in the project, built as the
 * module libiommu-toml.so that iommuctl dlopen()s for a kargs.d file (foreign-kargs-toml.h): it
 * catches every exception and hands plain records back through the builders' table. */
#include <cerrno>
#include <new>
#include <string>

#include <toml++/toml.h>

#include "foreign-kargs-toml.h"

enum { FORMAT_BOOTC_KARGS = 5 }; /* FOREIGN_BOOTC_KARGS; checked in foreign-kargs.c */

static int read_string_list(ForeignKargs *k, const ForeignTomlBuilders *b, const toml::node &n, const char *key,
                            bool arch) {
        const toml::array *a = n.as_array();
        int r;

        if (!a)
                return b->add_problem(k, n.source().begin.line, n.source().begin.column,
                                                 "%s must be an array of strings", key);
        if (arch && a->empty())
                return b->add_architecture(k, nullptr, n.source().begin.line, n.source().begin.column);
        for (const toml::node &e : *a) {
                const toml::value<std::string> *s = e.as_string();
                unsigned line = e.source().begin.line, column = e.source().begin.column;

                if (!s)
                        r = b->add_problem(k, line, column, "%s must hold strings", key);
                else if (arch)
                        r = b->add_architecture(k, s->get().c_str(), n.source().begin.line,
                                                           n.source().begin.column);
                else
                        r = b->add_karg(k, s->get().c_str(), line, column, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_table(ForeignKargs *k, const ForeignTomlBuilders *b, const toml::table &t) {
        const toml::node *kargs = t.get("kargs"), *arches = t.get("match-architectures");
        int r;

        if (arches) {
                r = read_string_list(k, b, *arches, "match-architectures", true);
                if (r < 0)
                        return r;
        }
        if (!kargs)
                return b->add_problem(k, 1, 1, "no kargs array: bootc requires one in a kargs.d file");
        return read_string_list(k, b, *kargs, "kargs", false);
}

extern "C" int foreign_kargs_read_toml_v1(const char *data, size_t size, ForeignKargs *k, const ForeignTomlBuilders *b) {
        try {
                int r = b->add_document(k, FORMAT_BOOTC_KARGS, 1, 1);
                if (r < 0)
                        return r;
                try {
                        toml::table t = toml::parse(std::string_view(data, size));
                        return read_table(k, b, t);
                } catch (const toml::parse_error &e) {
                        std::string d(e.description());
                        return b->add_problem(k, e.source().begin.line, e.source().begin.column, "%s",
                                                         d.c_str());
                }
        } catch (const std::bad_alloc &) {
                return -ENOMEM;
        } catch (...) {
                return -EINVAL;
        }
}
