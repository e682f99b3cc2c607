/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* NULL-terminated arrays of strings, as systemd's strv. */

char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* Appends a copy of s. */
int strv_extend(char ***l, const char *s);
/* Appends s itself, taking ownership (also on failure). */
int strv_consume(char ***l, char *s);
/* The same for a list whose length (*n) and capacity (*allocated, in pointers) the caller keeps:
 * grows geometrically, so building a list of n strings costs O(n), not O(n^2). Start with
 * *l = NULL, *n = *allocated = 0. */
int strv_consume_n(char ***l, size_t *n, size_t *allocated, char *s);
int strv_extend_strv(char ***a, char * const *b);
/* Splits on any of the separator characters, dropping empty fields. */
int strv_split(const char *s, const char *separators, char ***ret);
/* Joins with sep; an empty list gives "". */
char *strv_join(char * const *l, const char *sep);
int strv_sort(char **l);

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)

/* A NULL-terminated array of the arguments, on the stack, as systemd's STRV_MAKE. */
#define STRV_MAKE(...) ((char **) ((const char *[]) { __VA_ARGS__, NULL }))
