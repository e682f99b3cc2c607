/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || (s)[0] == '\0')
#define strna(s) ((s) ? (s) : "n/a")
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership of a pointer to the caller: returns it and clears the cleanup variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p = (p);         \
                (p) = NULL;                     \
                _p;                             \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd = (fd);                 \
                (fd) = -1;                      \
                _fd;                            \
        })

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Replace *p with a copy of s (or NULL). */
/* Makes room for need items of size bytes in *p, which has room for *allocated: at least doubles
 * it (and gives at least min), so that n appends cost O(n). 0, or -ENOMEM with *p unchanged. */
static inline int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size, size_t min) {
        size_t a;
        void *t;

        if (need <= *allocated)
                return 0;
        a = *allocated * 2 > need ? *allocated * 2 : need;
        if (a < min)
                a = min;
        t = reallocarray(*p, a, size);
        if (!t)
                return -ENOMEM;
        *p = t;
        *allocated = a;
        return 0;
}
#define GREEDY_REALLOC(array, allocated, need, min) \
        greedy_realloc((void **) &(array), &(allocated), (need), sizeof((array)[0]), (min))

static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;
        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline bool endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Index of s in a table of names (NULL entries skipped), or -EINVAL; as systemd's
 * DEFINE_STRING_TABLE_LOOKUP. */
static inline int string_table_lookup(const char * const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}
#define STRING_TABLE_TO_STRING(table, i) ((i) >= 0 && (size_t) (i) < ELEMENTSOF(table) ? (table)[i] : NULL)
