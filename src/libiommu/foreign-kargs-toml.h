/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between foreign-kargs.c and the TOML reader, foreign-kargs-toml.cc: C++ because the
 * TOML library Debian packages, toml++, is C++. The reader is a module of its own
 * (libiommu-toml.so), dlopen()ed only when a kargs.d file is linted, so that no other run of
 * iommuctl maps libstdc++. It calls back through the table it is handed and needs no symbol of
 * iommuctl. Plain C declarations only, so both sides can include it. */

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ForeignKargs ForeignKargs;

/* The record builders (foreign-kargs.c): 0 or -ENOMEM. A karg or an architecture belongs to the
 * last document added; arch NULL records an empty match-architectures list. */
typedef struct ForeignTomlBuilders {
        int (*add_document)(ForeignKargs *k, int format, unsigned line, unsigned column);
        int (*add_karg)(ForeignKargs *k, const char *text, unsigned line, unsigned column, bool removal);
        int (*add_architecture)(ForeignKargs *k, const char *arch, unsigned line, unsigned column);
        int (*add_problem)(ForeignKargs *k, unsigned line, unsigned column, const char *fmt, ...)
                __attribute__((format(printf, 4, 5)));
} ForeignTomlBuilders;

/* The module's one entry point (its name carries the version of this table): reads a bootc
 * kargs.d file into k as one document, a syntax or type error recorded as a problem. 0 or
 * -ENOMEM. */
#define FOREIGN_TOML_ENTRY "foreign_kargs_read_toml_v1"
typedef int (*ForeignTomlRead)(const char *data, size_t size, ForeignKargs *k, const ForeignTomlBuilders *b);
int foreign_kargs_read_toml_v1(const char *data, size_t size, ForeignKargs *k, const ForeignTomlBuilders *b);

#ifdef __cplusplus
}
#endif
