/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seam between foreign-kargs.c and the TOML reader (foreign-kargs-toml.cc, C++ because the
 * TOML library Debian packages, toml++, is C++). Plain C declarations only, so both sides can
 * include it. */

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ForeignKargs ForeignKargs;

/* The record builders (foreign-kargs.c): 0 or -ENOMEM. A karg or an architecture belongs to the
 * last document added; arch NULL records an empty match-architectures list. */
int foreign_kargs_add_document(ForeignKargs *k, int format, unsigned line, unsigned column);
int foreign_kargs_add_karg(ForeignKargs *k, const char *text, unsigned line, unsigned column, bool removal);
int foreign_kargs_add_architecture(ForeignKargs *k, const char *arch, unsigned line, unsigned column);
int foreign_kargs_add_problem(ForeignKargs *k, unsigned line, unsigned column, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Reads a bootc kargs.d file into k (one document): 0, with a syntax or type error recorded as a
 * problem, or -ENOMEM. */
int foreign_kargs_read_toml(const char *data, size_t size, ForeignKargs *k);

#ifdef __cplusplus
}
#endif
